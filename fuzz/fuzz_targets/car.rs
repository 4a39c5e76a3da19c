//! The car the targets talk to: fixed keys, so every input meets the same car.

use caas_protocol::pairing::{AdvertisingKey, CarIdentity, ExpectedVehicle, GrantSigner, Vin};

/// The car's clock in the targets, in Unix seconds.
pub const NOW_SECS: i64 = 1_800_000_000;

/// The platform's grant key, which the car trusts.
pub fn platform() -> GrantSigner {
    GrantSigner::from_seed(&[1; 32])
}

/// The owner's advertising key, which a hello must prove.
pub fn advertising() -> AdvertisingKey {
    AdvertisingKey::new(&[3; 32])
}

pub fn car() -> CarIdentity {
    let vin = Vin::parse("VCAUEX00000000001").expect("a valid VIN");
    CarIdentity::from_seed(vin, &[2; 32], platform().verifier()).with_advertising(advertising())
}

/// What the owner's phone knows of `car`.
pub fn expected(car: &CarIdentity) -> ExpectedVehicle {
    ExpectedVehicle {
        vin: car.vin.clone(),
        public_key: car.public_key(),
        advertising: advertising(),
        car_now_secs: NOW_SECS,
    }
}
