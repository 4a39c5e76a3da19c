import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class DriverModelTests: XCTestCase {
    @MainActor
    func testTheListAndWhatWaitsForTheDriverShowWhenTheScreenOpens() async throws {
        let driver = FakeDriver()
        let (loading, unloading) = (assigned(), assigned(steps: [.arrive], state: .inTransit))
        driver.onRefresh = { [loading, unloading] in [loading, unloading] }
        driver.conflictList.update {
            $0 = [DriverConflict(id: 3, deliveryId: unloading.deliveryId, action: "arrive", code: "delivery_changed", reason: "moved by the customer")]
        }
        let model = DriverModel(service: driver)
        let showing = Task { await model.run() }
        defer { showing.cancel() }
        try await until("the refresh") { model.notice != nil }
        XCTAssertEqual(model.notice, .refreshed(open: 2))
        XCTAssertEqual(model.conflicts.map(\.id), [3])
        XCTAssertEqual(model.conflicts.first?.step, .arrive)
        XCTAssertEqual(model.conflicts.first?.refusal, .deliveryChanged)
        driver.deliveriesFeed.yield([loading, unloading])
        try await until("the deliveries") { model.deliveries.count == 2 }

        await model.dismiss(model.conflicts[0])
        XCTAssertEqual(model.conflicts, [])
        XCTAssertTrue(driver.calls().contains(.dismissConflict(3)))
    }

    @MainActor
    func testTheScannedVINLoadsTheCarAndWithoutSignalItIsRecordedOnThePhone() async {
        let driver = FakeDriver()
        driver.onAction = { _ in .queued(pending: 2) }
        let delivery = assigned()
        let model = DriverModel(service: driver)
        model.scan(.vin, for: delivery)
        XCTAssertEqual(model.scanning?.purpose, .vin)
        await model.scanned("VF1URBANEV0000001")
        XCTAssertNil(model.scanning, "the scanner closes")
        XCTAssertEqual(driver.calls(), [.embark(delivery.deliveryId, vin: "VF1URBANEV0000001")])
        XCTAssertEqual(model.notice, .recorded(.queued(pending: 2)))
    }

    @MainActor
    func testAnAnswerThatCannotBeReadIsHeldForTheDriverToRetry() async {
        let driver = FakeDriver()
        let delivery = assigned(steps: [.arrive], state: .inTransit)
        let wedged = WedgedAction(
            id: 7, deliveryId: delivery.deliveryId, step: .arrive, reason: "403 without a code", wedgedAt: Date(), attempts: 1, waitingBehind: 0)
        driver.onAction = { _ in
            driver.heldList.update { $0 = [wedged] }
            return .wedged(id: 7, reason: "403 without a code")
        }
        let model = DriverModel(service: driver)
        await model.arrive(delivery)
        XCTAssertEqual(model.notice, .recorded(.held))
        XCTAssertEqual(model.held, [wedged])

        await model.retry(wedged)
        XCTAssertEqual(model.notice, .synced(DriverSyncReport(sent: 1, rejected: 0, pending: 0, held: 0)))
        XCTAssertEqual(model.held, [])
    }

    @MainActor
    func testADiscardedActionLeavesTheList() async {
        let driver = FakeDriver()
        let wedged = WedgedAction(id: 9, deliveryId: UUID(), step: .embark, reason: "unreadable", wedgedAt: Date(), attempts: 2, waitingBehind: 1)
        driver.heldList.update { $0 = [wedged] }
        let model = DriverModel(service: driver)
        await model.sync()
        XCTAssertEqual(model.held, [wedged])
        await model.discard(wedged)
        XCTAssertEqual(model.held, [])
        XCTAssertTrue(driver.calls().contains(.discard(9)))
    }

    @MainActor
    func testTheCarIsHandedOverOnlyOnACodeThatChecksOut() async {
        let driver = FakeDriver()
        let delivery = assigned(steps: [.confirmHandover], state: .atCustomerAddress)
        let model = DriverModel(service: driver)
        model.typedCode = "1234"
        XCTAssertFalse(model.canCheckTypedCode)
        model.typedCode = "12345678"
        XCTAssertTrue(model.canCheckTypedCode)
        await model.checkTypedCode(for: delivery)
        XCTAssertEqual(driver.calls(), [.checkHandoverCode(delivery.deliveryId, "12345678"), .confirmHandover(delivery.deliveryId, "12345678")])
        XCTAssertEqual(model.notice, .handedOver(customer: "Ana Pérez", .synced))
        XCTAssertEqual(model.typedCode, "")
    }

    @MainActor
    func testARefusedCodeNeverHandsTheCarOver() async {
        let driver = FakeDriver()
        driver.onCheckHandoverCode = { _ in throw CaasError.HandoverRefused(refusal: .expired, reason: "expired") }
        let delivery = assigned(steps: [.confirmHandover], state: .atCustomerAddress)
        let model = DriverModel(service: driver)
        model.scan(.handoverCode, for: delivery)
        await model.scanned("tok.forged")
        XCTAssertEqual(driver.calls(), [.checkHandoverCode(delivery.deliveryId, "tok.forged")])
        XCTAssertEqual(model.notice, .problem(.handoverRefused(.expired)))
    }

    @MainActor
    func testNobodyHomeAsksWhatTheCallGave() async {
        let driver = FakeDriver()
        let delivery = assigned(steps: [.reportAbsent], state: .atCustomerAddress)
        let model = DriverModel(service: driver)
        model.reportAbsence(at: delivery)
        XCTAssertTrue(model.isAskingAboutAbsence)
        let reporting = model.absenceCalled(.rescheduleTomorrow)
        XCTAssertFalse(model.isAskingAboutAbsence, "taken at once, as the dialog closes")
        await reporting?.value
        let tomorrow = Calendar.current.date(byAdding: .day, value: 1, to: delivery.window.start)!
        XCTAssertEqual(driver.calls(), [.reportAbsent(delivery.deliveryId, .rescheduled(windowStart: tomorrow))])
        XCTAssertEqual(model.notice, .recorded(.synced))

        model.reportAbsence(at: delivery)
        model.isAskingAboutAbsence = false
        XCTAssertNil(model.absenceCalled(.unreachable))
        XCTAssertEqual(driver.calls().count, 1, "a dismissed question reports nothing")
    }

    @MainActor
    func testAnIncidentOnTheWayGoesOutWithTheDriversWordsOnOneLine() async {
        let driver = FakeDriver()
        let delivery = assigned(steps: [.arrive, .reportIncident], state: .inTransit)
        let model = DriverModel(service: driver)
        model.reportIncident(at: delivery)
        XCTAssertTrue(model.isAskingAboutIncident)
        model.incidentNote = " A-6 closed\nat km 40 "
        XCTAssertEqual(model.incidentNote, " A-6 closed at km 40 ", "one line")
        model.incidentNote = String(repeating: "x", count: 600)
        XCTAssertEqual(model.incidentNote.count, Int(incidentNoteMaxChars()), "no more than the platform keeps")
        model.incidentNote = String(repeating: "e\u{301}", count: 300)
        XCTAssertEqual(model.incidentNote.unicodeScalars.count, Int(incidentNoteMaxChars()), "counted as the platform counts")
        model.incidentNote = "a\tb\u{202E}c"
        XCTAssertEqual(model.incidentNote, "a b c", "plain text only")
        model.incidentNote = " A-6 closed at km 40 "
        let reporting = model.incidentReported(.roadClosed)
        // The alert closes as its button runs, clearing the question: the delivery was taken.
        model.isAskingAboutIncident = false
        await reporting?.value
        XCTAssertFalse(model.isAskingAboutIncident)
        XCTAssertEqual(driver.calls(), [.reportIncident(delivery.deliveryId, .roadClosed, note: "A-6 closed at km 40")])
        XCTAssertEqual(model.notice, .recorded(.synced))
        XCTAssertEqual(model.incidentNote, "")

        model.reportIncident(at: delivery)
        await model.incidentReported(.breakdown)?.value
        XCTAssertEqual(driver.calls().last, .reportIncident(delivery.deliveryId, .breakdown, note: nil), "a blank note is none")
        model.reportIncident(at: delivery)
        model.isAskingAboutIncident = false
        XCTAssertNil(model.incidentReported(.damage))
        XCTAssertEqual(driver.calls().count, 2, "a dismissed question reports nothing")
    }

    @MainActor
    func testADelaySaysHowManyCustomersWereTold() async {
        let driver = FakeDriver()
        let model = DriverModel(service: driver)
        await model.reportDelay(minutes: 30, reason: .traffic)
        XCTAssertEqual(driver.calls(), [.reportDelay(minutes: 30, .traffic)])
        XCTAssertEqual(model.notice, .estimates(EstimatesSent(sent: 2, waiting: 1)))
    }

    @MainActor
    func testSyncReportsWhatLeftAndWhatWasRefused() async {
        let driver = FakeDriver()
        driver.onSync = {
            driver.conflictList.update {
                $0 = [DriverConflict(id: 4, deliveryId: UUID(), action: "report_absent", code: "superseded", reason: "an earlier action was refused")]
            }
            return DriverSyncReport(sent: 2, rejected: 1, pending: 0, held: 0)
        }
        let model = DriverModel(service: driver)
        await model.sync()
        XCTAssertEqual(model.notice, .synced(DriverSyncReport(sent: 2, rejected: 1, pending: 0, held: 0)))
        XCTAssertEqual(model.conflicts.first?.step, .reportAbsent)
        XCTAssertEqual(model.conflicts.first?.refusal, .superseded)
    }
}
