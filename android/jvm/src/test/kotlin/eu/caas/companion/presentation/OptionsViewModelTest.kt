package eu.caas.companion.presentation

import eu.caas.companion.ActivationProgress
import eu.caas.companion.PaymentCard
import eu.caas.companion.core.Availability
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.OptionsActivation
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PaymentRefusal
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.core.RefusedOption
import eu.caas.companion.core.VehicleStatus
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.UnconfinedTestDispatcher
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class OptionsViewModelTest : ViewModelTest() {
    private val card = PaymentCard("4242424242424242", 12, 2034, "123")
    private val seats = offer("heated-seats", "Asientos calefactados", 30_000)

    private val carStatus = VehicleStatus(12u, 81u, true, true)

    @Test
    fun `the catalogue loads when the screen opens, and without signal the purchases still show`() = test {
        val order = UUID.randomUUID()
        val offline = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order, listOf(purchase("heated-seats", "Asientos calefactados", PurchaseStatus.PAID)))
            onCatalogue = { throw CaasException.Offline("no signal underground") }
        }
        val model = OptionsViewModel(offline, order)
        backgroundScope.launch(UnconfinedTestDispatcher(testScheduler)) { model.order.collect {} }
        advanceUntilIdle()
        assertNull(model.catalogue.value)
        assertEquals(Notice.Offline, model.status.notice.value)
        assertEquals(listOf("heated-seats"), model.order.value?.options?.map { it.option })

        offline.onCatalogue = { catalogue(seats) }
        model.loadCatalogue()
        advanceUntilIdle()
        assertEquals(listOf(seats), model.catalogue.value?.offers)
    }

    @Test
    fun `only what the car can take now is buyable, and never a workshop option`() {
        assertTrue(seats.buyable)
        assertFalse(seats.copy(availability = Availability.Pending).buyable)
        assertFalse(seats.copy(availability = Availability.Requires("long-range-battery")).buyable)
        assertFalse(offer("roof-rails", "Barras de techo", 40_000, Availability.NeedsWorkshop, OptionKind.WORKSHOP).buyable)
        val workshop = offer("roof-rails", "Barras de techo", 40_000, kind = OptionKind.WORKSHOP)
        assertFalse(workshop.buyable, "fitted at the dealership, whatever the platform says")
    }

    @Test
    fun `a bought option is told as such and the catalogue shows it on its way`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onCatalogue = { catalogue(seats) }
            onBuyOption = { PaymentProgress.Succeeded("pi_1") }
        }
        val model = OptionsViewModel(customer, UUID.randomUUID())
        advanceUntilIdle()
        customer.onCatalogue = { catalogue(seats.copy(availability = Availability.Pending)) }
        model.buy(seats, card)
        advanceUntilIdle()
        assertEquals(listOf("heated-seats" to card), customer.boughtOptions)
        assertEquals(Notice.OptionBought, model.status.notice.value)
        assertEquals(Availability.Pending, model.catalogue.value?.offers?.single()?.availability)
    }

    @Test
    fun `a purchase the bank must confirm opens its page once, then resumes`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onCatalogue = { catalogue(seats) }
            onBuyOption = { PaymentProgress.RequiresAction("pi_1", "https://bank.example/3ds") }
        }
        val model = OptionsViewModel(customer, UUID.randomUUID())
        model.buy(seats, card)
        advanceUntilIdle()
        assertEquals(Notice.ConfirmWithBank, model.status.notice.value)
        assertEquals("https://bank.example/3ds", model.bankPage.value)
        model.bankPageOpened()
        assertNull(model.bankPage.value)

        val resumed = mutableListOf<String>()
        customer.onResumeOption = { option -> resumed += option; PaymentProgress.Succeeded("pi_1") }
        model.resumePayment("heated-seats")
        advanceUntilIdle()
        assertEquals(listOf("heated-seats"), resumed)
        assertEquals(Notice.OptionBought, model.status.notice.value)

        customer.onResumeOption = { null }
        model.resumePayment("heated-seats")
        advanceUntilIdle()
        assertEquals(Notice.NoPaymentInProgress, model.status.notice.value)
    }

    @Test
    fun `an option the car cannot take is refused before any charge`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onCatalogue = { catalogue(seats) }
            onBuyOption = { throw CaasException.PaymentRefused(PaymentRefusal.OPTION_UNAVAILABLE, "bought already") }
        }
        val model = OptionsViewModel(customer, UUID.randomUUID())
        model.buy(seats, card)
        advanceUntilIdle()
        assertEquals(Notice.PaymentRefused(PaymentRefusal.OPTION_UNAVAILABLE), model.status.notice.value)
        assertNull(model.bankPage.value)
    }

    @Test
    fun `activating nearby shows each step, then what the car took and refused`() = test {
        val refused = RefusedOption("eco-range-mode", PairingFailure.ENTITLEMENT_EXPIRED)
        val customer = FakeCustomer(isSignedIn = true).apply {
            onCatalogue = { catalogue(seats) }
            activation = flow {
                emit(ActivationProgress.Step(PairingStep.SCANNING))
                emit(ActivationProgress.Step(PairingStep.CONNECTING))
                emit(ActivationProgress.Step(PairingStep.AUTHENTICATING))
                val done = OptionsActivation(listOf("heated-seats"), listOf(refused), carStatus, listOf("heated-seats"), false, null)
                emit(ActivationProgress.Done(done))
            }
        }
        val model = OptionsViewModel(customer, UUID.randomUUID())
        val seen = mutableListOf<ActivationUi>()
        backgroundScope.launch(UnconfinedTestDispatcher(testScheduler)) { model.activation.toList(seen) }
        model.activate(NoRadio)
        advanceUntilIdle()
        assertEquals(
            listOf(
                ActivationUi.Idle,
                ActivationUi.Working(PairingStep.SCANNING),
                ActivationUi.Working(PairingStep.CONNECTING),
                ActivationUi.Working(PairingStep.AUTHENTICATING),
                ActivationUi.Done(1, listOf(refused), reported = false),
            ),
            seen,
        )
    }

    @Test
    fun `nothing waiting, a failed link and a cancelled activation each read as such`() = test {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onCatalogue = { catalogue(seats) }
            activation = flow { emit(ActivationProgress.Done(OptionsActivation(emptyList(), emptyList(), null, emptyList(), true, null))) }
        }
        val model = OptionsViewModel(customer, UUID.randomUUID())
        model.activate(NoRadio)
        advanceUntilIdle()
        assertEquals(ActivationUi.NothingWaiting, model.activation.value)

        customer.activation = flow { throw CaasException.Pairing(PairingFailure.CAR_NOT_FOUND, "no car in range") }
        model.activate(NoRadio)
        advanceUntilIdle()
        assertEquals(ActivationUi.Failed(Notice.PairingFailed(PairingFailure.CAR_NOT_FOUND)), model.activation.value)

        customer.activation = flow {
            emit(ActivationProgress.Step(PairingStep.SCANNING))
            awaitCancellation()
        }
        model.activate(NoRadio)
        advanceUntilIdle()
        assertEquals(ActivationUi.Working(PairingStep.SCANNING), model.activation.value)
        model.cancelActivation()
        advanceUntilIdle()
        assertEquals(ActivationUi.Idle, model.activation.value)
    }
}
