import CaasKit
import SwiftUI

/// Sign-in with a code sent by email, as a customer or as a transport company's driver.
struct SignInView: View {
    let customer: CaasRepository
    let driver: DriverRepository
    let signedIn: (Role) -> Void
    @State private var asDriver = false
    @State private var email = ""
    @State private var code = ""
    @State private var codeSent = false
    @State private var message: String?

    var body: some View {
        Form {
            Picker("I am", selection: $asDriver) {
                Text("Buying a car").tag(false)
                Text("Delivering cars").tag(true)
            }
            .pickerStyle(.segmented)
            TextField("Email", text: $email).textContentType(.emailAddress).keyboardType(.emailAddress).textInputAutocapitalization(.never)
            if codeSent {
                TextField("Code", text: $code).textContentType(.oneTimeCode).keyboardType(.numberPad)
                Button("Sign in") {
                    attempt($message) {
                        if asDriver { try await driver.signIn(email: email, code: code) } else { try await customer.signIn(email: email, code: code) }
                        signedIn(asDriver ? .driver : .customer)
                        return nil
                    }
                }
                .disabled(code.isEmpty)
            } else {
                Button("Send me a code") {
                    attempt($message) {
                        if asDriver { try await driver.requestSignInCode(email: email) } else { try await customer.requestSignInCode(email: email) }
                        codeSent = true
                        return "We sent a code to \(email)."
                    }
                }
                .disabled(!email.contains("@"))
            }
            if let message { Text(message).foregroundStyle(.secondary) }
        }
        .navigationTitle("Sign in")
    }
}
