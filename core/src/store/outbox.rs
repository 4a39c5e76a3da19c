//! The driver's side of the cache: the company's deliveries as last fetched (with the local effect
//! of actions not yet synced), and the outbox of driver actions.
//!
//! An action is written to the outbox in the same transaction as its local effect, with its
//! idempotency key, and leaves it only when the platform has answered. A permanent refusal stays
//! as a conflict the driver reads and dismisses; it is never silently dropped. An answer this app
//! cannot read wedges the action: it stays, with the reason, until the driver retries or discards
//! it, and holds back only the later actions on the same delivery (they depend on it).

use caas_protocol::delivery::{DriverActionRequest, DriverDelivery};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{CaasError, Result};

/// An action waiting in the outbox, or refused by the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub delivery_id: Uuid,
    pub idempotency_key: String,
    pub request: DriverActionRequest,
    /// The request's JSON as stored when the action was taken: what is sent, so every try carries
    /// the bytes its key was first sent with, across app upgrades too.
    pub body: String,
    pub attempts: u32,
    /// Set once the platform refused the action for good.
    pub rejection: Option<(String, String)>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// Set while the action is held for the driver: the platform's answer could not be read.
    pub wedged_at: Option<DateTime<Utc>>,
}

pub fn save_delivery(conn: &Connection, delivery: &DriverDelivery) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO driver_deliveries (id, window_start, body) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET window_start = excluded.window_start, body = excluded.body",
    )?
    .execute(params![
        delivery.delivery_id.to_string(),
        delivery.window.start.to_rfc3339(),
        serde_json::to_string(delivery)?
    ])?;
    Ok(())
}

pub fn load_delivery(conn: &Connection, id: Uuid) -> Result<Option<DriverDelivery>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM driver_deliveries WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

pub fn load_deliveries(conn: &Connection) -> Result<Vec<DriverDelivery>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM driver_deliveries ORDER BY window_start, id")?;
    let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// Replaces the cached list with the platform's, keeping the local state of deliveries that still
/// have actions in the outbox (the platform has not seen those yet).
pub fn replace_deliveries(conn: &Connection, fresh: &[DriverDelivery]) -> Result<()> {
    let pending: Vec<String> = {
        let mut stmt = conn.prepare_cached("SELECT DISTINCT delivery_id FROM outbox WHERE rejected_code IS NULL")?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    conn.prepare_cached(
        "DELETE FROM driver_deliveries WHERE id NOT IN (SELECT DISTINCT delivery_id FROM outbox
                                                         WHERE rejected_code IS NULL)",
    )?
    .execute([])?;
    for delivery in fresh.iter().filter(|d| !pending.contains(&d.delivery_id.to_string())) {
        save_delivery(conn, delivery)?;
    }
    Ok(())
}

/// Queues an action taken on `before` (the delivery as it was), which a discard restores.
pub fn enqueue(conn: &Connection, before: &DriverDelivery, key: &str, request: &DriverActionRequest) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (delivery_id, idempotency_key, request, created_at, delivery_before)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        before.delivery_id.to_string(),
        key,
        serde_json::to_string(request)?,
        Utc::now().to_rfc3339(),
        serde_json::to_string(before)?
    ])?;
    Ok(conn.last_insert_rowid())
}

const ENTRY_COLUMNS: &str =
    "seq, delivery_id, idempotency_key, request, attempts, rejected_code, rejected_reason, last_error, wedged_at";

/// A row as stored, decoded into an [`OutboxEntry`] outside SQLite's row callback.
struct Row {
    seq: i64,
    delivery_id: String,
    key: String,
    request: String,
    attempts: u32,
    code: Option<String>,
    reason: Option<String>,
    last_error: Option<String>,
    wedged_at: Option<String>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        seq: r.get(0)?,
        delivery_id: r.get(1)?,
        key: r.get(2)?,
        request: r.get(3)?,
        attempts: r.get(4)?,
        code: r.get(5)?,
        reason: r.get(6)?,
        last_error: r.get(7)?,
        wedged_at: r.get(8)?,
    })
}

fn decode(row: Row) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        seq: row.seq,
        delivery_id: parse_delivery(&row.delivery_id)?,
        idempotency_key: row.key,
        request: serde_json::from_str(&row.request)?,
        body: row.request,
        attempts: row.attempts,
        rejection: row.code.zip(row.reason),
        last_error: row.last_error,
        wedged_at: row
            .wedged_at
            .map(|at| DateTime::parse_from_rfc3339(&at).map(|at| at.to_utc()))
            .transpose()
            .map_err(|e| CaasError::corrupt(format!("outbox: {e}")))?,
    })
}

/// Unsent actions held back by a wedged one: the wedged action and the later ones on its delivery.
const HELD: &str = "rejected_code IS NULL AND EXISTS (
    SELECT 1 FROM outbox w WHERE w.delivery_id = outbox.delivery_id AND w.wedged_at IS NOT NULL
      AND w.rejected_code IS NULL AND w.seq <= outbox.seq)";

/// The oldest `limit` actions that can go out now, in the order they were taken: unsent, not
/// held behind a wedged action on their delivery, and not on one of the `skipped` deliveries. The
/// first of them is the first unsent action of its delivery, and each later one on the same
/// delivery follows it in order; a delivery whose first action is wedged waits without holding
/// back the others.
pub fn sendable(conn: &Connection, skipped: &[Uuid], limit: usize) -> Result<Vec<OutboxEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox WHERE rejected_code IS NULL AND NOT ({HELD})
           AND delivery_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY seq LIMIT ?2"
    );
    let skipped = serde_json::to_string(&skipped.iter().map(Uuid::to_string).collect::<Vec<_>>())?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![skipped, limit], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// Wedged actions, oldest first, each with how many later actions on its delivery wait behind it.
pub fn wedged(conn: &Connection) -> Result<Vec<(OutboxEntry, u32)>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS}, (SELECT COUNT(*) FROM outbox b WHERE b.delivery_id = outbox.delivery_id
                                   AND b.rejected_code IS NULL AND b.seq > outbox.seq)
         FROM outbox WHERE wedged_at IS NOT NULL AND rejected_code IS NULL ORDER BY seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| Ok((row(r)?, r.get::<_, u32>(9)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|(entry, behind)| Ok((decode(entry)?, behind))).collect()
}

/// How many unsent actions go out by themselves, and how many wait for the driver (see
/// [`HELD`]), read together.
pub fn unsent_counts(conn: &Connection) -> Result<(u32, u32)> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FILTER (WHERE rejected_code IS NULL AND NOT ({HELD})), COUNT(*) FILTER (WHERE {HELD})
             FROM outbox"
        ))?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The platform answered something this app cannot read: the action is held for the driver.
pub fn wedge(conn: &Connection, seq: i64, reason: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1, last_error = ?2, wedged_at = ?3 WHERE seq = ?1")?
        .execute(params![seq, reason, Utc::now().to_rfc3339()])?;
    Ok(())
}

/// The driver asks to send a wedged action again; `false` when there is no such wedged action.
pub fn unwedge(conn: &Connection, seq: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE outbox SET wedged_at = NULL WHERE seq = ?1 AND wedged_at IS NOT NULL")?
        .execute([seq])?
        > 0)
}

/// The driver gives up a wedged action: it leaves the outbox (with the customer's code, if it
/// carried one), the later actions on its delivery, taken on top of it, become conflicts, and the
/// delivery is as it was before it. `false` when there is no such wedged action.
pub fn discard(conn: &Connection, seq: i64) -> Result<bool> {
    let discarded: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "DELETE FROM outbox WHERE seq = ?1 AND wedged_at IS NOT NULL AND rejected_code IS NULL
             RETURNING delivery_id, delivery_before",
        )?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((delivery, before)) = discarded else { return Ok(false) };
    supersede_after(conn, seq, parse_delivery(&delivery)?, "an earlier action on this delivery was discarded")?;
    if let Some(before) = before {
        save_delivery(conn, &serde_json::from_str(&before)?)?;
    }
    Ok(true)
}

fn parse_delivery(id: &str) -> Result<Uuid> {
    id.parse().map_err(|e| CaasError::corrupt(format!("outbox: {e}")))
}

pub fn entry_by_seq(conn: &Connection, seq: i64) -> Result<Option<OutboxEntry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE seq = ?1");
    conn.prepare_cached(&sql)?.query_row([seq], row).optional()?.map(decode).transpose()
}

pub fn rejected(conn: &Connection) -> Result<Vec<OutboxEntry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE rejected_code IS NOT NULL ORDER BY seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

pub fn pending_count(conn: &Connection, delivery: Option<Uuid>) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE rejected_code IS NULL AND (?1 IS NULL OR delivery_id = ?1)")?
        .query_row([delivery.map(|d| d.to_string())], |r| r.get(0))?)
}

/// The platform has the action: it leaves the outbox, and the delivery takes the platform's view
/// (when its answer could be read) unless later actions on it are still waiting.
pub fn complete(conn: &Connection, seq: i64, answer: Option<&DriverDelivery>) -> Result<()> {
    conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute([seq])?;
    if let Some(answer) = answer
        && pending_count(conn, Some(answer.delivery_id))? == 0
    {
        save_delivery(conn, answer)?;
    }
    Ok(())
}

/// The send failed without an answer; the action stays for the next try.
pub fn record_failure(conn: &Connection, seq: i64, error: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1")?
        .execute(params![seq, error])?;
    Ok(())
}

/// The platform refused the action for good; the later actions on the same delivery depended on
/// it and are refused with it.
pub fn reject(conn: &Connection, seq: i64, delivery: Uuid, code: &str, reason: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET rejected_code = ?2, rejected_reason = ?3 WHERE seq = ?1")?
        .execute(params![seq, code, reason])?;
    supersede_after(conn, seq, delivery, "an earlier action on this delivery was refused")
}

/// The actions after `seq` on `delivery` depended on it: they become conflicts with `reason`.
fn supersede_after(conn: &Connection, seq: i64, delivery: Uuid, reason: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET rejected_code = 'superseded', rejected_reason = ?3
         WHERE delivery_id = ?1 AND seq > ?2 AND rejected_code IS NULL",
    )?
    .execute(params![delivery.to_string(), seq, reason])?;
    // A refused handover stays listed as a conflict; the customer's code it carried is spent or
    // void, and is not kept.
    conn.prepare_cached(
        "UPDATE outbox SET request = json_set(request, '$.code', '') WHERE delivery_id = ?1 AND seq >= ?2
         AND rejected_code IS NOT NULL AND json_extract(request, '$.action') = 'confirm_handover'",
    )?
    .execute(params![delivery.to_string(), seq])?;
    Ok(())
}

pub fn dismiss(conn: &Connection, seq: i64) -> Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1 AND rejected_code IS NOT NULL")?.execute([seq])? > 0)
}
