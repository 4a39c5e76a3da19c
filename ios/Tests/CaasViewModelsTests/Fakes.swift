import CaasCore
import CaasKit
import CaasViewModels
import Foundation

/// A lock-guarded value, for fakes the models call from their tasks.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func callAsFunction() -> Value { lock.withLock { value } }

    func update<T>(_ change: (inout Value) -> T) -> T { lock.withLock { change(&value) } }
}

/// A call a fake was asked to make; the models' tests check what reached the core.
enum Call: Equatable {
    case requestSignInCode(String)
    case signIn(String, code: String)
    case sync
    case pay(UUID, lastDigits: String, month: UInt8, year: UInt16)
    case resumePayment(UUID)
    case deliverySlots(UUID)
    case chooseDeliveryWindow(UUID, Date)
    case confirmDeliveryAddress(UUID, String?)
    case exportRecord(UUID)
    case liveHandoverCode(UUID, fresh: Bool)
    case pairVehicle(UUID)
    case optionCatalogue(UUID)
    case buyOption(UUID, OptionCode, lastDigits: String)
    case resumeOptionPayment(UUID, OptionCode)
    case activateOptions(UUID)
    case serviceSlots(UUID)
    case bookService(UUID, Date)
    case cancelService(UUID)
    case readVehicle(UUID)
    case registerAPNsToken(Data)
    case refresh
    case embark(UUID, vin: String)
    case arrive(UUID)
    case reportAbsent(UUID, CallOutcome)
    case reportIncident(UUID, IncidentKind, note: String?)
    case reportDelay(minutes: Int, EtaReason)
    case checkHandoverCode(UUID, String)
    case confirmHandover(UUID, String)
    case driverSync
    case conflicts
    case dismissConflict(Int64)
    case held
    case retry(Int64)
    case discard(Int64)
}

/// Holds an answer back until the test lets it through, to see a model while a call is in flight.
final class Gate: Sendable {
    private let opened: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (opened, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func open() { continuation.yield() }

    func wait() async {
        for await _ in opened { return }
    }
}

/// The customer's core, as scripted by a test: each call is recorded and answered by its handler.
final class FakeCustomer: CustomerOrdersService, @unchecked Sendable {
    let calls = Locked<[Call]>([])
    var signedIn = false
    var onRequestSignInCode: @Sendable (String) async throws -> Void = { _ in }
    var onSignIn: @Sendable (String, String) async throws -> UUID = { _, _ in UUID() }
    var onSync: @Sendable () async throws -> SyncReport = { SyncReport(orders: 0, newEvents: 0) }
    var onPay: @Sendable (PaymentCard) async throws -> PaymentProgress = { _ in .succeeded(paymentId: "pay_1") }
    var onResumePayment: @Sendable () async throws -> PaymentProgress? = { nil }
    var onDeliverySlots: @Sendable () async throws -> [DeliverySlot] = { [] }
    var onChooseDeliveryWindow: @Sendable (Date) async throws -> Void = { _ in }
    var onConfirmDeliveryAddress: @Sendable (String?) async throws -> Void = { _ in }
    var onExportRecord: @Sendable () async throws -> String = { #"{"format":"caas-record/1"}"# }
    var onRegisterAPNsToken: @Sendable (Data) async throws -> UUID = { _ in UUID() }
    var handoverCodes: @Sendable (Bool) -> AsyncThrowingStream<CustomerHandoverCode, Error> = { _ in AsyncThrowingStream { $0.finish() } }
    var pairing: @Sendable () -> AsyncThrowingStream<PairingProgress, Error> = { AsyncThrowingStream { $0.finish() } }
    var onOptionCatalogue: @Sendable () async throws -> OptionCatalogue = { OptionCatalogue(basePlatform: "urban-ev", offers: []) }
    var onBuyOption: @Sendable (OptionCode, PaymentCard) async throws -> PaymentProgress = { _, _ in .succeeded(paymentId: "pay_option") }
    var onResumeOptionPayment: @Sendable (OptionCode) async throws -> PaymentProgress? = { _ in nil }
    var activation: @Sendable () -> AsyncThrowingStream<ActivationProgress, Error> = { AsyncThrowingStream { $0.finish() } }
    var onServiceSlots: @Sendable () async throws -> [ServiceSlot] = { [] }
    var onBookService: @Sendable (Date) async throws -> Void = { _ in }
    var onCancelService: @Sendable () async throws -> Void = {}
    var carReading: @Sendable () -> AsyncThrowingStream<ReadingProgress, Error> = { AsyncThrowingStream { $0.finish() } }

    let (orders, ordersFeed) = AsyncStream.makeStream(of: [OrderSummary].self)
    private let orderFeeds = Locked<[AsyncStream<OrderDetail>.Continuation]>([])

    private let cached = Locked<OrderDetail?>(nil)

    /// Every screen following an order gets `detail`, and the cache holds it from now on.
    func publish(_ detail: OrderDetail) {
        cached.update { $0 = detail }
        for feed in orderFeeds() { feed.yield(detail) }
    }

    private func record(_ call: Call) { calls.update { $0.append(call) } }

    var isSignedIn: Bool { signedIn }

    func order(id: UUID) -> AsyncStream<OrderDetail> {
        let (stream, feed) = AsyncStream.makeStream(of: OrderDetail.self)
        orderFeeds.update { $0.append(feed) }
        return stream
    }

    func orderSnapshot(id: UUID) throws -> OrderDetail {
        guard let detail = cached() else { throw CaasError.NotFound(what: "order \(id)") }
        return detail
    }

    func requestSignInCode(email: String) async throws {
        record(.requestSignInCode(email))
        try await onRequestSignInCode(email)
    }

    func signIn(email: String, code: String) async throws -> UUID {
        record(.signIn(email, code: code))
        return try await onSignIn(email, code)
    }

    func sync() async throws -> SyncReport {
        record(.sync)
        return try await onSync()
    }

    func pay(orderID: UUID, card: PaymentCard) async throws -> PaymentProgress {
        record(.pay(orderID, lastDigits: String(card.number.suffix(4)), month: card.expiryMonth, year: card.expiryYear))
        return try await onPay(card)
    }

    func resumePayment(orderID: UUID) async throws -> PaymentProgress? {
        record(.resumePayment(orderID))
        return try await onResumePayment()
    }

    func deliverySlots(orderID: UUID) async throws -> [DeliverySlot] {
        record(.deliverySlots(orderID))
        return try await onDeliverySlots()
    }

    func chooseDeliveryWindow(orderID: UUID, start: Date) async throws {
        record(.chooseDeliveryWindow(orderID, start))
        try await onChooseDeliveryWindow(start)
    }

    func confirmDeliveryAddress(orderID: UUID, address: String?) async throws {
        record(.confirmDeliveryAddress(orderID, address))
        try await onConfirmDeliveryAddress(address)
    }

    func exportRecord(orderID: UUID) async throws -> String {
        record(.exportRecord(orderID))
        return try await onExportRecord()
    }

    func liveHandoverCode(orderID: UUID, fresh: Bool) -> AsyncThrowingStream<CustomerHandoverCode, Error> {
        record(.liveHandoverCode(orderID, fresh: fresh))
        return handoverCodes(fresh)
    }

    func pairVehicle(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<PairingProgress, Error> {
        record(.pairVehicle(orderID))
        return pairing()
    }

    func optionCatalogue(orderID: UUID) async throws -> OptionCatalogue {
        record(.optionCatalogue(orderID))
        return try await onOptionCatalogue()
    }

    func buyOption(orderID: UUID, offer: OptionOffer, card: PaymentCard) async throws -> PaymentProgress {
        record(.buyOption(orderID, offer.code, lastDigits: String(card.number.suffix(4))))
        return try await onBuyOption(offer.code, card)
    }

    func resumeOptionPayment(orderID: UUID, option: OptionCode) async throws -> PaymentProgress? {
        record(.resumeOptionPayment(orderID, option))
        return try await onResumeOptionPayment(option)
    }

    func activateOptions(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<ActivationProgress, Error> {
        record(.activateOptions(orderID))
        return activation()
    }

    func serviceSlots(orderID: UUID) async throws -> [ServiceSlot] {
        record(.serviceSlots(orderID))
        return try await onServiceSlots()
    }

    func bookService(orderID: UUID, start: Date) async throws {
        record(.bookService(orderID, start))
        try await onBookService(start)
    }

    func cancelService(orderID: UUID) async throws {
        record(.cancelService(orderID))
        try await onCancelService()
    }

    func readVehicle(orderID: UUID, transport: BleTransport, options: PairingOptions?) -> AsyncThrowingStream<ReadingProgress, Error> {
        record(.readVehicle(orderID))
        return carReading()
    }

    func registerAPNsToken(_ token: Data) async throws -> UUID {
        record(.registerAPNsToken(token))
        return try await onRegisterAPNsToken(token)
    }
}

/// The driver's core, as scripted by a test.
final class FakeDriver: DriverService, @unchecked Sendable {
    let calls = Locked<[Call]>([])
    var signedIn = false
    var onSignIn: @Sendable (String, String) async throws -> String = { _, _ in "driver_1" }
    var onRefresh: @Sendable () async throws -> [AssignedDelivery] = { [] }
    var onAction: @Sendable (Call) async throws -> DriverActionOutcome = { _ in .synced }
    var onCheckHandoverCode: @Sendable (String) async throws -> HandoverCheck = { _ in
        HandoverCheck(orderId: UUID(), customerName: "Ana Pérez", expiresAt: Date().addingTimeInterval(600))
    }
    var onSync: @Sendable () async throws -> DriverSyncReport = { DriverSyncReport(sent: 0, rejected: 0, pending: 0, held: 0) }
    let conflictList = Locked<[DriverConflict]>([])
    let heldList = Locked<[WedgedAction]>([])

    let (deliveries, deliveriesFeed) = AsyncStream.makeStream(of: [AssignedDelivery].self)

    private func record(_ call: Call) { calls.update { $0.append(call) } }

    var isSignedIn: Bool { signedIn }

    func requestSignInCode(email: String) async throws { record(.requestSignInCode(email)) }

    func signIn(email: String, code: String) async throws -> String {
        record(.signIn(email, code: code))
        return try await onSignIn(email, code)
    }

    func refresh() async throws -> [AssignedDelivery] {
        record(.refresh)
        return try await onRefresh()
    }

    func embark(deliveryID: UUID, vin: String) async throws -> DriverActionOutcome { try await act(.embark(deliveryID, vin: vin)) }

    func arrive(deliveryID: UUID) async throws -> DriverActionOutcome { try await act(.arrive(deliveryID)) }

    func reportAbsent(deliveryID: UUID, call: CallOutcome) async throws -> DriverActionOutcome { try await act(.reportAbsent(deliveryID, call)) }

    func reportIncident(deliveryID: UUID, kind: IncidentKind, note: String?) async throws -> DriverActionOutcome {
        try await act(.reportIncident(deliveryID, kind, note: note))
    }

    func reportDelay(minutes: Int, reason: EtaReason) async throws -> EstimatesSent {
        record(.reportDelay(minutes: minutes, reason))
        return EstimatesSent(sent: 2, waiting: 1)
    }

    func checkHandoverCode(deliveryID: UUID, code: String) async throws -> HandoverCheck {
        record(.checkHandoverCode(deliveryID, code))
        return try await onCheckHandoverCode(code)
    }

    func confirmHandover(deliveryID: UUID, code: String) async throws -> DriverActionOutcome { try await act(.confirmHandover(deliveryID, code)) }

    func sync() async throws -> DriverSyncReport {
        record(.driverSync)
        return try await onSync()
    }

    func conflicts() async throws -> [DriverConflict] {
        record(.conflicts)
        return conflictList()
    }

    func dismissConflict(id: Int64) async throws {
        record(.dismissConflict(id))
        conflictList.update { $0.removeAll { $0.id == id } }
    }

    func held() async throws -> [WedgedAction] {
        record(.held)
        return heldList()
    }

    func retry(id: Int64) async throws -> DriverSyncReport {
        record(.retry(id))
        heldList.update { $0.removeAll { $0.id == id } }
        return DriverSyncReport(sent: 1, rejected: 0, pending: 0, held: 0)
    }

    func discard(id: Int64) async throws {
        record(.discard(id))
        heldList.update { $0.removeAll { $0.id == id } }
    }

    private func act(_ call: Call) async throws -> DriverActionOutcome {
        record(call)
        return try await onAction(call)
    }
}

/// iOS's notification settings, as far as the app asks them.
final class FakeAuthorizer: NotificationAuthorizer, @unchecked Sendable {
    enum Step: Equatable {
        case requestAuthorization
        case registerCategories([String])
        case registerForRemoteNotifications
    }

    let steps = Locked<[Step]>([])
    let allows: Bool

    init(allows: Bool = true) { self.allows = allows }

    func requestAuthorization() async throws -> Bool {
        steps.update { $0.append(.requestAuthorization) }
        return allows
    }

    func registerCategories(_ identifiers: [String]) async {
        steps.update { $0.append(.registerCategories(identifiers)) }
    }

    func registerForRemoteNotifications() async {
        steps.update { $0.append(.registerForRemoteNotifications) }
    }
}

/// A BLE transport never used: the fake core pairs without one.
final class UnusedTransport: BleTransport, @unchecked Sendable {
    func scan(timeoutMs: UInt32) async throws -> [BleAdvertisement] { [] }
    func connect(peripheralId: String) async throws -> UInt16 { 23 }
    func write(peripheralId: String, chunk: Data) async throws {}
    func nextIndication(peripheralId: String, timeoutMs: UInt32) async throws -> Data? { nil }
    func disconnect(peripheralId: String) async {}
}

// Values as the core would give them.

let madrid = PickupPoint(dealership: "Madrid Centro", address: "Calle de Alcalá 1, Madrid", openingHours: "9–20")

func window(startingIn hours: Double, length: Double = 2) -> DeliveryWindow {
    let start = Date(timeIntervalSince1970: 1_900_000_000).addingTimeInterval(hours * 3600)
    return DeliveryWindow(start: start, end: start.addingTimeInterval(length * 3600))
}

func summary(_ id: UUID = UUID(), state: OrderState = .inProduction) -> OrderSummary {
    OrderSummary(
        id: id, state: state, phase: .manufacturing, version: 3, basePlatform: "urban-ev", dealership: "Madrid Centro",
        completion: nil, blocker: nil, waitingFor: [], updatedAt: Date())
}

func detail(
    _ id: UUID = UUID(), state: OrderState = .transportScheduled, actions: [CustomerAction] = [], delivery: CaasCore.DeliveryView? = nil,
    paymentInFlight: Bool? = nil, options: [OptionPurchase] = [], optionPaymentsInFlight: [OptionCode] = [],
    maintenance: MaintenanceView? = nil
) -> OrderDetail {
    OrderDetail(
        summary: summary(id, state: state), configuration: VehicleConfiguration(basePlatform: "urban-ev", options: []),
        deliveryLocality: "Madrid", deposit: nil, vin: "VF1URBANEV0000001", timeline: [], estimateRevisions: [], actions: actions,
        price: nil,
        finalPayment: paymentInFlight.map {
            FinalPaymentDue(amountDue: Money(amountMinor: 3_000_000, currency: "EUR"), deadline: Date().addingTimeInterval(86_400),
                            secondsLeft: 86_400, paidAt: nil, attemptInFlight: $0)
        },
        registration: nil, reservationLost: false, fromStock: false, delivery: delivery, deliveryWindows: [],
        arrivalEstimates: [], phoneKeys: [],
        appLink: nil, refunds: [], options: options, optionPaymentsInFlight: optionPaymentsInFlight,
        maintenance: maintenance, unknownUpdates: [])
}

func booked(window booked: DeliveryWindow = window(startingIn: 72), address: String? = "Calle Mayor 1, Madrid", changesLeft: UInt32 = 2) -> CaasCore.DeliveryView {
    CaasCore.DeliveryView(
        deliveryId: UUID(), company: TransportCompanyView(id: "iberia-carriers", name: "Iberia Carriers", phone: "+34 900 000 000"),
        attempt: 1, window: booked, address: address, addressConfirmed: false, changesLeft: changesLeft, embarkation: nil,
        arrivedAt: nil, reception: nil, pickup: nil, handover: nil, incident: nil, eta: nil, dispute: nil)
}

func assigned(steps: [DriverStep] = [.embark], state: OrderState = .transportScheduled) -> AssignedDelivery {
    AssignedDelivery(
        deliveryId: UUID(), orderId: UUID(), state: state, attempt: 1, window: window(startingIn: 3), vin: "VF1URBANEV0000001",
        plate: "1234 LMN", model: "urban-ev", customerName: "Ana Pérez", customerPhone: nil, address: "Calle Mayor 1, Madrid",
        addressConfirmed: true, dealership: madrid, unsyncedActions: 0, steps: steps, eta: nil)
}

func handoverCode(_ digits: String, expiresIn seconds: Double = 300) -> CustomerHandoverCode {
    CustomerHandoverCode(token: "tok.\(digits)", shortCode: digits, expiresAt: Date().addingTimeInterval(seconds))
}

func euros(_ amountMinor: Int64) -> Money { Money(amountMinor: amountMinor, currency: "EUR") }

func offer(_ code: OptionCode, _ availability: Availability = .available, kind: OptionKind = .software) -> OptionOffer {
    OptionOffer(code: code, name: code, price: euros(30_000), kind: kind, requires: [], conflictsWith: [], availability: availability)
}

/// An option bought for the car, as the order lists it.
func purchase(_ option: OptionCode, _ status: PurchaseStatus = .paid, via channel: ActivationChannel? = nil) -> OptionPurchase {
    let paid = Date(timeIntervalSince1970: 1_900_000_000)
    return OptionPurchase(
        purchaseId: UUID(), option: option, name: option, price: euros(30_000), status: status, paidAt: paid,
        activateBy: paid.addingTimeInterval(72 * 3600), entitlement: status == .paid ? "ent.\(option)" : nil,
        activatedAt: status == .activated ? paid.addingTimeInterval(60) : nil, activatedVia: channel,
        refundedAt: status == .refunded ? paid.addingTimeInterval(96 * 3600) : nil)
}

/// A day as the core gives it (`NaiveDate`).
func calendarDay(_ year: Int, _ month: Int, _ day: Int) -> DateComponents {
    DateComponents(year: year, month: month, day: day)
}

/// An hour of the workshop, `hours` after a fixed instant.
func serviceSlot(startingIn hours: Double, free: UInt32 = 2) -> ServiceSlot {
    let start = Date(timeIntervalSince1970: 1_900_000_000).addingTimeInterval(hours * 3600)
    return ServiceSlot(start: start, end: start.addingTimeInterval(3600), free: free)
}

/// An operational car's maintenance: every 20,000 km or 12 months, the next service at `dueKm` or
/// by `dueBy`.
func maintenanceView(
    odometerKm: UInt32 = 12, reportedAt: Date? = nil, warnings: [WarningCode] = [], dueKm: UInt32 = 20_000,
    dueBy: DateComponents = calendarDay(2031, 3, 15), booking: ServiceBooking? = nil, visits: [ServiceVisit] = []
) -> MaintenanceView {
    MaintenanceView(
        plan: MaintenancePlan(everyKm: 20_000, everyMonths: 12), odometerKm: odometerKm, reportedAt: reportedAt, warnings: warnings,
        nextService: NextService(dueKm: dueKm, dueBy: dueBy), booking: booking, visits: visits)
}
