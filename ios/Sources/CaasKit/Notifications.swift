import CaasCore
import Foundation

extension NotificationChannel {
    /// Every channel, for registering one notification category each.
    public static let all: [NotificationChannel] = [.manufacturing, .payment, .delivery, .keys, .car]

    /// The notification category of the channel: the APNs payload's `category`, and the
    /// `categoryIdentifier` the Notification Service Extension sets from the core's content, so
    /// either way a notification lands in the category the app registered.
    public var categoryIdentifier: String {
        switch self {
        case .manufacturing: "manufacturing"
        case .payment: "payment"
        case .delivery: "delivery"
        case .keys: "keys"
        case .car: "car"
        }
    }
}

/// The app's link to an order's screen, `caas://order/<uuid>`: the core writes it into each
/// notification, and `onOpenURL` receives it.
public enum OrderLink {
    /// Where the Notification Service Extension puts the link in a notification's `userInfo`.
    public static let userInfoKey = "caas_link"

    /// The order a link opens; nil for any other URL.
    public static func orderID(from url: URL) -> UUID? {
        guard url.scheme == "caas", url.host == "order", url.pathComponents.count == 2 else { return nil }
        return UUID(uuidString: url.lastPathComponent)
    }

    /// The order a tapped notification opens: the link the extension wrote, or, when the
    /// extension ran out of time and the push's own alert was shown, the order the push names.
    public static func orderID(fromNotification userInfo: [AnyHashable: Any]) -> UUID? {
        if let link = (userInfo[userInfoKey] as? String).flatMap(URL.init(string:)), let order = orderID(from: link) {
            return order
        }
        let hint = userInfo["caas"] as? [String: Any]
        return (hint?["order_id"] as? String).flatMap(UUID.init(uuidString:))
    }
}

extension OrderState {
    /// The state's words as the core writes them, in the first of `languages` it speaks (the
    /// person's preference list, or the languages the app's texts resolved to), never its wire
    /// name.
    public func label(in languages: [String]) -> String {
        orderStateLabel(state: self, locale: languages.joined(separator: ","))
    }
}
