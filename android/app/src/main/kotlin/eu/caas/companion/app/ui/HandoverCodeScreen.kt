package eu.caas.companion.app.ui

import android.graphics.Bitmap
import android.view.WindowManager
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.size
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.LifecycleStartEffect
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.activity.ComponentActivity
import com.google.zxing.BarcodeFormat
import com.google.zxing.qrcode.QRCodeWriter
import eu.caas.companion.app.Dates
import eu.caas.companion.app.OrderViewModel

/**
 * The code the driver or the dealership checks before handing the car over: a QR code and eight
 * digits to read out. The screen is kept from screenshots and recents, since the code is a
 * short-lived credential.
 */
@Composable
fun HandoverCodeScreen(viewModel: OrderViewModel) {
    val code by viewModel.handoverCode.collectAsStateWithLifecycle()
    val message by viewModel.message.collectAsStateWithLifecycle()
    val activity = LocalContext.current as? ComponentActivity
    DisposableEffect(activity) {
        activity?.window?.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        onDispose { activity?.window?.clearFlags(WindowManager.LayoutParams.FLAG_SECURE) }
    }
    // Signed only while the screen is visible; coming back shows the same code, not a new one.
    LifecycleStartEffect(viewModel) {
        viewModel.showHandoverCode()
        onStopOrDispose { viewModel.hideHandoverCode() }
    }
    Screen("Handover code", message, viewModel::dismissMessage) {
        code?.let { current ->
            val qr = remember(current.token) { qrBitmap(current.token) }
            Image(qr.asImageBitmap(), contentDescription = "Handover QR code", modifier = Modifier.size(280.dp))
            Text(current.shortCode.chunked(4).joinToString(" "), style = MaterialTheme.typography.displaySmall)
            Text("Valid until ${Dates.moment(current.expiresAt)}")
        }
        Button({ viewModel.showHandoverCode(fresh = true) }) { Text("New code") }
    }
}

private fun qrBitmap(text: String, size: Int = 512): Bitmap {
    val matrix = QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, size, size)
    val pixels = IntArray(size * size) { i -> if (matrix[i % size, i / size]) 0xFF000000.toInt() else 0xFFFFFFFF.toInt() }
    return Bitmap.createBitmap(pixels, size, size, Bitmap.Config.ARGB_8888)
}
