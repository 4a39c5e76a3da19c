//! SQLite's write-ahead log copied back into the database by a thread of its own.
//!
//! By default SQLite checkpoints inside the commit that takes the log past 1,000 pages: that one
//! commit copies the whole log back and syncs the database file. It takes a few milliseconds on a
//! server's disk and tens on a phone's flash, and it lands on whichever write crosses the line: a
//! push a customer is looking at, a webhook the factory is waiting on. A [`Writer`] turns that off
//! for its connection and hands each checkpoint to a thread with a connection of its own, so a
//! commit only appends to the log. The checkpoint is SQLite's passive one, which never waits for a
//! reader or a writer; the writer's next transaction starts the log again once it has all been
//! copied back.

use std::ffi::c_int;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB, OpenFlags};

/// Pages in the log past which it is copied back: SQLite's own default.
const THRESHOLD: c_int = 1000;

/// Pages past which the committing connection copies the log back itself, as SQLite would have:
/// the log stays bounded when writes come faster than the thread copies, or when it could not
/// start.
const CEILING: c_int = 8 * THRESHOLD;

/// Bytes the log's file is cut back to when it starts again: twice the threshold's pages, so it is
/// cut only after a burst, not at every round.
const LOG_FILE_LIMIT: i64 = 8 * 1024 * 1024;

/// Checkpoints tried while SQLite finds them busy (another connection's under way, or the
/// writer's commit changing the log's index as the thread read it), [`BUSY_PAUSE`] apart. Both
/// last a moment; a burst's last commit is then still copied back.
const BUSY_ATTEMPTS: u32 = 3;

const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// What a commit that left `pages` in the log asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Nothing,
    /// The thread copies the log back; the commit returns at once.
    Background,
    /// The commit copies the log back before it returns.
    Inline,
}

impl Plan {
    fn after_commit(pages: c_int) -> Self {
        match pages {
            p if p >= CEILING => Self::Inline,
            p if p >= THRESHOLD => Self::Background,
            _ => Self::Nothing,
        }
    }
}

/// A connection that writes to a database in WAL mode, its checkpoints left to a thread started at
/// the first one needed.
///
/// Setting the `wal_autocheckpoint` pragma on it would bring SQLite's checkpoints back into the
/// commit, and `wal_hook` would take them away altogether. Dropping it waits for a checkpoint under
/// way (up to the ceiling's 8,000 pages copied and synced), so that the connection closing last
/// deletes the log; a process killed first leaves it to SQLite's recovery at the next opening.
pub struct Writer {
    // Declared first, so dropped first: the thread is joined, its connection closed, before the
    // writer closes. The last connection to close copies the log back and deletes it; two closing
    // at once can each see the other still open, and then a log of thousands of pages stays for
    // the next opening to read through.
    checkpoints: Checkpoints,
    conn: Connection,
}

impl Writer {
    /// Takes over `conn`. A database without a write-ahead log (in memory, or where the file
    /// system could not give one) is written as SQLite would, with nothing to copy back.
    pub fn new(mut conn: Connection) -> rusqlite::Result<Self> {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        let path = conn.path().filter(|path| !path.is_empty()).map(PathBuf::from).unwrap_or_default();
        let shared = Arc::new(Shared {
            path,
            thread: Mutex::new(Thread::NotStarted),
            copying: Mutex::new(()),
            closing: AtomicBool::new(false),
        });
        if !mode.eq_ignore_ascii_case("wal") || shared.path.as_os_str().is_empty() {
            tracing::warn!(mode, "no write-ahead log: nothing to copy back");
            return Ok(Self { checkpoints: Checkpoints(shared), conn });
        }
        // Once copied back, the log is written again from its beginning; its file keeps the size
        // it reached unless told otherwise, up to the ceiling's 33 MB after a burst.
        conn.pragma_update(None, "journal_size_limit", LOG_FILE_LIMIT)?;
        let hook = Arc::clone(&shared);
        conn.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if wal.name() == MAIN_DB {
                match Plan::after_commit(pages) {
                    Plan::Nothing => {}
                    Plan::Background => {
                        if !hook.request() {
                            hook.copy_back(wal, pages);
                        }
                    }
                    Plan::Inline => hook.copy_back(wal, pages),
                }
            }
            // The commit has happened: an error returned here would report it as failed.
            Ok(())
        }))?;
        Ok(Self { checkpoints: Checkpoints(shared), conn })
    }

    /// Copies the whole log back and empties it (`TRUNCATE`), so a row deleted or overwritten
    /// leaves no older copy there; `false` when a reader still needs part of it. The thread is
    /// held off meanwhile: SQLite refuses a second checkpoint at once, busy, without waiting.
    pub fn empty_log(&self) -> rusqlite::Result<bool> {
        let _copying = self.checkpoints.0.copying();
        match self.conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::TRUNCATE) {
            Ok(_) => Ok(true),
            Err(error) if is_busy(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

impl Deref for Writer {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.checkpoints.0.path).finish_non_exhaustive()
    }
}

/// Stops the thread, once its checkpoint under way is done, when dropped.
struct Checkpoints(Arc<Shared>);

impl Drop for Checkpoints {
    fn drop(&mut self) {
        let thread = std::mem::replace(&mut *self.0.thread(), Thread::Stopped);
        if let Thread::Running { requests, handle } = thread {
            // A request still queued is not acted on, and a wait between busy attempts is cut short.
            self.0.closing.store(true, Ordering::Release);
            handle.thread().unpark();
            drop(requests);
            if handle.join().is_err() {
                tracing::warn!("the checkpoint thread panicked");
            }
        }
    }
}

/// What the writer's hook, its owner and the thread share.
struct Shared {
    path: PathBuf,
    thread: Mutex<Thread>,
    /// Held by the thread for each checkpoint, by the commit copying back itself and by
    /// [`Writer::empty_log`].
    copying: Mutex<()>,
    /// Set when the writer closes.
    closing: AtomicBool,
}

enum Thread {
    NotStarted,
    /// At most one request waits: more would repeat it.
    Running {
        requests: SyncSender<()>,
        handle: JoinHandle<()>,
    },
    /// The writer is closing, or the thread could not start or open the database: commits from
    /// now on copy back themselves, from the threshold, as SQLite would.
    Stopped,
}

impl Shared {
    // Nothing is left half-changed under either lock: a panic while holding one poisons nothing.
    fn thread(&self) -> MutexGuard<'_, Thread> {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn copying(&self) -> MutexGuard<'_, ()> {
        self.copying.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Copies the log back in the commit, unless the thread is doing it: the next commit over
    /// the ceiling tries again.
    fn copy_back(&self, wal: &mut Wal, pages: c_int) {
        let _copying = match self.copying.try_lock() {
            Ok(copying) => copying,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        match wal.checkpoint_v2(CheckpointMode::PASSIVE) {
            Ok(_) => {}
            // The next commit over the line tries again.
            Err(error) if is_busy(&error) => tracing::debug!(pages, "the write-ahead log was busy"),
            Err(error) => tracing::warn!(%error, pages, "the write-ahead log could not be copied back"),
        }
    }

    /// Asks the thread to copy the log back, starting it if need be; `false` when there is no
    /// thread to ask.
    fn request(self: &Arc<Self>) -> bool {
        let mut thread = self.thread();
        match &*thread {
            Thread::Stopped => return false,
            Thread::Running { requests, .. } => match requests.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => return true,
                // The thread has ended, its connection not opened (it said why): a thread per
                // commit would fail the same way.
                Err(TrySendError::Disconnected(())) => {
                    *thread = Thread::Stopped;
                    return false;
                }
            },
            Thread::NotStarted => {}
        }
        let (requests, received) = mpsc::sync_channel(1);
        let shared = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || shared.checkpoint_on_request(&received));
        match started {
            Ok(handle) => {
                let _queued = requests.try_send(());
                *thread = Thread::Running { requests, handle };
                true
            }
            Err(error) => {
                tracing::warn!(%error, "no checkpoint thread; commits copy the log back themselves");
                *thread = Thread::Stopped;
                false
            }
        }
    }

    /// The thread: one passive checkpoint per request, until the writer is closed; one SQLite
    /// finds busy is tried again ([`BUSY_ATTEMPTS`]).
    fn checkpoint_on_request(&self, requests: &Receiver<()>) {
        let conn = match open(&self.path) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, "the checkpoint thread could not open the database");
                return;
            }
        };
        while requests.recv().is_ok() && !self.closing() {
            for attempt in 1..=BUSY_ATTEMPTS {
                if !self.copy_back_once(&conn) {
                    break;
                }
                if attempt == BUSY_ATTEMPTS {
                    tracing::warn!(attempts = attempt, "the write-ahead log stayed busy; left for the next commit");
                } else if !self.wait(BUSY_PAUSE) {
                    return;
                }
            }
        }
    }

    /// One passive checkpoint; `true` when SQLite found it busy.
    fn copy_back_once(&self, conn: &Connection) -> bool {
        let _copying = self.copying();
        match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
            Ok((log, copied)) => tracing::debug!(log, copied, "write-ahead log copied back"),
            Err(error) if is_busy(&error) => {
                tracing::debug!("the write-ahead log was busy");
                return true;
            }
            Err(error) => tracing::warn!(%error, "the write-ahead log could not be copied back"),
        }
        false
    }

    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Waits `pause`; `false` when the writer is closing.
    fn wait(&self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        loop {
            if self.closing() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::park_timeout(until - now);
        }
    }
}

/// SQLite's answer when another connection holds what a checkpoint needs for a moment: another
/// checkpoint, a recovery, or the log's index being written as it was read.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(error, _) if error.code == rusqlite::ErrorCode::DatabaseBusy)
}

/// The thread's connection, to the writer's file only: it never creates one (a cache moved or
/// deleted meanwhile is not made again, empty, with other permissions). It reads the journal mode
/// first: a connection learns that the database keeps a write-ahead log only once it has read its
/// header, and until then a checkpoint does nothing.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "the database keeps no write-ahead log: nothing to copy back");
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_asks_the_thread_from_the_threshold_and_copies_back_itself_only_at_the_ceiling() {
        assert_eq!(Plan::after_commit(0), Plan::Nothing);
        assert_eq!(Plan::after_commit(THRESHOLD - 1), Plan::Nothing);
        assert_eq!(Plan::after_commit(THRESHOLD), Plan::Background);
        assert_eq!(Plan::after_commit(CEILING - 1), Plan::Background);
        assert_eq!(Plan::after_commit(CEILING), Plan::Inline);
        assert_eq!(Plan::after_commit(c_int::MAX), Plan::Inline);
    }

    fn writer(path: &Path) -> rusqlite::Result<Writer> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let writer = Writer::new(conn)?;
        writer.execute("CREATE TABLE IF NOT EXISTS rows (body BLOB NOT NULL)", [])?;
        Ok(writer)
    }

    /// One commit of a row the size of a page.
    fn commit_a_page(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute("INSERT INTO rows (body) VALUES (zeroblob(3000))", []).map(drop)
    }

    /// Frames the log file has room for (it is written from its beginning again once copied back).
    fn log_frames(path: &Path) -> u64 {
        const FRAME: u64 = 4096 + 24;
        std::fs::metadata(log_path(path)).map_or(0, |m| m.len() / FRAME)
    }

    fn log_path(path: &Path) -> PathBuf {
        PathBuf::from(format!("{}-wal", path.display()))
    }

    #[test]
    fn sqlite_no_longer_checkpoints_in_the_commit() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let conn = writer(&dir.path().join("db.sqlite3"))?;
        let automatic: i64 = conn.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))?;
        assert_eq!(automatic, 0, "SQLite's own checkpoint in the commit is off");
        Ok(())
    }

    #[test]
    fn the_thread_copies_the_log_back_between_bursts_of_writes() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        // Bursts of writes with pauses, as the phone's and the platform's come: about 4,500 pages
        // in all (a commit writes two or three), below the ceiling at which a commit would copy
        // back itself. Without the thread the log would hold them all.
        const BURSTS: usize = 8;
        const PER_BURST: usize = 250;
        for _ in 0..BURSTS {
            for _ in 0..PER_BURST {
                commit_a_page(&conn)?;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let frames = log_frames(&path);
        assert!(
            frames < 2 * THRESHOLD as u64,
            "the log was copied back and written again from its beginning: room for {frames} frames"
        );
        let rows: usize = conn.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
        assert_eq!(rows, BURSTS * PER_BURST, "every commit kept");
        drop(conn);
        let reopened = Connection::open(&path)?;
        let rows: usize = reopened.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
        assert_eq!(rows, BURSTS * PER_BURST, "every commit kept across a reopening");
        Ok(())
    }

    /// Commits a millisecond apart, as webhooks or pushes come in a busy hour. The log starts again
    /// only when the writer begins a transaction with all of it copied back, so the thread's
    /// checkpoint must end between two commits; the one after each commit has only that commit's
    /// pages to copy, and often does. Pausing the thread between checkpoints, to sync the files
    /// less often, left it each time a longer copy that ended in no gap: the log reached 5,000 to
    /// 8,000 frames here, and commits copied back themselves at the ceiling.
    #[test]
    fn a_stream_of_commits_with_gaps_keeps_the_log_short() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        let mut most = 0;
        for _ in 0..3 * THRESHOLD {
            commit_a_page(&conn)?;
            most = most.max(log_frames(&path));
            std::thread::sleep(Duration::from_millis(1));
        }
        // At most 1,200 or so on the development machine; 5,000 to 8,000 with the pause.
        assert!(most < 4 * THRESHOLD as u64, "the log reached {most} frames");
        Ok(())
    }

    /// SQLite answers busy when another connection is checkpointing: that was logged as a failure
    /// (eight warnings in one benchmark run) and not tried again, so a burst's last commit could
    /// leave the log uncopied until the next write.
    #[test]
    fn a_checkpoint_held_off_by_another_is_found_busy_then_done() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        let thread_conn = open(&path)?;
        commit_a_page(&conn)?;
        // A reader holds an older snapshot, so another connection's full checkpoint waits for it
        // in its busy handler, holding SQLite's checkpoint lock, until the reader is done.
        let reader = Connection::open(&path)?;
        reader.execute_batch("BEGIN")?;
        reader.query_row("SELECT count(*) FROM rows", [], |r| r.get::<_, i64>(0))?;
        commit_a_page(&conn)?;
        let (waiting, waits) = mpsc::channel();
        let other = std::thread::spawn({
            let path = path.clone();
            move || -> rusqlite::Result<()> {
                let mut other = open(&path)?;
                let started = Instant::now();
                other.busy_handler(Some(move |_| {
                    let _ = waiting.send(());
                    std::thread::sleep(Duration::from_millis(5));
                    started.elapsed() < Duration::from_secs(60)
                }))?;
                other.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::FULL).map(drop)
            }
        });
        waits.recv_timeout(Duration::from_secs(30)).expect("the other checkpoint waits for the reader");
        let shared = &conn.checkpoints.0;
        assert!(shared.copy_back_once(&thread_conn), "busy while the other connection checkpoints");
        reader.execute_batch("COMMIT")?;
        other.join().expect("the other connection's thread")?;
        assert!(!shared.copy_back_once(&thread_conn), "copied back once it is done");
        Ok(())
    }

    #[test]
    fn closing_cuts_a_wait_between_busy_attempts_short() {
        let shared = Shared {
            path: PathBuf::new(),
            thread: Mutex::new(Thread::NotStarted),
            copying: Mutex::new(()),
            closing: AtomicBool::new(true),
        };
        let started = Instant::now();
        assert!(!shared.wait(Duration::from_secs(60)), "told the writer is closing");
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    /// The thread's connection and the writer's closed at once: each saw the other still open, so
    /// neither copied the log back and deleted it, and every opening after read through it (5 ms
    /// instead of 0.7 to open the phone's cache in the benchmark).
    #[test]
    fn the_writer_closing_deletes_the_log_as_sqlite_does() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        for round in 0..5 {
            let conn = writer(&path)?;
            // Back to back, more than the threshold: the thread is copying back as the writer
            // closes.
            for _ in 0..THRESHOLD + 200 {
                commit_a_page(&conn)?;
            }
            drop(conn);
            assert!(!log_path(&path).exists(), "round {round}: the log is left behind");
        }
        let rows: i64 = Connection::open(&path)?.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
        assert_eq!(rows, 5 * i64::from(THRESHOLD + 200));
        Ok(())
    }

    /// A spent code's older copy must not stay in the log: the cache's `TRUNCATE` checkpoint after
    /// deleting it found the thread's checkpoint under way and gave up at once, busy.
    #[test]
    fn emptying_the_log_is_never_refused_for_the_threads_checkpoint() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        for round in 0..20 {
            // Just past the threshold: the thread is asked to copy back, and is at it.
            for _ in 0..THRESHOLD + 50 {
                commit_a_page(&conn)?;
            }
            assert!(conn.empty_log()?, "round {round}: the log is emptied");
            assert_eq!(log_frames(&path), 0, "round {round}");
        }
        Ok(())
    }

    #[test]
    fn a_database_without_a_write_ahead_log_is_written_as_sqlite_would() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for conn in [Connection::open(dir.path().join("db.sqlite3"))?, Connection::open_in_memory()?] {
            let writer = Writer::new(conn)?;
            writer.execute("CREATE TABLE rows (body BLOB NOT NULL)", [])?;
            for _ in 0..THRESHOLD + 10 {
                commit_a_page(&writer)?;
            }
            assert!(writer.empty_log()?, "nothing to empty");
            let rows: i64 = writer.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
            assert_eq!(rows, i64::from(THRESHOLD + 10));
        }
        Ok(())
    }

    /// After a burst the log's file kept the size it reached, up to 33 MB.
    #[test]
    fn the_logs_file_is_cut_back_once_the_log_starts_again() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        // A reader holds the log from its start, as a screen reading the cache would: no checkpoint
        // can start the log again under it, so the burst grows the file however quickly the
        // thread copies back. (Without it the thread found a gap in the burst now and then, the
        // log started again, and the file never passed the limit.)
        let reader = Connection::open(&path)?;
        reader.execute_batch("BEGIN")?;
        let _rows: i64 = reader.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
        for _ in 0..4000 {
            commit_a_page(&conn)?;
        }
        let size = || std::fs::metadata(log_path(&path)).map_or(0, |m| m.len());
        let reached = size();
        assert!(reached > LOG_FILE_LIMIT as u64, "the burst grew the log's file: {reached} bytes");
        reader.execute_batch("COMMIT")?;
        // Once the thread has copied back the rest, the next commit starts the log again.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            commit_a_page(&conn)?;
            if size() <= LOG_FILE_LIMIT as u64 {
                return Ok(());
            }
            assert!(Instant::now() < deadline, "the log's file still holds {} bytes", size());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// With its thread gone, commits copied back only at the ceiling: eight times the stall
    /// SQLite's own checkpoint would have had.
    #[test]
    fn without_its_thread_a_commit_copies_back_from_the_threshold_as_sqlite_would() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("db.sqlite3");
        let conn = writer(&path)?;
        // Moved away under the writer: the thread cannot open it, and makes no database in its
        // place.
        std::fs::rename(&path, dir.path().join("moved.sqlite3")).expect("moved");
        let mut most = 0;
        for _ in 0..3 * THRESHOLD {
            commit_a_page(&conn)?;
            most = most.max(log_frames(&path));
        }
        assert!(!path.exists(), "no empty database made in its place");
        assert!(most < 2 * THRESHOLD as u64, "the log reached {most} frames");
        Ok(())
    }
}
