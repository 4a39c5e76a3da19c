//! Options after delivery, end to end: the catalogue for the car, a purchase through the payment
//! machinery, the platform's signed entitlement reaching the car over the owner's BLE link (in a
//! garage without signal too) or over the connected-car network with the phone away, the car's
//! signed receipt recorded as `option_activated`, and the refund of an option the car never
//! confirmed. Hostile and concurrent callers: forged receipts, an expired entitlement, two
//! conflicting options bought at once.

use std::time::Duration;

use caas_core::protocol::api::{EventKind, Money};
use caas_core::protocol::options::{ActivationChannel, Availability, OptionCode, OptionKind, PurchaseStatus};
use caas_core::protocol::pairing::api::encode;
use caas_core::{CaasError, LinkConditions, PairingFailure, PairingOptions, PaymentProgress, PaymentRefusal};
use caas_e2e::{BookedCustomer, NO_SIGNAL, Platform, card, open_phone};
use serde_json::json;

fn code(text: &str) -> OptionCode {
    OptionCode::parse(text).expect("an option code")
}

fn euros(amount_minor: i64) -> Money {
    Money { amount_minor, currency: "EUR".into() }
}

/// Ana's Urban EV, handed over and linked to her phone: `operational`.
async fn operational(
    platform: &Platform,
    dir: &std::path::Path,
    factory: &[&str],
) -> anyhow::Result<(BookedCustomer, String)> {
    let mut ana = platform.delivered_customer_with("ana@example.com", dir, factory).await?;
    let radio = platform.radio(LinkConditions::default());
    ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    let detail = ana.watcher.until_state(caas_core::protocol::OrderState::Operational).await?;
    Ok((ana, detail.vin.expect("a delivered car has a VIN")))
}

fn refusal<T: std::fmt::Debug>(result: Result<T, CaasError>) -> PaymentRefusal {
    match result {
        Err(CaasError::PaymentRefused { refusal, .. }) => refusal,
        other => panic!("expected a payment refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_bought_in_a_garage_is_activated_over_the_link_and_the_car_lists_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, dir.path(), &["heat-pump"]).await?;
    assert!(ana.core.order(ana.order).await?.actions.contains(&caas_core::CustomerAction::BuyOptions));

    // The catalogue of an Urban EV, for this car.
    let catalogue = ana.core.option_catalogue(ana.order).await?;
    let offer = |text| catalogue.offers.iter().find(|o| o.code == code(text)).cloned().expect(text);
    let seats = offer("heated-seats");
    assert_eq!(
        (seats.availability.clone(), seats.kind, seats.price.clone()),
        (Availability::Available, OptionKind::Software, euros(30_000))
    );
    assert_eq!(seats.name, "Asientos calefactados", "named in the customer's language");
    assert_eq!(offer("roof-rails").availability, Availability::NeedsWorkshop);
    assert_eq!(offer("performance-boost").availability, Availability::Requires { option: code("long-range-battery") });
    assert!(catalogue.offers.iter().all(|o| o.code != code("trailer-assist")), "not offered for this platform");

    // The car is parked underground: the connected-car network cannot reach it.
    platform.sandbox.set_coverage(&vin, false).await?;
    let paid = ana.core.buy_option(ana.order, code("heated-seats"), euros(30_000), card("4242424242424242")).await?;
    assert!(matches!(paid, PaymentProgress::Succeeded { .. }), "{paid:?}");
    let waiting = ana.watcher.until("the purchase", |o| !o.options.is_empty()).await?;
    assert_eq!(waiting.options[0].status, PurchaseStatus::Paid);
    // Bought once: the same option again is refused before any charge, as is another price.
    let cheaper = ana.core.buy_option(ana.order, code("eco-range-mode"), euros(1), card("4242424242424242")).await;
    assert_eq!(refusal(cheaper), PaymentRefusal::AmountChanged);
    let again = ana.core.buy_option(ana.order, code("heated-seats"), euros(30_000), card("4242424242424242")).await;
    assert_eq!(refusal(again), PaymentRefusal::OptionUnavailable);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(platform.sandbox.vehicle(&vin).await?.options.is_empty(), "nothing reached the car over the network");

    // In the garage without signal the phone hands the entitlement over; the receipt waits.
    let radio = platform.radio(LinkConditions::default());
    let offline = open_phone(NO_SIGNAL, dir.path()).await?;
    let done = offline.activate_options(ana.order, &radio, PairingOptions::default(), None).await?;
    assert_eq!(done.activated, vec![code("heated-seats")]);
    assert_eq!(done.car_options, vec![code("heated-seats")], "the car lists it");
    assert!(!done.reported);
    assert_eq!(platform.sandbox.vehicle(&vin).await?.options, vec!["heated-seats".to_owned()]);
    drop(offline);

    // Signal again: the next sync hands the car's receipt to the platform.
    ana.core.sync().await?;
    let active = ana
        .watcher
        .until("the option active", |o| o.options.iter().any(|p| p.status == PurchaseStatus::Activated))
        .await?;
    let purchase = &active.options[0];
    assert_eq!(purchase.activated_via, Some(ActivationChannel::Bluetooth));
    assert!(purchase.entitlement.is_none(), "an activated option carries no entitlement");
    let events = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::OptionPurchased { .. })).count(), 1);
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::OptionActivated { .. })).count(), 1);
    let sms = platform.sandbox.messages(Some(ana.order), Some("sms")).await?;
    assert!(
        sms.iter()
            .any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("Asientos calefactados ya está activo")))
    );
    // The catalogue now has it on the car; nothing waits for the car any more.
    let catalogue = ana.core.option_catalogue(ana.order).await?;
    assert!(
        catalogue.offers.iter().any(|o| o.code == code("heated-seats") && o.availability == Availability::Installed)
    );
    let nothing = ana.core.activate_options(ana.order, &radio, PairingOptions::default(), None).await?;
    assert!(nothing.activated.is_empty() && nothing.status.is_none());
    // The purchase record still verifies with the option on it.
    ana.core.sync().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_phone_away_the_connected_car_network_activates_the_option() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, dir.path(), &["heat-pump"]).await?;
    ana.core.buy_option(ana.order, code("connected-navigation"), euros(19_900), card("4242424242424242")).await?;
    let active = ana
        .watcher
        .until("the option active", |o| o.options.iter().any(|p| p.status == PurchaseStatus::Activated))
        .await?;
    assert_eq!(active.options[0].activated_via, Some(ActivationChannel::ConnectedCar));
    assert_eq!(platform.sandbox.vehicle(&vin).await?.options, vec!["connected-navigation".to_owned()]);
    let sms = platform.sandbox.messages(Some(ana.order), Some("sms")).await?;
    assert!(
        sms.iter()
            .any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("Navegación conectada ya está activo")))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_the_car_never_confirms_is_refused_once_expired_then_refunded_and_the_customer_told()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, dir.path(), &["heat-pump"]).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    ana.core.buy_option(ana.order, code("eco-range-mode"), euros(9_900), card("4242424242424242")).await?;
    ana.watcher.until("the purchase", |o| !o.options.is_empty()).await?;

    // Past the activation window the car refuses the entitlement the phone still holds.
    platform.sandbox.advance_clock(73 * 3_600).await?;
    let radio = platform.radio(LinkConditions::default());
    let late = ana.core.activate_options(ana.order, &radio, PairingOptions::default(), None).await?;
    assert_eq!(late.refused, vec![(code("eco-range-mode"), PairingFailure::EntitlementExpired)]);
    assert!(late.status.is_some() && late.car_options.is_empty());

    // A day later the purchase is refunded and the customer told.
    platform.sandbox.advance_clock(24 * 3_600).await?;
    let refunded =
        ana.watcher.until("the refund", |o| o.options.iter().any(|p| p.status == PurchaseStatus::Refunded)).await?;
    assert!(refunded.options[0].refunded_at.is_some());
    let charges = platform.sandbox.charges(ana.order).await?;
    let option_charge = charges.iter().find(|c| c["amount"]["amount_minor"] == 9_900).expect("the option's charge");
    assert!(!option_charge["refunded_at"].is_null(), "{option_charge}");
    let sms = platform.sandbox.messages(Some(ana.order), Some("sms")).await?;
    assert!(
        sms.iter()
            .any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("99.00 EUR") || b.contains("99,00"))),
        "{sms:?}"
    );
    // It can be bought again.
    let catalogue = ana.core.option_catalogue(ana.order).await?;
    assert!(
        catalogue.offers.iter().any(|o| o.code == code("eco-range-mode") && o.availability == Availability::Available)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_the_car_did_not_sign_for_this_purchase_are_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, dir.path(), &["heat-pump"]).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    ana.core.buy_option(ana.order, code("heated-seats"), euros(30_000), card("4242424242424242")).await?;
    let waiting = ana.watcher.until("the purchase", |o| !o.options.is_empty()).await?;
    let purchase = waiting.options[0].purchase_id;
    let token = platform.customer_token("ana@example.com").await?;
    let http = reqwest::Client::new();
    let post = |receipt: Vec<u8>| {
        http.post(format!("{}/v1/orders/{}/options/receipts", platform.url(), ana.order))
            .bearer_auth(&token)
            .json(&json!({ "receipt": encode(&receipt) }))
            .send()
    };
    // A receipt signed by a key that is not the car's.
    let forger = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("key");
    let vin_parsed = caas_core::protocol::pairing::Vin::parse(&vin).expect("vin");
    let signed =
        caas_core::protocol::pairing::OptionReceipt::signed_part(&vin_parsed, purchase, &code("heated-seats"), 1);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(forger.sign(&signed).as_ref());
    let forged = caas_core::protocol::pairing::OptionReceipt {
        vin: vin_parsed.clone(),
        entitlement_id: purchase,
        option: code("heated-seats"),
        activated_at: 1,
        signature,
    };
    let answer = post(forged.encode()).await?;
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.json::<serde_json::Value>().await?["code"], "option_receipt_invalid");
    // One naming a purchase that does not exist, and bytes that are no receipt.
    let unknown = caas_core::protocol::pairing::OptionReceipt { entitlement_id: uuid::Uuid::new_v4(), ..forged };
    assert_eq!(post(unknown.encode()).await?.status(), 409);
    assert_eq!(post(vec![0; 20]).await?.status(), 422);
    assert_eq!(post(vec![0; 4_000]).await?.status(), 422);
    // Nothing changed: the option still waits for the car.
    let events = platform.sandbox.order_events(ana.order).await?;
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::OptionActivated { .. })));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_conflicting_options_bought_at_once_end_with_one_on_the_car_and_the_other_refunded() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (ana, vin) = operational(&platform, dir.path(), &["long-range-battery"]).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    // The same account on a second phone: both buy at once, options that cannot go together.
    let tablet_dir = tempfile::tempdir()?;
    let tablet = platform.phone("ana@example.com", tablet_dir.path()).await?;
    tablet.sync().await?;
    let (eco, boost) = tokio::join!(
        ana.core.buy_option(ana.order, code("eco-range-mode"), euros(9_900), card("4242424242424242")),
        tablet.buy_option(ana.order, code("performance-boost"), euros(150_000), card("4242424242424242")),
    );
    // Whatever the interleaving, one option is the car's and any other charge is given back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let events = platform.sandbox.order_events(ana.order).await?;
        let purchased = events.iter().filter(|e| matches!(e.kind, EventKind::OptionPurchased { .. })).count();
        let refunded = events.iter().filter(|e| matches!(e.kind, EventKind::PaymentRefunded { .. })).count();
        let charged = [&eco, &boost].iter().filter(|r| matches!(r, Ok(PaymentProgress::Succeeded { .. }))).count();
        if purchased == 1 && refunded + 1 == charged {
            break;
        }
        assert!(purchased <= 1, "two conflicting options on one car: {events:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "charged {charged}, purchased {purchased}, refunded {refunded}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Activates over the link with no signal and keeps the receipt on the phone: the purchase waits.
async fn activated_in_the_garage(
    platform: &Platform,
    dir: &std::path::Path,
) -> anyhow::Result<(BookedCustomer, String)> {
    let (mut ana, vin) = operational(platform, dir, &["heat-pump"]).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    ana.core.buy_option(ana.order, code("heated-seats"), euros(30_000), card("4242424242424242")).await?;
    ana.watcher.until("the purchase", |o| !o.options.is_empty()).await?;
    let radio = platform.radio(LinkConditions::default());
    let offline = open_phone(NO_SIGNAL, dir).await?;
    let done = offline.activate_options(ana.order, &radio, PairingOptions::default(), None).await?;
    assert!(!done.reported && done.activated == vec![code("heated-seats")]);
    Ok((ana, vin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_never_reached_the_platform_is_fetched_from_the_car_and_nothing_is_refunded()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = activated_in_the_garage(&platform, dir.path()).await?;
    // The activation window ends with the receipt still on the phone; the car comes back in range.
    platform.sandbox.advance_clock(73 * 3_600).await?;
    platform.sandbox.set_coverage(&vin, true).await?;
    let active = ana
        .watcher
        .until("the option active", |o| o.options.iter().any(|p| p.status == PurchaseStatus::Activated))
        .await?;
    assert_eq!(active.options[0].activated_via, Some(ActivationChannel::ConnectedCar), "asked of the car");
    platform.sandbox.advance_clock(48 * 3_600).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = platform.sandbox.order_events(ana.order).await?;
    assert!(
        !events.iter().any(|e| matches!(e.kind, EventKind::OptionRefunded { .. })),
        "an active option is kept paid"
    );
    // The phone's receipt, reported late, changes nothing.
    ana.core.sync().await?;
    let events = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::OptionActivated { .. })).count(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_refunded_while_the_car_was_unreachable_is_switched_off_when_it_is_back_in_coverage()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = activated_in_the_garage(&platform, dir.path()).await?;
    // The phone keeps its receipt to itself; the car stays out of reach past the receipt grace.
    platform.sandbox.advance_clock(97 * 3_600).await?;
    ana.watcher.until("the refund", |o| o.options.iter().any(|p| p.status == PurchaseStatus::Refunded)).await?;
    assert_eq!(
        platform.sandbox.vehicle(&vin).await?.options,
        vec!["heated-seats".to_owned()],
        "still on, out of reach"
    );
    platform.sandbox.set_coverage(&vin, true).await?;
    assert!(platform.sandbox.vehicle(&vin).await?.options.is_empty(), "switched off once in coverage");
    // The receipt reported now is refused, and the option is not active on the record.
    ana.core.sync().await?;
    let events = platform.sandbox.order_events(ana.order).await?;
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::OptionActivated { .. })));
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::OptionRefunded { .. })).count(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_the_bank_must_confirm_is_bought_once_after_3_d_secure() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut ana, vin) = operational(&platform, dir.path(), &["heat-pump"]).await?;
    platform.sandbox.set_coverage(&vin, false).await?;
    let seats = code("heated-seats");
    let PaymentProgress::RequiresAction { payment_id, url } =
        ana.core.buy_option(ana.order, seats.clone(), euros(30_000), card("4000002760003184")).await?
    else {
        panic!("the bank asks for 3-D Secure");
    };
    assert!(url.contains(&payment_id));
    assert_eq!(ana.core.order(ana.order).await?.option_payments_in_flight, vec![seats.clone()]);
    // While the bank waits, a second card for the same option is refused: one attempt at a time.
    let again = ana.core.buy_option(ana.order, seats.clone(), euros(30_000), card("4242424242424242")).await;
    assert!(
        matches!(again, Err(CaasError::Rejected { code: caas_core::protocol::api::ErrorCode::PaymentInProgress, .. })),
        "{again:?}"
    );
    platform.sandbox.complete_three_d_secure(&payment_id, true).await?;
    let resumed = ana.core.resume_option_payment(ana.order, seats.clone()).await?;
    assert!(matches!(resumed, Some(PaymentProgress::Succeeded { .. }) | None), "{resumed:?}");
    let bought = ana.watcher.until("the purchase", |o| !o.options.is_empty()).await?;
    assert_eq!(bought.options.len(), 1);
    assert!(bought.option_payments_in_flight.is_empty());
    let charges = platform.sandbox.charges(ana.order).await?;
    assert_eq!(
        charges.iter().filter(|c| c["amount"]["amount_minor"] == 30_000).count(),
        1,
        "charged once: {charges:?}"
    );
    Ok(())
}
