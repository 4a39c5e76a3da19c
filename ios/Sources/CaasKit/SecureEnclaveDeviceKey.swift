#if canImport(CryptoKit) && canImport(Security)
import CaasCore
import CryptoKit
import Foundation

/// The device's pairing key in the Secure Enclave: a P-256 key that never leaves the chip. Only
/// an opaque handle (`dataRepresentation`, useless on any other device) is kept, in the Keychain.
/// Where the Secure Enclave is missing (the simulator) a software key takes its place.
public final class SecureEnclaveDeviceKey: DeviceKey, @unchecked Sendable {
    private enum Key {
        case enclave(SecureEnclave.P256.Signing.PrivateKey)
        case software(P256.Signing.PrivateKey)
    }

    private static let entry = "device_key.handle"
    private let key: Key

    /// The key whose handle `store` keeps, made on first use.
    public init(store: KeychainSecretStore) throws {
        if let stored = try store.get(key: Self.entry), let handle = Data(base64Encoded: stored) {
            key = SecureEnclave.isAvailable
                ? .enclave(try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: handle))
                : .software(try P256.Signing.PrivateKey(rawRepresentation: handle))
            return
        }
        if SecureEnclave.isAvailable {
            let made = try SecureEnclave.P256.Signing.PrivateKey()
            try store.set(key: Self.entry, value: made.dataRepresentation.base64EncodedString())
            key = .enclave(made)
        } else {
            let made = P256.Signing.PrivateKey()
            try store.set(key: Self.entry, value: made.rawRepresentation.base64EncodedString())
            key = .software(made)
        }
    }

    /// Forgets the key (signing out): new phone keys are issued for a new one next time.
    public static func delete(from store: KeychainSecretStore) throws {
        try store.delete(key: entry)
    }

    /// The public key as an uncompressed point (X9.63: 0x04, X, Y), 65 bytes.
    public func publicKey() throws -> Data {
        switch key {
        case .enclave(let key): key.publicKey.x963Representation
        case .software(let key): key.publicKey.x963Representation
        }
    }

    /// ECDSA P-256 with SHA-256, DER-encoded, as the core expects.
    public func sign(message: Data) async throws -> Data {
        do {
            switch key {
            case .enclave(let key): return try key.signature(for: message).derRepresentation
            case .software(let key): return try key.signature(for: message).derRepresentation
            }
        } catch {
            throw DeviceKeyError.Failed(reason: "the device key could not sign: \(error)")
        }
    }
}
#endif
