import CaasCore
import CaasKit
import Foundation
import Observation

/// The purchase record of one order (its timeline, estimates, what is due, the delivery, the
/// phone keys) and the actions its state allows, each with its own screen's model.
@Observable
@MainActor
public final class OrderModel {
    public let orderID: UUID
    /// The cached order from the first frame (read synchronously), then every change; nil while
    /// the phone holds none.
    public private(set) var order: OrderDetail?
    /// Why the last export of the purchase record failed.
    public private(set) var problem: Problem?

    private let service: any CustomerOrdersService
    private let bluetooth: any BleTransport

    public init(service: any CustomerOrdersService, orderID: UUID, bluetooth: any BleTransport) {
        self.service = service
        self.orderID = orderID
        self.bluetooth = bluetooth
        // Not cached, or unreadable now: `run()` brings it, or keeps trying.
        self.order = try? service.orderSnapshot(id: orderID)
    }

    /// What the customer can do now.
    public var actions: [CustomerAction] { order?.actions ?? [] }

    /// While the screen shows: the cached order, then every change.
    public func run() async {
        for await detail in service.order(id: orderID) {
            order = detail
        }
    }

    /// The purchase record, signed by the platform, as a JSON document for the share sheet; nil
    /// when it cannot be exported now (`problem` says why).
    public func purchaseRecord() async -> String? {
        do {
            let record = try await service.exportRecord(orderID: orderID)
            problem = nil
            return record
        } catch {
            problem = Problem(error)
            return nil
        }
    }

    public func payment() -> PaymentModel {
        PaymentModel(service: service, orderID: orderID, inFlight: order?.finalPayment?.attemptInFlight ?? false)
    }

    public func delivery() -> DeliveryModel {
        DeliveryModel(service: service, orderID: orderID)
    }

    public func handoverCode() -> HandoverCodeModel {
        HandoverCodeModel(service: service, orderID: orderID)
    }

    public func pairing() -> PairingModel {
        PairingModel(service: service, orderID: orderID, transport: bluetooth)
    }

    public func options() -> OptionsModel {
        OptionsModel(service: service, orderID: orderID, transport: bluetooth)
    }

    public func maintenance() -> MaintenanceModel {
        MaintenanceModel(service: service, orderID: orderID, transport: bluetooth)
    }
}
