//! The car's rotating advertisement: an identifier only its owner's phone can recognise.
//!
//! A car that advertised a name derived from its VIN could be followed by anyone with a radio.
//! Instead it advertises `HMAC-SHA256(advertising key, epoch)` cut to 8 bytes, new every
//! [`ADVERTISING_EPOCH_SECS`]; the platform gives the owner's phone the advertising key with the
//! grant, and the phone computes the identifiers to look for.
//!
//! The key belongs to one owner and one generation of their keys: the platform makes a new one
//! when a phone key is revoked or the car changes hands, so a former phone no longer finds the
//! car. And the car answers only a hello that proves the key ([`AdvertisingKey::hello_proof`]),
//! so a stranger cannot probe a car for what it is.

use ring::hmac;

/// How long one identifier is advertised.
pub const ADVERTISING_EPOCH_SECS: i64 = 15 * 60;

/// Domain separation: a hello proof is never an advertised identifier.
const HELLO_CONTEXT: &[u8] = b"CAAS-HELLO-v1\0";

/// The length of a hello proof: a whole HMAC-SHA256 tag.
pub const HELLO_PROOF_LEN: usize = 32;

/// What the car advertises in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RotatingId(pub [u8; 8]);

/// The key shared by the car and its owner's phone; a secret (whoever holds it can follow the
/// car), so the phone keeps it in the secret store.
#[derive(Clone)]
pub struct AdvertisingKey(hmac::Key);

impl std::fmt::Debug for AdvertisingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdvertisingKey(..)")
    }
}

impl AdvertisingKey {
    pub fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The identifier for the epoch containing `unix_secs`.
    pub fn rotating_id(&self, unix_secs: i64) -> RotatingId {
        let epoch = unix_secs.div_euclid(ADVERTISING_EPOCH_SECS);
        let mut message = b"CAAS-ADV-v1".to_vec();
        message.extend_from_slice(&epoch.to_be_bytes());
        let tag = hmac::sign(&self.0, &message);
        let mut id = [0u8; 8];
        id.copy_from_slice(&tag.as_ref()[..8]);
        RotatingId(id)
    }

    /// Whether `id` is this car's at `unix_secs`, allowing one epoch of clock difference either
    /// way between phone and car. A plain comparison is fine: the identifier is broadcast, so
    /// timing can reveal nothing the air does not.
    pub fn recognises(&self, id: RotatingId, unix_secs: i64) -> bool {
        [-ADVERTISING_EPOCH_SECS, 0, ADVERTISING_EPOCH_SECS]
            .into_iter()
            .any(|shift| self.rotating_id(unix_secs + shift) == id)
    }

    /// The phone's proof that it holds this key: a tag over its hello as sent (without the
    /// proof) and the identifier the car advertises in the epoch of `unix_secs`, so a recorded
    /// hello stops working within the epoch after next.
    pub fn hello_proof(&self, hello: &[u8], unix_secs: i64) -> [u8; HELLO_PROOF_LEN] {
        let mut proof = [0u8; HELLO_PROOF_LEN];
        proof.copy_from_slice(hmac::sign(&self.0, &hello_message(self.rotating_id(unix_secs), hello)).as_ref());
        proof
    }

    /// Whether `proof` is this key's over `hello` in the epoch of `unix_secs`, or one either
    /// side (the clocks' difference, as [`Self::recognises`]). Compared in constant time.
    pub fn verifies_hello(&self, hello: &[u8], proof: &[u8], unix_secs: i64) -> bool {
        [-ADVERTISING_EPOCH_SECS, 0, ADVERTISING_EPOCH_SECS].into_iter().any(|shift| {
            hmac::verify(&self.0, &hello_message(self.rotating_id(unix_secs + shift), hello), proof).is_ok()
        })
    }
}

fn hello_message(id: RotatingId, hello: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(HELLO_CONTEXT.len() + id.0.len() + hello.len());
    message.extend_from_slice(HELLO_CONTEXT);
    message.extend_from_slice(&id.0);
    message.extend_from_slice(hello);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_rotate_and_only_the_key_holder_recognises_them() {
        let key = AdvertisingKey::new(&[9; 32]);
        let now = 1_800_000_000;
        let id = key.rotating_id(now);
        assert!(key.recognises(id, now));
        assert!(key.recognises(id, now + ADVERTISING_EPOCH_SECS), "a phone a little ahead still finds it");
        assert_ne!(key.rotating_id(now + 2 * ADVERTISING_EPOCH_SECS), id, "the identifier changes");
        assert!(!key.recognises(id, now + 3 * ADVERTISING_EPOCH_SECS));
        assert!(!AdvertisingKey::new(&[8; 32]).recognises(id, now), "another car's key sees noise");
    }

    #[test]
    fn only_the_key_holder_proves_a_hello_and_only_for_a_while() {
        let key = AdvertisingKey::new(&[9; 32]);
        let now = 1_800_000_000;
        let proof = key.hello_proof(b"hello", now);
        assert!(key.verifies_hello(b"hello", &proof, now));
        assert!(key.verifies_hello(b"hello", &proof, now + ADVERTISING_EPOCH_SECS), "a car a little ahead");
        assert!(!key.verifies_hello(b"hello", &proof, now + 3 * ADVERTISING_EPOCH_SECS), "a recording ages out");
        assert!(!key.verifies_hello(b"hellO", &proof, now), "bound to the hello");
        assert!(!AdvertisingKey::new(&[8; 32]).verifies_hello(b"hello", &proof, now), "a former key proves nothing");
        assert!(!key.verifies_hello(b"hello", &proof[..16], now), "a cut proof is no proof");
    }
}
