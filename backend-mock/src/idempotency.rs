//! Idempotent mutations: a `POST`, `PUT`, `PATCH` or `DELETE` carrying an `Idempotency-Key` is
//! executed once per caller and key. Repeating it with the same body returns the stored first
//! answer (also after a restart: answers live in SQLite); the same key with another body is
//! refused; a repeat while the first is still running is told to wait.
//!
//! Answers are kept per authenticated principal (the role and subject a bearer token stands for,
//! so a new token of the same account finds them and another account never does), for 24 hours.
//! An answer that carries a credential (a token, a handover code) is never kept: repeating such a
//! request runs it again, and the platform's own rules (a code is spent once) decide.
//!
//! Answers with a 5xx, 401 or 429 status are not kept: nothing was decided, so a retry runs again.
//! Handlers that call another service pass a key derived from this one, so a re-run never
//! repeats the other service's side effect either.

use crate::db::CachedSql as _;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use caas_protocol::api::ErrorCode;
use caas_protocol::payment::{IDEMPOTENCY_KEY_HEADER, valid_idempotency_key};
use chrono::{TimeDelta, Utc};
use ring::digest::{SHA256, digest};
use rusqlite::{OptionalExtension, params};

use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Answers larger than this are not kept; the API's own are far smaller.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// A first request that has not finished after this long is taken to have died with its process.
const ABANDONED_AFTER: TimeDelta = TimeDelta::seconds(60);

/// How long a decided answer is kept for a repeat.
pub const KEPT_FOR: TimeDelta = TimeDelta::hours(24);

/// The header telling a caller its answer is a replay of the first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Where one service keeps its idempotent answers.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub db: Db,
    /// Keeps the platform's and the gateway's keys apart in the one table.
    pub namespace: &'static str,
}

/// What a claimed key asks of its caller.
pub enum Begin {
    Run,
    Replay { status: u16, content_type: Option<String>, body: Vec<u8> },
}

/// The middleware; see the module documentation.
pub async fn enforce(State(store): State<Idempotency>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY_HEADER) else { return next.run(request).await };
    let Some(key) = key.to_str().ok().filter(|k| valid_idempotency_key(k)).map(str::to_owned) else {
        return AppError::invalid("`Idempotency-Key` must be 1 to 255 visible ASCII characters").into_response();
    };
    let scope = scope(store.namespace, &crate::auth::principal(&store.db, request.headers()));
    let (parts, body) = request.into_parts();
    // Already read whole and bounded by `request_body::read_first`, which every service runs
    // before routing: this only takes the bytes.
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return AppError::invalid("the request body could not be read").into_response();
    };
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let fingerprint = fingerprint(&parts.method, target, &bytes);
    match begin(&store.db, &scope, &key, &fingerprint) {
        Ok(Begin::Run) => {}
        Ok(Begin::Replay { status, content_type, body }) => return replay(status, content_type, body),
        Err(error) => return error.into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    finish(&store.db, &scope, &key, response).await
}

/// Where one caller's keys live in a service's namespace: a new token of the same account finds
/// them, another account never does.
pub fn scope(namespace: &str, caller: &str) -> Vec<u8> {
    digest(&SHA256, &[namespace.as_bytes(), b"\n", caller.as_bytes()].concat()).as_ref().to_vec()
}

/// What a key is bound to: the method, the path with its query, and the body's exact bytes.
pub fn fingerprint(method: &Method, target: &str, body: &[u8]) -> Vec<u8> {
    digest(&SHA256, &[method.as_str().as_bytes(), b"\n", target.as_bytes(), b"\n", body].concat()).as_ref().to_vec()
}

/// An answer that decided nothing (an outage, a sign-in missing, "not now") is not kept: a
/// repeat runs again.
pub fn decided(status: StatusCode) -> bool {
    !(status.is_server_error() || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS))
}

/// A key's row: the request it belongs to and, once decided, its answer.
struct Stored {
    fingerprint: Vec<u8>,
    status: Option<u16>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    created_at: String,
}

/// Claims the key, or finds the answer it already has: one transaction, so one commit.
fn begin(db: &Db, scope: &[u8], key: &str, fingerprint: &[u8]) -> AppResult<Begin> {
    let mut conn = db.lock();
    let tx = conn.transaction()?;
    forget_expired(&tx)?;
    let begun = claim(&tx, scope, key, fingerprint)?;
    tx.commit()?;
    Ok(begun)
}

/// Forgets the answers kept longer than [`KEPT_FOR`]; before claiming keys, so none is replayed
/// past its day.
pub fn forget_expired(conn: &rusqlite::Connection) -> AppResult<()> {
    conn.execute_cached("DELETE FROM idempotency_keys WHERE created_at < ?1", [(Utc::now() - KEPT_FOR).to_rfc3339()])?;
    Ok(())
}

/// Claims `key` for a request with `fingerprint` inside the caller's transaction: a first request
/// runs, a repeat of a decided one gets its answer, anything else is refused. The caller runs
/// [`forget_expired`] first in the same transaction, or an answer older than a day is replayed.
pub fn claim(conn: &rusqlite::Connection, scope: &[u8], key: &str, fingerprint: &[u8]) -> AppResult<Begin> {
    let now = Utc::now();
    let existing = conn
        .query_row_cached(
            "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys
             WHERE scope = ?1 AND key = ?2",
            params![scope, key],
            |r| {
                Ok(Stored {
                    fingerprint: r.get(0)?,
                    status: r.get(1)?,
                    content_type: r.get(2)?,
                    body: r.get(3)?,
                    created_at: r.get(4)?,
                })
            },
        )
        .optional()?;
    match existing {
        Some(stored) if stored.fingerprint != fingerprint => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with another request; use a new key for a new request",
        )),
        Some(Stored { status: Some(status), content_type, body, .. }) => {
            Ok(Begin::Replay { status, content_type, body: body.unwrap_or_default() })
        }
        Some(Stored { status: None, created_at, .. }) => {
            let started = chrono::DateTime::parse_from_rfc3339(&created_at).map(|t| t.with_timezone(&Utc));
            if started.is_ok_and(|t| now - t < ABANDONED_AFTER) {
                return Err(AppError::conflict(
                    ErrorCode::IdempotencyKeyInUse,
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                ));
            }
            conn.execute_cached(
                "UPDATE idempotency_keys SET created_at = ?3 WHERE scope = ?1 AND key = ?2",
                params![scope, key, now.to_rfc3339()],
            )?;
            Ok(Begin::Run)
        }
        None => {
            conn.execute_cached(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![scope, key, fingerprint, now.to_rfc3339()],
            )?;
            Ok(Begin::Run)
        }
    }
}

/// Keeps a decided answer and hands it on; forgets the key after one that decided nothing (5xx,
/// 401 before a sign-in, 429 until a wait) or one that carries a credential.
async fn finish(db: &Db, scope: &[u8], key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    if !decided(parts.status) || parts.extensions.get::<crate::auth::CarriesCredential>().is_some() {
        if let Err(error) = release(&db.lock(), scope, key) {
            tracing::error!(%error, "could not release an idempotency key");
        }
        return Response::from_parts(parts, body);
    }
    let bytes = match to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "an idempotent answer could not be read");
            return AppError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "answer too large")
                .into_response();
        }
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Err(error) = keep(&db.lock(), scope, key, parts.status, content_type, &bytes) {
        tracing::error!(%error, "an idempotent answer could not be stored");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Keeps the decided answer of a claimed key for its repeats.
pub fn keep(
    conn: &rusqlite::Connection,
    scope: &[u8],
    key: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> rusqlite::Result<()> {
    conn.execute_cached(
        "UPDATE idempotency_keys SET status = ?3, content_type = ?4, body = ?5 WHERE scope = ?1 AND key = ?2",
        params![scope, key, status.as_u16(), content_type, body],
    )
    .map(drop)
}

/// Forgets a claimed key whose answer decided nothing, so a repeat runs again.
pub fn release(conn: &rusqlite::Connection, scope: &[u8], key: &str) -> rusqlite::Result<()> {
    conn.execute_cached("DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2", params![scope, key]).map(drop)
}

fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Some(value) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}
