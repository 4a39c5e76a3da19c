package eu.caas.companion.app

import android.content.Context
import android.os.LocaleList
import kotlin.coroutines.cancellation.CancellationException
import eu.caas.companion.presentation.PushTokens
import java.util.Locale
import kotlinx.coroutines.withTimeoutOrNull

/**
 * What the app does with a push service's callbacks (FCM's service calls these): a message is
 * synced and shown with the core's words, a new token is registered for the signed-in customer.
 */
class Pushes(private val context: Context) {
    /** Shows the notification for a data message, within what the push service allows. */
    suspend fun received(data: Map<String, String>) {
        withTimeoutOrNull(SYNC_BUDGET_MS) {
            val content = try {
                val customer = context.services.open().customer
                if (customer.isSignedIn) customer.notificationFor(data, preferredLocales()) else null
            } catch (cancelled: CancellationException) {
                throw cancelled
            } catch (unreadable: Exception) {
                // A push this app cannot read, its data unavailable: nothing to show.
                null
            }
            content?.let { Notifications.show(context, it) }
        }
    }

    /** A new token: registered now when a customer is signed in, else at their sign-in. */
    suspend fun tokenChanged(token: String) {
        val customer = runCatching { context.services.open().customer }.getOrNull() ?: return
        if (runCatching { customer.isSignedIn }.getOrDefault(false)) PushTokens { token }.registerWith(customer)
    }

    /** The person's languages in their order of preference, as Android picks the app's texts. */
    private fun preferredLocales(): List<Locale> = LocaleList.getDefault().let { list -> (0 until list.size()).map(list::get) }

    private companion object {
        /** A data message gets about ten seconds; the core gives up on the sync within five. */
        const val SYNC_BUDGET_MS = 8_000L
    }
}
