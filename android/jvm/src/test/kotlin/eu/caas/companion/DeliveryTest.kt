package eu.caas.companion

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.HandoverPlace
import eu.caas.companion.core.HandoverRefusal
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.incidentNoteMaxChars
import eu.caas.companion.core.OrderState
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test

class DeliveryTest {
    private val journeys = Journeys()
    private val sandbox = journeys.sandbox

    @Test
    fun `a driver hands the car over to the customer who shows the code`() = runBlocking<Unit> {
        CaasRepository.open(sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                val booked = customer.orderSnapshot(order)
                assertEquals(listOf(CustomerAction.MANAGE_DELIVERY), booked.actions)
                assertEquals(3u, assertNotNull(booked.delivery).changesLeft)
                val slots = customer.deliverySlots(order)
                assertTrue(slots.isNotEmpty() && slots.all { it.free > 0u })
                customer.chooseDeliveryWindow(order, slots[1].window.start)
                customer.confirmDeliveryAddress(order)
                val moved = customer.orderSnapshot(order)
                assertEquals(slots[1].window, assertNotNull(moved.delivery).window)
                assertEquals(2, moved.deliveryWindows.size)

                journeys.driverFor(customer, order, journeys.tempDir()).use { driver ->
                    val job = driver.refresh().single { it.orderId == order }
                    assertEquals(listOf(DriverStep.EMBARK), job.steps)
                    assertEquals(job.deliveryId, withTimeout(5_000) {
                        driver.deliveries.first { list -> list.any { it.orderId == order } }
                    }.single { it.orderId == order }.deliveryId)
                    assertEquals(DriverActionOutcome.Synced, driver.embark(job.deliveryId, job.vin))
                    assertEquals(DriverActionOutcome.Synced, driver.arrive(job.deliveryId))
                    withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.AT_CUSTOMER_ADDRESS } }

                    val code = customer.liveHandoverCode(order).first()
                    assertTrue("token" !in code.toString() && code.shortCode !in code.toString(), "a code never prints")
                    // A screen that comes back (a rotation) shows the same code; "New code" replaces it.
                    val token = { c: CustomerHandoverCode -> c.token.split('.').take(3) }
                    assertEquals(token(code), token(customer.liveHandoverCode(order).first()))
                    val renewed = customer.liveHandoverCode(order, fresh = true).first()
                    assertNotEquals(token(code), token(renewed))
                    // The screen signs the same code again for the moment it shows it.
                    val shown = assertNotNull(customer.presentHandoverCode(order))
                    assertEquals(token(renewed), token(shown))
                    assertEquals(5, shown.token.split('.').size, "the token, the moment, the phone's signature")
                    // One character inside the signature changed: still well-formed, no longer signed.
                    val at = code.token.lastIndexOf('.') + 10
                    val forged = code.token.replaceRange(at, at + 1, if (code.token[at] == 'A') "B" else "A")
                    val refused = assertFailsWith<CaasException.HandoverRefused> { driver.checkHandoverCode(job.deliveryId, forged) }
                    assertEquals(HandoverRefusal.FORGED, refused.refusal)
                    assertEquals("Kotlin Test", driver.checkHandoverCode(job.deliveryId, code.token).customerName)
                    assertEquals(DriverActionOutcome.Synced, driver.confirmHandover(job.deliveryId, shown.token))
                }
                val delivered = withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.DELIVERED } }
                assertEquals(HandoverPlace.CUSTOMER_ADDRESS, delivered.delivery?.handover?.place)
                assertEquals(listOf(CustomerAction.PAIR_VEHICLE, CustomerAction.BUY_OPTIONS), delivered.actions)

                // The customer says the car never reached them: the dispute is on the record, once.
                customer.disputeHandover(order, "nobody came")
                val disputed = withTimeout(15_000) { customer.order(order).first { it.delivery?.dispute != null } }
                assertEquals("nobody came", disputed.delivery?.dispute?.reason)
                assertFailsWith<CaasException.Rejected> { customer.disputeHandover(order, "again") }
            }
        }
    }

    @Test
    fun `a driver without signal keeps working and the dealership hands over a car nobody took`() = runBlocking<Unit> {
        CaasRepository.open(sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                customer.confirmDeliveryAddress(order, "Calle Luna 7, 28004 Madrid")
                val (cab, keychain) = journeys.tempDir() to MemorySecretStore()
                val job = journeys.driverFor(customer, order, cab, keychain).use { driver -> driver.refresh().single { it.orderId == order } }
                assertEquals("Calle Luna 7, 28004 Madrid", job.address)

                DriverRepository.open("http://127.0.0.1:9", cab, keychain).use { offline ->
                    assertEquals(DriverActionOutcome.Queued(1u), offline.embark(job.deliveryId, job.vin))
                    assertEquals(DriverActionOutcome.Queued(2u), offline.arrive(job.deliveryId))
                    assertIs<DriverActionOutcome.Queued>(offline.reportAbsent(job.deliveryId, CallOutcome.Unreachable))
                    val shown = offline.deliveries.first { list -> list.any { it.unsyncedActions == 3u } }
                    assertEquals(OrderState.RETURNED_TO_DEALERSHIP, shown.single { it.orderId == order }.state)
                }
                DriverRepository.open(sandbox.url, cab, keychain).use { online ->
                    val report = online.sync()
                    assertEquals(3u, report.sent)
                    assertEquals(0u, report.pending)
                    assertTrue(online.conflicts().isEmpty())
                }
                withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.RETURNED_TO_DEALERSHIP } }
                sandbox.receiveAtDealership(order)
                val held = withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.HELD_AT_DEALERSHIP } }
                assertTrue(assertNotNull(held.delivery?.pickup).address.isNotBlank())
                assertEquals(listOf(CustomerAction.SHOW_HANDOVER_CODE), held.actions)
                sandbox.handOverAtDealership(order, customer.handoverCode(order).shortCode)
                val delivered = withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.DELIVERED } }
                assertEquals(HandoverPlace.DEALERSHIP, delivered.delivery?.handover?.place)
            }
        }
    }

    @Test
    fun `a car on its way is expected, runs late, and goes back after a breakdown with the customer told why`() = runBlocking<Unit> {
        CaasRepository.open(sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                customer.confirmDeliveryAddress(order)
                journeys.driverFor(customer, order, journeys.tempDir()).use { driver ->
                    val job = driver.refresh().single { it.orderId == order }
                    driver.embark(job.deliveryId, job.vin)
                    val onTheRoad = driver.deliveries.first { list -> list.any { it.orderId == order && it.state == OrderState.IN_TRANSIT } }
                    assertEquals(listOf(DriverStep.ARRIVE, DriverStep.UPDATE_ARRIVAL, DriverStep.REPORT_INCIDENT), onTheRoad.single { it.orderId == order }.steps)
                    val tooLong = assertFailsWith<CaasException.Rejected> {
                        driver.reportIncident(job.deliveryId, IncidentKind.DAMAGE, "x".repeat(incidentNoteMaxChars().toInt() + 1))
                    }
                    assertEquals("invalid_request", tooLong.code)
                    // Set out: the customer's expected arrival; then thirty minutes of traffic, told.
                    val planned = withTimeout(15_000) { customer.order(order).first { it.delivery?.eta != null } }
                    assertEquals(EtaReason.DEPARTURE, planned.delivery?.eta?.reason)
                    val sent = driver.reportDelay(30, EtaReason.TRAFFIC)
                    assertTrue(sent.sent >= 1u && sent.waiting == 0u, "$sent: this car, and any other this driver carries")
                    val late = withTimeout(15_000) { customer.order(order).first { it.arrivalEstimates.size == 2 } }
                    assertEquals(EtaReason.TRAFFIC, late.delivery?.eta?.reason)
                    assertEquals(DriverActionOutcome.Synced, driver.reportIncident(job.deliveryId, IncidentKind.BREAKDOWN, "gearbox"))
                }
                val returned = withTimeout(15_000) { customer.order(order).first { it.summary.state == OrderState.RETURNED_TO_DEALERSHIP } }
                val incident = assertNotNull(returned.delivery?.incident)
                assertEquals(IncidentKind.BREAKDOWN, incident.kind)
                assertEquals("gearbox", incident.note)
                assertTrue(returned.actions.isEmpty(), "nothing to do until the dealership has the car")
            }
        }
    }

    @Test
    fun `an action whose answer cannot be read waits for the driver to retry or discard it`() = runBlocking<Unit> {
        CaasRepository.open(sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.bookedCar(customer, "kotlin-${UUID.randomUUID()}@example.com")
            pushes.use {
                customer.confirmDeliveryAddress(order)
                journeys.driverFor(customer, order, journeys.tempDir()).use { driver ->
                    val job = driver.refresh().single { it.orderId == order }
                    sandbox.answerNextDriverAction(403)
                    val wedged = assertIs<DriverActionOutcome.Wedged>(driver.embark(job.deliveryId, job.vin))
                    val held = driver.held().single()
                    assertEquals(wedged.id, held.id)
                    assertEquals(DriverStep.EMBARK to 0u, held.step to held.waitingBehind)
                    assertEquals(1u, driver.sync().held)
                    assertFailsWith<CaasException.PendingActions> { driver.signOut() }

                    assertEquals(1u, driver.retry(held.id).sent)
                    assertTrue(driver.held().isEmpty())
                    sandbox.answerNextDriverAction(400)
                    val again = assertIs<DriverActionOutcome.Wedged>(driver.arrive(job.deliveryId))
                    driver.discard(again.id)
                    assertTrue(driver.held().isEmpty() && driver.conflicts().isEmpty())
                    // The platform's view again: loaded, not arrived.
                    withTimeout(5_000) {
                        driver.deliveries.first { list ->
                            list.any { it.orderId == order && it.unsyncedActions == 0u && it.state == OrderState.IN_TRANSIT }
                        }
                    }
                }
            }
        }
    }
}
