import CaasCore
import Foundation

/// A card as typed on the payment screen. It goes from here to the payment gateway only, and its
/// description shows the last four digits, so it never reaches a log whole.
public struct PaymentCard: Sendable, CustomStringConvertible {
    public let number: String
    public let expiryMonth: UInt8
    public let expiryYear: UInt16
    public let securityCode: String

    public init(number: String, expiryMonth: UInt8, expiryYear: UInt16, securityCode: String) {
        self.number = number
        self.expiryMonth = expiryMonth
        self.expiryYear = expiryYear
        self.securityCode = securityCode
    }

    public var description: String { "PaymentCard(•••• \(String(number.filter(\.isNumber).suffix(4))))" }

    var core: CardDetails {
        CardDetails(number: number, expMonth: expiryMonth, expYear: expiryYear, cvc: securityCode)
    }
}

/// A handover code to show the driver or the dealership: `token` goes into the QR code,
/// `shortCode` is read out. It is a short-lived credential, so its description shows only its
/// expiry.
public struct CustomerHandoverCode: Sendable, CustomStringConvertible {
    public let token: String
    public let shortCode: String
    public let expiresAt: Date

    public var description: String { "CustomerHandoverCode(expires \(expiresAt))" }

    init(_ code: HandoverCode) {
        self.init(token: code.token, shortCode: code.shortCode, expiresAt: code.expiresAt)
    }

    public init(token: String, shortCode: String, expiresAt: Date) {
        self.token = token
        self.shortCode = shortCode
        self.expiresAt = expiresAt
    }
}

/// A push the core handled, and what came of it.
public struct HandledPush: Sendable, Equatable {
    public let hint: PushHint
    public let outcome: PushOutcome
}

/// What the pairing screen shows: each step as it starts, then the finished pairing.
public enum PairingProgress: Sendable {
    case step(PairingStep)
    case linked(Paired)
}

/// What a screen shows while the phone runs an errand on the car over Bluetooth: each step on the
/// way to the car (as in pairing), then what came of it.
public enum CarErrandProgress<Outcome: Sendable>: Sendable {
    case step(PairingStep)
    case done(Outcome)
}

extension CarErrandProgress: Equatable where Outcome: Equatable {}

/// Handing the options bought to the car: each step, then what the car did with them.
public typealias ActivationProgress = CarErrandProgress<OptionsActivation>

/// Reading the car's odometer and warnings: each step, then what the car said.
public typealias ReadingProgress = CarErrandProgress<VehicleReading>

/// The app's one door to the shared core: state as `AsyncStream`s the views observe, actions as
/// `async` functions that honour task cancellation. Snapshots come from the on-device cache, so
/// they show at once and offline; the core's errors are thrown as `CaasError`.
public final class CaasRepository: Sendable {
    private let core: Caas

    private init(core: Caas) {
        self.core = core
    }

    /// Opens the core on the app's private `dataDirectory`; secrets go to `secrets` (the
    /// Keychain in the app), never to the cache.
    public static func open(backendURL: URL, dataDirectory: URL, secrets: SecretStore) async throws -> CaasRepository {
        let config = CaasConfig(backendUrl: backendURL.absoluteString, dataDir: dataDirectory.path)
        return CaasRepository(core: try await Caas.open(config: config, secrets: secrets))
    }

    /// Opens the core with the app's own device key (kept in the Secure Enclave on iOS).
    public static func open(
        backendURL: URL, dataDirectory: URL, secrets: SecretStore, deviceKey: DeviceKey
    ) async throws -> CaasRepository {
        let config = CaasConfig(backendUrl: backendURL.absoluteString, dataDir: dataDirectory.path)
        return CaasRepository(core: try await Caas.openWithDeviceKey(config: config, secrets: secrets, deviceKey: deviceKey))
    }

    /// The customer's orders, newest first: the cached list at once, then after every change.
    public var orders: AsyncStream<[OrderSummary]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [OrderSummary].self, bufferingPolicy: .bufferingNewest(1))
        let handle = core.subscribeOrders(listener: OrdersRelay { continuation.yield($0) })
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// One order with its timeline: the cached value at once, then every change.
    public func order(id: UUID) -> AsyncStream<OrderDetail> {
        let (stream, continuation) = AsyncStream.makeStream(of: OrderDetail.self, bufferingPolicy: .bufferingNewest(1))
        let handle = core.subscribeOrder(id: id, listener: OrderRelay { continuation.yield($0) })
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// Every push the core handles from now on.
    public var pushes: AsyncStream<HandledPush> {
        let (stream, continuation) = AsyncStream.makeStream(of: HandledPush.self, bufferingPolicy: .bufferingNewest(64))
        let handle = core.subscribePushes(listener: PushRelay { continuation.yield($0) })
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    public var isSignedIn: Bool {
        get throws { try core.isSignedIn() }
    }

    public func requestSignInCode(email: String) async throws {
        try await cancellable { [core] in try await core.requestSignInCode(email: email) }
    }

    /// Signs in with the emailed code; returns the customer id.
    @discardableResult
    public func signIn(email: String, code: String) async throws -> UUID {
        try await cancellable { [core] in try await core.signIn(email: email, code: code) }
    }

    public func signOut() async throws {
        try await cancellable { [core] in try await core.signOut() }
    }

    /// Fetches what changed; throws `CaasError.Offline` while the cache keeps answering.
    @discardableResult
    public func sync() async throws -> SyncReport {
        try await cancellable { [core] in try await core.sync() }
    }

    /// One cached order now, without `await`: from the core's memory while nothing changed since
    /// it was last read, otherwise a short read of the on-device cache on the calling thread
    /// (never the network). Throws `CaasError.NotFound` for an order the phone does not hold.
    public func orderSnapshot(id: UUID) throws -> OrderDetail {
        try core.orderSnapshot(id: id)
    }

    /// Pays the amount due of an order. A payment still in flight is resumed, never charged twice.
    /// Declines throw `CaasError.PaymentRefused` with the reason; offline throws `CaasError.Offline`
    /// at once (nothing is queued; paying again resumes the same payment). `.requiresAction` asks
    /// the app to open the bank's page, then call `resumePayment`.
    public func pay(orderID: UUID, card: PaymentCard) async throws -> PaymentProgress {
        try await cancellable { [core] in try await core.pay(orderId: orderID, card: card.core) }
    }

    /// How the payment in flight ended (after 3-D Secure, or at launch); `nil` when none is.
    public func resumePayment(orderID: UUID) async throws -> PaymentProgress? {
        try await cancellable { [core] in try await core.resumePayment(orderId: orderID) }
    }

    /// The windows the delivery of an order can move to.
    public func deliverySlots(orderID: UUID) async throws -> [DeliverySlot] {
        try await cancellable { [core] in try await core.deliverySlots(orderId: orderID) }
    }

    /// Moves the delivery to the offered window starting at `start`. Needs a connection: a window
    /// is only worth choosing while the transport company has room in it. Refusals (too late, no
    /// changes left, the window just taken) throw `CaasError.Rejected` with the reason.
    public func chooseDeliveryWindow(orderID: UUID, start: Date) async throws {
        try await cancellable { [core] in try await core.chooseDeliveryWindow(orderId: orderID, start: start) }
    }

    /// Confirms the delivery address, correcting it when `address` is given.
    public func confirmDeliveryAddress(orderID: UUID, address: String? = nil) async throws {
        try await cancellable { [core] in try await core.confirmDeliveryAddress(orderId: orderID, address: address) }
    }

    /// The order's purchase record as this phone holds it, signed by the platform up to its last
    /// event: a JSON document anyone checks offline with the platform's public key
    /// (`verifyRecord`). Works offline once the order is synced.
    public func exportRecord(orderID: UUID) async throws -> String {
        try await cancellable { [core] in try await core.exportRecord(orderId: orderID) }
    }

    /// The platform's record key this phone pinned at its first sync (base64url).
    public func recordPublicKey() async throws -> String? {
        try await cancellable { [core] in try await core.recordPublicKey() }
    }

    /// Disputes a recorded handover (the car did not reach the customer); the dealership is told at once.
    public func disputeHandover(orderID: UUID, reason: String) async throws {
        try await cancellable { [core] in try await core.disputeHandover(orderId: orderID, reason: reason) }
    }

    /// A new code to show the driver or the dealership; offline, the last one while it is valid.
    public func handoverCode(orderID: UUID) async throws -> CustomerHandoverCode {
        CustomerHandoverCode(try await cancellable { [core] in try await core.handoverCode(orderId: orderID) })
    }

    /// The code on screen signed again by this phone for this moment, offline too; `nil` once it
    /// expired. The signature is the customer's word for when the driver checked the code, which a
    /// driver without signal needs if the confirmation reaches the platform after the code expired.
    public func presentHandoverCode(orderID: UUID) async throws -> CustomerHandoverCode? {
        do {
            return CustomerHandoverCode(try await cancellable { [core] in try await core.presentHandoverCode(orderId: orderID) })
        } catch CaasError.NotFound {
            return nil
        }
    }

    /// How often the handover code on screen is signed again.
    public var handoverRefresh: Duration { .seconds(Int(handoverRefreshSeconds())) }

    /// The handover code while a screen shows it, signed again every `handoverRefresh` until it
    /// expires, when the stream finishes. It starts from the code already shown, if still valid,
    /// so a screen that comes back keeps the code a driver may have checked; `fresh` asks for a new
    /// one ("New code"), which replaces it. Cancelling the consuming task stops it.
    public func liveHandoverCode(orderID: UUID, fresh: Bool = false) -> AsyncThrowingStream<CustomerHandoverCode, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: CustomerHandoverCode.self)
        let refresh = handoverRefresh
        let showing = Task {
            do {
                var code: CustomerHandoverCode
                if !fresh, let shown = try await presentHandoverCode(orderID: orderID) {
                    code = shown
                } else {
                    code = try await handoverCode(orderID: orderID)
                }
                while true {
                    continuation.yield(code)
                    let untilExpiry = Duration.milliseconds(max(0, Int64(code.expiresAt.timeIntervalSinceNow * 1000)))
                    try await Task.sleep(for: min(refresh, untilExpiry))
                    guard let next = try await presentHandoverCode(orderID: orderID) else { break }
                    code = next
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in showing.cancel() }
        return stream
    }

    /// Pairs the phone with the delivered car of an order over `transport` (the app's CoreBluetooth
    /// transport, or `simulatedBleTransport` against a platform mock). The stream yields each
    /// `.step`, then `.linked`, and finishes; a failure is thrown as `CaasError.Pairing`, whose
    /// `failure` says what the customer can do. Cancelling the consuming task stops waiting.
    public func pairVehicle(
        orderID: UUID, transport: BleTransport, options: PairingOptions? = nil
    ) -> AsyncThrowingStream<PairingProgress, Error> {
        onCar(step: { PairingProgress.step($0) }, done: { PairingProgress.linked($0) }) { core, steps in
            try await core.pairVehicle(orderId: orderID, transport: transport, options: options, listener: steps)
        }
    }

    /// The options the order's car can take after delivery, with their prices and whether each
    /// can be bought now (and if not, why). Needs a connection: prices and availability are the
    /// platform's of the moment.
    public func optionCatalogue(orderID: UUID) async throws -> OptionCatalogue {
        try await cancellable { [core] in try await core.optionCatalogue(orderId: orderID) }
    }

    /// Buys the offer's option for the delivered car at the offer's price (the one shown), with
    /// the final payment's machinery: `.requiresAction` opens the bank's 3-D Secure page, then
    /// `resumeOptionPayment`; a payment in flight for the option is resumed, never charged twice.
    /// An option the car cannot take now throws `CaasError.PaymentRefused` with
    /// `.optionUnavailable`, a price changed since with `.amountChanged`, before any charge. Once
    /// paid, the platform sends it to the car; near the car, `activateOptions`.
    public func buyOption(orderID: UUID, offer: OptionOffer, card: PaymentCard) async throws -> PaymentProgress {
        try await cancellable { [core] in
            try await core.buyOption(orderId: orderID, option: offer.code, price: offer.price, card: card.core)
        }
    }

    /// How the payment in flight for `option` ended (after 3-D Secure); `nil` when none is.
    public func resumeOptionPayment(orderID: UUID, option: OptionCode) async throws -> PaymentProgress? {
        try await cancellable { [core] in try await core.resumeOptionPayment(orderId: orderID, option: option) }
    }

    /// Hands the car, over `transport`, every option paid for that it has not confirmed: for a
    /// car out of the connected-car network's reach (an underground car park). Works without
    /// signal once the order is synced; the car's receipts reach the platform now or at the next
    /// sync (`reported`). The stream yields each `.step` on the way to the car, then `.done` (whose
    /// `link` is nil when nothing was waiting and the phone did not go to the car), and finishes;
    /// a failure is thrown as `CaasError.Pairing`. Cancelling the consuming task stops waiting.
    public func activateOptions(
        orderID: UUID, transport: BleTransport, options: PairingOptions? = nil
    ) -> AsyncThrowingStream<ActivationProgress, Error> {
        onCar(step: { ActivationProgress.step($0) }, done: { ActivationProgress.done($0) }) { core, steps in
            try await core.activateOptions(orderId: orderID, transport: transport, options: options, listener: steps)
        }
    }

    /// The dealership workshop's free hourly slots, from 24 hours ahead for two weeks. Needs a
    /// connection: a slot is only worth choosing while the workshop has a bay free in it.
    public func serviceSlots(orderID: UUID) async throws -> [ServiceSlot] {
        try await cancellable { [core] in try await core.serviceSlots(orderId: orderID) }
    }

    /// Books the workshop slot starting at `start`, or moves the booking there. Needs a connection.
    /// Refusals throw `CaasError.Rejected` with the reason, as for the delivery window: the slot just
    /// taken (`slot_unavailable`), within 24 hours of the booked slot (`change_too_late`), moved
    /// three times already (`change_limit_reached`). The order shows the booking when this returns.
    public func bookService(orderID: UUID, start: Date) async throws {
        try await cancellable { [core] in try await core.bookService(orderId: orderID, start: start) }
    }

    /// Cancels the booked service; within 24 hours of it, `CaasError.Rejected` (`change_too_late`).
    public func cancelService(orderID: UUID) async throws {
        try await cancellable { [core] in try await core.cancelService(orderId: orderID) }
    }

    /// Reads the car's odometer and warnings over `transport`, next to it. Works without signal once
    /// the order is synced: the car's signed report reaches the platform now or at the next sync
    /// (`reported`), and the order's maintenance shows it. The stream yields each `.step` on the way
    /// to the car, then `.done` with what the car said, and finishes; a failure is thrown as
    /// `CaasError.Pairing`. Cancelling the consuming task stops waiting.
    public func readVehicle(
        orderID: UUID, transport: BleTransport, options: PairingOptions? = nil
    ) -> AsyncThrowingStream<ReadingProgress, Error> {
        onCar(step: { ReadingProgress.step($0) }, done: { ReadingProgress.done($0) }) { core, steps in
            try await core.readVehicle(orderId: orderID, transport: transport, options: options, listener: steps)
        }
    }

    /// Runs an errand on the car (`work`, given the listener of its steps) as a stream of its
    /// steps and then its outcome; the errand stops when the stream's consumer goes away.
    private func onCar<Progress: Sendable, Done: Sendable>(
        step: @escaping @Sendable (PairingStep) -> Progress,
        done: @escaping @Sendable (Done) -> Progress,
        _ work: @escaping @Sendable (Caas, PairingListener) async throws -> Done
    ) -> AsyncThrowingStream<Progress, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Progress.self)
        let steps = StepRelay { continuation.yield(step($0)) }
        let errand = Task { [core] in
            do {
                let outcome = try await cancellable { try await work(core, steps) }
                continuation.yield(done(outcome))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in errand.cancel() }
        return stream
    }

    /// Fetches the phone key for a delivered order now, so pairing in an underground car park
    /// works without signal; call it when the order shows `.delivered`.
    public func preparePairing(orderID: UUID) async throws {
        try await cancellable { [core] in try await core.preparePairing(orderId: orderID) }
    }

    /// Revokes one of the car's phone keys listed in the order's `phoneKeys` (a lost phone); the
    /// car refuses it from its next command. Signing out revokes this phone's own keys by itself.
    public func revokePhoneKey(orderID: UUID, grantID: UUID) async throws {
        try await cancellable { [core] in try await core.revokePhoneKey(orderId: orderID, grantId: grantID) }
    }

    /// Registers the APNs device token (from `didRegisterForRemoteNotificationsWithDeviceToken`).
    @discardableResult
    public func registerAPNsToken(_ token: Data) async throws -> UUID {
        let hex = token.map { String(format: "%02x", $0) }.joined()
        return try await cancellable { [core] in try await core.registerPushDevice(platform: .apns, token: hex) }
    }

    /// Entry point for `didReceiveRemoteNotification` and the Notification Service Extension: the
    /// payload as delivered, which the core checks before syncing the order it names.
    public func didReceiveRemoteNotification(_ userInfo: [AnyHashable: Any]) async throws -> PushOutcome {
        let data = try Self.pushPayload(userInfo)
        return try await cancellable { [core] in try await core.handlePush(payload: data) }
    }

    /// What to show for a push (the Notification Service Extension's content), written by the
    /// core in the first of `languages` it speaks (the person's preference list, as iOS picks the
    /// app's own texts) with times in `timeZone`: nil for a push handled before.
    public func notificationContent(
        for userInfo: [AnyHashable: Any],
        languages: [String] = Locale.preferredLanguages,
        timeZone: TimeZone = .current
    ) async throws -> NotificationContent? {
        let data = try Self.pushPayload(userInfo)
        let offsetMinutes = Int32(timeZone.secondsFromGMT() / 60)
        return try await cancellable { [core] in
            try await core.notificationForPush(
                payload: data, locale: languages.joined(separator: ","), timeZone: timeZone.identifier, utcOffsetMinutes: offsetMinutes)
        }
    }

    private static func pushPayload(_ userInfo: [AnyHashable: Any]) throws -> Data {
        let payload = Dictionary(uniqueKeysWithValues: userInfo.compactMap { key, value in
            (key as? String).map { ($0, value) }
        })
        guard JSONSerialization.isValidJSONObject(payload) else {
            throw CaasError.InvalidPush(reason: "the notification payload is not JSON")
        }
        return try JSONSerialization.data(withJSONObject: payload)
    }

    /// The development push channel (the platform mock's SSE stream) in place of APNs.
    public func connectDevelopmentPushStream() async throws -> PushStreamHandle {
        try await cancellable { [core] in try await core.connectPushStream() }
    }
}

// The core calls these from its own threads; each forwards to an AsyncStream continuation, which
// is safe to use from any thread.

private final class OrdersRelay: OrdersListener, @unchecked Sendable {
    let deliver: ([OrderSummary]) -> Void
    init(_ deliver: @escaping ([OrderSummary]) -> Void) { self.deliver = deliver }
    func onOrders(orders: [OrderSummary]) { deliver(orders) }
}

private final class OrderRelay: OrderListener, @unchecked Sendable {
    let deliver: (OrderDetail) -> Void
    init(_ deliver: @escaping (OrderDetail) -> Void) { self.deliver = deliver }
    func onOrder(order: OrderDetail) { deliver(order) }
}

private final class StepRelay: PairingListener, @unchecked Sendable {
    let deliver: (PairingStep) -> Void
    init(_ deliver: @escaping (PairingStep) -> Void) { self.deliver = deliver }
    func onStep(step: PairingStep) { deliver(step) }
}

private final class PushRelay: PushListener, @unchecked Sendable {
    let deliver: (HandledPush) -> Void
    init(_ deliver: @escaping (HandledPush) -> Void) { self.deliver = deliver }
    func onPush(hint: PushHint, outcome: PushOutcome) { deliver(HandledPush(hint: hint, outcome: outcome)) }
}
