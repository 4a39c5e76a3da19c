import CaasCore
import CaasKit
import CaasTestSupport
import CaasViewModels
import Foundation
import XCTest

/// The models over the real core and the platform mock (the test command passes its address in
/// `CAAS_BACKEND`): the customer's and the driver's journeys as the screens drive them.
private func email() -> String { "swift-models-\(UUID().uuidString.lowercased())@example.com" }

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("caas-models-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func openCustomer(_ sandbox: Sandbox) async throws -> CaasRepository {
    try await CaasRepository.open(
        backendURL: try XCTUnwrap(URL(string: sandbox.url)), dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
}

/// A customer's core signed in with the code the sandbox reads for `email`.
private func signedInCustomer(_ sandbox: Sandbox, email: String) async throws -> CaasRepository {
    let customer = try await openCustomer(sandbox)
    try await customer.requestSignInCode(email: email)
    try await customer.signIn(email: email, code: try await sandbox.signInCode(email: email))
    return customer
}

private func openDriver(_ sandbox: Sandbox) async throws -> DriverRepository {
    try await DriverRepository.open(
        backendURL: try XCTUnwrap(URL(string: sandbox.url)), dataDirectory: try temporaryDirectory(), secrets: MemorySecretStore())
}

/// How many APNs pushes the platform sent for `order`.
private func pushesSent(_ sandbox: Sandbox, order: UUID) async throws -> Int {
    try await sandbox.apnsPushes(order: order).count
}

final class RealCoreTests: XCTestCase {
    @MainActor
    func testACustomerSignsInSeesTheirOrderAndTheTokenFromBeforeSignInGetsThePushes() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let (customer, driver) = (try await openCustomer(sandbox), try await openDriver(sandbox))
        let authorizer = FakeAuthorizer()
        let app = AppModel(push: PushRegistration(authorizer: authorizer), bluetooth: UnusedTransport()) {
            AppModel.Services(customer: customer, driver: driver)
        }
        await app.push.tokenArrived(Data([0xca, 0xa5, 0x15]))
        await app.start()
        guard case .signIn(let signIn) = app.screen else { return XCTFail("\(app.screen)") }
        signIn.email = email
        await signIn.requestCode()
        XCTAssertEqual(signIn.notice, .codeSent(to: email))
        signIn.code = try await sandbox.signInCode(email: email)
        await signIn.signIn()
        guard case .customer(let orders) = app.screen else { return XCTFail("\(String(describing: signIn.notice))") }

        let showing = Task { await orders.run() }
        defer { showing.cancel() }
        try await until("the order") { orders.orders.map(\.id) == [order] }
        XCTAssertEqual(orders.orders.first?.state, .saleRegistered)
        try await until("notifications asked for") { authorizer.steps().count == 3 }

        // The token that came before sign-in is the one the platform pushes the order's news to.
        try await sandbox.reserve(order: order, dealer: dealer)
        var sent = 0
        for _ in 0..<100 where sent == 0 {
            sent = try await pushesSent(sandbox, order: order)
            if sent == 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertGreaterThan(sent, 0, "a push went to the registered token")
    }

    @MainActor
    func testACustomerPaysOnThePaymentScreenThroughTheirBank() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let customer = try await signedInCustomer(sandbox, email: email)
        let news = try await customer.connectDevelopmentPushStream()
        defer { news.disconnect() }
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        try await customer.sync()

        let screen = OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport())
        let showing = Task { await screen.run() }
        defer { showing.cancel() }
        try await until("the amount due") { screen.actions == [.payFinalAmount] }
        let payment = screen.payment()
        payment.number = "4000 0027 6000 3184"
        payment.expiry = "12/34"
        payment.securityCode = "123"
        await payment.pay()
        XCTAssertEqual(payment.notice, .confirmWithBank)
        let bank = try XCTUnwrap(payment.bankPage)
        payment.bankPageOpened()
        try await sandbox.completeThreeDSecure(payment: bank.lastPathComponent, pass: true)
        await payment.confirmedWithBank()
        XCTAssertEqual(payment.notice, .paid)
        try await until("the car registered and booked") { screen.order?.summary.state == .transportScheduled }
        XCTAssertEqual(screen.actions, [.manageDelivery])
    }

    @MainActor
    func testADriverLoadsTheCarAndHandsItOverOnTheEightDigitsTheCustomerReadsOut() async throws {
        let sandbox = try Sandbox()
        let email = email()
        let (order, dealer) = try await sandbox.sell(email: email)
        let customer = try await signedInCustomer(sandbox, email: email)
        try await sandbox.reserve(order: order, dealer: dealer)
        try await sandbox.advance(order: order, to: "dispatched_to_locality")
        try await customer.sync()
        let card = PaymentCard(number: "4242424242424242", expiryMonth: 12, expiryYear: 2034, securityCode: "123")
        _ = try await customer.pay(orderID: order, card: card)
        var company: String?
        for _ in 0..<100 where company == nil {
            try await customer.sync()
            company = try customer.orderSnapshot(id: order).delivery?.company.id
            if company == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        try await customer.confirmDeliveryAddress(orderID: order)
        // The platform gives the car to its company's least busy driver, which depends on what the
        // tests before left on the same mock; only that driver may check the eight digits.
        let colleague = try XCTUnwrap(
            ["iberia-carriers": "lucia@iberia-carriers.example", "meseta-logistics": "carmen@meseta-logistics.example"][company ?? ""])
        let assigned = try await sandbox.assignedDriver(order: order, colleague: colleague)
        let driverEmail = try XCTUnwrap([
            "ic-lucia": "lucia@iberia-carriers.example", "ic-pablo": "pablo@iberia-carriers.example",
            "ml-carmen": "carmen@meseta-logistics.example",
        ][assigned], "a driver for \(assigned)")
        let driver = try await openDriver(sandbox)
        try await driver.requestSignInCode(email: driverEmail)
        try await driver.signIn(email: driverEmail, code: try await sandbox.signInCode(email: driverEmail))

        let model = DriverModel(service: driver)
        let showing = Task { await model.run() }
        defer { showing.cancel() }
        try await until("the deliveries") { model.deliveries.contains { $0.orderId == order } }
        let job = { model.deliveries.first { $0.orderId == order }! }
        XCTAssertEqual(job().steps, [.embark])
        model.scan(.vin, for: job())
        await model.scanned(job().vin)
        XCTAssertEqual(model.notice, .recorded(.synced))
        try await until("loaded") { job().steps.contains(.arrive) }
        await model.arrive(job())
        XCTAssertEqual(model.notice, .recorded(.synced))
        try await until("at the door") { job().steps.contains(.confirmHandover) }

        model.typedCode = try await customer.handoverCode(orderID: order).shortCode
        await model.checkTypedCode(for: job())
        XCTAssertEqual(model.notice, .handedOver(customer: "Swift Test", .synced))
        try await customer.sync()
        let delivered = try customer.orderSnapshot(id: order)
        XCTAssertEqual(delivered.summary.state, .delivered)
    }
}
