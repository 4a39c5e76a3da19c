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
//!
//! A driver without signal confirms a handover that may reach the platform after the code
//! expired. The platform's clock cannot vouch for when such a code was checked, and the driver's
//! phone is not independent, so the customer's phone does: the code names the key of the phone
//! that asked for it (`holder`), and that phone shows the token with its signature over the code
//! id and the moment it is shown, renewed every [`PRESENTATION_REFRESH`]:
//! `<token>.<unix seconds>.<base64url ECDSA P-256 signature>`. A late confirmation is accepted
//! only with that signature, for a moment inside the code's life that matches the driver's check,
//! and only within [`OFFLINE_SYNC_WINDOW`] of the code's expiry (see [`verify_vouched`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use ring::digest::{SHA256, digest};
use ring::signature::{ECDSA_P256_SHA256_ASN1, ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const PREFIX: &str = "CAAS1";

/// No genuine code as shown (token, time and the holder's signature) comes near this; anything
/// longer is refused unread.
pub const MAX_TOKEN_LEN: usize = 1024;

/// How long a code stays valid once issued: long enough to walk to the door, short enough that a
/// photographed code is useless soon after.
pub const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(15);

/// How far apart the phones' and the platform's clocks may be.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(2);

/// How long after its code expired a handover checked without signal may still reach the
/// platform: a driver's shift. Later, the platform no longer takes the phones' word for it.
pub const OFFLINE_SYNC_WINDOW: TimeDelta = TimeDelta::hours(12);

/// How often the customer's phone signs the code it shows again with the current moment; a
/// screen older than this (and the clocks' difference) is a copy, not the customer's phone.
pub const PRESENTATION_REFRESH: TimeDelta = TimeDelta::seconds(30);

/// Domain separation for the holder's signature.
const SHOWN_CONTEXT: &[u8] = b"CAAS1 handover code shown\0";

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
    /// The customer's phone that asked for the code: its P-256 public key (uncompressed,
    /// base64url). Only that phone can vouch for when the code was shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
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
    /// The customer's phone signs what it shows every half minute; this one is older: a
    /// screenshot or a photo, not the customer's phone.
    #[error("the code on the screen is not live; ask the customer to open it in the app")]
    StaleScreen,
    /// Reached the platform after the code expired, without the customer's phone's signature
    /// for when it was shown, or with one that does not match the driver's check.
    #[error(
        "the code expired before the handover reached the platform, and the customer's phone does not vouch for when it was checked"
    )]
    Unvouched,
    /// Reached the platform more than [`OFFLINE_SYNC_WINDOW`] after the code expired.
    #[error("the handover reached the platform more than twelve hours after its code expired")]
    TooLate,
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
        self.issue_valid_for(order_id, attempt, now, CODE_LIFETIME, None)
    }

    /// Signs a code with its own lifetime (the sandbox makes codes that already expired), held
    /// by the phone whose public key is `holder` when one asked for it.
    pub fn issue_valid_for(
        &self,
        order_id: Uuid,
        attempt: u32,
        issued_at: DateTime<Utc>,
        lifetime: TimeDelta,
        holder: Option<&[u8; HOLDER_KEY_LEN]>,
    ) -> (HandoverClaims, String) {
        let claims = HandoverClaims {
            key_id: self.key_id.clone(),
            order_id,
            attempt,
            code_id: Uuid::new_v4(),
            issued_at,
            expires_at: issued_at + lifetime,
            holder: holder.map(|key| URL_SAFE_NO_PAD.encode(key)),
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

pub(crate) fn key_id(public_key: &[u8]) -> String {
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
    let claims = verify_for(token, key, expected)?;
    if expected.at + skew < claims.issued_at {
        return Err(HandoverRefusal::NotYetValid);
    }
    if expected.at >= claims.expires_at + skew {
        return Err(HandoverRefusal::Expired);
    }
    Ok(claims)
}

/// The claims of a token the platform signed for the expected order and attempt, at any time.
fn verify_for(token: &str, key: &HandoverPublicKey, expected: Expected) -> Result<HandoverClaims, HandoverRefusal> {
    let claims = verify_signature(token, key)?;
    if claims.order_id != expected.order_id {
        return Err(HandoverRefusal::OtherOrder);
    }
    if claims.attempt != expected.attempt {
        return Err(HandoverRefusal::OtherAttempt);
    }
    Ok(claims)
}

/// The length of an uncompressed P-256 public key, what phones' key stores export.
pub const HOLDER_KEY_LEN: usize = 65;
/// An ASN.1 ECDSA P-256 signature is at most 72 bytes.
const MAX_HOLDER_SIGNATURE_LEN: usize = 72;
/// No code is shown after the year 3000; the bound keeps all time arithmetic far from overflow.
const MAX_SHOWN_SECS: i64 = 32_503_680_000;

/// A code as the customer's phone shows it: the token, and the holder's word for when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented<'a> {
    pub token: &'a str,
    pub shown: Option<Shown>,
}

/// The holder's signature over the moment a code was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub at: DateTime<Utc>,
    signature: Vec<u8>,
}

/// What the holder signs: the code and the moment, in whole seconds.
pub fn shown_message(code_id: Uuid, at: DateTime<Utc>) -> Vec<u8> {
    let mut message = SHOWN_CONTEXT.to_vec();
    message.extend_from_slice(code_id.as_bytes());
    message.extend_from_slice(&at.timestamp().to_be_bytes());
    message
}

/// The text of the QR code: `token`, shown at `at` (whole seconds, as signed), with the holder's
/// `signature` over [`shown_message`].
pub fn present(token: &str, at: DateTime<Utc>, signature: &[u8]) -> String {
    format!("{}.{}.{}", token.trim(), at.timestamp(), URL_SAFE_NO_PAD.encode(signature))
}

/// Splits what a QR code carries into the token and, when there, the holder's signature; bounded
/// before anything is decoded.
pub fn parse_presented(code: &str) -> Result<Presented<'_>, HandoverRefusal> {
    let code = code.trim();
    if code.len() > MAX_TOKEN_LEN {
        return Err(HandoverRefusal::Malformed);
    }
    match code.split('.').count() {
        3 => Ok(Presented { token: code, shown: None }),
        5 => {
            let mut tail = code.rsplitn(3, '.');
            let (Some(signature), Some(seconds), Some(token)) = (tail.next(), tail.next(), tail.next()) else {
                return Err(HandoverRefusal::Malformed);
            };
            let at = seconds
                .parse::<i64>()
                .ok()
                .filter(|s| (0..=MAX_SHOWN_SECS).contains(s))
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .ok_or(HandoverRefusal::Malformed)?;
            let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| HandoverRefusal::Malformed)?;
            if signature.len() > MAX_HOLDER_SIGNATURE_LEN {
                return Err(HandoverRefusal::Malformed);
            }
            Ok(Presented { token, shown: Some(Shown { at, signature }) })
        }
        _ => Err(HandoverRefusal::Malformed),
    }
}

/// Checks that the code's holder signed `shown`, for a moment inside the code's life.
pub fn verify_shown(claims: &HandoverClaims, shown: &Shown) -> Result<(), HandoverRefusal> {
    let holder =
        claims.holder.as_deref().and_then(|key| URL_SAFE_NO_PAD.decode(key).ok()).ok_or(HandoverRefusal::Unvouched)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &holder)
        .verify(&shown_message(claims.code_id, shown.at), &shown.signature)
        .map_err(|_| HandoverRefusal::Forged)?;
    // Whole seconds were signed: the moment may be up to a second before the issue time.
    if shown.at < claims.issued_at - TimeDelta::seconds(1) || shown.at >= claims.expires_at {
        return Err(HandoverRefusal::Unvouched);
    }
    Ok(())
}

/// Checks a code scanned from a screen on the driver's phone at `expected.at`: the token as
/// [`verify`] does, and for a code a phone holds, that the holder signed it lately (within
/// [`PRESENTATION_REFRESH`] and the clocks' difference), so a photo of the code, or its token
/// without the signature, is caught at the door. (A code read out as eight digits is resolved by
/// the platform online and checked with [`verify`].)
pub fn verify_presented(
    code: &Presented<'_>,
    key: &HandoverPublicKey,
    expected: Expected,
) -> Result<HandoverClaims, HandoverRefusal> {
    let claims = verify(code.token, key, expected)?;
    match &code.shown {
        Some(shown) => {
            verify_shown(&claims, shown)?;
            if (expected.at - shown.at).abs() > PRESENTATION_REFRESH + CLOCK_SKEW {
                return Err(HandoverRefusal::StaleScreen);
            }
        }
        None if claims.holder.is_some() => return Err(HandoverRefusal::StaleScreen),
        None => {}
    }
    Ok(claims)
}

/// The platform's judgement of a confirmation that arrived at `expected.at`, after its code
/// expired, from a driver who says they checked it at `checked_at`: accepted only within
/// [`OFFLINE_SYNC_WINDOW`] of the expiry, with the holder's signature for a moment inside the
/// code's life that matches the driver's check. Returns the claims and that moment, the one the
/// handover is recorded at.
pub fn verify_vouched(
    code: &Presented<'_>,
    key: &HandoverPublicKey,
    expected: Expected,
    checked_at: DateTime<Utc>,
) -> Result<(HandoverClaims, DateTime<Utc>), HandoverRefusal> {
    let claims = verify_for(code.token, key, expected)?;
    if expected.at >= claims.expires_at + OFFLINE_SYNC_WINDOW {
        return Err(HandoverRefusal::TooLate);
    }
    let shown = code.shown.as_ref().ok_or(HandoverRefusal::Unvouched)?;
    verify_shown(&claims, shown)?;
    if (checked_at - shown.at).abs() > PRESENTATION_REFRESH + CLOCK_SKEW {
        return Err(HandoverRefusal::Unvouched);
    }
    Ok((claims, shown.at))
}

/// What a token says, unchecked: for the customer's phone, which got it from the platform and
/// needs the code id to sign the moment it shows it.
pub fn unverified_claims(token: &str) -> Option<HandoverClaims> {
    let body = token.trim().split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
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

    /// A customer's phone key, and a code it holds issued `minutes_ago`.
    fn held_code(minutes_ago: i64) -> (HandoverSigner, ring::signature::EcdsaKeyPair, HandoverClaims, String) {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let phone = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let holder: [u8; HOLDER_KEY_LEN] = phone.public_key().as_ref().try_into().expect("uncompressed point");
        let signer = signer(5);
        let issued_at = Utc::now() - TimeDelta::minutes(minutes_ago);
        let (claims, token) = signer.issue_valid_for(Uuid::new_v4(), 1, issued_at, CODE_LIFETIME, Some(&holder));
        (signer, phone, claims, token)
    }

    fn shown_by(
        phone: &ring::signature::EcdsaKeyPair,
        claims: &HandoverClaims,
        token: &str,
        at: DateTime<Utc>,
    ) -> String {
        let at = DateTime::from_timestamp(at.timestamp(), 0).expect("in range");
        let signature = phone.sign(&ring::rand::SystemRandom::new(), &shown_message(claims.code_id, at)).expect("sign");
        present(token, at, signature.as_ref())
    }

    #[test]
    fn a_live_screen_checks_out_and_a_photo_of_it_does_not() {
        let (signer, phone, claims, token) = held_code(0);
        let key = signer.public_key();
        let shown = shown_by(&phone, &claims, &token, claims.issued_at + TimeDelta::minutes(1));
        let presented = parse_presented(&shown).expect("parses");
        assert_eq!(presented.token, token);
        let door = Expected { at: claims.issued_at + TimeDelta::minutes(1), ..at(&claims) };
        assert_eq!(verify_presented(&presented, &key, door), Ok(claims.clone()));
        let later = Expected { at: claims.issued_at + TimeDelta::minutes(4), ..door };
        assert_eq!(verify_presented(&presented, &key, later), Err(HandoverRefusal::StaleScreen), "a photo");
        // Another moment under the same signature: refused.
        let moved = shown.replacen(
            &format!(".{}.", (claims.issued_at + TimeDelta::minutes(1)).timestamp()),
            &format!(".{}.", (claims.issued_at + TimeDelta::minutes(2)).timestamp()),
            1,
        );
        assert_ne!(moved, shown);
        assert_eq!(
            verify_presented(&parse_presented(&moved).expect("parses"), &key, door),
            Err(HandoverRefusal::Forged)
        );
        // The token without the holder's signature is a copy too; read out as eight digits, the
        // platform resolves it online and the phone checks it as a plain token.
        let bare = parse_presented(&token).expect("parses");
        assert_eq!(verify_presented(&bare, &key, door), Err(HandoverRefusal::StaleScreen));
        assert!(verify(&token, &key, door).is_ok());
        // A moment beyond any clock is refused unread.
        let far = format!("{token}.99999999999999.{}", URL_SAFE_NO_PAD.encode([1u8; 70]));
        assert_eq!(parse_presented(&far), Err(HandoverRefusal::Malformed));
    }

    #[test]
    fn a_late_confirmation_needs_the_holders_word_for_a_moment_the_code_was_valid() {
        let (signer, phone, claims, token) = held_code(60);
        let key = signer.public_key();
        let checked = claims.issued_at + TimeDelta::minutes(5);
        let arrived = Expected { at: Utc::now(), ..at(&claims) };
        let shown = shown_by(&phone, &claims, &token, checked);
        let vouched = verify_vouched(&parse_presented(&shown).expect("parses"), &key, arrived, checked);
        assert_eq!(vouched, Ok((claims.clone(), DateTime::from_timestamp(checked.timestamp(), 0).expect("in range"))));

        let bare = parse_presented(&token).expect("parses");
        assert_eq!(verify_vouched(&bare, &key, arrived, checked), Err(HandoverRefusal::Unvouched), "no word");
        let presented = parse_presented(&shown).expect("parses");
        let elsewhere = checked + TimeDelta::minutes(10);
        assert_eq!(verify_vouched(&presented, &key, arrived, elsewhere), Err(HandoverRefusal::Unvouched), "not then");
        let after_expiry = shown_by(&phone, &claims, &token, claims.expires_at + TimeDelta::minutes(1));
        let after = parse_presented(&after_expiry).expect("parses");
        assert_eq!(
            verify_vouched(&after, &key, arrived, claims.expires_at + TimeDelta::minutes(1)),
            Err(HandoverRefusal::Unvouched),
            "shown once the code had expired"
        );
        let next_day = Expected { at: claims.expires_at + OFFLINE_SYNC_WINDOW, ..arrived };
        assert_eq!(verify_vouched(&presented, &key, next_day, checked), Err(HandoverRefusal::TooLate));

        // Another phone's signature, or a code nobody holds, vouches for nothing.
        let (_, stranger, _, _) = held_code(0);
        let forged = parse_presented(&shown_by(&stranger, &claims, &token, checked)).expect("parses").shown;
        let forged = Presented { token: &token, shown: forged };
        assert_eq!(verify_vouched(&forged, &key, arrived, checked), Err(HandoverRefusal::Forged));
        let (unheld_claims, unheld) = signer.issue_valid_for(claims.order_id, 1, claims.issued_at, CODE_LIFETIME, None);
        let unheld = format!("{unheld}.{}.{}", checked.timestamp(), URL_SAFE_NO_PAD.encode([1u8; 70]));
        let expected = Expected { order_id: unheld_claims.order_id, ..arrived };
        assert_eq!(
            verify_vouched(&parse_presented(&unheld).expect("parses"), &key, expected, checked),
            Err(HandoverRefusal::Unvouched)
        );
    }

    proptest! {
        /// Whatever a QR code carries, reading it never panics, and nothing unsigned is accepted.
        #[test]
        fn any_presented_text_is_read_without_panic(text in "[A-Za-z0-9._-]{0,1100}") {
            let signer = signer(9);
            if let Ok(presented) = parse_presented(&text) {
                let expected = Expected { order_id: Uuid::from_u128(1), attempt: 1, at: Utc::now() };
                prop_assert!(verify_presented(&presented, &signer.public_key(), expected).is_err());
                prop_assert!(verify_vouched(&presented, &signer.public_key(), expected, Utc::now()).is_err());
            }
        }

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
