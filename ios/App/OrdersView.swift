import CaasCore
import CaasViewModels
import SwiftUI

/// The customer's cars: the cached list at once, synced on open and on pull (the spinner stays
/// until the sync is over); a notification's link opens its order.
struct OrdersView: View {
    @Bindable var model: OrdersModel

    var body: some View {
        NavigationStack(path: $model.path) {
            List(model.orders, id: \.id) { order in
                NavigationLink(value: order.id) {
                    VStack(alignment: .leading) {
                        Text(verbatim: order.basePlatform).font(.headline)
                        Text(verbatim: "\(order.state.label) · \(order.dealership)").font(.subheadline)
                        if let completion = order.completion {
                            Group {
                                if completion.confirmed {
                                    Text("Ready \(day(completion.date))")
                                } else {
                                    Text("Estimated \(day(completion.date)) (the factory's estimate)")
                                }
                            }
                            .font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
            }
            .overlay {
                if model.loaded && model.orders.isEmpty { ContentUnavailableView("No orders yet", systemImage: "car") }
            }
            .navigationTitle("Your cars")
            .navigationDestination(for: UUID.self) { OrderView(model: model.model(for: $0)) }
            .safeAreaInset(edge: .bottom) {
                if let problem = model.problem { Text(problem.message).font(.footnote).padding() }
            }
            .refreshable { await model.refresh() }
            .task { await model.run() }
        }
    }
}
