//! An order's fault switches, on its page: its robot courier (a simulated driver who plays the
//! delivery by itself, with what happens at the door), a second charge of its final amount as
//! another channel might take it, its history rewritten as a dishonest platform would, and an event
//! of a kind this platform does not know, as a newer platform would send one. Each form calls the
//! sandbox API's own function, so the page plays exactly what a test script would.

use axum::extract::{Path, State};
use axum::response::Response;
use caas_protocol::api::OrderView;
use maud::{Markup, html};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::form::{Field, Form};
use super::labels;
use super::orders::{order_id, order_path};
use super::page::{self, Failure, Notice};
use super::session::Signed;
use crate::error::AppResult;
use crate::platform::AppState;
use crate::platform::orders::{self, Viewer};
use crate::platform::robot_courier::{self, RobotCourierRequest, RobotScenario};
use crate::platform::sandbox::{self, RewriteRequest};

const ENABLED: Field = Field { name: "enabled", label: "Robot courier", api: &["enabled"] };
const SCENARIO: Field = Field { name: "scenario", label: "At the door", api: &["scenario"] };
const VERSION: Field = Field { name: "version", label: "Event number", api: &["version"] };
const TYPE: Field = Field { name: "type", label: "Event type", api: &["type"] };
/// The newer platform's event the form offers to append.
const NEWER_TYPE: &str = "loyalty_points_awarded";

/// The switches of the order `view` shows, with its robot courier as now set.
pub fn card(state: &AppState, view: &OrderView) -> AppResult<Markup> {
    let robot = robot_courier::scenario_of(state, &state.db.lock(), view.id)?;
    let base = order_path(view.id);
    Ok(html! {
        section.card #order-switches {
            h2 { "Fault switches" }
            div #robot-courier data-enabled=(robot.is_some()) {
                h3 { "Robot courier" }
                p {
                    @match robot {
                        Some(scenario) => { "A robot courier drives this delivery: " (labels::robot_scenario(scenario)) "." }
                        None => { "No robot courier: the delivery waits for a driver's phone, or for the steps above." }
                    }
                }
                form.row method="post" action=(format!("{base}/robot-courier")) {
                    label {
                        (SCENARIO.label)
                        select name=(SCENARIO.name) {
                            @for scenario in RobotScenario::ALL {
                                option value=(scenario.stored()) selected[robot == Some(scenario)] {
                                    (labels::robot_scenario(scenario))
                                }
                            }
                        }
                    }
                    button type="submit" name=(ENABLED.name) value="true" { "Switch on" }
                    button.secondary type="submit" name=(ENABLED.name) value="false" { "Switch off" }
                }
            }
            @if view.final_payment.is_some() {
                div #duplicate-charge {
                    h3 { "A second charge" }
                    p.muted { "Charges the final amount again through the gateway, as another channel might; the platform gives it back once the gateway reports it." }
                    form method="post" action=(format!("{base}/duplicate-charge")) {
                        button.danger type="submit" { "Charge again" }
                    }
                }
            }
            div #rewrite-history {
                h3 { "History rewritten" }
                p.muted { "Dates one event a day earlier and signs the record again from there, as a platform rewriting its own history would: a phone that held the old record refuses the new one at its next sync." }
                form.row method="post" action=(format!("{base}/history/rewrite")) {
                    label { (VERSION.label) input type="number" name=(VERSION.name) min="1" max=(view.version) value="1" required; }
                    button.danger type="submit" { "Rewrite" }
                }
            }
            div #newer-event {
                h3 { "An event from a newer platform" }
                p.muted { "Appends an event of a kind this platform does not know (the customer's phones get its push), to watch today's apps keep working." }
                form.row method="post" action=(format!("{base}/events")) {
                    label {
                        (TYPE.label)
                        input type="text" name=(TYPE.name) maxlength="64" pattern="[a-z0-9_]{1,64}" value=(NEWER_TYPE) required;
                    }
                    button type="submit" { "Append" }
                }
            }
        }
    })
}

/// Switches the order's robot courier on, with what it plays at the door, or off.
pub async fn robot(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let result = (|| {
        let enabled = form.flag(ENABLED)?;
        let scenario = RobotScenario::from_stored(&form.text(SCENARIO, 32)?)
            .ok_or_else(|| format!("Choose what happens “{}”.", SCENARIO.label.to_lowercase()))?;
        let set = robot_courier::set(&state, id, &RobotCourierRequest { enabled, scenario })
            .map_err(|e| labels::refusal(&e, &[ENABLED, SCENARIO]))?;
        Ok(match set.enabled {
            true => format!("A robot courier drives the delivery: {}.", labels::robot_scenario(set.scenario)),
            false => "The robot courier is switched off: the delivery waits for a driver.".to_owned(),
        })
    })();
    Ok(back(&signed, id, result))
}

/// Charges the order's final amount a second time.
pub async fn duplicate_charge(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let result = sandbox::charge_again(&state, id)
        .await
        .map(|payment| {
            format!(
                "Charged the final amount again ({}): the platform gives it back once the gateway reports it.",
                payment.id
            )
        })
        .map_err(|e| labels::refusal(&e, &[]));
    Ok(back(&signed, id, result))
}

/// Dates one of the order's events a day earlier and signs the record again from there.
pub async fn rewrite_history(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let newest = orders::view(&state.db.lock(), id, Viewer::Sandbox)?.version;
    let result = (|| {
        let version = form.number(VERSION, 1..=newest)?;
        let event =
            sandbox::rewrite(&state, id, &RewriteRequest { version }).map_err(|e| labels::refusal(&e, &[VERSION]))?;
        Ok(format!(
            "Event {version} is now dated {}: a phone that held the old record refuses it at its next sync.",
            labels::time(event.occurred_at)
        ))
    })();
    Ok(back(&signed, id, result))
}

/// Appends an event of a kind this platform does not know, as a newer platform would.
pub async fn newer_event(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let result = (|| {
        let type_name = form.text(TYPE, 64)?;
        let body = Map::from_iter([("type".to_owned(), Value::String(type_name.clone()))]);
        sandbox::append_newer_event(&state, id, body).map_err(|e| labels::refusal(&e, &[TYPE]))?;
        Ok(format!("Appended a “{type_name}” event, as a newer platform would; the customer's phones got its push."))
    })();
    Ok(back(&signed, id, result))
}

/// Back to the order's page, with what came of the switch.
fn back(signed: &Signed, id: Uuid, result: Result<String, String>) -> Response {
    page::after(signed, &order_path(id), result.map_or_else(Notice::error, Notice::ok))
}
