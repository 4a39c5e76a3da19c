//! Entitlements and option receipts: the platform's signed statement that one car may switch on
//! one option until a time, and the car's signed statement that it did.
//!
//! Binary and fixed-order like the grant, and signed under their own contexts with keys of their
//! own, so neither can be passed off as a grant, a link receipt or each other.

use uuid::Uuid;

use super::PairingError;
use super::Vin;
use super::command::signed_by_car;
use super::platform_key::{PlatformKey, PublicPlatformKey, SIGNATURE_LEN};
use super::wire::{self, Layout, Reader, Writer};
use crate::options::OptionCode;

const ENTITLEMENT_VERSION: u8 = 1;
const ENTITLEMENT_CONTEXT: &[u8] = b"CAAS-ENTITLEMENT-v1\0";
const RECEIPT_CONTEXT: &[u8] = b"CAAS-OPTION-RECEIPT-v1\0";
/// The longest signed entitlement: version, id, VIN, option, validity, issuer, signature.
pub const MAX_ENTITLEMENT_LEN: usize = 1 + 16 + 17 + 1 + crate::options::MAX_OPTION_CODE_LEN + 16 + 8 + SIGNATURE_LEN;

/// What an entitlement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub entitlement_id: Uuid,
    pub vin: Vin,
    pub option: OptionCode,
    /// Validity, in Unix seconds of the car's clock.
    pub not_before: i64,
    pub not_after: i64,
}

impl Entitlement {
    fn body(&self, issuer: &[u8; 8]) -> Writer {
        let mut w = Writer::with_capacity(MAX_ENTITLEMENT_LEN);
        w.u8(ENTITLEMENT_VERSION)
            .bytes(self.entitlement_id.as_bytes())
            .bytes(self.vin.as_str().as_bytes())
            .short_field(self.option.as_str().as_bytes())
            .i64(self.not_before)
            .i64(self.not_after)
            .bytes(issuer);
        w
    }

    /// Reads an entitlement without checking its signature (the phone shows what it carries; the
    /// car always verifies). Returns it, its issuer's key id and where the signature starts.
    pub fn read_unverified(bytes: &[u8]) -> Result<(Self, [u8; 8], usize), PairingError> {
        if bytes.len() > MAX_ENTITLEMENT_LEN {
            return Err(PairingError::Oversized(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        if r.u8()? != ENTITLEMENT_VERSION {
            return Err(PairingError::Malformed("unknown entitlement version"));
        }
        let entitlement_id = Uuid::from_bytes(r.array()?);
        let vin = read_vin(&mut r)?;
        let option = read_option(&mut r)?;
        let not_before = r.i64()?;
        let not_after = r.i64()?;
        let issuer = r.array::<8>()?;
        let signed_len = bytes.len() - SIGNATURE_LEN.min(bytes.len());
        r.bytes(SIGNATURE_LEN)?;
        r.finish()?;
        Ok((Self { entitlement_id, vin, option, not_before, not_after }, issuer, signed_len))
    }

    /// Whether `now` (Unix seconds of the car's clock) is within the entitlement's validity.
    pub fn check_validity(&self, now: i64) -> Result<(), EntitlementRefusal> {
        if now < self.not_before {
            Err(EntitlementRefusal::NotYetValid)
        } else if now > self.not_after {
            Err(EntitlementRefusal::Expired)
        } else {
            Ok(())
        }
    }
}

/// The platform's entitlement key.
pub struct EntitlementSigner {
    key: PlatformKey,
}

impl std::fmt::Debug for EntitlementSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntitlementSigner").field("key_id", &self.key.key_id()).finish_non_exhaustive()
    }
}

impl EntitlementSigner {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: PlatformKey::from_seed(seed) }
    }

    /// The half every car is provisioned with.
    pub fn verifier(&self) -> EntitlementVerifier {
        EntitlementVerifier { key: self.key.public() }
    }

    /// The signed entitlement's bytes.
    pub fn sign(&self, entitlement: &Entitlement) -> Vec<u8> {
        let mut body = entitlement.body(&self.key.key_id());
        self.key.seal(ENTITLEMENT_CONTEXT, &mut body);
        body.into_vec()
    }
}

/// The platform's public entitlement key, as a car holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementVerifier {
    key: PublicPlatformKey,
}

impl EntitlementVerifier {
    /// Checks the platform's signature and that the entitlement is for `vin`. Its validity is the
    /// car's to check next ([`Entitlement::check_validity`]): an entitlement the car already took
    /// is answered with its receipt even after it ended.
    pub fn verify(&self, bytes: &[u8], vin: &Vin) -> Result<Entitlement, EntitlementRefusal> {
        let (entitlement, issuer, signed_len) =
            Entitlement::read_unverified(bytes).map_err(|_| EntitlementRefusal::Forged)?;
        if !self.key.signed(ENTITLEMENT_CONTEXT, issuer, bytes, signed_len) {
            return Err(EntitlementRefusal::Forged);
        }
        if entitlement.vin != *vin {
            return Err(EntitlementRefusal::OtherVehicle);
        }
        Ok(entitlement)
    }
}

/// Why a car refuses an entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementRefusal {
    #[error("the entitlement is not the platform's")]
    Forged,
    #[error("the entitlement is for another car")]
    OtherVehicle,
    #[error("the entitlement is not valid yet")]
    NotYetValid,
    #[error("the entitlement has expired")]
    Expired,
}

/// The car's signed statement that it switched an option on, which the phone or the
/// connected-car channel forwards to the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionReceipt {
    pub vin: Vin,
    pub entitlement_id: Uuid,
    pub option: OptionCode,
    /// Unix seconds of the car's clock.
    pub activated_at: i64,
    pub signature: [u8; 64],
}

impl OptionReceipt {
    /// The bytes the vehicle key signs.
    pub fn signed_part(vin: &Vin, entitlement_id: Uuid, option: &OptionCode, activated_at: i64) -> Vec<u8> {
        let mut w = Writer::with_capacity(RECEIPT_CONTEXT.len() + 90);
        w.bytes(RECEIPT_CONTEXT)
            .bytes(vin.as_str().as_bytes())
            .bytes(entitlement_id.as_bytes())
            .short_field(option.as_str().as_bytes())
            .i64(activated_at);
        w.into_vec()
    }

    /// Checks the car's signature with its public key (Ed25519, 32 bytes).
    pub fn verify(&self, vehicle_public_key: &[u8]) -> Result<(), PairingError> {
        let signed = Self::signed_part(&self.vin, self.entitlement_id, &self.option, self.activated_at);
        signed_by_car(vehicle_public_key, &signed, &self.signature)
    }

    pub fn encode(&self) -> Vec<u8> {
        wire::encode(self)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        wire::decode(bytes)
    }
}

impl Layout for OptionReceipt {
    fn write(&self, w: &mut Writer) {
        w.bytes(self.vin.as_str().as_bytes())
            .bytes(self.entitlement_id.as_bytes())
            .short_field(self.option.as_str().as_bytes())
            .i64(self.activated_at)
            .bytes(&self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, PairingError> {
        Ok(Self {
            vin: read_vin(r)?,
            entitlement_id: Uuid::from_bytes(r.array()?),
            option: read_option(r)?,
            activated_at: r.i64()?,
            signature: r.array()?,
        })
    }
}

fn read_vin(r: &mut Reader<'_>) -> Result<Vin, PairingError> {
    Vin::parse(std::str::from_utf8(r.bytes(17)?).map_err(|_| PairingError::Malformed("not a VIN"))?)
}

pub(crate) fn read_option(r: &mut Reader<'_>) -> Result<OptionCode, PairingError> {
    std::str::from_utf8(r.short_field()?)
        .ok()
        .and_then(|text| OptionCode::parse(text).ok())
        .ok_or(PairingError::Malformed("not an option code"))
}

#[cfg(test)]
mod tests {
    use ring::signature::{Ed25519KeyPair, KeyPair as _};

    use super::*;

    fn vin(text: &str) -> Vin {
        Vin::parse(text).expect("vin")
    }

    fn entitlement() -> Entitlement {
        Entitlement {
            entitlement_id: Uuid::new_v4(),
            vin: vin("VCAUEX00000000001"),
            option: OptionCode::parse("heated-seats").expect("code"),
            not_before: 1_000,
            not_after: 2_000,
        }
    }

    #[test]
    fn the_car_takes_only_the_platforms_entitlement_for_itself_in_time() {
        let platform = EntitlementSigner::from_seed(&[1; 32]);
        let car = platform.verifier();
        let signed = platform.sign(&entitlement());
        assert!(signed.len() <= MAX_ENTITLEMENT_LEN);
        let own = vin("VCAUEX00000000001");
        let taken = car.verify(&signed, &own).expect("the platform's, for this car");
        assert_eq!(taken, entitlement_of(&signed));
        assert_eq!(taken.check_validity(1_500), Ok(()));
        assert_eq!(taken.check_validity(2_001), Err(EntitlementRefusal::Expired));
        assert_eq!(taken.check_validity(999), Err(EntitlementRefusal::NotYetValid));
        assert_eq!(car.verify(&signed, &vin("VCAUEX00000000002")), Err(EntitlementRefusal::OtherVehicle));
        let forger = EntitlementSigner::from_seed(&[2; 32]).sign(&entitlement());
        assert_eq!(car.verify(&forger, &own), Err(EntitlementRefusal::Forged));
        // Every single flipped bit breaks it.
        for i in 0..signed.len() {
            let mut flipped = signed.clone();
            flipped[i] ^= 1;
            assert!(car.verify(&flipped, &own).is_err(), "byte {i}");
        }
        assert_eq!(car.verify(&[0; 4096], &own), Err(EntitlementRefusal::Forged));
    }

    fn entitlement_of(bytes: &[u8]) -> Entitlement {
        Entitlement::read_unverified(bytes).expect("reads").0
    }

    #[test]
    fn a_receipt_reads_back_and_checks_against_the_cars_key_only() {
        let car = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).expect("key");
        let e = entitlement();
        let signed = OptionReceipt::signed_part(&e.vin, e.entitlement_id, &e.option, 1_600);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(car.sign(&signed).as_ref());
        let receipt = OptionReceipt {
            vin: e.vin,
            entitlement_id: e.entitlement_id,
            option: e.option,
            activated_at: 1_600,
            signature,
        };
        assert_eq!(OptionReceipt::parse(&receipt.encode()), Ok(receipt.clone()));
        assert_eq!(receipt.verify(car.public_key().as_ref()), Ok(()));
        let other = Ed25519KeyPair::from_seed_unchecked(&[4; 32]).expect("key");
        assert!(receipt.verify(other.public_key().as_ref()).is_err());
        let later = OptionReceipt { activated_at: 1_601, ..receipt };
        assert!(later.verify(car.public_key().as_ref()).is_err(), "the time is signed");
    }
}
