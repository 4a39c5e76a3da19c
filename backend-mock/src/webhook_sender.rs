//! Sending signed webhooks from an outbox table, oldest first, as the factory and the payment
//! gateway simulators both do.
//!
//! A webhook is written to its sender's outbox in the transaction that produced it, then delivered
//! by [`WebhookSender::deliver_pending`]: right away by the code that queued it, and again by the
//! redelivery loop with exponential backoff while the receiver cannot take it.

use std::sync::Arc;
use std::time::Duration;

use caas_protocol::webhook::{
    self, HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, WebhookSecret,
};
use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use crate::db::Db;

/// One sender's outbox and where it delivers.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    db: Db,
    /// The outbox table: `seq`, `webhook_id`, `body`, `attempts`, `last_error`, `delivered_at`.
    table: &'static str,
    /// Signs with these (several only while rotating).
    secrets: Arc<[WebhookSecret]>,
    url: Arc<str>,
    http: reqwest::Client,
    /// Deliveries happen one at a time, so webhooks arrive in the order they were produced.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl WebhookSender {
    pub fn new(db: Db, table: &'static str, secrets: Vec<WebhookSecret>, url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client cannot be built: {e}"));
        Self { db, table, secrets: secrets.into(), url: url.into(), http, lock: Arc::default() }
    }

    /// Delivers every pending webhook in order. Stops at the first one the receiver could not take
    /// right now (network error, 5xx, 408, 429) so none overtakes it; a webhook the receiver
    /// refuses for good (other 4xx) is set aside with the reason and logged.
    pub async fn deliver_pending(&self) -> Result<(), String> {
        let _one_at_a_time = self.lock.lock().await;
        let table = self.table;
        loop {
            let next: Option<(i64, String, String)> = self
                .db
                .lock()
                .query_row(
                    &format!(
                        "SELECT seq, webhook_id, body FROM {table} WHERE delivered_at IS NULL ORDER BY seq LIMIT 1"
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(|e| e.to_string())?;
            let Some((seq, webhook_id, body)) = next else { return Ok(()) };
            let signed = webhook::sign(&self.secrets, &webhook_id, Utc::now().timestamp(), body.as_bytes());
            let result = self
                .http
                .post(&*self.url)
                .header(HEADER_WEBHOOK_ID, &signed.id)
                .header(HEADER_WEBHOOK_TIMESTAMP, signed.timestamp.to_string())
                .header(HEADER_WEBHOOK_SIGNATURE, &signed.signature)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let outcome = match result {
                Ok(response) if response.status().is_success() => Ok(None),
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    let retry = status.is_server_error()
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    if retry {
                        Err(format!("receiver answered {status}"))
                    } else {
                        Ok(Some(format!("{status}: {text}")))
                    }
                }
                Err(error) => Err(error.to_string()),
            };
            let conn = self.db.lock();
            match outcome {
                Ok(refusal) => {
                    if let Some(reason) = &refusal {
                        tracing::error!(%webhook_id, %reason, table, "receiver refused a webhook for good");
                    }
                    conn.execute(
                        &format!(
                            "UPDATE {table} SET delivered_at = ?2, attempts = attempts + 1, last_error = ?3
                             WHERE seq = ?1"
                        ),
                        params![seq, Utc::now().to_rfc3339(), refusal],
                    )
                    .map_err(|e| e.to_string())?;
                }
                Err(error) => {
                    conn.execute(
                        &format!("UPDATE {table} SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1"),
                        params![seq, error],
                    )
                    .map_err(|e| e.to_string())?;
                    return Err(error);
                }
            }
        }
    }

    /// Redelivers webhooks the receiver did not take, with exponential backoff, until cancelled.
    pub async fn run_redelivery(self) {
        use backon::{BackoffBuilder, ExponentialBuilder};
        let builder = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(10))
            .without_max_times();
        let mut backoff = builder.build();
        loop {
            match self.deliver_pending().await {
                Ok(()) => {
                    backoff = builder.build();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => {
                    let wait = backoff.next().unwrap_or(Duration::from_secs(10));
                    tracing::warn!(%error, ?wait, table = self.table, "webhook delivery failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
