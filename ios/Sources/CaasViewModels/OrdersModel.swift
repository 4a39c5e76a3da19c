import CaasCore
import CaasKit
import Foundation
import Observation

/// The customer's cars: the cached list at once, synced when the screen opens and on pull.
/// `path` is the navigation into an order, which a notification's link sets too.
@Observable
@MainActor
public final class OrdersModel {
    /// Newest first.
    public private(set) var orders: [OrderSummary] = []
    /// The cache answered: an empty list then means no orders yet, not "still loading".
    public private(set) var loaded = false
    /// Why the last sync failed; the list still shows what the phone has.
    public private(set) var problem: Problem?
    /// The orders opened, for a `NavigationStack`.
    public var path: [UUID] = []

    private let service: any CustomerOrdersService
    private let push: PushRegistration
    private let bluetooth: any BleTransport

    public init(service: any CustomerOrdersService, push: PushRegistration, bluetooth: any BleTransport) {
        self.service = service
        self.push = push
        self.bluetooth = bluetooth
    }

    /// While the screen shows: follows the cached list, and syncs once. After that first sync the
    /// customer has seen their orders, and notifications are asked for.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follow() }
            group.addTask {
                await self.refresh()
                await self.push.enableNotifications()
            }
        }
    }

    /// Syncs, and returns when the sync is over (pull to refresh shows until then).
    public func refresh() async {
        do {
            _ = try await service.sync()
            problem = nil
        } catch {
            if let problem = Problem(error) { self.problem = problem }
        }
    }

    /// Opens an order (a notification's link).
    public func open(order: UUID) {
        path = [order]
    }

    /// The model of an order's screen.
    public func model(for order: UUID) -> OrderModel {
        OrderModel(service: service, orderID: order, bluetooth: bluetooth)
    }

    private func follow() async {
        for await list in service.orders {
            orders = list
            loaded = true
        }
    }
}
