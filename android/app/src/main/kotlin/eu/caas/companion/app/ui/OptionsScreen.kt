package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.PaymentCard
import eu.caas.companion.app.Money
import eu.caas.companion.app.R
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.presentation.ActivationUi
import eu.caas.companion.presentation.Notice
import eu.caas.companion.presentation.OptionsViewModel
import eu.caas.companion.presentation.buyable

/**
 * Options for the delivered car: what it can take (bought by card here, the host keeping the
 * window out of screenshots), what was bought and where each stands, and, while one waits for the
 * car, handing it over from the phone nearby. [activate] is the host's: it asks for the Bluetooth
 * permissions, then starts the view model's activation over the phone's radio.
 */
@Composable
fun OptionsScreen(viewModel: OptionsViewModel, activate: () -> Unit) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val catalogue by viewModel.catalogue.collectAsStateWithLifecycle()
    val activation by viewModel.activation.collectAsStateWithLifecycle()
    val bankPage by viewModel.bankPage.collectAsStateWithLifecycle()
    val busy = viewModel.status.isBusy()
    // The offer whose card form is open: its code only, so it survives a rotation and closes by
    // itself once the offer is bought (the catalogue then no longer offers it).
    var buying by rememberSaveable { mutableStateOf<OptionCode?>(null) }
    OpenBankPage(bankPage, viewModel::bankPageOpened)
    Screen(text(R.string.options_title), viewModel.status) {
        Text(text(R.string.options_intro))
        val purchases = order?.options.orEmpty()
        // The catalogue is online only; the purchases' names are on the phone.
        val nameOf = { code: OptionCode ->
            catalogue?.offers?.firstOrNull { it.code == code }?.name ?: purchases.firstOrNull { it.option == code }?.name
        }
        order?.optionPaymentsInFlight?.forEach { code ->
            Text(text(R.string.option_payment_waiting, nameOf(code) ?: optionLabel(code)))
            OutlinedButton({ viewModel.resumePayment(code) }, enabled = !busy) { Text(text(R.string.pay_confirmed)) }
        }

        Section(text(R.string.options_offers))
        val offers = catalogue?.offers
        if (offers == null) {
            Text(text(R.string.options_offers_missing))
            OutlinedButton(viewModel::loadCatalogue, enabled = !busy) { Text(text(R.string.retry)) }
        }
        offers?.forEach { offer ->
            Offer(offer, buying = buying == offer.code && offer.buyable, busy = busy, choose = { buying = it }) { card ->
                viewModel.buy(offer, card)
            }
        }

        if (purchases.isNotEmpty()) {
            Section(text(R.string.options_bought))
            purchases.forEach { purchase ->
                Text("${purchase.name} · ${Money.format(purchase.price)}")
                Text(purchaseStatusText(purchase))
            }
        }
        // Kept once started, so the outcome stays on screen after the last one is no longer waiting.
        if (purchases.any { it.status == PurchaseStatus.PAID } || activation != ActivationUi.Idle) {
            Section(text(R.string.options_nearby))
            Activation(activation, activate, viewModel::cancelActivation)
        }
    }
}

/** One offer: its name and price, why it cannot be bought, or the button that opens the card form. */
@Composable
private fun Offer(
    offer: OptionOffer,
    buying: Boolean,
    busy: Boolean,
    choose: (OptionCode?) -> Unit,
    pay: (PaymentCard) -> Unit,
) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text("${offer.name} · ${Money.format(offer.price)}")
            offerHindrance(offer)?.let { Text(it) }
            when {
                !offer.buyable -> Unit
                buying -> {
                    CardForm(busy, pay)
                    TextButton({ choose(null) }) { Text(text(R.string.cancel)) }
                }
                else -> Button({ choose(offer.code) }, enabled = !busy) { Text(text(R.string.option_buy)) }
            }
        }
    }
}

/** Handing the waiting options to the car from the phone: the steps, then what the car did. */
@Composable
private fun Activation(state: ActivationUi, activate: () -> Unit, cancel: () -> Unit) {
    when (state) {
        ActivationUi.Idle -> {
            Text(text(R.string.options_nearby_intro))
            Button(activate) { Text(text(R.string.options_activate)) }
        }
        is ActivationUi.Working -> {
            LinearProgressIndicator()
            Text(carStepText(state.step))
            OutlinedButton(cancel) { Text(text(R.string.pair_cancel)) }
        }
        is ActivationUi.Done -> {
            Text(plural(R.plurals.options_activated, state.activated, state.activated))
            state.refused.forEach { Text("${optionLabel(it.option)}: ${noticeText(Notice.PairingFailed(it.failure))}") }
            if (!state.reported) Text(text(R.string.pair_unreported))
        }
        ActivationUi.NothingWaiting -> Text(text(R.string.options_nothing_waiting))
        is ActivationUi.Failed -> {
            Text(noticeText(state.problem))
            Button(activate) { Text(text(R.string.retry)) }
        }
    }
}
