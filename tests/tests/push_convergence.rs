//! Pushes in any order, duplicated or lost, against the real platform: the phone's cache always
//! holds a prefix of the platform's log, and after a resync it equals in-order delivery.

use std::path::Path;

use caas_core::protocol::OrderState;
use caas_core::protocol::push::PushHint;
use caas_core::store::{self, Store, StoredOrder};
use caas_core::{Caas, FileSecretStore, SecretStore};
use caas_e2e::{Platform, open_phone};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

struct Journey {
    _platform: Platform,
    url: String,
    token: String,
    order: uuid::Uuid,
    hints: Vec<PushHint>,
}

/// Runs a journey to the end of manufacturing and collects the pushes it produced.
async fn journey() -> anyhow::Result<Journey> {
    let platform = Platform::start().await?;
    let email = "prop@example.com";
    let order = platform.sell_to(email).await?;
    let dir = tempfile::tempdir()?;
    let phone = platform.phone(email, dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    platform.reserve(order.id).await?;
    platform.sandbox.advance_factory(order.id, Some(OrderState::DispatchedToLocality)).await?;
    let frames = platform.sandbox.messages(Some(order.id), Some("sse")).await?;
    let hints = frames
        .iter()
        .filter_map(|m| m["payload"].as_str())
        .map(|frame| PushHint::parse(frame.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(hints.len() >= 9, "expected a push per event, got {}", hints.len());
    let token = FileSecretStore::new(dir.path().join("secrets"))?.get("session.access_token")?.unwrap_or_default();
    Ok(Journey { url: platform.url().to_owned(), _platform: platform, token, order: order.id, hints })
}

/// A phone already holding the session (as after sign-in), with an empty cache.
async fn phone(journey: &Journey, dir: &Path) -> anyhow::Result<Caas> {
    FileSecretStore::new(dir.join("secrets"))?.set("session.access_token", &journey.token)?;
    open_phone(&journey.url, dir).await
}

/// The order as the app's own store reads it back.
async fn cached(dir: &Path, order: uuid::Uuid) -> anyhow::Result<Option<StoredOrder>> {
    let store = Store::open(&dir.join("caas.sqlite3"))?;
    Ok(store.read(move |conn| store::load_order(conn, order)).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_push_delivery_converges_to_in_order_state() -> anyhow::Result<()> {
    let journey = journey().await?;
    let reference_dir = tempfile::tempdir()?;
    let reference = phone(&journey, reference_dir.path()).await?;
    for hint in &journey.hints {
        reference.handle_push(hint.to_sse_frame().as_bytes()).await?;
    }
    drop(reference);
    let expected = cached(reference_dir.path(), journey.order).await?.expect("reference cached the order");
    // One push per event, but for the sale itself, which came before the phone registered.
    assert_eq!(expected.summary.cursor, journey.hints.len() as u64 + 1);

    let n = journey.hints.len();
    let schedule = proptest::collection::vec((0..n, 0u8..3), 0..(3 * n));
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    let handle = tokio::runtime::Handle::current();
    runner
        .run(&schedule, |deliveries| {
            tokio::task::block_in_place(|| {
                handle.block_on(async {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let core = phone(&journey, dir.path()).await.expect("phone");
                    for (index, shape) in deliveries {
                        let hint = &journey.hints[index];
                        let payload = match shape {
                            0 => hint.to_sse_frame().into_bytes(),
                            1 => hint.to_fcm("token").to_string().into_bytes(),
                            _ => hint.to_apns().to_string().into_bytes(),
                        };
                        core.handle_push(&payload).await.expect("push handled");
                        let now = core.order(journey.order).await.map(|o| o.summary.version).unwrap_or(0);
                        prop_assert!(now <= expected.summary.cursor);
                    }
                    core.sync().await.expect("resync");
                    drop(core);
                    let got = cached(dir.path(), journey.order).await.expect("read").expect("cached");
                    prop_assert_eq!(got, expected.clone());
                    Ok(())
                })
            })
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
