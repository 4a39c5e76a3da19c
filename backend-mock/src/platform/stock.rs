//! The cars as the dealership network holds them. A car is assigned to the purchase record it was
//! built for; when that customer does not pay, it loses its customer and becomes stock of its
//! dealership, keeping its configuration and manufacturing history, and can be sold at once.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::api::{
    ApiError, ErrorCode, EventKind, ManufacturingStep, Money, OrderView, StockSaleRequest, StockVehicle,
    VehicleConfiguration,
};
use caas_protocol::lifecycle::FACTORY_STAGES;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::orders::{self, NewOrder, Viewer};
use super::sales::find_or_create_customer;
use crate::auth::DealershipAuth;
use crate::error::{AppError, AppResult};
use crate::validate;

const ASSIGNED: &str = "assigned";
const AVAILABLE: &str = "available_for_sale";

/// Records the car the factory accepted to build for `order`, assigned to its customer.
pub fn assign_new(conn: &Connection, order: &OrderView, vin: &str) -> AppResult<()> {
    let customer = orders::customer_of(conn, order.id)?;
    let price = order.price.as_ref().ok_or_else(|| AppError::invalid("the order has no price"))?;
    conn.execute_cached(
        "INSERT INTO vehicles (vin, dealership_id, configuration, price, assigned_customer_id, order_id, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            vin,
            order.dealership.id,
            serde_json::to_string(&order.configuration)?,
            serde_json::to_string(price)?,
            customer.to_string(),
            order.id.to_string(),
            ASSIGNED,
            Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

/// The car of `order` loses its customer and becomes stock of its dealership, with the factory
/// stages it went through kept from the order's log.
pub fn release_to_stock(conn: &Connection, order: Uuid) -> AppResult<()> {
    let manufacturing: Vec<ManufacturingStep> = orders::events_after(conn, order, 0, u32::MAX)?
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::StateChanged { to, .. } if FACTORY_STAGES.contains(&to) => {
                Some(ManufacturingStep { stage: to, at: e.occurred_at })
            }
            _ => None,
        })
        .collect();
    let released = conn.execute_cached(
        "UPDATE vehicles SET assigned_customer_id = NULL, order_id = NULL, status = ?2,
                manufacturing = CASE WHEN manufacturing = '[]' THEN ?3 ELSE manufacturing END, updated_at = ?4
         WHERE order_id = ?1",
        params![order.to_string(), AVAILABLE, serde_json::to_string(&manufacturing)?, Utc::now().to_rfc3339()],
    )?;
    if released != 1 {
        return Err(AppError::invalid("the order has no car to release"));
    }
    Ok(())
}

fn stock_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn stock_vehicle(row: (String, String, String, String, String)) -> AppResult<StockVehicle> {
    let (vin, dealership_id, configuration, price, manufacturing) = row;
    Ok(StockVehicle {
        vin,
        dealership_id,
        configuration: serde_json::from_str::<VehicleConfiguration>(&configuration)?,
        price: serde_json::from_str::<Money>(&price)?,
        manufacturing: serde_json::from_str(&manufacturing)?,
    })
}

const STOCK_COLUMNS: &str = "vin, dealership_id, configuration, price, manufacturing";

#[utoipa::path(get, path = "/v1/dealership/stock", tag = "dealership",
    responses((status = 200, body = [StockVehicle])), security(("bearer" = [])))]
/// The dealership's cars available for sale.
pub async fn list_stock(State(state): State<AppState>, auth: DealershipAuth) -> AppResult<Json<Vec<StockVehicle>>> {
    let conn = state.db.lock();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STOCK_COLUMNS} FROM vehicles WHERE dealership_id = ?1 AND status = ?2 ORDER BY updated_at, vin"
    ))?;
    let rows = stmt.query_map(params![auth.dealership_id, AVAILABLE], stock_from_row)?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Json(rows.into_iter().map(stock_vehicle).collect::<AppResult<_>>()?))
}

#[utoipa::path(post, path = "/v1/dealership/stock/{vin}/sales", tag = "dealership", request_body = StockSaleRequest,
    responses((status = 201, body = OrderView), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// Sells a stock car: a new purchase record for the car as built. Once the deposit is recorded
/// the order goes straight to the final payment; there is no factory order.
pub async fn sell_from_stock(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(vin): Path<String>,
    Json(sale): Json<StockSaleRequest>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    let owned: Option<String> = state
        .db
        .lock()
        .query_row_cached(
            "SELECT vin FROM vehicles WHERE vin = ?1 AND dealership_id = ?2",
            params![vin, auth.dealership_id],
            |r| r.get(0),
        )
        .optional()?;
    owned.ok_or_else(|| AppError::not_found("stock car"))?;
    let email = validate::customer(&sale.customer)?;
    validate::text("delivery_locality", &sale.delivery_locality, 120)?;
    let id = state.change(|tx| {
        let (row, status) = tx
            .query_row_cached(
                &format!("SELECT {STOCK_COLUMNS}, status FROM vehicles WHERE vin = ?1 AND dealership_id = ?2"),
                params![vin, auth.dealership_id],
                |r| Ok((stock_from_row(r)?, r.get::<_, String>(5)?)),
            )
            .optional()?
            .ok_or_else(|| AppError::not_found("stock car"))?;
        if status != AVAILABLE {
            return Err(AppError::conflict(ErrorCode::Conflict, "this car is already assigned to a customer"));
        }
        let car = stock_vehicle(row)?;
        let customer_id = find_or_create_customer(tx, &email, &sale.customer)?;
        let new = NewOrder {
            customer_id,
            dealership_id: &auth.dealership_id,
            configuration: &car.configuration,
            delivery_locality: sale.delivery_locality.trim(),
            price: Some(car.price.clone()),
            stock_vin: Some(&car.vin),
            registration: &sale.customer.registration,
        };
        let (id, event) = orders::create(tx, &new)?;
        tx.execute_cached(
            "UPDATE vehicles SET assigned_customer_id = ?2, order_id = ?3, status = ?4, updated_at = ?5 WHERE vin = ?1",
            params![car.vin, customer_id.to_string(), id.to_string(), ASSIGNED, Utc::now().to_rfc3339()],
        )?;
        Ok((id, vec![event]))
    })?;
    tracing::info!(order = %id, "stock car sold");
    let view = orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?;
    Ok((StatusCode::CREATED, Json(view)))
}
