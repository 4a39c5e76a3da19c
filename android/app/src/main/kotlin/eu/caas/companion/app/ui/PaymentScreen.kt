package eu.caas.companion.app.ui

import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalUriHandler
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.PaymentCard
import eu.caas.companion.app.Money
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrderViewModel

/**
 * The final payment by card; the card goes to the payment gateway only, never kept (the host
 * keeps the window out of screenshots meanwhile). The bank's 3-D Secure page opens in the
 * browser, once.
 */
@Composable
fun PaymentScreen(viewModel: OrderViewModel) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val bankPage by viewModel.bankPage.collectAsStateWithLifecycle()
    val busy = viewModel.status.isBusy()
    OpenBankPage(bankPage, viewModel::bankPageOpened)
    Screen(text(R.string.pay_title), viewModel.status) {
        order?.finalPayment?.let { Text(text(R.string.pay_due, Money.format(it.amountDue))) }
        CardForm(busy, viewModel::pay)
        if (order?.finalPayment?.attemptInFlight == true) {
            OutlinedButton(viewModel::resumePayment, enabled = !busy) { Text(text(R.string.pay_confirmed)) }
        }
    }
}

/** Opens the bank's 3-D Secure [page] in the browser once, then tells the view model ([opened]). */
@Composable
fun OpenBankPage(page: String?, opened: () -> Unit) {
    val browser = LocalUriHandler.current
    LaunchedEffect(page) {
        page?.let { url ->
            browser.openUri(url)
            opened()
        }
    }
}

/**
 * A card's number, expiry and security code, and the button that pays with it (off while [busy]
 * or the card is incomplete). The final payment and the options are paid with it.
 */
@Composable
fun CardForm(busy: Boolean, pay: (PaymentCard) -> Unit) {
    // The card number and security code stay in memory only: never in the saved instance state.
    var number by remember { mutableStateOf("") }
    var expiry by rememberSaveable { mutableStateOf("") }
    var cvc by remember { mutableStateOf("") }
    OutlinedTextField(number, { number = it.filter(Char::isDigit).take(19) }, label = { Text(text(R.string.card_number)) },
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number))
    OutlinedTextField(expiry, { expiry = it.take(5) }, label = { Text(text(R.string.card_expiry)) },
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number))
    OutlinedTextField(cvc, { cvc = it.filter(Char::isDigit).take(4) }, label = { Text(text(R.string.card_cvc)) },
        visualTransformation = PasswordVisualTransformation(),
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
    val (month, year) = expiry.split('/').let { it.getOrNull(0)?.toIntOrNull() to it.getOrNull(1)?.toIntOrNull() }
    Button(
        onClick = { pay(PaymentCard(number, month ?: 0, 2000 + (year ?: 0), cvc)) },
        enabled = !busy && number.length >= 12 && month != null && year != null && cvc.length >= 3,
    ) { Text(text(R.string.pay_button)) }
}
