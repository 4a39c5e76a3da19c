package eu.caas.companion.presentation

import eu.caas.companion.CaasRepository
import eu.caas.companion.CustomerService
import eu.caas.companion.DriverRepository
import eu.caas.companion.MemorySecretStore
import eu.caas.companion.Sandbox
import java.nio.file.Files
import java.util.UUID
import java.util.concurrent.Executors
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExecutorCoroutineDispatcher
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.resetMain
import kotlinx.coroutines.test.setMain
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test

/** The view models over the real core, against the platform mock the test command starts. */
@OptIn(ExperimentalCoroutinesApi::class)
class RealCoreViewModelTest {
    private val sandbox = Sandbox()
    private lateinit var main: ExecutorCoroutineDispatcher

    @BeforeEach
    fun useMainThread() {
        main = Executors.newSingleThreadExecutor { Thread(it, "main") }.asCoroutineDispatcher()
        Dispatchers.setMain(main)
    }

    @AfterEach
    fun stopMainThread() {
        Dispatchers.resetMain()
        main.close()
    }

    @Test
    fun `a customer signs in, the token is registered, and the orders show`() = runBlocking<Unit> {
        val email = "viewmodels-${UUID.randomUUID()}@example.com"
        val order = sandbox.sell(email)
        val dir = Files.createTempDirectory("caas-vm").toFile()
        CaasRepository.open(sandbox.url, dir.resolve("customer"), MemorySecretStore()).use { customer ->
            DriverRepository.open(sandbox.url, dir.resolve("driver"), MemorySecretStore()).use { driver ->
                val token = "fcm-${UUID.randomUUID()}"
                val registered = CompletableDeferred<Boolean>()
                val tokens = object : PushTokens {
                    override suspend fun current() = token

                    override suspend fun registerWith(customer: CustomerService) = super.registerWith(customer).also(registered::complete)
                }
                val signIn = SignInViewModel(customer, driver, tokens)
                signIn.editEmail(email)
                signIn.requestCode()
                withTimeout(15_000) { signIn.ui.first { it.codeSent } }
                signIn.editCode(sandbox.signInCode(email))
                signIn.signIn()
                withTimeout(15_000) { signIn.ui.first { it.signedInAs == Role.CUSTOMER } }
                assertTrue(withTimeout(15_000) { registered.await() }, "the token is registered beside the sign-in")
                sandbox.reserve(order)
                assertEquals(setOf(token), sandbox.fcmTokens(order), "the platform pushes to the token given at sign-in")

                val orders = OrdersViewModel(customer, FakeMemory())
                val shown = withTimeout(15_000) { orders.orders.first { list -> list.any { it.id == order } } }
                assertEquals("urban-ev", shown.single().basePlatform)
                withTimeout(15_000) { orders.refreshing.first { !it } }
            }
        }
    }
}
