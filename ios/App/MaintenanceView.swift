import CaasCore
import CaasViewModels
import SwiftUI

/// The car's maintenance once it is the customer's: the next service (at a distance or by a day,
/// whichever comes first), the odometer and when the car reported it, its warnings in words, the
/// workshop booking with Move and Cancel and the moves left, the workshop's free slots to book or
/// move to, the visits, and reading the car nearby over Bluetooth (without signal too). What the
/// order holds shows offline; the slots need a connection and are fetched on demand.
struct MaintenanceView: View {
    @State private var model: MaintenanceModel

    init(model: MaintenanceModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            if let notice = model.notice {
                Section {
                    ForEach(Array(notice.messages.enumerated()), id: \.offset) { Text($0.element) }
                }
            }
            if let maintenance = model.maintenance, let car = model.car {
                Section("Next service") {
                    Text("At \(distance(maintenance.nextService.dueKm)) or by \(day(maintenance.nextService.dueBy)), whichever comes first")
                    if model.serviceDue() {
                        Text("Your car's service is due: book a slot at the workshop.")
                    } else if let left = model.kilometresLeft {
                        Text("\(distance(left)) to go")
                    }
                    Text("Plan: every \(distance(maintenance.plan.everyKm)) or \(Int(maintenance.plan.everyMonths)) months, whichever comes first")
                        .font(.footnote).foregroundStyle(.secondary)
                }
                Section("Your car") {
                    LabeledContent("Odometer", value: distance(car.odometerKm))
                    Group {
                        if let measured = car.measuredAt {
                            if car.waitingForSync {
                                Text("Read by this phone \(measured.formatted(date: .abbreviated, time: .shortened)). The platform hears of it as soon as the phone is online.")
                            } else {
                                Text("Reported by your car \(measured.formatted(date: .abbreviated, time: .shortened))")
                            }
                        } else {
                            Text("Your car has not reported yet.")
                        }
                    }
                    .font(.caption).foregroundStyle(.secondary)
                    if car.warnings.isEmpty {
                        Text("No warnings")
                    } else {
                        ForEach(car.warnings, id: \.self) { warning in
                            Label { Text(warning.line) } icon: { Image(systemName: "exclamationmark.triangle") }
                        }
                    }
                    readingControls
                }
                bookingSection
                if model.slots != nil { slotsSection }
                Section("Service history") {
                    if model.visits.isEmpty { Text("No visits yet.") }
                    ForEach(Array(model.visits.reversed().enumerated()), id: \.offset) { _, visit in
                        VStack(alignment: .leading) {
                            LabeledContent(visit.at.formatted(date: .abbreviated, time: .omitted), value: distance(visit.odometerKm))
                            Text(visit.work).font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
            } else {
                ProgressView()
            }
        }
        .navigationTitle("Maintenance")
        .task { await model.run() }
        .onDisappear { model.stopReading() }
    }

    /// The workshop booking, with Move and Cancel, or booking one.
    @ViewBuilder
    private var bookingSection: some View {
        Section("Workshop") {
            if let booking = model.booking {
                LabeledContent("Booked", value: timeSlot(from: booking.start, to: booking.end))
                Text("You can move the booking \(Int(booking.changesLeft)) more times.")
                Button("Move") { Task { await model.showSlots() } }
                    .disabled(!model.canChooseSlot)
                Button("Cancel the booking", role: .destructive) { Task { await model.cancelBooking() } }
                    .disabled(!model.canCancel)
                Text("It can be moved or cancelled until 24 hours before.")
                    .font(.footnote).foregroundStyle(.secondary)
            } else {
                Text("No service booked.")
                Button("Book a service") { Task { await model.showSlots() } }
                    .disabled(!model.canChooseSlot)
            }
        }
    }

    /// The workshop's free slots, once asked for: tapping one books it, or moves the booking there.
    private var slotsSection: some View {
        Section {
            if model.offeredSlots.isEmpty {
                Text("The workshop has no free slot in the next two weeks. Call your dealership.")
            }
            ForEach(model.offeredSlots, id: \.start) { offered in
                Button("\(timeSlot(from: offered.start, to: offered.end)) (\(Int(offered.free)) free)") { Task { await model.book(offered) } }
                    .disabled(!model.canChooseSlot)
            }
            Button("Close", role: .cancel) { model.hideSlots() }
        } header: {
            if model.booking == nil { Text("Choose a slot") } else { Text("Move to") }
        }
    }

    /// Reading the car's odometer and warnings from the phone, next to it.
    @ViewBuilder
    private var readingControls: some View {
        switch model.reading {
        case .reading(let step):
            ProgressView {
                if let step { Text(step.message) } else { Text("Getting ready…") }
            }
            Button("Cancel", role: .cancel) { model.stopReading() }
        case .ready:
            Button("Read the car nearby") { model.readCar() }
                .disabled(!model.canRead)
            Text("Stand next to your car with Bluetooth on: the phone reads its odometer and warnings, without signal too.")
                .font(.footnote).foregroundStyle(.secondary)
        }
    }
}
