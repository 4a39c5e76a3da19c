//! What can go wrong while pairing, and the subset of it that travels to the peer.

/// Why a pairing message, record or grant was refused. Each variant names one defence, so a
/// test can show which one stopped an attack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// A hello that does not prove the car's current advertising key: a stranger, or a phone
    /// whose key was revoked or belongs to a former owner. The car does not answer it.
    #[error("the hello does not prove the car's advertising key")]
    UnknownPhone,
    /// The bytes do not parse as the message they claim to be.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A frame announced or carried more than [`super::MAX_MESSAGE_LEN`] bytes.
    #[error("message of {0} bytes exceeds the limit")]
    Oversized(usize),
    #[error("protocol version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The peer offered or chose no suite this side accepts.
    #[error("no cipher suite in common")]
    NoCommonSuite,
    /// A key is not a valid point or has the wrong length.
    #[error("invalid public key")]
    InvalidKey,
    /// Decryption failed: the header, the ciphertext or the tag was altered, or the wrong key.
    #[error("the message was altered or is not for this session")]
    Tampered,
    /// A record whose counter is not above the last one accepted: a replay.
    #[error("record counter {counter} is not above the last accepted ({last})")]
    Replay { counter: u64, last: u64 },
    /// A record from another session.
    #[error("record from another session")]
    WrongSession,
    /// A record sent in this side's own direction: reflected back at its sender.
    #[error("record in the wrong direction (reflected)")]
    Reflected,
    /// The record's expiry has passed.
    #[error("the command has expired")]
    Expired,
    /// The record claims an expiry further ahead than any genuine sender sets.
    #[error("the record's expiry is too far ahead")]
    ExpiryTooFar,
    /// This side sent as many records as a counter can number; a new session is needed.
    #[error("record counter exhausted; start a new session")]
    CounterExhausted,
    /// The car's signature does not verify with the key the platform gave for this car.
    #[error("the car did not prove it is the expected vehicle")]
    WrongVehicle,
    /// The car could not authenticate the phone. Deliberately says nothing more: not whether
    /// the grant's signature, the device's signature or the key was the problem.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The grant is genuine but names another car.
    #[error("the grant is for another vehicle")]
    GrantWrongVehicle,
    #[error("the grant has expired")]
    GrantExpired,
    #[error("the grant is not valid yet")]
    GrantNotYetValid,
    #[error("the grant was revoked")]
    GrantRevoked,
    /// The grant's role does not allow the command.
    #[error("the grant's role does not allow this command")]
    NotPermitted,
    /// A message arrived that the state machine does not expect now.
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// A response that does not name the command it should answer.
    #[error("the response answers another command")]
    WrongReply,
    /// The peer refused, saying why with an alert.
    #[error("the peer refused: {0}")]
    Refused(AlertCode),
    /// The system's random source or a crypto primitive failed.
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
}

/// What the car tells the phone when it refuses. Before the phone has proved it holds the key
/// its grant names, only [`AlertCode::AuthenticationFailed`] and the pre-key codes exist, so an
/// alert never reveals whether a key or grant is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u8)]
pub enum AlertCode {
    #[error("malformed message")]
    Malformed = 1,
    #[error("unsupported protocol version")]
    UnsupportedVersion = 2,
    #[error("no cipher suite in common")]
    NoCommonSuite = 3,
    #[error("authentication failed")]
    AuthenticationFailed = 4,
    #[error("the grant is for another vehicle")]
    GrantWrongVehicle = 5,
    #[error("the grant has expired")]
    GrantExpired = 6,
    #[error("the grant is not valid yet")]
    GrantNotYetValid = 7,
    #[error("the grant was revoked")]
    GrantRevoked = 8,
    #[error("not permitted for this grant's role")]
    NotPermitted = 9,
    #[error("the command expired before it arrived")]
    Expired = 10,
    #[error("the car is busy with another phone")]
    Busy = 11,
    #[error("the car failed to carry out the command")]
    Internal = 12,
    #[error("the option's entitlement is not the platform's")]
    EntitlementForged = 13,
    #[error("the option's entitlement is for another vehicle")]
    EntitlementWrongVehicle = 14,
    #[error("the option's entitlement has expired")]
    EntitlementExpired = 15,
    #[error("the option's entitlement is not valid yet")]
    EntitlementNotYetValid = 16,
    #[error("the car cannot take the option with those it has")]
    OptionRefused = 17,
}

impl AlertCode {
    pub fn from_wire(byte: u8) -> Result<Self, PairingError> {
        Ok(match byte {
            1 => Self::Malformed,
            2 => Self::UnsupportedVersion,
            3 => Self::NoCommonSuite,
            4 => Self::AuthenticationFailed,
            5 => Self::GrantWrongVehicle,
            6 => Self::GrantExpired,
            7 => Self::GrantNotYetValid,
            8 => Self::GrantRevoked,
            9 => Self::NotPermitted,
            10 => Self::Expired,
            11 => Self::Busy,
            12 => Self::Internal,
            13 => Self::EntitlementForged,
            14 => Self::EntitlementWrongVehicle,
            15 => Self::EntitlementExpired,
            16 => Self::EntitlementNotYetValid,
            17 => Self::OptionRefused,
            _ => return Err(PairingError::Malformed("unknown alert code")),
        })
    }

    /// The alert for an entitlement the car refuses.
    pub fn for_entitlement(refusal: super::EntitlementRefusal) -> Self {
        match refusal {
            super::EntitlementRefusal::Forged => Self::EntitlementForged,
            super::EntitlementRefusal::OtherVehicle => Self::EntitlementWrongVehicle,
            super::EntitlementRefusal::Expired => Self::EntitlementExpired,
            super::EntitlementRefusal::NotYetValid => Self::EntitlementNotYetValid,
        }
    }

    /// The alert that tells the peer about `error`, revealing no more than the error allows.
    pub fn for_error(error: &PairingError) -> Self {
        match error {
            PairingError::UnsupportedVersion(_) => Self::UnsupportedVersion,
            PairingError::NoCommonSuite => Self::NoCommonSuite,
            PairingError::GrantWrongVehicle => Self::GrantWrongVehicle,
            PairingError::GrantExpired => Self::GrantExpired,
            PairingError::GrantNotYetValid => Self::GrantNotYetValid,
            PairingError::GrantRevoked => Self::GrantRevoked,
            PairingError::NotPermitted => Self::NotPermitted,
            PairingError::Expired => Self::Expired,
            PairingError::Malformed(_) | PairingError::Oversized(_) => Self::Malformed,
            PairingError::Crypto(_) => Self::Internal,
            _ => Self::AuthenticationFailed,
        }
    }
}
