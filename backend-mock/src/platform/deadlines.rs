//! Final payment deadlines, on the platform's clock: a reminder as the deadline nears, and when it
//! passes unpaid, the reservation is lost and the car becomes dealership stock.
//!
//! A sweep runs every second and right after the sandbox moves the clock. A payment that is
//! settling (`processing`) when the deadline passes is waited for: the customer paid in time.

use std::time::Duration;

use caas_protocol::api::{EventKind, FinalPayment, OrderEvent};
use caas_protocol::{Actor, OrderState};
use chrono::DateTime;
use uuid::Uuid;

use super::AppState;
use super::orders::{self, Viewer};
use super::{payments, stock};
use crate::error::AppResult;

/// Sends due reminders and expires overdue orders.
pub fn sweep(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let waiting: Vec<(Uuid, FinalPayment, bool)> = {
        let conn = state.db.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, final_payment, payment_reminded_at IS NOT NULL FROM orders
             WHERE state = ?1 AND final_payment IS NOT NULL",
        )?;
        let rows = stmt.query_map([OrderState::AwaitingFinalPayment.wire_name()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?))
        })?;
        rows.filter_map(|row| {
            let (id, due, reminded) = row.ok()?;
            Some((id.parse().ok()?, serde_json::from_str(&due).ok()?, reminded))
        })
        .collect()
    };
    for (id, due, reminded) in waiting {
        if due.paid_at.is_some() {
            continue;
        }
        if now >= due.deadline {
            expire(state, id)?;
        } else if !reminded && due.deadline - now <= state.config.payments.remind_before {
            remind(state, id, &due)?;
        }
    }
    Ok(())
}

fn remind(state: &AppState, id: Uuid, due: &FinalPayment) -> AppResult<()> {
    state.change(|tx| {
        let event = orders::append(
            tx,
            id,
            EventKind::PaymentReminder { amount_due: due.amount_due.clone(), deadline: due.deadline },
        )?;
        Ok(((), vec![event]))
    })?;
    tracing::info!(order = %id, "final payment reminder sent");
    Ok(())
}

/// The deadline passed unpaid: the order goes `unassigned` then `dealership_stock`, and its car
/// becomes stock of the dealership. Does nothing to an order that is paid, settling, or no longer
/// waiting, nor for an hour to one whose customer began paying before the deadline.
pub fn expire(state: &AppState, id: Uuid) -> AppResult<()> {
    let now = state.clock.now();
    let expired = state.change(|tx| {
        if orders::state(tx, id)? != OrderState::AwaitingFinalPayment || payments::in_flight(tx, id)? {
            return Ok((false, Vec::new()));
        }
        let deadline = orders::view(tx, id, Viewer::Sandbox)?.final_payment.map(|due| due.deadline);
        if let Some(deadline) = deadline
            && now < deadline + payments::ATTEMPT_GRACE
            && payments::begun_in_time(tx, id, deadline)?
        {
            return Ok((false, Vec::new()));
        }
        let mut events = vec![orders::transition(tx, id, OrderState::Unassigned, Actor::Platform)?];
        events.extend(release(tx, id)?);
        Ok((true, events))
    })?;
    if expired {
        tracing::info!(order = %id, "final payment deadline passed: reservation lost, car back in stock");
    }
    Ok(())
}

/// Puts the car of an `unassigned` order back in its dealership's stock: `dealership_stock`.
pub fn release(tx: &rusqlite::Connection, id: Uuid) -> AppResult<Vec<OrderEvent>> {
    stock::release_to_stock(tx, id)?;
    Ok(vec![orders::transition(tx, id, OrderState::DealershipStock, Actor::Platform)?])
}

/// Sweeps every second until the mock stops.
pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticks.tick().await;
        if let Err(error) = sweep(&state) {
            tracing::error!(message = %error.message, "deadline sweep failed");
        }
    }
}

/// Moves the platform's clock forward (sandbox) and applies what became due; returns the new now.
pub fn advance_clock(state: &AppState, seconds: i64) -> AppResult<DateTime<chrono::Utc>> {
    let now = state.clock.advance(&state.db.lock(), seconds)?;
    sweep(state)?;
    Ok(now)
}
