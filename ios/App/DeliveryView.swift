import CaasCore
import CaasKit
import SwiftUI

/// The delivery: confirm or correct the address, and move the window to one the transport company
/// still has room in (not within 24 hours of the slot, a limited number of times).
struct DeliveryView: View {
    let repository: CaasRepository
    let orderID: UUID
    @State private var order: OrderDetail?
    @State private var slots: [DeliverySlot] = []
    @State private var address = ""
    @State private var message: String?

    var body: some View {
        Form {
            if let delivery = order?.delivery {
                Section {
                    Text("\(delivery.company.name), \(window(delivery.window))")
                    Text("You can move it \(delivery.changesLeft) more time(s).")
                }
                Section("Address") {
                    TextField("Delivery address", text: $address)
                    Button(delivery.addressConfirmed ? "Update the address" : "Confirm the address") {
                        attempt($message) {
                            try await repository.confirmDeliveryAddress(orderID: orderID, address: address.isEmpty ? nil : address)
                            return "Address confirmed."
                        }
                    }
                }
                Section("Move the delivery") {
                    ForEach(slots.filter { $0.window != delivery.window }, id: \.window.start) { slot in
                        Button("\(window(slot.window)) (\(slot.free) free)") {
                            attempt($message) {
                                try await repository.chooseDeliveryWindow(orderID: orderID, start: slot.window.start)
                                return "Delivery moved."
                            }
                        }
                        .disabled(delivery.changesLeft == 0)
                    }
                }
            }
            if let message { Text(message) }
        }
        .navigationTitle("Delivery")
        .task {
            attempt($message) {
                slots = try await repository.deliverySlots(orderID: orderID)
                return nil
            }
        }
        .task {
            let stream = repository.order(id: orderID)
            for await detail in stream {
                if order == nil, let current = detail.delivery?.address { address = current }
                order = detail
            }
        }
    }
}
