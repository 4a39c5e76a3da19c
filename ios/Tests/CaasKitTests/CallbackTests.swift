@testable import CaasKit
import Foundation
import XCTest

private struct NoAnswer: Error, Equatable {}

/// Counts how often something happened, from any thread.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// Keeps the completion a request was made with, as a callback API (CoreBluetooth) keeps its
/// delegate's pending request, to answer it later or never.
private final class PendingRequest<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var completion: CallbackCompletion<T>?
    private var made = 0

    func take(_ completion: CallbackCompletion<T>) {
        lock.withLock {
            self.completion = completion
            made += 1
        }
    }

    var requests: Int { lock.withLock { made } }

    /// Answers as the callback would; false when the wait was over already.
    func answer(_ value: T) -> Bool {
        lock.withLock { completion }?.resume(returning: value) ?? false
    }
}

/// The wait for a callback that the CoreBluetooth transport uses for connecting, writing and
/// indications, where CoreBluetooth itself never gives up.
final class CallbackTests: XCTestCase {
    func testTheCallbacksAnswerEndsTheWait() async throws {
        let answer = try await awaitCallback(timeout: .seconds(5), onTimeout: { throw NoAnswer() }) { (completion: CallbackCompletion<Int>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { completion.resume(returning: 42) }
        }
        XCTAssertEqual(answer, 42)
    }

    func testTheDeadlineEndsAWaitNobodyAnswersAndALateAnswerIsIgnored() async throws {
        let request = PendingRequest<Int>()
        let started = ContinuousClock.now
        do {
            _ = try await awaitCallback(timeout: .milliseconds(100), onTimeout: { throw NoAnswer() }) { request.take($0) }
            XCTFail("a wait nobody answered returned")
        } catch let error as NoAnswer {
            XCTAssertEqual(error, NoAnswer())
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "the deadline fired")
        XCTAssertFalse(request.answer(7), "the late answer found the wait over")
    }

    func testADeadlineCanAnswerInsteadOfFailing() async throws {
        // As an indication that does not come in time: the core resends, it is no failure.
        let indication: Data? = try await awaitCallback(timeout: .milliseconds(50), onTimeout: { nil }) { _ in }
        XCTAssertNil(indication)
    }

    func testCancellationEndsTheWaitOnceAndALateAnswerIsIgnored() async throws {
        let request = PendingRequest<Int>()
        let ended = Counter()
        let waiting = Task {
            defer { ended.increment() }
            return try await awaitCallback(timeout: .seconds(30), onTimeout: { throw NoAnswer() }) { request.take($0) }
        }
        while request.requests == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let cancelledAt = ContinuousClock.now
        waiting.cancel()
        switch await waiting.result {
        case .failure(is CancellationError): break
        case let other: XCTFail("the cancelled wait ended with \(other)")
        }
        XCTAssertLessThan(ContinuousClock.now - cancelledAt, .seconds(1), "cancellation released the caller at once")
        XCTAssertFalse(request.answer(7), "the answer after the cancellation found the wait over")
        XCTAssertEqual(ended.value, 1)
    }

    func testAWaitWithoutDeadlineLastsUntilTheAnswerOrTheCancellation() async throws {
        let request = PendingRequest<String>()
        let waiting = Task { try await awaitCallback { request.take($0) } }
        while request.requests == 0 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertTrue(request.answer("on"))
        let answer = try await waiting.value
        XCTAssertEqual(answer, "on")
    }

    func testATaskCancelledBeforeTheWaitMakesNoRequest() async throws {
        let request = PendingRequest<Int>()
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await awaitCallback(timeout: .seconds(30), onTimeout: { throw NoAnswer() }) { request.take($0) }
        }
        switch await waiting.result {
        case .failure(is CancellationError): break
        case let other: XCTFail("the cancelled wait ended with \(other)")
        }
        XCTAssertEqual(request.requests, 0, "nothing was started for a task already cancelled")
    }
}

/// The Notification Service Extension's content handler, called once whichever of the rewritten
/// notification and the deadline comes first.
final class OnceDeliveryTests: XCTestCase {
    func testRacingDeliveriesReachTheHandlerOnce() {
        for _ in 0..<200 {
            let delivered = Counter()
            let winners = Counter()
            let once = OnceDelivery<Int> { _ in delivered.increment() }
            DispatchQueue.concurrentPerform(iterations: 8) { attempt in
                if once.deliver(attempt) { winners.increment() }
            }
            XCTAssertEqual(delivered.value, 1)
            XCTAssertEqual(winners.value, 1, "exactly one caller was told it delivered")
        }
    }

    func testTheFirstValueIsTheOneDelivered() {
        var shown: [String] = []
        let once = OnceDelivery<String> { shown.append($0) }
        XCTAssertTrue(once.deliver("written by the core"))
        XCTAssertFalse(once.deliver("the push's own alert"))
        XCTAssertEqual(shown, ["written by the core"])
    }
}
