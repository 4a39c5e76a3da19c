package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.text.input.KeyboardType
import eu.caas.companion.CaasRepository
import eu.caas.companion.DriverRepository
import eu.caas.companion.app.explain
import eu.caas.companion.core.CaasException
import kotlinx.coroutines.launch

enum class Role { CUSTOMER, DRIVER }

/** Sign-in with a code sent by email, as a customer or as a transport company's driver. */
@Composable
fun SignInScreen(customer: CaasRepository, driver: DriverRepository, onSignedIn: (Role) -> Unit) {
    var role by rememberSaveable { mutableStateOf(Role.CUSTOMER) }
    var email by rememberSaveable { mutableStateOf("") }
    var code by rememberSaveable { mutableStateOf("") }
    var codeSent by rememberSaveable { mutableStateOf(false) }
    var message by rememberSaveable { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    fun attempt(work: suspend () -> Unit) = scope.launch {
        try {
            work()
        } catch (e: CaasException) {
            message = explain(e)
        }
    }
    Screen("Sign in", message, { message = null }) {
        Row {
            FilterChip(role == Role.CUSTOMER, { role = Role.CUSTOMER }, { Text("My car") })
            FilterChip(role == Role.DRIVER, { role = Role.DRIVER }, { Text("I deliver cars") })
        }
        OutlinedTextField(
            email,
            { email = it.trim() },
            label = { Text("Email") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
        )
        if (!codeSent) {
            Button(onClick = {
                attempt {
                    if (role == Role.DRIVER) driver.requestSignInCode(email) else customer.requestSignInCode(email)
                    codeSent = true
                    message = "We sent a code to $email."
                }
            }, enabled = email.contains('@')) { Text("Send me a code") }
        } else {
            OutlinedTextField(
                code,
                { code = it.filter(Char::isDigit) },
                label = { Text("Code") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
            )
            Button(onClick = {
                attempt {
                    if (role == Role.DRIVER) driver.signIn(email, code) else customer.signIn(email, code)
                    onSignedIn(role)
                }
            }, enabled = code.isNotEmpty()) { Text("Sign in") }
        }
    }
}
