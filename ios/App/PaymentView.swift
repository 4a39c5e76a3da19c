import CaasCore
import CaasKit
import SwiftUI

/// The final payment by card; the card goes to the payment gateway only and is never kept.
struct PaymentView: View {
    let repository: CaasRepository
    let orderID: UUID
    @Environment(\.openURL) private var openURL
    @State private var number = ""
    @State private var expiry = ""
    @State private var securityCode = ""
    @State private var message: String?
    @State private var inFlight = false

    var body: some View {
        Form {
            TextField("Card number", text: $number).keyboardType(.numberPad).textContentType(.creditCardNumber)
            TextField("Expiry (MM/YY)", text: $expiry).keyboardType(.numbersAndPunctuation)
            SecureField("Security code", text: $securityCode).keyboardType(.numberPad)
            Button("Pay") {
                let parts = expiry.split(separator: "/").compactMap { UInt16($0) }
                guard parts.count == 2 else { message = "Write the expiry as MM/YY."; return }
                let card = PaymentCard(number: number, expiryMonth: UInt8(clamping: parts[0]), expiryYear: 2000 + parts[1], securityCode: securityCode)
                attempt($message) { try await describe(repository.pay(orderID: orderID, card: card)) }
            }
            .disabled(number.count < 12 || securityCode.count < 3)
            if inFlight {
                Button("I confirmed it with my bank") {
                    attempt($message) {
                        guard let progress = try await repository.resumePayment(orderID: orderID) else { return "No payment is in progress." }
                        return describe(progress)
                    }
                }
            }
            if let message { Text(message) }
        }
        .navigationTitle("Pay")
    }

    private func describe(_ progress: PaymentProgress) -> String {
        switch progress {
        case .succeeded: inFlight = false; return "Paid. Your car is being registered."
        case .processing: inFlight = true; return "Your bank is processing the payment."
        case .requiresAction(_, let url):
            inFlight = true
            if let url = URL(string: url) { openURL(url) }
            return "Confirm the payment with your bank, then come back."
        }
    }
}
