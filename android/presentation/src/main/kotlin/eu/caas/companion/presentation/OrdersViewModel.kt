package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CustomerService
import eu.caas.companion.core.OrderSummary
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Whether the app already asked for something the person answers once: the notification
 * permission. Kept by the app (its preferences), so a refusal is respected across launches.
 */
interface AskedOnce {
    var notificationsAsked: Boolean
}

/**
 * The customer's orders, from the cache at once and synced when the screen opens or is pulled.
 * The notification permission is asked here, once: the customer has just seen what they will be
 * told about, which is when the question makes sense.
 */
class OrdersViewModel(private val customer: CustomerService, private val asked: AskedOnce) : ViewModel() {
    val orders: StateFlow<List<OrderSummary>> = customer.orders

    val status = ScreenStatus()

    private val refreshingState = MutableStateFlow(false)

    /** A pull to refresh is running. */
    val refreshing: StateFlow<Boolean> = refreshingState.asStateFlow()

    private val promptState = MutableStateFlow(!asked.notificationsAsked)

    /** The screen should ask for the notification permission now. */
    val askForNotifications: StateFlow<Boolean> = promptState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        if (refreshingState.value) return
        refreshingState.value = true
        status.run(viewModelScope) {
            try {
                customer.sync()
            } finally {
                refreshingState.value = false
            }
            null
        }
    }

    /** The permission was asked (whatever the answer): never again from here. */
    fun notificationsAsked() {
        asked.notificationsAsked = true
        promptState.value = false
    }
}
