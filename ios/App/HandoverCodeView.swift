import CaasKit
import CaasViewModels
import CoreImage.CIFilterBuiltins
import SwiftUI

/// The code the driver or the dealership checks before handing the car over: a QR code and eight
/// digits to read out. The code is a short-lived credential; it is drawn, never stored.
struct HandoverCodeView: View {
    @State private var model: HandoverCodeModel

    init(model: HandoverCodeModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        VStack(spacing: 16) {
            if let code = model.code {
                if let image = qrImage(code.token) {
                    Image(uiImage: image).interpolation(.none).resizable().scaledToFit().frame(width: 280, height: 280)
                        .accessibilityLabel(Text("Handover QR code"))
                }
                Text(verbatim: code.shortCode.chunked(by: 4)).font(.largeTitle.monospacedDigit())
                Text("Valid until \(code.expiresAt.formatted(date: .omitted, time: .shortened))").foregroundStyle(.secondary)
            }
            Button("New code") { model.newCode() }
            if let notice = model.notice { Text(notice.message) }
        }
        .padding()
        .navigationTitle("Handover code")
        // Runs again for a new code; cancelled when the screen goes away, which ends the live code.
        .task(id: model.generation) { await model.show() }
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
