//! The dealership's side: registering a sale, recording the reservation deposit and, through it,
//! placing the order with the factory.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::api::{
    AmendConfigurationRequest, ApiError, CustomerDetails, ErrorCode, EventKind, FactoryOrderRequest, Money, OrderView,
    RecordReservationRequest, RegisterSaleRequest, VehicleConfiguration,
};
use caas_protocol::{Actor, OrderState};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::factory_client::PlacementError;
use super::orders::{self, NewOrder, Viewer};
use super::{payments, stock};
use crate::auth::DealershipAuth;
use crate::catalogue;
use crate::error::{AppError, AppResult};
use crate::validate;

#[utoipa::path(post, path = "/v1/dealership/sales", tag = "dealership", request_body = RegisterSaleRequest,
    responses((status = 201, body = OrderView), (status = 401, body = ApiError),
              (status = 404, body = ApiError, description = "the staff token's dealership is no longer in the catalogue"),
              (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Registers a sale: the customer's account is created on first sale, the order starts in
/// `sale_registered`.
pub async fn register_sale(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Json(sale): Json<RegisterSaleRequest>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    Ok((StatusCode::CREATED, Json(register(&state, &auth.dealership_id, &sale).await?)))
}

/// Registers a sale at `dealership` (the body of `POST /v1/dealership/sales`, shared with the
/// sandbox's own callers): the customer's account is created on first sale, the order starts in
/// `sale_registered`.
pub async fn register(state: &AppState, dealership: &str, sale: &RegisterSaleRequest) -> AppResult<OrderView> {
    let email = validate::customer(&sale.customer)?;
    validate::configuration(&sale.configuration)?;
    validate::text("delivery_locality", &sale.delivery_locality, 120)?;
    if catalogue::dealership(dealership).is_none() {
        return Err(AppError::not_found("dealership"));
    }
    let price = list_price(&sale.configuration);
    let id = state.change(|tx| {
        let customer_id = find_or_create_customer(tx, &email, &sale.customer)?;
        let new = NewOrder {
            customer_id,
            dealership_id: dealership,
            configuration: &sale.configuration,
            delivery_locality: sale.delivery_locality.trim(),
            price,
            stock_vin: None,
            registration: &sale.customer.registration,
        };
        let (id, event) = orders::create(tx, &new)?;
        Ok((id, vec![event]))
    })?;
    tracing::info!(order = %id, %dealership, "sale registered");
    orders::view(&state.db.lock(), id, Viewer::Dealership(dealership))
}

/// The customer with this email, created on their first sale. A later sale to the same email,
/// by any dealership, finds the account and changes nothing on it: the registration details and
/// address it brings belong to that sale's order.
pub(crate) fn find_or_create_customer(conn: &Connection, email: &str, details: &CustomerDetails) -> AppResult<Uuid> {
    validate::registration(&details.registration)?;
    let existing: Option<String> =
        conn.query_row_cached("SELECT id FROM customers WHERE email = ?1", [email], |r| r.get(0)).optional()?;
    if let Some(id) = existing.and_then(|id| id.parse::<Uuid>().ok()) {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    let registration = &details.registration;
    conn.execute_cached(
        "INSERT INTO customers (id, email, name, country, phone, national_id, tax_number, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.to_string(),
            email,
            details.name.trim(),
            details.country,
            details.phone,
            registration.national_id,
            registration.tax_number,
            registration.address
        ],
    )?;
    Ok(id)
}

/// The catalogue's price of a configuration; `None` for parts the catalogue does not know (the
/// factory refuses those anyway).
fn list_price(configuration: &VehicleConfiguration) -> Option<Money> {
    catalogue::price_minor(&configuration.base_platform, &configuration.options)
        .map(|amount_minor| Money { amount_minor, currency: "EUR".into() })
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
    reserve(&state, &auth.dealership_id, id, &request.deposit).await.map(Json)
}

/// Records the reservation deposit of one of `dealership`'s orders, then places the order with the
/// factory at once (a car sold from stock is asked for its final payment instead). The body of
/// `POST /v1/dealership/orders/{id}/reservation`, and the sandbox's step to `reservation_paid`.
pub async fn reserve(state: &AppState, dealership: &str, id: Uuid, deposit: &Money) -> AppResult<OrderView> {
    // The caller's own order first: another dealership learns nothing, not even about its input.
    orders::view(&state.db.lock(), id, Viewer::Dealership(dealership))?;
    validate::money("deposit", deposit)?;
    let from_stock = state.change(|tx| {
        let view = orders::view(tx, id, Viewer::Dealership(dealership))?;
        if let Some(price) = &view.price
            && (price.currency != deposit.currency || deposit.amount_minor >= price.amount_minor)
        {
            return Err(AppError::invalid(format!("the deposit must be less than the price ({price})")));
        }
        let mut events = vec![orders::transition(tx, id, OrderState::ReservationPaid, Actor::Dealership)?];
        orders::set_deposit(tx, id, deposit)?;
        if view.from_stock {
            events.extend(payments::request_final_payment(tx, state, id)?);
        }
        Ok((view.from_stock, events))
    })?;
    if from_stock {
        return orders::view(&state.db.lock(), id, Viewer::Dealership(dealership));
    }
    place_with_factory(state, id, dealership).await
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
        orders::set_configuration(&conn, id, &request.configuration, list_price(&request.configuration).as_ref())?;
        view.state == OrderState::ReservationPaid
    };
    if placeable {
        place_with_factory(&state, id, &auth.dealership_id).await.map(Json)
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
    place_with_factory(&state, id, &auth.dealership_id).await.map(Json)
}

/// Places a `reservation_paid` order with the factory. On acceptance the order moves to
/// `order_placed` with the factory's first estimate; on refusal it keeps its state and carries the
/// factory's reason, which its customer is told too. Also the sandbox's step to `order_placed`.
pub async fn place_with_factory(state: &AppState, id: Uuid, dealership_id: &str) -> AppResult<OrderView> {
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
                stock::assign_new(tx, &view, &accepted.vin)?;
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
            orders::view(&state.db.lock(), id, Viewer::Dealership(dealership_id))
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
