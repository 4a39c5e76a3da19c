//! Transport and delivery end to end, with a customer's phone and a driver's phone side by side:
//! every path of the seed's delivery state machine, the driver working without signal, and the
//! handover code refused whenever it is not the customer's own, current, fresh code.

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{ErrorCode, EventKind, ScheduleReason};
use caas_core::protocol::delivery::{CallOutcome, HandoverPlace, IncidentKind};
use caas_core::protocol::handover::HandoverRefusal;
use caas_core::{CaasError, CustomerAction, DriverActionOutcome, DriverStep};
use caas_e2e::{NO_SIGNAL, Platform, open_phone};
use uuid::Uuid;

const LUCIA: &str = "lucia@iberia-carriers.example";
const CARMEN: &str = "carmen@meseta-logistics.example";

fn handover_refusal<T: std::fmt::Debug>(result: Result<T, CaasError>) -> HandoverRefusal {
    match result {
        Err(CaasError::HandoverRefused(refusal)) => refusal,
        other => panic!("expected a refused handover code, got {other:?}"),
    }
}

fn rejected<T: std::fmt::Debug>(result: Result<T, CaasError>) -> ErrorCode {
    match result {
        Err(CaasError::Rejected { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A booked customer whose address is confirmed, and Lucía's phone with the car loaded.
async fn loaded(
    platform: &Platform,
    customer_dir: &std::path::Path,
    driver_dir: &std::path::Path,
) -> anyhow::Result<(caas_e2e::BookedCustomer, caas_core::Caas, caas_core::AssignedDelivery)> {
    let customer = platform.booked_customer("ana@example.com", customer_dir).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let driver = platform.driver(LUCIA, driver_dir).await?;
    let job = driver.refresh_deliveries().await?.remove(0);
    driver.embark(job.delivery_id, &job.vin).await?;
    Ok((customer, driver, job))
}

async fn event_count(platform: &Platform, order: Uuid, wanted: fn(&EventKind) -> bool) -> anyhow::Result<usize> {
    Ok(platform.sandbox.order_events(order).await?.iter().filter(|e| wanted(&e.kind)).count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_present_customer_takes_the_car_on_a_verified_code() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut customer = platform.booked_customer("ana@example.com", customer_dir.path()).await?;
    let order = customer.core.order(customer.order).await?;
    let delivery = order.delivery.clone().expect("a transport is booked");
    assert_eq!(delivery.company.name, "Iberia Car Carriers");
    assert_eq!((delivery.attempt, delivery.changes_left, delivery.address_confirmed), (1, 3, false));
    assert_eq!(delivery.address.as_deref(), Some("Calle Mayor 1, 28013 Madrid"));
    assert_eq!(order.actions, vec![CustomerAction::ManageDelivery]);
    assert_eq!(order.delivery_windows.len(), 1);
    assert_eq!(order.delivery_windows[0].reason, ScheduleReason::Booked);
    let sms = platform.sandbox.messages(Some(customer.order), Some("sms")).await?;
    assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("Iberia Car Carriers"))));

    let driver = platform.driver(LUCIA, driver_dir.path()).await?;
    let list = driver.refresh_deliveries().await?;
    assert_eq!(list.len(), 1);
    let job = &list[0];
    assert_eq!(
        (job.order_id, job.state, job.steps.clone()),
        (customer.order, OrderState::TransportScheduled, vec![DriverStep::Embark])
    );
    assert_eq!(job.customer_name, "Test Customer");
    // The car and the customer as the order has them.
    let platform_view = platform.dealership.order(customer.order).await?;
    let plate = platform_view.registration.as_ref().map(|registration| registration.plate.clone());
    assert_eq!((Some(job.vin.clone()), job.plate.clone()), (platform_view.vin.clone(), plate));
    assert!(job.plate.is_some(), "a registered car has its plate");
    assert_eq!((job.model.as_str(), job.customer_phone.as_deref()), ("Urban EV", Some("+34600000001")));
    assert_eq!(job.dealership.dealership, platform_view.dealership.name);
    assert_eq!(rejected(driver.embark(job.delivery_id, &job.vin).await), ErrorCode::AddressNotConfirmed);

    customer.core.confirm_delivery_address(customer.order, None).await?;
    driver.refresh_deliveries().await?;
    assert_eq!(rejected(driver.embark(job.delivery_id, "VF1WRONGVIN000000").await), ErrorCode::VinMismatch);
    assert_eq!(driver.embark(job.delivery_id, &job.vin).await?, DriverActionOutcome::Synced);
    let on_the_way = customer.watcher.until_state(OrderState::InTransit).await?;
    assert_eq!(on_the_way.actions, vec![CustomerAction::ShowHandoverCode]);
    let embarked = on_the_way.delivery.expect("delivery").embarkation.expect("embarkation recorded");
    assert_eq!(embarked.party, "Iberia Car Carriers (driver Lucía Gómez)");

    assert_eq!(driver.arrive(job.delivery_id).await?, DriverActionOutcome::Synced);
    customer.watcher.until_state(OrderState::AtCustomerAddress).await?;
    let code = customer.core.handover_code(customer.order).await?;
    assert_eq!(code.short_code.len(), 8);
    let check = driver.check_handover_code(job.delivery_id, &code.token).await?;
    assert_eq!((check.order_id, check.customer_name.as_str()), (customer.order, "Test Customer"));
    assert_eq!(driver.confirm_handover(job.delivery_id, &code.token).await?, DriverActionOutcome::Synced);

    let delivered = customer.watcher.until_state(OrderState::Delivered).await?;
    let handover = delivered.delivery.expect("delivery").handover.expect("handed over");
    assert_eq!(handover.place, HandoverPlace::CustomerAddress);
    assert_eq!(delivered.actions, vec![CustomerAction::PairVehicle, CustomerAction::BuyOptions]);
    let states: Vec<_> = delivered.timeline.iter().map(|t| t.state).collect();
    assert!(states.ends_with(&[
        OrderState::Registered,
        OrderState::TransportScheduled,
        OrderState::InTransit,
        OrderState::AtCustomerAddress,
        OrderState::Delivered
    ]));
    assert!(driver.refresh_deliveries().await?.is_empty(), "a delivered car leaves the driver's list");
    let sms = platform.sandbox.messages(Some(customer.order), Some("sms")).await?;
    for words in ["está de camino", "está en tu dirección", "Te hemos entregado"] {
        assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains(words))), "{words}");
    }
    // The same code shown again, at the dealership this time, is refused as used.
    let again = platform.dealership.hand_over(customer.order, &code.token).await.expect_err("used");
    assert_eq!(again.api().map(|(_, e)| e.code), Some(ErrorCode::HandoverCodeUsed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_customer_agrees_a_new_time_and_gets_the_car_then() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut customer = platform.booked_customer("ana@example.com", customer_dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, Some("Calle Luna 7, 28004 Madrid".into())).await?;
    let driver = platform.driver(LUCIA, driver_dir.path()).await?;
    let job = driver.refresh_deliveries().await?.remove(0);
    assert_eq!(job.address.as_deref(), Some("Calle Luna 7, 28004 Madrid"));
    driver.embark(job.delivery_id, &job.vin).await?;
    let first_code = customer.core.handover_code(customer.order).await?;
    driver.arrive(job.delivery_id).await?;

    let new_time = customer.core.delivery_slots(customer.order).await?[2].window;
    let outcome =
        driver.report_absent(job.delivery_id, CallOutcome::Rescheduled { window_start: new_time.start }).await?;
    assert_eq!(outcome, DriverActionOutcome::Synced);
    let rescheduled = customer.watcher.until_state(OrderState::DeliveryRescheduled).await?;
    let delivery = rescheduled.delivery.expect("delivery");
    assert_eq!((delivery.attempt, delivery.window), (2, new_time));
    let reasons: Vec<_> = rescheduled.delivery_windows.iter().map(|w| w.reason).collect();
    assert_eq!(reasons, [ScheduleReason::Booked, ScheduleReason::AgreedByPhone]);
    assert_eq!(rescheduled.actions, vec![CustomerAction::ManageDelivery]);

    let job = driver.refresh_deliveries().await?.remove(0);
    assert_eq!((job.attempt, job.state, job.window), (2, OrderState::DeliveryRescheduled, new_time));
    driver.embark(job.delivery_id, &job.vin).await?;
    driver.arrive(job.delivery_id).await?;
    // The code of the first trip does not open the second.
    assert_eq!(
        handover_refusal(driver.confirm_handover(job.delivery_id, &first_code.token).await),
        HandoverRefusal::OtherAttempt
    );
    let code = customer.core.handover_code(customer.order).await?;
    driver.confirm_handover(job.delivery_id, &code.token).await?;
    customer.watcher.until_state(OrderState::Delivered).await?;
    let embarked = |k: &EventKind| matches!(k, EventKind::Embarked { .. });
    assert_eq!(event_count(&platform, customer.order, embarked).await?, 2, "one embarkation per trip");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_customer_collects_the_car_at_the_dealership() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (mut customer, driver, job) = loaded(&platform, customer_dir.path(), driver_dir.path()).await?;
    driver.arrive(job.delivery_id).await?;
    driver.report_absent(job.delivery_id, CallOutcome::Unreachable).await?;
    let returned = customer.watcher.until_state(OrderState::ReturnedToDealership).await?;
    assert!(returned.actions.is_empty(), "nothing for the customer to do until the dealership has the car");
    assert_eq!(rejected(driver.confirm_handover(job.delivery_id, "CAAS1.x.y").await), ErrorCode::IllegalTransition);

    platform.dealership.receive(customer.order).await?;
    let held = customer.watcher.until_state(OrderState::HeldAtDealership).await?;
    let delivery = held.delivery.clone().expect("delivery");
    let pickup = delivery.pickup.expect("pickup instructions");
    assert_eq!(pickup.address, "Calle de Alcalá 120, 28009 Madrid");
    assert!(delivery.reception.expect("reception recorded").party.contains("CaaS Madrid Centro"));
    assert_eq!(held.actions, vec![CustomerAction::ShowHandoverCode]);
    let sms = platform.sandbox.messages(Some(customer.order), Some("sms")).await?;
    assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("Recoge tu coche"))));

    let code = customer.core.handover_code(customer.order).await?;
    let wrong = platform.dealership.hand_over(customer.order, "00000000").await.expect_err("not the code");
    assert_eq!(wrong.api().map(|(_, e)| e.code), Some(ErrorCode::HandoverCodeInvalid));
    platform.dealership.hand_over(customer.order, &code.short_code).await?;
    let delivered = customer.watcher.until_state(OrderState::Delivered).await?;
    assert_eq!(delivered.delivery.expect("delivery").handover.expect("handover").place, HandoverPlace::Dealership);
    let states: Vec<_> = delivered.timeline.iter().map(|t| t.state).collect();
    assert!(states.ends_with(&[
        OrderState::AtCustomerAddress,
        OrderState::ReturnedToDealership,
        OrderState::HeldAtDealership,
        OrderState::Delivered
    ]));
    Ok(())
}

/// Issue 14: an incident on the way (the seed's `InTransit -> AtDealership`) could not be recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_on_the_way_sends_the_car_back_and_the_customer_collects_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (mut customer, driver, job) = loaded(&platform, customer_dir.path(), driver_dir.path()).await?;
    let on_the_road = driver.deliveries().await?.remove(0);
    assert_eq!(on_the_road.steps, vec![DriverStep::Arrive, DriverStep::UpdateArrival, DriverStep::ReportIncident]);

    // Nobody can be absent before the driver arrives, and the platform takes no kind or note it
    // cannot show: each refusal leaves the car on the road with the driver.
    let absent = driver.report_absent(job.delivery_id, CallOutcome::Unreachable).await;
    assert_eq!(rejected(absent), ErrorCode::IllegalTransition);
    let token = platform.driver_token(LUCIA).await?;
    let absent = serde_json::json!({ "action": "report_absent", "call": { "outcome": "unreachable" } });
    assert_eq!(raw_action(&platform, &token, job.delivery_id, absent).await?.0, 409);
    let newer = serde_json::json!({ "action": "report_incident", "kind": "flooding" });
    assert_eq!(raw_action(&platform, &token, job.delivery_id, newer).await?.0, 422);
    let two_lines = serde_json::json!({ "action": "report_incident", "kind": "damage", "note": "a\nb" });
    assert_eq!(raw_action(&platform, &token, job.delivery_id, two_lines).await?.0, 422);
    let colleague = platform.driver_token("pablo@iberia-carriers.example").await?;
    let not_theirs = serde_json::json!({ "action": "report_incident", "kind": "breakdown" });
    assert_eq!(
        raw_action(&platform, &colleague, job.delivery_id, not_theirs).await?.0,
        403,
        "not the driver with the car"
    );
    let long = "x".repeat(501);
    let refused = driver.report_incident(job.delivery_id, IncidentKind::Damage, Some(&long)).await;
    assert_eq!(rejected(refused), ErrorCode::InvalidRequest, "checked on the phone before it is queued");
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::InTransit);

    // Without signal, as on a closed road: recorded on the phone, sent when it returns.
    let offline = open_phone(NO_SIGNAL, driver_dir.path()).await?;
    let outcome =
        offline.report_incident(job.delivery_id, IncidentKind::RoadClosed, Some(" A-6 closed at km 40 ")).await?;
    assert!(matches!(outcome, DriverActionOutcome::Queued { pending: 1 }), "{outcome:?}");
    assert_eq!(offline.deliveries().await?.remove(0).steps, vec![], "nothing more to do on the road");
    drop(offline);
    assert_eq!(driver.sync_driver().await?.sent, 1);

    let returned = customer.watcher.until_state(OrderState::ReturnedToDealership).await?;
    let incident = returned.delivery.clone().expect("delivery").incident.expect("the incident is on the record");
    assert_eq!((incident.kind, incident.note.as_deref()), (IncidentKind::RoadClosed, Some("A-6 closed at km 40")));
    assert!(incident.by.contains("Iberia Car Carriers"), "{}", incident.by);
    assert!(returned.actions.is_empty(), "nothing for the customer to do until the dealership has the car");
    let sms = platform.sandbox.messages(Some(customer.order), Some("sms")).await?;
    assert!(
        sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("la carretera está cortada"))),
        "the customer is told at once, in their language: {sms:?}"
    );
    assert_eq!(rejected(driver.arrive(job.delivery_id).await), ErrorCode::IllegalTransition);

    platform.dealership.receive(customer.order).await?;
    let held = customer.watcher.until_state(OrderState::HeldAtDealership).await?;
    assert!(held.delivery.clone().expect("delivery").pickup.is_some(), "pickup instructions");
    let code = customer.core.handover_code(customer.order).await?;
    platform.dealership.hand_over(customer.order, &code.short_code).await?;
    let delivered = customer.watcher.until_state(OrderState::Delivered).await?;
    let states: Vec<_> = delivered.timeline.iter().map(|t| t.state).collect();
    assert!(states.ends_with(&[
        OrderState::InTransit,
        OrderState::ReturnedToDealership,
        OrderState::HeldAtDealership,
        OrderState::Delivered
    ]));
    let incidents = |k: &EventKind| matches!(k, EventKind::TransitIncident { .. });
    assert_eq!(event_count(&platform, customer.order, incidents).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_without_signal_syncs_later_and_a_killed_app_loses_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut customer = platform.booked_customer("ana@example.com", customer_dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    platform.driver(LUCIA, driver_dir.path()).await?.refresh_deliveries().await?;

    // The driver's day without signal: everything is recorded on the phone.
    let offline = open_phone(NO_SIGNAL, driver_dir.path()).await?;
    let job = offline.deliveries().await?.remove(0);
    assert!(matches!(offline.embark(job.delivery_id, &job.vin).await?, DriverActionOutcome::Queued { pending: 1 }));
    offline.arrive(job.delivery_id).await?;
    let code = customer.core.handover_code(customer.order).await?;
    let handed_over_at = chrono::Utc::now();
    assert!(matches!(
        offline.confirm_handover(job.delivery_id, &code.token).await?,
        DriverActionOutcome::Queued { pending: 3 }
    ));
    assert!(matches!(offline.sign_out().await, Err(CaasError::PendingActions(3))), "signing out would lose them");
    drop(offline);

    // Killed and started again, still offline: the phone shows what the driver did.
    let restarted = open_phone(NO_SIGNAL, driver_dir.path()).await?;
    let shown = restarted.deliveries().await?.remove(0);
    assert_eq!((shown.state, shown.unsynced_actions), (OrderState::Delivered, 3));
    drop(restarted);
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::TransportScheduled);

    // Signal returns, but the first two answers are lost on the way back, and the app is killed
    // after the first of them.
    platform.sandbox.drop_driver_answers(2).await?;
    let online = open_phone(platform.url(), driver_dir.path()).await?;
    let report = online.sync_driver().await?;
    assert_eq!((report.sent, report.pending), (0, 3));
    drop(online);
    let online = open_phone(platform.url(), driver_dir.path()).await?;
    let first = online.sync_driver().await?;
    assert_eq!(first.pending, 3, "the second lost answer keeps the outbox: {first:?}");
    let report = online.sync_driver().await?;
    assert_eq!((report.sent, report.rejected, report.pending), (3, 0, 0));
    assert!(online.driver_conflicts().await?.is_empty());

    let delivered = customer.watcher.until_state(OrderState::Delivered).await?;
    let handover = delivered.delivery.expect("delivery").handover.expect("handover");
    assert!((handover.at - handed_over_at).num_seconds().abs() < 5, "the handover keeps the driver's time");
    let embarked = |k: &EventKind| matches!(k, EventKind::Embarked { .. });
    let handed = |k: &EventKind| matches!(k, EventKind::HandedOver { .. });
    assert_eq!(event_count(&platform, customer.order, embarked).await?, 1, "replayed, never doubled");
    assert_eq!(event_count(&platform, customer.order, handed).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_foreign_and_other_company_attempts_are_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?];
    let mut ana = platform.booked_customer("ana@example.com", dirs[0].path()).await?;
    let bea = platform.booked_customer("bea@example.com", dirs[1].path()).await?;
    for customer in [&ana, &bea] {
        customer.core.confirm_delivery_address(customer.order, None).await?;
    }
    let driver = platform.driver(LUCIA, dirs[2].path()).await?;
    let jobs = driver.refresh_deliveries().await?;
    assert_eq!(jobs.len(), 2, "both Madrid cars go with the company with the earliest free window");
    let job = jobs.iter().find(|j| j.order_id == ana.order).expect("ana's car").clone();
    driver.embark(job.delivery_id, &job.vin).await?;
    driver.arrive(job.delivery_id).await?;

    let genuine = ana.core.handover_code(ana.order).await?;
    let mut forged = genuine.token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged)?;
    assert_eq!(handover_refusal(driver.check_handover_code(job.delivery_id, &forged).await), HandoverRefusal::Forged);
    let expired = platform.sandbox.handover_code(ana.order, 30, None).await?;
    assert_eq!(
        handover_refusal(driver.confirm_handover(job.delivery_id, &expired.token).await),
        HandoverRefusal::Expired
    );
    let someone_elses = bea.core.handover_code(bea.order).await?;
    assert_eq!(
        handover_refusal(driver.confirm_handover(job.delivery_id, &someone_elses.token).await),
        HandoverRefusal::OtherOrder
    );
    assert_eq!(
        handover_refusal(driver.check_handover_code(job.delivery_id, "not a code").await),
        HandoverRefusal::Malformed
    );

    // The platform checks again: a forged code sent past the app is refused there too.
    let token = platform.driver_token(LUCIA).await?;
    let forged_call = raw_action(&platform, &token, job.delivery_id, confirm(&forged)).await?;
    assert_eq!(forged_call.0, 422);
    assert_eq!(forged_call.1["code"], "handover_code_invalid");

    // A driver of another company sees none of these deliveries and cannot act on them.
    let other = platform.driver(CARMEN, dirs[3].path()).await?;
    assert!(other.refresh_deliveries().await?.is_empty());
    let theirs = platform.driver_token(CARMEN).await?;
    assert_eq!(raw_action(&platform, &theirs, job.delivery_id, confirm(&genuine.token)).await?.0, 404);

    // The customer's current code still works after all of that.
    let code = ana.core.handover_code(ana.order).await?;
    driver.confirm_handover(job.delivery_id, &code.short_code).await?;
    ana.watcher.until_state(OrderState::Delivered).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescheduling_follows_the_rules_and_a_stale_driver_is_told() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let customer = platform.booked_customer("ana@example.com", customer_dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    platform.driver(LUCIA, driver_dir.path()).await?.refresh_deliveries().await?;

    // The driver sets out offline while the customer moves the delivery.
    let offline = open_phone(NO_SIGNAL, driver_dir.path()).await?;
    let job = offline.deliveries().await?.remove(0);
    offline.embark(job.delivery_id, &job.vin).await?;
    drop(offline);
    let slots = customer.core.delivery_slots(customer.order).await?;
    let moved_to = slots.iter().find(|s| s.window.start > job.window.start).expect("a later window").window;
    customer.core.choose_delivery_window(customer.order, moved_to.start).await?;

    let driver = open_phone(platform.url(), driver_dir.path()).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.rejected), (0, 1));
    let conflicts = driver.driver_conflicts().await?;
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0].action.as_str(), conflicts[0].code.as_str()), ("embark", "delivery_changed"));
    let rolled_back = driver.deliveries().await?.remove(0);
    assert_eq!((rolled_back.state, rolled_back.window), (OrderState::TransportScheduled, moved_to));
    driver.dismiss_driver_conflict(conflicts[0].id).await?;
    assert!(driver.driver_conflicts().await?.is_empty());

    // The customer's own limits: offered windows only, three changes, not within 24 hours.
    let not_offered = moved_to.start + chrono::TimeDelta::minutes(30);
    assert_eq!(
        rejected(customer.core.choose_delivery_window(customer.order, not_offered).await),
        ErrorCode::SlotUnavailable
    );
    let slots = customer.core.delivery_slots(customer.order).await?;
    let others: Vec<_> = slots.iter().map(|s| s.window.start).filter(|start| *start != moved_to.start).collect();
    customer.core.choose_delivery_window(customer.order, others[5]).await?;
    customer.core.choose_delivery_window(customer.order, others[6]).await?;
    assert_eq!(
        rejected(customer.core.choose_delivery_window(customer.order, others[7]).await),
        ErrorCode::ChangeLimitReached
    );
    let order = customer.core.order(customer.order).await?;
    assert_eq!(order.delivery.expect("delivery").changes_left, 0);
    assert_eq!(order.delivery_windows.len(), 4);

    let second_dir = tempfile::tempdir()?;
    let second = platform.booked_customer("bea@example.com", second_dir.path()).await?;
    let window = second.core.order(second.order).await?.delivery.expect("delivery").window;
    let until_then = (window.start - chrono::Utc::now()).num_seconds();
    platform.sandbox.advance_clock(until_then - 12 * 3600).await?;
    let later = customer.core.delivery_slots(second.order).await;
    assert!(matches!(later, Err(CaasError::NotFound(_))), "another customer's delivery is not found");
    let too_late = second.core.delivery_slots(second.order).await?[0].window.start;
    assert_eq!(rejected(second.core.choose_delivery_window(second.order, too_late).await), ErrorCode::ChangeTooLate);
    Ok(())
}

/// A handover confirmation with `code`, checked now, as the API reads it.
fn confirm(code: &str) -> serde_json::Value {
    serde_json::json!({ "action": "confirm_handover", "code": code, "verified_at": chrono::Utc::now() })
}

/// A driver's action sent straight to the API, past the app's own checks, taken now.
async fn raw_action(
    platform: &Platform,
    token: &str,
    delivery: Uuid,
    mut action: serde_json::Value,
) -> anyhow::Result<(u16, serde_json::Value)> {
    action["at"] = serde_json::json!(chrono::Utc::now());
    let response = reqwest::Client::new()
        .post(format!("{}/v1/driver/deliveries/{delivery}/actions", platform.url()))
        .bearer_auth(token)
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(&action)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await.unwrap_or_default()))
}
