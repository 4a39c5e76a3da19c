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
        viewModelFactory {
            initializer { AppViewModel({ services.open() }, AppPreferences(applicationContext), FcmPushTokens) }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // A recreated activity (a rotation) was opened with the same link: it is not opened again.
        if (savedInstanceState == null) app.openLink(intent?.dataString)
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
