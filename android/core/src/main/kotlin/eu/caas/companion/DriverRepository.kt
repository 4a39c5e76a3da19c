package eu.caas.companion

import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.Caas
import eu.caas.companion.core.CaasConfig
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DeliveriesListener
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverConflict
import eu.caas.companion.core.DriverSyncReport
import eu.caas.companion.core.EstimatesSent
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.HandoverCheck
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.SecretStore
import eu.caas.companion.core.WedgedAction
import java.io.File
import java.util.UUID
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The driver role of the app. The company's deliveries are kept on the phone and every action is
 * recorded there first, so a driver without signal keeps working: actions return
 * [DriverActionOutcome.Queued] and leave in order when [sync] (or the core's own retries) reaches
 * the platform. Schedule [sync] from WorkManager with a network constraint. An action whose
 * answer this version cannot read returns [DriverActionOutcome.Wedged] and waits in [held] for
 * the driver to [retry] or [discard] it; it holds back only the later actions on the same car.
 */
class DriverRepository private constructor(private val core: Caas) : DriverService, AutoCloseable {
    private val deliveriesState = MutableStateFlow<List<AssignedDelivery>>(emptyList())

    /** The deliveries as the phone holds them, with what is not synced yet. */
    override val deliveries: StateFlow<List<AssignedDelivery>> = deliveriesState.asStateFlow()

    // The listener holds the state alone, not the repository: nothing running keeps it alive.
    private val subscription = core.subscribeDeliveries(deliveriesState.feeding())

    override val isSignedIn: Boolean get() = core.isSignedIn()

    override suspend fun requestSignInCode(email: String) = core.requestSignInCode(email)

    /** Signs in with the code emailed to the driver; returns the driver id. */
    override suspend fun signIn(email: String, code: String): String = core.signInDriver(email, code)

    /** Refused with `CaasException.PendingActions` while actions are not synced. */
    suspend fun signOut() = core.signOut()

    /** Fetches the company's open deliveries and the key that checks handover codes offline. */
    override suspend fun refresh(): List<AssignedDelivery> = core.refreshDeliveries()

    /** The car is loaded; [vin] as scanned from the windscreen. */
    override suspend fun embark(deliveryId: UUID, vin: String): DriverActionOutcome = core.embark(deliveryId, vin)

    override suspend fun arrive(deliveryId: UUID): DriverActionOutcome = core.arrive(deliveryId)

    /** Nobody took the car; [call] is what the phone call to the customer gave. */
    override suspend fun reportAbsent(deliveryId: UUID, call: CallOutcome): DriverActionOutcome =
        core.reportAbsent(deliveryId, call)

    /**
     * Something on the way stops the trip: the car goes back to the dealership with the driver and
     * the customer is told. [note] is one line of at most 500 characters; a longer one is refused
     * with `CaasException.Refused` before anything is recorded.
     */
    override suspend fun reportIncident(deliveryId: UUID, kind: IncidentKind, note: String?): DriverActionOutcome =
        core.reportIncident(deliveryId, kind, note)

    /**
     * A delay on the way: every car still on its way is expected [minutes] later, for [reason]
     * (traffic, weather, a longer stop). Works offline; the estimates go out when they can, and
     * the customers hear of the ones that matter.
     */
    override suspend fun reportDelay(minutes: Int, reason: EtaReason): EstimatesSent =
        core.reportDelay(minutes.toUInt(), reason)

    /**
     * Checks the code the customer shows without recording anything: a scanned QR token is
     * checked offline; eight digits read out need a connection. A bad code throws
     * `CaasException.HandoverRefused` with the reason.
     */
    override suspend fun checkHandoverCode(deliveryId: UUID, code: String): HandoverCheck =
        core.checkHandoverCode(deliveryId, code)

    /** Hands the car over to the customer whose code checks out. */
    override suspend fun confirmHandover(deliveryId: UUID, code: String): DriverActionOutcome =
        core.confirmHandover(deliveryId, code)

    /** Sends what waits, in order; refreshes the list when nothing is left. */
    override suspend fun sync(): DriverSyncReport = core.syncDriver()

    /** Actions the platform refused after they were recorded (e.g. the customer moved the delivery). */
    override suspend fun conflicts(): List<DriverConflict> = core.driverConflicts()

    override suspend fun dismissConflict(id: Long) = core.dismissDriverConflict(id)

    /** Actions held on the phone because the platform's answer could not be read, oldest first. */
    override suspend fun held(): List<WedgedAction> = core.wedgedDriverActions()

    /** Sends a held action again (the platform may have applied it already; it will not twice). */
    override suspend fun retry(id: Long): DriverSyncReport = core.retryDriverAction(id)

    /** Gives up a held action; the delivery shows the platform's view again. */
    override suspend fun discard(id: Long) = core.discardDriverAction(id)

    override fun close() {
        subscription.use { it.cancel() }
        core.close()
    }

    companion object {
        suspend fun open(backendUrl: String, dataDir: File, secrets: SecretStore): DriverRepository =
            DriverRepository(Caas.open(CaasConfig(backendUrl, dataDir.absolutePath), secrets))
    }
}

/** A listener that only sets this state; it captures nothing else. */
private fun MutableStateFlow<List<AssignedDelivery>>.feeding(): DeliveriesListener = object : DeliveriesListener {
    override fun onDeliveries(deliveries: List<AssignedDelivery>) {
        value = deliveries
    }
}
