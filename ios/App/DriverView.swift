import CaasCore
import CaasViewModels
import SwiftUI
import VisionKit

/// The driver's deliveries, each with the steps its state allows. Everything works without
/// signal: actions are recorded on the phone and sync, in order, when the connection returns.
struct DriverView: View {
    @Bindable var model: DriverModel

    var body: some View {
        List {
            if let notice = model.notice {
                VStack(alignment: .leading) {
                    ForEach(Array(notice.messages.enumerated()), id: \.offset) { Text($0.element) }
                }
                .font(.footnote)
            }
            ForEach(model.conflicts) { conflict in
                VStack(alignment: .leading) {
                    if let step = conflict.step { Text("Refused: \(Text(step.name))") } else { Text("An action was refused.") }
                    Text(conflict.refusal.message).font(.footnote)
                    Button("Dismiss") { Task { await model.dismiss(conflict) } }.disabled(model.busy)
                }
            }
            ForEach(model.held, id: \.id) { action in
                VStack(alignment: .leading) {
                    Text("Not confirmed: \(Text(action.step.name)) (\(Int(action.waitingBehind)) waiting behind it)")
                    HStack {
                        Button("Retry") { Task { await model.retry(action) } }
                        Button("Discard", role: .destructive) { Task { await model.discard(action) } }
                    }
                    .disabled(model.busy)
                }
            }
            ForEach(model.deliveries, id: \.deliveryId) { delivery in
                Section {
                    Text(verbatim: delivery.customerName)
                    if let address = delivery.address { Text(verbatim: address) } else { Text("Address not confirmed") }
                    Text(verbatim: window(delivery.window))
                    if let eta = delivery.eta {
                        Text("Expected \(eta.expectedAt.formatted(date: .omitted, time: .shortened)) · stops before: \(Int(eta.stopsBefore))")
                    }
                    if delivery.unsyncedActions > 0 {
                        Text("\(Int(delivery.unsyncedActions)) not synced").foregroundStyle(.orange)
                    }
                    ForEach(delivery.steps, id: \.self) { step in
                        steps(step, of: delivery)
                    }
                } header: {
                    Text(verbatim: "\(delivery.model) · \(delivery.plate ?? delivery.vin)")
                }
            }
        }
        .navigationTitle("Deliveries")
        .toolbar {
            Button("Sync") { Task { await model.sync() } }.disabled(model.busy)
        }
        .refreshable { await model.refresh() }
        .task { await model.run() }
        .sheet(item: $model.scanning) { _ in
            CodeScanner { text in Task { await model.scanned(text) } }
        }
        .confirmationDialog("Nobody home: call the customer", isPresented: $model.isAskingAboutAbsence) {
            Button("Agreed: same time tomorrow") { model.absenceCalled(.rescheduleTomorrow) }
            Button("No answer") { model.absenceCalled(.unreachable) }
            Button("Cannot take it") { model.absenceCalled(.cannotAccept) }
        } message: {
            Text("The car is never left at the address.")
        }
        .alert("What stops the trip?", isPresented: $model.isAskingAboutIncident) {
            TextField("What happened (optional)", text: $model.incidentNote)
            ForEach([IncidentKind.breakdown, .damage, .roadClosed], id: \.self) { kind in
                Button(kind.name) { model.incidentReported(kind) }
            }
            Button("Cancel", role: .cancel) {}
        } message: {
            Text("The car goes back to the dealership with you; it is never left on the road. The customer is told at once.")
        }
    }

    @ViewBuilder
    private func steps(_ step: DriverStep, of delivery: AssignedDelivery) -> some View {
        switch step {
        case .embark:
            Button("Load (scan the VIN)") { model.scan(.vin, for: delivery) }
        case .arrive:
            Button("Arrived") { Task { await model.arrive(delivery) } }.disabled(model.busy)
        case .updateArrival:
            Menu("Running late") {
                ForEach([EtaReason.traffic, .weather, .longerStop], id: \.self) { reason in
                    Menu(reason.name) {
                        ForEach(DriverModel.delays, id: \.self) { minutes in
                            Button("+\(minutes) min") { Task { await model.reportDelay(minutes: minutes, reason: reason) } }
                        }
                    }
                }
            }
            .disabled(model.busy)
        case .reportIncident:
            Button("Incident on the way") { model.reportIncident(at: delivery) }
        case .reportAbsent:
            Button("Nobody home") { model.reportAbsence(at: delivery) }
        case .confirmHandover:
            Button("Hand over (scan the code)") { model.scan(.handoverCode, for: delivery) }
            HStack {
                TextField("Or the 8 digits", text: $model.typedCode).keyboardType(.numberPad)
                Button("Check") { Task { await model.checkTypedCode(for: delivery) } }.disabled(!model.canCheckTypedCode)
            }
        }
    }
}

/// A QR and text scanner (VisionKit): the handover code, or the VIN on the windscreen. The camera
/// needs `NSCameraUsageDescription`.
struct CodeScanner: UIViewControllerRepresentable {
    let found: (String) -> Void

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let scanner = DataScannerViewController(recognizedDataTypes: [.barcode(symbologies: [.qr, .code39, .dataMatrix]), .text()])
        scanner.delegate = context.coordinator
        try? scanner.startScanning()
        return scanner
    }

    func updateUIViewController(_ controller: DataScannerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(found: found) }

    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        let found: (String) -> Void
        init(found: @escaping (String) -> Void) { self.found = found }

        func dataScanner(_ scanner: DataScannerViewController, didTapOn item: RecognizedItem) {
            switch item {
            case .barcode(let code): if let text = code.payloadStringValue { found(text) }
            case .text(let text): found(text.transcript.replacingOccurrences(of: " ", with: ""))
            @unknown default: break
            }
        }
    }
}
