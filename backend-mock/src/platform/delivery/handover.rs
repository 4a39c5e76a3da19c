//! The platform's side of the handover code: issuing codes to customers, turning a short code read
//! out at the door into its signed token, and accepting each code once.
//!
//! Codes live on wall-clock time, not the sandbox clock: the driver's phone checks them with its
//! own clock, and the sandbox clock only moves business deadlines.

use std::sync::Arc;

use axum::http::StatusCode;
use caas_protocol::api::ErrorCode;
use caas_protocol::delivery::HandoverCodeView;
use caas_protocol::handover::{self, Expected, HandoverClaims, HandoverPublicKey, HandoverRefusal, HandoverSigner};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Issues and accepts handover codes with the platform's signing key.
#[derive(Debug, Clone)]
pub struct HandoverDesk {
    signer: Arc<HandoverSigner>,
}

impl HandoverDesk {
    pub fn new(seed: &[u8; 32]) -> Self {
        Self { signer: Arc::new(HandoverSigner::from_seed(seed)) }
    }

    pub fn public_key(&self) -> HandoverPublicKey {
        self.signer.public_key()
    }

    /// A new code for the current attempt of `order`; earlier unused codes of the order stop
    /// working, so only the code on the customer's screen is good.
    pub fn issue(&self, conn: &Connection, order: Uuid, attempt: u32) -> AppResult<HandoverCodeView> {
        self.issue_at(conn, order, attempt, Utc::now(), handover::CODE_LIFETIME)
    }

    /// A code issued at `issued_at` for `lifetime`; the sandbox makes expired codes with it.
    pub fn issue_at(
        &self,
        conn: &Connection,
        order: Uuid,
        attempt: u32,
        issued_at: DateTime<Utc>,
        lifetime: TimeDelta,
    ) -> AppResult<HandoverCodeView> {
        let (claims, token) = self.signer.issue_valid_for(order, attempt, issued_at, lifetime);
        let short_code = handover::short_code(&claims);
        conn.execute("DELETE FROM handover_codes WHERE order_id = ?1 AND used_at IS NULL", [order.to_string()])?;
        conn.execute(
            "INSERT INTO handover_codes (code_id, order_id, attempt, short_code, token, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                claims.code_id.to_string(),
                order.to_string(),
                attempt,
                short_code,
                token,
                claims.expires_at.to_rfc3339()
            ],
        )?;
        Ok(HandoverCodeView { token, short_code, expires_at: claims.expires_at })
    }

    /// The signed token behind a short code of `order`, still unused.
    pub fn resolve_short_code(&self, conn: &Connection, order: Uuid, short_code: &str) -> AppResult<HandoverCodeView> {
        let short_code = short_code.trim();
        if !handover::is_short_code(short_code) {
            return Err(refused(HandoverRefusal::Malformed));
        }
        let found: Option<(String, String)> = conn
            .query_row(
                "SELECT token, expires_at FROM handover_codes
                 WHERE order_id = ?1 AND short_code = ?2 AND used_at IS NULL",
                params![order.to_string(), short_code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (token, expires_at) = found.ok_or_else(|| refused(HandoverRefusal::Forged))?;
        let expires_at = DateTime::parse_from_rfc3339(&expires_at)
            .map_err(|_| AppError::invalid("stored code expiry is unreadable"))?
            .with_timezone(&Utc);
        Ok(HandoverCodeView { token, short_code: short_code.to_owned(), expires_at })
    }

    /// Checks a token for `order`'s `attempt` as of `at`, and spends it. Runs inside the
    /// transaction that hands the car over, so a code is spent only with a handover.
    pub fn accept(
        &self,
        conn: &Connection,
        token: &str,
        expected: Expected,
        now: DateTime<Utc>,
    ) -> AppResult<HandoverClaims> {
        if expected.at > now + handover::CLOCK_SKEW {
            return Err(AppError::invalid("the handover is dated in the future; check the phone's clock"));
        }
        let claims = handover::verify(token, &self.signer.public_key(), expected).map_err(refused)?;
        let used: Option<Option<String>> = conn
            .query_row("SELECT used_at FROM handover_codes WHERE code_id = ?1", [claims.code_id.to_string()], |r| {
                r.get(0)
            })
            .optional()?;
        match used {
            Some(None) => {}
            Some(Some(_)) => return Err(refused(HandoverRefusal::Used)),
            None => {
                return Err(AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::HandoverCodeInvalid,
                    "the customer has shown a newer code since; scan the one on the screen now",
                ));
            }
        }
        conn.execute(
            "UPDATE handover_codes SET used_at = ?2 WHERE code_id = ?1",
            params![claims.code_id.to_string(), now.to_rfc3339()],
        )?;
        Ok(claims)
    }
}

/// The API error for a refused code.
pub fn refused(refusal: HandoverRefusal) -> AppError {
    let code = match refusal {
        HandoverRefusal::Expired => ErrorCode::HandoverCodeExpired,
        HandoverRefusal::Used => ErrorCode::HandoverCodeUsed,
        _ => ErrorCode::HandoverCodeInvalid,
    };
    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, refusal.to_string())
}
