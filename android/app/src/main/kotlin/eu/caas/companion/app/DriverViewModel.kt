package eu.caas.companion.app

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.DriverRepository
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverConflict
import eu.caas.companion.core.DriverSyncReport
import eu.caas.companion.core.WedgedAction
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** The driver's day: the deliveries (also without signal), each action, sync, conflicts and held actions. */
class DriverViewModel(private val repository: DriverRepository) : ViewModel() {
    val deliveries: StateFlow<List<AssignedDelivery>> = repository.deliveries

    private val messageState = MutableStateFlow<String?>(null)
    val message: StateFlow<String?> = messageState.asStateFlow()

    private val conflictsState = MutableStateFlow<List<DriverConflict>>(emptyList())
    val conflicts: StateFlow<List<DriverConflict>> = conflictsState.asStateFlow()

    private val heldState = MutableStateFlow<List<WedgedAction>>(emptyList())

    /** Actions whose answer this version cannot read, each waiting for Retry or Discard. */
    val held: StateFlow<List<WedgedAction>> = heldState.asStateFlow()

    /** Fetches the deliveries, and reads what waits for the driver (also after a restart). */
    fun refresh() = act {
        conflictsState.value = repository.conflicts()
        heldState.value = repository.held()
        "${repository.refresh().size} open deliveries."
    }

    fun embark(delivery: AssignedDelivery, scannedVin: String) = act { outcome(repository.embark(delivery.deliveryId, scannedVin)) }

    fun arrive(delivery: AssignedDelivery) = act { outcome(repository.arrive(delivery.deliveryId)) }

    fun reportAbsent(delivery: AssignedDelivery, call: CallOutcome) = act {
        outcome(repository.reportAbsent(delivery.deliveryId, call))
    }

    /** Checks the scanned or typed code, then hands the car over only if it checks out. */
    fun handOver(delivery: AssignedDelivery, code: String) = act {
        val check = repository.checkHandoverCode(delivery.deliveryId, code)
        "Code of ${check.customerName}: ${outcome(repository.confirmHandover(delivery.deliveryId, code))}"
    }

    fun sync() = act { report(repository.sync()) }

    fun retry(action: WedgedAction) = act { report(repository.retry(action.id)) }

    fun discard(action: WedgedAction) = act {
        repository.discard(action.id)
        heldState.value = repository.held()
        null
    }

    private suspend fun report(report: DriverSyncReport): String {
        conflictsState.value = repository.conflicts()
        heldState.value = repository.held()
        return "Sent ${report.sent}, refused ${report.rejected}, waiting ${report.pending}, held ${report.held}."
    }

    fun dismiss(conflict: DriverConflict) = act {
        repository.dismissConflict(conflict.id)
        conflictsState.value = repository.conflicts()
        null
    }

    private fun outcome(outcome: DriverActionOutcome): String = when (outcome) {
        is DriverActionOutcome.Synced -> "Recorded."
        is DriverActionOutcome.Queued -> "Recorded on the phone; ${outcome.pending} action(s) will sync when there is signal."
        is DriverActionOutcome.Wedged -> {
            viewModelScope.launch { heldState.value = repository.held() }
            "Recorded on the phone, but the answer could not be read. Retry it, or discard it, from the list."
        }
    }

    private fun act(work: suspend () -> String?) {
        viewModelScope.launch {
            try {
                messageState.value = work()
            } catch (e: CaasException) {
                messageState.value = explain(e)
            }
        }
    }
}
