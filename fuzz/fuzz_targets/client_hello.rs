//! Arbitrary bytes as the phone's first message, into the car: parsed, and answered or refused
//! without a panic.
#![no_main]

use std::sync::LazyLock;

use caas_protocol::pairing::{CarIdentity, ClientHello, car_respond};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;

#[path = "car.rs"]
mod car;

static CAR: LazyLock<CarIdentity> = LazyLock::new(car::car);

fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = ClientHello::parse(data) {
        assert_eq!(ClientHello::parse(&hello.encode()).ok(), Some(hello));
    }
    let _answered_or_refused = car_respond(&CAR, &SystemRandom::new(), data, 1_800_000_000_000);
});
