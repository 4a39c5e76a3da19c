package eu.caas.companion.app.play

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import eu.caas.companion.app.Pushes
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

/**
 * FCM's entry point: each callback goes to [Pushes], which syncs, words and shows. FCM calls them
 * on a worker thread and may stop the service as soon as they return, so each finishes its work
 * before returning.
 */
class CaasMessagingService : FirebaseMessagingService() {
    private val pushes by lazy { Pushes(this) }

    override fun onNewToken(token: String) {
        runBlocking { withTimeoutOrNull(TOKEN_BUDGET_MS) { pushes.tokenChanged(token) } }
    }

    override fun onMessageReceived(message: RemoteMessage) {
        runBlocking { pushes.received(message.data) }
    }

    private companion object {
        const val TOKEN_BUDGET_MS = 15_000L
    }
}
