//! Today's phone against a newer platform: event kinds, pushes and error codes this version does
//! not know are kept and shown, and never stop a sync or the driver's outbox. The sandbox plays
//! the newer platform (`POST /v1/sandbox/orders/{id}/events`, `answer_next` driver faults).

use caas_core::protocol::OrderState;
use caas_core::protocol::api::ErrorCode;
use caas_core::protocol::push::PushHint;
use caas_core::{CaasError, DriverActionOutcome, DriverStep};
use caas_e2e::{DRIVER, NO_SIGNAL, Platform, open_phone};
use serde_json::json;

fn fields(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Issue 13: an event kind the phone does not know made the whole page of the log unreadable, so
/// the order never synced again, and a push of that type was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_platforms_event_is_kept_shown_and_never_stops_a_sync() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "future@example.com";
    let booked = platform.booked_customer(email, &dir.path().join("first")).await?;
    let order = booked.order;
    let phone = platform.phone(email, &dir.path().join("second")).await?;
    phone.sync().await?;

    let before = phone.order(order).await?.summary;
    let newer = platform
        .sandbox
        .append_event(order, "warranty_extended", fields(json!({ "years": 3, "terms": { "km": 100_000 } })))
        .await?;
    let hint = PushHint {
        event_id: newer.event_id,
        order_id: order,
        order_version: newer.version,
        kind: "warranty_extended".into(),
        // A channel a newer platform added reads as absent.
        channel: None,
    };
    let outcome = phone.handle_push(&serde_json::to_vec(&hint.to_apns())?).await?;
    assert_eq!(outcome, caas_core::PushOutcome::Synced { new_events: 1 }, "the push is taken and the event kept");
    let detail = phone.order(order).await?;
    assert_eq!(
        detail.unknown_updates.iter().map(|u| u.version).collect::<Vec<_>>(),
        vec![newer.version],
        "shown as an update this version cannot describe"
    );
    assert_eq!(
        (detail.summary.state, &detail.summary.blocker),
        (before.state, &before.blocker),
        "and changes nothing else"
    );

    // What the platform records after it still applies.
    booked.core.confirm_delivery_address(order, None).await?;
    let report = phone.sync().await?;
    assert_eq!(report.new_events, 1, "the known event after the unknown one");
    assert_eq!(phone.order(order).await?.summary.version, newer.version + 1);

    // The sandbox plays only kinds this platform does not know, with a proper name, without the
    // platform's own fields, and no larger than the platform's events.
    let known = fields(json!({ "from": "transport_scheduled", "to": "delivered", "by": "driver" }));
    assert!(platform.sandbox.append_event(order, "state_changed", known).await.is_err());
    assert!(platform.sandbox.append_event(order, "state_changed", fields(json!({}))).await.is_err());
    assert!(platform.sandbox.append_event(order, "Not A Type", fields(json!({}))).await.is_err());
    assert!(platform.sandbox.append_event(order, "newer", fields(json!({ "version": 1 }))).await.is_err());
    let deep = (0..20).fold(json!(1), |inner, _| json!([inner]));
    assert!(platform.sandbox.append_event(order, "newer", fields(json!({ "deep": deep }))).await.is_err());
    assert!(platform.sandbox.append_event(order, "newer", fields(json!({ "big": "x".repeat(9000) }))).await.is_err());
    assert_eq!(phone.sync().await?.new_events, 0, "nothing refused was appended");
    Ok(())
}

/// Issue 13: a refusal with an error code the phone does not know was read as "no answer", retried
/// forever, and blocked every later action and the driver's sign-out behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_this_version_does_not_know_is_reported_and_the_outbox_moves_on() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("newcode@example.com", &dir.path().join("customer")).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let driver = platform.driver(DRIVER, &dir.path().join("driver")).await?;
    let job = driver.refresh_deliveries().await?.into_iter().find(|j| j.order_id == customer.order).expect("job");

    // Refused while the driver looks: said at once, with the platform's words, and not queued.
    platform.sandbox.answer_next_driver_action(422, Some("cargo_bay_sealed"), None).await?;
    match driver.embark(job.delivery_id, &job.vin).await {
        Err(CaasError::Rejected { code: ErrorCode::Unknown, message }) => {
            assert!(message.contains("refused"), "{message}")
        }
        other => panic!("expected the refusal, got {other:?}"),
    }

    // The queue is free: the next actions go out, and an outage is waited out, not a conflict.
    assert_eq!(driver.embark(job.delivery_id, &job.vin).await?, DriverActionOutcome::Synced);
    platform.sandbox.answer_next_driver_action(503, Some("maintenance_window"), None).await?;
    assert!(matches!(driver.arrive(job.delivery_id).await?, DriverActionOutcome::Queued { pending: 1 }));
    assert_eq!(driver.sync_driver().await?.pending, 0, "sent once the platform answers");
    assert!(driver.driver_conflicts().await?.is_empty());
    Ok(())
}

/// Issue 13: an answer the phone cannot read (a proxy's page instead of the API's error) was taken
/// for "no answer": the action was retried forever and, since the outbox sent strictly in order,
/// held back every other car's actions and the driver's sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_answer_wedges_the_action_and_holds_back_only_its_own_car() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let first = platform.booked_customer("wedged@example.com", &dir.path().join("first")).await?;
    let second = platform.booked_customer("free@example.com", &dir.path().join("second")).await?;
    for customer in [&first, &second] {
        customer.core.confirm_delivery_address(customer.order, None).await?;
    }
    let driver = platform.driver(DRIVER, &dir.path().join("driver")).await?;
    let jobs = driver.refresh_deliveries().await?;
    let job = |order| jobs.iter().find(|j| j.order_id == order).cloned().expect("job");
    let (held, free) = (job(first.order), job(second.order));

    platform.sandbox.answer_next_driver_action(403, None, None).await?;
    let DriverActionOutcome::Wedged { id, reason } = driver.embark(held.delivery_id, &held.vin).await? else {
        panic!("an unreadable answer wedges the action");
    };
    assert!(reason.contains("403"), "{reason}");
    // Another car's actions go out; the wedged car's next action waits behind it.
    assert_eq!(driver.embark(free.delivery_id, &free.vin).await?, DriverActionOutcome::Synced);
    assert!(matches!(driver.arrive(held.delivery_id).await?, DriverActionOutcome::Queued { .. }));
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.held), (0, 0, 2));
    let wedged = driver.wedged_driver_actions().await?;
    assert_eq!(wedged.len(), 1);
    assert_eq!((wedged[0].id, wedged[0].step, wedged[0].waiting_behind), (id, DriverStep::Embark, 1));
    assert!(matches!(driver.sign_out().await, Err(CaasError::PendingActions(2))), "nothing is lost at sign-out");

    // Retried: it goes out with the same key, the action behind it too.
    let report = driver.retry_driver_action(id).await?;
    assert_eq!((report.pending, report.held), (0, 0));
    let platform_view = driver.refresh_deliveries().await?;
    let state = |id| platform_view.iter().find(|j| j.delivery_id == id).map(|j| j.state);
    assert_eq!(state(held.delivery_id), Some(OrderState::AtCustomerAddress));

    // Discarded: it leaves the phone, the action taken on top of it becomes a conflict, and the
    // car is as it was before it.
    platform.sandbox.answer_next_driver_action(400, None, None).await?;
    let DriverActionOutcome::Wedged { id, .. } = driver.arrive(free.delivery_id).await? else {
        panic!("wedged again");
    };
    let unreachable = caas_core::protocol::delivery::CallOutcome::Unreachable;
    assert!(matches!(driver.report_absent(free.delivery_id, unreachable).await?, DriverActionOutcome::Queued { .. }));
    driver.discard_driver_action(id).await?;
    assert!(driver.wedged_driver_actions().await?.is_empty());
    let conflicts = driver.driver_conflicts().await?;
    assert_eq!(conflicts.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), ["superseded"], "{conflicts:?}");
    let after = driver.deliveries().await?;
    let free_now = after.iter().find(|j| j.delivery_id == free.delivery_id).expect("listed");
    assert_eq!((free_now.state, free_now.unsynced_actions), (OrderState::InTransit, 0));
    assert!(matches!(driver.retry_driver_action(id).await, Err(CaasError::NotFound(_))));
    Ok(())
}

/// Issue 13: "not now" answers (an outage behind a page without the API's error, a rate limit
/// with its `Retry-After`) were refusals or wedges; they are waited out, an outage on one car does
/// not hold back another, and the pause the platform asked for holds every send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_or_an_outage_is_waited_out_not_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let first = platform.booked_customer("busy@example.com", &dir.path().join("first")).await?;
    let second = platform.booked_customer("calm@example.com", &dir.path().join("second")).await?;
    for customer in [&first, &second] {
        customer.core.confirm_delivery_address(customer.order, None).await?;
    }
    let cab = dir.path().join("driver");
    let jobs = platform.driver(DRIVER, &cab).await?.refresh_deliveries().await?;
    let job = |order| jobs.iter().find(|j| j.order_id == order).cloned().expect("job");
    let (a, b) = (job(first.order), job(second.order));

    // Both cars loaded without signal, then an outage answers the first one's action.
    let offline = open_phone(NO_SIGNAL, &cab).await?;
    for job in [&a, &b] {
        assert!(matches!(offline.embark(job.delivery_id, &job.vin).await?, DriverActionOutcome::Queued { .. }));
    }
    drop(offline);
    let driver = open_phone(platform.url(), &cab).await?;
    platform.sandbox.answer_next_driver_action(502, None, None).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected, report.held), (1, 1, 0, 0), "the other car went");
    assert_eq!(driver.sync_driver().await?.pending, 0, "sent once the platform answers");

    // A rate limit: nothing is sent before the pause it asks for, then everything is.
    platform.sandbox.answer_next_driver_action(429, Some("slow_down"), Some(2)).await?;
    assert!(matches!(driver.arrive(a.delivery_id).await?, DriverActionOutcome::Queued { pending: 1 }));
    assert!(matches!(driver.arrive(b.delivery_id).await?, DriverActionOutcome::Queued { pending: 2 }));
    let waited = driver.sync_driver().await?;
    assert_eq!((waited.sent, waited.pending), (0, 2), "the pause holds");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(driver.sync_driver().await?.pending, 0);
    assert!(driver.driver_conflicts().await?.is_empty());
    assert!(driver.wedged_driver_actions().await?.is_empty());
    Ok(())
}
