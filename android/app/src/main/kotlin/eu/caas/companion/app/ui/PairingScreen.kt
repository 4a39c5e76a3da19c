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
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.app.OrderViewModel
import eu.caas.companion.app.PairingUi
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.PairingStep

/** Pairing the phone with the delivered car: Bluetooth permission, then the steps as they go. */
@Composable
fun PairingScreen(viewModel: OrderViewModel, bluetooth: BleTransport) {
    val pairing by viewModel.pairing.collectAsStateWithLifecycle()
    val permissions = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
        arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
    } else {
        arrayOf(Manifest.permission.ACCESS_FINE_LOCATION)
    }
    val ask = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        if (granted.values.all { it }) viewModel.pair(bluetooth)
    }
    Screen("Pair with your car") {
        when (val state = pairing) {
            PairingUi.Idle -> {
                Text("Stand next to your car with Bluetooth on. The phone checks it is your car before sending anything.")
                Button({ ask.launch(permissions) }) { Text("Pair") }
            }
            is PairingUi.Working -> {
                LinearProgressIndicator()
                Text(
                    when (state.step) {
                        PairingStep.SCANNING -> "Looking for your car…"
                        PairingStep.CONNECTING -> "Connecting…"
                        PairingStep.AUTHENTICATING -> "Checking the car and presenting your key…"
                        PairingStep.LINKED -> "Linked."
                    },
                )
                OutlinedButton(viewModel::cancelPairing) { Text("Cancel") }
            }
            is PairingUi.Linked -> {
                Text("Your phone is linked to ${state.vin}. Battery ${state.batteryPercent}%.")
                if (!state.reported) Text("The platform hears of it as soon as the phone is online.")
            }
            is PairingUi.Failed -> {
                Text(state.why)
                Button({ ask.launch(permissions) }) { Text("Try again") }
            }
        }
    }
}
