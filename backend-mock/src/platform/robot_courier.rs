//! Robot couriers: simulated drivers who play a delivery by themselves, through the same driver
//! code as the sandbox's steps, so a developer can watch a customer's app through a whole delivery
//! without a driver's phone.
//!
//! A robot loads the car once it is booked (or rescheduled) and the address is confirmed, tells the
//! customer when it will arrive and then of a delay on the way, reaches the door, and hands the car
//! over as soon as the customer's app asks for its handover code there: the code the app is given
//! while the robot is at the door is handed to it in memory (never stored), as if it scanned the
//! screen, and forgotten as soon as it is spent, expired, or the car left the door. A code shown
//! anywhere else (before the car arrived, at the dealership's desk) is never the robot's. By the
//! scenario, the customer is absent instead: a new time agreed on the phone (or, with no free window
//! to agree, the car taken back), then the car delivered on the second trip, or nobody answering
//! and the car taken back to the dealership.
//!
//! What the robot does next, and whether a robot drives the order at all, is read from the order
//! and its delivery before every action, never from memory (but for the scanned code), so it
//! resumes after a restart, never acts twice, and stops as soon as it is switched off.

use crate::db::CachedSql as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::extract::{Json, Path};
use axum::extract::State;
use caas_protocol::OrderState;
use caas_protocol::api::ApiError;
use caas_protocol::arrival::EtaReason;
use caas_protocol::delivery::HandoverCodeView;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use super::delivery::driver;
use super::steps::{self, DriverMove};
use super::{AppState, delivery, orders};
use crate::auth::SandboxAuth;
use crate::error::{AppError, AppResult};

/// How late the robot says it runs on the way: enough for the customer to be told.
const DELAY_ON_THE_WAY: TimeDelta = TimeDelta::minutes(20);

/// What the robot courier of an order plays at the customer's door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RobotScenario {
    /// The customer is there: the car is handed over on the code their app shows.
    #[default]
    Deliver,
    /// Nobody at the door the first time; the customer, called, agrees the next free window, and
    /// takes the car on the second trip.
    AbsentReschedule,
    /// Nobody at the door and nobody answers the phone: the car goes back to the dealership.
    AbsentUnreachable,
}

impl RobotScenario {
    /// Its wire name, as stored and as the API and the dashboard's form send it.
    pub(crate) fn stored(self) -> &'static str {
        match self {
            RobotScenario::Deliver => "deliver",
            RobotScenario::AbsentReschedule => "absent_reschedule",
            RobotScenario::AbsentUnreachable => "absent_unreachable",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scenario| scenario.stored() == text)
    }

    /// Every scenario, in the order the dashboard offers them.
    pub(crate) const ALL: [RobotScenario; 3] =
        [RobotScenario::Deliver, RobotScenario::AbsentReschedule, RobotScenario::AbsentUnreachable];
}

/// The sandbox's switch of an order's robot courier.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RobotCourierRequest {
    /// Whether a robot drives the order's delivery (overrides the mock's `--robot-courier`).
    pub enabled: bool,
    /// What happens at the door; `deliver` when absent.
    #[serde(default)]
    pub scenario: RobotScenario,
}

/// An order's robot courier as now set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotCourier {
    pub order_id: Uuid,
    pub enabled: bool,
    pub scenario: RobotScenario,
}

/// A handover code a customer's app showed a robot.
struct Scanned {
    attempt: u32,
    token: String,
    expires_at: DateTime<Utc>,
}

/// What the robot couriers hold in memory: the handover codes they scanned, and a bell that wakes
/// them as soon as there is something to do.
#[derive(Clone, Default)]
pub struct Couriers {
    scanned: Arc<Mutex<HashMap<Uuid, Scanned>>>,
    bell: Arc<Notify>,
}

/// Never shows a scanned code: it is a credential.
impl std::fmt::Debug for Couriers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Couriers").field("scanned", &self.codes().len()).finish_non_exhaustive()
    }
}

impl Couriers {
    fn codes(&self) -> MutexGuard<'_, HashMap<Uuid, Scanned>> {
        self.scanned.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The robot of `order` scans the code the customer's app shows for `attempt`.
    fn scan(&self, order: Uuid, attempt: u32, code: &HandoverCodeView) {
        let scanned = Scanned { attempt, token: code.token.clone(), expires_at: code.expires_at };
        self.codes().insert(order, scanned);
        self.wake();
    }

    /// The unexpired code scanned for `order`'s `attempt`, if any.
    fn code_for(&self, order: Uuid, attempt: u32) -> Option<String> {
        let codes = self.codes();
        codes
            .get(&order)
            .filter(|code| code.attempt == attempt && Utc::now() < code.expires_at)
            .map(|code| code.token.clone())
    }

    fn forget(&self, order: Uuid) {
        self.codes().remove(&order);
    }

    /// The orders the robots hold a code of.
    fn holding(&self) -> Vec<Uuid> {
        self.codes().keys().copied().collect()
    }

    /// Keeps only the codes still good by `now` and, for the orders `needed` names, of the attempt
    /// it gives (none: not needed any more). A code of an order `needed` does not name was scanned
    /// since it was made, and is kept.
    fn keep_needed(&self, needed: &HashMap<Uuid, Option<u32>>, now: DateTime<Utc>) {
        self.codes().retain(|order, code| {
            now < code.expires_at && needed.get(order).is_none_or(|attempt| *attempt == Some(code.attempt))
        });
    }

    /// Makes the robots look at once rather than at their next tick.
    fn wake(&self) {
        self.bell.notify_one();
    }
}

/// The scenario of `order`'s robot courier, `None` when no robot drives it: the sandbox's switch
/// for the order, else the mock's `--robot-courier`.
pub(crate) fn scenario_of(state: &AppState, conn: &Connection, order: Uuid) -> AppResult<Option<RobotScenario>> {
    let switch: Option<(bool, String)> = conn
        .query_row_cached(
            "SELECT enabled, scenario FROM robot_couriers WHERE order_id = ?1",
            [order.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match switch {
        Some((true, scenario)) => Some(RobotScenario::from_stored(&scenario).unwrap_or_default()),
        Some((false, _)) => None,
        None => state.config.sandbox.robot_courier.then_some(RobotScenario::Deliver),
    })
}

/// The customer's app was given `code` for `order`'s delivery `attempt`: when a robot drives the
/// order and is at the door, it scans it, as a driver at the door scans the customer's screen. A
/// code shown before the car arrived, or at the dealership's desk, is not the robot's to see.
pub fn code_shown(
    state: &AppState,
    conn: &Connection,
    order: Uuid,
    attempt: u32,
    code: &HandoverCodeView,
) -> AppResult<()> {
    if orders::state(conn, order)? == OrderState::AtCustomerAddress && scenario_of(state, conn, order)?.is_some() {
        state.couriers.scan(order, attempt, code);
    }
    Ok(())
}

/// Forgets the codes the robots no longer need: expired, of an earlier delivery attempt, of an
/// order whose car left the door, or whose robot was switched off.
fn forget_unneeded(state: &AppState) -> AppResult<()> {
    let holding = state.couriers.holding();
    if holding.is_empty() {
        return Ok(());
    }
    let mut needed = HashMap::new();
    {
        let conn = state.db.lock();
        for order in holding {
            let at_the_door = orders::state(&conn, order)? == OrderState::AtCustomerAddress
                && scenario_of(state, &conn, order)?.is_some();
            let attempt = delivery::of_order(&conn, order)?.map(|delivery| delivery.attempt);
            needed.insert(order, attempt.filter(|_| at_the_door));
        }
    }
    state.couriers.keep_needed(&needed, Utc::now());
    Ok(())
}

/// Plays the robot couriers' deliveries every `tick` (and at once when the bell rings) until the
/// mock stops.
pub async fn run(state: AppState, tick: Duration) {
    let mut ticks = tokio::time::interval(tick.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = state.couriers.bell.notified() => {}
        }
        play(&state);
    }
}

/// One round: the codes no longer needed forgotten, then at most one action of each robot-driven
/// delivery under way.
fn play(state: &AppState) {
    if let Err(error) = forget_unneeded(state) {
        tracing::error!(message = %error.message, "robot couriers could not check the codes they hold");
    }
    let driven = {
        let conn = state.db.lock();
        driven(&conn, state.config.sandbox.robot_courier)
    };
    match driven {
        Ok(driven) => {
            for order in driven {
                if let Err(error) = act(state, order) {
                    // Someone else moved the order meanwhile (a step, the customer): the next
                    // round reads it as it now stands.
                    tracing::debug!(%order, code = error.code.wire_name(), message = %error.message, "robot courier refused");
                }
            }
        }
        Err(error) => tracing::error!(message = %error.message, "robot couriers could not read their deliveries"),
    }
}

/// The orders under way that a robot drives.
fn driven(conn: &Connection, everywhere: bool) -> AppResult<Vec<Uuid>> {
    let under_way = [
        OrderState::TransportScheduled,
        OrderState::DeliveryRescheduled,
        OrderState::InTransit,
        OrderState::AtCustomerAddress,
    ];
    let mut stmt = conn.prepare_cached(
        "SELECT o.id FROM orders o JOIN deliveries d ON d.order_id = o.id
         LEFT JOIN robot_couriers r ON r.order_id = o.id
         WHERE o.state IN (?1, ?2, ?3, ?4) AND COALESCE(r.enabled, ?5) = 1 ORDER BY o.id",
    )?;
    let rows = stmt.query_map(
        params![
            under_way[0].wire_name(),
            under_way[1].wire_name(),
            under_way[2].wire_name(),
            under_way[3].wire_name(),
            everywhere
        ],
        |r| r.get::<_, String>(0),
    )?;
    let mut driven = Vec::new();
    for row in rows {
        if let Ok(id) = row?.parse() {
            driven.push(id);
        }
    }
    Ok(driven)
}

/// The robot's one next action on `order`, read from the order, its delivery and its robot's
/// switch as they stand now: nothing once the robot was switched off.
fn act(state: &AppState, order: Uuid) -> AppResult<()> {
    let (scenario, now_in, delivery, no_window_to_agree) = {
        let conn = state.db.lock();
        let Some(scenario) = scenario_of(state, &conn, order)? else { return Ok(()) };
        let delivery = delivery::of_order(&conn, order)?.ok_or_else(|| AppError::not_found("delivery"))?;
        let now_in = orders::state(&conn, order)?;
        let no_window_to_agree = now_in == OrderState::AtCustomerAddress
            && scenario == RobotScenario::AbsentReschedule
            && delivery.attempt == 1
            && driver::agreeable_windows(&conn, &delivery, state.clock.now())?.is_empty();
        (scenario, now_in, delivery, no_window_to_agree)
    };
    let code;
    let how = match now_in {
        OrderState::TransportScheduled | OrderState::DeliveryRescheduled if delivery.address_confirmed => {
            DriverMove::Embark
        }
        OrderState::InTransit => match delivery.eta {
            None => DriverMove::Estimate { reason: EtaReason::Departure, late_by: TimeDelta::zero() },
            Some(eta) if eta.reason == EtaReason::Departure => {
                DriverMove::Estimate { reason: EtaReason::Traffic, late_by: DELAY_ON_THE_WAY }
            }
            Some(_) => DriverMove::Arrive,
        },
        OrderState::AtCustomerAddress => match scenario {
            RobotScenario::AbsentReschedule if no_window_to_agree => {
                // Nothing to agree on the phone: the car cannot stay at the door for good.
                tracing::warn!(
                    %order,
                    "robot courier: the transport company has no free window to agree with the absent customer; \
                     the car goes back to the dealership"
                );
                DriverMove::AbsentUnreachable
            }
            RobotScenario::AbsentReschedule if delivery.attempt == 1 => DriverMove::AbsentReschedule,
            RobotScenario::AbsentUnreachable => DriverMove::AbsentUnreachable,
            _ => match state.couriers.code_for(order, delivery.attempt) {
                Some(scanned) => {
                    code = scanned;
                    DriverMove::HandOver { code: &code }
                }
                // Nobody showed a code yet: the robot waits at the door, the car with it.
                None => return Ok(()),
            },
        },
        _ => return Ok(()),
    };
    tracing::info!(%order, action = how.name(), "robot courier acts");
    let acted = steps::drive(state, order, how);
    if matches!(how, DriverMove::HandOver { .. }) {
        // Spent, or refused (a newer code shown since): either way the customer shows a new one.
        state.couriers.forget(order);
    }
    acted.map(drop)
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/robot-courier", tag = "sandbox", request_body = RobotCourierRequest,
    responses((status = 200, body = RobotCourier, description = "set; a robot plays the delivery from its next step"),
              (status = 404, body = ApiError), (status = 422, body = ApiError, description = "an unknown scenario")),
    security(("bearer" = [])))]
/// Makes a robot courier play the order's delivery by itself (or stops it): loading the car,
/// telling the arrival and a delay, reaching the door, and handing the car over once the customer's
/// app asks for its handover code, or the absence the scenario names.
pub async fn switch_robot_courier(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<RobotCourierRequest>,
) -> AppResult<Json<RobotCourier>> {
    set(&state, id, &request).map(Json)
}

/// Switches the robot courier of order `id` on (with its scenario) or off, and wakes the robots
/// to act on it at once (API and dashboard).
pub(crate) fn set(state: &AppState, id: Uuid, request: &RobotCourierRequest) -> AppResult<RobotCourier> {
    {
        let conn = state.db.lock();
        orders::state(&conn, id)?;
        conn.execute_cached(
            "INSERT INTO robot_couriers (order_id, enabled, scenario) VALUES (?1, ?2, ?3)
             ON CONFLICT(order_id) DO UPDATE SET enabled = excluded.enabled, scenario = excluded.scenario",
            params![id.to_string(), request.enabled, request.scenario.stored()],
        )?;
    }
    if !request.enabled {
        state.couriers.forget(id);
    }
    state.couriers.wake();
    tracing::info!(order = %id, enabled = request.enabled, scenario = request.scenario.stored(), "robot courier set");
    Ok(RobotCourier { order_id: id, enabled: request.enabled, scenario: request.scenario })
}

#[cfg(test)]
mod tests {
    use caas_protocol::api::EventKind;
    use caas_protocol::delivery::CallOutcome;

    use super::*;
    use crate::platform::test_support;

    fn switch(state: &AppState, order: Uuid, enabled: bool, scenario: RobotScenario) {
        state
            .db
            .lock()
            .execute_cached(
                "INSERT INTO robot_couriers (order_id, enabled, scenario) VALUES (?1, ?2, ?3)
                 ON CONFLICT(order_id) DO UPDATE SET enabled = excluded.enabled, scenario = excluded.scenario",
                params![order.to_string(), enabled, scenario.stored()],
            )
            .expect("switched");
    }

    fn events(state: &AppState, order: Uuid) -> Vec<EventKind> {
        let conn = state.db.lock();
        orders::events_after(&conn, order, 0, u32::MAX).expect("the log").into_iter().map(|e| e.kind).collect()
    }

    fn code(expires_at: DateTime<Utc>) -> HandoverCodeView {
        HandoverCodeView { token: "secret-token".into(), short_code: "12345678".into(), expires_at }
    }

    /// Every window the order's transport company could agree is taken by other cars.
    fn fill_every_window(state: &AppState, order: Uuid) {
        let conn = state.db.lock();
        let delivery = delivery::of_order(&conn, order).expect("read").expect("booked");
        let company = delivery.company().expect("a company");
        let customer: String = conn
            .query_row_cached("SELECT customer_id FROM orders WHERE id = ?1", [order.to_string()], |r| r.get(0))
            .expect("the customer");
        // The windows the robot would agree on the phone, two hours ahead: from 22:00 UTC those
        // reach a day further than the windows offered from now, so filling only those left one.
        let slots = driver::agreeable_windows(&conn, &delivery, state.clock.now()).expect("the windows");
        for slot in slots {
            for _ in 0..slot.free {
                let other = Uuid::now_v7().to_string();
                conn.execute_cached(
                    "INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                                         delivery_locality, created_at, updated_at)
                     VALUES (?1, ?2, 'madrid-centro', 'delivered', 1, '{}', 'Madrid', 'now', 'now')",
                    params![other, customer],
                )
                .expect("another order");
                conn.execute_cached(
                    "INSERT INTO deliveries (order_id, id, company_id, driver_id, window_start, active, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, 1, '{}')",
                    params![
                        other,
                        Uuid::now_v7().to_string(),
                        company.id,
                        delivery.driver_id,
                        slot.window.start.to_rfc3339()
                    ],
                )
                .expect("its delivery");
            }
        }
    }

    #[test]
    fn a_robot_switched_off_does_nothing_more() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = test_support::state(dir.path());
        let order = test_support::order_at(&state, "ana@example.com", OrderState::InTransit);
        let told = |state: &AppState| {
            events(state, order).iter().filter(|kind| matches!(kind, EventKind::ArrivalEstimated { .. })).count()
        };
        // Listed as driven, then switched off before its turn came.
        switch(&state, order, false, RobotScenario::Deliver);
        act(&state, order).expect("nothing to do");
        assert_eq!(told(&state), 0, "a robot switched off does not tell the arrival");
        switch(&state, order, true, RobotScenario::Deliver);
        act(&state, order).expect("acts");
        assert_eq!(told(&state), 1, "switched on, it does");
    }

    #[test]
    fn with_no_window_to_agree_the_robot_takes_the_car_back() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = test_support::state(dir.path());
        let order = test_support::order_at(&state, "ana@example.com", OrderState::AtCustomerAddress);
        switch(&state, order, true, RobotScenario::AbsentReschedule);
        fill_every_window(&state, order);
        act(&state, order).expect("acts");
        assert_eq!(orders::state(&state.db.lock(), order).expect("state"), OrderState::ReturnedToDealership);
        assert!(
            events(&state, order)
                .iter()
                .any(|kind| matches!(kind, EventKind::CustomerAbsent { attempt: 1, call: CallOutcome::Unreachable }))
        );
    }

    #[test]
    fn a_robot_scans_a_code_only_at_the_door_and_forgets_it_once_the_car_left() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = test_support::state(dir.path());
        let soon = Utc::now() + TimeDelta::minutes(15);
        let booked = test_support::order_at(&state, "ana@example.com", OrderState::TransportScheduled);
        let at_door = test_support::order_at(&state, "bruno@example.com", OrderState::AtCustomerAddress);
        for order in [booked, at_door] {
            switch(&state, order, true, RobotScenario::Deliver);
            code_shown(&state, &state.db.lock(), order, 1, &code(soon)).expect("shown");
        }
        assert_eq!(state.couriers.code_for(booked, 1), None, "the car is not at the door: the robot sees nothing");
        assert!(state.couriers.code_for(at_door, 1).is_some(), "at the door it scans the screen");

        forget_unneeded(&state).expect("checked");
        assert!(state.couriers.code_for(at_door, 1).is_some(), "still needed");
        steps::drive(&state, at_door, DriverMove::AbsentUnreachable).expect("taken back");
        forget_unneeded(&state).expect("checked");
        assert!(state.couriers.codes().is_empty(), "the car left the door: the code is forgotten");

        let other = test_support::order_at(&state, "carla@example.com", OrderState::AtCustomerAddress);
        code_shown(&state, &state.db.lock(), other, 1, &code(soon)).expect("shown");
        assert!(state.couriers.codes().is_empty(), "no robot drives it: nothing scanned");
        switch(&state, other, true, RobotScenario::Deliver);
        code_shown(&state, &state.db.lock(), other, 1, &code(soon)).expect("shown");
        switch(&state, other, false, RobotScenario::Deliver);
        forget_unneeded(&state).expect("checked");
        assert!(state.couriers.codes().is_empty(), "the robot was switched off: the code is forgotten");
    }

    #[test]
    fn only_the_codes_still_needed_are_kept() {
        let couriers = Couriers::default();
        let now = Utc::now();
        let (expired, earlier, gone, needed, new) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        couriers.scan(expired, 1, &code(now - TimeDelta::seconds(1)));
        couriers.scan(earlier, 1, &code(now + TimeDelta::minutes(5)));
        couriers.scan(gone, 1, &code(now + TimeDelta::minutes(5)));
        couriers.scan(needed, 2, &code(now + TimeDelta::minutes(5)));
        couriers.scan(new, 1, &code(now + TimeDelta::minutes(5)));
        let checked = HashMap::from([(expired, Some(1)), (earlier, Some(2)), (gone, None), (needed, Some(2))]);
        couriers.keep_needed(&checked, now);
        let mut kept = couriers.holding();
        kept.sort();
        let mut expected = vec![needed, new];
        expected.sort();
        assert_eq!(kept, expected, "a code scanned after the check is kept until the next one");
    }

    #[test]
    fn scenarios_are_stored_by_their_wire_names() {
        for scenario in RobotScenario::ALL {
            let wire = serde_json::to_value(scenario).expect("serialises");
            assert_eq!(wire, serde_json::json!(scenario.stored()));
            assert_eq!(RobotScenario::from_stored(scenario.stored()), Some(scenario));
        }
        assert_eq!(RobotScenario::from_stored("teleport"), None);
    }

    #[test]
    fn a_scanned_code_is_never_shown_and_only_used_for_its_attempt_while_valid() {
        let couriers = Couriers::default();
        let order = Uuid::now_v7();
        let code = HandoverCodeView {
            token: "secret-token".into(),
            short_code: "12345678".into(),
            expires_at: Utc::now() + TimeDelta::minutes(15),
        };
        couriers.scan(order, 1, &code);
        assert!(!format!("{couriers:?}").contains("secret"));
        assert_eq!(couriers.code_for(order, 2), None);
        assert_eq!(couriers.code_for(order, 1).as_deref(), Some("secret-token"));
        couriers.scan(order, 1, &HandoverCodeView { expires_at: Utc::now() - TimeDelta::seconds(1), ..code });
        assert_eq!(couriers.code_for(order, 1), None, "an expired code is not used");
        couriers.forget(order);
        assert!(couriers.codes().is_empty());
    }
}
