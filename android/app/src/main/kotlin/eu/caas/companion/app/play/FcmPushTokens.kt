package eu.caas.companion.app.play

import com.google.firebase.messaging.FirebaseMessaging
import eu.caas.companion.presentation.PushTokens
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * The phone's FCM registration token. Without Google Play services, or while FCM cannot issue
 * one, there is none: the app then follows orders by syncing when it opens.
 */
object FcmPushTokens : PushTokens {
    override suspend fun current(): String? {
        // A build without the project's google-services.json has no Firebase app.
        val messaging = try {
            FirebaseMessaging.getInstance()
        } catch (notConfigured: IllegalStateException) {
            return null
        }
        return suspendCancellableCoroutine { continuation ->
            messaging.token.addOnCompleteListener { task ->
                continuation.resume(if (task.isSuccessful) task.result else null)
            }
        }
    }
}
