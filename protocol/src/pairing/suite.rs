//! The cipher suites: key agreement, key derivation and record encryption, chosen together.

use ring::aead;

/// A cipher suite, by its wire number. Both use X25519 for the ephemeral key agreement and
/// HKDF-SHA256 for the keys; they differ in the record cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Suite {
    /// AES-256-GCM, hardware-accelerated on the phones and head units in use.
    X25519Aes256GcmSha256 = 0x0001,
    /// ChaCha20-Poly1305, for hardware without AES instructions.
    X25519ChaCha20Poly1305Sha256 = 0x0002,
}

/// Every suite this build accepts, most preferred first. The car picks the first of these that
/// the phone offered.
pub const SUPPORTED_SUITES: [Suite; 2] = [Suite::X25519Aes256GcmSha256, Suite::X25519ChaCha20Poly1305Sha256];

impl Suite {
    pub fn wire(self) -> u16 {
        self as u16
    }

    pub fn from_wire(value: u16) -> Option<Self> {
        SUPPORTED_SUITES.into_iter().find(|suite| suite.wire() == value)
    }

    pub(crate) fn aead(self) -> &'static aead::Algorithm {
        match self {
            Self::X25519Aes256GcmSha256 => &aead::AES_256_GCM,
            Self::X25519ChaCha20Poly1305Sha256 => &aead::CHACHA20_POLY1305,
        }
    }
}
