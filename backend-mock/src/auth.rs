//! Bearer tokens for the platform's roles and the extractors that check them.
//!
//! Customer and dealership tokens are random and stored only as SHA-256 digests; the sandbox token
//! comes from configuration. Each extractor proves one role, so a handler's signature says who may
//! call it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
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

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

fn subject_for(state: &AppState, parts: &Parts, role: Role) -> Result<String, AppError> {
    let token = bearer(parts).ok_or_else(AppError::unauthorized)?;
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
        let token = bearer(parts).ok_or_else(AppError::unauthorized)?;
        if same_secret(token, &state.config.sandbox_token) { Ok(Self) } else { Err(AppError::unauthorized()) }
    }
}
