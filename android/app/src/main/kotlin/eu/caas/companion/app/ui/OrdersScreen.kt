package eu.caas.companion.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrdersViewModel
import java.util.UUID

/**
 * The customer's orders, from the cache at once, synced when the screen opens or is pulled. The
 * host asks for the notification permission when the view model says so ([askForNotifications]).
 */
@Composable
fun OrdersScreen(viewModel: OrdersViewModel, onOpen: (UUID) -> Unit, askForNotifications: () -> Unit) {
    val orders by viewModel.orders.collectAsStateWithLifecycle()
    val refreshing by viewModel.refreshing.collectAsStateWithLifecycle()
    val ask by viewModel.askForNotifications.collectAsStateWithLifecycle()
    // Asked once, here: the customer has just seen the orders they will be told about.
    LaunchedEffect(ask) { if (ask) askForNotifications() }
    Screen(text(R.string.orders_title), viewModel.status, refreshing, viewModel::refresh) {
        if (orders.isEmpty()) Text(text(R.string.orders_empty))
        orders.forEach { order ->
            ListItem(
                headlineContent = { Text(order.basePlatform) },
                supportingContent = {
                    val completion = order.completion?.let {
                        text(if (it.confirmed) R.string.order_ready else R.string.order_estimated, Dates.day(it.date))
                    }
                    Text(listOfNotNull(stateLabel(order.state), completion, order.dealership).joinToString(" · "))
                },
                trailingContent = { Text(Dates.day(order.updatedAt)) },
                modifier = Modifier.clickable { onOpen(order.id) },
            )
        }
    }
}
