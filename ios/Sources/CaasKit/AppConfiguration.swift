import Foundation

/// Who uses the app on this phone: each role has its own core, cache and Keychain items.
public enum Role: String, Sendable {
    case customer
    case driver
}

/// What the app and its Notification Service Extension read from their Info.plist. Both must
/// open the same customer core: the extension syncs the order a push names into the cache the app
/// shows, with the session the app signed in. So the cache lives in the app group's container
/// and the session in a Keychain access group both targets list in `keychain-access-groups`.
public struct AppConfiguration: Sendable, Equatable {
    /// The Info.plist keys.
    public enum Key: String, Sendable, CaseIterable {
        /// The platform's base URL.
        case backendURL = "CaasBackendURL"
        /// The app group shared with the extension (`group.eu.caas.companion`).
        case appGroup = "CaasAppGroup"
        /// The shared Keychain access group, with the team prefix:
        /// `$(AppIdentifierPrefix)eu.caas.companion.shared`, expanded by Xcode at build time.
        case keychainAccessGroup = "CaasKeychainAccessGroup"
    }

    /// An Info.plist without a key, or with a value that cannot be used (a URL that does not
    /// parse, a build setting Xcode left unexpanded): a build mistake, reported at start-up.
    public enum Problem: Error, Equatable {
        case missing(Key)
        case invalid(Key)
    }

    public let backendURL: URL
    public let appGroup: String
    public let keychainAccessGroup: String

    public init(backendURL: URL, appGroup: String, keychainAccessGroup: String) {
        self.backendURL = backendURL
        self.appGroup = appGroup
        self.keychainAccessGroup = keychainAccessGroup
    }

    /// Reads the configuration from an Info.plist's dictionary.
    public init(infoDictionary: [String: Any]) throws {
        func value(_ key: Key) throws -> String {
            guard let value = infoDictionary[key.rawValue] as? String, !value.isEmpty else { throw Problem.missing(key) }
            guard !value.contains("$(") else { throw Problem.invalid(key) }
            return value
        }
        guard let url = URL(string: try value(.backendURL)), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw Problem.invalid(.backendURL)
        }
        self.init(backendURL: url, appGroup: try value(.appGroup), keychainAccessGroup: try value(.keychainAccessGroup))
    }

    /// Reads the configuration from `bundle`'s Info.plist (the app's, or the extension's own).
    public init(bundle: Bundle) throws {
        try self.init(infoDictionary: bundle.infoDictionary ?? [:])
    }

    /// Where `role`'s core keeps its cache inside the app group's container (the app and the
    /// extension must agree on it).
    public static func dataDirectory(of role: Role, in container: URL) -> URL {
        container.appendingPathComponent(role.rawValue, isDirectory: true)
    }
}
