import CaasCore
import CaasViewModels
import SwiftUI

/// Pairing the phone with the delivered car over CoreBluetooth, step by step. The Bluetooth
/// permission is asked on the first pairing, not at launch.
struct PairingView: View {
    @State private var model: PairingModel

    init(model: PairingModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            switch model.stage {
            case .linked(let paired):
                let battery = (Double(paired.status.batteryPercent) / 100).formatted(.percent)
                Label("Linked to \(paired.vin). Battery \(battery).", systemImage: "checkmark.seal")
                if !paired.reported { Text("The platform hears of it as soon as the phone is online.").foregroundStyle(.secondary) }
            case .pairing(let step):
                ProgressView { Text(step.message) }
                Button("Cancel", role: .cancel) { model.cancel() }
            case .ready:
                Text("Stand next to your car with Bluetooth on. The phone checks it is your car before sending anything.")
                Button("Pair") { model.pair() }.buttonStyle(.borderedProminent)
            }
            if let problem = model.problem { Text(problem.message) }
        }
        .padding()
        .navigationTitle("Pair with your car")
        .onDisappear { model.cancel() }
    }
}
