package eu.caas.companion.app

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import java.util.UUID
import kotlinx.coroutines.flow.MutableStateFlow

class MainActivity : ComponentActivity() {
    /** The order a notification asked to open (`caas://order/{id}`), until the UI shows it. */
    private val deepLink = MutableStateFlow<UUID?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        deepLink.value = orderFrom(intent)
        setContent {
            MaterialTheme {
                CaasApp(services, deepLink)
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        deepLink.value = orderFrom(intent)
    }

    /** The order a `caas://order/{id}` link names; a link with anything else opens nothing. */
    private fun orderFrom(intent: Intent?): UUID? =
        intent?.data?.takeIf { it.scheme == "caas" && it.host == "order" }?.lastPathSegment?.let(::orderId)
}
