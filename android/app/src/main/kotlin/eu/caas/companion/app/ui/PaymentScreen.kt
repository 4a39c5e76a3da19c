package eu.caas.companion.app.ui

import android.content.Intent
import android.net.Uri
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.PaymentCard
import eu.caas.companion.app.Money
import eu.caas.companion.app.OrderViewModel

/** The final payment by card; the card goes to the payment gateway only, never kept. */
@Composable
fun PaymentScreen(viewModel: OrderViewModel) {
    val order by viewModel.order.collectAsStateWithLifecycle()
    val message by viewModel.message.collectAsStateWithLifecycle()
    val busy by viewModel.busy.collectAsStateWithLifecycle()
    // The card number and security code stay in memory only: never in the saved instance state.
    var number by remember { mutableStateOf("") }
    var expiry by rememberSaveable { mutableStateOf("") }
    var cvc by remember { mutableStateOf("") }
    val context = LocalContext.current
    val openBank = { url: String -> context.startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(url))) }
    Screen("Pay", message, viewModel::dismissMessage) {
        order?.finalPayment?.let { Text("Due: ${Money.format(it.amountDue)}") }
        OutlinedTextField(number, { number = it.filter(Char::isDigit).take(19) }, label = { Text("Card number") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number))
        OutlinedTextField(expiry, { expiry = it.take(5) }, label = { Text("Expiry (MM/YY)") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number))
        OutlinedTextField(cvc, { cvc = it.filter(Char::isDigit).take(4) }, label = { Text("Security code") },
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
        val (month, year) = expiry.split('/').let { it.getOrNull(0)?.toIntOrNull() to it.getOrNull(1)?.toIntOrNull() }
        Button(
            onClick = { viewModel.pay(PaymentCard(number, month ?: 0, 2000 + (year ?: 0), cvc), openBank) },
            enabled = !busy && number.length >= 12 && month != null && year != null && cvc.length >= 3,
        ) { Text("Pay") }
        if (order?.finalPayment?.attemptInFlight == true) {
            OutlinedButton({ viewModel.resumePayment(openBank) }, enabled = !busy) { Text("I confirmed it with my bank") }
        }
    }
}
