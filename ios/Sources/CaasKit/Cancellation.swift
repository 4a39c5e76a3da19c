import Foundation

/// Runs `operation` and returns early with `CancellationError` when the calling task is cancelled.
///
/// The generated bindings cannot interrupt a Rust call in flight, so a cancelled call finishes in
/// the background and its result is dropped; the caller is released at once, as Swift code
/// expects of cancellation.
func cancellable<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await awaitCallback { completion in
        Task {
            do {
                completion.resume(with: .success(try await operation()))
            } catch {
                completion.resume(with: .failure(error))
            }
        }
    }
}

/// Waits for an answer that arrives through a callback (a call finishing in another task, a
/// CoreBluetooth delegate method), and gives up when the calling task is cancelled.
///
/// `start` hands the request over with the `CallbackCompletion` its callback resumes; it is not
/// called when the task is cancelled already. On cancellation the wait ends at once with
/// `CancellationError`, and the caller stops what it started (a scan, a pending connection). An
/// answer that comes later finds the completion resumed and is ignored.
func awaitCallback<T: Sendable>(_ start: (CallbackCompletion<T>) -> Void) async throws -> T {
    try await awaitCallback(deadline: nil, start)
}

/// `awaitCallback(_:)` with a deadline: when no answer came within `timeout`, the wait ends with
/// what `onTimeout` returns or throws. Callback APIs such as CoreBluetooth's `connect` never give
/// up by themselves.
func awaitCallback<T: Sendable>(
    timeout: Duration,
    onTimeout: @escaping @Sendable () throws -> T,
    _ start: (CallbackCompletion<T>) -> Void
) async throws -> T {
    try await awaitCallback(deadline: (timeout, onTimeout), start)
}

private func awaitCallback<T: Sendable>(
    deadline: (after: Duration, answer: @Sendable () throws -> T)?,
    _ start: (CallbackCompletion<T>) -> Void
) async throws -> T {
    try Task.checkCancellation()
    let completion = CallbackCompletion<T>()
    func answer() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            if completion.attach(continuation) { start(completion) }
        }
    }
    return try await withTaskCancellationHandler {
        guard let deadline else { return try await answer() }
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask {
                // Cancelled as soon as the answer is in: the sleep throws and the deadline never fires.
                try await Task.sleep(for: deadline.after)
                completion.resume(with: Result(catching: deadline.answer))
            }
            defer { group.cancelAll() }
            return try await answer()
        }
    } onCancel: {
        completion.resume(with: .failure(CancellationError()))
    }
}

/// The one answer a callback gives: whichever of the callback, a deadline and a cancellation
/// resumes it first is the answer, the others are ignored. It may be resumed before the waiting
/// task has attached its continuation (a cancellation can come first); the answer is then kept
/// for it.
final class CallbackCompletion<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var early: Result<T, Error>?
    private var resumed = false

    /// Resumes the wait with `result`; `false` when it had its answer already.
    @discardableResult
    func resume(with result: Result<T, Error>) -> Bool {
        lock.lock()
        guard !resumed else {
            lock.unlock()
            return false
        }
        resumed = true
        guard let continuation else {
            early = result
            lock.unlock()
            return true
        }
        self.continuation = nil
        lock.unlock()
        continuation.resume(with: result)
        return true
    }

    @discardableResult
    func resume(returning value: T) -> Bool {
        resume(with: .success(value))
    }

    @discardableResult
    func resume(throwing error: Error) -> Bool {
        resume(with: .failure(error))
    }

    /// Attaches the waiting task's continuation; `false` when the answer was in already (it is
    /// resumed with it at once), so the request need not be made.
    fileprivate func attach(_ continuation: CheckedContinuation<T, Error>) -> Bool {
        lock.lock()
        if let early {
            self.early = nil
            lock.unlock()
            continuation.resume(with: early)
            return false
        }
        self.continuation = continuation
        lock.unlock()
        return true
    }
}

extension CallbackCompletion where T == Void {
    @discardableResult
    func resume() -> Bool {
        resume(with: .success(()))
    }
}
