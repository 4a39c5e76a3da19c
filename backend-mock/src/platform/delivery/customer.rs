//! The customer's side of the delivery: the windows on offer, moving the delivery under the
//! rules, confirming the address, and the handover code.

use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use caas_protocol::OrderState;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderView, ScheduleReason};
use caas_protocol::delivery::{
    CHANGE_CUTOFF_HOURS, ChooseSlotRequest, ConfirmAddressRequest, DISPUTE_WINDOW_DAYS, DeliverySlot,
    DisputeHandoverRequest, HandoverCodeView, HandoverDispute, MAX_CUSTOMER_CHANGES,
};
use chrono::TimeDelta;
use uuid::Uuid;

use super::{Delivery, slots};
use crate::auth::{CarriesCredential, CustomerAuth};
use crate::error::{AppError, AppResult};
use crate::platform::AppState;
use crate::platform::orders::{self, Viewer};
use crate::validate;

/// The customer's order and its delivery, or not found.
fn own_delivery(conn: &rusqlite::Connection, auth: CustomerAuth, id: Uuid) -> AppResult<(OrderView, Delivery)> {
    let view = orders::view(conn, id, Viewer::Customer(auth.customer_id))?;
    let delivery = super::of_order(conn, id)?.ok_or_else(|| {
        AppError::conflict(ErrorCode::IllegalTransition, "no delivery is booked yet: the car is not registered")
    })?;
    Ok((view, delivery))
}

/// Whether the customer may still arrange the delivery: booked, and the car not on its way.
fn arrangeable(state: OrderState) -> AppResult<()> {
    if matches!(state, OrderState::TransportScheduled | OrderState::DeliveryRescheduled) {
        Ok(())
    } else {
        Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("the delivery can no longer be arranged: the order is `{state}`"),
        ))
    }
}

#[utoipa::path(get, path = "/v1/orders/{id}/delivery/slots", tag = "customer",
    responses((status = 200, body = [DeliverySlot]), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// The windows the customer may move the delivery to: the transport company's free windows from
/// 24 hours ahead, for two weeks.
pub async fn slots(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<DeliverySlot>>> {
    let conn = state.db.lock();
    let (_, delivery) = own_delivery(&conn, auth, id)?;
    let from = state.clock.now() + TimeDelta::hours(CHANGE_CUTOFF_HOURS);
    Ok(Json(slots::offered(&conn, delivery.company()?, from, Some(id))?))
}

#[utoipa::path(post, path = "/v1/orders/{id}/delivery/window", tag = "customer", request_body = ChooseSlotRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "change_too_late, change_limit_reached, slot_unavailable, or the car is on its way")),
    security(("bearer" = [])))]
/// Moves the delivery to another offered window: at most three times, and not within 24 hours of
/// the booked window.
pub async fn choose_window(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<ChooseSlotRequest>,
) -> AppResult<Json<OrderView>> {
    let now = state.clock.now();
    state
        .change(|tx| {
            let (view, mut delivery) = own_delivery(tx, auth, id)?;
            arrangeable(view.state)?;
            if delivery.customer_changes >= MAX_CUSTOMER_CHANGES {
                return Err(AppError::conflict(
                    ErrorCode::ChangeLimitReached,
                    format!("the delivery was moved {MAX_CUSTOMER_CHANGES} times already; call the dealership"),
                ));
            }
            let cutoff = TimeDelta::hours(CHANGE_CUTOFF_HOURS);
            if delivery.window.start - now < cutoff {
                return Err(AppError::conflict(
                    ErrorCode::ChangeTooLate,
                    format!("the delivery starts within {CHANGE_CUTOFF_HOURS} hours and can no longer be moved"),
                ));
            }
            let offered = slots::offered(tx, delivery.company()?, now + cutoff, Some(id))?;
            let window = slots::find(&offered, request.start).ok_or_else(|| {
                AppError::conflict(ErrorCode::SlotUnavailable, "that window is not offered or has just been taken")
            })?;
            if window == delivery.window {
                return Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, Vec::new()));
            }
            delivery.window = window;
            delivery.customer_changes += 1;
            super::save(tx, &delivery)?;
            let company = delivery.company()?.name.to_owned();
            let event = orders::append(
                tx,
                id,
                EventKind::DeliveryScheduled {
                    attempt: delivery.attempt,
                    window,
                    company,
                    reason: ScheduleReason::CustomerChanged,
                },
            )?;
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, vec![event]))
        })
        .map(Json)
}

#[utoipa::path(post, path = "/v1/orders/{id}/delivery/address", tag = "customer", request_body = ConfirmAddressRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Confirms the delivery address, correcting it when one is given. The car does not leave before.
pub async fn confirm_address(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<ConfirmAddressRequest>,
) -> AppResult<Json<OrderView>> {
    if let Some(address) = &request.address {
        validate::text("address", address, 200)?;
    }
    state
        .change(|tx| {
            let (view, mut delivery) = own_delivery(tx, auth, id)?;
            arrangeable(view.state)?;
            if let Some(address) = &request.address {
                delivery.address = Some(address.trim().to_owned());
            }
            if delivery.address.is_none() {
                return Err(AppError::invalid("no address is on file: give the delivery address"));
            }
            delivery.address_confirmed = true;
            super::save(tx, &delivery)?;
            let event = orders::append(tx, id, EventKind::DeliveryAddressConfirmed)?;
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, vec![event]))
        })
        .map(Json)
}

#[utoipa::path(post, path = "/v1/orders/{id}/handover-code", tag = "customer",
    request_body(content = Option<caas_protocol::delivery::HandoverCodeRequest>, description = "`null` from phones that do not vouch for their codes"),
    responses((status = 200, body = HandoverCodeView), (status = 409, body = ApiError),
              (status = 422, body = ApiError, description = "the holder key is not a P-256 public key")),
    security(("bearer" = [])))]
/// A fresh handover code for the customer to show the driver or the dealership: single-use, valid
/// for fifteen minutes, bound to this order and delivery attempt. Earlier unused codes stop working.
/// With the phone's key the code names it as holder, so the phone's signature can vouch for when
/// it was shown.
pub async fn handover_code(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<Option<caas_protocol::delivery::HandoverCodeRequest>>,
) -> AppResult<(CarriesCredential, Json<HandoverCodeView>)> {
    let holder = request.and_then(|r| r.holder_key).map(|key| super::holder_key(&key)).transpose()?;
    let conn = state.db.lock();
    let (view, delivery) = own_delivery(&conn, auth, id)?;
    // From the booking on, not only once the driver reports the car under way: the driver's phone
    // may have no signal to report it, while the customer's has.
    if !matches!(
        view.state,
        OrderState::TransportScheduled
            | OrderState::DeliveryRescheduled
            | OrderState::InTransit
            | OrderState::AtCustomerAddress
            | OrderState::HeldAtDealership
    ) {
        return Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("there is no car to hand over: the order is `{}`", view.state),
        ));
    }
    let code = state.handover.issue(&conn, id, delivery.attempt, holder.as_ref())?;
    // A robot courier at the door scans what the app shows (kept in its memory only).
    crate::platform::robot_courier::code_shown(&state, &conn, id, delivery.attempt, &code)?;
    Ok((CarriesCredential, Json(code)))
}

#[utoipa::path(post, path = "/v1/orders/{id}/handover/dispute", tag = "customer", request_body = DisputeHandoverRequest,
    responses((status = 200, body = OrderView, description = "recorded; the dealership is told at once"),
              (status = 409, body = ApiError, description = "no handover to dispute, disputed already, or more than seven days after it"),
              (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// The customer disputes a recorded handover (the car did not reach them): kept on the purchase
/// record, and the dealership is emailed at once to investigate.
pub async fn dispute_handover(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<DisputeHandoverRequest>,
) -> AppResult<Json<OrderView>> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    validate::text("reason", &request.reason, 500)?;
    let now = chrono::Utc::now();
    state
        .change(|tx| {
            let (view, mut delivery) = own_delivery(tx, auth, id)?;
            let handover = delivery.handover.clone().ok_or_else(|| {
                AppError::conflict(ErrorCode::IllegalTransition, "the car has not been handed over: nothing to dispute")
            })?;
            if delivery.dispute.is_some() {
                return Err(AppError::conflict(ErrorCode::Conflict, "this handover is disputed already"));
            }
            if now - handover.at > TimeDelta::days(DISPUTE_WINDOW_DAYS) {
                return Err(AppError::conflict(
                    ErrorCode::Conflict,
                    "a handover can be disputed within seven days; contact the dealership",
                ));
            }
            let reason = request.reason.trim().to_owned();
            delivery.dispute = Some(HandoverDispute { reason: reason.clone(), at: now });
            super::save(tx, &delivery)?;
            crate::platform::notify::tell_dealership(
                tx,
                &view.dealership.id,
                id,
                &format!(
                    "The customer disputes the handover of {} by {}: {reason}",
                    handover.at.format("%Y-%m-%d %H:%M UTC"),
                    handover.by
                ),
            )?;
            let disputed = orders::append(tx, id, EventKind::HandoverDisputed { reason })?;
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, vec![disputed]))
        })
        .map(Json)
}
