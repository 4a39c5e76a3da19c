import CaasCore
import CaasKit
import CaasTestSupport
import Foundation
import XCTest

/// Options after delivery through the facade, against the mock: bought by card, then switched on
/// by the car, over the phone's BLE link when the car is out of the connected-car network's reach
/// (the simulated link of `CAAS_RADIO`), or over that network with the phone away.
extension CaasRepositoryTests {
    private var card: PaymentCard { PaymentCard(number: "4242424242424242", expiryMonth: 12, expiryYear: 2034, securityCode: "123") }

    /// A customer whose car is handed over and paired with their phone (`operational`), followed
    /// by push; with the car's VIN.
    func operationalCar(_ sandbox: Sandbox) async throws -> (CaasRepository, PushStreamHandle, order: UUID, vin: String) {
        let (customer, stream, order, _) = try await bookedCar(sandbox)
        try await handOver(customer, order: order, sandbox: sandbox)
        for try await _ in customer.pairVehicle(orderID: order, transport: try simulated()) {}
        let operational = try await first(customer.order(id: order)) { $0.summary.state == .operational }
        return (customer, stream, order, try XCTUnwrap(operational.vin))
    }

    private func activate(_ customer: CaasRepository, order: UUID) async throws -> ([PairingStep], OptionsActivation?) {
        var steps: [PairingStep] = []
        var done: OptionsActivation?
        for try await progress in customer.activateOptions(orderID: order, transport: try simulated()) {
            switch progress {
            case .step(let step): steps.append(step)
            case .done(let activation): done = activation
            }
        }
        return (steps, done)
    }

    private func assertRefusedAsUnavailable(_ customer: CaasRepository, order: UUID, _ offer: OptionOffer, line: UInt = #line) async {
        do {
            _ = try await customer.buyOption(orderID: order, offer: offer, card: card)
            XCTFail("\(offer.code) was bought again", line: line)
        } catch CaasError.PaymentRefused(let refusal, _) {
            XCTAssertEqual(refusal, .optionUnavailable, line: line)
        } catch {
            XCTFail("\(error)", line: line)
        }
    }

    func testAnOptionBoughtForACarOutOfCoverageIsHandedOverFromThePhone() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, vin) = try await operationalCar(sandbox)
        defer { stream.disconnect() }
        let operational = try customer.orderSnapshot(id: order)
        XCTAssertEqual(operational.actions, [.buyOptions, .bookService])

        let catalogue = try await customer.optionCatalogue(orderID: order)
        let seats = try XCTUnwrap(catalogue.offers.first { $0.code == "heated-seats" })
        XCTAssertEqual(seats.availability, .available)
        XCTAssertEqual(seats.kind, .software)
        XCTAssertEqual(seats.price.currency, "EUR")
        XCTAssertEqual(catalogue.offers.first { $0.code == "roof-rails" }?.availability, .needsWorkshop)

        // The car is parked underground: the platform's entitlement cannot reach it.
        try await sandbox.setCoverage(vin: vin, connected: false)
        let paid = try await customer.buyOption(orderID: order, offer: seats, card: card)
        guard case .succeeded = paid else { return XCTFail("\(paid)") }
        let waiting = try await first(customer.order(id: order)) { !$0.options.isEmpty }
        let bought = try XCTUnwrap(waiting.options.first)
        XCTAssertEqual(bought.option, "heated-seats")
        XCTAssertEqual(bought.status, .paid)
        XCTAssertEqual(bought.price, seats.price)
        XCTAssertGreaterThan(bought.activateBy, bought.paidAt, "the car has until then, or the price is refunded")
        XCTAssertEqual(waiting.optionPaymentsInFlight, [])
        await assertRefusedAsUnavailable(customer, order: order, seats)

        // Next to the car, the phone hands it over.
        let (steps, done) = try await activate(customer, order: order)
        XCTAssertEqual(steps, [.scanning, .connecting, .authenticating])
        let activation = try XCTUnwrap(done)
        XCTAssertEqual(activation.activated, ["heated-seats"])
        XCTAssertEqual(activation.refused, [])
        XCTAssertNotNil(activation.status)
        XCTAssertEqual(activation.carOptions, ["heated-seats"], "the car lists it")
        XCTAssertTrue(activation.reported, "the phone has signal: the platform has the car's receipt")
        let carOptions = try await sandbox.vehicleOptions(vin: vin)
        XCTAssertEqual(carOptions, ["heated-seats"])

        let active = try await first(customer.order(id: order)) { $0.options.first?.status == .activated }
        XCTAssertEqual(active.options.count, 1)
        XCTAssertEqual(active.options.first?.activatedVia, .bluetooth)
        XCTAssertNotNil(active.options.first?.activatedAt)
        XCTAssertNil(active.options.first?.entitlement, "an active option carries no entitlement")
        await assertRefusedAsUnavailable(customer, order: order, seats)

        // Nothing waits for the car any more.
        let (_, again) = try await activate(customer, order: order)
        XCTAssertEqual(again?.activated, [])
        XCTAssertNotNil(again)
        XCTAssertNil(again?.status, "the phone did not go to the car for nothing")
    }

    func testACarInCoverageSwitchesTheOptionOnWithoutThePhone() async throws {
        let sandbox = try Sandbox()
        let (customer, stream, order, vin) = try await operationalCar(sandbox)
        defer { stream.disconnect() }
        let catalogue = try await customer.optionCatalogue(orderID: order)
        let navigation = try XCTUnwrap(catalogue.offers.first { $0.code == "connected-navigation" })
        let paid = try await customer.buyOption(orderID: order, offer: navigation, card: card)
        guard case .succeeded = paid else { return XCTFail("\(paid)") }
        // The platform sends the entitlement over the network within seconds; the phone hears of
        // the car's receipt by push.
        let active = try await first(customer.order(id: order), within: 30) { $0.options.first?.status == .activated }
        XCTAssertEqual(active.options.map(\.option), ["connected-navigation"])
        XCTAssertEqual(active.options.first?.activatedVia, .connectedCar)
        let carOptions = try await sandbox.vehicleOptions(vin: vin)
        XCTAssertEqual(carOptions, ["connected-navigation"])
    }
}
