//! Update streams give the current value at once, then a new one after a change and none without,
//! and hold the core weakly: a stream (or a push stream) outliving its core ends with it instead
//! of keeping the core and its SQLite connections open.

use std::time::Duration;

use caas_core::protocol::OrderState;
use caas_e2e::{Platform, WAIT};
use futures_util::StreamExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_value_comes_at_once_and_a_change_brings_a_new_one() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("subs@example.com").await?;
    let phone = platform.phone("subs@example.com", dir.path()).await?;
    phone.sync().await?;

    let mut orders = Box::pin(phone.orders_updates());
    let now = tokio::time::timeout(WAIT, orders.next()).await?.expect("the current value");
    assert_eq!(now.iter().map(|o| o.state).collect::<Vec<_>>(), [OrderState::SaleRegistered]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), orders.next()).await.is_err(),
        "nothing changed, so nothing more comes"
    );

    platform.reserve(order.id).await?;
    phone.sync().await?;
    let placed = tokio::time::timeout(WAIT, async {
        while let Some(list) = orders.next().await {
            if list.iter().any(|o| o.state == OrderState::OrderPlaced) {
                return Some(list);
            }
        }
        None
    })
    .await?;
    assert!(placed.is_some(), "the change arrived");
    Ok(())
}

/// Issue 13: subscription tasks held the core strongly, so a forgotten handle kept the core, its
/// SQLite connections included, alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_core_with_live_updates_frees_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    platform.sell_to("freed@example.com").await?;
    let phone = platform.phone("freed@example.com", dir.path()).await?;
    let mut orders = Box::pin(phone.orders_updates());
    let mut pushes = Box::pin(phone.push_updates());
    let stream = phone.connect_push_stream().await?;
    tokio::time::timeout(WAIT, orders.next()).await?.expect("the current value");

    drop(phone);
    // The streams end: their core is gone, and its change and push channels closed with it. A
    // live push connection does not keep it either.
    assert!(tokio::time::timeout(WAIT, orders.next()).await?.is_none(), "the orders stream ended");
    assert!(tokio::time::timeout(WAIT, pushes.next()).await?.is_none(), "the push stream ended");
    drop(stream);
    Ok(())
}
