package eu.caas.companion.app.play

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import eu.caas.companion.app.Pushes
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/** FCM's entry point: each callback goes to [Pushes], which syncs, words and shows. */
class CaasMessagingService : FirebaseMessagingService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private val pushes by lazy { Pushes(this) }

    override fun onNewToken(token: String) {
        scope.launch { pushes.tokenChanged(token) }
    }

    /** FCM runs this on a worker thread and ends the message's wake lock when it returns. */
    override fun onMessageReceived(message: RemoteMessage) {
        runBlocking { pushes.received(message.data) }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
