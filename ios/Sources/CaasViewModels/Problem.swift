import CaasCore
import CaasKit
import Foundation

/// Why something the person asked for failed, as they can act on it. Models report problems,
/// never sentences: the app words each one in the phone's language.
public enum Problem: Equatable, Sendable {
    /// No connection; what is shown comes from the phone.
    case offline
    /// The platform is busy or in maintenance; nothing was done.
    case serverUnavailable
    /// The session ended: sign in again.
    case signInAgain
    case notFound
    /// The platform refused (a rule of the business).
    case refused(Refusal)
    case paymentRefused(PaymentRefusal)
    case handoverRefused(HandoverRefusal)
    case pairingFailed(PairingFailure)
    /// The driver has actions to sync before signing out.
    case unsyncedActions(Int)
    /// The platform's history of an order no longer follows from the phone's: the phone kept its
    /// own; the customer should contact the dealership.
    case historyRewritten
    /// Nothing the person can fix; the core's log has the details.
    case unexpected

    /// The problem an error is; nil for a cancellation, which the person asked for.
    public init?(_ error: Error) {
        if error is CancellationError { return nil }
        guard let error = error as? CaasError else {
            self = .unexpected
            return
        }
        switch error {
        case .Offline: self = .offline
        case .ServerUnavailable: self = .serverUnavailable
        case .Cancelled: return nil
        case .Unauthorized: self = .signInAgain
        case .NotFound: self = .notFound
        case .Rejected(let code, let reason): self = .refused(Refusal(code: code, reason: reason))
        case .PaymentRefused(let refusal, _): self = .paymentRefused(refusal)
        case .HandoverRefused(let refusal, _): self = .handoverRefused(refusal)
        case .Pairing(let failure, _): self = .pairingFailed(failure)
        case .PendingActions(let count): self = .unsyncedActions(Int(count))
        case .HistoryRewritten: self = .historyRewritten
        case .InvalidPush, .InvalidInput, .Internal: self = .unexpected
        }
    }
}

/// A refusal of the platform. The ones a customer or a driver meets on these screens are named,
/// so the app words them; any other keeps the platform's own reason.
public enum Refusal: Equatable, Sendable {
    /// The delivery window or the workshop slot is not offered any more, or was just taken.
    case slotUnavailable
    /// The delivery or the booked service starts too soon (within 24 hours) to be changed.
    case changeTooLate
    /// The delivery or the booked service was moved as often as allowed.
    case changeLimitReached
    /// The car cannot leave before the customer confirms the address.
    case addressNotConfirmed
    /// The scanned VIN is not the order's car.
    case vinMismatch
    /// The delivery changed since the driver's list was fetched.
    case deliveryChanged
    /// Too many attempts; try again later.
    case tooManyAttempts
    /// Another payment of the order is still open (waiting for the bank).
    case paymentInProgress
    /// A driver's action refused because an earlier one on the same delivery was.
    case superseded
    case other(reason: String)

    /// The refusal of a platform error `code` (its stable wire name).
    public init(code: String, reason: String) {
        switch code {
        case "slot_unavailable": self = .slotUnavailable
        case "change_too_late": self = .changeTooLate
        case "change_limit_reached": self = .changeLimitReached
        case "address_not_confirmed": self = .addressNotConfirmed
        case "vin_mismatch": self = .vinMismatch
        case "delivery_changed": self = .deliveryChanged
        case "too_many_attempts": self = .tooManyAttempts
        case "payment_in_progress": self = .paymentInProgress
        case "superseded": self = .superseded
        default: self = .other(reason: reason)
        }
    }
}

/// A model's notice: what happened, or the problem it met.
public protocol ScreenNotice: Equatable, Sendable {
    static func problem(_ problem: Problem) -> Self
}

/// A screen's model: its intents run through `perform`, which marks it busy meanwhile (its
/// buttons are disabled) and reports what came of them as the screen's one notice.
@MainActor
protocol ScreenModel: AnyObject {
    associatedtype Notice: ScreenNotice
    var notice: Notice? { get set }
    /// How many intents are running.
    var running: Int { get set }
}

extension ScreenModel {
    /// Runs `work`; its notice, or its failure's, replaces the screen's. A cancellation leaves
    /// the notice as it was.
    func perform(_ work: () async throws -> Notice?) async {
        running += 1
        defer { running -= 1 }
        do {
            notice = try await work()
        } catch {
            if let problem = Problem(error) { notice = .problem(problem) }
        }
    }
}
