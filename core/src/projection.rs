//! The snapshots the screens read, kept in memory: reading one is a copy, not a trip through the
//! async runtime and SQLite, so the shells can read them synchronously.
//!
//! SQLite stays the truth. Each kept value carries the store's count of write transactions
//! ([`Store::commits`]) taken before the read that made it began, and is served only while that
//! count has not moved: a write is seen by the very next read, before its listeners are told,
//! whichever path wrote it and whether or not it notified. A read that raced a write is returned
//! to its caller (it began before the write ended) but not kept. A miss reads the cache again, on
//! the calling thread. The clock's part of an order (the payment's countdown and the actions it
//! allows) is computed at each read, never kept.
//!
//! Each order's parsed log is kept too, across writes: a miss parses only the events appended
//! since, when the cache still holds the last one parsed under the same chain hash
//! ([`store::load_order_after`]). Reading an order after a push is then as long as the push, not
//! as long as the order's whole history.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::snapshot::{OrderDetail, OrderSummary};
use crate::store::{self, ParsedLog, Store};

/// The orders list and each order read since the cache last changed.
#[derive(Default)]
pub(crate) struct Projection {
    orders: Slots<(), Vec<OrderSummary>>,
    /// `None` for an order the cache does not hold: asking again does not read SQLite again.
    details: Slots<Uuid, Option<OrderDetail>>,
    /// Each order's events as last parsed. Checked against the cache at each use, so one kept
    /// from any read, however old, is safe to extend.
    logs: Mutex<HashMap<Uuid, ParsedLog>>,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts only: the snapshots hold the customer's orders, which have no place in a log.
        f.debug_struct("Projection")
            .field("lists", &self.orders.lock().len())
            .field("orders", &self.details.lock().len())
            .field("logs", &self.logs().len())
            .finish()
    }
}

impl Projection {
    /// Drops every kept snapshot: once the cache forgot an account, memory does too.
    pub(crate) fn forget(&self) {
        self.orders.lock().clear();
        self.details.lock().clear();
        self.logs().clear();
    }

    fn logs(&self) -> MutexGuard<'_, HashMap<Uuid, ParsedLog>> {
        // Whole logs only are put in; a panic elsewhere leaves nothing half written.
        self.logs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `id` read from `conn`, parsing only what its kept log lacks. The log is kept again for the
    /// next read only if no write ended since `as_of`, taken before the read began, checked under
    /// the lock `forget` takes: a read that raced a sign-out never puts the old account's events
    /// back. Two reads of one order at once each parse it whole at worst.
    fn load_order(
        &self,
        store: &Store,
        as_of: u64,
        conn: &Connection,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<OrderDetail>> {
        let known = self.logs().remove(&id).unwrap_or_default();
        let Some((stored, tip)) = store::load_order_after(conn, id, known)? else { return Ok(None) };
        let order = OrderDetail::from_stored(&stored, now);
        let mut logs = self.logs();
        if store.commits() == as_of {
            if logs.len() >= LOGS_KEPT {
                // A phone follows a handful of orders; past that, start again rather than grow.
                logs.clear();
            }
            logs.insert(id, ParsedLog { events: stored.events, tip });
        }
        Ok(Some(order))
    }
}

/// The parsed logs kept at most: more orders than a customer follows.
const LOGS_KEPT: usize = 16;

/// Values by key, each with the store's commit count from before the read that made it.
struct Slots<K, V>(Mutex<HashMap<K, Kept<V>>>);

struct Kept<V> {
    as_of: u64,
    /// Shared, so that a copy is made outside the lock the shells' reads take.
    value: Arc<V>,
}

impl<K, V> Default for Slots<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Slots<K, V> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Kept<V>>> {
        // The map holds whole values only; a panic elsewhere leaves nothing half written.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value of `key` kept in memory, if no write has ended since it was read.
    fn kept(&self, store: &Store, key: &K) -> Option<V> {
        let as_of = store.commits();
        let kept = self.lock().get(key).filter(|kept| kept.as_of == as_of).map(|kept| Arc::clone(&kept.value));
        kept.map(|value| V::clone(&value))
    }

    /// Whether a value of `key` was kept since the account was loaded, current or not.
    fn is_read(&self, key: &K) -> bool {
        self.lock().contains_key(key)
    }

    /// The value of `key` kept in memory if no write has ended since it was read; otherwise
    /// `load`ed on this thread in one read transaction, and kept unless a write ended meanwhile.
    fn get(&self, store: &Store, key: K, load: impl FnOnce(&Connection) -> Result<V>) -> Result<V> {
        let as_of = store.commits();
        if let Some(value) = self.kept(store, &key) {
            return Ok(value);
        }
        let value = Arc::new(store.read_blocking(load)?);
        {
            let mut slots = self.lock();
            // Checked under the lock that `Projection::forget` takes: a read that began before a
            // sign-out's write never puts the old account back once it is forgotten.
            if store.commits() == as_of {
                slots.insert(key, Kept { as_of, value: Arc::clone(&value) });
            }
        }
        Ok(Arc::unwrap_or_clone(value))
    }
}

/// A kept order as of `now`, or why there is none.
fn found(id: Uuid, kept: Option<OrderDetail>, now: DateTime<Utc>) -> Result<OrderDetail> {
    kept.map(|order| order.at(now)).ok_or_else(|| CaasError::NotFound(format!("order {id}")))
}

fn load_orders(conn: &Connection) -> Result<Vec<OrderSummary>> {
    Ok(store::load_summaries(conn)?.iter().map(OrderSummary::from_stored).collect())
}

impl Caas {
    /// The cached orders, newest first, without the async runtime: from memory when the cache
    /// has not changed since they were last read, otherwise a short read of the local cache on
    /// the calling thread. Never touches the network.
    pub fn orders_snapshot(&self) -> Result<Vec<OrderSummary>> {
        self.inner.projection.orders.get(&self.inner.store, (), load_orders)
    }

    /// One cached order with its timeline, as [`Caas::orders_snapshot`] reads (memory, or a short
    /// local read on the calling thread), its countdown as of now. Never touches the network.
    pub fn order_snapshot(&self, id: Uuid) -> Result<OrderDetail> {
        self.order_snapshot_at(id, Utc::now())
    }

    fn order_snapshot_at(&self, id: Uuid, now: DateTime<Utc>) -> Result<OrderDetail> {
        let (projection, store) = (&self.inner.projection, &self.inner.store);
        let as_of = store.commits();
        let kept = projection.details.get(store, id, |conn| projection.load_order(store, as_of, conn, id, now))?;
        found(id, kept, now)
    }

    /// [`Caas::orders_snapshot`] for async callers (the update streams among them): a copy when
    /// kept, otherwise read on the blocking pool.
    pub async fn orders(&self) -> Result<Vec<OrderSummary>> {
        match self.inner.projection.orders.kept(&self.inner.store, &()) {
            Some(orders) => Ok(orders),
            None => self.on_pool(Caas::orders_snapshot).await,
        }
    }

    /// [`Caas::order_snapshot`] for async callers (the update streams among them): a copy when
    /// kept, otherwise read on the blocking pool.
    pub async fn order(&self, id: Uuid) -> Result<OrderDetail> {
        match self.inner.projection.details.kept(&self.inner.store, &id) {
            Some(kept) => found(id, kept, Utc::now()),
            None => self.on_pool(move |core| core.order_snapshot(id)).await,
        }
    }

    /// Reads order `id` into memory again, on this thread, if it was read since the account was
    /// loaded: called on the blocking pool right after a carried push changed it, so the read its
    /// listener makes once told is a copy rather than another trip to the pool and SQLite. Never
    /// fails or unwinds: the push is written whatever becomes of this, and a read that did not
    /// happen here happens at the next read.
    pub(crate) fn reread(&self, id: Uuid) {
        if !self.inner.projection.details.is_read(&id) {
            return;
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.order_snapshot(id))) {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(order = %id, error = error.chain(), "an order not read again after a push")
            }
            Err(_) => tracing::error!(order = %id, "reading an order again after a push panicked"),
        }
    }

    /// `work` on the blocking pool: it reads or writes SQLite, which must not hold up the runtime.
    pub(crate) async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Caas) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let core = self.clone();
        tokio::task::spawn_blocking(move || work(&core)).await?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use caas_protocol::OrderState;
    use caas_protocol::api::{FinalPayment, Money, OrderView};
    use futures_util::StreamExt as _;

    use super::*;
    use crate::client::CaasConfig;
    use crate::secrets::FileSecretStore;
    use crate::snapshot::CustomerAction;
    use crate::store::orders::fixtures;
    use crate::updates::Change;

    const ORDER: Uuid = Uuid::from_u128(7);

    async fn open(dir: &tempfile::TempDir) -> Caas {
        let config = CaasConfig { backend_url: "http://127.0.0.1:9".into(), data_dir: dir.path().join("phone") };
        let secrets = FileSecretStore::new(dir.path().join("secrets")).expect("secrets");
        Caas::open(config, Arc::new(secrets)).await.expect("open")
    }

    fn in_state(state: OrderState) -> OrderView {
        OrderView { state, ..fixtures::details(ORDER) }
    }

    /// Writes the order's details as a sync does, then tells the listeners.
    async fn keep(core: &Caas, view: OrderView) {
        let received = store::Received::from(view);
        core.inner.store.write(move |tx| store::upsert_details(tx, &received)).await.expect("write");
        core.notify(Change::Order(ORDER));
    }

    /// What signing out does to the cache once the platform was told: the account's rows go.
    async fn forget_account(core: &Caas) {
        core.inner.store.write(|tx| store::clear_account_data(tx)).await.expect("write");
        core.notify(Change::All);
    }

    fn state(core: &Caas) -> OrderState {
        core.order_snapshot(ORDER).expect("order").summary.state
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kept_snapshot_is_never_older_than_the_last_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        assert!(matches!(core.order_snapshot(ORDER), Err(CaasError::NotFound(_))), "nothing cached yet");
        assert!(core.orders_snapshot().expect("orders").is_empty());

        keep(&core, in_state(OrderState::SaleRegistered)).await;
        assert_eq!(state(&core), OrderState::SaleRegistered, "an order not held before is seen once written");
        assert_eq!(state(&core), OrderState::SaleRegistered, "read again from memory");
        assert_eq!(core.orders_snapshot().expect("orders")[0].state, OrderState::SaleRegistered);

        keep(&core, in_state(OrderState::ReservationPaid)).await;
        assert_eq!(state(&core), OrderState::ReservationPaid, "the synchronous read");
        assert_eq!(core.order(ORDER).await.expect("order").summary.state, OrderState::ReservationPaid, "the async one");
        assert_eq!(core.orders_snapshot().expect("orders")[0].state, OrderState::ReservationPaid, "the list");
    }

    /// A carried push writes, then reads the order again on the spot if it was read before, so
    /// that its listener's read is a copy: as the write left it, and nothing else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_order_read_before_is_read_again_right_after_a_push_changed_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        let (projection, store) = (&core.inner.projection, &core.inner.store);
        let write_and_reread = |state| {
            let received = store::Received::from(in_state(state));
            store.write_blocking(|tx| store::upsert_details(tx, &received)).expect("write");
            core.reread(ORDER);
        };
        let kept_state = || projection.details.kept(store, &ORDER).flatten().map(|order| order.summary.state);

        write_and_reread(OrderState::ReservationPaid);
        assert_eq!(kept_state(), None, "nothing read before, nothing read now");

        assert_eq!(state(&core), OrderState::ReservationPaid, "a screen shows the order");
        assert_eq!(core.orders_snapshot().expect("orders")[0].state, OrderState::ReservationPaid, "and the list");
        write_and_reread(OrderState::OrderPlaced);
        assert_eq!(kept_state(), Some(OrderState::OrderPlaced), "the order is kept as written");
        assert_eq!(core.order(ORDER).await.expect("order").summary.state, OrderState::OrderPlaced, "the async read");
        assert!(
            projection.orders.kept(store, &()).is_none(),
            "the list is read by its own listener, not on the push's way"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_listener_told_of_a_write_reads_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        let mut updates = std::pin::pin!(core.order_updates(ORDER));
        assert_eq!(updates.next().await.expect("now").summary.state, OrderState::SaleRegistered);
        keep(&core, in_state(OrderState::ReservationPaid)).await;
        assert_eq!(updates.next().await.expect("update").summary.state, OrderState::ReservationPaid);
    }

    /// A read that began before a write and ends after it holds what was there before: it must
    /// not be served once the write has ended. The write is made to land in the middle of the
    /// read, between its statements and its return.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_raced_a_write_is_not_served_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        let runtime = tokio::runtime::Handle::current();
        let racing = core.clone();
        let raced = tokio::task::spawn_blocking(move || {
            let projection = &racing.inner.projection;
            projection.details.get(&racing.inner.store, ORDER, |conn| {
                let before =
                    projection.load_order(&racing.inner.store, racing.inner.store.commits(), conn, ORDER, Utc::now());
                let writer = racing.clone();
                std::thread::spawn(move || runtime.block_on(keep(&writer, in_state(OrderState::ReservationPaid))))
                    .join()
                    .expect("the write");
                before
            })
        })
        .await
        .expect("task")
        .expect("read");
        assert_eq!(raced.expect("order").summary.state, OrderState::SaleRegistered, "the racing read saw the old row");
        assert_eq!(state(&core), OrderState::ReservationPaid, "the next read sees the write");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_countdown_and_its_actions_move_with_the_clock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        let deadline = Utc::now() + chrono::TimeDelta::hours(1);
        let due =
            FinalPayment { amount_due: Money { amount_minor: 100, currency: "EUR".into() }, deadline, paid_at: None };
        keep(&core, OrderView { final_payment: Some(due), ..in_state(OrderState::AwaitingFinalPayment) }).await;

        let early = core.order_snapshot_at(ORDER, deadline - chrono::TimeDelta::seconds(60)).expect("order");
        assert_eq!(early.final_payment.as_ref().expect("due").seconds_left, 60);
        assert_eq!(early.actions, vec![CustomerAction::PayFinalAmount]);
        let late = core.order_snapshot_at(ORDER, deadline + chrono::TimeDelta::seconds(1)).expect("order");
        assert_eq!(late.final_payment.as_ref().expect("due").seconds_left, 0, "from memory, at the later moment");
        assert_eq!(late.actions, vec![], "no payment once the deadline passed");
        let now = core.order_snapshot(ORDER).expect("order").final_payment.expect("due").seconds_left;
        assert!((3590..=3600).contains(&now), "{now} seconds left by the clock");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signing_out_forgets_the_kept_snapshots() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        assert_eq!(core.orders_snapshot().expect("orders").len(), 1);
        assert_eq!(state(&core), OrderState::SaleRegistered);

        core.sign_out().await.expect("sign out");
        let projection = &core.inner.projection;
        assert!(projection.details.lock().is_empty() && projection.orders.lock().is_empty(), "nothing in memory");
        assert!(projection.logs().is_empty(), "no parsed log either");
        assert!(core.orders_snapshot().expect("orders").is_empty());
        assert!(matches!(core.order_snapshot(ORDER), Err(CaasError::NotFound(_))));
    }

    /// A read that began before a sign-out's write and ends after it does not put the old
    /// account back into memory.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_raced_a_sign_out_is_not_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        let runtime = tokio::runtime::Handle::current();
        let racing = core.clone();
        tokio::task::spawn_blocking(move || {
            racing.inner.projection.orders.get(&racing.inner.store, (), |conn| {
                let before = load_orders(conn);
                let leaving = racing.clone();
                std::thread::spawn(move || runtime.block_on(forget_account(&leaving))).join().expect("the write");
                before
            })
        })
        .await
        .expect("task")
        .expect("read");
        assert!(core.inner.projection.orders.lock().is_empty(), "the old account's list is not kept");
        assert!(core.orders_snapshot().expect("orders").is_empty());
    }

    /// The same for an order's parsed log, which outlives writes: one parsed by a read that began
    /// before a sign-out is not put back once the account is forgotten.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_parsed_by_a_read_that_raced_a_sign_out_is_not_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = open(&dir).await;
        keep(&core, in_state(OrderState::SaleRegistered)).await;
        let runtime = tokio::runtime::Handle::current();
        let racing = core.clone();
        let read = tokio::task::spawn_blocking(move || {
            let (projection, store) = (&racing.inner.projection, &racing.inner.store);
            let as_of = store.commits();
            projection.details.get(store, ORDER, |conn| {
                // The read's snapshot is taken at its first statement, before the sign-out.
                conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get::<_, i64>(0))?;
                let leaving = racing.clone();
                std::thread::spawn(move || runtime.block_on(forget_account(&leaving))).join().expect("the write");
                projection.load_order(store, as_of, conn, ORDER, Utc::now())
            })
        })
        .await
        .expect("task")
        .expect("read");
        assert!(read.is_some(), "the read saw the order as it was before the sign-out");
        assert!(core.inner.projection.logs().is_empty(), "the old account's log is not kept");
    }
}
