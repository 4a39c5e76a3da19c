package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.incidentNoteMaxChars
import eu.caas.companion.presentation.DriverViewModel

/**
 * The driver's deliveries, each with the steps its state allows. Everything works without signal:
 * actions are recorded on the phone and sync, in order, when the connection returns. [scan] opens
 * the host's camera with a prompt; what it reads goes to the view model (`scanned`), which knows
 * what it was read for.
 */
@Composable
fun DriverScreen(viewModel: DriverViewModel, scan: (prompt: String) -> Unit) {
    val deliveries by viewModel.deliveries.collectAsStateWithLifecycle()
    val conflicts by viewModel.conflicts.collectAsStateWithLifecycle()
    val held by viewModel.held.collectAsStateWithLifecycle()
    var absent by remember { mutableStateOf<AssignedDelivery?>(null) }
    var stopped by remember { mutableStateOf<AssignedDelivery?>(null) }
    var late by remember { mutableStateOf(false) }
    val scanVin = text(R.string.scan_vin)
    val scanCode = text(R.string.scan_code)
    Screen(text(R.string.driver_title), viewModel.status) {
        Row {
            Button(viewModel::refresh) { Text(text(R.string.driver_refresh)) }
            OutlinedButton(viewModel::sync) { Text(text(R.string.driver_sync)) }
        }
        conflicts.forEach { conflict ->
            Card {
                Text(text(R.string.conflict_refused, conflict.action, conflict.reason))
                TextButton({ viewModel.dismiss(conflict) }) { Text(text(R.string.dismiss)) }
            }
        }
        held.forEach { action ->
            Card {
                Text(text(R.string.held_line, stepName(action.step), action.waitingBehind.toInt()))
                Row {
                    TextButton({ viewModel.retry(action) }) { Text(text(R.string.retry)) }
                    TextButton({ viewModel.discard(action) }) { Text(text(R.string.discard)) }
                }
            }
        }
        deliveries.forEach { delivery ->
            Card {
                Text("${delivery.model} · ${delivery.plate ?: delivery.vin}")
                Text("${delivery.customerName}, ${delivery.address ?: text(R.string.address_unconfirmed)}")
                Text("${Dates.window(delivery.window)} · ${stateLabel(delivery.state)}")
                delivery.eta?.let { Text(text(R.string.driver_eta, Dates.time(it.expectedAt), it.stopsBefore.toInt())) }
                if (delivery.unsyncedActions > 0u) Text(text(R.string.unsynced, delivery.unsyncedActions.toInt()))
                Row {
                    delivery.steps.forEach { step ->
                        when (step) {
                            DriverStep.EMBARK -> Button({
                                viewModel.scanFor(delivery, DriverViewModel.ScanPurpose.VIN)
                                scan(scanVin)
                            }) {
                                Text(text(R.string.step_load))
                            }
                            DriverStep.ARRIVE -> Button({ viewModel.arrive(delivery) }) { Text(text(R.string.step_arrived)) }
                            DriverStep.UPDATE_ARRIVAL -> OutlinedButton({ late = true }) { Text(text(R.string.step_late)) }
                            DriverStep.REPORT_INCIDENT -> OutlinedButton({ stopped = delivery }) { Text(text(R.string.step_incident)) }
                            DriverStep.REPORT_ABSENT -> OutlinedButton({ absent = delivery }) { Text(text(R.string.step_absent)) }
                            DriverStep.CONFIRM_HANDOVER -> Button({
                                viewModel.scanFor(delivery, DriverViewModel.ScanPurpose.HANDOVER_CODE)
                                scan(scanCode)
                            }) {
                                Text(text(R.string.step_hand_over))
                            }
                        }
                    }
                }
                if (DriverStep.CONFIRM_HANDOVER in delivery.steps) ShortCodeField { viewModel.handOver(delivery, it) }
            }
        }
    }
    absent?.let { delivery ->
        AbsentDialog(delivery, onDismiss = { absent = null }) { call ->
            absent = null
            viewModel.reportAbsent(delivery, call)
        }
    }
    if (late) {
        DelayDialog(onDismiss = { late = false }) { minutes, reason ->
            late = false
            viewModel.reportDelay(minutes, reason)
        }
    }
    stopped?.let { delivery ->
        IncidentDialog(onDismiss = { stopped = null }) { kind, note ->
            stopped = null
            viewModel.reportIncident(delivery, kind, note)
        }
    }
}

/** How late every car on the way runs, and why: the customers are told when it matters. */
@Composable
private fun DelayDialog(onDismiss: () -> Unit, onDelay: (minutes: Int, reason: EtaReason) -> Unit) {
    var minutes by remember { mutableStateOf(DELAYS.first()) }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(text(R.string.delay_title)) },
        text = {
            Row {
                DELAYS.forEach { choice ->
                    FilterChip(minutes == choice, { minutes = choice }, { Text(text(R.string.delay_minutes, choice)) })
                }
            }
        },
        confirmButton = {
            Column {
                listOf(EtaReason.TRAFFIC, EtaReason.WEATHER, EtaReason.LONGER_STOP).forEach { reason ->
                    TextButton({ onDelay(minutes, reason) }) { Text(etaReasonName(reason)) }
                }
            }
        },
        dismissButton = { TextButton(onDismiss) { Text(text(R.string.cancel)) } },
    )
}

/** The delays a driver picks from, in minutes. */
private val DELAYS = listOf(15, 30, 60)

/** What stops the trip, with the driver's words for the customer and the dealership. */
@Composable
private fun IncidentDialog(onDismiss: () -> Unit, onReport: (IncidentKind, String) -> Unit) {
    var note by remember { mutableStateOf("") }
    val maxIncidentNote = remember { incidentNoteMaxChars().toInt() }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(text(R.string.incident_title)) },
        text = {
            Column {
                Text(text(R.string.incident_text))
                OutlinedTextField(
                    note,
                    { note = DriverViewModel.noteLine(it, maxIncidentNote) },
                    label = { Text(text(R.string.incident_note)) },
                    singleLine = true,
                )
            }
        },
        confirmButton = {
            Column {
                listOf(IncidentKind.BREAKDOWN, IncidentKind.DAMAGE, IncidentKind.ROAD_CLOSED).forEach { kind ->
                    TextButton({ onReport(kind, note) }) { Text(incidentName(kind)) }
                }
            }
        },
        dismissButton = { TextButton(onDismiss) { Text(text(R.string.cancel)) } },
    )
}

/** The eight digits, for a customer whose QR code will not scan (checked by the platform). */
@Composable
private fun ShortCodeField(onCode: (String) -> Unit) {
    var digits by remember { mutableStateOf("") }
    Row {
        OutlinedTextField(digits, { digits = it.filter(Char::isDigit).take(8) }, label = { Text(text(R.string.short_code)) })
        TextButton({ onCode(digits) }, enabled = digits.length == 8) { Text(text(R.string.check)) }
    }
}

/** The phone call's outcome: a new time the customer agreed, or back to the dealership. */
@Composable
private fun AbsentDialog(delivery: AssignedDelivery, onDismiss: () -> Unit, onOutcome: (CallOutcome) -> Unit) {
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(text(R.string.absent_title, delivery.address ?: text(R.string.the_address))) },
        text = { Text(text(R.string.absent_text, delivery.customerPhone ?: text(R.string.the_customer))) },
        confirmButton = {
            TextButton({
                // The next day's same window; the customer can move it afterwards.
                onOutcome(CallOutcome.Rescheduled(delivery.window.start.plusSeconds(86_400)))
            }) { Text(text(R.string.absent_agreed)) }
        },
        dismissButton = {
            Row {
                TextButton({ onOutcome(CallOutcome.Unreachable) }) { Text(text(R.string.absent_no_answer)) }
                TextButton({ onOutcome(CallOutcome.CannotAccept) }) { Text(text(R.string.absent_cannot)) }
            }
        },
    )
}
