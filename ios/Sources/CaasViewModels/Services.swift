import CaasCore
import CaasKit
import Foundation

/// What the customer's screens need of the core. The view models depend on this, not on
/// `CaasRepository`, so they are tested against fakes as well as against the real core.
public protocol CustomerOrdersService: PushTokenRegistrar {
    /// Whether a session is kept from before, so the app opens on the orders.
    var isSignedIn: Bool { get throws }

    /// The orders, newest first: the cached list at once, then after every change.
    var orders: AsyncStream<[OrderSummary]> { get }

    /// One order: the cached value at once, then every change.
    func order(id: UUID) -> AsyncStream<OrderDetail>

    /// One order as cached now, read synchronously (from memory, or a short local read): what a
    /// screen shows in its first frame. Throws `CaasError.NotFound` for an order not cached.
    func orderSnapshot(id: UUID) throws -> OrderDetail

    func requestSignInCode(email: String) async throws

    /// Signs in with the emailed code; returns the customer id.
    func signIn(email: String, code: String) async throws -> UUID

    /// Fetches what changed.
    func sync() async throws -> SyncReport

    func pay(orderID: UUID, card: PaymentCard) async throws -> PaymentProgress

    /// How the payment in flight ended; nil when none is.
    func resumePayment(orderID: UUID) async throws -> PaymentProgress?

    func deliverySlots(orderID: UUID) async throws -> [DeliverySlot]

    func chooseDeliveryWindow(orderID: UUID, start: Date) async throws

    /// Confirms the delivery address, correcting it when `address` is given.
    func confirmDeliveryAddress(orderID: UUID, address: String?) async throws

    /// The order's purchase record, signed by the platform: a JSON document to keep or share.
    func exportRecord(orderID: UUID) async throws -> String

    /// The handover code while a screen shows it, signed again until it expires.
    func liveHandoverCode(orderID: UUID, fresh: Bool) -> AsyncThrowingStream<CustomerHandoverCode, Error>

    /// Each pairing step, then the finished pairing.
    func pairVehicle(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<PairingProgress, Error>

    /// The options the delivered car can take, with prices and availability. Needs a connection.
    func optionCatalogue(orderID: UUID) async throws -> OptionCatalogue

    /// Buys an offer's option by card at the offer's price, the one the customer was shown, as the
    /// final payment is paid (3-D Secure, typed refusals).
    func buyOption(orderID: UUID, offer: OptionOffer, card: PaymentCard) async throws -> PaymentProgress

    /// How the payment in flight for an option ended; nil when none is.
    func resumeOptionPayment(orderID: UUID, option: OptionCode) async throws -> PaymentProgress?

    /// Each step on the way to the car, then what it did with the options handed to it.
    func activateOptions(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<ActivationProgress, Error>

    /// The workshop's free slots for the car's service. Needs a connection.
    func serviceSlots(orderID: UUID) async throws -> [ServiceSlot]

    /// Books the service in the slot starting at `start`, or moves the booking there.
    func bookService(orderID: UUID, start: Date) async throws

    /// Cancels the booked service.
    func cancelService(orderID: UUID) async throws

    /// Each step on the way to the car, then its odometer and warnings as it read them.
    func readVehicle(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<ReadingProgress, Error>
}

/// Registers the phone's APNs token for the signed-in customer.
public protocol PushTokenRegistrar: Sendable {
    func registerAPNsToken(_ token: Data) async throws -> UUID
}

/// What the driver's screen needs of the core; `DriverRepository` is the real one.
public protocol DriverService: Sendable {
    var isSignedIn: Bool { get throws }

    /// The deliveries as the phone holds them, with what is not synced yet.
    var deliveries: AsyncStream<[AssignedDelivery]> { get }

    func requestSignInCode(email: String) async throws

    /// Signs in with the code emailed to the driver; returns the driver id.
    func signIn(email: String, code: String) async throws -> String

    func refresh() async throws -> [AssignedDelivery]

    func embark(deliveryID: UUID, vin: String) async throws -> DriverActionOutcome

    func arrive(deliveryID: UUID) async throws -> DriverActionOutcome

    func reportAbsent(deliveryID: UUID, call: CallOutcome) async throws -> DriverActionOutcome

    func reportIncident(deliveryID: UUID, kind: IncidentKind, note: String?) async throws -> DriverActionOutcome

    func reportDelay(minutes: Int, reason: EtaReason) async throws -> EstimatesSent

    func checkHandoverCode(deliveryID: UUID, code: String) async throws -> HandoverCheck

    func confirmHandover(deliveryID: UUID, code: String) async throws -> DriverActionOutcome

    func sync() async throws -> DriverSyncReport

    func conflicts() async throws -> [DriverConflict]

    func dismissConflict(id: Int64) async throws

    func held() async throws -> [WedgedAction]

    func retry(id: Int64) async throws -> DriverSyncReport

    func discard(id: Int64) async throws
}

extension CaasRepository: CustomerOrdersService {}

extension DriverRepository: DriverService {}
