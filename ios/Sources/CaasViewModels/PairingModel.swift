import CaasCore
import CaasKit
import Foundation
import Observation

/// Pairing the phone with the delivered car, step by step. The pairing outlives the tap that
/// starts it and stops on "Cancel" or when the screen goes away, so the model holds its task.
@Observable
@MainActor
public final class PairingModel {
    public enum Stage: Equatable, Sendable {
        case ready
        case pairing(PairingStep)
        case linked(Paired)
    }

    public private(set) var stage: Stage = .ready
    /// Why the last attempt failed, with what the customer can do.
    public private(set) var problem: Problem?

    private let service: any CustomerOrdersService
    private let orderID: UUID
    private let transport: any BleTransport
    private var attempt: Task<Void, Never>?

    public init(service: any CustomerOrdersService, orderID: UUID, transport: any BleTransport) {
        self.service = service
        self.orderID = orderID
        self.transport = transport
    }

    /// Starts pairing, unless it is under way; the task ends with the attempt.
    @discardableResult
    public func pair() -> Task<Void, Never> {
        if let attempt { return attempt }
        problem = nil
        let attempt = Task {
            do {
                for try await progress in service.pairVehicle(orderID: orderID, transport: transport, options: nil) {
                    switch progress {
                    case .step(let step): stage = .pairing(step)
                    case .linked(let paired): stage = .linked(paired)
                    }
                }
                // A stream that ends without the link was cancelled.
                if case .pairing = stage { stage = .ready }
            } catch {
                stage = .ready
                problem = Problem(error)
            }
            self.attempt = nil
        }
        self.attempt = attempt
        return attempt
    }

    /// Stops the pairing under way (the button, or the screen going away).
    public func cancel() {
        attempt?.cancel()
    }
}
