//! Orders and their event logs in the cache.
//!
//! Events are applied strictly in version order: a version at or below the cursor is a duplicate
//! and skipped, a version past a gap waits for the sync that fills the gap. Whatever order pushes
//! and syncs arrive in, the cache only ever holds a prefix of the platform's log. Each event must
//! link to the one before it (`record`): a history that does not is refused whole, and the cache
//! keeps what it had.

use caas_protocol::OrderState;
use caas_protocol::api::{Blocker, OrderEvent, OrderView};
use caas_protocol::projection::OrderProjection;
use caas_protocol::push::PushHint;
use caas_protocol::record::{Chain, RecordError, RecordHash, RecordKey, SignedHead};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{CaasError, Result, StorageError};

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub new_events: usize,
    pub cursor: u64,
    /// A later event was held back because an earlier one is missing.
    pub gap: bool,
}

/// What the orders list needs of a cached order, kept up to date by [`apply_events`] so a list
/// never decodes event logs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSummary {
    pub details: OrderView,
    /// The state reached by the applied events.
    pub state: Option<OrderState>,
    /// The version of the last applied event.
    pub cursor: u64,
    /// The factory's latest estimate among the applied events.
    pub estimate: Option<NaiveDate>,
    /// Set while the last applied event is a refusal that blocks the order.
    pub blocker: Option<Blocker>,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// An order as cached, with its applied events.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOrder {
    pub summary: StoredSummary,
    pub events: Vec<OrderEvent>,
    /// The final payment's attempt in flight, if any.
    pub payment_attempt: Option<super::PaymentAttempt>,
    /// The options with a payment attempt in flight.
    pub options_in_flight: Vec<caas_protocol::options::OptionCode>,
}

/// Stores the platform's details of an order as received, keeping its state and cursor.
pub fn upsert_details(conn: &Connection, view: &Received<OrderView>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO orders (id, details, synced_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET details = excluded.details, synced_at = excluded.synced_at",
    )?
    .execute(params![view.value.id.to_string(), view.raw.to_string(), Utc::now().to_rfc3339()])?;
    Ok(())
}

/// A record as the platform sent it: what this version reads of it, and the whole of it, kept
/// as received so values and fields a newer platform added are not lost when the app is updated
/// to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<T> {
    pub value: T,
    pub raw: serde_json::Value,
}

/// An event of an order's log, as received.
pub type ReceivedEvent = Received<OrderEvent>;

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Received<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        let value = T::deserialize(&raw).map_err(serde::de::Error::custom)?;
        Ok(Self { value, raw })
    }
}

impl<T: serde::Serialize> From<T> for Received<T> {
    fn from(value: T) -> Self {
        let raw = serde_json::to_value(&value).unwrap_or_default();
        Self { value, raw }
    }
}

/// Applies the contiguous run of `events` that follows the order's cursor, under the platform's
/// own rule for what each event does to the summary ([`OrderProjection`]).
pub fn apply_events(conn: &Connection, order_id: Uuid, events: &[ReceivedEvent]) -> Result<Applied> {
    type Row = (u64, Option<String>, Option<String>, Option<String>);
    let (mut cursor, state, estimate, blocker): Row = conn
        .prepare_cached("SELECT cursor, state, estimate, blocker FROM orders WHERE id = ?1")?
        .query_row([order_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?
        .unwrap_or_default();
    let mut projection = OrderProjection {
        state: state.as_deref().map(state_named),
        blocker: blocker.as_deref().and_then(|b| serde_json::from_str(b).ok()),
        estimated_completion: estimate.and_then(|d| d.parse().ok()),
    };
    let mut sorted: Vec<&ReceivedEvent> = events.iter().filter(|e| e.value.order_id == order_id).collect();
    sorted.sort_by_key(|e| e.value.version);
    let mut chain = chain(conn, order_id, cursor)?;
    let mut new_events = 0;
    let mut gap = false;
    let order_text = order_id.to_string();
    // Prepared once for the page (and kept by the connection for the next), not once per event.
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (order_id, version, event_id, occurred_at, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for Received { value: event, raw } in sorted {
        if event.version <= cursor {
            continue;
        }
        if event.version != cursor + 1 {
            gap = true;
            break;
        }
        // The text hashed is the text stored: each event is serialized once.
        let (hash, body) =
            chain.link_with_text(raw).map_err(|reason| CaasError::HistoryRewritten { order_id, reason })?;
        insert.execute(params![
            order_text,
            event.version,
            event.event_id.to_string(),
            event.occurred_at.to_rfc3339(),
            body,
            hash.to_text()
        ])?;
        projection.apply(&event.kind);
        cursor = event.version;
        new_events += 1;
    }
    if let Some(last) = (new_events > 0).then(|| events.iter().find(|e| e.value.version == cursor)).flatten() {
        conn.prepare_cached(
            "UPDATE orders SET cursor = ?2, state = ?3, estimate = ?4, blocker = ?5, last_event_at = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            order_id.to_string(),
            cursor,
            projection.state.map(OrderState::wire_name),
            projection.estimated_completion.map(|d| d.to_string()),
            projection.blocker.map(|b| serde_json::to_string(&b)).transpose()?,
            last.value.occurred_at.to_rfc3339()
        ])?;
    }
    Ok(Applied { new_events, cursor, gap })
}

/// The hash of the cached event at `version`, if it was checked as part of a chain.
fn stored_hash(conn: &Connection, order_id: Uuid, version: u64) -> Result<Option<RecordHash>> {
    let hash: Option<String> = conn
        .prepare_cached("SELECT hash FROM events WHERE order_id = ?1 AND version = ?2")?
        .query_row(params![order_id.to_string(), version], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(hash.map(|h| RecordHash::from_text(&h)).transpose().map_err(|e| StorageError::Invalid(e.to_string()))?)
}

/// The order's chain as checked up to `cursor`.
fn chain(conn: &Connection, order_id: Uuid, cursor: u64) -> Result<Chain> {
    if cursor == 0 {
        return Ok(Chain::new(order_id));
    }
    let hash = stored_hash(conn, order_id, cursor)?
        .ok_or_else(|| StorageError::Invalid(format!("order {order_id}'s cached record is not anchored")))?;
    Ok(Chain::resume(order_id, cursor, hash))
}

/// Whether the cached events of an order were checked as a chain: false for events cached before
/// the chain existed, which the next sync replaces with the whole record, checked from its start.
pub fn is_anchored(conn: &Connection, order_id: Uuid) -> Result<bool> {
    let cursor = cursor(conn, order_id)?;
    Ok(cursor == 0 || stored_hash(conn, order_id, cursor)?.is_some())
}

/// Takes the whole record of an order whose cache predates the chain, in the transaction that
/// applies `events` (its first page): each cached event the page holds must be the one received,
/// but for its `prev`, or the record is refused and the cache kept; then the cached log is
/// dropped, for the page to be applied from the start.
pub fn reanchor(conn: &Connection, order_id: Uuid, events: &[ReceivedEvent]) -> Result<()> {
    for event in events.iter().filter(|e| e.value.order_id == order_id) {
        let version = event.value.version;
        let cached: Option<String> = conn
            .prepare_cached("SELECT body FROM events WHERE order_id = ?1 AND version = ?2")?
            .query_row(params![order_id.to_string(), version], |r| r.get(0))
            .optional()?;
        let Some(cached) = cached else { continue };
        let mut cached: serde_json::Value = serde_json::from_str(&cached).map_err(StorageError::from)?;
        let mut received = event.raw.clone();
        for body in [&mut cached, &mut received] {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("prev");
            }
        }
        if cached != received {
            return Err(CaasError::HistoryRewritten { order_id, reason: RecordError::Rewritten { version } });
        }
    }
    forget_log(conn, order_id)
}

/// Drops an order's cached log, to take the whole record again from its start in the same
/// transaction.
fn forget_log(conn: &Connection, order_id: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM events WHERE order_id = ?1")?.execute([order_id.to_string()])?;
    conn.prepare_cached(
        "UPDATE orders SET cursor = 0, state = NULL, estimate = NULL, blocker = NULL, last_event_at = NULL,
         record_head = NULL WHERE id = ?1",
    )?
    .execute([order_id.to_string()])?;
    Ok(())
}

/// Checks the platform's signed head against the cached chain and keeps it when it names the
/// cached last event. A head beyond the cache is taken only while the sync has `more_to_come`
/// (later pages); one behind it (a sync that raced another) must name the cached event at its
/// version. Anything else is a rewrite.
pub fn check_head(
    conn: &Connection,
    order_id: Uuid,
    head: &SignedHead,
    key: &RecordKey,
    more_to_come: bool,
) -> Result<()> {
    check_head_after(conn, order_id, head, key, more_to_come, &Applied::default())
}

/// [`check_head`] after `applied` events were taken in this transaction: the head must sign them
/// too, or events nobody signed would stand on a head the phone already held.
pub fn check_head_after(
    conn: &Connection,
    order_id: Uuid,
    head: &SignedHead,
    key: &RecordKey,
    more_to_come: bool,
    applied: &Applied,
) -> Result<()> {
    let refused = |reason| CaasError::HistoryRewritten { order_id, reason };
    if applied.new_events > 0 && head.version < applied.cursor {
        return Err(refused(RecordError::Unsigned { held: applied.cursor, signed: head.version }));
    }
    let cursor = cursor(conn, order_id)?;
    if head.version < cursor {
        head.verify(key).map_err(refused)?;
        let held = stored_hash(conn, order_id, head.version)?;
        return match (head.order_id == order_id, held) {
            (true, Some(held)) if held == head.hash => Ok(()),
            _ => Err(refused(RecordError::Rewritten { version: head.version })),
        };
    }
    if head.version > cursor && !more_to_come {
        head.verify(key).map_err(refused)?;
        return Err(refused(RecordError::Missing { held: cursor, signed: head.version }));
    }
    let chain = chain(conn, order_id, cursor)?;
    chain.check(head, key).map_err(refused)?;
    if head.version == chain.version() {
        conn.prepare_cached("UPDATE orders SET record_head = ?2 WHERE id = ?1")?
            .execute(params![order_id.to_string(), serde_json::to_string(head).map_err(StorageError::from)?])?;
    }
    Ok(())
}

/// The cached record of an order: its events as received, with the platform's signature on the
/// last of them when the cache holds it.
pub fn record(conn: &Connection, order_id: Uuid) -> Result<(Vec<serde_json::Value>, Option<SignedHead>)> {
    let head: Option<String> = conn
        .prepare_cached("SELECT record_head FROM orders WHERE id = ?1")?
        .query_row([order_id.to_string()], |r| r.get(0))
        .optional()?
        .flatten();
    let head = head.map(|h| serde_json::from_str(&h)).transpose().map_err(StorageError::from)?;
    let mut stmt = conn.prepare_cached("SELECT body FROM events WHERE order_id = ?1 ORDER BY version")?;
    let events = stmt
        .query_map([order_id.to_string()], |r| r.get::<_, String>(0))?
        .map(|body| Ok(serde_json::from_str(&body?).map_err(StorageError::from)?))
        .collect::<Result<Vec<_>>>()?;
    Ok((events, head))
}

/// Whether this push was handled before.
pub fn push_received(conn: &Connection, event_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM push_receipts WHERE event_id = ?1")?
        .query_row([event_id.to_string()], |_| Ok(true))
        .optional()?
        .unwrap_or(false))
}

/// Whether this push was already handled, or its event is already in the cache.
pub fn push_seen(conn: &Connection, hint: &PushHint) -> Result<bool> {
    if push_received(conn, hint.event_id)? {
        return Ok(true);
    }
    let cursor: Option<u64> = conn
        .prepare_cached("SELECT cursor FROM orders WHERE id = ?1")?
        .query_row([hint.order_id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(cursor.is_some_and(|c| c >= hint.order_version))
}

pub fn record_push(conn: &Connection, hint: &PushHint) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO push_receipts (event_id, order_id, received_at) VALUES (?1, ?2, ?3)")?
        .execute(params![hint.event_id.to_string(), hint.order_id.to_string(), Utc::now().to_rfc3339()])?;
    Ok(())
}

const SUMMARY_COLUMNS: &str = "details, state, cursor, estimate, blocker, last_event_at";

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, StoredSummaryRow)> {
    Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)))
}

type StoredSummaryRow = (Option<String>, u64, Option<String>, Option<String>, Option<String>);

fn summary(details: &str, row: StoredSummaryRow) -> Result<StoredSummary> {
    let (state, cursor, estimate, blocker, last_event_at) = row;
    Ok(StoredSummary {
        details: serde_json::from_str(details)?,
        state: state.as_deref().map(state_named),
        cursor,
        estimate: estimate.and_then(|d| d.parse().ok()),
        blocker: blocker.map(|b| serde_json::from_str(&b)).transpose()?,
        last_event_at: last_event_at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc)),
    })
}

/// A stored state name; one this version does not know (a newer platform's) reads as
/// [`OrderState::Unknown`], whose name the order's raw events keep.
fn state_named(name: &str) -> OrderState {
    name.parse().unwrap_or(OrderState::Unknown)
}

/// Every cached order's summary, newest order first.
pub fn load_summaries(conn: &Connection) -> Result<Vec<StoredSummary>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM orders"))?;
    let rows = stmt.query_map([], summary_from_row)?;
    let mut orders = rows
        .map(|row| {
            let (details, rest) = row?;
            summary(&details, rest)
        })
        .collect::<Result<Vec<_>>>()?;
    orders.sort_by(|a, b| b.details.created_at.cmp(&a.details.created_at).then(b.details.id.cmp(&a.details.id)));
    Ok(orders)
}

/// One cached order with its events.
pub fn load_order(conn: &Connection, id: Uuid) -> Result<Option<StoredOrder>> {
    Ok(load_order_after(conn, id, ParsedLog::default())?.map(|(order, _)| order))
}

/// An order's events as parsed from the cache, with the chain hash of the last: what a later
/// read of the same order needs to parse only the events appended since.
#[derive(Debug, Default)]
pub struct ParsedLog {
    pub events: Vec<OrderEvent>,
    pub tip: Tip,
}

/// The stored chain hash of a log's last event; empty for an empty log or one cached before the
/// chain, which are always parsed whole.
#[derive(Debug, Clone, Default)]
pub struct Tip(Option<String>);

/// [`load_order`], parsing only the events after `known` when the cache still holds `known`'s
/// last event under the same chain hash. The hash links every event to the one before it, so an
/// equal hash at the same version means the whole prefix is the one parsed before, even after
/// the log was dropped and taken again (a rewrite check): only then are the parsed events kept.
/// Returns the order, its whole log among it, and the log's tip, for the next read.
pub fn load_order_after(conn: &Connection, id: Uuid, known: ParsedLog) -> Result<Option<(StoredOrder, Tip)>> {
    let order_text = id.to_string();
    let row = conn
        .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM orders WHERE id = ?1"))?
        .query_row([&order_text], summary_from_row)
        .optional()?;
    let Some((details, rest)) = row else { return Ok(None) };
    let still_held = match (known.events.last(), &known.tip.0) {
        (Some(last), Some(tip)) => conn
            .prepare_cached("SELECT hash FROM events WHERE order_id = ?1 AND version = ?2")?
            .query_row(params![order_text, last.version], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .is_some_and(|hash| hash == *tip),
        _ => false,
    };
    let ParsedLog { mut events, tip: Tip(mut tip) } = if still_held { known } else { ParsedLog::default() };
    let after = events.last().map_or(0, |e| e.version);
    let mut stmt =
        conn.prepare_cached("SELECT body, hash FROM events WHERE order_id = ?1 AND version > ?2 ORDER BY version")?;
    let mut rows = stmt.query(params![order_text, after])?;
    while let Some(row) = rows.next()? {
        events.push(serde_json::from_str(&row.get::<_, String>(0)?)?);
        tip = row.get(1)?;
    }
    let payment_attempt = super::load_attempt(conn, id, &super::PaymentPurpose::FinalPayment)?;
    let options_in_flight = super::options_in_flight(conn, id)?;
    Ok(Some((StoredOrder { summary: summary(&details, rest)?, events, payment_attempt, options_in_flight }, Tip(tip))))
}

/// A cached event of an order and the model of the car the order is for, to tell the customer
/// about it. An event of another order is not this order's.
pub fn event_with_car(
    conn: &Connection,
    order_id: Uuid,
    event_id: Uuid,
) -> Result<Option<(OrderEvent, Option<String>)>> {
    let row = conn
        .prepare_cached(
            "SELECT e.body, json_extract(o.details, '$.configuration.base_platform')
             FROM events e JOIN orders o ON o.id = e.order_id WHERE e.order_id = ?1 AND e.event_id = ?2",
        )?
        .query_row(params![order_id.to_string(), event_id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .optional()?;
    row.map(|(body, car)| Ok((serde_json::from_str(&body)?, car))).transpose()
}

/// The model of the car of a cached order; None when this phone does not follow the order.
pub fn order_car(conn: &Connection, order_id: Uuid) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT json_extract(details, '$.configuration.base_platform') FROM orders WHERE id = ?1")?
        .query_row([order_id.to_string()], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .map(Option::unwrap_or_default))
}

/// The version of the last applied event of an order, 0 when it is not cached.
pub fn cursor(conn: &Connection, id: Uuid) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM orders WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Forgets everything cached for the signed-in customer (on sign-out or a change of account).
pub fn clear_account_data(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM events; DELETE FROM orders; DELETE FROM push_receipts;
         DELETE FROM meta WHERE key <> 'record.key';
         DELETE FROM payment_attempts; DELETE FROM driver_deliveries; DELETE FROM outbox; DELETE FROM vehicle_keys;
         DELETE FROM car_statements;",
    )?;
    Ok(())
}

/// Data for the store's tests and the benchmarks.
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures {
    use caas_protocol::Actor;
    use caas_protocol::api::{DealershipView, EventKind, VehicleConfiguration};

    use super::*;

    /// The platform's details of a fresh order.
    pub fn details(id: Uuid) -> OrderView {
        OrderView {
            id,
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
            price: None,
            final_payment: None,
            registration: None,
            from_stock: false,
            delivery: None,
            app_link: None,
            options: vec![],
            maintenance: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    /// An order whose log ends with a refused configuration after an estimate.
    pub fn order_with_events() -> (OrderView, Vec<OrderEvent>) {
        let id = Uuid::from_u128(9);
        let details = details(id);
        let kinds = [
            EventKind::StateChanged { from: None, to: OrderState::SaleRegistered, by: Actor::Dealership },
            EventKind::StateChanged {
                from: Some(OrderState::SaleRegistered),
                to: OrderState::ReservationPaid,
                by: Actor::Dealership,
            },
            EventKind::EstimateRevised {
                estimated_completion: NaiveDate::from_ymd_opt(2027, 3, 1).expect("date"),
                reason: "scheduled".into(),
            },
            EventKind::ConfigurationRejected { code: "incompatible_options".into(), reason: "no".into() },
        ];
        let events = kinds
            .into_iter()
            .zip(1u64..)
            .map(|(kind, version)| OrderEvent {
                event_id: Uuid::from_u128(100 + u128::from(version)),
                order_id: id,
                version,
                occurred_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(version as i64),
                prev: None,
                kind,
            })
            .collect();
        (details, chained(events))
    }

    /// `events` (one order's, from its first) linked as the platform links them.
    pub fn chained(events: Vec<OrderEvent>) -> Vec<OrderEvent> {
        let mut received: Vec<ReceivedEvent> = events.into_iter().map(ReceivedEvent::from).collect();
        relink(&mut received);
        received.into_iter().map(|e| e.value).collect()
    }

    /// Links events as received (one order's, from its first) again, after a test changed them:
    /// each carries the hash of the one before it, as the platform writes them.
    pub fn relink(events: &mut [ReceivedEvent]) {
        let Some(order) = events.first().map(|e| e.value.order_id) else { return };
        let mut chain = Chain::new(order);
        for event in events {
            event.raw["prev"] = serde_json::Value::String(chain.head().to_text());
            event.value.prev = Some(chain.head());
            chain.link(&event.raw).expect("a test's event links");
        }
    }
}

#[cfg(test)]
mod tests {
    use caas_protocol::Actor;
    use caas_protocol::api::EventKind;
    use chrono::{DateTime, NaiveDate};
    use proptest::prelude::*;

    use super::*;
    use crate::store::schema;

    fn order_id() -> Uuid {
        Uuid::from_u128(42)
    }

    fn details() -> OrderView {
        fixtures::details(order_id())
    }

    /// A log that walks the lifecycle from the sale, with estimate revisions mixed in.
    fn log(len: usize) -> Vec<OrderEvent> {
        let mut state = OrderState::SaleRegistered;
        let events = (1..=len as u64)
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
                event(version, kind)
            })
            .collect();
        fixtures::chained(events)
    }

    /// The event at `version` of the test order's log.
    fn event(version: u64, kind: EventKind) -> OrderEvent {
        OrderEvent {
            event_id: Uuid::from_u128(1000 + u128::from(version)),
            order_id: order_id(),
            version,
            occurred_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(version as i64),
            prev: None,
            kind,
        }
    }

    fn received_events(events: &[OrderEvent]) -> Vec<ReceivedEvent> {
        events.iter().cloned().map(ReceivedEvent::from).collect()
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        schema::migrate(&mut conn).expect("schema");
        upsert_details(&conn, &details().into()).expect("details");
        conn
    }

    fn stored(conn: &Connection) -> StoredOrder {
        load_order(conn, order_id()).expect("load").expect("present")
    }

    /// A read after new events parses only those, but only while the cache still holds the last
    /// event parsed before under the same hash: a log taken again is parsed whole.
    #[test]
    fn a_read_parses_only_new_events_while_the_cache_holds_the_last_one_parsed() {
        let conn = fresh();
        let first = log(6);
        apply_events(&conn, order_id(), &received_events(&first[..4])).expect("first page");
        let (read, tip) = load_order_after(&conn, order_id(), ParsedLog::default()).expect("read").expect("held");
        assert_eq!(read.events, first[..4]);

        apply_events(&conn, order_id(), &received_events(&first[4..])).expect("second page");
        // A parsed event only the kept log has shows that the kept events are not parsed again.
        let mut kept = read.events.clone();
        kept[0].occurred_at += chrono::Duration::days(1);
        let known = ParsedLog { events: kept.clone(), tip: tip.clone() };
        let (read, tip) = load_order_after(&conn, order_id(), known).expect("read").expect("held");
        assert_eq!(read.events[..4], kept, "the kept events are reused");
        assert_eq!(read.events[4..], first[4..], "the new ones are parsed");

        // The log taken again, with other events at the same versions.
        let mut other = first.clone();
        other[2].kind = EventKind::EstimateRevised {
            estimated_completion: NaiveDate::from_ymd_opt(2028, 1, 1).expect("date"),
            reason: "taken again".into(),
        };
        let other = fixtures::chained(other);
        forget_log(&conn, order_id()).expect("forget");
        apply_events(&conn, order_id(), &received_events(&other)).expect("taken again");
        let known = ParsedLog { events: read.events, tip };
        let (read, _) = load_order_after(&conn, order_id(), known).expect("read").expect("held");
        assert_eq!(read.events, other, "a kept log whose last event is no longer held is parsed whole");

        assert_eq!(load_order_after(&conn, Uuid::from_u128(1), ParsedLog::default()).expect("read").map(|r| r.0), None);
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
                apply_events(&conn, order_id(), &received_events(&log)).expect("in order");
                stored(&conn)
            };
            let conn = fresh();
            for batch in batches {
                let events: Vec<_> = batch.iter().map(|i| log[i % len].clone()).collect();
                apply_events(&conn, order_id(), &received_events(&events)).expect("apply");
                let now = stored(&conn);
                prop_assert_eq!(&now.events[..], &log[..now.summary.cursor as usize]);
            }
            let resync: Vec<_> = log.iter().skip(stored(&conn).summary.cursor as usize).cloned().collect();
            let applied = apply_events(&conn, order_id(), &received_events(&resync)).expect("resync");
            prop_assert!(!applied.gap);
            prop_assert_eq!(stored(&conn), expected);
        }
    }

    /// What the platform can append next to an order's log.
    #[derive(Debug, Clone, Copy)]
    enum Next {
        /// One of the lifecycle's edges out of the current state.
        Step(usize),
        Estimate,
        Refusal,
        Blocked,
        Reminder,
        /// A kind this version does not know.
        Newer,
    }

    fn next() -> impl Strategy<Value = Next> {
        prop_oneof![
            4 => (0usize..4).prop_map(Next::Step),
            1 => Just(Next::Estimate),
            1 => Just(Next::Refusal),
            1 => Just(Next::Blocked),
            1 => Just(Next::Reminder),
            1 => Just(Next::Newer),
        ]
    }

    /// A log the platform could write: the sale, then `choices` (a step out of a final state
    /// becomes an estimate).
    fn platform_log(choices: &[Next]) -> Vec<ReceivedEvent> {
        let mut state = OrderState::SaleRegistered;
        let first = EventKind::StateChanged { from: None, to: state, by: Actor::Dealership };
        let kinds = std::iter::once(first).chain(choices.iter().enumerate().map(|(n, choice)| {
            match *choice {
                Next::Step(i) if !state.is_terminal() => {
                    let edges: Vec<_> = state.transitions().collect();
                    let edge = edges[i % edges.len()];
                    state = edge.to;
                    EventKind::StateChanged { from: Some(edge.from), to: edge.to, by: edge.by }
                }
                Next::Step(_) | Next::Estimate => EventKind::EstimateRevised {
                    estimated_completion: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date")
                        + chrono::Days::new(n as u64),
                    reason: "revised".into(),
                },
                Next::Refusal => {
                    EventKind::ConfigurationRejected { code: "paint".into(), reason: "not offered".into() }
                }
                Next::Blocked => {
                    EventKind::RegistrationBlocked { code: "plate".into(), reason: "closed".into(), fix: "wait".into() }
                }
                Next::Reminder => EventKind::DeliveryAddressConfirmed,
                Next::Newer => serde_json::from_value(serde_json::json!({ "type": "warranty_extended", "years": 3 }))
                    .expect("any kind reads"),
            }
        }));
        let mut log: Vec<_> =
            kinds.enumerate().map(|(i, kind)| ReceivedEvent::from(event(i as u64 + 1, kind))).collect();
        fixtures::relink(&mut log);
        log
    }

    /// The platform's own summary of the first `cursor` events: the function its order row
    /// follows.
    fn platform_view(log: &[ReceivedEvent], cursor: u64) -> OrderProjection {
        OrderProjection::of(log.iter().take(cursor as usize).map(|e| &e.value.kind))
    }

    fn phone_view(conn: &Connection) -> (OrderProjection, u64) {
        let summary = stored(conn).summary;
        let projection =
            OrderProjection { state: summary.state, blocker: summary.blocker, estimated_completion: summary.estimate };
        (projection, summary.cursor)
    }

    proptest! {
        /// Issue 13: any log the platform can write, delivered to the phone in any order with
        /// duplicates and gaps, gives the platform's own view of the order at every step (at the
        /// phone's cursor) and, after a resync, at the end. The platform's row is that same
        /// projection of its log (`the_order_row_is_the_projection_of_its_log` in the mock).
        #[test]
        fn the_phone_sees_what_the_platform_sees(
            choices in proptest::collection::vec(next(), 0..40),
            batches in proptest::collection::vec(proptest::collection::vec(0usize..64, 0..8), 0..12),
        ) {
            let log = platform_log(&choices);
            let conn = fresh();
            for batch in batches {
                let events: Vec<_> = batch.iter().map(|i| log[i % log.len()].clone()).collect();
                apply_events(&conn, order_id(), &events).expect("apply");
                let (phone, cursor) = phone_view(&conn);
                prop_assert_eq!(phone, platform_view(&log, cursor));
            }
            let (_, cursor) = phone_view(&conn);
            apply_events(&conn, order_id(), &log[cursor as usize..]).expect("resync");
            let (phone, cursor) = phone_view(&conn);
            prop_assert_eq!(cursor, log.len() as u64);
            prop_assert_eq!(phone, platform_view(&log, cursor));
        }
    }

    /// Issue 13: what a newer platform sends is kept as received, and a kind this version does
    /// not know changes nothing: the blocker stands until the order moves on, as on the platform.
    #[test]
    fn unknown_kinds_and_fields_are_kept_and_change_nothing() {
        let conn = fresh();
        let mut events = log(1);
        events.push(OrderEvent {
            version: 2,
            event_id: Uuid::from_u128(2002),
            kind: EventKind::ConfigurationRejected { code: "paint".into(), reason: "not offered".into() },
            ..events[0].clone()
        });
        let mut received = received_events(&events);
        received[1].raw["added_by_a_newer_platform"] = serde_json::json!({ "nested": [1, 2] });
        let newer = serde_json::json!({
            "event_id": Uuid::from_u128(2003), "order_id": order_id(), "version": 3,
            "occurred_at": "2026-11-27T10:00:00Z", "type": "warranty_extended", "years": 3
        });
        received.push(serde_json::from_value(newer.clone()).expect("any kind reads"));
        fixtures::relink(&mut received);
        let newer = received[2].raw.clone();
        assert!(matches!(received[2].value.kind, EventKind::Unknown(_)));
        // In two syncs: the blocker comes back from the cache for the second.
        apply_events(&conn, order_id(), &received[..2]).expect("apply");
        apply_events(&conn, order_id(), &received[2..]).expect("apply");

        let order = stored(&conn);
        assert_eq!(order.summary.cursor, 3, "the event after the blocker applied too");
        assert!(order.summary.blocker.is_some(), "an unknown kind does not clear the blocker");
        let bodies: Vec<serde_json::Value> = conn
            .prepare("SELECT body FROM events ORDER BY version")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
            .expect("bodies")
            .iter()
            .map(|b| serde_json::from_str(b).expect("json"))
            .collect();
        assert_eq!(bodies[1]["added_by_a_newer_platform"]["nested"][1], 2, "a newer field is kept");
        assert_eq!(bodies[2], newer, "an unknown event is kept exactly");
    }

    /// Issue 13: a newer platform's value inside the order's record is kept as received (for an
    /// updated app) and reads as unknown now; the record is not refused.
    #[test]
    fn a_newer_record_is_kept_as_received() {
        let conn = fresh();
        let mut raw = serde_json::to_value(details()).expect("json");
        raw["state"] = "in_maintenance".into();
        raw["warranty"] = serde_json::json!({ "years": 3 });
        let received: Received<OrderView> = serde_json::from_value(raw).expect("reads");
        upsert_details(&conn, &received).expect("details");
        let mut log = received_events(&log(1));
        log.push(
            serde_json::from_value(serde_json::json!({
                "event_id": Uuid::from_u128(3002), "order_id": order_id(), "version": 2,
                "occurred_at": "2026-11-27T10:00:00Z", "type": "state_changed",
                "from": "sale_registered", "to": "in_maintenance", "by": "workshop"
            }))
            .expect("reads"),
        );
        fixtures::relink(&mut log);
        apply_events(&conn, order_id(), &log).expect("apply");

        let order = stored(&conn);
        assert_eq!(
            (order.summary.details.state, order.summary.state),
            (OrderState::Unknown, Some(OrderState::Unknown))
        );
        let kept: String = conn.query_row("SELECT details FROM orders", [], |r| r.get(0)).expect("details");
        let kept: serde_json::Value = serde_json::from_str(&kept).expect("json");
        assert_eq!((kept["state"].as_str(), kept["warranty"]["years"].as_u64()), (Some("in_maintenance"), Some(3)));
    }

    /// Issue 14: a history that does not follow from the cached one is refused whole, in the
    /// transaction of its sync, and the cache keeps what it had.
    #[test]
    fn a_history_that_does_not_link_is_refused_whole() {
        let mut conn = fresh();
        let log = log(6);
        apply_events(&conn, order_id(), &received_events(&log[..3])).expect("first three");
        let before = stored(&conn);
        let mut rewritten = received_events(&log);
        rewritten[1].raw["reason"] = "a quieter reason".into();
        fixtures::relink(&mut rewritten);
        let tx = conn.transaction().expect("tx");
        let refused = apply_events(&tx, order_id(), &rewritten[3..]);
        assert!(matches!(refused, Err(CaasError::HistoryRewritten { .. })), "{refused:?}");
        drop(tx);
        assert_eq!(stored(&conn), before);
        apply_events(&conn, order_id(), &received_events(&log[3..])).expect("the platform's own history links");
        assert_eq!(stored(&conn).summary.cursor, 6);
    }

    /// A head from a sync that raced another (behind the cache) is taken when it names the cached
    /// event at its version; a head beyond the cache with nothing more to come is events withheld.
    #[test]
    fn a_signed_head_behind_the_cache_must_name_its_event_and_one_beyond_needs_the_events() {
        let conn = fresh();
        let log = log(5);
        apply_events(&conn, order_id(), &received_events(&log)).expect("apply");
        let signer = caas_protocol::record::RecordSigner::from_seed(&[4; 32]);
        let key = signer.public_key();
        let hash_of = |version: u64| stored_hash(&conn, order_id(), version).expect("read").expect("hashed");
        let behind = signer.sign(order_id(), 3, hash_of(3));
        check_head(&conn, order_id(), &behind, &key, false).expect("a slower sync's head");
        let other = signer.sign(order_id(), 3, hash_of(2));
        let refused = check_head(&conn, order_id(), &other, &key, false);
        assert!(matches!(
            refused,
            Err(CaasError::HistoryRewritten { reason: RecordError::Rewritten { version: 3 }, .. })
        ));
        let beyond = signer.sign(order_id(), 7, hash_of(5));
        let refused = check_head(&conn, order_id(), &beyond, &key, false);
        assert!(matches!(
            refused,
            Err(CaasError::HistoryRewritten { reason: RecordError::Missing { held: 5, signed: 7 }, .. })
        ));
        check_head(&conn, order_id(), &beyond, &key, true).expect("while later pages come");
        let forged = caas_protocol::record::RecordSigner::from_seed(&[5; 32]).sign(order_id(), 5, hash_of(5));
        assert!(check_head(&conn, order_id(), &forged, &key, false).is_err(), "another key");
    }

    /// Events cached before the chain existed are taken again from the start, checked.
    #[test]
    fn a_log_cached_before_the_chain_is_taken_again_and_checked() {
        let conn = fresh();
        let log = log(5);
        apply_events(&conn, order_id(), &received_events(&log)).expect("apply");
        let expected = stored(&conn);
        conn.execute("UPDATE events SET hash = NULL", []).expect("as version 7 cached it");
        assert!(!is_anchored(&conn, order_id()).expect("read"));
        reanchor(&conn, order_id(), &received_events(&log)).expect("the same history");
        apply_events(&conn, order_id(), &received_events(&log)).expect("again");
        assert!(is_anchored(&conn, order_id()).expect("read"));
        assert_eq!(stored(&conn), expected);
    }

    #[test]
    fn events_of_another_order_are_ignored() {
        let conn = fresh();
        let mut foreign = log(1);
        foreign[0].order_id = Uuid::from_u128(7);
        let applied = apply_events(&conn, order_id(), &received_events(&foreign)).expect("apply");
        assert_eq!(applied, Applied { new_events: 0, cursor: 0, gap: false });
    }
}
