//! The factory simulator: its own HTTP router (`POST /orders` and sandbox controls), its own
//! production records, and a webhook sender that reports every change to the platform.

mod delivery;
mod production;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use caas_protocol::webhook::WebhookSecret;

use crate::db::Db;

pub use delivery::deliver_pending;

/// Shared by the factory's handlers and background tasks.
#[derive(Debug, Clone)]
pub struct FactoryState {
    pub db: Db,
    /// The key the platform presents to the factory API.
    pub api_key: Arc<str>,
    /// The factory signs with these (several only while rotating).
    pub signing_secrets: Arc<[WebhookSecret]>,
    /// Where the factory delivers webhooks.
    pub webhook_url: Arc<str>,
    pub http: reqwest::Client,
    /// Deliveries happen one at a time, so webhooks arrive in the order they were produced.
    pub delivery_lock: Arc<tokio::sync::Mutex<()>>,
}

impl FactoryState {
    pub fn new(db: Db, api_key: String, signing_secrets: Vec<WebhookSecret>, webhook_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client cannot be built: {e}"));
        Self {
            db,
            api_key: api_key.into(),
            signing_secrets: signing_secrets.into(),
            webhook_url: webhook_url.into(),
            http,
            delivery_lock: Arc::default(),
        }
    }
}

pub fn router(state: FactoryState) -> Router {
    Router::new()
        .route("/orders", post(production::place_order))
        .route("/sandbox/advance/{id}", post(production::sandbox_advance))
        .route("/sandbox/delay/{id}", post(production::sandbox_delay))
        .with_state(state)
}

/// Redelivers webhooks the platform did not take, with exponential backoff, until shutdown.
pub async fn run_redelivery(state: FactoryState) {
    use backon::{BackoffBuilder, ExponentialBuilder};
    let builder = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .without_max_times();
    let mut backoff = builder.build();
    loop {
        match deliver_pending(&state).await {
            Ok(()) => {
                backoff = builder.build();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                let wait = backoff.next().unwrap_or(Duration::from_secs(10));
                tracing::warn!(%error, ?wait, "factory webhook delivery failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
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
        if let Err(error) = deliver_pending(&state).await {
            tracing::warn!(%error, "factory webhook delivery failed; the redelivery task retries");
        }
    }
}
