import CaasCore
import CaasKit
import Foundation
import Observation

/// The driver's deliveries, each with the steps its state allows. Everything works without
/// signal: actions are recorded on the phone and sync, in order, when the connection returns.
/// Actions the platform refused later are conflicts to read and dismiss; actions whose answer
/// could not be read are held for the driver to retry or discard.
@Observable
@MainActor
public final class DriverModel: ScreenModel {
    /// Where an action was recorded.
    public enum Recording: Equatable, Sendable {
        /// On the platform.
        case synced
        /// On the phone; `pending` actions leave when there is signal.
        case queued(pending: Int)
        /// On the phone, but the platform's answer could not be read: it waits in `held`.
        case held
    }

    public enum Notice: ScreenNotice {
        /// The list was fetched: `open` deliveries.
        case refreshed(open: Int)
        case recorded(Recording)
        /// The customer's code checked out and the car was handed over to them.
        case handedOver(customer: String, Recording)
        /// A delay: `sent` estimates reached the platform, `waiting` wait for a connection.
        case estimates(EstimatesSent)
        case synced(DriverSyncReport)
        case problem(Problem)
    }

    /// An action the platform refused after it was recorded.
    public struct Conflict: Equatable, Sendable, Identifiable {
        public let id: Int64
        public let deliveryID: UUID
        /// The refused step; nil for one this version does not know.
        public let step: DriverStep?
        public let refusal: Refusal
    }

    /// What the scanner is open for.
    public struct Scan: Equatable, Sendable, Identifiable {
        public enum Purpose: Equatable, Sendable {
            /// The VIN on the windscreen, to load the car.
            case vin
            /// The customer's handover code (the QR code).
            case handoverCode
        }

        public let delivery: AssignedDelivery
        public let purpose: Purpose
        public var id: UUID { delivery.deliveryId }
    }

    /// What the call to a customer who was not there gave.
    public enum AbsenceCall: Sendable {
        /// Agreed: the same time tomorrow.
        case rescheduleTomorrow
        case unreachable
        case cannotAccept
    }

    public private(set) var deliveries: [AssignedDelivery] = []
    public private(set) var conflicts: [Conflict] = []
    public private(set) var held: [WedgedAction] = []
    public internal(set) var notice: Notice?
    var running = 0
    /// The scanner is shown while set.
    public var scanning: Scan?
    /// The delivery whose customer was not there: the screen asks what the call gave.
    private var absentAt: AssignedDelivery?
    /// The delivery stopped on the way: the screen asks what stops it.
    private var stoppedAt: AssignedDelivery?
    /// The driver's words on the incident, for the customer and the dealership; kept to one line
    /// of what the platform accepts.
    public var incidentNote: String {
        get { typedIncidentNote }
        set {
            // One line of plain text, counted as the platform counts (Unicode scalars).
            let line = newValue.unicodeScalars.lazy
                .map { CharacterSet.controlCharacters.contains($0) || CharacterSet.newlines.contains($0) ? " " : $0 }
                .prefix(Int(incidentNoteMaxChars()))
            typedIncidentNote = String(String.UnicodeScalarView(line))
        }
    }
    private var typedIncidentNote = ""
    /// The eight digits the customer reads out, when there is no QR code to scan.
    public var typedCode = ""

    public var busy: Bool { running > 0 }
    public var canCheckTypedCode: Bool { !busy && typedCode.count == 8 && typedCode.allSatisfy(\.isNumber) }
    /// Whether the question about the call is up; setting false dismisses it.
    public var isAskingAboutAbsence: Bool {
        get { absentAt != nil }
        set { if !newValue { absentAt = nil } }
    }

    /// Whether the question about the incident is up; setting false dismisses it.
    public var isAskingAboutIncident: Bool {
        get { stoppedAt != nil }
        set { if !newValue { stoppedAt = nil } }
    }

    private let service: any DriverService

    public init(service: any DriverService) {
        self.service = service
    }

    /// While the screen shows: the deliveries as the phone holds them; what waits for the driver
    /// (also after a restart), then a fresh list.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follow() }
            group.addTask {
                await self.perform {
                    try await self.reloadWaiting()
                    return .refreshed(open: try await self.service.refresh().count)
                }
            }
        }
    }

    /// Fetches the company's open deliveries; returns when done (pull to refresh).
    public func refresh() async {
        await perform { .refreshed(open: try await service.refresh().count) }
    }

    /// Sends what waits, in order.
    public func sync() async {
        await perform {
            let report = try await service.sync()
            try await reloadWaiting()
            return .synced(report)
        }
    }

    public func scan(_ purpose: Scan.Purpose, for delivery: AssignedDelivery) {
        scanning = Scan(delivery: delivery, purpose: purpose)
    }

    /// What the scanner read: the VIN loads the car, a code hands it over.
    public func scanned(_ text: String) async {
        guard let scan = scanning else { return }
        scanning = nil
        switch scan.purpose {
        case .vin: await embark(scan.delivery, vin: text)
        case .handoverCode: await handOver(scan.delivery, code: text)
        }
    }

    public func embark(_ delivery: AssignedDelivery, vin: String) async {
        await perform { .recorded(try await record(service.embark(deliveryID: delivery.deliveryId, vin: vin))) }
    }

    public func arrive(_ delivery: AssignedDelivery) async {
        await perform { .recorded(try await record(service.arrive(deliveryID: delivery.deliveryId))) }
    }

    /// Nobody took the car: the screen asks what the call to the customer gave.
    public func reportAbsence(at delivery: AssignedDelivery) {
        absentAt = delivery
    }

    /// What the call gave, for the delivery `reportAbsence(at:)` named. The car is never left at
    /// the address. The delivery is taken at once, as the dialog's button runs (the dialog then
    /// closes and clears the question); the report goes on in the returned task.
    @discardableResult
    public func absenceCalled(_ call: AbsenceCall) -> Task<Void, Never>? {
        guard let delivery = absentAt else { return nil }
        absentAt = nil
        let outcome: CallOutcome = switch call {
        case .rescheduleTomorrow:
            .rescheduled(windowStart: Calendar.current.date(byAdding: .day, value: 1, to: delivery.window.start) ?? delivery.window.start)
        case .unreachable: .unreachable
        case .cannotAccept: .cannotAccept
        }
        return Task {
            await perform { .recorded(try await self.record(self.service.reportAbsent(deliveryID: delivery.deliveryId, call: outcome))) }
        }
    }

    /// The delays a driver picks from, in minutes.
    public static let delays = [15, 30, 60]

    /// Every car still on its way is expected `minutes` later, for `reason`.
    public func reportDelay(minutes: Int, reason: EtaReason) async {
        await perform { .estimates(try await service.reportDelay(minutes: minutes, reason: reason)) }
    }

    /// Something on the way stops the trip: the screen asks what.
    public func reportIncident(at delivery: AssignedDelivery) {
        incidentNote = ""
        stoppedAt = delivery
    }

    /// What stops the trip, for the delivery `reportIncident(at:)` named, with the note typed. The
    /// car goes back to the dealership with the driver. Taken at once, as the alert's button runs;
    /// the report goes on in the returned task.
    @discardableResult
    public func incidentReported(_ kind: IncidentKind) -> Task<Void, Never>? {
        guard let delivery = stoppedAt else { return nil }
        stoppedAt = nil
        let note = incidentNote.trimmingCharacters(in: .whitespaces)
        return Task {
            await perform {
                .recorded(try await self.record(self.service.reportIncident(
                    deliveryID: delivery.deliveryId, kind: kind, note: note.isEmpty ? nil : note)))
            }
            if case .recorded = notice { incidentNote = "" }
        }
    }

    /// Checks the code the customer shows, then hands the car over only if it checks out.
    public func handOver(_ delivery: AssignedDelivery, code: String) async {
        await perform {
            let check = try await service.checkHandoverCode(deliveryID: delivery.deliveryId, code: code)
            let recording = try await record(service.confirmHandover(deliveryID: delivery.deliveryId, code: code))
            if code == typedCode { typedCode = "" }
            return .handedOver(customer: check.customerName, recording)
        }
    }

    /// Hands over on the eight digits typed.
    public func checkTypedCode(for delivery: AssignedDelivery) async {
        await handOver(delivery, code: typedCode)
    }

    public func dismiss(_ conflict: Conflict) async {
        await perform {
            try await service.dismissConflict(id: conflict.id)
            try await reloadWaiting()
            return nil
        }
    }

    /// Sends a held action again (the platform applies it once, whatever it did before).
    public func retry(_ action: WedgedAction) async {
        await perform {
            let report = try await service.retry(id: action.id)
            try await reloadWaiting()
            return .synced(report)
        }
    }

    /// Gives up a held action; the delivery shows the platform's view again.
    public func discard(_ action: WedgedAction) async {
        await perform {
            try await service.discard(id: action.id)
            try await reloadWaiting()
            return nil
        }
    }

    private func record(_ outcome: DriverActionOutcome) async throws -> Recording {
        switch outcome {
        case .synced: return .synced
        case .queued(let pending): return .queued(pending: Int(pending))
        case .wedged:
            held = try await service.held()
            return .held
        }
    }

    private func reloadWaiting() async throws {
        conflicts = try await service.conflicts().map(Conflict.init)
        held = try await service.held()
    }

    private func follow() async {
        for await list in service.deliveries {
            deliveries = list
        }
    }
}

extension DriverModel.Conflict {
    init(_ conflict: DriverConflict) {
        id = conflict.id
        deliveryID = conflict.deliveryId
        step = switch conflict.action {
        case "embark": .embark
        case "arrive": .arrive
        case "report_absent": .reportAbsent
        case "report_incident": .reportIncident
        case "update_arrival": .updateArrival
        case "confirm_handover": .confirmHandover
        default: nil
        }
        refusal = Refusal(code: conflict.code, reason: conflict.reason)
    }
}
