//! The platform's side of the handover code: issuing codes to customers, turning a short code read
//! out at the door into its signed token, and accepting each code once.
//!
//! Codes live on wall-clock time, not the sandbox clock: the driver's phone checks them with its
//! own clock, and the sandbox clock only moves business deadlines. Whether a code was still valid
//! is decided by the platform's own clock when the confirmation or the short code reaches it,
//! never by a time the driver's phone claims.

use crate::db::CachedSql as _;
use std::sync::Arc;

use axum::http::StatusCode;
use caas_protocol::api::ErrorCode;
use caas_protocol::delivery::HandoverCodeView;
use caas_protocol::handover::{self, Expected, HandoverClaims, HandoverPublicKey, HandoverRefusal, HandoverSigner};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::auth::CodeKey;
use crate::error::{AppError, AppResult};

/// Wrong short codes allowed for one delivery attempt, across every code issued for it; then
/// resolving stays locked until the customer shows a new code. Five guesses of 10^8 leave a
/// guesser one chance in twenty million.
pub const MAX_WRONG_SHORT_CODES: i64 = 5;

/// What a locked-out caller is told to wait: time for the customer to open the app and show a new
/// code.
const LOCKED_RETRY_AFTER: TimeDelta = TimeDelta::seconds(60);

/// Issues and accepts handover codes with the platform's signing key.
#[derive(Debug, Clone)]
pub struct HandoverDesk {
    signer: Arc<HandoverSigner>,
    /// Keys the stored digests of short codes.
    short_codes: CodeKey,
}

impl HandoverDesk {
    pub fn new(seed: &[u8; 32]) -> Self {
        Self {
            signer: Arc::new(HandoverSigner::from_seed(seed)),
            short_codes: CodeKey::derive(seed, "caas handover short code digest"),
        }
    }

    pub fn public_key(&self) -> HandoverPublicKey {
        self.signer.public_key()
    }

    fn short_code_digest(&self, order: Uuid, short_code: &str) -> Vec<u8> {
        self.short_codes.digest(&order.to_string(), short_code)
    }

    /// A new code for the current attempt of `order`, held by the phone with the public key
    /// `holder` when it gave one; earlier unused codes of the order stop working, so only the code
    /// on the customer's screen is good (see [`Self::accept`] for the one exception).
    pub fn issue(
        &self,
        conn: &Connection,
        order: Uuid,
        attempt: u32,
        holder: Option<&[u8; handover::HOLDER_KEY_LEN]>,
    ) -> AppResult<HandoverCodeView> {
        self.issue_at(conn, order, attempt, Utc::now(), handover::CODE_LIFETIME, holder)
    }

    /// A code issued at `issued_at` for `lifetime`; the sandbox makes expired codes with it.
    ///
    /// Only what was signed (public: order, attempt, code id, times) and a keyed digest of the
    /// short code are stored, never the token or the digits. A new code from the customer also
    /// lifts a lockout after wrong short codes: the customer is at the door.
    pub fn issue_at(
        &self,
        conn: &Connection,
        order: Uuid,
        attempt: u32,
        issued_at: DateTime<Utc>,
        lifetime: TimeDelta,
        holder: Option<&[u8; handover::HOLDER_KEY_LEN]>,
    ) -> AppResult<HandoverCodeView> {
        let (claims, token) = self.signer.issue_valid_for(order, attempt, issued_at, lifetime, holder);
        let short_code = crate::auth::random_digits(8)?;
        // Earlier codes stop resolving, but are kept: a driver without signal may have checked
        // one before, and the customer's phone can vouch for that.
        conn.execute_cached(
            "UPDATE handover_codes SET superseded_at = ?2
             WHERE order_id = ?1 AND used_at IS NULL AND superseded_at IS NULL",
            params![order.to_string(), Utc::now().to_rfc3339()],
        )?;
        conn.execute_cached("DELETE FROM handover_guesses WHERE order_id = ?1", [order.to_string()])?;
        conn.execute_cached(
            "INSERT INTO handover_codes (code_id, order_id, attempt, short_code_digest, claims, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                claims.code_id.to_string(),
                order.to_string(),
                attempt,
                self.short_code_digest(order, &short_code),
                serde_json::to_string(&claims)?,
                claims.expires_at.to_rfc3339()
            ],
        )?;
        Ok(HandoverCodeView { token, short_code, expires_at: claims.expires_at })
    }

    /// The signed token behind a short code of `order`'s `attempt`, still unused and unexpired by
    /// the platform's clock. A wrong code counts against [`MAX_WRONG_SHORT_CODES`]; the count is
    /// written on `conn` at once, so run this outside a transaction that a refusal rolls back.
    pub fn resolve_short_code(
        &self,
        conn: &Connection,
        order: Uuid,
        attempt: u32,
        short_code: &str,
    ) -> AppResult<HandoverCodeView> {
        let short_code = short_code.trim();
        if !handover::is_short_code(short_code) {
            return Err(refused(HandoverRefusal::Malformed));
        }
        let order_key = order.to_string();
        let wrong: i64 = conn
            .query_row_cached(
                "SELECT wrong FROM handover_guesses WHERE order_id = ?1 AND attempt = ?2",
                params![order_key, attempt],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if wrong >= MAX_WRONG_SHORT_CODES {
            return Err(AppError::too_many(
                "too many wrong codes for this delivery; ask the customer to show a new code in the app",
                LOCKED_RETRY_AFTER,
            ));
        }
        let found: Option<String> = conn
            .query_row_cached(
                "SELECT claims FROM handover_codes
                 WHERE order_id = ?1 AND attempt = ?2 AND short_code_digest = ?3 AND used_at IS NULL
                   AND superseded_at IS NULL",
                params![order_key, attempt, self.short_code_digest(order, short_code)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(claims) = found else {
            conn.execute_cached(
                "INSERT INTO handover_guesses (order_id, attempt, wrong) VALUES (?1, ?2, 1)
                 ON CONFLICT(order_id, attempt) DO UPDATE SET wrong = wrong + 1",
                params![order_key, attempt],
            )?;
            return Err(refused(HandoverRefusal::Forged));
        };
        let claims: HandoverClaims = serde_json::from_str(&claims)?;
        if Utc::now() >= claims.expires_at {
            return Err(refused(HandoverRefusal::Expired));
        }
        Ok(HandoverCodeView {
            token: self.signer.sign(&claims),
            short_code: short_code.to_owned(),
            expires_at: claims.expires_at,
        })
    }

    /// Checks a code as shown for `expected` order and attempt, arrived at `expected.at`, and
    /// spends it. Runs inside the transaction that hands the car over, so a code is spent only
    /// with a handover.
    ///
    /// While the code lasts by the platform's clock, that is enough. A driver's confirmation
    /// (`offline_check`: when the driver says the code was checked) may arrive after that, and is
    /// then accepted only as the customer's phone vouches for ([`handover::verify_vouched`]); the
    /// dealership's desk checks online (`None`) and has no such grace. The moment the customer's
    /// phone signed, when there is one, is returned: when the handover happened. A code the
    /// customer replaced by a newer one is accepted only with the phone's word that it was shown
    /// before.
    pub fn accept(
        &self,
        conn: &Connection,
        code: &str,
        expected: Expected,
        offline_check: Option<DateTime<Utc>>,
    ) -> AppResult<(HandoverClaims, Option<DateTime<Utc>>)> {
        if offline_check.is_some_and(|at| at > expected.at + handover::CLOCK_SKEW) {
            return Err(AppError::invalid("the handover is dated in the future; check the phone's clock"));
        }
        let presented = handover::parse_presented(code).map_err(refused)?;
        let key = self.signer.public_key();
        let (claims, vouched_at) = match handover::verify_by_issuer(presented.token, &key, expected) {
            Ok(claims) => match &presented.shown {
                Some(shown) => {
                    // In time, but a signature that does not verify means someone altered it.
                    handover::verify_shown(&claims, shown).map_err(|_| refused(HandoverRefusal::Forged))?;
                    (claims, Some(shown.at))
                }
                None => (claims, None),
            },
            Err(HandoverRefusal::Expired) => {
                let checked_at = offline_check.ok_or_else(|| refused(HandoverRefusal::Expired))?;
                let (claims, shown_at) =
                    handover::verify_vouched(&presented, &key, expected, checked_at).map_err(refused)?;
                (claims, Some(shown_at))
            }
            Err(refusal) => return Err(refused(refusal)),
        };
        let stored: Option<(Option<String>, Option<String>)> = conn
            .query_row_cached(
                "SELECT used_at, superseded_at FROM handover_codes WHERE code_id = ?1",
                [claims.code_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let newer = || {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HandoverCodeInvalid,
                "the customer has shown a newer code since; scan the one on the screen now",
            )
        };
        match stored {
            None => return Err(newer()),
            Some((Some(_), _)) => return Err(refused(HandoverRefusal::Used)),
            Some((None, Some(superseded))) => {
                let superseded = DateTime::parse_from_rfc3339(&superseded).map_err(|_| newer())?;
                if vouched_at.is_none_or(|at| at >= superseded) {
                    return Err(newer());
                }
            }
            Some((None, None)) => {}
        }
        conn.execute_cached(
            "UPDATE handover_codes SET used_at = ?2 WHERE code_id = ?1",
            params![claims.code_id.to_string(), expected.at.to_rfc3339()],
        )?;
        Ok((claims, vouched_at))
    }
}

/// A phone's public key: 65 bytes of an uncompressed P-256 point. A point off the curve is not
/// refused here; no signature ever verifies under it, so it vouches for nothing.
pub fn holder_key(text: &str) -> AppResult<[u8; handover::HOLDER_KEY_LEN]> {
    let bytes = crate::platform::pairing::decode(text, handover::HOLDER_KEY_LEN, "holder_key")?;
    match <[u8; handover::HOLDER_KEY_LEN]>::try_from(bytes) {
        Ok(key) if key[0] == 4 => Ok(key),
        _ => Err(AppError::invalid("`holder_key` must be an uncompressed P-256 public key (65 bytes)")),
    }
}

/// The API error for a refused code.
pub fn refused(refusal: HandoverRefusal) -> AppError {
    let code = match refusal {
        HandoverRefusal::Expired | HandoverRefusal::Unvouched | HandoverRefusal::TooLate => {
            ErrorCode::HandoverCodeExpired
        }
        HandoverRefusal::Used => ErrorCode::HandoverCodeUsed,
        _ => ErrorCode::HandoverCodeInvalid,
    };
    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, refusal.to_string())
}
