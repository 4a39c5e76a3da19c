package eu.caas.companion.app

import android.app.Application
import android.content.Context
import eu.caas.companion.CaasRepository
import eu.caas.companion.DriverRepository
import eu.caas.companion.android.GattBleTransport
import eu.caas.companion.android.KeystoreDeviceKey
import eu.caas.companion.android.KeystoreSecretStore
import eu.caas.companion.android.Logcat
import eu.caas.companion.android.PlatformTls
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async

class CaasApplication : Application() {
    val services: AppServices by lazy { AppServices(this) }

    override fun onCreate() {
        super.onCreate()
        PlatformTls.init(this)
        Logcat.install()
        Notifications.createChannels(this)
    }
}

/**
 * What the app holds once: the customer's and the driver's repositories (each with its own
 * cache and Keystore-sealed secrets), opened off the main thread, and the phone's BLE transport.
 */
class AppServices(private val context: Context) {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    val customer: Deferred<CaasRepository> = scope.async {
        CaasRepository.open(
            BuildConfig.BACKEND_URL,
            context.filesDir.resolve("customer"),
            KeystoreSecretStore(context, "customer"),
            KeystoreDeviceKey.loadOrCreate(),
        )
    }

    val driver: Deferred<DriverRepository> = scope.async {
        DriverRepository.open(BuildConfig.BACKEND_URL, context.filesDir.resolve("driver"), KeystoreSecretStore(context, "driver"))
    }

    val bluetooth: GattBleTransport by lazy { GattBleTransport(context) }
}

val Context.services: AppServices get() = (applicationContext as CaasApplication).services
