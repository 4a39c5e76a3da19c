//! The factory simulator: its own HTTP router (`POST /orders` and sandbox controls), its own
//! production records, and a webhook sender that reports every change to the platform.

mod production;

/// The factory's fault switch, as its sandbox sets and shows it (the platform's client sends and
/// reads it).
pub(crate) use production::FactoryFaults;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use caas_protocol::webhook::WebhookSecret;

use crate::db::Db;
use crate::webhook_sender::WebhookSender;

/// Shared by the factory's handlers and background tasks.
#[derive(Debug, Clone)]
pub struct FactoryState {
    pub db: Db,
    /// The key the platform presents to the factory API.
    pub api_key: Arc<str>,
    /// Delivers the factory's webhooks to the platform.
    pub webhooks: WebhookSender,
    /// Sandbox fault: while set, the factory's order desk answers 503 to every new order, as a
    /// factory that is down, so the platform's retry of the factory order can be played.
    pub unavailable: Arc<AtomicBool>,
}

impl FactoryState {
    pub fn new(db: Db, api_key: String, signing_secrets: Vec<WebhookSecret>, webhook_url: String) -> Self {
        let webhooks =
            WebhookSender::new(db.clone(), "factory", "factory_webhook_outbox", signing_secrets, webhook_url);
        Self { db, api_key: api_key.into(), webhooks, unavailable: Arc::default() }
    }
}

pub fn router(state: FactoryState) -> Router {
    Router::new()
        .route("/orders", post(production::place_order))
        .route("/sandbox/advance/{id}", post(production::sandbox_advance))
        .route("/sandbox/delay/{id}", post(production::sandbox_delay))
        .route("/sandbox/faults", get(production::sandbox_faults_now).post(production::sandbox_faults))
        .with_state(state)
}

/// Moves every unfinished order one stage on each period, as a real factory would.
pub async fn run_auto_advance(state: FactoryState, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(error) = production::advance_all(&state) {
            tracing::error!(%error, "factory auto-advance failed");
        }
        if let Err(error) = state.webhooks.deliver_pending().await {
            tracing::warn!(%error, "factory webhook delivery failed; the redelivery task retries");
        }
    }
}
