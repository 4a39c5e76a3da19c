package eu.caas.companion

import eu.caas.companion.core.coreVersion
import java.nio.file.Files
import java.util.UUID
import kotlin.system.measureNanoTime
import kotlinx.coroutines.runBlocking

/**
 * The cost of crossing the bindings, per call, measured in one run: an order snapshot read from
 * Kotlin (a plain call served from the core's memory, the record lifted into Kotlin) beside the
 * emptiest exported call. The two are timed in interleaved blocks and each given as the median
 * of its blocks, so a burst of load from elsewhere on the machine weighs on both alike.
 * `ios/Benchmarks/FfiBench` measures Swift the same way.
 */
fun main() = runBlocking {
    val sandbox = Sandbox()
    val email = "bench-${UUID.randomUUID()}@example.com"
    val order = sandbox.sell(email)
    sandbox.reserve(order)
    sandbox.advance(order, "dispatched_to_locality")
    val repository = CaasRepository.open(sandbox.url, Files.createTempDirectory("caas-bench").toFile(), MemorySecretStore())
    repository.requestSignInCode(email)
    repository.signIn(email, sandbox.signInCode(email))
    repository.sync()
    val events = repository.orderSnapshot(order).summary.version

    val rounds = 5_000
    val blocks = 10
    // Warm the JIT and both paths alike before measuring: a path still being compiled is slower.
    val warmUp = 20_000
    repeat(warmUp) { coreVersion() }
    repeat(warmUp) { repository.orderSnapshot(order) }
    val emptyBlocks = DoubleArray(blocks)
    val snapshotBlocks = DoubleArray(blocks)
    for (block in 0 until blocks) {
        val calls = rounds * 4 / blocks
        emptyBlocks[block] = measureNanoTime { repeat(calls) { coreVersion() } }.toDouble() / calls
        val reads = rounds / blocks
        snapshotBlocks[block] = measureNanoTime { repeat(reads) { repository.orderSnapshot(order) } }.toDouble() / reads
    }
    val empty = emptyBlocks.sorted()[blocks / 2]
    val snapshot = snapshotBlocks.sorted()[blocks / 2]
    val list = measureNanoTime { repeat(rounds) { repository.orders.value } } / rounds
    println("FFI from Kotlin (${rounds * 4} empty calls, $rounds snapshot reads of an order with $events events, median of $blocks blocks)")
    println("  empty exported call (coreVersion)   %8.2f µs".format(empty / 1000.0))
    println("  order snapshot (sync, memory)        %8.2f µs   ratio %.1fx".format(snapshot / 1000.0, snapshot / empty))
    println("  orders StateFlow value (no FFI)      %8.2f µs".format(list / 1000.0))
    repository.close()
}
