import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class PaymentModelTests: XCTestCase {
    private let order = UUID()

    @MainActor
    private func filled(_ model: PaymentModel) -> PaymentModel {
        model.number = "4000 0027 6000 3184"
        model.expiry = "12/34"
        model.securityCode = "123"
        return model
    }

    @MainActor
    func testThreeDSecureOpensTheBanksPageThenTheCustomerSaysTheyConfirmed() async throws {
        let customer = FakeCustomer()
        customer.onPay = { _ in .requiresAction(paymentId: "pay_3ds", url: "https://gateway.example/3ds/pay_3ds") }
        customer.onResumePayment = { .succeeded(paymentId: "pay_3ds") }
        let model = filled(PaymentModel(service: customer, orderID: order, inFlight: false))
        XCTAssertTrue(model.canPay)
        await model.pay()
        XCTAssertEqual(model.notice, .confirmWithBank)
        XCTAssertEqual(model.bankPage, URL(string: "https://gateway.example/3ds/pay_3ds"))
        XCTAssertTrue(model.inFlight)
        model.bankPageOpened()
        XCTAssertNil(model.bankPage, "opened once")

        await model.confirmedWithBank()
        XCTAssertEqual(model.notice, .paid)
        XCTAssertFalse(model.inFlight)
        XCTAssertEqual([model.number, model.expiry, model.securityCode], ["", "", ""], "the card is not kept")
        XCTAssertEqual(customer.calls(), [.pay(order, lastDigits: "3184", month: 12, year: 2034), .resumePayment(order)])
    }

    @MainActor
    func testADeclinedCardIsTheBanksRefusalAndTheCardStaysToCorrect() async {
        let customer = FakeCustomer()
        customer.onPay = { _ in throw CaasError.PaymentRefused(refusal: .cardDeclined, reason: "do not honor") }
        let model = filled(PaymentModel(service: customer, orderID: order, inFlight: false))
        await model.pay()
        XCTAssertEqual(model.notice, .problem(.paymentRefused(.cardDeclined)))
        XCTAssertEqual(model.number, "4000 0027 6000 3184")
        XCTAssertFalse(model.inFlight)
    }

    @MainActor
    func testAnExpiryThatIsNotAMonthAndAYearIsAskedAgain() async {
        let customer = FakeCustomer()
        let model = filled(PaymentModel(service: customer, orderID: order, inFlight: false))
        for expiry in ["13/34", "1234", "12/2034", "ab/cd"] {
            model.expiry = expiry
            await model.pay()
            XCTAssertEqual(model.notice, .invalidExpiry, expiry)
        }
        XCTAssertEqual(customer.calls(), [], "nothing reached the gateway")
        model.expiry = "3/31"
        await model.pay()
        XCTAssertEqual(customer.calls(), [.pay(order, lastDigits: "3184", month: 3, year: 2031)])
    }

    @MainActor
    func testABankStillProcessingAndNoPaymentInFlightAreTold() async {
        let customer = FakeCustomer()
        customer.onResumePayment = { .processing(paymentId: "pay_1") }
        let model = PaymentModel(service: customer, orderID: order, inFlight: true)
        await model.confirmedWithBank()
        XCTAssertEqual(model.notice, .processing)
        XCTAssertTrue(model.inFlight)
        customer.onResumePayment = { nil }
        await model.confirmedWithBank()
        XCTAssertEqual(model.notice, .noPaymentInProgress)
        XCTAssertFalse(model.inFlight)
    }
}

final class DeliveryModelTests: XCTestCase {
    private let order = UUID()
    private let current = window(startingIn: 72)
    private let later = window(startingIn: 96)

    @MainActor
    private func showing(_ customer: FakeCustomer, _ model: DeliveryModel, delivery: CaasCore.DeliveryView) async throws -> Task<Void, Never> {
        let task = Task { await model.run() }
        try await until("the delivery and its windows") {
            customer.publish(detail(order, actions: [.manageDelivery], delivery: delivery))
            return model.delivery != nil && !model.slots.isEmpty
        }
        return task
    }

    @MainActor
    func testTheBookedAddressIsOfferedAndTheDeliveryMovesToAnotherWindow() async throws {
        let customer = FakeCustomer()
        customer.onDeliverySlots = { [current, later] in [DeliverySlot(window: current, free: 1), DeliverySlot(window: later, free: 3)] }
        let model = DeliveryModel(service: customer, orderID: order)
        let screen = try await showing(customer, model, delivery: booked(window: current))
        defer { screen.cancel() }
        XCTAssertEqual(model.address, "Calle Mayor 1, Madrid")
        XCTAssertEqual(model.otherSlots.map(\.window), [later])
        XCTAssertTrue(model.canMove)

        await model.move(to: model.otherSlots[0])
        XCTAssertEqual(model.notice, .deliveryMoved)
        XCTAssertEqual(customer.calls(), [.deliverySlots(order), .chooseDeliveryWindow(order, later.start), .deliverySlots(order)])
    }

    @MainActor
    func testTheAddressIsSentOnlyWhenCorrectedAndNotOverwrittenWhileTyped() async throws {
        let customer = FakeCustomer()
        customer.onDeliverySlots = { [current] in [DeliverySlot(window: current, free: 1)] }
        let model = DeliveryModel(service: customer, orderID: order)
        let screen = try await showing(customer, model, delivery: booked(window: current))
        defer { screen.cancel() }
        await model.confirmAddress()
        XCTAssertEqual(model.notice, .addressConfirmed)
        model.address = "Calle Luna 7, 28004 Madrid"
        customer.publish(detail(order, delivery: booked(window: current, address: "Calle Mayor 1, Madrid")))
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(model.address, "Calle Luna 7, 28004 Madrid", "an update of the order keeps what the customer typed")
        await model.confirmAddress()
        XCTAssertEqual(customer.calls().suffix(2), [
            .confirmDeliveryAddress(order, nil), .confirmDeliveryAddress(order, "Calle Luna 7, 28004 Madrid"),
        ])
    }

    @MainActor
    func testAMoveTooLateIsTheRefusalNamedAndNoChangesLeftDisablesMoving() async throws {
        let customer = FakeCustomer()
        customer.onDeliverySlots = { [current, later] in [DeliverySlot(window: current, free: 1), DeliverySlot(window: later, free: 3)] }
        customer.onChooseDeliveryWindow = { _ in throw CaasError.Rejected(code: "change_too_late", reason: "the delivery starts within 24 hours") }
        let model = DeliveryModel(service: customer, orderID: order)
        let screen = try await showing(customer, model, delivery: booked(window: current))
        defer { screen.cancel() }
        await model.move(to: model.otherSlots[0])
        XCTAssertEqual(model.notice, .problem(.refused(.changeTooLate)))

        customer.publish(detail(order, delivery: booked(window: current, changesLeft: 0)))
        try await until("no changes left") { model.delivery?.changesLeft == 0 }
        XCTAssertFalse(model.canMove)
    }
}
