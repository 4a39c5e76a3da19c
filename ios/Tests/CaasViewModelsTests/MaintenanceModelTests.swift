import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class MaintenanceModelTests: XCTestCase {
    private let order = UUID()
    private let reported = Date(timeIntervalSince1970: 1_900_000_000)
    private let link = LinkReport(
        mtu: 185, toFirstReply: LinkUse(roundTrips: 2, bytesToCar: 300, bytesToPhone: 200, airTimeMs: 60),
        total: LinkUse(roundTrips: 3, bytesToCar: 400, bytesToPhone: 300, airTimeMs: 90))

    /// What the car says when the phone reads it.
    private func reading(odometerKm: UInt32, warnings: [WarningCode] = [], at measuredAt: Date, reported: Bool) -> VehicleReading {
        VehicleReading(
            status: VehicleStatus(odometerKm: odometerKm, batteryPercent: 71, locked: true, ownerLinked: true), odometerKm: odometerKm,
            warnings: warnings, measuredAt: measuredAt, reported: reported, link: link)
    }

    private func operational(_ maintenance: MaintenanceView?) -> OrderDetail {
        detail(order, state: .operational, actions: [.buyOptions, .bookService], maintenance: maintenance)
    }

    /// Follows the order on the screen, publishing `detail` until the model shows its maintenance.
    @MainActor
    private func showing(_ customer: FakeCustomer, _ model: MaintenanceModel, _ detail: OrderDetail) async throws -> Task<Void, Never> {
        let task = Task { await model.run() }
        try await until("the maintenance") {
            customer.publish(detail)
            return model.maintenance == detail.maintenance
        }
        return task
    }

    @MainActor
    func testTheMaintenanceShowsFromTheOrderWithoutAConnectionAndTheSlotsOnlyWhenAsked() async throws {
        let customer = FakeCustomer()
        customer.onServiceSlots = { throw CaasError.Offline(reason: "no route") }
        let visit = ServiceVisit(at: reported.addingTimeInterval(-86_400), odometerKm: 9_000, work: "Brakes checked")
        let shown = maintenanceView(odometerKm: 19_212, reportedAt: reported, warnings: [.brakeWear], visits: [visit])
        let model = OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport()).maintenance()
        let screen = try await showing(customer, model, operational(shown))
        defer { screen.cancel() }

        XCTAssertEqual(model.car, MaintenanceModel.CarReport(odometerKm: 19_212, warnings: [.brakeWear], measuredAt: reported, waitingForSync: false))
        XCTAssertEqual(model.kilometresLeft, 788)
        XCTAssertFalse(model.serviceDue(today: reported), "788 km and a year to go")
        XCTAssertEqual(model.visits, [visit])
        XCTAssertNil(model.booking)
        XCTAssertNil(model.slots, "slots are fetched when the customer asks")
        XCTAssertTrue(model.canChooseSlot)
        XCTAssertFalse(model.canCancel)
        XCTAssertEqual(customer.calls(), [], "nothing needed the network")

        await model.showSlots()
        XCTAssertEqual(model.notice, .problem(.offline))
        XCTAssertNil(model.slots)
        XCTAssertEqual(model.car?.odometerKm, 19_212, "what the order holds still shows")

        customer.onServiceSlots = { [serviceSlot(startingIn: 30), serviceSlot(startingIn: 31, free: 1)] }
        await model.showSlots()
        XCTAssertNil(model.notice)
        XCTAssertEqual(model.offeredSlots.map(\.free), [2, 1])
        XCTAssertEqual(customer.calls(), [.serviceSlots(order), .serviceSlots(order)])
        model.hideSlots()
        XCTAssertNil(model.slots)
    }

    @MainActor
    func testTheNextServiceIsDueAtItsDistanceOrOnItsDayWhicheverComesFirst() async throws {
        let customer = FakeCustomer()
        let model = MaintenanceModel(service: customer, orderID: order, transport: UnusedTransport())
        XCTAssertNil(model.kilometresLeft)
        XCTAssertFalse(model.serviceDue(), "nothing to show before the cache answered")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try XCTUnwrap(TimeZone(identifier: "Europe/Madrid"))
        let dayBefore = try XCTUnwrap(calendar.date(from: DateComponents(year: 2031, month: 3, day: 14, hour: 23, minute: 30)))
        let dueDay = try XCTUnwrap(calendar.date(from: DateComponents(year: 2031, month: 3, day: 15, hour: 0, minute: 10)))

        let screen = try await showing(customer, model, operational(maintenanceView(odometerKm: 5_000, dueBy: calendarDay(2031, 3, 15))))
        defer { screen.cancel() }
        XCTAssertEqual(model.kilometresLeft, 15_000)
        XCTAssertFalse(model.serviceDue(today: dayBefore, calendar: calendar))
        XCTAssertTrue(model.serviceDue(today: dueDay, calendar: calendar), "its day came first")

        let driven = operational(maintenanceView(odometerKm: 20_100, dueBy: calendarDay(2031, 3, 15)))
        customer.publish(driven)
        try await until("the new odometer") { model.maintenance == driven.maintenance }
        XCTAssertEqual(model.kilometresLeft, -100)
        XCTAssertTrue(model.serviceDue(today: dayBefore, calendar: calendar), "its distance came first")
    }

    @MainActor
    func testBookingMovingAndCancellingTheServiceAreToldAndTheSlotsClose() async throws {
        let customer = FakeCustomer()
        let (first, second, third) = (serviceSlot(startingIn: 30), serviceSlot(startingIn: 31), serviceSlot(startingIn: 54))
        customer.onServiceSlots = { [first, second, third] }
        let model = MaintenanceModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, operational(maintenanceView()))
        defer { screen.cancel() }

        await model.showSlots()
        XCTAssertEqual(model.offeredSlots, [first, second, third])
        await model.book(first)
        XCTAssertEqual(model.notice, .serviceBooked)
        XCTAssertNil(model.slots, "the slots close once booked")

        // The order shows the booking: it can be moved three times, to another slot than its own.
        let booked = operational(maintenanceView(booking: ServiceBooking(start: first.start, end: first.end, changesLeft: 3)))
        customer.publish(booked)
        try await until("the booking") { model.booking != nil }
        XCTAssertTrue(model.canCancel)
        await model.showSlots()
        XCTAssertEqual(model.offeredSlots, [second, third], "the booked slot is not offered to move to")
        await model.book(third)
        XCTAssertEqual(model.notice, .serviceMoved)

        // Moved as often as allowed: it can still be cancelled, not moved.
        let last = operational(maintenanceView(booking: ServiceBooking(start: third.start, end: third.end, changesLeft: 0)))
        customer.publish(last)
        try await until("no moves left") { model.booking?.changesLeft == 0 }
        XCTAssertFalse(model.canChooseSlot)
        XCTAssertTrue(model.canCancel)
        await model.cancelBooking()
        XCTAssertEqual(model.notice, .serviceCancelled)
        XCTAssertEqual(customer.calls(), [
            .serviceSlots(order), .bookService(order, first.start), .serviceSlots(order), .bookService(order, third.start),
            .cancelService(order),
        ])
    }

    @MainActor
    func testTheWorkshopsRefusalsAreNamedAndASlotJustTakenLeavesTheList() async throws {
        let customer = FakeCustomer()
        let (first, second, third) = (serviceSlot(startingIn: 30), serviceSlot(startingIn: 31), serviceSlot(startingIn: 32))
        let offered = Locked([first, second, third])
        customer.onServiceSlots = { offered() }
        customer.onBookService = { _ in throw CaasError.Rejected(code: "slot_unavailable", reason: "that slot has just been taken") }
        let model = MaintenanceModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, operational(maintenanceView()))
        defer { screen.cancel() }
        await model.showSlots()

        // Someone took the first slot meanwhile: the platform's list comes again without it.
        offered.update { $0 = [second, third] }
        await model.book(first)
        XCTAssertEqual(model.notice, .problem(.refused(.slotUnavailable)))
        XCTAssertEqual(model.offeredSlots, [second, third])

        // Taken too, and the list cannot come again: the slot leaves the one on screen.
        customer.onServiceSlots = { throw CaasError.Offline(reason: "no route") }
        await model.book(second)
        XCTAssertEqual(model.notice, .problem(.refused(.slotUnavailable)))
        XCTAssertEqual(model.offeredSlots, [third])

        customer.onBookService = { _ in throw CaasError.Rejected(code: "change_limit_reached", reason: "moved three times") }
        await model.book(third)
        XCTAssertEqual(model.notice, .problem(.refused(.changeLimitReached)))
        XCTAssertEqual(model.offeredSlots, [third], "the slots stay to choose from")

        customer.onCancelService = { throw CaasError.Rejected(code: "change_too_late", reason: "within 24 hours") }
        await model.cancelBooking()
        XCTAssertEqual(model.notice, .problem(.refused(.changeTooLate)))
        XCTAssertFalse(model.busy)
    }

    @MainActor
    func testReadingTheCarShowsEachStepThenWhatTheCarSaidUntilThePlatformHasIt() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        let measured = reported.addingTimeInterval(3_600)
        let read = reading(odometerKm: 19_362, warnings: [.tyrePressure, .unknown], at: measured, reported: false)
        customer.carReading = {
            AsyncThrowingStream { progress in
                Task {
                    progress.yield(.step(.scanning))
                    await gate.wait()
                    progress.yield(.step(.authenticating))
                    progress.yield(.done(read))
                    progress.finish()
                }
            }
        }
        let model = MaintenanceModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, operational(maintenanceView(odometerKm: 19_212, reportedAt: reported)))
        defer { screen.cancel() }
        XCTAssertTrue(model.canRead)

        let attempt = model.readCar()
        XCTAssertEqual(model.reading, .reading(nil), "getting ready before the first step")
        XCTAssertFalse(model.canRead)
        try await until("the scan") { model.reading == .reading(.scanning) }
        XCTAssertTrue(model.readCar() == attempt, "one reading at a time")
        gate.open()
        await attempt.value
        XCTAssertEqual(model.reading, .ready)
        XCTAssertEqual(model.notice, .carRead(read))
        XCTAssertEqual(customer.calls(), [.readVehicle(order)])

        // Without signal the platform has not heard yet: the screen shows what the phone read.
        XCTAssertEqual(model.car, MaintenanceModel.CarReport(
            odometerKm: 19_362, warnings: [.tyrePressure, .unknown], measuredAt: measured, waitingForSync: true))
        XCTAssertEqual(model.kilometresLeft, 638)

        // Once synced, the order's report is as new as the reading and takes over.
        let synced = operational(maintenanceView(odometerKm: 19_362, reportedAt: measured, warnings: [.tyrePressure, .unknown]))
        customer.publish(synced)
        try await until("the synced report") { model.maintenance == synced.maintenance }
        XCTAssertEqual(model.car?.waitingForSync, false)
        XCTAssertEqual(model.car?.odometerKm, 19_362)
    }

    @MainActor
    func testAFailedReadingIsToldAndACancelledOneIsNot() async throws {
        let customer = FakeCustomer()
        customer.carReading = {
            AsyncThrowingStream {
                $0.yield(.step(.scanning))
                $0.finish(throwing: CaasError.Pairing(failure: .carNotFound, reason: "no advertisement"))
            }
        }
        let model = MaintenanceModel(service: customer, orderID: order, transport: UnusedTransport())
        await model.readCar().value
        XCTAssertEqual(model.reading, .ready)
        XCTAssertEqual(model.notice, .problem(.pairingFailed(.carNotFound)))
        XCTAssertNil(model.lastReading)

        let stopped = Locked(false)
        customer.carReading = {
            AsyncThrowingStream { progress in
                progress.yield(.step(.connecting))
                progress.onTermination = { _ in stopped.update { $0 = true } }
            }
        }
        let attempt = model.readCar()
        XCTAssertNil(model.notice, "a new reading clears the last notice")
        try await until("the connection") { model.reading == .reading(.connecting) }
        model.stopReading()
        await attempt.value
        XCTAssertEqual(model.reading, .ready)
        XCTAssertNil(model.notice)
        XCTAssertTrue(stopped(), "the reading was stopped, not left running")
    }
}
