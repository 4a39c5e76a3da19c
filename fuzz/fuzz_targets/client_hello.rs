//! Arbitrary bytes as the phone's first message, into the car: parsed, and answered or refused
//! without a panic. Random bytes never prove the advertising key, so each parsed hello is also
//! sent proven, as the owner's phone would, to reach the checks past the proof.
#![no_main]

use std::sync::LazyLock;

use caas_protocol::pairing::{CarIdentity, ClientHello, car_respond};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;

#[path = "car.rs"]
mod car;

static CAR: LazyLock<CarIdentity> = LazyLock::new(car::car);

fuzz_target!(|data: &[u8]| {
    let now_ms = car::NOW_SECS as u64 * 1000;
    if let Ok(mut hello) = ClientHello::parse(data) {
        assert_eq!(ClientHello::parse(&hello.encode()).ok(), Some(hello.clone()));
        hello.prove(&car::advertising(), car::NOW_SECS);
        let _answered_or_refused = car_respond(&CAR, &SystemRandom::new(), &hello.encode(), now_ms);
    }
    let refusal = car_respond(&CAR, &SystemRandom::new(), data, now_ms).err();
    assert!(refusal.is_some_and(|r| r.alert.is_none()), "random bytes never prove the key, and get no answer");
});
