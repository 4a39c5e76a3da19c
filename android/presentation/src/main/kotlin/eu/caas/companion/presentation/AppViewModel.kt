package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CustomerService
import eu.caas.companion.DriverService
import java.net.URI
import java.util.UUID
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** The two roles' services, opened once by the app (each with its own cache and secrets). */
class Services(val customer: CustomerService, val driver: DriverService)

/** What the app remembers across launches, in its preferences. */
interface AppMemory : AskedOnce {
    /** The role signed in last, whose screen opens first. */
    var lastRole: Role?
}

/** Where the app opens. */
enum class Home { SIGN_IN, ORDERS, DELIVERIES }

sealed interface AppState {
    data object Opening : AppState

    data class Ready(val services: Services, val home: Home) : AppState

    /** The services could not be opened (storage full or damaged, keys unavailable): retry. */
    data class Failed(val problem: Notice.Problem) : AppState
}

/**
 * The app's start: opens the services off the main thread (a failure is shown with a retry, never
 * a crash), restores whichever role was signed in, and holds a link to an order (a tapped
 * notification) until the screen has opened it, once, even across a rotation.
 */
class AppViewModel(
    private val open: suspend () -> Services,
    private val memory: AppMemory,
    private val pushTokens: PushTokens,
) : ViewModel() {
    private val appState = MutableStateFlow<AppState>(AppState.Opening)
    val state: StateFlow<AppState> = appState.asStateFlow()

    private val pendingOrderState = MutableStateFlow<UUID?>(null)

    /** The order a link asked to open, until [linkOpened]. */
    val pendingOrder: StateFlow<UUID?> = pendingOrderState.asStateFlow()

    init {
        start()
    }

    /** Opens the services again after a failure. */
    fun retry() {
        if (appState.value is AppState.Failed) start()
    }

    private fun start() {
        appState.value = AppState.Opening
        viewModelScope.launch {
            val (services, home) = try {
                open().let { it to home(it) }
            } catch (cancelled: CancellationException) {
                throw cancelled
            } catch (e: Exception) {
                appState.value = AppState.Failed(Notice.of(e) ?: Notice.Unexpected(e.javaClass.simpleName))
                return@launch
            }
            appState.value = AppState.Ready(services, home)
            // A token FCM handed out while the app was not running, or before this sign-in.
            if (services.customer.isSignedInSafely()) pushTokens.registerWith(services.customer)
        }
    }

    private fun home(services: Services): Home {
        val customer = services.customer.isSignedIn
        val driver = services.driver.isSignedIn
        return when {
            memory.lastRole == Role.DRIVER && driver -> Home.DELIVERIES
            customer -> Home.ORDERS
            driver -> Home.DELIVERIES
            else -> Home.SIGN_IN
        }
    }

    /** A role signed in: it opens first from now on. */
    fun signedIn(role: Role) {
        memory.lastRole = role
    }

    /** Whether the customer is signed in, false when the phone cannot tell (its key store failed). */
    private fun CustomerService.isSignedInSafely(): Boolean = runCatching { isSignedIn }.getOrDefault(false)

    /** A link the app was opened with; anything but `caas://order/{id}` opens nothing. */
    fun openLink(link: String?) {
        orderInLink(link)?.let { pendingOrderState.value = it }
    }

    /** The screen opened the linked order. */
    fun linkOpened() {
        pendingOrderState.value = null
    }

    companion object {
        /** The order a `caas://order/{id}` link names, or null. */
        fun orderInLink(link: String?): UUID? {
            val uri = link?.let { runCatching { URI(it) }.getOrNull() } ?: return null
            if (uri.scheme != "caas" || uri.host != "order") return null
            val id = uri.path?.trim('/')?.takeIf { '/' !in it } ?: return null
            return runCatching { UUID.fromString(id) }.getOrNull()?.takeIf { it.toString() == id.lowercase() }
        }
    }
}
