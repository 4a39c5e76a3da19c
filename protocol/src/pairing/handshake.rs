//! The three-message handshake, both roles, as typestate machines: each step consumes the state
//! it needs and returns the next, so a step cannot be skipped or run twice.
//!
//! Key schedule (HKDF-SHA256):
//! - `th_hello = H(context ‖ ClientHello ‖ ServerHello without its sealed part)`;
//!   `prk = Extract(salt = th_hello, X25519 secret)`; the handshake keys and IVs per direction
//!   come from `prk`. Any change to the version, the offered suites or either ephemeral key
//!   changes `th_hello` and with it every key, so a tampered or downgraded hello cannot open.
//! - The car seals its clock and its signature over `th_hello` (and the clock); the phone seals
//!   its grant and its signature over `th_m2 = H(… ‖ ServerHello)`.
//! - `th_final = H(… ‖ ClientAuth)`; the record keys, IVs and the session id come from `prk` and
//!   `th_final`, so they depend on every byte both sides sent.

use ring::agreement::{self, EphemeralPrivateKey, X25519};
use ring::digest::{Context, SHA256};
use ring::hkdf;
use ring::rand::SecureRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1, ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use uuid::Uuid;

use super::advert::HELLO_PROOF_LEN;
use super::record::{DirectionKey, SessionParts};
use super::wire::{Reader, Writer};
use super::{
    AdvertisingKey, AlertCode, Direction, Grant, GrantVerifier, MAX_MESSAGE_LEN, MessageType, PROTOCOL_VERSION,
    PairingError, SUPPORTED_SUITES, Session, Suite, Vin,
};

const TRANSCRIPT_CONTEXT: &[u8] = b"CAAS-PAIR-v1\0";
const VEHICLE_SIGNATURE_CONTEXT: &[u8] = b"CAAS-PAIR-v1 vehicle\0";
const DEVICE_SIGNATURE_CONTEXT: &[u8] = b"CAAS-PAIR-v1 device\0";
/// A phone offers at most this many suites.
const MAX_SUITES: usize = 16;
/// An ASN.1 ECDSA P-256 signature is at most 72 bytes.
const MAX_DEVICE_SIGNATURE_LEN: usize = 72;

/// The phone's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub version: u8,
    /// Suite numbers, most preferred first; numbers this side does not know are kept so the
    /// transcript covers exactly what was sent.
    pub suites: Vec<u16>,
    pub ephemeral: [u8; 32],
    pub nonce: [u8; 32],
    /// Proof that the phone holds the car's current advertising key, over everything before it
    /// ([`AdvertisingKey::hello_proof`]); without it the car stays silent.
    pub proof: [u8; HELLO_PROOF_LEN],
}

impl ClientHello {
    /// Everything the proof covers.
    fn clear_part(&self) -> Writer {
        let mut w = Writer::with_capacity(3 + 2 * self.suites.len() + 64 + HELLO_PROOF_LEN);
        w.u8(MessageType::ClientHello as u8).u8(self.version).u8(self.suites.len() as u8);
        for suite in &self.suites {
            w.u16(*suite);
        }
        w.bytes(&self.ephemeral).bytes(&self.nonce);
        w
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.clear_part();
        w.bytes(&self.proof);
        w.into_vec()
    }

    /// Sets the proof of `key` for the epoch of `unix_secs` (the phone's idea of the car's clock).
    pub fn prove(&mut self, key: &AdvertisingKey, unix_secs: i64) {
        self.proof = key.hello_proof(self.clear_part().as_slice(), unix_secs);
    }

    /// Whether the hello proves `key` at the car's `unix_secs`.
    pub fn proves(&self, key: &AdvertisingKey, unix_secs: i64) -> bool {
        key.verifies_hello(self.clear_part().as_slice(), &self.proof, unix_secs)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, MessageType::ClientHello)?;
        let version = r.u8()?;
        let count = usize::from(r.u8()?);
        if count == 0 || count > MAX_SUITES {
            return Err(PairingError::Malformed("suite list empty or too long"));
        }
        let suites = (0..count).map(|_| r.u16()).collect::<Result<Vec<_>, _>>()?;
        let hello = Self { version, suites, ephemeral: r.array()?, nonce: r.array()?, proof: r.array()? };
        r.finish()?;
        Ok(hello)
    }
}

/// The car's answer: its choice, its ephemeral key, and its sealed proof of identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u8,
    pub suite: u16,
    pub ephemeral: [u8; 32],
    pub nonce: [u8; 32],
    /// The car's clock and signature, sealed under the handshake key.
    pub sealed_proof: Vec<u8>,
}

impl ServerHello {
    fn clear_part(&self) -> Writer {
        let mut w = Writer::with_capacity(70 + 2 + self.sealed_proof.len());
        w.u8(MessageType::ServerHello as u8).u8(self.version).u16(self.suite).bytes(&self.ephemeral).bytes(&self.nonce);
        w
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.clear_part();
        w.field(&self.sealed_proof);
        w.into_vec()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, MessageType::ServerHello)?;
        let hello = Self {
            version: r.u8()?,
            suite: r.u16()?,
            ephemeral: r.array()?,
            nonce: r.array()?,
            sealed_proof: r.field()?.to_vec(),
        };
        r.finish()?;
        Ok(hello)
    }
}

/// The phone's proof: its grant and its signature, sealed under the handshake key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub sealed: Vec<u8>,
}

impl ClientAuth {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(3 + self.sealed.len());
        w.u8(MessageType::ClientAuth as u8).field(&self.sealed);
        w.into_vec()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, MessageType::ClientAuth)?;
        let sealed = r.field()?.to_vec();
        r.finish()?;
        if sealed.len() > MAX_MESSAGE_LEN {
            return Err(PairingError::Oversized(sealed.len()));
        }
        Ok(Self { sealed })
    }
}

fn expect_type(r: &mut Reader<'_>, wanted: MessageType) -> Result<(), PairingError> {
    if r.u8()? == wanted as u8 { Ok(()) } else { Err(PairingError::Unexpected("another message type")) }
}

/// A refusal the car sends before keys exist: only what reveals nothing.
pub(crate) fn plain_alert(code: AlertCode) -> Vec<u8> {
    vec![MessageType::PlainAlert as u8, code as u8]
}

fn parse_plain_alert(bytes: &[u8]) -> Result<AlertCode, PairingError> {
    let mut r = Reader::new(bytes);
    expect_type(&mut r, MessageType::PlainAlert)?;
    let code = AlertCode::from_wire(r.u8()?)?;
    r.finish()?;
    Ok(code)
}

/// What the phone knows about the car it should reach, from the platform.
#[derive(Debug, Clone)]
pub struct ExpectedVehicle {
    pub vin: Vin,
    /// The car's Ed25519 public key.
    pub public_key: [u8; 32],
    /// The car's current advertising key, which the hello proves.
    pub advertising: AdvertisingKey,
    /// The phone's idea of the car's clock, in Unix seconds: it picks the epoch of the proof.
    pub car_now_secs: i64,
}

/// The car's identity: its VIN, its signing key and the platform's grant key, all provisioned
/// at manufacture, and the advertising key of its current owner, which the platform sends it.
pub struct CarIdentity {
    pub vin: Vin,
    signing: Ed25519KeyPair,
    pub grants: GrantVerifier,
    /// `None` while the car has no owner: it then answers no hello at all.
    advertising: Option<AdvertisingKey>,
}

impl std::fmt::Debug for CarIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarIdentity").field("vin", &self.vin).finish_non_exhaustive()
    }
}

impl CarIdentity {
    pub fn from_seed(vin: Vin, seed: &[u8; 32], grants: GrantVerifier) -> Self {
        let signing = Ed25519KeyPair::from_seed_unchecked(seed)
            .unwrap_or_else(|_| unreachable!("any 32 bytes are an Ed25519 seed"));
        Self { vin, signing, grants, advertising: None }
    }

    /// The car with its owner's current advertising key.
    pub fn with_advertising(self, key: AdvertisingKey) -> Self {
        Self { advertising: Some(key), ..self }
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.signing.public_key().as_ref());
        key
    }

    /// Signs with the vehicle key (link receipts).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.signing.sign(message).as_ref());
        signature
    }
}

/// HKDF output of any length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand<const N: usize>(prk: &hkdf::Prk, label: &[u8], context: &[u8]) -> Result<[u8; N], PairingError> {
    let mut out = [0u8; N];
    let info = [label, context];
    prk.expand(&info, Len(N)).and_then(|okm| okm.fill(&mut out)).map_err(|_| PairingError::Crypto("key derivation"))?;
    Ok(out)
}

/// Keys for one direction of the handshake or the records.
fn direction_key(prk: &hkdf::Prk, suite: Suite, label: &str, context: &[u8]) -> Result<DirectionKey, PairingError> {
    let key: [u8; 32] = expand(prk, format!("caas {label} key").as_bytes(), context)?;
    let iv: [u8; 12] = expand(prk, format!("caas {label} iv").as_bytes(), context)?;
    DirectionKey::new(suite, &key, iv)
}

/// What the car signs: the hello transcript and its clock.
fn vehicle_signed_part(th_hello: &[u8; 32], car_time_ms: u64) -> Vec<u8> {
    let mut signed = VEHICLE_SIGNATURE_CONTEXT.to_vec();
    signed.extend_from_slice(th_hello);
    signed.extend_from_slice(&car_time_ms.to_be_bytes());
    signed
}

/// What the device signs: the transcript up to the car's hello.
fn device_signed_part(th_m2: &[u8; 32]) -> Vec<u8> {
    let mut signed = DEVICE_SIGNATURE_CONTEXT.to_vec();
    signed.extend_from_slice(th_m2);
    signed
}

fn digest_of(transcript: &Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(transcript.clone().finish().as_ref());
    out
}

fn ephemeral(rng: &dyn SecureRandom) -> Result<(EphemeralPrivateKey, [u8; 32]), PairingError> {
    let private = EphemeralPrivateKey::generate(&X25519, rng).map_err(|_| PairingError::Crypto("random"))?;
    let public = private.compute_public_key().map_err(|_| PairingError::Crypto("public key"))?;
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(public.as_ref());
    Ok((private, bytes))
}

fn random<const N: usize>(rng: &dyn SecureRandom) -> Result<[u8; N], PairingError> {
    let mut out = [0u8; N];
    rng.fill(&mut out).map_err(|_| PairingError::Crypto("random"))?;
    Ok(out)
}

/// X25519, then `prk`. A low-order point (all-zero shared secret) is refused by ring.
fn handshake_secret(
    private: EphemeralPrivateKey,
    peer: &[u8; 32],
    th_hello: &[u8; 32],
) -> Result<hkdf::Prk, PairingError> {
    agreement::agree_ephemeral(private, &agreement::UnparsedPublicKey::new(&X25519, peer), |shared| {
        hkdf::Salt::new(hkdf::HKDF_SHA256, th_hello).extract(shared)
    })
    .map_err(|_| PairingError::InvalidKey)
}

/// The record keys, from both sides' point of view the same.
fn session_parts(
    prk: &hkdf::Prk,
    suite: Suite,
    th_final: &[u8; 32],
    sends: Direction,
    vin: &Vin,
    clock_offset_ms: i64,
) -> Result<SessionParts, PairingError> {
    let to_car = direction_key(prk, suite, "app p2c", th_final)?;
    let to_phone = direction_key(prk, suite, "app c2p", th_final)?;
    let (send, receive) = match sends {
        Direction::PhoneToCar => (to_car, to_phone),
        Direction::CarToPhone => (to_phone, to_car),
    };
    Ok(SessionParts {
        id: expand(prk, b"caas session id", th_final)?,
        sends,
        send,
        receive,
        vin_digest: vin.digest(),
        clock_offset_ms,
    })
}

// ---------------------------------------------------------------------------------------------
// The phone's role.

/// Starts a handshake with the car the platform described; returns the state and the
/// `ClientHello` to send. `suites` is normally [`SUPPORTED_SUITES`].
pub fn phone_start(
    rng: &dyn SecureRandom,
    expected: ExpectedVehicle,
    suites: &[Suite],
) -> Result<(AwaitingServerHello, Vec<u8>), PairingError> {
    if suites.is_empty() {
        return Err(PairingError::NoCommonSuite);
    }
    let (private, public) = ephemeral(rng)?;
    let mut hello = ClientHello {
        version: PROTOCOL_VERSION,
        suites: suites.iter().map(|s| s.wire()).collect(),
        ephemeral: public,
        nonce: random(rng)?,
        proof: [0; HELLO_PROOF_LEN],
    };
    hello.prove(&expected.advertising, expected.car_now_secs);
    let message = hello.encode();
    let mut transcript = Context::new(&SHA256);
    transcript.update(TRANSCRIPT_CONTEXT);
    transcript.update(&message);
    Ok((AwaitingServerHello { private, expected, offered: suites.to_vec(), transcript }, message))
}

/// The phone sent its hello and waits for the car's.
pub struct AwaitingServerHello {
    private: EphemeralPrivateKey,
    expected: ExpectedVehicle,
    offered: Vec<Suite>,
    transcript: Context,
}

impl std::fmt::Debug for AwaitingServerHello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingServerHello").field("expected", &self.expected).finish_non_exhaustive()
    }
}

impl AwaitingServerHello {
    /// Checks the car's answer that arrived at `now_ms` (the phone's monotonic clock): the
    /// chosen version and suite, then that the car holds the key the platform named.
    pub fn receive(self, message: &[u8], now_ms: u64) -> Result<AwaitingDeviceSignature, PairingError> {
        if MessageType::of(message)? == MessageType::PlainAlert {
            return Err(PairingError::Refused(parse_plain_alert(message)?));
        }
        let hello = ServerHello::parse(message)?;
        if hello.version != PROTOCOL_VERSION {
            return Err(PairingError::UnsupportedVersion(hello.version));
        }
        let suite = Suite::from_wire(hello.suite)
            .filter(|suite| self.offered.contains(suite))
            .ok_or(PairingError::NoCommonSuite)?;
        let mut transcript = self.transcript;
        transcript.update(hello.clear_part().as_slice());
        let th_hello = digest_of(&transcript);
        let prk = handshake_secret(self.private, &hello.ephemeral, &th_hello)?;
        let from_car = direction_key(&prk, suite, "hs c2p", &[])?;
        let proof = from_car.open(0, &th_hello, &hello.sealed_proof)?;
        let mut r = Reader::new(&proof);
        let car_time_ms = r.u64()?;
        let signature = r.bytes(64)?;
        r.finish()?;
        UnparsedPublicKey::new(&ED25519, &self.expected.public_key)
            .verify(&vehicle_signed_part(&th_hello, car_time_ms), signature)
            .map_err(|_| PairingError::WrongVehicle)?;
        transcript.update(&hello.encode()[hello.clear_part().len()..]);
        let th_m2 = digest_of(&transcript);
        let to_sign = device_signed_part(&th_m2);
        Ok(AwaitingDeviceSignature {
            prk,
            suite,
            vin: self.expected.vin,
            transcript,
            th_m2,
            from_car,
            to_sign,
            clock_offset_ms: i64::try_from(car_time_ms).unwrap_or(i64::MAX).saturating_sub_unsigned(now_ms),
        })
    }
}

/// The car proved itself; the phone's device key must sign [`Self::to_sign`] (the Secure Enclave
/// or Keystore may take its time, so this is a state of its own).
pub struct AwaitingDeviceSignature {
    prk: hkdf::Prk,
    suite: Suite,
    vin: Vin,
    transcript: Context,
    th_m2: [u8; 32],
    from_car: DirectionKey,
    to_sign: Vec<u8>,
    clock_offset_ms: i64,
}

impl std::fmt::Debug for AwaitingDeviceSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingDeviceSignature").field("suite", &self.suite).finish_non_exhaustive()
    }
}

impl AwaitingDeviceSignature {
    /// What the device key signs (ECDSA P-256 with SHA-256, ASN.1 DER signature).
    pub fn to_sign(&self) -> &[u8] {
        &self.to_sign
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Seals the grant and the device's signature into `ClientAuth`; returns the session and the
    /// message. The phone may send its first command right behind it.
    pub fn finish(mut self, grant: &[u8], device_signature: &[u8]) -> Result<(Session, Vec<u8>), PairingError> {
        if device_signature.len() > MAX_DEVICE_SIGNATURE_LEN {
            return Err(PairingError::Malformed("device signature too long"));
        }
        let mut plaintext = Writer::with_capacity(grant.len() + device_signature.len() + 3);
        plaintext.field(grant).short_field(device_signature);
        let to_car = direction_key(&self.prk, self.suite, "hs p2c", &[])?;
        let message = ClientAuth { sealed: to_car.seal(0, &self.th_m2, plaintext.as_slice())? }.encode();
        if message.len() > MAX_MESSAGE_LEN {
            return Err(PairingError::Oversized(message.len()));
        }
        self.transcript.update(&message);
        let th_final = digest_of(&self.transcript);
        let parts =
            session_parts(&self.prk, self.suite, &th_final, Direction::PhoneToCar, &self.vin, self.clock_offset_ms)?;
        let session = Session::new(parts).expecting_handshake_alerts(self.from_car, th_final);
        Ok((session, message))
    }
}

// ---------------------------------------------------------------------------------------------
// The car's role.

/// The car's refusal: why (for its log) and the message to send the phone.
#[derive(Debug)]
pub struct Refusal {
    pub error: PairingError,
    /// What the car sends back; `None` when it stays silent (a hello that does not prove the
    /// advertising key: the sender learns nothing, not even that a car is listening).
    pub alert: Option<Vec<u8>>,
}

/// Answers a `ClientHello` that arrived when the car's clock read `car_now_ms`.
pub fn car_respond(
    identity: &CarIdentity,
    rng: &dyn SecureRandom,
    message: &[u8],
    car_now_ms: u64,
) -> Result<(AwaitingClientAuth, Vec<u8>), Refusal> {
    let silent = |error: PairingError| Refusal { alert: None, error };
    let plain = |error: PairingError| Refusal { alert: Some(plain_alert(AlertCode::for_error(&error))), error };
    let hello = ClientHello::parse(message).map_err(silent)?;
    let car_now_secs = i64::try_from(car_now_ms / 1000).unwrap_or(i64::MAX);
    if !identity.advertising.as_ref().is_some_and(|key| hello.proves(key, car_now_secs)) {
        return Err(silent(PairingError::UnknownPhone));
    }
    if hello.version != PROTOCOL_VERSION {
        return Err(plain(PairingError::UnsupportedVersion(hello.version)));
    }
    let suite = SUPPORTED_SUITES
        .into_iter()
        .find(|suite| hello.suites.contains(&suite.wire()))
        .ok_or_else(|| plain(PairingError::NoCommonSuite))?;
    let (private, public) = ephemeral(rng).map_err(plain)?;
    let mut answer = ServerHello {
        version: PROTOCOL_VERSION,
        suite: suite.wire(),
        ephemeral: public,
        nonce: random(rng).map_err(plain)?,
        sealed_proof: Vec::new(),
    };
    let mut transcript = Context::new(&SHA256);
    transcript.update(TRANSCRIPT_CONTEXT);
    transcript.update(message);
    transcript.update(answer.clear_part().as_slice());
    let th_hello = digest_of(&transcript);
    // A low-order ephemeral key from the phone ends here, before the car signs anything.
    let prk = handshake_secret(private, &hello.ephemeral, &th_hello)
        .map_err(|_| plain(PairingError::Malformed("invalid ephemeral key")))?;
    let to_phone = direction_key(&prk, suite, "hs c2p", &[]).map_err(plain)?;
    let mut proof = Writer::with_capacity(72);
    proof.u64(car_now_ms).bytes(&identity.sign(&vehicle_signed_part(&th_hello, car_now_ms)));
    answer.sealed_proof = to_phone.seal(0, &th_hello, proof.as_slice()).map_err(plain)?;
    let encoded = answer.encode();
    transcript.update(&encoded[answer.clear_part().len()..]);
    let th_m2 = digest_of(&transcript);
    Ok((AwaitingClientAuth { prk, suite, transcript, th_m2, to_phone }, encoded))
}

/// The car answered and waits for the phone's grant and signature.
pub struct AwaitingClientAuth {
    prk: hkdf::Prk,
    suite: Suite,
    transcript: Context,
    th_m2: [u8; 32],
    to_phone: DirectionKey,
}

impl std::fmt::Debug for AwaitingClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingClientAuth").field("suite", &self.suite).finish_non_exhaustive()
    }
}

impl AwaitingClientAuth {
    /// Checks the phone's `ClientAuth` at `car_now_secs` (Unix seconds of the car's clock).
    /// Until the phone has proved it holds the key its grant names, every failure is the same
    /// [`PairingError::AuthenticationFailed`]; after that, the grant's own problems (another car,
    /// its validity, revocation) are named. `revoked` tells whether the car has been told a
    /// grant was revoked.
    pub fn receive(
        mut self,
        identity: &CarIdentity,
        message: &[u8],
        car_now_secs: i64,
        revoked: &dyn Fn(Uuid) -> bool,
    ) -> Result<(Session, Grant), Refusal> {
        self.transcript.update(message);
        let th_final = digest_of(&self.transcript);
        let sealed_alert = |error: PairingError| {
            let mut w = Writer::with_capacity(24);
            let code = [AlertCode::for_error(&error) as u8];
            match self.to_phone.seal(1, &th_final, &code) {
                Ok(sealed) => {
                    w.u8(MessageType::HandshakeAlert as u8).field(&sealed);
                    Refusal { error, alert: Some(w.into_vec()) }
                }
                Err(crypto) => Refusal { error: crypto, alert: Some(plain_alert(AlertCode::Internal)) },
            }
        };
        let grant =
            self.authenticate(identity, message).map_err(|_| sealed_alert(PairingError::AuthenticationFailed))?;
        if grant.vin != identity.vin {
            return Err(sealed_alert(PairingError::GrantWrongVehicle));
        }
        if car_now_secs < grant.not_before {
            return Err(sealed_alert(PairingError::GrantNotYetValid));
        }
        if car_now_secs >= grant.not_after {
            return Err(sealed_alert(PairingError::GrantExpired));
        }
        if revoked(grant.grant_id) {
            return Err(sealed_alert(PairingError::GrantRevoked));
        }
        let parts = session_parts(&self.prk, self.suite, &th_final, Direction::CarToPhone, &identity.vin, 0)
            .map_err(sealed_alert)?;
        Ok((Session::new(parts), grant))
    }

    /// Opens `ClientAuth`, verifies the grant and the device signature.
    fn authenticate(&self, identity: &CarIdentity, message: &[u8]) -> Result<Grant, PairingError> {
        let auth = ClientAuth::parse(message)?;
        let to_car = direction_key(&self.prk, self.suite, "hs p2c", &[])?;
        let plaintext = to_car.open(0, &self.th_m2, &auth.sealed)?;
        let mut r = Reader::new(&plaintext);
        let grant_bytes = r.field()?;
        let signature = r.short_field()?;
        r.finish()?;
        let grant = identity.grants.verify(grant_bytes)?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &grant.device_public_key)
            .verify(&device_signed_part(&self.th_m2), signature)
            .map_err(|_| PairingError::AuthenticationFailed)?;
        Ok(grant)
    }
}
