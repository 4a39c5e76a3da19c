//! The payment gateway simulator: its own HTTP listener, card tokenization, payment intents with
//! the usual states, a ledger of the money actually taken, and signed webhooks to the platform.
//! Sandbox card numbers pick each outcome (see [`cards`]).

mod cards;
mod intents;

/// One charge of the ledger, as the gateway's sandbox lists it (the platform's client reads it),
/// and the fault switches its sandbox sets and shows (the platform's client sends and reads them).
pub(crate) use intents::{LedgerEntry, PaymentFaults};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use caas_protocol::webhook::WebhookSecret;

use crate::db::Db;
use crate::error::AppError;
use crate::idempotency::{self, Idempotency};
use crate::webhook_sender::WebhookSender;

/// How long an asynchronously settling payment stays `processing`.
const SETTLE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Shared by the gateway's handlers and background task.
#[derive(Debug, Clone)]
pub struct GatewayState {
    pub db: Db,
    /// The key the platform (the merchant's server) presents.
    pub secret_key: Arc<str>,
    /// The key apps present to tokenize cards; it can do nothing else.
    pub publishable_key: Arc<str>,
    /// The gateway's own base URL, for the 3-D Secure pages it points customers to.
    pub base_url: Arc<str>,
    pub webhooks: WebhookSender,
    /// Sandbox fault: this many next charges drop their answer after the money is taken.
    pub drop_answers: Arc<AtomicU32>,
    /// Sandbox fault: while set, every charge is answered 503 before anything is done, as by a
    /// gateway that is down, until the sandbox brings it back.
    pub unavailable: Arc<AtomicBool>,
}

impl GatewayState {
    pub fn new(db: Db, keys: GatewayKeys, base_url: String, webhook_url: String) -> Self {
        let webhooks =
            WebhookSender::new(db.clone(), "gateway", "gateway_webhook_outbox", vec![keys.webhook_secret], webhook_url);
        Self {
            db,
            secret_key: keys.secret_key.into(),
            publishable_key: keys.publishable_key.into(),
            base_url: base_url.into(),
            webhooks,
            drop_answers: Arc::default(),
            unavailable: Arc::default(),
        }
    }
}

/// The gateway's credentials, as its merchant account would hold them.
#[derive(Debug, Clone)]
pub struct GatewayKeys {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: WebhookSecret,
}

pub fn router(state: GatewayState) -> Router {
    let idempotency = Idempotency { db: state.db.clone(), namespace: "gateway" };
    Router::new()
        .route("/v1/payment_methods", post(cards::tokenize))
        .route("/v1/payment_intents", post(intents::create))
        .route("/v1/payment_intents/{id}", get(intents::get))
        .route("/v1/refunds", post(intents::refund))
        .route("/3ds/{id}", get(intents::challenge_page))
        .route("/sandbox/payment_intents/{id}/three_d_secure", post(intents::complete_challenge))
        .route("/sandbox/faults", get(intents::faults).post(intents::set_faults))
        .route("/sandbox/ledger", get(intents::ledger))
        .layer(axum::middleware::from_fn_with_state(idempotency, idempotency::enforce))
        .layer(axum::middleware::from_fn_with_state(state.clone(), intents::drop_answer_fault))
        .with_state(state)
}

/// Settles `processing` payments after [`SETTLE_AFTER`], as a bank confirming a transfer would.
pub async fn run_settlement(state: GatewayState) {
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    loop {
        ticks.tick().await;
        match intents::settle_due(&state) {
            Ok(0) => {}
            Ok(_) => {
                if let Err(error) = state.webhooks.deliver_pending().await {
                    tracing::warn!(%error, "gateway webhook delivery failed; the redelivery task retries");
                }
            }
            Err(error) => tracing::error!(?error, "settling payments failed"),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// The merchant's server, holding the secret key.
pub struct SecretKey;

impl FromRequestParts<GatewayState> for SecretKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, AppError> {
        match bearer(parts) {
            Some(key) if crate::auth::same_secret(key, &state.secret_key) => Ok(Self),
            _ => Err(AppError::unauthorized()),
        }
    }
}

/// An app, holding the publishable key.
pub struct PublishableKey;

impl FromRequestParts<GatewayState> for PublishableKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, AppError> {
        match bearer(parts) {
            Some(key) if crate::auth::same_secret(key, &state.publishable_key) => Ok(Self),
            _ => Err(AppError::unauthorized()),
        }
    }
}
