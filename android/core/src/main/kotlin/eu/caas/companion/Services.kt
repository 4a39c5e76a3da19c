package eu.caas.companion

import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DeliverySlot
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverConflict
import eu.caas.companion.core.DriverSyncReport
import eu.caas.companion.core.EstimatesSent
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.HandoverCheck
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.NotificationContent
import eu.caas.companion.core.OptionCatalogue
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.OrderSummary
import eu.caas.companion.core.PairingOptions
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.ServiceSlot
import eu.caas.companion.core.SyncReport
import eu.caas.companion.core.WedgedAction
import java.time.Instant
import java.time.ZoneId
import java.util.Locale
import java.util.UUID
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow

/**
 * What the customer's screens need of the core. The view models depend on this, not on the
 * repository, so they are tested against fakes as well as against the real core ([CaasRepository]).
 */
interface CustomerService {
    val isSignedIn: Boolean

    /** The customer's orders, newest first, updated after every sync or push. */
    val orders: StateFlow<List<OrderSummary>>

    /** One order: the cached value at once, then every change. */
    fun order(id: UUID): Flow<OrderDetail>

    /**
     * One order as cached now, read synchronously (from memory, or a short local read): what a
     * screen shows in its first frame. Throws `CaasException.NotFound` for an order not cached.
     */
    fun orderSnapshot(id: UUID): OrderDetail

    suspend fun requestSignInCode(email: String)

    /** Signs in with the emailed code; returns the customer id. */
    suspend fun signIn(email: String, code: String): UUID

    /** Registers this device's FCM registration token for the signed-in customer. */
    suspend fun registerFcmToken(token: String): UUID

    /**
     * Handles an FCM data message and says what to show for it, written by the core in the first
     * language of [locales] it speaks (the person's preference list: Android's `LocaleList`),
     * with times in [zone]: null for a message handled before.
     */
    suspend fun notificationFor(
        data: Map<String, String>,
        locales: List<Locale> = listOf(Locale.getDefault()),
        zone: ZoneId = ZoneId.systemDefault(),
    ): NotificationContent?

    suspend fun sync(): SyncReport

    suspend fun pay(orderId: UUID, card: PaymentCard): PaymentProgress

    suspend fun resumePayment(orderId: UUID): PaymentProgress?

    suspend fun deliverySlots(orderId: UUID): List<DeliverySlot>

    suspend fun chooseDeliveryWindow(orderId: UUID, start: Instant)

    suspend fun confirmDeliveryAddress(orderId: UUID, address: String? = null)

    /** The order's purchase record, signed by the platform: a JSON document to keep or share. */
    suspend fun exportRecord(orderId: UUID): String

    /** The handover code while a screen shows it, signed again until it expires. */
    fun liveHandoverCode(orderId: UUID, fresh: Boolean = false): Flow<CustomerHandoverCode>

    /** Pairs the phone with the delivered car: each step, then the link. */
    fun pairVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions? = null): Flow<PairingProgress>

    /** The options the delivered car can take, with their prices and whether each can be bought now. */
    suspend fun optionCatalogue(orderId: UUID): OptionCatalogue

    /**
     * Buys the option of [offer] for the delivered car at the offer's price, the one the customer
     * was shown, as the final payment is paid.
     */
    suspend fun buyOption(orderId: UUID, offer: OptionOffer, card: PaymentCard): PaymentProgress

    /** How the payment in flight for [option] ended (after the bank's page); null when none is. */
    suspend fun resumeOptionPayment(orderId: UUID, option: OptionCode): PaymentProgress?

    /** Hands the car the options it has not confirmed, near it over BLE: each step, then what the car did. */
    fun activateOptions(orderId: UUID, transport: BleTransport, options: PairingOptions? = null): Flow<ActivationProgress>

    /** The dealership workshop's free slots for the car's service, from 24 hours ahead for two weeks (online only). */
    suspend fun serviceSlots(orderId: UUID): List<ServiceSlot>

    /** Books the service in the free slot starting at [start], or moves the booking there. */
    suspend fun bookService(orderId: UUID, start: Instant)

    /** Cancels the booked service. */
    suspend fun cancelService(orderId: UUID)

    /** Reads the car's odometer and warnings nearby over BLE: each step, then what the car said. */
    fun readVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions? = null): Flow<ReadingProgress>
}

/** What the driver's screen needs of the core; [DriverRepository] is the real one. */
interface DriverService {
    val isSignedIn: Boolean

    /** The deliveries as the phone holds them, with what is not synced yet. */
    val deliveries: StateFlow<List<AssignedDelivery>>

    suspend fun requestSignInCode(email: String)

    /** Signs in with the code emailed to the driver; returns the driver id. */
    suspend fun signIn(email: String, code: String): String

    suspend fun refresh(): List<AssignedDelivery>

    suspend fun embark(deliveryId: UUID, vin: String): DriverActionOutcome

    suspend fun arrive(deliveryId: UUID): DriverActionOutcome

    suspend fun reportAbsent(deliveryId: UUID, call: CallOutcome): DriverActionOutcome

    suspend fun reportIncident(deliveryId: UUID, kind: IncidentKind, note: String?): DriverActionOutcome

    suspend fun reportDelay(minutes: Int, reason: EtaReason): EstimatesSent

    suspend fun checkHandoverCode(deliveryId: UUID, code: String): HandoverCheck

    suspend fun confirmHandover(deliveryId: UUID, code: String): DriverActionOutcome

    suspend fun sync(): DriverSyncReport

    suspend fun conflicts(): List<DriverConflict>

    suspend fun dismissConflict(id: Long)

    suspend fun held(): List<WedgedAction>

    suspend fun retry(id: Long): DriverSyncReport

    suspend fun discard(id: Long)
}
