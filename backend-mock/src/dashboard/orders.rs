//! The orders: the list with their states, and each order's page with what it is, its legal next
//! steps as buttons that take them (through the sandbox's own steps, so every rule, event, push and
//! webhook happens as in real life), its fault switches ([`super::switches`]) and its timeline, the
//! order's log in words.

use crate::db::CachedSql as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use caas_protocol::OrderState;
use caas_protocol::api::{OrderView, VehicleConfiguration};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension as _};
use uuid::Uuid;

use super::form::{Field, Form};
use super::labels;
use super::page::{self, Failure, Flash, Notice, Section};
use super::session::Signed;
use crate::error::AppResult;
use crate::platform::AppState;
use crate::platform::orders::{self, Viewer};
use crate::platform::steps;

/// The most events an order's page lists (the newest ones); no journey comes near it.
const MAX_TIMELINE: u32 = 500;
/// The most orders the list shows (the newest ones), so a long-lived sandbox still opens quickly.
const MAX_LISTED: u32 = 500;
/// The step a button takes.
const TO: Field = Field { name: "to", label: "Step", api: &["to"] };

/// An order as the list shows it.
#[derive(Debug)]
struct Listed {
    id: Uuid,
    email: String,
    configuration: VehicleConfiguration,
    dealership: String,
    state: OrderState,
    updated_at: Option<DateTime<Utc>>,
}

/// The newest orders, newest first, in one query.
fn listed(conn: &Connection) -> AppResult<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, c.email, o.configuration, d.name, o.state, o.updated_at
         FROM orders o JOIN customers c ON c.id = o.customer_id JOIN dealerships d ON d.id = o.dealership_id
         ORDER BY o.created_at DESC, o.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([MAX_LISTED], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut listed = Vec::new();
    for row in rows {
        let (id, email, configuration, dealership, state, updated_at) = row?;
        let Ok(id) = id.parse() else { continue };
        listed.push(Listed {
            id,
            email,
            configuration: serde_json::from_str(&configuration)
                .unwrap_or(VehicleConfiguration { base_platform: String::new(), options: Vec::new() }),
            dealership,
            state: state.parse().unwrap_or(OrderState::Unknown),
            updated_at: DateTime::parse_from_rfc3339(&updated_at).ok().map(|t| t.to_utc()),
        });
    }
    Ok(listed)
}

/// Every order, newest first.
pub async fn list(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let orders = listed(&state.db.lock())?;
    let body = html! {
        h1 { "Orders" }
        p { a href="/sandbox/sales/new" { "Register a new sale" } }
        @if orders.is_empty() {
            p.muted { "No orders yet." }
        } @else {
            table #orders {
                thead { tr { th { "Order" } th { "Customer" } th { "Car" } th { "Dealership" } th { "State" } th { "Updated" } } }
                tbody {
                    @for order in &orders {
                        tr data-order=(order.id) {
                            td { a href=(order_path(order.id)) { (short(order.id)) } }
                            td { (order.email) }
                            td { (car(&order.configuration)) }
                            td { (order.dealership) }
                            td { (state_badge(order.state)) }
                            td.muted { (order.updated_at.map(labels::time).unwrap_or_default()) }
                        }
                    }
                }
            }
            @if orders.len() == MAX_LISTED as usize {
                p.muted { "The newest " (MAX_LISTED) " orders; older ones open by their link." }
            }
        }
    };
    page::render(&state, Section::Orders, "Orders", flash, None, body)
}

/// One order: what it is, its next steps, its timeline.
pub async fn detail(
    State(state): State<AppState>,
    _: Signed,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let (view, email, events) = {
        let conn = state.db.lock();
        let view = orders::view(&conn, id, Viewer::Sandbox)?;
        let first = i64::try_from(view.version.saturating_sub(u64::from(MAX_TIMELINE))).unwrap_or(0);
        (view, customer_email(&conn, id)?, orders::events_after(&conn, id, first, MAX_TIMELINE)?)
    };
    let next = steps::next_steps(&state, id)?;
    let switches = super::switches::card(&state, &view)?;
    let body = html! {
        h1 { "Order " (short(id)) " " (state_badge(view.state)) }
        (facts(&view, email.as_deref()))
        section.card #next-steps {
            h2 { "Next steps" }
            @if next.is_empty() {
                p.muted { "The journey is over: no step leads on from here." }
            } @else {
                ul.steps {
                    @for step in &next {
                        li {
                            form.inline method="post" action=(format!("{}/steps", order_path(id))) {
                                input type="hidden" name=(TO.name) value=(step.to.wire_name());
                                @if step.takeable {
                                    button type="submit" data-to=(step.to.wire_name()) data-takeable="true" { "→ " (labels::state(step.to)) }
                                } @else {
                                    button.secondary type="submit" data-to=(step.to.wire_name()) data-takeable="false" title="The sandbox cannot take this step now; try it to read why" {
                                        "→ " (labels::state(step.to))
                                    }
                                }
                            }
                            span { "by " (labels::actor(step.by)) }
                            span.muted { (labels::prose(&step.note)) }
                        }
                    }
                }
            }
        }
        (switches)
        section.card #timeline {
            h2 { "Timeline" }
            ol.timeline reversed {
                @for event in events.iter().rev() {
                    li data-type=(event.kind.type_name()) data-version=(event.version) {
                        time datetime=(event.occurred_at.to_rfc3339()) { (labels::time(event.occurred_at)) }
                        " " (labels::event(&event.kind))
                    }
                }
            }
        }
    };
    page::render(&state, Section::Orders, &format!("Order {}", short(id)), flash, Some(id), body)
}

/// Takes the step the button names, and says what came of it on the order's page.
pub async fn take_step(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, Failure> {
    let id = order_id(&id)?;
    let back = order_path(id);
    let to = match form.text(TO, 64).map(|to| to.parse::<OrderState>()) {
        Ok(Ok(to)) if to != OrderState::Unknown => to,
        _ => return Ok(page::after(&signed, &back, Notice::error("That is not a step of the lifecycle."))),
    };
    let notice = match steps::take(&state, id, to).await {
        Ok(view) if view.state == to => Notice::ok(format!("Done: the order is now “{}”.", labels::state(to))),
        Ok(view) => Notice::ok(format!(
            "Done: the order went through “{}” and is now “{}”.",
            labels::state(to),
            labels::state(view.state)
        )),
        Err(refusal) => {
            tracing::info!(order = %id, %to, reason = %refusal.message, "a dashboard step was refused");
            Notice::error(format!(
                "The step to “{}” was refused: {}",
                labels::state(to),
                labels::refusal(&refusal, &[TO])
            ))
        }
    };
    Ok(page::after(&signed, &back, notice))
}

/// What an order is: its customer, car, dealership, money and delivery.
fn facts(view: &OrderView, email: Option<&str>) -> Markup {
    html! {
        dl.facts.card {
            dt { "Customer" } dd { (email.unwrap_or("")) }
            dt { "Car" } dd { (car(&view.configuration)) }
            dt { "Dealership" } dd { (view.dealership.name) ", delivering in " (view.delivery_locality) }
            @if let Some(vin) = &view.vin { dt { "VIN" } dd { code { (vin) } } }
            @if let Some(registration) = &view.registration { dt { "Plate" } dd { (registration.plate) } }
            @if let Some(price) = &view.price { dt { "Price" } dd { (labels::money(price)) } }
            @if let Some(deposit) = &view.deposit { dt { "Deposit" } dd { (labels::money(deposit)) } }
            @if let Some(due) = &view.final_payment {
                dt { "Final payment" }
                dd {
                    (labels::money(&due.amount_due))
                    @if let Some(paid) = due.paid_at { ", paid " (labels::time(paid)) }
                    @else { ", due by " (labels::time(due.deadline)) }
                }
            }
            @if let Some(delivery) = &view.delivery {
                dt { "Delivery" }
                dd {
                    (delivery.company.name) ", " (labels::time(delivery.window.start))
                    @if delivery.address_confirmed { ", address confirmed" } @else { ", address not confirmed yet" }
                }
            }
            @if let Some(blocker) = &view.blocker {
                dt { "Blocked" }
                dd { (labels::prose(&blocker.reason)) @if let Some(fix) = &blocker.fix { " — " (labels::prose(fix)) } }
            }
        }
    }
}

/// A car in words: model and factory options.
fn car(configuration: &VehicleConfiguration) -> String {
    let model = crate::catalogue::base_platform(&configuration.base_platform)
        .map_or_else(|| labels::option(&configuration.base_platform), |p| p.name.to_owned());
    if configuration.options.is_empty() {
        return model;
    }
    let options: Vec<String> = configuration.options.iter().map(|o| labels::option(o)).collect();
    format!("{model} with {}", options.join(", "))
}

pub fn state_badge(state: OrderState) -> Markup {
    html! { span.state data-state=(state.wire_name()) { (labels::state(state)) } }
}

pub fn order_path(id: Uuid) -> String {
    format!("/sandbox/orders/{id}")
}

/// The last part of an order's id, enough to tell orders apart on a page.
pub fn short(id: Uuid) -> String {
    let text = id.simple().to_string();
    text[text.len() - 8..].to_owned()
}

pub(super) fn order_id(text: &str) -> Result<Uuid, Failure> {
    text.parse().map_err(|_| page::failure(StatusCode::NOT_FOUND, "There is no such order."))
}

/// The email of an order's customer.
fn customer_email(conn: &Connection, order: Uuid) -> AppResult<Option<String>> {
    Ok(conn
        .query_row_cached(
            "SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ?1",
            [order.to_string()],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_bounded_in_its_one_query() {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::db::Db::open(&dir.path().join("orders.sqlite3")).expect("db");
        let conn = db.lock();
        conn.execute_batch(
            "INSERT INTO dealerships VALUES ('d', 'Centro', 'ES', 'Madrid');
             INSERT INTO customers (id, email, name, country) VALUES ('c', 'ana@example.com', 'Ana', 'ES');",
        )
        .expect("rows");
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration, delivery_locality,
                                     created_at, updated_at)
                 VALUES (?1, 'c', 'd', 'sale_registered', 1, '{\"base_platform\":\"urban-ev\",\"options\":[]}',
                         'Madrid', ?2, ?2)",
            )
            .expect("statement");
        for n in 0..=MAX_LISTED {
            let at = format!("2026-11-01T10:{:02}:{:02}Z", n / 60 % 60, n % 60);
            insert.execute(rusqlite::params![Uuid::new_v4().to_string(), at]).expect("order");
        }
        let orders = listed(&conn).expect("list");
        assert_eq!(orders.len(), MAX_LISTED as usize, "no more than the bound");
        assert_eq!(orders[0].email, "ana@example.com");
        assert_eq!(orders[0].dealership, "Centro");
        assert!(orders.windows(2).all(|w| w[0].updated_at >= w[1].updated_at), "newest first");
    }
}
