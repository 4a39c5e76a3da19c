//! The dealership's desk for cars the transport could not deliver: receiving the car back, and
//! handing it over to the customer who comes for it, on the customer's handover code.

use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderEvent, OrderView};
use caas_protocol::delivery::{Custody, DealershipHandoverRequest, Handover, HandoverPlace};
use caas_protocol::handover::{Expected, is_short_code};
use caas_protocol::{Actor, OrderState};
use chrono::Utc;
use rusqlite::Connection;
use uuid::Uuid;

use crate::auth::DealershipAuth;
use crate::catalogue;
use crate::error::{AppError, AppResult};
use crate::platform::AppState;
use crate::platform::orders::{self, Viewer};

fn staff_party(dealership: &catalogue::Dealership) -> String {
    format!("{} staff", dealership.name)
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/reception", tag = "dealership",
    responses((status = 200, body = OrderView), (status = 409, body = ApiError)), security(("bearer" = [])))]
/// Records the car's reception back at the dealership; the customer is told where and when to
/// collect it.
pub async fn receive(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OrderView>> {
    let dealership = catalogue::dealership(&auth.dealership_id).ok_or_else(|| AppError::not_found("dealership"))?;
    receive_car(&state, dealership, id).map(Json)
}

/// Records the reception of one of `dealership`'s returned cars: the body of
/// `POST /v1/dealership/orders/{id}/reception`, and the sandbox's step to `held_at_dealership`.
pub fn receive_car(state: &AppState, dealership: &'static catalogue::Dealership, id: Uuid) -> AppResult<OrderView> {
    state.change(|tx| {
        orders::view(tx, id, Viewer::Dealership(dealership.id))?;
        let mut delivery = super::of_order(tx, id)?.ok_or_else(|| AppError::not_found("delivery"))?;
        let changed = orders::transition(tx, id, OrderState::HeldAtDealership, Actor::Dealership)?;
        let custody = Custody { at: Utc::now(), party: staff_party(dealership) };
        let pickup = super::pickup_point(dealership);
        delivery.reception = Some(custody.clone());
        delivery.pickup = Some(pickup.clone());
        super::save(tx, &delivery)?;
        let events = vec![
            changed,
            orders::append(tx, id, EventKind::ReceivedAtDealership { custody })?,
            orders::append(tx, id, EventKind::PickupRequired { pickup })?,
        ];
        Ok((orders::view(tx, id, Viewer::Dealership(dealership.id))?, events))
    })
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/handover", tag = "dealership",
    request_body = DealershipHandoverRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ApiError),
              (status = 422, body = ApiError, description = "handover_code_invalid, handover_code_expired, handover_code_used"),
              (status = 429, body = ApiError, description = "too_many_attempts: five wrong codes; the customer shows a new code")),
    security(("bearer" = [])))]
/// Hands a held car to its customer, who shows the handover code (QR token or the eight digits).
pub async fn hand_over(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<DealershipHandoverRequest>,
) -> AppResult<Json<OrderView>> {
    let dealership = catalogue::dealership(&auth.dealership_id).ok_or_else(|| AppError::not_found("dealership"))?;
    hand_over_at_desk(&state, dealership, id, &request.code).map(Json)
}

/// Hands one of `dealership`'s held cars to its customer on the code they show (QR token or the
/// eight digits): the body of `POST /v1/dealership/orders/{id}/handover`, and the sandbox's step
/// from `held_at_dealership` to `delivered`.
pub fn hand_over_at_desk(
    state: &AppState,
    dealership: &'static catalogue::Dealership,
    id: Uuid,
    code: &str,
) -> AppResult<OrderView> {
    let code = code.trim();
    // Eight digits resolve outside the handover's transaction, so a wrong guess stays counted.
    let token = if is_short_code(code) {
        let conn = state.db.lock();
        let view = orders::view(&conn, id, Viewer::Dealership(dealership.id))?;
        if view.state != OrderState::HeldAtDealership {
            return Err(AppError::conflict(
                ErrorCode::IllegalTransition,
                format!("a code is checked at the desk for a car held here; the order is `{}`", view.state),
            ));
        }
        let delivery = super::of_order(&conn, id)?.ok_or_else(|| AppError::not_found("delivery"))?;
        state.handover.resolve_short_code(&conn, id, delivery.attempt, code)?.token
    } else {
        code.to_owned()
    };
    state.change(|tx| hand_over_in(state, tx, dealership, id, &token))
}

/// Hands a held car over on the code's signed `token`, inside the caller's transaction, answering
/// the events it appended too: the desk's handover, and the sandbox's, which issues the customer's
/// code in the same change so a refused handover leaves the customer's codes as they were.
pub(crate) fn hand_over_in(
    state: &AppState,
    tx: &Connection,
    dealership: &'static catalogue::Dealership,
    id: Uuid,
    token: &str,
) -> AppResult<(OrderView, Vec<OrderEvent>)> {
    orders::view(tx, id, Viewer::Dealership(dealership.id))?;
    let mut delivery = super::of_order(tx, id)?.ok_or_else(|| AppError::not_found("delivery"))?;
    // The code first, so a code shown twice is named as such even after the handover.
    let now = Utc::now();
    let expected = Expected { order_id: id, attempt: delivery.attempt, at: now };
    state.handover.accept(tx, token, expected, None)?;
    let changed = orders::transition(tx, id, OrderState::Delivered, Actor::Dealership)?;
    let handover = Handover { at: now, place: HandoverPlace::Dealership, by: staff_party(dealership) };
    delivery.handover = Some(handover.clone());
    super::save(tx, &delivery)?;
    let events = vec![changed, orders::append(tx, id, EventKind::HandedOver { handover })?];
    Ok((orders::view(tx, id, Viewer::Dealership(dealership.id))?, events))
}
