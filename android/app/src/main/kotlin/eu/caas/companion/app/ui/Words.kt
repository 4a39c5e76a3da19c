package eu.caas.companion.app.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.ReadOnlyComposable
import androidx.compose.ui.text.intl.LocaleList
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.core.ActivationChannel
import eu.caas.companion.core.Availability
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.HandoverRefusal
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.OptionPurchase
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentRefusal
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.core.WarningCode
import eu.caas.companion.core.optionName
import eu.caas.companion.core.orderStateLabel
import eu.caas.companion.core.warningLabel
import eu.caas.companion.presentation.ChangeRefusal
import eu.caas.companion.presentation.Notice

/** The person's languages as the core takes them: BCP 47 tags, preferred first. */
@Composable
@ReadOnlyComposable
private fun languages(): String = LocaleList.current.localeList.joinToString(",") { it.toLanguageTag() }

/** A state in the person's words, as the core writes it (the same words as its notifications). */
@Composable
@ReadOnlyComposable
fun stateLabel(state: OrderState): String = orderStateLabel(state, languages())

/**
 * An option's name in the person's words, from the core, for an option the screen has no name
 * for (what an offer requires or conflicts with): never its code.
 */
@Composable
@ReadOnlyComposable
fun optionLabel(option: OptionCode): String = optionName(option, languages())

/**
 * What the car warns about, in the person's words, as the core writes it (the same words as its
 * notifications); a warning this version does not know says only that there is one.
 */
@Composable
@ReadOnlyComposable
fun warningText(warning: WarningCode): String = when (warning) {
    WarningCode.UNKNOWN -> text(R.string.warning_unknown)
    else -> warningLabel(warning, languages())
}

/** A step of a conversation with the car (pairing, or handing it options). */
@Composable
fun carStepText(step: PairingStep): String = text(
    when (step) {
        PairingStep.SCANNING -> R.string.pair_scanning
        PairingStep.CONNECTING -> R.string.pair_connecting
        PairingStep.AUTHENTICATING -> R.string.pair_authenticating
        PairingStep.LINKED -> R.string.pair_linked_step
    },
)

/** Why an offer cannot be bought in the app; null when it can. */
@Composable
fun offerHindrance(offer: OptionOffer): String? = when (val availability = offer.availability) {
    // Workshop options are fitted at the dealership, whatever the platform says of them.
    Availability.Available -> if (offer.kind == OptionKind.WORKSHOP) text(R.string.option_needs_workshop) else null
    Availability.Installed -> text(R.string.option_installed)
    Availability.Pending -> text(R.string.option_pending)
    Availability.NeedsWorkshop -> text(R.string.option_needs_workshop)
    is Availability.Requires -> text(R.string.option_requires, optionLabel(availability.option))
    is Availability.ConflictsWith -> text(R.string.option_conflicts, optionLabel(availability.option))
    Availability.Unknown -> text(R.string.option_not_offered)
}

/** Where a bought option stands: waiting for the car (and until when), active, or refunded. */
@Composable
fun purchaseStatusText(purchase: OptionPurchase): String = when (purchase.status) {
    PurchaseStatus.PAID -> text(R.string.purchase_waiting, Dates.moment(purchase.activateBy))
    PurchaseStatus.ACTIVATED -> listOfNotNull(
        purchase.activatedAt?.let { text(R.string.purchase_active_since, Dates.moment(it)) } ?: text(R.string.purchase_active),
        when (purchase.activatedVia) {
            ActivationChannel.CONNECTED_CAR -> text(R.string.purchase_via_network)
            ActivationChannel.BLUETOOTH -> text(R.string.purchase_via_phone)
            ActivationChannel.UNKNOWN, null -> null
        },
    ).joinToString(" ")
    PurchaseStatus.REFUNDED ->
        purchase.refundedAt?.let { text(R.string.purchase_refunded_on, Dates.day(it)) } ?: text(R.string.purchase_refunded)
    PurchaseStatus.UNKNOWN -> text(R.string.purchase_unknown)
}

/** `6 d 23 h` or `5 h 12 min`: a deadline read at a glance. */
@Composable
fun countdown(seconds: Long): String =
    if (seconds >= 86_400) {
        text(R.string.countdown_days, seconds / 86_400, seconds % 86_400 / 3_600)
    } else {
        text(R.string.countdown_hours, seconds / 3_600, seconds % 3_600 / 60)
    }

/** A driver's step as the driver says it. */
@Composable
fun stepName(step: DriverStep): String = text(
    when (step) {
        DriverStep.EMBARK -> R.string.step_name_embark
        DriverStep.ARRIVE -> R.string.step_name_arrive
        DriverStep.UPDATE_ARRIVAL -> R.string.step_name_late
        DriverStep.REPORT_INCIDENT -> R.string.step_name_incident
        DriverStep.REPORT_ABSENT -> R.string.step_name_absent
        DriverStep.CONFIRM_HANDOVER -> R.string.step_name_handover
    },
)

/** Why an expected arrival moved, in the person's words. */
@Composable
fun etaReasonName(reason: EtaReason): String = text(
    when (reason) {
        EtaReason.DEPARTURE -> R.string.eta_departure
        EtaReason.STOP_COMPLETED -> R.string.eta_stop_completed
        EtaReason.TRAFFIC -> R.string.eta_traffic
        EtaReason.WEATHER -> R.string.eta_weather
        EtaReason.LONGER_STOP -> R.string.eta_longer_stop
        EtaReason.UNKNOWN -> R.string.eta_unknown
    },
)

/** What stopped a car on the way, in the person's words. */
@Composable
fun incidentName(kind: IncidentKind): String = text(
    when (kind) {
        IncidentKind.BREAKDOWN -> R.string.incident_breakdown
        IncidentKind.DAMAGE -> R.string.incident_damage
        IncidentKind.ROAD_CLOSED -> R.string.incident_road_closed
        IncidentKind.UNKNOWN -> R.string.incident_unknown
    },
)

/** What to tell the person about a [notice], and what they can do. */
@Composable
fun noticeText(notice: Notice): String = when (notice) {
    Notice.Offline -> text(R.string.notice_offline)
    Notice.ServerUnavailable -> text(R.string.notice_server_unavailable)
    Notice.SignInAgain -> text(R.string.notice_sign_in_again)
    Notice.NotFound -> text(R.string.notice_not_found)
    is Notice.Refused -> text(R.string.notice_refused, notice.reason)
    is Notice.ChangeRefused -> text(changeRefusal(notice.refusal))
    is Notice.PaymentRefused -> text(paymentRefusal(notice.refusal))
    is Notice.HandoverRefused -> text(handoverRefusal(notice.refusal))
    is Notice.PairingFailed -> text(pairingFailure(notice.failure))
    Notice.HistoryRewritten -> text(R.string.notice_history_rewritten)
    is Notice.UnsyncedActions -> plural(R.plurals.notice_unsynced, notice.count, notice.count)
    is Notice.Unexpected -> text(R.string.notice_unexpected, notice.detail)
    is Notice.CodeSent -> text(R.string.notice_code_sent, notice.email)
    Notice.Paid -> text(R.string.notice_paid)
    Notice.PaymentProcessing -> text(R.string.notice_payment_processing)
    Notice.ConfirmWithBank -> text(R.string.notice_confirm_with_bank)
    Notice.NoPaymentInProgress -> text(R.string.notice_no_payment)
    Notice.OptionBought -> text(R.string.notice_option_bought)
    Notice.DeliveryMoved -> text(R.string.notice_delivery_moved)
    Notice.ServiceBooked -> text(R.string.notice_service_booked)
    Notice.ServiceMoved -> text(R.string.notice_service_moved)
    Notice.ServiceCancelled -> text(R.string.notice_service_cancelled)
    Notice.AddressConfirmed -> text(R.string.notice_address_confirmed)
    Notice.HandoverCodeExpired -> text(R.string.notice_code_expired)
    is Notice.DeliveriesRefreshed -> plural(R.plurals.notice_deliveries, notice.open, notice.open)
    Notice.Recorded -> text(R.string.notice_recorded)
    is Notice.RecordedOffline -> plural(R.plurals.notice_recorded_offline, notice.pending, notice.pending)
    Notice.RecordedButHeld -> text(R.string.notice_recorded_held)
    is Notice.HandedOver -> text(R.string.notice_handed_over, notice.customer)
    is Notice.EstimatesSent -> text(R.string.notice_estimates_sent, notice.sent, notice.waiting)
    is Notice.Synced -> text(R.string.notice_synced, notice.sent, notice.refused, notice.waiting, notice.held)
}

private fun changeRefusal(refusal: ChangeRefusal): Int = when (refusal) {
    ChangeRefusal.SLOT_UNAVAILABLE -> R.string.change_slot_unavailable
    ChangeRefusal.CHANGE_TOO_LATE -> R.string.change_too_late
    ChangeRefusal.CHANGE_LIMIT_REACHED -> R.string.change_limit_reached
}

private fun paymentRefusal(refusal: PaymentRefusal): Int = when (refusal) {
    PaymentRefusal.INVALID_CARD -> R.string.payment_invalid_card
    PaymentRefusal.CARD_DECLINED -> R.string.payment_card_declined
    PaymentRefusal.INSUFFICIENT_FUNDS -> R.string.payment_insufficient_funds
    PaymentRefusal.AUTHENTICATION_FAILED -> R.string.payment_authentication_failed
    PaymentRefusal.DEADLINE_PASSED, PaymentRefusal.RESERVATION_LOST -> R.string.payment_deadline_passed
    PaymentRefusal.ALREADY_PAID -> R.string.payment_already_paid
    PaymentRefusal.NOT_PAYABLE -> R.string.payment_not_payable
    PaymentRefusal.AMOUNT_CHANGED -> R.string.payment_amount_changed
    PaymentRefusal.OPTION_UNAVAILABLE -> R.string.payment_option_unavailable
}

private fun handoverRefusal(refusal: HandoverRefusal): Int = when (refusal) {
    HandoverRefusal.EXPIRED -> R.string.handover_expired
    HandoverRefusal.USED -> R.string.handover_used
    HandoverRefusal.OTHER_ORDER, HandoverRefusal.OTHER_ATTEMPT -> R.string.handover_other_delivery
    HandoverRefusal.UNKNOWN_KEY -> R.string.handover_unknown_key
    HandoverRefusal.STALE_SCREEN -> R.string.handover_stale_screen
    HandoverRefusal.UNVOUCHED, HandoverRefusal.TOO_LATE -> R.string.handover_too_late
    HandoverRefusal.MALFORMED, HandoverRefusal.FORGED, HandoverRefusal.NOT_YET_VALID -> R.string.handover_invalid
}

private fun pairingFailure(failure: PairingFailure): Int = when (failure) {
    PairingFailure.NOT_DELIVERED -> R.string.pairing_not_delivered
    PairingFailure.CAR_NOT_FOUND -> R.string.pairing_car_not_found
    PairingFailure.WRONG_CAR -> R.string.pairing_wrong_car
    PairingFailure.GRANT_EXPIRED, PairingFailure.GRANT_NOT_YET_VALID -> R.string.pairing_check_clock
    PairingFailure.GRANT_REVOKED -> R.string.pairing_revoked
    PairingFailure.CONFIRM_IDENTITY -> R.string.pairing_confirm_identity
    PairingFailure.AUTHENTICATION_FAILED -> R.string.pairing_authentication_failed
    PairingFailure.NOT_PERMITTED -> R.string.pairing_not_permitted
    PairingFailure.INCOMPATIBLE -> R.string.pairing_incompatible
    PairingFailure.CONNECTION_LOST -> R.string.pairing_connection_lost
    PairingFailure.BLUETOOTH_UNAVAILABLE -> R.string.pairing_bluetooth_unavailable
    PairingFailure.ENTITLEMENT_REFUSED -> R.string.pairing_entitlement_refused
    PairingFailure.ENTITLEMENT_EXPIRED -> R.string.pairing_entitlement_expired
}
