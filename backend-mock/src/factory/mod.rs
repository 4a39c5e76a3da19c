//! The factory simulator: its own HTTP router (`POST /orders` and sandbox controls), its own
//! production records, and a webhook sender that reports every change to the platform.

mod production;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
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
}

impl FactoryState {
    pub fn new(db: Db, api_key: String, signing_secrets: Vec<WebhookSecret>, webhook_url: String) -> Self {
        let webhooks =
            WebhookSender::new(db.clone(), "factory", "factory_webhook_outbox", signing_secrets, webhook_url);
        Self { db, api_key: api_key.into(), webhooks }
    }
}

pub fn router(state: FactoryState) -> Router {
    Router::new()
        .route("/orders", post(production::place_order))
        .route("/sandbox/advance/{id}", post(production::sandbox_advance))
        .route("/sandbox/delay/{id}", post(production::sandbox_delay))
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
