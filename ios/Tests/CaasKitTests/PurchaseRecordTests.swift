import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

/// The purchase record as evidence (issue 14): the phone checks the platform's chain at every
/// sync and refuses a rewritten history, keeping its own; an exported record checks out offline
/// with only the platform's public key, and a changed one does not.
extension CaasRepositoryTests {
    func testASharedRecordChecksOutAndARewrittenHistoryIsRefused() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        try await sandbox.reserve(order: order, dealer: dealer)
        let phone = try await CaasRepository.open(
            backendURL: URL(string: sandbox.url)!, dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
        try await phone.requestSignInCode(email: email)
        try await phone.signIn(email: email, code: try await sandbox.signInCode(email: email))
        _ = try await phone.sync()
        let pinned = try await phone.recordPublicKey()
        let key = try XCTUnwrap(pinned, "pinned at the first sync")
        let record = try await phone.exportRecord(orderID: order)
        let held = try phone.orderSnapshot(id: order)
        XCTAssertEqual(try verifyRecord(record: record, publicKey: key), .valid(orderId: order, events: held.summary.version))
        let changed = record.replacingOccurrences(of: "\"order_placed\"", with: "\"sale_registered\"")
        guard case .invalid = try verifyRecord(record: changed, publicKey: key) else {
            return XCTFail("a changed record checks out")
        }

        try await sandbox.rewriteHistory(order: order, version: 2)
        do {
            _ = try await phone.sync()
            XCTFail("a rewritten history was taken")
        } catch CaasError.HistoryRewritten(let refused, _) {
            XCTAssertEqual(refused, order)
        }
        let kept = try phone.orderSnapshot(id: order)
        XCTAssertEqual(kept.timeline, held.timeline, "the phone keeps what it had")
        let again = try await phone.exportRecord(orderID: order)
        XCTAssertEqual(again, record)
    }
}
