//! Arbitrary bytes as what a record carries once opened (commands with an option's entitlement,
//! the car's answers listing options or reporting its odometer), as an entitlement the car checks,
//! and as an option receipt or odometer report a phone forwards: refused without a panic, and
//! what reads is written back the same.
#![no_main]

use caas_protocol::pairing::{Content, EntitlementSigner, OptionReceipt, TelemetryReport, Vin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = Content::parse(data) {
        assert_eq!(Content::parse(&content.encode()), Ok(content), "a content reads back");
    }
    if let Ok(receipt) = OptionReceipt::parse(data) {
        assert_eq!(OptionReceipt::parse(&receipt.encode()), Ok(receipt), "a receipt reads back");
    }
    if let Ok(report) = TelemetryReport::parse(data) {
        assert_eq!(TelemetryReport::parse(&report.encode()), Ok(report), "a report reads back");
    }
    let car = Vin::parse("VCAUEX00000000001").expect("a valid VIN");
    let platform = EntitlementSigner::from_seed(&[1; 32]);
    assert!(platform.verifier().verify(data, &car).is_err(), "random bytes passed for the platform's entitlement");
});
