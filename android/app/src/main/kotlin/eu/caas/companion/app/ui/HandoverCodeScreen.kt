package eu.caas.companion.app.ui

import android.graphics.Bitmap
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.size
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.LifecycleStartEffect
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.google.zxing.BarcodeFormat
import com.google.zxing.qrcode.QRCodeWriter
import eu.caas.companion.app.Dates
import eu.caas.companion.app.R
import eu.caas.companion.presentation.OrderViewModel

/**
 * The code the driver or the dealership checks before handing the car over: a QR code and eight
 * digits to read out. The screen is kept from screenshots and recents, since the code is a
 * short-lived credential.
 */
@Composable
fun HandoverCodeScreen(viewModel: OrderViewModel) {
    SecureWindow()
    val code by viewModel.handoverCode.collectAsStateWithLifecycle()
    // Signed only while the screen is visible; coming back shows the same code, not a new one.
    LifecycleStartEffect(viewModel) {
        viewModel.showHandoverCode()
        onStopOrDispose { viewModel.hideHandoverCode() }
    }
    Screen(stringResource(R.string.code_title), viewModel.status) {
        code?.let { current ->
            val qr = remember(current.token) { qrBitmap(current.token) }
            Image(qr.asImageBitmap(), contentDescription = stringResource(R.string.code_qr), modifier = Modifier.size(280.dp))
            Text(current.shortCode.chunked(4).joinToString(" "), style = MaterialTheme.typography.displaySmall)
            Text(stringResource(R.string.code_valid_until, Dates.moment(current.expiresAt)))
        }
        Button({ viewModel.showHandoverCode(fresh = true) }) { Text(stringResource(R.string.code_new)) }
    }
}

private fun qrBitmap(text: String, size: Int = 512): Bitmap {
    val matrix = QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, size, size)
    val pixels = IntArray(size * size) { i -> if (matrix[i % size, i / size]) 0xFF000000.toInt() else 0xFFFFFFFF.toInt() }
    return Bitmap.createBitmap(pixels, size, size, Bitmap.Config.ARGB_8888)
}
