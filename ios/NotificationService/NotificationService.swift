import CaasCore
import CaasKit
import Foundation
import UserNotifications

/// The Notification Service Extension. The platform's push is an alert whose text (`push.<channel>`
/// from the app's String Catalog) is only a fallback, with a hint (event, order, version, type): no
/// personal data travels through APNs. Before it shows, the core syncs the order the push names
/// into the cache the app shares (the app group's container, with the session from the shared
/// Keychain access group) and writes the notification in the phone's language.
///
/// iOS takes the notification once, from whichever comes first: the core's, or the push's own
/// alert when time runs out (`serviceExtensionTimeWillExpire`, on another thread).
final class NotificationService: UNNotificationServiceExtension {
    private var pushed: UNNotificationContent?
    private var delivery: OnceDelivery<UNNotificationContent>?
    private var writing: Task<Void, Never>?

    override func didReceive(_ request: UNNotificationRequest, withContentHandler handler: @escaping (UNNotificationContent) -> Void) {
        let pushed = request.content
        let delivery = OnceDelivery(handler)
        self.pushed = pushed
        self.delivery = delivery
        writing = Task {
            delivery.deliver(await Self.rewritten(pushed) ?? pushed)
        }
    }

    /// Out of time: the push's own alert shows, and the core's work stops.
    override func serviceExtensionTimeWillExpire() {
        writing?.cancel()
        if let pushed { delivery?.deliver(pushed) }
    }

    /// The notification as the core writes it; nil keeps the push's own alert: signed out, a
    /// push shown before, offline past the deadline, or a build without the shared groups.
    private static func rewritten(_ pushed: UNNotificationContent) async -> UNNotificationContent? {
        do {
            let configuration = try AppConfiguration(bundle: .main)
            guard let container = FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: configuration.appGroup),
                  let content = pushed.mutableCopy() as? UNMutableNotificationContent
            else { return nil }
            let repository = try await CaasRepository.open(
                backendURL: configuration.backendURL,
                dataDirectory: AppConfiguration.dataDirectory(of: .customer, in: container),
                secrets: KeychainSecretStore(role: .customer, accessGroup: configuration.keychainAccessGroup))
            guard let written = try await repository.notificationContent(for: pushed.userInfo) else { return nil }
            content.title = written.title
            content.body = written.body
            content.threadIdentifier = written.thread
            content.categoryIdentifier = written.channel.categoryIdentifier
            content.userInfo[OrderLink.userInfoKey] = written.link
            return content
        } catch {
            return nil
        }
    }
}
