//! The platform's Ed25519 keys every car trusts from manufacture (the grant key, the entitlement
//! key): each named by a key id the signed bytes carry, each signing under a context of its own so
//! no signature of one can pass for the other's.

use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use super::wire::Writer;

pub(crate) const SIGNATURE_LEN: usize = 64;

/// A platform key's private half.
pub(crate) struct PlatformKey {
    pair: Ed25519KeyPair,
    key_id: [u8; 8],
}

impl PlatformKey {
    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .unwrap_or_else(|_| unreachable!("any 32 bytes are an Ed25519 seed"));
        let key_id = key_id(pair.public_key().as_ref());
        Self { pair, key_id }
    }

    pub(crate) fn key_id(&self) -> [u8; 8] {
        self.key_id
    }

    /// The half cars are provisioned with.
    pub(crate) fn public(&self) -> PublicPlatformKey {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.pair.public_key().as_ref());
        PublicPlatformKey { public_key, key_id: self.key_id }
    }

    /// Appends the signature over `context` and the body written so far.
    pub(crate) fn seal(&self, context: &[u8], body: &mut Writer) {
        let mut signed = context.to_vec();
        signed.extend_from_slice(body.as_slice());
        body.bytes(self.pair.sign(&signed).as_ref());
    }
}

/// A platform key's public half, as a car holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicPlatformKey {
    public_key: [u8; 32],
    key_id: [u8; 8],
}

impl PublicPlatformKey {
    pub(crate) fn new(public_key: [u8; 32]) -> Self {
        Self { key_id: key_id(&public_key), public_key }
    }

    pub(crate) fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Whether `bytes` (signed up to `signed_len`, the signature after) carry this key's signature
    /// under `context`, naming this key as their `issuer`.
    pub(crate) fn signed(&self, context: &[u8], issuer: [u8; 8], bytes: &[u8], signed_len: usize) -> bool {
        let Some((body, signature)) = bytes.split_at_checked(signed_len) else { return false };
        let mut signed = context.to_vec();
        signed.extend_from_slice(body);
        issuer == self.key_id && UnparsedPublicKey::new(&ED25519, &self.public_key).verify(&signed, signature).is_ok()
    }
}

fn key_id(public_key: &[u8]) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest(&SHA256, public_key).as_ref()[..8]);
    id
}
