import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

/// A transport of the app's own in front of another: what a native BLE stack (CoreBluetooth in
/// the app) looks like to the core.
private final class CountingTransport: BleTransport, @unchecked Sendable {
    private let inner: BleTransport
    private let lock = NSLock()
    private var writeCount = 0
    private var largest = 0

    init(_ inner: BleTransport) { self.inner = inner }

    var writes: Int { lock.withLock { writeCount } }
    var largestChunk: Int { lock.withLock { largest } }

    func scan(timeoutMs: UInt32) async throws -> [BleAdvertisement] { try await inner.scan(timeoutMs: timeoutMs) }

    func connect(peripheralId: String) async throws -> UInt16 { try await inner.connect(peripheralId: peripheralId) }

    func write(peripheralId: String, chunk: Data) async throws {
        lock.withLock {
            writeCount += 1
            largest = max(largest, chunk.count)
        }
        try await inner.write(peripheralId: peripheralId, chunk: chunk)
    }

    func nextIndication(peripheralId: String, timeoutMs: UInt32) async throws -> Data? {
        try await inner.nextIndication(peripheralId: peripheralId, timeoutMs: timeoutMs)
    }

    func disconnect(peripheralId: String) async { await inner.disconnect(peripheralId: peripheralId) }
}

/// Pairing through the bindings: the simulated link to the mock's cars (the test command passes
/// the mock's car radio in `CAAS_RADIO`) and a transport implemented in Swift in front of it.
extension CaasRepositoryTests {
    /// The simulated BLE link to the mock's cars (options are handed over on it too).
    func simulated(mtu: UInt16 = 185) throws -> BleTransport {
        let radio = try XCTUnwrap(ProcessInfo.processInfo.environment["CAAS_RADIO"], "CAAS_RADIO is not set")
        return try simulatedBleTransport(
            radioAddress: radio,
            conditions: LinkConditions(mtu: mtu, connectionIntervalMs: 30, lossPercent: 0, dropAfterWrites: nil))
    }

    private func collect(_ stream: AsyncThrowingStream<PairingProgress, Error>) async throws -> ([PairingStep], Paired?) {
        var steps: [PairingStep] = []
        var paired: Paired?
        for try await progress in stream {
            switch progress {
            case .step(let step): steps.append(step)
            case .linked(let done): paired = done
            }
        }
        return (steps, paired)
    }

    func testACustomerPairsTheDeliveredCarAndItBecomesOperational() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        try await handOver(customer, order: order, sandbox: sandbox)

        let (steps, linked) = try await collect(customer.pairVehicle(orderID: order, transport: try simulated()))
        XCTAssertEqual(steps, [.scanning, .connecting, .authenticating, .linked])
        let paired = try XCTUnwrap(linked)
        XCTAssertTrue(paired.reported && paired.status.ownerLinked)
        XCTAssertEqual(paired.link.toFirstReply.roundTrips, 2)

        let operational = try await first(customer.order(id: order)) { $0.summary.state == .operational }
        XCTAssertEqual(operational.appLink?.grantId, paired.grantId)
        XCTAssertEqual(operational.phoneKeys.map(\.revoked), [false])
        XCTAssertEqual(operational.actions, [.buyOptions, .bookService], "options and the service for a car handed over")

        // The owner revokes the key (a lost phone): the order lists it as revoked.
        try await customer.revokePhoneKey(orderID: order, grantID: paired.grantId)
        let revoked = try await first(customer.order(id: order)) { $0.phoneKeys.allSatisfy(\.revoked) }
        XCTAssertEqual(revoked.phoneKeys.map(\.grantId), [paired.grantId])
        do {
            try await customer.revokePhoneKey(orderID: order, grantID: paired.grantId)
            XCTFail("a revoked key was revoked again")
        } catch CaasError.NotFound {}
    }

    func testTheAppsOwnTransportCarriesThePairingChunkByChunk() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        try await handOver(customer, order: order, sandbox: sandbox)
        try await customer.preparePairing(orderID: order)

        let transport = CountingTransport(try simulated(mtu: 23))
        let (_, linked) = try await collect(customer.pairVehicle(orderID: order, transport: transport))
        XCTAssertEqual(try XCTUnwrap(linked).link.mtu, 23)
        XCTAssertLessThanOrEqual(transport.largestChunk, 20, "chunks fit MTU 23")
        XCTAssertGreaterThan(transport.writes, 20, "every message went in many writes")
        _ = try await first(customer.order(id: order)) { $0.summary.state == .operational }
    }

    func testANewPhoneBecomesAKeyOnlyRightAfterASignIn() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (customer, stream, order, _) = try await bookedCar(sandbox, email: email)
        defer { stream.disconnect() }
        try await handOver(customer, order: order, sandbox: sandbox)
        try await sandbox.advanceClock(seconds: 11 * 60)
        do {
            try await customer.preparePairing(orderID: order)
            XCTFail("a session signed in eleven minutes ago made a new key")
        } catch CaasError.Pairing(let failure, _) {
            XCTAssertEqual(failure, .confirmIdentity)
        }
        try await customer.requestSignInCode(email: email)
        try await customer.signIn(email: email, code: try await sandbox.signInCode(email: email))
        try await customer.preparePairing(orderID: order)
    }

    func testACarNotYetHandedOverCannotBePaired() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        defer { stream.disconnect() }
        do {
            _ = try await collect(customer.pairVehicle(orderID: order, transport: try simulated()))
            XCTFail("a car on its way cannot be paired")
        } catch CaasError.Pairing(let failure, _) {
            XCTAssertEqual(failure, .notDelivered)
        }
    }
}
