//! The platform's pairing endpoints on the wire: asking for a grant, reporting the car's link
//! receipt. Binary values travel as base64url without padding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PairingError;

const GRANT_REQUEST_CONTEXT: &[u8] = b"CAAS-GRANT-REQUEST-v1\0";

/// `POST /v1/orders/{id}/pairing/grant`: the device asks for a grant for its key, proving it
/// holds the key by signing [`grant_request_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantRequest {
    /// The device's P-256 public key, uncompressed (65 bytes), base64url.
    pub device_public_key: String,
    /// ECDSA P-256 SHA-256 signature (ASN.1 DER) over [`grant_request_message`], base64url.
    pub proof: String,
}

/// What the device signs to ask for a grant: bound to the order and the key, so a proof cannot
/// be reused for another order or key.
pub fn grant_request_message(order_id: Uuid, device_public_key: &[u8]) -> Vec<u8> {
    let mut message = GRANT_REQUEST_CONTEXT.to_vec();
    message.extend_from_slice(order_id.as_bytes());
    message.extend_from_slice(device_public_key);
    message
}

/// What the platform gives the device to reach its car. Its `Debug` leaves out the advertising
/// key, so logging a grant never hands out the means to follow the car.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub grant_id: Uuid,
    /// The signed grant, base64url; the car checks it.
    pub grant: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub vin: String,
    /// The car's Ed25519 public key, base64url: the phone refuses any car without it.
    pub vehicle_public_key: String,
    /// The key of the car's rotating advertisement, base64url; a secret the phone keeps in its
    /// secret store.
    pub advertising_key: String,
    /// The platform's clock when it answered. Cars keep the platform's time, so the phone reads
    /// the car's rotating identifier on this clock, whatever its own says.
    pub platform_time: DateTime<Utc>,
}

impl std::fmt::Debug for GrantView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantView")
            .field("grant_id", &self.grant_id)
            .field("vin", &self.vin)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("advertising_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for GrantView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "grant {} for {} until {}", self.grant_id, self.vin, self.not_after)
    }
}

/// `POST /v1/orders/{id}/pairing/link`: the car's receipt for the link, forwarded by the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkRequest {
    /// The car-signed link receipt, base64url.
    pub receipt: String,
}

/// The app linked to the car, as an order shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppLink {
    pub grant_id: Uuid,
    /// When the car linked the app, by the car's clock.
    pub linked_at: DateTime<Utc>,
}

/// base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url text that must come to at most `max_len` bytes; longer text is refused
/// before decoding.
pub fn decode(text: &str, max_len: usize) -> Result<Vec<u8>, PairingError> {
    if text.len() > max_len.div_ceil(3) * 4 {
        return Err(PairingError::Oversized(text.len()));
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| PairingError::Malformed("not base64url"))?;
    if bytes.len() > max_len {
        return Err(PairingError::Oversized(bytes.len()));
    }
    Ok(bytes)
}
