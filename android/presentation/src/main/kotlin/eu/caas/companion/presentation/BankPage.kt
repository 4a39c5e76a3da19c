package eu.caas.companion.presentation

import eu.caas.companion.core.PaymentProgress
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The bank's 3-D Secure page a card payment asked for, held until the screen opened it (once,
 * even across a rotation), and what to tell of each way a payment goes on. The final payment and
 * the options after delivery go through the same gateway, so they read the same.
 */
class BankPage {
    private val pageState = MutableStateFlow<String?>(null)

    /** The bank's page to open, until [opened]. */
    val page: StateFlow<String?> = pageState.asStateFlow()

    /** The screen opened the bank's page. */
    fun opened() {
        pageState.value = null
    }

    /** The notice for [progress], [paid] when the charge went through; a bank page is kept for the screen. */
    fun notice(progress: PaymentProgress, paid: Notice): Notice = when (progress) {
        is PaymentProgress.Succeeded -> paid
        is PaymentProgress.Processing -> Notice.PaymentProcessing
        // The core hands over only a secure bank page (https, or the local gateway simulator).
        is PaymentProgress.RequiresAction -> {
            pageState.value = progress.url
            Notice.ConfirmWithBank
        }
    }
}
