//! The purchase records: orders, their append-only event logs and the lifecycle rules on them.
//!
//! Every change to an order is an event appended with the next version in the same transaction
//! that changes the order row, so the log and the order can never disagree.

use crate::db::CachedSql as _;
use caas_protocol::api::{
    DealershipView, ErrorCode, EventKind, FinalPayment, Money, OrderEvent, OrderView, Registration,
    RegistrationDetails, VehicleConfiguration,
};
use caas_protocol::messages::Language;
use caas_protocol::projection::OrderProjection;
use caas_protocol::record::{Chain, RecordHash};
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Who may see an order: its customer, its dealership, or the sandbox (everything).
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    Customer(Uuid),
    Dealership(&'a str),
    Sandbox,
}

pub struct NewOrder<'a> {
    pub customer_id: Uuid,
    pub dealership_id: &'a str,
    pub configuration: &'a VehicleConfiguration,
    pub delivery_locality: &'a str,
    /// The list price, when the catalogue knows every part of the configuration.
    pub price: Option<Money>,
    /// The stock car this sale takes, instead of a new one from the factory.
    pub stock_vin: Option<&'a str>,
    /// The owner's registration details and address as given with this sale.
    pub registration: &'a RegistrationDetails,
}

/// The owner's registration details and address of an order: the ones its own sale took, as its
/// dealership corrected them; never those of another sale to the same customer.
pub fn registration_details(conn: &Connection, id: Uuid) -> AppResult<RegistrationDetails> {
    let stored: Option<String> =
        conn.query_row_cached("SELECT registration_details FROM orders WHERE id = ?1", [id.to_string()], |r| r.get(0))?;
    Ok(stored.map(|json| serde_json::from_str(&json)).transpose()?.unwrap_or_default())
}

/// Completes or corrects an order's registration details; fields not given are kept.
pub fn correct_registration_details(conn: &Connection, id: Uuid, correction: &RegistrationDetails) -> AppResult<()> {
    let current = registration_details(conn, id)?;
    let merged = RegistrationDetails {
        national_id: correction.national_id.clone().or(current.national_id),
        tax_number: correction.tax_number.clone().or(current.tax_number),
        address: correction.address.clone().or(current.address),
    };
    conn.execute_cached(
        "UPDATE orders SET registration_details = ?2 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(&merged)?],
    )?;
    Ok(())
}

/// Creates an order in `sale_registered` with its first event.
pub fn create(conn: &Connection, new: &NewOrder<'_>) -> AppResult<(Uuid, OrderEvent)> {
    let id = Uuid::now_v7();
    let now = Utc::now().to_rfc3339();
    conn.execute_cached(
        "INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                             delivery_locality, created_at, updated_at, price, vin, from_stock, registration_details)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
        params![
            id.to_string(),
            new.customer_id.to_string(),
            new.dealership_id,
            OrderState::SaleRegistered.wire_name(),
            serde_json::to_string(new.configuration)?,
            new.delivery_locality,
            now,
            new.price.as_ref().map(serde_json::to_string).transpose()?,
            new.stock_vin,
            new.stock_vin.is_some(),
            serde_json::to_string(new.registration)?
        ],
    )?;
    let event = append(
        conn,
        id,
        EventKind::StateChanged { from: None, to: OrderState::SaleRegistered, by: Actor::Dealership },
    )?;
    Ok((id, event))
}

/// Moves an order along a lifecycle edge on behalf of `by`, refusing any edge the table lacks.
pub fn transition(conn: &Connection, id: Uuid, to: OrderState, by: Actor) -> AppResult<OrderEvent> {
    let from = state(conn, id)?;
    match from.transition_to(to) {
        Some(edge) if edge.by == by => append(conn, id, EventKind::StateChanged { from: Some(from), to, by }),
        _ => Err(AppError::conflict(
            ErrorCode::IllegalTransition,
            format!("an order in `{from}` cannot move to `{to}` on behalf of `{by}`"),
        )),
    }
}

/// Appends one event with the next version, linked to the one before it, and applies its effect
/// to the order row.
pub fn append(conn: &Connection, id: Uuid, kind: EventKind) -> AppResult<OrderEvent> {
    let mut chain = chain(conn, id)?;
    let event = OrderEvent {
        event_id: Uuid::now_v7(),
        order_id: id,
        version: chain.version() + 1,
        occurred_at: Utc::now(),
        prev: Some(chain.head()),
        kind,
    };
    let body = serde_json::to_value(&event)?;
    let hash = chain.link(&body).map_err(|e| AppError::internal(format!("an event does not link: {e}")))?;
    conn.execute_cached(
        "INSERT INTO order_events (order_id, version, event_id, body) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), event.version, event.event_id.to_string(), body.to_string()],
    )?;
    conn.execute_cached("UPDATE orders SET head_hash = ?2 WHERE id = ?1", params![id.to_string(), hash.to_text()])?;
    // The summary follows the one rule the phone follows too.
    let mut summary = projection(conn, id)?;
    summary.apply(&event.kind);
    conn.execute_cached(
        "UPDATE orders SET version = ?2, updated_at = ?3, state = ?4, blocker = ?5, estimated_completion = ?6
         WHERE id = ?1",
        params![
            id.to_string(),
            event.version,
            event.occurred_at.to_rfc3339(),
            summary.state.map(OrderState::wire_name),
            summary.blocker.as_ref().map(serde_json::to_string).transpose()?,
            summary.estimated_completion.map(|d| d.to_string()),
        ],
    )?;
    // What the platform keeps beside the summary.
    match &event.kind {
        EventKind::FinalPaymentRequested { amount_due, deadline } => {
            let due = FinalPayment { amount_due: amount_due.clone(), deadline: *deadline, paid_at: None };
            conn.execute_cached(
                "UPDATE orders SET final_payment = ?2, payment_reminded_at = NULL WHERE id = ?1",
                params![id.to_string(), serde_json::to_string(&due)?],
            )?;
        }
        EventKind::PaymentReminder { .. } => {
            conn.execute_cached(
                "UPDATE orders SET payment_reminded_at = ?2 WHERE id = ?1",
                params![id.to_string(), event.occurred_at.to_rfc3339()],
            )?;
        }
        EventKind::AppLinked { link } => {
            conn.execute_cached(
                "UPDATE orders SET app_link = ?2 WHERE id = ?1",
                params![id.to_string(), serde_json::to_string(link)?],
            )?;
        }
        // The summary's own events, above. Keys are kept in `pairing_grants` by the pairing
        // handlers, refunds in `duplicate_charges` by the payment handlers, the delivery by the
        // delivery handlers, options in `option_purchases` by the option handlers, maintenance in
        // `maintenance` and `service_visits` by the maintenance handlers; only the sandbox appends unknown kinds (a newer platform, played).
        EventKind::StateChanged { .. }
        | EventKind::EstimateRevised { .. }
        | EventKind::ConfigurationRejected { .. }
        | EventKind::RegistrationBlocked { .. }
        | EventKind::KeyIssued { .. }
        | EventKind::KeyRevoked { .. }
        | EventKind::PaymentRefunded { .. }
        | EventKind::Unknown(_)
        | EventKind::DeliveryScheduled { .. }
        | EventKind::DeliveryAddressConfirmed
        | EventKind::Embarked { .. }
        | EventKind::CustomerAbsent { .. }
        | EventKind::TransitIncident { .. }
        | EventKind::ArrivalEstimated { .. }
        | EventKind::ReceivedAtDealership { .. }
        | EventKind::PickupRequired { .. }
        | EventKind::HandedOver { .. }
        | EventKind::HandoverDisputed { .. }
        | EventKind::OptionPurchased { .. }
        | EventKind::OptionActivated { .. }
        | EventKind::OptionRefunded { .. }
        | EventKind::ServiceDue { .. }
        | EventKind::VehicleWarning { .. }
        | EventKind::ServiceBooked { .. }
        | EventKind::ServiceCancelled { .. }
        | EventKind::ServiceVisitRecorded { .. } => {}
    }
    Ok(event)
}

/// The order's chain as far as its log goes.
pub fn chain(conn: &Connection, id: Uuid) -> AppResult<Chain> {
    let (version, head): (u64, Option<String>) = conn
        .query_row_cached("SELECT version, head_hash FROM orders WHERE id = ?1", [id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .ok_or_else(|| AppError::not_found("order"))?;
    match head {
        Some(head) => {
            let head = RecordHash::from_text(&head).map_err(|e| AppError::internal(format!("a stored head: {e}")))?;
            Ok(Chain::resume(id, version, head))
        }
        None if version == 0 => Ok(Chain::new(id)),
        None => Err(AppError::internal("the order's log has no chain (the database was not upgraded)")),
    }
}

/// The order's summary as its row holds it.
fn projection(conn: &Connection, id: Uuid) -> AppResult<OrderProjection> {
    let (state, blocker, estimate): (String, Option<String>, Option<String>) = conn.query_row_cached(
        "SELECT state, blocker, estimated_completion FROM orders WHERE id = ?1",
        [id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(OrderProjection {
        state: Some(state_named(&state)?),
        blocker: blocker.as_deref().map(serde_json::from_str).transpose()?,
        estimated_completion: estimate.and_then(|d| d.parse().ok()),
    })
}

pub fn state(conn: &Connection, id: Uuid) -> AppResult<OrderState> {
    let name: String = conn
        .query_row_cached("SELECT state FROM orders WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AppError::not_found("order"))?;
    state_named(&name)
}

/// The VIN the factory gave the order's car, if it has one yet; read alone, not through the whole
/// view, for a driver's scan at loading.
pub fn vin(conn: &Connection, id: Uuid) -> AppResult<Option<String>> {
    conn.query_row_cached("SELECT vin FROM orders WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AppError::not_found("order"))
}

/// What a driver's view of a delivery shows of its order and its customer.
pub struct DriverFacts {
    pub state: OrderState,
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub dealership_id: String,
    pub base_platform: String,
    pub customer_name: String,
    pub customer_phone: Option<String>,
}

/// [`DriverFacts`] of order `id` in one read: a driver's list and every answer to a driver's
/// action show these, and the customer's whole view (its delivery, options and maintenance, read
/// beside the row) is not needed there. A stored state this platform does not know, or an order
/// without its customer, is a storage fault (retried), never a refusal of the driver's action.
pub fn driver_facts(conn: &Connection, id: Uuid) -> AppResult<DriverFacts> {
    conn.query_row_cached(
        "SELECT o.state, o.vin, o.registration, o.dealership_id, o.configuration, c.name, c.phone
         FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = ?1",
        [id.to_string()],
        |r| {
            let state = r.get::<_, String>(0)?.parse::<OrderState>().map_err(|unknown| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(unknown))
            })?;
            Ok(DriverFacts {
                state,
                vin: r.get(1)?,
                plate: lenient::<Registration>(r.get(2)?).map(|registration| registration.plate),
                dealership_id: r.get(3)?,
                base_platform: lenient::<VehicleConfiguration>(r.get(4)?)
                    .map(|configuration| configuration.base_platform)
                    .unwrap_or_default(),
                customer_name: r.get(5)?,
                customer_phone: r.get(6)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| AppError::not_found("order"))
}

/// A JSON column read leniently: a value this platform cannot read shows as absent.
fn lenient<T: serde::de::DeserializeOwned>(text: Option<String>) -> Option<T> {
    text.and_then(|text| serde_json::from_str(&text).ok())
}

/// A state as the order row stores it; this platform only ever stores its own.
fn state_named(name: &str) -> AppResult<OrderState> {
    name.parse().map_err(|_| AppError::internal("stored order state is unknown"))
}

pub fn set_deposit(conn: &Connection, id: Uuid, deposit: &Money) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE orders SET deposit = ?2 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(deposit)?],
    )?;
    Ok(())
}

/// Changes the configuration, and with it the price.
pub fn set_configuration(
    conn: &Connection,
    id: Uuid,
    configuration: &VehicleConfiguration,
    price: Option<&Money>,
) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE orders SET configuration = ?2, price = ?3 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(configuration)?, price.map(serde_json::to_string).transpose()?],
    )?;
    Ok(())
}

/// Records the gateway's confirmation of the final payment.
pub fn set_paid(conn: &Connection, id: Uuid, paid_at: DateTime<Utc>) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE orders SET final_payment = json_set(final_payment, '$.paid_at', ?2) WHERE id = ?1",
        params![id.to_string(), paid_at.to_rfc3339()],
    )?;
    Ok(())
}

pub fn set_registration(conn: &Connection, id: Uuid, registration: &Registration) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE orders SET registration = ?2 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(registration)?],
    )?;
    Ok(())
}

/// Records the factory's acceptance: its order id and the car's VIN. (The state change that
/// follows clears any refusal.)
pub fn set_factory_order(conn: &Connection, id: Uuid, factory_order_id: &str, vin: &str) -> AppResult<()> {
    conn.execute_cached(
        "UPDATE orders SET factory_order_id = ?2, vin = ?3 WHERE id = ?1",
        params![id.to_string(), factory_order_id, vin],
    )?;
    Ok(())
}

/// The platform order behind a factory order id.
pub fn by_factory_order(conn: &Connection, factory_order_id: &str) -> AppResult<Option<Uuid>> {
    let id: Option<String> = conn
        .query_row_cached("SELECT id FROM orders WHERE factory_order_id = ?1", [factory_order_id], |r| r.get(0))
        .optional()?;
    Ok(id.and_then(|s| s.parse().ok()))
}

pub fn estimated_completion(conn: &Connection, id: Uuid) -> AppResult<Option<NaiveDate>> {
    let date: Option<String> = conn
        .query_row_cached("SELECT estimated_completion FROM orders WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(date.and_then(|d| d.parse().ok()))
}

/// The order's customer, for notifications.
pub fn customer_of(conn: &Connection, id: Uuid) -> AppResult<Uuid> {
    let customer: String = conn
        .query_row_cached("SELECT customer_id FROM orders WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AppError::not_found("order"))?;
    customer.parse().map_err(|_| AppError::not_found("customer"))
}

const VIEW_COLUMNS: &str = "o.id, o.state, o.version, o.configuration, o.delivery_locality, o.deposit,
     o.vin, o.factory_order_id, o.estimated_completion, o.blocker, o.created_at, o.updated_at,
     d.id, d.name, d.country, d.locality, o.price, o.final_payment, o.registration, o.from_stock, o.app_link";

fn view_from_row(row: &Row<'_>) -> rusqlite::Result<OrderView> {
    fn time(text: String) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }
    let text = |i: usize| row.get::<_, String>(i);
    Ok(OrderView {
        id: text(0)?.parse().unwrap_or_default(),
        state: text(1)?.parse().unwrap_or(OrderState::SaleRegistered),
        version: row.get(2)?,
        configuration: lenient(Some(text(3)?))
            .unwrap_or(VehicleConfiguration { base_platform: String::new(), options: Vec::new() }),
        delivery_locality: text(4)?,
        deposit: lenient(row.get(5)?),
        vin: row.get(6)?,
        factory_order_id: row.get(7)?,
        estimated_completion: row.get::<_, Option<String>>(8)?.and_then(|d| d.parse().ok()),
        blocker: lenient(row.get(9)?),
        price: lenient(row.get(16)?),
        final_payment: lenient(row.get(17)?),
        registration: lenient(row.get(18)?),
        from_stock: row.get(19)?,
        delivery: None,
        app_link: lenient(row.get(20)?),
        options: Vec::new(),
        maintenance: None,
        created_at: time(text(10)?),
        updated_at: time(text(11)?),
        dealership: DealershipView { id: text(12)?, name: text(13)?, country: text(14)?, locality: text(15)? },
    })
}

/// One order, if `viewer` may see it; another customer's order is simply not found.
pub fn view(conn: &Connection, id: Uuid, viewer: Viewer<'_>) -> AppResult<OrderView> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM orders o JOIN dealerships d ON d.id = o.dealership_id
         WHERE o.id = ?1 AND (?2 = 'sandbox' OR (?2 = 'customer' AND o.customer_id = ?3)
                              OR (?2 = 'dealership' AND o.dealership_id = ?3))"
    );
    let (kind, subject) = match viewer {
        Viewer::Customer(id) => ("customer", id.to_string()),
        Viewer::Dealership(id) => ("dealership", id.to_owned()),
        Viewer::Sandbox => ("sandbox", String::new()),
    };
    let mut view = conn
        .query_row_cached(&sql, params![id.to_string(), kind, subject], view_from_row)
        .optional()?
        .ok_or_else(|| AppError::not_found("order"))?;
    with_sections(conn, &mut view)?;
    Ok(view)
}

/// The sections kept beside the order's row: its delivery, the options bought for its car and
/// its maintenance.
fn with_sections(conn: &Connection, view: &mut OrderView) -> AppResult<()> {
    view.delivery = super::delivery::of_order(conn, view.id)?.map(|d| d.view()).transpose()?;
    view.options = super::options::purchases(conn, view.id, Language::of_country(&view.dealership.country))?;
    // An unreadable maintenance is said loudly, never the reason the order cannot be read.
    view.maintenance = super::maintenance::view(conn, view).unwrap_or_else(|error| {
        tracing::error!(order = %view.id, message = %error.message, "an order's maintenance is unreadable");
        None
    });
    Ok(())
}

/// The orders a customer or dealership may see, newest first.
pub fn list(conn: &Connection, viewer: Viewer<'_>) -> AppResult<Vec<OrderView>> {
    let (filter, subject) = match viewer {
        Viewer::Customer(id) => ("o.customer_id = ?1", id.to_string()),
        Viewer::Dealership(id) => ("o.dealership_id = ?1", id.to_owned()),
        Viewer::Sandbox => ("?1 = ?1", String::new()),
    };
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM orders o JOIN dealerships d ON d.id = o.dealership_id
         WHERE {filter} ORDER BY o.created_at DESC, o.id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut views = stmt.query_map([subject], view_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for view in &mut views {
        with_sections(conn, view)?;
    }
    Ok(views)
}

/// The bodies of an order's events strictly after `after`, in version order, as stored.
fn bodies_after(conn: &Connection, id: Uuid, after: i64, limit: u32) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM order_events WHERE order_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![id.to_string(), after, limit], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The events of an order strictly after `after`, in version order, exactly as stored and hashed.
pub fn stored_events_after(conn: &Connection, id: Uuid, after: i64, limit: u32) -> AppResult<Vec<serde_json::Value>> {
    bodies_after(conn, id, after, limit)?.iter().map(|body| Ok(serde_json::from_str(body)?)).collect()
}

/// The events of an order strictly after `after`, in version order.
pub fn events_after(conn: &Connection, id: Uuid, after: i64, limit: u32) -> AppResult<Vec<OrderEvent>> {
    bodies_after(conn, id, after, limit)?
        .iter()
        .map(|body| {
            let event: OrderEvent = serde_json::from_str(body)?;
            if let EventKind::Unknown(unknown) = &event.kind
                && EventKind::TYPE_NAMES.contains(&unknown.type_name.as_str())
            {
                // The platform wrote it: one of its own kinds that it cannot read back is a bug.
                tracing::error!(order = %id, version = event.version, kind = %unknown.type_name, "an event of the log does not read back");
            }
            Ok(event)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use proptest::prelude::*;

    use super::*;

    /// A driver sees the car and the customer as the order holds them; what cannot be read shows
    /// as absent, and a row the platform could not have written is a storage fault, not a refusal.
    #[test]
    fn a_driver_sees_what_the_order_holds_and_a_broken_row_is_a_storage_fault() {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::db::Db::open(&dir.path().join("mock.db")).expect("db");
        let conn = db.lock();
        conn.pragma_update(None, "foreign_keys", "OFF").expect("pragma");
        conn.execute(
            "INSERT INTO customers (id, email, name, country, phone) VALUES ('c', 'ana@example.com', 'Ana', 'ES', '+34 600')",
            [],
        )
        .expect("customer");
        let order = |state: &str, customer: &str, configuration: &str, registration: Option<&str>| {
            let id = Uuid::now_v7();
            conn.execute(
                "INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration, delivery_locality,
                                     created_at, updated_at, vin, registration)
                 VALUES (?1, ?2, 'd', ?3, 0, ?4, 'Madrid', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'VIN1', ?5)",
                params![id.to_string(), customer, state, configuration, registration],
            )
            .expect("order");
            id
        };
        let van = r#"{"base_platform":"cargo-van","options":[]}"#;
        let plate = r#"{"plate":"1234 BCD","authority":"ES-DGT","registered_at":"2026-01-01T00:00:00Z"}"#;

        let facts = driver_facts(&conn, order("transport_scheduled", "c", van, Some(plate))).expect("facts");
        assert_eq!(
            (facts.state, facts.vin.as_deref(), facts.plate.as_deref(), facts.base_platform.as_str()),
            (OrderState::TransportScheduled, Some("VIN1"), Some("1234 BCD"), "cargo-van")
        );
        assert_eq!(
            (facts.customer_name.as_str(), facts.customer_phone.as_deref(), facts.dealership_id.as_str()),
            ("Ana", Some("+34 600"), "d")
        );
        let unregistered = driver_facts(&conn, order("transport_scheduled", "c", van, None)).expect("facts");
        assert_eq!(unregistered.plate, None);
        let garbled = driver_facts(&conn, order("transport_scheduled", "c", "[", Some("{"))).expect("facts");
        assert_eq!((garbled.plate, garbled.base_platform), (None, String::new()), "unreadable shows as absent");

        let status = |id| driver_facts(&conn, id).err().map(|error| error.status);
        assert_eq!(status(Uuid::now_v7()), Some(StatusCode::NOT_FOUND), "no such order");
        let internal = Some(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status(order("teleported", "c", van, None)), internal, "a state no platform stores");
        assert_eq!(
            status(order("transport_scheduled", "nobody", van, None)),
            internal,
            "an order without its customer"
        );
    }

    /// What the platform appends next: a step along one of the lifecycle's edges, or an event
    /// that is not a state change.
    fn next() -> impl Strategy<Value = (u8, usize)> {
        (0u8..6, 0usize..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The order row the platform serves (state, blocker, estimate) is, after every event,
        /// the projection of its log: the rule the phone follows.
        #[test]
        fn the_order_row_is_the_projection_of_its_log(choices in proptest::collection::vec(next(), 0..30)) {
            let dir = tempfile::tempdir().expect("dir");
            let db = crate::db::Db::open(&dir.path().join("mock.db")).expect("db");
            let conn = db.lock();
            conn.pragma_update(None, "foreign_keys", "OFF").expect("pragma");
            let id = Uuid::now_v7();
            conn.execute_cached(
                "INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration, delivery_locality,
                                     created_at, updated_at)
                 VALUES (?1, 'c', 'd', 'sale_registered', 0, '{}', 'Madrid', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                [id.to_string()],
            )
            .expect("order");
            let mut log = vec![EventKind::StateChanged { from: None, to: OrderState::SaleRegistered, by: Actor::Dealership }];
            append(&conn, id, log[0].clone()).expect("first");
            for (n, (kind, edge)) in choices.into_iter().enumerate() {
                let state = state(&conn, id).expect("state");
                let event = match kind {
                    0 | 1 if !state.is_terminal() => {
                        let edges: Vec<_> = state.transitions().collect();
                        let t = edges[edge % edges.len()];
                        EventKind::StateChanged { from: Some(t.from), to: t.to, by: t.by }
                    }
                    2 => EventKind::ConfigurationRejected { code: "paint".into(), reason: "not offered".into() },
                    3 => EventKind::RegistrationBlocked { code: "plate".into(), reason: "closed".into(), fix: "wait".into() },
                    4 => serde_json::from_value(serde_json::json!({ "type": "warranty_extended" })).expect("reads"),
                    _ => EventKind::EstimateRevised {
                        estimated_completion: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date") + chrono::Days::new(n as u64),
                        reason: "revised".into(),
                    },
                };
                append(&conn, id, event.clone()).expect("append");
                log.push(event);
                prop_assert_eq!(projection(&conn, id).expect("row"), OrderProjection::of(&log));
            }
        }
    }
}
