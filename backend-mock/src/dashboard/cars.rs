//! The cars the platform knows (each order with a VIN), what each remembers (on air, linked
//! phones, network coverage), its fault switches (coverage, replies lost on the air), and the phone
//! keys issued for it, each with a button that revokes it as the owner or the dealership would for
//! a lost phone.

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use caas_protocol::OrderState;
use maud::{Markup, html};
use ring::digest::{SHA256, digest};
use rusqlite::Connection;
use uuid::Uuid;

use super::form::{Field, Form};
use super::labels;
use super::orders::{order_path, short, state_badge};
use super::page::{self, Failure, Flash, Notice, Section};
use super::session::Signed;
use crate::error::AppResult;
use crate::platform::sandbox::{self, VehicleFaults};
use crate::platform::{AppState, pairing};
use crate::validate::FaultCount;

const BACK: &str = "/sandbox/cars";
/// The most cars the page lists (the newest); a sandbox rarely holds a tenth of it.
const MAX_CARS: u32 = 500;
/// The most phone keys a car's card lists (the newest); a car has a handful.
const MAX_KEYS: u32 = 50;
/// The coverage switch's one field.
const CONNECTED: Field = Field { name: "connected", label: "Coverage", api: &["connected"] };
const LOST_REPLIES: Field = Field { name: "drop_replies", label: "Replies lost on the air", api: &["drop_replies"] };

/// A car on its order.
#[derive(Debug)]
struct Car {
    vin: String,
    order: Uuid,
    state: OrderState,
    keys: Vec<Key>,
}

/// A phone key (grant) of a car.
#[derive(Debug)]
struct Key {
    grant_id: Uuid,
    /// A short fingerprint of the phone's public key, to tell phones apart.
    device: String,
    issued_at: String,
    not_after: String,
    linked_at: Option<String>,
    revoked_at: Option<String>,
}

pub async fn page(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let cars = cars(&state.db.lock())?;
    let body = html! {
        h1 { "Cars & phone keys" }
        @if cars.is_empty() { p.muted { "No car has a VIN yet: the factory gives one when it builds the car." } }
        @for car in &cars { (card(&state, car)) }
    };
    page::render(&state, Section::Cars, "Cars & keys", flash, None, body)
}

fn card(state: &AppState, car: &Car) -> Markup {
    let memory = caas_protocol::pairing::Vin::parse(&car.vin).ok().map(|vin| state.fleet.inspect(&vin));
    html! {
        section.card.car data-vin=(car.vin) {
            h2 { code { (car.vin) } }
            p { "Order " a href=(order_path(car.order)) { (short(car.order)) } " " (state_badge(car.state)) }
            @if let Some(memory) = &memory {
                p {
                    @if memory.on_air { "Advertising to its owner's phones" } @else { "Not advertising (not handed over yet)" }
                    ", " (memory.linked_phones) " phone(s) linked, "
                    span.coverage data-connected=(memory.connected) {
                        @if memory.connected { "in network coverage" } @else { "out of network coverage" }
                    }
                    "."
                }
                form.inline method="post" action=(format!("/sandbox/cars/{}/coverage", car.vin)) {
                    input type="hidden" name=(CONNECTED.name) value=(!memory.connected);
                    button.secondary type="submit" {
                        @if memory.connected { "Take out of coverage" } @else { "Bring back into coverage" }
                    }
                }
                form.row.replies method="post" action=(format!("/sandbox/cars/{}/replies", car.vin)) {
                    label {
                        (LOST_REPLIES.label)
                        input type="number" name=(LOST_REPLIES.name) min="0" max=(FaultCount::MAX) value="1" required;
                    }
                    button.secondary type="submit" { "Arm" }
                }
            }
            h3 { "Phone keys" }
            @if car.keys.is_empty() {
                p.muted { "No phone key issued." }
            } @else {
                table.keys {
                    thead { tr { th { "Phone" } th { "Issued" } th { "Valid until" } th { "Linked" } th { "Status" } } }
                    tbody {
                        @for key in &car.keys {
                            tr data-grant=(key.grant_id) {
                                td { code { (key.device) } }
                                td { (labels::stored_time(&key.issued_at)) }
                                td { (labels::stored_time(&key.not_after)) }
                                td { (key.linked_at.as_deref().map(labels::stored_time).unwrap_or_default()) }
                                td {
                                    @if let Some(revoked) = &key.revoked_at {
                                        span.revoked { "Revoked " (labels::stored_time(revoked)) }
                                    } @else {
                                        form.inline method="post" action=(format!("/sandbox/keys/{}/revoke", key.grant_id)) {
                                            button.danger type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Switches a car's network coverage.
pub async fn coverage(State(state): State<AppState>, signed: Signed, Path(vin): Path<String>, form: Form) -> Response {
    let connected = match form.flag(CONNECTED) {
        Ok(connected) => connected,
        Err(complaint) => return page::after(&signed, BACK, Notice::error(complaint)),
    };
    let faults = VehicleFaults { drop_replies: None, connected: Some(connected) };
    let notice = match sandbox::set_vehicle_faults(&state, &vin, &faults).await {
        Ok(()) if connected => Notice::ok(format!("{vin} is back in network coverage.")),
        Ok(()) => Notice::ok(format!("{vin} is out of network coverage.")),
        Err(refusal) => {
            Notice::error(format!("The coverage could not be switched: {}", labels::refusal(&refusal, &[CONNECTED])))
        }
    };
    page::after(&signed, BACK, notice)
}

/// Makes a car's next replies get lost on the air after it acted, as a link dropping at the worst
/// moment would; 0 switches it off.
pub async fn replies(State(state): State<AppState>, signed: Signed, Path(vin): Path<String>, form: Form) -> Response {
    let result = async {
        let drop_replies = form.number(LOST_REPLIES, FaultCount::RANGE)?;
        let faults = VehicleFaults { drop_replies: Some(drop_replies), connected: None };
        sandbox::set_vehicle_faults(&state, &vin, &faults).await.map_err(|e| labels::refusal(&e, &[LOST_REPLIES]))?;
        Ok::<_, String>(match drop_replies.get() {
            0 => format!("Switched off: {vin} keeps every reply."),
            n => format!("Armed: {vin}'s next {n} reply(ies) are lost on the air after it acted."),
        })
    };
    page::after(&signed, BACK, result.await.map_or_else(Notice::error, Notice::ok))
}

/// Revokes a phone key.
pub async fn revoke(State(state): State<AppState>, signed: Signed, Path(grant): Path<String>) -> Response {
    let notice = match grant.parse::<Uuid>() {
        Err(_) => Notice::error("There is no such phone key."),
        Ok(grant) => match pairing::revoke(&state, grant, None) {
            Ok(()) => Notice::ok("The phone key is revoked: the car refuses it from its next connection."),
            Err(refusal) => Notice::error(format!("The key could not be revoked: {}", labels::refusal(&refusal, &[]))),
        },
    };
    page::after(&signed, BACK, notice)
}

/// The cars with a VIN, newest order first, with their newest keys: two queries, each bounded.
fn cars(conn: &Connection) -> AppResult<Vec<Car>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, vin, state FROM orders WHERE vin IS NOT NULL ORDER BY created_at DESC LIMIT ?1")?;
    let rows =
        stmt.query_map([MAX_CARS], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    let mut cars = Vec::new();
    for row in rows {
        let (order, vin, state) = row?;
        let Ok(order) = order.parse() else { continue };
        let state = state.parse().unwrap_or(OrderState::Unknown);
        cars.push(Car { vin, order, state, keys: Vec::new() });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT order_id, grant_id, device_public_key, issued_at, not_after, linked_at, revoked_at FROM (
             SELECT g.*, ROW_NUMBER() OVER (PARTITION BY g.order_id ORDER BY g.issued_at DESC) AS newest
             FROM pairing_grants g
             WHERE g.order_id IN (SELECT id FROM orders WHERE vin IS NOT NULL ORDER BY created_at DESC LIMIT ?1)
         ) WHERE newest <= ?2 ORDER BY order_id, issued_at",
    )?;
    let rows = stmt.query_map([MAX_CARS, MAX_KEYS], |r| {
        let public_key: Vec<u8> = r.get(2)?;
        let fingerprint = digest(&SHA256, &public_key);
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            Key {
                grant_id: Uuid::nil(),
                device: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&fingerprint.as_ref()[..6]),
                issued_at: r.get(3)?,
                not_after: r.get(4)?,
                linked_at: r.get(5)?,
                revoked_at: r.get(6)?,
            },
        ))
    })?;
    let at: std::collections::HashMap<Uuid, usize> = cars.iter().enumerate().map(|(i, car)| (car.order, i)).collect();
    for row in rows {
        let (order, grant_id, key) = row?;
        let (Ok(order), Ok(grant_id)) = (order.parse::<Uuid>(), grant_id.parse()) else { continue };
        if let Some(&i) = at.get(&order) {
            cars[i].keys.push(Key { grant_id, ..key });
        }
    }
    Ok(cars)
}
