//! Arbitrary bytes as a record, into a car whose session with a genuine phone is established:
//! refused without a panic, and nothing random ever opens.
#![no_main]

use std::sync::{LazyLock, Mutex};

use caas_protocol::pairing::{Grant, GrantRole, Record, SUPPORTED_SUITES, Session, car_respond, phone_start};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

const NOW_SECS: i64 = 1_800_000_000;

/// The car's end of a session set up once with a genuine phone and grant.
#[path = "car.rs"]
mod car;

static CAR_SESSION: LazyLock<Mutex<Session>> = LazyLock::new(|| {
    let rng = SystemRandom::new();
    let platform = car::platform();
    let car = car::car();
    let vin = car.vin.clone();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
    let device = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("key");
    let grant = platform.sign(Grant {
        grant_id: Default::default(),
        vin,
        role: GrantRole::Owner,
        not_before: NOW_SECS - 60,
        not_after: NOW_SECS + 60,
        device_public_key: device.public_key().as_ref().try_into().expect("65 bytes"),
    });
    let expected = car::expected(&car);
    let (phone, hello) = phone_start(&rng, expected, &SUPPORTED_SUITES).expect("start");
    let (awaiting, answer) = car_respond(&car, &rng, &hello, NOW_SECS as u64 * 1000).expect("answer");
    let signing = phone.receive(&answer, 0).expect("the car checks out");
    let signature = device.sign(&rng, signing.to_sign()).expect("sign");
    let (_, auth) = signing.finish(&grant.bytes, signature.as_ref()).expect("finish");
    let (session, _) = awaiting.receive(&car, &auth, NOW_SECS, &|_| false).expect("the phone checks out");
    Mutex::new(session)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = Record::parse(data) {
        assert_eq!(Record::parse(&record.encode()).ok(), Some(record));
    }
    let mut session = CAR_SESSION.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    assert!(session.open(data, NOW_SECS as u64 * 1000).is_err(), "a forged record opened");
});
