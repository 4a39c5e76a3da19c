//! The fault switches (the payment gateway losing answers, a registry failing, drivers' phones
//! losing answers) and the sandbox clock. Each form calls the sandbox API's own function; a car's
//! network coverage is switched on its card in [`super::cars`].

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::csrf::SameOrigin;
use super::form::{Field, Form};
use super::labels;
use super::page::{self, Failure, Flash, Notice, Section};
use super::session::Signed;
use crate::platform::AppState;
use crate::platform::sandbox::{self, DriverFaults, PaymentFaults, RegistryFaults};

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

pub async fn page(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let now = state.clock.now();
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
                label { (LOST_CHARGES.label) input type="number" name=(LOST_CHARGES.name) min="0" max="100" value="1" required; }
                button type="submit" { "Arm" }
            }
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
                label { (FAILING.label) input type="number" name=(FAILING.name) min="0" max="100" value="1" required; }
                button type="submit" { "Arm" }
            }
        }
        section.card #driver-faults {
            h2 { "Drivers' phones" }
            p.muted { "The next driver actions are applied, then their answer is lost, as when a phone loses signal. 0 switches it off." }
            form method="post" action="/sandbox/controls/drivers" {
                label { (LOST_ACTIONS.label) input type="number" name=(LOST_ACTIONS.name) min="0" max="100" value="1" required; }
                button type="submit" { "Arm" }
            }
        }
    };
    page::render(&state, Section::Controls, "Faults & clock", flash, None, body)
}

/// What came of a switch, as the page after it says.
fn outcome(signed: &Signed, result: Result<String, String>) -> Response {
    page::after(signed, BACK, result.map_or_else(Notice::error, Notice::ok))
}

pub async fn payments(State(state): State<AppState>, signed: Signed, _: SameOrigin, form: Form) -> Response {
    let result = async {
        let drop_answers = form.number(LOST_CHARGES, 0..=100u32)?;
        sandbox::set_payment_faults(&state, &PaymentFaults { drop_answers })
            .await
            .map_err(|e| labels::refusal(&e, &[LOST_CHARGES]))?;
        Ok(match drop_answers {
            0 => "Switched off: every charge keeps its answer.".to_owned(),
            n => format!("Armed: the next {n} charge(s) lose their answer."),
        })
    };
    outcome(&signed, result.await)
}

pub async fn registries(State(state): State<AppState>, signed: Signed, _: SameOrigin, form: Form) -> Response {
    let result = (|| {
        let country = form.text(REGISTRY, 2)?;
        let name =
            REGISTRIES.iter().find(|(code, _)| *code == country).map(|(_, name)| *name).ok_or("Choose a registry.")?;
        let transient_failures = form.number(FAILING, 0..=100u32)?;
        sandbox::set_registry_faults(&state, &country, &RegistryFaults { transient_failures })
            .map_err(|e| labels::refusal(&e, &[REGISTRY, FAILING]))?;
        Ok(match transient_failures {
            0 => format!("Switched off: {name}'s registry takes every submission."),
            n => format!("Armed: the next {n} submission(s) to {name}'s registry fail."),
        })
    })();
    outcome(&signed, result)
}

pub async fn drivers(State(state): State<AppState>, signed: Signed, _: SameOrigin, form: Form) -> Response {
    let result = (|| {
        let drop_answers = form.number(LOST_ACTIONS, 0..=100u32)?;
        sandbox::set_driver_faults(&state, DriverFaults { drop_answers: Some(drop_answers), answer_next: None })
            .map_err(|e| labels::refusal(&e, &[LOST_ACTIONS]))?;
        Ok(match drop_answers {
            0 => "Switched off: every driver action keeps its answer.".to_owned(),
            n => format!("Armed: the next {n} driver action(s) lose their answer."),
        })
    })();
    outcome(&signed, result)
}

pub async fn clock(State(state): State<AppState>, signed: Signed, _: SameOrigin, form: Form) -> Response {
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
