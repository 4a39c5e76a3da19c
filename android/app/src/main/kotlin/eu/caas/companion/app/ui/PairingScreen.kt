package eu.caas.companion.app.ui

import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrderViewModel
import eu.caas.companion.presentation.PairingUi

/**
 * Pairing the phone with the delivered car, its steps as they go. [pair] is the host's: it asks
 * for the Bluetooth permissions, then starts the view model's pairing over the phone's radio.
 */
@Composable
fun PairingScreen(viewModel: OrderViewModel, pair: () -> Unit) {
    val pairing by viewModel.pairing.collectAsStateWithLifecycle()
    Screen(text(R.string.pair_title), viewModel.status) {
        when (val state = pairing) {
            PairingUi.Idle -> {
                Text(text(R.string.pair_intro))
                Button(pair) { Text(text(R.string.pair_button)) }
            }
            is PairingUi.Working -> {
                LinearProgressIndicator()
                Text(carStepText(state.step))
                OutlinedButton(viewModel::cancelPairing) { Text(text(R.string.pair_cancel)) }
            }
            is PairingUi.Linked -> {
                Text(text(R.string.pair_done, state.vin, state.batteryPercent))
                if (!state.reported) Text(text(R.string.pair_unreported))
            }
            is PairingUi.Failed -> {
                Text(noticeText(state.problem))
                Button(pair) { Text(text(R.string.retry)) }
            }
        }
    }
}
