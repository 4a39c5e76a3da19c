//! The manufacturing journey end to end: sale, factory order, every stage by signed webhook,
//! pushes to the phone, and the phone's timeline equal to the platform's log.

use caas_core::protocol::OrderState;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::lifecycle::FACTORY_STAGES;
use caas_core::protocol::push::{MAX_PUSH_BYTES, PushHint, PushPlatform};
use caas_e2e::{Platform, Watcher};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_reaches_the_phone_by_push_and_the_timelines_agree() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let phone_dir = tempfile::tempdir()?;
    let email = "lucia@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, phone_dir.path()).await?;
    phone.register_push_device(PushPlatform::Fcm, "fcm-registration-token-1").await?;
    phone.register_push_device(PushPlatform::Apns, "a1b2c3d4apnsdevicetoken").await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);

    let placed = platform.reserve(order.id).await?;
    assert_eq!(placed.state, OrderState::OrderPlaced);
    assert!(placed.vin.is_some() && placed.estimated_completion.is_some());
    watcher.until_version(placed.version).await?;

    // The phone learns of each stage from the push alone: no polling, no explicit sync.
    // Once the car is in the locality the platform asks for the final payment at once.
    for stage in FACTORY_STAGES.iter().skip(1) {
        let view = platform.sandbox.advance_factory(order.id, None).await?;
        let now = if *stage == OrderState::DispatchedToLocality { OrderState::AwaitingFinalPayment } else { *stage };
        assert_eq!(view.state, now);
        let seen = watcher.until_version(view.version).await?;
        assert_eq!(seen.summary.state, now);
    }

    // The phone's timeline and estimate history are the platform's log, entry for entry.
    let log = platform.sandbox.order_events(order.id).await?;
    let shown = phone.order(order.id).await?;
    assert_eq!(shown.summary.version, log.len() as u64);
    let log_timeline: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StateChanged { to, by, .. } => Some((e.version, *to, *by, e.occurred_at)),
            _ => None,
        })
        .collect();
    let shown_timeline: Vec<_> = shown.timeline.iter().map(|t| (t.version, t.state, t.by, t.at)).collect();
    assert_eq!(shown_timeline, log_timeline);
    let log_estimates: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::EstimateRevised { estimated_completion, reason } => {
                Some((e.version, *estimated_completion, reason.clone()))
            }
            _ => None,
        })
        .collect();
    let shown_estimates: Vec<_> =
        shown.estimate_revisions.iter().map(|r| (r.version, r.date, r.reason.clone())).collect();
    assert_eq!(shown_estimates, log_estimates);
    let shown_states: Vec<_> = shown.timeline.iter().map(|t| t.state).collect();
    let expected: Vec<_> = [OrderState::SaleRegistered, OrderState::ReservationPaid]
        .into_iter()
        .chain(FACTORY_STAGES.iter().copied())
        .chain([OrderState::AwaitingFinalPayment])
        .collect();
    assert_eq!(shown_states, expected);
    assert!(shown.estimate_revisions.len() >= 2, "the factory's estimate and its revisions are kept");
    assert!(shown.estimate_revisions.iter().all(|r| !r.reason.is_empty()));
    assert!(shown.summary.completion.as_ref().is_some_and(|c| c.confirmed), "a complete car has a confirmed date");

    // Every event was pushed to every device in its platform's shape, small and free of personal data.
    // The sale itself came before the phone registered any device.
    let after_sign_in = log.len() - 1;
    for (channel, count) in [("fcm", after_sign_in), ("apns", after_sign_in), ("sse", after_sign_in)] {
        let pushes = platform.sandbox.messages(Some(order.id), Some(channel)).await?;
        assert_eq!(pushes.len(), count, "{channel} pushes");
        for push in pushes {
            let payload = match &push["payload"] {
                serde_json::Value::String(frame) => frame.clone(),
                other => other.to_string(),
            };
            assert!(payload.len() < MAX_PUSH_BYTES);
            assert!(!payload.contains(email) && !payload.contains("Test Customer"));
            PushHint::parse(payload.as_bytes())?;
        }
    }
    assert_eq!(platform.sandbox.messages(Some(order.id), Some("email")).await?.len(), log.len());
    let sms = platform.sandbox.messages(Some(order.id), Some("sms")).await?;
    assert_eq!(sms.len(), 3, "SMS only for the car complete, in the locality, and the final payment due");
    Ok(())
}
