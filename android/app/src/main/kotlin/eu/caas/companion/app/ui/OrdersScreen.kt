package eu.caas.companion.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.CaasRepository
import eu.caas.companion.app.Dates
import eu.caas.companion.app.explain
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.orderStateWireName
import java.util.UUID

/** The customer's orders, from the cache at once, synced when the screen opens. */
@Composable
fun OrdersScreen(repository: CaasRepository, onOpen: (UUID) -> Unit) {
    val orders by repository.orders.collectAsStateWithLifecycle()
    var message by remember { mutableStateOf<String?>(null) }
    LaunchedEffect(Unit) {
        try {
            repository.sync()
        } catch (e: CaasException) {
            message = explain(e)
        }
    }
    Screen("Your cars", message, { message = null }) {
        if (orders.isEmpty()) Text("No orders yet.")
        orders.forEach { order ->
            ListItem(
                headlineContent = { Text(order.basePlatform) },
                supportingContent = {
                    val estimate = order.completion?.let { c -> (if (c.confirmed) " · ready " else " · estimated ") + Dates.day(c.date) } ?: ""
                    Text("${orderStateWireName(order.state).replace('_', ' ')}$estimate · ${order.dealership}")
                },
                trailingContent = { Text(Dates.day(order.updatedAt)) },
                modifier = Modifier.clickable { onOpen(order.id) },
            )
        }
    }
}
