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
import eu.caas.companion.app.OrderViewModel

/**
 * The delivery: confirm or correct the address, and move the window to one the transport company
 * still has room in (not within 24 hours of the slot, a limited number of times).
 */
@Composable
fun DeliveryScreen(viewModel: OrderViewModel) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val slots by viewModel.slots.collectAsStateWithLifecycle()
    val message by viewModel.message.collectAsStateWithLifecycle()
    val busy by viewModel.busy.collectAsStateWithLifecycle()
    val delivery = order?.delivery
    var address by rememberSaveable(delivery?.address) { mutableStateOf(delivery?.address ?: "") }
    LaunchedEffect(Unit) { viewModel.loadSlots() }
    Screen("Delivery", message, viewModel::dismissMessage) {
        if (delivery == null) return@Screen
        Text("${delivery.company.name}, ${Dates.window(delivery.window)}")
        Text("You can move it ${delivery.changesLeft} more time(s).")
        Section("Address")
        OutlinedTextField(address, { address = it }, label = { Text("Delivery address") })
        Button({ viewModel.confirmAddress(address) }, enabled = !busy) {
            Text(if (delivery.addressConfirmed) "Update the address" else "Confirm the address")
        }
        Section("Move the delivery")
        slots.filter { it.window != delivery.window }.forEach { slot ->
            ListItem(
                headlineContent = { Text(Dates.window(slot.window)) },
                supportingContent = { Text("${slot.free} free") },
                modifier = Modifier.clickable(enabled = !busy && delivery.changesLeft > 0u) { viewModel.chooseWindow(slot.window.start) },
            )
        }
    }
}
