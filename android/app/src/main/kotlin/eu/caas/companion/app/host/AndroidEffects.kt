package eu.caas.companion.app.host

import android.Manifest
import android.content.res.Resources
import android.os.Build
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
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

/** Asks for the notification permission (Android 13 and later), then calls [asked] whatever the answer. */
@Composable
fun rememberNotificationPermission(asked: () -> Unit): () -> Unit {
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { asked() }
    return {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) launcher.launch(Manifest.permission.POST_NOTIFICATIONS) else asked()
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

/** The camera scanner for a VIN or a handover code: shows the prompt, hands back what it read. */
@Composable
fun rememberScanner(): (prompt: String, onRead: (String) -> Unit) -> Unit {
    var pending by remember { mutableStateOf<((String) -> Unit)?>(null) }
    val launcher = rememberLauncherForActivityResult(ScanContract()) { result ->
        val read = pending
        pending = null
        result.contents?.let { read?.invoke(it) }
    }
    return { prompt, onRead ->
        pending = onRead
        launcher.launch(ScanOptions().setPrompt(prompt))
    }
}
