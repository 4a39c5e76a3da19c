package eu.caas.companion

import eu.caas.companion.core.CaasException
import eu.caas.companion.core.RecordVerdict
import eu.caas.companion.core.verifyRecord
import eu.caas.companion.presentation.Notice
import java.nio.file.Files
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/**
 * The purchase record as evidence (issue 14): the phone checks the platform's chain at every sync
 * and refuses a rewritten history, keeping its own; an exported record checks out offline with
 * only the platform's public key, and a changed one does not.
 */
class PurchaseRecordTest {
    private val sandbox = Sandbox()

    @Test
    fun `a shared record checks out and a rewritten history is refused`() = runBlocking<Unit> {
        val email = "kotlin-${UUID.randomUUID()}@example.com"
        val order = sandbox.sell(email)
        sandbox.reserve(order)
        CaasRepository.open(sandbox.url, Files.createTempDirectory("caas-kt").toFile(), MemorySecretStore()).use { phone ->
            phone.requestSignInCode(email)
            phone.signIn(email, sandbox.signInCode(email))
            phone.sync()
            val key = assertNotNull(phone.recordPublicKey(), "pinned at the first sync")
            val record = phone.exportRecord(order)
            val held = phone.orderSnapshot(order)
            val valid = assertIs<RecordVerdict.Valid>(verifyRecord(record, key))
            assertEquals(order, valid.orderId)
            assertEquals(held.summary.version, valid.events)
            val changed = record.replaceFirst("\"order_placed\"", "\"sale_registered\"")
            assertIs<RecordVerdict.Invalid>(verifyRecord(changed, key))

            sandbox.rewriteHistory(order, 2)
            val refused = assertFailsWith<CaasException.HistoryRewritten> { phone.sync() }
            assertEquals(order, refused.orderId)
            assertEquals(Notice.HistoryRewritten, Notice.of(refused))
            assertEquals(held.timeline, phone.orderSnapshot(order).timeline, "the phone keeps what it had")
            assertEquals(record, phone.exportRecord(order))
        }
    }
}
