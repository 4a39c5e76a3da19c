import CaasCore
import CaasViewModels
import SwiftUI

/// The delivery: confirm or correct the address, and move the window to one the transport company
/// still has room in (not within 24 hours of the slot, a limited number of times).
struct DeliveryView: View {
    @State private var model: DeliveryModel

    init(model: DeliveryModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            if let delivery = model.delivery {
                Section {
                    LabeledContent(delivery.company.name, value: window(delivery.window))
                    Text("You can move it \(Int(delivery.changesLeft)) more times.")
                }
                Section("Address") {
                    TextField("Delivery address", text: $model.address)
                    Button {
                        Task { await model.confirmAddress() }
                    } label: {
                        if delivery.addressConfirmed { Text("Update the address") } else { Text("Confirm the address") }
                    }
                    .disabled(model.busy)
                }
                Section("Move the delivery") {
                    ForEach(model.otherSlots, id: \.window.start) { slot in
                        Button("\(window(slot.window)) (\(Int(slot.free)) free)") { Task { await model.move(to: slot) } }
                            .disabled(!model.canMove)
                    }
                }
            } else {
                ProgressView()
            }
            if let notice = model.notice { Text(notice.message) }
        }
        .navigationTitle("Delivery")
        .task { await model.run() }
    }
}
