package eu.caas.companion.app.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.ui.platform.LocalUriHandler
import androidx.compose.ui.platform.UriHandler
import androidx.compose.ui.test.ComposeUiTest
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.assertIsEnabled
import androidx.compose.ui.test.assertIsNotEnabled
import androidx.compose.ui.test.hasClickAction
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.test.runComposeUiTest
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.LifecycleRegistry
import androidx.lifecycle.compose.LocalLifecycleOwner
import eu.caas.companion.ActivationProgress
import eu.caas.companion.ReadingProgress
import eu.caas.companion.app.Dates
import eu.caas.companion.app.Money
import eu.caas.companion.core.ActivationChannel
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.Availability
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.DeliveryWindow
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.LinkReport
import eu.caas.companion.core.LinkUse
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.OptionsActivation
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.OrderSummary
import eu.caas.companion.core.PairingFailure
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.Phase
import eu.caas.companion.core.PickupPoint
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.core.RefusedOption
import eu.caas.companion.core.ServiceVisit
import eu.caas.companion.core.VehicleReading
import eu.caas.companion.core.VehicleStatus
import eu.caas.companion.core.WarningCode
import eu.caas.companion.core.optionName
import eu.caas.companion.presentation.DriverViewModel
import eu.caas.companion.presentation.FakeCustomer
import eu.caas.companion.presentation.FakeDriver
import eu.caas.companion.presentation.FakeMemory
import eu.caas.companion.presentation.MaintenanceViewModel
import eu.caas.companion.presentation.NoRadio
import eu.caas.companion.presentation.OptionsViewModel
import eu.caas.companion.presentation.OrderViewModel
import eu.caas.companion.presentation.OrdersViewModel
import eu.caas.companion.presentation.Role
import eu.caas.companion.presentation.SignInViewModel
import eu.caas.companion.presentation.carMaintenance
import eu.caas.companion.presentation.catalogue
import eu.caas.companion.presentation.euros
import eu.caas.companion.presentation.offer
import eu.caas.companion.presentation.operationalOrder
import eu.caas.companion.presentation.orderInProduction
import eu.caas.companion.presentation.purchase
import eu.caas.companion.presentation.serviceBooking
import eu.caas.companion.presentation.serviceSlot
import java.time.Instant
import java.time.LocalDate
import java.util.Locale
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.test.resetMain
import kotlinx.coroutines.test.setMain
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test

/**
 * The Compose screens on the desktop JVM, in Spanish, over their view models and fakes of the
 * facade: what the customer and the driver see and what a tap does (issue 15: the screens were
 * never compiled nor run anywhere, and showed English and wire names).
 */
@OptIn(ExperimentalTestApi::class, ExperimentalCoroutinesApi::class)
class ScreensTest {
    private val spanish = Locale.forLanguageTag("es-ES")
    private lateinit var previous: Locale

    @BeforeEach
    fun inSpanish() {
        previous = Locale.getDefault()
        Locale.setDefault(spanish)
        // The view models' scope runs on the main dispatcher: here, at once, on the test's thread.
        Dispatchers.setMain(Dispatchers.Unconfined)
    }

    @AfterEach
    fun restore() {
        Locale.setDefault(previous)
        Dispatchers.resetMain()
    }

    /** A screen as the app shows it: in the foreground, with the texts of the customer's language. */
    private fun ComposeUiTest.show(content: @Composable () -> Unit) = setContent {
        CompositionLocalProvider(
            LocalTexts provides XmlTexts(spanish),
            LocalLifecycleOwner provides Foreground(),
            content = content,
        )
    }

    private class Foreground : LifecycleOwner {
        override val lifecycle = LifecycleRegistry.createUnsafe(this).apply { currentState = Lifecycle.State.RESUMED }
    }

    /** A delivery of Ana García's car in [state], with the [steps] it allows. */
    private fun assigned(state: OrderState, vararg steps: DriverStep) = AssignedDelivery(
        UUID.randomUUID(), UUID.randomUUID(), state, 1u,
        DeliveryWindow(Instant.parse("2026-03-12T10:00:00Z"), Instant.parse("2026-03-12T12:00:00Z")),
        "VF1AB000000000001", "1234 KLM", "urban-ev", "Ana García", "+34600000001", "Calle Mayor 1", true,
        PickupPoint("CaaS Madrid Centro", "Calle 2", "9-18"), 0u, steps.toList(), null,
    )

    /** Waits for a text (a snackbar) to appear. */
    private fun ComposeUiTest.awaitText(text: String) =
        waitUntil(timeoutMillis = 5_000) { onAllNodesWithTextCount(text) > 0 }

    private fun ComposeUiTest.onAllNodesWithTextCount(text: String) =
        onAllNodes(hasText(text)).fetchSemanticsNodes().size

    /** How many nodes show [text] anywhere in theirs: a wire name must show nowhere. */
    private fun ComposeUiTest.nodesContaining(text: String) =
        onAllNodes(hasText(text, substring = true)).fetchSemanticsNodes().size

    @Test
    fun `the orders show their state in the customer's words and ask for notifications once`() = runComposeUiTest {
        val customer = FakeCustomer(isSignedIn = true)
        customer.orders.value = listOf(
            OrderSummary(
                UUID.randomUUID(), OrderState.IN_PRODUCTION, Phase.MANUFACTURING, 4u, "urban-ev", "CaaS Madrid Centro",
                null, null, emptyList(), Instant.parse("2026-03-12T10:00:00Z"),
            ),
        )
        val model = OrdersViewModel(customer, FakeMemory())
        var asked = 0
        show { OrdersScreen(model, onOpen = {}, askForNotifications = { asked += 1; model.notificationsAsked() }) }
        onNodeWithText("Tus coches").assertExists()
        onNodeWithText("En producción · CaaS Madrid Centro").assertExists()
        assertEquals(0, onAllNodesWithTextCount("in_production") + onAllNodesWithTextCount("in production"))
        waitForIdle()
        assertEquals(1, asked)
    }

    @Test
    fun `a customer asks for a code and signs in`() = runComposeUiTest {
        var signedIn: Role? = null
        val model = SignInViewModel(FakeCustomer(), FakeDriver()) { "fcm" }
        show { SignInScreen(model) { signedIn = it } }
        onNodeWithText("Envíame un código").assertIsNotEnabled()
        onNodeWithText("Correo electrónico").performTextInput("ana@example.com")
        onNodeWithText("Envíame un código").assertIsEnabled().performClick()
        awaitText("Hemos enviado un código a ana@example.com.")
        onNodeWithText("Código").performTextInput("123456")
        onNodeWithText("Entrar").performClick()
        waitUntil(timeoutMillis = 5_000) { signedIn != null }
        assertEquals(Role.CUSTOMER, signedIn)
    }

    @Test
    fun `the driver hands the car over on the eight digits`() = runComposeUiTest {
        val driver = FakeDriver(isSignedIn = true).apply { customerName = "Ana García" }
        driver.deliveries.value = listOf(
            assigned(OrderState.AT_CUSTOMER_ADDRESS, DriverStep.CONFIRM_HANDOVER),
        )
        val scans = mutableListOf<String>()
        val model = DriverViewModel(driver)
        show { DriverScreen(model) { prompt -> scans += prompt } }
        onNodeWithText("Ana García, Calle Mayor 1").assertExists()
        onNodeWithText("O los 8 dígitos").performTextInput("12345678")
        onNodeWithText("Comprobar").performClick()
        awaitText("Entregado a Ana García.")
        // The camera reads the QR code; the reading reaches the delivery it was opened for.
        onNodeWithText("Entregar").performClick()
        assertEquals(listOf("Escanea el código de entrega del cliente"), scans)
        driver.customerName = "Ana Gil"
        runOnIdle { model.scanned("qr-token") }
        awaitText("Entregado a Ana Gil.")
    }

    @Test
    fun `a driver stopped on the way reports the closed road with a note`() = runComposeUiTest {
        val driver = FakeDriver(isSignedIn = true)
        driver.deliveries.value = listOf(
            assigned(OrderState.IN_TRANSIT, DriverStep.ARRIVE, DriverStep.UPDATE_ARRIVAL, DriverStep.REPORT_INCIDENT),
        )
        show { DriverScreen(DriverViewModel(driver)) {} }
        onNodeWithText("Incidencia").performClick()
        onNodeWithText("¿Qué detiene el viaje?").assertExists()
        onNodeWithText("Qué ha pasado (opcional)").performTextInput("A-6 cortada en el km 40")
        onNodeWithText("Carretera cortada").performClick()
        waitForIdle()
        assertEquals(listOf<Pair<IncidentKind, String?>>(IncidentKind.ROAD_CLOSED to "A-6 cortada en el km 40"), driver.incidents)
        onNodeWithText("¿Qué detiene el viaje?").assertDoesNotExist()
    }

    @Test
    fun `a driver running late picks how late and why, and reads what went out`() = runComposeUiTest {
        val driver = FakeDriver(isSignedIn = true)
        driver.deliveries.value = listOf(
            assigned(OrderState.IN_TRANSIT, DriverStep.ARRIVE, DriverStep.UPDATE_ARRIVAL),
        )
        show { DriverScreen(DriverViewModel(driver)) {} }
        onNodeWithText("Voy con retraso").performClick()
        onNodeWithText("+30 min").performClick()
        onNodeWithText("tráfico").performClick()
        awaitText("Estimaciones enviadas: 2. Esperando conexión: 0.")
        assertEquals(listOf(30 to EtaReason.TRAFFIC), driver.delays)
    }

    @Test
    fun `the purchase record goes to the share sheet once`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val customer = FakeCustomer(isSignedIn = true).apply { detail = orderInProduction(order) }
        val shared = mutableListOf<String>()
        show { OrderScreen(OrderViewModel(customer, order), share = { shared += it }) {} }
        onNodeWithText("Compartir el expediente de compra").performClick()
        waitForIdle()
        assertEquals(1, shared.size)
        assertTrue(order.toString() in shared.single(), shared.single())
    }

    @Test
    fun `3-D Secure opens the bank's page once`() = runComposeUiTest {
        val customer = FakeCustomer(isSignedIn = true).apply {
            onPay = { PaymentProgress.RequiresAction("pi_1", "https://bank.example/3ds") }
        }
        val opened = mutableListOf<String>()
        val browser = object : UriHandler {
            override fun openUri(uri: String) {
                opened += uri
            }
        }
        val model = OrderViewModel(customer, UUID.randomUUID())
        show { CompositionLocalProvider(LocalUriHandler provides browser) { PaymentScreen(model) } }
        onNodeWithText("Número de tarjeta").performTextInput("4000000000003220")
        onNodeWithText("Caducidad (MM/AA)").performTextInput("12/34")
        onNodeWithText("Código de seguridad").performTextInput("123")
        onNode(hasText("Pagar") and hasClickAction()).assertIsEnabled().performClick()
        awaitText("Confirma el pago con tu banco y vuelve.")
        waitForIdle()
        assertEquals(listOf("https://bank.example/3ds"), opened)
    }

    @Test
    fun `a car in use offers its options from the order`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val customer = FakeCustomer(isSignedIn = true).apply { detail = operationalOrder(order) }
        val opened = mutableListOf<OrderPage>()
        show { OrderScreen(OrderViewModel(customer, order), share = {}) { opened += it } }
        onNodeWithText("Opciones para tu coche").performClick()
        assertEquals(listOf(OrderPage.OPTIONS), opened)
    }

    @Test
    fun `the options say why one cannot be bought, in words, and a card buys one`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val seats = offer("heated-seats", "Asientos calefactados", 30_000)
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order)
            onCatalogue = {
                catalogue(
                    seats,
                    offer("performance-boost", "Más potencia", 150_000, Availability.Requires("long-range-battery")),
                    offer("roof-rails", "Barras de techo", 40_000, Availability.NeedsWorkshop, OptionKind.WORKSHOP),
                )
            }
            onBuyOption = { PaymentProgress.Succeeded("pi_1") }
        }
        show { OptionsScreen(OptionsViewModel(customer, order)) {} }
        onNodeWithText("Asientos calefactados · ${Money.format(euros(30_000))}").assertExists()
        onNodeWithText("Necesita antes: Batería de gran autonomía.").assertExists()
        onNodeWithText("Se monta en el taller de tu concesionario: pídesela allí.").assertExists()
        assertEquals(0, nodesContaining("long-range-battery") + nodesContaining("heated-seats"), "no wire names")
        assertEquals(1, onAllNodes(hasText("Comprar") and hasClickAction()).fetchSemanticsNodes().size, "only the one the car can take")
        onNodeWithText("¿Coche sin cobertura?").assertDoesNotExist()

        onNodeWithText("Comprar").performScrollTo().performClick()
        onNodeWithText("Número de tarjeta").performScrollTo().performTextInput("4242424242424242")
        onNodeWithText("Caducidad (MM/AA)").performScrollTo().performTextInput("12/34")
        onNodeWithText("Código de seguridad").performScrollTo().performTextInput("123")
        customer.onCatalogue = { catalogue(seats.copy(availability = Availability.Pending)) }
        onNode(hasText("Pagar") and hasClickAction()).performScrollTo().assertIsEnabled().performClick()
        awaitText("Pagado. Tu coche activa la opción en cuanto la recibe.")
        assertEquals(listOf("heated-seats"), customer.boughtOptions.map { it.first })
        // Bought: the offer says it is on its way, and its card form is gone.
        onNodeWithText("Comprada: de camino a tu coche.").assertExists()
        onNodeWithText("Número de tarjeta").assertDoesNotExist()
    }

    @Test
    fun `without signal the purchases show where each stands and the car takes the waiting one nearby`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val waiting = purchase("heated-seats", "Asientos calefactados", PurchaseStatus.PAID)
        val active = purchase("connected-navigation", "Navegación conectada", PurchaseStatus.ACTIVATED, ActivationChannel.CONNECTED_CAR)
        val refunded = purchase("eco-range-mode", "Modo eco", PurchaseStatus.REFUNDED)
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order, options = listOf(waiting, active, refunded))
            onCatalogue = { throw CaasException.Offline("underground") }
            activation = flowOf(
                ActivationProgress.Done(
                    OptionsActivation(
                        listOf("heated-seats"),
                        listOf(RefusedOption("eco-range-mode", PairingFailure.ENTITLEMENT_EXPIRED)),
                        VehicleStatus(12u, 81u, true, true),
                        listOf("connected-navigation", "heated-seats"),
                        false,
                        null,
                    ),
                ),
            )
        }
        val model = OptionsViewModel(customer, order)
        show { OptionsScreen(model) { model.activate(NoRadio) } }
        onNodeWithText("Las opciones a la venta aparecen cuando el móvil tiene conexión.").assertExists()
        val until = Dates.moment(waiting.activateBy)
        onNodeWithText("Esperando a tu coche hasta $until. Si el coche no la confirma para entonces, se te devuelve el precio.").assertExists()
        onNodeWithText("Activa desde ${Dates.moment(active.activatedAt!!)}. Recibida por la conexión del propio coche.").assertExists()
        onNodeWithText("Reembolsada el ${Dates.day(refunded.refundedAt!!)}: el coche no la confirmó a tiempo.").assertExists()

        onNodeWithText("Activar junto al coche").performScrollTo().performClick()
        awaitText("1 opción activada.")
        val eco = optionName("eco-range-mode", "es-ES")
        onNodeWithText("$eco: Ha pasado el plazo para activar esta opción; se te devuelve su precio automáticamente.").assertExists()
        onNodeWithText("La plataforma lo sabrá en cuanto el móvil tenga conexión.").assertExists()
        assertEquals(0, nodesContaining("eco-range-mode") + nodesContaining("heated-seats"), "no wire names")
    }

    @Test
    fun `a car in use opens its maintenance from the order`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val customer = FakeCustomer(isSignedIn = true).apply { detail = operationalOrder(order) }
        val opened = mutableListOf<OrderPage>()
        show { OrderScreen(OrderViewModel(customer, order), share = {}) { opened += it } }
        onNodeWithText("Mantenimiento").performScrollTo().performClick()
        assertEquals(listOf(OrderPage.MAINTENANCE), opened)
    }

    @Test
    fun `the maintenance page tells the next service, the car's words and the history, moves the booking and reads the car`() =
        runComposeUiTest {
            val order = UUID.randomUUID()
            val (booked, later, last) = listOf(serviceSlot(0), serviceSlot(1, free = 1u), serviceSlot(2))
            val visit = ServiceVisit(Instant.parse("2026-03-02T10:00:00Z"), 1_500u, "Primera revisión: frenos revisados")
            val reportedAt = Instant.parse("2026-03-20T12:00:00Z")
            val customer = FakeCustomer(isSignedIn = true).apply {
                detail = operationalOrder(
                    order,
                    maintenance = carMaintenance(
                        19_212u,
                        listOf(WarningCode.BRAKE_WEAR, WarningCode.UNKNOWN),
                        serviceBooking(booked, changesLeft = 2u),
                        listOf(visit),
                        reportedAt,
                    ),
                )
                onServiceSlots = { listOf(booked, later, last) }
                val use = LinkUse(2u, 120u, 240u, null)
                reading = flowOf(
                    ReadingProgress.Done(
                        VehicleReading(
                            VehicleStatus(19_230u, 80u, true, true), 19_230u, emptyList(), reportedAt.plusSeconds(600), false,
                            LinkReport(185u, use, use),
                        ),
                    ),
                )
            }
            val model = MaintenanceViewModel(customer, order)
            show { MaintenanceScreen(model) { model.read(NoRadio) } }

            onNodeWithText("A los 21.500 km o el ${Dates.day(LocalDate.parse("2027-03-12"))}, lo que llegue antes.").assertExists()
            onNodeWithText("Una revisión cada 20.000 km o cada 12 meses, lo que llegue antes.").assertExists()
            onNodeWithText("Kilometraje: 19.212 km, según lo informó el coche el ${Dates.moment(reportedAt)}.").assertExists()
            onNodeWithText("Desgaste de frenos").assertExists()
            onNodeWithText("El coche indica un aviso. Tu concesionario puede darte más detalles.").assertExists()
            onNodeWithText("Reservada: ${Dates.span(booked.start, booked.end)}").assertExists()
            onNodeWithText("Puedes cambiarla 2 veces más.").assertExists()
            onNodeWithText("${Dates.day(visit.at)} · 1.500 km · Primera revisión: frenos revisados").assertExists()
            assertEquals(0, nodesContaining("brake_wear") + nodesContaining("BRAKE_WEAR") + nodesContaining("UNKNOWN"), "no wire names")
            onNodeWithText("Horas libres en el taller de tu concesionario").assertDoesNotExist()

            // "Move" opens the free times, the booked one left out; one tapped moves the booking there.
            onNodeWithText("Cambiar").performScrollTo().performClick()
            onNodeWithText("Horas libres en el taller de tu concesionario").assertExists()
            assertEquals(0, onAllNodesWithTextCount(Dates.span(booked.start, booked.end)), "the booked time is not offered again")
            onNodeWithText("1 libre").assertExists()
            onNodeWithText(Dates.span(later.start, later.end)).performScrollTo().performClick()
            awaitText("Cita cambiada.")
            assertEquals(listOf(later.start), customer.bookedServices)
            onNodeWithText("Horas libres en el taller de tu concesionario").assertDoesNotExist()

            // Next to the car without signal: what it reads, and that the platform hears of it later.
            onNodeWithText("Leer el coche aquí al lado").performScrollTo().performClick()
            awaitText("El coche marca 19.230 km.")
            onNodeWithText("El coche no indica ningún aviso.").assertExists()
            onNodeWithText("La plataforma lo sabrá en cuanto el móvil tenga conexión.").assertExists()
        }

    @Test
    fun `a refused change of the booking is told in the customer's words`() = runComposeUiTest {
        val order = UUID.randomUUID()
        val slot = serviceSlot(0)
        val customer = FakeCustomer(isSignedIn = true).apply {
            detail = operationalOrder(order, maintenance = carMaintenance(booking = serviceBooking(slot, changesLeft = 0u)))
            onCancelService = { throw CaasException.Rejected("change_too_late", "the service starts within 24 hours") }
        }
        show { MaintenanceScreen(MaintenanceViewModel(customer, order)) {} }
        onNodeWithText("Ya no se puede cambiar más.").assertExists()
        onNodeWithText("Cambiar").assertDoesNotExist()
        onNodeWithText("Anular la cita").performScrollTo().performClick()
        awaitText("Faltan menos de 24 horas y ya no se puede cambiar. Contacta con tu concesionario.")
        assertEquals(0, nodesContaining("24 hours") + nodesContaining("change_too_late"), "never the platform's English")
    }
}
