//! The receiver of the factory's webhooks: verify, deduplicate by `webhook-id`, apply.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use caas_protocol::api::{ApiError, ErrorCode, EventKind};
use caas_protocol::webhook::{FactoryEventType, FactoryWebhook, MAX_WEBHOOK_BYTES, WebhookRejection};
use caas_protocol::{Actor, OrderState};
use chrono::Utc;
use rusqlite::params;
use serde_json::{Value, json};

use super::AppState;
use super::orders;
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
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(AppError::invalid("webhook body is over 64 KiB"));
    }
    let webhook_id = state.config.webhooks.verify(&headers, &body).map_err(|rejection| {
        tracing::warn!(%rejection, "factory webhook refused");
        let code = match rejection {
            WebhookRejection::StaleTimestamp => ErrorCode::StaleTimestamp,
            _ => ErrorCode::InvalidSignature,
        };
        AppError::new(StatusCode::UNAUTHORIZED, code, rejection.to_string())
    })?;
    let webhook: FactoryWebhook =
        serde_json::from_slice(&body).map_err(|e| AppError::invalid(format!("webhook body: {e}")))?;
    let update = &webhook.data;
    let duplicate = state.change(|tx| {
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO webhook_receipts (webhook_id, received_at) VALUES (?1, ?2)",
            params![webhook_id, Utc::now().to_rfc3339()],
        )?;
        if fresh == 0 {
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
