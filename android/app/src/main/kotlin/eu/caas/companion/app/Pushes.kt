package eu.caas.companion.app

import android.content.Context
import eu.caas.companion.core.CaasException
import eu.caas.companion.presentation.PushTokens
import kotlinx.coroutines.withTimeoutOrNull

/**
 * What the app does with a push service's callbacks (FCM's service calls these): a message is
 * synced and shown with the core's words, a new token is registered for the signed-in customer.
 */
class Pushes(private val context: Context) {
    /** Shows the notification for a data message, within what the push service allows. */
    suspend fun received(data: Map<String, String>) {
        withTimeoutOrNull(SYNC_BUDGET_MS) {
            val customer = context.services.open().customer
            if (!customer.isSignedIn) return@withTimeoutOrNull
            val content = try {
                customer.notificationFor(data)
            } catch (e: CaasException) {
                null
            }
            content?.let { Notifications.show(context, it) }
        }
    }

    /** A new token: registered now when a customer is signed in, else at their sign-in. */
    suspend fun tokenChanged(token: String) {
        val customer = context.services.open().customer
        if (customer.isSignedIn) PushTokens { token }.registerWith(customer)
    }

    private companion object {
        /** A data message gets about ten seconds; the sync must finish well within that. */
        const val SYNC_BUDGET_MS = 8_000L
    }
}
