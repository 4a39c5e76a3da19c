//! A push on the platform's own stream carries its change (issue 17): the phone applies it
//! without a fetch when it follows what the phone holds, checked as a fetched page is, and takes
//! it as a hint (and fetches) otherwise.

use std::path::Path;

use caas_core::protocol::OrderState;
use caas_core::protocol::push::{Push, PushHint};
use caas_core::protocol::record::RecordSigner;
use caas_core::{Caas, CaasError, PushOutcome, SecretStore as _};
use caas_e2e::{NO_SIGNAL, Platform, open_phone};
use uuid::Uuid;

/// The server-sent events the platform sent for `order`, oldest first.
async fn frames(platform: &Platform, order: Uuid) -> anyhow::Result<Vec<String>> {
    let messages = platform.sandbox.messages(Some(order), Some("sse")).await?;
    let mut frames: Vec<String> = messages.iter().filter_map(|m| m["payload"].as_str().map(str::to_owned)).collect();
    frames.sort_by_key(|frame| PushHint::parse(frame.as_bytes()).map(|hint| hint.order_version).unwrap_or_default());
    Ok(frames)
}

/// The frames of the events after `version`.
async fn frames_after(platform: &Platform, order: Uuid, version: u64) -> anyhow::Result<Vec<String>> {
    let all = frames(platform, order).await?;
    Ok(all.into_iter().filter(|f| PushHint::parse(f.as_bytes()).is_ok_and(|h| h.order_version > version)).collect())
}

/// A customer's phone that registered for the stream and synced `order`, then lost its signal:
/// whatever it applies now comes from the pushes alone. Returns the phone and the version it holds.
async fn synced_then_offline(platform: &Platform, email: &str, dir: &Path) -> anyhow::Result<(Uuid, u64)> {
    let order = platform.sell_to(email).await?.id;
    let core = platform.phone(email, dir).await?;
    drop(core.connect_push_stream().await?);
    core.sync().await?;
    let held = core.order(order).await?.summary.version;
    Ok((order, held))
}

async fn offline(dir: &Path) -> anyhow::Result<Caas> {
    open_phone(NO_SIGNAL, dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_carried_by_the_stream_is_applied_without_a_fetch() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (order, held) = synced_then_offline(&platform, "ana@example.com", dir.path()).await?;
    let reserved = platform.reserve(order).await?;
    let frames = frames_after(&platform, order, held).await?;
    anyhow::ensure!(frames.len() >= 2, "a reservation appends several events: {}", frames.len());
    assert!(Push::parse(frames[0].as_bytes())?.delta.is_some(), "the first push of the change carries it");

    // Each change's first push carries it; the others of the change are then already seen.
    let phone = offline(dir.path()).await?;
    let mut added = 0;
    for frame in &frames {
        match phone.handle_push(frame.as_bytes()).await? {
            PushOutcome::Synced { new_events } => added += new_events,
            PushOutcome::Duplicate => {}
            other => anyhow::bail!("{other:?}"),
        }
    }
    assert_eq!(added as u64, reserved.version - held, "the whole change, with no connection");
    for frame in &frames {
        assert_eq!(phone.handle_push(frame.as_bytes()).await?, PushOutcome::Duplicate, "replayed: no fetch either");
    }
    let shown = phone.order(order).await?;
    assert_eq!((shown.summary.version, shown.summary.state), (reserved.version, reserved.state));
    assert_eq!(shown.summary.state, OrderState::OrderPlaced);
    assert_eq!(shown.deposit, reserved.deposit, "the order's details came with the events");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_after_a_missed_push_or_one_that_does_not_check_is_only_a_hint() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (order, held) = synced_then_offline(&platform, "ana@example.com", dir.path()).await?;
    platform.reserve(order).await?;
    let reserved = frames_after(&platform, order, held).await?;
    let after_reservation = platform.dealership.order(order).await?.version;
    platform.sandbox.advance_factory(order, Some(OrderState::InProduction)).await?;
    let produced = frames_after(&platform, order, after_reservation).await?;

    // The reservation's push was missed: the next change does not follow what the phone holds.
    let phone = offline(dir.path()).await?;
    let gap = phone.handle_push(produced[0].as_bytes()).await;
    assert!(matches!(gap, Err(CaasError::Offline(_))), "it fetches, which needs a connection: {gap:?}");
    assert_eq!(phone.order(order).await?.summary.version, held, "nothing applied");

    // A change altered on the way, or signed by another key, is never applied.
    let Push { hint, delta } = Push::parse(reserved[0].as_bytes())?;
    let delta = delta.ok_or_else(|| anyhow::anyhow!("carried"))?;
    let mut altered = delta.clone();
    altered.events[0]["occurred_at"] = "2020-01-01T00:00:00Z".into();
    let mut foreign = delta.clone();
    foreign.head = RecordSigner::from_seed(&[9; 32]).sign(order, foreign.head.version, foreign.head.hash);
    let mut older_view = delta.clone();
    older_view.order["version"] = held.into();
    for forged in [altered, foreign, older_view] {
        let refused = phone.handle_push(Push::sse_frame(&hint, Some(&forged)).as_bytes()).await;
        assert!(matches!(refused, Err(CaasError::Offline(_))), "{refused:?}");
        assert_eq!(phone.order(order).await?.summary.version, held, "nothing applied");
    }
    drop(phone);

    // Online, the same pushes fetch the platform's record, which is the one applied.
    let online = open_phone(platform.url(), dir.path()).await?;
    online.handle_push(produced[0].as_bytes()).await?;
    let shown = online.order(order).await?;
    let platform_view = platform.dealership.order(order).await?;
    assert_eq!((shown.summary.version, shown.summary.state), (platform_view.version, OrderState::InProduction));
    let record = online.export_record(order).await?;
    assert_eq!(record.events.len() as u64, platform_view.version, "every event, as the platform signed it");
    Ok(())
}

/// Review of issue 17: the head of an earlier version verified, and matched what the phone held,
/// so an event nobody signed, linked to it, was applied and the platform's real record refused
/// ever after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_linked_to_an_older_signed_head_is_never_applied() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (order, held) = synced_then_offline(&platform, "ana@example.com", dir.path()).await?;
    platform.reserve(order).await?;
    let phone = offline(dir.path()).await?;
    for frame in frames_after(&platform, order, held).await? {
        phone.handle_push(frame.as_bytes()).await?;
    }
    let genuine = phone.order(order).await?.summary.version;
    let last = frames_after(&platform, order, held)
        .await?
        .into_iter()
        .rev()
        .find_map(|frame| Push::parse(frame.as_bytes()).ok()?.delta);
    let delta = last.ok_or_else(|| anyhow::anyhow!("a carried change"))?;
    anyhow::ensure!(delta.head.version == genuine, "the head of what the phone holds");

    // The next event, linked to what the phone holds, under the head it already has.
    let forged_id = Uuid::now_v7();
    let mut forged = delta.clone();
    forged.events = vec![serde_json::json!({
        "event_id": forged_id, "order_id": order, "version": genuine + 1, "occurred_at": chrono::Utc::now(),
        "prev": delta.head.hash.to_text(), "type": "estimate_revised", "estimated_completion": "2031-01-01",
        "reason": "forged",
    })];
    forged.order["version"] = (genuine + 1).into();
    forged.order["delivery_locality"] = "Forged Street 1".into();
    let hint = PushHint {
        event_id: forged_id,
        order_id: order,
        order_version: genuine + 1,
        kind: "estimate_revised".into(),
        channel: None,
    };
    let refused = phone.handle_push(Push::sse_frame(&hint, Some(&forged)).as_bytes()).await;
    assert!(matches!(refused, Err(CaasError::Offline(_))), "a hint, which needs a connection: {refused:?}");
    let shown = phone.order(order).await?;
    assert_eq!((shown.summary.version, shown.delivery_locality.as_str()), (genuine, "Madrid"), "nothing applied");
    Ok(())
}

/// Review of issue 17: a stream stayed open after its session ended, and pushes now carry the
/// customer's orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_once_its_session_is_signed_out() -> anyhow::Result<()> {
    use futures_util::StreamExt as _;
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "ana@example.com";
    let order = platform.sell_to(email).await?.id;
    drop(platform.phone(email, dir.path()).await?);
    let token = caas_core::FileSecretStore::new(dir.path().join("secrets"))?
        .get("session.access_token")?
        .ok_or_else(|| anyhow::anyhow!("signed in"))?;
    let http = reqwest::Client::new();
    let device: serde_json::Value = http
        .post(format!("{}/v1/devices", platform.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "platform": "sse", "token": "test stream" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let stream = http
        .get(format!("{}/v1/devices/{}/stream", platform.url(), device["id"].as_str().unwrap_or_default()))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    http.post(format!("{}/v1/auth/sign-out", platform.url())).bearer_auth(&token).send().await?.error_for_status()?;
    // Past the time a stream trusts its session without asking again.
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    platform.reserve(order).await?;
    let mut body = stream.bytes_stream();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut received = Vec::new();
        while let Some(chunk) = body.next().await {
            received.extend_from_slice(&chunk?);
        }
        anyhow::Ok(received)
    })
    .await
    .map_err(|_| anyhow::anyhow!("the stream stayed open after the sign-out"))??;
    assert!(!String::from_utf8_lossy(&read).contains("order_event"), "no push after the sign-out");
    Ok(())
}
