package eu.caas.companion.presentation

import eu.caas.companion.ActivationProgress
import eu.caas.companion.CustomerHandoverCode
import eu.caas.companion.CustomerService
import eu.caas.companion.DriverService
import eu.caas.companion.PairingProgress
import eu.caas.companion.PaymentCard
import eu.caas.companion.ReadingProgress
import eu.caas.companion.core.ActivationChannel
import eu.caas.companion.core.AssignedDelivery
import eu.caas.companion.core.Availability
import eu.caas.companion.core.BleAdvertisement
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CallOutcome
import eu.caas.companion.core.DeliverySlot
import eu.caas.companion.core.DriverActionOutcome
import eu.caas.companion.core.DriverConflict
import eu.caas.companion.core.DriverSyncReport
import eu.caas.companion.core.EstimatesSent
import eu.caas.companion.core.EtaReason
import eu.caas.companion.core.HandoverCheck
import eu.caas.companion.core.CustomerAction
import eu.caas.companion.core.IncidentKind
import eu.caas.companion.core.MaintenancePlan
import eu.caas.companion.core.MaintenanceView
import eu.caas.companion.core.Money
import eu.caas.companion.core.NextService
import eu.caas.companion.core.NotificationContent
import eu.caas.companion.core.OptionCatalogue
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionKind
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.OptionPurchase
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.OrderSummary
import eu.caas.companion.core.PairingOptions
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.Phase
import eu.caas.companion.core.PurchaseStatus
import eu.caas.companion.core.ServiceBooking
import eu.caas.companion.core.ServiceSlot
import eu.caas.companion.core.ServiceVisit
import eu.caas.companion.core.SyncReport
import eu.caas.companion.core.VehicleConfiguration
import eu.caas.companion.core.WarningCode
import eu.caas.companion.core.WedgedAction
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.util.Locale
import java.util.UUID
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.emptyFlow
import kotlinx.coroutines.flow.filterNotNull

/** An order in production with nothing more to it: what an order's screen needs to show. */
fun orderInProduction(id: UUID = UUID.randomUUID()) = OrderDetail(
    OrderSummary(
        id, OrderState.IN_PRODUCTION, Phase.MANUFACTURING, 4u, "urban-ev", "CaaS Madrid Centro",
        null, null, emptyList(), Instant.parse("2026-03-12T10:00:00Z"),
    ),
    VehicleConfiguration("urban-ev", emptyList()), "Madrid", null, null, emptyList(), emptyList(), emptyList(), null,
    null, null, false, false, null, emptyList(), emptyList(), emptyList(), null,
    refunds = emptyList(), options = emptyList(), optionPaymentsInFlight = emptyList(), maintenance = null,
    unknownUpdates = emptyList(),
)

/** The same order, its car handed over and in use, with the options bought for it and its maintenance. */
fun operationalOrder(
    id: UUID = UUID.randomUUID(),
    options: List<OptionPurchase> = emptyList(),
    inFlight: List<OptionCode> = emptyList(),
    maintenance: MaintenanceView = carMaintenance(),
) = orderInProduction(id).let {
    it.copy(
        summary = it.summary.copy(state = OrderState.OPERATIONAL, phase = Phase.LINKING),
        actions = listOf(CustomerAction.BUY_OPTIONS, CustomerAction.BOOK_SERVICE),
        options = options,
        optionPaymentsInFlight = inFlight,
        maintenance = maintenance,
    )
}

/**
 * A car's maintenance on the plan of an urban-ev (every 20,000 km or 12 months), at [odometerKm]
 * as the car reported it at noon on 20 March 2026, its next service 20,000 km after the last.
 */
fun carMaintenance(
    odometerKm: UInt = 12u,
    warnings: List<WarningCode> = emptyList(),
    booking: ServiceBooking? = null,
    visits: List<ServiceVisit> = emptyList(),
    reportedAt: Instant? = Instant.parse("2026-03-20T12:00:00Z"),
) = MaintenanceView(
    MaintenancePlan(20_000u, 12u),
    odometerKm,
    reportedAt,
    warnings,
    NextService((visits.lastOrNull()?.odometerKm ?: 0u) + 20_000u, LocalDate.parse("2027-03-12")),
    booking,
    visits,
)

/** The workshop's hourly slot starting [hours] after 9:00 on 23 March 2026, with [free] bays. */
fun serviceSlot(hours: Long, free: UInt = 2u): ServiceSlot {
    val start = Instant.parse("2026-03-23T09:00:00Z").plusSeconds(hours * 3_600)
    return ServiceSlot(start, start.plusSeconds(3_600), free)
}

/** A booking of [slot] that can move [changesLeft] more times. */
fun serviceBooking(slot: ServiceSlot, changesLeft: UInt = 3u) = ServiceBooking(slot.start, slot.end, changesLeft)

fun euros(cents: Long) = Money(cents, "EUR")

/** An offer of the platform's catalogue, named as the platform names it for a Spanish customer. */
fun offer(
    code: OptionCode,
    name: String,
    cents: Long,
    availability: Availability = Availability.Available,
    kind: OptionKind = OptionKind.SOFTWARE,
) = OptionOffer(code, name, euros(cents), kind, emptyList(), emptyList(), availability)

fun catalogue(vararg offers: OptionOffer) = OptionCatalogue("urban-ev", offers.toList())

/** An option bought at noon on 12 March 2026, to be confirmed by the car within three days. */
fun purchase(
    code: OptionCode,
    name: String,
    status: PurchaseStatus,
    activatedVia: ActivationChannel? = null,
): OptionPurchase {
    val paidAt = Instant.parse("2026-03-12T12:00:00Z")
    return OptionPurchase(
        UUID.randomUUID(), code, name, euros(30_000), status, paidAt, paidAt.plusSeconds(72 * 3_600),
        "entitlement".takeIf { status == PurchaseStatus.PAID },
        paidAt.plusSeconds(3_600).takeIf { status == PurchaseStatus.ACTIVATED },
        activatedVia,
        paidAt.plusSeconds(96 * 3_600).takeIf { status == PurchaseStatus.REFUNDED },
    )
}

/** The phone's radio where a fake service answers for the car: never reached. */
object NoRadio : BleTransport {
    override suspend fun scan(timeoutMs: UInt): List<BleAdvertisement> = error("no radio here")

    override suspend fun connect(peripheralId: String): UShort = error("no radio here")

    override suspend fun write(peripheralId: String, chunk: ByteArray) = error("no radio here")

    override suspend fun nextIndication(peripheralId: String, timeoutMs: UInt): ByteArray? = error("no radio here")

    override suspend fun disconnect(peripheralId: String) = error("no radio here")
}

/** A customer service that answers as each test says; what it is not told to answer fails. */
class FakeCustomer(override var isSignedIn: Boolean = false) : CustomerService {
    override val orders = MutableStateFlow<List<OrderSummary>>(emptyList())
    val registeredTokens = mutableListOf<String>()
    var onSync: suspend () -> SyncReport = { SyncReport(0u, 0u) }
    var onPay: suspend (PaymentCard) -> PaymentProgress = { error("pay not expected") }
    var onResume: suspend () -> PaymentProgress? = { null }
    var onRegister: suspend (String) -> UUID = { token -> registeredTokens += token; UUID.randomUUID() }
    var onCatalogue: suspend () -> OptionCatalogue = { error("optionCatalogue not expected") }
    var onChooseWindow: suspend (Instant) -> Unit = {}

    /** The options bought, with the card each was paid with. */
    val boughtOptions = mutableListOf<Pair<OptionCode, PaymentCard>>()
    var onBuyOption: suspend (OptionCode) -> PaymentProgress = { error("buyOption not expected") }
    var onResumeOption: suspend (OptionCode) -> PaymentProgress? = { null }

    /** What an activation emits; each collection starts it again. */
    var activation: Flow<ActivationProgress> = emptyFlow()

    var onServiceSlots: suspend () -> List<ServiceSlot> = { error("serviceSlots not expected") }

    /** The slots booked (or moved to), by start, in order. */
    val bookedServices = mutableListOf<Instant>()
    var onBookService: suspend (Instant) -> Unit = {}
    var cancelledServices = 0
    var onCancelService: suspend () -> Unit = {}

    /** What a reading of the car emits; each collection starts it again. */
    var reading: Flow<ReadingProgress> = emptyFlow()

    private val detailState = MutableStateFlow<OrderDetail?>(null)

    /** What every order's screen shows, and shows again when it changes; none keeps it loading. */
    var detail: OrderDetail?
        get() = detailState.value
        set(value) {
            detailState.value = value
        }

    override fun order(id: UUID): Flow<OrderDetail> = detailState.filterNotNull()

    override fun orderSnapshot(id: UUID): OrderDetail = detail ?: throw CaasException.NotFound("order $id")

    override suspend fun requestSignInCode(email: String) = Unit

    override suspend fun signIn(email: String, code: String): UUID {
        isSignedIn = true
        return UUID.randomUUID()
    }

    override suspend fun registerFcmToken(token: String): UUID = onRegister(token)

    override suspend fun notificationFor(data: Map<String, String>, locales: List<Locale>, zone: ZoneId): NotificationContent? = null

    override suspend fun sync(): SyncReport = onSync()

    override suspend fun pay(orderId: UUID, card: PaymentCard): PaymentProgress = onPay(card)

    override suspend fun resumePayment(orderId: UUID): PaymentProgress? = onResume()

    override suspend fun deliverySlots(orderId: UUID): List<DeliverySlot> = emptyList()

    override suspend fun chooseDeliveryWindow(orderId: UUID, start: Instant) = onChooseWindow(start)

    override suspend fun confirmDeliveryAddress(orderId: UUID, address: String?) = Unit

    override suspend fun exportRecord(orderId: UUID) = """{"format":"caas-record/1","order_id":"$orderId"}"""

    override fun liveHandoverCode(orderId: UUID, fresh: Boolean): Flow<CustomerHandoverCode> = emptyFlow()

    override fun pairVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<PairingProgress> =
        emptyFlow()

    override suspend fun optionCatalogue(orderId: UUID): OptionCatalogue = onCatalogue()

    override suspend fun buyOption(orderId: UUID, offer: OptionOffer, card: PaymentCard): PaymentProgress {
        boughtOptions += offer.code to card
        return onBuyOption(offer.code)
    }

    override suspend fun resumeOptionPayment(orderId: UUID, option: OptionCode): PaymentProgress? = onResumeOption(option)

    override fun activateOptions(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<ActivationProgress> =
        activation

    override suspend fun serviceSlots(orderId: UUID): List<ServiceSlot> = onServiceSlots()

    override suspend fun bookService(orderId: UUID, start: Instant) {
        onBookService(start)
        bookedServices += start
    }

    override suspend fun cancelService(orderId: UUID) {
        onCancelService()
        cancelledServices += 1
    }

    override fun readVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<ReadingProgress> = reading
}

/** A driver service whose actions answer with [outcome]. */
class FakeDriver(override var isSignedIn: Boolean = false) : DriverService {
    override val deliveries = MutableStateFlow<List<AssignedDelivery>>(emptyList())
    var outcome: DriverActionOutcome = DriverActionOutcome.Synced
    var customerName = "Ana"
    var held: List<WedgedAction> = emptyList()

    override suspend fun requestSignInCode(email: String) = Unit

    override suspend fun signIn(email: String, code: String): String {
        isSignedIn = true
        return "driver"
    }

    override suspend fun refresh(): List<AssignedDelivery> = deliveries.value

    override suspend fun embark(deliveryId: UUID, vin: String) = outcome

    override suspend fun arrive(deliveryId: UUID) = outcome

    override suspend fun reportAbsent(deliveryId: UUID, call: CallOutcome) = outcome

    /** The incidents reported, as the service received them. */
    val incidents = mutableListOf<Pair<IncidentKind, String?>>()

    override suspend fun reportIncident(deliveryId: UUID, kind: IncidentKind, note: String?): DriverActionOutcome {
        incidents += kind to note
        return outcome
    }

    /** The delays reported, and what the service answers. */
    val delays = mutableListOf<Pair<Int, EtaReason>>()
    var estimates = EstimatesSent(2u, 0u)

    override suspend fun reportDelay(minutes: Int, reason: EtaReason): EstimatesSent {
        delays += minutes to reason
        return estimates
    }

    override suspend fun checkHandoverCode(deliveryId: UUID, code: String) =
        HandoverCheck(UUID.randomUUID(), customerName, Instant.now().plusSeconds(600))

    override suspend fun confirmHandover(deliveryId: UUID, code: String) = outcome

    override suspend fun sync() = DriverSyncReport(0u, 0u, 0u, 0u)

    override suspend fun conflicts(): List<DriverConflict> = emptyList()

    override suspend fun dismissConflict(id: Long) = Unit

    override suspend fun held(): List<WedgedAction> = held

    override suspend fun retry(id: Long) = DriverSyncReport(1u, 0u, 0u, 0u)

    override suspend fun discard(id: Long) = Unit
}

/** The app's memory, in memory. */
class FakeMemory : AppMemory {
    override var notificationsAsked = false
    override var lastRole: Role? = null
}
