import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

@MainActor
private final class Arrivals {
    var roles: [Role] = []
}

final class SignInModelTests: XCTestCase {
    @MainActor
    private func model(_ customer: FakeCustomer = FakeCustomer(), _ driver: FakeDriver = FakeDriver()) -> (SignInModel, Arrivals) {
        let arrivals = Arrivals()
        return (SignInModel(customer: customer, driver: driver) { arrivals.roles.append($0) }, arrivals)
    }

    @MainActor
    func testACustomerAsksForACodeThenSignsIn() async {
        let customer = FakeCustomer()
        let (model, arrivals) = model(customer)
        XCTAssertFalse(model.canRequestCode, "no address yet")
        model.email = " ana@example.com "
        XCTAssertTrue(model.canRequestCode)
        await model.requestCode()
        XCTAssertEqual(model.notice, .codeSent(to: "ana@example.com"))
        XCTAssertTrue(model.codeSent)
        XCTAssertFalse(model.canSignIn, "no code yet")
        model.code = "482913"
        await model.signIn()
        XCTAssertEqual(customer.calls(), [.requestSignInCode("ana@example.com"), .signIn("ana@example.com", code: "482913")])
        XCTAssertEqual(arrivals.roles, [.customer])
        XCTAssertNil(model.notice)
    }

    @MainActor
    func testADriverSignsInWithTheDriversCore() async {
        let (customer, driver) = (FakeCustomer(), FakeDriver())
        let (model, arrivals) = model(customer, driver)
        model.role = .driver
        model.email = "lucia@iberia-carriers.example"
        await model.requestCode()
        model.code = "111222"
        await model.signIn()
        XCTAssertEqual(customer.calls(), [])
        XCTAssertEqual(driver.calls(), [.requestSignInCode("lucia@iberia-carriers.example"), .signIn("lucia@iberia-carriers.example", code: "111222")])
        XCTAssertEqual(arrivals.roles, [.driver])
    }

    @MainActor
    func testAWrongCodeIsToldAndTheScreenStays() async {
        let customer = FakeCustomer()
        customer.onSignIn = { _, _ in throw CaasError.Unauthorized }
        let (model, arrivals) = model(customer)
        model.email = "ana@example.com"
        await model.requestCode()
        model.code = "000000"
        await model.signIn()
        XCTAssertEqual(model.notice, .problem(.signInAgain))
        XCTAssertEqual(arrivals.roles, [])
        XCTAssertTrue(model.codeSent, "the code can be typed again")
    }

    @MainActor
    func testNoConnectionIsToldAsSuch() async {
        let customer = FakeCustomer()
        customer.onRequestSignInCode = { _ in throw CaasError.Offline(reason: "no route") }
        let (model, _) = model(customer)
        model.email = "ana@example.com"
        await model.requestCode()
        XCTAssertEqual(model.notice, .problem(.offline))
        XCTAssertFalse(model.codeSent)
    }

    @MainActor
    func testChoosingTheOtherRoleOrAnotherAddressStartsOver() async {
        let (model, _) = model()
        model.email = "ana@example.com"
        await model.requestCode()
        model.code = "123"
        model.role = .driver
        XCTAssertFalse(model.codeSent)
        XCTAssertEqual(model.code, "")
        XCTAssertNil(model.notice)
        await model.requestCode()
        model.changeEmail()
        XCTAssertFalse(model.codeSent)
    }

    @MainActor
    func testTheButtonsWaitWhileTheCodeIsOnItsWay() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        customer.onRequestSignInCode = { _ in await gate.wait() }
        let (model, _) = model(customer)
        model.email = "ana@example.com"
        let asking = Task { await model.requestCode() }
        try await until("the request") { model.busy }
        XCTAssertFalse(model.canRequestCode)
        gate.open()
        await asking.value
        XCTAssertFalse(model.busy)
        XCTAssertTrue(model.codeSent)
    }
}
