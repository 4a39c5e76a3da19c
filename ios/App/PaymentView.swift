import CaasViewModels
import SwiftUI

/// The final payment by card; the card goes to the payment gateway only and is never kept. With
/// 3-D Secure the bank's page opens, and the customer comes back to say they confirmed it.
struct PaymentView: View {
    @State private var model: PaymentModel
    @Environment(\.openURL) private var openURL

    init(model: PaymentModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            TextField("Card number", text: $model.number).keyboardType(.numberPad).textContentType(.creditCardNumber)
            TextField("Expiry (MM/YY)", text: $model.expiry).keyboardType(.numbersAndPunctuation)
            SecureField("Security code", text: $model.securityCode).keyboardType(.numberPad)
            Button("Pay") { Task { await model.pay() } }.disabled(!model.canPay)
            if model.inFlight {
                Button("I confirmed it with my bank") { Task { await model.confirmedWithBank() } }.disabled(model.busy)
            }
            if let notice = model.notice { Text(notice.message) }
        }
        .navigationTitle("Pay")
        .onChange(of: model.bankPage) { _, page in
            guard let page else { return }
            openURL(page)
            model.bankPageOpened()
        }
    }
}
