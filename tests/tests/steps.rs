//! The sandbox takes an order's next steps by name (`POST /v1/sandbox/orders/{id}/steps`), each
//! through the code of the party the lifecycle names: whole journeys from the sale to the handover
//! with no other call but the customer confirming the address, every event notified as in real
//! life, the money taken by the gateway, and the steps the sandbox cannot take refused by code.

use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::api::{ErrorCode, EventKind, Money, OrderView, RegistrationDetails};
use caas_core::protocol::delivery::{CallOutcome, HandoverPlace, IncidentKind};
use caas_core::protocol::{Actor, OrderState};
use caas_e2e::Platform;
use caas_mock::MockConfig;
use serde_json::{Value, json};
use uuid::Uuid;

const EMAIL: &str = "ana@example.com";
const SUCCEEDS: &str = "4242424242424242";
const THREE_D_SECURE: &str = "4000002760003184";

/// Asks for the step to `to`: the status and the body of the answer, whatever it is.
async fn try_step(platform: &Platform, order: Uuid, to: &str) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sandbox/orders/{order}/steps", platform.url()))
        .bearer_auth(&platform.mock.sandbox_token)
        .json(&json!({ "to": to }))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// The order's next step to `to`, as the sandbox judges it.
async fn next_step_to(platform: &Platform, order: Uuid, to: &str) -> anyhow::Result<Value> {
    let steps = platform.sandbox.next_steps(order).await?;
    steps.into_iter().find(|step| step["to"] == json!(to)).with_context(|| format!("no next step to `{to}`"))
}

/// The customer's app pays the amount due with the card `number` in an attempt named `key`: the
/// status and the body of the platform's answer.
async fn customer_pays(
    platform: &Platform,
    token: &str,
    order: Uuid,
    number: &str,
    key: &str,
) -> anyhow::Result<(u16, Value)> {
    let http = reqwest::Client::new();
    let due = platform.dealership.order(order).await?.final_payment.context("a payment is due")?.amount_due;
    let method: Value = http
        .post(format!("{}/v1/payment_methods", platform.mock.gateway_url))
        .bearer_auth(&platform.config.gateway_publishable_key)
        .json(&caas_e2e::card(number))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let response = http
        .post(format!("{}/v1/orders/{order}/payments", platform.url()))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "payment_method": method["id"], "amount": due }))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// Waits (at most 15 s) until the order stands in `state`.
async fn until_state(platform: &Platform, order: Uuid, state: OrderState) -> anyhow::Result<OrderView> {
    let deadline = tokio::time::Instant::now() + caas_e2e::WAIT;
    loop {
        let view = platform.dealership.order(order).await?;
        if view.state == state {
            return Ok(view);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the order stayed `{}`, never `{state}`", view.state);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A mock as `tweak` sets it up.
async fn platform_with(tweak: impl FnOnce(MockConfig) -> MockConfig) -> anyhow::Result<Platform> {
    let dir = tempfile::tempdir()?;
    let config = tweak(MockConfig::ephemeral(dir.path().join("platform.sqlite3")));
    Platform::start_with(dir, config).await
}

/// Takes the step to `to` and checks the order then stands in `lands` (what follows by itself
/// included).
async fn step(platform: &Platform, order: Uuid, to: OrderState, lands: OrderState) -> anyhow::Result<OrderView> {
    let view = platform.sandbox.take_step(order, to).await?;
    anyhow::ensure!(view.state == lands, "the step to `{to}` left the order `{}`, not `{lands}`", view.state);
    Ok(view)
}

/// The refusal of the step to `to`: status and code.
async fn refused(platform: &Platform, order: Uuid, to: &str) -> anyhow::Result<(u16, String, String)> {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sandbox/orders/{order}/steps", platform.url()))
        .bearer_auth(&platform.mock.sandbox_token)
        .json(&serde_json::json!({ "to": to }))
        .send()
        .await?;
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    Ok((status, code, body["message"].as_str().unwrap_or_default().to_owned()))
}

/// The customer's own calls over the raw API: a push device, and the address confirmed.
async fn customer_call(platform: &Platform, token: &str, path: &str, body: Value) -> anyhow::Result<()> {
    reqwest::Client::new()
        .post(format!("{}{path}", platform.url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// A sale whose customer has an FCM device, walked through steps to the final payment.
async fn built(platform: &Platform) -> anyhow::Result<(Uuid, String)> {
    let order = platform.sell_to(EMAIL).await?.id;
    let token = platform.customer_token(EMAIL).await?;
    customer_call(platform, &token, "/v1/devices", serde_json::json!({ "platform": "fcm", "token": "fcm-ana" }))
        .await?;
    step(platform, order, OrderState::ReservationPaid, OrderState::OrderPlaced).await?;
    for stage in [OrderState::InProduction, OrderState::Assembly, OrderState::QualityControl] {
        step(platform, order, stage, stage).await?;
    }
    step(platform, order, OrderState::ManufacturingComplete, OrderState::ManufacturingComplete).await?;
    step(platform, order, OrderState::DispatchedToLocality, OrderState::AwaitingFinalPayment).await?;
    Ok((order, token))
}

/// [`built`], then paid, registered and booked on a transport by steps, with the address
/// confirmed.
async fn booked(platform: &Platform) -> anyhow::Result<(Uuid, String)> {
    let (order, token) = built(platform).await?;
    let paid = step(platform, order, OrderState::AdministrativeRegistration, OrderState::TransportScheduled).await?;
    assert!(paid.registration.is_some(), "registered with a plate");

    let (status, code, message) = refused(platform, order, "in_transit").await?;
    assert_eq!((status, code.as_str()), (409, "step_not_takeable"), "{message}");
    assert!(message.contains("confirm the delivery address"), "{message}");
    let steps = platform.sandbox.next_steps(order).await?;
    assert_eq!(steps.len(), 1);
    assert_eq!((steps[0]["to"].as_str(), steps[0]["by"].as_str()), (Some("in_transit"), Some("driver")));
    assert_eq!(steps[0]["takeable"], serde_json::json!(false));
    customer_call(platform, &token, &format!("/v1/orders/{order}/delivery/address"), serde_json::json!({})).await?;
    let steps = platform.sandbox.next_steps(order).await?;
    assert_eq!(steps[0]["takeable"], serde_json::json!(true), "{steps:?}");
    Ok((order, token))
}

/// The states the order's record moved through, with who moved it.
async fn moves(platform: &Platform, order: Uuid) -> anyhow::Result<Vec<(OrderState, Actor)>> {
    Ok(platform
        .sandbox
        .order_events(order)
        .await?
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::StateChanged { to, by, .. } => Some((to, by)),
            _ => None,
        })
        .collect())
}

/// Every event of the order reached the customer by email and by push, as any change does.
async fn every_event_notified(platform: &Platform, order: Uuid) -> anyhow::Result<()> {
    let events = platform.sandbox.order_events(order).await?;
    let emails = platform.sandbox.messages(Some(order), Some("email")).await?;
    let pushes = platform.sandbox.messages(Some(order), Some("fcm")).await?;
    for event in &events {
        let id = serde_json::json!(event.event_id.to_string());
        assert!(emails.iter().any(|m| m["event_id"] == id), "no email for {:?}", event.kind);
        // The device was registered after the sale: every later event is pushed.
        if event.version > 1 {
            assert!(pushes.iter().any(|m| m["event_id"] == id), "no push for {:?}", event.kind);
        }
    }
    Ok(())
}

async fn sms_says(platform: &Platform, order: Uuid, words: &str) -> anyhow::Result<bool> {
    let sms = platform.sandbox.messages(Some(order), Some("sms")).await?;
    Ok(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|body| body.contains(words))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_journey_to_the_door_is_played_by_steps_alone() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let sale = platform.sell_to("carla@example.com").await?.id;
    let (status, code, _) = refused(&platform, sale, "delivered").await?;
    assert_eq!((status, code.as_str()), (409, "illegal_transition"), "not a next step of a sale");
    let (status, code, _) = refused(&platform, sale, "shipped").await?;
    assert_eq!((status, code.as_str()), (422, "invalid_request"), "not a state at all");
    let (status, code, _) = refused(&platform, Uuid::now_v7(), "reservation_paid").await?;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    let (order, _token) = booked(&platform).await?;
    // A refusal names the party as the API does, never as the code spells it.
    let early = platform.dealership.receive(order).await.expect_err("the car was never returned");
    let (status, error) = early.api().context("an API refusal")?;
    assert_eq!((status, error.code), (409, ErrorCode::IllegalTransition));
    assert!(error.message.contains("on behalf of `dealership`"), "{}", error.message);
    step(&platform, order, OrderState::InTransit, OrderState::InTransit).await?;
    step(&platform, order, OrderState::AtCustomerAddress, OrderState::AtCustomerAddress).await?;
    let delivered = step(&platform, order, OrderState::Delivered, OrderState::Delivered).await?;
    let delivery = delivered.delivery.expect("a delivery");
    let handover = delivery.handover.expect("handed over");
    assert_eq!(handover.place, HandoverPlace::CustomerAddress);
    assert!(handover.by.contains("(driver "), "{}", handover.by);
    assert_eq!(delivery.embarkation.expect("loaded").party, handover.by, "the driver who loaded it handed it over");

    use Actor as A;
    use OrderState as S;
    assert_eq!(
        moves(&platform, order).await?,
        [
            (S::SaleRegistered, A::Dealership),
            (S::ReservationPaid, A::Dealership),
            (S::OrderPlaced, A::Platform),
            (S::InProduction, A::Factory),
            (S::Assembly, A::Factory),
            (S::QualityControl, A::Factory),
            (S::ManufacturingComplete, A::Factory),
            (S::DispatchedToLocality, A::Factory),
            (S::AwaitingFinalPayment, A::Platform),
            (S::AdministrativeRegistration, A::PaymentGateway),
            (S::Registered, A::Registry),
            (S::TransportScheduled, A::Platform),
            (S::InTransit, A::Driver),
            (S::AtCustomerAddress, A::Driver),
            (S::Delivered, A::Driver),
        ]
    );
    every_event_notified(&platform, order).await?;
    for words in ["está de camino", "está en tu dirección", "Te hemos entregado"] {
        assert!(sms_says(&platform, order, words).await?, "{words}");
    }
    let charges = platform.sandbox.charges(order).await?;
    assert_eq!(charges.len(), 1, "the gateway took the amount due once: {charges:?}");
    let due = delivered.final_payment.expect("a final payment");
    assert!(due.paid_at.is_some());
    assert_eq!(charges[0]["amount"], serde_json::to_value(&due.amount_due)?);

    // Pairing is the customer's phone's alone.
    let steps = platform.sandbox.next_steps(order).await?;
    assert_eq!((steps[0]["to"].as_str(), steps[0]["takeable"].as_bool()), (Some("app_linked"), Some(false)));
    assert!(steps[0]["note"].as_str().is_some_and(|note| note.contains("phone")), "{steps:?}");
    let (status, code, _) = refused(&platform, order, "app_linked").await?;
    assert_eq!((status, code.as_str()), (409, "step_not_takeable"));
    let (status, code, _) = refused(&platform, order, "delivered").await?;
    assert_eq!((status, code.as_str()), (409, "illegal_transition"), "a step taken is not a next step any more");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_customer_gets_the_car_at_the_dealership_desk_by_steps() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, _token) = booked(&platform).await?;
    step(&platform, order, OrderState::InTransit, OrderState::InTransit).await?;
    step(&platform, order, OrderState::AtCustomerAddress, OrderState::AtCustomerAddress).await?;
    let rescheduled = step(&platform, order, OrderState::DeliveryRescheduled, OrderState::DeliveryRescheduled).await?;
    assert_eq!(rescheduled.delivery.as_ref().map(|d| d.attempt), Some(2));
    step(&platform, order, OrderState::InTransit, OrderState::InTransit).await?;
    step(&platform, order, OrderState::AtCustomerAddress, OrderState::AtCustomerAddress).await?;
    step(&platform, order, OrderState::ReturnedToDealership, OrderState::ReturnedToDealership).await?;
    let held = step(&platform, order, OrderState::HeldAtDealership, OrderState::HeldAtDealership).await?;
    assert!(
        held.delivery.as_ref().and_then(|d| d.pickup.as_ref()).is_some(),
        "the customer is told where to collect it"
    );
    let delivered = step(&platform, order, OrderState::Delivered, OrderState::Delivered).await?;
    let handover = delivered.delivery.and_then(|d| d.handover).expect("handed over");
    assert_eq!(handover.place, HandoverPlace::Dealership);

    let events = platform.sandbox.order_events(order).await?;
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CustomerAbsent { attempt, call } => Some((*attempt, *call)),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(matches!(calls[0], (1, CallOutcome::Rescheduled { .. })));
    assert_eq!(calls[1], (2, CallOutcome::Unreachable));
    for wanted in [
        |k: &EventKind| matches!(k, EventKind::ReceivedAtDealership { .. }),
        |k: &EventKind| matches!(k, EventKind::PickupRequired { .. }),
    ] {
        assert!(events.iter().any(|e| wanted(&e.kind)));
    }
    let by: Vec<_> = moves(&platform, order).await?.into_iter().skip(12).collect();
    use Actor as A;
    use OrderState as S;
    assert_eq!(
        by,
        [
            (S::InTransit, A::Driver),
            (S::AtCustomerAddress, A::Driver),
            (S::DeliveryRescheduled, A::Driver),
            (S::InTransit, A::Driver),
            (S::AtCustomerAddress, A::Driver),
            (S::ReturnedToDealership, A::Driver),
            (S::HeldAtDealership, A::Dealership),
            (S::Delivered, A::Dealership),
        ]
    );
    every_event_notified(&platform, order).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_road_and_a_lost_reservation_are_steps_too() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, _token) = booked(&platform).await?;
    step(&platform, order, OrderState::InTransit, OrderState::InTransit).await?;
    let back = step(&platform, order, OrderState::ReturnedToDealership, OrderState::ReturnedToDealership).await?;
    let incident = back.delivery.and_then(|d| d.incident).expect("the incident is on the delivery");
    assert_eq!(incident.kind, IncidentKind::RoadClosed);

    // Another customer never pays: the deadline passes on the sandbox clock.
    let unpaid = platform.sell_to("bruno@example.com").await?.id;
    step(&platform, unpaid, OrderState::ReservationPaid, OrderState::OrderPlaced).await?;
    platform.sandbox.advance_factory(unpaid, Some(OrderState::DispatchedToLocality)).await?;
    let steps = platform.sandbox.next_steps(unpaid).await?;
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s["takeable"] == serde_json::json!(true)), "{steps:?}");
    let lost = step(&platform, unpaid, OrderState::Unassigned, OrderState::DealershipStock).await?;
    assert!(lost.final_payment.is_some_and(|due| due.paid_at.is_none()));
    let stock = platform.dealership.stock().await?;
    assert!(stock.iter().any(|car| Some(&car.vin) == lost.vin.as_ref()), "the car is the dealership's stock again");
    let (status, code, _) = refused(&platform, unpaid, "reservation_paid").await?;
    assert_eq!((status, code.as_str()), (409, ErrorCode::IllegalTransition.wire_name()), "the end of its record");
    assert!(platform.sandbox.next_steps(unpaid).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_the_registry_dropped_is_retried_by_a_step() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, _token) = built(&platform).await?;
    // Every submission of the platform's own registration (the first and its five retries) fails.
    platform.sandbox.fail_registry("ES", 6).await?;
    let paid =
        step(&platform, order, OrderState::AdministrativeRegistration, OrderState::AdministrativeRegistration).await?;
    assert!(paid.final_payment.is_some_and(|due| due.paid_at.is_some()), "paid, waiting for the registry");
    let events = platform.sandbox.order_events(order).await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::RegistrationBlocked { code, .. } if code == "registry_unavailable"))
    );
    let steps = platform.sandbox.next_steps(order).await?;
    assert_eq!(
        (steps[0]["to"].as_str(), steps[0]["takeable"].as_bool()),
        (Some("registered"), Some(true)),
        "{steps:?}"
    );
    let registered = step(&platform, order, OrderState::Registered, OrderState::TransportScheduled).await?;
    assert!(registered.registration.is_some_and(|r| !r.plate.is_empty()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_own_open_payment_is_never_paid_over_by_a_step() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, token) = built(&platform).await?;
    let (status, payment) = customer_pays(&platform, &token, order, THREE_D_SECURE, "app-attempt-1").await?;
    assert_eq!((status, payment["status"].as_str()), (200, Some("requires_action")), "{payment}");

    let judged = next_step_to(&platform, order, "administrative_registration").await?;
    assert_eq!(judged["takeable"], json!(false), "{judged}");
    assert!(judged["note"].as_str().is_some_and(|note| note.contains("3-D Secure")), "{judged}");
    let (status, code, message) = refused(&platform, order, "administrative_registration").await?;
    assert_eq!((status, code.as_str()), (409, "step_not_takeable"), "{message}");

    platform.sandbox.complete_three_d_secure(payment["id"].as_str().unwrap_or_default(), true).await?;
    until_state(&platform, order, OrderState::TransportScheduled).await?;
    assert_eq!(platform.sandbox.charges(order).await?.len(), 1, "the customer's payment alone");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_step_the_gateway_did_not_answer_is_resumed_and_charged_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, token) = built(&platform).await?;
    // The gateway is down for a charge: nothing is taken, the outcome is not known.
    platform.sandbox.set_gateway_unavailable(true).await?;
    let (status, code, message) = refused(&platform, order, "administrative_registration").await?;
    assert_eq!((status, code.as_str()), (503, "payment_gateway_unavailable"), "{message}");
    assert!(platform.sandbox.charges(order).await?.is_empty(), "nothing taken while it is down");
    platform.sandbox.set_gateway_unavailable(false).await?;

    // The open attempt is the sandbox's: the customer waits for it, and the step resumes it.
    let (status, answer) = customer_pays(&platform, &token, order, SUCCEEDS, "app-attempt-1").await?;
    assert_eq!((status, answer["code"].as_str()), (409, Some("payment_in_progress")), "{answer}");
    let judged = next_step_to(&platform, order, "administrative_registration").await?;
    assert_eq!(judged["takeable"], json!(true), "{judged}");
    assert!(judged["note"].as_str().is_some_and(|note| note.contains("resumes")), "{judged}");
    let paid = step(&platform, order, OrderState::AdministrativeRegistration, OrderState::TransportScheduled).await?;
    assert!(paid.final_payment.is_some_and(|due| due.paid_at.is_some()));
    assert_eq!(platform.sandbox.charges(order).await?.len(), 1, "charged once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_payment_steps_at_once_charge_once_and_both_answer_sensibly() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, _token) = built(&platform).await?;
    let (first, second) = tokio::join!(
        try_step(&platform, order, "administrative_registration"),
        try_step(&platform, order, "administrative_registration")
    );
    let mut answers = [first?, second?];
    answers.sort_by_key(|(status, _)| *status);
    let [(taken, view), (other, refusal)] = answers;
    assert_eq!(taken, 200, "{view}");
    assert_eq!(view["state"], json!("transport_scheduled"), "{view}");
    assert_eq!(other, 409, "{refusal}");
    assert!(
        [ErrorCode::StepNotTakeable.wire_name(), ErrorCode::IllegalTransition.wire_name()]
            .contains(&refusal["code"].as_str().unwrap_or_default()),
        "{refusal}"
    );
    assert_eq!(platform.sandbox.charges(order).await?.len(), 1, "charged once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_registration_steps_at_once_register_once_and_both_answer_sensibly() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, _token) = built(&platform).await?;
    platform.sandbox.fail_registry("ES", 6).await?;
    step(&platform, order, OrderState::AdministrativeRegistration, OrderState::AdministrativeRegistration).await?;
    let (first, second) =
        tokio::join!(try_step(&platform, order, "registered"), try_step(&platform, order, "registered"));
    let mut answers = [first?, second?];
    answers.sort_by_key(|(status, _)| *status);
    let [(taken, view), (other, refusal)] = answers;
    assert_eq!((taken, &view["state"]), (200, &json!("transport_scheduled")), "{view}");
    assert_eq!(other, 409, "{refusal}");
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(
        [ErrorCode::StepNotTakeable.wire_name(), ErrorCode::IllegalTransition.wire_name()]
            .contains(&refusal["code"].as_str().unwrap_or_default()),
        "{refusal}"
    );
    assert!(!message.contains("only a paid order"), "the order is paid: {message}");
    let registered = moves(&platform, order).await?.iter().filter(|(to, _)| *to == OrderState::Registered).count();
    assert_eq!(registered, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_after_the_registration_went_through_is_refused_and_not_kept() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, token) = built(&platform).await?;
    // The registration the payment starts retries for a second or two before it goes through.
    platform.sandbox.fail_registry("ES", 4).await?;
    let (status, payment) = customer_pays(&platform, &token, order, SUCCEEDS, "app-attempt-1").await?;
    assert_eq!((status, payment["status"].as_str()), (200, Some("succeeded")), "{payment}");
    let corrected = RegistrationDetails { address: Some("Calle Nueva 2, 28013 Madrid".into()), ..Default::default() };
    let late = platform.dealership.retry_registration(order, &corrected).await.expect_err("registered meanwhile");
    let (status, error) = late.api().context("an API refusal")?;
    assert_eq!((status, error.code), (409, ErrorCode::IllegalTransition), "{}", error.message);
    assert!(error.message.contains("already went through with the earlier details"), "{}", error.message);
    let view = platform.dealership.order(order).await?;
    assert_eq!(view.state, OrderState::TransportScheduled);
    assert_eq!(
        view.delivery.and_then(|d| d.address).as_deref(),
        Some("Calle Mayor 1, 28013 Madrid"),
        "the correction the registry never saw does not stand"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_the_sandbox_cannot_record_is_judged_so() -> anyhow::Result<()> {
    let platform = platform_with(|config| MockConfig {
        sandbox_deposit: Money { amount_minor: 100_000_000, currency: "EUR".into() },
        ..config
    })
    .await?;
    let order = platform.sell_to(EMAIL).await?.id;
    let judged = next_step_to(&platform, order, "reservation_paid").await?;
    assert_eq!(judged["takeable"], json!(false), "{judged}");
    assert!(judged["note"].as_str().is_some_and(|note| note.contains("price")), "{judged}");
    let (status, code, message) = refused(&platform, order, "reservation_paid").await?;
    assert_eq!((status, code.as_str()), (409, "step_not_takeable"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_more_than_a_year_away_is_not_passed_by_a_step() -> anyhow::Result<()> {
    let platform =
        platform_with(|config| MockConfig { payment_window: Duration::from_secs(367 * 86_400), ..config }).await?;
    let order = platform.sell_to(EMAIL).await?.id;
    step(&platform, order, OrderState::ReservationPaid, OrderState::OrderPlaced).await?;
    platform.sandbox.advance_factory(order, Some(OrderState::DispatchedToLocality)).await?;
    let judged = next_step_to(&platform, order, "unassigned").await?;
    assert_eq!(judged["takeable"], json!(false), "{judged}");
    assert!(judged["note"].as_str().is_some_and(|note| note.contains("more than a year")), "{judged}");
    let (status, code, message) = refused(&platform, order, "unassigned").await?;
    assert_eq!((status, code.as_str()), (409, "step_not_takeable"), "{message}");
    Ok(())
}
