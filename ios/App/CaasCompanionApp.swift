import CaasCore
import CaasKit
import SwiftUI
import UIKit
import UserNotifications

/// The companion app: the customer's and the driver's screens over CaasKit, APNs pushes handed to
/// the core, and `caas://order/{id}` links (from notifications) opening their order.
@main
struct CaasCompanionApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate
    @State private var model = AppModel.shared

    var body: some Scene {
        WindowGroup {
            RootView()
                .environment(model)
                .onOpenURL { url in
                    if url.scheme == "caas", url.host == "order" { model.openedOrder = UUID(uuidString: url.lastPathComponent) }
                }
                .task { await model.start() }
        }
    }
}

/// APNs registration and background pushes.
final class AppDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    func application(_ application: UIApplication, didFinishLaunchingWithOptions options: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        UNUserNotificationCenter.current().delegate = self
        application.registerForRemoteNotifications()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken token: Data) {
        Task { try? await AppModel.shared.customer?.registerAPNsToken(token) }
    }

    func application(
        _ application: UIApplication, didReceiveRemoteNotification userInfo: [AnyHashable: Any]
    ) async -> UIBackgroundFetchResult {
        guard let customer = AppModel.shared.customer else { return .noData }
        switch try? await customer.didReceiveRemoteNotification(userInfo) {
        case .synced(let newEvents) where newEvents > 0: return .newData
        case .none: return .failed
        default: return .noData
        }
    }

    /// A tapped notification opens its order.
    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        let userInfo = response.notification.request.content.userInfo
        let id = userInfo["order_id"] as? String ?? (userInfo["caas"] as? [String: Any])?["order_id"] as? String
        if let id, let order = UUID(uuidString: id) {
            await MainActor.run { AppModel.shared.openedOrder = order }
        }
    }
}
