//! Pairing the owner's phone with the car over BLE: the grant, the handshake, the records, the
//! framing over GATT and the rotating advertisement. Both roles are here as sans-IO state
//! machines (the phone's in caas-core drives one over a transport, the car's in the platform mock
//! drives the other); time and randomness come in as arguments.
//!
//! The shape follows SIGMA-I, the sign-and-MAC family behind IKEv2 and TLS 1.3:
//!
//! ```text
//! phone                                                        car
//!   ClientHello {version, suites, X25519 ephemeral, nonce}   ->
//!                 <- ServerHello {suite, X25519 ephemeral, nonce,
//!                                 AEAD_hs(car clock, vehicle signature over the transcript)}
//!   ClientAuth AEAD_hs(grant, device signature over the transcript) ->
//!   Record AEAD_app(command)                                 ->
//!                                 <- Record AEAD_app(response naming the command)
//! ```
//!
//! Where it is stronger than the public phone-key protocols it learns from:
//! - a key reaches the car only inside a grant the platform signed for that car, after the
//!   platform saw the order delivered to that customer: there is no unauthenticated enrolment;
//! - ephemeral ECDH gives forward secrecy: a device or vehicle key stolen later opens no
//!   recorded session;
//! - the signatures travel encrypted, so a listener cannot tell which car or phone is talking,
//!   and the car advertises an identifier that rotates every 15 minutes instead of one derived
//!   from its VIN;
//! - the version and every offered suite are in the signed transcript, so stripping a suite or
//!   lowering the version breaks the handshake;
//! - after the handshake, errors travel encrypted, and the car says nothing about a grant or key
//!   until the peer has proved it holds the key the grant names.

mod advert;
pub mod api;
mod command;
mod entitlement;
mod error;
mod frame;
mod grant;
mod handshake;
mod platform_key;
pub mod radio;
mod record;
mod suite;
mod telemetry;
#[cfg(test)]
mod tests;
mod wire;

pub use advert::{ADVERTISING_EPOCH_SECS, AdvertisingKey, HELLO_PROOF_LEN, RotatingId};
pub use command::{
    Command, CommandId, Content, LinkReceipt, MAX_ACTIVE_OPTIONS, Reply, Request, Response, VehicleStatus,
};
pub use entitlement::{
    Entitlement, EntitlementRefusal, EntitlementSigner, EntitlementVerifier, MAX_ENTITLEMENT_LEN, OptionReceipt,
};
pub use error::{AlertCode, PairingError};
pub use frame::{ATT_HEADER_LEN, MAX_MESSAGE_LEN, MAX_MTU, MIN_MTU, REASSEMBLY_IDLE_MS, Reassembler, fragment};
pub use grant::{DEVICE_KEY_LEN, Grant, GrantRole, GrantSigner, GrantVerifier, SignedGrant, Vin, read_unverified};
pub use handshake::{
    AwaitingClientAuth, AwaitingDeviceSignature, AwaitingServerHello, CarIdentity, ClientAuth, ClientHello,
    ExpectedVehicle, Refusal, ServerHello, car_respond, phone_start,
};
pub use record::{COMMAND_LIFETIME_MS, Direction, Record, Session};
pub use suite::{SUPPORTED_SUITES, Suite};
pub use telemetry::{MAX_WARNINGS, TelemetryReport};

/// The version of the pairing protocol this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// The GATT service every car offers; a phone scans for it and tells cars apart by their
/// rotating identifier.
pub const SERVICE_UUID: &str = "6d1f0001-5c2e-4c8a-9b3e-0c4a5a11ca75";
/// The phone writes messages here (write with response).
pub const WRITE_CHARACTERISTIC_UUID: &str = "6d1f0002-5c2e-4c8a-9b3e-0c4a5a11ca75";
/// The car sends messages here (indications, which the phone confirms).
pub const INDICATE_CHARACTERISTIC_UUID: &str = "6d1f0003-5c2e-4c8a-9b3e-0c4a5a11ca75";

/// What kind of message a frame carries: its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    ClientHello = 0x01,
    ServerHello = 0x02,
    ClientAuth = 0x03,
    /// The car's refusal of a `ClientAuth`, sealed with the handshake key.
    HandshakeAlert = 0x04,
    Record = 0x10,
    /// A refusal the car sends before any key exists (version, suites, a message it cannot
    /// parse); it says nothing about keys or grants.
    PlainAlert = 0x7f,
}

impl MessageType {
    /// The type of a reassembled message.
    pub fn of(message: &[u8]) -> Result<Self, PairingError> {
        Ok(match message.first() {
            Some(0x01) => Self::ClientHello,
            Some(0x02) => Self::ServerHello,
            Some(0x03) => Self::ClientAuth,
            Some(0x04) => Self::HandshakeAlert,
            Some(0x10) => Self::Record,
            Some(0x7f) => Self::PlainAlert,
            _ => return Err(PairingError::Malformed("unknown message type")),
        })
    }
}
