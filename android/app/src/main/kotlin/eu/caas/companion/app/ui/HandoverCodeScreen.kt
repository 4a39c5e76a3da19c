package eu.caas.companion.app.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.size
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import com.google.zxing.common.BitMatrix
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
 * digits to read out. The host keeps the screen from screenshots and recents, since the code is a
 * short-lived credential.
 */
@Composable
fun HandoverCodeScreen(viewModel: OrderViewModel) {
    val code by viewModel.handoverCode.collectAsStateWithLifecycle()
    // Signed only while the screen is visible; coming back shows the same code, not a new one.
    LifecycleStartEffect(viewModel) {
        viewModel.showHandoverCode()
        onStopOrDispose { viewModel.hideHandoverCode() }
    }
    Screen(text(R.string.code_title), viewModel.status) {
        code?.let { current ->
            val qr = remember(current.token) { QRCodeWriter().encode(current.token, BarcodeFormat.QR_CODE, 0, 0) }
            val description = text(R.string.code_qr)
            QrCode(qr, Modifier.size(280.dp).semantics { contentDescription = description })
            Text(current.shortCode.chunked(4).joinToString(" "), style = MaterialTheme.typography.displaySmall)
            Text(text(R.string.code_valid_until, Dates.moment(current.expiresAt)))
        }
        Button({ viewModel.showHandoverCode(fresh = true) }) { Text(text(R.string.code_new)) }
    }
}

/** The QR code's modules as dark squares on white, with the quiet zone zxing adds. */
@Composable
private fun QrCode(matrix: BitMatrix, modifier: Modifier) {
    Canvas(modifier) {
        drawRect(Color.White)
        val module = size.minDimension / maxOf(matrix.width, matrix.height)
        for (y in 0 until matrix.height) {
            for (x in 0 until matrix.width) {
                if (matrix[x, y]) drawRect(Color.Black, Offset(x * module, y * module), Size(module, module))
            }
        }
    }
}
