import CaasCore
import CaasKit
import Foundation
import Observation

/// What the app holds once: both roles' repositories (each with its own Keychain items and
/// cache, in the app group the Notification Service Extension shares), the Secure Enclave device
/// key, and the phone's BLE transport.
@MainActor
@Observable
final class AppModel {
    static let shared = AppModel()

    /// The platform the app talks to, from Info.plist (`CaasBackendURL`).
    static let backendURL = URL(string: Bundle.main.object(forInfoDictionaryKey: "CaasBackendURL") as? String ?? "https://api.caas.example")!
    static let appGroup = "group.eu.caas.companion"

    private(set) var customer: CaasRepository?
    private(set) var driver: DriverRepository?
    private(set) var failure: String?
    var openedOrder: UUID?
    let bluetooth = CoreBluetoothTransport()

    func start() async {
        guard customer == nil else { return }
        OSLogSink.install(subsystem: "eu.caas.companion")
        do {
            let container = FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: Self.appGroup)
                ?? FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            let customerSecrets = KeychainSecretStore(service: "customer")
            customer = try await CaasRepository.open(
                backendURL: Self.backendURL,
                dataDirectory: container.appendingPathComponent("customer"),
                secrets: customerSecrets,
                deviceKey: try SecureEnclaveDeviceKey(store: customerSecrets))
            driver = try await DriverRepository.open(
                backendURL: Self.backendURL,
                dataDirectory: container.appendingPathComponent("driver"),
                secrets: KeychainSecretStore(service: "driver"))
        } catch {
            failure = explain(error)
        }
    }
}

/// What to tell a person about a failure, and what they can do.
func explain(_ error: Error) -> String {
    guard let error = error as? CaasError else { return error.localizedDescription }
    switch error {
    case .Offline: return "No connection. What you see is saved on the phone; try again when you are online."
    case .ServerUnavailable: return "The service is busy or down for maintenance. What you see is saved on the phone; try again in a few minutes."
    case .Cancelled: return "Cancelled."
    case .Unauthorized: return "Please sign in again."
    case .NotFound(let what): return "Not found: \(what)."
    case .Rejected(_, let reason): return reason
    case .PaymentRefused(let refusal, _):
        switch refusal {
        case .invalidCard: return "Check the card number, expiry and security code."
        case .cardDeclined: return "Your bank declined the card. Try another card."
        case .insufficientFunds: return "The card has insufficient funds. Try another card."
        case .authenticationFailed: return "Your bank could not confirm the payment. Try again."
        case .deadlinePassed, .reservationLost: return "The payment deadline has passed and the reservation is lost. Your dealership can help."
        case .alreadyPaid: return "This order is paid already."
        case .notPayable: return "Nothing is due yet."
        case .amountChanged: return "The amount due changed. Check it and pay again."
        }
    case .HandoverRefused(let refusal, _):
        switch refusal {
        case .expired: return "The code has expired: ask the customer to show a new one."
        case .used: return "This code was used already."
        case .otherOrder, .otherAttempt: return "This code is for another delivery."
        case .unknownKey: return "Refresh your deliveries, then scan again."
        case .staleScreen: return "This is a copy of the code, not the customer's app. Ask them to open the code in the app."
        case .unvouched, .tooLate:
            return "The handover reached us too late to be confirmed. Ask the customer to show a new code, or call the dealership."
        default: return "This is not a valid handover code. Do not hand the car over."
        }
    case .Pairing(let failure, _):
        switch failure {
        case .notDelivered: return "Pairing comes after the car is handed over to you."
        case .carNotFound: return "Your car was not found. Stand next to it, unlocked, and try again."
        case .wrongCar: return "A car answered but could not prove it is yours. Nothing was sent to it."
        case .grantExpired, .grantNotYetValid: return "Check the phone's date and time, then try again."
        case .grantRevoked: return "This phone's key for the car was revoked. Contact your dealership."
        case .confirmIdentity: return "To make this phone a key of your car, sign in again with a new code, then pair."
        case .authenticationFailed: return "The car did not accept this phone's key. Contact your dealership."
        case .notPermitted: return "This key cannot link the app to the car."
        case .incompatible: return "Update the app to pair with this car."
        case .connectionLost: return "The connection to the car dropped. Try again."
        case .bluetoothUnavailable: return "Turn Bluetooth on and allow the app to use it."
        }
    case .PendingActions(let count): return "\(count) actions are not synced yet. Sync before signing out."
    case .InvalidPush, .InvalidInput, .Internal: return "Something went wrong (\(error)). Please try again."
    }
}
