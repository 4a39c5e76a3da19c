package eu.caas.companion.app.host

import android.Manifest
import android.content.Intent
import android.content.res.Resources
import android.os.Build
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.ui.platform.LocalContext
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import eu.caas.companion.app.ui.Texts

/** The app's texts from Android's resources, in the phone's language. */
class ResourceTexts(private val resources: Resources) : Texts {
    override fun string(id: Int, vararg args: Any): String = resources.getString(id, *args)

    override fun plural(id: Int, count: Int, vararg args: Any): String = resources.getQuantityString(id, count, *args)
}

/**
 * Keeps the window out of screenshots, screen recordings and the recents thumbnail while shown:
 * for a card being typed and a handover code, both credentials.
 */
@Composable
fun SecureWindow() {
    val activity = LocalContext.current as? ComponentActivity
    DisposableEffect(activity) {
        activity?.window?.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        onDispose { activity?.window?.clearFlags(WindowManager.LayoutParams.FLAG_SECURE) }
    }
}

/**
 * Asks for the notification permission (Android 13 and later), once: [asked] is told first, so a
 * rotation while the system's dialog is up does not ask again.
 */
@Composable
fun rememberNotificationPermission(asked: () -> Unit): () -> Unit {
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { }
    return {
        asked()
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) launcher.launch(Manifest.permission.POST_NOTIFICATIONS)
    }
}

/** Asks for what scanning and connecting to the car need, then calls [granted] if all were given. */
@Composable
fun rememberBluetoothPermissions(granted: () -> Unit): () -> Unit {
    val permissions = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
        arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
    } else {
        arrayOf(Manifest.permission.ACCESS_FINE_LOCATION)
    }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { answers ->
        if (answers.values.all { it }) granted()
    }
    return { launcher.launch(permissions) }
}

/**
 * The camera scanner for a VIN or a handover code: shows the prompt and hands what it read (null
 * when closed) to [onRead], which does not depend on this composition surviving.
 */
@Composable
fun rememberScanner(onRead: (String?) -> Unit): (prompt: String) -> Unit {
    val launcher = rememberLauncherForActivityResult(ScanContract()) { result -> onRead(result.contents) }
    return { prompt -> launcher.launch(ScanOptions().setPrompt(prompt)) }
}

/**
 * The system's share sheet for the purchase record (a JSON document the customer keeps or hands
 * over; anyone checks it offline with the platform's public key).
 */
@Composable
fun rememberShare(): (String) -> Unit {
    val context = LocalContext.current
    return { record ->
        val send = Intent(Intent.ACTION_SEND)
            .setType("application/json")
            .putExtra(Intent.EXTRA_TEXT, record)
        context.startActivity(Intent.createChooser(send, null))
    }
}
