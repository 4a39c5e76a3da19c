//! The mock's SQLite database: one file holds the platform's and the factory simulator's tables, so
//! a restart with the same `--db` resumes every journey where it stood.
//!
//! One connection behind a mutex is the single writer; statements are short and never held across
//! an `.await`.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use caas_checkpoint::Writer;
use caas_protocol::record::{Chain, RecordHash};
use rusqlite::{CachedStatement, Connection, OptionalExtension as _, Params, Row};
use tokio::sync::watch;

const SCHEMA_VERSION: i64 = 10;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS dealerships (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    locality TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    phone TEXT,
    national_id TEXT,
    tax_number TEXT,
    address TEXT
);
-- Bearer tokens are stored as SHA-256 digests only. A token without an expiry (from before they
-- had one) is not accepted; `family` ties a session's access and refresh tokens together.
CREATE TABLE IF NOT EXISTS tokens (
    digest BLOB PRIMARY KEY,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    family TEXT,
    -- When the account was last proven with a sign-in code (platform clock); renewals keep it.
    proven_at TEXT
);
CREATE INDEX IF NOT EXISTS tokens_by_family ON tokens(family);
-- Customers' refresh tokens, as digests; each is spent once.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    digest BLOB PRIMARY KEY,
    subject TEXT NOT NULL,
    family TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    proven_at TEXT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON refresh_tokens(family);
-- The pending sign-in code of an address, as a keyed digest; the code itself is only emailed.
CREATE TABLE IF NOT EXISTS sign_in_codes (
    email TEXT PRIMARY KEY,
    code_digest BLOB NOT NULL,
    expires_at TEXT NOT NULL
);
-- What limits guessing and asking per address, across every code issued to it: wrong codes since
-- the last sign-in (a lockout after five), and codes asked for and not used yet.
CREATE TABLE IF NOT EXISTS sign_in_limits (
    email TEXT PRIMARY KEY,
    wrong INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    unused_codes INTEGER NOT NULL DEFAULT 0,
    first_unused_at TEXT
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    dealership_id TEXT NOT NULL REFERENCES dealerships(id),
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    configuration TEXT NOT NULL,
    delivery_locality TEXT NOT NULL,
    deposit TEXT,
    vin TEXT,
    factory_order_id TEXT UNIQUE,
    estimated_completion TEXT,
    blocker TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    price TEXT,
    final_payment TEXT,
    payment_reminded_at TEXT,
    registration TEXT,
    from_stock INTEGER NOT NULL DEFAULT 0,
    app_link TEXT,
    -- The owner's registration details and delivery address as taken with this sale (JSON); they
    -- belong to the order, so another sale to the same email never changes them.
    registration_details TEXT,
    -- Which advertising key of this owner the car uses: raised at every revoked phone key, so
    -- a phone whose key was revoked no longer recognises the car.
    advertising_generation INTEGER NOT NULL DEFAULT 0,
    -- The hash of the order's last event, which the next one links to (base64url).
    head_hash TEXT
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_id);
-- The cars themselves. A car belongs to one purchase record at a time; when its customer does not
-- pay, it loses the customer and becomes stock of its dealership, keeping its history.
CREATE TABLE IF NOT EXISTS vehicles (
    vin TEXT PRIMARY KEY,
    dealership_id TEXT NOT NULL REFERENCES dealerships(id),
    configuration TEXT NOT NULL,
    price TEXT NOT NULL,
    assigned_customer_id TEXT REFERENCES customers(id),
    order_id TEXT REFERENCES orders(id),
    -- `assigned` or `available_for_sale`.
    status TEXT NOT NULL,
    manufacturing TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
-- Payment attempts, one per customer idempotency key; the gateway's intent id once known.
-- `created_at` is on the platform's clock, like the deadline it is compared with.
CREATE TABLE IF NOT EXISTS payments (
    order_id TEXT NOT NULL REFERENCES orders(id),
    idempotency_key TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    amount TEXT NOT NULL,
    intent_id TEXT UNIQUE,
    -- `pending` until the gateway answers, then the gateway's status.
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- What the attempt pays for: `final` (the rest of the car's price) or `option:<code>`.
    purpose TEXT NOT NULL DEFAULT 'final',
    PRIMARY KEY (order_id, idempotency_key)
);
-- At most one attempt per order and purpose that may still take or has taken the money: a
-- second one while one waits for 3-D Secure or settles is refused, so two cards are never charged
-- for one car or one option.
CREATE UNIQUE INDEX IF NOT EXISTS payments_one_open_per_purpose ON payments(order_id, purpose)
    WHERE status IN ('pending', 'requires_action', 'processing', 'succeeded');
-- Options bought after delivery, from their payment's success; the entitlement the platform
-- signed for the car, and the car's confirmation or the refund.
CREATE TABLE IF NOT EXISTS option_purchases (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    vin TEXT NOT NULL,
    option TEXT NOT NULL,
    price TEXT NOT NULL,
    intent_id TEXT NOT NULL UNIQUE,
    entitlement BLOB NOT NULL,
    paid_at TEXT NOT NULL,
    activate_by TEXT NOT NULL,
    activated_at TEXT,
    activated_via TEXT,
    -- Set, in the same transaction that checks nothing activated it, before the gateway is asked
    -- for the refund: from then on no receipt is taken.
    refund_claimed_at TEXT,
    refunded_at TEXT,
    -- When the car, back in coverage, switched a refunded option off (or confirmed it never had it).
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS option_purchases_by_order ON option_purchases(order_id);
-- Maintenance from `operational` on: the car's last report, the service the plan counts from, the
-- reminder sent for the service due, and the booked workshop slot.
CREATE TABLE IF NOT EXISTS maintenance (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    odometer_km INTEGER NOT NULL,
    reported_at TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    -- The warnings the customer was told of since the last service, each told once.
    told_warnings TEXT NOT NULL DEFAULT '[]',
    last_service_km INTEGER NOT NULL,
    last_service_on TEXT NOT NULL,
    reminded_due_km INTEGER,
    booking_start TEXT,
    -- Moves and cancellations since the last service: a booking changes at most three times.
    booking_changes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS maintenance_by_booking ON maintenance(booking_start);
CREATE TABLE IF NOT EXISTS service_visits (
    order_id TEXT NOT NULL REFERENCES orders(id),
    at TEXT NOT NULL,
    odometer_km INTEGER NOT NULL,
    work TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS service_visits_by_order ON service_visits(order_id);
-- The first answer to each idempotent request, per caller.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope BLOB NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
-- Every idempotent request forgets the answers older than a day: by age, not by a scan.
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys(created_at);
CREATE TABLE IF NOT EXISTS sandbox_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds INTEGER NOT NULL
);
-- The payment gateway simulator's own records.
CREATE TABLE IF NOT EXISTS gateway_payment_methods (
    id TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    -- What the sandbox card number makes the gateway do; the number itself is never kept.
    behaviour TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_intents (
    id TEXT PRIMARY KEY,
    payment_method TEXT NOT NULL REFERENCES gateway_payment_methods(id),
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Money actually taken: at most one charge per intent.
CREATE TABLE IF NOT EXISTS gateway_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id TEXT NOT NULL UNIQUE REFERENCES gateway_intents(id),
    order_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    charged_at TEXT NOT NULL
);
-- Charges given back, at most one refund per charge.
CREATE TABLE IF NOT EXISTS gateway_refunds (
    intent_id TEXT PRIMARY KEY REFERENCES gateway_ledger(intent_id),
    reason TEXT NOT NULL,
    refunded_at TEXT NOT NULL
);
-- Charges that reached the platform for an order that was no longer waiting for them: each is
-- refunded, and the refund recorded on the order's log.
CREATE TABLE IF NOT EXISTS duplicate_charges (
    intent_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    refunded_at TEXT
);
CREATE TABLE IF NOT EXISTS gateway_webhook_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL UNIQUE,
    intent_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at TEXT
);
-- One delivery per order: the booked window, the driver, and who had the car when. `active` is
-- 1 while the delivery takes a place in its company's window.
CREATE TABLE IF NOT EXISTS deliveries (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    active INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_window ON deliveries(company_id, window_start);
-- The sandbox's robot courier switch of an order (`POST /v1/sandbox/orders/{id}/robot-courier`);
-- an order without a row follows the mock's `--robot-courier`.
CREATE TABLE IF NOT EXISTS robot_couriers (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    enabled INTEGER NOT NULL,
    scenario TEXT NOT NULL
);
-- Handover codes issued to customers; each is accepted once. Kept: what was signed (public) and a
-- keyed digest of the eight digits, never the token or the digits.
CREATE TABLE IF NOT EXISTS handover_codes (
    code_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    attempt INTEGER NOT NULL,
    short_code_digest BLOB NOT NULL,
    claims TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    -- When the customer showed a newer code: this one no longer resolves or hands over, except
    -- for a handover the customer's phone vouches it showed before then.
    superseded_at TEXT
);
CREATE INDEX IF NOT EXISTS handover_codes_by_order ON handover_codes(order_id);
-- Wrong short codes per delivery attempt, across every code of the attempt; a new code resets it.
CREATE TABLE IF NOT EXISTS handover_guesses (
    order_id TEXT NOT NULL REFERENCES orders(id),
    attempt INTEGER NOT NULL,
    wrong INTEGER NOT NULL,
    PRIMARY KEY (order_id, attempt)
);
-- Phone keys: grants issued to customers' devices for their cars. Nothing secret is kept: the
-- device's public key only, and the grant as signed. The car reads revocations from here, as it
-- would receive them over its own connection to the platform.
CREATE TABLE IF NOT EXISTS pairing_grants (
    grant_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    vin TEXT NOT NULL,
    device_public_key BLOB NOT NULL,
    grant BLOB NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    linked_at TEXT
);
CREATE INDEX IF NOT EXISTS pairing_grants_by_order ON pairing_grants(order_id);
CREATE TABLE IF NOT EXISTS order_events (
    order_id TEXT NOT NULL REFERENCES orders(id),
    version INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    platform TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- The seeds of the platform's own long-lived signing keys that were not given at start, so a
-- restart keeps them (a production platform keeps them in an HSM).
CREATE TABLE IF NOT EXISTS platform_keys (
    name TEXT PRIMARY KEY,
    seed BLOB NOT NULL
) WITHOUT ROWID;
-- Every push, email and SMS the platform sent, for the sandbox to read.
CREATE TABLE IF NOT EXISTS outbound_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    order_id TEXT,
    event_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_receipts (
    webhook_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS factory_orders (
    id TEXT PRIMARY KEY,
    platform_order_id TEXT NOT NULL UNIQUE,
    vin TEXT NOT NULL,
    request TEXT NOT NULL,
    stage TEXT NOT NULL,
    estimated_completion TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Webhooks the factory has yet to deliver, in the order they must arrive.
CREATE TABLE IF NOT EXISTS factory_webhook_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL UNIQUE,
    factory_order_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at TEXT
);
-- Every webhook the factory and the gateway simulators sent the platform, one row per attempt
-- with what came of it (`delivered`, `retrying`, `refused`), for the sandbox feed. The body is kept
-- up to 16 KiB (`truncated` says when it was cut), so a runaway sender cannot grow the log without
-- bound per row, and the newest 10 000 attempts are kept (the trigger below), so it cannot grow
-- without bound in all.
CREATE TABLE IF NOT EXISTS webhook_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sender TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    type TEXT,
    order_id TEXT,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    payload TEXT NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT NOT NULL
);
-- The sandbox feed's journal: one row per order event, outbound message and webhook sent, numbered
-- in commit order (one writer), so a listener resumes after the last number it saw without loss.
-- The triggers below fill it, so no code path that appends an event, a message or a webhook can
-- leave one out. `kind` is `event`, `push`, `email`, `sms` or `webhook`; `detail` the event's type,
-- the message's channel or the webhook's type; `ref` the event's version, or the `seq` of the
-- message or the webhook; `at` when it happened (none for an event an older version kept without
-- a time). The journal keeps the newest 100 000 rows: a listener further behind has lost the
-- older ones (what they point to stays in its own table).
CREATE TABLE IF NOT EXISTS sandbox_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    order_id TEXT,
    detail TEXT,
    ref INTEGER NOT NULL,
    at TEXT
);
CREATE INDEX IF NOT EXISTS sandbox_feed_by_order ON sandbox_feed(order_id, seq);
CREATE TRIGGER IF NOT EXISTS sandbox_feed_bounded AFTER INSERT ON sandbox_feed BEGIN
    DELETE FROM sandbox_feed WHERE seq <= NEW.seq - 100000;
END;
CREATE TRIGGER IF NOT EXISTS sandbox_feed_events AFTER INSERT ON order_events BEGIN
    INSERT INTO sandbox_feed (kind, order_id, detail, ref, at)
    VALUES ('event', NEW.order_id, CASE WHEN json_valid(NEW.body) THEN json_extract(NEW.body, '$.type') END,
            NEW.version,
            COALESCE(CASE WHEN json_valid(NEW.body) THEN json_extract(NEW.body, '$.occurred_at') END,
                     strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
END;
CREATE TRIGGER IF NOT EXISTS sandbox_feed_messages AFTER INSERT ON outbound_messages BEGIN
    INSERT INTO sandbox_feed (kind, order_id, detail, ref, at)
    VALUES (CASE NEW.channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'sms' ELSE 'push' END,
            NEW.order_id, NEW.channel, NEW.seq, NEW.created_at);
END;
CREATE TRIGGER IF NOT EXISTS sandbox_feed_webhooks AFTER INSERT ON webhook_log BEGIN
    INSERT INTO sandbox_feed (kind, order_id, detail, ref, at)
    VALUES ('webhook', NEW.order_id, NEW.type, NEW.seq, NEW.sent_at);
END;
CREATE TRIGGER IF NOT EXISTS webhook_log_bounded AFTER INSERT ON webhook_log BEGIN
    DELETE FROM webhook_log WHERE seq <= NEW.seq - 10000;
END;
"#;

/// Upgrades a version 1 to 4 database: codes were kept in plain text, so the pending ones are
/// dropped (they live minutes; customers ask again); each order takes the registration details its
/// customer had; tokens get an expiry (older ones, without, are no longer accepted: sign in again);
/// of several open payment attempts of one order, all but the first are marked superseded, so the
/// one-open-attempt index can be built.
const UPGRADE_TO_5: &str = r#"
DROP TABLE IF EXISTS handover_codes;
DROP TABLE IF EXISTS sign_in_codes;
ALTER TABLE orders ADD COLUMN registration_details TEXT;
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN family TEXT;
ALTER TABLE tokens ADD COLUMN proven_at TEXT;
UPDATE payments SET status = 'superseded'
WHERE status IN ('pending', 'requires_action', 'processing', 'succeeded')
  AND rowid NOT IN (
      SELECT MIN(rowid) FROM payments WHERE status IN ('pending', 'requires_action', 'processing', 'succeeded')
      GROUP BY order_id
  );
"#;

/// Upgrades a version 1 to 5 database: the advertising key generation of each owner.
const UPGRADE_TO_6: &str = "ALTER TABLE orders ADD COLUMN advertising_generation INTEGER NOT NULL DEFAULT 0;";

/// Upgrades a version 1 to 6 database: the head of each order's chain, filled by [`chain_logs`].
const UPGRADE_TO_7: &str = "ALTER TABLE orders ADD COLUMN head_hash TEXT;";

/// Upgrades a version 2 to 7 database: what each payment attempt pays for, and the one open
/// attempt per purpose instead of per order.
const UPGRADE_TO_8: &str = r#"
ALTER TABLE payments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'final';
DROP INDEX IF EXISTS payments_one_open;
"#;

/// Starts the maintenance of the orders an older version left operational, from their last change.
const BACKFILL_TO_9: &str = r#"
INSERT OR IGNORE INTO maintenance (order_id, odometer_km, last_service_km, last_service_on)
SELECT id, 0, 0, substr(updated_at, 1, 10) FROM orders WHERE state = 'operational';
"#;

/// Puts the events and messages an older version wrote on the sandbox feed's journal (made by
/// [`SCHEMA`]), so a listener reading from the start sees the history too. In the order they were
/// written, as far as it can be told: each message by its own number, each event just before the
/// first message sent about it, and an order's events always by version (an event nothing was
/// sent about follows the one before it). An event kept without a readable time has none (`NULL`).
/// Webhooks were not logged before version 10.
const BACKFILL_TO_10: &str = r#"
INSERT INTO sandbox_feed (kind, order_id, detail, ref, at)
SELECT kind, order_id, detail, ref, at FROM (
    SELECT 'event' AS kind, e.order_id,
           CASE WHEN json_valid(e.body) THEN json_extract(e.body, '$.type') END AS detail, e.version AS ref,
           CASE WHEN json_valid(e.body) THEN json_extract(e.body, '$.occurred_at') END AS at,
           MAX(COALESCE(m.first_seq, 0)) OVER (PARTITION BY e.order_id ORDER BY e.version
                                               ROWS UNBOUNDED PRECEDING) AS place,
           0 AS source
    FROM order_events e
    LEFT JOIN (SELECT event_id, MIN(seq) AS first_seq FROM outbound_messages
               WHERE event_id IS NOT NULL GROUP BY event_id) m ON m.event_id = e.event_id
    UNION ALL
    SELECT CASE channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'sms' ELSE 'push' END, order_id, channel, seq,
           created_at, seq, 1
    FROM outbound_messages
)
-- Once: a journal that has rows already was filled as they were written.
WHERE NOT EXISTS (SELECT 1 FROM sandbox_feed)
ORDER BY place, source, order_id, ref;
"#;

/// Fills the orders' own registration details from their customers, once the new tables exist.
const BACKFILL_TO_5: &str = r#"
UPDATE orders SET registration_details = (
    SELECT json_object('national_id', c.national_id, 'tax_number', c.tax_number, 'address', c.address)
    FROM customers c WHERE c.id = orders.customer_id
) WHERE registration_details IS NULL;
"#;

/// Upgrades a version 1 to 3 database: the column version 4 added (its new tables come from
/// [`SCHEMA`]).
const UPGRADE_TO_4: &str = "ALTER TABLE orders ADD COLUMN app_link TEXT;";

/// Upgrades a version 1 database: the columns version 2 added to existing tables (its new tables
/// come from [`SCHEMA`]).
const UPGRADE_TO_2: &str = r#"
ALTER TABLE customers ADD COLUMN national_id TEXT;
ALTER TABLE customers ADD COLUMN tax_number TEXT;
ALTER TABLE customers ADD COLUMN address TEXT;
ALTER TABLE orders ADD COLUMN price TEXT;
ALTER TABLE orders ADD COLUMN final_payment TEXT;
ALTER TABLE orders ADD COLUMN payment_reminded_at TEXT;
ALTER TABLE orders ADD COLUMN registration TEXT;
ALTER TABLE orders ADD COLUMN from_stock INTEGER NOT NULL DEFAULT 0;
"#;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this mock ({supported})")]
    TooNew { found: i64, supported: i64 },
    /// A stored value an upgrade cannot carry over.
    #[error("the database cannot be upgraded: {0}")]
    Upgrade(String),
}

/// The shared database handle.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Writer>>,
    /// Bumped after commits that may have added to the sandbox feed, so its listeners read at once
    /// instead of at their next periodic look.
    feed: Arc<watch::Sender<u64>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans a statement once, whatever values are bound to it. Otherwise SQLite marks a
        // statement whose plan could depend on a bound value (a `LIMIT ?`, a `?1 = ?1`) as expired
        // each time its bindings are cleared, and parses it again at its next use.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(DbError::TooNew { found, supported: SCHEMA_VERSION });
        }
        // The whole upgrade in one transaction (SQLite's schema changes are transactional), so a
        // log the upgrade cannot carry over leaves the database as it was, to be fixed and opened
        // again.
        let upgrade = conn.unchecked_transaction()?;
        if found == 1 {
            conn.execute_batch(UPGRADE_TO_2)?;
        }
        if (1..4).contains(&found) {
            conn.execute_batch(UPGRADE_TO_4)?;
        }
        if (1..5).contains(&found) {
            conn.execute_batch(UPGRADE_TO_5)?;
        }
        if (1..6).contains(&found) {
            conn.execute_batch(UPGRADE_TO_6)?;
        }
        if (1..7).contains(&found) {
            conn.execute_batch(UPGRADE_TO_7)?;
        }
        // Version 1 had no payments: the schema makes the table anew.
        if (2..8).contains(&found) {
            conn.execute_batch(UPGRADE_TO_8)?;
        }
        if found == 5 {
            // Older versions dropped the table above; the schema makes it anew.
            conn.execute_batch("ALTER TABLE handover_codes ADD COLUMN superseded_at TEXT;")?;
        }
        conn.execute_batch(SCHEMA)?;
        if (1..5).contains(&found) {
            conn.execute_batch(BACKFILL_TO_5)?;
        }
        if (1..7).contains(&found) {
            chain_logs(&conn)?;
        }
        if (1..9).contains(&found) {
            conn.execute_batch(BACKFILL_TO_9)?;
        }
        if (1..10).contains(&found) {
            conn.execute_batch(BACKFILL_TO_10)?;
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        upgrade.commit()?;
        // A webhook's or a phone's request never waits for the log to be copied back.
        let conn = Writer::new(conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), feed: Arc::new(watch::channel(0).0) })
    }

    /// Tells the sandbox feed's listeners that rows may have been committed to it. Called after a
    /// commit (never inside a transaction, whose rows a listener could not see yet); a missed call
    /// only delays a listener to its periodic look.
    pub fn announce_feed(&self) {
        self.feed.send_modify(|bumps| *bumps = bumps.wrapping_add(1));
    }

    /// Wakes on [`Db::announce_feed`].
    pub fn feed_changes(&self) -> watch::Receiver<u64> {
        self.feed.subscribe()
    }

    /// The connection, for one short unit of work.
    pub fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned mutex is safe to keep using.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Statements the connection keeps prepared: more than the platform's distinct statements, so
/// none is parsed twice.
const STATEMENT_CACHE: usize = 512;

/// The platform's statements, run through the connection's cache of prepared statements. Every
/// request runs the same few dozen statements, and parsing them again each time was a third of
/// what a factory webhook cost (`./scripts/bench`).
pub trait CachedSql {
    /// [`Connection::execute`], prepared once.
    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// [`Connection::query_row`], prepared once.
    fn query_row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl CachedSql for Connection {
    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        let mut statement: CachedStatement<'_> = self.prepare_cached(sql)?;
        statement.query_row(params, f)
    }
}

/// The seed of the platform key `name`: the one given (kept from now on), else the one kept in
/// the database, made and kept at the first start. A kept seed that is not 32 bytes is an error,
/// never silently a new key.
pub fn platform_seed(conn: &Connection, name: &str, given: Option<[u8; 32]>) -> Result<[u8; 32], DbError> {
    let kept: Option<Vec<u8>> =
        conn.query_row_cached("SELECT seed FROM platform_keys WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    let kept = kept
        .map(|seed| <[u8; 32]>::try_from(seed).map_err(|_| DbError::Upgrade(format!("the kept {name} key is damaged"))))
        .transpose()?;
    let seed = match (given, kept) {
        (Some(given), kept) => {
            if kept.is_some_and(|kept| kept != given) {
                tracing::warn!(key = name, "the given key replaces the kept one: phones that pinned it refuse records");
            }
            given
        }
        (None, Some(kept)) => return Ok(kept),
        (None, None) => crate::random_seed(),
    };
    conn.execute_cached(
        "INSERT OR REPLACE INTO platform_keys (name, seed) VALUES (?1, ?2)",
        rusqlite::params![name, seed.to_vec()],
    )?;
    Ok(seed)
}

/// Links the events of every order written before the record chain, once, in the upgrade's
/// transaction: each event gains the hash of the one before it and each order the hash of its
/// last event.
fn chain_logs(conn: &Connection) -> Result<(), DbError> {
    let orders: Vec<String> = conn
        .prepare_cached("SELECT id FROM orders WHERE head_hash IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for order in orders {
        let id = uuid::Uuid::parse_str(&order).map_err(|e| DbError::Upgrade(format!("order id {order}: {e}")))?;
        relink(conn, id, 1, |_, _| {})?;
    }
    Ok(())
}

/// Links an order's events again from version `from` on, after `edit` changed them: each gains
/// the hash of the one before it, and the order the hash of its last. The events before `from`
/// are taken as they are. Used once to chain logs written before the chain, and by the sandbox to
/// play a platform rewriting its own history.
pub(crate) fn relink(
    conn: &Connection,
    order: uuid::Uuid,
    from: u64,
    mut edit: impl FnMut(u64, &mut serde_json::Value),
) -> Result<Chain, DbError> {
    let broken = |version: u64, e: &dyn std::fmt::Display| DbError::Upgrade(format!("event {version} of {order}: {e}"));
    let read =
        |body: String, version: u64| serde_json::from_str::<serde_json::Value>(&body).map_err(|e| broken(version, &e));
    let before = from.saturating_sub(1);
    let mut chain = match conn
        .query_row(
            "SELECT body FROM order_events WHERE order_id = ?1 AND version = ?2",
            rusqlite::params![order.to_string(), before],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    {
        Some(body) => {
            let hash = RecordHash::of_event(&read(body, before)?).map_err(|e| broken(before, &e))?;
            Chain::resume(order, before, hash)
        }
        None => Chain::new(order),
    };
    let events: Vec<(u64, String)> = conn
        .prepare_cached(
            "SELECT version, body FROM order_events WHERE order_id = ?1 AND version >= ?2 ORDER BY version",
        )?
        .query_map(rusqlite::params![order.to_string(), from], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (version, body) in events {
        let mut event = read(body, version)?;
        edit(version, &mut event);
        let fields = event.as_object_mut().ok_or_else(|| broken(version, &"not a JSON object"))?;
        fields.insert("prev".into(), serde_json::Value::String(chain.head().to_text()));
        chain.link(&event).map_err(|e| broken(version, &e))?;
        conn.execute_cached(
            "UPDATE order_events SET body = ?3 WHERE order_id = ?1 AND version = ?2",
            rusqlite::params![order.to_string(), version, event.to_string()],
        )?;
    }
    if chain.version() > 0 {
        conn.execute_cached(
            "UPDATE orders SET head_hash = ?2 WHERE id = ?1",
            rusqlite::params![order.to_string(), chain.head().to_text()],
        )?;
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement cache kept nothing for a statement with a `LIMIT ?` (an order's events after
    /// a version): SQLite expired it each time its bindings were cleared, and parsed it again at
    /// its next use, a fifth of what answering a batch of driver actions cost.
    #[test]
    fn a_cached_statement_is_planned_once_whatever_is_bound_to_it() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("mock.sqlite3")).expect("open");
        let conn = db.lock();
        let sql = "SELECT body FROM order_events WHERE order_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3";
        for n in 0..3 {
            let mut statement = conn.prepare_cached(sql).expect("prepare");
            let rows =
                statement.query_map(rusqlite::params![format!("order-{n}"), n, n + 10], |r| r.get::<_, String>(0));
            rows.expect("query").collect::<rusqlite::Result<Vec<_>>>().expect("rows");
        }
        let statement = conn.prepare_cached(sql).expect("prepare");
        assert_eq!(statement.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    /// The webhook whose commit took the log past 1,000 pages waited for it to be copied back
    /// into the database: the push's slowest one in a hundred.
    #[test]
    fn sqlite_no_longer_copies_the_log_back_in_a_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("mock.sqlite3")).expect("open");
        let automatic: i64 = db.lock().pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0)).expect("pragma");
        assert_eq!(automatic, 0, "SQLite's checkpoint in the commit");
    }

    #[test]
    fn a_version_6_log_is_chained_once_and_reads_back_as_evidence() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        let order = uuid::Uuid::new_v4();
        {
            let db = Db::open(&path).expect("new database");
            let conn = db.lock();
            conn.execute_batch(&format!(
                "INSERT INTO dealerships VALUES ('d', 'D', 'ES', 'Madrid');
                 INSERT INTO customers (id, email, name, country) VALUES ('c', 'c@example.com', 'C', 'ES');
                 INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration, delivery_locality,
                                     created_at, updated_at)
                 VALUES ('{order}', 'c', 'd', 'order_placed', 2, '{{}}', 'Madrid', 'now', 'now');
                 INSERT INTO order_events VALUES ('{order}', 1, '{e1}', '{{\"order_id\":\"{order}\",\"version\":1,\"type\":\"a\"}}');
                 INSERT INTO order_events VALUES ('{order}', 2, '{e2}', '{{\"order_id\":\"{order}\",\"version\":2,\"type\":\"b\"}}');
                 ALTER TABLE orders DROP COLUMN head_hash;
                 DROP INDEX payments_one_open_per_purpose;
                 ALTER TABLE payments DROP COLUMN purpose;
                 PRAGMA user_version = 6;",
                e1 = uuid::Uuid::new_v4(),
                e2 = uuid::Uuid::new_v4(),
            ))
            .expect("as version 6 left it");
        }
        let db = Db::open(&path).expect("upgraded");
        let conn = db.lock();
        let bodies: Vec<String> = conn
            .prepare_cached("SELECT body FROM order_events ORDER BY version")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("events");
        let mut chain = Chain::new(order);
        for body in &bodies {
            chain.link(&serde_json::from_str(body).expect("json")).expect("each event links to the one before");
        }
        let head: String = conn.query_row_cached("SELECT head_hash FROM orders", [], |r| r.get(0)).expect("head");
        assert_eq!(head, chain.head().to_text());
        drop(conn);
        drop(db);
        let again = Db::open(&path).expect("opened again");
        let unchanged: String = again
            .lock()
            .query_row_cached("SELECT body FROM order_events WHERE version = 2", [], |r| r.get(0))
            .expect("event");
        assert_eq!(unchanged, bodies[1], "chained once");
    }

    #[test]
    fn an_upgrade_that_cannot_carry_a_log_over_changes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        {
            let db = Db::open(&path).expect("new database");
            db.lock()
                .execute_batch(
                    "INSERT INTO dealerships VALUES ('d', 'D', 'ES', 'Madrid');
                     INSERT INTO customers (id, email, name, country) VALUES ('c', 'c@example.com', 'C', 'ES');
                     INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                                         delivery_locality, created_at, updated_at)
                     VALUES ('00000000-0000-0000-0000-000000000001', 'c', 'd', 'order_placed', 1, '{}', 'Madrid', 'now', 'now');
                     INSERT INTO order_events VALUES ('00000000-0000-0000-0000-000000000001', 1, 'e1', '[1, 2]');
                     ALTER TABLE orders DROP COLUMN head_hash;
                     DROP INDEX payments_one_open_per_purpose;
                     ALTER TABLE payments DROP COLUMN purpose;
                     PRAGMA user_version = 6;",
                )
                .expect("as version 6 left it, with a damaged event");
        }
        assert!(matches!(Db::open(&path), Err(DbError::Upgrade(_))));
        let conn = Connection::open(&path).expect("open");
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!(version, 6, "still version 6");
        assert!(conn.prepare_cached("SELECT head_hash FROM orders").is_err(), "no half-done upgrade");
    }

    #[test]
    fn a_version_5_database_gains_the_columns_of_versions_6_to_8() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        {
            let db = Db::open(&path).expect("new database");
            let conn = db.lock();
            conn.execute_batch(
                "ALTER TABLE orders DROP COLUMN advertising_generation;
                 ALTER TABLE orders DROP COLUMN head_hash;
                 ALTER TABLE handover_codes DROP COLUMN superseded_at;
                 DROP INDEX payments_one_open_per_purpose;
                 ALTER TABLE payments DROP COLUMN purpose;
                 CREATE UNIQUE INDEX payments_one_open ON payments(order_id)
                     WHERE status IN ('pending', 'requires_action', 'processing', 'succeeded');
                 PRAGMA user_version = 5;",
            )
            .expect("as version 5 left it");
        }
        let db = Db::open(&path).expect("upgraded");
        let conn = db.lock();
        conn.prepare_cached("SELECT advertising_generation FROM orders").expect("orders gained the generation");
        conn.prepare_cached("SELECT superseded_at FROM handover_codes").expect("codes gained superseded_at");
        conn.prepare_cached("SELECT purpose FROM payments").expect("payments gained their purpose");
        let old_index: Option<String> = conn
            .query_row_cached("SELECT name FROM sqlite_master WHERE name = 'payments_one_open'", [], |r| r.get(0))
            .optional()
            .expect("index");
        assert_eq!(old_index, None, "one open attempt per purpose, not per order");
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(schema(&conn), fresh_schema(), "the upgraded schema is the fresh one");
    }

    #[test]
    fn a_version_8_database_starts_the_maintenance_of_its_operational_cars() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        {
            let db = Db::open(&path).expect("new database");
            db.lock()
                .execute_batch(
                    "INSERT INTO dealerships VALUES ('d', 'D', 'ES', 'Madrid');
                     INSERT INTO customers (id, email, name, country) VALUES ('c', 'c@example.com', 'C', 'ES');
                     INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                                         delivery_locality, created_at, updated_at)
                     VALUES ('o', 'c', 'd', 'operational', 30, '{}', 'Madrid', '2026-11-01T10:00:00Z',
                             '2026-11-20T10:00:00Z');
                     PRAGMA user_version = 8;",
                )
                .expect("as version 8 left it");
        }
        let db = Db::open(&path).expect("upgraded");
        let started: String = db
            .lock()
            .query_row_cached("SELECT last_service_on FROM maintenance WHERE order_id = 'o'", [], |r| r.get(0))
            .expect("maintenance started");
        assert_eq!(started, "2026-11-20");
    }

    /// What a schema is, compared by meaning: each table's columns (in any order, as an upgrade
    /// appends the columns it adds), foreign keys and indexes, each index's and trigger's statement.
    fn schema(conn: &Connection) -> Vec<String> {
        let strings = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare_cached(sql).expect("schema query");
            let rows = stmt
                .query_map([], |r| {
                    let count = r.as_ref().column_count();
                    let fields: Vec<String> = (0..count)
                        .map(|i| match r.get_ref(i).expect("field") {
                            rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                            rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                            rusqlite::types::ValueRef::Real(n) => n.to_string(),
                            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                String::from_utf8_lossy(t).split_whitespace().collect::<Vec<_>>().join(" ")
                            }
                        })
                        .collect();
                    Ok(fields.join(" | "))
                })
                .expect("rows");
            let mut rows: Vec<String> = rows.collect::<rusqlite::Result<_>>().expect("rows");
            rows.sort();
            rows
        };
        let mut described = Vec::new();
        for entry in strings("SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%'") {
            let (kind, name) = entry.split_once(' ').expect("type and name");
            described.push(entry.clone());
            if kind == "table" {
                for column in
                    strings(&format!("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"))
                {
                    described.push(format!("{name} column {column}"));
                }
                for key in
                    strings(&format!("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}')"))
                {
                    described.push(format!("{name} references {key}"));
                }
                for index in strings(&format!("SELECT \"unique\", origin, partial FROM pragma_index_list('{name}')")) {
                    described.push(format!("{name} index {index}"));
                }
            } else {
                let sql = strings(&format!("SELECT sql FROM sqlite_master WHERE name = '{name}'"));
                described.push(format!("{entry} {}", sql.join("")));
            }
        }
        described
    }

    fn fresh_schema() -> Vec<String> {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("fresh.sqlite3")).expect("new database");
        let conn = db.lock();
        schema(&conn)
    }

    /// A version 9 database as version 9 made it: without the tables and triggers version 10 added.
    const AS_VERSION_9: &str = "DROP TRIGGER sandbox_feed_events;
                                DROP TRIGGER sandbox_feed_messages;
                                DROP TRIGGER sandbox_feed_webhooks;
                                DROP TABLE sandbox_feed;
                                DROP TABLE webhook_log;
                                DROP TABLE robot_couriers;";

    #[test]
    fn a_version_9_database_puts_its_history_on_the_feed_and_journals_what_comes_next() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        {
            let db = Db::open(&path).expect("new database");
            db.lock()
                .execute_batch(&format!(
                    "{AS_VERSION_9}
                     INSERT INTO dealerships VALUES ('d', 'D', 'ES', 'Madrid');
                     INSERT INTO customers (id, email, name, country) VALUES ('c', 'c@example.com', 'C', 'ES');
                     INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                                         delivery_locality, created_at, updated_at)
                     VALUES ('o', 'c', 'd', 'sale_registered', 1, '{{}}', 'Madrid', 'now', 'now');
                     INSERT INTO order_events VALUES ('o', 1, 'e1',
                         '{{\"type\":\"state_changed\",\"occurred_at\":\"2026-11-01T10:00:00Z\"}}');
                     INSERT INTO outbound_messages (channel, recipient, order_id, event_id, payload, created_at)
                     VALUES ('fcm', 'dev', 'o', 'e1', '{{}}', '2026-11-01T10:00:01+00:00');
                     PRAGMA user_version = 9;"
                ))
                .expect("as version 9 left it");
        }
        let db = Db::open(&path).expect("upgraded");
        let conn = db.lock();
        let feed = |conn: &Connection| -> Vec<(String, Option<String>, i64)> {
            conn.prepare_cached("SELECT kind, detail, ref FROM sandbox_feed ORDER BY seq")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
                .expect("feed")
        };
        assert_eq!(
            feed(&conn),
            vec![("event".into(), Some("state_changed".into()), 1), ("push".into(), Some("fcm".into()), 1)],
            "the history, oldest first"
        );
        conn.execute_batch(
            "INSERT INTO outbound_messages (channel, recipient, payload, created_at) VALUES ('sms', '+34', '{}', 'now');
             INSERT INTO webhook_log (sender, webhook_id, type, attempt, outcome, payload, sent_at)
             VALUES ('factory', 'msg_1', 'order.stage_changed', 1, 'delivered', '{}', 'now');",
        )
        .expect("new rows");
        assert_eq!(
            &feed(&conn)[2..],
            [("sms".into(), Some("sms".into()), 2), ("webhook".into(), Some("order.stage_changed".into()), 1)]
        );
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(schema(&conn), fresh_schema(), "the upgraded schema is the fresh one, triggers included");
    }

    #[test]
    fn the_history_goes_on_the_feed_in_each_order_by_version_and_a_missing_time_stays_missing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mock.sqlite3");
        {
            let db = Db::open(&path).expect("new database");
            db.lock()
                .execute_batch(&format!(
                    "{AS_VERSION_9}
                     INSERT INTO dealerships VALUES ('d', 'D', 'ES', 'Madrid');
                     INSERT INTO customers (id, email, name, country) VALUES ('c', 'c@example.com', 'C', 'ES');
                     INSERT INTO orders (id, customer_id, dealership_id, state, version, configuration,
                                         delivery_locality, created_at, updated_at)
                     VALUES ('a', 'c', 'd', 'order_placed', 3, '{{}}', 'Madrid', 'now', 'now'),
                            ('b', 'c', 'd', 'sale_registered', 1, '{{}}', 'Madrid', 'now', 'now');
                     -- Version 2 of `a` dated before version 1 (a clock moved), version 3 without a time.
                     INSERT INTO order_events VALUES
                         ('a', 1, 'a1', '{{\"type\":\"state_changed\",\"occurred_at\":\"2026-11-02T10:00:00Z\"}}'),
                         ('a', 2, 'a2', '{{\"type\":\"estimate_revised\",\"occurred_at\":\"2026-11-01T09:00:00Z\"}}'),
                         ('a', 3, 'a3', '{{\"type\":\"state_changed\"}}'),
                         ('b', 1, 'b1', '{{\"type\":\"state_changed\",\"occurred_at\":\"2026-11-01T08:00:00Z\"}}');
                     INSERT INTO outbound_messages (channel, recipient, order_id, event_id, payload, created_at) VALUES
                         ('email', 'c@example.com', 'a', 'a1', '{{}}', '2026-11-01T10:00:00Z'),
                         ('email', 'c@example.com', 'b', 'b1', '{{}}', '2026-11-01T10:00:01Z'),
                         ('email', 'c@example.com', 'a', 'a2', '{{}}', '2026-11-01T10:00:02Z');
                     PRAGMA user_version = 9;"
                ))
                .expect("as version 9 left it");
        }
        let db = Db::open(&path).expect("upgraded");
        let conn = db.lock();
        let journal: Vec<(String, String, i64, Option<String>)> = conn
            .prepare_cached("SELECT kind, order_id, ref, at FROM sandbox_feed ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
            .expect("journal");
        let read: Vec<(&str, &str, i64)> = journal.iter().map(|(k, o, r, _)| (k.as_str(), o.as_str(), *r)).collect();
        assert_eq!(
            read,
            [
                ("event", "a", 1),
                ("email", "a", 1),
                ("event", "b", 1),
                ("email", "b", 2),
                ("event", "a", 2),
                ("event", "a", 3),
                ("email", "a", 3),
            ],
            "as written: each event before its messages, each order's events by version"
        );
        assert_eq!(journal[5].3, None, "no time, not an empty one");
    }

    #[test]
    fn the_journal_and_the_webhook_log_keep_their_newest_rows() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("mock.sqlite3")).expect("db");
        let conn = db.lock();
        conn.execute_batch(
            "INSERT INTO sandbox_feed (seq, kind, ref, at) VALUES (1, 'sms', 1, 'now'), (2, 'sms', 2, 'now');
             INSERT INTO sandbox_feed (seq, kind, ref, at) VALUES (100002, 'sms', 3, 'now');
             INSERT INTO webhook_log (seq, sender, webhook_id, attempt, outcome, payload, sent_at)
             VALUES (1, 'factory', 'msg_1', 1, 'delivered', '{}', 'now');
             INSERT INTO webhook_log (seq, sender, webhook_id, attempt, outcome, payload, sent_at)
             VALUES (10001, 'factory', 'msg_2', 1, 'delivered', '{}', 'now');",
        )
        .expect("rows");
        let kept: Vec<i64> = conn
            .prepare_cached("SELECT seq FROM sandbox_feed WHERE kind = 'sms' ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("journal");
        assert_eq!(kept, [100_002], "the rows 100 000 behind the newest are gone");
        let attempts: Vec<i64> = conn
            .prepare_cached("SELECT seq FROM webhook_log ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("log");
        assert_eq!(attempts, [10_001]);
    }
}
