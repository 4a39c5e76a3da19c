//! The cache's schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! A new database is created from [`FRESH`] at the latest version; an older one is upgraded step by
//! step, each step in its own transaction. The test below proves both roads end in the same schema.

use rusqlite::{Connection, Transaction};

use crate::error::{CaasError, Result};

pub const VERSION: i64 = 10;

/// The latest schema, for a new database.
const FRESH: &str = r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    details TEXT NOT NULL,
    state TEXT,
    cursor INTEGER NOT NULL DEFAULT 0,
    synced_at TEXT,
    estimate TEXT,
    blocker TEXT,
    last_event_at TEXT,
    record_head TEXT
) WITHOUT ROWID;
CREATE TABLE events (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT,
    PRIMARY KEY (order_id, version)
) WITHOUT ROWID;
CREATE TABLE push_receipts (
    event_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    received_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX push_receipts_by_order ON push_receipts(order_id);
CREATE TABLE payment_attempts (
    order_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    intent_id TEXT,
    created_at TEXT NOT NULL,
    purpose TEXT NOT NULL,
    PRIMARY KEY (order_id, purpose)
) WITHOUT ROWID;
CREATE TABLE car_statements (
    key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE driver_deliveries (
    id TEXT PRIMARY KEY,
    window_start TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    request TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    rejected_code TEXT,
    rejected_reason TEXT,
    created_at TEXT NOT NULL,
    wedged_at TEXT,
    delivery_before TEXT
);
CREATE INDEX outbox_by_delivery ON outbox(delivery_id);
CREATE TABLE vehicle_keys (
    order_id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    grant BLOB NOT NULL,
    vin TEXT NOT NULL,
    vehicle_public_key BLOB NOT NULL,
    not_after TEXT NOT NULL,
    clock_offset_seconds INTEGER NOT NULL,
    link_receipt BLOB
) WITHOUT ROWID;
"#;

/// `MIGRATIONS[n]` upgrades a database from version `n + 1` to `n + 2`. Version 1 is the first
/// released schema.
const MIGRATIONS: &[&str] = &[
    // 2: remember which pushes were handled, so a duplicate costs no network round trip; keep the
    // orders list's fields on the order row, so listing orders never decodes event logs.
    r#"
    ALTER TABLE orders ADD COLUMN estimate TEXT;
    ALTER TABLE orders ADD COLUMN blocker TEXT;
    ALTER TABLE orders ADD COLUMN last_event_at TEXT;
    UPDATE orders SET
        estimate = (SELECT json_extract(e.body, '$.estimated_completion') FROM events e
                    WHERE e.order_id = orders.id AND json_extract(e.body, '$.type') = 'estimate_revised'
                    ORDER BY e.version DESC LIMIT 1),
        blocker = (SELECT json_object('code', json_extract(e.body, '$.code'), 'reason', json_extract(e.body, '$.reason'))
                   FROM events e
                   WHERE e.order_id = orders.id AND e.version = orders.cursor
                     AND json_extract(e.body, '$.type') = 'configuration_rejected'),
        last_event_at = (SELECT e.occurred_at FROM events e WHERE e.order_id = orders.id
                         ORDER BY e.version DESC LIMIT 1);
    CREATE TABLE push_receipts (
        event_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        received_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX push_receipts_by_order ON push_receipts(order_id);
    "#,
    // 3: the payment attempt in flight per order, written before the first request so a retry
    // after a lost answer or a restart repeats it with the same idempotency key.
    r#"
    CREATE TABLE payment_attempts (
        order_id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        intent_id TEXT,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: the driver role: the company's deliveries cached for offline use, and the outbox of
    // driver actions, each kept with its idempotency key until the platform has it.
    r#"
    CREATE TABLE driver_deliveries (
        id TEXT PRIMARY KEY,
        window_start TEXT NOT NULL,
        body TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        request TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        rejected_code TEXT,
        rejected_reason TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX outbox_by_delivery ON outbox(delivery_id);
    "#,
    // 5: phone keys: the grant per order with the car's public key, and the car's link receipt
    // until the platform confirmed it (the advertising key is a secret and stays out).
    r#"
    CREATE TABLE vehicle_keys (
        order_id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        grant BLOB NOT NULL,
        vin TEXT NOT NULL,
        vehicle_public_key BLOB NOT NULL,
        not_after TEXT NOT NULL,
        clock_offset_seconds INTEGER NOT NULL,
        link_receipt BLOB
    ) WITHOUT ROWID;
    "#,
    // 6: the blocker follows the platform's rule (it stands until the order changes state); an
    // older app cleared it at any later event, so it is derived again from the cached events.
    r#"
    UPDATE orders SET blocker = (
        SELECT json_object(
            'code', json_extract(e.body, '$.code'),
            'reason', json_extract(e.body, '$.reason'),
            'fix', json_extract(e.body, '$.fix'))
        FROM events e
        WHERE e.order_id = orders.id
          AND json_extract(e.body, '$.type') IN ('configuration_rejected', 'registration_blocked')
          AND e.version > COALESCE((
              SELECT MAX(s.version) FROM events s
              WHERE s.order_id = orders.id AND json_extract(s.body, '$.type') = 'state_changed'), 0)
        ORDER BY e.version DESC LIMIT 1
    );
    "#,
    // 7: an action whose answer this app cannot read is held (wedged) until the driver retries
    // or discards it; `last_error` says why, and the delivery as it was before the action comes
    // back on a discard.
    "ALTER TABLE outbox ADD COLUMN wedged_at TEXT; ALTER TABLE outbox ADD COLUMN delivery_before TEXT;",
    // 8: the record chain: each event's hash as checked, and the platform's last signed head per
    // order. Events cached before have no hash; the next sync fetches their order's whole record
    // again and checks it from the start (`orders::is_anchored`).
    "ALTER TABLE events ADD COLUMN hash TEXT; ALTER TABLE orders ADD COLUMN record_head TEXT;",
    // 9: options bought after delivery: a payment attempt per order and purpose (the final
    // payment, or one option), and the car's option receipts until the platform has them.
    r#"
    CREATE TABLE payment_attempts_by_purpose (
        order_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        intent_id TEXT,
        created_at TEXT NOT NULL,
        purpose TEXT NOT NULL,
        PRIMARY KEY (order_id, purpose)
    ) WITHOUT ROWID;
    INSERT INTO payment_attempts_by_purpose
        SELECT order_id, idempotency_key, payment_method, amount_minor, currency, intent_id, created_at, 'final'
        FROM payment_attempts;
    DROP TABLE payment_attempts;
    ALTER TABLE payment_attempts_by_purpose RENAME TO payment_attempts;
    CREATE TABLE option_receipts (
        entitlement_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        receipt BLOB NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 10: what the car signed (option receipts, odometer reports) waits in one table until the
    // platform has it; the receipts version 9 kept move over.
    r#"
    CREATE TABLE car_statements (
        key TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body BLOB NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO car_statements (key, order_id, kind, body, created_at)
        SELECT 'option:' || entitlement_id, order_id, 'option_receipt', receipt, created_at FROM option_receipts;
    DROP TABLE option_receipts;
    "#,
];

/// Brings `conn` to [`VERSION`], creating or upgrading as needed.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(CaasError::corrupt(format!(
            "the cache was written by a newer app (schema {found}, this app knows {VERSION})"
        )));
    }
    if found == 0 {
        let tx = conn.transaction()?;
        tx.execute_batch(FRESH)?;
        set_version(&tx, VERSION)?;
        tx.commit()?;
        return Ok(());
    }
    for from in found..VERSION {
        let step = usize::try_from(from - 1).map_err(|_| CaasError::corrupt("bad schema version"))?;
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[step])?;
        set_version(&tx, from + 1)?;
        tx.commit()?;
        tracing::info!(to = from + 1, "cache schema upgraded");
    }
    Ok(())
}

fn set_version(tx: &Transaction<'_>, version: i64) -> Result<()> {
    tx.pragma_update(None, "user_version", version)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema of version 1, exactly as it shipped.
    const V1: &str = r#"
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        details TEXT NOT NULL,
        state TEXT,
        cursor INTEGER NOT NULL DEFAULT 0,
        synced_at TEXT
    ) WITHOUT ROWID;
    CREATE TABLE events (
        order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        event_id TEXT NOT NULL UNIQUE,
        occurred_at TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (order_id, version)
    ) WITHOUT ROWID;
    "#;

    /// Every table with its columns (name, type, nullability, default, key) and every index with
    /// its columns, plus the version: what the schema means, whatever the SQL text looks like.
    fn schema_of(conn: &Connection) -> Vec<String> {
        let names: Vec<(String, String)> = conn
            .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let mut items = Vec::new();
        for (kind, name) in names {
            let pragma = if kind == "table" { "table_info" } else { "index_info" };
            let mut columns: Vec<String> = conn
                .prepare(&format!("SELECT * FROM pragma_{pragma}('{name}')"))
                .expect("pragma")
                .query_map([], |r| {
                    let n = r.as_ref().column_count();
                    (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
                })
                .expect("query")
                .collect::<rusqlite::Result<Vec<Vec<String>>>>()
                .expect("columns")
                .into_iter()
                .map(|c| c.join("|"))
                .collect();
            columns.sort();
            items.push(format!("{kind} {name}: {}", columns.join("; ")));
        }
        items.push(format!(
            "user_version {}",
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).expect("version")
        ));
        items
    }

    #[test]
    fn an_upgraded_database_equals_a_fresh_one_and_keeps_its_data() {
        let mut fresh = Connection::open_in_memory().expect("open");
        migrate(&mut fresh).expect("fresh");

        let mut old = Connection::open_in_memory().expect("open");
        old.execute_batch(V1).expect("v1");
        old.pragma_update(None, "user_version", 1).expect("version");
        // An order cached by version 1: the row and its events, as that version wrote them.
        let (details, events) = crate::store::orders::fixtures::order_with_events();
        old.execute(
            "INSERT INTO orders (id, details, state, cursor) VALUES (?1, ?2, 'reservation_paid', ?3)",
            rusqlite::params![details.id.to_string(), serde_json::to_string(&details).expect("json"), events.len()],
        )
        .expect("order");
        for e in &events {
            old.execute(
                "INSERT INTO events (order_id, version, event_id, occurred_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    e.order_id.to_string(),
                    e.version,
                    e.event_id.to_string(),
                    e.occurred_at.to_rfc3339(),
                    serde_json::to_string(e).expect("json")
                ],
            )
            .expect("event");
        }
        migrate(&mut old).expect("upgrade");
        assert_eq!(schema_of(&old), schema_of(&fresh));

        // The upgraded row holds what version 2 would have written applying the same events.
        crate::store::upsert_details(&fresh, &details.clone().into()).expect("details");
        let received: Vec<_> = events.iter().cloned().map(crate::store::ReceivedEvent::from).collect();
        crate::store::apply_events(&fresh, details.id, &received).expect("apply");
        assert_eq!(
            crate::store::load_summaries(&old).expect("old"),
            crate::store::load_summaries(&fresh).expect("fresh")
        );
    }

    /// Version 5 cleared a blocker at any later event; version 6 derives it again from the cached
    /// events, as the platform keeps it: until the order changes state.
    #[test]
    fn a_blocker_an_older_app_cleared_is_derived_again() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("fresh");
        let (details, mut events) = crate::store::orders::fixtures::order_with_events();
        let last = events.last().cloned().expect("events");
        let blocked = caas_protocol::api::OrderEvent {
            version: last.version + 1,
            event_id: uuid::Uuid::from_u128(9001),
            kind: caas_protocol::api::EventKind::RegistrationBlocked {
                code: "plate".into(),
                reason: "the registry is closed".into(),
                fix: "try again tomorrow".into(),
            },
            ..last.clone()
        };
        let later = caas_protocol::api::OrderEvent {
            version: last.version + 2,
            event_id: uuid::Uuid::from_u128(9002),
            kind: caas_protocol::api::EventKind::PaymentReminder {
                amount_due: caas_protocol::api::Money { amount_minor: 100, currency: "EUR".into() },
                deadline: last.occurred_at,
            },
            ..last
        };
        events.extend([blocked, later]);
        let events = crate::store::orders::fixtures::chained(events);
        crate::store::upsert_details(&conn, &details.clone().into()).expect("details");
        let received: Vec<_> = events.iter().cloned().map(crate::store::ReceivedEvent::from).collect();
        crate::store::apply_events(&conn, details.id, &received).expect("apply");
        let summary = |conn: &Connection| crate::store::load_summaries(conn).expect("summaries").remove(0);
        assert!(summary(&conn).blocker.is_some(), "the blocker stands past a later event");

        // As version 5 left it: the blocker cleared by the later event, no later columns.
        conn.execute_batch(
            "UPDATE orders SET blocker = NULL; ALTER TABLE outbox DROP COLUMN wedged_at;
             ALTER TABLE outbox DROP COLUMN delivery_before; ALTER TABLE events DROP COLUMN hash;
             ALTER TABLE orders DROP COLUMN record_head; DROP TABLE car_statements; DROP TABLE payment_attempts;
             CREATE TABLE payment_attempts (order_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL,
                 payment_method TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, intent_id TEXT,
                 created_at TEXT NOT NULL) WITHOUT ROWID;
             PRAGMA user_version = 5;",
        )
        .expect("as v5");
        migrate(&mut conn).expect("upgrade");
        let blocker = summary(&conn).blocker.expect("derived again");
        assert_eq!((blocker.code.as_str(), blocker.fix.as_deref()), ("plate", Some("try again tomorrow")));
    }

    #[test]
    fn migrating_twice_changes_nothing_and_newer_schemas_are_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        let before = schema_of(&conn);
        migrate(&mut conn).expect("second");
        assert_eq!(schema_of(&conn), before);
        conn.pragma_update(None, "user_version", VERSION + 1).expect("bump");
        assert!(matches!(migrate(&mut conn), Err(CaasError::Storage(_))));
    }

    /// A receipt a version 9 cache kept reaches the platform after the upgrade.
    #[test]
    fn an_option_receipt_kept_by_version_9_moves_to_the_statements() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("fresh");
        conn.execute_batch(
            "DROP TABLE car_statements;
             CREATE TABLE option_receipts (entitlement_id TEXT PRIMARY KEY, order_id TEXT NOT NULL,
                 receipt BLOB NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
             INSERT INTO option_receipts VALUES ('00000000-0000-0000-0000-000000000007',
                 '00000000-0000-0000-0000-000000000001', x'0102', '2026-11-28T00:00:00Z');
             PRAGMA user_version = 9;",
        )
        .expect("as version 9 left it");
        migrate(&mut conn).expect("upgrade");
        let kept = crate::store::vehicle_keys::pending_statements(&conn).expect("statements");
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept[0].2,
            crate::store::vehicle_keys::CarStatement::OptionReceipt {
                entitlement: uuid::Uuid::from_u128(7),
                receipt: vec![1, 2]
            }
        );
    }
}
