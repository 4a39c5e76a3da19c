import CaasCore
import CaasKit
import Foundation
import Observation

/// The app as a whole: opens both roles' cores once, shows sign-in or the signed-in role's
/// screens, hands a signed-in customer to the push registration, and opens the order a link or a
/// tapped notification names.
@Observable
@MainActor
public final class AppModel {
    /// The cores of both roles, each with its own cache and secrets.
    public struct Services: Sendable {
        public let customer: any CustomerOrdersService
        public let driver: any DriverService

        public init(customer: any CustomerOrdersService, driver: any DriverService) {
            self.customer = customer
            self.driver = driver
        }
    }

    public enum Screen {
        case starting
        /// The cores could not be opened.
        case unavailable(Problem)
        case signIn(SignInModel)
        case customer(OrdersModel)
        case driver(DriverModel)
    }

    public private(set) var screen: Screen = .starting
    /// The push registration, which the app delegate hands device tokens to.
    public let push: PushRegistration

    private let bluetooth: any BleTransport
    private let open: @Sendable () async throws -> Services
    private var services: Services?
    private var opening = false
    /// An order a link named before the customer's orders showed.
    private var pendingOrder: UUID?

    /// `open` opens the cores (the app's: in the app group, with the Keychain and the Secure
    /// Enclave); `bluetooth` is the transport pairing uses.
    public init(push: PushRegistration, bluetooth: any BleTransport, open: @escaping @Sendable () async throws -> Services) {
        self.push = push
        self.bluetooth = bluetooth
        self.open = open
    }

    /// Opens the cores, once, or again after they could not be opened (the person asks to try
    /// again); a role still signed in from before goes straight to its screens.
    public func start() async {
        guard services == nil, !opening else { return }
        opening = true
        defer { opening = false }
        screen = .starting
        do {
            let services = try await open()
            let role: Role? = try services.customer.isSignedIn ? .customer : services.driver.isSignedIn ? .driver : nil
            self.services = services
            if let role {
                await signedIn(as: role)
            } else {
                screen = .signIn(SignInModel(customer: services.customer, driver: services.driver) { [weak self] role in
                    await self?.signedIn(as: role)
                })
            }
        } catch {
            screen = .unavailable(Problem(error) ?? .unexpected)
        }
    }

    /// A `caas://order/<id>` link (`onOpenURL`); any other URL is ignored.
    public func open(_ url: URL) {
        if let order = OrderLink.orderID(from: url) { show(order: order) }
    }

    /// Opens an order: at once when the customer's orders show, else once they do.
    public func show(order: UUID) {
        if case .customer(let orders) = screen {
            orders.open(order: order)
        } else {
            pendingOrder = order
        }
    }

    private func signedIn(as role: Role) async {
        guard let services else { return }
        switch role {
        case .customer:
            let orders = OrdersModel(service: services.customer, push: push, bluetooth: bluetooth)
            if let pendingOrder {
                orders.open(order: pendingOrder)
                self.pendingOrder = nil
            }
            screen = .customer(orders)
            await push.signedIn(services.customer)
        case .driver:
            screen = .driver(DriverModel(service: services.driver))
        }
    }
}
