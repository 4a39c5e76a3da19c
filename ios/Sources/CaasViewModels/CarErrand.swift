import CaasCore
import CaasKit

/// One errand at the car at a time (handing it options, reading it): the steps as they come, then
/// the outcome; a failure becomes a problem, a cancel nothing. The models keep what the screen
/// shows; this keeps the attempt.
@MainActor
final class CarErrand<Outcome: Sendable> {
    private var attempt: Task<Void, Never>?

    /// Runs `stream`, unless an attempt is under way (then that attempt's task is returned).
    /// `started` runs at once when a new attempt begins, `ended` last, whatever happened.
    func run(
        started: () -> Void,
        _ stream: @escaping @MainActor () -> AsyncThrowingStream<CarErrandProgress<Outcome>, Error>,
        step: @escaping @MainActor (PairingStep) -> Void,
        done: @escaping @MainActor (Outcome) -> Void,
        failed: @escaping @MainActor (Problem) -> Void,
        ended: @escaping @MainActor () -> Void
    ) -> Task<Void, Never> {
        if let attempt { return attempt }
        started()
        let attempt = Task { @MainActor in
            do {
                for try await progress in stream() {
                    switch progress {
                    case .step(let current): step(current)
                    case .done(let outcome): done(outcome)
                    }
                }
            } catch {
                if let problem = Problem(error) { failed(problem) }
            }
            ended()
            self.attempt = nil
        }
        self.attempt = attempt
        return attempt
    }

    func cancel() {
        attempt?.cancel()
    }
}
