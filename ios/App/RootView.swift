import CaasCore
import CaasKit
import SwiftUI

/// Sign-in, then the customer's cars or the driver's deliveries; a notification's link opens its
/// order.
struct RootView: View {
    @Environment(AppModel.self) private var model
    @State private var role: Role?
    @State private var path: [UUID] = []

    var body: some View {
        if let failure = model.failure {
            ContentUnavailableView("The app could not start", systemImage: "exclamationmark.triangle", description: Text(failure))
        } else if let customer = model.customer, let driver = model.driver {
            switch role ?? ((try? customer.isSignedIn) == true ? .customer : nil) {
            case .customer:
                NavigationStack(path: $path) {
                    OrdersView(repository: customer)
                        .navigationDestination(for: UUID.self) { OrderView(repository: customer, orderID: $0) }
                }
                .onChange(of: model.openedOrder) { _, order in
                    if let order { path = [order] }
                }
            case .driver:
                NavigationStack { DriverView(repository: driver) }
            case nil:
                SignInView(customer: customer, driver: driver) { role = $0 }
            }
        } else {
            ProgressView()
        }
    }
}

enum Role {
    case customer
    case driver
}

/// A view's outcome line: what happened, or what to do about a failure.
@MainActor
func attempt(_ message: Binding<String?>, _ work: @escaping () async throws -> String?) {
    Task {
        do {
            message.wrappedValue = try await work()
        } catch {
            message.wrappedValue = explain(error)
        }
    }
}
