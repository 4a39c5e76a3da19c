package eu.caas.companion.presentation

import eu.caas.companion.core.CaasException
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class SignInViewModelTest : ViewModelTest() {
    private fun signIn(model: SignInViewModel, role: Role = Role.CUSTOMER) {
        model.chooseRole(role)
        model.editEmail(" ana@example.com ")
        model.requestCode()
    }

    /** Issue 15: a token FCM issued before sign-in was never registered. It is, at sign-in. */
    @Test
    fun `signing in registers the phone's push token`() = test {
        val customer = FakeCustomer()
        val model = SignInViewModel(customer, FakeDriver()) { "fcm-before-sign-in" }
        signIn(model)
        advanceUntilIdle()
        assertEquals(Notice.CodeSent("ana@example.com"), model.status.notice.value)
        model.editCode("12a34 56")
        model.signIn()
        advanceUntilIdle()
        assertEquals(Role.CUSTOMER, model.ui.value.signedInAs)
        assertEquals(listOf("fcm-before-sign-in"), customer.registeredTokens)
    }

    @Test
    fun `no signal for the token does not keep the customer out`() = test {
        val customer = FakeCustomer().apply { onRegister = { throw CaasException.Offline("no route") } }
        val model = SignInViewModel(customer, FakeDriver()) { "token" }
        signIn(model)
        model.editCode("123456")
        advanceUntilIdle()
        model.signIn()
        advanceUntilIdle()
        assertEquals(Role.CUSTOMER, model.ui.value.signedInAs)
    }

    @Test
    fun `a driver signs in without a customer's push token`() = test {
        val customer = FakeCustomer()
        val driver = FakeDriver()
        val model = SignInViewModel(customer, driver) { "token" }
        signIn(model, Role.DRIVER)
        advanceUntilIdle()
        model.editCode("123456")
        model.signIn()
        advanceUntilIdle()
        assertEquals(Role.DRIVER, model.ui.value.signedInAs)
        assertTrue(driver.isSignedIn)
        assertTrue(customer.registeredTokens.isEmpty())
    }

    @Test
    fun `a code is asked only for an address and sent only once asked`() = test {
        val model = SignInViewModel(FakeCustomer(), FakeDriver()) { null }
        model.editEmail("not an address")
        assertFalse(model.ui.value.canRequestCode)
        model.editEmail("ana@example.com")
        model.editCode("123456")
        assertFalse(model.ui.value.canSignIn, "no code was sent yet")
    }
}
