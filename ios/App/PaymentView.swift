import CaasViewModels
import SwiftUI

/// A payment by card (the amount due, or an option for the car); the card goes to the payment
/// gateway only and is never kept. With 3-D Secure the bank's page opens, and the customer comes
/// back to say they confirmed it. `header` says what is paid for, when the screen does not.
struct PaymentView<Header: View>: View {
    @State private var model: PaymentModel
    private let header: Header
    @Environment(\.openURL) private var openURL

    init(model: PaymentModel, @ViewBuilder header: () -> Header) {
        _model = State(initialValue: model)
        self.header = header()
    }

    var body: some View {
        Form {
            header
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

extension PaymentView where Header == EmptyView {
    /// The amount due, which the order's screen shows.
    init(model: PaymentModel) {
        self.init(model: model) { EmptyView() }
    }
}
