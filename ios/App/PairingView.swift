import CaasCore
import CaasKit
import SwiftUI

/// Pairing the phone with the delivered car over CoreBluetooth, step by step.
struct PairingView: View {
    let repository: CaasRepository
    let orderID: UUID
    @Environment(AppModel.self) private var model
    @State private var step: PairingStep?
    @State private var paired: Paired?
    @State private var message: String?
    @State private var pairing: Task<Void, Never>?

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            if let paired {
                Label("Linked to \(paired.vin). Battery \(paired.status.batteryPercent)%.", systemImage: "checkmark.seal")
                if !paired.reported { Text("The platform hears of it as soon as the phone is online.").foregroundStyle(.secondary) }
            } else if let step {
                ProgressView(describe(step))
                Button("Cancel", role: .cancel) { pairing?.cancel() }
            } else {
                Text("Stand next to your car with Bluetooth on. The phone checks it is your car before sending anything.")
                Button("Pair") { pair() }.buttonStyle(.borderedProminent)
            }
            if let message { Text(message) }
        }
        .padding()
        .navigationTitle("Pair with your car")
        .onDisappear { pairing?.cancel() }
    }

    private func pair() {
        message = nil
        pairing = Task {
            do {
                for try await progress in repository.pairVehicle(orderID: orderID, transport: model.bluetooth) {
                    switch progress {
                    case .step(let current): step = current
                    case .linked(let done): paired = done
                    }
                }
            } catch is CancellationError {
                step = nil
            } catch {
                step = nil
                message = explain(error)
            }
        }
    }

    private func describe(_ step: PairingStep) -> String {
        switch step {
        case .scanning: "Looking for your car…"
        case .connecting: "Connecting…"
        case .authenticating: "Checking the car and presenting your key…"
        case .linked: "Linked."
        }
    }
}
