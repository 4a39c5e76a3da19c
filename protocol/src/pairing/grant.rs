//! The grant: the platform's signed statement that one device key may use one car, in one role,
//! for a bounded time. The car trusts the platform's grant key from manufacture, so a key
//! reaches a car only through a grant the platform issued; nothing is enrolled over the air.
//!
//! Binary and fixed-order, so the bytes the platform signed are the bytes the car checks, and a
//! grant fits a BLE message with room to spare (189 bytes).

use ring::digest::{SHA256, digest};
use uuid::Uuid;

use super::PairingError;
use super::platform_key::{PlatformKey, PublicPlatformKey, SIGNATURE_LEN};
use super::wire::{Reader, Writer};

const GRANT_VERSION: u8 = 1;
/// Domain separation: a grant signature can never be mistaken for any other signature.
const CONTEXT: &[u8] = b"CAAS-GRANT-v1\0";
/// An uncompressed P-256 point (SEC 1): what Android Keystore and the Secure Enclave export.
pub const DEVICE_KEY_LEN: usize = 65;

/// A vehicle identification number: 17 characters, digits and capital letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vin(String);

impl Vin {
    pub fn parse(text: &str) -> Result<Self, PairingError> {
        if text.len() == 17 && text.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(PairingError::Malformed("not a VIN"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What records bind to instead of the VIN itself.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, self.0.as_bytes()).as_ref());
        out
    }
}

impl std::fmt::Display for Vin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the grant lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GrantRole {
    /// The owner: may link the app and use the car.
    Owner = 1,
    /// Someone the owner lets read the car's status; may not link.
    Guest = 2,
}

impl GrantRole {
    fn from_wire(byte: u8) -> Result<Self, PairingError> {
        match byte {
            1 => Ok(Self::Owner),
            2 => Ok(Self::Guest),
            _ => Err(PairingError::Malformed("unknown grant role")),
        }
    }
}

/// What a grant says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grant_id: Uuid,
    pub vin: Vin,
    pub role: GrantRole,
    /// Validity, in Unix seconds of the car's clock.
    pub not_before: i64,
    pub not_after: i64,
    /// The device's P-256 public key, uncompressed.
    pub device_public_key: [u8; DEVICE_KEY_LEN],
}

impl Grant {
    fn body(&self, issuer: &[u8; 8]) -> Writer {
        let mut w = Writer::with_capacity(192);
        w.u8(GRANT_VERSION)
            .bytes(self.grant_id.as_bytes())
            .bytes(self.vin.as_str().as_bytes())
            .u8(self.role as u8)
            .i64(self.not_before)
            .i64(self.not_after)
            .short_field(&self.device_public_key)
            .bytes(issuer);
        w
    }
}

/// A grant with the platform's signature, as bytes, with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedGrant {
    pub grant: Grant,
    pub bytes: Vec<u8>,
}

/// The platform's grant key.
pub struct GrantSigner {
    key: PlatformKey,
}

impl std::fmt::Debug for GrantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantSigner").field("key_id", &self.key.key_id()).finish_non_exhaustive()
    }
}

impl GrantSigner {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: PlatformKey::from_seed(seed) }
    }

    /// The half the car is provisioned with.
    pub fn verifier(&self) -> GrantVerifier {
        GrantVerifier { key: self.key.public() }
    }

    pub fn sign(&self, grant: Grant) -> SignedGrant {
        let mut body = grant.body(&self.key.key_id());
        self.key.seal(CONTEXT, &mut body);
        SignedGrant { grant, bytes: body.into_vec() }
    }
}

/// The platform's public grant key, as a car holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantVerifier {
    key: PublicPlatformKey,
}

impl GrantVerifier {
    pub fn from_public_key(public_key: [u8; 32]) -> Self {
        Self { key: PublicPlatformKey::new(public_key) }
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }

    /// Checks the platform's signature and returns what the grant says. Validity, VIN, role and
    /// revocation are the car's to check against its own state.
    pub fn verify(&self, bytes: &[u8]) -> Result<Grant, PairingError> {
        let (grant, issuer, signed_len) = parse(bytes)?;
        if !self.key.signed(CONTEXT, issuer, bytes, signed_len) {
            return Err(PairingError::AuthenticationFailed);
        }
        if grant.not_after <= grant.not_before {
            return Err(PairingError::Malformed("grant ends before it starts"));
        }
        Ok(grant)
    }
}

/// Reads a grant without checking its signature (the phone shows what it holds; the car always
/// verifies). Returns the grant, its issuer's key id and where the signature starts.
pub(crate) fn parse(bytes: &[u8]) -> Result<(Grant, [u8; 8], usize), PairingError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != GRANT_VERSION {
        return Err(PairingError::Malformed("unknown grant version"));
    }
    let grant_id = Uuid::from_bytes(r.array()?);
    let vin = Vin::parse(std::str::from_utf8(r.bytes(17)?).map_err(|_| PairingError::Malformed("not a VIN"))?)?;
    let role = GrantRole::from_wire(r.u8()?)?;
    let not_before = r.i64()?;
    let not_after = r.i64()?;
    let device_public_key: [u8; DEVICE_KEY_LEN] = r.short_field()?.try_into().map_err(|_| PairingError::InvalidKey)?;
    if device_public_key[0] != 0x04 {
        return Err(PairingError::InvalidKey);
    }
    let issuer = r.array::<8>()?;
    let signed_len = bytes.len() - SIGNATURE_LEN.min(bytes.len());
    r.bytes(SIGNATURE_LEN)?;
    r.finish()?;
    Ok((Grant { grant_id, vin, role, not_before, not_after, device_public_key }, issuer, signed_len))
}

/// Reads what a grant says without verifying it (for display and for choosing when to refresh).
pub fn read_unverified(bytes: &[u8]) -> Result<Grant, PairingError> {
    parse(bytes).map(|(grant, _, _)| grant)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

    use super::*;

    pub(crate) fn device_key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("key")
    }

    pub(crate) fn grant_for(
        device: &EcdsaKeyPair,
        vin: &str,
        role: GrantRole,
        not_before: i64,
        not_after: i64,
    ) -> Grant {
        Grant {
            grant_id: Uuid::new_v4(),
            vin: Vin::parse(vin).expect("vin"),
            role,
            not_before,
            not_after,
            device_public_key: device.public_key().as_ref().try_into().expect("65 bytes"),
        }
    }

    #[test]
    fn a_signed_grant_verifies_and_reads_back() {
        let signer = GrantSigner::from_seed(&[3; 32]);
        let grant = grant_for(&device_key(), "VCAUEX00000000001", GrantRole::Owner, 100, 200);
        let signed = signer.sign(grant.clone());
        assert_eq!(signed.bytes.len(), 189);
        assert_eq!(signer.verifier().verify(&signed.bytes), Ok(grant.clone()));
        assert_eq!(read_unverified(&signed.bytes), Ok(grant));
    }

    #[test]
    fn another_platform_key_or_an_altered_grant_fails_without_saying_why() {
        let signer = GrantSigner::from_seed(&[3; 32]);
        let signed = signer.sign(grant_for(&device_key(), "VCAUEX00000000001", GrantRole::Owner, 100, 200));
        let other = GrantSigner::from_seed(&[4; 32]).verifier();
        assert_eq!(other.verify(&signed.bytes), Err(PairingError::AuthenticationFailed));
        let mut altered = signed.bytes.clone();
        altered[40] ^= 1; // inside not_before: a grant made to start earlier
        assert_eq!(signer.verifier().verify(&altered), Err(PairingError::AuthenticationFailed));
    }

    proptest! {
        #[test]
        fn any_altered_byte_is_refused(index in 0usize..189, flip in 1u8..=255) {
            let signer = GrantSigner::from_seed(&[3; 32]);
            let signed = signer.sign(grant_for(&device_key(), "VCAUEX00000000001", GrantRole::Owner, 100, 200));
            let mut altered = signed.bytes.clone();
            altered[index] ^= flip;
            prop_assert!(signer.verifier().verify(&altered).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let verifier = GrantSigner::from_seed(&[3; 32]).verifier();
            prop_assert!(verifier.verify(&bytes).is_err());
        }
    }
}
