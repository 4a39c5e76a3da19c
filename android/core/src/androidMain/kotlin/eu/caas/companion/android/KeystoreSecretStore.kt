package eu.caas.companion.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import eu.caas.companion.core.SecretStore
import eu.caas.companion.core.SecretStoreException
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's secret store on Android: each value sealed with AES-256-GCM under a key that lives
 * in Android Keystore (never exportable), the ciphertext kept in the app's private preferences,
 * excluded from backups. The entry's name is the associated data, so a value cannot be moved to
 * another name. Each role of the app ([name]: customer, driver) has its own file.
 */
class KeystoreSecretStore(context: Context, name: String) : SecretStore {
    private val preferences = context.getSharedPreferences("caas.secrets.$name", Context.MODE_PRIVATE)

    override fun get(key: String): String? {
        val stored = preferences.getString(key, null) ?: return null
        return guard {
            val bytes = Base64.decode(stored, Base64.NO_WRAP)
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, bytes, 0, IV_LENGTH))
            cipher.updateAAD(key.toByteArray())
            String(cipher.doFinal(bytes, IV_LENGTH, bytes.size - IV_LENGTH), Charsets.UTF_8)
        }
    }

    override fun set(key: String, value: String) {
        val sealed = guard {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key())
            cipher.updateAAD(key.toByteArray())
            cipher.iv + cipher.doFinal(value.toByteArray(Charsets.UTF_8))
        }
        if (!preferences.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) {
            throw SecretStoreException.Failed("could not write the secret `$key`")
        }
    }

    override fun delete(key: String) {
        preferences.edit().remove(key).commit()
    }

    private fun <T> guard(work: () -> T): T = try {
        work()
    } catch (e: GeneralSecurityException) {
        throw SecretStoreException.Failed("Keystore: ${e.message}")
    }

    private fun key(): SecretKey {
        val store = KeyStore.getInstance(PROVIDER).apply { load(null) }
        (store.getEntry(ALIAS, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val spec = KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).run {
            init(spec)
            generateKey()
        }
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val ALIAS = "caas.secret_store"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_LENGTH = 12
    }
}
