import CaasCore
import Foundation

/// The driver role of the app. The company's deliveries are kept on the phone and every action is
/// recorded there first, so a driver without signal keeps working: actions return `.queued` and
/// leave in order when `sync()` (or the core's own retries) reaches the platform. Call `sync()`
/// from a `BGProcessingTask` with network connectivity required. An action whose answer this
/// version cannot read returns `.wedged` and waits in `held()` for the driver to `retry` or
/// `discard` it; it holds back only the later actions on the same car.
public final class DriverRepository: Sendable {
    private let core: Caas

    private init(core: Caas) {
        self.core = core
    }

    public static func open(backendURL: URL, dataDirectory: URL, secrets: SecretStore) async throws -> DriverRepository {
        let config = CaasConfig(backendUrl: backendURL.absoluteString, dataDir: dataDirectory.path)
        return DriverRepository(core: try await Caas.open(config: config, secrets: secrets))
    }

    /// The deliveries as the phone holds them, with what is not synced yet: now, then after every
    /// change.
    public var deliveries: AsyncStream<[AssignedDelivery]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [AssignedDelivery].self, bufferingPolicy: .bufferingNewest(1))
        let handle = core.subscribeDeliveries(listener: DeliveriesRelay { continuation.yield($0) })
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// Whether a driver's session is kept from before, so the app opens on the deliveries.
    public var isSignedIn: Bool {
        get throws { try core.isSignedIn() }
    }

    public func requestSignInCode(email: String) async throws {
        try await cancellable { [core] in try await core.requestSignInCode(email: email) }
    }

    /// Signs in with the code emailed to the driver; returns the driver id.
    @discardableResult
    public func signIn(email: String, code: String) async throws -> String {
        try await cancellable { [core] in try await core.signInDriver(email: email, code: code) }
    }

    /// Throws `CaasError.PendingActions` while actions are not synced.
    public func signOut() async throws {
        try await cancellable { [core] in try await core.signOut() }
    }

    /// Fetches the company's open deliveries and the key that checks handover codes offline.
    @discardableResult
    public func refresh() async throws -> [AssignedDelivery] {
        try await cancellable { [core] in try await core.refreshDeliveries() }
    }

    /// The car is loaded; `vin` as scanned from the windscreen.
    @discardableResult
    public func embark(deliveryID: UUID, vin: String) async throws -> DriverActionOutcome {
        try await cancellable { [core] in try await core.embark(deliveryId: deliveryID, vin: vin) }
    }

    @discardableResult
    public func arrive(deliveryID: UUID) async throws -> DriverActionOutcome {
        try await cancellable { [core] in try await core.arrive(deliveryId: deliveryID) }
    }

    /// Nobody took the car; `call` is what the phone call to the customer gave.
    @discardableResult
    public func reportAbsent(deliveryID: UUID, call: CallOutcome) async throws -> DriverActionOutcome {
        try await cancellable { [core] in try await core.reportAbsent(deliveryId: deliveryID, call: call) }
    }

    /// Something on the way stops the trip: the car goes back to the dealership with the driver
    /// and the customer is told. `note` is one line of at most `incidentNoteMaxChars()`
    /// characters; a longer one throws `CaasError.Rejected` before anything is recorded.
    @discardableResult
    public func reportIncident(deliveryID: UUID, kind: IncidentKind, note: String?) async throws -> DriverActionOutcome {
        try await cancellable { [core] in try await core.reportIncident(deliveryId: deliveryID, kind: kind, note: note) }
    }

    /// A delay on the way: every car still on its way is expected `minutes` later, for `reason`
    /// (traffic, weather, a longer stop). Works offline; the estimates go out when they can, and
    /// the customers hear of the ones that matter.
    @discardableResult
    public func reportDelay(minutes: Int, reason: EtaReason) async throws -> EstimatesSent {
        let minutes = UInt32(clamping: minutes)
        return try await cancellable { [core] in try await core.reportDelay(minutes: minutes, reason: reason) }
    }

    /// Checks the code the customer shows without recording anything: a scanned QR token is
    /// checked offline; eight digits read out need a connection. A bad code throws
    /// `CaasError.HandoverRefused` with the reason.
    public func checkHandoverCode(deliveryID: UUID, code: String) async throws -> HandoverCheck {
        try await cancellable { [core] in try await core.checkHandoverCode(deliveryId: deliveryID, code: code) }
    }

    /// Hands the car over to the customer whose code checks out.
    @discardableResult
    public func confirmHandover(deliveryID: UUID, code: String) async throws -> DriverActionOutcome {
        try await cancellable { [core] in try await core.confirmHandover(deliveryId: deliveryID, code: code) }
    }

    /// Sends what waits, in order; refreshes the list when nothing is left.
    @discardableResult
    public func sync() async throws -> DriverSyncReport {
        try await cancellable { [core] in try await core.syncDriver() }
    }

    /// Actions the platform refused after they were recorded (e.g. the customer moved the delivery).
    public func conflicts() async throws -> [DriverConflict] {
        try await cancellable { [core] in try await core.driverConflicts() }
    }

    public func dismissConflict(id: Int64) async throws {
        try await cancellable { [core] in try await core.dismissDriverConflict(id: id) }
    }

    /// Actions held on the phone because the platform's answer could not be read, oldest first.
    public func held() async throws -> [WedgedAction] {
        try await cancellable { [core] in try await core.wedgedDriverActions() }
    }

    /// Sends a held action again (the platform may have applied it already; it will not twice).
    @discardableResult
    public func retry(id: Int64) async throws -> DriverSyncReport {
        try await cancellable { [core] in try await core.retryDriverAction(id: id) }
    }

    /// Gives up a held action; the delivery shows the platform's view again.
    public func discard(id: Int64) async throws {
        try await cancellable { [core] in try await core.discardDriverAction(id: id) }
    }
}

private final class DeliveriesRelay: DeliveriesListener, @unchecked Sendable {
    let deliver: ([AssignedDelivery]) -> Void
    init(_ deliver: @escaping ([AssignedDelivery]) -> Void) { self.deliver = deliver }
    func onDeliveries(deliveries: [AssignedDelivery]) { deliver(deliveries) }
}
