//! The final payment end to end: the phone core pays through the platform and the gateway
//! simulator, the order moves only on the gateway's signed webhook, registration follows, and an
//! unpaid car becomes dealership stock that another customer buys.

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{ErrorCode, Money, RegistrationDetails};
use caas_core::protocol::messages::{Language, Reader};
use caas_core::{CaasError, CustomerAction, PaymentProgress, PaymentRefusal};
use caas_e2e::{Platform, Watcher, card, customer, deposit};
use chrono::Utc;
use serde_json::{Value, json};

const SUCCEEDS: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000000000000002";
const NO_FUNDS: &str = "4000000000009995";
const THREE_D_SECURE: &str = "4000002760003184";
const SETTLES_LATER: &str = "4000000000000077";

fn refusal(result: Result<PaymentProgress, CaasError>) -> PaymentRefusal {
    match result {
        Err(CaasError::PaymentRefused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn charges(platform: &Platform, order: uuid::Uuid) -> anyhow::Result<Vec<Value>> {
    Ok(platform.sandbox.charges(order).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_registers_the_car() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("ana@example.com").await?;
    let phone = platform.phone("ana@example.com", dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);
    let built = platform.build(order.id).await?;
    phone.sync().await?;
    let due = watcher.until_state(OrderState::AwaitingFinalPayment).await?;

    let price = built.price.clone().expect("priced");
    let payment = due.final_payment.clone().expect("payment due");
    assert_eq!(payment.amount_due.amount_minor, price.amount_minor - deposit().amount_minor);
    let days_left = payment.seconds_left / 86_400;
    assert!((6..=7).contains(&days_left), "a week to pay, {} seconds shown", payment.seconds_left);
    assert_eq!(due.actions, vec![CustomerAction::PayFinalAmount]);
    let mails = platform.sandbox.messages(Some(order.id), Some("email")).await?;
    assert!(
        mails.iter().any(|m| m["payload"]["body"]
            .as_str()
            .is_some_and(|b| b.contains(&Reader::in_utc(Language::Spanish).money(&payment.amount_due)))),
        "the customer is told the amount due, in their language: {mails:?}"
    );

    let progress = phone.pay(order.id, card(SUCCEEDS)).await?;
    assert!(matches!(progress, PaymentProgress::Succeeded { .. }), "{progress:?}");
    let registered = watcher.until_state(OrderState::TransportScheduled).await?;
    let plate = registered.registration.as_ref().expect("a plate").plate.clone();
    assert_eq!(plate.len(), 8, "a Spanish plate, `1234 BCD`: {plate}");
    assert!(registered.final_payment.as_ref().is_some_and(|p| p.paid_at.is_some() && !p.attempt_in_flight));
    assert_eq!(registered.actions, vec![CustomerAction::ManageDelivery]);
    let states: Vec<_> = registered.timeline.iter().map(|t| t.state).collect();
    assert!(states.ends_with(&[
        OrderState::DispatchedToLocality,
        OrderState::AwaitingFinalPayment,
        OrderState::AdministrativeRegistration,
        OrderState::Registered,
        OrderState::TransportScheduled
    ]));

    let ledger = charges(&platform, order.id).await?;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(ledger[0]["amount"]["amount_minor"], payment.amount_due.amount_minor);
    assert!(matches!(
        phone.pay(order.id, card(SUCCEEDS)).await,
        Err(CaasError::PaymentRefused { refusal: PaymentRefusal::AlreadyPaid, .. })
    ));
    assert_eq!(charges(&platform, order.id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_are_explained_and_another_card_pays() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("dee@example.com").await?;
    let phone = platform.phone("dee@example.com", dir.path()).await?;
    platform.build(order.id).await?;

    assert_eq!(refusal(phone.pay(order.id, card(DECLINED)).await), PaymentRefusal::CardDeclined);
    assert_eq!(refusal(phone.pay(order.id, card(NO_FUNDS)).await), PaymentRefusal::InsufficientFunds);
    let mut typo = card(SUCCEEDS);
    typo.number = "4242424242424241".into();
    assert_eq!(refusal(phone.pay(order.id, typo).await), PaymentRefusal::InvalidCard);
    assert!(charges(&platform, order.id).await?.is_empty(), "nothing charged");
    phone.sync_order(order.id).await?;
    let detail = phone.order(order.id).await?;
    assert_eq!(detail.summary.state, OrderState::AwaitingFinalPayment);
    assert_eq!(detail.actions, vec![CustomerAction::PayFinalAmount], "payment is still offered");

    assert!(matches!(phone.pay(order.id, card(SUCCEEDS)).await?, PaymentProgress::Succeeded { .. }));
    assert_eq!(charges(&platform, order.id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_failed_then_passed() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("tom@example.com").await?;
    let phone = platform.phone("tom@example.com", dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    platform.build(order.id).await?;

    let PaymentProgress::RequiresAction { payment_id, url } = phone.pay(order.id, card(THREE_D_SECURE)).await? else {
        panic!("3-D Secure expected");
    };
    assert!(url.starts_with(&platform.mock.gateway_url) && url.contains(&payment_id), "{url}");
    assert!(phone.order(order.id).await?.final_payment.is_some_and(|p| p.attempt_in_flight));
    platform.sandbox.complete_three_d_secure(&payment_id, false).await?;
    assert_eq!(
        match phone.resume_payment(order.id).await {
            Err(CaasError::PaymentRefused { refusal, .. }) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        },
        PaymentRefusal::AuthenticationFailed
    );
    assert_eq!(phone.resume_payment(order.id).await?, None, "the failed attempt is over");

    let PaymentProgress::RequiresAction { payment_id, .. } = phone.pay(order.id, card(THREE_D_SECURE)).await? else {
        panic!("3-D Secure expected");
    };
    platform.sandbox.complete_three_d_secure(&payment_id, true).await?;
    assert_eq!(phone.resume_payment(order.id).await?, Some(PaymentProgress::Succeeded { payment_id }));
    let mut watcher = Watcher::new(&phone, order.id);
    watcher.until_state(OrderState::TransportScheduled).await?;
    assert_eq!(charges(&platform, order.id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_settlement_moves_the_order_by_webhook() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("sam@example.com").await?;
    let phone = platform.phone("sam@example.com", dir.path()).await?;
    let mut watcher = Watcher::new(&phone, order.id);
    platform.build(order.id).await?;
    let _stream = phone.connect_push_stream().await?;

    let progress = phone.pay(order.id, card(SETTLES_LATER)).await?;
    assert!(matches!(progress, PaymentProgress::Processing { .. }), "{progress:?}");
    assert_eq!(phone.order(order.id).await?.summary.state, OrderState::AwaitingFinalPayment, "not paid until settled");
    // The gateway settles a moment later; its webhook moves the order and the push tells the phone.
    watcher.until_state(OrderState::TransportScheduled).await?;
    assert!(matches!(phone.resume_payment(order.id).await?, Some(PaymentProgress::Succeeded { .. })));
    assert_eq!(phone.resume_payment(order.id).await?, None);
    assert_eq!(charges(&platform, order.id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_and_a_restart_mid_payment_charge_exactly_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("lia@example.com").await?;
    platform.build(order.id).await?;
    const DROPPED: u32 = 3;
    platform.sandbox.drop_payment_answers(DROPPED).await?;

    let mut phone = platform.phone("lia@example.com", dir.path()).await?;
    for attempt in 0..DROPPED {
        let result = phone.pay(order.id, card(SUCCEEDS)).await;
        assert!(
            result.as_ref().is_err_and(CaasError::is_unreachable),
            "try {attempt}: the outcome is unknown: {result:?}"
        );
        assert!(phone.order(order.id).await.map_or(true, |o| o.final_payment.is_none_or(|p| p.attempt_in_flight)));
        if attempt == 1 {
            // The app is killed mid-payment and started again on the same data.
            drop(phone);
            phone = caas_e2e::open_phone(platform.url(), dir.path()).await?;
        }
    }
    drop(phone);
    let restarted = caas_e2e::open_phone(platform.url(), dir.path()).await?;
    let progress = restarted.pay(order.id, card(SUCCEEDS)).await?;
    assert!(matches!(progress, PaymentProgress::Succeeded { .. }), "{progress:?}");
    let ledger = charges(&platform, order.id).await?;
    assert_eq!(ledger.len(), 1, "one charge whatever the retries: {ledger:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_names_one_request_only() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let order = platform.sell_to("kai@example.com").await?;
    let built = platform.build(order.id).await?;
    let due = built.final_payment.expect("due").amount_due;
    let token = platform.customer_token("kai@example.com").await?;
    let http = reqwest::Client::new();
    let config: Value =
        http.get(format!("{}/v1/payments/config", platform.url())).bearer_auth(&token).send().await?.json().await?;
    let method: Value = http
        .post(format!("{}/v1/payment_methods", config["gateway_url"].as_str().unwrap_or_default()))
        .bearer_auth(config["publishable_key"].as_str().unwrap_or_default())
        .json(&card(THREE_D_SECURE))
        .send()
        .await?
        .json()
        .await?;
    let pay = |amount: &Money, key: Option<&str>| {
        let mut request = http
            .post(format!("{}/v1/orders/{}/payments", platform.url(), order.id))
            .bearer_auth(&token)
            .json(&json!({ "payment_method": method["id"], "amount": amount }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send()
    };
    assert_eq!(pay(&due, None).await?.status(), 422, "a payment without a key is refused");
    let first = pay(&due, Some("attempt-1")).await?;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await?;
    let again = pay(&due, Some("attempt-1")).await?;
    assert_eq!(again.headers().get("idempotent-replayed").map(|v| v.as_bytes()), Some(&b"true"[..]));
    assert_eq!(again.json::<Value>().await?, first, "the same key and body return the first answer");
    let more = Money { amount_minor: due.amount_minor + 100, currency: due.currency.clone() };
    let reused = pay(&more, Some("attempt-1")).await?;
    assert_eq!(reused.status(), 422);
    assert_eq!(reused.json::<Value>().await?["code"], ErrorCode::IdempotencyKeyReused.wire_name());
    let wrong = pay(&more, Some("attempt-2")).await?;
    assert_eq!(wrong.json::<Value>().await?["code"], ErrorCode::AmountMismatch.wire_name());

    // The first answer survives a restart of the platform.
    let platform = platform.restart().await?;
    let after = reqwest::Client::new()
        .post(format!("{}/v1/orders/{}/payments", platform.url(), order.id))
        .bearer_auth(&token)
        .header("Idempotency-Key", "attempt-1")
        .json(&json!({ "payment_method": method["id"], "amount": due }))
        .send()
        .await?;
    assert_eq!(after.json::<Value>().await?, first);
    assert!(charges(&platform, order.id).await?.is_empty(), "3-D Secure was never completed: nothing charged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_car_becomes_stock_and_another_customer_buys_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let order = platform.sell_to("first@example.com").await?;
    let first = platform.phone("first@example.com", dir_a.path()).await?;
    let mut watch_first = Watcher::new(&first, order.id);
    let _stream = first.connect_push_stream().await?;
    let built = platform.build(order.id).await?;
    let vin = built.vin.clone().expect("a VIN");

    // Six days and a bit later the reminder goes out; a day later the deadline has passed.
    platform.sandbox.advance_clock(6 * 86_400 + 3_600).await?;
    let sms = platform.sandbox.messages(Some(order.id), Some("sms")).await?;
    assert!(
        sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.starts_with("Recordatorio"))),
        "{sms:?}"
    );
    platform.sandbox.advance_clock(86_400).await?;
    let lost = watch_first.until_state(OrderState::DealershipStock).await?;
    assert!(lost.reservation_lost);
    assert!(lost.actions.is_empty(), "payment is no longer offered");
    assert_eq!(refusal(first.pay(order.id, card(SUCCEEDS)).await), PaymentRefusal::ReservationLost);
    let mails = platform.sandbox.messages(Some(order.id), Some("email")).await?;
    assert!(mails.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("has perdido la reserva"))));

    // The car kept its history and is stock of the dealership.
    let stock = platform.dealership.stock().await?;
    let car = stock.iter().find(|c| c.vin == vin).expect("the car is in stock");
    assert_eq!(car.configuration, built.configuration);
    assert_eq!(car.manufacturing.len(), 6, "every factory stage is kept: {:?}", car.manufacturing);

    // Another customer buys it: no factory order, straight to the final payment.
    let resale = platform.dealership.sell_from_stock(&vin, customer("second@example.com"), "Toledo").await?;
    assert!(resale.from_stock && resale.vin.as_deref() == Some(vin.as_str()));
    let reserved = platform.dealership.record_reservation(resale.id, deposit()).await?;
    assert_eq!(reserved.state, OrderState::AwaitingFinalPayment);
    assert_eq!(reserved.factory_order_id, None);
    assert!(platform.dealership.stock().await?.iter().all(|c| c.vin != vin), "sold: no longer in stock");
    let second = platform.phone("second@example.com", dir_b.path()).await?;
    let _second_stream = second.connect_push_stream().await?;
    second.sync().await?;
    assert!(matches!(second.pay(resale.id, card(SUCCEEDS)).await?, PaymentProgress::Succeeded { .. }));
    let mut watch_second = Watcher::new(&second, resale.id);
    let registered = watch_second.until_state(OrderState::TransportScheduled).await?;
    assert!(registered.from_stock);
    let states: Vec<_> = registered.timeline.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            OrderState::SaleRegistered,
            OrderState::ReservationPaid,
            OrderState::AwaitingFinalPayment,
            OrderState::AdministrativeRegistration,
            OrderState::Registered,
            OrderState::TransportScheduled
        ]
    );

    // The first customer's record still ends with the lost reservation, and they cannot see the
    // second customer's order.
    first.sync().await?;
    assert_eq!(first.order(order.id).await?.summary.state, OrderState::DealershipStock);
    assert!(matches!(first.sync_order(resale.id).await, Err(CaasError::NotFound(_))));
    assert_eq!(charges(&platform, order.id).await?.len(), 0);
    assert_eq!(charges(&platform, resale.id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_fails_transiently_is_retried() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("rui@example.com").await?;
    let phone = platform.phone("rui@example.com", dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);
    platform.build(order.id).await?;
    platform.sandbox.fail_registry("ES", 2).await?;
    phone.pay(order.id, card(SUCCEEDS)).await?;
    let registered = watcher.until_state(OrderState::TransportScheduled).await?;
    assert!(registered.summary.blocker.is_none());
    assert_eq!(registered.registration.expect("registered").authority, "ES-DGT");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_says_what_to_fix_and_goes_through_once_fixed() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let lisboa = platform.sandbox.dealership("lisboa-oriente").await?;
    let mut buyer = customer("ines@example.com");
    buyer.country = "PT".into();
    // A Spanish DNI where Portugal's registry needs a NIF.
    let sale = caas_core::protocol::api::RegisterSaleRequest {
        customer: buyer,
        configuration: caas_core::protocol::api::VehicleConfiguration {
            base_platform: "cargo-van".into(),
            options: vec!["tow-hitch".into()],
        },
        delivery_locality: "Lisboa".into(),
    };
    let order = lisboa.register_sale(&sale).await?;
    lisboa.record_reservation(order.id, deposit()).await?;
    platform.sandbox.advance_factory(order.id, Some(OrderState::DispatchedToLocality)).await?;
    let phone = platform.phone("ines@example.com", dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);
    phone.pay(order.id, card(SUCCEEDS)).await?;

    let blocked = tokio::time::timeout(caas_e2e::WAIT, async {
        loop {
            phone.sync_order(order.id).await?;
            let detail = phone.order(order.id).await?;
            if detail.summary.blocker.is_some() {
                return anyhow::Ok(detail);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await??;
    assert_eq!(blocked.summary.state, OrderState::AdministrativeRegistration);
    let blocker = blocked.summary.blocker.expect("blocked");
    assert_eq!(blocker.code, "missing_tax_number");
    assert!(blocker.fix.is_some_and(|fix| fix.contains("NIF")));

    let wrong = RegistrationDetails { tax_number: Some("123456780".into()), ..Default::default() };
    let refused = lisboa.retry_registration(order.id, &wrong).await.expect_err("an invalid NIF is refused");
    assert_eq!(refused.api().map(|(_, e)| e.code), Some(ErrorCode::RegistrationRejected));
    let right = RegistrationDetails { tax_number: Some("123456789".into()), ..Default::default() };
    let fixed = lisboa.retry_registration(order.id, &right).await?;
    assert_eq!(fixed.state, OrderState::TransportScheduled, "registered and booked on a transport");
    let registered = watcher.until_state(OrderState::TransportScheduled).await?;
    let plate = registered.registration.expect("registered");
    assert_eq!(plate.authority, "PT-IMT");
    assert_eq!(plate.plate.len(), 8, "a Portuguese plate, `AB-12-CD`: {}", plate.plate);
    assert!(registered.summary.blocker.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_offline_fails_at_once_and_a_forged_gateway_webhook_moves_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let order = platform.sell_to("oli@example.com").await?;
    platform.build(order.id).await?;
    let phone = platform.phone("oli@example.com", dir.path()).await?;
    phone.sync().await?;

    // A forged "payment succeeded" from someone without the gateway's secret.
    let body = json!({
        "type": "payment_intent.succeeded",
        "timestamp": Utc::now(),
        "data": { "id": "pi_forged", "order_id": order.id, "amount": { "amount_minor": 1, "currency": "EUR" },
                  "status": "succeeded", "created_at": Utc::now() }
    })
    .to_string();
    let forged = caas_core::protocol::webhook::sign(
        &[caas_mock::random_webhook_secret()],
        "msg_forged",
        Utc::now().timestamp(),
        body.as_bytes(),
    );
    let status = reqwest::Client::new()
        .post(format!("{}/v1/webhooks/gateway", platform.url()))
        .header("webhook-id", forged.id)
        .header("webhook-timestamp", forged.timestamp)
        .header("webhook-signature", forged.signature)
        .body(body)
        .send()
        .await?
        .status();
    assert_eq!(status, 401);
    assert_eq!(platform.dealership.order(order.id).await?.state, OrderState::AwaitingFinalPayment);

    let url = platform.url().to_owned();
    platform.mock.stop().await;
    let started = std::time::Instant::now();
    let result = phone.pay(order.id, card(SUCCEEDS)).await;
    assert!(matches!(result, Err(CaasError::Offline(_))), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "no queueing, no long wait");
    let detail = phone.order(order.id).await?;
    assert!(detail.final_payment.is_some_and(|p| !p.attempt_in_flight), "nothing was started");
    drop(url);
    Ok(())
}

/// Issue 13: a payment status the platform does not know (a newer gateway's) must never count,
/// nor be stored as if it closed the attempt; the webhook is refused unapplied, so the gateway
/// delivers it again, and a later delivery with a status it knows is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_status_the_platform_does_not_know_is_refused_unapplied() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let order = platform.sell_to("newer.gateway@example.com").await?;
    platform.build(order.id).await?;
    let http = reqwest::Client::new();
    let deliver = |status: &str| {
        let body = json!({
            "type": "payment_intent.processing",
            "timestamp": Utc::now(),
            "data": { "id": "pi_newer", "order_id": order.id, "amount": { "amount_minor": 1, "currency": "EUR" },
                      "status": status, "created_at": Utc::now() }
        })
        .to_string();
        let signed = caas_core::protocol::webhook::sign(
            std::slice::from_ref(&platform.config.gateway_webhook_secret),
            "msg_newer_status",
            Utc::now().timestamp(),
            body.as_bytes(),
        );
        http.post(format!("{}/v1/webhooks/gateway", platform.url()))
            .header("webhook-id", signed.id)
            .header("webhook-timestamp", signed.timestamp)
            .header("webhook-signature", signed.signature)
            .body(body)
            .send()
    };
    assert_eq!(deliver("partially_captured").await?.status(), 422);
    assert_eq!(platform.dealership.order(order.id).await?.state, OrderState::AwaitingFinalPayment);
    let again = deliver("processing").await?;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await?["duplicate"], false, "the refused delivery was not recorded as received");
    Ok(())
}
