package eu.caas.companion.presentation

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.resetMain
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.test.setMain
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach

/**
 * View models run on the main dispatcher (`viewModelScope`); on the JVM a test dispatcher stands
 * in for it, so each test runs their work to completion with `advanceUntilIdle`.
 */
@OptIn(ExperimentalCoroutinesApi::class)
abstract class ViewModelTest {
    protected val main = StandardTestDispatcher()

    @BeforeEach
    fun useTestMain() {
        Dispatchers.setMain(main)
    }

    @AfterEach
    fun resetTestMain() {
        Dispatchers.resetMain()
    }

    protected fun test(body: suspend TestScope.() -> Unit) = runTest(main) { body() }
}
