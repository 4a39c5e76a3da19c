import CaasCore
import CaasKit
import SwiftUI
import VisionKit

/// The driver's deliveries, each with the steps its state allows. Everything works without
/// signal: actions are recorded on the phone and sync, in order, when the connection returns.
struct DriverView: View {
    let repository: DriverRepository
    @State private var deliveries: [AssignedDelivery] = []
    @State private var conflicts: [DriverConflict] = []
    @State private var held: [WedgedAction] = []
    @State private var message: String?
    @State private var scanning: (delivery: AssignedDelivery, step: DriverStep)?
    @State private var typedCode = ""
    @State private var absent: AssignedDelivery?

    var body: some View {
        List {
            if let message { Text(message).font(.footnote) }
            ForEach(conflicts, id: \.id) { conflict in
                HStack {
                    Text("Refused: \(conflict.action): \(conflict.reason)")
                    Button("Dismiss") { attempt($message) { try await repository.dismissConflict(id: conflict.id); conflicts = try await repository.conflicts(); return nil } }
                }
            }
            ForEach(held, id: \.id) { action in
                VStack(alignment: .leading) {
                    Text("Not confirmed: \(label(action.step)) (\(action.waitingBehind) waiting behind it)")
                    HStack {
                        Button("Retry") { attempt($message) { try await report(repository.retry(id: action.id)) } }
                        Button("Discard", role: .destructive) {
                            attempt($message) { try await repository.discard(id: action.id); held = try await repository.held(); return nil }
                        }
                    }
                }
            }
            ForEach(deliveries, id: \.deliveryId) { delivery in
                Section("\(delivery.model) · \(delivery.plate ?? delivery.vin)") {
                    Text("\(delivery.customerName), \(delivery.address ?? "address not confirmed")")
                    Text(window(delivery.window))
                    if delivery.unsyncedActions > 0 { Text("\(delivery.unsyncedActions) not synced").foregroundStyle(.orange) }
                    ForEach(delivery.steps, id: \.self) { step in
                        switch step {
                        case .embark: Button("Load (scan the VIN)") { scanning = (delivery, step) }
                        case .arrive: Button("Arrived") { act { try await repository.arrive(deliveryID: delivery.deliveryId) } }
                        case .reportAbsent: Button("Nobody home") { absent = delivery }
                        case .confirmHandover:
                            Button("Hand over (scan the code)") { scanning = (delivery, step) }
                            HStack {
                                TextField("Or the 8 digits", text: $typedCode).keyboardType(.numberPad)
                                Button("Check") { handOver(delivery, typedCode) }.disabled(typedCode.count != 8)
                            }
                        }
                    }
                }
            }
        }
        .navigationTitle("Deliveries")
        .toolbar {
            Button("Sync") { attempt($message) { try await report(repository.sync()) } }
        }
        .refreshable { attempt($message) { "\(try await repository.refresh().count) open deliveries." } }
        .task { for await list in repository.deliveries { deliveries = list } }
        .task {
            attempt($message) {
                // What waits for the driver, also after a restart.
                conflicts = try await repository.conflicts()
                held = try await repository.held()
                return "\(try await repository.refresh().count) open deliveries."
            }
        }
        .sheet(isPresented: Binding(get: { scanning != nil }, set: { if !$0 { scanning = nil } })) {
            CodeScanner { text in
                guard let scan = scanning else { return }
                let (delivery, step) = scan
                scanning = nil
                if step == .embark {
                    act { try await repository.embark(deliveryID: delivery.deliveryId, vin: text) }
                } else {
                    handOver(delivery, text)
                }
            }
        }
        .confirmationDialog("Nobody home: call the customer", isPresented: Binding(get: { absent != nil }, set: { if !$0 { absent = nil } })) {
            if let delivery = absent {
                Button("Agreed: same time tomorrow") {
                    act { try await repository.reportAbsent(deliveryID: delivery.deliveryId, call: .rescheduled(windowStart: delivery.window.start.addingTimeInterval(86_400))) }
                }
                Button("No answer") { act { try await repository.reportAbsent(deliveryID: delivery.deliveryId, call: .unreachable) } }
                Button("Cannot take it") { act { try await repository.reportAbsent(deliveryID: delivery.deliveryId, call: .cannotAccept) } }
            }
        } message: {
            Text("The car is never left at the address.")
        }
    }

    /// Checks the code, then hands the car over only if it checks out.
    private func handOver(_ delivery: AssignedDelivery, _ code: String) {
        attempt($message) {
            let check = try await repository.checkHandoverCode(deliveryID: delivery.deliveryId, code: code)
            let outcome = try await repository.confirmHandover(deliveryID: delivery.deliveryId, code: code)
            typedCode = ""
            return "Code of \(check.customerName): \(describe(outcome))"
        }
    }

    private func act(_ action: @escaping () async throws -> DriverActionOutcome) {
        attempt($message) { describe(try await action()) }
    }

    private func report(_ report: DriverSyncReport) async throws -> String {
        conflicts = try await repository.conflicts()
        held = try await repository.held()
        return "Sent \(report.sent), refused \(report.rejected), waiting \(report.pending), held \(report.held)."
    }

    private func describe(_ outcome: DriverActionOutcome) -> String {
        switch outcome {
        case .synced: return "Recorded."
        case .queued(let pending): return "Recorded on the phone; \(pending) action(s) will sync when there is signal."
        case .wedged:
            Task { held = (try? await repository.held()) ?? held }
            return "Recorded on the phone, but the answer could not be read. Retry it, or discard it, from the list."
        }
    }

    private func label(_ step: DriverStep) -> String {
        switch step {
        case .embark: "loading the car"
        case .arrive: "arrival"
        case .reportAbsent: "nobody home"
        case .confirmHandover: "handover"
        }
    }
}

/// A QR and text scanner (VisionKit): the handover code, or the VIN on the windscreen.
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
