import CaasCore
import CaasKit
import CaasViewModels
import SwiftUI
import UIKit
import UserNotifications

/// The companion app: the customer's and the driver's screens over the view models, APNs
/// registration, and `caas://order/{id}` links (from notifications) opening their order.
@main
struct CaasCompanionApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate

    var body: some Scene {
        WindowGroup {
            RootView(model: Companion.model)
                .onOpenURL { Companion.model.open($0) }
                .task { await Companion.model.start() }
        }
    }
}

/// What the app holds once: the app model over both roles' cores, opened as this phone keeps
/// them.
@MainActor
enum Companion {
    /// The transport makes no Bluetooth manager until the first pairing, so creating it here
    /// shows no permission prompt at launch.
    static let model = AppModel(
        push: PushRegistration(authorizer: SystemNotifications()),
        bluetooth: CoreBluetoothTransport(),
        open: openCores)

    /// Both roles' cores: caches in the app group's container, secrets in the Keychain access
    /// group shared with the Notification Service Extension (which opens the customer's core the
    /// same way), the customer's device key in the Secure Enclave.
    nonisolated static func openCores() async throws -> AppModel.Services {
        OSLogSink.install(subsystem: "eu.caas.companion")
        let configuration = try AppConfiguration(bundle: .main)
        guard let container = FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: configuration.appGroup) else {
            throw AppConfiguration.Problem.invalid(.appGroup)
        }
        let customerSecrets = KeychainSecretStore(role: .customer, accessGroup: configuration.keychainAccessGroup)
        let customer = try await CaasRepository.open(
            backendURL: configuration.backendURL,
            dataDirectory: AppConfiguration.dataDirectory(of: .customer, in: container),
            secrets: customerSecrets,
            deviceKey: try SecureEnclaveDeviceKey(store: customerSecrets))
        let driver = try await DriverRepository.open(
            backendURL: configuration.backendURL,
            dataDirectory: AppConfiguration.dataDirectory(of: .driver, in: container),
            secrets: KeychainSecretStore(role: .driver, accessGroup: configuration.keychainAccessGroup))
        return AppModel.Services(customer: customer, driver: driver)
    }
}

/// Notifications as iOS has them: the prompt, a category per channel, the APNs token.
struct SystemNotifications: NotificationAuthorizer {
    func requestAuthorization() async throws -> Bool {
        try await UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound])
    }

    func registerCategories(_ identifiers: [String]) async {
        let categories = identifiers.map { UNNotificationCategory(identifier: $0, actions: [], intentIdentifiers: [], options: []) }
        UNUserNotificationCenter.current().setNotificationCategories(Set(categories))
    }

    func registerForRemoteNotifications() async {
        await MainActor.run { UIApplication.shared.registerForRemoteNotifications() }
    }
}

/// The APNs token and tapped notifications.
final class AppDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    func application(_ application: UIApplication, didFinishLaunchingWithOptions options: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        UNUserNotificationCenter.current().delegate = self
        return true
    }

    /// Kept until a customer is signed in, then registered (again whenever it changes).
    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken token: Data) {
        Task { await Companion.model.push.tokenArrived(token) }
    }

    /// A notification that arrives while the app is open shows too.
    func userNotificationCenter(_ center: UNUserNotificationCenter, willPresent notification: UNNotification) async -> UNNotificationPresentationOptions {
        [.banner, .list, .sound]
    }

    /// A tapped notification opens its order.
    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        guard let order = OrderLink.orderID(fromNotification: response.notification.request.content.userInfo) else { return }
        await Companion.model.show(order: order)
    }
}
