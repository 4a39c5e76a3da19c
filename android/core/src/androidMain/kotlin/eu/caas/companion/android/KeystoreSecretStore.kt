package eu.caas.companion.android

import android.content.Context
import android.content.SharedPreferences
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import eu.caas.companion.SealedSecretStore
import eu.caas.companion.SealedValues
import eu.caas.companion.SealingKeys
import eu.caas.companion.core.SecretStore
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * The core's secret store on Android: each value sealed under an AES-256 key that lives in
 * Android Keystore (never exportable), the ciphertext kept in the app's private preferences,
 * which the backup rules exclude. Each role of the app ([name]: customer, driver) has its own
 * file; all share one Keystore key, created once ([SealedSecretStore]).
 */
class KeystoreSecretStore(context: Context, name: String) :
    SecretStore by SealedSecretStore(KeystoreKeys, PreferenceValues(context.getSharedPreferences("caas.secrets.$name", Context.MODE_PRIVATE)))

/** The app's sealing key in Android Keystore. */
private object KeystoreKeys : SealingKeys {
    override val alias = "caas.secret_store"

    override fun load(): SecretKey? {
        val store = KeyStore.getInstance(PROVIDER).apply { load(null) }
        return (store.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.secretKey
    }

    override fun create(): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).run {
            init(spec)
            generateKey()
        }
    }

    override fun isLost(error: GeneralSecurityException): Boolean = error is KeyPermanentlyInvalidatedException

    private const val PROVIDER = "AndroidKeyStore"
}

private class PreferenceValues(private val preferences: SharedPreferences) : SealedValues {
    override fun read(name: String): String? = preferences.getString(name, null)

    override fun write(name: String, value: String): Boolean = preferences.edit().putString(name, value).commit()

    override fun remove(name: String) {
        preferences.edit().remove(name).commit()
    }
}
