package eu.caas.companion.app.ui

import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.Money
import eu.caas.companion.app.R
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.presentation.OrderViewModel

/** An order's screens the purchase record links to. */
enum class OrderPage { PAY, DELIVERY, CODE, PAIR, OPTIONS, MAINTENANCE }

/**
 * The purchase record (*expediente de compra*): the timeline, the factory's estimates marked as
 * estimates, what is due, the delivery, the phone keys, and the actions the state allows. [share]
 * hands the record, signed by the platform, to the system's share sheet.
 */
@Composable
fun OrderScreen(viewModel: OrderViewModel, share: (String) -> Unit, open: (OrderPage) -> Unit) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val record by viewModel.recordToShare.collectAsStateWithLifecycle()
    LaunchedEffect(record) {
        record?.let {
            share(it)
            viewModel.recordShared()
        }
    }
    val detail = order
    Screen(detail?.summary?.basePlatform ?: text(R.string.order_title), viewModel.status) {
        if (detail == null) {
            CircularProgressIndicator()
            return@Screen
        }
        Text(text(R.string.order_now, stateLabel(detail.summary.state)))
        detail.summary.blocker?.let { blocker ->
            Text(text(R.string.order_waiting, blocker.reason))
            blocker.fix?.let { Text(text(R.string.order_next_step, it)) }
        }
        detail.summary.completion?.let {
            Text(
                if (it.confirmed) text(R.string.order_ready_on, Dates.day(it.date))
                else text(R.string.order_estimated_completion, Dates.day(it.date)),
            )
        }
        detail.finalPayment?.let { due ->
            val paidAt = due.paidAt
            Text(
                if (paidAt != null) text(R.string.order_paid, Money.format(due.amountDue), Dates.day(paidAt))
                else text(R.string.order_due, Money.format(due.amountDue), Dates.moment(due.deadline), countdown(due.secondsLeft.toLong())),
            )
        }
        detail.registration?.let { Text(text(R.string.order_plate, it.plate)) }
        detail.delivery?.let { delivery ->
            Section(text(R.string.section_delivery))
            Text(text(R.string.delivery_line, delivery.company.name, Dates.window(delivery.window)))
            delivery.eta?.takeIf { delivery.arrivedAt == null && delivery.handover == null }?.let { eta ->
                Text(text(R.string.delivery_eta, Dates.time(eta.expectedAt), etaReasonName(eta.reason)))
            }
            detail.arrivalEstimates.dropLast(1).forEach { revision ->
                Text(text(R.string.delivery_eta_before, Dates.time(revision.estimate.expectedAt), etaReasonName(revision.estimate.reason)))
            }
            delivery.incident?.let { incident ->
                val note = incident.note
                Text(
                    if (note == null) text(R.string.delivery_incident, Dates.moment(incident.at), incidentName(incident.kind))
                    else text(R.string.delivery_incident_note, Dates.moment(incident.at), incidentName(incident.kind), note),
                )
            }
            delivery.pickup?.let { Text(text(R.string.delivery_pickup, it.dealership, it.address, it.openingHours)) }
            delivery.handover?.let { Text(text(R.string.delivery_handed_over, Dates.moment(it.at), it.by)) }
        }
        detail.actions.forEach { action ->
            when (action) {
                CustomerAction.PAY_FINAL_AMOUNT -> Button({ open(OrderPage.PAY) }) { Text(text(R.string.action_pay)) }
                CustomerAction.MANAGE_DELIVERY -> Button({ open(OrderPage.DELIVERY) }) { Text(text(R.string.action_delivery)) }
                CustomerAction.SHOW_HANDOVER_CODE -> Button({ open(OrderPage.CODE) }) { Text(text(R.string.action_code)) }
                CustomerAction.PAIR_VEHICLE -> Button({ open(OrderPage.PAIR) }) { Text(text(R.string.action_pair)) }
                CustomerAction.BUY_OPTIONS -> OutlinedButton({ open(OrderPage.OPTIONS) }) { Text(text(R.string.action_options)) }
                CustomerAction.BOOK_SERVICE -> OutlinedButton({ open(OrderPage.MAINTENANCE) }) { Text(text(R.string.action_maintenance)) }
            }
        }
        if (detail.phoneKeys.isNotEmpty()) {
            Section(text(R.string.section_keys))
            detail.phoneKeys.forEach { key ->
                val linkedAt = key.linkedAt
                val status = when {
                    key.revoked -> text(R.string.key_revoked)
                    linkedAt != null -> text(R.string.key_linked, Dates.moment(linkedAt))
                    else -> text(R.string.key_unused)
                }
                Text(text(R.string.key_line, Dates.day(key.issuedAt), Dates.day(key.notAfter), status))
            }
        }
        Section(text(R.string.section_timeline))
        detail.timeline.forEach { entry -> Text("${Dates.moment(entry.at)}  ${stateLabel(entry.state)}") }
        detail.unknownUpdates.forEach { update -> Text("${Dates.moment(update.at)}  ${text(R.string.update_unknown)}") }
        if (detail.estimateRevisions.isNotEmpty()) {
            Section(text(R.string.section_estimates))
            detail.estimateRevisions.forEach { Text("${Dates.day(it.date)}: ${it.reason}") }
        }
        OutlinedButton(viewModel::shareRecord) { Text(text(R.string.action_share_record)) }
    }
}
