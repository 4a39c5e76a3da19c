package eu.caas.companion.presentation

import eu.caas.companion.core.CaasException
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class AppViewModelTest : ViewModelTest() {
    private val memory = FakeMemory()
    private val token = PushTokens { "fcm-token" }

    /** Issue 15: a failure to open the repository crashed the app. It is shown, and retried. */
    @Test
    fun `a failure to open the services is shown and can be retried`() = test {
        var attempts = 0
        val services = Services(FakeCustomer(), FakeDriver())
        val app = AppViewModel({
            attempts += 1
            if (attempts == 1) throw CaasException.Internal("disk full") else services
        }, memory, token)
        advanceUntilIdle()
        val failed = assertIs<AppState.Failed>(app.state.value)
        assertIs<Notice.Unexpected>(failed.problem)
        app.retry()
        advanceUntilIdle()
        assertEquals(AppState.Ready(services, Home.SIGN_IN), app.state.value)
    }

    /** Issue 15: the driver's session was not restored on relaunch: the app opened sign-in. */
    @Test
    fun `a signed-in driver opens on the deliveries`() = test {
        val app = AppViewModel({ Services(FakeCustomer(), FakeDriver(isSignedIn = true)) }, memory, token)
        advanceUntilIdle()
        assertEquals(Home.DELIVERIES, (app.state.value as AppState.Ready).home)
    }

    @Test
    fun `with both roles signed in, the last one opens`() = test {
        val open = { Services(FakeCustomer(isSignedIn = true), FakeDriver(isSignedIn = true)) }
        val first = AppViewModel({ open() }, memory, token)
        advanceUntilIdle()
        assertEquals(Home.ORDERS, (first.state.value as AppState.Ready).home)
        first.signedIn(Role.DRIVER)
        val relaunched = AppViewModel({ open() }, memory, token)
        advanceUntilIdle()
        assertEquals(Home.DELIVERIES, (relaunched.state.value as AppState.Ready).home)
    }

    /** Issue 15: the FCM token was registered only when FCM changed it, never for a signed-in customer. */
    @Test
    fun `a signed-in customer's push token is registered at start`() = test {
        val customer = FakeCustomer(isSignedIn = true)
        AppViewModel({ Services(customer, FakeDriver()) }, memory, token)
        advanceUntilIdle()
        assertEquals(listOf("fcm-token"), customer.registeredTokens)
    }

    /**
     * Issue 15: a notification's link navigated twice (the navigation graph's deep link and an
     * effect that never cleared it, so again after a rotation). The link is held until the screen
     * opened it, then gone.
     */
    @Test
    fun `a link opens its order once`() = test {
        val app = AppViewModel({ Services(FakeCustomer(), FakeDriver()) }, memory, token)
        val order = UUID.randomUUID()
        app.openLink("caas://order/$order")
        assertEquals(order, app.pendingOrder.value)
        app.linkOpened()
        assertNull(app.pendingOrder.value, "a rotation finds nothing to open again")
    }

    @Test
    fun `only an order link of this app opens anything`() {
        val order = UUID.randomUUID()
        assertEquals(order, AppViewModel.orderInLink("caas://order/$order"))
        for (link in listOf(
            null, "", "https://order/$order", "caas://orders/$order", "caas://order/$order/pay",
            "caas://order/not-an-id", "caas://order/", "caas://order/1-1-1-1-1", "caas://order/../$order",
        )) {
            assertNull(AppViewModel.orderInLink(link), "$link")
        }
    }
}
