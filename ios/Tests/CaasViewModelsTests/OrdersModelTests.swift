import CaasCore
import CaasKit
import CaasViewModels
import Foundation
import XCTest

final class OrdersModelTests: XCTestCase {
    /// Issue 15: pull to refresh ended at once, because the sync ran in a task of its own.
    @MainActor
    func testPullToRefreshLastsUntilTheSyncIsOver() async throws {
        let customer = FakeCustomer()
        let gate = Gate()
        customer.onSync = {
            await gate.wait()
            return SyncReport(orders: 1, newEvents: 2)
        }
        let model = OrdersModel(service: customer, push: PushRegistration(authorizer: FakeAuthorizer()), bluetooth: UnusedTransport())
        let refreshed = Locked(false)
        let refreshing = Task {
            await model.refresh()
            refreshed.update { $0 = true }
        }
        try await until("the sync") { customer.calls() == [.sync] }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertFalse(refreshed(), "the refresh is still on screen while the sync runs")
        gate.open()
        await refreshing.value
        XCTAssertTrue(refreshed())
    }

    @MainActor
    func testTheCachedListShowsAndAFailedSyncIsAProblem() async throws {
        let customer = FakeCustomer()
        customer.onSync = { throw CaasError.Offline(reason: "no route") }
        let model = OrdersModel(service: customer, push: PushRegistration(authorizer: FakeAuthorizer()), bluetooth: UnusedTransport())
        let showing = Task { await model.run() }
        defer { showing.cancel() }
        XCTAssertFalse(model.loaded)
        let cached = summary()
        customer.ordersFeed.yield([cached])
        try await until("the cached list") { model.loaded }
        XCTAssertEqual(model.orders, [cached])
        try await until("the failed sync") { model.problem != nil }
        XCTAssertEqual(model.problem, .offline)
        customer.onSync = { SyncReport(orders: 1, newEvents: 0) }
        await model.refresh()
        XCTAssertNil(model.problem)
    }

    @MainActor
    func testNotificationsAreAskedForOnceTheCustomerSawTheirOrders() async throws {
        let customer = FakeCustomer()
        let authorizer = FakeAuthorizer()
        let gate = Gate()
        customer.onSync = {
            await gate.wait()
            return SyncReport(orders: 1, newEvents: 0)
        }
        let model = OrdersModel(service: customer, push: PushRegistration(authorizer: authorizer), bluetooth: UnusedTransport())
        let showing = Task { await model.run() }
        defer { showing.cancel() }
        try await until("the first sync") { customer.calls() == [.sync] }
        XCTAssertEqual(authorizer.steps(), [], "not while the orders are loading")
        gate.open()
        try await until("the prompt") { authorizer.steps().count == 3 }
        XCTAssertEqual(authorizer.steps().first, .requestAuthorization)
    }

    @MainActor
    func testALinkOpensItsOrder() async {
        let model = OrdersModel(service: FakeCustomer(), push: PushRegistration(authorizer: FakeAuthorizer()), bluetooth: UnusedTransport())
        let order = UUID()
        model.open(order: order)
        XCTAssertEqual(model.path, [order])
        XCTAssertEqual(model.model(for: order).orderID, order)
    }
}

final class OrderModelTests: XCTestCase {
    @MainActor
    func testTheOrderFollowsTheCacheAndItsScreensStartFromIt() async throws {
        let customer = FakeCustomer()
        let order = UUID()
        let model = OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport())
        let showing = Task { await model.run() }
        defer { showing.cancel() }
        XCTAssertEqual(model.actions, [])
        let due = detail(order, state: .awaitingFinalPayment, actions: [.payFinalAmount], paymentInFlight: true)
        try await until("the cached order") {
            customer.publish(due)
            return model.order != nil
        }
        XCTAssertEqual(model.actions, [.payFinalAmount])
        XCTAssertTrue(model.payment().inFlight, "a payment waiting for the bank can be checked at once")
        XCTAssertEqual(model.payment().purchase, .finalAmount, "the order's payment is the amount due, not an option")
    }

    /// Issue 17: the order's screen shows the cached order in its first frame, read synchronously.
    @MainActor
    func testTheOrderScreenStartsFromTheCachedOrderNotFromNothing() async {
        let customer = FakeCustomer()
        let order = UUID()
        XCTAssertNil(OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport()).order, "nothing cached: loading")
        let due = detail(order, state: .awaitingFinalPayment, actions: [.payFinalAmount], paymentInFlight: true)
        customer.publish(due)
        let model = OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport())
        XCTAssertEqual(model.order, due, "before `run()`")
        XCTAssertEqual(model.actions, [.payFinalAmount])
    }

    @MainActor
    func testThePurchaseRecordIsSharedOrSaysWhyNot() async {
        let customer = FakeCustomer()
        let order = UUID()
        let model = OrderModel(service: customer, orderID: order, bluetooth: UnusedTransport())
        let record = await model.purchaseRecord()
        XCTAssertEqual(record, #"{"format":"caas-record/1"}"#)
        XCTAssertEqual(customer.calls(), [.exportRecord(order)])
        XCTAssertNil(model.problem)

        customer.onExportRecord = { throw CaasError.NotFound(what: "a signed record") }
        let none = await model.purchaseRecord()
        XCTAssertNil(none)
        XCTAssertEqual(model.problem, .notFound)
    }
}
