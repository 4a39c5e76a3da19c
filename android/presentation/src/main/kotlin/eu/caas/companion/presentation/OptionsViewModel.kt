package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.ActivationProgress
import eu.caas.companion.CustomerService
import eu.caas.companion.PaymentCard
import eu.caas.companion.core.Availability
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.OptionCatalogue
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.RefusedOption
import java.util.UUID
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch

/** What the "activate nearby" part of the options screen shows. */
sealed interface ActivationUi {
    data object Idle : ActivationUi

    data class Working(val step: PairingStep) : ActivationUi

    /** The car took [activated] options and refused [refused]; [reported] says whether the platform knows yet. */
    data class Done(val activated: Int, val refused: List<RefusedOption>, val reported: Boolean) : ActivationUi

    /** Nothing waited for the car: the connected-car network delivered it meanwhile, or nothing is paid. */
    data object NothingWaiting : ActivationUi

    data class Failed(val problem: Notice.Problem) : ActivationUi
}

/**
 * Whether the customer can buy this offer in the app: only what the car can take now, and never a
 * workshop option (fitted at the dealership, whatever the platform says of it).
 */
val OptionOffer.buyable: Boolean
    get() = availability == Availability.Available && kind != OptionKind.WORKSHOP

/**
 * Options after delivery for one order's car: the catalogue (fetched when the screen opens; it
 * needs a connection), the purchases (from the order's snapshot, offline too), buying one by card
 * with the final payment's bank page, and handing the paid ones to the car over Bluetooth when the
 * connected-car network cannot reach it.
 */
class OptionsViewModel(private val customer: CustomerService, val orderId: UUID) : ViewModel() {
    /** The order, whose `options` are the purchases and `optionPaymentsInFlight` the payments to resume. */
    val order: StateFlow<OrderDetail?> =
        customer.order(orderId).stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    val status = ScreenStatus()

    private val catalogueState = MutableStateFlow<OptionCatalogue?>(null)

    /** The offers for the car; null until fetched (or while offline). */
    val catalogue: StateFlow<OptionCatalogue?> = catalogueState.asStateFlow()

    private val bank = BankPage()

    /** The bank's 3-D Secure page to open, until the screen opened it. */
    val bankPage: StateFlow<String?> = bank.page

    private val activationState = MutableStateFlow<ActivationUi>(ActivationUi.Idle)
    val activation: StateFlow<ActivationUi> = activationState.asStateFlow()
    private var activationJob: Job? = null

    init {
        loadCatalogue()
    }

    fun loadCatalogue() = status.run(viewModelScope) {
        catalogueState.value = customer.optionCatalogue(orderId)
        null
    }

    /** Buys [offer] at the price shown with it. */
    fun buy(offer: OptionOffer, card: PaymentCard) = status.run(viewModelScope) {
        bought(customer.buyOption(orderId, offer, card))
    }

    /** After the bank's page: how the payment for [option] ended. */
    fun resumePayment(option: OptionCode) = status.run(viewModelScope) {
        customer.resumeOptionPayment(orderId, option)?.let { bought(it) } ?: Notice.NoPaymentInProgress
    }

    /** The screen opened the bank's page. */
    fun bankPageOpened() = bank.opened()

    private fun bought(progress: PaymentProgress): Notice {
        // A bought option is on its way to the car now: the offers say so.
        if (progress is PaymentProgress.Succeeded) refreshCatalogue()
        return bank.notice(progress, Notice.OptionBought)
    }

    /**
     * The catalogue again, quietly: the purchase's notice is what the customer needs to read, and
     * a catalogue that could not be fetched keeps the one shown.
     */
    private fun refreshCatalogue() = viewModelScope.launch {
        try {
            catalogueState.value = customer.optionCatalogue(orderId)
        } catch (ignored: CaasException) {
        }
    }

    /** Hands the paid options to the car over [transport]; one activation at a time. */
    fun activate(transport: BleTransport) {
        if (activationJob?.isActive == true) return
        activationJob = viewModelScope.launch {
            customer.activateOptions(orderId, transport)
                .catch { error ->
                    if (error !is Exception) throw error
                    // A cancelled activation (the person closed the Bluetooth prompt) is no failure.
                    activationState.value = Notice.of(error)?.let { ActivationUi.Failed(it) } ?: ActivationUi.Idle
                }
                .collect { progress ->
                    activationState.value = when (progress) {
                        is ActivationProgress.Step -> ActivationUi.Working(progress.step)
                        is ActivationProgress.Done -> progress.activation.let {
                            // The phone did not go to the car, and nothing the platform sent was unusable.
                            if (it.link == null && it.refused.isEmpty()) ActivationUi.NothingWaiting
                            else ActivationUi.Done(it.activated.size, it.refused, it.reported)
                        }
                    }
                    if (progress is ActivationProgress.Done) refreshCatalogue()
                }
        }
    }

    fun cancelActivation() {
        activationJob?.cancel()
        activationState.value = ActivationUi.Idle
    }
}
