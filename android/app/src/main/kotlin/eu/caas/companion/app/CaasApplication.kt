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
import eu.caas.companion.presentation.Services
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext

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
 * What the app holds once: the customer's and the driver's services (each with its own cache and
 * Keystore-sealed secrets), opened off the main thread on first use, and the phone's BLE
 * transport, created when pairing first needs it. A failed opening is not kept: the next
 * [open] tries again.
 */
class AppServices(private val context: Context) {
    private val opening = Mutex()
    private var opened: Services? = null

    suspend fun open(): Services = opening.withLock {
        opened ?: withContext(Dispatchers.IO) {
            val customer = CaasRepository.open(
                BuildConfig.BACKEND_URL,
                context.filesDir.resolve("customer"),
                KeystoreSecretStore(context, "customer"),
                KeystoreDeviceKey.loadOrCreate(),
            )
            val driver = try {
                DriverRepository.open(BuildConfig.BACKEND_URL, context.filesDir.resolve("driver"), KeystoreSecretStore(context, "driver"))
            } catch (e: Exception) {
                customer.close()
                throw e
            }
            Services(customer, driver)
        }.also { opened = it }
    }

    val bluetooth: GattBleTransport by lazy { GattBleTransport(context) }
}

val Context.services: AppServices get() = (applicationContext as CaasApplication).services
