package eu.caas.companion.presentation

import eu.caas.companion.CustomerService
import kotlinx.coroutines.CancellationException

/**
 * The phone's push token, from FCM in the app. It is registered with the platform right after
 * sign-in and again whenever FCM hands out a new one; until the customer signs in there is no one
 * to register it for, and FCM keeps it.
 */
fun interface PushTokens {
    /** The current token; null when the phone has no push service (no Google Play services). */
    suspend fun current(): String?

    /**
     * Registers the current token for the signed-in [customer]; false when it could not be, and
     * never throws: the customer is not kept from their orders by it.
     */
    suspend fun registerWith(customer: CustomerService): Boolean = try {
        current()?.let { token ->
            customer.registerFcmToken(token)
            true
        } ?: false
    } catch (cancelled: CancellationException) {
        throw cancelled
    } catch (notNow: Exception) {
        // Offline, the platform down, a session the platform no longer accepts, no Play
        // services: the next sign-in, start or token change registers it.
        false
    }
}
