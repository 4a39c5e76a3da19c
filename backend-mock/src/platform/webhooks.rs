//! The receivers of the factory's and the payment gateway's webhooks: verify, deduplicate by
//! `webhook-id`, apply.

use crate::db::CachedSql as _;
use crate::extract::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use caas_protocol::api::{ApiError, ErrorCode, EventKind};
use caas_protocol::payment::GatewayWebhook;
use caas_protocol::webhook::{FactoryEventType, FactoryWebhook, MAX_WEBHOOK_BYTES, WebhookRejection, WebhookVerifier};
use caas_protocol::{Actor, OrderState};
use chrono::Utc;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::AppState;
use super::{orders, payments};
use crate::error::{AppError, AppResult};

#[utoipa::path(post, path = "/v1/webhooks/factory", tag = "webhooks", request_body = FactoryWebhook,
    params(
        ("webhook-id" = String, Header, description = "unique per message; redeliveries repeat it"),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds; at most 5 minutes away"),
        ("webhook-signature" = String, Header, description = "space-separated `v1,<base64 HMAC-SHA256>`"),
    ),
    responses((status = 200, description = "applied, or a duplicate already applied"),
              (status = 401, body = ApiError, description = "invalid_signature or stale_timestamp"),
              (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
/// Factory status updates in the Standard Webhooks format.
pub async fn factory_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> AppResult<Json<Value>> {
    let webhook_id = verify(&state.config.webhooks, "factory", &headers, &body)?;
    let webhook: FactoryWebhook =
        serde_json::from_slice(&body).map_err(|e| AppError::invalid(format!("webhook body: {e}")))?;
    let update = &webhook.data;
    let duplicate = state.change(|tx| {
        if !first_receipt(tx, &webhook_id)? {
            return Ok((true, Vec::new()));
        }
        let id = orders::by_factory_order(tx, &update.factory_order_id)?
            .filter(|id| *id == update.platform_order_id)
            .ok_or_else(|| AppError::not_found("factory order"))?;
        let mut events = Vec::new();
        if webhook.kind == FactoryEventType::StageChanged {
            if !update.stage.is_factory_stage() {
                return Err(AppError::invalid(format!("`{}` is not a factory stage", update.stage)));
            }
            let current = orders::state(tx, id)?;
            if current != update.stage {
                events.push(orders::transition(tx, id, update.stage, Actor::Factory)?);
                if update.stage == OrderState::DispatchedToLocality {
                    events.extend(payments::request_final_payment(tx, &state, id)?);
                }
            }
        }
        if orders::estimated_completion(tx, id)? != Some(update.estimated_completion) {
            let reason = update.reason.clone().unwrap_or_else(|| match update.stage {
                OrderState::ManufacturingComplete => "the car is complete".to_owned(),
                _ => "the factory revised its production plan".to_owned(),
            });
            events.push(orders::append(
                tx,
                id,
                EventKind::EstimateRevised { estimated_completion: update.estimated_completion, reason },
            )?);
        }
        Ok((false, events))
    })?;
    if duplicate {
        tracing::debug!(%webhook_id, "duplicate factory webhook ignored");
    }
    Ok(Json(json!({ "received": true, "duplicate": duplicate })))
}

#[utoipa::path(post, path = "/v1/webhooks/gateway", tag = "webhooks", request_body = GatewayWebhook,
    params(
        ("webhook-id" = String, Header, description = "unique per message; redeliveries repeat it"),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds; at most 5 minutes away"),
        ("webhook-signature" = String, Header, description = "space-separated `v1,<base64 HMAC-SHA256>`"),
    ),
    responses((status = 200, description = "applied, or a duplicate already applied"),
              (status = 401, body = ApiError, description = "invalid_signature or stale_timestamp"),
              (status = 404, body = ApiError),
              (status = 422, body = ApiError, description = "a body or payment status this platform cannot read; redeliver later")))]
/// Payment updates from the gateway in the Standard Webhooks format; the only way an order's final
/// payment counts as made.
pub async fn gateway_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> AppResult<Json<Value>> {
    let webhook_id = verify(&state.config.payments.webhooks, "gateway", &headers, &body)?;
    let webhook: GatewayWebhook =
        serde_json::from_slice(&body).map_err(|e| AppError::invalid(format!("webhook body: {e}")))?;
    let (duplicate, paid) = state.change(|tx| {
        if !first_receipt(tx, &webhook_id)? {
            return Ok(((true, false), Vec::new()));
        }
        orders::state(tx, webhook.data.order_id)?;
        let (paid, events) = payments::apply_gateway_update(tx, &state, &webhook.data)?;
        Ok(((false, paid), events))
    })?;
    if paid {
        payments::start_registration(&state, webhook.data.order_id);
    }
    let refunds = state.clone();
    tokio::spawn(async move {
        payments::refund_duplicates(&refunds).await;
        super::options::sweep(&refunds).await;
    });
    Ok(Json(json!({ "received": true, "duplicate": duplicate })))
}

/// Checks a delivery's size, signature and timestamp; returns its `webhook-id`.
fn verify(verifier: &WebhookVerifier, sender: &str, headers: &HeaderMap, body: &[u8]) -> AppResult<String> {
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(AppError::invalid("webhook body is over 64 KiB"));
    }
    verifier.verify(headers, body).map_err(|rejection| {
        tracing::warn!(%rejection, sender, "webhook refused");
        let code = match rejection {
            WebhookRejection::StaleTimestamp => ErrorCode::StaleTimestamp,
            _ => ErrorCode::InvalidSignature,
        };
        AppError::new(StatusCode::UNAUTHORIZED, code, rejection.to_string())
    })
}

/// Records a webhook id; false when it was received before (a redelivery).
fn first_receipt(conn: &Connection, webhook_id: &str) -> AppResult<bool> {
    let fresh = conn.execute_cached(
        "INSERT OR IGNORE INTO webhook_receipts (webhook_id, received_at) VALUES (?1, ?2)",
        params![webhook_id, Utc::now().to_rfc3339()],
    )?;
    Ok(fresh == 1)
}
