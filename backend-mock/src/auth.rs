//! Bearer tokens for the platform's roles and the extractors that check them.
//!
//! Customer and dealership tokens are random and stored only as SHA-256 digests; the sandbox token
//! comes from configuration. Each extractor proves one role, so a handler's signature says who may
//! call it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine as _;
use chrono::Utc;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::AppError;
use crate::platform::AppState;

/// A random token with a readable prefix naming its role.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Marks an answer that carries a credential (a token, a handover code): it goes out with
/// `Cache-Control: no-store`, and the idempotency layer never keeps it for a replay.
#[derive(Debug, Clone, Copy)]
pub struct CarriesCredential;

impl IntoResponseParts for CarriesCredential {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        parts.extensions_mut().insert(self);
        Ok(parts)
    }
}

/// Keys the digests of short codes people type (sign-in codes, the handover's eight digits): a
/// plain hash of a six- or eight-digit code is reversed by trying them all, a keyed one is not
/// without the key, which lives only in the platform's configuration.
#[derive(Clone)]
pub struct CodeKey(ring::hmac::Key);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(<redacted>)")
    }
}

impl CodeKey {
    /// A key for one use (`label`) derived from a configured seed.
    pub fn derive(seed: &[u8; 32], label: &str) -> Self {
        let key = digest(&SHA256, &[label.as_bytes(), b"\n", seed].concat());
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_ref()))
    }

    /// The digest stored for `code` of `owner` (an order, an email address).
    pub fn digest(&self, owner: &str, code: &str) -> Vec<u8> {
        ring::hmac::sign(&self.0, format!("{owner}\n{code}").as_bytes()).as_ref().to_vec()
    }

    /// Whether `code` of `owner` is the one `stored` is the digest of, in constant time.
    pub fn matches(&self, stored: &[u8], owner: &str, code: &str) -> bool {
        ring::hmac::verify(&self.0, format!("{owner}\n{code}").as_bytes(), stored).is_ok()
    }
}

/// `digits` uniformly random decimal digits (at most nine), for codes people type or read out.
pub fn random_digits(digits: u32) -> Result<String, AppError> {
    let modulus = 10u32.pow(digits.min(9));
    // The largest multiple of the modulus that fits: values above it would favour low codes.
    let limit = u32::MAX - u32::MAX % modulus;
    let rng = SystemRandom::new();
    loop {
        let mut raw = [0u8; 4];
        rng.fill(&mut raw).map_err(|_| AppError::internal("the system random source failed"))?;
        let value = u32::from_le_bytes(raw);
        if value < limit {
            return Ok(format!("{:0width$}", value % modulus, width = digits.min(9) as usize));
        }
    }
}

/// Compares a presented secret with the configured one through their digests, so the comparison
/// time says nothing about the configured value.
pub fn same_secret(presented: &str, configured: &str) -> bool {
    token_digest(presented) == token_digest(configured)
}

fn token_digest(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// Creates a token for `subject` in `role` and returns it; only its digest is kept.
pub fn issue_token(conn: &Connection, role: Role, subject: &str) -> rusqlite::Result<String> {
    let token = random_token(role.prefix());
    conn.execute(
        "INSERT INTO tokens (digest, role, subject, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_digest(&token), role.name(), subject, Utc::now().to_rfc3339()],
    )?;
    Ok(token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Dealership,
    Driver,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Dealership => "dealership",
            Role::Driver => "driver",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Role::Customer => "cust",
            Role::Dealership => "dlr",
            Role::Driver => "drv",
        }
    }
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

fn subject_for(state: &AppState, parts: &Parts, role: Role) -> Result<String, AppError> {
    let token = bearer(&parts.headers).ok_or_else(AppError::unauthorized)?;
    state
        .db
        .lock()
        .query_row(
            "SELECT subject FROM tokens WHERE digest = ?1 AND role = ?2",
            params![token_digest(token), role.name()],
            |row| row.get::<_, String>(0),
        )
        .optional()?
        .ok_or_else(AppError::unauthorized)
}

/// Who a request's bearer token stands for, as `role:subject` (tokens of one account share it), or
/// a digest of the presented key for the configured keys (sandbox, gateway merchant), or
/// `anonymous`: what idempotent answers are kept under.
pub fn principal(db: &crate::db::Db, headers: &http::HeaderMap) -> String {
    let Some(token) = bearer(headers) else { return "anonymous".to_owned() };
    let issued = db
        .lock()
        .query_row("SELECT role, subject FROM tokens WHERE digest = ?1", [token_digest(token)], |row| {
            Ok(format!("{}:{}", row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .optional();
    match issued {
        Ok(Some(principal)) => principal,
        _ => format!("key:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token_digest(token))),
    }
}

/// A signed-in customer.
#[derive(Debug, Clone, Copy)]
pub struct CustomerAuth {
    pub customer_id: Uuid,
}

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let subject = subject_for(state, parts, Role::Customer)?;
        let customer_id = subject.parse().map_err(|_| AppError::unauthorized())?;
        Ok(Self { customer_id })
    }
}

/// A member of a dealership's staff.
#[derive(Debug, Clone)]
pub struct DealershipAuth {
    pub dealership_id: String,
}

impl FromRequestParts<AppState> for DealershipAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let dealership_id = subject_for(state, parts, Role::Dealership)?;
        Ok(Self { dealership_id })
    }
}

/// A driver of a transport company; sees only the company's deliveries.
#[derive(Debug, Clone)]
pub struct DriverAuth {
    pub driver: &'static crate::catalogue::Driver,
}

impl FromRequestParts<AppState> for DriverAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let driver_id = subject_for(state, parts, Role::Driver)?;
        let driver = crate::catalogue::driver(&driver_id).ok_or_else(AppError::unauthorized)?;
        Ok(Self { driver })
    }
}

/// The developer's test-mode key.
#[derive(Debug, Clone, Copy)]
pub struct SandboxAuth;

impl FromRequestParts<AppState> for SandboxAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(&parts.headers).ok_or_else(AppError::unauthorized)?;
        if same_secret(token, &state.config.sandbox_token) { Ok(Self) } else { Err(AppError::unauthorized()) }
    }
}
