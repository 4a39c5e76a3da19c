import CaasViewModels
import SwiftUI

/// Sign-in, then the customer's cars or the driver's deliveries, as the app model says.
struct RootView: View {
    let model: AppModel

    var body: some View {
        switch model.screen {
        case .starting:
            ProgressView()
        case .unavailable(let problem):
            ContentUnavailableView {
                Label("The app could not start", systemImage: "exclamationmark.triangle")
            } description: {
                Text(problem.message)
            } actions: {
                Button("Try again") { Task { await model.start() } }
            }
        case .signIn(let signIn):
            NavigationStack { SignInView(model: signIn) }
        case .customer(let orders):
            OrdersView(model: orders)
        case .driver(let driver):
            NavigationStack { DriverView(model: driver) }
        }
    }
}
