//! Restarts and outages: the platform mock loses nothing across a restart, and the phone keeps
//! showing its cache while offline and catches up when the platform is back.

use caas_core::CaasError;
use caas_core::protocol::OrderState;
use caas_e2e::{Platform, Watcher, open_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_restart_mid_journey_loses_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let phone_dir = tempfile::tempdir()?;
    let email = "restart@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, phone_dir.path()).await?;
    let stream = phone.connect_push_stream().await?;
    platform.reserve(order.id).await?;
    platform.sandbox.advance_factory(order.id, Some(OrderState::Assembly)).await?;
    let log_before = platform.sandbox.order_events(order.id).await?;
    let messages_before = platform.sandbox.messages(Some(order.id), None).await?;
    let dealership_view = platform.dealership.order(order.id).await?;

    let platform = platform.restart().await?;

    assert_eq!(platform.sandbox.order_events(order.id).await?, log_before);
    assert_eq!(platform.sandbox.messages(Some(order.id), None).await?, messages_before);
    // The customer's session and SSE device survived: the phone's stream reconnects by itself and
    // the journey goes on from where it stood.
    let mut watcher = Watcher::new(&phone, order.id);
    let view = platform.sandbox.advance_factory(order.id, None).await?;
    assert_eq!(view.state, OrderState::QualityControl);
    assert_eq!(view.vin, dealership_view.vin);
    let seen = watcher.until_version(view.version).await?;
    assert_eq!(seen.summary.state, OrderState::QualityControl);
    drop(stream);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_cache_answers_and_sync_says_offline_then_catches_up() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let phone_dir = tempfile::tempdir()?;
    let email = "offline@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, phone_dir.path()).await?;
    platform.reserve(order.id).await?;
    phone.sync().await?;
    let cached = phone.order(order.id).await?;
    assert_eq!(cached.summary.state, OrderState::OrderPlaced);

    let port = platform.url().rsplit(':').next().unwrap_or_default().to_owned();
    let Platform { dir, config, mock, .. } = platform;
    mock.stop().await;

    assert!(matches!(phone.sync().await, Err(CaasError::Offline(_))));
    assert_eq!(phone.order(order.id).await?, cached, "the cache still answers");
    // A fresh app start on the same data, still offline, shows the same.
    drop(phone);
    let phone = open_phone(&format!("http://127.0.0.1:{port}"), phone_dir.path()).await?;
    assert_eq!(phone.order(order.id).await?, cached);

    let mut config = config;
    config.port = port.parse()?;
    let platform = Platform::start_with(dir, config).await?;
    platform.sandbox.advance_factory(order.id, Some(OrderState::QualityControl)).await?;
    let report = phone.sync().await?;
    assert!(report.new_events >= 3);
    assert_eq!(phone.order(order.id).await?.summary.state, OrderState::QualityControl);
    Ok(())
}
