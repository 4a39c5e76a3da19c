//! Arbitrary bytes as the car's answer, into a phone that started a handshake: refused without a
//! panic (nothing random can carry the expected car's signature).
#![no_main]

use caas_protocol::pairing::{SUPPORTED_SUITES, ServerHello, phone_start};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;

#[path = "car.rs"]
mod car;

fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = ServerHello::parse(data) {
        assert_eq!(ServerHello::parse(&hello.encode()).ok(), Some(hello));
    }
    let mut expected = car::expected(&car::car());
    expected.public_key = [7; 32];
    let (phone, _) = phone_start(&SystemRandom::new(), expected, &SUPPORTED_SUITES).expect("start");
    assert!(phone.receive(data, 0).is_err());
});
