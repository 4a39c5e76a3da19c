//! Payment intents: `requires_payment_method -> requires_action (3-D Secure) -> processing ->
//! succeeded`, or back to `requires_payment_method` with the reason of a failure. Every final
//! change is also sent to the platform as a signed webhook; the ledger records each charge once.

use crate::db::CachedSql as _;
use std::sync::atomic::Ordering;

use crate::extract::Json;
use crate::extract::{Path, Query};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse as _, Response};
use caas_protocol::api::{ErrorCode, Money};
use caas_protocol::payment::{
    CreatePaymentIntent, DeclineCode, GatewayEventType, GatewayWebhook, IDEMPOTENCY_KEY_HEADER, NextAction, Payment,
    PaymentFailure, PaymentStatus, Refund, RefundRequest,
};
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cards::Behaviour;
use super::{GatewayState, SETTLE_AFTER, SecretKey};
use crate::error::{AppError, AppResult};
use crate::validate::{self, FaultCount};

#[utoipa::path(post, path = "/v1/payment_intents", tag = "gateway", request_body = CreatePaymentIntent,
    params(("idempotency-key" = String, Header, description = "required")),
    responses((status = 200, body = Payment), (status = 404, body = caas_protocol::api::ApiError)))]
/// Creates a payment intent and confirms it with its payment method at once.
pub async fn create(
    State(state): State<GatewayState>,
    _: SecretKey,
    headers: HeaderMap,
    Json(request): Json<CreatePaymentIntent>,
) -> AppResult<Json<Payment>> {
    if !headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
        return Err(AppError::invalid("charges need an Idempotency-Key"));
    }
    validate::money("amount", &request.amount)?;
    if let Some(reference) = &request.reference {
        validate::text("reference", reference, 300)?;
    }
    let payment = {
        let mut conn = state.db.lock();
        let tx = conn.transaction()?;
        let behaviour: String = tx
            .query_row_cached(
                "SELECT behaviour FROM gateway_payment_methods WHERE id = ?1",
                [&request.payment_method],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| AppError::not_found("payment method"))?;
        let behaviour = Behaviour::from_name(&behaviour).ok_or_else(|| AppError::invalid("unknown card behaviour"))?;
        let mut payment = Payment {
            id: format!("pi_{}", Uuid::new_v4().simple()),
            order_id: request.order_id,
            amount: request.amount,
            status: PaymentStatus::RequiresPaymentMethod,
            next_action: None,
            last_error: None,
            created_at: Utc::now(),
            reference: request.reference,
        };
        tx.execute_cached(
            "INSERT INTO gateway_intents (id, payment_method, body, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                payment.id,
                request.payment_method,
                serde_json::to_string(&payment)?,
                payment.status.wire_name(),
                Utc::now().to_rfc3339()
            ],
        )?;
        let event = match behaviour {
            Behaviour::Succeed => Some(charge(&tx, &mut payment)?),
            Behaviour::Decline => Some(fail(&mut payment, DeclineCode::CardDeclined, "the card was declined")),
            Behaviour::InsufficientFunds => {
                Some(fail(&mut payment, DeclineCode::InsufficientFunds, "the card has insufficient funds"))
            }
            Behaviour::ThreeDSecure => {
                payment.status = PaymentStatus::RequiresAction;
                payment.next_action =
                    Some(NextAction::ThreeDSecure { url: format!("{}/3ds/{}", state.base_url, payment.id) });
                None
            }
            Behaviour::SettleLater => {
                payment.status = PaymentStatus::Processing;
                Some(GatewayEventType::Processing)
            }
        };
        save(&tx, &payment)?;
        if let Some(kind) = event {
            queue_webhook(&tx, kind, &payment)?;
        }
        tx.commit()?;
        payment
    };
    deliver(&state).await;
    Ok(Json(payment))
}

#[utoipa::path(get, path = "/v1/payment_intents/{id}", tag = "gateway",
    responses((status = 200, body = Payment), (status = 404, body = caas_protocol::api::ApiError)))]
pub async fn get(State(state): State<GatewayState>, _: SecretKey, Path(id): Path<String>) -> AppResult<Json<Payment>> {
    Ok(Json(load(&state.db.lock(), &id)?))
}

/// The bank's 3-D Secure page; in the sandbox it points to the sandbox call that completes it.
pub async fn challenge_page(Path(id): Path<String>) -> Html<String> {
    let id: String = id.chars().filter(char::is_ascii_alphanumeric).chain("_".chars()).take(64).collect();
    Html(format!(
        "<!doctype html><title>3-D Secure</title><p>Sandbox 3-D Secure for payment {id}: complete it with \
         <code>POST /sandbox/payment_intents/{{id}}/three_d_secure</code>.</p>"
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeOutcome {
    Pass,
    Fail,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChallengeRequest {
    pub outcome: ChallengeOutcome,
}

#[utoipa::path(post, path = "/sandbox/payment_intents/{id}/three_d_secure", tag = "gateway",
    request_body = ChallengeRequest, responses((status = 200, body = Payment), (status = 409, body = caas_protocol::api::ApiError)))]
/// Sandbox: the customer passes or fails the bank's 3-D Secure check.
pub async fn complete_challenge(
    State(state): State<GatewayState>,
    _: SecretKey,
    Path(id): Path<String>,
    Json(request): Json<ChallengeRequest>,
) -> AppResult<Json<Payment>> {
    let payment = {
        let mut conn = state.db.lock();
        let tx = conn.transaction()?;
        let mut payment = load(&tx, &id)?;
        if payment.status != PaymentStatus::RequiresAction {
            return Err(AppError::conflict(ErrorCode::Conflict, "this payment is not waiting for 3-D Secure"));
        }
        payment.next_action = None;
        let kind = match request.outcome {
            ChallengeOutcome::Pass => charge(&tx, &mut payment)?,
            ChallengeOutcome::Fail => {
                fail(&mut payment, DeclineCode::AuthenticationFailed, "the bank could not authenticate the cardholder")
            }
        };
        save(&tx, &payment)?;
        queue_webhook(&tx, kind, &payment)?;
        tx.commit()?;
        payment
    };
    deliver(&state).await;
    Ok(Json(payment))
}

// One type for both sides: the platform's sandbox API takes and shows these switches as the
// gateway's own sandbox does, and the platform's client passes them on as they are.
/// The payment gateway's fault switches. Sent to set them, a switch left out keeps its setting, so
/// arming one never disarms the other; read, both are given as they are now.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentFaults {
    /// The next this many charges take the money and then lose their answer (0 disarms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_answers: Option<FaultCount>,
    /// Whether the gateway is down: every charge is answered 503 before anything is taken, and the
    /// customer's payment fails with `payment_gateway_unavailable` until it is back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<bool>,
}

/// Sandbox: sets the fault switches given.
pub async fn set_faults(
    State(state): State<GatewayState>,
    _: SecretKey,
    Json(request): Json<PaymentFaults>,
) -> AppResult<StatusCode> {
    if let Some(count) = request.drop_answers {
        state.drop_answers.store(count.get(), Ordering::Release);
    }
    if let Some(down) = request.unavailable {
        state.unavailable.store(down, Ordering::Release);
        tracing::info!(down, "sandbox fault: the gateway's availability switched");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Sandbox: the fault switches as they are now, so the sandbox can show an outage left on.
pub async fn faults(State(state): State<GatewayState>, _: SecretKey) -> AppResult<Json<PaymentFaults>> {
    // Only a checked count is ever stored, and answers dropped only lower it.
    let drop_answers = FaultCount::try_from(state.drop_answers.load(Ordering::Acquire)).map_err(AppError::internal)?;
    Ok(Json(PaymentFaults {
        drop_answers: Some(drop_answers),
        unavailable: Some(state.unavailable.load(Ordering::Acquire)),
    }))
}

#[derive(Debug, Deserialize)]
pub struct LedgerQuery {
    order_id: Option<Uuid>,
    /// Only the newest this many charges (still oldest first).
    limit: Option<u32>,
}

/// One charge: money taken from a card.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub intent_id: String,
    pub order_id: Uuid,
    pub amount: Money,
    pub charged_at: String,
    /// Set once the charge was given back.
    pub refunded_at: Option<String>,
}

/// Sandbox: the charges, oldest first (the newest `limit` of them, when given).
pub async fn ledger(
    State(state): State<GatewayState>,
    _: SecretKey,
    Query(query): Query<LedgerQuery>,
) -> AppResult<Json<Vec<LedgerEntry>>> {
    let conn = state.db.lock();
    let mut stmt = conn.prepare_cached(
        "SELECT intent_id, order_id, amount_minor, currency, charged_at, refunded_at FROM (
             SELECT l.seq, l.intent_id, l.order_id, l.amount_minor, l.currency, l.charged_at, r.refunded_at
             FROM gateway_ledger l LEFT JOIN gateway_refunds r ON r.intent_id = l.intent_id
             WHERE ?1 IS NULL OR l.order_id = ?1 ORDER BY l.seq DESC LIMIT ?2
         ) ORDER BY seq",
    )?;
    // SQLite reads a negative limit as none.
    let limit = query.limit.map_or(-1, i64::from);
    let rows = stmt.query_map(rusqlite::params![query.order_id.map(|id| id.to_string()), limit], |r| {
        Ok(LedgerEntry {
            intent_id: r.get(0)?,
            order_id: r.get::<_, String>(1)?.parse().unwrap_or_default(),
            amount: Money { amount_minor: r.get(2)?, currency: r.get(3)? },
            charged_at: r.get(4)?,
            refunded_at: r.get(5)?,
        })
    })?;
    Ok(Json(rows.collect::<rusqlite::Result<_>>()?))
}

/// Gives a charge back in full; asking again for the same charge returns the same refund.
pub async fn refund(
    State(state): State<GatewayState>,
    _: SecretKey,
    Json(request): Json<RefundRequest>,
) -> AppResult<Json<Refund>> {
    validate::payment_id(&request.payment_intent)?;
    validate::text("reason", &request.reason, 200)?;
    let conn = state.db.lock();
    let charged: Option<(i64, String)> = conn
        .query_row_cached(
            "SELECT amount_minor, currency FROM gateway_ledger WHERE intent_id = ?1",
            [&request.payment_intent],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (amount_minor, currency) = charged.ok_or_else(|| AppError::not_found("charge"))?;
    conn.execute_cached(
        "INSERT OR IGNORE INTO gateway_refunds (intent_id, reason, refunded_at) VALUES (?1, ?2, ?3)",
        params![request.payment_intent, request.reason.trim(), Utc::now().to_rfc3339()],
    )?;
    let refunded_at: String = conn.query_row_cached(
        "SELECT refunded_at FROM gateway_refunds WHERE intent_id = ?1",
        [&request.payment_intent],
        |r| r.get(0),
    )?;
    let refunded_at = chrono::DateTime::parse_from_rfc3339(&refunded_at)
        .map_err(|_| AppError::internal("a stored refund time is unreadable"))?
        .with_timezone(&Utc);
    tracing::info!(payment = %request.payment_intent, "charge refunded");
    Ok(Json(Refund { payment_intent: request.payment_intent, amount: Money { amount_minor, currency }, refunded_at }))
}

/// The fault switch: while armed, a successful charge answer is cut off after its headers, as a
/// connection dying on the way back would. The money is taken and the answer is kept for replay.
/// Or, before that, while the gateway is down, a charge is answered 503 without being looked at:
/// nothing is taken and nothing is kept, so repeating it once the gateway is back charges for real.
pub async fn drop_answer_fault(State(state): State<GatewayState>, request: Request, next: Next) -> Response {
    let charging = request.method() == Method::POST && request.uri().path() == "/v1/payment_intents";
    if charging && state.unavailable.load(Ordering::Acquire) {
        tracing::info!("sandbox fault: the gateway is down for a charge");
        return (StatusCode::SERVICE_UNAVAILABLE, "the gateway is down (sandbox fault)").into_response();
    }
    let response = next.run(request).await;
    if !charging || !response.status().is_success() {
        return response;
    }
    let armed = state.drop_answers.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
    if !armed {
        return response;
    }
    tracing::info!("sandbox fault: dropping a charge's answer");
    let (mut parts, _body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let cut =
        futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("sandbox fault: answer dropped")) });
    Response::from_parts(parts, Body::from_stream(cut))
}

/// Settles the `processing` payments that have waited long enough; returns how many.
pub fn settle_due(state: &GatewayState) -> AppResult<usize> {
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let due: Vec<String> = {
        let cutoff = (Utc::now() - SETTLE_AFTER).to_rfc3339();
        let mut stmt = tx.prepare_cached("SELECT id FROM gateway_intents WHERE status = ?1 AND updated_at <= ?2")?;
        let rows = stmt.query_map(params![PaymentStatus::Processing.wire_name(), cutoff], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &due {
        let mut payment = load(&tx, id)?;
        let kind = charge(&tx, &mut payment)?;
        save(&tx, &payment)?;
        queue_webhook(&tx, kind, &payment)?;
    }
    tx.commit()?;
    Ok(due.len())
}

/// Takes the money: one ledger entry per intent, whatever happens to the answer.
fn charge(conn: &Connection, payment: &mut Payment) -> AppResult<GatewayEventType> {
    conn.execute_cached(
        "INSERT OR IGNORE INTO gateway_ledger (intent_id, order_id, amount_minor, currency, charged_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            payment.id,
            payment.order_id.to_string(),
            payment.amount.amount_minor,
            payment.amount.currency,
            Utc::now().to_rfc3339()
        ],
    )?;
    payment.status = PaymentStatus::Succeeded;
    Ok(GatewayEventType::Succeeded)
}

fn fail(payment: &mut Payment, code: DeclineCode, message: &str) -> GatewayEventType {
    payment.status = PaymentStatus::RequiresPaymentMethod;
    payment.last_error = Some(PaymentFailure { code, message: message.to_owned() });
    GatewayEventType::PaymentFailed
}

fn load(conn: &Connection, id: &str) -> AppResult<Payment> {
    let body: String = conn
        .query_row_cached("SELECT body FROM gateway_intents WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AppError::not_found("payment intent"))?;
    Ok(serde_json::from_str(&body)?)
}

fn save(conn: &Connection, payment: &Payment) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE gateway_intents SET body = ?2, status = ?3, updated_at = ?4 WHERE id = ?1",
        params![payment.id, serde_json::to_string(payment)?, payment.status.wire_name(), Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

fn queue_webhook(conn: &Connection, kind: GatewayEventType, payment: &Payment) -> AppResult<()> {
    let webhook = GatewayWebhook { kind, timestamp: Utc::now(), data: payment.clone() };
    conn.execute_cached(
        "INSERT INTO gateway_webhook_outbox (webhook_id, intent_id, body) VALUES (?1, ?2, ?3)",
        params![format!("msg_{}", Uuid::now_v7().simple()), payment.id, serde_json::to_string(&webhook)?],
    )?;
    Ok(())
}

/// Delivers the queued webhooks before answering, so the platform has applied them by the time
/// its own caller hears back; what fails here is left to the redelivery task.
async fn deliver(state: &GatewayState) {
    if let Err(error) = state.webhooks.deliver_pending().await {
        tracing::warn!(%error, "gateway webhook delivery failed; the redelivery task retries");
    }
}
