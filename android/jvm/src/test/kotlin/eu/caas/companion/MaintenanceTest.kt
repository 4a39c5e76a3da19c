package eu.caas.companion

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.LinkConditions
import eu.caas.companion.core.MaintenancePlan
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.WarningCode
import eu.caas.companion.core.simulatedBleTransport
import eu.caas.companion.presentation.ChangeRefusal
import eu.caas.companion.presentation.Notice
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test

/**
 * Maintenance once the car is in use, through the bindings, against the platform mock and its
 * simulated cars: the car's odometer and warnings reported over the connected-car network or read
 * by the phone over BLE (without signal too), workshop slots booked, moved and cancelled, and the
 * workshop's visit on the car's history, the next service counted from it.
 */
class MaintenanceTest {
    private val journeys = Journeys()
    private val radio = System.getenv("CAAS_RADIO") ?: error("CAAS_RADIO is not set")

    private fun simulated() = simulatedBleTransport(radio, LinkConditions(185u, 30u, 0u, null))

    @Test
    fun `the car reports, the customer books, moves and cancels a service, and the visit resets the plan`() = runBlocking<Unit> {
        CaasRepository.open(journeys.sandbox.url, journeys.tempDir(), MemorySecretStore()).use { customer ->
            val (order, pushes) = journeys.operationalCar(customer, "kotlin-${UUID.randomUUID()}@example.com", simulated())
            pushes.use {
                val operational = customer.orderSnapshot(order)
                assertEquals(listOf(CustomerAction.BUY_OPTIONS, CustomerAction.BOOK_SERVICE), operational.actions)
                val vin = assertNotNull(operational.vin)
                val started = assertNotNull(operational.maintenance, "maintenance starts once the car is in use")
                assertEquals(MaintenancePlan(20_000u, 12u), started.plan)
                assertEquals(20_000u, started.nextService.dueKm)
                assertNull(started.booking)
                assertEquals(emptyList(), started.visits)

                // Driven 19,200 km, the car warns about its brakes and reports at once; the push
                // (the service is near, a new warning) brings it to the phone.
                journeys.sandbox.drive(vin, 19_200, listOf(WarningCode.BRAKE_WEAR))
                val reported = withTimeout(20_000) {
                    customer.order(order).first { it.maintenance?.odometerKm == 19_212u }
                }.maintenance!!
                assertEquals(listOf(WarningCode.BRAKE_WEAR), reported.warnings)
                assertNotNull(reported.reportedAt)
                assertEquals(20_000u, reported.nextService.dueKm, "due at 20,000 km: 788 km to go")

                // Next to the car, the phone reads the same odometer and warnings.
                val progress = customer.readVehicle(order, simulated()).toList()
                assertEquals(
                    listOf(PairingStep.SCANNING, PairingStep.CONNECTING, PairingStep.AUTHENTICATING),
                    progress.filterIsInstance<ReadingProgress.Step>().map { it.step },
                )
                val reading = assertIs<ReadingProgress.Done>(progress.last()).reading
                assertEquals(19_212u, reading.odometerKm)
                assertEquals(19_212u, reading.status.odometerKm)
                assertEquals(listOf(WarningCode.BRAKE_WEAR), reading.warnings)
                assertTrue(reading.reported, "online, the car's report reached the platform at once")

                // The workshop's free slots: booked, then moved, then cancelled.
                val slots = customer.serviceSlots(order)
                assertTrue(slots.size >= 2 && slots.all { it.free > 0u }, "free slots: $slots")
                val (first, second) = slots[0] to slots[1]
                customer.bookService(order, first.start)
                val booked = assertNotNull(customer.orderSnapshot(order).maintenance?.booking)
                assertEquals(first.start to first.end, booked.start to booked.end)
                assertEquals(3u, booked.changesLeft)

                customer.bookService(order, second.start)
                val moved = assertNotNull(customer.orderSnapshot(order).maintenance?.booking)
                assertEquals(second.start, moved.start)
                assertEquals(2u, moved.changesLeft, "one move spent")

                // A time the workshop does not offer is refused, in words the app names.
                val refused = assertFailsWith<CaasException.Rejected> { customer.bookService(order, second.start.plusSeconds(1_800)) }
                assertEquals(Notice.ChangeRefused(ChangeRefusal.SLOT_UNAVAILABLE), Notice.of(refused))
                assertEquals(second.start, customer.orderSnapshot(order).maintenance?.booking?.start, "the booking stays")

                customer.cancelService(order)
                assertNull(customer.orderSnapshot(order).maintenance?.booking)

                // The workshop records the first service: on the history, the plan counts from it.
                journeys.sandbox.recordVisit(order, 19_300, "first service")
                val visited = withTimeout(20_000) {
                    customer.order(order).first { it.maintenance?.visits?.isNotEmpty() == true }
                }.maintenance!!
                val visit = visited.visits.single()
                assertEquals(19_300u, visit.odometerKm)
                assertEquals("first service", visit.work)
                assertEquals(39_300u, visited.nextService.dueKm)
                // The odometer stays the car's own signed reading; the workshop's counts the plan.
                assertEquals(19_212u, visited.odometerKm)
                assertNull(visited.booking)
            }
        }
    }

    @Test
    fun `a phone without signal reads the car nearby and the platform hears of it at the next sync`() = runBlocking<Unit> {
        val (dir, secrets) = journeys.tempDir() to MemorySecretStore()
        CaasRepository.open(journeys.sandbox.url, dir, secrets).use { customer ->
            val (order, pushes) = journeys.operationalCar(customer, "kotlin-${UUID.randomUUID()}@example.com", simulated())
            pushes.use {
                val vin = assertNotNull(customer.orderSnapshot(order).vin)
                // Parked underground: the car cannot report by itself.
                journeys.sandbox.setCoverage(vin, connected = false)
                journeys.sandbox.drive(vin, 500, listOf(WarningCode.TYRE_PRESSURE))

                val reading = CaasRepository.open("http://127.0.0.1:9", dir, secrets).use { offline ->
                    val done = assertIs<ReadingProgress.Done>(offline.readVehicle(order, simulated()).toList().last())
                    done.reading
                }
                assertEquals(512u, reading.odometerKm)
                assertEquals(listOf(WarningCode.TYRE_PRESSURE), reading.warnings)
                assertFalse(reading.reported, "no signal: the report waits on the phone")

                customer.sync()
                val read = withTimeout(20_000) { customer.order(order).first { it.maintenance?.odometerKm == 512u } }
                assertEquals(listOf(WarningCode.TYRE_PRESSURE), read.maintenance?.warnings)
            }
        }
    }
}
