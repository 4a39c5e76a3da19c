import CaasCore
import CaasKit
import UserNotifications

/// The Notification Service Extension: an APNs push is only a hint (event, order, version, type),
/// so before it is shown the extension lets the core sync the order it names, into the cache the
/// app shares through the app group, and writes the notification from the synced order. No
/// personal data travels in a push.
final class NotificationService: UNNotificationServiceExtension {
    private var content: UNMutableNotificationContent?
    private var deliver: ((UNNotificationContent) -> Void)?

    override func didReceive(_ request: UNNotificationRequest, withContentHandler handler: @escaping (UNNotificationContent) -> Void) {
        let content = (request.content.mutableCopy() as? UNMutableNotificationContent) ?? UNMutableNotificationContent()
        self.content = content
        deliver = handler
        Task {
            await enrich(content, userInfo: request.content.userInfo)
            handler(content)
        }
    }

    /// Out of time: show what the push said.
    override func serviceExtensionTimeWillExpire() {
        if let content { deliver?(content) }
    }

    private func enrich(_ content: UNMutableNotificationContent, userInfo: [AnyHashable: Any]) async {
        guard let container = FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: "group.eu.caas.companion"),
              let orderID = ((userInfo["caas"] as? [String: Any])?["order_id"] as? String).flatMap(UUID.init(uuidString:)),
              let backend = Bundle.main.object(forInfoDictionaryKey: "CaasBackendURL") as? String,
              let url = URL(string: backend)
        else { return }
        do {
            let repository = try await CaasRepository.open(
                backendURL: url, dataDirectory: container.appendingPathComponent("customer"),
                secrets: KeychainSecretStore(service: "customer"))
            _ = try await repository.didReceiveRemoteNotification(userInfo)
            let order = try await repository.orderSnapshot(id: orderID)
            content.title = order.summary.basePlatform
            content.body = "Now: \(orderStateWireName(state: order.summary.state).replacingOccurrences(of: "_", with: " "))"
            content.threadIdentifier = orderID.uuidString
            content.userInfo["order_id"] = orderID.uuidString
        } catch {
            // Offline or signed out: the push's own text stands.
        }
    }
}
