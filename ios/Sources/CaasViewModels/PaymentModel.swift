import CaasCore
import CaasKit
import Foundation
import Observation

/// A payment by card: the final payment, or an option for the delivered car (both go through the
/// same machinery in the core). The card goes to the payment gateway only: its fields are cleared
/// once paid. With 3-D Secure the bank's page is opened (`bankPage`), and the customer comes back
/// to say they confirmed it; a payment still in flight is resumed, never charged twice.
@Observable
@MainActor
public final class PaymentModel: ScreenModel {
    /// What the payment is for.
    public enum Purchase: Equatable, Sendable {
        /// The amount due before delivery.
        case finalAmount
        /// An option for the delivered car, at the price shown with it.
        case option(OptionOffer)
    }

    public enum Notice: ScreenNotice {
        /// The final payment is made.
        case paid
        /// The option is paid: it switches on when the car receives it.
        case optionBought
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

    public let purchase: Purchase
    private let service: any CustomerOrdersService
    private let orderID: UUID

    /// `inFlight`: the order says a payment for `purchase` waits for the bank (the app was closed
    /// meanwhile).
    public init(service: any CustomerOrdersService, orderID: UUID, inFlight: Bool, purchase: Purchase = .finalAmount) {
        self.service = service
        self.orderID = orderID
        self.inFlight = inFlight
        self.purchase = purchase
    }

    public func pay() async {
        guard case let (month, year)? = Self.expiry(expiry) else {
            notice = .invalidExpiry
            return
        }
        let card = PaymentCard(number: number, expiryMonth: month, expiryYear: year, securityCode: securityCode)
        await perform {
            switch purchase {
            case .finalAmount: return outcome(try await service.pay(orderID: orderID, card: card))
            case .option(let offer): return outcome(try await service.buyOption(orderID: orderID, offer: offer, card: card))
            }
        }
    }

    /// The customer is back from the bank's page.
    public func confirmedWithBank() async {
        await perform {
            let resumed: PaymentProgress?
            switch purchase {
            case .finalAmount: resumed = try await service.resumePayment(orderID: orderID)
            case .option(let offer): resumed = try await service.resumeOptionPayment(orderID: orderID, option: offer.code)
            }
            guard let progress = resumed else {
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
            return purchase == .finalAmount ? .paid : .optionBought
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
