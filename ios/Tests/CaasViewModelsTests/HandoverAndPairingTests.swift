import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class HandoverCodeModelTests: XCTestCase {
    private let order = UUID()

    @MainActor
    func testTheCodeIsSignedAgainWhileShownUntilItExpires() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        let (first, again) = (handoverCode("12345678"), handoverCode("12345678", expiresIn: 270))
        customer.handoverCodes = { _ in
            AsyncThrowingStream { live in
                Task {
                    live.yield(first)
                    await gate.wait()
                    live.yield(again)
                    live.finish()
                }
            }
        }
        let model = HandoverCodeModel(service: customer, orderID: order)
        let showing = Task { await model.show() }
        try await until("the code") { model.code?.expiresAt == first.expiresAt }
        XCTAssertNil(model.notice)
        gate.open()
        await showing.value
        XCTAssertNil(model.code, "an expired code is not shown")
        XCTAssertEqual(model.notice, .expired)
        XCTAssertEqual(customer.calls(), [.liveHandoverCode(order, fresh: false)], "the code shown before, if still valid")
    }

    @MainActor
    func testNewCodeAsksForAFreshOne() async {
        let customer = FakeCustomer()
        let model = HandoverCodeModel(service: customer, orderID: order)
        model.newCode()
        XCTAssertEqual(model.generation, 1, "the screen shows again")
        await model.show()
        XCTAssertEqual(customer.calls(), [.liveHandoverCode(order, fresh: true)])
    }

    @MainActor
    func testLeavingTheScreenIsNoExpiryAndAFailureIsTold() async throws {
        let customer = FakeCustomer()
        customer.handoverCodes = { _ in
            AsyncThrowingStream { $0.yield(handoverCode("87654321")) }
        }
        let model = HandoverCodeModel(service: customer, orderID: order)
        let showing = Task { await model.show() }
        try await until("the code") { model.code != nil }
        showing.cancel()
        await showing.value
        XCTAssertNil(model.notice)

        customer.handoverCodes = { _ in AsyncThrowingStream { $0.finish(throwing: CaasError.Offline(reason: "no route")) } }
        await model.show()
        XCTAssertEqual(model.notice, .problem(.offline))
        XCTAssertNil(model.code)
    }
}

final class PairingModelTests: XCTestCase {
    private let order = UUID()
    private let paired = Paired(
        vin: "VF1URBANEV0000001", grantId: UUID(), status: VehicleStatus(odometerKm: 12, batteryPercent: 80, locked: true, ownerLinked: true),
        reported: true,
        link: LinkReport(
            mtu: 185, toFirstReply: LinkUse(roundTrips: 2, bytesToCar: 300, bytesToPhone: 400, airTimeMs: nil),
            total: LinkUse(roundTrips: 4, bytesToCar: 600, bytesToPhone: 800, airTimeMs: nil)))

    @MainActor
    func testEachStepShowsThenTheLink() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        customer.pairing = { [paired] in
            AsyncThrowingStream { progress in
                Task {
                    progress.yield(.step(.scanning))
                    await gate.wait()
                    progress.yield(.step(.authenticating))
                    progress.yield(.linked(paired))
                    progress.finish()
                }
            }
        }
        let model = PairingModel(service: customer, orderID: order, transport: UnusedTransport())
        let attempt = model.pair()
        try await until("the scan") { model.stage == .pairing(.scanning) }
        XCTAssertTrue(model.pair() == attempt, "one attempt at a time")
        gate.open()
        await attempt.value
        XCTAssertEqual(model.stage, .linked(paired))
        XCTAssertNil(model.problem)
        XCTAssertEqual(customer.calls(), [.pairVehicle(order)])
    }

    @MainActor
    func testAFailureSaysWhatTheCustomerCanDo() async {
        let customer = FakeCustomer()
        customer.pairing = {
            AsyncThrowingStream {
                $0.yield(.step(.scanning))
                $0.finish(throwing: CaasError.Pairing(failure: .carNotFound, reason: "no advertisement"))
            }
        }
        let model = PairingModel(service: customer, orderID: order, transport: UnusedTransport())
        await model.pair().value
        XCTAssertEqual(model.stage, .ready)
        XCTAssertEqual(model.problem, .pairingFailed(.carNotFound))
    }

    @MainActor
    func testCancellingStopsThePairingWithoutAProblem() async throws {
        let customer = FakeCustomer()
        let stopped = Locked(false)
        customer.pairing = {
            AsyncThrowingStream { progress in
                progress.yield(.step(.connecting))
                progress.onTermination = { _ in stopped.update { $0 = true } }
            }
        }
        let model = PairingModel(service: customer, orderID: order, transport: UnusedTransport())
        let attempt = model.pair()
        try await until("the connection") { model.stage == .pairing(.connecting) }
        model.cancel()
        await attempt.value
        XCTAssertEqual(model.stage, .ready)
        XCTAssertNil(model.problem)
        XCTAssertTrue(stopped(), "the pairing was stopped, not left running")
    }
}
