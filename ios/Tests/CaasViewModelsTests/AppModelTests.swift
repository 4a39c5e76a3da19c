import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class AppModelTests: XCTestCase {
    @MainActor
    private func app(_ customer: FakeCustomer, _ driver: FakeDriver = FakeDriver(), push: PushRegistration? = nil) -> AppModel {
        AppModel(push: push ?? PushRegistration(authorizer: FakeAuthorizer()), bluetooth: UnusedTransport()) {
            AppModel.Services(customer: customer, driver: driver)
        }
    }

    @MainActor
    func testACustomerStillSignedInGoesToTheirOrdersAndTheEarlyTokenIsRegistered() async {
        let customer = FakeCustomer()
        customer.signedIn = true
        let app = app(customer)
        await app.push.tokenArrived(Data([0x01]))
        await app.start()
        guard case .customer = app.screen else { return XCTFail("\(app.screen)") }
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(Data([0x01]))])
    }

    @MainActor
    func testSigningInAsADriverOpensTheDeliveries() async {
        let (customer, driver) = (FakeCustomer(), FakeDriver())
        let app = app(customer, driver)
        await app.start()
        guard case .signIn(let signIn) = app.screen else { return XCTFail("\(app.screen)") }
        signIn.role = .driver
        signIn.email = "lucia@iberia-carriers.example"
        await signIn.requestCode()
        signIn.code = "123456"
        await signIn.signIn()
        guard case .driver = app.screen else { return XCTFail("\(app.screen)") }
        XCTAssertEqual(customer.calls(), [], "a driver's phone registers no customer token")
    }

    @MainActor
    func testADriverStillSignedInGoesToTheDeliveries() async {
        let driver = FakeDriver()
        driver.signedIn = true
        let app = app(FakeCustomer(), driver)
        await app.start()
        guard case .driver = app.screen else { return XCTFail("\(app.screen)") }
    }

    @MainActor
    func testALinkOpensItsOrderAlsoWhenItCameBeforeTheOrdersShowed() async throws {
        let customer = FakeCustomer()
        customer.signedIn = true
        let app = app(customer)
        let early = UUID()
        app.open(try XCTUnwrap(URL(string: "caas://order/\(early.uuidString.lowercased())")))
        await app.start()
        guard case .customer(let orders) = app.screen else { return XCTFail("\(app.screen)") }
        XCTAssertEqual(orders.path, [early])
        let tapped = UUID()
        app.show(order: tapped)
        XCTAssertEqual(orders.path, [tapped])
        app.open(try XCTUnwrap(URL(string: "https://caas.example/order/\(early.uuidString)")))
        XCTAssertEqual(orders.path, [tapped], "a foreign link opens nothing")
    }

    @MainActor
    func testCoresThatCannotOpenAreToldAndOpenedWhenThePersonTriesAgain() async {
        let failures = Locked(1)
        let customer = FakeCustomer()
        let app = AppModel(push: PushRegistration(authorizer: FakeAuthorizer()), bluetooth: UnusedTransport()) {
            if failures.update({ failures -> Bool in defer { failures -= 1 }; return failures > 0 }) {
                throw CaasError.Internal(reason: "the cache is locked")
            }
            return AppModel.Services(customer: customer, driver: FakeDriver())
        }
        await app.start()
        guard case .unavailable(.unexpected) = app.screen else { return XCTFail("\(app.screen)") }
        await app.start()
        guard case .signIn = app.screen else { return XCTFail("\(app.screen)") }
        await app.start()
        guard case .signIn = app.screen else { return XCTFail("opened twice: \(app.screen)") }
    }
}

final class ProblemTests: XCTestCase {
    func testEveryFailureOfTheCoreIsAProblemThePersonCanActOn() {
        let cases: [(CaasError, Problem?)] = [
            (.Offline(reason: "dns"), .offline),
            (.ServerUnavailable(status: 503, retryAfterSeconds: 30), .serverUnavailable),
            (.Cancelled, nil),
            (.Unauthorized, .signInAgain),
            (.NotFound(what: "order"), .notFound),
            (.Rejected(code: "slot_unavailable", reason: "taken"), .refused(.slotUnavailable)),
            (.Rejected(code: "change_limit_reached", reason: "twice"), .refused(.changeLimitReached)),
            (.Rejected(code: "vin_mismatch", reason: "another car"), .refused(.vinMismatch)),
            (.Rejected(code: "warranty_void", reason: "a newer platform's rule"), .refused(.other(reason: "a newer platform's rule"))),
            (.PaymentRefused(refusal: .insufficientFunds, reason: "nsf"), .paymentRefused(.insufficientFunds)),
            (.HandoverRefused(refusal: .used, reason: "used"), .handoverRefused(.used)),
            (.Pairing(failure: .bluetoothUnavailable, reason: "off"), .pairingFailed(.bluetoothUnavailable)),
            (.PendingActions(count: 3), .unsyncedActions(3)),
            (.Internal(reason: "disk full"), .unexpected),
        ]
        for (error, problem) in cases {
            XCTAssertEqual(Problem(error), problem, "\(error)")
        }
        XCTAssertNil(Problem(CancellationError()), "a cancellation is what the person asked for")
    }
}
