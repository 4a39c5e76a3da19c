//! The sandbox's lifecycle steps: an order's legal next steps, whether the sandbox can take each,
//! and taking one by name.
//!
//! A step is never taken by writing the state: it runs the code path of the party the lifecycle
//! names (the dealership's deposit, the factory simulator's webhook, the customer's app paying
//! through the gateway, the driver's actions, the dealership's desk), so every rule, event,
//! notification, webhook and push happens as it would in real life, and what follows by itself in
//! real life (the factory order after the deposit, the registration and the transport booking
//! after the payment) follows here too.

use crate::extract::{Json, Path};
use axum::extract::State;
use caas_protocol::api::{ApiError, ErrorCode, OrderView};
use caas_protocol::arrival::{self, EtaReason, PlannedStop, RoutePoint};
use caas_protocol::delivery::{
    CallOutcome, DriverAction, DriverActionRequest, DriverDelivery, HandoverCodeView, IncidentKind,
};
use caas_protocol::lifecycle::Transition;
use caas_protocol::payment::PayRequest;
use caas_protocol::{Actor, OrderState};
use chrono::{TimeDelta, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::delivery::{self, Delivery, dealership as desk, driver};
use super::orders::{self, Viewer};
use super::{AppState, deadlines, pairing, payments, registration, sales, sandbox};
use crate::auth::SandboxAuth;
use crate::catalogue::{self, DRIVERS, Dealership};
use crate::error::{AppError, AppResult};

/// How long taking the payment step waits for the registration and the transport booking the
/// payment starts: the registry's retries with backoff take a few seconds at most.
const REGISTRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One legal next step of an order and whether the sandbox can take it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextStep {
    pub to: OrderState,
    pub by: Actor,
    pub takeable: bool,
    /// why not, or what taking it does, in plain words
    pub note: String,
}

/// The step to take, named by the state it leads to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TakeStepRequest {
    /// The wire name of a state the order can move to next (see its next steps).
    pub to: OrderState,
}

/// What a simulated driver does, through the driver's own action code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum DriverMove<'a> {
    /// The assigned driver loads the car, scanning its VIN, and sets out for the booked window.
    Embark,
    /// The driver carrying the car tells when it will arrive: at departure from the depot, or
    /// `late_by` after the last estimate for `reason`.
    Estimate {
        reason: EtaReason,
        late_by: TimeDelta,
    },
    Arrive,
    /// A closed road stops the trip; the car goes back to the dealership with the driver.
    RoadClosed,
    /// Nobody at the door; the customer, called, agrees the next free window.
    AbsentReschedule,
    /// Nobody at the door and nobody answers: the car goes back to the dealership.
    AbsentUnreachable,
    /// The customer showed `code` and takes the car.
    HandOver {
        code: &'a str,
    },
}

/// Never shows the handover code: it is the customer's credential.
impl std::fmt::Debug for DriverMove<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverMove::Estimate { reason, late_by } => {
                f.debug_struct("Estimate").field("reason", reason).field("late_by", late_by).finish()
            }
            DriverMove::HandOver { .. } => f.debug_struct("HandOver").field("code", &"<redacted>").finish(),
            DriverMove::Embark => f.write_str("Embark"),
            DriverMove::Arrive => f.write_str("Arrive"),
            DriverMove::RoadClosed => f.write_str("RoadClosed"),
            DriverMove::AbsentReschedule => f.write_str("AbsentReschedule"),
            DriverMove::AbsentUnreachable => f.write_str("AbsentUnreachable"),
        }
    }
}

impl DriverMove<'_> {
    /// What the driver does, for logs (never the code).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            DriverMove::Embark => "embark",
            DriverMove::Estimate { .. } => "estimate_arrival",
            DriverMove::Arrive => "arrive",
            DriverMove::RoadClosed => "report_road_closed",
            DriverMove::AbsentReschedule => "report_absent_rescheduled",
            DriverMove::AbsentUnreachable => "report_absent_unreachable",
            DriverMove::HandOver { .. } => "confirm_handover",
        }
    }
}

/// How the sandbox takes one edge of the lifecycle: whose code path runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The dealership records the deposit; the platform places the order with the factory.
    RecordDeposit,
    /// The platform places the order with the factory again.
    PlaceWithFactory,
    /// The platform asks for the final payment.
    AskFinalPayment,
    /// The factory simulator reports a stage by its signed webhook.
    Factory(OrderState),
    /// The customer's app pays the amount due with the succeeding sandbox card.
    PayByCard,
    /// The sandbox clock passes the payment deadline and the deadline sweep runs.
    LetDeadlinePass,
    /// The platform puts the car back in the dealership's stock.
    ReturnToStock,
    /// The platform asks the registry again.
    Register,
    /// The platform books the transport.
    BookTransport,
    /// A driver acts.
    Drive(DriverMove<'static>),
    /// The customer's app shows a fresh code and the driver hands the car over at the door.
    DriverHandover,
    /// The dealership receives the returned car.
    Receive,
    /// The customer's app shows a fresh code at the dealership's desk.
    DeskHandover,
    /// The customer's phone pairs with the car: the sandbox cannot play it.
    PairPhone,
    /// The platform makes the linked car operational.
    Operate,
}

/// The way of taking the edge `from` -> `to`; `None` for an edge the lifecycle does not have.
fn way(from: OrderState, to: OrderState) -> Option<Way> {
    use OrderState as S;
    Some(match (from, to) {
        (S::SaleRegistered, S::ReservationPaid) => Way::RecordDeposit,
        (S::ReservationPaid, S::OrderPlaced) => Way::PlaceWithFactory,
        (S::ReservationPaid | S::DispatchedToLocality, S::AwaitingFinalPayment) => Way::AskFinalPayment,
        (from, to) if from.next_factory_stage() == Some(to) => Way::Factory(to),
        (S::AwaitingFinalPayment, S::AdministrativeRegistration) => Way::PayByCard,
        (S::AwaitingFinalPayment, S::Unassigned) => Way::LetDeadlinePass,
        (S::Unassigned, S::DealershipStock) => Way::ReturnToStock,
        (S::AdministrativeRegistration, S::Registered) => Way::Register,
        (S::Registered, S::TransportScheduled) => Way::BookTransport,
        (S::TransportScheduled | S::DeliveryRescheduled, S::InTransit) => Way::Drive(DriverMove::Embark),
        (S::InTransit, S::AtCustomerAddress) => Way::Drive(DriverMove::Arrive),
        (S::InTransit, S::ReturnedToDealership) => Way::Drive(DriverMove::RoadClosed),
        (S::AtCustomerAddress, S::Delivered) => Way::DriverHandover,
        (S::AtCustomerAddress, S::DeliveryRescheduled) => Way::Drive(DriverMove::AbsentReschedule),
        (S::AtCustomerAddress, S::ReturnedToDealership) => Way::Drive(DriverMove::AbsentUnreachable),
        (S::ReturnedToDealership, S::HeldAtDealership) => Way::Receive,
        (S::HeldAtDealership, S::Delivered) => Way::DeskHandover,
        (S::Delivered, S::AppLinked) => Way::PairPhone,
        (S::AppLinked, S::Operational) => Way::Operate,
        _ => return None,
    })
}

/// Whether the sandbox can take a step now, and what taking it does or why it cannot.
struct Judgement {
    takeable: bool,
    note: String,
}

fn can(note: impl Into<String>) -> Judgement {
    Judgement { takeable: true, note: note.into() }
}

fn cannot(note: impl Into<String>) -> Judgement {
    Judgement { takeable: false, note: note.into() }
}

/// The note of a step the platform takes by itself in the same change as the one before it: an
/// order waiting at its start was left there by something that failed midway.
fn pending(what: &str) -> String {
    format!("{what}; it normally does so by itself at once, and this order is still waiting for it")
}

/// Why no step of an order can be taken while one is.
const STEP_UNDER_WAY: &str =
    "another step of this order is being taken now; its answer shows where the order stands, then see its next steps";

/// The legal next steps of `order`, each with whether the sandbox can take it now.
pub fn next_steps(state: &AppState, order: Uuid) -> AppResult<Vec<NextStep>> {
    let conn = state.db.lock();
    let view = orders::view(&conn, order, Viewer::Sandbox)?;
    let under_way = state.stepping.running(order);
    view.state
        .transitions()
        .map(|edge| {
            let judgement = if under_way { cannot(STEP_UNDER_WAY) } else { judge(state, &conn, &view, edge)? };
            Ok(NextStep { to: edge.to, by: edge.by, takeable: judgement.takeable, note: judgement.note })
        })
        .collect()
}

/// Takes the step to `to`, refused (409, a typed ErrorCode) when it is not a legal next step or the
/// sandbox cannot take it. One step of an order at a time: another one asked meanwhile (a second
/// click, a script running twice) is refused at once rather than taken on what this one changes.
#[tracing::instrument(name = "sandbox step", skip_all, fields(%order, %to))]
pub async fn take(state: &AppState, order: Uuid, to: OrderState) -> AppResult<OrderView> {
    if to == OrderState::Unknown {
        return Err(AppError::invalid("`to` must name a state of the lifecycle"));
    }
    let Some(_one_step_at_a_time) = state.stepping.try_claim(order) else {
        return Err(AppError::conflict(ErrorCode::StepNotTakeable, STEP_UNDER_WAY));
    };
    let (view, edge, way) = {
        let conn = state.db.lock();
        let view = orders::view(&conn, order, Viewer::Sandbox)?;
        let edge = view.state.transition_to(to).ok_or_else(|| {
            AppError::conflict(
                ErrorCode::IllegalTransition,
                format!("an order in `{}` cannot move to `{to}`; see its next steps", view.state),
            )
        })?;
        let judgement = judge(state, &conn, &view, edge)?;
        if !judgement.takeable {
            return Err(AppError::conflict(ErrorCode::StepNotTakeable, judgement.note));
        }
        let way = way(edge.from, edge.to).ok_or_else(|| AppError::internal("a lifecycle edge without a way"))?;
        (view, *edge, way)
    };
    tracing::info!(from = %edge.from, by = %edge.by, "the sandbox takes a step");
    perform(state, &view, way).await?;
    orders::view(&state.db.lock(), order, Viewer::Sandbox)
}

/// Whether the sandbox can take `edge` of the order `view` shows now, read on `conn`.
fn judge(state: &AppState, conn: &Connection, view: &OrderView, edge: &Transition) -> AppResult<Judgement> {
    let Some(way) = way(edge.from, edge.to) else {
        return Ok(cannot("the sandbox has no way to take this step"));
    };
    let deposit = &state.config.sandbox.deposit;
    Ok(match way {
        Way::RecordDeposit if view.price.as_ref().is_some_and(|price| !deposit_fits(deposit, price)) => {
            cannot(format!(
                "the sandbox's deposit ({deposit}) is not less than this order's price ({}) in its currency, as a deposit \
                 must be: configure a smaller sandbox deposit, or record one through the dealership's API",
                view.price.as_ref().map_or_else(String::new, ToString::to_string)
            ))
        }
        Way::RecordDeposit if view.from_stock => can(format!(
            "the dealership records a deposit of {deposit}; a car from stock is then due its final payment"
        )),
        Way::RecordDeposit => can(format!(
            "the dealership records a deposit of {deposit}; the platform then places the order with the factory"
        )),
        Way::PlaceWithFactory if view.from_stock => cannot("a car sold from stock is never ordered from the factory"),
        Way::PlaceWithFactory => can(
            "the platform places the order with the factory again (a refused configuration stays refused until the dealership amends it)",
        ),
        Way::AskFinalPayment if edge.from == OrderState::ReservationPaid && !view.from_stock => {
            cannot("only a car sold from stock skips the factory")
        }
        Way::AskFinalPayment => can(pending("the platform asks the customer for the final payment, with its deadline")),
        Way::Factory(_) if view.factory_order_id.is_none() => cannot("the order has not been placed with the factory"),
        Way::Factory(stage) => can(format!("the factory simulator reports `{stage}` by its signed webhook")),
        Way::PayByCard => judge_payment(state, conn, view)?,
        Way::LetDeadlinePass => match deadline_to_pass(state, conn, view)? {
            Ok(passed) => can(format!(
                "moves the platform's clock (every order's) past the deadline to {}; the reservation is lost and the car goes back to the dealership's stock",
                passed.format("%Y-%m-%d %H:%M UTC")
            )),
            Err(why) => cannot(why),
        },
        Way::ReturnToStock => can(pending("the platform puts the car back in the dealership's stock")),
        Way::Register if state.registering.running(view.id) => {
            cannot("the registry is being asked now; the platform moves the order on by itself")
        }
        Way::Register => can(format!(
            "asks the registry of {} again with the owner's details on the order; the transport is booked once it registers the car",
            view.dealership.country
        )),
        Way::BookTransport => can(pending("the platform books the transport company with the earliest free window")),
        Way::Drive(how) => judge_driver(state, conn, view, how)?,
        Way::DriverHandover => match delivery::of_order(conn, view.id)? {
            Some(delivery) => can(format!(
                "the customer's app shows a fresh handover code for attempt {}, and {} checks it and hands the car over",
                delivery.attempt,
                party(driver_of(&delivery, DriverMove::Arrive)?)
            )),
            None => cannot("no transport is booked"),
        },
        Way::Receive => {
            can(format!("{} receives the car back; the customer is told to collect it", dealership_of(view)?.name))
        }
        Way::DeskHandover => can(format!(
            "the customer shows a fresh handover code at {}'s desk and takes the car",
            dealership_of(view)?.name
        )),
        Way::PairPhone => cannot(
            "only the customer's phone takes this step: it pairs with the car over BLE and the car's signed receipt links the app",
        ),
        Way::Operate => can(pending("the platform makes the linked car operational and starts its maintenance plan")),
    })
}

/// Whether a deposit can be recorded on an order of `price`: less than it, in its currency.
fn deposit_fits(deposit: &caas_protocol::api::Money, price: &caas_protocol::api::Money) -> bool {
    deposit.currency == price.currency && deposit.amount_minor < price.amount_minor
}

fn judge_payment(state: &AppState, conn: &Connection, view: &OrderView) -> AppResult<Judgement> {
    let Some(due) = view.final_payment.as_ref() else {
        return Ok(cannot("no final payment was asked of the order"));
    };
    if payments::paid_or_settling(conn, view)? {
        return Ok(cannot(
            "a payment went through already; the platform moves the order on when the gateway confirms it",
        ));
    }
    let open = payments::open_attempt(conn, view.id)?;
    let resumed = match open {
        Some(open) if !is_step_key(&open.key, view.id, due.deadline) => {
            return Ok(cannot(if open.awaiting_three_d_secure {
                "the customer's own payment is open, waiting for the bank's 3-D Secure check: it goes through or \
                 fails first (the sandbox completes the check with POST /v1/sandbox/payments/{id}/three-d-secure)"
            } else {
                "the customer's own payment is open: the gateway's answer has not reached the platform, and the \
                 customer's app repeats it with the same Idempotency-Key to learn its outcome"
            }));
        }
        Some(_) => true,
        None => false,
    };
    if state.clock.now() >= due.deadline {
        return Ok(cannot("the payment deadline has passed: no new payment can be made"));
    }
    Ok(can(if resumed {
        format!(
            "resumes the sandbox's earlier payment of {}, whose outcome the gateway did not tell: the card is charged at \
             most once; the registration and the transport booking follow",
            due.amount_due
        )
    } else {
        format!(
            "the customer's app pays {} through the payment gateway with the sandbox card 4242 4242 4242 4242; the \
             registration and the transport booking follow",
            due.amount_due
        )
    }))
}

/// The `Idempotency-Key` of the sandbox's first attempt at paying the amount due by `deadline`;
/// its next attempts (after one that ended without the money) add `:1`, `:2`, ...
fn step_key(order: Uuid, deadline: chrono::DateTime<Utc>) -> String {
    format!("sandbox-step:{order}:{}", deadline.timestamp())
}

/// Whether `key` names one of the sandbox's attempts at paying the amount due by `deadline`.
fn is_step_key(key: &str, order: Uuid, deadline: chrono::DateTime<Utc>) -> bool {
    let first = step_key(order, deadline);
    key.strip_prefix(&first).is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// The sandbox's attempt at paying the amount due by `deadline`: its key, and the request it was
/// first made with when it was. The same attempt on every repetition of the step while it is open
/// (its answer lost, the gateway down), so the step resumes it and the card is charged at most
/// once; a new one only after one that ended without the money (refused or declined).
fn step_attempt(
    conn: &Connection,
    order: Uuid,
    deadline: chrono::DateTime<Utc>,
) -> AppResult<(String, Option<PayRequest>)> {
    let first = step_key(order, deadline);
    for ended in 0u32.. {
        let key = if ended == 0 { first.clone() } else { format!("{first}:{ended}") };
        let Some(status) = payments::attempt_status(conn, order, &key)? else {
            return Ok((key, None));
        };
        if payments::holds_the_order(&status) {
            let (request, _) = payments::attempt_of(conn, order, &key)?
                .ok_or_else(|| AppError::internal("a payment attempt vanished"))?;
            return Ok((key, Some(request)));
        }
    }
    Err(AppError::internal("too many payment attempts"))
}

/// When the clock must stand for the order's payment deadline to have passed, or why it cannot
/// pass: a payment that went through (or is settling) was made in time, and one begun before the
/// deadline has an hour's grace.
fn deadline_to_pass(
    state: &AppState,
    conn: &Connection,
    view: &OrderView,
) -> AppResult<Result<chrono::DateTime<Utc>, &'static str>> {
    let Some(due) = view.final_payment.as_ref() else {
        return Ok(Err("no final payment was asked of the order"));
    };
    if payments::paid_or_settling(conn, view)? {
        return Ok(Err("a payment went through or is settling: the customer paid in time"));
    }
    let mut passed = due.deadline;
    if payments::begun_in_time(conn, view.id, due.deadline)? {
        passed += payments::ATTEMPT_GRACE;
    }
    if clock_move_past(state, passed) > sandbox::MAX_CLOCK_ADVANCE_SECONDS {
        return Ok(Err("the deadline is more than a year away: the sandbox moves the clock a year at most"));
    }
    Ok(Ok(passed))
}

/// The seconds the clock must move for `moment` to have passed: none when it has.
fn clock_move_past(state: &AppState, moment: chrono::DateTime<Utc>) -> i64 {
    (moment - state.clock.now()).num_seconds() + 1
}

fn judge_driver(state: &AppState, conn: &Connection, view: &OrderView, how: DriverMove<'_>) -> AppResult<Judgement> {
    let Some(delivery) = delivery::of_order(conn, view.id)? else {
        return Ok(cannot("no transport is booked"));
    };
    let who = party(driver_of(&delivery, how)?);
    Ok(match how {
        DriverMove::Embark if !delivery.address_confirmed => {
            cannot("the customer has to confirm the delivery address first: the car does not leave before")
        }
        DriverMove::Embark => can(format!(
            "{who} loads the car (VIN {} checked) and sets out for the window of {}",
            view.vin.as_deref().unwrap_or("unknown"),
            delivery.window.start.format("%Y-%m-%d %H:%M UTC")
        )),
        DriverMove::Arrive => can(format!("{who} reaches the customer's address")),
        DriverMove::RoadClosed => {
            can(format!("{who} reports a closed road; the car goes back to the dealership with the driver"))
        }
        DriverMove::AbsentReschedule => match driver::agreeable_windows(conn, &delivery, state.clock.now())?.first() {
            Some(slot) => can(format!(
                "nobody is at the door; {who} calls the customer, who agrees the window of {}; the driver keeps the car",
                slot.window.start.format("%Y-%m-%d %H:%M UTC")
            )),
            None => cannot("nobody is at the door, and the transport company has no free window to agree"),
        },
        DriverMove::AbsentUnreachable => can(format!(
            "nobody is at the door and the customer cannot be reached; {who} takes the car back to the dealership"
        )),
        DriverMove::Estimate { .. } => can(format!("{who} tells the customer when the car will arrive")),
        DriverMove::HandOver { .. } => can(format!("{who} hands the car over on the customer's code")),
    })
}

/// Runs `way` on the order `view` shows, through the code path of the party it names.
async fn perform(state: &AppState, view: &OrderView, way: Way) -> AppResult<()> {
    let id = view.id;
    match way {
        Way::RecordDeposit => {
            sales::reserve(state, &view.dealership.id, id, &state.config.sandbox.deposit).await?;
        }
        Way::PlaceWithFactory => {
            sales::place_with_factory(state, id, &view.dealership.id).await?;
        }
        Way::AskFinalPayment => state.change(|tx| Ok(((), payments::request_final_payment(tx, state, id)?)))?,
        Way::Factory(stage) => {
            sandbox::advance_factory_order(state, id, Some(stage)).await?;
        }
        Way::PayByCard => pay_by_card(state, view).await?,
        Way::LetDeadlinePass => {
            let passed = deadline_to_pass(state, &state.db.lock(), view)?
                .map_err(|why| AppError::conflict(ErrorCode::StepNotTakeable, why))?;
            let seconds = clock_move_past(state, passed);
            if seconds > 0 {
                // The API's own clock control, with its limit.
                sandbox::advance_clock_by(state, seconds)?;
            } else {
                deadlines::sweep(state)?;
            }
        }
        Way::ReturnToStock => state.change(|tx| Ok(((), deadlines::release(tx, id)?)))?,
        Way::Register => registration::register(state, id).await?,
        Way::BookTransport => {
            let now = state.clock.now();
            state.change(|tx| Ok(((), delivery::book(tx, id, now)?)))?;
        }
        Way::Drive(how) => {
            drive(state, id, how)?;
        }
        Way::DriverHandover => hand_over_at_the_door(state, id)?,
        Way::Receive => {
            desk::receive_car(state, dealership_of(view)?, id)?;
        }
        Way::DeskHandover => {
            let dealership = dealership_of(view)?;
            state.change(|tx| {
                let code = show_code(state, tx, id, OrderState::HeldAtDealership)?;
                let (_, events) = desk::hand_over_in(state, tx, dealership, id, &code.token)?;
                Ok(((), events))
            })?;
        }
        Way::PairPhone => {
            return Err(AppError::conflict(ErrorCode::StepNotTakeable, "only the customer's phone pairs with the car"));
        }
        Way::Operate => state.change(|tx| Ok(((), vec![pairing::make_operational(tx, state, id)?])))?,
    }
    Ok(())
}

/// Pays the amount due as a customer's app does: the sandbox card tokenized with the publishable
/// key, then the platform's payment endpoint's own code. The gateway's webhook, delivered before
/// the gateway answers, starts the registration; this waits for it, so the answer shows the order
/// as the customer would see it a moment later.
async fn pay_by_card(state: &AppState, view: &OrderView) -> AppResult<()> {
    let due = view
        .final_payment
        .as_ref()
        .ok_or_else(|| AppError::conflict(ErrorCode::NotPayable, "no final payment was asked of the order"))?;
    let (key, made) = step_attempt(&state.db.lock(), view.id, due.deadline)?;
    let request = match made {
        Some(request) => {
            tracing::info!(order = %view.id, "resuming the sandbox's payment attempt whose outcome was not told");
            request
        }
        None => {
            let publishable = &state.config.payments.public.publishable_key;
            let card = super::gateway_client::succeeding_card();
            let method = state.gateway.tokenize(publishable, &card).await.map_err(sandbox::gateway_error)?;
            PayRequest { payment_method: method.id, amount: due.amount_due.clone() }
        }
    };
    let payment = payments::pay_final(state, view, &key, request).await?;
    tracing::info!(payment = %payment.id, status = payment.status.wire_name(), "paid with the sandbox card");
    if !state.registering.settled(view.id, REGISTRATION_WAIT).await {
        tracing::warn!(order = %view.id, "the registration is still running; the order moves on by itself");
    }
    Ok(())
}

/// The customer's app shows a fresh code and the driver who carried the car checks it and hands
/// the car over, in one change: a handover refused (the order moved meanwhile) leaves the
/// customer's codes, and the lockout after wrong short codes, as they were.
fn hand_over_at_the_door(state: &AppState, order: Uuid) -> AppResult<()> {
    let at = Utc::now();
    state.change(|tx| {
        let delivery = delivery::of_order(tx, order)?.ok_or_else(|| AppError::not_found("delivery"))?;
        let code = show_code(state, tx, order, OrderState::AtCustomerAddress)?;
        let driver = driver_of(&delivery, DriverMove::HandOver { code: &code.token })?;
        let action = DriverAction::ConfirmHandover { code: code.token, verified_at: at };
        let (_, events) = driver::record_in(state, tx, driver, delivery.id, &DriverActionRequest { at, action })?;
        Ok(((), events))
    })
}

/// A fresh handover code for the order's current delivery attempt, as the customer's app asks for
/// one to show where the car is `expected` (earlier codes stop working, as they do then). Issued on
/// `tx`, the change that spends it: should the order have moved since the step was judged, nothing
/// is issued.
fn show_code(state: &AppState, tx: &Connection, order: Uuid, expected: OrderState) -> AppResult<HandoverCodeView> {
    let now_in = orders::state(tx, order)?;
    if now_in != expected {
        return Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("the order moved on meanwhile: it is `{now_in}`, and no code is shown for it"),
        ));
    }
    let delivery = delivery::of_order(tx, order)?.ok_or_else(|| AppError::not_found("delivery"))?;
    state.handover.issue(tx, order, delivery.attempt, None)
}

/// The driver who takes `how` on `delivery`: the assigned driver loads the car, and the driver
/// who loaded it does everything after.
fn driver_of(delivery: &Delivery, how: DriverMove<'_>) -> AppResult<&'static catalogue::Driver> {
    let id = if how == DriverMove::Embark {
        delivery.driver_id.as_str()
    } else {
        delivery.carried_by.as_deref().unwrap_or(&delivery.driver_id)
    };
    DRIVERS.iter().find(|d| d.id == id).ok_or_else(|| AppError::not_found("driver"))
}

fn party(driver: &catalogue::Driver) -> String {
    delivery::driver_party(driver)
}

fn dealership_of(view: &OrderView) -> AppResult<&'static Dealership> {
    catalogue::dealership(&view.dealership.id).ok_or_else(|| AppError::not_found("dealership"))
}

/// Acts as the driver the step belongs to, through the driver's action code (the same rules,
/// events and notifications as a driver's phone): the sandbox's steps and the robot couriers.
pub(crate) fn drive(state: &AppState, order: Uuid, how: DriverMove<'_>) -> AppResult<DriverDelivery> {
    let now = Utc::now();
    let (delivery, action) = {
        let conn = state.db.lock();
        let delivery = delivery::of_order(&conn, order)?.ok_or_else(|| AppError::not_found("delivery"))?;
        let action = match how {
            DriverMove::Embark => DriverAction::Embark {
                vin: orders::view(&conn, order, Viewer::Sandbox)?.vin.unwrap_or_default(),
                window_start: delivery.window.start,
            },
            DriverMove::Estimate { reason, late_by } => {
                let expected_at = match delivery.eta {
                    Some(last) => last.expected_at + late_by,
                    None => departure_estimate(&delivery, now) + late_by,
                };
                let estimate = arrival::ArrivalEstimate { expected_at, stops_before: 0, reason, at: now };
                DriverAction::UpdateArrival { estimate }
            }
            DriverMove::Arrive => DriverAction::Arrive,
            DriverMove::RoadClosed => DriverAction::ReportIncident {
                kind: IncidentKind::RoadClosed,
                note: Some("The road to the address is closed; the car goes back to the dealership.".into()),
            },
            DriverMove::AbsentReschedule => {
                let next = driver::agreeable_windows(&conn, &delivery, state.clock.now())?;
                let slot = next.first().ok_or_else(|| {
                    AppError::conflict(ErrorCode::SlotUnavailable, "the transport company has no free window to agree")
                })?;
                DriverAction::ReportAbsent { call: CallOutcome::Rescheduled { window_start: slot.window.start } }
            }
            DriverMove::AbsentUnreachable => DriverAction::ReportAbsent { call: CallOutcome::Unreachable },
            DriverMove::HandOver { code } => DriverAction::ConfirmHandover { code: code.to_owned(), verified_at: now },
        };
        (delivery, action)
    };
    let driver = driver_of(&delivery, how)?;
    driver::record_action(state, driver, delivery.id, &DriverActionRequest { at: now, action })
}

/// When the car reaches the customer leaving the depot `now`, as the driver's phone plans it.
fn departure_estimate(delivery: &Delivery, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    let point = delivery.address.as_deref().map(delivery::route_point).unwrap_or_default();
    let stop = [PlannedStop { key: (), point }];
    arrival::plan(RoutePoint::DEPOT, now, &stop, EtaReason::Departure)
        .first()
        .map_or(now + TimeDelta::minutes(30), |(_, estimate)| estimate.expected_at)
}

#[utoipa::path(get, path = "/v1/sandbox/orders/{id}/next-steps", tag = "sandbox",
    responses((status = 200, body = [NextStep]), (status = 404, body = ApiError)), security(("bearer" = [])))]
/// The legal next states of an order, who may take each step, and whether the sandbox can take it
/// (`POST .../steps`).
pub async fn list_next_steps(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<NextStep>>> {
    next_steps(&state, id).map(Json)
}

#[utoipa::path(post, path = "/v1/sandbox/orders/{id}/steps", tag = "sandbox", request_body = TakeStepRequest,
    responses((status = 200, body = OrderView, description = "the step was taken; the order as it stands after it and what followed by itself"),
              (status = 404, body = ApiError),
              (status = 409, body = ApiError, description = "illegal_transition: not a next step of the order; step_not_takeable: the sandbox cannot take it now (the message says why); or the refusal of the party's own code, e.g. address_not_confirmed"),
              (status = 422, body = ApiError, description = "`to` is not a state of the lifecycle, or the party's own code refused it (e.g. configuration_rejected, registration_rejected)"),
              (status = 503, body = ApiError, description = "factory_unavailable, payment_gateway_unavailable or registry_unavailable: retry")),
    security(("bearer" = [])))]
/// Takes one of the order's legal next steps by running the code of the party the lifecycle names
/// (the dealership, the factory simulator, the customer's app paying, the registry, a driver), so
/// every event, notification, webhook and push happens as in real life.
pub async fn take_next_step(
    State(state): State<AppState>,
    _: SandboxAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<TakeStepRequest>,
) -> AppResult<Json<OrderView>> {
    take(&state, id, request.to).await.map(Json)
}

#[cfg(test)]
mod tests {
    use caas_protocol::lifecycle::TRANSITIONS;

    use super::*;
    use crate::platform::test_support;

    #[test]
    fn a_driver_move_never_shows_the_handover_code() {
        let shown = format!("{:?}", DriverMove::HandOver { code: "v1.secret-token" });
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("HandOver"), "{shown}");
        assert!(!format!("{:?}", Way::DriverHandover).contains("secret"));
        assert_eq!(format!("{:?}", DriverMove::Arrive), "Arrive");
    }

    #[test]
    fn the_sandbox_knows_its_own_payment_attempts_by_their_keys() {
        let order = Uuid::now_v7();
        let deadline = Utc::now();
        let first = step_key(order, deadline);
        assert!(caas_protocol::payment::valid_idempotency_key(&first), "{first}");
        assert!(is_step_key(&first, order, deadline));
        assert!(is_step_key(&format!("{first}:2"), order, deadline), "a later attempt of the step");
        assert!(!is_step_key(&format!("{first}2"), order, deadline));
        assert!(!is_step_key(&step_key(Uuid::now_v7(), deadline), order, deadline), "another order's");
        assert!(!is_step_key(&step_key(order, deadline + TimeDelta::days(1)), order, deadline), "another deadline's");
        assert!(!is_step_key("app-attempt-1", order, deadline), "the customer's own");
    }

    #[test]
    fn a_deposit_fits_below_the_price_in_its_currency() {
        let money =
            |amount_minor, currency: &str| caas_protocol::api::Money { amount_minor, currency: currency.into() };
        let price = money(3_000_000, "EUR");
        assert!(deposit_fits(&money(150_000, "EUR"), &price));
        assert!(!deposit_fits(&money(3_000_000, "EUR"), &price), "the whole price is no deposit");
        assert!(!deposit_fits(&money(150_000, "USD"), &price));
    }

    /// The step to `delivered` was judged on the order at the door, then the driver reported
    /// nobody there before it ran: the step is refused, and the customer's code and the lockout
    /// after a driver's wrong short codes are as they were.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handover_refused_midway_leaves_the_customers_code_and_the_lockout_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = test_support::state(dir.path());
        let order = test_support::order_at(&state, "ana@example.com", OrderState::AtCustomerAddress);
        let (shown, attempt) = {
            let conn = state.db.lock();
            let attempt = delivery::of_order(&conn, order).expect("read").expect("booked").attempt;
            (state.handover.issue(&conn, order, attempt, None).expect("issued"), attempt)
        };
        let wrong = if shown.short_code == "00000000" { "11111111" } else { "00000000" };
        let resolve = |code: &str| state.handover.resolve_short_code(&state.db.lock(), order, attempt, code);
        let locked = (0..10).any(|_| resolve(wrong).is_err_and(|e| e.code == ErrorCode::TooManyAttempts));
        assert!(locked, "five wrong codes lock the driver out");

        let judged = orders::view(&state.db.lock(), order, Viewer::Sandbox).expect("the order");
        drive(&state, order, DriverMove::AbsentUnreachable).expect("the driver takes the car back");
        let refused = perform(&state, &judged, Way::DriverHandover).await;
        assert_eq!(refused.err().map(|e| e.code), Some(ErrorCode::IllegalTransition));

        let still_locked = resolve(&shown.short_code);
        assert_eq!(still_locked.err().map(|e| e.code), Some(ErrorCode::TooManyAttempts), "the lockout stands");
        let good: i64 = state
            .db
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM handover_codes WHERE order_id = ?1 AND superseded_at IS NULL AND used_at IS NULL",
                [order.to_string()],
                |r| r.get(0),
            )
            .expect("counted");
        assert_eq!(good, 1, "the code on the customer's screen is still the one that works, and the only one");
        assert_eq!(orders::state(&state.db.lock(), order).expect("state"), OrderState::ReturnedToDealership);
    }

    #[test]
    fn every_edge_of_the_lifecycle_has_a_way() {
        for edge in TRANSITIONS {
            assert!(way(edge.from, edge.to).is_some(), "{} -> {}", edge.from, edge.to);
        }
    }

    #[test]
    fn only_the_lifecycle_edges_have_a_way() {
        for from in OrderState::ALL {
            for to in OrderState::ALL {
                assert_eq!(way(from, to).is_some(), from.can_transition_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_way_is_the_party_the_lifecycle_names() {
        for edge in TRANSITIONS {
            let expected = match way(edge.from, edge.to) {
                Some(Way::RecordDeposit | Way::Receive | Way::DeskHandover) => Actor::Dealership,
                Some(Way::Factory(_)) => Actor::Factory,
                Some(Way::PayByCard) => Actor::PaymentGateway,
                Some(Way::Register) => Actor::Registry,
                Some(Way::Drive(_) | Way::DriverHandover) => Actor::Driver,
                Some(Way::PairPhone) => Actor::Customer,
                _ => Actor::Platform,
            };
            assert_eq!(edge.by, expected, "{} -> {}", edge.from, edge.to);
        }
    }
}
