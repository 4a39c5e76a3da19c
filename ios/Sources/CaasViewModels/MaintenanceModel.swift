import CaasCore
import CaasKit
import Foundation
import Observation

/// The car's maintenance once it is operational: the next service (at a distance or by a day,
/// whichever comes first), the odometer and warnings as the car last reported them, the workshop
/// booking (book, move, cancel), the visits, and reading the car nearby over Bluetooth.
///
/// What the order holds shows offline too. The workshop's slots need a connection and are fetched
/// when the customer asks for them; booking, moving and cancelling follow the delivery window's
/// rules (not within 24 hours of the slot, a limited number of moves). Reading the car works
/// without signal: the platform hears of it at the next sync, and meanwhile the screen shows what
/// the phone read.
@Observable
@MainActor
public final class MaintenanceModel: ScreenModel {
    public enum Notice: ScreenNotice {
        case serviceBooked
        case serviceMoved
        case serviceCancelled
        /// What the car said when the phone read it.
        case carRead(VehicleReading)
        case problem(Problem)
    }

    public enum Reading: Equatable, Sendable {
        case ready
        /// Reading the car: the step under way, nil while the phone gets ready.
        case reading(PairingStep?)
    }

    /// The car's odometer and warnings as the screen shows them.
    public struct CarReport: Equatable, Sendable {
        public let odometerKm: UInt32
        public let warnings: [WarningCode]
        /// When the car measured them; nil before its first report.
        public let measuredAt: Date?
        /// Read by this phone and not known to the platform yet: it is sent at the next sync.
        public let waitingForSync: Bool

        public init(odometerKm: UInt32, warnings: [WarningCode], measuredAt: Date?, waitingForSync: Bool) {
            self.odometerKm = odometerKm
            self.warnings = warnings
            self.measuredAt = measuredAt
            self.waitingForSync = waitingForSync
        }
    }

    /// The order's maintenance, offline too; nil until the cache answered (or before the car is
    /// operational).
    public private(set) var maintenance: MaintenanceView?
    /// The workshop's free slots; nil until the customer asks for them, and again once the booking
    /// changed.
    public private(set) var slots: [ServiceSlot]?
    public private(set) var reading: Reading = .ready
    /// What the phone read the last time it went to the car.
    public private(set) var lastReading: VehicleReading?
    public internal(set) var notice: Notice?
    var running = 0

    public var busy: Bool { running > 0 }
    public var booking: ServiceBooking? { maintenance?.booking }
    public var visits: [ServiceVisit] { maintenance?.visits ?? [] }
    /// The slots the service can be booked in or moved to: the booked one left out.
    public var offeredSlots: [ServiceSlot] { (slots ?? []).filter { $0.start != booking?.start } }
    /// A slot can be chosen: nothing is booked, or the booking has moves left.
    public var canChooseSlot: Bool { !busy && maintenance != nil && (booking.map { $0.changesLeft > 0 } ?? true) }
    public var canCancel: Bool { !busy && booking != nil }
    public var canRead: Bool { reading == .ready && maintenance != nil }

    /// The odometer and warnings to show: the phone's own reading when it is newer than the
    /// platform's last report (a car read without signal), otherwise the order's.
    public var car: CarReport? {
        guard let maintenance else { return nil }
        if let read = lastReading, maintenance.reportedAt.map({ read.measuredAt > $0 }) ?? true {
            return CarReport(odometerKm: read.odometerKm, warnings: read.warnings, measuredAt: read.measuredAt, waitingForSync: !read.reported)
        }
        return CarReport(
            odometerKm: maintenance.odometerKm, warnings: maintenance.warnings, measuredAt: maintenance.reportedAt, waitingForSync: false)
    }

    /// Kilometres left to the next service's distance; zero or less once it is reached.
    public var kilometresLeft: Int? {
        guard let maintenance, let car else { return nil }
        return Int(maintenance.nextService.dueKm) - Int(car.odometerKm)
    }

    /// Whether the next service is due on `today`: its distance reached or its day come, whichever
    /// comes first.
    public func serviceDue(today: Date = Date(), calendar: Calendar = .current) -> Bool {
        guard let due = maintenance?.nextService.dueBy, let left = kilometresLeft else { return false }
        if left <= 0 { return true }
        let now = calendar.dateComponents([.year, .month, .day], from: today)
        let key = { (day: DateComponents) in [day.year ?? 0, day.month ?? 0, day.day ?? 0] }
        return !key(now).lexicographicallyPrecedes(key(due))
    }

    private let service: any CustomerOrdersService
    private let orderID: UUID
    private let transport: any BleTransport
    private let errand = CarErrand<VehicleReading>()

    public init(service: any CustomerOrdersService, orderID: UUID, transport: any BleTransport) {
        self.service = service
        self.orderID = orderID
        self.transport = transport
    }

    /// While the screen shows: the maintenance as the order changes (from the phone's cache, so
    /// offline too).
    public func run() async {
        for await order in service.order(id: orderID) {
            maintenance = order.maintenance
        }
    }

    /// Fetches the workshop's free slots (to book or move the service), or fetches them again.
    public func showSlots() async {
        await perform {
            slots = try await service.serviceSlots(orderID: orderID)
            return nil
        }
    }

    /// Closes the slots without choosing one.
    public func hideSlots() {
        slots = nil
    }

    /// Books the service in `slot`, or moves the booking there; the slots close once it is done.
    public func book(_ slot: ServiceSlot) async {
        let moving = booking != nil
        await perform {
            do {
                try await service.bookService(orderID: orderID, start: slot.start)
            } catch {
                // A slot just taken leaves the list, which the platform gives again if it can.
                if Problem(error) == .refused(.slotUnavailable) {
                    if let fresh = try? await service.serviceSlots(orderID: orderID) {
                        slots = fresh
                    } else {
                        slots?.removeAll { $0.start == slot.start }
                    }
                }
                throw error
            }
            slots = nil
            return moving ? .serviceMoved : .serviceBooked
        }
    }

    /// Cancels the booked service.
    public func cancelBooking() async {
        await perform {
            try await service.cancelService(orderID: orderID)
            slots = nil
            return .serviceCancelled
        }
    }

    /// Reads the car nearby over Bluetooth, unless a reading is under way; the task ends with the
    /// attempt. It stops on "Cancel" or when the screen goes away.
    @discardableResult
    public func readCar() -> Task<Void, Never> {
        errand.run(
            started: {
                notice = nil
                reading = .reading(nil)
            },
            { [service, orderID, transport] in service.readVehicle(orderID: orderID, transport: transport, options: nil) },
            step: { self.reading = .reading($0) },
            done: { read in
                self.lastReading = read
                self.notice = .carRead(read)
            },
            failed: { self.notice = .problem($0) },
            ended: { self.reading = .ready }
        )
    }

    /// Stops reading the car (the button, or the screen going away).
    public func stopReading() {
        errand.cancel()
    }
}
