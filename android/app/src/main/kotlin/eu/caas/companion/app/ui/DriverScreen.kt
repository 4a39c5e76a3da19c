package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Row
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import eu.caas.companion.app.Dates
import eu.caas.companion.app.DriverViewModel
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.orderStateWireName

/**
 * The driver's deliveries, each with the steps its state allows. Everything works without signal:
 * actions are recorded on the phone and sync, in order, when the connection returns.
 */
@Composable
fun DriverScreen(viewModel: DriverViewModel) {
    val deliveries by viewModel.deliveries.collectAsStateWithLifecycle()
    val conflicts by viewModel.conflicts.collectAsStateWithLifecycle()
    val held by viewModel.held.collectAsStateWithLifecycle()
    val message by viewModel.message.collectAsStateWithLifecycle()
    var scanning by remember { mutableStateOf<Pair<AssignedDelivery, DriverStep>?>(null) }
    var absent by remember { mutableStateOf<AssignedDelivery?>(null) }
    val scanner = androidx.activity.compose.rememberLauncherForActivityResult(ScanContract()) { result ->
        val (delivery, step) = scanning ?: return@rememberLauncherForActivityResult
        scanning = null
        val text = result.contents ?: return@rememberLauncherForActivityResult
        if (step == DriverStep.EMBARK) viewModel.embark(delivery, text) else viewModel.handOver(delivery, text)
    }
    LaunchedEffect(Unit) { viewModel.refresh() }
    Screen("Deliveries", message, {}) {
        Row {
            Button(viewModel::refresh) { Text("Refresh") }
            OutlinedButton(viewModel::sync) { Text("Sync") }
        }
        conflicts.forEach { conflict ->
            Card {
                Text("Refused: ${conflict.action}: ${conflict.reason}")
                TextButton({ viewModel.dismiss(conflict) }) { Text("Dismiss") }
            }
        }
        held.forEach { action ->
            Card {
                Text("Not confirmed: ${stepLabel(action.step)} (${action.waitingBehind} waiting behind it)")
                Row {
                    TextButton({ viewModel.retry(action) }) { Text("Retry") }
                    TextButton({ viewModel.discard(action) }) { Text("Discard") }
                }
            }
        }
        deliveries.forEach { delivery ->
            Card {
                Text("${delivery.model} · ${delivery.plate ?: delivery.vin}")
                Text("${delivery.customerName}, ${delivery.address ?: "address not confirmed"}")
                Text("${Dates.window(delivery.window)} · ${orderStateWireName(delivery.state).replace('_', ' ')}")
                if (delivery.unsyncedActions > 0u) Text("${delivery.unsyncedActions} not synced")
                Row {
                    delivery.steps.forEach { step ->
                        when (step) {
                            DriverStep.EMBARK -> Button({
                                scanning = delivery to step
                                scanner.launch(ScanOptions().setPrompt("Scan the VIN on the windscreen"))
                            }) { Text("Load") }
                            DriverStep.ARRIVE -> Button({ viewModel.arrive(delivery) }) { Text("Arrived") }
                            DriverStep.REPORT_ABSENT -> OutlinedButton({ absent = delivery }) { Text("Nobody home") }
                            DriverStep.CONFIRM_HANDOVER -> Button({
                                scanning = delivery to step
                                scanner.launch(ScanOptions().setPrompt("Scan the customer's handover code"))
                            }) { Text("Hand over") }
                        }
                    }
                }
                if (DriverStep.CONFIRM_HANDOVER in delivery.steps) ShortCodeField { viewModel.handOver(delivery, it) }
            }
        }
    }
    absent?.let { delivery -> AbsentDialog(delivery, onDismiss = { absent = null }) { call ->
        absent = null
        viewModel.reportAbsent(delivery, call)
    } }
}

/** The eight digits, for a customer whose QR code will not scan (checked by the platform). */
@Composable
private fun ShortCodeField(onCode: (String) -> Unit) {
    var digits by remember { mutableStateOf("") }
    Row {
        OutlinedTextField(digits, { digits = it.filter(Char::isDigit).take(8) }, label = { Text("Or the 8 digits") })
        TextButton({ onCode(digits) }, enabled = digits.length == 8) { Text("Check") }
    }
}

/** The phone call's outcome: a new time the customer agreed, or back to the dealership. */
@Composable
private fun AbsentDialog(delivery: AssignedDelivery, onDismiss: () -> Unit, onOutcome: (CallOutcome) -> Unit) {
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text("Nobody home at ${delivery.address ?: "the address"}") },
        text = { Text("Call ${delivery.customerPhone ?: "the customer"}. The car is never left at the address.") },
        confirmButton = {
            TextButton({
                // The next day's same window; the customer can move it afterwards.
                onOutcome(CallOutcome.Rescheduled(delivery.window.start.plusSeconds(86_400)))
            }) { Text("Agreed: same time tomorrow") }
        },
        dismissButton = {
            Row {
                TextButton({ onOutcome(CallOutcome.Unreachable) }) { Text("No answer") }
                TextButton({ onOutcome(CallOutcome.CannotAccept) }) { Text("Cannot take it") }
            }
        },
    )
}

/** A driver's step as the driver says it. */
private fun stepLabel(step: DriverStep): String = when (step) {
    DriverStep.EMBARK -> "loading the car"
    DriverStep.ARRIVE -> "arrival"
    DriverStep.REPORT_ABSENT -> "nobody home"
    DriverStep.CONFIRM_HANDOVER -> "handover"
}
