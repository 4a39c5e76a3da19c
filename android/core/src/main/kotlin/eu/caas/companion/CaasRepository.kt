package eu.caas.companion

import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.Caas
import eu.caas.companion.core.CaasException
import eu.caas.companion.core.CaasConfig
import eu.caas.companion.core.CardDetails
import eu.caas.companion.core.DeliverySlot
import eu.caas.companion.core.DeviceKey
import eu.caas.companion.core.HandoverCode
import eu.caas.companion.core.NotificationContent
import eu.caas.companion.core.OptionCatalogue
import eu.caas.companion.core.OptionCode
import eu.caas.companion.core.OptionOffer
import eu.caas.companion.core.OptionsActivation
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.OrderListener
import eu.caas.companion.core.OrderSummary
import eu.caas.companion.core.OrdersListener
import eu.caas.companion.core.Paired
import eu.caas.companion.core.PairingListener
import eu.caas.companion.core.PairingOptions
import eu.caas.companion.core.PairingStep
import eu.caas.companion.core.PaymentProgress
import eu.caas.companion.core.PushHint
import eu.caas.companion.core.PushListener
import eu.caas.companion.core.PushOutcome
import eu.caas.companion.core.PushPlatform
import eu.caas.companion.core.PushStreamHandle
import eu.caas.companion.core.SecretStore
import eu.caas.companion.core.ServiceSlot
import eu.caas.companion.core.SyncReport
import eu.caas.companion.core.VehicleReading
import eu.caas.companion.core.handoverRefreshSeconds
import java.io.File
import java.time.Instant
import java.time.ZoneId
import java.util.Locale
import java.util.UUID
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.flow

/**
 * A card as typed on the payment screen. It goes from here to the payment gateway only, and its
 * [toString] shows the last four digits, so it never reaches a log whole.
 */
class PaymentCard(val number: String, val expMonth: Int, val expYear: Int, val cvc: String) {
    override fun toString(): String = "PaymentCard(•••• ${number.filter(Char::isDigit).takeLast(4)})"

    internal fun toCore() = CardDetails(number, expMonth.toUByte(), expYear.toUShort(), cvc)
}

/**
 * A handover code to show the driver or the dealership: [token] goes into the QR code, [shortCode]
 * is read out. It is a short-lived credential, so [toString] shows only its expiry.
 */
class CustomerHandoverCode(val token: String, val shortCode: String, val expiresAt: Instant) {
    override fun toString(): String = "CustomerHandoverCode(expires $expiresAt)"
}

/** A push the core handled, and what came of it. */
data class HandledPush(val hint: PushHint, val outcome: PushOutcome)

/** What the pairing screen shows: each step as it starts, then the finished pairing. */
sealed interface PairingProgress {
    data class Step(val step: PairingStep) : PairingProgress

    data class Linked(val paired: Paired) : PairingProgress
}

/**
 * What the activation screen shows: each step of the link to the car as it starts (the same as
 * pairing's, without `LINKED`), then what the car did with the options it was handed.
 */
sealed interface ActivationProgress {
    data class Step(val step: PairingStep) : ActivationProgress

    /** The car's answer; its `status` is null when nothing was waiting for it. */
    data class Done(val activation: OptionsActivation) : ActivationProgress
}

/**
 * What reading the car nearby shows: each step of the link to the car as it starts (the same as
 * pairing's, without `LINKED`), then what the car said.
 */
sealed interface ReadingProgress {
    data class Step(val step: PairingStep) : ReadingProgress

    /** The car's odometer and warnings; `reported` says whether the platform has them yet. */
    data class Done(val reading: VehicleReading) : ReadingProgress
}

/**
 * The app's one door to the shared core: state as flows the UI collects, actions as suspend
 * functions. Snapshots come from the on-device cache, so they show at once and offline; the
 * core's errors arrive as [eu.caas.companion.core.CaasException] subclasses.
 */
class CaasRepository private constructor(private val core: Caas) : CustomerService, AutoCloseable {
    /** How often the handover code on screen is signed again. */
    val handoverRefresh: Duration = handoverRefreshSeconds().toLong().seconds

    // The cached list from the start, read synchronously, so the first frame is not an empty list.
    private val ordersState = MutableStateFlow(core.ordersSnapshot())

    /** The customer's orders, newest first, updated after every sync or push. */
    override val orders: StateFlow<List<OrderSummary>> = ordersState.asStateFlow()

    // The listener holds the state alone, not the repository: nothing running keeps it alive.
    private val ordersSubscription = core.subscribeOrders(ordersState.feeding())

    /** One order with its timeline: the cached value at once, then every change. */
    override fun order(id: UUID): Flow<OrderDetail> = callbackFlow {
        val handle = core.subscribeOrder(id, object : OrderListener {
            override fun onOrder(order: OrderDetail) {
                trySend(order)
            }
        })
        awaitClose { handle.use { it.cancel() } }
    }.conflate()

    /** Every push the core handled from now on. */
    val pushes: Flow<HandledPush> = callbackFlow {
        val handle = core.subscribePushes(object : PushListener {
            override fun onPush(hint: PushHint, outcome: PushOutcome) {
                trySend(HandledPush(hint, outcome))
            }
        })
        awaitClose { handle.use { it.cancel() } }
    }.buffer(64)

    override val isSignedIn: Boolean get() = core.isSignedIn()

    override suspend fun requestSignInCode(email: String) = core.requestSignInCode(email)

    /** Signs in with the emailed code; returns the customer id. */
    override suspend fun signIn(email: String, code: String): UUID = core.signIn(email, code)

    suspend fun signOut() = core.signOut()

    /** Fetches what changed; throws `CaasException.Offline` while the cache keeps answering. */
    override suspend fun sync(): SyncReport = core.sync()

    /**
     * One cached order now, without a coroutine: from the core's memory while nothing changed since
     * it was last read, otherwise a short read of the on-device cache on the calling thread (never
     * the network). Throws `CaasException.NotFound` for an order the phone does not hold.
     */
    override fun orderSnapshot(id: UUID): OrderDetail = core.orderSnapshot(id)

    /**
     * Pays the amount due of an order. A payment still in flight is resumed, never charged twice.
     * Declines throw `CaasException.PaymentRefused` with the reason; offline throws
     * `CaasException.Offline` at once (nothing is queued; calling again resumes the same payment).
     * [PaymentProgress.RequiresAction] asks the app to open the bank's page, then [resumePayment].
     */
    override suspend fun pay(orderId: UUID, card: PaymentCard): PaymentProgress = core.pay(orderId, card.toCore())

    /** How the payment in flight ended (after 3-D Secure, or at start-up); null when none is. */
    override suspend fun resumePayment(orderId: UUID): PaymentProgress? = core.resumePayment(orderId)

    /** The windows the delivery of [orderId] can move to. */
    override suspend fun deliverySlots(orderId: UUID): List<DeliverySlot> = core.deliverySlots(orderId)

    /**
     * Moves the delivery to the offered window starting at [start]. Needs a connection: a window
     * is only worth choosing while the transport company has room in it. Refusals (too late, no
     * changes left, the window just taken) throw `CaasException.Rejected` with the reason.
     */
    override suspend fun chooseDeliveryWindow(orderId: UUID, start: Instant) = core.chooseDeliveryWindow(orderId, start)

    /** Confirms the delivery address, correcting it when [address] is given. */
    override suspend fun confirmDeliveryAddress(orderId: UUID, address: String?) =
        core.confirmDeliveryAddress(orderId, address)

    /**
     * The order's purchase record as this phone holds it, signed by the platform up to its last
     * event: a JSON document anyone can check offline with the platform's public key
     * (`verifyRecord`). Works offline once the order is synced.
     */
    override suspend fun exportRecord(orderId: UUID): String = core.exportRecord(orderId)

    /** The platform's record key this phone pinned at its first sync (base64url), to check records with. */
    suspend fun recordPublicKey(): String? = core.recordPublicKey()

    /** Disputes a recorded handover (the car did not reach the customer); the dealership is told at once. */
    suspend fun disputeHandover(orderId: UUID, reason: String) = core.disputeHandover(orderId, reason)

    /** A new code to show the driver or the dealership; offline, the last one while it is valid. */
    suspend fun handoverCode(orderId: UUID): CustomerHandoverCode = core.handoverCode(orderId).toCustomer()

    /**
     * The code on screen signed again by this phone for this moment, offline too; null once it
     * expired. The signature is the customer's word for when the driver checked the code, which
     * a driver without signal needs if the confirmation reaches the platform after the code expired.
     */
    suspend fun presentHandoverCode(orderId: UUID): CustomerHandoverCode? =
        try {
            core.presentHandoverCode(orderId).toCustomer()
        } catch (expired: CaasException.NotFound) {
            null
        }

    /**
     * The handover code while a screen shows it, signed again every [handoverRefresh] until it
     * expires, when the flow completes. It starts from the code already shown, if still valid, so
     * a screen that comes back (a rotation, the app reopened) keeps the code a driver may have
     * checked; [fresh] asks for a new one ("New code"), which replaces it.
     */
    override fun liveHandoverCode(orderId: UUID, fresh: Boolean): Flow<CustomerHandoverCode> = flow {
        var code = (if (fresh) null else presentHandoverCode(orderId)) ?: handoverCode(orderId)
        while (true) {
            emit(code)
            val untilExpiry = (code.expiresAt.toEpochMilli() - System.currentTimeMillis()).coerceAtLeast(0).milliseconds
            delay(minOf(handoverRefresh, untilExpiry))
            code = presentHandoverCode(orderId) ?: break
        }
    }

    private fun HandoverCode.toCustomer() = CustomerHandoverCode(token, shortCode, expiresAt)

    /**
     * Pairs the phone with the delivered car of [orderId] over [transport] (the app's
     * `BluetoothGatt` transport, or [simulatedBleTransport] against a platform mock). The flow
     * emits each [PairingProgress.Step], then [PairingProgress.Linked], and completes; a failure
     * throws `CaasException.Pairing` whose `failure` says what the customer can do. Cancelling the
     * collection cancels the pairing.
     */
    override fun pairVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<PairingProgress> =
        stepsThen(PairingProgress::Step) { steps ->
            PairingProgress.Linked(core.pairVehicle(orderId, transport, options, steps))
        }

    /**
     * The options the delivered car of [orderId] can take, each with its price, what it needs and
     * whether it can be bought now (its name already in the customer's language). Needs a
     * connection; throws `CaasException.Offline` without one.
     */
    override suspend fun optionCatalogue(orderId: UUID): OptionCatalogue = core.optionCatalogue(orderId)

    /**
     * Buys [option] for the car at the catalogue's price, with the final payment's machinery: an
     * attempt in flight is resumed, never charged twice; [PaymentProgress.RequiresAction] asks for
     * the bank's page, then [resumeOptionPayment]. An option the car cannot take now throws
     * `CaasException.PaymentRefused` with `PaymentRefusal.OPTION_UNAVAILABLE`, and a price that
     * changed since the offer was shown with `AMOUNT_CHANGED`, before any charge.
     */
    override suspend fun buyOption(orderId: UUID, offer: OptionOffer, card: PaymentCard): PaymentProgress =
        core.buyOption(orderId, offer.code, offer.price, card.toCore())

    /** How the payment in flight for [option] ended (after 3-D Secure, or at start-up); null when none is. */
    override suspend fun resumeOptionPayment(orderId: UUID, option: OptionCode): PaymentProgress? =
        core.resumeOptionPayment(orderId, option)

    /**
     * Hands the car of [orderId], over [transport], every option paid for that it has not
     * confirmed: for a car the connected-car network cannot reach (an underground car park). It
     * works without signal, from what the phone holds; the car's receipts reach the platform now
     * or at the next sync. The flow emits each [ActivationProgress.Step], then
     * [ActivationProgress.Done], and completes; a failure of the link throws `CaasException.Pairing`.
     * Cancelling the collection cancels the activation.
     */
    override fun activateOptions(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<ActivationProgress> =
        stepsThen(ActivationProgress::Step) { steps ->
            ActivationProgress.Done(core.activateOptions(orderId, transport, options, steps))
        }

    /**
     * The dealership workshop's free hourly slots for the car of [orderId], from 24 hours ahead for
     * two weeks, each with how many bays are free. Needs a connection; throws
     * `CaasException.Offline` without one.
     */
    override suspend fun serviceSlots(orderId: UUID): List<ServiceSlot> = core.serviceSlots(orderId)

    /**
     * Books the car's service in the offered slot starting at [start], or moves the booking there
     * (the order's `maintenance.booking` then shows it). Refusals throw `CaasException.Rejected`
     * with their code: `slot_unavailable` (just taken), `change_too_late` (within 24 hours of the
     * booked slot), `change_limit_reached` (moved three times).
     */
    override suspend fun bookService(orderId: UUID, start: Instant) = core.bookService(orderId, start)

    /** Cancels the booked service; within 24 hours of it, `CaasException.Rejected` with `change_too_late`. */
    override suspend fun cancelService(orderId: UUID) = core.cancelService(orderId)

    /**
     * Reads the odometer and warnings of the car of [orderId] over [transport], near it: it works
     * without signal, and the car's signed report reaches the platform now or at the next sync
     * (`reported` says which). The flow emits each [ReadingProgress.Step], then
     * [ReadingProgress.Done], and completes; a failure of the link throws `CaasException.Pairing`.
     * Cancelling the collection cancels the reading.
     */
    override fun readVehicle(orderId: UUID, transport: BleTransport, options: PairingOptions?): Flow<ReadingProgress> =
        stepsThen(ReadingProgress::Step) { steps ->
            ReadingProgress.Done(core.readVehicle(orderId, transport, options, steps))
        }

    /**
     * A conversation with the car as a flow: each step the core reports through its listener (as
     * [asProgress]), then the [outcome]. Steps arrive on the core's threads, hence the channel;
     * the buffer keeps a slow collector from dropping one.
     */
    private fun <T> stepsThen(asProgress: (PairingStep) -> T, outcome: suspend (PairingListener) -> T): Flow<T> =
        channelFlow {
            val steps = object : PairingListener {
                override fun onStep(step: PairingStep) {
                    trySend(asProgress(step))
                }
            }
            send(outcome(steps))
        }.buffer(16)

    /**
     * Fetches the phone key for a delivered order now, so pairing in an underground car park
     * works without signal; call it when the order shows `DELIVERED`.
     */
    suspend fun preparePairing(orderId: UUID) = core.preparePairing(orderId)

    /**
     * Revokes one of the car's phone keys listed in the order's `phoneKeys` (a lost phone); the car
     * refuses it from its next command. Signing out revokes this phone's own keys by itself.
     */
    suspend fun revokePhoneKey(orderId: UUID, grantId: UUID) = core.revokePhoneKey(orderId, grantId)

    /** Registers the FCM registration token (call from `FirebaseMessagingService.onNewToken`). */
    override suspend fun registerFcmToken(token: String): UUID = core.registerPushDevice(PushPlatform.FCM, token)

    /**
     * Entry point for `FirebaseMessagingService.onMessageReceived`: the message's data map, handed
     * to the core, which checks it and syncs the order it names.
     */
    suspend fun onFcmMessage(data: Map<String, String>): PushOutcome =
        core.handlePush(FcmPayload.encode(data).toByteArray(Charsets.UTF_8))

    override suspend fun notificationFor(data: Map<String, String>, locales: List<Locale>, zone: ZoneId): NotificationContent? =
        core.notificationForPush(
            FcmPayload.encode(data).toByteArray(Charsets.UTF_8),
            locales.joinToString(",") { it.toLanguageTag() },
            zone.id,
            zone.rules.getOffset(Instant.now()).totalSeconds / 60,
        )

    /** The development push channel (the platform mock's SSE stream) in place of FCM. */
    suspend fun connectDevelopmentPushStream(): PushStreamHandle = core.connectPushStream()

    override fun close() {
        ordersSubscription.use { it.cancel() }
        core.close()
    }

    companion object {
        /** Opens the core on the app's private [dataDir]; secrets go to [secrets], never to the cache. */
        suspend fun open(backendUrl: String, dataDir: File, secrets: SecretStore): CaasRepository =
            repository(Caas.open(CaasConfig(backendUrl, dataDir.absolutePath), secrets))

        /** Opens the core with the app's own device key (Keystore-backed on Android). */
        suspend fun open(backendUrl: String, dataDir: File, secrets: SecretStore, deviceKey: DeviceKey): CaasRepository =
            repository(Caas.openWithDeviceKey(CaasConfig(backendUrl, dataDir.absolutePath), secrets, deviceKey))

        /** The repository over an open [core], which is closed if the cache cannot be read. */
        private fun repository(core: Caas): CaasRepository =
            try {
                CaasRepository(core)
            } catch (unreadable: CaasException) {
                core.close()
                throw unreadable
            }
    }
}

/** A listener that only sets this state; it captures nothing else. */
private fun MutableStateFlow<List<OrderSummary>>.feeding(): OrdersListener = object : OrdersListener {
    override fun onOrders(orders: List<OrderSummary>) {
        value = orders
    }
}
