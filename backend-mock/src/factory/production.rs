//! Production records: accepting orders against the catalogue, moving them through the stages, and
//! revising the estimated completion date with a reason. Each change queues a webhook.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use caas_protocol::OrderState;
use caas_protocol::api::{FactoryOrderAccepted, FactoryOrderRequest, FactoryRejection};
use caas_protocol::lifecycle::FACTORY_STAGES;
use caas_protocol::webhook::{FactoryEventType, FactoryOrderUpdate, FactoryWebhook};
use chrono::{Days, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use uuid::Uuid;

use super::FactoryState;
use crate::catalogue::{self, INCOMPATIBLE};

/// The factory's answer when it will not do what was asked.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    body: FactoryRejection,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, reason: impl Into<String>) -> Self {
        Self { status, body: FactoryRejection { code: code.into(), reason: reason.into() } }
    }

    fn rejected(code: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, reason)
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "factory storage error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "factory storage error")
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body.reason, self.body.code)
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(error: rusqlite::Error) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

fn authorise(state: &FactoryState, headers: &HeaderMap) -> Result<(), Refusal> {
    let presented =
        headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if presented == Some(&*state.api_key) {
        Ok(())
    } else {
        Err(Refusal::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown factory API key"))
    }
}

/// Checks a configuration against the catalogue, as the factory does before it accepts an order.
fn check_configuration(request: &FactoryOrderRequest) -> Result<&'static catalogue::BasePlatform, Refusal> {
    let config = &request.configuration;
    let platform = catalogue::base_platform(&config.base_platform).ok_or_else(|| {
        Refusal::rejected(
            "unknown_base_platform",
            format!("the factory does not build a base platform called `{}`", config.base_platform),
        )
    })?;
    for option in &config.options {
        if !platform.options.contains(&option.as_str()) {
            return Err(Refusal::rejected(
                "unknown_option",
                format!("option `{option}` is not available for the {}", platform.name),
            ));
        }
    }
    for (a, b, why) in INCOMPATIBLE {
        if config.options.iter().any(|o| o == a) && config.options.iter().any(|o| o == b) {
            return Err(Refusal::rejected(
                "incompatible_options",
                format!("`{a}` and `{b}` cannot be combined: {why}"),
            ));
        }
    }
    Ok(platform)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `POST /orders`: accepts an order at once or refuses it with the reason. Placing the same
/// platform order twice returns the first acceptance.
pub async fn place_order(
    State(state): State<FactoryState>,
    headers: HeaderMap,
    Json(request): Json<FactoryOrderRequest>,
) -> Result<(StatusCode, Json<FactoryOrderAccepted>), Refusal> {
    authorise(&state, &headers)?;
    if state.unavailable.load(Ordering::Acquire) {
        tracing::info!(order = %request.platform_order_id, "sandbox fault: the factory is down for an order");
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the factory is down (sandbox fault)",
        ));
    }
    let platform = check_configuration(&request)?;
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let existing: Option<(String, String, String)> = tx
        .query_row_cached(
            "SELECT id, vin, estimated_completion FROM factory_orders WHERE platform_order_id = ?1",
            [request.platform_order_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((factory_order_id, vin, estimate)) = existing {
        let estimated_completion = estimate.parse().map_err(Refusal::internal)?;
        return Ok((StatusCode::OK, Json(FactoryOrderAccepted { factory_order_id, vin, estimated_completion })));
    }
    let serial: i64 = tx.query_row_cached("SELECT COUNT(*) + 1 FROM factory_orders", [], |r| r.get(0))?;
    let factory_order_id = format!("FO-{serial:06}");
    let model_code: String = platform.id.split('-').map(|w| w[..1].to_uppercase()).collect::<String>();
    let vin = format!("VCA{model_code:X<3}{serial:011}");
    let estimated_completion = today() + Days::new(platform.production_days.unsigned_abs());
    let now = Utc::now().to_rfc3339();
    tx.execute_cached(
        "INSERT INTO factory_orders (id, platform_order_id, vin, request, stage, estimated_completion, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            factory_order_id,
            request.platform_order_id.to_string(),
            vin,
            serde_json::to_string(&request).map_err(Refusal::internal)?,
            OrderState::OrderPlaced.wire_name(),
            estimated_completion.to_string(),
            now
        ],
    )?;
    tx.commit()?;
    tracing::info!(%factory_order_id, %vin, %estimated_completion, "factory accepted an order");
    Ok((StatusCode::CREATED, Json(FactoryOrderAccepted { factory_order_id, vin, estimated_completion })))
}

struct ProductionRecord {
    platform_order_id: Uuid,
    vin: String,
    stage: OrderState,
    estimate: NaiveDate,
}

fn record(conn: &Connection, id: &str) -> Result<ProductionRecord, Refusal> {
    let row: Option<(String, String, String, String)> = conn
        .query_row_cached(
            "SELECT platform_order_id, vin, stage, estimated_completion FROM factory_orders WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (platform_order_id, vin, stage, estimate) =
        row.ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such factory order"))?;
    Ok(ProductionRecord {
        platform_order_id: platform_order_id.parse().map_err(Refusal::internal)?,
        vin,
        stage: stage.parse().map_err(Refusal::internal)?,
        estimate: estimate.parse().map_err(Refusal::internal)?,
    })
}

fn queue_webhook(
    conn: &Connection,
    id: &str,
    record: &ProductionRecord,
    kind: FactoryEventType,
    reason: Option<String>,
) -> Result<(), Refusal> {
    let webhook = FactoryWebhook {
        kind,
        timestamp: Utc::now(),
        data: FactoryOrderUpdate {
            factory_order_id: id.to_owned(),
            platform_order_id: record.platform_order_id,
            stage: record.stage,
            estimated_completion: record.estimate,
            reason,
        },
    };
    conn.execute_cached(
        "INSERT INTO factory_webhook_outbox (webhook_id, factory_order_id, body) VALUES (?1, ?2, ?3)",
        params![
            format!("msg_{}", Uuid::now_v7().simple()),
            id,
            serde_json::to_string(&webhook).map_err(Refusal::internal)?
        ],
    )?;
    conn.execute_cached(
        "UPDATE factory_orders SET stage = ?2, estimated_completion = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, record.stage.wire_name(), record.estimate.to_string(), Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

/// Moves one order to its next stage and queues the webhook. The factory revises its estimate on
/// the way: a supplier delay during assembly for some cars, and the actual date at completion.
fn advance_one(conn: &Connection, id: &str) -> Result<OrderState, Refusal> {
    let mut record = record(conn, id)?;
    let next = record
        .stage
        .next_factory_stage()
        .ok_or_else(|| Refusal::new(StatusCode::CONFLICT, "finished", "the car has already left the factory"))?;
    record.stage = next;
    let reason = match next {
        // Cars whose serial is odd wait for a late battery delivery: a realistic, repeatable delay.
        OrderState::Assembly if record.vin.ends_with(['1', '3', '5', '7', '9']) => {
            record.estimate = record.estimate + Days::new(3);
            Some("supplier delay: battery modules arrived late".to_owned())
        }
        OrderState::ManufacturingComplete if record.estimate != today() => {
            record.estimate = today();
            Some("the car is complete".to_owned())
        }
        _ => None,
    };
    queue_webhook(conn, id, &record, FactoryEventType::StageChanged, reason)?;
    Ok(next)
}

#[derive(Debug, Deserialize)]
pub struct AdvanceRequest {
    #[serde(default)]
    to: Option<OrderState>,
}

/// Sandbox: one stage on, or every stage up to `to`; the webhooks are delivered before answering.
pub async fn sandbox_advance(
    State(state): State<FactoryState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(request): Json<AdvanceRequest>,
) -> Result<StatusCode, Refusal> {
    authorise(&state, &headers)?;
    {
        let mut conn = state.db.lock();
        let tx = conn.transaction()?;
        let current = record(&tx, &id)?.stage;
        let target = match request.to {
            None => current.next_factory_stage().unwrap_or(current),
            Some(to) => to,
        };
        let (Some(from), Some(goal)) =
            (FACTORY_STAGES.iter().position(|s| *s == current), FACTORY_STAGES.iter().position(|s| *s == target))
        else {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "not_a_stage",
                format!("`{target}` is not a factory stage"),
            ));
        };
        if goal <= from {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "already_there",
                format!("the order is at `{current}`, which is not before `{target}`"),
            ));
        }
        for _ in from..goal {
            advance_one(&tx, &id)?;
        }
        tx.commit()?;
    }
    state.webhooks.deliver_pending().await.map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, "delivery_failed", e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct DelayRequest {
    days: i64,
    reason: String,
}

/// Sandbox: revise the estimate by some days, with a reason.
pub async fn sandbox_delay(
    State(state): State<FactoryState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(request): Json<DelayRequest>,
) -> Result<StatusCode, Refusal> {
    authorise(&state, &headers)?;
    {
        let conn = state.db.lock();
        let mut record = record(&conn, &id)?;
        if record.stage.is_manufactured() {
            return Err(Refusal::new(StatusCode::CONFLICT, "finished", "the car is already complete"));
        }
        let shifted = if request.days >= 0 {
            record.estimate.checked_add_days(Days::new(request.days.unsigned_abs()))
        } else {
            record.estimate.checked_sub_days(Days::new(request.days.unsigned_abs()))
        };
        record.estimate = shifted.ok_or_else(|| Refusal::rejected("invalid", "date out of range"))?;
        queue_webhook(&conn, &id, &record, FactoryEventType::EstimateRevised, Some(request.reason))?;
    }
    state.webhooks.deliver_pending().await.map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, "delivery_failed", e))?;
    Ok(StatusCode::NO_CONTENT)
}

// One type for both sides: the platform's sandbox API takes and shows this switch as the
// factory's own sandbox does, and the platform's client passes it on as it is.
/// The factory's fault switch, as it is set and as it is now.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FactoryFaults {
    /// Whether the factory is down: new orders fail with `factory_unavailable` (the deposit is
    /// kept) until it is back and the dealership retries the factory order.
    pub unavailable: bool,
}

/// Sandbox: takes the factory's order desk down, or brings it back. Production goes on either way:
/// only placing orders is refused.
pub async fn sandbox_faults(
    State(state): State<FactoryState>,
    headers: HeaderMap,
    Json(request): Json<FactoryFaults>,
) -> Result<StatusCode, Refusal> {
    authorise(&state, &headers)?;
    state.unavailable.store(request.unavailable, Ordering::Release);
    tracing::info!(down = request.unavailable, "sandbox fault: the factory's availability switched");
    Ok(StatusCode::NO_CONTENT)
}

/// Sandbox: the fault switch as it is now, so the sandbox can show an outage left on.
pub async fn sandbox_faults_now(
    State(state): State<FactoryState>,
    headers: HeaderMap,
) -> Result<Json<FactoryFaults>, Refusal> {
    authorise(&state, &headers)?;
    Ok(Json(FactoryFaults { unavailable: state.unavailable.load(Ordering::Acquire) }))
}

/// Moves every unfinished order one stage on (the `--auto-advance` clock).
pub fn advance_all(state: &FactoryState) -> Result<(), Refusal> {
    let mut conn = state.db.lock();
    let tx = conn.transaction()?;
    let ids: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT id FROM factory_orders WHERE stage != ?1 ORDER BY id")?;
        let rows = stmt.query_map([OrderState::DispatchedToLocality.wire_name()], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in ids {
        advance_one(&tx, &id)?;
    }
    tx.commit()?;
    Ok(())
}
