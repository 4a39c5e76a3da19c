package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CustomerHandoverCode
import eu.caas.companion.CustomerService
import eu.caas.companion.PairingProgress
import eu.caas.companion.PaymentCard
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.DeliverySlot
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.PairingStep
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

    data class Failed(val problem: Notice.Problem) : PairingUi
}

/** One order's screens: its snapshot, and every action on it with a notice for the outcome. */
class OrderViewModel(private val customer: CustomerService, val orderId: UUID) : ViewModel() {
    /** The cached order from the first frame (read synchronously), then every change. */
    val order: StateFlow<OrderDetail?> =
        customer.order(orderId).stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), cached())

    val status = ScreenStatus()

    private val slotsState = MutableStateFlow<List<DeliverySlot>>(emptyList())
    val slots: StateFlow<List<DeliverySlot>> = slotsState.asStateFlow()

    private val bank = BankPage()

    /** The bank's 3-D Secure page to open, until the screen opened it. */
    val bankPage: StateFlow<String?> = bank.page

    private val recordState = MutableStateFlow<String?>(null)

    /** The purchase record to share, until the screen handed it to the share sheet. */
    val recordToShare: StateFlow<String?> = recordState.asStateFlow()

    private val codeState = MutableStateFlow<CustomerHandoverCode?>(null)
    val handoverCode: StateFlow<CustomerHandoverCode?> = codeState.asStateFlow()
    private var codeJob: Job? = null

    private val pairingState = MutableStateFlow<PairingUi>(PairingUi.Idle)
    val pairing: StateFlow<PairingUi> = pairingState.asStateFlow()
    private var pairingJob: Job? = null

    fun pay(card: PaymentCard) = status.run(viewModelScope) { bank.notice(customer.pay(orderId, card), Notice.Paid) }

    /** After the bank's page: how the payment ended. */
    fun resumePayment() = status.run(viewModelScope) {
        customer.resumePayment(orderId)?.let { bank.notice(it, Notice.Paid) } ?: Notice.NoPaymentInProgress
    }

    /** The screen opened the bank's page. */
    fun bankPageOpened() = bank.opened()

    /** Exports the purchase record, signed by the platform, for the share sheet. */
    fun shareRecord() = status.run(viewModelScope) {
        recordState.value = customer.exportRecord(orderId)
        null
    }

    /** The screen handed the record to the share sheet. */
    fun recordShared() {
        recordState.value = null
    }

    fun loadSlots() = status.run(viewModelScope) {
        slotsState.value = customer.deliverySlots(orderId)
        null
    }

    fun chooseWindow(start: Instant) = status.run(viewModelScope) {
        customer.chooseDeliveryWindow(orderId, start)
        Notice.DeliveryMoved
    }

    fun confirmAddress(address: String?) = status.run(viewModelScope) {
        customer.confirmDeliveryAddress(orderId, address?.takeIf { it.isNotBlank() })
        Notice.AddressConfirmed
    }

    /**
     * Shows the handover code (the one already shown while it is valid, or a new one when
     * [fresh]) and keeps it live, signed again every half minute, until it expires or
     * [hideHandoverCode].
     */
    fun showHandoverCode(fresh: Boolean = false) {
        codeJob?.cancel()
        status.dismiss()
        codeJob = viewModelScope.launch {
            customer.liveHandoverCode(orderId, fresh)
                .onCompletion { cause -> if (cause == null) expired() }
                .catch { error ->
                    codeState.value = null
                    if (error is Exception) status.show(Notice.of(error)) else throw error
                }
                .collect { codeState.value = it }
        }
    }

    private fun expired() {
        codeState.value = null
        status.show(Notice.HandoverCodeExpired)
    }

    /** The code screen closed: nothing is shown or signed any more. */
    fun hideHandoverCode() {
        codeJob?.cancel()
        codeState.value = null
    }

    fun pair(transport: BleTransport) {
        if (pairingJob?.isActive == true) return
        pairingJob = viewModelScope.launch {
            customer.pairVehicle(orderId, transport)
                .catch { error ->
                    if (error !is Exception) throw error
                    // A cancelled pairing (the person closed the Bluetooth prompt) is no failure.
                    pairingState.value = Notice.of(error)?.let { PairingUi.Failed(it) } ?: PairingUi.Idle
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

    /** The order as cached now; null while it is not (the flow brings it, or says why not). */
    private fun cached(): OrderDetail? =
        try {
            customer.orderSnapshot(orderId)
        } catch (notYet: CaasException) {
            null
        }
}
