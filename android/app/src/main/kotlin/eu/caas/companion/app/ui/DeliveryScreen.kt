package eu.caas.companion.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrderViewModel

/**
 * The delivery: confirm or correct the address, and move the window to one the transport company
 * still has room in (not within 24 hours of the slot, a limited number of times).
 */
@Composable
fun DeliveryScreen(viewModel: OrderViewModel) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val slots by viewModel.slots.collectAsStateWithLifecycle()
    val busy = viewModel.status.isBusy()
    val delivery = order?.delivery
    var address by rememberSaveable(delivery?.address) { mutableStateOf(delivery?.address ?: "") }
    LaunchedEffect(Unit) { viewModel.loadSlots() }
    Screen(text(R.string.delivery_title), viewModel.status) {
        if (delivery == null) return@Screen
        Text(text(R.string.delivery_line, delivery.company.name, Dates.window(delivery.window)))
        val left = delivery.changesLeft.toInt()
        Text(plural(R.plurals.delivery_changes_left, left, left))
        Section(text(R.string.delivery_address_section))
        OutlinedTextField(address, { address = it }, label = { Text(text(R.string.delivery_address)) })
        Button({ viewModel.confirmAddress(address) }, enabled = !busy) {
            Text(text(if (delivery.addressConfirmed) R.string.delivery_update_address else R.string.delivery_confirm_address))
        }
        Section(text(R.string.delivery_move))
        slots.filter { it.window != delivery.window }.forEach { slot ->
            val free = slot.free.toInt()
            ListItem(
                headlineContent = { Text(Dates.window(slot.window)) },
                supportingContent = { Text(plural(R.plurals.slot_free, free, free)) },
                modifier = Modifier.clickable(enabled = !busy && left > 0) { viewModel.chooseWindow(slot.window.start) },
            )
        }
    }
}
