//! The on-device cache: SQLite in WAL mode with one writer connection and one reader, so a
//! snapshot read never waits for a sync being written. The log is copied back by a thread of its
//! own (`caas_checkpoint`), so no push or sync waits for that either.
//!
//! Work runs on the blocking pool; callers stay async. The exceptions are
//! [`Store::read_blocking`], for the snapshots the shells read without the async runtime, and
//! [`Store::write_blocking`], for work already on the pool that goes on after its write.

pub(crate) mod orders;
pub(crate) mod outbox;
mod payments;
mod schema;
pub(crate) mod vehicle_keys;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use caas_checkpoint::Writer;
use rusqlite::{Connection, OpenFlags, Transaction};

#[cfg(feature = "test-support")]
pub use orders::fixtures;
pub use orders::{ParsedLog, StoredOrder, StoredSummary};
pub use payments::{PaymentAttempt, PaymentPurpose, finish_attempt, load_attempt, options_in_flight, save_attempt};

use crate::error::{CaasError, Result, StorageError};

#[derive(Debug)]
pub struct Store {
    // The reader is declared first, so closed first: the last connection to close copies the log
    // back and deletes it, and a read-only one cannot.
    reader: Mutex<Connection>,
    writer: Mutex<Writer>,
    /// Write transactions ended so far: what the snapshots kept in memory are checked against
    /// (`projection`), counted here so no write path can forget to say it changed the cache.
    commits: AtomicU64,
}

fn lock<C>(mutex: &Mutex<C>) -> MutexGuard<'_, C> {
    // SQLite rolls back an unfinished transaction when its guard drops, so the connection is
    // consistent even if a panic poisoned the mutex.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Statements each connection keeps prepared: more than the cache's distinct statements, so a
/// sync or a drain parses none of them twice (`prepare_cached` throughout the store).
const STATEMENT_CACHE: usize = 128;

/// Plans a statement once, whatever values are bound to it. Otherwise SQLite marks a statement
/// whose plan could depend on a bound value (a `LIMIT ?`, a `?1 = ?1`) as expired each time its
/// bindings are cleared, and parses it again at its next use: the statement cache kept nothing.
fn keep_plans(conn: &Connection) -> Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

impl Store {
    /// Opens (creating or upgrading) the cache at `path`.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        owner_only(path)?;
        let mut writer = Connection::open(path)?;
        // Deleted rows are overwritten, so a spent handover code leaves no copy in free pages.
        writer.pragma_update(None, "secure_delete", "ON")?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        keep_plans(&writer)?;
        schema::migrate(&mut writer)?;
        // A push or a sync never waits for the log to be copied back into the database.
        let writer = Writer::new(writer)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        keep_plans(&reader)?;
        Ok(Arc::new(Self { writer: Mutex::new(writer), reader: Mutex::new(reader), commits: AtomicU64::new(0) }))
    }

    /// Runs `work` in one write transaction, committed only if it succeeds. The count of
    /// [`Store::commits`] moves on once the transaction has ended, before this returns.
    pub async fn write<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(self);
        run_blocking(move || store.write_blocking(work)).await
    }

    /// [`Store::write`] on the calling thread, for work already on the blocking pool that goes on
    /// once the write has ended.
    pub(crate) fn write_blocking<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let written = conn.transaction().map_err(CaasError::from).and_then(|tx| {
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        });
        // Counted whatever the outcome: one too many only costs a snapshot read again.
        self.commits.fetch_add(1, Ordering::Release);
        written
    }

    /// How many write transactions have ended. A read that begins after this was taken sees
    /// every write counted in it; a larger count later means the cache may have changed since.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Copies the write-ahead log back and empties it, so rows deleted or overwritten before (with
    /// `secure_delete`) leave no older copy in the log either.
    pub async fn scrub(self: &Arc<Self>) -> Result<()> {
        let store = Arc::clone(self);
        run_blocking(move || {
            if !lock(&store.writer).empty_log()? {
                tracing::warn!("a reader held the write-ahead log; it is emptied at the next scrub or when closed");
            }
            Ok(())
        })
        .await
    }

    /// Runs `work` on the reader connection, in one read transaction: a snapshot takes several
    /// statements (an order's row, then its events), and a sync committing between two of them
    /// would otherwise show new events beside old details.
    pub async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(self);
        run_blocking(move || store.read_blocking(work)).await
    }

    /// [`Store::read`] on the calling thread: a short local read (no network, the reader
    /// connection waiting at most for another read to finish, never for a write), for a shell's
    /// synchronous snapshot read that found nothing in memory.
    pub fn read_blocking<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        let snapshot = conn.unchecked_transaction()?;
        let value = work(&snapshot)?;
        snapshot.commit()?;
        Ok(value)
    }
}

/// The cache holds the customer's orders and the driver's day: readable by this app's user only.
/// SQLite creates the log and shared-memory files with the database's own permissions.
fn owner_only(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let storage = |source| CaasError::Storage(StorageError::Io { what: path.display().to_string(), source });
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(storage)?;
        for file in [path.to_owned(), path.with_extension("sqlite3-wal"), path.with_extension("sqlite3-shm")] {
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(storage)?;
            }
        }
    }
    Ok(())
}

async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await?
}

pub use orders::{
    Received, ReceivedEvent, apply_events, check_head, check_head_after, clear_account_data, cursor, event_with_car,
    get_meta, is_anchored, load_order, load_order_after, load_summaries, order_car, push_received, push_seen, reanchor,
    record, record_push, set_meta, upsert_details,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts how often the cached statement `sql` was parsed again over three uses with other
    /// values bound, on `conn`.
    fn reprepared(conn: &Connection, sql: &str) -> Result<i32> {
        for n in 0..3 {
            let mut statement = conn.prepare_cached(sql)?;
            statement.query_map([n, n + 10], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        }
        Ok(conn.prepare_cached(sql)?.get_status(rusqlite::StatementStatus::RePrepare))
    }

    /// The statement cache kept nothing for a statement with a `LIMIT ?`: SQLite expired it each
    /// time its bindings were cleared, and parsed it again at its next use.
    #[tokio::test]
    async fn a_cached_statement_is_planned_once_whatever_is_bound_to_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("cache.sqlite3")).expect("open");
        const PAGE: &str = "SELECT seq FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        assert_eq!(store.write(|tx| reprepared(tx, PAGE)).await.expect("writer"), 0, "the writer's");
        assert_eq!(store.read(|conn| reprepared(conn, PAGE)).await.expect("reader"), 0, "the reader's");
    }

    /// The commit that took the log past 1,000 pages copied it back into the database before it
    /// returned, a few milliseconds here and tens on a phone's flash, on whichever push or sync
    /// crossed the line; a thread of its own does it now.
    #[tokio::test]
    async fn sqlite_no_longer_copies_the_log_back_in_a_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("cache.sqlite3")).expect("open");
        let automatic: i64 = store
            .write(|tx| Ok(tx.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))?))
            .await
            .expect("pragma");
        assert_eq!(automatic, 0, "SQLite's checkpoint in the commit");
    }

    /// The writer closed first and the read-only reader last, which cannot copy the log back: the
    /// log stayed beside the cache, and the next opening read through it.
    #[tokio::test]
    async fn closing_the_cache_leaves_no_log_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cache.sqlite3");
        let store = Store::open(&path).expect("open");
        store
            .write(|tx| {
                Ok(tx.execute_batch("CREATE TABLE probe (body BLOB); INSERT INTO probe VALUES (zeroblob(9000));")?)
            })
            .await
            .expect("write");
        store
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM probe", [], |r| r.get::<_, i64>(0))?))
            .await
            .expect("read");
        let log = dir.path().join("cache.sqlite3-wal");
        assert!(log.exists(), "the log while open");
        drop(store);
        assert!(!log.exists(), "the log after closing");
    }

    /// A snapshot is read in several statements (an order's row, then its events): a sync
    /// committing between two of them must not be half seen, or the screen shows the new
    /// events beside the old details.
    #[tokio::test]
    async fn a_read_sees_one_state_of_the_cache_while_a_write_commits_in_between() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cache.sqlite3");
        let store = Store::open(&path).expect("open");
        store
            .write(|tx| Ok(tx.execute_batch("CREATE TABLE probe (n INTEGER); INSERT INTO probe VALUES (1);")?))
            .await
            .expect("table");
        let (before, after) = store
            .read(move |conn| {
                let count = |conn: &Connection| -> Result<i64> {
                    Ok(conn.query_row("SELECT count(*) FROM probe", [], |r| r.get(0))?)
                };
                let before = count(conn)?;
                // Another connection commits between the two statements, as the writer does.
                Connection::open(&path)?.execute("INSERT INTO probe VALUES (2)", [])?;
                Ok((before, count(conn)?))
            })
            .await
            .expect("read");
        assert_eq!(before, after, "both statements of one read see the same cache");
        assert_eq!(
            store
                .read(|conn| Ok(conn.query_row("SELECT count(*) FROM probe", [], |r| r.get::<_, i64>(0))?))
                .await
                .expect("read"),
            2,
            "the next read sees the write"
        );
    }
}
