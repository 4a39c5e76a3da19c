//! The platform enforces its own rules against hostile and concurrent callers: each test plays one
//! attack that once worked against a running mock, over raw HTTP where the attack is over HTTP.

use std::path::Path;

use anyhow::Context as _;
use caas_core::Caas;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::{
    CustomerDetails, EventKind, RegisterSaleRequest, RegistrationDetails, VehicleConfiguration,
};
use caas_core::protocol::handover;
use caas_core::protocol::payment::CardDetails;
use caas_e2e::{DRIVER, Platform, Watcher, customer};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Another driver of the company that serves Madrid, never assigned a single Madrid car here.
const OTHER_DRIVER: &str = "pablo@iberia-carriers.example";

async fn post(
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(StatusCode, reqwest::header::HeaderMap, Value)> {
    let mut request =
        reqwest::Client::new().post(url).header("idempotency-key", Uuid::new_v4().to_string()).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let (status, headers) = (response.status(), response.headers().clone());
    Ok((status, headers, response.json().await.unwrap_or_default()))
}

/// Whether `needle` is anywhere in the mock's database files, write-ahead log included.
fn stored_anywhere(platform: &Platform, needle: &str) -> anyhow::Result<bool> {
    let db = platform.dir.path().join("platform.sqlite3");
    let mut found = false;
    for path in [db.clone(), db.with_extension("sqlite3-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        }
    }
    Ok(found)
}

/// A booked customer and the assigned driver's token, the car at the customer's address.
async fn car_at_the_door(
    platform: &Platform,
    email: &str,
    dir: &Path,
) -> anyhow::Result<(caas_e2e::BookedCustomer, Caas, Uuid)> {
    let customer = platform.booked_customer(email, &dir.join("customer")).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let driver = platform.driver(DRIVER, &dir.join("driver")).await?;
    let job = driver
        .refresh_deliveries()
        .await?
        .into_iter()
        .find(|job| job.order_id == customer.order)
        .ok_or_else(|| anyhow::anyhow!("the driver has the car"))?;
    driver.embark(job.delivery_id, &job.vin).await?;
    driver.arrive(job.delivery_id).await?;
    Ok((customer, driver, job.delivery_id))
}

/// Issue 12, point 1: a code checked "in time" by the phone's word, sent an hour later, once
/// delivered the car. The platform's clock now decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_code_with_a_claimed_check_time_delivers_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (customer, _driver, delivery) = car_at_the_door(&platform, "late@example.com", dir.path()).await?;
    let stale = platform.sandbox.handover_code(customer.order, 60, None).await?;
    let claimed = stale.expires_at - TimeDelta::minutes(5);
    let token = platform.driver_token(DRIVER).await?;
    let (status, _, answer) = post(
        format!("{}/v1/driver/deliveries/{delivery}/actions", platform.url()),
        Some(&token),
        json!({ "at": claimed, "action": "confirm_handover", "code": stale.token, "verified_at": claimed }),
    )
    .await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");
    assert!(
        answer["message"].as_str().is_some_and(|m| m.contains("new code")),
        "the driver is told what to do: {answer}"
    );
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::AtCustomerAddress);
    Ok(())
}

/// A customer's phone key: signs the moment it shows a code, as the app does.
struct CustomerPhone(ring::signature::EcdsaKeyPair);

impl CustomerPhone {
    fn new() -> anyhow::Result<Self> {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).map_err(|_| anyhow::anyhow!("key"))?;
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .map(Self)
            .map_err(|e| anyhow::anyhow!("key: {e}"))
    }

    fn public_key(&self) -> String {
        use base64::Engine as _;
        use ring::signature::KeyPair as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0.public_key())
    }

    /// The QR code's text: `token` shown at `at`.
    fn show(&self, token: &str, at: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
        let claims = handover::unverified_claims(token).ok_or_else(|| anyhow::anyhow!("a token"))?;
        let at = chrono::DateTime::from_timestamp(at.timestamp(), 0).ok_or_else(|| anyhow::anyhow!("time"))?;
        let signature = self
            .0
            .sign(&ring::rand::SystemRandom::new(), &handover::shown_message(claims.code_id, at))
            .map_err(|_| anyhow::anyhow!("sign"))?;
        Ok(handover::present(token, at, signature.as_ref()))
    }
}

/// Issue 12, "what must hold", handover: a handover checked without signal reaches the platform
/// after its code expired. It is accepted within twelve hours and only with the customer's phone's
/// signature for a moment the code was valid that matches the driver's check; otherwise refused
/// with the reason and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_offline_handover_needs_the_customers_phone_to_vouch_for_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (customer, _driver, delivery) = car_at_the_door(&platform, "offline@example.com", dir.path()).await?;
    let phone = CustomerPhone::new()?;
    let token = platform.driver_token(DRIVER).await?;
    let url = format!("{}/v1/driver/deliveries/{delivery}/actions", platform.url());
    let confirm = |code: String, checked: chrono::DateTime<chrono::Utc>| {
        post(
            url.clone(),
            Some(&token),
            json!({ "at": checked, "action": "confirm_handover", "code": code, "verified_at": checked }),
        )
    };

    // Thirteen hours late: past the window, whatever the customer's phone says.
    let ancient = platform.sandbox.handover_code(customer.order, 13 * 60, Some(&phone.public_key())).await?;
    let checked = ancient.expires_at - TimeDelta::minutes(5);
    let (status, _, answer) = confirm(phone.show(&ancient.token, checked)?, checked).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("twelve hours")), "{answer}");

    let late = platform.sandbox.handover_code(customer.order, 60, Some(&phone.public_key())).await?;
    let checked = late.expires_at - TimeDelta::minutes(10);
    // The bare token: nobody vouches for when it was checked.
    let (status, _, answer) = confirm(late.token.clone(), checked).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("does not vouch") && m.contains("new code")));
    // Another phone's signature.
    let stranger = CustomerPhone::new()?;
    let (status, _, answer) = confirm(stranger.show(&late.token, checked)?, checked).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_invalid")), "{answer}");
    // The customer's phone shows it at one moment, the driver claims to have checked it at another.
    let (status, _, answer) = confirm(phone.show(&late.token, checked)?, checked - TimeDelta::minutes(4)).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");
    // Shown once the code had expired.
    let after = late.expires_at + TimeDelta::minutes(1);
    let (status, _, answer) = confirm(phone.show(&late.token, after)?, after).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::AtCustomerAddress);

    // The customer has shown a newer code since the driver left: the old one still counts for a
    // handover the customer's phone vouches it showed before.
    platform.sandbox.handover_code(customer.order, 0, None).await?;
    // The customer's phone vouches for a moment inside the code's life: handed over, at that moment.
    let (status, _, answer) = confirm(phone.show(&late.token, checked)?, checked + TimeDelta::seconds(20)).await?;
    assert_eq!(status.as_u16(), 200, "{answer}");
    let view = platform.dealership.order(customer.order).await?;
    assert_eq!(view.state, OrderState::Delivered);
    let handed_over = view.delivery.and_then(|d| d.handover).expect("handed over");
    assert_eq!(handed_over.at.timestamp(), checked.timestamp(), "recorded when the customer's phone showed the code");
    Ok(())
}

/// The customer's app signs the code it shows; the driver's phone checks that signature offline
/// and the platform again, so the whole path carries the customer's word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_on_the_customers_screen_is_signed_by_their_phone() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (customer, driver, delivery) = car_at_the_door(&platform, "vouch@example.com", dir.path()).await?;
    let first = customer.core.handover_code(customer.order).await?;
    let again = customer.core.present_handover_code(customer.order).await?;
    let presented = handover::parse_presented(&again.token).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(presented.shown.is_some(), "the app shows the code with its signature");
    assert!(first.token.starts_with(presented.token), "the same code, shown again");
    let claims = handover::unverified_claims(presented.token).ok_or_else(|| anyhow::anyhow!("claims"))?;
    assert!(claims.holder.is_some(), "the code names the phone that holds it");

    // Altered, the signature no longer holds, at the door or at the platform.
    let moved = {
        let shown = presented.shown.as_ref().map(|s| s.at.timestamp()).unwrap_or_default();
        again.token.replace(&format!(".{shown}."), &format!(".{}.", shown - 1))
    };
    assert!(matches!(
        driver.check_handover_code(delivery, &moved).await,
        Err(caas_core::CaasError::HandoverRefused(handover::HandoverRefusal::Forged))
    ));
    driver.check_handover_code(delivery, &again.token).await?;
    driver.confirm_handover(delivery, &again.token).await?;
    assert_eq!(platform.dealership.order(customer.order).await?.state, OrderState::Delivered);
    Ok(())
}

/// Issue 12, point 2: eight digits guessed without limit, by any driver of the company, and an
/// expired code's digits still resolving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_codes_allow_five_wrong_guesses_for_the_assigned_driver_only() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("guess@example.com", &dir.path().join("customer")).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let driver = platform.driver(DRIVER, &dir.path().join("driver")).await?;
    let job = driver.refresh_deliveries().await?.into_iter().find(|j| j.order_id == customer.order).expect("job");
    let token = platform.driver_token(DRIVER).await?;
    let url = format!("{}/v1/driver/deliveries/{}/handover-code", platform.url(), job.delivery_id);
    let genuine = customer.core.handover_code(customer.order).await?;

    // Before the car is at the door nobody resolves a code.
    let (status, _, _) = post(url.clone(), Some(&token), json!({ "short_code": genuine.short_code })).await?;
    assert_eq!(status.as_u16(), 409, "a code is only read at the door");
    driver.embark(job.delivery_id, &job.vin).await?;
    driver.arrive(job.delivery_id).await?;

    // Another driver of the same company is not the one at the door.
    let other = platform.driver_token(OTHER_DRIVER).await?;
    let (status, _, _) = post(url.clone(), Some(&other), json!({ "short_code": genuine.short_code })).await?;
    assert_eq!(status.as_u16(), 403);

    let wrong = |n: u32| format!("{:08}", (genuine.short_code.parse::<u32>().unwrap_or(0) + n) % 100_000_000);
    for n in 1..=5 {
        let (status, _, answer) = post(url.clone(), Some(&token), json!({ "short_code": wrong(n) })).await?;
        assert_eq!(status.as_u16(), 422, "wrong guess {n}: {answer}");
    }
    let (status, headers, answer) =
        post(url.clone(), Some(&token), json!({ "short_code": genuine.short_code })).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (429, Some("too_many_attempts")), "{answer}");
    assert!(headers.get("retry-after").is_some(), "a lockout says when to retry");

    // The customer shows a new code: the lockout is lifted and that code resolves.
    let fresh = customer.core.handover_code(customer.order).await?;
    let (status, _, answer) = post(url.clone(), Some(&token), json!({ "short_code": fresh.short_code })).await?;
    assert_eq!(status.as_u16(), 200, "{answer}");
    let bare = handover::parse_presented(&fresh.token).map_err(|e| anyhow::anyhow!("{e}"))?.token;
    assert_eq!(answer["token"].as_str(), Some(bare), "the platform's token, without the phone's signature");

    // An expired code's digits never resolve.
    let expired = platform.sandbox.handover_code(customer.order, 30, None).await?;
    let (status, _, answer) = post(url.clone(), Some(&token), json!({ "short_code": expired.short_code })).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("handover_code_expired")), "{answer}");

    // The platform keeps digests: neither a token nor the digits are in its files.
    for secret in [&genuine.token, &fresh.token, bare, &fresh.short_code, &genuine.short_code] {
        assert!(!stored_anywhere(&platform, secret)?, "`{secret}` is stored in plain text");
    }
    Ok(())
}

/// Issue 12, point 3: five wrong sign-in codes per code, reset by asking for a new one, forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_sign_in_codes_count_per_address_across_new_codes() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let email = "locked@example.com";
    platform.sell_to(email).await?;
    let ask = || post(format!("{}/v1/auth/sign-in-code", platform.url()), None, json!({ "email": email }));
    let try_code =
        |code: String| post(format!("{}/v1/auth/token", platform.url()), None, json!({ "email": email, "code": code }));
    assert_eq!(ask().await?.0.as_u16(), 202);
    let first = platform.sandbox.sign_in_code(email).await?;
    assert!(!stored_anywhere(&platform, &first)?, "the platform keeps no live sign-in code");
    let wrong = |code: &str| format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000);
    for _ in 0..3 {
        assert_eq!(try_code(wrong(&first)).await?.0.as_u16(), 401);
    }
    assert_eq!(ask().await?.0.as_u16(), 202, "a new code");
    let second = platform.sandbox.sign_in_code(email).await?;
    for _ in 0..2 {
        assert_eq!(try_code(wrong(&second)).await?.0.as_u16(), 401);
    }
    let (status, headers, answer) = try_code(second.clone()).await?;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (429, Some("too_many_attempts")), "{answer}");
    assert!(headers.get("retry-after").is_some());
    let (status, _, _) = ask().await?;
    assert_eq!(status.as_u16(), 429, "no new code while locked");
    Ok(())
}

/// Issue 12, point 3: asking for codes is throttled, the same for known and unknown addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_sign_in_codes_is_throttled() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    platform.sell_to("known@example.com").await?;
    for email in ["known@example.com", "nobody@example.com"] {
        for n in 0..3 {
            let (status, _, _) =
                post(format!("{}/v1/auth/sign-in-code", platform.url()), None, json!({ "email": email })).await?;
            assert_eq!(status.as_u16(), 202, "{email}, code {n}");
        }
        let (status, headers, _) =
            post(format!("{}/v1/auth/sign-in-code", platform.url()), None, json!({ "email": email })).await?;
        assert_eq!(status.as_u16(), 429, "{email}");
        assert!(headers.get("retry-after").is_some());
    }
    // Signing in with the last code clears the count.
    let code = platform.sandbox.sign_in_code("known@example.com").await?;
    let (status, _, _) =
        post(format!("{}/v1/auth/token", platform.url()), None, json!({ "email": "known@example.com", "code": code }))
            .await?;
    assert_eq!(status.as_u16(), 200);
    let (status, _, _) =
        post(format!("{}/v1/auth/sign-in-code", platform.url()), None, json!({ "email": "known@example.com" })).await?;
    assert_eq!(status.as_u16(), 202);
    Ok(())
}

/// Issue 12, point 5: a sign-in repeated with the same key handed the same live token to a caller
/// with no credentials, and the token sat in the idempotency table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_never_replayed_or_kept_by_the_idempotency_layer() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let email = "replay@example.com";
    platform.sell_to(email).await?;
    let http = reqwest::Client::new();
    http.post(format!("{}/v1/auth/sign-in-code", platform.url())).json(&json!({ "email": email })).send().await?;
    let code = platform.sandbox.sign_in_code(email).await?;
    let exchange = || {
        http.post(format!("{}/v1/auth/token", platform.url()))
            .header("idempotency-key", "sign-in-1")
            .json(&json!({ "email": email, "code": code }))
            .send()
    };
    let first = exchange().await?;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let token = first.json::<Value>().await?["access_token"].as_str().unwrap_or_default().to_owned();
    let again = exchange().await?;
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_eq!(again.status().as_u16(), 401, "the spent code signs nobody in again");
    assert!(!stored_anywhere(&platform, &token)?, "the access token is stored in plain text");

    // Answers are kept per account: a second token of the same customer finds them, another
    // customer's does not.
    let second = platform.customer_token(email).await?;
    platform.sell_to("other@example.com").await?;
    let stranger = platform.customer_token("other@example.com").await?;
    let register = |token: String| {
        http.post(format!("{}/v1/devices", platform.url()))
            .bearer_auth(token)
            .header("idempotency-key", "device-1")
            .json(&json!({ "platform": "fcm", "token": "push-token-1" }))
            .send()
    };
    let mine = register(token.clone()).await?;
    assert_eq!(mine.status().as_u16(), 201);
    let replayed = register(second).await?;
    assert_eq!(replayed.headers().get("idempotent-replayed").map(|v| v.as_bytes()), Some(&b"true"[..]));
    let theirs = register(stranger).await?;
    assert!(theirs.headers().get("idempotent-replayed").is_none(), "another customer never gets my answer");
    assert_eq!(theirs.status().as_u16(), 201);
    Ok(())
}

/// Issue 12, point 6: dealership B's sale to A's customer rewrote the national id and address
/// that A's order was then registered and delivered with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_dealerships_sale_never_changes_an_orders_owner_data() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "shared@example.com";
    let order = platform.sell_to(email).await?;
    let valencia = platform.sandbox.dealership("valencia-puerto").await?;
    let theirs = CustomerDetails {
        registration: RegistrationDetails {
            national_id: Some("87654321X".into()),
            tax_number: None,
            address: Some("Avenida del Puerto 9, 46023 Valencia".into()),
        },
        ..customer(email)
    };
    valencia
        .register_sale(&RegisterSaleRequest {
            customer: theirs,
            configuration: VehicleConfiguration { base_platform: "urban-ev".into(), options: vec![] },
            delivery_locality: "Valencia".into(),
        })
        .await?;
    let phone = platform.phone(email, dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);
    platform.build(order.id).await?;
    phone.sync().await?;
    watcher.until_state(OrderState::AwaitingFinalPayment).await?;
    let card = CardDetails { number: "4242424242424242".into(), exp_month: 12, exp_year: 2034, cvc: "123".into() };
    phone.pay(order.id, card).await?;
    let booked = watcher.until_state(OrderState::TransportScheduled).await?;
    let address = booked.delivery.and_then(|d| d.address);
    assert_eq!(address, customer(email).registration.address, "the order keeps the address its own sale took");
    Ok(())
}

/// Issue 12, point 7: a second attempt while the first waited for 3-D Secure, then the first
/// completed: two charges for one car. Also two attempts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_has_at_most_one_open_payment() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let email = "twice@example.com";
    let order = platform.sell_to(email).await?;
    let due = platform.build(order.id).await?.final_payment.expect("due").amount_due;
    let token = platform.customer_token(email).await?;
    let http = reqwest::Client::new();
    let config: Value =
        http.get(format!("{}/v1/payments/config", platform.url())).bearer_auth(&token).send().await?.json().await?;
    let method = |number: &'static str| {
        let http = http.clone();
        let config = config.clone();
        async move {
            let card = CardDetails { number: number.into(), exp_month: 12, exp_year: 2034, cvc: "123".into() };
            let method: Value = http
                .post(format!("{}/v1/payment_methods", config["gateway_url"].as_str().unwrap_or_default()))
                .bearer_auth(config["publishable_key"].as_str().unwrap_or_default())
                .json(&card)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(method["id"].as_str().unwrap_or_default().to_owned())
        }
    };
    let pay = |method: String| {
        post(
            format!("{}/v1/orders/{}/payments", platform.url(), order.id),
            Some(&token),
            json!({ "payment_method": method, "amount": due }),
        )
    };
    // An attempt the gateway refuses outright (an unknown card reference) holds nothing open.
    let (status, _, refused) = pay("pm_unknown".to_owned()).await?;
    assert!(status.is_client_error() && refused["code"] != "payment_in_progress", "{refused}");
    let (status, _, first) = pay(method("4000002760003184").await?).await?;
    assert_eq!((status.as_u16(), first["status"].as_str()), (200, Some("requires_action")), "{first}");
    let (status, _, second) = pay(method("4242424242424242").await?).await?;
    assert_eq!((status.as_u16(), second["code"].as_str()), (409, Some("payment_in_progress")), "{second}");
    platform.sandbox.complete_three_d_secure(first["id"].as_str().unwrap_or_default(), true).await?;
    let ledger = platform.sandbox.charges(order.id).await?;
    assert_eq!(ledger.len(), 1, "one charge for one car: {ledger:?}");

    // Two attempts at the same moment on another order: one opens, the other is refused.
    let racing = platform.sell_to("race@example.com").await?;
    let due = platform.build(racing.id).await?.final_payment.expect("due").amount_due;
    let token = platform.customer_token("race@example.com").await?;
    let (a, b) = (method("4000002760003184").await?, method("4000002760003184").await?);
    let url = format!("{}/v1/orders/{}/payments", platform.url(), racing.id);
    let (one, two) = tokio::join!(
        post(url.clone(), Some(&token), json!({ "payment_method": a, "amount": due })),
        post(url.clone(), Some(&token), json!({ "payment_method": b, "amount": due })),
    );
    let mut statuses = [one?.0.as_u16(), two?.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    Ok(())
}

/// Issue 12, point 4: after sign-out the old bearer token still read orders, and tokens never
/// expired. Sign-out ends the session on the platform; a refresh token works once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_and_a_refresh_token_works_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let email = "session@example.com";
    platform.sell_to(email).await?;
    let http = reqwest::Client::new();
    let read = |token: String| http.get(format!("{}/v1/orders", platform.url())).bearer_auth(token).send();

    // Over the raw API: a session, its refresh, and a replayed refresh token ending it all.
    let (status, _, _) =
        post(format!("{}/v1/auth/sign-in-code", platform.url()), None, json!({ "email": email })).await?;
    assert_eq!(status.as_u16(), 202);
    let code = platform.sandbox.sign_in_code(email).await?;
    let (_, _, session) =
        post(format!("{}/v1/auth/token", platform.url()), None, json!({ "email": email, "code": code })).await?;
    assert!(session["expires_in"].as_u64().is_some_and(|s| (1..=3600).contains(&s)), "{session}");
    let refresh = session["refresh_token"].as_str().unwrap_or_default().to_owned();
    let (status, _, renewed) =
        post(format!("{}/v1/auth/refresh", platform.url()), None, json!({ "refresh_token": refresh })).await?;
    assert_eq!(status.as_u16(), 200, "{renewed}");
    let renewed_token = renewed["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(read(renewed_token.clone()).await?.status().as_u16(), 200);
    let (status, _, _) = post(format!("{}/v1/auth/sign-out", platform.url()), Some(&renewed_token), json!({})).await?;
    assert_eq!(status.as_u16(), 204);
    assert_eq!(read(renewed_token).await?.status().as_u16(), 401, "the token no longer reads orders");
    for spent in [renewed["refresh_token"].as_str().unwrap_or_default(), refresh.as_str()] {
        let (status, _, _) =
            post(format!("{}/v1/auth/refresh", platform.url()), None, json!({ "refresh_token": spent })).await?;
        assert_eq!(status.as_u16(), 401, "nothing renews a session that ended");
    }

    // The phone renews its token before it expires and ends the session when signing out.
    let dir = tempfile::tempdir()?;
    let phone = platform.phone(email, dir.path()).await?;
    assert_eq!(platform.sandbox.live_sessions(email).await?, 1);
    let secrets = caas_core::FileSecretStore::new(dir.path().join("secrets"))?;
    let first_refresh = caas_core::SecretStore::get(&secrets, "session.refresh_token")?;
    caas_core::SecretStore::set(&secrets, "session.expires_at", &chrono::Utc::now().to_rfc3339())?;
    phone.sync().await?;
    let renewed_refresh = caas_core::SecretStore::get(&secrets, "session.refresh_token")?;
    assert!(first_refresh.is_some() && renewed_refresh != first_refresh, "the phone renewed its session");
    assert_eq!(platform.sandbox.live_sessions(email).await?, 1, "a renewal is the same session");
    phone.sign_out().await?;
    assert_eq!(platform.sandbox.live_sessions(email).await?, 0, "signing out ended the session on the platform");
    Ok(())
}

/// Issue 12, the phone's own storage: the cache is readable by its owner only, and a customer's
/// handover code queued on a driver's phone without signal leaves no copy once it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_handover_code_leaves_no_copy_on_the_drivers_phone() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;

    let platform = Platform::start().await?;
    let (customer_dir, driver_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let customer = platform.booked_customer("wal@example.com", customer_dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    platform.driver(DRIVER, driver_dir.path()).await?.refresh_deliveries().await?;
    let offline = caas_e2e::open_phone(caas_e2e::NO_SIGNAL, driver_dir.path()).await?;
    let job = offline.deliveries().await?.remove(0);
    offline.embark(job.delivery_id, &job.vin).await?;
    offline.arrive(job.delivery_id).await?;
    let code = customer.core.handover_code(customer.order).await?;
    offline.confirm_handover(job.delivery_id, &code.token).await?;
    drop(offline);

    let files = |dir: &Path| {
        ["caas.sqlite3", "caas.sqlite3-wal", "caas.sqlite3-shm"]
            .map(|name| dir.join(name))
            .into_iter()
            .filter(|p| p.exists())
    };
    let holds = |needle: &str| {
        files(driver_dir.path())
            .any(|p| std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())))
    };
    assert!(holds(&code.token), "while unsent, the code waits in the outbox");
    for file in files(driver_dir.path()) {
        assert_eq!(std::fs::metadata(&file)?.permissions().mode() & 0o777, 0o600, "{}", file.display());
    }

    let online = caas_e2e::open_phone(platform.url(), driver_dir.path()).await?;
    let report = online.sync_driver().await?;
    assert_eq!((report.sent, report.pending), (3, 0));
    assert!(!holds(&code.token), "the sent code is gone from the database and its log");
    Ok(())
}

/// A phone signed out kept its account's rows in the cache's log, in the pages written before the
/// rows were deleted, until the log was written over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_leaves_no_copy_of_the_account_in_the_caches_files() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("gone@example.com", dir.path()).await?;
    let needle = customer.order.to_string();
    let holds = || {
        ["caas.sqlite3", "caas.sqlite3-wal"].into_iter().map(|name| dir.path().join(name)).any(|path| {
            std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
    };
    assert!(holds(), "while signed in, the order is cached");
    customer.core.sign_out().await?;
    assert!(!holds(), "signed out, no copy of the order is left in the database or its log");
    Ok(())
}

/// Issue 12, phone keys: a phone that signs out keeps no key to the car.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_revokes_the_devices_phone_keys() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.delivered_customer("keys@example.com", dir.path()).await?;
    customer.core.prepare_pairing(customer.order).await?;
    let issued = customer.core.order(customer.order).await;
    let revoked = |events: &[caas_core::protocol::api::OrderEvent]| {
        events.iter().filter(|e| matches!(e.kind, EventKind::KeyRevoked { .. })).count()
    };
    assert_eq!(revoked(&platform.sandbox.order_events(customer.order).await?), 0, "{issued:?}");
    customer.core.sign_out().await?;
    assert_eq!(revoked(&platform.sandbox.order_events(customer.order).await?), 1, "the device's key was revoked");
    Ok(())
}

/// Issue 12, phone keys: issuing an owner key to a new device needs a fresh proof of the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_phone_becomes_a_key_only_right_after_a_sign_in() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "stepup@example.com";
    let customer = platform.delivered_customer(email, dir.path()).await?;
    platform.sandbox.advance_clock(11 * 60).await?;
    match customer.core.prepare_pairing(customer.order).await {
        Err(caas_core::CaasError::Pairing { failure: caas_core::PairingFailure::ConfirmIdentity, .. }) => {}
        other => panic!("a session signed in eleven minutes ago made a new key: {other:?}"),
    }
    customer.core.request_sign_in_code(email).await?;
    let code = platform.sandbox.sign_in_code(email).await?;
    customer.core.sign_in(email, &code).await?;
    customer.core.prepare_pairing(customer.order).await?;
    Ok(())
}

/// Issue 12, point 7: a charge for an order already paid is given back, in the gateway's ledger
/// and on the purchase record the phone shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_for_a_paid_order_is_refunded_and_shown() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let mut customer = platform.booked_customer("refund@example.com", dir.path()).await?;
    let again = platform.sandbox.duplicate_charge(customer.order).await?;
    let refunded = customer.watcher.until("the refund", |o| !o.refunds.is_empty()).await?;
    assert_eq!(refunded.refunds.len(), 1);
    assert_eq!(refunded.refunds[0].payment_id, again.id);
    assert_eq!(refunded.refunds[0].amount, again.amount);
    let ledger = platform.sandbox.charges(customer.order).await?;
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    let refunded_charges: Vec<_> = ledger.iter().filter(|c| c["refunded_at"].is_string()).collect();
    assert_eq!(refunded_charges.len(), 1, "only the charge the order did not need: {ledger:?}");
    assert_eq!(refunded_charges[0]["intent_id"], again.id.as_str());
    Ok(())
}

/// Issue 12, handover: the customer is told at once of every handover on their order and can
/// dispute it; the dealership is told, and nobody else can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_is_told_of_a_handover_and_can_dispute_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let mut customer = platform.delivered_customer("dispute@example.com", dir.path()).await?;
    let handed_over = platform
        .sandbox
        .order_events(customer.order)
        .await?
        .into_iter()
        .find(|e| matches!(e.kind, EventKind::HandedOver { .. }))
        .context("the handover is on the order's log")?;
    let told: Vec<String> = platform
        .sandbox
        .messages(Some(customer.order), None)
        .await?
        .iter()
        .filter(|m| m["event_id"] == handed_over.event_id.to_string().as_str())
        .filter_map(|m| m["channel"].as_str().map(str::to_owned))
        .collect();
    for channel in ["sse", "email", "sms"] {
        assert!(told.iter().any(|c| c == channel), "the handover reached the customer by {channel}: {told:?}");
    }

    let stranger = platform.customer_token("stranger@example.com").await;
    assert!(stranger.is_err(), "a stranger has no account yet");
    platform.sell_to("stranger@example.com").await?;
    let stranger = platform.customer_token("stranger@example.com").await?;
    let url = format!("{}/v1/orders/{}/handover/dispute", platform.url(), customer.order);
    let (status, _, _) = post(url.clone(), Some(&stranger), json!({ "reason": "not mine" })).await?;
    assert_eq!(status.as_u16(), 404, "only the order's customer disputes its handover");

    customer.core.dispute_handover(customer.order, "nobody came; I have no car").await?;
    let disputed =
        customer.watcher.until("the dispute", |o| o.delivery.as_ref().is_some_and(|d| d.dispute.is_some())).await?;
    assert_eq!(
        disputed.delivery.and_then(|d| d.dispute).map(|d| d.reason).as_deref(),
        Some("nobody came; I have no car")
    );
    let to_dealership = platform.sandbox.messages(Some(customer.order), Some("email")).await?;
    assert!(
        to_dealership.iter().any(|m| m["recipient"].as_str().is_some_and(|r| r.contains("madrid-centro"))
            && m["payload"].to_string().contains("nobody came")),
        "the dealership is told at once: {to_dealership:?}"
    );
    match customer.core.dispute_handover(customer.order, "again").await {
        Err(caas_core::CaasError::Rejected { .. }) => {}
        other => panic!("a handover is disputed once: {other:?}"),
    }
    Ok(())
}

/// Review of issue 12's payments: a charge that is not the customer's own payment never pays the
/// order (it is given back, and the customer's payment still counts); a payment begun before the
/// deadline may finish after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_customers_own_payment_counts_and_may_finish_past_the_deadline() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "ownpay@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);
    platform.build(order.id).await?;
    phone.sync().await?;
    watcher.until_state(OrderState::AwaitingFinalPayment).await?;

    let stranger = platform.sandbox.duplicate_charge(order.id).await?;
    let refunded = watcher.until("the refund", |o| !o.refunds.is_empty()).await?;
    assert_eq!(refunded.refunds[0].payment_id, stranger.id);
    assert_eq!(refunded.summary.state, OrderState::AwaitingFinalPayment, "another channel's charge paid nothing");

    // The customer starts paying with 3-D Secure before the deadline and finishes after it.
    let card = CardDetails { number: "4000002760003184".into(), exp_month: 12, exp_year: 2034, cvc: "123".into() };
    let caas_core::PaymentProgress::RequiresAction { payment_id, .. } = phone.pay(order.id, card).await? else {
        panic!("3-D Secure expected");
    };
    platform.sandbox.advance_clock(7 * 86_400 + 60).await?;
    assert_eq!(
        platform.dealership.order(order.id).await?.state,
        OrderState::AwaitingFinalPayment,
        "a payment begun in time keeps the reservation for a while"
    );
    platform.sandbox.complete_three_d_secure(&payment_id, true).await?;
    watcher.until_state(OrderState::TransportScheduled).await?;
    let ledger = platform.sandbox.charges(order.id).await?;
    assert_eq!(ledger.iter().filter(|c| c["refunded_at"].is_null()).count(), 1, "one charge kept: {ledger:?}");
    Ok(())
}

/// Review of issue 12's handover: a confirmation dated back never predates the code, so the
/// customer's seven days to dispute start no earlier than the handover could have happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_dated_back_keeps_the_customers_time_to_dispute() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (customer, _driver, delivery) = car_at_the_door(&platform, "backdated@example.com", dir.path()).await?;
    let code = customer.core.handover_code(customer.order).await?;
    let issued_no_earlier_than = chrono::Utc::now() - TimeDelta::minutes(1);
    let backdated = chrono::Utc::now() - TimeDelta::days(7) + TimeDelta::minutes(1);
    let token = platform.driver_token(DRIVER).await?;
    let (status, _, answer) = post(
        format!("{}/v1/driver/deliveries/{delivery}/actions", platform.url()),
        Some(&token),
        json!({ "at": backdated, "action": "confirm_handover", "code": code.token, "verified_at": backdated }),
    )
    .await?;
    assert_eq!(status.as_u16(), 200, "{answer}");
    let view = platform.dealership.order(customer.order).await?;
    let handed_over = view.delivery.and_then(|d| d.handover).expect("handed over");
    assert!(handed_over.at >= issued_no_earlier_than, "dated {} although the code is newer", handed_over.at);
    customer.core.dispute_handover(customer.order, "that was not me").await?;
    Ok(())
}
