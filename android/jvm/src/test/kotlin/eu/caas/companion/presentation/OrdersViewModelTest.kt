package eu.caas.companion.presentation

import eu.caas.companion.PaymentCard
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PaymentRefusal
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class OrdersViewModelTest : ViewModelTest() {
    /** Issue 15: the notification permission was never asked, so nothing showed on Android 13+. */
    @Test
    fun `the notification permission is asked once, across launches`() = test {
        val memory = FakeMemory()
        val first = OrdersViewModel(FakeCustomer(isSignedIn = true), memory)
        assertTrue(first.askForNotifications.value)
        first.notificationsAsked()
        assertFalse(first.askForNotifications.value)
        assertFalse(OrdersViewModel(FakeCustomer(isSignedIn = true), memory).askForNotifications.value)
    }

    @Test
    fun `a refresh without signal ends and says so`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply { onSync = { throw CaasException.Offline("no route") } }
        val model = OrdersViewModel(customer, FakeMemory())
        advanceUntilIdle()
        assertEquals(Notice.Offline, model.status.notice.value)
        assertFalse(model.refreshing.value)
        assertFalse(model.status.busy.value)
    }

    @Test
    fun `3-D Secure opens the bank's page once, and a refusal is typed`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onPay = { card ->
                if (card.number.endsWith("0002")) throw CaasException.PaymentRefused(PaymentRefusal.CARD_DECLINED, "declined")
                PaymentProgress.RequiresAction("pi_1", "https://bank.example/3ds")
            }
        }
        val model = OrderViewModel(customer, UUID.randomUUID())
        model.pay(PaymentCard("4000000000000002", 12, 2034, "123"))
        advanceUntilIdle()
        assertEquals(Notice.PaymentRefused(PaymentRefusal.CARD_DECLINED), model.status.notice.value)
        model.pay(PaymentCard("4000000000003220", 12, 2034, "123"))
        advanceUntilIdle()
        assertEquals(Notice.ConfirmWithBank, model.status.notice.value)
        assertEquals("https://bank.example/3ds", model.bankPage.value)
        model.bankPageOpened()
        assertNull(model.bankPage.value)
    }
}
