package eu.caas.companion.presentation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import eu.caas.companion.CustomerService
import eu.caas.companion.DriverService
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull

/** Who uses the app: a customer following their car, or a transport company's driver. */
enum class Role { CUSTOMER, DRIVER }

/** What the sign-in screen shows. */
data class SignInState(
    val role: Role = Role.CUSTOMER,
    val email: String = "",
    val code: String = "",
    val codeSent: Boolean = false,
    /** Set once signed in: the screen hands over to the role's home. */
    val signedInAs: Role? = null,
) {
    val canRequestCode: Boolean get() = EMAIL.matches(email)
    val canSignIn: Boolean get() = codeSent && code.length in 6..12

    private companion object {
        val EMAIL = Regex("[^@\\s]+@[^@\\s]+\\.[^@\\s]+")
    }
}

/**
 * Sign-in with a code sent by email, as a customer or as a driver. A customer's push token is
 * registered as soon as they are signed in: a token that arrived before sign-in is not lost.
 */
class SignInViewModel(
    private val customer: CustomerService,
    private val driver: DriverService,
    private val pushTokens: PushTokens,
) : ViewModel() {
    private val state = MutableStateFlow(SignInState())
    val ui: StateFlow<SignInState> = state.asStateFlow()

    val status = ScreenStatus()

    fun chooseRole(role: Role) = state.update { it.copy(role = role, codeSent = false, code = "") }

    fun editEmail(email: String) = state.update { it.copy(email = email.trim(), codeSent = false, code = "") }

    fun editCode(code: String) = state.update { it.copy(code = code.filter(Char::isDigit)) }

    fun requestCode() {
        val current = state.value
        if (!current.canRequestCode) return
        status.run(viewModelScope) {
            when (current.role) {
                Role.CUSTOMER -> customer.requestSignInCode(current.email)
                Role.DRIVER -> driver.requestSignInCode(current.email)
            }
            state.update { it.copy(codeSent = true) }
            Notice.CodeSent(current.email)
        }
    }

    fun signIn() {
        val current = state.value
        if (!current.canSignIn) return
        status.run(viewModelScope) {
            when (current.role) {
                Role.CUSTOMER -> {
                    customer.signIn(current.email, current.code)
                    registerPushToken()
                }
                Role.DRIVER -> driver.signIn(current.email, current.code)
            }
            state.update { it.copy(signedInAs = current.role, code = "") }
            null
        }
    }

    /** Beside the sign-in, not in it: a slow push service never holds the customer back. */
    private fun registerPushToken() {
        viewModelScope.launch { withTimeoutOrNull(PUSH_TOKEN_BUDGET_MS) { pushTokens.registerWith(customer) } }
    }

    private companion object {
        const val PUSH_TOKEN_BUDGET_MS = 30_000L
    }
}
