import CaasCore
import CaasKit
import Foundation
import Observation

/// The delivery: confirm or correct the address, and move the window to one the transport
/// company still has room in (not too close to the slot, a limited number of times). Moving needs
/// a connection; the offered windows are fetched when the screen opens and after each move.
@Observable
@MainActor
public final class DeliveryModel: ScreenModel {
    public enum Notice: ScreenNotice {
        case addressConfirmed
        case deliveryMoved
        case problem(Problem)
    }

    /// The booked delivery, as the order shows it; nil until the cache answered.
    public private(set) var delivery: CaasCore.DeliveryView?
    /// The windows the transport company offers, the booked one included.
    public private(set) var slots: [DeliverySlot] = []
    /// The address to confirm: the booked one at first, as the customer may correct it.
    public var address = ""
    public internal(set) var notice: Notice?
    var running = 0

    public var busy: Bool { running > 0 }
    /// The windows it can move to.
    public var otherSlots: [DeliverySlot] { slots.filter { $0.window != delivery?.window } }
    public var canMove: Bool { !busy && (delivery?.changesLeft ?? 0) > 0 }

    private let service: any CustomerOrdersService
    private let orderID: UUID

    public init(service: any CustomerOrdersService, orderID: UUID) {
        self.service = service
        self.orderID = orderID
    }

    /// While the screen shows: the delivery as it changes, and the offered windows.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follow() }
            group.addTask {
                await self.perform {
                    try await self.loadSlots()
                    return nil
                }
            }
        }
    }

    /// Confirms the address, corrected when the customer changed it.
    public func confirmAddress() async {
        let typed = address.trimmingCharacters(in: .whitespacesAndNewlines)
        let corrected = typed.isEmpty || typed == delivery?.address ? nil : typed
        await perform {
            try await service.confirmDeliveryAddress(orderID: orderID, address: corrected)
            return .addressConfirmed
        }
    }

    public func move(to slot: DeliverySlot) async {
        await perform {
            try await service.chooseDeliveryWindow(orderID: orderID, start: slot.window.start)
            try await loadSlots()
            return .deliveryMoved
        }
    }

    private func loadSlots() async throws {
        slots = try await service.deliverySlots(orderID: orderID)
    }

    private func follow() async {
        for await order in service.order(id: orderID) {
            if delivery == nil, let booked = order.delivery?.address { address = booked }
            delivery = order.delivery
        }
    }
}
