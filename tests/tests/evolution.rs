//! Today's phone against a newer platform: event kinds, pushes and error codes this version does
//! not know are kept and shown, and never stop a sync or the driver's outbox. The sandbox plays
//! the newer platform (`POST /v1/sandbox/orders/{id}/events`, `answer_next` driver faults).

use caas_core::protocol::api::ErrorCode;
use caas_core::protocol::push::PushHint;
use caas_core::{CaasError, DriverActionOutcome};
use caas_e2e::{DRIVER, Platform};
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
    platform.sandbox.answer_next_driver_action(422, "cargo_bay_sealed").await?;
    match driver.embark(job.delivery_id, &job.vin).await {
        Err(CaasError::Rejected { code: ErrorCode::Unknown, message }) => {
            assert!(message.contains("refused"), "{message}")
        }
        other => panic!("expected the refusal, got {other:?}"),
    }

    // The queue is free: the next actions go out, and an outage is waited out, not a conflict.
    assert_eq!(driver.embark(job.delivery_id, &job.vin).await?, DriverActionOutcome::Synced);
    platform.sandbox.answer_next_driver_action(503, "maintenance_window").await?;
    assert!(matches!(driver.arrive(job.delivery_id).await?, DriverActionOutcome::Queued { pending: 1 }));
    assert_eq!(driver.sync_driver().await?.pending, 0, "sent once the platform answers");
    assert!(driver.driver_conflicts().await?.is_empty());
    Ok(())
}
