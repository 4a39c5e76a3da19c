package eu.caas.companion

import eu.caas.companion.core.coreVersion
import java.nio.file.Files
import java.util.UUID
import kotlin.system.measureNanoTime
import kotlinx.coroutines.runBlocking

/**
 * The cost of crossing the bindings, per call, measured in one run: an order snapshot read from
 * Kotlin (suspend call, cache read, records lifted into Kotlin) beside the emptiest exported call.
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
    // Warm the JIT and both paths before measuring.
    repeat(20_000) { coreVersion() }
    repeat(2_000) { repository.orderSnapshot(order) }
    val empty = measureNanoTime { repeat(rounds * 4) { coreVersion() } } / (rounds * 4)
    val snapshot = measureNanoTime { repeat(rounds) { repository.orderSnapshot(order) } } / rounds
    val list = measureNanoTime { repeat(rounds) { repository.orders.value } } / rounds
    println("FFI from Kotlin (${rounds * 4} empty calls, $rounds snapshot reads of an order with $events events)")
    println("  empty exported call (coreVersion)   %8.2f µs".format(empty / 1000.0))
    println("  order snapshot (suspend, cache)      %8.2f µs   ratio %.1fx".format(snapshot / 1000.0, snapshot.toDouble() / empty))
    println("  orders StateFlow value (no FFI)      %8.2f µs".format(list / 1000.0))
    repository.close()
}
