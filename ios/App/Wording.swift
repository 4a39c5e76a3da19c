import CaasCore
import CaasKit
import CaasViewModels
import Foundation

// The words for what the models report, in the phone's language (Localizable.xcstrings: English,
// Spanish, Portuguese). Models speak in typed states and notices; only here do they become text.

extension Problem {
    /// What went wrong, and what the person can do.
    var message: LocalizedStringResource {
        switch self {
        case .offline: "No connection. What you see is saved on the phone; try again when you are online."
        case .serverUnavailable: "The service is busy or down for maintenance. What you see is saved on the phone; try again in a few minutes."
        case .signInAgain: "Please sign in again."
        case .notFound: "This is no longer available. Pull down to refresh."
        case .refused(let refusal): refusal.message
        case .paymentRefused(let refusal): refusal.message
        case .handoverRefused(let refusal): refusal.message
        case .pairingFailed(let failure): failure.message
        case .unsyncedActions(let count): "\(count) actions are not synced yet. Sync before signing out."
        case .historyRewritten: "The platform's history of this order no longer matches the one on your phone. Your phone kept its own copy; please contact your dealership."
        case .unexpected: "Something went wrong. Please try again."
        }
    }
}

extension Refusal {
    var message: LocalizedStringResource {
        switch self {
        case .slotUnavailable: "That window was just taken. Choose another one."
        case .changeTooLate: "The delivery is too close to be moved now. Call the transport company."
        case .changeLimitReached: "The delivery was moved as often as allowed. Call the transport company."
        case .addressNotConfirmed: "The customer has not confirmed the address yet."
        case .vinMismatch: "This is not the car of this delivery. Check the VIN."
        case .deliveryChanged: "The delivery changed. Refresh your deliveries."
        case .tooManyAttempts: "Too many attempts. Try again in a few minutes."
        case .paymentInProgress: "A payment is waiting for your bank. Confirm it there, or wait a few minutes."
        case .superseded: "Refused because an earlier action on this delivery was."
        case .other(let reason): "Refused: \(reason)"
        }
    }
}

extension PaymentRefusal {
    var message: LocalizedStringResource {
        switch self {
        case .invalidCard: "Check the card number, expiry and security code."
        case .cardDeclined: "Your bank declined the card. Try another card."
        case .insufficientFunds: "The card has insufficient funds. Try another card."
        case .authenticationFailed: "Your bank could not confirm the payment. Try again."
        case .deadlinePassed, .reservationLost: "The payment deadline has passed and the reservation is lost. Your dealership can help."
        case .alreadyPaid: "This order is paid already."
        case .notPayable: "Nothing is due yet."
        case .amountChanged: "The amount due changed. Check it and pay again."
        case .optionUnavailable: "This option cannot be bought for your car now. Check the options again."
        }
    }
}

extension HandoverRefusal {
    var message: LocalizedStringResource {
        switch self {
        case .expired: "The code has expired: ask the customer to show a new one."
        case .used: "This code was used already."
        case .otherOrder, .otherAttempt: "This code is for another delivery."
        case .unknownKey: "Refresh your deliveries, then scan again."
        case .staleScreen: "This is a copy of the code, not the customer's app. Ask them to open the code in the app."
        case .unvouched, .tooLate: "The handover reached us too late to be confirmed. Ask the customer to show a new code, or call the dealership."
        case .malformed, .forged, .notYetValid: "This is not a valid handover code. Do not hand the car over."
        }
    }
}

extension PairingFailure {
    var message: LocalizedStringResource {
        switch self {
        case .notDelivered: "Pairing comes after the car is handed over to you."
        case .carNotFound: "Your car was not found. Stand next to it, unlocked, and try again."
        case .wrongCar: "A car answered but could not prove it is yours. Nothing was sent to it."
        case .grantExpired, .grantNotYetValid: "Check the phone's date and time, then try again."
        case .grantRevoked: "This phone's key for the car was revoked. Contact your dealership."
        case .confirmIdentity: "To make this phone a key of your car, sign in again with a new code, then pair."
        case .authenticationFailed: "The car did not accept this phone's key. Contact your dealership."
        case .notPermitted: "This key cannot link the app to the car."
        case .incompatible: "Update the app to pair with this car."
        case .connectionLost: "The connection to the car dropped. Try again."
        case .bluetoothUnavailable: "Turn Bluetooth on and allow the app to use it."
        case .entitlementRefused: "Your car did not accept the option. Contact your dealership."
        case .entitlementExpired: "The time to switch the option on is over. If your car never took it, the price is refunded automatically."
        }
    }
}

extension SignInModel.Notice {
    var message: LocalizedStringResource {
        switch self {
        case .codeSent(let email): "We sent a code to \(email)."
        case .problem(let problem): problem.message
        }
    }
}

extension PaymentModel.Notice {
    var message: LocalizedStringResource {
        switch self {
        case .paid: "Paid. Your car is being registered."
        case .optionBought: "Paid. The option switches on when your car receives it."
        case .processing: "Your bank is processing the payment."
        case .confirmWithBank: "Confirm the payment with your bank, then come back."
        case .noPaymentInProgress: "No payment is in progress."
        case .invalidExpiry: "Write the expiry as MM/YY."
        case .problem(let problem): problem.message
        }
    }
}

extension OptionsModel.Notice {
    /// The notice's lines: what the car did may take several.
    var messages: [LocalizedStringResource] {
        switch self {
        case .activated(let done):
            var lines: [LocalizedStringResource] = []
            for option in done.activated { lines += ["Switched on: \(name(of: option))"] }
            for refused in done.refused { lines += ["Not taken by your car: \(name(of: refused.option))", refused.failure.message] }
            if !done.reported { lines += ["The platform hears of it as soon as the phone is online."] }
            return lines
        case .nothingToActivate: return ["Nothing is waiting for your car: every option bought is on or refunded."]
        case .problem(let problem): return [problem.message]
        }
    }
}

extension Availability {
    /// Why an offer cannot be bought now; nil when it can.
    var reason: LocalizedStringResource? {
        switch self {
        case .available: nil
        case .installed: "Already on your car."
        case .pending: "Bought: on its way to your car."
        case .needsWorkshop: "Fitted at your dealership's workshop: ask your dealership."
        case .requires(let option): "Needs \(name(of: option)) first."
        case .conflictsWith(let option): "Cannot go with \(name(of: option))."
        case .unknown: "Not offered in this version of the app."
        }
    }
}

extension ActivationChannel {
    /// How the car received an option.
    var name: LocalizedStringResource {
        switch self {
        case .bluetooth: "from your phone over Bluetooth"
        case .connectedCar: "over the connected-car network"
        case .unknown: "by your car"
        }
    }
}

extension MaintenanceModel.Notice {
    /// The notice's lines: what the car said may take several.
    var messages: [LocalizedStringResource] {
        switch self {
        case .serviceBooked: return ["Service booked. You can move or cancel it until 24 hours before."]
        case .serviceMoved: return ["Service moved."]
        case .serviceCancelled: return ["Service cancelled."]
        case .carRead(let read):
            var lines: [LocalizedStringResource] = ["Your car reads \(distance(read.odometerKm))."]
            lines += read.warnings.isEmpty ? ["No warnings"] : read.warnings.map(\.line)
            if !read.reported { lines += ["The platform hears of it as soon as the phone is online."] }
            return lines
        // The workshop's refusals, in its words rather than the delivery's.
        case .problem(.refused(.slotUnavailable)): return ["That slot was just taken. Choose another one."]
        case .problem(.refused(.changeTooLate)):
            return ["The service is less than 24 hours away and can no longer be changed. Call your dealership."]
        case .problem(.refused(.changeLimitReached)): return ["The service was moved as often as allowed. Call your dealership."]
        case .problem(let problem): return [problem.message]
        }
    }
}

extension WarningCode {
    /// The warning as a line of the screen: the core's words, in the language the app's texts are
    /// shown in; a warning a newer car added, in the app's own.
    var line: LocalizedStringResource {
        switch self {
        case .unknown: "Your car reports a warning. Update the app to see which, or ask your dealership."
        default: "Warning: \(words(for: self))"
        }
    }
}

extension DeliveryModel.Notice {
    var message: LocalizedStringResource {
        switch self {
        case .addressConfirmed: "Address confirmed."
        case .deliveryMoved: "Delivery moved."
        case .problem(let problem): problem.message
        }
    }
}

extension HandoverCodeModel.Notice {
    var message: LocalizedStringResource {
        switch self {
        case .expired: "The code has expired. Show a new one when the driver is with you."
        case .problem(let problem): problem.message
        }
    }
}

extension DriverModel.Recording {
    var message: LocalizedStringResource {
        switch self {
        case .synced: "Recorded."
        case .queued(let pending): "Recorded on the phone; \(pending) actions will sync when there is signal."
        case .held: "Recorded on the phone, but the answer could not be read. Retry it, or discard it, from the list."
        }
    }
}

extension DriverModel.Notice {
    /// The notice's lines: an outcome may take two.
    var messages: [LocalizedStringResource] {
        switch self {
        case .refreshed(let open): ["\(open) open deliveries."]
        case .recorded(let recording): [recording.message]
        case .handedOver(let customer, let recording): ["Handed over to \(customer).", recording.message]
        case .estimates(let sent): ["Estimates sent: \(Int(sent.sent)). Waiting for a connection: \(Int(sent.waiting))."]
        case .synced(let report):
            ["Sent \(Int(report.sent)), refused \(Int(report.rejected)), waiting \(Int(report.pending)), held \(Int(report.held))."]
        case .problem(let problem): [problem.message]
        }
    }
}

extension DriverStep {
    /// The step as a noun, for a refused or held action.
    var name: LocalizedStringResource {
        switch self {
        case .embark: "Loading the car"
        case .arrive: "Arrival"
        case .updateArrival: "Expected arrival"
        case .reportIncident: "Incident on the way"
        case .reportAbsent: "Nobody home"
        case .confirmHandover: "Handover"
        }
    }
}

extension EtaReason {
    /// Why an expected arrival moved, in the person's words.
    var name: LocalizedStringResource {
        switch self {
        case .departure: "the driver set out"
        case .stopCompleted: "a stop before yours is done"
        case .traffic: "traffic"
        case .weather: "the weather"
        case .longerStop: "a stop before yours took longer"
        case .unknown: "a change on the way"
        }
    }
}

extension IncidentKind {
    /// What stopped the car, in the person's words.
    var name: LocalizedStringResource {
        switch self {
        case .breakdown: "Breakdown"
        case .damage: "Damage"
        case .roadClosed: "Road closed"
        case .unknown: "Incident"
        }
    }
}

extension PairingStep {
    var message: LocalizedStringResource {
        switch self {
        case .scanning: "Looking for your car…"
        case .connecting: "Connecting…"
        case .authenticating: "Checking the car and presenting your key…"
        case .linked: "Linked."
        }
    }
}

extension OrderState {
    /// The state in the language the app's own texts are shown in (the first of the person's
    /// languages it speaks, as the String Catalog resolves), as the core words it: never its wire
    /// name.
    var label: String {
        label(in: Bundle.main.preferredLocalizations)
    }
}

/// An option's name (one the catalogue does not carry: what an offer needs or cannot go with), in
/// the language the app's own texts are shown in, as `OrderState.label`: a sentence of the app's
/// never names it in another language.
func name(of option: OptionCode) -> String {
    optionName(option: option, locale: Bundle.main.preferredLocalizations.first ?? "en")
}

/// A warning of the car in the language the app's own texts are shown in, as the core words it
/// (as `name(of:)`).
func words(for warning: WarningCode) -> String {
    warningLabel(warning: warning, locale: Bundle.main.preferredLocalizations.first ?? "en")
}

/// A distance in kilometres in the phone's locale.
func distance(_ km: Int) -> String {
    Measurement(value: Double(km), unit: UnitLength.kilometers).formatted(.measurement(width: .abbreviated, usage: .asProvided))
}

func distance(_ km: UInt32) -> String {
    distance(Int(km))
}

/// Money in the phone's locale.
func format(_ money: Money) -> String {
    (Decimal(money.amountMinor) / 100).formatted(.currency(code: money.currency))
}

/// A calendar day (a completion date) in the phone's locale.
func day(_ date: DateComponents) -> String {
    Calendar(identifier: .gregorian).date(from: date)?.formatted(date: .abbreviated, time: .omitted) ?? ""
}

/// A delivery window: its day and hours.
func window(_ window: DeliveryWindow) -> String {
    "\(window.start.formatted(date: .abbreviated, time: .shortened))–\(window.end.formatted(date: .omitted, time: .shortened))"
}

/// A workshop slot or booking: its day and hours.
func timeSlot(from start: Date, to end: Date) -> String {
    "\(start.formatted(date: .abbreviated, time: .shortened))–\(end.formatted(date: .omitted, time: .shortened))"
}
