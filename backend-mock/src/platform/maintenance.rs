//! Maintenance from `operational` on: the plan of the car's base platform, the car's signed
//! reports of its odometer and warnings (over the connected-car network, or forwarded by the phone
//! after a BLE read), the reminder when the next service is near, workshop slots booked, moved
//! and cancelled under the delivery window's rules, and the visits the workshop records.

use crate::db::CachedSql as _;
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::OrderState;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderEvent, OrderView};
use caas_protocol::maintenance::{
    BookServiceRequest, BookingReason, MAX_ODOMETER_KM, MAX_SERVICE_CHANGES, MAX_WORK_LEN, MaintenanceView,
    NextService, RecordVisitRequest, SERVICE_CHANGE_CUTOFF_HOURS, ServiceBooking, ServiceSlot, ServiceVisit,
    VehicleReportRequest, WarningCode,
};
use caas_protocol::pairing::api::decode;
use caas_protocol::pairing::{TelemetryReport, Vin};
use chrono::{DateTime, Datelike as _, NaiveDate, TimeDelta, Utc, Weekday};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::orders::{self, Viewer};
use crate::auth::{CustomerAuth, DealershipAuth};
use crate::catalogue::{self, WORKSHOP_BAYS, WORKSHOP_HOURS};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::validate;

/// How far ahead slots are offered.
const SLOT_DAYS: i64 = 14;
/// The longest report a phone may forward.
const MAX_REPORT_LEN: usize = 17 + 4 + 1 + caas_protocol::pairing::MAX_WARNINGS + 8 + 64;

/// Maintenance starts: the plan counts from the handover, at the car's delivery kilometres.
pub fn start(conn: &Connection, order: Uuid, on: NaiveDate) -> AppResult<()> {
    conn.execute_cached(
        "INSERT OR IGNORE INTO maintenance (order_id, odometer_km, last_service_km, last_service_on)
         VALUES (?1, 0, 0, ?2)",
        params![order.to_string(), on.to_string()],
    )?;
    Ok(())
}

/// What is kept of an order's maintenance.
struct Stored {
    odometer_km: u32,
    reported_at: Option<DateTime<Utc>>,
    warnings: Vec<WarningCode>,
    told_warnings: Vec<WarningCode>,
    last_service_km: u32,
    last_service_on: NaiveDate,
    reminded_due_km: Option<u32>,
    booking_start: Option<DateTime<Utc>>,
    booking_changes: u32,
}

fn stored(conn: &Connection, order: Uuid) -> AppResult<Option<Stored>> {
    let row = conn
        .query_row_cached(
            "SELECT odometer_km, reported_at, warnings, last_service_km, last_service_on, reminded_due_km,
                    booking_start, booking_changes, told_warnings
             FROM maintenance WHERE order_id = ?1",
            [order.to_string()],
            |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<u32>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, u32>(7)?,
                    r.get::<_, String>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((odometer_km, reported_at, warnings, last_km, last_on, reminded, booking, changes, told)) = row else {
        return Ok(None);
    };
    let unreadable = || AppError::internal("an order's maintenance is unreadable");
    Ok(Some(Stored {
        odometer_km,
        reported_at: reported_at.as_deref().map(instant).transpose()?,
        warnings: serde_json::from_str(&warnings)?,
        told_warnings: serde_json::from_str(&told)?,
        last_service_km: last_km,
        last_service_on: last_on.parse().map_err(|_| unreadable())?,
        reminded_due_km: reminded,
        booking_start: booking.as_deref().map(instant).transpose()?,
        booking_changes: changes,
    }))
}

fn instant(text: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AppError::internal("a stored time is unreadable"))
}

fn slot_end(start: DateTime<Utc>) -> DateTime<Utc> {
    start + TimeDelta::hours(1)
}

/// An order's maintenance as it shows it, once it started.
pub fn view(conn: &Connection, order: &OrderView) -> AppResult<Option<MaintenanceView>> {
    let Some(kept) = stored(conn, order.id)? else { return Ok(None) };
    let plan = catalogue::maintenance_plan(&order.configuration.base_platform);
    let mut statement =
        conn.prepare_cached("SELECT at, odometer_km, work FROM service_visits WHERE order_id = ?1 ORDER BY at, rowid")?;
    let visits = statement
        .query_map([order.id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, String>(2)?))
        })?
        .map(|row| {
            let (at, odometer_km, work) = row?;
            Ok(ServiceVisit { at: instant(&at)?, odometer_km, work })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Some(MaintenanceView {
        plan,
        odometer_km: kept.odometer_km,
        reported_at: kept.reported_at,
        warnings: kept.warnings,
        next_service: NextService::after(plan, kept.last_service_km, kept.last_service_on),
        booking: kept.booking_start.map(|start| ServiceBooking {
            start,
            end: slot_end(start),
            changes_left: MAX_SERVICE_CHANGES.saturating_sub(kept.booking_changes),
        }),
        visits,
    }))
}

/// The customer's order, operational, with its maintenance.
fn own(conn: &Connection, customer: Uuid, id: Uuid) -> AppResult<(OrderView, MaintenanceView)> {
    let view = orders::view(conn, id, Viewer::Customer(customer))?;
    match (&view.maintenance, view.state) {
        (Some(maintenance), OrderState::Operational) => {
            let maintenance = maintenance.clone();
            Ok((view, maintenance))
        }
        _ => Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("maintenance starts once the car is operational; the order is `{}`", view.state),
        )),
    }
}

/// Records the car's signed report: checked against the car's key and this order's car, newer
/// than the last one kept and with an odometer that never goes back. New warnings and a service
/// coming near are told to the customer, each once.
pub fn record_report(
    conn: &Connection,
    state: &AppState,
    order: &OrderView,
    report: &TelemetryReport,
) -> AppResult<Vec<OrderEvent>> {
    let invalid =
        |why: &str| AppError::conflict(ErrorCode::VehicleReportInvalid, format!("the car's report was refused: {why}"));
    if order.vin.as_deref() != Some(report.vin.as_str()) {
        return Err(invalid("it is from another car"));
    }
    report
        .verify(&state.fleet.identity(&report.vin).public_key())
        .map_err(|_| invalid("the car's signature does not verify"))?;
    let Some(kept) = stored(conn, order.id)? else {
        return Err(invalid("the car is not operational yet"));
    };
    let measured = DateTime::from_timestamp(report.measured_at, 0)
        .filter(|at| *at <= state.clock.now() + super::pairing::CLOCK_ALLOWANCE)
        .ok_or_else(|| invalid("it is dated in the future"))?;
    if kept.reported_at.is_some_and(|last| measured < last) {
        // An older report (two roads, a late phone) changes nothing.
        return Ok(Vec::new());
    }
    if report.odometer_km < kept.odometer_km {
        return Err(invalid("its odometer is below one the car reported before"));
    }
    let mut warnings = report.warnings();
    warnings.sort_by_key(|w| w.wire());
    warnings.dedup();
    // Told once per service: a warning that clears and comes back is not told again.
    let new: Vec<WarningCode> = warnings.iter().copied().filter(|w| !kept.told_warnings.contains(w)).collect();
    let told: Vec<WarningCode> = kept.told_warnings.iter().chain(&new).copied().collect();
    conn.execute_cached(
        "UPDATE maintenance SET odometer_km = ?2, reported_at = ?3, warnings = ?4, told_warnings = ?5
         WHERE order_id = ?1",
        params![
            order.id.to_string(),
            report.odometer_km,
            measured.to_rfc3339(),
            serde_json::to_string(&warnings)?,
            serde_json::to_string(&told)?
        ],
    )?;
    let mut events = Vec::new();
    if !new.is_empty() {
        events.push(orders::append(conn, order.id, EventKind::VehicleWarning { warnings: new })?);
    }
    events.extend(remind_if_due(conn, state, order)?);
    Ok(events)
}

/// Tells the customer once per service when it is near, by distance or by date.
fn remind_if_due(conn: &Connection, state: &AppState, order: &OrderView) -> AppResult<Vec<OrderEvent>> {
    let Some(maintenance) = view(conn, order)? else { return Ok(Vec::new()) };
    let Some(kept) = stored(conn, order.id)? else { return Ok(Vec::new()) };
    let next = maintenance.next_service;
    let today = state.clock.now().date_naive();
    if kept.reminded_due_km == Some(next.due_km) || !next.is_near(maintenance.odometer_km, today) {
        return Ok(Vec::new());
    }
    conn.execute_cached(
        "UPDATE maintenance SET reminded_due_km = ?2 WHERE order_id = ?1",
        params![order.id.to_string(), next.due_km],
    )?;
    tracing::info!(order = %order.id, due_km = next.due_km, due_by = %next.due_by, "service reminder");
    Ok(vec![orders::append(conn, order.id, EventKind::ServiceDue { next_service: next })?])
}

/// Reads each operational car in coverage over the connected-car network, and sends the date
/// reminders that became due; every two seconds with the options' sweep, one sweep at a time.
pub async fn sweep(state: &AppState) {
    let _one_at_a_time = state.sweeping.lock().await;
    let cars: Vec<(Uuid, Vin)> = {
        let conn = state.db.lock();
        let rows = conn
            .prepare_cached(
                "SELECT o.id, o.vin FROM orders o JOIN maintenance m ON m.order_id = o.id
                 WHERE o.state = ?1 AND o.vin IS NOT NULL",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([OrderState::Operational.wire_name()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
            });
        match rows {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|(order, vin)| Some((order.parse().ok()?, Vin::parse(&vin).ok()?)))
                .collect(),
            Err(error) => {
                tracing::error!(%error, "operational cars could not be read");
                return;
            }
        }
    };
    for (order, vin) in cars {
        let report = state.fleet.telemetry_over_network(&vin).ok();
        let recorded = report.as_ref().map(|report| {
            state.change(|tx| {
                let view = orders::view(tx, order, Viewer::Sandbox)?;
                Ok(((), record_report(tx, state, &view, report)?))
            })
        });
        match recorded {
            Some(Ok(())) => continue,
            Some(Err(error)) => tracing::warn!(%order, message = %error.message, "a car's report was not recorded"),
            None => {}
        }
        // Out of reach, or a report refused: the date still brings the reminder.
        let reminded = state.change(|tx| {
            let view = orders::view(tx, order, Viewer::Sandbox)?;
            Ok(((), remind_if_due(tx, state, &view)?))
        });
        if let Err(error) = reminded {
            tracing::warn!(%order, message = %error.message, "a service reminder was not sent");
        }
    }
}

#[utoipa::path(post, path = "/v1/orders/{id}/vehicle/reports", tag = "customer", request_body = VehicleReportRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "vehicle_report_invalid: not this car's, or its odometer went back; or the car is not operational"),
              (status = 422, body = ApiError, description = "not a report")),
    security(("bearer" = [])))]
/// The car's signed report of its odometer and warnings, read over BLE and forwarded by the phone.
pub async fn report(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<VehicleReportRequest>,
) -> AppResult<Json<OrderView>> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let bytes = decode(&request.report, MAX_REPORT_LEN)
        .map_err(|_| AppError::invalid(format!("`report` must be base64url of at most {MAX_REPORT_LEN} bytes")))?;
    let report = TelemetryReport::parse(&bytes).map_err(|e| AppError::invalid(format!("`report`: {e}")))?;
    state
        .change(|tx| {
            let (view, _) = own(tx, auth.customer_id, id)?;
            let events = record_report(tx, &state, &view, &report)?;
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, events))
        })
        .map(Json)
}

/// The workshop's free slots from `from` on, for `SLOT_DAYS`; the slot `own` holds counts as free.
fn offered(conn: &Connection, dealership: &str, from: DateTime<Utc>, own: Option<Uuid>) -> AppResult<Vec<ServiceSlot>> {
    let mut statement = conn.prepare_cached(
        "SELECT m.booking_start, COUNT(*) FROM maintenance m JOIN orders o ON o.id = m.order_id
         WHERE o.dealership_id = ?1 AND m.booking_start IS NOT NULL AND (?2 IS NULL OR m.order_id <> ?2)
         GROUP BY m.booking_start",
    )?;
    let taken: Vec<(DateTime<Utc>, u32)> = statement
        .query_map(params![dealership, own.map(|o| o.to_string())], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
        })?
        .map(|row| {
            let (start, count) = row?;
            Ok((instant(&start)?, count))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let mut slots = Vec::new();
    let first_day = from.date_naive();
    for day in first_day.iter_days().take(SLOT_DAYS as usize) {
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        for hour in WORKSHOP_HOURS.0..WORKSHOP_HOURS.1 {
            let Some(start) = day.and_hms_opt(hour, 0, 0).map(|t| t.and_utc()) else { continue };
            if start < from {
                continue;
            }
            let used = taken.iter().filter(|(at, _)| *at == start).map(|(_, n)| n).sum::<u32>();
            let free = WORKSHOP_BAYS.saturating_sub(used);
            if free > 0 {
                slots.push(ServiceSlot { start, end: slot_end(start), free });
            }
        }
    }
    Ok(slots)
}

fn dealership_of(conn: &Connection, order: Uuid) -> AppResult<String> {
    Ok(conn.query_row_cached("SELECT dealership_id FROM orders WHERE id = ?1", [order.to_string()], |r| r.get(0))?)
}

#[utoipa::path(get, path = "/v1/orders/{id}/service/slots", tag = "customer",
    responses((status = 200, body = [ServiceSlot]), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// The dealership workshop's free slots from 24 hours ahead, for two weeks.
pub async fn slots(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<ServiceSlot>>> {
    let conn = state.db.lock();
    own(&conn, auth.customer_id, id)?;
    let from = state.clock.now() + TimeDelta::hours(SERVICE_CHANGE_CUTOFF_HOURS);
    Ok(Json(offered(&conn, &dealership_of(&conn, id)?, from, Some(id))?))
}

fn last_service_km(conn: &Connection, order: Uuid) -> AppResult<u32> {
    Ok(stored(conn, order)?.map_or(0, |kept| kept.last_service_km))
}

/// Whether the moves and cancellations since the last service reached the limit.
fn changes_used_up(conn: &Connection, order: Uuid) -> AppResult<bool> {
    Ok(stored(conn, order)?.is_some_and(|kept| kept.booking_changes >= MAX_SERVICE_CHANGES))
}

/// A booking that can still change: not within the cutoff of its start.
fn changeable(booking: &ServiceBooking, now: DateTime<Utc>) -> AppResult<()> {
    if booking.start - now < TimeDelta::hours(SERVICE_CHANGE_CUTOFF_HOURS) {
        return Err(AppError::conflict(
            ErrorCode::ChangeTooLate,
            format!("the service starts within {SERVICE_CHANGE_CUTOFF_HOURS} hours and can no longer be changed"),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/orders/{id}/service/booking", tag = "customer", request_body = BookServiceRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "slot_unavailable, change_too_late, change_limit_reached, or the car is not operational")),
    security(("bearer" = [])))]
/// Books the workshop slot starting at `start`, or moves the booking there: at most three moves,
/// and not within 24 hours of the booked slot.
pub async fn book(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<BookServiceRequest>,
) -> AppResult<Json<OrderView>> {
    let now = state.clock.now();
    state
        .change(|tx| {
            let (_, maintenance) = own(tx, auth.customer_id, id)?;
            // A slot that is over (a visit the workshop did not record) no longer holds the car.
            let reason = match &maintenance.booking.filter(|booking| booking.end > now) {
                Some(booking) if booking.start == request.start => {
                    return Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, Vec::new()));
                }
                Some(booking) => {
                    changeable(booking, now)?;
                    if booking.changes_left == 0 {
                        return Err(AppError::conflict(
                            ErrorCode::ChangeLimitReached,
                            format!("the service was moved {MAX_SERVICE_CHANGES} times already; call the dealership"),
                        ));
                    }
                    BookingReason::Moved
                }
                None if changes_used_up(tx, id)? => {
                    return Err(AppError::conflict(
                        ErrorCode::ChangeLimitReached,
                        format!("the service was changed {MAX_SERVICE_CHANGES} times already; call the dealership"),
                    ));
                }
                None => BookingReason::Booked,
            };
            let from = now + TimeDelta::hours(SERVICE_CHANGE_CUTOFF_HOURS);
            let offered = offered(tx, &dealership_of(tx, id)?, from, Some(id))?;
            let slot = offered.iter().find(|slot| slot.start == request.start).ok_or_else(|| {
                AppError::conflict(ErrorCode::SlotUnavailable, "that slot is not offered or has just been taken")
            })?;
            tx.execute_cached(
                "UPDATE maintenance SET booking_start = ?2,
                        booking_changes = CASE WHEN ?3 THEN booking_changes + 1 ELSE booking_changes END
                 WHERE order_id = ?1",
                params![id.to_string(), slot.start.to_rfc3339(), reason == BookingReason::Moved],
            )?;
            let event = EventKind::ServiceBooked { start: slot.start, end: slot.end, reason };
            let events = vec![orders::append(tx, id, event)?];
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, events))
        })
        .map(Json)
}

#[utoipa::path(delete, path = "/v1/orders/{id}/service/booking", tag = "customer",
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "change_too_late, no booking, or the car is not operational")),
    security(("bearer" = [])))]
/// Cancels the booked service, not within 24 hours of its start.
pub async fn cancel(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OrderView>> {
    let now = state.clock.now();
    state
        .change(|tx| {
            let (_, maintenance) = own(tx, auth.customer_id, id)?;
            let booking = maintenance
                .booking
                .filter(|booking| booking.end > now)
                .ok_or_else(|| AppError::conflict(ErrorCode::IllegalTransition, "no service is booked"))?;
            changeable(&booking, now)?;
            tx.execute_cached(
                "UPDATE maintenance SET booking_start = NULL, booking_changes = booking_changes + 1 WHERE order_id = ?1",
                [id.to_string()],
            )?;
            let events = vec![orders::append(tx, id, EventKind::ServiceCancelled { start: booking.start })?];
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, events))
        })
        .map(Json)
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/service/visits", tag = "dealership",
    request_body = RecordVisitRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "the car is not operational"),
              (status = 422, body = ApiError, description = "the work is empty, too long or not plain text, or the odometer is below the car's last")),
    security(("bearer" = [])))]
/// The workshop records a visit: it goes on the car's history, the booking is over, and the next
/// service counts from it.
pub async fn record_visit(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<RecordVisitRequest>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    validate::text("work", &request.work, MAX_WORK_LEN)?;
    if request.work.chars().any(caas_protocol::messages::is_hidden) {
        return Err(AppError::invalid("`work` must be plain text on one line"));
    }
    let now = state.clock.now();
    state
        .change(|tx| {
            let view = orders::view(tx, id, Viewer::Dealership(&auth.dealership_id))?;
            let maintenance = match (&view.maintenance, view.state) {
                (Some(maintenance), OrderState::Operational) => maintenance.clone(),
                _ => return Err(AppError::conflict(ErrorCode::IllegalTransition, "the car is not operational")),
            };
            let floor = maintenance.odometer_km.max(last_service_km(tx, id)?);
            if request.odometer_km < floor || request.odometer_km > MAX_ODOMETER_KM {
                return Err(AppError::invalid(format!(
                    "the odometer reads {floor} km or more already, and at most {MAX_ODOMETER_KM}; it never goes back"
                )));
            }
            tx.execute_cached(
                "INSERT INTO service_visits (order_id, at, odometer_km, work) VALUES (?1, ?2, ?3, ?4)",
                params![id.to_string(), now.to_rfc3339(), request.odometer_km, request.work.trim()],
            )?;
            tx.execute_cached(
                "UPDATE maintenance SET last_service_km = ?2, last_service_on = ?3, booking_start = NULL,
                        booking_changes = 0, reminded_due_km = NULL, told_warnings = '[]'
                 WHERE order_id = ?1",
                params![id.to_string(), request.odometer_km, now.date_naive().to_string()],
            )?;
            let visit =
                ServiceVisit { at: now, odometer_km: request.odometer_km, work: request.work.trim().to_owned() };
            let events = vec![orders::append(tx, id, EventKind::ServiceVisitRecorded { visit })?];
            Ok(((StatusCode::OK, orders::view(tx, id, Viewer::Dealership(&auth.dealership_id))?), events))
        })
        .map(|(status, view)| (status, Json(view)))
}
