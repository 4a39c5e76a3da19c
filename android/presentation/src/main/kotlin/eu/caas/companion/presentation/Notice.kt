package eu.caas.companion.presentation

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.HandoverRefusal
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PaymentRefusal

/**
 * What a screen tells the person once (a snackbar): the outcome of what they did, or why it
 * failed and what they can do. View models speak in notices, never in sentences; the app words
 * each one from its string resources, in the phone's language.
 */
sealed interface Notice {
    /** Why something failed, as the person can act on it. */
    sealed interface Problem : Notice

    data object Offline : Problem

    data object ServerUnavailable : Problem

    data object SignInAgain : Problem

    data object NotFound : Problem

    /** The platform refused, in its own words: a rule of the business this app does not name. */
    data class Refused(val reason: String) : Problem

    /** A booking (the delivery window, a workshop slot) the platform would not change, and why. */
    data class ChangeRefused(val refusal: ChangeRefusal) : Problem

    data class PaymentRefused(val refusal: PaymentRefusal) : Problem

    data class HandoverRefused(val refusal: HandoverRefusal) : Problem

    data class PairingFailed(val failure: PairingFailure) : Problem

    /**
     * The platform's history of an order no longer follows from the one on the phone: the phone
     * kept its own; the customer should contact the dealership.
     */
    data object HistoryRewritten : Problem

    /** The driver still has actions to sync before signing out. */
    data class UnsyncedActions(val count: Int) : Problem

    /** Something this app cannot explain; [detail] goes to the log and the support screen. */
    data class Unexpected(val detail: String) : Problem

    data class CodeSent(val email: String) : Notice

    data object Paid : Notice

    data object PaymentProcessing : Notice

    data object ConfirmWithBank : Notice

    data object NoPaymentInProgress : Notice

    /** An option is paid: the car switches it on when it receives it (over its network, or from the phone nearby). */
    data object OptionBought : Notice

    data object DeliveryMoved : Notice

    data object ServiceBooked : Notice

    data object ServiceMoved : Notice

    data object ServiceCancelled : Notice

    data object AddressConfirmed : Notice

    data object HandoverCodeExpired : Notice

    data class DeliveriesRefreshed(val open: Int) : Notice

    /** A driver's action: recorded on the platform, or on the phone until there is signal. */
    data object Recorded : Notice

    data class RecordedOffline(val pending: Int) : Notice

    /** Recorded on the phone, but the platform's answer could not be read: retry or discard it. */
    data object RecordedButHeld : Notice

    data class HandedOver(val customer: String) : Notice

    /** A delay: [sent] estimates reached the platform, [waiting] wait for a connection. */
    data class EstimatesSent(val sent: Int, val waiting: Int) : Notice

    data class Synced(val sent: Int, val refused: Int, val waiting: Int, val held: Int) : Notice

    companion object {
        /**
         * The notice for a failure; a cancellation is not one (nothing to say). What is not the
         * core's typed error (an internal error of the bindings, a bug) is unexpected.
         */
        fun of(error: Exception): Problem? = when (error) {
            is CaasException -> ofCore(error)
            else -> Unexpected(error.javaClass.simpleName)
        }

        private fun ofCore(error: CaasException): Problem? = when (error) {
            is CaasException.Offline -> Offline
            is CaasException.ServerUnavailable -> ServerUnavailable
            is CaasException.Cancelled -> null
            is CaasException.Unauthorized -> SignInAgain
            is CaasException.NotFound -> NotFound
            is CaasException.Rejected -> ChangeRefusal.of(error.code)?.let(::ChangeRefused) ?: Refused(error.reason)
            is CaasException.PaymentRefused -> PaymentRefused(error.refusal)
            is CaasException.HandoverRefused -> HandoverRefused(error.refusal)
            is CaasException.Pairing -> PairingFailed(error.failure)
            is CaasException.PendingActions -> UnsyncedActions(error.count.toInt())
            is CaasException.HistoryRewritten -> HistoryRewritten
            is CaasException.InvalidPush, is CaasException.InvalidInput, is CaasException.Internal ->
                Unexpected(error.message ?: error.javaClass.simpleName)
        }
    }
}

/**
 * Why the platform would not book or change a booked slot (the delivery window, a workshop slot),
 * named so the app words it in the person's language: the rules are the same for both.
 */
enum class ChangeRefusal {
    /** The slot is not offered any more, or was just taken. */
    SLOT_UNAVAILABLE,

    /** The booked slot is less than 24 hours away. */
    CHANGE_TOO_LATE,

    /** The booking was moved as often as allowed. */
    CHANGE_LIMIT_REACHED,
    ;

    companion object {
        /** The refusal of a platform error code (its stable wire name); null for another rule. */
        fun of(code: String): ChangeRefusal? = when (code) {
            "slot_unavailable" -> SLOT_UNAVAILABLE
            "change_too_late" -> CHANGE_TOO_LATE
            "change_limit_reached" -> CHANGE_LIMIT_REACHED
            else -> null
        }
    }
}
