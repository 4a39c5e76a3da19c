//! The platform's clock: real time plus the sandbox's offset, so a test can jump past a payment
//! deadline instead of waiting a week. The offset is stored, so a restarted mock keeps its time.

use crate::db::CachedSql as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Now, as the platform sees it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// The clock with the offset stored in `conn`.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let offset: i64 = conn
            .query_row_cached("SELECT offset_seconds FROM sandbox_clock WHERE id = 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(Self { offset_seconds: Arc::new(AtomicI64::new(offset)) })
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(self.offset_seconds.load(Ordering::Acquire))
    }

    /// Moves the clock forward by `seconds` (never back: deadlines already passed stay passed).
    pub fn advance(&self, conn: &Connection, seconds: i64) -> rusqlite::Result<DateTime<Utc>> {
        let offset = self.offset_seconds.fetch_add(seconds.max(0), Ordering::AcqRel) + seconds.max(0);
        conn.execute_cached(
            "INSERT INTO sandbox_clock (id, offset_seconds) VALUES (1, ?1)
             ON CONFLICT(id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
            params![offset],
        )?;
        Ok(self.now())
    }
}
