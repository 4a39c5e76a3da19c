package eu.caas.companion

import eu.caas.companion.core.SecretStore
import java.util.concurrent.ConcurrentHashMap

/**
 * A secret store that forgets everything when the process ends: for tests and previews. The app
 * uses the Keystore-backed store.
 */
class MemorySecretStore : SecretStore {
    private val values = ConcurrentHashMap<String, String>()

    override fun get(key: String): String? = values[key]

    override fun set(key: String, value: String) {
        values[key] = value
    }

    override fun delete(key: String) {
        values.remove(key)
    }
}
