import CaasCore
import CaasKit
import Foundation
import Observation

/// The final payment by card. The card goes to the payment gateway only: its fields are cleared
/// once paid. With 3-D Secure the bank's page is opened (`bankPage`), and the customer comes back
/// to say they confirmed it; a payment still in flight is resumed, never charged twice.
@Observable
@MainActor
public final class PaymentModel: ScreenModel {
    public enum Notice: ScreenNotice {
        case paid
        /// The bank is still processing; ask again later.
        case processing
        /// Confirm the payment on the bank's page, then come back.
        case confirmWithBank
        case noPaymentInProgress
        /// The expiry is not a month and a year (MM/YY).
        case invalidExpiry
        case problem(Problem)
    }

    public var number = ""
    /// As written on the card, MM/YY.
    public var expiry = ""
    public var securityCode = ""
    /// A payment is in flight (waiting for the bank): the screen offers to check how it ended.
    public private(set) var inFlight: Bool
    /// The bank's 3-D Secure page to open; the screen opens it, then calls `bankPageOpened()`.
    public private(set) var bankPage: URL?
    public internal(set) var notice: Notice?
    var running = 0

    public var busy: Bool { running > 0 }
    public var canPay: Bool { !busy && number.filter(\.isNumber).count >= 12 && securityCode.count >= 3 && !expiry.isEmpty }

    private let service: any CustomerOrdersService
    private let orderID: UUID

    /// `inFlight`: the order says a payment waits for the bank (the app was closed meanwhile).
    public init(service: any CustomerOrdersService, orderID: UUID, inFlight: Bool) {
        self.service = service
        self.orderID = orderID
        self.inFlight = inFlight
    }

    public func pay() async {
        guard case let (month, year)? = Self.expiry(expiry) else {
            notice = .invalidExpiry
            return
        }
        let card = PaymentCard(number: number, expiryMonth: month, expiryYear: year, securityCode: securityCode)
        await perform { outcome(try await service.pay(orderID: orderID, card: card)) }
    }

    /// The customer is back from the bank's page.
    public func confirmedWithBank() async {
        await perform {
            guard let progress = try await service.resumePayment(orderID: orderID) else {
                inFlight = false
                return .noPaymentInProgress
            }
            return outcome(progress)
        }
    }

    public func bankPageOpened() {
        bankPage = nil
    }

    private func outcome(_ progress: PaymentProgress) -> Notice {
        switch progress {
        case .succeeded:
            inFlight = false
            number = ""
            expiry = ""
            securityCode = ""
            return .paid
        case .processing:
            inFlight = true
            return .processing
        case .requiresAction(_, let url):
            inFlight = true
            bankPage = URL(string: url)
            return .confirmWithBank
        }
    }

    /// Month and four-digit year of an MM/YY expiry.
    private static func expiry(_ text: String) -> (UInt8, UInt16)? {
        let parts = text.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let month = UInt8(parts[0]), (1...12).contains(month),
              parts[1].count == 2, let year = UInt16(parts[1]) else { return nil }
        return (month, 2000 + year)
    }
}
