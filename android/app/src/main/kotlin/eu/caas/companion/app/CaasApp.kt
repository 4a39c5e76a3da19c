package eu.caas.companion.app

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavBackStackEntry
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navDeepLink
import eu.caas.companion.CaasRepository
import eu.caas.companion.DriverRepository
import eu.caas.companion.app.ui.DeliveryScreen
import eu.caas.companion.app.ui.DriverScreen
import eu.caas.companion.app.ui.HandoverCodeScreen
import eu.caas.companion.app.ui.OrderScreen
import eu.caas.companion.app.ui.OrdersScreen
import eu.caas.companion.app.ui.PairingScreen
import eu.caas.companion.app.ui.PaymentScreen
import eu.caas.companion.app.ui.Role
import eu.caas.companion.app.ui.SignInScreen
import java.util.UUID
import kotlinx.coroutines.flow.StateFlow

/** Routes; each of an order's screens has an [OrderViewModel] of its own, all reading the same cache. */
private object Routes {
    const val SIGN_IN = "sign-in"
    const val ORDERS = "orders"
    const val ORDER = "order/{id}"
    const val PAY = "order/{id}/pay"
    const val DELIVERY = "order/{id}/delivery"
    const val CODE = "order/{id}/code"
    const val PAIR = "order/{id}/pair"
    const val DRIVER = "driver"

    fun order(id: UUID, screen: String = "") = "order/$id" + if (screen.isEmpty()) "" else "/$screen"
}

@Composable
fun CaasApp(services: AppServices, deepLink: StateFlow<UUID?>) {
    val customer by produceState<CaasRepository?>(null) { value = services.customer.await() }
    val driver by produceState<DriverRepository?>(null) { value = services.driver.await() }
    val customerRepository = customer
    val driverRepository = driver
    if (customerRepository == null || driverRepository == null) {
        Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
        return
    }
    val navController = rememberNavController()
    var start by remember {
        mutableStateOf(if (customerRepository.isSignedIn) Routes.ORDERS else Routes.SIGN_IN)
    }
    val linked by deepLink.collectAsStateWithLifecycle()
    LaunchedEffect(linked) {
        linked?.let { navController.navigate(Routes.order(it)) }
    }
    NavHost(navController, startDestination = start) {
        composable(Routes.SIGN_IN) {
            SignInScreen(customerRepository, driverRepository) { role ->
                start = if (role == Role.DRIVER) Routes.DRIVER else Routes.ORDERS
                navController.navigate(start) { popUpTo(Routes.SIGN_IN) { inclusive = true } }
            }
        }
        composable(Routes.ORDERS) {
            OrdersScreen(customerRepository) { navController.navigate(Routes.order(it)) }
        }
        composable(Routes.ORDER, deepLinks = listOf(navDeepLink { uriPattern = "caas://order/{id}" })) { entry ->
            val id = orderId(entry) ?: return@composable
            OrderScreen(orderViewModel(customerRepository, id)) { screen -> navController.navigate(Routes.order(id, screen)) }
        }
        composable(Routes.PAY) { entry ->
            PaymentScreen(orderViewModel(customerRepository, orderId(entry) ?: return@composable))
        }
        composable(Routes.DELIVERY) { entry ->
            DeliveryScreen(orderViewModel(customerRepository, orderId(entry) ?: return@composable))
        }
        composable(Routes.CODE) { entry ->
            HandoverCodeScreen(orderViewModel(customerRepository, orderId(entry) ?: return@composable))
        }
        composable(Routes.PAIR) { entry ->
            PairingScreen(orderViewModel(customerRepository, orderId(entry) ?: return@composable), services.bluetooth)
        }
        composable(Routes.DRIVER) {
            DriverScreen(viewModel { DriverViewModel(driverRepository) })
        }
    }
}

@Composable
private fun orderViewModel(repository: CaasRepository, id: UUID): OrderViewModel =
    viewModel(key = "order-$id") { OrderViewModel(repository, id) }

/** The order a route names; a route or deep link with anything but an order id opens nothing. */
private fun orderId(entry: NavBackStackEntry): UUID? = entry.arguments?.getString("id")?.let(::orderId)

/** An order id as text from outside the app (a link, a push), or `null` when it is not one. */
fun orderId(text: String): UUID? = runCatching { UUID.fromString(text) }.getOrNull()
