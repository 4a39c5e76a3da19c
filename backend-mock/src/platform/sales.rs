//! The dealership's side: registering a sale, recording the reservation deposit and, through it,
//! placing the order with the factory.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use caas_protocol::api::{
    AmendConfigurationRequest, ApiError, ErrorCode, EventKind, FactoryOrderRequest, OrderView,
    RecordReservationRequest, RegisterSaleRequest,
};
use caas_protocol::{Actor, OrderState};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::factory_client::PlacementError;
use super::orders::{self, NewOrder, Viewer};
use crate::auth::DealershipAuth;
use crate::error::{AppError, AppResult};
use crate::validate;

#[utoipa::path(post, path = "/v1/dealership/sales", tag = "dealership", request_body = RegisterSaleRequest,
    responses((status = 201, body = OrderView), (status = 401, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Registers a sale: the customer's account is created on first sale, the order starts in
/// `sale_registered`.
pub async fn register_sale(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Json(sale): Json<RegisterSaleRequest>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    let email = validate::customer(&sale.customer)?;
    validate::configuration(&sale.configuration)?;
    validate::text("delivery_locality", &sale.delivery_locality, 120)?;
    let id = state.change(|tx| {
        let existing: Option<String> =
            tx.query_row("SELECT id FROM customers WHERE email = ?1", [&email], |r| r.get(0)).optional()?;
        let customer_id = match existing.and_then(|id| id.parse::<Uuid>().ok()) {
            Some(id) => id,
            None => {
                let id = Uuid::now_v7();
                tx.execute(
                    "INSERT INTO customers (id, email, name, country, phone) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        id.to_string(),
                        email,
                        sale.customer.name.trim(),
                        sale.customer.country,
                        sale.customer.phone
                    ],
                )?;
                id
            }
        };
        let new = NewOrder {
            customer_id,
            dealership_id: &auth.dealership_id,
            configuration: &sale.configuration,
            delivery_locality: sale.delivery_locality.trim(),
        };
        let (id, event) = orders::create(tx, &new)?;
        Ok((id, vec![event]))
    })?;
    tracing::info!(order = %id, dealership = %auth.dealership_id, "sale registered");
    let view = orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/dealership/orders", tag = "dealership",
    responses((status = 200, body = [OrderView])), security(("bearer" = [])))]
/// The dealership's orders, newest first.
pub async fn list_orders(State(state): State<AppState>, auth: DealershipAuth) -> AppResult<Json<Vec<OrderView>>> {
    Ok(Json(orders::list(&state.db.lock(), Viewer::Dealership(&auth.dealership_id))?))
}

#[utoipa::path(get, path = "/v1/dealership/orders/{id}", tag = "dealership",
    responses((status = 200, body = OrderView), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// One of the dealership's orders.
pub async fn get_order(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?))
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/reservation", tag = "dealership",
    request_body = RecordReservationRequest,
    responses((status = 200, body = OrderView, description = "deposit recorded and the factory accepted the order"),
              (status = 409, body = ApiError), (status = 422, body = ApiError, description = "configuration_rejected: the factory refused; the order keeps its state"),
              (status = 503, body = ApiError, description = "factory_unavailable: retry the factory order")),
    security(("bearer" = [])))]
/// Records the reservation deposit (*señal*), then places the order with the factory at once.
pub async fn record_reservation(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<RecordReservationRequest>,
) -> AppResult<Json<OrderView>> {
    validate::money("deposit", &request.deposit)?;
    state.change(|tx| {
        orders::view(tx, id, Viewer::Dealership(&auth.dealership_id))?;
        let event = orders::transition(tx, id, OrderState::ReservationPaid, Actor::Dealership)?;
        orders::set_deposit(tx, id, &request.deposit)?;
        Ok(((), vec![event]))
    })?;
    place_with_factory(&state, id, &auth.dealership_id).await
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/configuration", tag = "dealership",
    request_body = AmendConfigurationRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Corrects the configuration of an order the factory has not accepted yet, and orders again.
pub async fn amend_configuration(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<AmendConfigurationRequest>,
) -> AppResult<Json<OrderView>> {
    validate::configuration(&request.configuration)?;
    let placeable = {
        let conn = state.db.lock();
        let view = orders::view(&conn, id, Viewer::Dealership(&auth.dealership_id))?;
        if view.factory_order_id.is_some() {
            return Err(AppError::conflict(ErrorCode::IllegalTransition, "the factory already accepted this order"));
        }
        orders::set_configuration(&conn, id, &request.configuration)?;
        view.state == OrderState::ReservationPaid
    };
    if placeable {
        place_with_factory(&state, id, &auth.dealership_id).await
    } else {
        Ok(Json(orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?))
    }
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/factory-order", tag = "dealership",
    responses((status = 200, body = OrderView), (status = 409, body = ApiError), (status = 422, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
/// Places the order with the factory again, after the factory was unreachable.
pub async fn retry_factory_order(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OrderView>> {
    place_with_factory(&state, id, &auth.dealership_id).await
}

/// Places a `reservation_paid` order with the factory. On acceptance the order moves to
/// `order_placed` with the factory's first estimate; on refusal it keeps its state and carries the
/// factory's reason, which its customer is told too.
async fn place_with_factory(state: &AppState, id: Uuid, dealership_id: &str) -> AppResult<Json<OrderView>> {
    let view = orders::view(&state.db.lock(), id, Viewer::Dealership(dealership_id))?;
    if view.state != OrderState::ReservationPaid {
        return Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("only a reserved order can be placed with the factory; this one is `{}`", view.state),
        ));
    }
    let request = FactoryOrderRequest {
        platform_order_id: id,
        configuration: view.configuration.clone(),
        dealership_id: dealership_id.to_owned(),
        delivery_locality: view.delivery_locality.clone(),
    };
    match state.factory.place_order(&request).await {
        Ok(accepted) => {
            state.change(|tx| {
                orders::set_factory_order(tx, id, &accepted.factory_order_id, &accepted.vin)?;
                let placed = orders::transition(tx, id, OrderState::OrderPlaced, Actor::Platform)?;
                let estimate = orders::append(
                    tx,
                    id,
                    EventKind::EstimateRevised {
                        estimated_completion: accepted.estimated_completion,
                        reason: "the factory accepted the order and scheduled production".into(),
                    },
                )?;
                Ok(((), vec![placed, estimate]))
            })?;
            tracing::info!(order = %id, factory_order = %accepted.factory_order_id, "order placed with the factory");
            Ok(Json(orders::view(&state.db.lock(), id, Viewer::Dealership(dealership_id))?))
        }
        Err(PlacementError::Rejected(rejection)) => {
            state.change(|tx| {
                let event = orders::append(
                    tx,
                    id,
                    EventKind::ConfigurationRejected { code: rejection.code.clone(), reason: rejection.reason.clone() },
                )?;
                Ok(((), vec![event]))
            })?;
            tracing::info!(order = %id, code = %rejection.code, "factory refused the configuration");
            Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ConfigurationRejected, rejection.reason))
        }
        Err(PlacementError::Unavailable(reason)) => {
            tracing::warn!(order = %id, %reason, "factory unavailable");
            Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::FactoryUnavailable,
                "the factory could not be reached; the deposit is recorded, retry the factory order",
            ))
        }
    }
}
