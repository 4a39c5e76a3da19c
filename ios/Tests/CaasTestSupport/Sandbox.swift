import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The platform mock's dealership and sandbox APIs, for the tests of both targets: the test command
/// starts the mock and passes its URL and sandbox token in `CAAS_BACKEND` and `CAAS_SANDBOX_TOKEN`.
public struct Sandbox: Sendable {
    public let url: String
    private let token: String

    public init() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["CAAS_BACKEND"], let token = env["CAAS_SANDBOX_TOKEN"] else {
            throw SandboxError.notConfigured
        }
        self.url = url
        self.token = token
    }

    public enum SandboxError: Error {
        case notConfigured
        case status(String, Int, String)
        case missing(String)
    }

    private func call(_ method: String, _ path: String, _ body: [String: Any]?, bearer: String) async throws -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: try await send(method, path, body, bearer: bearer))) as? [String: Any] ?? [:]
    }

    private func send(_ method: String, _ path: String, _ body: [String: Any]?, bearer: String) async throws -> Data {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw SandboxError.status(path, status, String(decoding: data, as: UTF8.self))
        }
        return data
    }

    private func string(_ object: [String: Any], _ key: String) throws -> String {
        guard let value = object[key] as? String else { throw SandboxError.missing(key) }
        return value
    }

    private func dealer() async throws -> String {
        try string(try await call("POST", "/v1/sandbox/dealerships/madrid-centro/staff-tokens", [:], bearer: token), "access_token")
    }

    /// Registers a sale for `email`; returns the order id and the staff token that made it.
    public func sell(email: String) async throws -> (order: UUID, dealer: String) {
        let dealer = try await dealer()
        let sale: [String: Any] = [
            "customer": [
                "email": email, "name": "Swift Test", "country": "ES",
                "registration": ["national_id": "12345678Z", "address": "Calle Mayor 1, 28013 Madrid"],
            ] as [String: Any],
            "configuration": ["base_platform": "urban-ev", "options": ["heat-pump"]],
            "delivery_locality": "Madrid",
        ]
        let id = try string(try await call("POST", "/v1/dealership/sales", sale, bearer: dealer), "id")
        guard let order = UUID(uuidString: id) else { throw SandboxError.missing("id") }
        return (order, dealer)
    }

    public func reserve(order: UUID, dealer: String) async throws {
        let deposit: [String: Any] = ["deposit": ["amount_minor": 150_000, "currency": "EUR"]]
        _ = try await call("POST", "/v1/dealership/orders/\(order)/reservation", deposit, bearer: dealer)
    }

    public func advance(order: UUID, to stage: String) async throws {
        _ = try await call("POST", "/v1/sandbox/orders/\(order)/factory/advance", ["to": stage], bearer: token)
    }

    /// Passes or fails the 3-D Secure check of a payment, as the customer would at the bank.
    public func completeThreeDSecure(payment: String, pass: Bool) async throws {
        _ = try await call("POST", "/v1/sandbox/payments/\(payment)/three-d-secure", ["pass": pass], bearer: token)
    }

    /// Records the car's return at the dealership (after the customer could not be reached).
    public func receiveAtDealership(order: UUID, dealer: String) async throws {
        _ = try await call("POST", "/v1/dealership/orders/\(order)/reception", [:], bearer: dealer)
    }

    /// The dealership hands a held car over on the customer's code.
    public func handOverAtDealership(order: UUID, code: String, dealer: String) async throws {
        _ = try await call("POST", "/v1/dealership/orders/\(order)/handover", ["code": code], bearer: dealer)
    }

    public func signInCode(email: String) async throws -> String {
        try string(try await call("GET", "/v1/sandbox/sign-in-codes/\(email)", nil, bearer: token), "code")
    }

    /// Charges a paid order again through the gateway, as another channel might; returns the payment id.
    public func duplicateCharge(order: UUID) async throws -> String {
        try string(try await call("POST", "/v1/sandbox/orders/\(order)/duplicate-charge", [:], bearer: token), "id")
    }

    /// Appends an event of `type`, a kind this platform does not know, as a newer one would; returns its version.
    /// Plays a platform rewriting its own history: the event at `version` is dated a day earlier
    /// and the record signed again.
    public func rewriteHistory(order: UUID, version: Int) async throws {
        _ = try await call("POST", "/v1/sandbox/orders/\(order)/history/rewrite", ["version": version], bearer: token)
    }

    public func appendEvent(order: UUID, type: String) async throws -> Int {
        let answer = try await call("POST", "/v1/sandbox/orders/\(order)/events", ["type": type, "added": true], bearer: token)
        guard let version = answer["version"] as? Int else { throw SandboxError.missing("version") }
        return version
    }

    /// Answers the next driver action with `status` without applying it: with the API's error
    /// `code`, or with a page no app can read when there is none.
    public func answerNextDriverAction(status: Int, code: String? = nil) async throws {
        var answer: [String: Any] = ["status": status]
        answer["code"] = code
        _ = try await call("POST", "/v1/sandbox/drivers/faults", ["answer_next": answer], bearer: token)
    }

    /// Takes a car out of the connected-car network's reach (`false`: parked underground) or back
    /// into it: the platform's entitlements for its options then wait for it, or for the owner's
    /// phone near it.
    public func setCoverage(vin: String, connected: Bool) async throws {
        _ = try await call("POST", "/v1/sandbox/vehicles/\(vin)/faults", ["connected": connected], bearer: token)
    }

    /// Drives a car `km` kilometres; afterwards it warns about `warnings` (wire names such as
    /// `brake_wear`; none: all clear). A car in coverage reports to the platform at once; one out of
    /// it waits for the connected-car network, or for the owner's phone beside it.
    public func drive(vin: String, km: Int, warnings: [String] = []) async throws {
        _ = try await call("POST", "/v1/sandbox/vehicles/\(vin)/drive", ["km": km, "warnings": warnings], bearer: token)
    }

    /// The dealership's workshop records a service visit of `order`'s car (a Madrid Centro sale, as
    /// `sell` makes): on the car's history, the booking over, the next service counted from it.
    public func recordVisit(order: UUID, odometerKm: Int, work: String) async throws {
        let visit: [String: Any] = ["odometer_km": odometerKm, "work": work]
        _ = try await call("POST", "/v1/dealership/orders/\(order)/service/visits", visit, bearer: try await dealer())
    }

    /// The options a car has switched on after delivery, as the car itself holds them.
    public func vehicleOptions(vin: String) async throws -> [String] {
        let car = try await call("GET", "/v1/sandbox/vehicles/\(vin)", nil, bearer: token)
        guard let options = car["options"] as? [String] else { throw SandboxError.missing("options") }
        return options
    }

    /// The id of the driver the platform assigned to deliver `order` (the least busy of the
    /// company's when it was booked, e.g. `ic-pablo`), as the company's driver `colleague` (their
    /// email) reads it in the company's list: only the assigned driver may check the customer's
    /// eight digits.
    public func assignedDriver(order: UUID, colleague: String) async throws -> String {
        _ = try await call("POST", "/v1/auth/sign-in-code", ["email": colleague], bearer: token)
        let code = try await signInCode(email: colleague)
        let session = try await call("POST", "/v1/auth/driver-token", ["email": colleague, "code": code], bearer: token)
        let list = try await call("GET", "/v1/driver/deliveries", nil, bearer: try string(session, "access_token"))
        let deliveries = list["deliveries"] as? [[String: Any]] ?? []
        guard let delivery = deliveries.first(where: { ($0["order_id"] as? String)?.lowercased() == order.uuidString.lowercased() }) else {
            throw SandboxError.missing("the delivery of \(order)")
        }
        return try string(delivery, "driver_id")
    }

    /// Moves the platform's clock forward.
    public func advanceClock(seconds: Int) async throws {
        _ = try await call("POST", "/v1/sandbox/clock/advance", ["seconds": seconds], bearer: token)
    }

    /// The APNs payloads the platform sent for `order`, oldest first.
    public func apnsPushes(order: UUID) async throws -> [[AnyHashable: Any]] {
        let data = try await send("GET", "/v1/sandbox/messages?order_id=\(order.uuidString.lowercased())&channel=apns", nil, bearer: token)
        let log = (try JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
        return log.compactMap { $0["payload"] as? [AnyHashable: Any] }
    }

    /// How many access tokens of `email` the platform still accepts.
    public func liveSessions(email: String) async throws -> Int {
        let answer = try await call("GET", "/v1/sandbox/sessions/\(email)", nil, bearer: token)
        guard let live = answer["live"] as? Int else { throw SandboxError.missing("live") }
        return live
    }
}
