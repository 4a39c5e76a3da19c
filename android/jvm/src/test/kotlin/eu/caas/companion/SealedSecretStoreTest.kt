package eu.caas.companion

import eu.caas.companion.core.SecretStoreException
import java.security.UnrecoverableKeyException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import org.junit.jupiter.api.Test

class SealedSecretStoreTest {
    /** A key store in memory that counts the keys it makes, can lose its key, or fail for a moment. */
    private class Keys(override val alias: String) : SealingKeys {
        @Volatile var key: SecretKey? = null
        @Volatile var busy = false
        val created = AtomicInteger()

        override fun load(): SecretKey? {
            // How Android's Keystore reports a busy or locked key store.
            if (busy) throw UnrecoverableKeyException("Failed to obtain information about key")
            return key
        }

        override fun create(): SecretKey {
            created.incrementAndGet()
            // Slow enough that two unserialized stores would both make one.
            Thread.sleep(20)
            return KeyGenerator.getInstance("AES").apply { init(256) }.generateKey().also { key = it }
        }
    }

    private class Values : SealedValues {
        val map = ConcurrentHashMap<String, String>()

        override fun read(name: String): String? = map[name]

        override fun write(name: String, value: String): Boolean {
            map[name] = value
            return true
        }

        override fun remove(name: String) {
            map.remove(name)
        }
    }

    /**
     * Issue 15: the customer's and the driver's stores, opened together, raced to create the one
     * Keystore key; the loser's values were sealed with a key that was then replaced.
     */
    @Test
    fun `two stores opened together share one key`() {
        val keys = Keys("race-${System.nanoTime()}")
        val customer = SealedSecretStore(keys, Values())
        val driver = SealedSecretStore(keys, Values())
        val pool = Executors.newFixedThreadPool(2)
        val start = CountDownLatch(1)
        listOf(customer to "customer", driver to "driver").forEach { (store, who) ->
            pool.submit {
                start.await()
                store.set("session", who)
            }
        }
        start.countDown()
        pool.shutdown()
        pool.awaitTermination(10, TimeUnit.SECONDS)
        assertEquals(1, keys.created.get(), "one key for the process")
        assertEquals("customer", customer.get("session"))
        assertEquals("driver", driver.get("session"))
    }

    /** Issue 15: once the Keystore key was lost, every read threw, forever. It reads as absent. */
    @Test
    fun `a value whose key is lost reads as absent and is removed`() {
        val keys = Keys("lost-${System.nanoTime()}")
        val values = Values()
        val store = SealedSecretStore(keys, values)
        store.set("session", "token")
        keys.key = null // the Keystore was reset: the next use makes a new key
        assertNull(store.get("session"))
        assertNull(values.read("session"), "the unreadable value is gone")
        store.set("session", "again")
        assertEquals("again", store.get("session"))
    }

    /** Review of issue 15: a Keystore busy for a moment deleted the session. The read fails; the value stays. */
    @Test
    fun `a key store failing for a moment keeps the value`() {
        val keys = Keys("busy-${System.nanoTime()}")
        val store = SealedSecretStore(keys, Values())
        store.set("session", "token")
        keys.busy = true
        assertFailsWith<SecretStoreException.Failed> { store.get("session") }
        keys.busy = false
        assertEquals("token", store.get("session"))
    }

    @Test
    fun `a value moved to another name or damaged is not opened`() {
        val values = Values()
        val store = SealedSecretStore(Keys("moved-${System.nanoTime()}"), values)
        store.set("a", "secret")
        values.write("b", values.read("a")!!)
        assertNull(store.get("b"), "the name is part of the seal")
        values.write("c", "not base64 !")
        assertNull(store.get("c"))
        assertEquals("secret", store.get("a"))
    }
}
