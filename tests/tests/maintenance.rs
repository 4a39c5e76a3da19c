//! Maintenance after delivery, end to end: the car's odometer and warnings reported over the
//! connected-car network or read by the phone over BLE (without signal too), the reminder when the
//! service comes near, workshop slots with capacity booked, moved and cancelled by the rules, and
//! the workshop's visit on the car's history. Hostile callers: a rolled-back odometer, another
//! customer's order, a slot already full.

use std::time::Duration;

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{ErrorCode, EventKind};
use caas_core::protocol::maintenance::{MaintenancePlan, NextService, WarningCode};
use caas_core::protocol::pairing::api::encode;
use caas_core::protocol::pairing::{TelemetryReport, Vin};
use caas_core::{CaasError, CustomerAction, LinkConditions, PairingOptions};
use caas_e2e::{BookedCustomer, NO_SIGNAL, Platform, open_phone};
use serde_json::json;

/// An operational car for `email`: handed over and linked to the phone in `dir`.
async fn operational(
    platform: &Platform,
    email: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(BookedCustomer, String)> {
    let mut customer = platform.delivered_customer(email, dir).await?;
    let radio = platform.radio(LinkConditions::default());
    customer.core.pair_vehicle(customer.order, &radio, PairingOptions::default(), None).await?;
    let detail = customer.watcher.until_state(OrderState::Operational).await?;
    Ok((customer, detail.vin.expect("a delivered car has a VIN")))
}

fn rejected<T: std::fmt::Debug>(result: Result<T, CaasError>) -> ErrorCode {
    match result {
        Err(CaasError::Rejected { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_car_reports_over_the_network_and_the_customer_is_reminded_once_when_the_service_comes_near()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, "ana@example.com", dir.path()).await?;
    let started = ana.core.order(ana.order).await?;
    assert!(started.actions.contains(&CustomerAction::BookService));
    let maintenance = started.maintenance.expect("maintenance starts at operational");
    assert_eq!(maintenance.plan, MaintenancePlan { every_km: 20_000, every_months: 12 });
    assert_eq!(maintenance.next_service.due_km, 20_000);

    // Driven 19,200 km; the car warns about its brakes and reports by itself.
    platform.sandbox.drive(&vin, 19_200, &[WarningCode::BrakeWear]).await?;
    let reported =
        ana.watcher.until("the report", |o| o.maintenance.as_ref().is_some_and(|m| m.odometer_km == 19_212)).await?;
    let maintenance = reported.maintenance.expect("maintenance");
    assert_eq!(maintenance.warnings, vec![WarningCode::BrakeWear]);
    assert!(maintenance.reported_at.is_some());
    // A few more kilometres and the same warning: no second reminder, no second warning.
    platform.sandbox.drive(&vin, 100, &[WarningCode::BrakeWear]).await?;
    // A report that tells nothing new pushes nothing; the next sync brings it.
    ana.core.sync().await?;
    ana.watcher.until("the next report", |o| o.maintenance.as_ref().is_some_and(|m| m.odometer_km == 19_312)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = platform.sandbox.order_events(ana.order).await?;
    let due: Vec<&NextService> = events
        .iter()
        .filter_map(|e| if let EventKind::ServiceDue { next_service } = &e.kind { Some(next_service) } else { None })
        .collect();
    assert_eq!(due.len(), 1, "reminded once: {due:?}");
    assert_eq!(due[0].due_km, 20_000);
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::VehicleWarning { .. })).count(), 1);
    // A warning that clears and comes back is not told again before the next service.
    platform.sandbox.drive(&vin, 10, &[]).await?;
    platform.sandbox.drive(&vin, 10, &[WarningCode::BrakeWear]).await?;
    let events = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::VehicleWarning { .. })).count(), 1);
    let sms = platform.sandbox.messages(Some(ana.order), Some("sms")).await?;
    assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("20000 km"))), "{sms:?}");
    assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("desgaste de frenos"))));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_reads_the_car_without_signal_and_a_rolled_back_odometer_is_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, "ana@example.com", dir.path()).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    platform.sandbox.drive(&vin, 500, &[WarningCode::TyrePressure]).await?;

    let radio = platform.radio(LinkConditions::default());
    let offline = open_phone(NO_SIGNAL, dir.path()).await?;
    let reading = offline.read_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    assert_eq!(
        (reading.odometer_km, reading.warnings.clone(), reading.reported),
        (512, vec![WarningCode::TyrePressure], false)
    );
    assert_eq!(reading.status.odometer_km, 512);
    drop(offline);
    ana.core.sync().await?;
    let read =
        ana.watcher.until("the report", |o| o.maintenance.as_ref().is_some_and(|m| m.odometer_km == 512)).await?;
    assert_eq!(read.maintenance.expect("maintenance").warnings, vec![WarningCode::TyrePressure]);

    // A report the car did not sign, or with an odometer below the last, is refused.
    let token = platform.customer_token("ana@example.com").await?;
    let forger = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[9; 32]).expect("key");
    let vin = Vin::parse(&vin).expect("vin");
    let signed = TelemetryReport::signed_part(&vin, 3, &[], 2_000_000_000);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(forger.sign(&signed).as_ref());
    let forged = TelemetryReport { vin, odometer_km: 3, warning_codes: vec![], measured_at: 2_000_000_000, signature };
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/orders/{}/vehicle/reports", platform.url(), ana.order))
        .bearer_auth(&token)
        .json(&json!({ "report": encode(&forged.encode()) }))
        .send()
        .await?;
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.json::<serde_json::Value>().await?["code"], "vehicle_report_invalid");
    assert_eq!(ana.core.order(ana.order).await?.maintenance.expect("maintenance").odometer_km, 512);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workshop_slots_are_booked_moved_and_cancelled_by_the_rules_and_the_visit_goes_on_the_history()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (dirs, mut customers) = (tempfile::tempdir()?, Vec::new());
    for name in ["ana", "bea", "carla"] {
        let dir = dirs.path().join(name);
        std::fs::create_dir_all(&dir)?;
        customers.push(operational(&platform, &format!("{name}@example.com"), &dir).await?.0);
    }
    let ana = &customers[0];
    let slots = ana.core.service_slots(ana.order).await?;
    assert!(slots.len() >= 20 && slots.iter().all(|s| s.free == 2), "two bays in each slot: {slots:?}");
    let (first, second) = (slots[0].start, slots[1].start);

    // Two cars fill a slot; a third is refused.
    customers[1].core.book_service(customers[1].order, first).await?;
    customers[2].core.book_service(customers[2].order, first).await?;
    assert_eq!(rejected(ana.core.book_service(ana.order, first).await), ErrorCode::SlotUnavailable);
    assert!(ana.core.service_slots(ana.order).await?.iter().all(|s| s.start != first), "a full slot is not offered");

    // Booked, then moved up to three times, then the limit.
    ana.core.book_service(ana.order, second).await?;
    let booked = ana.core.order(ana.order).await?.maintenance.and_then(|m| m.booking).expect("booked");
    assert_eq!((booked.start, booked.changes_left), (second, 3));
    for slot in &slots[2..5] {
        ana.core.book_service(ana.order, slot.start).await?;
    }
    assert_eq!(rejected(ana.core.book_service(ana.order, slots[5].start).await), ErrorCode::ChangeLimitReached);
    // A cancellation counts as a change: cancelling and booking again cannot go on for ever.
    ana.core.cancel_service(ana.order).await?;
    assert!(ana.core.order(ana.order).await?.maintenance.and_then(|m| m.booking).is_none());
    assert_eq!(rejected(ana.core.book_service(ana.order, second).await), ErrorCode::ChangeLimitReached);
    // Another customer cannot touch Ana's order.
    assert!(matches!(customers[1].core.book_service(ana.order, second).await, Err(CaasError::NotFound(_))));

    // The workshop records the visit: on the history, the plan counts from it, the changes start
    // again; the odometer stays the car's own signed reading.
    let visited =
        platform.dealership.record_visit(ana.order, 1_500, "first service: brakes checked, software updated").await?;
    let maintenance = visited.maintenance.expect("maintenance");
    assert_eq!(maintenance.next_service.due_km, 21_500);
    assert_eq!(maintenance.visits.len(), 1);
    assert!(maintenance.odometer_km < 1_500, "the workshop's figure is not the car's report");
    for (km, why) in [(1_000, "below the last service"), (3_000_000, "beyond any car")] {
        assert!(platform.dealership.record_visit(ana.order, km, "a typo").await.is_err(), "{why}");
    }
    let hidden = platform.dealership.record_visit(ana.order, 1_600, "brakes\u{202e}kcehc").await;
    assert!(hidden.is_err(), "plain text only");

    // Booked again, and the day before the slot it can no longer be changed.
    ana.core.book_service(ana.order, second).await?;
    let now = platform.sandbox.advance_clock(1).await?["now"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    let until = (second - now.expect("the platform's now")).num_seconds();
    platform.sandbox.advance_clock(until - 3_600).await?;
    assert_eq!(rejected(ana.core.cancel_service(ana.order).await), ErrorCode::ChangeTooLate);
    let events = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::ServiceVisitRecorded { .. })).count(), 1);
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::ServiceBooked { .. })).count(), 5);
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::ServiceCancelled { .. })).count(), 1);
    Ok(())
}
