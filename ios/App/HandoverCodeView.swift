import CaasKit
import CoreImage.CIFilterBuiltins
import SwiftUI

/// The code the driver or the dealership checks before handing the car over: a QR code and eight
/// digits to read out. The code is a short-lived credential; it is drawn, never stored. While the
/// screen is up the phone signs it again every half minute, its word for when the driver checked.
struct HandoverCodeView: View {
    let repository: CaasRepository
    let orderID: UUID
    @State private var code: CustomerHandoverCode?
    @State private var message: String?
    /// Bumped by "New code": restarts the live code with a fresh one.
    @State private var generation = 0

    var body: some View {
        VStack(spacing: 16) {
            if let code {
                if let image = qrImage(code.token) {
                    Image(uiImage: image).interpolation(.none).resizable().scaledToFit().frame(width: 280, height: 280)
                        .accessibilityLabel("Handover QR code")
                }
                Text(code.shortCode.chunked(by: 4)).font(.largeTitle.monospacedDigit())
                Text("Valid until \(code.expiresAt.formatted(date: .omitted, time: .shortened))").foregroundStyle(.secondary)
            }
            Button("New code") { generation += 1 }
            if let message { Text(message) }
        }
        .padding()
        .navigationTitle("Handover code")
        .task(id: generation) { await showLive(fresh: generation > 0) }
    }

    /// Follows the live code until it expires or the screen goes away (the task is cancelled,
    /// and the stream ends with it); a screen that comes back shows the same code.
    private func showLive(fresh: Bool) async {
        message = nil
        do {
            for try await shown in repository.liveHandoverCode(orderID: orderID, fresh: fresh) {
                code = shown
            }
            if !Task.isCancelled {
                code = nil
                message = "The code has expired. Show a new one when the driver is with you."
            }
        } catch {
            code = nil
            message = explain(error)
        }
    }

    private func qrImage(_ text: String) -> UIImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        filter.correctionLevel = "M"
        guard let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 10, y: 10)),
              let cgImage = CIContext().createCGImage(output, from: output.extent) else { return nil }
        return UIImage(cgImage: cgImage)
    }
}

private extension String {
    func chunked(by size: Int) -> String {
        stride(from: 0, to: count, by: size).map { offset in
            let start = index(startIndex, offsetBy: offset)
            return String(self[start..<(index(start, offsetBy: size, limitedBy: endIndex) ?? endIndex)])
        }.joined(separator: " ")
    }
}
