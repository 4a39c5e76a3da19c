package eu.caas.companion.app

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CaasRepository
import eu.caas.companion.CustomerHandoverCode
import eu.caas.companion.PairingProgress
import eu.caas.companion.PaymentCard
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.DeliverySlot
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentProgress
import java.time.Instant
import java.util.UUID
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.onCompletion
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch

/** What the pairing screen shows. */
sealed interface PairingUi {
    data object Idle : PairingUi

    data class Working(val step: PairingStep) : PairingUi

    data class Linked(val vin: String, val batteryPercent: Int, val reported: Boolean) : PairingUi

    data class Failed(val why: String) : PairingUi
}

/** One order's screens: its snapshot, and every action on it with a sentence for the outcome. */
class OrderViewModel(private val repository: CaasRepository, val orderId: UUID) : ViewModel() {
    val order: StateFlow<OrderDetail?> =
        repository.order(orderId).stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    private val messageState = MutableStateFlow<String?>(null)
    val message: StateFlow<String?> = messageState.asStateFlow()

    private val busyState = MutableStateFlow(false)
    val busy: StateFlow<Boolean> = busyState.asStateFlow()

    private val slotsState = MutableStateFlow<List<DeliverySlot>>(emptyList())
    val slots: StateFlow<List<DeliverySlot>> = slotsState.asStateFlow()

    private val codeState = MutableStateFlow<CustomerHandoverCode?>(null)
    val handoverCode: StateFlow<CustomerHandoverCode?> = codeState.asStateFlow()

    private val pairingState = MutableStateFlow<PairingUi>(PairingUi.Idle)
    val pairing: StateFlow<PairingUi> = pairingState.asStateFlow()
    private var pairingJob: Job? = null

    fun dismissMessage() {
        messageState.value = null
    }

    /** Pays; a bank page to open comes back through [openBank]. */
    fun pay(card: PaymentCard, openBank: (String) -> Unit) = act {
        describe(repository.pay(orderId, card), openBank)
    }

    /** After the bank's page: how the payment ended. */
    fun resumePayment(openBank: (String) -> Unit) = act {
        repository.resumePayment(orderId)?.let { describe(it, openBank) } ?: "No payment is in progress."
    }

    private fun describe(progress: PaymentProgress, openBank: (String) -> Unit): String = when (progress) {
        is PaymentProgress.Succeeded -> "Paid. Your car is being registered."
        is PaymentProgress.Processing -> "Your bank is processing the payment."
        is PaymentProgress.RequiresAction -> {
            openBank(progress.url)
            "Confirm the payment with your bank, then come back."
        }
    }

    fun loadSlots() = act {
        slotsState.value = repository.deliverySlots(orderId)
        null
    }

    fun chooseWindow(start: Instant) = act {
        repository.chooseDeliveryWindow(orderId, start)
        "Delivery moved."
    }

    fun confirmAddress(address: String?) = act {
        repository.confirmDeliveryAddress(orderId, address?.takeIf { it.isNotBlank() })
        "Address confirmed."
    }

    private var codeJob: Job? = null

    /**
     * Shows the handover code (the one already shown while it is valid, or a new one when
     * [fresh]) and keeps it live, signed again every half minute, until it expires or
     * [hideHandoverCode].
     */
    fun showHandoverCode(fresh: Boolean = false) {
        codeJob?.cancel()
        messageState.value = null
        codeJob = viewModelScope.launch {
            repository.liveHandoverCode(orderId, fresh)
                .onCompletion { cause -> if (cause == null) expired() }
                .catch { error ->
                    codeState.value = null
                    messageState.value = if (error is CaasException) explain(error) else "${error.message}"
                }
                .collect { codeState.value = it }
        }
    }

    private fun expired() {
        codeState.value = null
        messageState.value = "The code has expired. Show a new one when the driver is with you."
    }

    /** The code screen closed: nothing is shown or signed any more. */
    fun hideHandoverCode() {
        codeJob?.cancel()
        codeState.value = null
    }

    fun pair(transport: BleTransport) {
        if (pairingJob?.isActive == true) return
        pairingJob = viewModelScope.launch {
            repository.pairVehicle(orderId, transport)
                .catch { error ->
                    pairingState.value = PairingUi.Failed(if (error is CaasException) explain(error) else "${error.message}")
                }
                .collect { progress ->
                    pairingState.value = when (progress) {
                        is PairingProgress.Step -> PairingUi.Working(progress.step)
                        is PairingProgress.Linked -> progress.paired.let {
                            PairingUi.Linked(it.vin, it.status.batteryPercent.toInt(), it.reported)
                        }
                    }
                }
        }
    }

    fun cancelPairing() {
        pairingJob?.cancel()
        pairingState.value = PairingUi.Idle
    }

    private fun act(work: suspend () -> String?) {
        viewModelScope.launch {
            busyState.value = true
            try {
                messageState.value = work()
            } catch (e: CaasException) {
                messageState.value = explain(e)
            } finally {
                busyState.value = false
            }
        }
    }
}
