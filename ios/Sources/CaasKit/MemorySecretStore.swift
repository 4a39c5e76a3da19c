import CaasCore
import Foundation

/// A secret store that forgets everything when the process ends: for tests and previews. The app
/// uses the Keychain-backed store.
public final class MemorySecretStore: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]

    public init() {}

    public func get(key: String) throws -> String? {
        lock.withLock { values[key] }
    }

    public func set(key: String, value: String) throws {
        lock.withLock { values[key] = value }
    }

    public func delete(key: String) throws {
        lock.withLock { _ = values.removeValue(forKey: key) }
    }
}
