//! The cache's schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! A new database is created from [`FRESH`] at the latest version; an older one is upgraded step by
//! step, each step in its own transaction. The test below proves both roads end in the same schema.

use rusqlite::{Connection, Transaction};

use crate::error::{CaasError, Result};

pub const VERSION: i64 = 2;

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
CREATE TABLE push_receipts (
    event_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    received_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX push_receipts_by_order ON push_receipts(order_id);
"#;

/// `MIGRATIONS[n]` upgrades a database from version `n + 1` to `n + 2`. Version 1 is the first
/// released schema.
const MIGRATIONS: &[&str] = &[
    // 2: remember which pushes were handled, so a duplicate costs no network round trip.
    r#"
    CREATE TABLE push_receipts (
        event_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        received_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX push_receipts_by_order ON push_receipts(order_id);
    "#,
];

/// Brings `conn` to [`VERSION`], creating or upgrading as needed.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(CaasError::Storage(format!(
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
        let step = usize::try_from(from - 1).map_err(|_| CaasError::Storage("bad schema version".into()))?;
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

    /// Every table, index and column, normalised so formatting does not matter.
    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .expect("prepare");
        let mut items: Vec<String> = stmt
            .query_map([], |r| {
                let sql: Option<String> = r.get(2)?;
                let sql = sql.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
                Ok(format!("{} {} {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?, sql))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
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
        old.execute("INSERT INTO orders (id, details, cursor) VALUES ('o1', '{}', 3)", []).expect("row");
        migrate(&mut old).expect("upgrade");

        assert_eq!(schema_of(&old), schema_of(&fresh));
        let cursor: i64 = old.query_row("SELECT cursor FROM orders WHERE id = 'o1'", [], |r| r.get(0)).expect("kept");
        assert_eq!(cursor, 3);
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
}
