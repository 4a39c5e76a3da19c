//! Delivering the factory's webhooks to the platform, signed, oldest first.

use caas_protocol::webhook::{self, HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};
use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use super::FactoryState;

/// Delivers every pending webhook in order. Stops at the first one the platform could not take
/// right now (network error, 5xx, 408, 429) so none overtakes it; a webhook the platform refuses
/// for good (other 4xx) is set aside with the reason and logged.
pub async fn deliver_pending(state: &FactoryState) -> Result<(), String> {
    let _one_at_a_time = state.delivery_lock.lock().await;
    loop {
        let next: Option<(i64, String, String)> = state
            .db
            .lock()
            .query_row(
                "SELECT seq, webhook_id, body FROM factory_webhook_outbox
                 WHERE delivered_at IS NULL ORDER BY seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        let Some((seq, webhook_id, body)) = next else { return Ok(()) };
        let signed = webhook::sign(&state.signing_secrets, &webhook_id, Utc::now().timestamp(), body.as_bytes());
        let result = state
            .http
            .post(&*state.webhook_url)
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
                if retry { Err(format!("platform answered {status}")) } else { Ok(Some(format!("{status}: {text}"))) }
            }
            Err(error) => Err(error.to_string()),
        };
        let conn = state.db.lock();
        match outcome {
            Ok(refusal) => {
                if let Some(reason) = &refusal {
                    tracing::error!(%webhook_id, %reason, "platform refused a factory webhook for good");
                }
                conn.execute(
                    "UPDATE factory_webhook_outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = ?3
                     WHERE seq = ?1",
                    params![seq, Utc::now().to_rfc3339(), refusal],
                )
                .map_err(|e| e.to_string())?;
            }
            Err(error) => {
                conn.execute(
                    "UPDATE factory_webhook_outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1",
                    params![seq, error],
                )
                .map_err(|e| e.to_string())?;
                return Err(error);
            }
        }
    }
}
