package eu.caas.companion.app.ui

import android.Manifest
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.R
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.PairingStep
import eu.caas.companion.presentation.OrderViewModel
import eu.caas.companion.presentation.PairingUi

/** Pairing the phone with the delivered car: Bluetooth permission, then the steps as they go. */
@Composable
fun PairingScreen(viewModel: OrderViewModel, bluetooth: () -> BleTransport) {
    val pairing by viewModel.pairing.collectAsStateWithLifecycle()
    val permissions = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
        arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
    } else {
        arrayOf(Manifest.permission.ACCESS_FINE_LOCATION)
    }
    val ask = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        if (granted.values.all { it }) viewModel.pair(bluetooth())
    }
    Screen(stringResource(R.string.pair_title), viewModel.status) {
        when (val state = pairing) {
            PairingUi.Idle -> {
                Text(stringResource(R.string.pair_intro))
                Button({ ask.launch(permissions) }) { Text(stringResource(R.string.pair_button)) }
            }
            is PairingUi.Working -> {
                LinearProgressIndicator()
                Text(
                    stringResource(
                        when (state.step) {
                            PairingStep.SCANNING -> R.string.pair_scanning
                            PairingStep.CONNECTING -> R.string.pair_connecting
                            PairingStep.AUTHENTICATING -> R.string.pair_authenticating
                            PairingStep.LINKED -> R.string.pair_linked_step
                        },
                    ),
                )
                OutlinedButton(viewModel::cancelPairing) { Text(stringResource(R.string.pair_cancel)) }
            }
            is PairingUi.Linked -> {
                Text(stringResource(R.string.pair_done, state.vin, state.batteryPercent))
                if (!state.reported) Text(stringResource(R.string.pair_unreported))
            }
            is PairingUi.Failed -> {
                Text(noticeText(state.problem))
                Button({ ask.launch(permissions) }) { Text(stringResource(R.string.retry)) }
            }
        }
    }
}
