package eu.caas.companion

import eu.caas.companion.core.BleAdvertisement
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.LinkConditions
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.simulatedBleTransport
import java.util.UUID
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test

/**
 * Pairing through the bindings: the simulated link to the mock's cars (the test command passes
 * the mock's car radio in `CAAS_RADIO`), a transport implemented in Kotlin in front of it, as the
 * app's `BluetoothGatt` transport sits, and a JCA device key, as the Keystore one is used.
 */
class PairingTest {
    private val journeys = Journeys()
    private val radio = System.getenv("CAAS_RADIO") ?: error("CAAS_RADIO is not set")

    private fun simulated(mtu: Int = 185) =
        simulatedBleTransport(radio, LinkConditions(mtu.toUShort(), 30u, 0u, null))

    /** A transport of the app's own in front of another: what a native BLE stack looks like to the core. */
    private class CountingTransport(private val inner: BleTransport) : BleTransport {
        val writes = AtomicInteger()
        val largestChunk = AtomicInteger()

        override suspend fun scan(timeoutMs: UInt): List<BleAdvertisement> = inner.scan(timeoutMs)

        override suspend fun connect(peripheralId: String): UShort = inner.connect(peripheralId)

        override suspend fun write(peripheralId: String, chunk: ByteArray) {
            writes.incrementAndGet()
            largestChunk.accumulateAndGet(chunk.size, ::maxOf)
            inner.write(peripheralId, chunk)
        }

        override suspend fun nextIndication(peripheralId: String, timeoutMs: UInt): ByteArray? =
            inner.nextIndication(peripheralId, timeoutMs)

        override suspend fun disconnect(peripheralId: String) = inner.disconnect(peripheralId)
    }

    @Test
    fun `a customer pairs the delivered car and it becomes operational`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                journeys.handOver(customer, order)
                val progress = customer.pairVehicle(order, simulated()).toList()
                val steps = progress.filterIsInstance<PairingProgress.Step>().map { it.step }
                assertEquals(
                    listOf(PairingStep.SCANNING, PairingStep.CONNECTING, PairingStep.AUTHENTICATING, PairingStep.LINKED),
                    steps,
                )
                val paired = assertIs<PairingProgress.Linked>(progress.last()).paired
                assertTrue(paired.reported && paired.status.ownerLinked)
                assertEquals(2u, paired.link.toFirstReply.roundTrips)
                assertEquals(185.toUShort(), paired.link.mtu)

                val operational = withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.OPERATIONAL } }
                assertEquals(paired.grantId, assertNotNull(operational.appLink).grantId)
                assertEquals(listOf(false), operational.phoneKeys.map { it.revoked })
                assertEquals(
                    listOf(CustomerAction.BUY_OPTIONS, CustomerAction.BOOK_SERVICE),
                    operational.actions,
                    "a car in use takes options and is serviced",
                )

                // The owner revokes the key (a lost phone): the order lists it as revoked.
                customer.revokePhoneKey(order, paired.grantId)
                val revoked = withTimeout(15_000) { customer.order(order).first { it.phoneKeys.all { key -> key.revoked } } }
                assertEquals(listOf(paired.grantId), revoked.phoneKeys.map { it.grantId })
                assertFailsWith<CaasException.NotFound> { customer.revokePhoneKey(order, paired.grantId) }
            }
        }
    }

    @Test
    fun `the app's own transport and a JCA key carry the pairing chunk by chunk`() = runBlocking<Unit> {
        val deviceKey = JcaDeviceKey.generate()
        assertEquals(65, deviceKey.publicKey().size)
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore(), deviceKey).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                journeys.handOver(customer, order)
                val transport = CountingTransport(simulated(mtu = 23))
                val paired = assertIs<PairingProgress.Linked>(customer.pairVehicle(order, transport).toList().last()).paired
                assertEquals(23.toUShort(), paired.link.mtu)
                assertTrue(transport.largestChunk.get() <= 20, "chunks fit MTU 23: ${transport.largestChunk.get()}")
                assertTrue(transport.writes.get() > 20, "every message went in many writes: ${transport.writes.get()}")
                withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.OPERATIONAL } }
            }
        }
    }

    @Test
    fun `a new phone becomes a key only right after a sign-in`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val email = "kotlin-${UUID.randomUUID()}@example.com"
            val (order, pushes) = journeys.bookedCar(customer, email)
            pushes.use {
                journeys.handOver(customer, order)
                journeys.sandbox.advanceClock(11 * 60)
                val refused = assertFailsWith<CaasException.Pairing> { customer.preparePairing(order) }
                assertEquals(PairingFailure.CONFIRM_IDENTITY, refused.failure)
                customer.requestSignInCode(email)
                customer.signIn(email, journeys.sandbox.signInCode(email))
                customer.preparePairing(order)
            }
        }
    }

    @Test
    fun `a car not yet handed over cannot be paired`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                val refused = assertFailsWith<CaasException.Pairing> { customer.pairVehicle(order, simulated()).toList() }
                assertEquals(PairingFailure.NOT_DELIVERED, refused.failure)
                val early = assertFailsWith<CaasException.Pairing> { customer.preparePairing(order) }
                assertEquals(PairingFailure.NOT_DELIVERED, early.failure)
            }
        }
    }
}
