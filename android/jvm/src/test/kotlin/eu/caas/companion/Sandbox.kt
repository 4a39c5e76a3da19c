package eu.caas.companion

import eu.caas.companion.core.WarningCode
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.UUID

/**
 * The platform mock's dealership and sandbox APIs, for tests: the test command starts the mock
 * and passes its URL and sandbox token in `CAAS_BACKEND` and `CAAS_SANDBOX_TOKEN`.
 */
class Sandbox(
    val url: String = System.getenv("CAAS_BACKEND") ?: error("CAAS_BACKEND is not set"),
    private val token: String = System.getenv("CAAS_SANDBOX_TOKEN") ?: error("CAAS_SANDBOX_TOKEN is not set"),
) {
    private val http = HttpClient.newHttpClient()
    private val dealer: String by lazy {
        field(post("/v1/sandbox/dealerships/madrid-centro/staff-tokens", "{}", token), "access_token")
    }

    /** Registers a sale for [email] and returns the order id. */
    fun sell(email: String, basePlatform: String = "urban-ev", options: List<String> = listOf("heat-pump")): UUID {
        val opts = options.joinToString(",") { "\"$it\"" }
        val body = """{"customer":{"email":"$email","name":"Kotlin Test","country":"ES",
            |"registration":{"national_id":"12345678Z","address":"Calle Mayor 1, 28013 Madrid"}},
            |"configuration":{"base_platform":"$basePlatform","options":[$opts]},
            |"delivery_locality":"Madrid"}""".trimMargin()
        return UUID.fromString(field(post("/v1/dealership/sales", body, dealer), "id"))
    }

    fun reserve(order: UUID) =
        post("/v1/dealership/orders/$order/reservation", """{"deposit":{"amount_minor":150000,"currency":"EUR"}}""", dealer)

    fun advance(order: UUID, to: String? = null) =
        post("/v1/sandbox/orders/$order/factory/advance", if (to == null) "{}" else """{"to":"$to"}""", token)

    /** Passes or fails the 3-D Secure check of a payment, as the customer would at the bank. */
    fun completeThreeDSecure(payment: String, pass: Boolean) =
        post("/v1/sandbox/payments/$payment/three-d-secure", """{"pass":$pass}""", token)

    /** Records the car's return at the dealership (after the customer could not be reached). */
    fun receiveAtDealership(order: UUID) = post("/v1/dealership/orders/$order/reception", "{}", dealer)

    /** The dealership hands a held car over on the customer's code. */
    fun handOverAtDealership(order: UUID, code: String) =
        post("/v1/dealership/orders/$order/handover", """{"code":"$code"}""", dealer)

    fun signInCode(email: String): String = field(get("/v1/sandbox/sign-in-codes/$email", token), "code")

    /** Charges a paid order again through the gateway, as another channel might; returns the payment id. */
    fun duplicateCharge(order: UUID): String = field(post("/v1/sandbox/orders/$order/duplicate-charge", "{}", token), "id")

    /** Plays a platform rewriting its own history: the event at [version] is dated a day earlier and signed again. */
    fun rewriteHistory(order: UUID, version: Long) =
        post("/v1/sandbox/orders/$order/history/rewrite", """{"version":$version}""", token)

    /** Appends an event of [type], a kind this platform does not know, as a newer one would; returns its version. */
    fun appendEvent(order: UUID, type: String): Long =
        Regex(""""version"\s*:\s*(\d+)""").find(post("/v1/sandbox/orders/$order/events", """{"type":"$type","added":true}""", token))
            ?.groupValues?.get(1)?.toLong() ?: error("no version")

    /**
     * Answers the next driver action with [status] without applying it: with the API's error
     * [code], or with a page no app can read when there is none.
     */
    fun answerNextDriverAction(status: Int, code: String? = null) = post(
        "/v1/sandbox/drivers/faults",
        """{"answer_next":{"status":$status${code?.let { ""","code":"$it"""" } ?: ""}}}""",
        token,
    )

    /** The data of the FCM messages the platform sent for [order], oldest first. */
    fun fcmData(order: UUID): List<Map<String, String>> =
        Regex(""""data"\s*:\s*\{([^}]*)\}""").findAll(get("/v1/sandbox/messages?order_id=$order&channel=fcm", token))
            .map { data ->
                Regex(""""(\w+)"\s*:\s*"([^"]*)"""").findAll(data.groupValues[1])
                    .associate { it.groupValues[1] to it.groupValues[2] }
            }
            .toList()

    /** The FCM registration tokens the platform pushed [order]'s events to. */
    fun fcmTokens(order: UUID): Set<String> =
        Regex(""""token"\s*:\s*"([^"]*)"""").findAll(get("/v1/sandbox/messages?order_id=$order&channel=fcm", token))
            .map { it.groupValues[1] }
            .toSet()

    /**
     * Takes the car out of the connected-car network's reach (`false`: parked underground), or
     * brings it back: the platform's option entitlements then wait for it, or for the owner's phone.
     */
    fun setCoverage(vin: String, connected: Boolean) =
        post("/v1/sandbox/vehicles/$vin/faults", """{"connected":$connected}""", token)

    /** The options the car itself has switched on since delivery, as the sandbox inspects it. */
    fun vehicleOptions(vin: String): List<String> =
        Regex(""""options"\s*:\s*\[([^\]]*)\]""").find(get("/v1/sandbox/vehicles/$vin", token))?.groupValues?.get(1)
            ?.let { list -> Regex(""""([^"]*)"""").findAll(list).map { it.groupValues[1] }.toList() }
            ?: error("no options in the car's inspection")

    /**
     * Drives the car [km] kilometres; afterwards it warns about [warnings] (none: all clear). A car
     * in coverage reports its odometer and warnings to the platform at once.
     */
    fun drive(vin: String, km: Int, warnings: List<WarningCode> = emptyList()) {
        val codes = warnings.joinToString(",") { "\"${it.name.lowercase()}\"" }
        post("/v1/sandbox/vehicles/$vin/drive", """{"km":$km,"warnings":[$codes]}""", token)
    }

    /** The dealership's workshop records a service visit of [order]'s car at [odometerKm], with the [work] done. */
    fun recordVisit(order: UUID, odometerKm: Int, work: String) {
        val escaped = work.replace("\\", "\\\\").replace("\"", "\\\"")
        post("/v1/dealership/orders/$order/service/visits", """{"odometer_km":$odometerKm,"work":"$escaped"}""", dealer)
    }

    /** Moves the platform's clock forward. */
    fun advanceClock(seconds: Long) = post("/v1/sandbox/clock/advance", """{"seconds":$seconds}""", token)

    /** How many access tokens of [email] the platform still accepts. */
    fun liveSessions(email: String): Int =
        Regex(""""live"\s*:\s*(\d+)""").find(get("/v1/sandbox/sessions/$email", token))?.groupValues?.get(1)?.toInt()
            ?: error("no session count")

    private fun post(path: String, body: String, bearer: String): String = send(
        HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer $bearer")
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
    )

    private fun get(path: String, bearer: String): String =
        send(HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer $bearer").GET().build())

    private fun send(request: HttpRequest): String {
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "${request.uri()}: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    private fun field(json: String, name: String): String =
        Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no $name in $json")
}
