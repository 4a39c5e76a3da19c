import CaasCore
import CaasKit
import Foundation
import Observation

/// Options for the delivered car: what it can take (the platform's catalogue, with prices and
/// why an option cannot be bought now), the options bought and where each stands, buying one by
/// card, and handing the ones bought to the car over Bluetooth.
///
/// A software option switches on when the car receives it: over the connected-car network by
/// itself, or from the phone near the car when the car is out of coverage (an underground car
/// park). If the car does not confirm it by `activateBy`, the platform refunds it. Workshop options
/// are fitted at the dealership and are not bought here.
@Observable
@MainActor
public final class OptionsModel: ScreenModel {
    public enum Notice: ScreenNotice {
        /// What the car did with the options handed to it.
        case activated(OptionsActivation)
        /// Nothing was waiting for the car: every option bought is active or refunded.
        case nothingToActivate
        case problem(Problem)
    }

    public enum Activation: Equatable, Sendable {
        case ready
        /// Handing the options to the car: the step under way, nil while the phone gets ready.
        case activating(PairingStep?)
    }

    /// The platform's catalogue for this car; nil until it answered (it needs a connection).
    public private(set) var catalogue: OptionCatalogue?
    /// The options bought for the car, oldest first, as the order shows them (offline too).
    public private(set) var purchases: [OptionPurchase] = []
    /// The options whose payment waits for the bank: their checkout resumes it.
    public private(set) var paymentsInFlight: [OptionCode] = []
    public private(set) var activation: Activation = .ready
    public internal(set) var notice: Notice?
    var running = 0

    public var busy: Bool { running > 0 }
    public var offers: [OptionOffer] { catalogue?.offers ?? [] }
    /// An option is paid and the car has not confirmed it: near the car, the phone can hand it over.
    public var canActivate: Bool { activation == .ready && purchases.contains { $0.status == .paid } }

    private let service: any CustomerOrdersService
    private let orderID: UUID
    private let transport: any BleTransport
    private let errand = CarErrand<OptionsActivation>()

    public init(service: any CustomerOrdersService, orderID: UUID, transport: any BleTransport) {
        self.service = service
        self.orderID = orderID
        self.transport = transport
    }

    /// Whether `offer` can be bought now, or has a payment to resume.
    public func canBuy(_ offer: OptionOffer) -> Bool {
        offer.availability == .available || paymentsInFlight.contains(offer.code)
    }

    /// While the screen shows: the purchases as the order changes, and the catalogue, fetched
    /// again whenever the purchases change (a bought option is no longer available).
    public func run() async {
        var fetchedFor: ([OptionPurchase], [OptionCode])?
        for await order in service.order(id: orderID) {
            purchases = order.options
            paymentsInFlight = order.optionPaymentsInFlight
            let current = (order.options, order.optionPaymentsInFlight)
            if let fetchedFor, fetchedFor == current { continue }
            fetchedFor = current
            // A failure is told, but an earlier notice (what the car did) is not wiped by a success.
            do {
                catalogue = try await service.optionCatalogue(orderID: orderID)
            } catch {
                if let problem = Problem(error) { notice = .problem(problem) }
            }
        }
    }

    /// Fetches the catalogue again (pull to refresh).
    public func refresh() async {
        await perform {
            catalogue = try await service.optionCatalogue(orderID: orderID)
            return nil
        }
    }

    /// The payment screen's model for buying `offer`; it resumes the payment in flight, if any.
    public func checkout(_ offer: OptionOffer) -> PaymentModel {
        PaymentModel(
            service: service, orderID: orderID, inFlight: paymentsInFlight.contains(offer.code), purchase: .option(offer))
    }

    /// Hands every option paid for and not confirmed to the car nearby, unless it is under way;
    /// the task ends with the attempt. It stops on "Cancel" or when the screen goes away.
    @discardableResult
    public func activate() -> Task<Void, Never> {
        errand.run(
            started: {
                notice = nil
                activation = .activating(nil)
            },
            { [service, orderID, transport] in service.activateOptions(orderID: orderID, transport: transport, options: nil) },
            step: { self.activation = .activating($0) },
            // Nothing waited when the phone did not go to the car and nothing the platform sent was
            // unusable.
            done: { done in self.notice = done.link == nil && done.refused.isEmpty ? .nothingToActivate : .activated(done) },
            failed: { self.notice = .problem($0) },
            ended: { self.activation = .ready }
        )
    }

    /// Stops handing the options to the car (the button, or the screen going away).
    public func cancelActivation() {
        errand.cancel()
    }
}
