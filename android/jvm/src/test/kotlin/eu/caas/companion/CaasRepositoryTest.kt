package eu.caas.companion

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.NotificationChannel
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PaymentRefusal
import eu.caas.companion.core.PushOutcome
import eu.caas.companion.core.SecretStore
import eu.caas.companion.core.SecretStoreException
import java.net.InetAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.time.ZoneId
import java.util.Locale
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Test

class CaasRepositoryTest {
    private val sandbox = Sandbox()

    private fun email() = "kotlin-${UUID.randomUUID()}@example.com"

    private suspend fun signedIn(email: String): CaasRepository {
        val repository = CaasRepository.open(sandbox.url, Files.createTempDirectory("caas-kt").toFile(), MemorySecretStore())
        repository.requestSignInCode(email)
        repository.signIn(email, sandbox.signInCode(email))
        return repository
    }

    @Test
    fun `signing out ends the session on the platform too`() = runBlocking<Unit> {
        val email = email()
        sandbox.sell(email)
        signedIn(email).use { repository ->
            assertEquals(1, sandbox.liveSessions(email))
            repository.signOut()
            assertEquals(0, sandbox.liveSessions(email), "the platform no longer accepts the token")
            assertFailsWith<CaasException.Unauthorized> { repository.sync() }
        }
    }

    @Test
    fun `a customer follows manufacturing through pushes`() = runBlocking<Unit> {
        val mark = CoreLog.mark()
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            repository.sync()
            val listed = withTimeout(10_000) { repository.orders.first { it.isNotEmpty() } }
            assertEquals(order, listed.single().id)
            assertEquals(OrderState.SALE_REGISTERED, listed.single().state)

            // Subscribed before anything happens, so no push can be missed. Whether the first push
            // syncs or finds its events already synced by the stream's catch-up at connect is a
            // race between the two; either way the listener hears of it.
            val firstPush = async(start = CoroutineStart.UNDISPATCHED) {
                repository.pushes.first { it.hint.orderId == order }
            }
            repository.connectDevelopmentPushStream().use {
                sandbox.reserve(order)
                sandbox.advance(order, "dispatched_to_locality")
                val done = withTimeoutOrNull(30_000) {
                    repository.order(order).first { it.summary.state == OrderState.AWAITING_FINAL_PAYMENT }
                } ?: fail(stuck(repository, order))
                assertEquals(
                    listOf(
                        OrderState.SALE_REGISTERED, OrderState.RESERVATION_PAID, OrderState.ORDER_PLACED,
                        OrderState.IN_PRODUCTION, OrderState.ASSEMBLY, OrderState.QUALITY_CONTROL,
                        OrderState.MANUFACTURING_COMPLETE, OrderState.DISPATCHED_TO_LOCALITY,
                        OrderState.AWAITING_FINAL_PAYMENT,
                    ),
                    done.timeline.map { it.state },
                )
                val due = assertNotNull(done.finalPayment)
                assertEquals("EUR", due.amountDue.currency)
                assertTrue(due.amountDue.amountMinor > 0 && due.secondsLeft > 0uL)
                assertEquals(listOf(CustomerAction.PAY_FINAL_AMOUNT), done.actions)
                assertTrue(done.estimateRevisions.isNotEmpty())
                assertEquals(true, done.summary.completion?.confirmed)
                // Ids and days arrive as the platform's own types.
                assertEquals(order, done.summary.id)
                val completed: java.time.LocalDate = assertNotNull(done.summary.completion).date
                assertEquals(done.estimateRevisions.last().date, completed)
                assertNotNull(done.vin)
            }
            val pushed = withTimeoutOrNull(15_000) { firstPush.await() }
                ?: fail("no push for the order reached the listener; the core said:\n" + CoreLog.since(mark).joinToString("\n"))
            assertTrue(pushed.outcome is PushOutcome.Synced || pushed.outcome is PushOutcome.Duplicate, "${pushed.outcome}")
        }
    }

    @Test
    fun `a customer pays through 3-D Secure and the car is registered`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            repository.connectDevelopmentPushStream().use {
                sandbox.reserve(order)
                sandbox.advance(order, "dispatched_to_locality")
                repository.sync()
                val card = PaymentCard("4000 0027 6000 3184", 12, 2034, "123")
                assertTrue("3184" in card.toString() && "4000" !in card.toString(), "a card never prints whole")
                val challenge = assertIs<PaymentProgress.RequiresAction>(repository.pay(order, card))
                assertTrue(challenge.url.contains(challenge.paymentId))
                assertEquals(true, repository.orderSnapshot(order).finalPayment?.attemptInFlight)
                sandbox.completeThreeDSecure(challenge.paymentId, pass = true)
                assertEquals(PaymentProgress.Succeeded(challenge.paymentId), repository.resumePayment(order))
                val registered = withTimeout(15_000) {
                    repository.order(order).first { it.summary.state == OrderState.TRANSPORT_SCHEDULED }
                }
                assertEquals("ES-DGT", registered.registration?.authority)
                assertNotNull(registered.finalPayment?.paidAt)
                assertEquals(null, repository.resumePayment(order), "nothing left in flight")

                // Another channel charges the paid order again: the platform gives it back, and the
                // purchase record shows the refund.
                val again = sandbox.duplicateCharge(order)
                val refunded = withTimeout(15_000) { repository.order(order).first { it.refunds.isNotEmpty() } }
                assertEquals(listOf(again), refunded.refunds.map { it.paymentId })
                assertEquals(registered.finalPayment?.amountDue, refunded.refunds.single().amount)
            }
        }
    }

    @Test
    fun `an update from a newer platform is kept and shown and never stops a sync`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            repository.sync()
            val newer = sandbox.appendEvent(order, "warranty_extended")
            repository.sync()
            assertEquals(listOf(newer), repository.orderSnapshot(order).unknownUpdates.map { it.version.toLong() })
            // What the platform records after it still applies.
            sandbox.reserve(order)
            repository.sync()
            assertTrue(repository.orderSnapshot(order).summary.version.toLong() > newer)
        }
    }

    /**
     * Issue 17: a snapshot is read synchronously, from the core's memory. It is never older than
     * the last sync, its countdown moves with the clock, and a phone opened again lists its
     * cached orders before any listener answered.
     */
    @Test
    fun `the synchronous snapshot follows every write and a reopened phone lists its orders at once`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        val dir = Files.createTempDirectory("caas-kt").toFile()
        val secrets = MemorySecretStore()
        CaasRepository.open(sandbox.url, dir, secrets).use { repository ->
            repository.requestSignInCode(email)
            repository.signIn(email, sandbox.signInCode(email))
            repository.sync()
            assertEquals(OrderState.SALE_REGISTERED, repository.orderSnapshot(order).summary.state)
            sandbox.reserve(order)
            sandbox.advance(order, "dispatched_to_locality")
            repository.sync()
            val due = repository.orderSnapshot(order)
            assertEquals(OrderState.AWAITING_FINAL_PAYMENT, due.summary.state, "the sync's write, not the copy read before it")
            delay(1_100)
            val later = assertNotNull(repository.orderSnapshot(order).finalPayment).secondsLeft
            assertTrue(later < assertNotNull(due.finalPayment).secondsLeft, "the countdown moves between reads from memory")
        }
        CaasRepository.open(sandbox.url, dir, secrets).use { reopened ->
            assertEquals(listOf(order), reopened.orders.value.map { it.id }, "the cached list, before any listener")
        }
    }

    @Test
    fun `declined cards arrive as typed refusals`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            sandbox.reserve(order)
            sandbox.advance(order, "dispatched_to_locality")
            val declined = assertFailsWith<CaasException.PaymentRefused> {
                repository.pay(order, PaymentCard("4000000000000002", 12, 2034, "123"))
            }
            assertEquals(PaymentRefusal.CARD_DECLINED, declined.refusal)
            val broke = assertFailsWith<CaasException.PaymentRefused> {
                repository.pay(order, PaymentCard("4000000000009995", 12, 2034, "123"))
            }
            assertEquals(PaymentRefusal.INSUFFICIENT_FUNDS, broke.refusal)
            repository.sync()
            assertEquals(OrderState.AWAITING_FINAL_PAYMENT, repository.orderSnapshot(order).summary.state)
            assertIs<PaymentProgress.Succeeded>(repository.pay(order, PaymentCard("4242424242424242", 12, 2034, "123")))
            val paid = assertFailsWith<CaasException.PaymentRefused> {
                repository.pay(order, PaymentCard("4242424242424242", 12, 2034, "123"))
            }
            assertEquals(PaymentRefusal.ALREADY_PAID, paid.refusal)
        }
    }

    /** What the phone showed when a push-driven update did not arrive, and whether a sync would have caught up. */
    private suspend fun stuck(repository: CaasRepository, order: UUID): String {
        val shown = repository.orderSnapshot(order).summary
        val synced = runCatching { repository.sync() }
        val after = repository.orderSnapshot(order).summary
        return "the phone stayed at ${shown.state} v${shown.version}; a sync (${synced.exceptionOrNull() ?: synced.getOrNull()}) " +
            "then showed ${after.state} v${after.version}"
    }

    @Test
    fun `an FCM data message syncs the order it names`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            val outcome = repository.onFcmMessage(
                mapOf("event_id" to UUID.randomUUID().toString(), "order_id" to order.toString(), "order_version" to "1", "type" to "state_changed"),
            )
            assertIs<PushOutcome.Synced>(outcome)
            assertEquals(OrderState.SALE_REGISTERED, repository.orderSnapshot(order).summary.state)
        }
    }

    /**
     * Issue 15: the app wrote "Now: in production" in English from the state's wire name. An FCM
     * message is shown with the core's words, in the phone's language, once.
     */
    @Test
    fun `an FCM message becomes the notification the customer reads`() = runBlocking<Unit> {
        val email = email()
        val order = sandbox.sell(email)
        signedIn(email).use { repository ->
            repository.registerFcmToken("fcm-${UUID.randomUUID()}")
            sandbox.reserve(order)
            sandbox.advance(order, "in_production")
            val data = sandbox.fcmData(order).last()
            val portugal = Locale.forLanguageTag("pt-PT")
            // A Galician speaker whose second language is Portuguese.
            val shown = assertNotNull(repository.notificationFor(data, listOf(Locale.forLanguageTag("gl-ES"), portugal), ZoneId.of("Europe/Lisbon")))
            assertEquals("urban-ev", shown.title)
            assertEquals("A sua encomenda está agora: em produção.", shown.body)
            assertEquals(NotificationChannel.MANUFACTURING, shown.channel)
            assertEquals("caas://order/$order", shown.link)
            assertEquals(order.toString(), shown.thread)
            assertNull(repository.notificationFor(data, listOf(portugal)), "a message is shown once")
        }
    }

    @Test
    fun `a declined unlock prompt is a cancellation, not an internal error`() = runBlocking<Unit> {
        val declining = object : SecretStore {
            override fun get(key: String): String? = throw SecretStoreException.Cancelled()
            override fun set(key: String, value: String) = throw SecretStoreException.Cancelled()
            override fun delete(key: String) = throw SecretStoreException.Cancelled()
        }
        CaasRepository.open(sandbox.url, Files.createTempDirectory("caas-kt").toFile(), declining).use {
            assertFailsWith<CaasException.Cancelled> { it.sync() }
        }
    }

    @Test
    fun `core errors arrive as typed exceptions`() = runBlocking<Unit> {
        val repository = CaasRepository.open(sandbox.url, Files.createTempDirectory("caas-kt").toFile(), MemorySecretStore())
        repository.use {
            assertFailsWith<CaasException.Unauthorized> { it.sync() }
            assertFailsWith<CaasException.Unauthorized> { it.signIn(email(), "000000") }
            assertFailsWith<CaasException.NotFound> { it.orderSnapshot(UUID.randomUUID()) }
            assertFailsWith<CaasException.InvalidPush> { it.onFcmMessage(mapOf("type" to "unlock_car")) }
        }
        val offline = CaasRepository.open("http://127.0.0.1:9", Files.createTempDirectory("caas-kt").toFile(), MemorySecretStore())
        offline.use { assertFailsWith<CaasException.Offline> { it.requestSignInCode(email()) } }
    }

    @Test
    fun `cancelling a suspend call cancels it`() = runBlocking<Unit> {
        // A server that accepts connections and never answers: the call can only end by cancellation.
        ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { silent ->
            val dir = Files.createTempDirectory("caas-kt").toFile()
            CaasRepository.open("http://127.0.0.1:${silent.localPort}", dir, MemorySecretStore()).use { repository ->
                val call = async(Dispatchers.Default) { repository.requestSignInCode(email()) }
                delay(300)
                assertTrue(call.isActive, "the call is in flight")
                withTimeout(3_000) { call.cancelAndJoin() }
                assertTrue(call.isCancelled)
                // The core is unharmed: the cache still answers.
                assertEquals(emptyList(), repository.orders.value)
            }
        }
    }

    @Test
    fun `the core's logs reach the shell's logger`() = runBlocking<Unit> {
        val mark = CoreLog.mark()
        val email = email()
        sandbox.sell(email)
        signedIn(email).close()
        val lines = CoreLog.since(mark)
        assertTrue(lines.any { it.startsWith("INFO caas_core") && it.contains("signed in") }, lines.toString())
        assertTrue(lines.none { it.contains(email) }, "no personal data in the logs, debug lines included")
    }
}
