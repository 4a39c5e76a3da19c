import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

/// Maintenance of an operational car through the facade, against the mock: the car's own reports
/// over the connected-car network, the workshop's slots booked, moved and cancelled, the visit the
/// workshop records, and the phone reading the car over the simulated BLE link of `CAAS_RADIO`.
extension CaasRepositoryTests {
    private func readCar(_ customer: CaasRepository, order: UUID) async throws -> ([PairingStep], VehicleReading?) {
        var steps: [PairingStep] = []
        var reading: VehicleReading?
        for try await progress in customer.readVehicle(orderID: order, transport: try simulated()) {
            switch progress {
            case .step(let step): steps.append(step)
            case .done(let done): reading = done
            }
        }
        return (steps, reading)
    }

    /// The platform's error code of a refusal; nil when `work` succeeded.
    private func refusal(_ work: () async throws -> Void) async -> String? {
        do {
            try await work()
            return nil
        } catch CaasError.Rejected(let code, _) {
            return code
        } catch {
            return "\(error)"
        }
    }

    /// The event type an APNs payload names.
    private func eventType(_ push: [AnyHashable: Any]) -> String? {
        (push["caas"] as? [String: Any])?["type"] as? String
    }

    func testAnOperationalCarReportsIsServicedAtTheWorkshopAndIsReadByThePhone() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, vin) = try await operationalCar(sandbox)
        defer { stream.disconnect() }
        try await customer.registerAPNsToken(Data([0xca, 0xa5, 0x5e]))
        let operational = try customer.orderSnapshot(id: order)
        XCTAssertEqual(operational.actions, [.buyOptions, .bookService])
        let started = try XCTUnwrap(operational.maintenance, "maintenance starts once the car is operational")
        XCTAssertEqual(started.plan, MaintenancePlan(everyKm: 20_000, everyMonths: 12))
        XCTAssertEqual(started.nextService.dueKm, 20_000)
        XCTAssertNil(started.booking)
        XCTAssertEqual(started.visits, [])

        // 19,200 km later the car warns about its brakes and reports by itself at once; the push
        // carries the news to the phone, which does not sync.
        try await sandbox.drive(vin: vin, km: 19_200, warnings: ["brake_wear"])
        let reported = try await first(customer.order(id: order), within: 30) { $0.maintenance?.odometerKm == 19_212 }
        let driven = try XCTUnwrap(reported.maintenance)
        XCTAssertEqual(driven.warnings, [.brakeWear])
        XCTAssertNotNil(driven.reportedAt)
        XCTAssertEqual(driven.nextService.dueKm, 20_000, "no service yet")
        XCTAssertEqual(warningLabel(warning: .brakeWear, locale: "es"), "Desgaste de frenos", "the words the app shows")

        // The workshop's slots: hourly, from a day ahead; one not offered is refused by name.
        let slots = try await customer.serviceSlots(orderID: order)
        XCTAssertGreaterThanOrEqual(slots.count, 2)
        XCTAssertTrue(slots.allSatisfy { $0.free > 0 && $0.end.timeIntervalSince($0.start) == 3600 }, "\(slots)")
        XCTAssertGreaterThan(slots[0].start.timeIntervalSinceNow, 23.9 * 3600, "not within 24 hours")
        let (firstSlot, secondSlot) = (slots[0], slots[1])
        let offHour = await refusal { try await customer.bookService(orderID: order, start: firstSlot.start.addingTimeInterval(1800)) }
        XCTAssertEqual(offHour, "slot_unavailable")

        // Booked in the first slot, moved to the second (the order shows each at once), cancelled.
        try await customer.bookService(orderID: order, start: firstSlot.start)
        let afterBooking = try customer.orderSnapshot(id: order)
        let booked = try XCTUnwrap(afterBooking.maintenance?.booking, "the order shows the booking")
        XCTAssertEqual(booked, ServiceBooking(start: firstSlot.start, end: firstSlot.end, changesLeft: 3))
        try await customer.bookService(orderID: order, start: secondSlot.start)
        let afterMove = try customer.orderSnapshot(id: order)
        XCTAssertEqual(afterMove.maintenance?.booking, ServiceBooking(start: secondSlot.start, end: secondSlot.end, changesLeft: 2))
        try await customer.cancelService(orderID: order)
        let afterCancelling = try customer.orderSnapshot(id: order)
        XCTAssertNotNil(afterCancelling.maintenance)
        XCTAssertNil(afterCancelling.maintenance?.booking)
        let cancelledAgain = await refusal { try await customer.cancelService(orderID: order) }
        XCTAssertNotNil(cancelledAgain, "nothing is booked")

        // The workshop records the first service: on the history, and the next one counts from it.
        try await sandbox.recordVisit(order: order, odometerKm: 19_300, work: "first service")
        let visited = try await first(customer.order(id: order), within: 30) { $0.maintenance?.visits.isEmpty == false }
        let history = try XCTUnwrap(visited.maintenance)
        XCTAssertEqual(history.visits.map(\.odometerKm), [19_300])
        XCTAssertEqual(history.visits.map(\.work), ["first service"])
        XCTAssertEqual(history.nextService.dueKm, 39_300)
        XCTAssertEqual(history.odometerKm, 19_212, "the odometer stays the car's own signed reading")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = try XCTUnwrap(TimeZone(identifier: "UTC"))
        let visitDay = utc.dateComponents([.year, .month], from: try XCTUnwrap(history.visits.first).at)
        XCTAssertEqual(history.nextService.dueBy.year, visitDay.year.map { $0 + 1 }, "twelve months after the visit")
        XCTAssertEqual(history.nextService.dueBy.month, visitDay.month)

        // Parked out of the network's reach and driven on: the phone beside the car reads it, and
        // the car's report reaches the platform through the phone.
        try await sandbox.setCoverage(vin: vin, connected: false)
        try await sandbox.drive(vin: vin, km: 150, warnings: ["tyre_pressure"])
        let (steps, done) = try await readCar(customer, order: order)
        XCTAssertEqual(steps, [.scanning, .connecting, .authenticating])
        let reading = try XCTUnwrap(done)
        XCTAssertEqual(reading.odometerKm, 19_362)
        XCTAssertEqual(reading.status.odometerKm, 19_362)
        XCTAssertEqual(reading.warnings, [.tyrePressure])
        XCTAssertTrue(reading.reported, "the phone has signal: the platform has the car's report")
        let read = try await first(customer.order(id: order), within: 30) { $0.maintenance?.odometerKm == 19_362 }
        XCTAssertEqual(read.maintenance?.warnings, [.tyrePressure])
        XCTAssertEqual(read.maintenance?.reportedAt, reading.measuredAt)

        // Every piece of news about the car reached the phone on the car's notification channel.
        let pushes = try await sandbox.apnsPushes(order: order)
        let news: Set = ["vehicle_warning", "service_due", "service_booked", "service_cancelled", "service_visit_recorded"]
        let carPushes = pushes.filter { eventType($0).map(news.contains) ?? false }
        XCTAssertEqual(Set(carPushes.compactMap(eventType)), news)
        for push in carPushes {
            let aps = push["aps"] as? [String: Any]
            XCTAssertEqual(aps?["category"] as? String, NotificationChannel.car.categoryIdentifier, "\(push)")
            XCTAssertEqual((aps?["alert"] as? [String: Any])?["loc-key"] as? String, "push.car")
        }
    }
}
