package eu.caas.companion.app

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.PushOutcome
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

/**
 * FCM's entry point. A push is only a hint: the core checks it, syncs the order it names and
 * drops duplicates; the notification is written from the synced order.
 */
class CaasMessagingService : FirebaseMessagingService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    override fun onNewToken(token: String) {
        scope.launch {
            try {
                services.customer.await().registerFcmToken(token)
            } catch (e: CaasException) {
                // Not signed in yet, or offline: the app registers the token at sign-in.
            }
        }
    }

    /** FCM gives a data message about ten seconds; the sync must finish well within that. */
    override fun onMessageReceived(message: RemoteMessage) {
        runBlocking {
            withTimeoutOrNull(SYNC_BUDGET_MS) {
                val repository = services.customer.await()
                val outcome = try {
                    repository.onFcmMessage(message.data)
                } catch (e: CaasException) {
                    return@withTimeoutOrNull
                }
                val orderId = message.data["order_id"]?.let(::orderId) ?: return@withTimeoutOrNull
                val type = message.data["type"] ?: return@withTimeoutOrNull
                if (outcome is PushOutcome.Synced) {
                    Notifications.show(this@CaasMessagingService, repository.orderSnapshot(orderId), type)
                }
            }
        }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    private companion object {
        const val SYNC_BUDGET_MS = 8_000L
    }
}
