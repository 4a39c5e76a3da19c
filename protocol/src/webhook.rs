//! Factory webhooks in the Standard Webhooks format: the payloads the factory sends and the signing
//! and verification both sides use.
//!
//! Signing is HMAC-SHA256 over `id.timestamp.body` (the `standardwebhooks` reference crate), so any
//! sender that follows the spec and holds a `whsec_` secret can deliver webhooks the platform
//! accepts. The receiver holds every secret currently valid, which is how rotation works: during a
//! rotation the sender signs with old and new secrets and the receiver accepts either.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use standardwebhooks::{Webhook, WebhookError};
use uuid::Uuid;

use crate::lifecycle::OrderState;

pub use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};

/// Webhook bodies are small JSON documents; anything larger is refused unread.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// The longest `webhook-id` the receiver stores for deduplication.
pub const MAX_WEBHOOK_ID_LEN: usize = 128;

/// The longest `webhook-signature` header read: room for several `v1,<base64>` signatures during a
/// rotation, and no more.
pub const MAX_WEBHOOK_SIGNATURE_LEN: usize = 1024;

/// How far a delivery's timestamp may be from the receiver's clock, either way.
pub const WEBHOOK_TOLERANCE_SECONDS: i64 = 5 * 60;

const SECRET_PREFIX: &str = "whsec_";

/// A webhook signing secret, written `whsec_<base64>` in configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret is written `whsec_` followed by base64")]
    Format,
    #[error("a webhook secret must hold 24 to 64 bytes, this one holds {0}")]
    Length(usize),
}

impl WebhookSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The configuration form, `whsec_<base64>`.
    pub fn to_config_string(&self) -> String {
        format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(&self.0))
    }

    fn webhook(&self) -> Webhook {
        Webhook::from_bytes(self.0.clone()).unwrap_or_else(|_| unreachable!("from_bytes never fails"))
    }
}

impl std::str::FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let encoded = s.trim().strip_prefix(SECRET_PREFIX).ok_or(SecretError::Format)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| SecretError::Format)?;
        Self::from_bytes(bytes)
    }
}

/// The three headers of one signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub id: String,
    pub timestamp: i64,
    /// Space-separated `v1,<base64>` signatures, one per secret.
    pub signature: String,
}

/// Signs `body` with every secret given (several during a rotation).
pub fn sign(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> SignatureHeaders {
    let signature = secrets
        .iter()
        .filter_map(|secret| secret.webhook().sign(id, timestamp, body).ok())
        .collect::<Vec<_>>()
        .join(" ");
    SignatureHeaders { id: id.to_owned(), timestamp, signature }
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRejection {
    #[error("webhook header `{0}` is missing or malformed")]
    MissingHeader(&'static str),
    #[error("webhook timestamp is outside the 5-minute tolerance")]
    StaleTimestamp,
    #[error("no webhook signature matches a current secret")]
    InvalidSignature,
    #[error("webhook body is not valid")]
    InvalidBody,
}

/// Checks deliveries against every currently valid secret.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secrets: Vec<WebhookSecret>,
}

impl WebhookVerifier {
    pub fn new(secrets: Vec<WebhookSecret>) -> Self {
        Self { secrets }
    }

    /// Verifies the signature and timestamp (5 minutes either way) and returns the `webhook-id`
    /// to deduplicate on.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, WebhookRejection> {
        let id = headers
            .get(HEADER_WEBHOOK_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| !id.is_empty() && id.len() <= MAX_WEBHOOK_ID_LEN)
            .ok_or(WebhookRejection::MissingHeader(HEADER_WEBHOOK_ID))?;
        bounded_headers(headers, Utc::now().timestamp())?;
        let mut rejection = WebhookRejection::InvalidSignature;
        for secret in &self.secrets {
            match secret.webhook().verify(body, headers) {
                Ok(()) => return Ok(id.to_owned()),
                Err(e) => rejection = map_error(e),
            }
        }
        Err(rejection)
    }
}

/// Checks the timestamp and signature headers within their bounds before any library reads them:
/// the timestamp is decimal seconds within the tolerance of `now` (computed without overflow, so
/// `i64::MIN` is just stale), the signature header is short visible ASCII.
fn bounded_headers(headers: &HeaderMap, now: i64) -> Result<(), WebhookRejection> {
    let timestamp: i64 = headers
        .get(HEADER_WEBHOOK_TIMESTAMP)
        .and_then(|v| v.to_str().ok())
        .filter(|t| (1..=19).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or(WebhookRejection::MissingHeader(HEADER_WEBHOOK_TIMESTAMP))?;
    if now.abs_diff(timestamp) > WEBHOOK_TOLERANCE_SECONDS.unsigned_abs() {
        return Err(WebhookRejection::StaleTimestamp);
    }
    headers
        .get(HEADER_WEBHOOK_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= MAX_WEBHOOK_SIGNATURE_LEN)
        .map(|_| ())
        .ok_or(WebhookRejection::MissingHeader(HEADER_WEBHOOK_SIGNATURE))
}

fn map_error(error: WebhookError) -> WebhookRejection {
    match error {
        WebhookError::TimestampTooOldError | WebhookError::FutureTimestampError => WebhookRejection::StaleTimestamp,
        WebhookError::MissingHeader(name) | WebhookError::InvalidHeader(name) => {
            WebhookRejection::MissingHeader(match name {
                "id" => HEADER_WEBHOOK_ID,
                "timestamp" => HEADER_WEBHOOK_TIMESTAMP,
                _ => HEADER_WEBHOOK_SIGNATURE,
            })
        }
        WebhookError::InvalidTimestamp => WebhookRejection::MissingHeader(HEADER_WEBHOOK_TIMESTAMP),
        WebhookError::InvalidPayload => WebhookRejection::InvalidBody,
        WebhookError::InvalidSignature | WebhookError::InvalidSecret(_) => WebhookRejection::InvalidSignature,
    }
}

/// The event types the factory sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FactoryEventType {
    /// The order reached a new production stage.
    #[serde(rename = "order.stage_changed")]
    StageChanged,
    /// The estimated completion date moved.
    #[serde(rename = "order.estimate_revised")]
    EstimateRevised,
}

/// A factory webhook body, in the Standard Webhooks `{type, timestamp, data}` layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactoryWebhook {
    #[serde(rename = "type")]
    pub kind: FactoryEventType,
    pub timestamp: DateTime<Utc>,
    pub data: FactoryOrderUpdate,
}

/// Where a factory order stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactoryOrderUpdate {
    pub factory_order_id: String,
    pub platform_order_id: Uuid,
    pub stage: OrderState,
    pub estimated_completion: NaiveDate,
    /// Why the estimate changed, for `order.estimate_revised`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn secret(fill: u8) -> WebhookSecret {
        WebhookSecret::from_bytes(vec![fill; 32]).expect("valid length")
    }

    fn headers(h: &SignatureHeaders) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HEADER_WEBHOOK_ID, HeaderValue::from_str(&h.id).expect("ascii"));
        map.insert(HEADER_WEBHOOK_TIMESTAMP, HeaderValue::from(h.timestamp));
        map.insert(HEADER_WEBHOOK_SIGNATURE, HeaderValue::from_str(&h.signature).expect("ascii"));
        map
    }

    fn now() -> i64 {
        Utc::now().timestamp()
    }

    #[test]
    fn config_string_round_trips() {
        let s = secret(7);
        assert_eq!(s.to_config_string().parse::<WebhookSecret>(), Ok(s));
        assert_eq!("abc".parse::<WebhookSecret>(), Err(SecretError::Format));
        assert_eq!("whsec_AAAA".parse::<WebhookSecret>(), Err(SecretError::Length(3)));
    }

    #[test]
    fn spec_example_verifies() {
        // The example delivery published with the Standard Webhooks specification, re-signed with a
        // current timestamp: same secret, id and body as the spec.
        let spec: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().expect("spec secret");
        let body = br#"{"test": 2432232314}"#;
        let signed = sign(std::slice::from_ref(&spec), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed.signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn accepts_any_current_secret_during_rotation() {
        let (old, new) = (secret(1), secret(2));
        let body = b"{}";
        let both = sign(&[old.clone(), new.clone()], "msg_1", now(), body);
        let verifier = WebhookVerifier::new(vec![new.clone()]);
        assert_eq!(verifier.verify(&headers(&both), body), Ok("msg_1".into()));
        let only_old = sign(&[old], "msg_2", now(), body);
        let rotated = WebhookVerifier::new(vec![secret(3), new]);
        assert_eq!(rotated.verify(&headers(&only_old), body), Err(WebhookRejection::InvalidSignature));
    }

    #[test]
    fn refuses_tampering_staleness_and_missing_headers() {
        let key = secret(9);
        let verifier = WebhookVerifier::new(vec![key.clone()]);
        let signed = sign(std::slice::from_ref(&key), "msg_1", now(), b"{\"a\":1}");
        assert_eq!(verifier.verify(&headers(&signed), b"{\"a\":2}"), Err(WebhookRejection::InvalidSignature));
        let stale = sign(std::slice::from_ref(&key), "msg_1", now() - 301, b"{}");
        assert_eq!(verifier.verify(&headers(&stale), b"{}"), Err(WebhookRejection::StaleTimestamp));
        let future = sign(std::slice::from_ref(&key), "msg_1", now() + 301, b"{}");
        assert_eq!(verifier.verify(&headers(&future), b"{}"), Err(WebhookRejection::StaleTimestamp));
        let mut missing = headers(&signed);
        missing.remove(HEADER_WEBHOOK_SIGNATURE);
        assert_eq!(
            verifier.verify(&missing, b"{\"a\":1}"),
            Err(WebhookRejection::MissingHeader(HEADER_WEBHOOK_SIGNATURE))
        );
        let mut no_id = headers(&signed);
        no_id.remove(HEADER_WEBHOOK_ID);
        assert_eq!(verifier.verify(&no_id, b"{\"a\":1}"), Err(WebhookRejection::MissingHeader(HEADER_WEBHOOK_ID)));
    }

    #[test]
    fn extreme_timestamps_are_refused_not_overflowed() {
        let key = secret(4);
        let verifier = WebhookVerifier::new(vec![key.clone()]);
        let signed = sign(std::slice::from_ref(&key), "msg_1", now(), b"{}");
        for (value, expected) in [
            ("-9223372036854775808", WebhookRejection::MissingHeader(HEADER_WEBHOOK_TIMESTAMP)),
            ("9223372036854775807", WebhookRejection::StaleTimestamp),
            ("0", WebhookRejection::StaleTimestamp),
            ("99999999999999999999", WebhookRejection::MissingHeader(HEADER_WEBHOOK_TIMESTAMP)),
            ("+1", WebhookRejection::MissingHeader(HEADER_WEBHOOK_TIMESTAMP)),
        ] {
            let mut h = headers(&signed);
            h.insert(HEADER_WEBHOOK_TIMESTAMP, HeaderValue::from_static(value));
            assert_eq!(verifier.verify(&h, b"{}"), Err(expected), "timestamp {value}");
        }
    }

    proptest::proptest! {
        /// Whatever three headers arrive, verification answers with a rejection or an id, never a
        /// panic.
        #[test]
        fn any_headers_are_answered(id in ".{0,200}", timestamp in ".{0,40}", signature in ".{0,1200}",
                                    number in proptest::num::i64::ANY, body in proptest::collection::vec(0u8.., 0..64)) {
            let verifier = WebhookVerifier::new(vec![secret(5)]);
            let mut h = HeaderMap::new();
            for (name, value) in [(HEADER_WEBHOOK_ID, id), (HEADER_WEBHOOK_TIMESTAMP, timestamp), (HEADER_WEBHOOK_SIGNATURE, signature)] {
                if let Ok(v) = HeaderValue::from_str(&value) { h.insert(name, v); }
            }
            let _ = verifier.verify(&h, &body);
            h.insert(HEADER_WEBHOOK_TIMESTAMP, HeaderValue::from(number));
            let _ = verifier.verify(&h, &body);
        }
    }
}
