import CaasCore
import CaasViewModels
import SwiftUI

/// Options for the delivered car: what it can take and at what price, why an option cannot be
/// bought now, the options bought and where each stands, and handing them to the car from the
/// phone when the car is out of the connected-car network's reach. Names and prices come from the
/// platform in the customer's language; option codes are never shown.
struct OptionsView: View {
    @State private var model: OptionsModel

    init(model: OptionsModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            Section {
                Text("Options switch on when your car receives them: over the connected-car network, or from this phone over Bluetooth when the car is out of coverage (in an underground car park, say). If your car does not confirm an option in time, its price is refunded automatically. Workshop options are fitted at your dealership.")
                    .font(.footnote).foregroundStyle(.secondary)
            }
            if let notice = model.notice {
                Section {
                    ForEach(Array(notice.messages.enumerated()), id: \.offset) { Text($0.element) }
                }
            }
            if !model.purchases.isEmpty {
                Section("Bought for your car") {
                    ForEach(model.purchases, id: \.purchaseId) { purchase in
                        VStack(alignment: .leading) {
                            LabeledContent(purchase.name, value: format(purchase.price))
                            status(of: purchase).font(.caption).foregroundStyle(.secondary)
                        }
                    }
                    activationControls
                }
            }
            Section("Options for your car") {
                if model.catalogue != nil {
                    ForEach(model.offers, id: \.code) { offer in
                        if model.canBuy(offer) {
                            NavigationLink {
                                PaymentView(model: model.checkout(offer)) { LabeledContent(offer.name, value: format(offer.price)) }
                            } label: {
                                row(offer)
                            }
                        } else {
                            row(offer)
                        }
                    }
                } else if model.notice == nil {
                    ProgressView()
                }
            }
        }
        .navigationTitle("Options")
        .refreshable { await model.refresh() }
        // Runs again when the screen comes back from a payment: the catalogue is fetched anew.
        .task { await model.run() }
        .onDisappear { model.cancelActivation() }
    }

    private func row(_ offer: OptionOffer) -> some View {
        VStack(alignment: .leading) {
            LabeledContent(offer.name, value: format(offer.price))
            Group {
                if model.paymentsInFlight.contains(offer.code) {
                    Text("Waiting for your bank: tap to check the payment.")
                } else if let reason = offer.availability.reason {
                    Text(reason)
                }
            }
            .font(.caption).foregroundStyle(.secondary)
        }
    }

    @ViewBuilder
    private func status(of purchase: OptionPurchase) -> some View {
        switch purchase.status {
        case .paid:
            let deadline = purchase.activateBy.formatted(date: .abbreviated, time: .shortened)
            Text("Waiting for your car until \(deadline). If it does not confirm the option by then, the price is refunded automatically.")
        case .activated:
            let since = (purchase.activatedAt ?? purchase.paidAt).formatted(date: .abbreviated, time: .shortened)
            let via = purchase.activatedVia ?? .unknown
            Text("Active since \(since), \(Text(via.name))")
        case .refunded:
            let refunded = (purchase.refundedAt ?? purchase.activateBy).formatted(date: .abbreviated, time: .omitted)
            Text("Your car did not confirm it in time: refunded on \(refunded)")
        case .unknown:
            Text("An update this version of the app cannot show. Update the app to see it.")
        }
    }

    /// Handing the options bought to the car from the phone, for a car the network cannot reach.
    @ViewBuilder
    private var activationControls: some View {
        switch model.activation {
        case .activating(let step):
            ProgressView {
                if let step { Text(step.message) } else { Text("Getting ready…") }
            }
            Button("Cancel", role: .cancel) { model.cancelActivation() }
        case .ready:
            if model.canActivate {
                Button("Activate nearby") { model.activate() }
                Text("Car out of coverage? Stand next to it with Bluetooth on: the phone hands it the options you bought.")
                    .font(.footnote).foregroundStyle(.secondary)
            }
        }
    }
}
