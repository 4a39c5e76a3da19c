package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.DriverService
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverConflict
import eu.caas.companion.core.DriverSyncReport
import eu.caas.companion.core.EstimatesSent
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.WedgedAction
import java.util.UUID
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The driver's day: the deliveries (also without signal), each action, sync, conflicts and held actions. */
class DriverViewModel(private val driver: DriverService) : ViewModel() {
    companion object {
        /**
         * What the note field keeps of what the driver types: one line of plain text, at most
         * what the platform takes, counted as it counts (code points, never splitting one).
         */
        fun noteLine(typed: String, max: Int): String {
            val line = typed.replace(Regex("[\\p{Cc}\\p{Cf}\\u2028\\u2029]"), " ")
            return line.substring(0, line.offsetByCodePoints(0, minOf(max, line.codePointCount(0, line.length))))
        }
    }

    val deliveries: StateFlow<List<AssignedDelivery>> = driver.deliveries

    val status = ScreenStatus()

    private val conflictsState = MutableStateFlow<List<DriverConflict>>(emptyList())
    val conflicts: StateFlow<List<DriverConflict>> = conflictsState.asStateFlow()

    private val heldState = MutableStateFlow<List<WedgedAction>>(emptyList())

    /** Actions whose answer this version cannot read, each waiting for Retry or Discard. */
    val held: StateFlow<List<WedgedAction>> = heldState.asStateFlow()

    init {
        refresh()
    }

    /** Fetches the deliveries, and reads what waits for the driver (also after a restart). */
    fun refresh() = status.run(viewModelScope) {
        readQueues()
        Notice.DeliveriesRefreshed(driver.refresh().size)
    }

    /** What the camera is reading for: a car's VIN or a customer's handover code. */
    enum class ScanPurpose { VIN, HANDOVER_CODE }

    private var scanning: Pair<UUID, ScanPurpose>? = null

    /**
     * The camera opens to read for [delivery]; the view model keeps what for, so the reading
     * reaches it even when the screen was recreated meanwhile (the scanner turns the phone).
     */
    fun scanFor(delivery: AssignedDelivery, purpose: ScanPurpose) {
        scanning = delivery.deliveryId to purpose
    }

    /** What the camera read, or null when the driver closed it. */
    fun scanned(text: String?) {
        val (deliveryId, purpose) = scanning ?: return
        scanning = null
        val delivery = deliveries.value.firstOrNull { it.deliveryId == deliveryId } ?: return
        if (text.isNullOrBlank()) return
        when (purpose) {
            ScanPurpose.VIN -> embark(delivery, text)
            ScanPurpose.HANDOVER_CODE -> handOver(delivery, text)
        }
    }

    fun embark(delivery: AssignedDelivery, scannedVin: String) =
        status.run(viewModelScope) { outcome(driver.embark(delivery.deliveryId, scannedVin)) }

    fun arrive(delivery: AssignedDelivery) = status.run(viewModelScope) { outcome(driver.arrive(delivery.deliveryId)) }

    fun reportAbsent(delivery: AssignedDelivery, call: CallOutcome) =
        status.run(viewModelScope) { outcome(driver.reportAbsent(delivery.deliveryId, call)) }

    /** Every car on the way is expected [minutes] later, for [reason]; says how many customers were told. */
    fun reportDelay(minutes: Int, reason: EtaReason) = status.run(viewModelScope) {
        val sent = driver.reportDelay(minutes, reason)
        Notice.EstimatesSent(sent.sent.toInt(), sent.waiting.toInt())
    }

    /** A blank [note] is no note. */
    fun reportIncident(delivery: AssignedDelivery, kind: IncidentKind, note: String) = status.run(viewModelScope) {
        outcome(driver.reportIncident(delivery.deliveryId, kind, note.trim().ifEmpty { null }))
    }

    /** Checks the scanned or typed code, then hands the car over only if it checks out. */
    fun handOver(delivery: AssignedDelivery, code: String) = status.run(viewModelScope) {
        val check = driver.checkHandoverCode(delivery.deliveryId, code)
        when (val recorded = outcome(driver.confirmHandover(delivery.deliveryId, code))) {
            Notice.Recorded -> Notice.HandedOver(check.customerName)
            else -> recorded
        }
    }

    fun sync() = status.run(viewModelScope) { report(driver.sync()) }

    fun retry(action: WedgedAction) = status.run(viewModelScope) { report(driver.retry(action.id)) }

    fun discard(action: WedgedAction) = status.run(viewModelScope) {
        driver.discard(action.id)
        readQueues()
        null
    }

    fun dismiss(conflict: DriverConflict) = status.run(viewModelScope) {
        driver.dismissConflict(conflict.id)
        readQueues()
        null
    }

    private suspend fun report(report: DriverSyncReport): Notice {
        readQueues()
        return Notice.Synced(report.sent.toInt(), report.rejected.toInt(), report.pending.toInt(), report.held.toInt())
    }

    private suspend fun readQueues() {
        conflictsState.value = driver.conflicts()
        heldState.value = driver.held()
    }

    private suspend fun outcome(outcome: DriverActionOutcome): Notice = when (outcome) {
        is DriverActionOutcome.Synced -> Notice.Recorded
        is DriverActionOutcome.Queued -> Notice.RecordedOffline(outcome.pending.toInt())
        is DriverActionOutcome.Wedged -> {
            readQueues()
            Notice.RecordedButHeld
        }
    }
}
