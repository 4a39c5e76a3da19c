package eu.caas.companion.presentation

import eu.caas.companion.ReadingProgress
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.LinkReport
import eu.caas.companion.core.LinkUse
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.ServiceVisit
import eu.caas.companion.core.VehicleReading
import eu.caas.companion.core.VehicleStatus
import eu.caas.companion.core.WarningCode
import java.time.Instant
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.UnconfinedTestDispatcher
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class MaintenanceViewModelTest : ViewModelTest() {
    private val order = UUID.randomUUID()
    private val slots = listOf(serviceSlot(0), serviceSlot(1), serviceSlot(2, free = 1u))

    /** The view model with its screen open: the maintenance followed as the order changes. */
    private fun TestScope.opened(customer: FakeCustomer): MaintenanceViewModel {
        val model = MaintenanceViewModel(customer, order)
        backgroundScope.launch(UnconfinedTestDispatcher(testScheduler)) { model.maintenance.collect {} }
        return model
    }

    /** A customer whose bookings show on the order, as the core shows them once the platform took them. */
    private fun bookingCustomer() = FakeCustomer(isSignedIn = true).apply {
        detail = operationalOrder(order)
        onServiceSlots = { slots }
        onBookService = { start ->
            val slot = slots.single { it.start == start }
            val left = detail?.maintenance?.booking?.let { it.changesLeft - 1u } ?: 3u
            detail = detail?.let { it.copy(maintenance = it.maintenance?.copy(booking = serviceBooking(slot, left))) }
        }
        onCancelService = { detail = detail?.let { it.copy(maintenance = it.maintenance?.copy(booking = null)) } }
    }

    @Test
    fun `the maintenance shows from the order without signal, and the slots only once asked for`() = test {
        val visit = ServiceVisit(Instant.parse("2026-03-19T10:00:00Z"), 19_300u, "first service")
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order, maintenance = carMaintenance(19_312u, listOf(WarningCode.BRAKE_WEAR), visits = listOf(visit)))
            onServiceSlots = { throw CaasException.Offline("no signal") }
        }
        val model = opened(customer)
        advanceUntilIdle()
        val shown = model.maintenance.value
        assertEquals(19_312u, shown?.odometerKm)
        assertEquals(listOf(WarningCode.BRAKE_WEAR), shown?.warnings)
        assertEquals(39_300u, shown?.nextService?.dueKm)
        assertEquals(listOf(visit), shown?.visits)
        assertNull(model.slots.value, "nothing fetched until the customer books")
        assertNull(model.status.notice.value)

        model.loadSlots()
        advanceUntilIdle()
        assertNull(model.slots.value)
        assertEquals(Notice.Offline, model.status.notice.value)

        customer.onServiceSlots = { slots }
        model.loadSlots()
        advanceUntilIdle()
        assertEquals(slots, model.slots.value)
    }

    @Test
    fun `a slot is booked, then moved, then the booking cancelled, each told as such`() = test {
        val customer = bookingCustomer()
        val model = opened(customer)
        model.loadSlots()
        advanceUntilIdle()

        model.book(slots[0].start)
        advanceUntilIdle()
        assertEquals(Notice.ServiceBooked, model.status.notice.value)
        assertEquals(serviceBooking(slots[0], 3u), model.maintenance.value?.booking)
        assertNull(model.slots.value, "the choice is made: the list closes")

        model.loadSlots()
        advanceUntilIdle()
        model.book(slots[1].start)
        advanceUntilIdle()
        assertEquals(Notice.ServiceMoved, model.status.notice.value)
        assertEquals(serviceBooking(slots[1], 2u), model.maintenance.value?.booking)

        model.cancelBooking()
        advanceUntilIdle()
        assertEquals(Notice.ServiceCancelled, model.status.notice.value)
        assertNull(model.maintenance.value?.booking)
        assertEquals(listOf(slots[0].start, slots[1].start), customer.bookedServices)
        assertEquals(1, customer.cancelledServices)
    }

    @Test
    fun `the workshop's rules are told in words, and a slot just taken leaves the list`() = test {
        val customer = bookingCustomer()
        val model = opened(customer)
        model.loadSlots()
        advanceUntilIdle()

        val taken = slots[2]
        customer.onServiceSlots = { slots - taken }
        customer.onBookService = { throw CaasException.Rejected("slot_unavailable", "that slot is not offered or has just been taken") }
        model.book(taken.start)
        advanceUntilIdle()
        assertEquals(Notice.ChangeRefused(ChangeRefusal.SLOT_UNAVAILABLE), model.status.notice.value)
        assertEquals(slots - taken, model.slots.value)

        customer.onBookService = { throw CaasException.Rejected("change_limit_reached", "moved three times already") }
        model.book(slots[0].start)
        advanceUntilIdle()
        assertEquals(Notice.ChangeRefused(ChangeRefusal.CHANGE_LIMIT_REACHED), model.status.notice.value)

        customer.onCancelService = { throw CaasException.Rejected("change_too_late", "the service starts within 24 hours") }
        model.cancelBooking()
        advanceUntilIdle()
        assertEquals(Notice.ChangeRefused(ChangeRefusal.CHANGE_TOO_LATE), model.status.notice.value)

        // A rule this app does not name keeps the platform's words.
        customer.onCancelService = { throw CaasException.Rejected("illegal_transition", "no service is booked") }
        model.cancelBooking()
        advanceUntilIdle()
        assertEquals(Notice.Refused("no service is booked"), model.status.notice.value)
        assertEquals(emptyList(), customer.bookedServices)
    }

    @Test
    fun `reading the car nearby shows each step, then the odometer, the warnings and whether the platform knows`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order)
            reading = flow {
                emit(ReadingProgress.Step(PairingStep.SCANNING))
                emit(ReadingProgress.Step(PairingStep.CONNECTING))
                emit(ReadingProgress.Step(PairingStep.AUTHENTICATING))
                emit(ReadingProgress.Done(carReading(512u, listOf(WarningCode.TYRE_PRESSURE), reported = false)))
            }
        }
        val model = opened(customer)
        val seen = mutableListOf<ReadingUi>()
        backgroundScope.launch(UnconfinedTestDispatcher(testScheduler)) { model.reading.toList(seen) }
        model.read(NoRadio)
        advanceUntilIdle()
        assertEquals(
            listOf(
                ReadingUi.Idle,
                ReadingUi.Working(PairingStep.SCANNING),
                ReadingUi.Working(PairingStep.CONNECTING),
                ReadingUi.Working(PairingStep.AUTHENTICATING),
                ReadingUi.Done(512, listOf(WarningCode.TYRE_PRESSURE), reported = false),
            ),
            seen,
        )
    }

    @Test
    fun `a failed link and a cancelled reading each read as such`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order)
            reading = flow { throw CaasException.Pairing(PairingFailure.CAR_NOT_FOUND, "no car in range") }
        }
        val model = opened(customer)
        model.read(NoRadio)
        advanceUntilIdle()
        assertEquals(ReadingUi.Failed(Notice.PairingFailed(PairingFailure.CAR_NOT_FOUND)), model.reading.value)

        customer.reading = flow { throw CaasException.Cancelled() }
        model.read(NoRadio)
        advanceUntilIdle()
        assertEquals(ReadingUi.Idle, model.reading.value, "the person closed the Bluetooth prompt: nothing to tell")

        customer.reading = flow {
            emit(ReadingProgress.Step(PairingStep.SCANNING))
            awaitCancellation()
        }
        model.read(NoRadio)
        advanceUntilIdle()
        assertEquals(ReadingUi.Working(PairingStep.SCANNING), model.reading.value)
        model.read(NoRadio)
        advanceUntilIdle()
        assertEquals(ReadingUi.Working(PairingStep.SCANNING), model.reading.value, "one reading at a time")
        model.cancelReading()
        advanceUntilIdle()
        assertEquals(ReadingUi.Idle, model.reading.value)
    }

    private fun carReading(km: UInt, warnings: List<WarningCode>, reported: Boolean): VehicleReading {
        val use = LinkUse(2u, 120u, 240u, null)
        return VehicleReading(
            VehicleStatus(km, 81u, true, true), km, warnings, Instant.parse("2026-03-20T12:00:00Z"), reported,
            LinkReport(185u, use, use),
        )
    }
}
