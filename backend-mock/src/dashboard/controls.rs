//! The platform-wide fault switches (the payment gateway losing answers or down, the factory down,
//! a registry failing, drivers' phones losing answers or answered with a status) and the sandbox
//! clock. Each form calls the sandbox API's own function, and each outage switch shows whether the
//! service is down now, as the service itself says. A car's switches (coverage, lost replies)
//! are on its card in [`super::cars`], and an order's (its robot courier, a second charge, its
//! history rewritten, a newer platform's event) on its page, in [`super::switches`].

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::form::{Field, Form};
use super::labels;
use super::page::{self, Failure, Flash, Notice, Section};
use super::session::Signed;
use crate::error::AppResult;
use crate::factory::FactoryFaults;
use crate::gateway::PaymentFaults;
use crate::platform::AppState;
use crate::platform::sandbox::{self, DriverFaults, RegistryFaults, ScriptedAnswer};
use crate::validate::FaultCount;

const BACK: &str = "/sandbox/controls";

/// The registries the mock simulates.
const REGISTRIES: [(&str, &str); 2] = [("ES", "Spain"), ("PT", "Portugal")];

const AMOUNT: Field = Field { name: "amount", label: "Move forward by", api: &["seconds"] };
const UNIT: Field = Field { name: "unit", label: "Unit", api: &[] };
const LOST_CHARGES: Field =
    Field { name: "drop_answers", label: "Charges that lose their answer", api: &["drop_answers"] };
const REGISTRY: Field = Field { name: "country", label: "Registry", api: &["country"] };
const FAILING: Field =
    Field { name: "transient_failures", label: "Submissions that fail", api: &["transient_failures"] };
const LOST_ACTIONS: Field =
    Field { name: "drop_answers", label: "Actions that lose their answer", api: &["drop_answers"] };
const DOWN: Field = Field { name: "unavailable", label: "Down", api: &["unavailable"] };
const ANSWER_STATUS: Field = Field { name: "status", label: "Status", api: &["answer_next.status"] };
const ANSWER_CODE: Field = Field { name: "code", label: "Error code", api: &["answer_next.code"] };
const RETRY_AFTER: Field =
    Field { name: "retry_after", label: "Retry after (seconds)", api: &["answer_next.retry_after"] };

pub async fn page(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let now = state.clock.now();
    let (gateway, factory) =
        tokio::join!(sandbox::current_payment_faults(&state), sandbox::current_factory_faults(&state));
    // The gateway shows both of its switches when it answers.
    let gateway_down = gateway.map(|faults| faults.unavailable.unwrap_or_default());
    let factory_down = factory.map(|faults| faults.unavailable);
    let body = html! {
        h1 { "Faults & clock" }
        section.card #clock {
            h2 { "Sandbox clock" }
            p { "The platform's time is " strong #platform-time { (labels::time(now)) } "." }
            p.muted { "Moving it applies what became due on the way: payment reminders, lost reservations, service reminders." }
            form method="post" action="/sandbox/controls/clock" {
                label { (AMOUNT.label) input type="number" name=(AMOUNT.name) min="1" max="366" value="1" required; }
                label {
                    (UNIT.label)
                    select name=(UNIT.name) { option value="hours" { "hours" } option value="days" selected { "days" } }
                }
                button type="submit" { "Move the clock" }
            }
        }
        section.card #payment-faults {
            h2 { "Payment gateway" }
            p.muted { "The next charges take the money and then lose their answer, as a dropped connection would. 0 switches it off." }
            form method="post" action="/sandbox/controls/payments" {
                label { (LOST_CHARGES.label) input type="number" name=(LOST_CHARGES.name) min="0" max=(FaultCount::MAX) value="1" required; }
                button type="submit" { "Arm" }
            }
        }
        section.card #gateway-outage {
            h2 { "Payment gateway down" }
            p.muted { "While it is down every charge fails before anything is taken, and customers are told to try again later." }
            (down_switch("/sandbox/controls/gateway", gateway_down))
        }
        section.card #factory-outage {
            h2 { "Factory down" }
            p.muted { "While it is down the factory takes no new order: a deposit is kept and the order waits for the dealership to retry the factory order. Production of the cars it holds goes on." }
            (down_switch("/sandbox/controls/factory", factory_down))
        }
        section.card #registry-faults {
            h2 { "Vehicle registries" }
            p.muted { "The next submissions to a country's registry fail for a while; the platform retries with backoff. 0 switches it off." }
            form method="post" action="/sandbox/controls/registries" {
                label {
                    (REGISTRY.label)
                    select name=(REGISTRY.name) {
                        @for (code, name) in REGISTRIES { option value=(code) { (name) } }
                    }
                }
                label { (FAILING.label) input type="number" name=(FAILING.name) min="0" max=(FaultCount::MAX) value="1" required; }
                button type="submit" { "Arm" }
            }
        }
        section.card #driver-faults {
            h2 { "Drivers' phones" }
            p.muted { "The next driver actions are applied, then their answer is lost, as when a phone loses signal. 0 switches it off." }
            form method="post" action="/sandbox/controls/drivers" {
                label { (LOST_ACTIONS.label) input type="number" name=(LOST_ACTIONS.name) min="0" max=(FaultCount::MAX) value="1" required; }
                button type="submit" { "Arm" }
            }
            p.muted { "Or the next driver action is answered with this status, and the error code when given (a proxy's page without one), and is not applied: a newer platform's refusal or an outage, played." }
            form.row #driver-answer method="post" action="/sandbox/controls/drivers/answer" {
                label { (ANSWER_STATUS.label) input type="number" name=(ANSWER_STATUS.name) min="400" max="599" value="503" required; }
                label {
                    (ANSWER_CODE.label)
                    input type="text" name=(ANSWER_CODE.name) maxlength="64" pattern="[a-z0-9_]{1,64}" placeholder="maintenance_window";
                }
                label { (RETRY_AFTER.label) input type="number" name=(RETRY_AFTER.name) min="0" max="86400"; }
                button type="submit" { "Arm" }
            }
        }
    };
    page::render(&state, Section::Controls, "Faults & clock", flash, None, body)
}

/// A service's outage switch: whether the service is down now, as it says itself (unknown, and why,
/// when it does not answer), so an outage left on is seen; then one form, the button pressed says
/// which way.
fn down_switch(action: &str, down: AppResult<bool>) -> Markup {
    html! {
        p.availability {
            "Now: "
            @match down {
                Ok(true) => { strong data-down="true" { "down" } }
                Ok(false) => { strong data-down="false" { "up" } }
                Err(error) => { strong data-down="unknown" { "unknown" } " (" (labels::refusal(&error, &[])) ")" }
            }
        }
        form method="post" action=(action) {
            button.danger type="submit" name=(DOWN.name) value="true" { "Take it down" }
            " "
            button.secondary type="submit" name=(DOWN.name) value="false" { "Bring it back" }
        }
    }
}

/// What came of a switch, as the page after it says.
fn outcome(signed: &Signed, result: Result<String, String>) -> Response {
    page::after(signed, BACK, result.map_or_else(Notice::error, Notice::ok))
}

pub async fn payments(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = async {
        let drop_answers = form.number(LOST_CHARGES, FaultCount::RANGE)?;
        sandbox::set_payment_faults(&state, &PaymentFaults { drop_answers: Some(drop_answers), unavailable: None })
            .await
            .map_err(|e| labels::refusal(&e, &[LOST_CHARGES]))?;
        Ok(match drop_answers.get() {
            0 => "Switched off: every charge keeps its answer.".to_owned(),
            n => format!("Armed: the next {n} charge(s) lose their answer."),
        })
    };
    outcome(&signed, result.await)
}

/// Takes the payment gateway down or brings it back.
pub async fn gateway(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = async {
        let down = form.flag(DOWN)?;
        sandbox::set_payment_faults(&state, &PaymentFaults { drop_answers: None, unavailable: Some(down) })
            .await
            .map_err(|e| labels::refusal(&e, &[DOWN]))?;
        Ok(match down {
            true => "The payment gateway is down: every charge fails, and nothing is taken.".to_owned(),
            false => "The payment gateway is back: charges go through again.".to_owned(),
        })
    };
    outcome(&signed, result.await)
}

/// Takes the factory down or brings it back.
pub async fn factory(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = async {
        let unavailable = form.flag(DOWN)?;
        sandbox::set_factory_faults(&state, &FactoryFaults { unavailable })
            .await
            .map_err(|e| labels::refusal(&e, &[DOWN]))?;
        Ok(match unavailable {
            true => "The factory is down: it takes no new order until it is back.".to_owned(),
            false => "The factory is back: retry the factory orders that failed.".to_owned(),
        })
    };
    outcome(&signed, result.await)
}

pub async fn registries(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = (|| {
        let country = form.text(REGISTRY, 2)?;
        let name =
            REGISTRIES.iter().find(|(code, _)| *code == country).map(|(_, name)| *name).ok_or("Choose a registry.")?;
        let transient_failures = form.number(FAILING, FaultCount::RANGE)?;
        sandbox::set_registry_faults(&state, &country, &RegistryFaults { transient_failures })
            .map_err(|e| labels::refusal(&e, &[REGISTRY, FAILING]))?;
        Ok(match transient_failures.get() {
            0 => format!("Switched off: {name}'s registry takes every submission."),
            n => format!("Armed: the next {n} submission(s) to {name}'s registry fail."),
        })
    })();
    outcome(&signed, result)
}

pub async fn drivers(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = (|| {
        let drop_answers = form.number(LOST_ACTIONS, FaultCount::RANGE)?;
        sandbox::set_driver_faults(&state, DriverFaults { drop_answers: Some(drop_answers), answer_next: None })
            .map_err(|e| labels::refusal(&e, &[LOST_ACTIONS]))?;
        Ok(match drop_answers.get() {
            0 => "Switched off: every driver action keeps its answer.".to_owned(),
            n => format!("Armed: the next {n} driver action(s) lose their answer."),
        })
    })();
    outcome(&signed, result)
}

/// Answers the next driver action with a status (and error code) without applying it.
pub async fn driver_answer(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = (|| {
        let status = form.number(ANSWER_STATUS, 400..=599u16)?;
        let code = form.optional(ANSWER_CODE, 64)?;
        let retry_after = form.optional_number(RETRY_AFTER, 0..=86_400u32)?;
        let answer = ScriptedAnswer { status, code: code.clone(), retry_after };
        sandbox::set_driver_faults(&state, DriverFaults { drop_answers: None, answer_next: Some(answer) })
            .map_err(|e| labels::refusal(&e, &[ANSWER_STATUS, ANSWER_CODE, RETRY_AFTER]))?;
        Ok(match code {
            Some(code) => format!("Armed: the next driver action is answered {status} ({code}) without being applied."),
            None => format!(
                "Armed: the next driver action is answered {status}, with a proxy's page, without being applied."
            ),
        })
    })();
    outcome(&signed, result)
}

pub async fn clock(State(state): State<AppState>, signed: Signed, form: Form) -> Response {
    let result = (|| {
        let amount = form.number(AMOUNT, 1..=366i64)?;
        let seconds = match form.text(UNIT, 8)?.as_str() {
            "hours" => amount * 3600,
            "days" => amount * 86_400,
            _ => return Err("Choose hours or days.".to_owned()),
        };
        let now = sandbox::advance_clock_by(&state, seconds).map_err(|e| labels::refusal(&e, &[AMOUNT]))?;
        Ok(format!("The platform's clock now reads {}.", labels::time(now)))
    })();
    outcome(&signed, result)
}
