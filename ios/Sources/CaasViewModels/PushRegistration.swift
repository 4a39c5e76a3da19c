import CaasCore
import CaasKit
import Foundation

/// What the app asks of iOS for notifications: the app's is over `UNUserNotificationCenter` and
/// `UIApplication`.
public protocol NotificationAuthorizer: Sendable {
    /// Asks to show alerts with sound. iOS prompts the person the first time only and answers
    /// from their setting afterwards.
    func requestAuthorization() async throws -> Bool

    /// Registers one notification category per identifier.
    func registerCategories(_ identifiers: [String]) async

    /// Asks APNs for the device token, which reaches `PushRegistration.tokenArrived(_:)`.
    func registerForRemoteNotifications() async
}

/// The phone's APNs registration. iOS hands the device token to the app delegate whenever it
/// likes (at launch, before anyone signed in, or a new one later), while the platform can only
/// take it for a signed-in customer. So the latest token is kept here and registered as soon as
/// a customer is signed in, again when it changes, and never twice.
///
/// Notifications are asked for once the customer signed in and saw their orders, when it is
/// clear what they are for, rather than at the first launch.
public actor PushRegistration {
    private let authorizer: any NotificationAuthorizer
    private var token: Data?
    private var customer: (any PushTokenRegistrar)?
    /// The token the platform has for `customer`.
    private var registered: Data?
    /// Bumped at each sign-in, so an answer for the previous session is not taken for this one.
    private var session = 0
    private var registering = false
    private var asked = false

    public init(authorizer: any NotificationAuthorizer) {
        self.authorizer = authorizer
    }

    /// A device token from `didRegisterForRemoteNotificationsWithDeviceToken`.
    public func tokenArrived(_ token: Data) async {
        self.token = token
        await registerLatest()
    }

    /// A customer signed in (or was still signed in at launch): the token goes to their account.
    public func signedIn(_ customer: any PushTokenRegistrar) async {
        self.customer = customer
        session += 1
        registered = nil
        await registerLatest()
    }

    /// Asks for notifications (once per launch: iOS remembers the answer), registers a category
    /// per channel, then asks APNs for the token. The token is asked for whatever the answer:
    /// with notifications off nothing shows, and turning them on in Settings later needs no new
    /// registration. A token whose registration failed (offline) is registered again here.
    public func enableNotifications() async {
        if !asked {
            asked = true
            _ = try? await authorizer.requestAuthorization()
            await authorizer.registerCategories(NotificationChannel.all.map(\.categoryIdentifier))
            await authorizer.registerForRemoteNotifications()
        }
        await registerLatest()
    }

    /// Registers the latest token for the signed-in customer until the platform has it. A call
    /// that finds one in flight leaves it to that one, which looks again once it is answered. A
    /// failure (offline) waits for the next sign-in, token or `enableNotifications`.
    private func registerLatest() async {
        guard !registering else { return }
        registering = true
        defer { registering = false }
        while let customer, let token, token != registered {
            let attempt = session
            do {
                _ = try await customer.registerAPNsToken(token)
                if session == attempt { registered = token }
            } catch {
                // A failure for a session that ended meanwhile says nothing of the new one.
                if session == attempt { return }
            }
        }
    }
}
