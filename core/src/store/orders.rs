//! Orders and their event logs in the cache.
//!
//! Events are applied strictly in version order: a version at or below the cursor is a duplicate
//! and skipped, a version past a gap waits for the sync that fills the gap. Whatever order pushes
//! and syncs arrive in, the cache only ever holds a prefix of the platform's log.

use caas_protocol::OrderState;
use caas_protocol::api::{EventKind, OrderEvent, OrderView};
use caas_protocol::push::PushHint;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::Result;

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub new_events: usize,
    pub cursor: u64,
    /// A later event was held back because an earlier one is missing.
    pub gap: bool,
}

/// An order as cached: the platform's details, the state and version reached by the applied
/// events, and those events.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOrder {
    pub details: OrderView,
    pub state: Option<OrderState>,
    pub cursor: u64,
    pub events: Vec<OrderEvent>,
}

/// Stores the platform's details of an order, keeping its state and cursor.
pub fn upsert_details(conn: &Connection, view: &OrderView) -> Result<()> {
    conn.execute(
        "INSERT INTO orders (id, details, synced_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET details = excluded.details, synced_at = excluded.synced_at",
        params![view.id.to_string(), serde_json::to_string(view)?, Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

/// Applies the contiguous run of `events` that follows the order's cursor.
pub fn apply_events(conn: &Connection, order_id: Uuid, events: &[OrderEvent]) -> Result<Applied> {
    let (mut cursor, mut state): (u64, Option<String>) = conn
        .query_row("SELECT cursor, state FROM orders WHERE id = ?1", [order_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0, None));
    let mut sorted: Vec<&OrderEvent> = events.iter().filter(|e| e.order_id == order_id).collect();
    sorted.sort_by_key(|e| e.version);
    let mut new_events = 0;
    let mut gap = false;
    for event in sorted {
        if event.version <= cursor {
            continue;
        }
        if event.version != cursor + 1 {
            gap = true;
            break;
        }
        conn.execute(
            "INSERT INTO events (order_id, version, event_id, occurred_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                order_id.to_string(),
                event.version,
                event.event_id.to_string(),
                event.occurred_at.to_rfc3339(),
                serde_json::to_string(event)?
            ],
        )?;
        if let EventKind::StateChanged { to, .. } = &event.kind {
            state = Some(to.wire_name().to_owned());
        }
        cursor = event.version;
        new_events += 1;
    }
    if new_events > 0 {
        conn.execute(
            "UPDATE orders SET cursor = ?2, state = ?3 WHERE id = ?1",
            params![order_id.to_string(), cursor, state],
        )?;
    }
    Ok(Applied { new_events, cursor, gap })
}

/// Whether this push was already handled, or its event is already in the cache.
pub fn push_seen(conn: &Connection, hint: &PushHint) -> Result<bool> {
    let receipt: bool = conn
        .query_row("SELECT 1 FROM push_receipts WHERE event_id = ?1", [hint.event_id.to_string()], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    if receipt {
        return Ok(true);
    }
    let cursor: Option<u64> = conn
        .query_row("SELECT cursor FROM orders WHERE id = ?1", [hint.order_id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(cursor.is_some_and(|c| c >= hint.order_version))
}

pub fn record_push(conn: &Connection, hint: &PushHint) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO push_receipts (event_id, order_id, received_at) VALUES (?1, ?2, ?3)",
        params![hint.event_id.to_string(), hint.order_id.to_string(), Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

/// Every cached order with its events, newest order first.
pub fn load_orders(conn: &Connection) -> Result<Vec<StoredOrder>> {
    let ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT id FROM orders")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut orders = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(order) = load_order(conn, id.parse().unwrap_or_default())? {
            orders.push(order);
        }
    }
    orders.sort_by(|a, b| b.details.created_at.cmp(&a.details.created_at).then(b.details.id.cmp(&a.details.id)));
    Ok(orders)
}

pub fn load_order(conn: &Connection, id: Uuid) -> Result<Option<StoredOrder>> {
    let row: Option<(String, Option<String>, u64)> = conn
        .query_row("SELECT details, state, cursor FROM orders WHERE id = ?1", [id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((details, state, cursor)) = row else { return Ok(None) };
    let mut stmt = conn.prepare_cached("SELECT body FROM events WHERE order_id = ?1 ORDER BY version")?;
    let events = stmt
        .query_map([id.to_string()], |r| r.get::<_, String>(0))?
        .map(|body| Ok(serde_json::from_str(&body?)?))
        .collect::<Result<Vec<OrderEvent>>>()?;
    Ok(Some(StoredOrder {
        details: serde_json::from_str(&details)?,
        state: state.and_then(|s| s.parse().ok()),
        cursor,
        events,
    }))
}

pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Forgets everything cached for the signed-in customer (on sign-out or a change of account).
pub fn clear_account_data(conn: &Connection) -> Result<()> {
    conn.execute_batch("DELETE FROM events; DELETE FROM orders; DELETE FROM push_receipts; DELETE FROM meta;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use caas_protocol::Actor;
    use caas_protocol::api::{DealershipView, VehicleConfiguration};
    use chrono::{DateTime, NaiveDate};
    use proptest::prelude::*;

    use super::*;
    use crate::store::schema;

    fn order_id() -> Uuid {
        Uuid::from_u128(42)
    }

    fn details() -> OrderView {
        OrderView {
            id: order_id(),
            state: OrderState::SaleRegistered,
            version: 0,
            dealership: DealershipView { id: "d".into(), name: "D".into(), country: "ES".into(), locality: "M".into() },
            configuration: VehicleConfiguration { base_platform: "urban-ev".into(), options: vec![] },
            delivery_locality: "Madrid".into(),
            deposit: None,
            vin: None,
            factory_order_id: None,
            estimated_completion: None,
            blocker: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    /// A log that walks the lifecycle from the sale, with estimate revisions mixed in.
    fn log(len: usize) -> Vec<OrderEvent> {
        let mut state = OrderState::SaleRegistered;
        (1..=len as u64)
            .map(|version| {
                let kind = if version == 1 {
                    EventKind::StateChanged { from: None, to: state, by: Actor::Dealership }
                } else if version % 3 == 0 || state.is_terminal() {
                    EventKind::EstimateRevised {
                        estimated_completion: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date")
                            + chrono::Days::new(version),
                        reason: format!("revision {version}"),
                    }
                } else {
                    let t = state.transitions().next().expect("not terminal");
                    state = t.to;
                    EventKind::StateChanged { from: Some(t.from), to: t.to, by: t.by }
                };
                OrderEvent {
                    event_id: Uuid::from_u128(1000 + u128::from(version)),
                    order_id: order_id(),
                    version,
                    occurred_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(version as i64),
                    kind,
                }
            })
            .collect()
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        schema::migrate(&mut conn).expect("schema");
        upsert_details(&conn, &details()).expect("details");
        conn
    }

    fn stored(conn: &Connection) -> StoredOrder {
        load_order(conn, order_id()).expect("load").expect("present")
    }

    proptest! {
        /// Batches in any order, with duplicates and losses, never leave anything but a prefix of
        /// the log in the cache, and a final resync ends exactly where in-order delivery ends.
        #[test]
        fn any_delivery_converges_to_in_order_state(
            len in 1usize..40,
            batches in proptest::collection::vec(proptest::collection::vec(0usize..64, 0..8), 0..12),
        ) {
            let log = log(len);
            let expected = {
                let conn = fresh();
                apply_events(&conn, order_id(), &log).expect("in order");
                stored(&conn)
            };
            let conn = fresh();
            for batch in batches {
                let events: Vec<_> = batch.iter().map(|i| log[i % len].clone()).collect();
                apply_events(&conn, order_id(), &events).expect("apply");
                let now = stored(&conn);
                prop_assert_eq!(&now.events[..], &log[..now.cursor as usize]);
            }
            let resync: Vec<_> = log.iter().skip(stored(&conn).cursor as usize).cloned().collect();
            let applied = apply_events(&conn, order_id(), &resync).expect("resync");
            prop_assert!(!applied.gap);
            prop_assert_eq!(stored(&conn), expected);
        }
    }

    #[test]
    fn events_of_another_order_are_ignored() {
        let conn = fresh();
        let mut foreign = log(1);
        foreign[0].order_id = Uuid::from_u128(7);
        let applied = apply_events(&conn, order_id(), &foreign).expect("apply");
        assert_eq!(applied, Applied { new_events: 0, cursor: 0, gap: false });
    }
}
