package eu.caas.companion.presentation

import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.DeliveryWindow
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverStep
import eu.caas.companion.core.EstimatesSent
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.PickupPoint
import java.time.Instant
import java.util.UUID
import kotlin.test.assertEquals
import kotlinx.coroutines.test.advanceUntilIdle
import org.junit.jupiter.api.Test

class DriverViewModelTest : ViewModelTest() {
    private val delivery = AssignedDelivery(
        UUID.randomUUID(), UUID.randomUUID(), OrderState.AT_CUSTOMER_ADDRESS, 1u,
        DeliveryWindow(Instant.now(), Instant.now().plusSeconds(7_200)), "VF1AB000000000001", null, "urban-ev", "Ana",
        null, "Calle Mayor 1", true, PickupPoint("CaaS Madrid", "Calle 2", "9-18"), 0u, listOf(DriverStep.CONFIRM_HANDOVER), null,
    )

    @Test
    fun `an action without signal is recorded on the phone and says how many wait`() = test {
        val driver = FakeDriver(isSignedIn = true).apply { outcome = DriverActionOutcome.Queued(2u) }
        val model = DriverViewModel(driver)
        advanceUntilIdle()
        model.arrive(delivery)
        advanceUntilIdle()
        assertEquals(Notice.RecordedOffline(2), model.status.notice.value)
    }

    @Test
    fun `an incident on the way goes out with the driver's words and a blank note as none`() = test {
        val driver = FakeDriver(isSignedIn = true)
        val model = DriverViewModel(driver)
        advanceUntilIdle()
        val onTheRoad = delivery.copy(state = OrderState.IN_TRANSIT, steps = listOf(DriverStep.ARRIVE, DriverStep.REPORT_INCIDENT))
        model.reportIncident(onTheRoad, IncidentKind.ROAD_CLOSED, "  A-6 closed at km 40 ")
        model.reportIncident(onTheRoad, IncidentKind.BREAKDOWN, "   ")
        advanceUntilIdle()
        assertEquals(listOf(IncidentKind.ROAD_CLOSED to "A-6 closed at km 40", IncidentKind.BREAKDOWN to null), driver.incidents)
        assertEquals(Notice.Recorded, model.status.notice.value)
    }

    @Test
    fun `a delay says how many customers were told and the note keeps one line of what the platform takes`() = test {
        val driver = FakeDriver(isSignedIn = true).apply { estimates = EstimatesSent(2u, 1u) }
        val model = DriverViewModel(driver)
        advanceUntilIdle()
        model.reportDelay(30, EtaReason.TRAFFIC)
        advanceUntilIdle()
        assertEquals(listOf(30 to EtaReason.TRAFFIC), driver.delays)
        assertEquals(Notice.EstimatesSent(2, 1), model.status.notice.value)

        assertEquals("a b c", DriverViewModel.noteLine("a\nb\u202Ec", 500))
        val emoji = "\uD83D\uDE97".repeat(3)
        assertEquals("\uD83D\uDE97".repeat(2), DriverViewModel.noteLine(emoji, 2), "never half a character")
    }

    @Test
    fun `a handover names the customer whose code checked out`() = test {
        val model = DriverViewModel(FakeDriver(isSignedIn = true).apply { customerName = "Ana García" })
        advanceUntilIdle()
        model.handOver(delivery, "12345678")
        advanceUntilIdle()
        assertEquals(Notice.HandedOver("Ana García"), model.status.notice.value)
    }
}
