import CaasCore
import CaasKit
import SwiftUI

/// The purchase record (*expediente de compra*): the timeline, the factory's estimates marked as
/// estimates, what is due, the delivery, the phone keys, and the actions the state allows.
struct OrderView: View {
    let repository: CaasRepository
    let orderID: UUID
    @State private var order: OrderDetail?

    var body: some View {
        List {
            if let order {
                Section {
                    Text("Now: \(orderStateWireName(state: order.summary.state).replacingOccurrences(of: "_", with: " "))")
                    if let blocker = order.summary.blocker {
                        Text("Waiting: \(blocker.reason)")
                        if let fix = blocker.fix { Text("Next step: \(fix)") }
                    }
                    if let completion = order.summary.completion {
                        Text(completion.confirmed ? "Ready on \(day(completion.date))" : "Estimated completion \(day(completion.date)): the factory's estimate, not a promise")
                    }
                    if let due = order.finalPayment {
                        if let paid = due.paidAt {
                            Text("Paid \(format(due.amountDue)) on \(paid.formatted(date: .abbreviated, time: .omitted))")
                        } else {
                            Text("\(format(due.amountDue)) due before \(due.deadline.formatted()) ") + Text(due.deadline, style: .relative)
                        }
                    }
                    if let registration = order.registration { Text("Plate \(registration.plate)") }
                }
                if !order.actions.isEmpty {
                    Section("What you can do") {
                        ForEach(order.actions, id: \.self) { action in
                            switch action {
                            case .payFinalAmount: NavigationLink("Pay the amount due") { PaymentView(repository: repository, orderID: orderID) }
                            case .manageDelivery: NavigationLink("Delivery time and address") { DeliveryView(repository: repository, orderID: orderID) }
                            case .showHandoverCode: NavigationLink("Show my handover code") { HandoverCodeView(repository: repository, orderID: orderID) }
                            case .pairVehicle: NavigationLink("Pair my phone with the car") { PairingView(repository: repository, orderID: orderID) }
                            }
                        }
                    }
                }
                if let delivery = order.delivery {
                    Section("Delivery") {
                        Text("\(delivery.company.name): \(window(delivery.window))")
                        if let pickup = delivery.pickup { Text("Collect it at \(pickup.dealership), \(pickup.address) (\(pickup.openingHours))") }
                        if let handover = delivery.handover { Text("Handed over \(handover.at.formatted()) by \(handover.by)") }
                    }
                }
                if !order.phoneKeys.isEmpty {
                    Section("Phone keys") {
                        ForEach(order.phoneKeys, id: \.grantId) { key in
                            Text("Issued \(key.issuedAt.formatted(date: .abbreviated, time: .omitted)), valid until \(key.notAfter.formatted(date: .abbreviated, time: .omitted)): " +
                                 (key.revoked ? "revoked" : key.linkedAt.map { "linked \($0.formatted())" } ?? "not used yet"))
                        }
                    }
                }
                Section("Timeline") {
                    ForEach(order.timeline, id: \.version) { entry in
                        LabeledContent(orderStateWireName(state: entry.state).replacingOccurrences(of: "_", with: " "), value: entry.at.formatted())
                    }
                    ForEach(order.unknownUpdates, id: \.version) { update in
                        LabeledContent("An update this version of the app cannot show. Update the app to see it.",
                                       value: update.at.formatted())
                    }
                }
                if !order.estimateRevisions.isEmpty {
                    Section("The factory's estimates") {
                        ForEach(order.estimateRevisions, id: \.version) { Text("\(day($0.date)): \($0.reason)") }
                    }
                }
            } else {
                ProgressView()
            }
        }
        .navigationTitle(order?.summary.basePlatform ?? "Order")
        .task {
            let stream = repository.order(id: orderID)
            for await detail in stream { order = detail }
        }
    }
}

/// Money in the customer's locale.
func format(_ money: Money) -> String {
    (Decimal(money.amountMinor) / 100).formatted(.currency(code: money.currency))
}

/// A calendar day (a completion date) in the phone's locale.
func day(_ date: DateComponents) -> String {
    Calendar(identifier: .gregorian).date(from: date)?.formatted(date: .abbreviated, time: .omitted) ?? ""
}

func window(_ window: DeliveryWindow) -> String {
    "\(window.start.formatted(date: .abbreviated, time: .shortened))–\(window.end.formatted(date: .omitted, time: .shortened))"
}
