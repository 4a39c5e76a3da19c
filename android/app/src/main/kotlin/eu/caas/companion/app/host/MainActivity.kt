package eu.caas.companion.app.host

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.viewModels
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.CompositionLocalProvider
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import eu.caas.companion.app.AppPreferences
import eu.caas.companion.app.play.FcmPushTokens
import eu.caas.companion.app.services
import eu.caas.companion.app.ui.LocalTexts
import eu.caas.companion.presentation.AppViewModel

class MainActivity : ComponentActivity() {
    private val app: AppViewModel by viewModels {
        // The application's services, not the activity: the view model outlives a rotation.
        val services = application.services
        val memory = AppPreferences(application)
        viewModelFactory { initializer { AppViewModel({ services.open() }, memory, FcmPushTokens) } }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // A recreated activity (a rotation) was opened with the same link, and one relaunched from
        // the recents keeps the link it was first opened with: neither is opened again.
        val fromRecents = intent?.flags?.and(Intent.FLAG_ACTIVITY_LAUNCHED_FROM_HISTORY) != 0
        if (savedInstanceState == null && !fromRecents) app.openLink(intent?.dataString)
        setContent {
            MaterialTheme {
                CompositionLocalProvider(LocalTexts provides ResourceTexts(resources)) {
                    CaasApp(app, AppPreferences(applicationContext)) { services.bluetooth }
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        app.openLink(intent.dataString)
    }
}
