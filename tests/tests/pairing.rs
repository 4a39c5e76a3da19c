//! Pairing the owner's phone with the car after delivery, end to end: the platform's grant, the
//! simulated BLE link to the mock's car at every MTU, lost replies and dropped links, revoked and
//! stale keys, and a pairing without signal whose receipt reaches the platform later.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::pairing::{
    AdvertisingKey, ExpectedVehicle, RotatingId, SUPPORTED_SUITES, Vin, fragment, phone_start,
};
use caas_core::{
    BleTransport as _, CaasError, CustomerAction, FileSecretStore, LinkConditions, PairingFailure, PairingListener,
    PairingOptions, PairingStep, SecretStore as _, SimulatedTransport,
};
use caas_e2e::{BookedCustomer, NO_SIGNAL, Platform, open_phone};
use ring::rand::SystemRandom;

fn failure<T: std::fmt::Debug>(result: Result<T, CaasError>) -> PairingFailure {
    match result {
        Err(CaasError::Pairing { failure, .. }) => failure,
        other => panic!("expected a pairing failure, got {other:?}"),
    }
}

/// Quick to give up, for tests whose car is meant to stay silent.
fn impatient() -> PairingOptions {
    PairingOptions {
        scan_timeout: Duration::from_secs(2),
        reply_timeout: Duration::from_millis(500),
        ..PairingOptions::default()
    }
}

/// A platform with Ana's car handed over to her, and the simulated radio to it.
struct Delivered {
    platform: Platform,
    dir: tempfile::TempDir,
    ana: BookedCustomer,
    radio: SimulatedTransport,
}

async fn delivered() -> anyhow::Result<Delivered> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let ana = platform.delivered_customer("ana@example.com", dir.path()).await?;
    let radio = platform.radio(LinkConditions::default());
    Ok(Delivered { platform, dir, ana, radio })
}

#[derive(Default)]
struct Steps(Mutex<Vec<PairingStep>>);

impl PairingListener for Steps {
    fn on_step(&self, step: PairingStep) {
        self.0.lock().expect("steps").push(step);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_customer_pairs_and_the_car_becomes_operational() -> anyhow::Result<()> {
    let Delivered { platform, dir: _dir, mut ana, radio } = delivered().await?;
    let vin = ana.core.order(ana.order).await?.vin.expect("a built car has a VIN");
    assert_eq!(platform.sandbox.vehicle(&vin).await?.linked_phones, 0);

    let steps = Arc::new(Steps::default());
    let paired = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), Some(steps.as_ref())).await?;
    assert_eq!(paired.vin, vin);
    assert!(paired.reported && paired.status.owner_linked && paired.status.locked);
    assert_eq!(
        *steps.0.lock().expect("steps"),
        vec![PairingStep::Scanning, PairingStep::Connecting, PairingStep::Authenticating, PairingStep::Linked]
    );
    // Handshake, "link app", "read status": three round trips at MTU 185, two to the first reply.
    assert_eq!((paired.link.total.round_trips, paired.link.mtu), (3, 185));
    assert_eq!(paired.link.to_first_reply.round_trips, 2);
    assert!(paired.link.total.air_time.is_some_and(|t| t >= Duration::from_millis(30 * 10)));
    assert!(paired.link.to_first_reply.air_time < paired.link.total.air_time);

    let operational = ana.watcher.until_state(OrderState::Operational).await?;
    assert_eq!(operational.actions, vec![CustomerAction::BuyOptions, CustomerAction::BookService]);
    let states: Vec<_> = operational.timeline.iter().map(|t| t.state).collect();
    assert!(states.ends_with(&[OrderState::Delivered, OrderState::AppLinked, OrderState::Operational]));
    let link = operational.app_link.clone().expect("the car's link is on the order");
    assert_eq!(link.grant_id, paired.grant_id);
    assert_eq!(operational.phone_keys.len(), 1);
    assert_eq!(operational.phone_keys[0].linked_at, Some(link.linked_at));
    let car = platform.sandbox.vehicle(&vin).await?;
    assert_eq!((car.on_air, car.linked_phones, car.links_executed), (true, 1, 1));
    let sms = platform.sandbox.messages(Some(ana.order), Some("sms")).await?;
    assert!(sms.iter().any(|m| m["payload"]["body"].as_str().is_some_and(|b| b.contains("llave móvil"))));

    // Pairing again later (a new phone session) uses the same key and changes nothing.
    let again = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    assert_eq!(again.grant_id, paired.grant_id);
    let issued = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(issued.iter().filter(|e| matches!(e.kind, EventKind::KeyIssued { .. })).count(), 1);
    assert_eq!(issued.iter().filter(|e| matches!(e.kind, EventKind::AppLinked { .. })).count(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mtu_pairs_and_a_link_dropped_mid_frame_leaves_nothing_behind() -> anyhow::Result<()> {
    let Delivered { platform, dir: _dir, ana, .. } = delivered().await?;
    let vin = ana.core.order(ana.order).await?.vin.expect("vin");

    // The link drops after two writes: in the middle of the first message at MTU 23.
    let dropping = platform.radio(LinkConditions { mtu: 23, drop_after_writes: Some(2), ..LinkConditions::default() });
    let options = PairingOptions { attempts: 1, ..impatient() };
    assert_eq!(
        failure(ana.core.pair_vehicle(ana.order, &dropping, options, None).await),
        PairingFailure::ConnectionLost
    );
    assert_eq!(platform.sandbox.vehicle(&vin).await?.commands_executed, 0, "a half message is never acted on");

    let mut bytes_at = Vec::new();
    for mtu in [23, 185, 247, 517] {
        let radio = platform.radio(LinkConditions { mtu, ..LinkConditions::default() });
        let paired = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
        assert_eq!(paired.link.mtu, mtu);
        bytes_at.push((mtu, paired.link.total.bytes_to_car, paired.link.total.air_time.expect("simulated")));
    }
    // Smaller chunks cost more writes (each waits a connection interval), never more payload.
    assert!(bytes_at[0].2 > bytes_at[1].2, "MTU 23 takes longer on the air than 185: {bytes_at:?}");
    // The same messages at every MTU (give or take the few bytes an ECDSA signature varies by).
    assert!(bytes_at.windows(2).all(|w| w[0].1.abs_diff(w[1].1) <= 4), "{bytes_at:?}");

    // A lossy link gets there on retransmissions, later.
    let lossy = platform.radio(LinkConditions { loss_percent: 20, seed: 7, ..LinkConditions::default() });
    let paired = ana.core.pair_vehicle(ana.order, &lossy, PairingOptions::default(), None).await?;
    assert!(paired.link.total.air_time.expect("simulated") > bytes_at[1].2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_is_answered_again_from_the_cars_memory_not_run_twice() -> anyhow::Result<()> {
    let Delivered { platform, dir: _dir, mut ana, radio } = delivered().await?;
    let vin = ana.core.order(ana.order).await?.vin.expect("vin");
    platform.sandbox.drop_vehicle_replies(&vin, 1).await?;
    let paired = ana.core.pair_vehicle(ana.order, &radio, impatient(), None).await?;
    assert_eq!(paired.link.total.round_trips, 4, "the link command went twice");
    let car = platform.sandbox.vehicle(&vin).await?;
    assert_eq!((car.links_executed, car.commands_executed), (1, 2), "linked once, status read once");
    ana.watcher.until_state(OrderState::Operational).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_before_delivery_and_a_revoked_key_is_refused_by_car_and_platform() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let booked = platform.booked_customer("ana@example.com", dir.path()).await?;
    let radio = platform.radio(LinkConditions::default());
    assert_eq!(
        failure(booked.core.pair_vehicle(booked.order, &radio, impatient(), None).await),
        PairingFailure::NotDelivered
    );
    let offline = open_phone(NO_SIGNAL, dir.path()).await?;
    assert_eq!(
        failure(offline.pair_vehicle(booked.order, &radio, impatient(), None).await),
        PairingFailure::NotDelivered
    );
    drop((booked, offline));

    let other_dir = tempfile::tempdir()?;
    let bea = platform.delivered_customer("bea@example.com", other_dir.path()).await?;
    let paired = bea.core.pair_vehicle(bea.order, &radio, PairingOptions::default(), None).await?;
    platform.sandbox.revoke_grant(paired.grant_id).await?;
    // The phone still holds the grant; the car refuses it, and the platform issues no new one.
    assert_eq!(
        failure(bea.core.pair_vehicle(bea.order, &radio, impatient(), None).await),
        PairingFailure::GrantRevoked
    );
    assert_eq!(failure(bea.core.prepare_pairing(bea.order).await), PairingFailure::GrantRevoked);
    // Bea's new phone (a new device key) gets a key of its own.
    let new_phone_dir = tempfile::tempdir()?;
    let new_phone = platform.phone("bea@example.com", new_phone_dir.path()).await?;
    new_phone.sync().await?;
    let second = new_phone.pair_vehicle(bea.order, &radio, PairingOptions::default(), None).await?;
    assert_ne!(second.grant_id, paired.grant_id);
    let keys = new_phone.order(bea.order).await?.phone_keys;
    assert_eq!(keys.iter().map(|k| k.revoked).collect::<Vec<_>>(), vec![true, false]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_past_its_end_is_replaced_and_the_car_found_on_the_platforms_clock() -> anyhow::Result<()> {
    let Delivered { platform, dir: _dir, ana, radio } = delivered().await?;
    let first = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    // A month later by the platform's (and the car's) clock: the grant has expired and the car
    // advertises another identifier than the phone expects.
    platform.sandbox.advance_clock(31 * 24 * 3600).await?;
    let later = ana.core.pair_vehicle(ana.order, &radio, impatient(), None).await?;
    assert_ne!(later.grant_id, first.grant_id);
    let keys = ana.core.order(ana.order).await?.phone_keys;
    assert_eq!(keys.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_without_signal_reports_the_link_when_signal_returns() -> anyhow::Result<()> {
    let Delivered { platform, dir, ana, radio } = delivered().await?;
    // The app fetched the key when the car was handed over.
    ana.core.prepare_pairing(ana.order).await?;
    let vin = ana.core.order(ana.order).await?.vin.expect("vin");

    // In the car park without signal: the car links the phone; the platform does not know yet.
    let offline = open_phone(NO_SIGNAL, dir.path()).await?;
    let paired = offline.pair_vehicle(ana.order, &radio, impatient(), None).await?;
    assert!(!paired.reported);
    assert_eq!(platform.sandbox.vehicle(&vin).await?.linked_phones, 1);
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::Delivered);
    drop(offline);

    // Signal again: the next sync hands the car's receipt over.
    let online = open_phone(platform.url(), dir.path()).await?;
    online.sync().await?;
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::Operational);
    assert_eq!(online.order(ana.order).await?.summary.state, OrderState::Operational);
    online.sync().await?;
    let events = platform.sandbox.order_events(ana.order).await?;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::AppLinked { .. })).count(), 1, "reported once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_for_a_key_revoked_meanwhile_is_dropped_and_sync_goes_on() -> anyhow::Result<()> {
    let Delivered { platform, dir, ana, radio } = delivered().await?;
    ana.core.prepare_pairing(ana.order).await?;
    let offline = open_phone(NO_SIGNAL, dir.path()).await?;
    let paired = offline.pair_vehicle(ana.order, &radio, impatient(), None).await?;
    assert!(!paired.reported);
    drop(offline);
    // The phone was reported lost before it found signal again.
    platform.sandbox.revoke_grant(paired.grant_id).await?;
    let online = open_phone(platform.url(), dir.path()).await?;
    online.sync().await?;
    online.sync().await?;
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::Delivered, "no link on a revoked key");
    let keys = online.order(ana.order).await?.phone_keys;
    assert_eq!(keys.iter().map(|k| (k.revoked, k.linked_at.is_some())).collect::<Vec<_>>(), vec![(true, false)]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_forgets_the_phone_keys() -> anyhow::Result<()> {
    let Delivered { platform, dir, ana, radio } = delivered().await?;
    let first = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    let order = ana.order;
    drop(ana);
    let phone = open_phone(platform.url(), dir.path()).await?;
    phone.sign_out().await?;
    let secrets: Vec<_> = std::fs::read_dir(dir.path().join("secrets"))?.collect::<Result<_, _>>()?;
    assert!(secrets.is_empty(), "no session, device key or car key is left: {secrets:?}");
    // Signing in again makes a new device key, which gets a new grant.
    let again = platform.phone("ana@example.com", dir.path()).await?;
    again.sync().await?;
    let second = again.pair_vehicle(order, &radio, PairingOptions::default(), None).await?;
    assert_ne!(second.grant_id, first.grant_id);
    Ok(())
}

/// The car's advertising key as the phone in `dir` keeps it.
fn advertising_key(dir: &std::path::Path, order: uuid::Uuid) -> anyhow::Result<AdvertisingKey> {
    use base64::Engine as _;
    let secrets = FileSecretStore::new(dir.join("secrets"))?;
    let stored = secrets.get(&format!("pairing.advertising.{order}"))?.context("the phone keeps the key")?;
    let secret: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(stored.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("32 bytes"))?;
    Ok(AdvertisingKey::new(&secret))
}

/// Whether `key` recognises a car on the air now.
async fn recognised(radio: &SimulatedTransport, key: &AdvertisingKey) -> anyhow::Result<bool> {
    let now = chrono::Utc::now().timestamp();
    Ok(radio
        .scan(Duration::from_secs(1))
        .await?
        .iter()
        .any(|ad| <[u8; 8]>::try_from(ad.service_data.as_slice()).is_ok_and(|id| key.recognises(RotatingId(id), now))))
}

/// Whether the car on the air answers a hello proving `key` at all.
async fn hello_answered(radio: &SimulatedTransport, key: &AdvertisingKey) -> anyhow::Result<bool> {
    let car = radio.scan(Duration::from_secs(1)).await?.into_iter().next().context("a car on the air")?;
    let mut link = radio.connect(&car.peripheral_id).await?;
    let expected = ExpectedVehicle {
        vin: Vin::parse("VCAUEX00000000001").map_err(|e| anyhow::anyhow!("{e}"))?,
        public_key: [0; 32],
        advertising: key.clone(),
        car_now_secs: chrono::Utc::now().timestamp(),
    };
    let (_, hello) = phone_start(&SystemRandom::new(), expected, &SUPPORTED_SUITES)?;
    for chunk in fragment(&hello, link.mtu())? {
        link.write(&chunk).await?;
    }
    let answer = link.next_indication(Duration::from_millis(500)).await?;
    link.disconnect().await;
    Ok(answer.is_some())
}

/// Issue 12, phone keys: the car advertised one identifier for life and answered any hello, so a
/// phone whose key was revoked still found the car and anyone nearby could probe it. Now the
/// identifier comes from the owner's current key generation, and the car answers only a hello
/// that proves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_loses_sight_of_the_car_and_a_stranger_gets_no_answer() -> anyhow::Result<()> {
    let Delivered { platform, dir, ana, radio } = delivered().await?;
    let first = ana.core.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    let first_key = advertising_key(dir.path(), ana.order)?;
    assert!(recognised(&radio, &first_key).await?, "the owner's phone finds the car");
    assert!(hello_answered(&radio, &first_key).await?, "and the car answers it");
    assert!(!hello_answered(&radio, &AdvertisingKey::new(&[7; 32])).await?, "a stranger gets no answer");

    // Ana's new phone revokes the first phone's key.
    let second_dir = tempfile::tempdir()?;
    let second = platform.phone("ana@example.com", second_dir.path()).await?;
    second.sync().await?;
    second.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    second.revoke_phone_key(ana.order, first.grant_id).await?;

    // The car advertises under a new key: the revoked phone's key sees noise and proves nothing.
    assert!(!recognised(&radio, &first_key).await?, "the revoked phone no longer recognises the car");
    assert!(!hello_answered(&radio, &first_key).await?, "nor does the car answer it");
    assert_eq!(
        failure(ana.core.pair_vehicle(ana.order, &radio, impatient(), None).await),
        PairingFailure::GrantRevoked
    );
    // The second phone, which also held the old key, fetches the new one and finds the car.
    second.pair_vehicle(ana.order, &radio, PairingOptions::default(), None).await?;
    let second_key = advertising_key(second_dir.path(), ana.order)?;
    assert!(recognised(&radio, &second_key).await? && hello_answered(&radio, &second_key).await?);
    Ok(())
}
