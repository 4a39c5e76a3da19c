package eu.caas.companion.presentation

import eu.caas.companion.PaymentCard
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PaymentRefusal
import java.time.Instant
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

    /** Issue 17: the order screen's first frame shows the cached order, read synchronously. */
    @Test
    fun `an order's screen starts from the cached order, not from nothing`() = test {
        val order = orderInProduction()
        val customer = FakeCustomer(isSignedIn = true).apply { detail = order }
        assertEquals(order, OrderViewModel(customer, order.summary.id).order.value, "before anything collected it")
        assertNull(OrderViewModel(FakeCustomer(isSignedIn = true), UUID.randomUUID()).order.value, "nothing cached: loading")
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

    @Test
    fun `the delivery window's refusals are named as the workshop's are, others keep the platform's words`() = test {
        val customer = FakeCustomer(isSignedIn = true)
        val model = OrderViewModel(customer, UUID.randomUUID())
        val start = Instant.parse("2026-03-12T10:00:00Z")
        val refusals = listOf(
            "slot_unavailable" to Notice.ChangeRefused(ChangeRefusal.SLOT_UNAVAILABLE),
            "change_too_late" to Notice.ChangeRefused(ChangeRefusal.CHANGE_TOO_LATE),
            "change_limit_reached" to Notice.ChangeRefused(ChangeRefusal.CHANGE_LIMIT_REACHED),
            "address_not_confirmed" to Notice.Refused("confirm the address first"),
        )
        val told = refusals.map { (code, _) ->
            customer.onChooseWindow = { throw CaasException.Rejected(code, "confirm the address first") }
            model.chooseWindow(start)
            advanceUntilIdle()
            model.status.notice.value
        }
        assertEquals<List<Notice?>>(refusals.map { it.second }, told)
    }
}
