import CaasCore
import CaasViewModels
import SwiftUI
import UniformTypeIdentifiers

/// The purchase record (*expediente de compra*): the timeline, the factory's estimates marked as
/// estimates, what is due, the delivery, the phone keys, and the actions the state allows.
struct OrderView: View {
    @State private var model: OrderModel

    init(model: OrderModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            if let order = model.order {
                Section {
                    Text("Now: \(order.summary.state.label)")
                    if let blocker = order.summary.blocker {
                        Text("Waiting: \(blocker.reason)")
                        if let fix = blocker.fix { Text("Next step: \(fix)") }
                    }
                    if let completion = order.summary.completion {
                        if completion.confirmed {
                            Text("Ready on \(day(completion.date))")
                        } else {
                            Text("Estimated completion \(day(completion.date)): the factory's estimate, not a promise")
                        }
                    }
                    if let due = order.finalPayment {
                        if let paid = due.paidAt {
                            Text("Paid \(format(due.amountDue)) on \(paid.formatted(date: .abbreviated, time: .omitted))")
                        } else {
                            Text("\(format(due.amountDue)) due before \(due.deadline.formatted())") + Text(verbatim: " ") + Text(due.deadline, style: .relative)
                        }
                    }
                    if let registration = order.registration { Text("Plate \(registration.plate)") }
                }
                if !model.actions.isEmpty {
                    Section("What you can do") {
                        ForEach(model.actions, id: \.self) { action in
                            switch action {
                            case .payFinalAmount: NavigationLink("Pay the amount due") { PaymentView(model: model.payment()) }
                            case .manageDelivery: NavigationLink("Delivery time and address") { DeliveryView(model: model.delivery()) }
                            case .showHandoverCode: NavigationLink("Show my handover code") { HandoverCodeView(model: model.handoverCode()) }
                            case .pairVehicle: NavigationLink("Pair my phone with the car") { PairingView(model: model.pairing()) }
                            case .buyOptions: NavigationLink("Options for your car") { OptionsView(model: model.options()) }
                            case .bookService: NavigationLink("Maintenance and service") { MaintenanceView(model: model.maintenance()) }
                            }
                        }
                    }
                }
                if let delivery = order.delivery {
                    Section("Delivery") {
                        LabeledContent(delivery.company.name, value: window(delivery.window))
                        if let eta = delivery.eta, delivery.arrivedAt == nil, delivery.handover == nil {
                            Text("Expected at your door around \(eta.expectedAt.formatted(date: .omitted, time: .shortened)) (\(Text(eta.reason.name)))")
                        }
                        ForEach(order.arrivalEstimates.dropLast(), id: \.version) { revision in
                            Text("Earlier estimate: \(revision.estimate.expectedAt.formatted(date: .omitted, time: .shortened)) (\(Text(revision.estimate.reason.name)))")
                        }
                        if let incident = delivery.incident {
                            if let note = incident.note {
                                Text("Stopped on the way \(incident.at.formatted()): \(Text(incident.kind.name)) (“\(note)”)")
                            } else {
                                Text("Stopped on the way \(incident.at.formatted()): \(Text(incident.kind.name))")
                            }
                        }
                        if let pickup = delivery.pickup { Text("Collect it at \(pickup.dealership), \(pickup.address) (\(pickup.openingHours))") }
                        if let handover = delivery.handover { Text("Handed over \(handover.at.formatted()) by \(handover.by)") }
                    }
                }
                Section {
                    ShareLink(item: PurchaseRecord(model: model), preview: SharePreview("Purchase record")) {
                        Label("Share the purchase record", systemImage: "square.and.arrow.up")
                    }
                    if let problem = model.problem { Text(problem.message).font(.footnote) }
                }
                if !order.phoneKeys.isEmpty {
                    Section("Phone keys") {
                        ForEach(order.phoneKeys, id: \.grantId) { key in
                            VStack(alignment: .leading) {
                                Text("Issued \(key.issuedAt.formatted(date: .abbreviated, time: .omitted)), valid until \(key.notAfter.formatted(date: .abbreviated, time: .omitted))")
                                Group {
                                    if key.revoked {
                                        Text("Revoked")
                                    } else if let linked = key.linkedAt {
                                        Text("Linked \(linked.formatted())")
                                    } else {
                                        Text("Not used yet")
                                    }
                                }
                                .font(.caption).foregroundStyle(.secondary)
                            }
                        }
                    }
                }
                Section("Timeline") {
                    ForEach(order.timeline, id: \.version) { entry in
                        LabeledContent(entry.state.label, value: entry.at.formatted())
                    }
                    ForEach(order.unknownUpdates, id: \.version) { update in
                        LabeledContent {
                            Text(update.at.formatted())
                        } label: {
                            Text("An update this version of the app cannot show. Update the app to see it.")
                        }
                    }
                }
                if !order.estimateRevisions.isEmpty {
                    Section("The factory's estimates") {
                        ForEach(order.estimateRevisions, id: \.version) { revision in
                            LabeledContent(day(revision.date), value: revision.reason)
                        }
                    }
                }
            } else {
                ProgressView()
            }
        }
        .navigationTitle(model.order?.summary.basePlatform ?? "")
        .task { await model.run() }
    }
}

/// The purchase record as the share sheet takes it: a JSON document, signed by the platform,
/// exported only when the customer picks where it goes.
struct PurchaseRecord: Transferable {
    let model: OrderModel

    static var transferRepresentation: some TransferRepresentation {
        DataRepresentation(exportedContentType: .json) { record in
            guard let text = await record.model.purchaseRecord() else { throw CocoaError(.fileWriteUnknown) }
            return Data(text.utf8)
        }
        .suggestedFileName("purchase-record.json")
    }
}
