//! Arbitrary bytes as the phone's authentication, into a car that answered a genuine hello:
//! refused without a panic, and always with the same alert (nothing about keys leaks).
#![no_main]

use std::sync::LazyLock;

use caas_protocol::pairing::{CarIdentity, ClientAuth, SUPPORTED_SUITES, car_respond, phone_start};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;

#[path = "car.rs"]
mod car;

static CAR: LazyLock<CarIdentity> = LazyLock::new(car::car);

fuzz_target!(|data: &[u8]| {
    if let Ok(auth) = ClientAuth::parse(data) {
        assert_eq!(ClientAuth::parse(&auth.encode()).ok(), Some(auth));
    }
    let rng = SystemRandom::new();
    let expected = car::expected(&CAR);
    let (_, hello) = phone_start(&rng, expected, &SUPPORTED_SUITES).expect("start");
    let (car, _) = car_respond(&CAR, &rng, &hello, car::NOW_SECS as u64 * 1000).expect("answered");
    let refusal = car.receive(&CAR, data, 1_800_000_000, &|_| false).expect_err("random bytes never authenticate");
    assert_eq!(refusal.error, caas_protocol::pairing::PairingError::AuthenticationFailed);
});
