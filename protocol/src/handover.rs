//! The handover code: what the customer's phone shows so a driver (or the dealership) knows the
//! person taking the car is its owner.
//!
//! The platform signs a short claim (order, delivery attempt, a single-use id, a short lifetime)
//! with Ed25519; the token is what the QR code carries. A driver's phone checks it without a
//! connection, using the platform's public key that came with the day's deliveries, and the
//! platform checks it again when the confirmation reaches it, where single use is enforced.
//!
//! The token is `CAAS1.<base64url claims>.<base64url signature>`, bounded to
//! [`MAX_TOKEN_LEN`] bytes so a hostile QR code cannot make the phone parse megabytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const PREFIX: &str = "CAAS1";

/// No genuine token comes near this; anything longer is refused unread.
pub const MAX_TOKEN_LEN: usize = 512;

/// How long a code stays valid once issued: long enough to walk to the door, short enough that a
/// photographed code is useless soon after.
pub const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(15);

/// How far apart the phones' and the platform's clocks may be.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(2);

/// What the platform vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverClaims {
    /// Which platform key signed it, so a phone with an older key says so instead of "forged".
    pub key_id: String,
    pub order_id: Uuid,
    /// The delivery attempt the code was issued for; a code from an earlier attempt is refused.
    pub attempt: u32,
    /// Single use: the platform accepts each code id once.
    pub code_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverRefusal {
    #[error("this is not a handover code")]
    Malformed,
    /// The signature does not match: forged or altered.
    #[error("the code is not signed by the platform")]
    Forged,
    /// Signed with a key this phone does not know; refreshing the deliveries brings the new key.
    #[error("the code is signed with a key this phone does not know yet; refresh the deliveries")]
    UnknownKey,
    #[error("the code has expired; the customer can show a new one")]
    Expired,
    #[error("the code is not valid yet; check the phone's clock")]
    NotYetValid,
    #[error("the code belongs to another order")]
    OtherOrder,
    #[error("the code was issued for an earlier delivery attempt")]
    OtherAttempt,
    #[error("the code was used already")]
    Used,
}

/// The platform's signing key.
pub struct HandoverSigner {
    pair: Ed25519KeyPair,
    key_id: String,
}

impl std::fmt::Debug for HandoverSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandoverSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl HandoverSigner {
    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .unwrap_or_else(|_| unreachable!("any 32 bytes are an Ed25519 seed"));
        let key_id = key_id(pair.public_key().as_ref());
        Self { pair, key_id }
    }

    pub fn public_key(&self) -> HandoverPublicKey {
        HandoverPublicKey { key_id: self.key_id.clone(), public_key: URL_SAFE_NO_PAD.encode(self.pair.public_key()) }
    }

    /// Signs a code for `attempt` of `order_id`, valid from `now` for [`CODE_LIFETIME`].
    pub fn issue(&self, order_id: Uuid, attempt: u32, now: DateTime<Utc>) -> (HandoverClaims, String) {
        self.issue_valid_for(order_id, attempt, now, CODE_LIFETIME)
    }

    /// Signs a code with its own lifetime; the sandbox uses it to make codes that already expired.
    pub fn issue_valid_for(
        &self,
        order_id: Uuid,
        attempt: u32,
        issued_at: DateTime<Utc>,
        lifetime: TimeDelta,
    ) -> (HandoverClaims, String) {
        let claims = HandoverClaims {
            key_id: self.key_id.clone(),
            order_id,
            attempt,
            code_id: Uuid::new_v4(),
            issued_at,
            expires_at: issued_at + lifetime,
        };
        let token = self.sign(&claims);
        (claims, token)
    }

    /// The token for `claims`. Ed25519 signatures are deterministic, so the platform can keep only
    /// what it signed and make the same token again when a short code resolves to it.
    pub fn sign(&self, claims: &HandoverClaims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{PREFIX}.{body}");
        let signature = URL_SAFE_NO_PAD.encode(self.pair.sign(signed.as_bytes()));
        format!("{signed}.{signature}")
    }
}

/// The key a driver's phone checks codes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverPublicKey {
    pub key_id: String,
    /// Ed25519 public key, base64url without padding.
    pub public_key: String,
}

fn key_id(public_key: &[u8]) -> String {
    digest(&SHA256, public_key).as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What a code must match to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub order_id: Uuid,
    pub attempt: u32,
    /// When the check happens (for a confirmation synced later: when the driver checked it).
    pub at: DateTime<Utc>,
}

/// Checks a token's signature, then that it is for the expected order and attempt and valid at
/// `expected.at`. Single use is the platform's to enforce.
pub fn verify(token: &str, key: &HandoverPublicKey, expected: Expected) -> Result<HandoverClaims, HandoverRefusal> {
    verify_allowing(token, key, expected, CLOCK_SKEW)
}

/// Like [`verify`] for the platform that issued the code and judges it by its own clock: no
/// allowance for another clock, so an expired code is expired at once.
pub fn verify_by_issuer(
    token: &str,
    key: &HandoverPublicKey,
    expected: Expected,
) -> Result<HandoverClaims, HandoverRefusal> {
    verify_allowing(token, key, expected, TimeDelta::zero())
}

fn verify_allowing(
    token: &str,
    key: &HandoverPublicKey,
    expected: Expected,
    skew: TimeDelta,
) -> Result<HandoverClaims, HandoverRefusal> {
    let claims = verify_signature(token, key)?;
    if claims.order_id != expected.order_id {
        return Err(HandoverRefusal::OtherOrder);
    }
    if claims.attempt != expected.attempt {
        return Err(HandoverRefusal::OtherAttempt);
    }
    if expected.at + skew < claims.issued_at {
        return Err(HandoverRefusal::NotYetValid);
    }
    if expected.at >= claims.expires_at + skew {
        return Err(HandoverRefusal::Expired);
    }
    Ok(claims)
}

/// Checks only that the platform signed the token, and returns what it says.
pub fn verify_signature(token: &str, key: &HandoverPublicKey) -> Result<HandoverClaims, HandoverRefusal> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(HandoverRefusal::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(body), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HandoverRefusal::Malformed);
    };
    let body_bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| HandoverRefusal::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| HandoverRefusal::Malformed)?;
    let public = URL_SAFE_NO_PAD.decode(&key.public_key).map_err(|_| HandoverRefusal::UnknownKey)?;
    let signed_len = PREFIX.len() + 1 + body.len();
    if UnparsedPublicKey::new(&ED25519, &public).verify(&token.as_bytes()[..signed_len], &signature).is_err() {
        // Tell a key rotation apart from a forgery, without trusting anything unsigned beyond that.
        let claimed_key: Option<HandoverClaims> = serde_json::from_slice(&body_bytes).ok();
        return Err(match claimed_key {
            Some(claims) if claims.key_id != key.key_id => HandoverRefusal::UnknownKey,
            _ => HandoverRefusal::Forged,
        });
    }
    serde_json::from_slice(&body_bytes).map_err(|_| HandoverRefusal::Malformed)
}

/// Whether `code` is the short numeric form (eight digits the customer reads out when the camera
/// cannot read the QR code) rather than a token, so the phone and the platform tell the two apart
/// the same way. Too short to carry a signature: the platform draws the digits at random, keeps
/// only a keyed digest of them, and resolves them to the token only for the assigned driver, a
/// few wrong guesses at most (see docs/security.md).
pub fn is_short_code(code: &str) -> bool {
    let code = code.trim();
    code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn signer(byte: u8) -> HandoverSigner {
        HandoverSigner::from_seed(&[byte; 32])
    }

    fn at(claims: &HandoverClaims) -> Expected {
        Expected { order_id: claims.order_id, attempt: claims.attempt, at: claims.issued_at + TimeDelta::minutes(1) }
    }

    #[test]
    fn a_fresh_code_checks_out_offline() {
        let signer = signer(7);
        let (claims, token) = signer.issue(Uuid::new_v4(), 1, Utc::now());
        assert_eq!(verify(&token, &signer.public_key(), at(&claims)), Ok(claims.clone()));
        assert_eq!(signer.sign(&claims), token, "the same claims sign to the same token");
        assert!(is_short_code("01234567"));
        assert!(!is_short_code(&token) && !is_short_code("1234567") && !is_short_code("1234567a"));
    }

    #[test]
    fn codes_for_another_order_attempt_or_time_are_refused() {
        let signer = signer(7);
        let key = signer.public_key();
        let (claims, token) = signer.issue(Uuid::new_v4(), 2, Utc::now());
        let other_order = Expected { order_id: Uuid::new_v4(), ..at(&claims) };
        assert_eq!(verify(&token, &key, other_order), Err(HandoverRefusal::OtherOrder));
        let earlier_attempt = Expected { attempt: 1, ..at(&claims) };
        assert_eq!(verify(&token, &key, earlier_attempt), Err(HandoverRefusal::OtherAttempt));
        let late = Expected { at: claims.expires_at + CLOCK_SKEW, ..at(&claims) };
        assert_eq!(verify(&token, &key, late), Err(HandoverRefusal::Expired));
        let just_expired = Expected { at: claims.expires_at, ..at(&claims) };
        assert!(verify(&token, &key, just_expired).is_ok(), "another clock may be a little behind");
        assert_eq!(verify_by_issuer(&token, &key, just_expired), Err(HandoverRefusal::Expired), "the issuer's is not");
        let early = Expected { at: claims.issued_at - CLOCK_SKEW - TimeDelta::seconds(1), ..at(&claims) };
        assert_eq!(verify(&token, &key, early), Err(HandoverRefusal::NotYetValid));
    }

    #[test]
    fn another_key_is_named_as_such_and_a_forgery_as_forged() {
        let (claims, token) = signer(1).issue(Uuid::new_v4(), 1, Utc::now());
        assert_eq!(verify(&token, &signer(2).public_key(), at(&claims)), Err(HandoverRefusal::UnknownKey));
        // Same key id claimed, different signer: a forgery.
        let mut forged_claims = claims.clone();
        forged_claims.key_id = signer(2).public_key().key_id;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).expect("json"));
        let forged = format!("{PREFIX}.{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
        assert_eq!(verify(&forged, &signer(2).public_key(), at(&claims)), Err(HandoverRefusal::Forged));
        let oversized = "A".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(verify(&oversized, &signer(1).public_key(), at(&claims)), Err(HandoverRefusal::Malformed));
    }

    proptest! {
        /// Changing any byte of a genuine token never yields an accepted code.
        #[test]
        fn any_altered_token_is_refused(position in 0usize..400, replacement in any::<u8>()) {
            let signer = signer(9);
            let (claims, token) = signer.issue(Uuid::from_u128(42), 3, Utc::now());
            let mut bytes = token.clone().into_bytes();
            let position = position % bytes.len();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let altered = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(altered.trim() != token);
            prop_assert!(verify(&altered, &signer.public_key(), at(&claims)).is_err());
        }
    }
}
