package eu.caas.companion.app

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.HandoverRefusal
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PaymentRefusal

/** What to tell a person about a failure, and what they can do. */
fun explain(error: CaasException): String = when (error) {
    is CaasException.Offline -> "No connection. What you see is saved on the phone; try again when you are online."
    is CaasException.ServerUnavailable ->
        "The service is busy or down for maintenance. What you see is saved on the phone; try again in a few minutes."
    is CaasException.Cancelled -> "Cancelled."
    is CaasException.Unauthorized -> "Please sign in again."
    is CaasException.NotFound -> "Not found: ${error.what}."
    is CaasException.Rejected -> error.reason
    is CaasException.PaymentRefused -> when (error.refusal) {
        PaymentRefusal.INVALID_CARD -> "Check the card number, expiry and security code."
        PaymentRefusal.CARD_DECLINED -> "Your bank declined the card. Try another card."
        PaymentRefusal.INSUFFICIENT_FUNDS -> "The card has insufficient funds. Try another card."
        PaymentRefusal.AUTHENTICATION_FAILED -> "Your bank could not confirm the payment. Try again."
        PaymentRefusal.DEADLINE_PASSED, PaymentRefusal.RESERVATION_LOST ->
            "The payment deadline has passed and the reservation is lost. Your dealership can help."
        PaymentRefusal.ALREADY_PAID -> "This order is paid already."
        PaymentRefusal.NOT_PAYABLE -> "Nothing is due yet."
        PaymentRefusal.AMOUNT_CHANGED -> "The amount due changed. Check it and pay again."
    }
    is CaasException.HandoverRefused -> when (error.refusal) {
        HandoverRefusal.EXPIRED -> "The code has expired: ask the customer to show a new one."
        HandoverRefusal.USED -> "This code was used already."
        HandoverRefusal.OTHER_ORDER, HandoverRefusal.OTHER_ATTEMPT -> "This code is for another delivery."
        HandoverRefusal.UNKNOWN_KEY -> "Refresh your deliveries, then scan again."
        HandoverRefusal.STALE_SCREEN -> "This is a copy of the code, not the customer's app. Ask them to open the code in the app."
        HandoverRefusal.UNVOUCHED, HandoverRefusal.TOO_LATE ->
            "The handover reached us too late to be confirmed. Ask the customer to show a new code, or call the dealership."
        else -> "This is not a valid handover code. Do not hand the car over."
    }
    is CaasException.Pairing -> when (error.failure) {
        PairingFailure.NOT_DELIVERED -> "Pairing comes after the car is handed over to you."
        PairingFailure.CAR_NOT_FOUND -> "Your car was not found. Stand next to it, unlocked, and try again."
        PairingFailure.WRONG_CAR -> "A car answered but could not prove it is yours. Nothing was sent to it."
        PairingFailure.GRANT_EXPIRED, PairingFailure.GRANT_NOT_YET_VALID -> "Check the phone's date and time, then try again."
        PairingFailure.GRANT_REVOKED -> "This phone's key for the car was revoked. Contact your dealership."
        PairingFailure.CONFIRM_IDENTITY -> "To make this phone a key of your car, sign in again with a new code, then pair."
        PairingFailure.AUTHENTICATION_FAILED -> "The car did not accept this phone's key. Contact your dealership."
        PairingFailure.NOT_PERMITTED -> "This key cannot link the app to the car."
        PairingFailure.INCOMPATIBLE -> "Update the app to pair with this car."
        PairingFailure.CONNECTION_LOST -> "The connection to the car dropped. Try again."
        PairingFailure.BLUETOOTH_UNAVAILABLE -> "Turn Bluetooth on and allow the app to find nearby devices."
    }
    is CaasException.PendingActions -> "${error.count} actions are not synced yet. Sync before signing out."
    is CaasException.InvalidPush, is CaasException.InvalidInput, is CaasException.Internal ->
        "Something went wrong (${error.message}). Please try again."
}
