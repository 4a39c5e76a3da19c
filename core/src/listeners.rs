//! Subscriptions: a listener gets the current value at once, then every change, until the
//! returned [`Subscription`] is dropped.

use std::future::Future;

use caas_protocol::push::PushHint;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::snapshot::{OrderDetail, OrderSummary};

/// Receives the orders list whenever it changes.
pub trait OrdersListener: Send + Sync {
    fn on_orders(&self, orders: Vec<OrderSummary>);
}

/// Receives one order whenever it changes.
pub trait OrderListener: Send + Sync {
    fn on_order(&self, order: OrderDetail);
}

/// Receives the driver's deliveries whenever they change.
pub trait DeliveriesListener: Send + Sync {
    fn on_deliveries(&self, deliveries: Vec<crate::driver::AssignedDelivery>);
}

/// Receives every push the core handled, with what came of it.
pub trait PushListener: Send + Sync {
    fn on_push(&self, hint: PushHint, outcome: PushOutcome);
}

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

/// What changed in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Order(Uuid),
    /// The driver's deliveries or outbox.
    Deliveries,
    /// Everything may have changed (sign-in, sign-out).
    All,
}

/// A live subscription; dropping it stops the deliveries.
#[derive(Debug)]
#[must_use = "dropping the subscription cancels it"]
pub struct Subscription {
    task: tokio::task::JoinHandle<()>,
}

impl Subscription {
    pub(crate) fn spawn(runtime: &tokio::runtime::Handle, task: impl Future<Output = ()> + Send + 'static) -> Self {
        Self { task: runtime.spawn(task) }
    }

    /// Stops the deliveries now (dropping does the same).
    pub fn cancel(&self) {
        self.task.abort();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for the next change that `relevant` accepts; a lagging receiver counts as a change, since
/// re-reading the cache is always safe. `None` when the core is gone.
pub(crate) async fn next_change(
    changes: &mut broadcast::Receiver<Change>,
    relevant: impl Fn(Change) -> bool,
) -> Option<()> {
    loop {
        match changes.recv().await {
            Ok(change) if relevant(change) => return Some(()),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return Some(()),
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
