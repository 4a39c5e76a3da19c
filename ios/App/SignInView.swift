import CaasKit
import CaasViewModels
import SwiftUI

/// Sign-in with a code sent by email, as a customer or as a transport company's driver.
struct SignInView: View {
    @Bindable var model: SignInModel

    var body: some View {
        Form {
            Picker("I am", selection: $model.role) {
                Text("Buying a car").tag(Role.customer)
                Text("Delivering cars").tag(Role.driver)
            }
            .pickerStyle(.segmented)
            TextField("Email", text: $model.email)
                .textContentType(.emailAddress)
                .keyboardType(.emailAddress)
                .textInputAutocapitalization(.never)
                .disabled(model.codeSent)
            if model.codeSent {
                TextField("Code", text: $model.code).textContentType(.oneTimeCode).keyboardType(.numberPad)
                Button("Sign in") { Task { await model.signIn() } }.disabled(!model.canSignIn)
                Button("Use another email") { model.changeEmail() }
            } else {
                Button("Send me a code") { Task { await model.requestCode() } }.disabled(!model.canRequestCode)
            }
            if let notice = model.notice { Text(notice.message).foregroundStyle(.secondary) }
        }
        .navigationTitle("Sign in")
    }
}
