package eu.caas.companion.app.ui

import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.Money
import eu.caas.companion.app.OrderViewModel
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.orderStateWireName

/**
 * The purchase record (*expediente de compra*): the timeline, the factory's estimates marked as
 * estimates, what is due, the delivery, the phone keys, and the actions the state allows.
 */
@Composable
fun OrderScreen(viewModel: OrderViewModel, open: (screen: String) -> Unit) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val message by viewModel.message.collectAsStateWithLifecycle()
    val detail = order
    Screen(detail?.summary?.basePlatform ?: "Order", message, viewModel::dismissMessage) {
        if (detail == null) {
            CircularProgressIndicator()
            return@Screen
        }
        Text("Now: ${orderStateWireName(detail.summary.state).replace('_', ' ')}")
        detail.summary.blocker?.let { Text("Waiting: ${it.reason}" + (it.fix?.let { fix -> "\nNext step: $fix" } ?: "")) }
        detail.summary.completion?.let {
            Text(if (it.confirmed) "Ready on ${Dates.day(it.date)}" else "Estimated completion ${Dates.day(it.date)} (the factory's estimate, not a promise)")
        }
        detail.finalPayment?.let { due ->
            Text(
                due.paidAt?.let { "Paid ${Money.format(due.amountDue)} on ${Dates.day(it)}" }
                    ?: "${Money.format(due.amountDue)} due before ${Dates.moment(due.deadline)} (${Dates.countdown(due.secondsLeft.toLong())} left)",
            )
        }
        detail.registration?.let { Text("Plate ${it.plate}") }
        detail.delivery?.let { delivery ->
            Section("Delivery")
            Text("${delivery.company.name}: ${Dates.window(delivery.window)}")
            delivery.pickup?.let { Text("Collect it at ${it.dealership}, ${it.address} (${it.openingHours})") }
            delivery.handover?.let { Text("Handed over ${Dates.moment(it.at)} by ${it.by}") }
        }
        detail.actions.forEach { action ->
            when (action) {
                CustomerAction.PAY_FINAL_AMOUNT -> Button({ open("pay") }) { Text("Pay the amount due") }
                CustomerAction.MANAGE_DELIVERY -> Button({ open("delivery") }) { Text("Delivery time and address") }
                CustomerAction.SHOW_HANDOVER_CODE -> Button({ open("code") }) { Text("Show my handover code") }
                CustomerAction.PAIR_VEHICLE -> Button({ open("pair") }) { Text("Pair my phone with the car") }
            }
        }
        if (detail.phoneKeys.isNotEmpty()) {
            Section("Phone keys")
            detail.phoneKeys.forEach { key ->
                val status = when {
                    key.revoked -> "revoked"
                    key.linkedAt != null -> "linked ${Dates.moment(key.linkedAt!!)}"
                    else -> "not used yet"
                }
                Text("Issued ${Dates.day(key.issuedAt)}, valid until ${Dates.day(key.notAfter)}: $status")
            }
        }
        Section("Timeline")
        detail.timeline.forEach { entry ->
            Text("${Dates.moment(entry.at)}  ${orderStateWireName(entry.state).replace('_', ' ')}")
        }
        detail.unknownUpdates.forEach { update ->
            Text("${Dates.moment(update.at)}  An update this version of the app cannot show. Update the app to see it.")
        }
        if (detail.estimateRevisions.isNotEmpty()) {
            Section("The factory's estimates")
            detail.estimateRevisions.forEach { Text("${Dates.day(it.date)}: ${it.reason}") }
        }
    }
}
