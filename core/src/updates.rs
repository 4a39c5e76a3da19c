//! Updates as streams: the current value at once, then a fresh one after every change that
//! concerns it. The shells turn a stream into a listener with a handle that stops it
//! (`caas-ffi`'s `SubscriptionHandle`); Rust callers poll it.
//!
//! A stream holds the core weakly and only for the moment it reads a snapshot: a stream still
//! alive after its core was dropped ends instead of keeping the core, and its SQLite connections,
//! open.

use std::future::Future;
use std::sync::{Arc, Weak};

use caas_protocol::push::PushHint;
use futures_util::Stream;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::client::{Caas, Inner};
use crate::error::{CaasError, Result};

/// What handling one push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The order was synced; `new_events` events were added to the cache.
    Synced { new_events: usize },
    /// The push was already handled, or its event was already cached: nothing to do.
    Duplicate,
    /// The push names an order this customer cannot see; nothing was stored.
    NotForThisAccount,
}

/// The pauses before a failed snapshot read is tried again, growing from the first to the last.
const READ_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
const READ_RETRY_LAST: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a snapshot stream is: the core it reads (weakly), the changes it waits for, and whether
/// the current value is still to come.
struct Snapshots {
    core: Weak<Inner>,
    changes: broadcast::Receiver<Change>,
    first: bool,
}

/// What changed in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Order(Uuid),
    /// The driver's deliveries or outbox.
    Deliveries,
    /// Everything may have changed (sign-in, sign-out).
    All,
}

impl Caas {
    /// The orders list now, then after every change.
    pub fn orders_updates(&self) -> impl Stream<Item = Vec<crate::OrderSummary>> + Send + 'static {
        self.snapshots(|_| true, |core| async move { core.orders().await.map(Some) })
    }

    /// One order now (once it is cached), then after every change to it.
    pub fn order_updates(&self, id: Uuid) -> impl Stream<Item = crate::OrderDetail> + Send + 'static {
        let relevant = move |change| matches!(change, Change::All) || change == Change::Order(id);
        self.snapshots(relevant, move |core| async move {
            match core.order(id).await {
                Ok(order) => Ok(Some(order)),
                Err(CaasError::NotFound(_)) => Ok(None),
                Err(error) => Err(error),
            }
        })
    }

    /// The driver's deliveries now, then after every change.
    pub fn deliveries_updates(&self) -> impl Stream<Item = Vec<crate::AssignedDelivery>> + Send + 'static {
        let relevant = |change| matches!(change, Change::All | Change::Deliveries);
        self.snapshots(relevant, |core| async move { core.deliveries().await.map(Some) })
    }

    /// Every push handled from now on, with what came of it. A listener too slow to keep up
    /// misses pushes rather than holding the core back; the snapshots above catch up anyway.
    pub fn push_updates(&self) -> impl Stream<Item = (PushHint, PushOutcome)> + Send + 'static {
        futures_util::stream::unfold(self.inner.pushes.subscribe(), |mut pushes| async move {
            loop {
                match pushes.recv().await {
                    Ok(push) => return Some((push, pushes)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "a push listener fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    /// The runtime the core's work runs on, where the shells' listeners are fed.
    pub fn runtime(&self) -> tokio::runtime::Handle {
        self.inner.runtime.clone()
    }

    /// The one loop behind every snapshot stream: `read` now, then again after each change
    /// `relevant` accepts, skipping reads that have nothing yet (`Ok(None)`). Changes queued
    /// meanwhile are taken together (a sync of many orders is one read, not one per order), a
    /// lagging receiver counts as a change, and a failed read is tried again after a pause
    /// rather than leaving the screen without a value until the next change.
    fn snapshots<T, F, Fut>(
        &self,
        relevant: impl Fn(Change) -> bool + Send + Sync + 'static,
        read: F,
    ) -> impl Stream<Item = T> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(Caas) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<T>>> + Send,
    {
        let reader = Arc::new((relevant, read));
        let state =
            Snapshots { core: Arc::downgrade(&self.inner), changes: self.inner.changes.subscribe(), first: true };
        futures_util::stream::unfold(state, move |mut state: Snapshots| {
            let reader = Arc::clone(&reader);
            async move {
                let (relevant, read) = &*reader;
                let mut retry = READ_RETRY_FIRST;
                let mut wait = !std::mem::take(&mut state.first);
                loop {
                    if wait {
                        match state.changes.recv().await {
                            Ok(change) if !relevant(change) => continue,
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                        // Whatever else is queued is covered by the read below.
                        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = state.changes.try_recv() {}
                    }
                    wait = true;
                    let inner = state.core.upgrade()?;
                    match read(Caas { inner }).await {
                        Ok(Some(value)) => return Some((value, state)),
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(error = error.chain(), "snapshot for an update failed; trying again");
                            tokio::time::sleep(retry).await;
                            retry = (retry * 2).min(READ_RETRY_LAST);
                            wait = false;
                        }
                    }
                }
            }
        })
    }
}
