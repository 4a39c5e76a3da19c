//! The customer's side: signing in with a one-time code, the customer's own orders and their logs,
//! and the push devices, including the development SSE stream.

use crate::db::CachedSql as _;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use crate::extract::Json;
use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use caas_protocol::api::{
    ApiError, DeviceView, EventPage, MAX_EVENTS_PER_PAGE, OrderView, RefreshRequest, RegisterDeviceRequest, Session,
    SignInCodeRequest, SignInRequest,
};
use caas_protocol::delivery::DriverSession;
use caas_protocol::push::{PushPlatform, SSE_EVENT};
use caas_protocol::record::{RecordKey, SignedHead};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{Stream, StreamExt};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::AppState;
use super::orders::{self, Viewer};
use crate::auth::{self, CarriesCredential, CustomerAuth, Role};
use crate::error::{AppError, AppResult};
use crate::validate;

const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// Wrong codes an address may send, across every code issued to it, before sign-in locks.
const MAX_WRONG_CODES: i64 = 5;
/// How long sign-in first stays locked; see [`lockout_after`].
const LOCKOUT: TimeDelta = TimeDelta::minutes(15);
/// Codes an address may be sent without signing in, per [`UNUSED_CODES_WINDOW`]: enough for a
/// lost email or two, too few to flood a mailbox.
const MAX_UNUSED_CODES: i64 = 3;
const UNUSED_CODES_WINDOW: TimeDelta = TimeDelta::minutes(10);
const MAX_DEVICES_PER_CUSTOMER: i64 = 10;

#[utoipa::path(post, path = "/v1/auth/sign-in-code", tag = "customer", request_body = SignInCodeRequest,
    responses((status = 202, description = "a code was emailed if the address belongs to a customer or a driver"),
              (status = 422, body = ApiError),
              (status = 429, body = ApiError, description = "too_many_attempts: too many codes asked for, or sign-in locked after wrong codes; see `Retry-After`")))]
/// Emails a one-time sign-in code to a customer or a transport company's driver. The answer is
/// the same whether or not the address is known, throttling included: three codes per address
/// without a sign-in in ten minutes, none while sign-in is locked.
pub async fn request_code(
    State(state): State<AppState>,
    Json(request): Json<SignInCodeRequest>,
) -> AppResult<StatusCode> {
    let email = validate::email(&request.email)?;
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let now = Utc::now();
    let limits = SignInLimits::read(&tx, &email)?;
    limits.check_locked(now)?;
    let unused = limits.unused_in_window(now);
    if unused.count >= MAX_UNUSED_CODES {
        let wait = unused.since.map_or(UNUSED_CODES_WINDOW, |since| since + UNUSED_CODES_WINDOW - now);
        return Err(AppError::too_many("too many sign-in codes asked for; use the last one or wait", wait));
    }
    tx.execute_cached(
        "INSERT INTO sign_in_limits (email, unused_codes, first_unused_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(email) DO UPDATE SET unused_codes = excluded.unused_codes, first_unused_at = excluded.first_unused_at",
        params![email, unused.count + 1, unused.since.unwrap_or(now).to_rfc3339()],
    )?;
    let known: Option<String> =
        tx.query_row_cached("SELECT id FROM customers WHERE email = ?1", [&email], |r| r.get(0)).optional()?;
    // The same work for any address, so the time taken does not tell a known one.
    let code = auth::random_digits(6)?;
    let digest = state.codes.digest(&email, &code);
    let expires_at = now + CODE_LIFETIME;
    let addressee = known.is_some() || crate::catalogue::DRIVERS.iter().any(|d| d.email == email);
    if addressee {
        tx.execute_cached(
            "INSERT INTO sign_in_codes (email, code_digest, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(email) DO UPDATE SET code_digest = excluded.code_digest, expires_at = excluded.expires_at",
            params![email, digest, expires_at.to_rfc3339()],
        )?;
        let mail = json!({ "to": email, "subject": SIGN_IN_SUBJECT, "body": "Your code is ******. It works once, for ten minutes." });
        tx.execute_cached(
            "INSERT INTO outbound_messages (channel, recipient, payload, created_at) VALUES ('email', ?1, ?2, ?3)",
            params![email, mail.to_string(), now.to_rfc3339()],
        )?;
    }
    tx.commit()?;
    if addressee {
        state.db.announce_feed();
        state.inbox.deliver(&email, code, expires_at);
    }
    Ok(StatusCode::ACCEPTED)
}

const SIGN_IN_SUBJECT: &str = "Your sign-in code";

#[utoipa::path(post, path = "/v1/auth/token", tag = "customer", request_body = SignInRequest,
    responses((status = 200, body = Session), (status = 401, body = ApiError), (status = 422, body = ApiError),
              (status = 429, body = ApiError, description = "too_many_attempts: five wrong codes; see `Retry-After`")))]
/// Exchanges a valid code for a customer token. A code is single-use; five wrong codes for an
/// address, whichever codes they were meant for, lock its sign-in (longer after every further one).
pub async fn sign_in(
    State(state): State<AppState>,
    Json(request): Json<SignInRequest>,
) -> AppResult<(CarriesCredential, Json<Session>)> {
    let email = validate::email(&request.email)?;
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let customer_id: Option<String> =
        tx.query_row_cached("SELECT id FROM customers WHERE email = ?1", [&email], |r| r.get(0)).optional()?;
    let outcome = consume_code(&tx, &state, &email, &request.code).and_then(|()| {
        let customer_id = customer_id.ok_or_else(AppError::unauthorized)?;
        let issued = auth::issue_session(&tx, Role::Customer, &customer_id, state.clock.now())?;
        let customer_id = customer_id.parse().map_err(|_| AppError::unauthorized())?;
        Ok(session(customer_id, issued))
    });
    tx.commit()?;
    outcome.map(|session| (CarriesCredential, Json(session)))
}

#[utoipa::path(post, path = "/v1/auth/driver-token", tag = "driver", request_body = SignInRequest,
    responses((status = 200, body = DriverSession), (status = 401, body = ApiError), (status = 422, body = ApiError),
              (status = 429, body = ApiError, description = "too_many_attempts: five wrong codes; see `Retry-After`")))]
/// Exchanges a valid code sent to a driver's email for a driver token.
pub async fn driver_sign_in(
    State(state): State<AppState>,
    Json(request): Json<SignInRequest>,
) -> AppResult<(CarriesCredential, Json<DriverSession>)> {
    let email = validate::email(&request.email)?;
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let outcome = consume_code(&tx, &state, &email, &request.code).and_then(|()| {
        let driver = crate::catalogue::DRIVERS.iter().find(|d| d.email == email).ok_or_else(AppError::unauthorized)?;
        let issued = auth::issue_session(&tx, Role::Driver, driver.id, state.clock.now())?;
        Ok(DriverSession {
            access_token: issued.access_token,
            driver_id: driver.id.to_owned(),
            company_id: driver.company_id.to_owned(),
            expires_in: issued.expires_in,
        })
    });
    tx.commit()?;
    outcome.map(|session| (CarriesCredential, Json(session)))
}

fn session(customer_id: Uuid, issued: auth::Issued) -> Session {
    Session {
        access_token: issued.access_token,
        customer_id,
        refresh_token: issued.refresh_token,
        expires_in: issued.expires_in,
    }
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "customer", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, body = ApiError, description = "unknown, expired or already used: sign in again"),
              (status = 422, body = ApiError)))]
/// Exchanges a customer's refresh token for a new session. Each refresh token works once; one
/// presented again ends the whole session, as a copy may be in someone else's hands.
pub async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> AppResult<(CarriesCredential, Json<Session>)> {
    validate::text("refresh_token", &request.refresh_token, 256)?;
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let outcome = auth::refresh_session(&tx, request.refresh_token.trim())?;
    tx.commit()?;
    match outcome {
        Ok((customer_id, issued)) => Ok((CarriesCredential, Json(session(customer_id, issued)))),
        Err(refused) => {
            if refused == auth::RefreshRefused::Replayed {
                tracing::warn!("a refresh token was presented twice; its session ended");
            }
            Err(AppError::unauthorized())
        }
    }
}

#[utoipa::path(post, path = "/v1/auth/sign-out", tag = "customer",
    responses((status = 204, description = "the session's tokens no longer work"), (status = 401, body = ApiError)),
    security(("bearer" = [])))]
/// Ends the caller's session, whatever its role: the bearer token and, for a customer, its refresh
/// token stop working at once.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> AppResult<StatusCode> {
    let token = auth::bearer(&headers).ok_or_else(AppError::unauthorized)?;
    if auth::sign_out(&state.db.lock(), token)? { Ok(StatusCode::NO_CONTENT) } else { Err(AppError::unauthorized()) }
}

/// An address's sign-in limits as stored.
#[derive(Debug, Default)]
struct SignInLimits {
    wrong: i64,
    locked_until: Option<DateTime<Utc>>,
    unused_codes: i64,
    first_unused_at: Option<DateTime<Utc>>,
}

/// Codes sent and not used within the current window.
struct Unused {
    count: i64,
    since: Option<DateTime<Utc>>,
}

impl SignInLimits {
    fn read(conn: &rusqlite::Connection, email: &str) -> AppResult<Self> {
        let time = |value: Option<String>| {
            value.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc))
        };
        let row = conn
            .query_row_cached(
                "SELECT wrong, locked_until, unused_codes, first_unused_at FROM sign_in_limits WHERE email = ?1",
                [email],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.map_or_else(Self::default, |(wrong, locked, unused_codes, first)| Self {
            wrong,
            locked_until: time(locked),
            unused_codes,
            first_unused_at: time(first),
        }))
    }

    fn check_locked(&self, now: DateTime<Utc>) -> AppResult<()> {
        match self.locked_until {
            Some(until) if until > now => Err(AppError::too_many(
                "too many wrong sign-in codes for this address; wait, then ask for a new code",
                until - now,
            )),
            _ => Ok(()),
        }
    }

    fn unused_in_window(&self, now: DateTime<Utc>) -> Unused {
        match self.first_unused_at {
            Some(since) if now - since < UNUSED_CODES_WINDOW => Unused { count: self.unused_codes, since: Some(since) },
            _ => Unused { count: 0, since: None },
        }
    }
}

/// Checks and spends the code emailed to `email`. A wrong code counts against the address, not
/// the code, so asking for a new code never resets the count; a right one clears it.
fn consume_code(tx: &rusqlite::Transaction<'_>, state: &AppState, email: &str, presented: &str) -> AppResult<()> {
    let now = Utc::now();
    let limits = SignInLimits::read(tx, email)?;
    limits.check_locked(now)?;
    let stored: Option<(Vec<u8>, String)> = tx
        .query_row_cached("SELECT code_digest, expires_at FROM sign_in_codes WHERE email = ?1", [email], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let presented = presented.trim();
    let valid = stored.is_some_and(|(digest, expires_at)| {
        let live = DateTime::parse_from_rfc3339(&expires_at).is_ok_and(|t| t > now);
        live && presented.len() <= 16 && state.codes.matches(&digest, email, presented)
    });
    if !valid {
        let wrong = limits.wrong + 1;
        let locked_until = lockout_after(wrong).map(|lockout| (now + lockout).to_rfc3339());
        tx.execute_cached(
            "INSERT INTO sign_in_limits (email, wrong, locked_until) VALUES (?1, ?2, ?3)
             ON CONFLICT(email) DO UPDATE SET wrong = excluded.wrong, locked_until = excluded.locked_until",
            params![email, wrong, locked_until],
        )?;
        if locked_until.is_some() {
            tx.execute_cached("DELETE FROM sign_in_codes WHERE email = ?1", [email])?;
            state.inbox.discard(email);
        }
        return Err(AppError::unauthorized());
    }
    tx.execute_cached("DELETE FROM sign_in_codes WHERE email = ?1", [email])?;
    tx.execute_cached("DELETE FROM sign_in_limits WHERE email = ?1", [email])?;
    state.inbox.discard(email);
    Ok(())
}

/// How long sign-in locks after the `wrong`-th wrong code since the last sign-in: from the fifth
/// on, every wrong code locks again for twice as long (15 minutes, 30, an hour, ... at most 16
/// hours), so a guesser gets a handful of tries a day, never a fresh five every quarter hour.
fn lockout_after(wrong: i64) -> Option<TimeDelta> {
    let beyond = u32::try_from(wrong - MAX_WRONG_CODES).ok()?;
    Some(LOCKOUT * 2i32.pow(beyond.min(6)))
}

#[utoipa::path(get, path = "/v1/orders", tag = "customer",
    responses((status = 200, body = [OrderView])), security(("bearer" = [])))]
/// The signed-in customer's orders, newest first.
pub async fn list_orders(State(state): State<AppState>, auth: CustomerAuth) -> AppResult<Json<Vec<OrderView>>> {
    Ok(Json(orders::list(&state.db.lock(), Viewer::Customer(auth.customer_id))?))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "customer",
    responses((status = 200, body = OrderView), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// One of the customer's orders; any other order is not found.
pub async fn get_order(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Return events with a version strictly greater than this.
    #[serde(default)]
    after: u64,
    /// At most this many events (1 to 500).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/orders/{id}/events", tag = "customer", params(EventsQuery),
    responses((status = 200, body = EventPage), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// The order's log after a version, oldest first: what a phone syncs after a push.
pub async fn order_events(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Query(query): Query<EventsQuery>,
) -> AppResult<Json<ServedPage>> {
    let limit = query.limit.unwrap_or(MAX_EVENTS_PER_PAGE).clamp(1, MAX_EVENTS_PER_PAGE);
    let conn = state.db.lock();
    let view = orders::view(&conn, id, Viewer::Customer(auth.customer_id))?;
    let after = i64::try_from(query.after).map_err(|_| AppError::invalid("`after` is beyond any version"))?;
    let events = orders::stored_events_after(&conn, id, after, limit)?;
    let chain = orders::chain(&conn, id)?;
    let head = state.record.sign(id, chain.version(), chain.head());
    Ok(Json(ServedPage { events, latest_version: view.version, head }))
}

/// An [`EventPage`] with each event exactly as it was stored and hashed: read back through this
/// version's types, an event written by an older one could gain a defaulted field and no longer
/// match its hash.
#[derive(Debug, Serialize)]
pub struct ServedPage {
    events: Vec<serde_json::Value>,
    latest_version: u64,
    head: SignedHead,
}

#[utoipa::path(get, path = "/v1/record/key", tag = "customer", responses((status = 200, body = RecordKey)))]
/// The public key the platform signs every order's record with: what a phone pins, and what
/// anyone checks an exported record against.
pub async fn record_key(State(state): State<AppState>) -> Json<RecordKey> {
    Json(state.record.public_key())
}

#[utoipa::path(post, path = "/v1/devices", tag = "customer", request_body = RegisterDeviceRequest,
    responses((status = 201, body = DeviceView, description = "registered"),
              (status = 200, body = DeviceView, description = "this token was registered before: the same device"),
              (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Registers a device for pushes. Registering the same token again returns the same device.
pub async fn register_device(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Json(request): Json<RegisterDeviceRequest>,
) -> AppResult<(StatusCode, Json<DeviceView>)> {
    validate::text("token", &request.token, 4096)?;
    let conn = state.db.lock();
    let customer = auth.customer_id.to_string();
    let existing: Option<String> = conn
        .query_row_cached(
            "SELECT id FROM devices WHERE customer_id = ?1 AND platform = ?2 AND token = ?3",
            params![customer, request.platform.wire_name(), request.token],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing.and_then(|id| id.parse().ok()) {
        return Ok((StatusCode::OK, Json(DeviceView { id, platform: request.platform })));
    }
    let count: i64 =
        conn.query_row_cached("SELECT COUNT(*) FROM devices WHERE customer_id = ?1", [&customer], |r| r.get(0))?;
    if count >= MAX_DEVICES_PER_CUSTOMER {
        return Err(AppError::invalid("at most 10 devices per customer; remove one first"));
    }
    let id = Uuid::now_v7();
    conn.execute_cached(
        "INSERT INTO devices (id, customer_id, platform, token, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id.to_string(), customer, request.platform.wire_name(), request.token, Utc::now().to_rfc3339()],
    )?;
    Ok((StatusCode::CREATED, Json(DeviceView { id, platform: request.platform })))
}

#[utoipa::path(delete, path = "/v1/devices/{id}", tag = "customer",
    responses((status = 204), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// Stops pushes to a device (sign-out, uninstall).
pub async fn remove_device(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    let removed = state.db.lock().execute_cached(
        "DELETE FROM devices WHERE id = ?1 AND customer_id = ?2",
        params![id.to_string(), auth.customer_id.to_string()],
    )?;
    if removed == 0 { Err(AppError::not_found("device")) } else { Ok(StatusCode::NO_CONTENT) }
}

/// How long an open push stream trusts the session it was opened with before checking it again.
const SESSION_RECHECK: Duration = Duration::from_secs(5);

#[utoipa::path(get, path = "/v1/devices/{id}/stream", tag = "customer",
    responses((status = 200, description = "text/event-stream of `order_event` push hints"), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
/// The development stand-in for FCM and APNs: a live stream of the device's push hints.
pub async fn device_stream(
    State(state): State<AppState>,
    auth: CustomerAuth,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let platform: Option<String> = state
        .db
        .lock()
        .query_row_cached(
            "SELECT platform FROM devices WHERE id = ?1 AND customer_id = ?2",
            params![id.to_string(), auth.customer_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if platform.as_deref() != Some(PushPlatform::Sse.wire_name()) {
        return Err(AppError::not_found("SSE device"));
    }
    // A stream that fell so far behind that pushes were dropped ends there: the phone reconnects
    // and syncs, rather than missing them until its next sync. So does a stream whose session
    // ended (a sign-out, a revoked phone), checked before a push once the last check is old:
    // pushes carry the customer's orders.
    let token = auth::bearer(&headers).unwrap_or_default().to_owned();
    let db = state.db.clone();
    let mut checked = Instant::now();
    let hints = BroadcastStream::new(state.hub.subscribe(id))
        .take_while(move |item| {
            let live = item.is_ok()
                && (checked.elapsed() < SESSION_RECHECK || {
                    checked = Instant::now();
                    auth::is_live(&db.lock(), &token).unwrap_or(false)
                });
            std::future::ready(live)
        })
        .filter_map(|item| {
            std::future::ready(
                item.ok()
                    .map(|live| Ok(Event::default().id(live.event_id.to_string()).event(SSE_EVENT).data(&*live.data))),
            )
        });
    let mut stopping = state.stopping.clone();
    let hints = hints.take_until(async move {
        let _sender_gone_means_stop = stopping.wait_for(|stop| *stop).await;
    });
    Ok(Sse::new(hints).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_code_past_the_fifth_locks_twice_as_long() {
        assert_eq!(lockout_after(4), None);
        assert_eq!(lockout_after(5), Some(LOCKOUT));
        assert_eq!(lockout_after(6), Some(LOCKOUT * 2));
        assert_eq!(lockout_after(7), Some(LOCKOUT * 4));
        assert_eq!(lockout_after(50), Some(TimeDelta::hours(16)), "at most sixteen hours");
    }
}
