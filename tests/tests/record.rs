//! The purchase record as evidence (issue 14): every event carries the hash of the one before it,
//! the platform signs the head, the phone checks the chain at every sync and refuses a rewritten
//! history while keeping its own, and an exported record checks out offline with only the
//! platform's public key.

use caas_core::CaasError;
use caas_core::protocol::OrderState;
use caas_core::protocol::record::{RecordError, RecordKey};
use caas_e2e::Platform;
use caas_mock::MockConfig;

async fn platform_key(platform: &Platform) -> anyhow::Result<RecordKey> {
    Ok(reqwest::get(format!("{}/v1/record/key", platform.url())).await?.error_for_status()?.json().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_record_checks_out_offline_and_any_change_to_it_is_caught() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.sync().await?;
    let record = customer.core.export_record(customer.order).await?;
    let key = platform_key(&platform).await?;
    assert_eq!(customer.core.pinned_record_key().await?, Some(key.clone()), "pinned at the first sync");
    let verified = record.verify(&key)?;
    let held = customer.core.order(customer.order).await?;
    assert_eq!(verified.events, held.summary.version, "every event the phone shows is in the record");

    let mut quieter = record.clone();
    let estimate = quieter.events.iter().position(|e| e["type"] == "estimate_revised").expect("an estimate");
    quieter.events[estimate]["reason"] = "on time".into();
    assert!(matches!(quieter.verify(&key), Err(RecordError::Broken { .. } | RecordError::Rewritten { .. })));

    let mut shorter = record.clone();
    shorter.events.remove(1);
    assert!(matches!(shorter.verify(&key), Err(RecordError::Gap { .. })));

    let other = caas_core::protocol::record::RecordSigner::from_seed(&[3; 32]).public_key();
    assert!(matches!(record.verify(&other), Err(RecordError::WrongKey { .. })), "only the platform's key");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_history_is_refused_and_the_phone_keeps_what_it_had() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.sync().await?;
    let before = customer.core.order(customer.order).await?;
    let exported = customer.core.export_record(customer.order).await?;

    // The platform dates the third event a day earlier and signs the whole record again.
    let rewritten = platform.sandbox.rewrite_history(customer.order, 3).await?;
    assert_ne!(Some(rewritten.occurred_at.to_rfc3339()), exported.events[2]["occurred_at"].as_str().map(str::to_owned));
    // Nothing new on the order: a full sync still compares the platform's signed head.
    let refused = customer.core.sync().await;
    assert!(
        matches!(refused, Err(CaasError::HistoryRewritten { reason: RecordError::Rewritten { .. }, .. })),
        "{refused:?}"
    );
    let after = customer.core.order(customer.order).await?;
    assert_eq!((after.summary.version, &after.timeline), (before.summary.version, &before.timeline), "kept as it was");
    assert_eq!(customer.core.export_record(customer.order).await?, exported);

    // What happens next is refused too: it follows the rewritten history, not the one held.
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let refused = customer.core.sync_order(customer.order).await;
    assert!(
        matches!(refused, Err(CaasError::HistoryRewritten { reason: RecordError::Broken { .. }, .. })),
        "{refused:?}"
    );
    assert_eq!(customer.core.order(customer.order).await?.summary.version, before.summary.version);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_key_survives_a_restart_and_another_key_is_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.sync().await?;
    let key = platform_key(&platform).await?;

    let platform = platform.restart().await?;
    assert_eq!(platform_key(&platform).await?, key, "kept in the platform's database");
    customer.core.sync_order(customer.order).await?;

    // A platform answering with another key (an impostor, or a key changed without the phones).
    let port: u16 = platform.url().rsplit(':').next().expect("port").parse()?;
    let Platform { dir: platform_dir, config, mock, .. } = platform;
    mock.stop().await;
    let impostor = MockConfig { port, record_key_seed: Some([9; 32]), ..config };
    let platform = Platform::start_with(platform_dir, impostor).await?;
    assert_ne!(platform_key(&platform).await?, key);
    let refused = customer.core.sync_order(customer.order).await;
    assert!(
        matches!(refused, Err(CaasError::HistoryRewritten { reason: RecordError::WrongKey { .. }, .. })),
        "{refused:?}"
    );
    assert_eq!(customer.core.order(customer.order).await?.summary.state, OrderState::TransportScheduled);
    Ok(())
}

/// A phone's cache from before the chain (schema 7): its events have no hashes. The next sync takes
/// the whole record again, compares each cached event with the one received and checks the
/// chain; a platform that rewrote history meanwhile is refused, and the cache kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_from_before_the_chain_is_checked_again_at_the_next_sync() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.sync().await?;
    let as_version_7 = || -> anyhow::Result<()> {
        let cache = rusqlite::Connection::open(dir.path().join("caas.sqlite3"))?;
        cache.execute_batch("UPDATE events SET hash = NULL; UPDATE orders SET record_head = NULL;")?;
        Ok(())
    };
    as_version_7()?;
    assert!(customer.core.export_record(customer.order).await.is_err(), "nothing signed to export");
    customer.core.sync().await?;
    let key = platform_key(&platform).await?;
    assert!(customer.core.export_record(customer.order).await?.verify(&key).is_ok(), "checked and anchored again");

    as_version_7()?;
    let before = customer.core.order(customer.order).await?;
    platform.sandbox.rewrite_history(customer.order, 2).await?;
    let refused = customer.core.sync().await;
    assert!(
        matches!(refused, Err(CaasError::HistoryRewritten { reason: RecordError::Rewritten { version: 2 }, .. })),
        "{refused:?}"
    );
    assert_eq!(customer.core.order(customer.order).await?.timeline, before.timeline, "the cache is kept");
    Ok(())
}
