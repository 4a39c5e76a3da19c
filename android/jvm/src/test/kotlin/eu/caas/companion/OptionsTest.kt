package eu.caas.companion

import eu.caas.companion.core.ActivationChannel
import eu.caas.companion.core.Availability
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.LinkConditions
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PaymentRefusal
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.core.simulatedBleTransport
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test

/**
 * Options after delivery through the bindings, against the platform mock and its simulated cars:
 * bought by card, then switched on by the car over the connected-car network, or, for a car the
 * network cannot reach, handed to it over BLE by the phone.
 */
class OptionsTest {
    private val journeys = Journeys()
    private val radio = System.getenv("CAAS_RADIO") ?: error("CAAS_RADIO is not set")
    private val card = PaymentCard("4242424242424242", 12, 2034, "123")

    private fun simulated() = simulatedBleTransport(radio, LinkConditions(185u, 30u, 0u, null))

    @Test
    fun `an option bought for a car without signal is handed to it over Bluetooth`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.operationalCar(customer, "kotlin-${UUID.randomUUID()}@example.com", simulated())
            pushes.use {
                val operational = customer.orderSnapshot(order)
                assertEquals(listOf(CustomerAction.BUY_OPTIONS, CustomerAction.BOOK_SERVICE), operational.actions)
                val vin = assertNotNull(operational.vin)

                val offers = customer.optionCatalogue(order).offers.associateBy { it.code }
                val seats = offers.getValue("heated-seats")
                assertEquals(Availability.Available, seats.availability)
                assertEquals(OptionKind.SOFTWARE, seats.kind)
                assertEquals(30_000L, seats.price.amountMinor)
                assertEquals("Asientos calefactados", seats.name, "named in the customer's language")
                assertEquals(Availability.NeedsWorkshop, offers.getValue("roof-rails").availability)
                assertEquals(Availability.Requires("long-range-battery"), offers.getValue("performance-boost").availability)

                // Parked underground: the connected-car network cannot reach the car.
                journeys.sandbox.setCoverage(vin, connected = false)
                assertIs<PaymentProgress.Succeeded>(customer.buyOption(order, seats, card))
                val waiting = withTimeout(15_000) { customer.order(order).first { it.options.isNotEmpty() } }
                val paid = waiting.options.single()
                assertEquals("heated-seats", paid.option)
                assertEquals(PurchaseStatus.PAID, paid.status)
                assertTrue(paid.activateBy.isAfter(paid.paidAt), "the car has until ${paid.activateBy} to confirm it")
                assertNull(paid.activatedAt)
                // The platform tries the network every two seconds: past one try, still nothing on the car.
                delay(3_000)
                assertEquals(emptyList(), journeys.sandbox.vehicleOptions(vin), "nothing reached the car over the network")

                // Bought once: the same option again is refused before any charge.
                val again = assertFailsWith<CaasException.PaymentRefused> { customer.buyOption(order, seats, card) }
                assertEquals(PaymentRefusal.OPTION_UNAVAILABLE, again.refusal)

                // Next to the car, the phone hands the entitlement over.
                val progress = customer.activateOptions(order, simulated()).toList()
                assertEquals(
                    listOf(PairingStep.SCANNING, PairingStep.CONNECTING, PairingStep.AUTHENTICATING),
                    progress.filterIsInstance<ActivationProgress.Step>().map { it.step },
                )
                val done = assertIs<ActivationProgress.Done>(progress.last()).activation
                assertEquals(listOf("heated-seats"), done.activated)
                assertEquals(emptyList(), done.refused)
                assertNotNull(done.status)
                assertEquals(listOf("heated-seats"), done.carOptions, "the car lists it")
                assertTrue(done.reported, "online, the car's receipt reached the platform at once")
                assertEquals(listOf("heated-seats"), journeys.sandbox.vehicleOptions(vin))

                val active = withTimeout(15_000) {
                    customer.order(order).first { it.options.single().status == PurchaseStatus.ACTIVATED }
                }.options.single()
                assertEquals(ActivationChannel.BLUETOOTH, active.activatedVia)
                assertNotNull(active.activatedAt)
                assertNull(active.entitlement, "an active option carries no entitlement")

                // Nothing waits for the car any more, and the catalogue has it on the car.
                val nothing = assertIs<ActivationProgress.Done>(customer.activateOptions(order, simulated()).toList().last())
                assertNull(nothing.activation.status)
                assertEquals(emptyList(), nothing.activation.activated)
                val installed = customer.optionCatalogue(order).offers.single { it.code == "heated-seats" }
                assertEquals(Availability.Installed, installed.availability)
            }
        }
    }

    @Test
    fun `a car in coverage switches a bought option on without the phone`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.operationalCar(customer, "kotlin-${UUID.randomUUID()}@example.com", simulated())
            pushes.use {
                val vin = assertNotNull(customer.orderSnapshot(order).vin)
                val navigation = customer.optionCatalogue(order).offers.single { it.code == "connected-navigation" }
                assertIs<PaymentProgress.Succeeded>(customer.buyOption(order, navigation, card))
                // The platform sends it every two seconds to a car in reach; the push brings the receipt.
                val active = withTimeout(20_000) {
                    customer.order(order).first { detail -> detail.options.any { it.status == PurchaseStatus.ACTIVATED } }
                }.options.single()
                assertEquals("connected-navigation", active.option)
                assertEquals(ActivationChannel.CONNECTED_CAR, active.activatedVia)
                assertEquals(listOf("connected-navigation"), journeys.sandbox.vehicleOptions(vin))
                assertEquals(emptyList(), customer.orderSnapshot(order).optionPaymentsInFlight, "no payment left to resume")
            }
        }
    }
}
