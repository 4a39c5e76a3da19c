import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class OptionsModelTests: XCTestCase {
    private let order = UUID()
    private let carStatus = VehicleStatus(odometerKm: 40, batteryPercent: 76, locked: true, ownerLinked: true)

    /// Follows the order on the screen, publishing `detail` until the catalogue answered.
    @MainActor
    private func showing(_ customer: FakeCustomer, _ model: OptionsModel, _ detail: OrderDetail) async throws -> Task<Void, Never> {
        let task = Task { await model.run() }
        try await until("the catalogue") {
            customer.publish(detail)
            return model.catalogue != nil || model.notice != nil
        }
        return task
    }

    @MainActor
    func testOffersAndPurchasesShowAndTheCatalogueIsFetchedAgainOnlyWhenAPurchaseChanges() async throws {
        let customer = FakeCustomer()
        let availability = Locked(Availability.available)
        customer.onOptionCatalogue = {
            OptionCatalogue(basePlatform: "urban-ev", offers: [offer("heated-seats", availability()), offer("roof-rails", .needsWorkshop, kind: .workshop)])
        }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, detail(order, state: .operational, actions: [.buyOptions, .bookService]))
        defer { screen.cancel() }
        XCTAssertEqual(model.offers.map(\.code), ["heated-seats", "roof-rails"])
        XCTAssertTrue(model.canBuy(model.offers[0]))
        XCTAssertFalse(model.canBuy(model.offers[1]), "a workshop option is fitted at the dealership")
        XCTAssertFalse(model.canActivate, "nothing waits for the car")

        // The same order again (the stream's catch-up): the catalogue is not fetched again.
        customer.publish(detail(order, state: .operational, actions: [.buyOptions, .bookService]))
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(customer.calls().filter { $0 == .optionCatalogue(order) }.count, 1)

        // Bought elsewhere: the purchase shows and the catalogue says it is on its way.
        availability.update { $0 = .pending }
        customer.publish(detail(order, state: .operational, actions: [.buyOptions, .bookService], options: [purchase("heated-seats")]))
        try await until("the offer pending") { model.offers.first?.availability == .pending }
        XCTAssertEqual(model.purchases.map(\.status), [.paid])
        XCTAssertFalse(model.canBuy(model.offers[0]), "bought once")
        XCTAssertTrue(model.canActivate, "a paid option waits for the car")
        XCTAssertEqual(customer.calls(), [.optionCatalogue(order), .optionCatalogue(order)])
    }

    @MainActor
    func testWithoutAConnectionThePurchasesStillShowAndTheProblemIsTold() async throws {
        let customer = FakeCustomer()
        customer.onOptionCatalogue = { throw CaasError.Offline(reason: "no route") }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, detail(order, state: .operational, options: [purchase("heated-seats", .activated, via: .bluetooth)]))
        defer { screen.cancel() }
        XCTAssertEqual(model.notice, .problem(.offline))
        XCTAssertNil(model.catalogue)
        XCTAssertEqual(model.purchases.map(\.activatedVia), [.bluetooth])
        XCTAssertFalse(model.canActivate, "an active option does not wait for the car")

        customer.onOptionCatalogue = { OptionCatalogue(basePlatform: "urban-ev", offers: [offer("heated-seats", .installed)]) }
        await model.refresh()
        XCTAssertNil(model.notice)
        XCTAssertEqual(model.offers.map(\.availability), [.installed])
    }

    @MainActor
    func testBuyingAnOptionGoesThroughTheBanksPageAndResumesThatOptionsPayment() async throws {
        let customer = FakeCustomer()
        customer.onOptionCatalogue = { OptionCatalogue(basePlatform: "urban-ev", offers: [offer("heated-seats")]) }
        customer.onBuyOption = { _, _ in .requiresAction(paymentId: "pay_opt", url: "https://gateway.example/3ds/pay_opt") }
        customer.onResumeOptionPayment = { _ in .succeeded(paymentId: "pay_opt") }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, detail(order, state: .operational))
        defer { screen.cancel() }

        let checkout = model.checkout(model.offers[0])
        XCTAssertEqual(checkout.purchase, .option(model.offers[0]), "at the price shown")
        XCTAssertFalse(checkout.inFlight)
        checkout.number = "4242 4242 4242 4242"
        checkout.expiry = "12/34"
        checkout.securityCode = "123"
        await checkout.pay()
        XCTAssertEqual(checkout.notice, .confirmWithBank)
        XCTAssertEqual(checkout.bankPage, URL(string: "https://gateway.example/3ds/pay_opt"))
        await checkout.confirmedWithBank()
        XCTAssertEqual(checkout.notice, .optionBought, "worded as an option, not as the car's final payment")
        XCTAssertFalse(checkout.inFlight)
        XCTAssertEqual(checkout.number, "", "the card is not kept")
        XCTAssertEqual(customer.calls().filter { $0 != .optionCatalogue(order) }, [
            .buyOption(order, "heated-seats", lastDigits: "4242"), .resumeOptionPayment(order, "heated-seats"),
        ])
    }

    @MainActor
    func testAPaymentLeftWithTheBankIsResumedNotChargedAgainAndRefusalsAreNamed() async throws {
        let customer = FakeCustomer()
        customer.onOptionCatalogue = { OptionCatalogue(basePlatform: "urban-ev", offers: [offer("heated-seats"), offer("eco-range-mode")]) }
        customer.onResumeOptionPayment = { _ in .processing(paymentId: "pay_opt") }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let screen = try await showing(customer, model, detail(order, state: .operational, optionPaymentsInFlight: ["heated-seats"]))
        defer { screen.cancel() }
        try await until("the payment in flight") { model.paymentsInFlight == ["heated-seats"] }

        let resumed = model.checkout(model.offers[0])
        XCTAssertTrue(resumed.inFlight, "the screen offers to check how the payment ended")
        await resumed.confirmedWithBank()
        XCTAssertEqual(resumed.notice, .processing)

        customer.onBuyOption = { _, _ in throw CaasError.PaymentRefused(refusal: .optionUnavailable, reason: "bought already") }
        let other = model.checkout(model.offers[1])
        XCTAssertFalse(other.inFlight)
        other.number = "4242424242424242"
        other.expiry = "12/34"
        other.securityCode = "123"
        await other.pay()
        XCTAssertEqual(other.notice, .problem(.paymentRefused(.optionUnavailable)))
        XCTAssertEqual(customer.calls().filter { $0 != .optionCatalogue(order) }, [
            .resumeOptionPayment(order, "heated-seats"), .buyOption(order, "eco-range-mode", lastDigits: "4242"),
        ])
    }

    @MainActor
    func testActivationShowsEachStepThenWhatTheCarDid() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        let done = OptionsActivation(
            activated: ["heated-seats"], refused: [RefusedOption(option: "eco-range-mode", failure: .entitlementExpired)],
            status: carStatus, carOptions: ["heated-seats"], reported: false, link: nil)
        customer.activation = {
            AsyncThrowingStream { progress in
                Task {
                    progress.yield(.step(.scanning))
                    await gate.wait()
                    progress.yield(.step(.authenticating))
                    progress.yield(.done(done))
                    progress.finish()
                }
            }
        }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let attempt = model.activate()
        XCTAssertEqual(model.activation, .activating(nil), "getting ready before the first step")
        XCTAssertFalse(model.canActivate)
        try await until("the scan") { model.activation == .activating(.scanning) }
        XCTAssertTrue(model.activate() == attempt, "one attempt at a time")
        gate.open()
        await attempt.value
        XCTAssertEqual(model.activation, .ready)
        XCTAssertEqual(model.notice, .activated(done))
        XCTAssertEqual(customer.calls(), [.activateOptions(order)])
    }

    @MainActor
    func testNothingWaitingAndAFailureOnTheWayToTheCarAreTold() async {
        let customer = FakeCustomer()
        customer.activation = {
            AsyncThrowingStream {
                $0.yield(.done(OptionsActivation(activated: [], refused: [], status: nil, carOptions: [], reported: true, link: nil)))
                $0.finish()
            }
        }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        await model.activate().value
        XCTAssertEqual(model.notice, .nothingToActivate)

        customer.activation = {
            AsyncThrowingStream {
                $0.yield(.step(.scanning))
                $0.finish(throwing: CaasError.Pairing(failure: .carNotFound, reason: "no advertisement"))
            }
        }
        await model.activate().value
        XCTAssertEqual(model.activation, .ready)
        XCTAssertEqual(model.notice, .problem(.pairingFailed(.carNotFound)))
    }

    @MainActor
    func testCancellingTheActivationStopsItWithoutAProblem() async throws {
        let customer = FakeCustomer()
        let stopped = Locked(false)
        customer.activation = {
            AsyncThrowingStream { progress in
                progress.yield(.step(.connecting))
                progress.onTermination = { _ in stopped.update { $0 = true } }
            }
        }
        let model = OptionsModel(service: customer, orderID: order, transport: UnusedTransport())
        let attempt = model.activate()
        try await until("the connection") { model.activation == .activating(.connecting) }
        model.cancelActivation()
        await attempt.value
        XCTAssertEqual(model.activation, .ready)
        XCTAssertNil(model.notice)
        XCTAssertTrue(stopped(), "the activation was stopped, not left running")
    }
}
