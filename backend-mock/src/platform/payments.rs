//! The final payment: asking for it when the car is ready, taking it through the gateway, and
//! moving the order on only when the gateway's signed webhook confirms it.
//!
//! The customer's `Idempotency-Key` names one payment attempt. The attempt is recorded before the
//! gateway is called and the gateway is called with a key derived from it, so however often an
//! attempt is repeated (lost answers, timeouts, app restarts) the card is charged at most once.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use caas_protocol::Actor;
use caas_protocol::OrderState;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, Money, OrderEvent, OrderView};
use caas_protocol::payment::{
    CreatePaymentIntent, IDEMPOTENCY_KEY_HEADER, PayRequest, Payment, PaymentPurpose, PaymentStatus, PaymentsConfig,
    valid_idempotency_key,
};
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::gateway_client::GatewayError;
use super::orders::{self, Viewer};
use super::{deadlines, registration};
use crate::auth::CustomerAuth;
use crate::error::{AppError, AppResult};
use crate::validate;

/// The car is in the customer's locality: the rest of the price is due within the payment window.
pub fn request_final_payment(conn: &Connection, state: &AppState, id: Uuid) -> AppResult<Vec<OrderEvent>> {
    let view = orders::view(conn, id, Viewer::Sandbox)?;
    let price = view.price.ok_or_else(|| AppError::invalid("the order has no price"))?;
    let paid = view.deposit.map_or(0, |d| d.amount_minor);
    let amount_due = Money { amount_minor: price.amount_minor - paid, currency: price.currency };
    let deadline = state.clock.now() + state.config.payments.window;
    let moved = orders::transition(conn, id, OrderState::AwaitingFinalPayment, Actor::Platform)?;
    let due = orders::append(conn, id, EventKind::FinalPaymentRequested { amount_due, deadline })?;
    Ok(vec![moved, due])
}

#[utoipa::path(get, path = "/v1/payments/config", tag = "customer",
    responses((status = 200, body = PaymentsConfig)), security(("bearer" = [])))]
/// Where the app tokenizes cards.
pub async fn config(State(state): State<AppState>, _: CustomerAuth) -> Json<PaymentsConfig> {
    Json(state.config.payments.public.clone())
}

#[utoipa::path(post, path = "/v1/orders/{id}/payments", tag = "customer", request_body = PayRequest,
    params(("idempotency-key" = String, Header, description = "one per payment attempt; repeat it to retry the attempt")),
    responses(
        (status = 200, body = Payment, description = "the attempt's outcome: succeeded, processing, requires_action, or requires_payment_method with `last_error`"),
        (status = 409, body = ApiError, description = "deadline_passed, reservation_lost, already_paid, not_payable, amount_mismatch, payment_in_progress"),
        (status = 422, body = ApiError, description = "idempotency_key_reused or an invalid request"),
        (status = 503, body = ApiError, description = "payment_gateway_unavailable: the outcome is unknown; repeat the same request")),
    security(("bearer" = [])))]
/// Pays the amount due of an order with a tokenized card.
pub async fn pay(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(request): Json<PayRequest>,
) -> AppResult<Json<Payment>> {
    let view = orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let key = idempotency_key(&headers)?;
    pay_final(&state, &view, &key, request).await.map(Json)
}

/// Takes one attempt at the final payment of the order `view` shows, named by `key`: the body of
/// `POST /v1/orders/{id}/payments`, and how the sandbox pays as a customer's app would.
pub async fn pay_final(state: &AppState, view: &OrderView, key: &str, request: PayRequest) -> AppResult<Payment> {
    take_payment(state, view.id, key, request, &PaymentPurpose::FinalPayment, |amount| {
        check_payable(state, view, amount)
    })
    .await
}

/// The attempt's name the customer gave in the `Idempotency-Key` header.
pub fn idempotency_key(headers: &HeaderMap) -> AppResult<String> {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_idempotency_key(k))
        .map(str::to_owned)
        .ok_or_else(|| AppError::invalid("a payment needs an Idempotency-Key naming the attempt"))
}

/// Takes one payment attempt of `order` for `purpose` through the gateway: recorded before the
/// gateway is called, at most one open per order and purpose, and repeated from the gateway's
/// stored result when the same key comes again. `payable` refuses a new attempt the order cannot
/// take for the amount asked; a repeat skips it (it was payable when first made).
pub async fn take_payment(
    state: &AppState,
    id: Uuid,
    key: &str,
    request: PayRequest,
    purpose: &PaymentPurpose,
    payable: impl FnOnce(&Money) -> AppResult<()>,
) -> AppResult<Payment> {
    validate::money("amount", &request.amount)?;
    if !request.payment_method.starts_with("pm_") || request.payment_method.len() > 64 {
        return Err(AppError::invalid("`payment_method` must be a gateway payment method reference (`pm_...`)"));
    }
    let first_try = match attempt_of(&state.db.lock(), id, key)? {
        Some(existing) if existing != (request.clone(), purpose.clone()) => {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key belongs to another payment attempt",
            ));
        }
        Some(_) => false,
        None => true,
    };
    if first_try {
        payable(&request.amount)?;
        let opened = state.db.lock().execute_cached(
            "INSERT INTO payments (order_id, idempotency_key, payment_method, amount, status, created_at, purpose)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
            params![
                id.to_string(),
                key,
                request.payment_method,
                serde_json::to_string(&request.amount)?,
                state.clock.now().to_rfc3339(),
                purpose.stored()
            ],
        );
        match opened {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(AppError::conflict(
                    ErrorCode::PaymentInProgress,
                    "another payment for this is still open (waiting for 3-D Secure or settling); finish it, or \
                     wait for its outcome, before paying again",
                ));
            }
            Err(error) => return Err(error.into()),
        }
    }
    let charge = CreatePaymentIntent {
        order_id: id,
        amount: request.amount,
        payment_method: request.payment_method,
        reference: Some(attempt_reference(id, key)),
    };
    let payment = state.gateway.charge(&attempt_reference(id, key), &charge).await.map_err(|error| match error {
        GatewayError::Refused(refusal) => {
            // Refused before any intent existed: the attempt is over and must not hold the
            // order's one open attempt.
            let closed = state.db.lock().execute_cached(
                "UPDATE payments SET status = 'refused' WHERE order_id = ?1 AND idempotency_key = ?2 AND intent_id IS NULL",
                params![id.to_string(), key],
            );
            if let Err(error) = closed {
                tracing::error!(%error, order = %id, "a refused payment attempt could not be closed");
            }
            AppError::new(StatusCode::UNPROCESSABLE_ENTITY, refusal.code, refusal.message)
        }
        GatewayError::Unavailable(reason) => {
            tracing::warn!(order = %id, %reason, "payment outcome unknown");
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::PaymentGatewayUnavailable,
                "the payment gateway did not answer; the outcome is not known yet, repeat the request with the same Idempotency-Key",
            )
        }
    })?;
    if payment.status == PaymentStatus::Unknown {
        // A status this platform does not know says nothing it can rely on: the attempt stays
        // open (and holds the one open attempt) until a status it knows arrives.
        tracing::warn!(order = %id, payment = %payment.id, "the gateway answered a status this platform does not know");
        return Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::PaymentGatewayUnavailable,
            "the payment's outcome is not known yet; repeat the request with the same Idempotency-Key",
        ));
    }
    // Only while no webhook has spoken for the attempt: the gateway's webhooks come first and a
    // replayed answer may be older than them.
    state.db.lock().execute_cached(
        "UPDATE payments SET intent_id = ?3, status = ?4 WHERE order_id = ?1 AND idempotency_key = ?2
         AND intent_id IS NULL",
        params![id.to_string(), key, payment.id, payment.status.wire_name()],
    )?;
    tracing::info!(order = %id, payment = %payment.id, status = payment.status.wire_name(), "payment attempt answered");
    Ok(payment)
}

/// What names one payment attempt to the gateway: its idempotency key and its reference.
fn attempt_reference(order: Uuid, key: &str) -> String {
    format!("{order}:{key}")
}

/// The request an attempt was first made with, and what it pays for.
pub(crate) fn attempt_of(conn: &Connection, order: Uuid, key: &str) -> AppResult<Option<(PayRequest, PaymentPurpose)>> {
    let row: Option<(String, String, String)> = conn
        .query_row_cached(
            "SELECT payment_method, amount, purpose FROM payments WHERE order_id = ?1 AND idempotency_key = ?2",
            params![order.to_string(), key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(payment_method, amount, purpose)| {
        let purpose = PaymentPurpose::from_stored(&purpose)
            .ok_or_else(|| AppError::internal("an attempt's purpose is unreadable"))?;
        Ok((PayRequest { payment_method, amount: serde_json::from_str(&amount)? }, purpose))
    })
    .transpose()
}

/// Refuses a new final payment attempt the order cannot take, each with the reason the customer
/// is shown.
fn check_payable(state: &AppState, view: &OrderView, amount: &Money) -> AppResult<()> {
    let refuse = |code, message: String| Err(AppError::conflict(code, message));
    match view.state {
        OrderState::Unassigned | OrderState::DealershipStock => refuse(
            ErrorCode::ReservationLost,
            "the final payment was not made before its deadline: the reservation is lost and the car went back to \
             the dealership's stock"
                .into(),
        ),
        OrderState::AwaitingFinalPayment => {
            let due = view.final_payment.as_ref().ok_or_else(|| AppError::invalid("no payment is due"))?;
            if paid_or_settling(&state.db.lock(), view)? {
                return refuse(ErrorCode::AlreadyPaid, "a payment of this order has already gone through".into());
            }
            if state.clock.now() >= due.deadline {
                deadlines::expire(state, view.id)?;
                return refuse(
                    ErrorCode::DeadlinePassed,
                    format!("the deadline for the final payment was {}; no new payment can be made", due.deadline),
                );
            }
            if *amount != due.amount_due {
                return refuse(ErrorCode::AmountMismatch, format!("the amount due is {}", due.amount_due));
            }
            Ok(())
        }
        state if state.is_paid() => refuse(ErrorCode::AlreadyPaid, "this order is paid".into()),
        state => refuse(ErrorCode::NotPayable, format!("nothing is due yet: the order is `{state}`")),
    }
}

/// Whether the final payment of the order `view` shows went through or is settling: marked paid,
/// or an attempt succeeded or processing. The one test of "paid" for the customer's payment, the
/// sandbox's payment step and its deadline step.
pub fn paid_or_settling(conn: &Connection, view: &OrderView) -> AppResult<bool> {
    if view.final_payment.as_ref().is_some_and(|due| due.paid_at.is_some()) {
        return Ok(true);
    }
    in_flight(conn, view.id)
}

/// The statuses of an attempt that holds its order's one open attempt for its purpose (the
/// `payments_one_open_per_purpose` index): its outcome not known yet, waiting for 3-D Secure,
/// settling, or through.
const HOLDING: [&str; 4] = ["pending", "requires_action", "processing", "succeeded"];

/// Whether an attempt in `status` holds its order's one open attempt (see [`HOLDING`]).
pub fn holds_the_order(status: &str) -> bool {
    HOLDING.contains(&status)
}

/// An open attempt at an order's final payment: neither through nor failed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAttempt {
    /// The `Idempotency-Key` that names it.
    pub key: String,
    /// Waiting for the bank's 3-D Secure check (`requires_action`), rather than for the gateway's
    /// answer (`pending`: the answer was lost or is on its way).
    pub awaiting_three_d_secure: bool,
}

/// The open attempt at the order's final payment, if there is one (at most one can be).
pub fn open_attempt(conn: &Connection, order: Uuid) -> AppResult<Option<OpenAttempt>> {
    let open: Option<(String, String)> = conn
        .query_row_cached(
            "SELECT idempotency_key, status FROM payments WHERE order_id = ?1 AND purpose = 'final'
             AND status IN ('pending', 'requires_action') LIMIT 1",
            [order.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(open.map(|(key, status)| OpenAttempt { key, awaiting_three_d_secure: status == "requires_action" }))
}

/// The status of the attempt named `key`, if one was made.
pub fn attempt_status(conn: &Connection, order: Uuid, key: &str) -> AppResult<Option<String>> {
    Ok(conn
        .query_row_cached(
            "SELECT status FROM payments WHERE order_id = ?1 AND idempotency_key = ?2",
            params![order.to_string(), key],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether a final payment of the order succeeded or is settling.
pub fn in_flight(conn: &Connection, order: Uuid) -> AppResult<bool> {
    Ok(conn
        .query_row_cached(
            "SELECT 1 FROM payments WHERE order_id = ?1 AND purpose = 'final' AND status IN ('processing', 'succeeded')
             LIMIT 1",
            [order.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[utoipa::path(get, path = "/v1/orders/{id}/payments/{payment}", tag = "customer",
    responses((status = 200, body = Payment), (status = 404, body = ApiError),
              (status = 422, body = ApiError, description = "not a payment id"),
              (status = 503, body = ApiError, description = "payment_gateway_unavailable")),
    security(("bearer" = [])))]
/// A payment attempt's current state, e.g. after the customer completed 3-D Secure.
pub async fn get_payment(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path((id, payment)): Path<(Uuid, String)>,
) -> AppResult<Json<Payment>> {
    validate::payment_id(&payment)?;
    {
        let conn = state.db.lock();
        orders::view(&conn, id, Viewer::Customer(auth.customer_id))?;
        conn.query_row_cached(
            "SELECT 1 FROM payments WHERE order_id = ?1 AND intent_id = ?2",
            params![id.to_string(), payment],
            |_| Ok(()),
        )
        .optional()?
        .ok_or_else(|| AppError::not_found("payment"))?;
    }
    let payment = state.gateway.payment(&payment).await.map_err(|e| {
        AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::PaymentGatewayUnavailable, e.to_string())
    })?;
    Ok(Json(payment))
}

/// Applies a verified gateway webhook: records the attempt's state and, on success, moves the
/// order to registration and starts it.
pub fn apply_gateway_update(
    conn: &Connection,
    state: &AppState,
    payment: &Payment,
) -> AppResult<(bool, Vec<OrderEvent>)> {
    if payment.status == PaymentStatus::Unknown {
        // Refused unapplied, so the gateway delivers it again; nothing about the attempt changes.
        return Err(AppError::invalid("a payment status this platform does not know"));
    }
    // The webhook may come before the payment handler has read the intent's id: the attempt is
    // found by the reference the platform gave the gateway.
    let attempt_key =
        payment.reference.as_deref().and_then(|reference| reference.strip_prefix(&format!("{}:", payment.order_id)));
    let own_attempt = conn.execute_cached(
        "UPDATE payments SET intent_id = COALESCE(intent_id, ?3), status = ?4
         WHERE order_id = ?1 AND idempotency_key = ?2 AND status <> 'refunded'
           AND (intent_id = ?3 OR (intent_id IS NULL AND status = 'pending'))",
        params![payment.order_id.to_string(), attempt_key, payment.id, payment.status.wire_name()],
    )? > 0;
    if payment.status != PaymentStatus::Succeeded {
        return Ok((false, Vec::new()));
    }
    let purpose: Option<String> = conn
        .query_row_cached(
            "SELECT purpose FROM payments WHERE order_id = ?1 AND intent_id = ?2",
            params![payment.order_id.to_string(), payment.id],
            |r| r.get(0),
        )
        .optional()?;
    let purpose = purpose
        .map(|text| {
            PaymentPurpose::from_stored(&text).ok_or_else(|| AppError::internal("an attempt's purpose is unreadable"))
        })
        .transpose()?;
    if let Some(PaymentPurpose::Option(option)) = purpose {
        return super::options::apply_paid(conn, state, payment, &option, own_attempt).map(|events| (false, events));
    }
    let view = orders::view(conn, payment.order_id, Viewer::Sandbox)?;
    let due = view.final_payment.as_ref().filter(|due| due.paid_at.is_none());
    let refund_reason = match (view.state, due) {
        (OrderState::AwaitingFinalPayment, Some(due)) if own_attempt && due.amount_due == payment.amount => None,
        (OrderState::AwaitingFinalPayment, Some(_)) => {
            Some("the charge was not the customer's payment of the amount due".to_owned())
        }
        _ if view.final_payment.as_ref().is_some_and(|due| due.paid_at.is_some()) => {
            Some("the order was already paid".to_owned())
        }
        (state, _) => Some(format!("the order no longer waited for a payment (it is `{state}`)")),
    };
    if let Some(reason) = refund_reason {
        // Money the order does not need: given back by `refund_duplicates`, which the webhook
        // receiver starts and the refund task retries until the gateway answers.
        tracing::warn!(order = %payment.order_id, payment = %payment.id, %reason, "refunding a charge");
        refund_later(conn, payment, &reason)?;
        return Ok((false, Vec::new()));
    }
    orders::set_paid(conn, payment.order_id, state.clock.now())?;
    let moved =
        orders::transition(conn, payment.order_id, OrderState::AdministrativeRegistration, Actor::PaymentGateway)?;
    Ok((true, vec![moved]))
}

/// Marks a charge the order does not need for refund, once: `refund_duplicates` gives it back (after
/// the webhook and on every tick until the gateway answers) and tells the customer why.
pub fn refund_later(conn: &Connection, payment: &Payment, reason: &str) -> AppResult<()> {
    conn.execute_cached(
        "INSERT OR IGNORE INTO duplicate_charges (intent_id, order_id, amount, reason, detected_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            payment.id,
            payment.order_id.to_string(),
            serde_json::to_string(&payment.amount)?,
            reason,
            Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

/// Whether a charge is marked for refund.
pub fn refunding(conn: &Connection, intent: &str) -> AppResult<bool> {
    Ok(conn
        .query_row_cached("SELECT 1 FROM duplicate_charges WHERE intent_id = ?1", [intent], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Refunds the charges an order did not need, each once, and records each refund on the order's
/// log (the customer is told). A refund the gateway does not answer is tried again on the next
/// call.
pub async fn refund_duplicates(state: &AppState) {
    let due = {
        let conn = state.db.lock();
        let pending = conn
            .prepare_cached(
                "SELECT intent_id, order_id, amount, reason FROM duplicate_charges WHERE refunded_at IS NULL",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
            });
        match pending {
            Ok(pending) => pending,
            Err(error) => {
                tracing::error!(%error, "duplicate charges could not be read");
                return;
            }
        }
    };
    for (intent, order, amount, reason) in due {
        let (Ok(order), Ok(amount)) = (order.parse::<Uuid>(), serde_json::from_str::<Money>(&amount)) else {
            tracing::error!(%intent, "a duplicate charge's record is unreadable");
            continue;
        };
        if let Err(error) = state.gateway.refund(&intent, &reason).await {
            tracing::warn!(%intent, %error, "a duplicate charge was not refunded yet");
            continue;
        }
        let recorded = state.change(|tx| {
            let first = tx.execute_cached(
                "UPDATE duplicate_charges SET refunded_at = ?2 WHERE intent_id = ?1 AND refunded_at IS NULL",
                params![intent, Utc::now().to_rfc3339()],
            )?;
            if first == 0 {
                return Ok(((), Vec::new()));
            }
            // A platform attempt given back no longer holds the order's one open attempt.
            tx.execute_cached("UPDATE payments SET status = 'refunded' WHERE intent_id = ?1", [&intent])?;
            let refunded = EventKind::PaymentRefunded { payment_id: intent.clone(), amount, reason };
            Ok(((), vec![orders::append(tx, order, refunded)?]))
        });
        if let Err(error) = recorded {
            tracing::error!(%intent, message = %error.message, "a refund could not be recorded");
        }
    }
}

/// Gives back the charges orders did not need, every two seconds until the mock stops.
pub async fn run_refunds(state: AppState) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        ticks.tick().await;
        refund_duplicates(&state).await;
    }
}

/// How long past the deadline a payment attempt begun before it may still finish (the customer
/// at the bank's 3-D Secure page) before the reservation is lost.
pub const ATTEMPT_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Whether the customer began a payment attempt before `deadline` that has not ended yet.
pub fn begun_in_time(conn: &Connection, order: Uuid, deadline: chrono::DateTime<Utc>) -> AppResult<bool> {
    Ok(conn
        .query_row_cached(
            "SELECT 1 FROM payments WHERE order_id = ?1 AND purpose = 'final' AND status IN ('pending', 'requires_action')
             AND created_at < ?2 LIMIT 1",
            params![order.to_string(), deadline.to_rfc3339()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Starts the registration of a paid order in the background; its outcome reaches the customer as
/// order events. The order counts as being registered from this call on (see
/// [`AppState::registering`]); nothing starts when a registration of it runs already.
pub fn start_registration(state: &AppState, order: Uuid) {
    let Some(claim) = state.registering.try_claim(order) else {
        tracing::debug!(%order, "the order is being registered already");
        return;
    };
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = registration::register_claimed(&state, order, claim).await {
            tracing::warn!(%order, message = %error.message, "registration did not complete");
        }
    });
}
