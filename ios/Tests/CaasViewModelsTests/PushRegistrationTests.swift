import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

/// Issue 15: a device token that arrived before sign-in was dropped, and nothing asked for
/// notifications.
final class PushRegistrationTests: XCTestCase {
    private let first = Data([0xca, 0xa5, 0x01])
    private let second = Data([0xca, 0xa5, 0x02])

    func testATokenThatArrivesBeforeSignInIsRegisteredAtSignIn() async {
        let customer = FakeCustomer()
        let push = PushRegistration(authorizer: FakeAuthorizer())
        await push.tokenArrived(first)
        XCTAssertEqual(customer.calls(), [])
        await push.signedIn(customer)
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first)])
    }

    func testAChangedTokenIsRegisteredAgainAndTheSameOneNeverTwice() async {
        let customer = FakeCustomer()
        let push = PushRegistration(authorizer: FakeAuthorizer())
        await push.signedIn(customer)
        XCTAssertEqual(customer.calls(), [], "no token yet")
        await push.tokenArrived(first)
        await push.tokenArrived(first)
        await push.enableNotifications()
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first)])
        await push.tokenArrived(second)
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first), .registerAPNsToken(second)])
    }

    func testARegistrationThatFailedOfflineIsMadeAtTheNextChance() async {
        let customer = FakeCustomer()
        let failures = Locked(1)
        customer.onRegisterAPNsToken = { _ in
            if failures.update({ failures -> Bool in defer { failures -= 1 }; return failures > 0 }) {
                throw CaasError.Offline(reason: "no route")
            }
            return UUID()
        }
        let push = PushRegistration(authorizer: FakeAuthorizer())
        await push.tokenArrived(first)
        await push.signedIn(customer)
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first)])
        await push.enableNotifications()
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first), .registerAPNsToken(first)], "tried again")
        await push.enableNotifications()
        XCTAssertEqual(customer.calls().count, 2, "and registered")
    }

    func testASignInRegistersTheTokenForItsAccountAgain() async {
        let before = FakeCustomer()
        let after = FakeCustomer()
        let push = PushRegistration(authorizer: FakeAuthorizer())
        await push.tokenArrived(first)
        await push.signedIn(before)
        await push.signedIn(after)
        XCTAssertEqual(before.calls(), [.registerAPNsToken(first)])
        XCTAssertEqual(after.calls(), [.registerAPNsToken(first)])
    }

    @MainActor
    func testATokenThatChangesWhileTheLastOneIsRegisteredIsRegisteredNext() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        let answered = Locked(0)
        customer.onRegisterAPNsToken = { _ in
            if answered.update({ count -> Int in defer { count += 1 }; return count }) == 0 { await gate.wait() }
            return UUID()
        }
        let push = PushRegistration(authorizer: FakeAuthorizer())
        await push.tokenArrived(first)
        let signingIn = Task { await push.signedIn(customer) }
        try await until("the first registration") { customer.calls().count == 1 }
        await push.tokenArrived(second)
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first)], "one registration at a time")
        gate.open()
        await signingIn.value
        XCTAssertEqual(customer.calls(), [.registerAPNsToken(first), .registerAPNsToken(second)])
    }

    func testNotificationsAreAskedForOnceWithACategoryPerChannelThenTheToken() async {
        let authorizer = FakeAuthorizer()
        let push = PushRegistration(authorizer: authorizer)
        await push.enableNotifications()
        await push.enableNotifications()
        XCTAssertEqual(authorizer.steps(), [
            .requestAuthorization,
            .registerCategories(["manufacturing", "payment", "delivery", "keys", "car"]),
            .registerForRemoteNotifications,
        ])
    }

    func testATokenIsAskedForAlsoWhenNotificationsAreDeclined() async {
        let authorizer = FakeAuthorizer(allows: false)
        await PushRegistration(authorizer: authorizer).enableNotifications()
        XCTAssertEqual(authorizer.steps().last, .registerForRemoteNotifications)
    }
}
