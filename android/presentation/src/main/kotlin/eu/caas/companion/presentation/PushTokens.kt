package eu.caas.companion.presentation

import eu.caas.companion.CustomerService
import eu.caas.companion.core.CaasException

/**
 * The phone's push token, from FCM in the app. It is registered with the platform right after
 * sign-in and again whenever FCM hands out a new one; until the customer signs in there is no one
 * to register it for, and FCM keeps it.
 */
fun interface PushTokens {
    /** The current token; null when the phone has no push service (no Google Play services). */
    suspend fun current(): String?

    /**
     * Registers the current token for the signed-in [customer]. Offline, the next sign-in or
     * token change registers it: the customer is not kept from their orders by it.
     */
    suspend fun registerWith(customer: CustomerService): Boolean {
        val token = current() ?: return false
        return try {
            customer.registerFcmToken(token)
            true
        } catch (unreachable: CaasException.Offline) {
            false
        } catch (unreachable: CaasException.ServerUnavailable) {
            false
        }
    }
}
