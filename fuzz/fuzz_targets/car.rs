//! The car the targets talk to: fixed keys, so every input meets the same car.

use caas_protocol::pairing::{CarIdentity, GrantSigner, Vin};

/// The platform's grant key, which the car trusts.
pub fn platform() -> GrantSigner {
    GrantSigner::from_seed(&[1; 32])
}

pub fn car() -> CarIdentity {
    let vin = Vin::parse("VCAUEX00000000001").expect("a valid VIN");
    CarIdentity::from_seed(vin, &[2; 32], platform().verifier())
}
