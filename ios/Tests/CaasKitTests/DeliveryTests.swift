import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

/// The driver who works for each transport company serving Madrid.
private let drivers = [
    "iberia-carriers": "lucia@iberia-carriers.example",
    "meseta-logistics": "carmen@meseta-logistics.example",
]

extension CaasRepositoryTests {
    /// A customer whose car is paid, registered and booked on a transport, following it by push.
    func bookedCar(_ sandbox: Sandbox, email: String? = nil) async throws -> (CaasRepository, PushStreamHandle, order: UUID, dealer: String) {
        let email = email ?? self.email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let customer = try await CaasRepository.open(
            backendURL: URL(string: sandbox.url)!, dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
        try await customer.requestSignInCode(email: email)
        try await customer.signIn(email: email, code: try await sandbox.signInCode(email: email))
        let pushes = try await customer.connectDevelopmentPushStream()
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        try await customer.sync()
        let card = PaymentCard(number: "4242424242424242", expiryMonth: 12, expiryYear: 2034, securityCode: "123")
        _ = try await customer.pay(orderID: order, card: card)
        _ = try await first(customer.order(id: order)) { $0.summary.state == .transportScheduled }
        return (customer, pushes, order, dealer)
    }

    func driver(for customer: CaasRepository, order: UUID, sandbox: Sandbox, directory: URL, secrets: MemorySecretStore) async throws -> DriverRepository {
        let company = try customer.orderSnapshot(id: order).delivery?.company.id ?? ""
        let email = try XCTUnwrap(drivers[company], "a driver for \(company)")
        let driver = try await DriverRepository.open(backendURL: URL(string: sandbox.url)!, dataDirectory: directory, secrets: secrets)
        try await driver.requestSignInCode(email: email)
        try await driver.signIn(email: email, code: try await sandbox.signInCode(email: email))
        return driver
    }

    /// Takes a booked car to the customer's door and hands it over on the customer's code.
    func handOver(_ customer: CaasRepository, order: UUID, sandbox: Sandbox) async throws {
        try await customer.confirmDeliveryAddress(orderID: order)
        let driver = try await driver(for: customer, order: order, sandbox: sandbox, directory: try temporaryDirectory(), secrets: MemorySecretStore())
        let list = try await driver.refresh()
        let job = try XCTUnwrap(list.first { $0.orderId == order })
        _ = try await driver.embark(deliveryID: job.deliveryId, vin: job.vin)
        _ = try await driver.arrive(deliveryID: job.deliveryId)
        let code = try await customer.handoverCode(orderID: order)
        _ = try await driver.confirmHandover(deliveryID: job.deliveryId, code: code.token)
        _ = try await first(customer.order(id: order)) { $0.summary.state == .delivered }
    }

    func testADriverHandsTheCarOverToTheCustomerWhoShowsTheCode() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        let booked = try customer.orderSnapshot(id: order)
        XCTAssertEqual(booked.actions, [.manageDelivery])
        let slots = try await customer.deliverySlots(orderID: order)
        XCTAssertFalse(slots.isEmpty)
        try await customer.chooseDeliveryWindow(orderID: order, start: slots[1].window.start)
        try await customer.confirmDeliveryAddress(orderID: order)
        let moved = try customer.orderSnapshot(id: order)
        XCTAssertEqual(moved.delivery?.window, slots[1].window)
        XCTAssertEqual(moved.deliveryWindows.map(\.reason), [.booked, .customerChanged])

        let driver = try await driver(for: customer, order: order, sandbox: sandbox, directory: try temporaryDirectory(), secrets: MemorySecretStore())
        let list = try await driver.refresh()
        let job = try XCTUnwrap(list.first { $0.orderId == order })
        XCTAssertEqual(job.steps, [.embark])
        let embarked = try await driver.embark(deliveryID: job.deliveryId, vin: job.vin)
        XCTAssertEqual(embarked, .synced)
        let arrived = try await driver.arrive(deliveryID: job.deliveryId)
        XCTAssertEqual(arrived, .synced)
        _ = try await first(customer.order(id: order)) { $0.summary.state == .atCustomerAddress }

        var live = customer.liveHandoverCode(orderID: order).makeAsyncIterator()
        let next = try await live.next()
        let code = try XCTUnwrap(next)
        XCTAssertFalse(String(describing: code).contains(code.shortCode), "a code never prints")
        // A screen that comes back shows the same code; "New code" replaces it.
        let token = { (code: CustomerHandoverCode) in Array(code.token.split(separator: ".").prefix(3)) }
        var again = customer.liveHandoverCode(orderID: order).makeAsyncIterator()
        let comeBack = try await again.next()
        XCTAssertEqual(token(code), token(try XCTUnwrap(comeBack)))
        var fresh = customer.liveHandoverCode(orderID: order, fresh: true).makeAsyncIterator()
        let freshOne = try await fresh.next()
        let renewed = try XCTUnwrap(freshOne)
        XCTAssertNotEqual(token(code), token(renewed))
        // The screen signs the same code again for the moment it shows it.
        let presented = try await customer.presentHandoverCode(orderID: order)
        let shown = try XCTUnwrap(presented)
        XCTAssertEqual(token(renewed), token(shown))
        XCTAssertEqual(shown.token.split(separator: ".").count, 5, "the token, the moment, the phone's signature")
        do {
            // One character inside the signature changed: still well-formed, no longer signed.
            var forged = Array(code.token)
            let at = try XCTUnwrap(forged.lastIndex(of: ".")) + 10
            forged[at] = forged[at] == "A" ? "B" : "A"
            _ = try await driver.checkHandoverCode(deliveryID: job.deliveryId, code: String(forged))
            XCTFail("a forged code is refused")
        } catch CaasError.HandoverRefused(let refusal, _) {
            XCTAssertEqual(refusal, .forged)
        }
        let check = try await driver.checkHandoverCode(deliveryID: job.deliveryId, code: code.token)
        XCTAssertEqual(check.customerName, "Swift Test")
        let handedOver = try await driver.confirmHandover(deliveryID: job.deliveryId, code: shown.token)
        XCTAssertEqual(handedOver, .synced)
        let delivered = try await first(customer.order(id: order)) { $0.summary.state == .delivered }
        XCTAssertEqual(delivered.delivery?.handover?.place, .customerAddress)
        XCTAssertEqual(delivered.actions, [.pairVehicle, .buyOptions])

        // The customer says the car never reached them: the dispute is on the record, once.
        try await customer.disputeHandover(orderID: order, reason: "nobody came")
        let disputed = try await first(customer.order(id: order)) { $0.delivery?.dispute != nil }
        XCTAssertEqual(disputed.delivery?.dispute?.reason, "nobody came")
        do {
            try await customer.disputeHandover(orderID: order, reason: "again")
            XCTFail("a handover is disputed once")
        } catch CaasError.Rejected {}
    }

    func testADriverWithoutSignalKeepsWorkingAndTheDealershipHandsOverACarNobodyTook() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, dealer) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        try await customer.confirmDeliveryAddress(orderID: order, address: "Calle Luna 7, 28004 Madrid")
        let (cab, keychain) = (try temporaryDirectory(), MemorySecretStore())
        let online = try await driver(for: customer, order: order, sandbox: sandbox, directory: cab, secrets: keychain)
        let list = try await online.refresh()
        let job = try XCTUnwrap(list.first { $0.orderId == order })
        XCTAssertEqual(job.address, "Calle Luna 7, 28004 Madrid")

        let offline = try await DriverRepository.open(backendURL: URL(string: "http://127.0.0.1:9")!, dataDirectory: cab, secrets: keychain)
        let embarked = try await offline.embark(deliveryID: job.deliveryId, vin: job.vin)
        XCTAssertEqual(embarked, .queued(pending: 1))
        let arrived = try await offline.arrive(deliveryID: job.deliveryId)
        XCTAssertEqual(arrived, .queued(pending: 2))
        try await offline.reportAbsent(deliveryID: job.deliveryId, call: .unreachable)
        let shown = try await first(offline.deliveries) { $0.contains { $0.orderId == order && $0.unsyncedActions == 3 } }
        XCTAssertEqual(shown.first { $0.orderId == order }?.state, .returnedToDealership)

        let report = try await online.sync()
        XCTAssertEqual(report.sent, 3)
        XCTAssertEqual(report.pending, 0)
        let conflicts = try await online.conflicts()
        XCTAssertTrue(conflicts.isEmpty)
        _ = try await first(customer.order(id: order)) { $0.summary.state == .returnedToDealership }
        try await sandbox.receiveAtDealership(order: order, dealer: dealer)
        let held = try await first(customer.order(id: order)) { $0.summary.state == .heldAtDealership }
        XCTAssertEqual(held.actions, [.showHandoverCode])
        XCTAssertNotNil(held.delivery?.pickup?.address)
        let code = try await customer.handoverCode(orderID: order)
        try await sandbox.handOverAtDealership(order: order, code: code.shortCode, dealer: dealer)
        let delivered = try await first(customer.order(id: order)) { $0.summary.state == .delivered }
        XCTAssertEqual(delivered.delivery?.handover?.place, .dealership)
    }

    func testACarOnItsWayIsExpectedRunsLateAndGoesBackAfterABreakdown() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        try await customer.confirmDeliveryAddress(orderID: order)
        let driver = try await driver(for: customer, order: order, sandbox: sandbox, directory: try temporaryDirectory(), secrets: MemorySecretStore())
        let list = try await driver.refresh()
        let job = try XCTUnwrap(list.first { $0.orderId == order })
        _ = try await driver.embark(deliveryID: job.deliveryId, vin: job.vin)
        let onTheRoad = try await first(driver.deliveries) { $0.contains { $0.orderId == order && $0.state == .inTransit } }
        XCTAssertEqual(onTheRoad.first { $0.orderId == order }?.steps, [.arrive, .updateArrival, .reportIncident])
        do {
            let tooLong = String(repeating: "x", count: Int(incidentNoteMaxChars()) + 1)
            _ = try await driver.reportIncident(deliveryID: job.deliveryId, kind: .damage, note: tooLong)
            XCTFail("a note longer than the platform keeps is refused on the phone")
        } catch CaasError.Rejected(let code, _) {
            XCTAssertEqual(code, "invalid_request")
        }
        // Set out: the customer's expected arrival; then thirty minutes of traffic, told.
        let planned = try await first(customer.order(id: order)) { $0.delivery?.eta != nil }
        XCTAssertEqual(planned.delivery?.eta?.reason, .departure)
        let sent = try await driver.reportDelay(minutes: 30, reason: .traffic)
        XCTAssertGreaterThanOrEqual(sent.sent, 1, "this car, and any other this driver carries")
        XCTAssertEqual(sent.waiting, 0)
        let late = try await first(customer.order(id: order)) { $0.arrivalEstimates.count == 2 }
        XCTAssertEqual(late.delivery?.eta?.reason, .traffic)
        let reported = try await driver.reportIncident(deliveryID: job.deliveryId, kind: .breakdown, note: "gearbox")
        XCTAssertEqual(reported, .synced)

        let returned = try await first(customer.order(id: order)) { $0.summary.state == .returnedToDealership }
        let incident = try XCTUnwrap(returned.delivery?.incident)
        XCTAssertEqual(incident.kind, .breakdown)
        XCTAssertEqual(incident.note, "gearbox")
        XCTAssertTrue(returned.actions.isEmpty, "nothing to do until the dealership has the car")
    }

    func testAnActionWhoseAnswerCannotBeReadWaitsForTheDriverToRetryOrDiscardIt() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        try await customer.confirmDeliveryAddress(orderID: order)
        let driver = try await driver(for: customer, order: order, sandbox: sandbox, directory: try temporaryDirectory(), secrets: MemorySecretStore())
        let list = try await driver.refresh()
        let job = try XCTUnwrap(list.first { $0.orderId == order })

        try await sandbox.answerNextDriverAction(status: 403)
        guard case let .wedged(id, _) = try await driver.embark(deliveryID: job.deliveryId, vin: job.vin) else {
            return XCTFail("an unreadable answer wedges the action")
        }
        let held = try await driver.held()
        XCTAssertEqual(held.map(\.id), [id])
        XCTAssertEqual(held.first?.step, .embark)
        let report = try await driver.sync()
        XCTAssertEqual(report.held, 1)
        do {
            try await driver.signOut()
            XCTFail("signing out would lose the held action")
        } catch CaasError.PendingActions {}

        let retried = try await driver.retry(id: id)
        XCTAssertEqual(retried.sent, 1)
        try await sandbox.answerNextDriverAction(status: 400)
        guard case let .wedged(again, _) = try await driver.arrive(deliveryID: job.deliveryId) else {
            return XCTFail("wedged again")
        }
        try await driver.discard(id: again)
        let remaining = try await driver.held()
        XCTAssertTrue(remaining.isEmpty)
        let conflicts = try await driver.conflicts()
        XCTAssertTrue(conflicts.isEmpty, "a discarded action is not a refusal")
        // The platform's view again: loaded, not arrived.
        _ = try await first(driver.deliveries) { $0.contains { $0.orderId == order && $0.unsyncedActions == 0 && $0.state == .inTransit } }
    }
}
