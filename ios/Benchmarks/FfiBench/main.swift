// The cost of crossing the bindings from Swift, per call, measured in one run as
// `android/core/src/bench/kotlin/eu/caas/companion/FfiBench.kt` measures Kotlin's: an order
// snapshot read from Swift (a plain call served from the core's memory, the record lifted into
// Swift) beside the emptiest exported call, with the same rounds, timed in the same interleaved
// blocks and given as the median of its blocks. `scripts/bench` runs it in release against the
// platform mock named by `CAAS_BACKEND` and `CAAS_SANDBOX_TOKEN`.
import CaasCore
import CaasKit
import CaasTestSupport
import Foundation

/// Nanoseconds per call of `body`, over `rounds` calls.
func nanosecondsPerCall(_ rounds: Int, _ body: () throws -> Void) rethrows -> Double {
    let elapsed = try ContinuousClock().measure {
        for _ in 0..<rounds { try body() }
    }
    let (seconds, attoseconds) = elapsed.components
    return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(rounds)
}

let sandbox = try Sandbox()
let email = "bench-\(UUID().uuidString.lowercased())@example.com"
let (order, dealer) = try await sandbox.sell(email: email)
try await sandbox.reserve(order: order, dealer: dealer)
try await sandbox.advance(order: order, to: "dispatched_to_locality")
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("caas-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let repository = try await CaasRepository.open(
    backendURL: URL(string: sandbox.url)!, dataDirectory: directory, secrets: MemorySecretStore())
try await repository.requestSignInCode(email: email)
try await repository.signIn(email: email, code: try await sandbox.signInCode(email: email))
try await repository.sync()
let events = try repository.orderSnapshot(id: order).summary.version

let rounds = 5_000
let blocks = 10
// Warm both paths alike before measuring.
let warmUp = 20_000
for _ in 0..<warmUp { _ = coreVersion() }
for _ in 0..<warmUp { _ = try repository.orderSnapshot(id: order) }
var emptyBlocks: [Double] = []
var snapshotBlocks: [Double] = []
for _ in 0..<blocks {
    emptyBlocks.append(nanosecondsPerCall(rounds * 4 / blocks) { _ = coreVersion() })
    snapshotBlocks.append(try nanosecondsPerCall(rounds / blocks) { _ = try repository.orderSnapshot(id: order) })
}
let empty = emptyBlocks.sorted()[blocks / 2]
let snapshot = snapshotBlocks.sorted()[blocks / 2]
print("FFI from Swift (\(rounds * 4) empty calls, \(rounds) snapshot reads of an order with \(events) events, median of \(blocks) blocks)")
print(String(format: "  empty exported call (coreVersion)   %8.2f µs", empty / 1000))
print(String(format: "  order snapshot (sync, memory)        %8.2f µs   ratio %.1fx", snapshot / 1000, snapshot / empty))
