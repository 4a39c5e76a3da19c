package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CustomerService
import eu.caas.companion.ReadingProgress
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.MaintenanceView
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.ServiceSlot
import eu.caas.companion.core.WarningCode
import java.time.Instant
import java.util.UUID
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch

/** What the "read the car nearby" part of the maintenance screen shows. */
sealed interface ReadingUi {
    data object Idle : ReadingUi

    data class Working(val step: PairingStep) : ReadingUi

    /** The car read [odometerKm] and warned about [warnings]; [reported] says whether the platform knows yet. */
    data class Done(val odometerKm: Int, val warnings: List<WarningCode>, val reported: Boolean) : ReadingUi

    data class Failed(val problem: Notice.Problem) : ReadingUi
}

/**
 * The car's maintenance, once it is in use: the plan, the last odometer and warnings, the next
 * service and the visits (from the order's snapshot, offline too), the workshop's free slots
 * (fetched when the customer books or moves; they need a connection), booking, moving and
 * cancelling the service, and reading the car's odometer and warnings over Bluetooth nearby.
 */
class MaintenanceViewModel(private val customer: CustomerService, val orderId: UUID) : ViewModel() {
    /** The order's maintenance; null while the order loads, or before the car is in use. */
    val maintenance: StateFlow<MaintenanceView?> =
        customer.order(orderId).map { it.maintenance }.stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    val status = ScreenStatus()

    private val slotsState = MutableStateFlow<List<ServiceSlot>?>(null)

    /** The workshop's free slots to book or move to; null until asked for (or while offline). */
    val slots: StateFlow<List<ServiceSlot>?> = slotsState.asStateFlow()

    private val readingState = MutableStateFlow<ReadingUi>(ReadingUi.Idle)
    val reading: StateFlow<ReadingUi> = readingState.asStateFlow()
    private var readingJob: Job? = null

    /** Fetches the free slots (the customer is about to book or move the service). */
    fun loadSlots() = status.run(viewModelScope) {
        slotsState.value = customer.serviceSlots(orderId)
        null
    }

    /** The slot list is closed without choosing. */
    fun closeSlots() {
        slotsState.value = null
    }

    /**
     * Books the service in the slot starting at [start], or moves the booking there when one is
     * shown. Once booked the slot list closes; a slot just taken is dropped from it.
     */
    fun book(start: Instant) = status.run(viewModelScope) {
        val moving = maintenance.value?.booking != null
        try {
            customer.bookService(orderId, start)
        } catch (refused: CaasException.Rejected) {
            if (ChangeRefusal.of(refused.code) == ChangeRefusal.SLOT_UNAVAILABLE) refreshSlots()
            throw refused
        }
        slotsState.value = null
        if (moving) Notice.ServiceMoved else Notice.ServiceBooked
    }

    /** Cancels the booked service. */
    fun cancelBooking() = status.run(viewModelScope) {
        customer.cancelService(orderId)
        slotsState.value = null
        Notice.ServiceCancelled
    }

    /**
     * The slots again, quietly: the refusal's notice is what the customer needs to read, and
     * slots that could not be fetched keep the ones shown.
     */
    private fun refreshSlots() = viewModelScope.launch {
        try {
            slotsState.value = customer.serviceSlots(orderId)
        } catch (ignored: CaasException) {
        }
    }

    /** Reads the car's odometer and warnings over [transport]; one reading at a time. */
    fun read(transport: BleTransport) {
        if (readingJob?.isActive == true) return
        readingJob = viewModelScope.launch {
            customer.readVehicle(orderId, transport)
                .catch { error ->
                    if (error !is Exception) throw error
                    // A cancelled reading (the person closed the Bluetooth prompt) is no failure.
                    readingState.value = Notice.of(error)?.let { ReadingUi.Failed(it) } ?: ReadingUi.Idle
                }
                .collect { progress ->
                    readingState.value = when (progress) {
                        is ReadingProgress.Step -> ReadingUi.Working(progress.step)
                        is ReadingProgress.Done -> progress.reading.let {
                            ReadingUi.Done(it.odometerKm.toInt(), it.warnings, it.reported)
                        }
                    }
                }
        }
    }

    fun cancelReading() {
        readingJob?.cancel()
        readingState.value = ReadingUi.Idle
    }
}
