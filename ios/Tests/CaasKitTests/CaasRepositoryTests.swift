import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

struct TimedOut: Error {
    let seconds: Double
}

final class CaasRepositoryTests: XCTestCase {
    func email() -> String { "swift-\(UUID().uuidString.lowercased())@example.com" }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("caas-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func signedIn(_ sandbox: Sandbox, _ email: String) async throws -> CaasRepository {
        let repository = try await CaasRepository.open(
            backendURL: URL(string: sandbox.url)!, dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
        try await repository.requestSignInCode(email: email)
        try await repository.signIn(email: email, code: try await sandbox.signInCode(email: email))
        return repository
    }

    /// The first element of `stream` that satisfies `predicate`, or a failure after `seconds`.
    func first<T: Sendable>(_ stream: AsyncStream<T>, within seconds: Double = 15, where predicate: @escaping @Sendable (T) -> Bool) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { for await value in stream where predicate(value) { return value }; return nil }
            group.addTask { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)); return nil }
            let value = try await group.next() ?? nil
            group.cancelAll()
            guard let value else { throw TimedOut(seconds: seconds) }
            return value
        }
    }

    func testACustomerFollowsManufacturingThroughPushes() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        try await repository.sync()
        let listed = try await first(repository.orders) { !$0.isEmpty }
        XCTAssertEqual(listed.map(\.id), [order])
        XCTAssertEqual(listed.first?.state, .saleRegistered)

        let pushes = repository.pushes
        let stream = try await repository.connectDevelopmentPushStream()
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        let done = try await first(repository.order(id: order)) { $0.summary.state == .awaitingFinalPayment }
        XCTAssertEqual(done.timeline.map(\.state), [
            .saleRegistered, .reservationPaid, .orderPlaced, .inProduction, .assembly, .qualityControl,
            .manufacturingComplete, .dispatchedToLocality, .awaitingFinalPayment,
        ])
        let due = try XCTUnwrap(done.finalPayment)
        XCTAssertEqual(due.amountDue.currency, "EUR")
        XCTAssertGreaterThan(due.secondsLeft, 0)
        XCTAssertEqual(done.actions, [.payFinalAmount])
        XCTAssertFalse(done.estimateRevisions.isEmpty)
        XCTAssertEqual(done.summary.completion?.confirmed, true)
        // Ids and days arrive as the platform's own types.
        XCTAssertEqual(done.summary.id, order)
        let completed: DateComponents? = done.summary.completion?.date
        XCTAssertEqual(completed, done.estimateRevisions.last?.date)
        XCTAssertNotNil(completed?.year)
        XCTAssertNotNil(done.vin)
        // Whether the first push syncs or finds its events already synced by the stream's catch-up
        // at connect is a race between the two; either way the listener hears of it.
        let pushed = try await first(pushes) { $0.hint.orderId == order }
        switch pushed.outcome {
        case .synced, .duplicate: break
        default: XCTFail("\(pushed.outcome)")
        }
        stream.disconnect()
    }

    func testACustomerPaysThroughThreeDSecureAndTheCarIsRegistered() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        let stream = try await repository.connectDevelopmentPushStream()
        defer { stream.disconnect() }
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        try await repository.sync()
        let card = PaymentCard(number: "4000 0027 6000 3184", expiryMonth: 12, expiryYear: 2034, securityCode: "123")
        XCTAssertFalse(card.description.contains("4000"), "a card never prints whole")
        guard case let .requiresAction(paymentId, url) = try await repository.pay(orderID: order, card: card) else {
            return XCTFail("3-D Secure expected")
        }
        XCTAssertTrue(url.contains(paymentId))
        let inFlight = try repository.orderSnapshot(id: order)
        XCTAssertEqual(inFlight.finalPayment?.attemptInFlight, true)
        try await sandbox.completeThreeDSecure(payment: paymentId, pass: true)
        let resumed = try await repository.resumePayment(orderID: order)
        XCTAssertEqual(resumed, .succeeded(paymentId: paymentId))
        let registered = try await first(repository.order(id: order)) { $0.summary.state == .transportScheduled }
        XCTAssertEqual(registered.registration?.authority, "ES-DGT")
        XCTAssertNotNil(registered.finalPayment?.paidAt)
        let nothingLeft = try await repository.resumePayment(orderID: order)
        XCTAssertNil(nothingLeft)

        // Another channel charges the paid order again: the platform gives it back, and the
        // purchase record shows the refund.
        let again = try await sandbox.duplicateCharge(order: order)
        let refunded = try await first(repository.order(id: order)) { !$0.refunds.isEmpty }
        XCTAssertEqual(refunded.refunds.map(\.paymentId), [again])
        XCTAssertEqual(refunded.refunds.first?.amount, registered.finalPayment?.amountDue)
    }

    /// Issue 17: a snapshot is read synchronously, from the core's memory. It is never older than
    /// the last sync, and its countdown moves with the clock.
    func testTheSynchronousSnapshotFollowsEveryWriteAndTheClock() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        try await repository.sync()
        XCTAssertEqual(try repository.orderSnapshot(id: order).summary.state, .saleRegistered)
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        try await repository.sync()
        let due = try repository.orderSnapshot(id: order)
        XCTAssertEqual(due.summary.state, .awaitingFinalPayment, "the sync's write, not the copy read before it")
        try await Task.sleep(for: .milliseconds(1_100))
        let later = try XCTUnwrap(repository.orderSnapshot(id: order).finalPayment).secondsLeft
        XCTAssertLessThan(later, try XCTUnwrap(due.finalPayment).secondsLeft, "the countdown moves between reads from memory")
        XCTAssertThrowsError(try repository.orderSnapshot(id: UUID())) { error in
            guard case CaasError.NotFound = error else { return XCTFail("\(error)") }
        }
    }

    func testAnUpdateFromANewerPlatformIsKeptShownAndNeverStopsASync() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        _ = try await repository.sync()
        let newer = try await sandbox.appendEvent(order: order, type: "warranty_extended")
        _ = try await repository.sync()
        let shown = try repository.orderSnapshot(id: order)
        XCTAssertEqual(shown.unknownUpdates.map { Int($0.version) }, [newer])
        // What the platform records after it still applies.
        try await sandbox.reserve(order: order, dealer: dealer)
        _ = try await repository.sync()
        let later = try repository.orderSnapshot(id: order)
        XCTAssertGreaterThan(Int(later.summary.version), newer)
    }

    func testDeclinedCardsAreThrownAsTypedRefusals() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        for (number, expected) in [("4000000000000002", PaymentRefusal.cardDeclined), ("4000000000009995", .insufficientFunds)] {
            do {
                _ = try await repository.pay(orderID: order, card: PaymentCard(number: number, expiryMonth: 12, expiryYear: 2034, securityCode: "123"))
                XCTFail("\(number) was accepted")
            } catch let CaasError.PaymentRefused(refusal, _) {
                XCTAssertEqual(refusal, expected)
            }
        }
        let paid = try await repository.pay(orderID: order, card: PaymentCard(number: "4242424242424242", expiryMonth: 12, expiryYear: 2034, securityCode: "123"))
        guard case .succeeded = paid else { return XCTFail("\(paid)") }
    }

    func testAnAPNsPayloadSyncsTheOrderItNames() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, _) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        let userInfo: [AnyHashable: Any] = [
            "aps": ["alert": ["loc-key": "push.manufacturing"], "mutable-content": 1],
            "caas": ["event_id": UUID().uuidString, "order_id": order.uuidString, "order_version": 1, "type": "state_changed"],
        ]
        let outcome = try await repository.didReceiveRemoteNotification(userInfo)
        XCTAssertEqual(outcome, .synced(newEvents: 1))
        let snapshot = try repository.orderSnapshot(id: order)
        XCTAssertEqual(snapshot.summary.state, .saleRegistered)
    }

    /// Issue 15: the platform's APNs pushes were silent and the extension wrote "Now: in production"
    /// in English. A push is an alert the extension rewrites with the core's words, in the phone's
    /// language, once.
    func testAPushBecomesTheNotificationTheCustomerReads() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        try await repository.registerAPNsToken(Data([0xca, 0xa5, 0x01]))
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "in_production")
        let pushes = try await sandbox.apnsPushes(order: order)
        let push = try XCTUnwrap(pushes.last)
        let aps = try XCTUnwrap(push["aps"] as? [String: Any])
        XCTAssertEqual(aps["mutable-content"] as? Int, 1, "the extension runs")
        XCTAssertNotNil(aps["alert"], "and iOS shows it")

        // A Catalan speaker whose second language is Spanish.
        let shown = try await repository.notificationContent(for: push, languages: ["ca-ES", "es-ES"])
        let content = try XCTUnwrap(shown)
        XCTAssertEqual(content.title, "urban-ev")
        XCTAssertEqual(content.body, "Tu pedido ahora está: en producción.")
        XCTAssertEqual(content.channel, .manufacturing)
        XCTAssertEqual(content.thread, order.uuidString.lowercased())
        XCTAssertEqual(content.link, "caas://order/\(order.uuidString.lowercased())")
        // The extension files it under the category the push names, with the link a tap opens.
        XCTAssertEqual(aps["category"] as? String, content.channel.categoryIdentifier)
        XCTAssertEqual((aps["alert"] as? [String: Any])?["loc-key"] as? String, "push.\(content.channel.categoryIdentifier)")
        XCTAssertEqual(OrderLink.orderID(from: try XCTUnwrap(URL(string: content.link))), order)
        let again = try await repository.notificationContent(for: push, languages: ["es-ES"])
        XCTAssertEqual(OrderState.inProduction.label(in: ["eu-ES", "es-ES"]), "En producción")
        XCTAssertNil(again, "a push is shown once")
    }

    func testSigningOutEndsTheSessionOnThePlatformToo() async throws {
        let sandbox = try Sandbox()
        let email = email()
        _ = try await sandbox.sell(email: email)
        let repository = try await signedIn(sandbox, email)
        let before = try await sandbox.liveSessions(email: email)
        XCTAssertEqual(before, 1)
        try await repository.signOut()
        let after = try await sandbox.liveSessions(email: email)
        XCTAssertEqual(after, 0, "the platform no longer accepts the token")
        await assertThrows(.Unauthorized) { try await repository.sync() }
    }

    func testADeclinedUnlockPromptIsACancellationNotAnInternalError() async throws {
        let sandbox = try Sandbox()
        let repository = try await CaasRepository.open(
            backendURL: URL(string: sandbox.url)!, dataDirectory: try temporaryDirectory(), secrets: DecliningSecretStore())
        await assertThrows(.Cancelled) { try await repository.sync() }
    }

    func testCoreErrorsAreThrownAsTypedErrors() async throws {
        let sandbox = try Sandbox()
        let repository = try await CaasRepository.open(
            backendURL: URL(string: sandbox.url)!, dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
        await assertThrows(.Unauthorized) { try await repository.sync() }
        await assertThrows(.Unauthorized) { try await repository.signIn(email: self.email(), code: "000000") }
        do {
            _ = try repository.orderSnapshot(id: UUID())
            XCTFail("an order never cached was found")
        } catch CaasError.NotFound {}
        do {
            _ = try await repository.didReceiveRemoteNotification(["aps": [:]])
            XCTFail("a foreign payload was accepted")
        } catch CaasError.InvalidPush {}

        let offline = try await CaasRepository.open(
            backendURL: URL(string: "http://127.0.0.1:9")!, dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
        do {
            try await offline.requestSignInCode(email: email())
            XCTFail("offline call succeeded")
        } catch CaasError.Offline {}
    }

    func testCancellingAnAsyncCallCancelsIt() async throws {
        let silent = try SilentServer()
        let repository = try await CaasRepository.open(
            backendURL: URL(string: "http://127.0.0.1:\(silent.port)")!, dataDirectory: try temporaryDirectory(),
            secrets: MemorySecretStore())
        let email = email()
        let call = Task { try await repository.requestSignInCode(email: email) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let cancelledAt = Date()
        call.cancel()
        switch await call.result {
        case .failure(is CancellationError): break
        case let other: XCTFail("the cancelled call returned \(other)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(cancelledAt), 3, "cancellation released the caller at once")
        withExtendedLifetime(silent) {}
    }

    func testTheCoresLogsReachTheShellsLogger() async throws {
        let sandbox = try Sandbox()
        let lines = Lines()
        XCTAssertTrue(CaasLog.install(minLevel: .info) { level, target, message in lines.append("\(level) \(target) \(message)") })
        let email = email()
        _ = try await sandbox.sell(email: email)
        _ = try await signedIn(sandbox, email)
        let logged = lines.all
        XCTAssertTrue(logged.contains { $0.hasPrefix("info caas_core") && $0.contains("signed in") }, "\(logged)")
        XCTAssertFalse(logged.contains { $0.contains(email) }, "no personal data in the logs")
    }

    private func assertThrows(_ expected: CaasError, _ body: () async throws -> Void, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("no error", line: line)
        } catch let error as CaasError {
            XCTAssertEqual(error, expected, line: line)
        } catch {
            XCTFail("\(error)", line: line)
        }
    }
}

/// A secret store whose every use the user declines, as at an unlock prompt.
private final class DecliningSecretStore: SecretStore, @unchecked Sendable {
    func get(key: String) throws -> String? { throw SecretStoreError.Cancelled }
    func set(key: String, value: String) throws { throw SecretStoreError.Cancelled }
    func delete(key: String) throws { throw SecretStoreError.Cancelled }
}
