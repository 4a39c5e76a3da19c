package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.text.input.KeyboardType
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.R
import eu.caas.companion.presentation.Role
import eu.caas.companion.presentation.SignInViewModel

/** Sign-in with a code sent by email, as a customer or as a transport company's driver. */
@Composable
fun SignInScreen(viewModel: SignInViewModel, onSignedIn: (Role) -> Unit) {
    val ui by viewModel.ui.collectAsStateWithLifecycle()
    val busy = viewModel.status.isBusy()
    LaunchedEffect(ui.signedInAs) { ui.signedInAs?.let(onSignedIn) }
    Screen(text(R.string.sign_in_title), viewModel.status) {
        Row {
            FilterChip(ui.role == Role.CUSTOMER, { viewModel.chooseRole(Role.CUSTOMER) }, { Text(text(R.string.role_customer)) })
            FilterChip(ui.role == Role.DRIVER, { viewModel.chooseRole(Role.DRIVER) }, { Text(text(R.string.role_driver)) })
        }
        OutlinedTextField(
            ui.email,
            viewModel::editEmail,
            label = { Text(text(R.string.email)) },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
        )
        if (!ui.codeSent) {
            Button(viewModel::requestCode, enabled = ui.canRequestCode && !busy) { Text(text(R.string.send_code)) }
        } else {
            OutlinedTextField(
                ui.code,
                viewModel::editCode,
                label = { Text(text(R.string.code)) },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
            )
            Button(viewModel::signIn, enabled = ui.canSignIn && !busy) { Text(text(R.string.sign_in)) }
        }
    }
}
