//! Subscriptions deliver the current value at once, then every change, and stop when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use caas_core::protocol::OrderState;
use caas_core::{OrderSummary, OrdersListener};
use caas_e2e::{Platform, Watcher};

#[derive(Default)]
struct Count(AtomicUsize);

impl OrdersListener for Count {
    fn on_orders(&self, _: Vec<OrderSummary>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_subscription_stops_and_a_live_one_goes_on() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("subs@example.com").await?;
    let phone = platform.phone("subs@example.com", dir.path()).await?;

    let dropped = Arc::new(Count::default());
    let subscription = phone.subscribe_orders(dropped.clone());
    // Nothing changes meanwhile: only the current value can arrive (within a bounded wait), and
    // only once.
    for _ in 0..100 {
        if dropped.0.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(dropped.0.load(Ordering::SeqCst), 1, "the current value arrives at once, by itself");
    let mut watcher = Watcher::new(&phone, order.id);
    phone.sync().await?;
    watcher.until_version(order.version).await?;
    drop(subscription);
    // A callback already running when the handle drops may finish; count from after it settles.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let before = dropped.0.load(Ordering::SeqCst);

    let placed = platform.reserve(order.id).await?;
    phone.sync().await?;
    let seen = watcher.until_version(placed.version).await?;
    assert_eq!(seen.summary.state, OrderState::OrderPlaced, "the live subscription saw the change");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(dropped.0.load(Ordering::SeqCst), before, "the dropped one did not");
    Ok(())
}
