//! Sending signed webhooks from an outbox table, oldest first, as the factory and the payment
//! gateway simulators both do.
//!
//! A webhook is written to its sender's outbox in the transaction that produced it, then delivered
//! by [`WebhookSender::deliver_pending`]: right away by the code that queued it, and again by the
//! redelivery loop with exponential backoff while the receiver cannot take it. Every attempt is
//! logged (`webhook_log`, its last [`KEPT_LOG_ROWS`] rows) with what came of it, for the sandbox
//! feed; the log never decides delivery: an attempt it fails to record is warned of and delivered
//! all the same.

use crate::db::CachedSql as _;
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
    /// Who sends, as the log names it: `factory` or `gateway`.
    sender: &'static str,
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
    pub fn new(db: Db, sender: &'static str, table: &'static str, secrets: Vec<WebhookSecret>, url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client cannot be built: {e}"));
        Self { db, sender, table, secrets: secrets.into(), url: url.into(), http, lock: Arc::default() }
    }

    /// Delivers every pending webhook in order. Stops at the first one the receiver could not take
    /// right now (network error, 5xx, 408, 429) so none overtakes it; a webhook the receiver
    /// refuses for good (other 4xx) is set aside with the reason and logged.
    pub async fn deliver_pending(&self) -> Result<(), String> {
        let _one_at_a_time = self.lock.lock().await;
        let table = self.table;
        loop {
            let next: Option<(i64, String, String, i64)> = self
                .db
                .lock()
                .query_row_cached(
                    &format!(
                        "SELECT seq, webhook_id, body, attempts FROM {table} WHERE delivered_at IS NULL
                         ORDER BY seq LIMIT 1"
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(|e| e.to_string())?;
            let Some((seq, webhook_id, body, attempts)) = next else { return Ok(()) };
            let signed = webhook::sign(&self.secrets, &webhook_id, Utc::now().timestamp(), body.as_bytes());
            let result = self
                .http
                .post(&*self.url)
                .header(HEADER_WEBHOOK_ID, &signed.id)
                .header(HEADER_WEBHOOK_TIMESTAMP, signed.timestamp.to_string())
                .header(HEADER_WEBHOOK_SIGNATURE, &signed.signature)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let attempt = Attempt::of(result).await;
            let conn = self.db.lock();
            // The outbox first, on its own: what the log makes of the attempt never changes it.
            let recorded = match &attempt.outcome {
                Outcome::Delivered | Outcome::Refused(_) => {
                    let refusal = match &attempt.outcome {
                        Outcome::Refused(reason) => {
                            tracing::error!(%webhook_id, %reason, table, "receiver refused a webhook for good");
                            Some(reason.clone())
                        }
                        _ => None,
                    };
                    conn.execute_cached(
                        &format!(
                            "UPDATE {table} SET delivered_at = ?2, attempts = attempts + 1, last_error = ?3
                             WHERE seq = ?1"
                        ),
                        params![seq, Utc::now().to_rfc3339(), refusal],
                    )
                }
                Outcome::Retrying(error) => conn.execute_cached(
                    &format!("UPDATE {table} SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1"),
                    params![seq, error],
                ),
            };
            recorded.map_err(|e| e.to_string())?;
            if let Err(error) = log_attempt(&conn, self.sender, &webhook_id, &body, attempts + 1, &attempt) {
                tracing::warn!(%error, %webhook_id, table, "a webhook attempt could not be logged for the sandbox feed");
            }
            drop(conn);
            self.db.announce_feed();
            if let Outcome::Retrying(error) = attempt.outcome {
                return Err(error);
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

/// What came of one delivery attempt.
#[derive(Debug)]
struct Attempt {
    /// The receiver's status, when it answered.
    status: Option<u16>,
    outcome: Outcome,
}

#[derive(Debug)]
enum Outcome {
    Delivered,
    /// Refused for good (a 4xx other than 408 and 429): set aside with the reason.
    Refused(String),
    /// Not taken right now (network error, 5xx, 408, 429): tried again later.
    Retrying(String),
}

impl Outcome {
    fn wire_name(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Refused(_) => "refused",
            Outcome::Retrying(_) => "retrying",
        }
    }
}

impl Attempt {
    async fn of(result: reqwest::Result<reqwest::Response>) -> Self {
        match result {
            Ok(response) if response.status().is_success() => {
                Self { status: Some(response.status().as_u16()), outcome: Outcome::Delivered }
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let retry = status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                let outcome = if retry {
                    Outcome::Retrying(format!("receiver answered {status}"))
                } else {
                    Outcome::Refused(format!("{status}: {text}"))
                };
                Self { status: Some(status.as_u16()), outcome }
            }
            Err(error) => Self { status: None, outcome: Outcome::Retrying(error.to_string()) },
        }
    }
}

/// The most of a webhook's body the log keeps; the senders' bodies are far smaller, so only a
/// runaway one is cut.
const MAX_LOGGED_BODY: usize = 16 * 1024;

/// How many attempts the log keeps: the newest, older ones pruned as new ones are logged (the feed
/// skips the attempts it no longer finds).
const KEPT_LOG_ROWS: i64 = 10_000;

/// Logs one attempt for the sandbox feed: who sent what for which order, and what came of it; then
/// prunes the log to its last [`KEPT_LOG_ROWS`] rows. The row and the pruning go together or not
/// at all.
fn log_attempt(
    conn: &rusqlite::Connection,
    sender: &str,
    webhook_id: &str,
    body: &str,
    attempt: i64,
    what: &Attempt,
) -> rusqlite::Result<()> {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let kind = parsed.as_ref().and_then(|b| b["type"].as_str()).map(str::to_owned);
    // The factory names the platform's order `platform_order_id`, the gateway `order_id`.
    let order_id = parsed.as_ref().and_then(|b| {
        let data = &b["data"];
        data["platform_order_id"].as_str().or_else(|| data["order_id"].as_str())?.parse::<uuid::Uuid>().ok()
    });
    let (payload, truncated) = bounded(body, MAX_LOGGED_BODY);
    let error = match &what.outcome {
        Outcome::Delivered => None,
        Outcome::Refused(reason) | Outcome::Retrying(reason) => Some(bounded(reason, 1024).0),
    };
    let tx = conn.unchecked_transaction()?;
    tx.execute_cached(
        "INSERT INTO webhook_log (sender, webhook_id, type, order_id, attempt, outcome, status, error, payload,
                                  truncated, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            sender,
            webhook_id,
            kind,
            order_id.map(|id| id.to_string()),
            attempt,
            what.outcome.wire_name(),
            what.status,
            error,
            payload,
            truncated,
            Utc::now().to_rfc3339()
        ],
    )?;
    prune_log(&tx, KEPT_LOG_ROWS)?;
    tx.commit()
}

/// Deletes all but the last `kept` attempts of the log.
fn prune_log(conn: &rusqlite::Connection, kept: i64) -> rusqlite::Result<usize> {
    conn.execute_cached("DELETE FROM webhook_log WHERE seq <= (SELECT MAX(seq) FROM webhook_log) - ?1", [kept])
}

/// `text` cut to at most `max` bytes on a character boundary, and whether it was cut.
fn bounded(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn attempt() -> Attempt {
        Attempt { status: Some(204), outcome: Outcome::Delivered }
    }

    /// A receiver on loopback that takes every webhook, and how many it took.
    async fn receiver() -> (String, Arc<AtomicUsize>) {
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = taken.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { http::StatusCode::NO_CONTENT }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
        (url, taken)
    }

    #[tokio::test]
    async fn a_webhook_whose_attempt_cannot_be_logged_is_delivered_once_all_the_same() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::open(&dir.path().join("platform.sqlite3")).expect("opened");
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let (url, taken) = receiver().await;
        let sender = WebhookSender::new(
            db.clone(),
            "gateway",
            "gateway_webhook_outbox",
            vec![crate::random_webhook_secret()],
            url,
        );
        {
            let conn = db.lock();
            conn.execute_cached(
                "INSERT INTO gateway_webhook_outbox (webhook_id, intent_id, body) VALUES ('msg_1', 'pi_1', '{}')",
                [],
            )
            .expect("queued");
            // The log is broken: every attempt to write it fails.
            conn.execute_batch("DROP TRIGGER sandbox_feed_webhooks; DROP TABLE webhook_log;").expect("broken");
        }
        sender.deliver_pending().await.expect("delivered although not logged");
        sender.deliver_pending().await.expect("nothing left");
        assert_eq!(taken.load(Ordering::SeqCst), 1, "sent once");
        let delivered: bool = db
            .lock()
            .query_row_cached(
                "SELECT delivered_at IS NOT NULL FROM gateway_webhook_outbox WHERE webhook_id = 'msg_1'",
                [],
                |r| r.get(0),
            )
            .expect("the outbox row");
        assert!(delivered);
    }

    #[test]
    fn the_log_keeps_its_newest_attempts() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::open(&dir.path().join("platform.sqlite3")).expect("opened");
        let conn = db.lock();
        for n in 0..5 {
            log_attempt(&conn, "factory", &format!("msg_{n}"), "{}", 1, &attempt()).expect("logged");
        }
        assert_eq!(prune_log(&conn, 2).expect("pruned"), 3);
        let kept: Vec<String> = conn
            .prepare_cached("SELECT webhook_id FROM webhook_log ORDER BY seq")
            .and_then(|mut statement| statement.query_map([], |r| r.get(0))?.collect())
            .expect("read");
        assert_eq!(kept, ["msg_3", "msg_4"]);
        let count = |conn: &rusqlite::Connection| -> i64 {
            conn.query_row_cached("SELECT COUNT(*) FROM webhook_log", [], |r| r.get(0)).expect("counted")
        };
        for n in 0..KEPT_LOG_ROWS + 3 {
            log_attempt(&conn, "factory", &format!("again_{n}"), "{}", 1, &attempt()).expect("logged");
        }
        assert_eq!(count(&conn), KEPT_LOG_ROWS, "logging prunes as it goes");
    }

    #[test]
    fn a_long_body_is_cut_on_a_character_boundary() {
        assert_eq!(bounded("abc", 3), ("abc", false));
        assert_eq!(bounded("aé", 2), ("a", true), "é takes two bytes: cut before it, never inside");
        assert_eq!(bounded(&"x".repeat(MAX_LOGGED_BODY + 1), MAX_LOGGED_BODY).0.len(), MAX_LOGGED_BODY);
    }
}
