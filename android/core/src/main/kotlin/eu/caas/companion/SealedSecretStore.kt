package eu.caas.companion

import eu.caas.companion.core.SecretStore
import eu.caas.companion.core.SecretStoreException
import java.security.GeneralSecurityException
import java.util.Base64
import java.util.concurrent.ConcurrentHashMap
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Where a key that seals secrets lives: Android Keystore in the app, memory in tests. The key
 * never leaves it; [load] finds it, [create] makes it.
 */
interface SealingKeys {
    /** Names the key: every store sealing with the same name shares one key. */
    val alias: String

    fun load(): SecretKey?

    fun create(): SecretKey

    /**
     * Whether [error] means the key is gone for good (Android invalidates a key when the lock
     * screen is removed), unlike a busy or locked key store, which may work on the next try and
     * must never cost the person their session.
     */
    fun isLost(error: GeneralSecurityException): Boolean = false
}

/** Where sealed values are kept, by name: the app's private preferences on Android. */
interface SealedValues {
    fun read(name: String): String?

    /** False when the value could not be written. */
    fun write(name: String, value: String): Boolean

    fun remove(name: String)
}

/**
 * The core's secret store over a sealing key: each value sealed with AES-256-GCM, the entry's name
 * as associated data so a value cannot be moved to another name.
 *
 * Two stores of one process (the customer's and the driver's) share one key: it is created once,
 * under a lock per alias, so two stores opening together never make two keys and lose the values
 * the first one sealed. A value whose key is gone (the Keystore was reset, a backup restored on
 * another phone) can never be opened again: it reads as absent and is removed, so the customer
 * signs in again instead of the app failing on every start. A key store that fails for a moment
 * (busy, locked) fails the read instead, and the value stays for the next one.
 */
class SealedSecretStore(private val keys: SealingKeys, private val values: SealedValues) : SecretStore {
    override fun get(key: String): String? {
        val stored = values.read(key) ?: return null
        val bytes = try {
            Base64.getDecoder().decode(stored)
        } catch (damaged: IllegalArgumentException) {
            return forget(key, stored)
        }
        if (bytes.size <= IV_LENGTH) return forget(key, stored)
        return try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(TAG_BITS, bytes, 0, IV_LENGTH))
            cipher.updateAAD(key.toByteArray())
            String(cipher.doFinal(bytes, IV_LENGTH, bytes.size - IV_LENGTH), Charsets.UTF_8)
        } catch (sealedByAnotherKey: AEADBadTagException) {
            forget(key, stored)
        } catch (e: GeneralSecurityException) {
            if (keys.isLost(e)) forget(key, stored) else throw SecretStoreException.Failed("sealing key: ${e.message}")
        }
    }

    override fun set(key: String, value: String) = synchronized(lockFor(keys.alias)) { seal(key, value) }

    private fun seal(key: String, value: String) {
        val sealed = try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key())
            cipher.updateAAD(key.toByteArray())
            cipher.iv + cipher.doFinal(value.toByteArray(Charsets.UTF_8))
        } catch (e: GeneralSecurityException) {
            throw SecretStoreException.Failed("sealing key: ${e.message}")
        }
        if (!values.write(key, Base64.getEncoder().encodeToString(sealed))) {
            throw SecretStoreException.Failed("could not write the secret `$key`")
        }
    }

    override fun delete(key: String) {
        values.remove(key)
    }

    /**
     * A value that can never be opened again reads as absent, and is removed: only if it is still
     * the one that failed, so a value another thread has just written stays.
     */
    private fun forget(key: String, unreadable: String): String? {
        synchronized(lockFor(keys.alias)) {
            if (values.read(key) == unreadable) values.remove(key)
        }
        return null
    }

    private fun key(): SecretKey = synchronized(lockFor(keys.alias)) { keys.load() ?: keys.create() }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_LENGTH = 12
        const val TAG_BITS = 128

        /** One lock per key alias for the whole process, whichever store asks. */
        private val locks = ConcurrentHashMap<String, Any>()

        fun lockFor(alias: String): Any = locks.computeIfAbsent(alias) { Any() }
    }
}
