//! Robot couriers play the delivery by themselves through the driver's own code: the car loaded
//! once the customer confirms the address, the arrival told and then a delay, the door reached,
//! and the car handed over as soon as the customer's app asks for its handover code; or the
//! absence their scenario names.

use std::time::Duration;

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{EventKind, OrderEvent};
use caas_core::protocol::arrival::EtaReason;
use caas_core::protocol::delivery::{CallOutcome, HandoverPlace};
use caas_e2e::{BookedCustomer, Platform};
use caas_mock::MockConfig;
use uuid::Uuid;

/// A mock whose robots look every 50 ms, driving every delivery when `everywhere`.
async fn platform(everywhere: bool) -> anyhow::Result<Platform> {
    let dir = tempfile::tempdir()?;
    let config = MockConfig {
        robot_courier: everywhere,
        robot_tick: Duration::from_millis(50),
        ..MockConfig::ephemeral(dir.path().join("platform.sqlite3"))
    };
    Platform::start_with(dir, config).await
}

fn estimates(events: &[OrderEvent]) -> Vec<(u32, EtaReason)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ArrivalEstimated { attempt, estimate } => Some((*attempt, estimate.reason)),
            _ => None,
        })
        .collect()
}

/// Waits (at most 15 s) until the order stands in `state` on the platform.
async fn until_state(platform: &Platform, order: Uuid, state: OrderState) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + caas_e2e::WAIT;
    loop {
        let now_in = platform.dealership.order(order).await?.state;
        if now_in == state {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the order stayed `{now_in}`, never `{state}`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (at most 15 s) until the order's record shows it reached `state`, however briefly: a robot
/// moves on within a tick, quicker than a phone is sure to sync.
async fn reached(platform: &Platform, order: Uuid, state: OrderState) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + caas_e2e::WAIT;
    loop {
        let events = platform.sandbox.order_events(order).await?;
        if events.iter().any(|e| matches!(e.kind, EventKind::StateChanged { to, .. } if to == state)) {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the order never reached `{state}`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The customer's app asks for the handover code at the door; the robot takes it from the screen.
async fn handed_over_at_the_door(platform: &Platform, customer: &mut BookedCustomer) -> anyhow::Result<()> {
    until_state(platform, customer.order, OrderState::AtCustomerAddress).await?;
    // Nobody showed a code: the robot waits at the door with the car, never leaving it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::AtCustomerAddress);
    customer.core.handover_code(customer.order).await?;
    let delivered = customer.watcher.until_state(OrderState::Delivered).await?;
    let handover = delivered.delivery.and_then(|d| d.handover).expect("handed over");
    assert_eq!(handover.place, HandoverPlace::CustomerAddress);
    assert!(handover.by.contains("(driver "), "{}", handover.by);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_delivers_the_car_once_the_customer_shows_the_code() -> anyhow::Result<()> {
    let platform = platform(true).await?;
    let dir = tempfile::tempdir()?;
    let mut customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    // The car does not leave before the customer confirms the address, robot or not.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::TransportScheduled);
    customer.core.confirm_delivery_address(customer.order, None).await?;

    reached(&platform, customer.order, OrderState::InTransit).await?;
    handed_over_at_the_door(&platform, &mut customer).await?;
    let delivery = platform.dealership.order(customer.order).await?.delivery;
    assert!(delivery.and_then(|d| d.embarkation).is_some(), "the car was loaded, its VIN checked");

    let events = platform.sandbox.order_events(customer.order).await?;
    assert_eq!(
        estimates(&events),
        [(1, EtaReason::Departure), (1, EtaReason::Traffic)],
        "told of the arrival and the delay"
    );
    let sms = platform.sandbox.messages(Some(customer.order), Some("sms")).await?;
    for words in ["está de camino", "está en tu dirección", "Te hemos entregado"] {
        assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains(words))), "{words}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_agrees_a_new_time_with_an_absent_customer_and_delivers_on_the_second_trip() -> anyhow::Result<()> {
    let platform = platform(false).await?;
    let dir = tempfile::tempdir()?;
    let mut customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        platform.dealership.order(customer.order).await?.state,
        OrderState::TransportScheduled,
        "no robot drives an order the sandbox did not give one"
    );
    let set = platform.sandbox.robot_courier(customer.order, true, "absent_reschedule").await?;
    assert_eq!((set["enabled"].as_bool(), set["scenario"].as_str()), (Some(true), Some("absent_reschedule")));

    reached(&platform, customer.order, OrderState::DeliveryRescheduled).await?;
    handed_over_at_the_door(&platform, &mut customer).await?;
    let delivery = platform.dealership.order(customer.order).await?.delivery;
    assert_eq!(delivery.map(|d| d.attempt), Some(2), "handed over on the second trip");

    let events = platform.sandbox.order_events(customer.order).await?;
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CustomerAbsent { attempt, call } => Some((*attempt, *call)),
            _ => None,
        })
        .collect();
    assert!(matches!(calls[..], [(1, CallOutcome::Rescheduled { .. })]), "{calls:?}");
    let told = estimates(&events);
    assert_eq!(told.iter().filter(|(attempt, _)| *attempt == 2).count(), 2, "each trip told its arrival: {told:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_takes_the_car_back_when_nobody_answers_and_can_be_switched_off() -> anyhow::Result<()> {
    let platform = platform(true).await?;
    // Two sales walked to the booked transport by the sandbox's steps.
    let mut orders = Vec::new();
    for email in ["ana@example.com", "bruno@example.com"] {
        let order = platform.sell_to(email).await?.id;
        platform.sandbox.take_step(order, OrderState::ReservationPaid).await?;
        platform.sandbox.advance_factory(order, Some(OrderState::DispatchedToLocality)).await?;
        platform.sandbox.take_step(order, OrderState::AdministrativeRegistration).await?;
        orders.push(order);
    }
    let (unreachable, switched_off) = (orders[0], orders[1]);
    platform.sandbox.robot_courier(unreachable, true, "absent_unreachable").await?;
    platform.sandbox.robot_courier(switched_off, false, "deliver").await?;
    for (order, email) in [(unreachable, "ana@example.com"), (switched_off, "bruno@example.com")] {
        let token = platform.customer_token(email).await?;
        reqwest::Client::new()
            .post(format!("{}/v1/orders/{order}/delivery/address", platform.url()))
            .bearer_auth(token)
            .json(&serde_json::json!({}))
            .send()
            .await?
            .error_for_status()?;
    }
    until_state(&platform, unreachable, OrderState::ReturnedToDealership).await?;
    let events = platform.sandbox.order_events(unreachable).await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::CustomerAbsent { attempt: 1, call: CallOutcome::Unreachable }))
    );
    // The robot is a driver: receiving the car at the dealership is not its step.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(platform.dealership.order(unreachable).await?.state, OrderState::ReturnedToDealership);
    assert_eq!(platform.dealership.order(switched_off).await?.state, OrderState::TransportScheduled, "switched off");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_shown_before_the_car_reached_the_door_is_not_the_robots() -> anyhow::Result<()> {
    let platform = platform(true).await?;
    let dir = tempfile::tempdir()?;
    let mut customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    // The customer looks at the handover code in the app before the car has even left.
    customer.core.handover_code(customer.order).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    // At the door the robot waits for the code shown there: the early one was never its to see.
    handed_over_at_the_door(&platform, &mut customer).await
}
