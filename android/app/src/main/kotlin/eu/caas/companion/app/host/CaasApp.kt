package eu.caas.companion.app.host

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavBackStackEntry
import androidx.navigation.NavHostController
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import eu.caas.companion.app.R
import eu.caas.companion.app.play.FcmPushTokens
import eu.caas.companion.app.ui.DeliveryScreen
import eu.caas.companion.app.ui.DriverScreen
import eu.caas.companion.app.ui.HandoverCodeScreen
import eu.caas.companion.app.ui.MaintenanceScreen
import eu.caas.companion.app.ui.OptionsScreen
import eu.caas.companion.app.ui.OrderPage
import eu.caas.companion.app.ui.OrderScreen
import eu.caas.companion.app.ui.OrdersScreen
import eu.caas.companion.app.ui.PairingScreen
import eu.caas.companion.app.ui.PaymentScreen
import eu.caas.companion.app.ui.SignInScreen
import eu.caas.companion.app.ui.noticeText
import eu.caas.companion.app.ui.text
import eu.caas.companion.core.BleTransport
import eu.caas.companion.presentation.AppMemory
import eu.caas.companion.presentation.AppState
import eu.caas.companion.presentation.AppViewModel
import eu.caas.companion.presentation.DriverViewModel
import eu.caas.companion.presentation.Home
import eu.caas.companion.presentation.MaintenanceViewModel
import eu.caas.companion.presentation.OptionsViewModel
import eu.caas.companion.presentation.OrderViewModel
import eu.caas.companion.presentation.OrdersViewModel
import eu.caas.companion.presentation.Role
import eu.caas.companion.presentation.Services
import eu.caas.companion.presentation.SignInViewModel
import java.util.UUID

/** The app's routes; an order's screens carry the order's id and the page. */
private object Routes {
    const val SIGN_IN = "sign-in"
    const val ORDERS = "orders"
    const val DELIVERIES = "deliveries"
    const val ORDER = "order/{id}"
    const val ORDER_PAGE = "order/{id}/{page}"

    fun order(id: UUID, page: OrderPage? = null) = "order/$id" + (page?.let { "/${it.name.lowercase()}" } ?: "")
}

/**
 * The app: a spinner while the services open, a retry when they cannot, then the navigation from
 * the role that is signed in. A link to an order (a tapped notification) is opened here, once:
 * the app's view model forgets it as soon as it is shown.
 */
@Composable
fun CaasApp(app: AppViewModel, memory: AppMemory, bluetooth: () -> BleTransport) {
    val state by app.state.collectAsStateWithLifecycle()
    when (val current = state) {
        AppState.Opening -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
        is AppState.Failed -> Column(
            Modifier.fillMaxSize(),
            verticalArrangement = Arrangement.Center,
            horizontalAlignment = Alignment.CenterHorizontally,
        ) {
            Text(text(R.string.open_failed))
            Text(noticeText(current.problem))
            Button(app::retry) { Text(text(R.string.retry)) }
        }
        is AppState.Ready -> Navigation(app, current.services, current.home, memory, bluetooth)
    }
}

@Composable
private fun Navigation(app: AppViewModel, services: Services, home: Home, memory: AppMemory, bluetooth: () -> BleTransport) {
    val navController = rememberNavController()
    val pendingOrder by app.pendingOrder.collectAsStateWithLifecycle()
    LaunchedEffect(pendingOrder) {
        val order = pendingOrder ?: return@LaunchedEffect
        if (runCatching { services.customer.isSignedIn }.getOrDefault(false)) {
            navController.navigate(Routes.order(order)) { launchSingleTop = true }
        }
        app.linkOpened()
    }
    val start = when (home) {
        Home.SIGN_IN -> Routes.SIGN_IN
        Home.ORDERS -> Routes.ORDERS
        Home.DELIVERIES -> Routes.DELIVERIES
    }
    NavHost(navController, startDestination = start) {
        composable(Routes.SIGN_IN) {
            val model = viewModel { SignInViewModel(services.customer, services.driver, FcmPushTokens) }
            SignInScreen(model) { role ->
                app.signedIn(role)
                navController.replaceWith(if (role == Role.DRIVER) Routes.DELIVERIES else Routes.ORDERS)
            }
        }
        composable(Routes.ORDERS) {
            val model = viewModel { OrdersViewModel(services.customer, memory) }
            val askForNotifications = rememberNotificationPermission(model::notificationsAsked)
            OrdersScreen(model, { navController.navigate(Routes.order(it)) }, askForNotifications)
        }
        composable(Routes.ORDER) { entry ->
            val model = orderViewModel(services, entry) ?: return@composable
            OrderScreen(model, rememberShare()) { page -> navController.navigate(Routes.order(model.orderId, page)) }
        }
        composable(Routes.ORDER_PAGE) { entry ->
            val page = OrderPage.entries.firstOrNull { it.name.lowercase() == entry.arguments?.getString("page") }
            if (page == OrderPage.OPTIONS) {
                val id = orderId(entry) ?: return@composable
                val model = viewModel(key = "options-$id") { OptionsViewModel(services.customer, id) }
                // A card is typed here; the radio only once the customer activates nearby.
                SecureWindow()
                OptionsScreen(model, rememberBluetoothPermissions { model.activate(bluetooth()) })
                return@composable
            }
            if (page == OrderPage.MAINTENANCE) {
                val id = orderId(entry) ?: return@composable
                val model = viewModel(key = "maintenance-$id") { MaintenanceViewModel(services.customer, id) }
                // The radio (and Android's Bluetooth prompt) only once the customer reads the car.
                MaintenanceScreen(model, rememberBluetoothPermissions { model.read(bluetooth()) })
                return@composable
            }
            val model = orderViewModel(services, entry) ?: return@composable
            when (page) {
                OrderPage.PAY -> {
                    SecureWindow()
                    PaymentScreen(model)
                }
                OrderPage.DELIVERY -> DeliveryScreen(model)
                OrderPage.CODE -> {
                    SecureWindow()
                    HandoverCodeScreen(model)
                }
                OrderPage.PAIR -> {
                    // The radio (and Android's Bluetooth prompt) only once the customer pairs.
                    val pair = rememberBluetoothPermissions { model.pair(bluetooth()) }
                    PairingScreen(model, pair)
                }
                OrderPage.OPTIONS, OrderPage.MAINTENANCE, null -> Unit
            }
        }
        composable(Routes.DELIVERIES) {
            val model = viewModel { DriverViewModel(services.driver) }
            DriverScreen(model, rememberScanner(model::scanned))
        }
    }
}

/** The order a route names, with its screen's view model (each reads the same cached order). */
@Composable
private fun orderViewModel(services: Services, entry: NavBackStackEntry): OrderViewModel? {
    val id = orderId(entry) ?: return null
    return viewModel(key = "order-$id") { OrderViewModel(services.customer, id) }
}

/** The order a route names; null for a malformed link. */
private fun orderId(entry: NavBackStackEntry): UUID? =
    entry.arguments?.getString("id")?.let { runCatching { UUID.fromString(it) }.getOrNull() }

/** Goes to [route] and drops the sign-in behind it, so Back leaves the app. */
private fun NavHostController.replaceWith(route: String) = navigate(route) {
    popUpTo(graph.id) { inclusive = true }
}
