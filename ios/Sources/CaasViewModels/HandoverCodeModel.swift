import CaasCore
import CaasKit
import Foundation
import Observation

/// The code the driver or the dealership checks before handing the car over: a QR code and eight
/// digits. While the screen shows it the phone signs it again every `handoverRefresh`, its word
/// for when the driver checked it; a screen that comes back shows the same code, and "New code"
/// replaces it.
@Observable
@MainActor
public final class HandoverCodeModel {
    public enum Notice: Equatable, Sendable {
        /// The code expired: show a new one when the driver is there.
        case expired
        case problem(Problem)
    }

    /// The code on screen; nil before the first one and once it expired.
    public private(set) var code: CustomerHandoverCode?
    public private(set) var notice: Notice?
    /// Bumped by `newCode()`: the screen runs `show()` again for each value.
    public private(set) var generation = 0

    private let service: any CustomerOrdersService
    private let orderID: UUID

    public init(service: any CustomerOrdersService, orderID: UUID) {
        self.service = service
        self.orderID = orderID
    }

    /// Follows the live code until it expires or the screen goes away (the task is cancelled).
    /// After `newCode()` it asks for a fresh one.
    public func show() async {
        notice = nil
        do {
            for try await shown in service.liveHandoverCode(orderID: orderID, fresh: generation > 0) {
                code = shown
            }
            guard !Task.isCancelled else { return }
            code = nil
            notice = .expired
        } catch {
            guard let problem = Problem(error) else { return }
            code = nil
            notice = .problem(problem)
        }
    }

    /// Replaces the code with a new one.
    public func newCode() {
        generation += 1
    }
}
