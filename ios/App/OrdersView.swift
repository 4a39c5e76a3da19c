import CaasCore
import CaasKit
import SwiftUI

/// The customer's cars: the cached list at once, synced on open and on pull.
struct OrdersView: View {
    let repository: CaasRepository
    @State private var orders: [OrderSummary] = []
    @State private var message: String?

    var body: some View {
        List(orders, id: \.id) { order in
            NavigationLink(value: order.id) {
                VStack(alignment: .leading) {
                    Text(order.basePlatform).font(.headline)
                    Text("\(orderStateWireName(state: order.state).replacingOccurrences(of: "_", with: " ")) · \(order.dealership)")
                        .font(.subheadline)
                    if let completion = order.completion {
                        Text(completion.confirmed ? "Ready \(day(completion.date))" : "Estimated \(day(completion.date)) (the factory's estimate)")
                            .font(.caption).foregroundStyle(.secondary)
                    }
                }
            }
        }
        .overlay { if orders.isEmpty { ContentUnavailableView("No orders yet", systemImage: "car") } }
        .navigationTitle("Your cars")
        .safeAreaInset(edge: .bottom) { if let message { Text(message).font(.footnote).padding() } }
        .refreshable { await sync() }
        .task { await sync() }
        .task { for await list in repository.orders { orders = list } }
    }

    private func sync() async {
        do {
            try await repository.sync()
            message = nil
        } catch {
            message = explain(error)
        }
    }
}
