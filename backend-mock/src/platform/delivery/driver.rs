//! The driver's side: the company's open deliveries with the key that checks handover codes
//! offline, and the driver's actions as they arrive from the phone's outbox.
//!
//! Each action names the state it leaves from through the lifecycle table, carries the time the
//! driver took it, and is answered with the delivery as it now stands, so a phone that was
//! offline learns of any change the customer made meanwhile.

use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderEvent, ScheduleReason};
use caas_protocol::arrival::{self, ArrivalEstimate};
use caas_protocol::delivery::{
    CallOutcome, Custody, DeliverySlot, DriverAction, DriverActionRequest, DriverDeliveries, DriverDelivery, Handover,
    HandoverCodeView, HandoverPlace, ShortCodeRequest, TransitIncident, checked_incident,
};
use caas_protocol::handover::Expected;
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;
use uuid::Uuid;

use super::{Delivery, driver_party, slots};
use crate::auth::{CarriesCredential, DriverAuth};
use crate::catalogue::{self, Driver};
use crate::error::{AppError, AppResult};
use crate::platform::AppState;
use crate::platform::orders;

/// How far back a driver's action may be dated: a phone offline longer than this has lost touch.
const MAX_ACTION_AGE: TimeDelta = TimeDelta::days(7);

/// How soon a time agreed on the phone may be: a window starting at least two hours ahead.
const PHONE_AGREEMENT_LEAD: TimeDelta = TimeDelta::hours(2);

#[utoipa::path(get, path = "/v1/driver/deliveries", tag = "driver",
    responses((status = 200, body = DriverDeliveries)), security(("bearer" = [])))]
/// The open deliveries of the driver's company, earliest window first.
pub async fn deliveries(State(state): State<AppState>, auth: DriverAuth) -> AppResult<Json<DriverDeliveries>> {
    let conn = state.db.lock();
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM deliveries WHERE company_id = ?1 AND active = 1 ORDER BY window_start, order_id",
    )?;
    let bodies =
        stmt.query_map([auth.driver.company_id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let deliveries =
        bodies.iter().map(|body| driver_view(&conn, &serde_json::from_str(body)?)).collect::<AppResult<Vec<_>>>()?;
    Ok(Json(DriverDeliveries {
        driver_id: auth.driver.id.to_owned(),
        company_id: auth.driver.company_id.to_owned(),
        handover_key: state.handover.public_key(),
        deliveries,
    }))
}

/// A delivery as the driver sees it.
pub fn driver_view(conn: &Connection, delivery: &Delivery) -> AppResult<DriverDelivery> {
    let order = orders::driver_facts(conn, delivery.order_id)?;
    let dealership = catalogue::dealership(&order.dealership_id).ok_or_else(|| AppError::not_found("dealership"))?;
    let model = catalogue::base_platform(&order.base_platform).map_or(order.base_platform, |p| p.name.to_owned());
    Ok(DriverDelivery {
        delivery_id: delivery.id,
        order_id: delivery.order_id,
        state: order.state,
        attempt: delivery.attempt,
        window: delivery.window,
        vin: order.vin.unwrap_or_default(),
        plate: order.plate,
        model,
        customer_name: order.customer_name,
        customer_phone: order.customer_phone,
        address: delivery.address.clone(),
        address_confirmed: delivery.address_confirmed,
        dealership: super::pickup_point(dealership),
        driver_id: delivery.driver_id.clone(),
        route_point: delivery.address.as_deref().map(super::route_point).unwrap_or_default(),
        eta: delivery.eta,
        carried_by: delivery.carried_by.clone(),
    })
}

#[utoipa::path(post, path = "/v1/driver/deliveries/{id}/actions", tag = "driver", request_body = DriverActionRequest,
    responses((status = 200, body = DriverDelivery), (status = 403, body = ApiError, description = "an incident or an expected arrival from a driver not carrying the car"),
              (status = 404, body = ApiError, description = "not a delivery of the driver's company"),
              (status = 409, body = ApiError, description = "illegal_transition, delivery_changed, address_not_confirmed, slot_unavailable"),
              (status = 422, body = ApiError, description = "vin_mismatch, handover_code_invalid, handover_code_expired, handover_code_used, invalid_request (an incident's kind or note)")),
    security(("bearer" = [])))]
/// Records one driver action. Send it with an `Idempotency-Key`: a repeat gets the first answer.
pub async fn act(
    State(state): State<AppState>,
    auth: DriverAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<DriverActionRequest>,
) -> AppResult<Json<DriverDelivery>> {
    record_action(&state, auth.driver, id, &request).map(Json)
}

/// Records one action of `driver` on delivery `id` of their company: the body of
/// `POST /v1/driver/deliveries/{id}/actions`, and how the sandbox's steps and robot couriers act as
/// a driver, so every rule, event and notification is the same whoever drives.
pub fn record_action(
    state: &AppState,
    driver: &'static Driver,
    id: Uuid,
    request: &DriverActionRequest,
) -> AppResult<DriverDelivery> {
    state.change(|tx| record_in(state, tx, driver, id, request))
}

/// [`record_action`] inside the caller's transaction, answering the events it appended too: for a
/// caller that does more in the same change (the sandbox issues the customer's handover code in
/// the change that spends it, so a refused handover leaves the customer's codes as they were).
pub(crate) fn record_in(
    state: &AppState,
    tx: &Connection,
    driver: &'static Driver,
    id: Uuid,
    request: &DriverActionRequest,
) -> AppResult<(DriverDelivery, Vec<OrderEvent>)> {
    let wall = Utc::now();
    if request.at > wall + caas_protocol::handover::CLOCK_SKEW || request.at < wall - MAX_ACTION_AGE {
        return Err(AppError::invalid("the action's time is not plausible; check the phone's clock"));
    }
    let now = state.clock.now();
    let mut delivery = super::of_company(tx, id, driver.company_id)?;
    let events = apply(state, tx, driver, &mut delivery, request, now)?;
    super::save(tx, &delivery)?;
    tracing::info!(delivery = %id, action = request.action.name(), "driver action recorded");
    Ok((driver_view(tx, &delivery)?, events))
}

/// The windows a customer reached by phone may agree to for `delivery`: offered ones starting at
/// least [`PHONE_AGREEMENT_LEAD`] after `now`, earliest first.
pub fn agreeable_windows(conn: &Connection, delivery: &Delivery, now: DateTime<Utc>) -> AppResult<Vec<DeliverySlot>> {
    slots::offered(conn, delivery.company()?, now + PHONE_AGREEMENT_LEAD, Some(delivery.order_id))
}

fn apply(
    state: &AppState,
    tx: &Connection,
    driver: &Driver,
    delivery: &mut Delivery,
    request: &DriverActionRequest,
    now: DateTime<Utc>,
) -> AppResult<Vec<OrderEvent>> {
    let order = delivery.order_id;
    let from = orders::state(tx, order)?;
    if !request.action.legal_from(from) {
        return Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("`{}` is not possible: the order is `{from}`", request.action.name()),
        ));
    }
    let mut events = Vec::new();
    match &request.action {
        DriverAction::Embark { vin, window_start } => {
            if *window_start != delivery.window.start {
                return Err(AppError::conflict(
                    ErrorCode::DeliveryChanged,
                    format!(
                        "the delivery was moved to {}; the car stays until then",
                        delivery.window.start.format("%Y-%m-%d %H:%M UTC")
                    ),
                ));
            }
            if !delivery.address_confirmed {
                return Err(AppError::conflict(
                    ErrorCode::AddressNotConfirmed,
                    "the customer has not confirmed the delivery address yet",
                ));
            }
            let expected = orders::vin(tx, order)?.unwrap_or_default();
            if !vin.trim().eq_ignore_ascii_case(&expected) {
                return Err(AppError::new(
                    http::StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::VinMismatch,
                    "the scanned VIN is not this order's car",
                ));
            }
            let custody = Custody { at: request.at, party: driver_party(driver) };
            delivery.embarkation = Some(custody.clone());
            delivery.arrived_at = None;
            // A new trip: its estimates start again.
            delivery.eta = None;
            delivery.eta_told = None;
            delivery.eta_tells = 0;
            delivery.carried_by = Some(driver.id.to_owned());
            events.push(moved(tx, order, &request.action)?);
            events.push(orders::append(tx, order, EventKind::Embarked { attempt: delivery.attempt, custody })?);
        }
        DriverAction::Arrive => {
            delivery.arrived_at = Some(request.at);
            delivery.eta = None;
            events.push(moved(tx, order, &request.action)?);
        }
        DriverAction::ReportAbsent { call } => {
            let attempt = delivery.attempt;
            if let CallOutcome::Rescheduled { window_start } = call {
                let offered = agreeable_windows(tx, delivery, now)?;
                let window = slots::find(&offered, *window_start).ok_or_else(|| {
                    AppError::conflict(ErrorCode::SlotUnavailable, "the agreed window is not free; agree another one")
                })?;
                delivery.attempt += 1;
                delivery.window = window;
                delivery.eta = None;
                delivery.eta_told = None;
                delivery.eta_tells = 0;
                events.push(moved(tx, order, &request.action)?);
                events.push(orders::append(tx, order, EventKind::CustomerAbsent { attempt, call: *call })?);
                let company = delivery.company()?.name.to_owned();
                events.push(orders::append(
                    tx,
                    order,
                    EventKind::DeliveryScheduled {
                        attempt: delivery.attempt,
                        window,
                        company,
                        reason: ScheduleReason::AgreedByPhone,
                    },
                )?);
            } else {
                // Nobody to hand the car to: it goes back to the dealership with the driver.
                events.push(moved(tx, order, &request.action)?);
                events.push(orders::append(tx, order, EventKind::CustomerAbsent { attempt, call: *call })?);
            }
        }
        DriverAction::ReportIncident { kind, note } => {
            carrying(delivery, driver)?;
            let note =
                checked_incident(*kind, note.as_deref()).map_err(|refusal| AppError::invalid(refusal.to_string()))?;
            // Never dated before the car was loaded.
            let at = delivery.embarkation.as_ref().map_or(request.at, |loaded| request.at.max(loaded.at));
            let incident = TransitIncident { kind: *kind, note, at, by: driver_party(driver) };
            delivery.eta = None;
            // The car goes back with the driver, who keeps custody until the dealership receives it.
            delivery.incident = Some(incident.clone());
            delivery.arrived_at = None;
            events.push(moved(tx, order, &request.action)?);
            events.push(orders::append(tx, order, EventKind::TransitIncident { attempt: delivery.attempt, incident })?);
        }
        DriverAction::UpdateArrival { estimate } => {
            carrying(delivery, driver)?;
            // Made when the phone says it took the action, never before the car was loaded.
            let made = delivery.embarkation.as_ref().map_or(request.at, |loaded| request.at.max(loaded.at));
            let estimate = ArrivalEstimate { at: made, ..*estimate };
            arrival::check_estimate(&estimate, Utc::now()).map_err(|refusal| AppError::invalid(refusal.to_string()))?;
            // An estimate older than the one kept (two sends crossing) changes nothing.
            if delivery.eta.is_some_and(|kept| kept.at > estimate.at) {
                return Ok(events);
            }
            delivery.eta = Some(estimate);
            // Small revisions stay on the delivery; the customer hears of the ones that matter.
            if arrival::worth_telling(delivery.eta_told.as_ref(), delivery.eta_tells, &estimate) {
                delivery.eta_told = Some(estimate);
                delivery.eta_tells += 1;
                events.push(orders::append(
                    tx,
                    order,
                    EventKind::ArrivalEstimated { attempt: delivery.attempt, estimate },
                )?);
            }
        }
        DriverAction::ConfirmHandover { code, verified_at } => {
            // The platform's clock decides: a code must still be valid when the confirmation
            // arrives, or the customer's phone must vouch that it was shown while it was. The
            // time the driver's phone claims is only compared with that word, and used to
            // explain a confirmation that reached the platform too late.
            let wall = Utc::now();
            let expected = Expected { order_id: order, attempt: delivery.attempt, at: wall };
            let (claims, vouched_at) = state
                .handover
                .accept(tx, code, expected, Some(*verified_at))
                .map_err(|refusal| late_confirmation(refusal, *verified_at, wall))?;
            // The driver's time, or the customer's phone's for a late one, but never before the
            // code existed: a handover dated back could shorten the customer's time to dispute it.
            let at = vouched_at.unwrap_or(request.at).max(claims.issued_at).min(wall);
            let handover = Handover { at, place: HandoverPlace::CustomerAddress, by: driver_party(driver) };
            delivery.handover = Some(handover.clone());
            events.push(moved(tx, order, &request.action)?);
            events.push(orders::append(tx, order, EventKind::HandedOver { handover })?);
        }
    }
    Ok(events)
}

/// Only the driver who loaded the car reports what happens to it on the way (the assigned
/// driver for a car loaded before the platform kept who did).
fn carrying(delivery: &Delivery, driver: &Driver) -> AppResult<()> {
    if delivery.carried_by.as_deref().unwrap_or(&delivery.driver_id) == driver.id {
        Ok(())
    } else {
        Err(AppError::forbidden("only the driver carrying the car reports on its trip"))
    }
}

/// Moves the order along the action's edge of the lifecycle.
fn moved(tx: &Connection, order: Uuid, action: &DriverAction) -> AppResult<OrderEvent> {
    let to = action.target_state().ok_or_else(|| AppError::internal("the action moves no order"))?;
    orders::transition(tx, order, to, Actor::Driver)
}

#[utoipa::path(post, path = "/v1/driver/deliveries/{id}/handover-code", tag = "driver", request_body = ShortCodeRequest,
    responses((status = 200, body = HandoverCodeView), (status = 403, body = ApiError, description = "not the assigned driver"),
              (status = 404, body = ApiError), (status = 409, body = ApiError, description = "the car is not at the customer's address"),
              (status = 422, body = ApiError, description = "handover_code_invalid, handover_code_expired"),
              (status = 429, body = ApiError, description = "too_many_attempts: five wrong codes for this delivery attempt; the customer shows a new code")),
    security(("bearer" = [])))]
/// The signed code behind the eight digits a customer read out; the phone then checks it like a
/// scanned QR code. Needs a connection: a short code cannot be checked offline. Only the assigned
/// driver at the customer's address may ask, with at most five wrong codes per delivery attempt.
pub async fn resolve_short_code(
    State(state): State<AppState>,
    auth: DriverAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<ShortCodeRequest>,
) -> AppResult<(CarriesCredential, Json<HandoverCodeView>)> {
    let conn = state.db.lock();
    let delivery = super::of_company(&conn, id, auth.driver.company_id)?;
    if delivery.driver_id != auth.driver.id {
        return Err(AppError::forbidden("only the driver assigned to this delivery can check the customer's code"));
    }
    let order_state = orders::state(&conn, delivery.order_id)?;
    if order_state != OrderState::AtCustomerAddress {
        return Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("a code is checked at the customer's address; the order is `{order_state}`"),
        ));
    }
    let code = state.handover.resolve_short_code(&conn, delivery.order_id, delivery.attempt, &request.short_code)?;
    Ok((CarriesCredential, Json(code)))
}

/// A refusal of a code the phone checked while it was valid but that reached the platform after
/// it expired: the driver keeps the car and asks for a new code.
fn late_confirmation(refusal: AppError, verified_at: DateTime<Utc>, arrived: DateTime<Utc>) -> AppError {
    if refusal.code != ErrorCode::HandoverCodeExpired {
        return refusal;
    }
    AppError::new(
        refusal.status,
        refusal.code,
        format!(
            "{}: the code was checked at {} and this confirmation reached the platform at {}; \
             if the car is still with you, ask the customer to show a new code and confirm again, \
             otherwise call the dealership",
            refusal.message,
            verified_at.format("%H:%M UTC"),
            arrived.format("%H:%M UTC")
        ),
    )
}
