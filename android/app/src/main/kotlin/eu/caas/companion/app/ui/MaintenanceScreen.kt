package eu.caas.companion.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.Distance
import eu.caas.companion.app.R
import eu.caas.companion.core.MaintenanceView
import eu.caas.companion.core.ServiceSlot
import eu.caas.companion.presentation.MaintenanceViewModel
import eu.caas.companion.presentation.ReadingUi

/**
 * The car's maintenance: the next service (at a distance or on a date, whichever comes first),
 * the odometer and warnings the car last reported, the workshop appointment with its free times
 * to book or move to, the visits, and reading the car from the phone nearby. [read] is the
 * host's: it asks for the Bluetooth permissions, then starts the view model's reading over the
 * phone's radio.
 */
@Composable
fun MaintenanceScreen(viewModel: MaintenanceViewModel, read: () -> Unit) {
    val maintenance by viewModel.maintenance.collectAsStateWithLifecycle()
    val slots by viewModel.slots.collectAsStateWithLifecycle()
    val reading by viewModel.reading.collectAsStateWithLifecycle()
    val busy = viewModel.status.isBusy()
    Screen(text(R.string.maintenance_title), viewModel.status) {
        val current = maintenance
        if (current == null) {
            CircularProgressIndicator()
            return@Screen
        }
        Section(text(R.string.maintenance_next_section))
        Text(text(R.string.maintenance_next, Distance.km(current.nextService.dueKm), Dates.day(current.nextService.dueBy)))
        val months = current.plan.everyMonths.toInt()
        Text(plural(R.plurals.maintenance_plan, months, Distance.km(current.plan.everyKm), months))
        val reportedAt = current.reportedAt
        Text(
            if (reportedAt != null) text(R.string.maintenance_odometer, Distance.km(current.odometerKm), Dates.moment(reportedAt))
            else text(R.string.maintenance_odometer_unreported, Distance.km(current.odometerKm)),
        )

        Section(text(R.string.maintenance_warnings_section))
        if (current.warnings.isEmpty()) Text(text(R.string.maintenance_no_warnings))
        current.warnings.forEach { Text(warningText(it)) }

        Section(text(R.string.maintenance_booking_section))
        Booking(current, busy, viewModel)
        slots?.let { Slots(it, current, busy, viewModel) }

        Section(text(R.string.maintenance_history_section))
        if (current.visits.isEmpty()) Text(text(R.string.maintenance_no_visits))
        current.visits.forEach { visit ->
            Text("${Dates.day(visit.at)} · ${Distance.km(visit.odometerKm)} · ${visit.work}")
        }

        Section(text(R.string.maintenance_read_section))
        Reading(reading, read, viewModel::cancelReading)
    }
}

/** The appointment, with what can be done with it, or the button that opens the free times. */
@Composable
private fun Booking(maintenance: MaintenanceView, busy: Boolean, viewModel: MaintenanceViewModel) {
    val booking = maintenance.booking
    if (booking == null) {
        Text(text(R.string.maintenance_not_booked))
        Button(viewModel::loadSlots, enabled = !busy) { Text(text(R.string.maintenance_book)) }
        return
    }
    Text(text(R.string.maintenance_booked, Dates.span(booking.start, booking.end)))
    val left = booking.changesLeft.toInt()
    Text(if (left > 0) plural(R.plurals.maintenance_changes_left, left, left) else text(R.string.maintenance_no_moves_left))
    if (left > 0) OutlinedButton(viewModel::loadSlots, enabled = !busy) { Text(text(R.string.maintenance_move)) }
    OutlinedButton(viewModel::cancelBooking, enabled = !busy) { Text(text(R.string.maintenance_cancel_booking)) }
}

/** The workshop's free times: one tapped books it, or moves the appointment there. */
@Composable
private fun Slots(slots: List<ServiceSlot>, maintenance: MaintenanceView, busy: Boolean, viewModel: MaintenanceViewModel) {
    Section(text(R.string.maintenance_slots_section))
    val offered = slots.filter { it.start != maintenance.booking?.start }
    if (offered.isEmpty()) Text(text(R.string.maintenance_slots_none))
    offered.forEach { slot ->
        val free = slot.free.toInt()
        ListItem(
            headlineContent = { Text(Dates.span(slot.start, slot.end)) },
            supportingContent = { Text(plural(R.plurals.slot_free, free, free)) },
            modifier = Modifier.clickable(enabled = !busy) { viewModel.book(slot.start) },
        )
    }
    TextButton(viewModel::closeSlots) { Text(text(R.string.cancel)) }
}

/** Reading the car from the phone next to it: the steps, then what the car said. */
@Composable
private fun Reading(state: ReadingUi, read: () -> Unit, cancel: () -> Unit) {
    when (state) {
        ReadingUi.Idle -> {
            Text(text(R.string.maintenance_read_intro))
            Button(read) { Text(text(R.string.maintenance_read)) }
        }
        is ReadingUi.Working -> {
            LinearProgressIndicator()
            Text(carStepText(state.step))
            OutlinedButton(cancel) { Text(text(R.string.pair_cancel)) }
        }
        is ReadingUi.Done -> {
            Text(text(R.string.maintenance_read_done, Distance.km(state.odometerKm.toUInt())))
            if (state.warnings.isEmpty()) Text(text(R.string.maintenance_no_warnings))
            state.warnings.forEach { Text(warningText(it)) }
            if (!state.reported) Text(text(R.string.pair_unreported))
            OutlinedButton(read) { Text(text(R.string.maintenance_read)) }
        }
        is ReadingUi.Failed -> {
            Text(noticeText(state.problem))
            Button(read) { Text(text(R.string.retry)) }
        }
    }
}
