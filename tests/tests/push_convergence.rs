//! Pushes in any order, duplicated or lost, against the real platform: the phone's cache always
//! holds a prefix of the platform's log, and after a resync it equals in-order delivery.

use std::path::Path;

use caas_core::protocol::OrderState;
use caas_core::protocol::push::PushHint;
use caas_core::store::{self, Store, StoredOrder};
use caas_core::{Caas, FileSecretStore, SecretStore};
use caas_e2e::{Platform, open_phone};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;

/// Phones whose pushes arrive in their own order, duplicated or lost.
const PHONES: usize = 12;

/// A phone already holding the session (as after sign-in), with an empty cache.
async fn phone(url: &str, token: &str, dir: &Path) -> anyhow::Result<Caas> {
    FileSecretStore::new(dir.join("secrets"))?.set("session.access_token", token)?;
    open_phone(url, dir).await
}

/// The order as the app's own store reads it back.
async fn cached(dir: &Path, order: uuid::Uuid) -> anyhow::Result<Option<StoredOrder>> {
    let store = Store::open(&dir.join("caas.sqlite3"))?;
    Ok(store.read(move |conn| store::load_order(conn, order)).await?)
}

/// The pushes the platform sent for `order` so far: each hint, and its frame as sent (the first
/// push of a change carries the change).
async fn hints(platform: &Platform, order: uuid::Uuid) -> anyhow::Result<Vec<(PushHint, String)>> {
    let frames = platform.sandbox.messages(Some(order), Some("sse")).await?;
    let mut hints = frames
        .iter()
        .filter_map(|m| m["payload"].as_str())
        .map(|frame| Ok((PushHint::parse(frame.as_bytes())?, frame.to_owned())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    hints.sort_by_key(|(hint, _)| hint.order_version);
    Ok(hints)
}

/// Issue 13: the pushes used to be replayed after the journey had finished, so the first one
/// fetched the whole log and every other was a duplicate. Here the log grows step by step while
/// each phone gets a random selection of the pushes so far (any order, duplicates, losses) in one
/// of the three payload shapes or as the stream sent it (carrying its change), so pushes meet a
/// cache behind, level with, or ahead of them. After every step each cache holds a prefix of the
/// log; after a resync it equals the phone that got every push in order, as the stream sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_push_delivery_converges_to_in_order_state() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let email = "prop@example.com";
    let order = platform.sell_to(email).await?.id;
    let registrar_dir = tempfile::tempdir()?;
    let registrar = platform.phone(email, registrar_dir.path()).await?;
    let _stream = registrar.connect_push_stream().await?;
    let token =
        FileSecretStore::new(registrar_dir.path().join("secrets"))?.get("session.access_token")?.unwrap_or_default();
    let url = platform.url().to_owned();

    let reference_dir = tempfile::tempdir()?;
    let reference = phone(&url, &token, reference_dir.path()).await?;
    let mut phones = Vec::new();
    for _ in 0..PHONES {
        let dir = tempfile::tempdir()?;
        let core = phone(&url, &token, dir.path()).await?;
        phones.push((dir, core));
    }
    let mut runner = TestRunner::deterministic();
    let picks = proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4), 0..6);

    // Reserve, then the factory one stage at a time, to the car reaching the locality.
    let stages = [
        OrderState::InProduction,
        OrderState::Assembly,
        OrderState::QualityControl,
        OrderState::ManufacturingComplete,
        OrderState::DispatchedToLocality,
    ];
    let mut delivered_in_order = 0;
    for step in 0..=stages.len() + 1 {
        let platform_version = platform.dealership.order(order).await?.version;
        let so_far = hints(&platform, order).await?;
        for (_, frame) in &so_far[delivered_in_order..] {
            reference.handle_push(frame.as_bytes()).await?;
        }
        delivered_in_order = so_far.len();
        for (_, core) in &phones {
            let chosen = picks.new_tree(&mut runner).map_err(|e| anyhow::anyhow!("{e}"))?.current();
            for (index, shape) in chosen.into_iter().filter(|_| !so_far.is_empty()) {
                let (hint, frame) = index.get(&so_far);
                let payload = match shape {
                    0 => hint.to_sse_frame().into_bytes(),
                    1 => hint.to_fcm("token").to_string().into_bytes(),
                    2 => hint.to_apns().to_string().into_bytes(),
                    _ => frame.clone().into_bytes(),
                };
                core.handle_push(&payload).await?;
            }
        }
        // Every cache holds a prefix of the log as the in-order phone has it, never more.
        let in_order = cached(reference_dir.path(), order).await?.map(|o| o.events).unwrap_or_default();
        anyhow::ensure!(
            so_far.is_empty() || in_order.len() as u64 >= platform_version,
            "the in-order phone has the whole log"
        );
        for (dir, _) in &phones {
            let events = cached(dir.path(), order).await?.map(|o| o.events).unwrap_or_default();
            anyhow::ensure!(events.len() <= in_order.len(), "a cache ran ahead of the platform's log");
            anyhow::ensure!(events[..] == in_order[..events.len()], "a cache is not a prefix of the log");
        }
        match step {
            0 => drop(platform.reserve(order).await?),
            n if n <= stages.len() => {
                platform.sandbox.advance_factory(order, Some(stages[n - 1])).await?;
                if n == 2 {
                    // A newer platform's event in the middle of the log.
                    platform.sandbox.append_event(order, "warranty_extended", serde_json::Map::new()).await?;
                }
            }
            _ => {}
        }
    }
    anyhow::ensure!(delivered_in_order >= 9, "expected a push per event, got {delivered_in_order}");
    drop(reference);
    let expected = cached(reference_dir.path(), order).await?.expect("the reference cached the order");
    assert!(
        expected.events.iter().any(|e| matches!(e.kind, caas_core::protocol::api::EventKind::Unknown(_))),
        "the log holds a newer platform's event"
    );
    for (dir, core) in phones {
        core.sync().await?;
        drop(core);
        assert_eq!(cached(dir.path(), order).await?.as_ref(), Some(&expected), "converged after a resync");
    }
    Ok(())
}
