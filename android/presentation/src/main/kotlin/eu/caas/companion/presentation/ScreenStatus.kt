package eu.caas.companion.presentation

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/**
 * What every screen shows besides its content: the one notice to tell the person, and whether an
 * action is running (its buttons are disabled meanwhile). View models run their actions through
 * [run], so an outcome and a failure of the core are told the same way everywhere.
 */
class ScreenStatus {
    private val noticeState = MutableStateFlow<Notice?>(null)
    val notice: StateFlow<Notice?> = noticeState.asStateFlow()

    private val busyState = MutableStateFlow(false)
    val busy: StateFlow<Boolean> = busyState.asStateFlow()

    // View models run their actions on the main dispatcher: a plain count is enough.
    private var running = 0

    fun show(notice: Notice?) {
        noticeState.value = notice
    }

    /** The screen showed the notice. */
    fun dismiss() {
        noticeState.value = null
    }

    /**
     * Runs [work] in [scope]: busy meanwhile, then its notice, or the failure's. Nothing a call
     * throws escapes to crash the app: what is not the core's typed error is unexpected.
     */
    fun run(scope: CoroutineScope, work: suspend () -> Notice?): Job = scope.launch {
        running += 1
        busyState.value = true
        try {
            work()?.let(::show)
        } catch (cancelled: CancellationException) {
            throw cancelled
        } catch (e: Exception) {
            Notice.of(e)?.let(::show)
        } finally {
            running -= 1
            busyState.value = running > 0
        }
    }
}
