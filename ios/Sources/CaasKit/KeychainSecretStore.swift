#if canImport(Security)
import CaasCore
import Foundation
import Security

/// The core's secret store on iOS: generic-password items in the Keychain, readable only while the
/// device is unlocked after its first unlock and never migrated to another device. Each role of
/// the app has its own items.
///
/// The items live in `accessGroup`, a Keychain access group that the app and its Notification
/// Service Extension both list in `keychain-access-groups`: the extension syncs the order a push
/// names with the session the app signed in, which it could not read from the app's own group.
/// Both read the group from Info.plist (`AppConfiguration.keychainAccessGroup`).
public final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service: String
    private let accessGroup: String

    public init(role: Role, accessGroup: String) {
        self.service = "eu.caas.companion.\(role.rawValue)"
        self.accessGroup = accessGroup
    }

    private func query(_ key: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: key,
            kSecAttrAccessGroup as String: accessGroup,
        ]
    }

    public func get(key: String) throws -> String? {
        var query = query(key)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = item as? Data else { throw failure("read", status) }
        return String(decoding: data, as: UTF8.self)
    }

    public func set(key: String, value: String) throws {
        let data = Data(value.utf8)
        let update = SecItemUpdate(query(key) as CFDictionary, [kSecValueData as String: data] as CFDictionary)
        if update == errSecSuccess { return }
        guard update == errSecItemNotFound else { throw failure("update", update) }
        var item = query(key)
        item[kSecValueData as String] = data
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else { throw failure("add", status) }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw failure("delete", status) }
    }

    private func failure(_ operation: String, _ status: OSStatus) -> SecretStoreError {
        .Failed(reason: "Keychain \(operation) failed (\(status))")
    }
}
#endif
