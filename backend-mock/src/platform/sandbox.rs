//! The sandbox: the developer's test-mode controls, like a payment provider's test mode. Every
//! scenario a test needs is a call here, never a sleep.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::OrderState;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderEvent, OrderView};
use caas_protocol::delivery::BatchedResult;
use caas_protocol::payment::Payment;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::deadlines;
use super::factory_client::PlacementError;
use super::gateway_client::GatewayError;
use super::orders::{self, Viewer};
use crate::auth::{self, Role, SandboxAuth};
use crate::catalogue::DEALERSHIPS;
use crate::error::{AppError, AppResult};
use crate::factory::FactoryFaults;
use crate::gateway::{LedgerEntry, PaymentFaults};
use crate::validate::{self, FaultCount};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffToken {
    pub access_token: String,
}

#[utoipa::path(post, path = "/v1/sandbox/dealerships/{id}/staff-tokens", tag = "sandbox",
    responses((status = 201, body = StaffToken), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// Issues a staff token for a dealership.
pub async fn staff_token(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<String>,
) -> AppResult<(StatusCode, auth::CarriesCredential, Json<StaffToken>)> {
    if !DEALERSHIPS.iter().any(|d| d.id == id) {
        return Err(AppError::not_found("dealership"));
    }
    let access_token = auth::issue_session(&state.db.lock(), Role::Dealership, &id, state.clock.now())?.access_token;
    Ok((StatusCode::CREATED, auth::CarriesCredential, Json(StaffToken { access_token })))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInCode {
    pub code: String,
}

#[utoipa::path(get, path = "/v1/sandbox/sign-in-codes/{email}", tag = "sandbox",
    responses((status = 200, body = SignInCode), (status = 404, body = ApiError),
              (status = 422, body = ApiError, description = "not an email address")),
    security(("bearer" = [])))]
/// Reveals the pending sign-in code of an address from its inbox, as its owner would read it.
pub async fn sign_in_code(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(email): Path<String>,
) -> AppResult<Json<SignInCode>> {
    let email = validate::email(&email)?;
    let pending: Option<String> = state
        .db
        .lock()
        .query_row_cached("SELECT email FROM sign_in_codes WHERE email = ?1", [&email], |r| r.get(0))
        .optional()?;
    let code = pending.and_then(|_| state.inbox.read(&email));
    code.map(|code| Json(SignInCode { code })).ok_or_else(|| AppError::not_found("sign-in code"))
}

/// How many sessions of an address are live.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveSessions {
    pub live: u32,
}

#[utoipa::path(get, path = "/v1/sandbox/sessions/{email}", tag = "sandbox",
    params(("email" = String, Path, description = "a customer's or a driver's email address")),
    responses((status = 200, body = LiveSessions), (status = 401, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// The live sessions of a customer or a driver (a sign-in and its renewals are one session, live
/// while its refresh token can renew it), so a test can see that signing out ended one.
pub async fn live_sessions(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(email): Path<String>,
) -> AppResult<Json<LiveSessions>> {
    let email = validate::email(&email)?;
    let conn = state.db.lock();
    let customer: Option<String> =
        conn.query_row_cached("SELECT id FROM customers WHERE email = ?1", [&email], |r| r.get(0)).optional()?;
    let driver = crate::catalogue::DRIVERS.iter().find(|d| d.email == email).map(|d| d.id.to_owned());
    let mut live = 0;
    for subject in customer.into_iter().chain(driver) {
        live += auth::live_sessions(&conn, &subject)?;
    }
    Ok(Json(LiveSessions { live }))
}

#[utoipa::path(get, path = "/v1/sandbox/orders", tag = "sandbox",
    responses((status = 200, body = [OrderView])), security(("bearer" = [])))]
/// Every order of the platform.
pub async fn list_orders(State(state): State<AppState>, _: SandboxAuth) -> AppResult<Json<Vec<OrderView>>> {
    Ok(Json(orders::list(&state.db.lock(), Viewer::Sandbox)?))
}

#[utoipa::path(get, path = "/v1/sandbox/orders/{id}/events", tag = "sandbox",
    responses((status = 200, body = [OrderEvent])), security(("bearer" = [])))]
/// An order's whole log.
pub async fn order_events(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<OrderEvent>>> {
    let conn = state.db.lock();
    orders::view(&conn, id, Viewer::Sandbox)?;
    Ok(Json(orders::events_after(&conn, id, 0, u32::MAX)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AdvanceRequest {
    /// The factory stage to reach, stage by stage; the next stage when absent.
    #[serde(default)]
    pub to: Option<OrderState>,
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/factory/advance", tag = "sandbox", request_body = AdvanceRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Makes the factory move the order on and deliver its webhooks before answering.
pub async fn advance_factory(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<AdvanceRequest>,
) -> AppResult<Json<OrderView>> {
    advance_factory_order(&state, id, request.to).await.map(Json)
}

/// Makes the factory simulator move the order on to `to` (its next stage when `None`), stage by
/// stage, and deliver its signed webhooks before returning: the body of
/// `POST /v1/sandbox/orders/{id}/factory/advance`, and the sandbox's steps through production.
pub async fn advance_factory_order(state: &AppState, id: Uuid, to: Option<OrderState>) -> AppResult<OrderView> {
    if to.is_some_and(|to| !to.is_factory_stage()) {
        return Err(AppError::invalid("`to` must be one of the factory's stages"));
    }
    let factory_order = factory_order_of(state, id)?;
    state.factory.advance(&factory_order, to).await.map_err(factory_error)?;
    orders::view(&state.db.lock(), id, Viewer::Sandbox)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DelayRequest {
    /// Days added to the estimate (negative brings it forward).
    pub days: i64,
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/factory/delay", tag = "sandbox", request_body = DelayRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ApiError)), security(("bearer" = [])))]
/// Makes the factory revise its estimate, with a reason.
pub async fn delay_factory(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<DelayRequest>,
) -> AppResult<Json<OrderView>> {
    validate::text("reason", &request.reason, 200)?;
    if request.days == 0 || request.days.abs() > 365 {
        return Err(AppError::invalid("`days` must be between -365 and 365 and not 0"));
    }
    let factory_order = factory_order_of(&state, id)?;
    state.factory.delay(&factory_order, request.days, &request.reason).await.map_err(factory_error)?;
    Ok(Json(orders::view(&state.db.lock(), id, Viewer::Sandbox)?))
}

fn factory_order_of(state: &AppState, id: Uuid) -> AppResult<String> {
    orders::view(&state.db.lock(), id, Viewer::Sandbox)?.factory_order_id.ok_or_else(|| {
        AppError::conflict(ErrorCode::IllegalTransition, "the order has not been placed with the factory")
    })
}

fn factory_error(error: PlacementError) -> AppError {
    match error {
        PlacementError::Rejected(r) => AppError::conflict(ErrorCode::IllegalTransition, r.reason),
        PlacementError::Unavailable(reason) => {
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::FactoryUnavailable, reason)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    order_id: Option<Uuid>,
    /// `fcm`, `apns`, `sse`, `email` or `sms`.
    channel: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboundMessage {
    pub seq: i64,
    pub channel: String,
    pub recipient: String,
    pub order_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    /// The payload as sent: JSON for FCM, APNs, email and SMS; the SSE frame text for SSE.
    pub payload: Value,
    pub created_at: String,
}

#[utoipa::path(get, path = "/v1/sandbox/messages", tag = "sandbox", params(MessagesQuery),
    responses((status = 200, body = [OutboundMessage])), security(("bearer" = [])))]
/// The push, email and SMS log, oldest first.
pub async fn messages(
    State(state): State<AppState>,
    _: SandboxAuth,
    Query(query): Query<MessagesQuery>,
) -> AppResult<Json<Vec<OutboundMessage>>> {
    let conn = state.db.lock();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OUTBOUND_COLUMNS} FROM outbound_messages
         WHERE (?1 IS NULL OR order_id = ?1) AND (?2 IS NULL OR channel = ?2) ORDER BY seq"
    ))?;
    let rows =
        stmt.query_map(params![query.order_id.map(|id| id.to_string()), query.channel], |r| outbound_message(r, 0))?;
    Ok(Json(rows.collect::<rusqlite::Result<_>>()?))
}

/// The columns [`outbound_message`] reads, in its order.
pub(crate) const OUTBOUND_COLUMNS: &str = "seq, channel, recipient, order_id, event_id, payload, created_at";

/// An outbound message from a row whose columns from `first` on are [`OUTBOUND_COLUMNS`] (the log
/// here and the sandbox feed read it alike).
pub(crate) fn outbound_message(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<OutboundMessage> {
    let payload: String = r.get(first + 5)?;
    Ok(OutboundMessage {
        seq: r.get(first)?,
        channel: r.get(first + 1)?,
        recipient: r.get(first + 2)?,
        order_id: r.get::<_, Option<String>>(first + 3)?.and_then(|s| s.parse().ok()),
        event_id: r.get::<_, Option<String>>(first + 4)?.and_then(|s| s.parse().ok()),
        payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
        created_at: r.get(first + 6)?,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClockAdvance {
    /// Seconds to move the platform's clock forward (at most a year).
    pub seconds: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockNow {
    pub now: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(post, path = "/v1/sandbox/clock/advance", tag = "sandbox", request_body = ClockAdvance,
    responses((status = 200, body = ClockNow)), security(("bearer" = [])))]
/// Moves the platform's clock forward and applies what became due (reminders, lost reservations)
/// before answering.
pub async fn advance_clock(
    State(state): State<AppState>,
    _: SandboxAuth,
    Json(request): Json<ClockAdvance>,
) -> AppResult<Json<ClockNow>> {
    Ok(Json(ClockNow { now: advance_clock_by(&state, request.seconds)? }))
}

/// The furthest the sandbox moves the platform's clock at once, in seconds: a year.
pub(crate) const MAX_CLOCK_ADVANCE_SECONDS: i64 = 366 * 86_400;

/// Moves the platform's clock forward by `seconds` (1 to a year) and applies what became due; the
/// API, the dashboard and the sandbox's deadline step all move it here.
pub(crate) fn advance_clock_by(state: &AppState, seconds: i64) -> AppResult<chrono::DateTime<chrono::Utc>> {
    if !(1..=MAX_CLOCK_ADVANCE_SECONDS).contains(&seconds) {
        return Err(AppError::invalid("`seconds` must be between 1 and a year"));
    }
    deadlines::advance_clock(state, seconds)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ThreeDSecureOutcome {
    /// Whether the cardholder passes the bank's check.
    pub pass: bool,
}

#[utoipa::path(post, path = "/v1/sandbox/payments/{payment}/three-d-secure", tag = "sandbox",
    request_body = ThreeDSecureOutcome, responses((status = 200, body = Payment), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// Completes a payment's 3-D Secure check at the gateway, as the customer would in the bank's page.
pub async fn complete_three_d_secure(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(payment): Path<String>,
    Json(request): Json<ThreeDSecureOutcome>,
) -> AppResult<Json<Payment>> {
    validate::payment_id(&payment)?;
    state.gateway.complete_challenge(&payment, request.pass).await.map(Json).map_err(gateway_error)
}

#[utoipa::path(post, path = "/v1/sandbox/payments/faults", tag = "sandbox", request_body = PaymentFaults,
    responses((status = 204), (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Sets the gateway's fault switches: charges that lose their answer, or the gateway down.
pub async fn payment_faults(
    State(state): State<AppState>,
    _: SandboxAuth,
    Json(request): Json<PaymentFaults>,
) -> AppResult<StatusCode> {
    set_payment_faults(&state, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the gateway's fault switches given (API and dashboard).
pub(crate) async fn set_payment_faults(state: &AppState, faults: &PaymentFaults) -> AppResult<()> {
    state.gateway.set_faults(faults).await.map_err(gateway_error)
}

#[utoipa::path(get, path = "/v1/sandbox/payments/faults", tag = "sandbox",
    responses((status = 200, body = PaymentFaults, description = "both switches, as the gateway has them now"),
              (status = 503, body = ApiError, description = "payment_gateway_unavailable: the gateway simulator did not answer")),
    security(("bearer" = [])))]
/// The gateway's fault switches as they are now, so an outage left on does not go unseen.
pub async fn payment_faults_now(State(state): State<AppState>, _: SandboxAuth) -> AppResult<Json<PaymentFaults>> {
    current_payment_faults(&state).await.map(Json)
}

/// The gateway's fault switches as the gateway has them now (API and dashboard).
pub(crate) async fn current_payment_faults(state: &AppState) -> AppResult<PaymentFaults> {
    state.gateway.faults().await.map_err(gateway_error)
}

#[utoipa::path(post, path = "/v1/sandbox/factory/faults", tag = "sandbox", request_body = FactoryFaults,
    responses((status = 204), (status = 503, body = ApiError, description = "factory_unavailable: the factory simulator did not answer")),
    security(("bearer" = [])))]
/// Takes the factory down or brings it back, so a factory order that failed and its retry can be
/// played; production of the orders it holds goes on.
pub async fn factory_faults(
    State(state): State<AppState>,
    _: SandboxAuth,
    Json(request): Json<FactoryFaults>,
) -> AppResult<StatusCode> {
    set_factory_faults(&state, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the factory down or brings it back (API and dashboard).
pub(crate) async fn set_factory_faults(state: &AppState, faults: &FactoryFaults) -> AppResult<()> {
    state.factory.set_faults(faults).await.map_err(factory_error)
}

#[utoipa::path(get, path = "/v1/sandbox/factory/faults", tag = "sandbox",
    responses((status = 200, body = FactoryFaults, description = "the switch, as the factory has it now"),
              (status = 503, body = ApiError, description = "factory_unavailable: the factory simulator did not answer")),
    security(("bearer" = [])))]
/// Whether the factory is down now, so an outage left on does not go unseen.
pub async fn factory_faults_now(State(state): State<AppState>, _: SandboxAuth) -> AppResult<Json<FactoryFaults>> {
    current_factory_faults(&state).await.map(Json)
}

/// The factory's fault switch as the factory has it now (API and dashboard).
pub(crate) async fn current_factory_faults(state: &AppState) -> AppResult<FactoryFaults> {
    state.factory.faults().await.map_err(factory_error)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    order_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/sandbox/payments/ledger", tag = "sandbox", params(LedgerQuery),
    responses((status = 200, body = [LedgerEntry], description = "the gateway's charges, oldest first")),
    security(("bearer" = [])))]
/// The money the gateway actually took.
pub async fn payment_ledger(
    State(state): State<AppState>,
    _: SandboxAuth,
    Query(query): Query<LedgerQuery>,
) -> AppResult<Json<Vec<LedgerEntry>>> {
    ledger(&state, query.order_id, None).await.map(Json)
}

/// The gateway's charges, oldest first, of one order or all, the newest `limit` of them when given
/// (API and dashboard).
pub(crate) async fn ledger(state: &AppState, order: Option<Uuid>, limit: Option<u32>) -> AppResult<Vec<LedgerEntry>> {
    state.gateway.ledger(order, limit).await.map_err(gateway_error)
}

/// A played event is as small as the platform's own, so a page of them still fits what a phone
/// reads.
const MAX_PLAYED_EVENT_BYTES: usize = 8 * 1024;
const MAX_PLAYED_EVENT_DEPTH: usize = 16;

/// How deep a JSON value nests.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/events", tag = "sandbox",
    request_body(content = Object, description = "`type` (1 to 64 lowercase letters, digits or `_`, not a type this platform knows) and any other fields but the platform's own (`event_id`, `order_id`, `version`, `occurred_at`, `prev`); at most 8 KiB and 16 levels deep"),
    responses((status = 200, body = OrderEvent, description = "appended; the customer's devices get the push"),
              (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Appends an event of a kind this platform does not know to an order, as a newer platform would
/// (pushes included), so a developer can watch today's phones keep working. It changes nothing
/// else on the order.
pub async fn append_event(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(body): Json<serde_json::Map<String, Value>>,
) -> AppResult<Json<OrderEvent>> {
    append_newer_event(&state, id, body).map(Json)
}

/// Appends an event of a kind this platform does not know, `type` and its fields in `body`, as a
/// newer platform would (API and dashboard).
pub(crate) fn append_newer_event(
    state: &AppState,
    id: Uuid,
    body: serde_json::Map<String, Value>,
) -> AppResult<OrderEvent> {
    let type_name = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if !caas_protocol::push::is_type_name(type_name) {
        return Err(AppError::invalid("`type` must be 1 to 64 lowercase letters, digits or `_`"));
    }
    if EventKind::TYPE_NAMES.contains(&type_name) {
        return Err(AppError::invalid(
            "this platform knows that type: use its own flow, so the order stays consistent",
        ));
    }
    if let Some(reserved) =
        ["event_id", "order_id", "version", "occurred_at", "prev"].into_iter().find(|k| body.contains_key(*k))
    {
        return Err(AppError::invalid(format!("`{reserved}` is the platform's to set")));
    }
    if serde_json::to_vec(&body)?.len() > MAX_PLAYED_EVENT_BYTES
        || 1 + body.values().map(depth).max().unwrap_or(0) > MAX_PLAYED_EVENT_DEPTH
    {
        return Err(AppError::invalid(
            "the event is larger or deeper than any event of the platform (8 KiB, 16 levels)",
        ));
    }
    let kind: EventKind = serde_json::from_value(Value::Object(body))?;
    state.change(|tx| {
        orders::view(tx, id, Viewer::Sandbox)?;
        let event = orders::append(tx, id, kind)?;
        Ok((event.clone(), vec![event]))
    })
}

/// Which event a rewrite changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RewriteRequest {
    /// The version of the event to date a day earlier.
    pub version: u64,
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/history/rewrite", tag = "sandbox", request_body = RewriteRequest,
    responses((status = 200, body = OrderEvent, description = "the event as the platform now tells it"),
              (status = 404, body = ApiError, description = "no such order or event")),
    security(("bearer" = [])))]
/// Plays a platform that rewrites its own history: the event at `version` is dated a day earlier
/// and every event from it on is chained and signed again, so the record is consistent in itself.
/// A phone that held the old history refuses the new one at its next sync; no push is sent.
pub async fn rewrite_history(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<RewriteRequest>,
) -> AppResult<Json<OrderEvent>> {
    rewrite(&state, id, &request).map(Json)
}

/// Dates an order's event a day earlier and chains and signs its record again from there (API
/// and dashboard); the event as the platform now tells it.
pub(crate) fn rewrite(state: &AppState, id: Uuid, request: &RewriteRequest) -> AppResult<OrderEvent> {
    let mut conn = state.db.lock();
    orders::view(&conn, id, Viewer::Sandbox)?;
    let chain = orders::chain(&conn, id)?;
    if request.version == 0 || request.version > chain.version() {
        return Err(AppError::not_found("event"));
    }
    let tx = conn.transaction()?;
    crate::db::relink(&tx, id, request.version, |version, event| {
        let earlier = event["occurred_at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| (at - chrono::TimeDelta::days(1)).to_utc());
        if let (true, Some(earlier), Some(fields)) = (version == request.version, earlier, event.as_object_mut()) {
            fields.insert("occurred_at".into(), serde_json::json!(earlier));
        }
    })
    .map_err(|e| AppError::internal(e.to_string()))?;
    let version = i64::try_from(request.version).map_err(|_| AppError::not_found("event"))?;
    let event = orders::events_after(&tx, id, version - 1, 1)?.pop().ok_or_else(|| AppError::not_found("event"))?;
    tx.commit()?;
    tracing::warn!(order = %id, version = request.version, "history rewritten by the sandbox");
    Ok(event)
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/duplicate-charge", tag = "sandbox",
    responses((status = 200, body = Payment, description = "charged; the platform refunds it when the gateway reports it"),
              (status = 409, body = ApiError, description = "no final payment was asked of the order"),
              (status = 503, body = ApiError, description = "payment_gateway_unavailable")),
    security(("bearer" = [])))]
/// Charges an order's final amount through the gateway outside the customer's own payment, as
/// another channel might (before or after the customer paid), to watch the platform give it back.
pub async fn duplicate_charge(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Payment>> {
    charge_again(&state, id).await.map(Json)
}

/// Charges an order's final amount a second time through the gateway (API and dashboard).
pub(crate) async fn charge_again(state: &AppState, id: Uuid) -> AppResult<Payment> {
    let view = orders::view(&state.db.lock(), id, Viewer::Sandbox)?;
    let amount = view
        .final_payment
        .map(|due| due.amount_due)
        .ok_or_else(|| AppError::conflict(ErrorCode::NotPayable, "no final payment was asked of the order"))?;
    let publishable = &state.config.payments.public.publishable_key;
    state.gateway.charge_again(publishable, id, amount).await.map_err(gateway_error)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HandoverCodeRequest {
    /// Issue the code this many minutes ago, to test expiry (0 to 1440).
    #[serde(default)]
    pub issued_minutes_ago: i64,
    /// The phone that holds the code, as the customer's phone names itself.
    #[serde(default)]
    pub holder_key: Option<String>,
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/handover-code", tag = "sandbox", request_body = HandoverCodeRequest,
    responses((status = 200, body = caas_protocol::delivery::HandoverCodeView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
/// Issues a genuine handover code for the order's current delivery attempt, dated in the past when
/// asked, so tests can show a driver an expired code.
pub async fn handover_code(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<HandoverCodeRequest>,
) -> AppResult<(auth::CarriesCredential, Json<caas_protocol::delivery::HandoverCodeView>)> {
    if !(0..=1440).contains(&request.issued_minutes_ago) {
        return Err(AppError::invalid("`issued_minutes_ago` must be between 0 and 1440"));
    }
    let holder = request.holder_key.as_deref().map(super::delivery::holder_key).transpose()?;
    let conn = state.db.lock();
    let delivery = super::delivery::of_order(&conn, id)?.ok_or_else(|| AppError::not_found("delivery"))?;
    let issued_at = chrono::Utc::now() - chrono::TimeDelta::minutes(request.issued_minutes_ago);
    let lifetime = caas_protocol::handover::CODE_LIFETIME;
    let code = state.handover.issue_at(&conn, id, delivery.attempt, issued_at, lifetime, holder.as_ref())?;
    Ok((auth::CarriesCredential, Json(code)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DriverFaults {
    /// The next this many driver actions are applied, then their answer is lost.
    #[serde(default)]
    pub drop_answers: Option<FaultCount>,
    /// The next driver action is answered with this status (and error code) instead, without being
    /// applied: a newer platform's refusal, an outage or a proxy's page, played.
    #[serde(default)]
    pub answer_next: Option<ScriptedAnswer>,
}

/// A status and an error code to answer with, known to this platform or not.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScriptedAnswer {
    /// 400 to 599.
    pub status: u16,
    /// 1 to 64 lowercase letters, digits and underscores. Without one, the answer carries a
    /// plain-text page instead of the API's error, as a proxy in the way would.
    #[serde(default)]
    pub code: Option<String>,
    /// Seconds for the `Retry-After` header, at most 86400.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

/// A scripted answer, checked.
#[derive(Debug, Clone)]
struct Scripted {
    status: StatusCode,
    code: Option<String>,
    retry_after: Option<u32>,
}

/// What the sandbox made of the next driver actions.
#[derive(Debug, Default)]
pub struct DriverFaultSwitch {
    drop_answers: std::sync::atomic::AtomicU32,
    answer_next: std::sync::Mutex<Option<Scripted>>,
}

#[utoipa::path(post, path = "/v1/sandbox/drivers/faults", tag = "sandbox", request_body = DriverFaults,
    responses((status = 204), (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Makes driver actions lose their answers after being applied, like a phone losing signal, or
/// answers the next one with a given status and code without applying it.
pub async fn driver_faults(
    State(state): State<AppState>,
    _: SandboxAuth,
    Json(request): Json<DriverFaults>,
) -> AppResult<StatusCode> {
    set_driver_faults(&state, request)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Arms the driver actions' faults (API and dashboard).
pub(crate) fn set_driver_faults(state: &AppState, request: DriverFaults) -> AppResult<()> {
    use std::sync::atomic::Ordering;
    let scripted = request
        .answer_next
        .map(|answer| {
            let status = StatusCode::from_u16(answer.status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| AppError::invalid("`answer_next.status` must be between 400 and 599"))?;
            if answer.code.as_deref().is_some_and(|code| !caas_protocol::push::is_type_name(code)) {
                return Err(AppError::invalid("`answer_next.code` must be 1 to 64 lowercase letters, digits or `_`"));
            }
            if answer.retry_after.is_some_and(|seconds| seconds > 86_400) {
                return Err(AppError::invalid("`answer_next.retry_after` is at most 86400 seconds"));
            }
            Ok(Scripted { status, code: answer.code, retry_after: answer.retry_after })
        })
        .transpose()?;
    if let Some(count) = request.drop_answers {
        state.driver_faults.drop_answers.store(count.get(), Ordering::SeqCst);
    }
    if scripted.is_some() {
        *state.driver_faults.answer_next.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = scripted;
    }
    Ok(())
}

impl DriverFaultSwitch {
    /// The answer scripted for the next driver action, taken: it answers that action only.
    fn take_scripted(&self) -> Option<Scripted> {
        self.answer_next.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }

    /// Whether the answer of an action just applied is to be lost; counts one loss down.
    fn loses_answer(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.drop_answers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// For an action in a batch, what a request of its own would have met before reaching the
    /// platform: the scripted answer, if one is armed.
    pub(crate) fn scripted_answer(&self) -> Option<BatchedResult> {
        let scripted = self.take_scripted()?;
        tracing::info!(status = %scripted.status, code = ?scripted.code, "sandbox fault: answering a batched driver action without applying it");
        Some(BatchedResult::Answered {
            status: scripted.status.as_u16(),
            retry_after: scripted.retry_after.map(u64::from),
            body: scripted.error(),
            replayed: false,
        })
    }

    /// For an action in a batch that was applied: the lost answer it gets instead, if one is armed.
    pub(crate) fn lost_answer(&self) -> Option<AppError> {
        self.loses_answer().then(|| {
            tracing::info!("sandbox fault: dropping a batched driver action's answer");
            lost()
        })
    }
}

impl Scripted {
    /// The API's error it answers with; without a code, a proxy's page instead.
    fn error(&self) -> Option<Value> {
        let code = self.code.as_ref()?;
        Some(serde_json::json!({ "code": code, "message": "the platform refused this action (sandbox)" }))
    }
}

/// What a phone gets for an answer lost on the way.
fn lost() -> AppError {
    AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Internal, "the answer was lost")
}

/// Applies the sandbox's driver faults around driver actions.
pub async fn drop_driver_answers(
    State(faults): State<std::sync::Arc<DriverFaultSwitch>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let is_action = request.method() == http::Method::POST
        && request.uri().path().starts_with("/v1/driver/deliveries/")
        && request.uri().path().ends_with("/actions");
    if !is_action {
        return next.run(request).await;
    }
    if let Some(scripted) = faults.take_scripted() {
        tracing::info!(status = %scripted.status, code = ?scripted.code, "sandbox fault: answering a driver action without applying it");
        let mut response = match scripted.error() {
            Some(body) => (scripted.status, axum::Json(body)).into_response(),
            None => (scripted.status, "<html><body>Service gateway: request blocked (sandbox)</body></html>")
                .into_response(),
        };
        if let Some(seconds) = scripted.retry_after {
            response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        return response;
    }
    let response = next.run(request).await;
    if response.status().is_success() && faults.loses_answer() {
        tracing::info!("sandbox fault: dropping a driver action's answer");
        return lost().into_response();
    }
    response
}

/// The API error for a gateway call that did not succeed.
pub(crate) fn gateway_error(error: GatewayError) -> AppError {
    match error {
        GatewayError::Refused(refusal) => AppError::conflict(refusal.code, refusal.message),
        GatewayError::Unavailable(reason) => {
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::PaymentGatewayUnavailable, reason)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegistryFaults {
    /// The next this many submissions to the country's registry fail transiently.
    pub transient_failures: FaultCount,
}

#[utoipa::path(post, path = "/v1/sandbox/registries/{country}/faults", tag = "sandbox", request_body = RegistryFaults,
    responses((status = 204), (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Makes a country's registry fail transiently.
pub async fn registry_faults(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(country): Path<String>,
    Json(request): Json<RegistryFaults>,
) -> AppResult<StatusCode> {
    set_registry_faults(&state, &country, &request)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a country's registry fail the next submissions transiently (API and dashboard).
pub(crate) fn set_registry_faults(state: &AppState, country: &str, faults: &RegistryFaults) -> AppResult<()> {
    validate::country(country)?;
    state.registries.fail_next(country, faults.transient_failures.get());
    Ok(())
}

/// The VIN of a car the platform has: one the factory gave an order (sold or back in stock). The
/// fleet keeps a memory for any VIN that parses, so a mistyped one is refused here rather than
/// faulted, driven or described as a car nobody built.
fn car(state: &AppState, text: &str) -> AppResult<caas_protocol::pairing::Vin> {
    let vin = caas_protocol::pairing::Vin::parse(text).map_err(|_| AppError::invalid("not a VIN"))?;
    let built = state
        .db
        .lock()
        .query_row_cached("SELECT 1 FROM orders WHERE vin = ?1 LIMIT 1", [vin.as_str()], |_| Ok(()))
        .optional()?;
    built.map(|()| vin).ok_or_else(|| AppError::not_found("car"))
}

#[utoipa::path(get, path = "/v1/sandbox/vehicles/{vin}", tag = "sandbox",
    responses((status = 200, body = crate::vehicle::VehicleInspection), (status = 404, body = ApiError),
        (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// What a simulated car remembers: whether it advertises, the phones it linked, the commands it
/// ran (answers from memory excluded).
pub async fn inspect_vehicle(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(vin_text): Path<String>,
) -> AppResult<Json<crate::vehicle::VehicleInspection>> {
    Ok(Json(state.fleet.inspect(&car(&state, &vin_text)?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VehicleFaults {
    /// The car's next this many replies are lost on the air after it acted.
    #[serde(default)]
    pub drop_replies: Option<FaultCount>,
    /// Whether the connected-car network reaches the car (`false`: parked underground); the
    /// platform's entitlements wait for it or for the owner's phone.
    #[serde(default)]
    pub connected: Option<bool>,
}

#[utoipa::path(post, path = "/v1/sandbox/vehicles/{vin}/faults", tag = "sandbox", request_body = VehicleFaults,
    responses((status = 204), (status = 404, body = ApiError), (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Makes a car act on commands and lose its replies, like a link dropping at the worst moment, or
/// takes it out of (or back into) the connected-car network's reach.
pub async fn vehicle_faults(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(vin_text): Path<String>,
    Json(request): Json<VehicleFaults>,
) -> AppResult<StatusCode> {
    set_vehicle_faults(&state, &vin_text, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a car lose its replies, or takes it out of (or back into) the connected-car network's
/// reach (API and dashboard).
pub(crate) async fn set_vehicle_faults(state: &AppState, vin_text: &str, request: &VehicleFaults) -> AppResult<()> {
    let vin = car(state, vin_text)?;
    if let Some(count) = request.drop_replies {
        state.fleet.drop_replies(&vin, count.get());
    }
    if let Some(connected) = request.connected {
        state.fleet.set_coverage(&vin, connected);
        if connected {
            super::options::sweep(state).await;
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Drive {
    /// Kilometres the car is driven (at most 100,000 at a time).
    pub km: u32,
    /// What the car warns about afterwards (none: all clear).
    #[serde(default)]
    pub warnings: Vec<caas_protocol::maintenance::WarningCode>,
}

#[utoipa::path(post, path = "/v1/sandbox/vehicles/{vin}/drive", tag = "sandbox", request_body = Drive,
    responses((status = 204), (status = 404, body = ApiError), (status = 422, body = ApiError)), security(("bearer" = [])))]
/// Drives a car: its odometer goes up and it warns about what is given. A car in coverage reports
/// on the next sweep; a phone beside it reads it over the link.
pub async fn drive(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(vin_text): Path<String>,
    Json(request): Json<Drive>,
) -> AppResult<StatusCode> {
    let vin = car(&state, &vin_text)?;
    if request.km > 100_000 || request.warnings.len() > caas_protocol::pairing::MAX_WARNINGS {
        return Err(AppError::invalid("`km` is at most 100000 and `warnings` at most 8"));
    }
    state.fleet.drive(&vin, request.km, request.warnings);
    super::maintenance::sweep(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/sandbox/grants/{grant_id}/revoke", tag = "sandbox",
    responses((status = 204), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// Revokes a phone key, as the owner or the dealership would for a lost phone.
pub async fn revoke_grant(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(grant_id): Path<Uuid>,
) -> AppResult<StatusCode> {
    super::pairing::revoke(&state, grant_id, None)?;
    Ok(StatusCode::NO_CONTENT)
}
