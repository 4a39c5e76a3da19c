package eu.caas.companion.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import eu.caas.companion.JcaDeviceKey
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.spec.ECGenParameterSpec

/**
 * The device's pairing key in Android Keystore: a P-256 key made in secure hardware (StrongBox
 * where the phone has it), usable only to sign with SHA-256, never exportable. [JcaDeviceKey]
 * signs with it through the JCA, which is how Keystore keys are used.
 */
object KeystoreDeviceKey {
    private const val PROVIDER = "AndroidKeyStore"
    private const val ALIAS = "caas.device_key"

    /** The key, made on first use. */
    fun loadOrCreate(): JcaDeviceKey {
        val store = KeyStore.getInstance(PROVIDER).apply { load(null) }
        val existing = store.getEntry(ALIAS, null) as? KeyStore.PrivateKeyEntry
        val pair = existing?.let { KeyPair(it.certificate.publicKey, it.privateKey as PrivateKey) } ?: generate()
        return JcaDeviceKey(pair)
    }

    /** Deletes the key (signing out): a new one is made, and new phone keys issued, next time. */
    fun delete() {
        KeyStore.getInstance(PROVIDER).apply { load(null) }.deleteEntry(ALIAS)
    }

    private fun generate(): KeyPair = try {
        generate(strongBox = true)
    } catch (e: StrongBoxUnavailableException) {
        generate(strongBox = false)
    }

    private fun generate(strongBox: Boolean): KeyPair {
        val spec = KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setIsStrongBoxBacked(strongBox)
            .build()
        return KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER).run {
            initialize(spec)
            generateKeyPair()
        }
    }
}
