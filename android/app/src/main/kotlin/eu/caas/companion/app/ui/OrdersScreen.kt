package eu.caas.companion.app.ui

import android.Manifest
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrdersViewModel
import java.util.UUID

/** The customer's orders, from the cache at once, synced when the screen opens or is pulled. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun OrdersScreen(viewModel: OrdersViewModel, onOpen: (UUID) -> Unit) {
    val orders by viewModel.orders.collectAsStateWithLifecycle()
    val refreshing by viewModel.refreshing.collectAsStateWithLifecycle()
    NotificationPermission(viewModel)
    PullToRefreshBox(refreshing, viewModel::refresh) {
        Screen(stringResource(R.string.orders_title), viewModel.status) {
            if (orders.isEmpty()) Text(stringResource(R.string.orders_empty))
            orders.forEach { order ->
                ListItem(
                    headlineContent = { Text(order.basePlatform) },
                    supportingContent = {
                        val completion = order.completion?.let {
                            stringResource(if (it.confirmed) R.string.order_ready else R.string.order_estimated, Dates.day(it.date))
                        }
                        Text(listOfNotNull(stateLabel(order.state), completion, order.dealership).joinToString(" · "))
                    },
                    trailingContent = { Text(Dates.day(order.updatedAt)) },
                    modifier = Modifier.clickable { onOpen(order.id) },
                )
            }
        }
    }
}

/**
 * Android 13 asks the person before an app may notify: asked once, here, right after the
 * customer sees the orders they will be told about.
 */
@Composable
private fun NotificationPermission(viewModel: OrdersViewModel) {
    val ask by viewModel.askForNotifications.collectAsStateWithLifecycle()
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { viewModel.notificationsAsked() }
    LaunchedEffect(ask) {
        if (!ask) return@LaunchedEffect
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            launcher.launch(Manifest.permission.POST_NOTIFICATIONS)
        } else {
            viewModel.notificationsAsked()
        }
    }
}
