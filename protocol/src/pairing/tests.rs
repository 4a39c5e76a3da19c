//! The attack list, at the protocol level: each test shows the defence that stops one attack by
//! the exact error it produces, so removing the defence fails the test.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _};
use uuid::Uuid;

use super::grant::tests::{device_key, grant_for};
use super::*;

const VIN: &str = "VCAUEX00000000001";
/// The car's clock in these tests: Unix seconds and the same instant in milliseconds.
const NOW_SECS: i64 = 1_800_000_000;
const NOW_MS: u64 = NOW_SECS as u64 * 1000;
/// The phone's monotonic clock when the car's hello arrives.
const PHONE_MS: u64 = 50_000;

struct World {
    rng: SystemRandom,
    platform: GrantSigner,
    car: CarIdentity,
    device: EcdsaKeyPair,
    grant: SignedGrant,
}

/// The owner's advertising key in these tests.
fn advertising() -> AdvertisingKey {
    AdvertisingKey::new(&[3; 32])
}

fn world() -> World {
    let platform = GrantSigner::from_seed(&[1; 32]);
    let car = CarIdentity::from_seed(Vin::parse(VIN).expect("vin"), &[2; 32], platform.verifier())
        .with_advertising(advertising());
    let device = device_key();
    let grant = platform.sign(grant_for(&device, VIN, GrantRole::Owner, NOW_SECS - 60, NOW_SECS + 3600));
    World { rng: SystemRandom::new(), platform, car, device, grant }
}

/// What a test can change in an otherwise genuine handshake.
struct Twist<'a> {
    grant: &'a [u8],
    signer: &'a EcdsaKeyPair,
    car_now_secs: i64,
    revoked: bool,
}

impl World {
    fn expected(&self) -> ExpectedVehicle {
        ExpectedVehicle {
            vin: self.car.vin.clone(),
            public_key: self.car.public_key(),
            advertising: advertising(),
            car_now_secs: NOW_SECS,
        }
    }

    fn twist(&self) -> Twist<'_> {
        Twist { grant: &self.grant.bytes, signer: &self.device, car_now_secs: NOW_SECS, revoked: false }
    }

    /// The three messages; returns both sessions, or the car's refusal as the phone reads it
    /// (with the error the car logged).
    fn handshake_with(&self, twist: Twist<'_>) -> Result<(Session, Session), (PairingError, PairingError)> {
        let both = |e: PairingError| (e.clone(), e);
        let (phone, m1) = phone_start(&self.rng, self.expected(), &SUPPORTED_SUITES).map_err(both)?;
        let (car, m2) = car_respond(&self.car, &self.rng, &m1, NOW_MS).map_err(|r| both(r.error))?;
        let phone = phone.receive(&m2, PHONE_MS).map_err(both)?;
        let signature = twist.signer.sign(&self.rng, phone.to_sign()).expect("sign").as_ref().to_vec();
        let (mut phone_session, m3) = phone.finish(twist.grant, &signature).map_err(both)?;
        match car.receive(&self.car, &m3, twist.car_now_secs, &|_| twist.revoked) {
            Ok((car_session, _)) => Ok((phone_session, car_session)),
            Err(refusal) => Err((
                phone_session
                    .open(refusal.alert.as_deref().unwrap_or_default(), PHONE_MS)
                    .expect_err("an alert is an error"),
                refusal.error,
            )),
        }
    }

    fn handshake(&self) -> (Session, Session) {
        self.handshake_with(self.twist()).expect("handshake")
    }

    /// What the phone hears when the car refuses a handshake with this twist.
    fn refusal(&self, twist: Twist<'_>) -> PairingError {
        self.handshake_with(twist).expect_err("refused").0
    }
}

fn command() -> Vec<u8> {
    Content::Command(Command { id: CommandId::random(), request: Request::ReadStatus }).encode()
}

#[test]
fn a_genuine_phone_and_car_agree_and_talk_both_ways() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    assert_eq!(phone.id(), car.id());
    let sent = command();
    let (counter, record) = phone.seal(&sent, PHONE_MS + 10).expect("seal");
    assert_eq!(car.open(&record, NOW_MS + 10), Ok((counter, sent)));
    let (_, answer) = car.seal(b"status", NOW_MS + 20).expect("seal");
    assert_eq!(phone.open(&answer, PHONE_MS + 20).map(|(_, p)| p), Ok(b"status".to_vec()));
}

#[test]
fn a_replayed_record_is_refused_in_its_own_session_and_in_a_new_one() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, record) = phone.seal(&command(), PHONE_MS).expect("seal");
    car.open(&record, NOW_MS).expect("first time");
    assert_eq!(car.open(&record, NOW_MS), Err(PairingError::Replay { counter: 1, last: 1 }));
    let (_, mut next_car) = w.handshake();
    assert_eq!(next_car.open(&record, NOW_MS), Err(PairingError::WrongSession));
}

#[test]
fn equal_lower_and_wrapped_counters_are_refused() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, first) = phone.seal(&command(), PHONE_MS).expect("seal");
    let (_, second) = phone.seal(&command(), PHONE_MS).expect("seal");
    let (_, third) = phone.seal(&command(), PHONE_MS).expect("seal");
    car.open(&second, NOW_MS).expect("a later record may overtake");
    assert_eq!(car.open(&second, NOW_MS), Err(PairingError::Replay { counter: 2, last: 2 }), "equal");
    assert_eq!(car.open(&first, NOW_MS), Err(PairingError::Replay { counter: 1, last: 2 }), "lower");
    car.open(&third, NOW_MS).expect("higher");
    // The sender never wraps: the last counter is refused, so counter 1 can never come again.
    phone.set_next_counter(u64::MAX - 1);
    let (last, near_end) = phone.seal(&command(), PHONE_MS).expect("one before the end");
    assert_eq!(last, u64::MAX - 1);
    assert_eq!(phone.seal(&command(), PHONE_MS), Err(PairingError::CounterExhausted));
    car.open(&near_end, NOW_MS).expect("in order");
    assert_eq!(car.open(&first, NOW_MS), Err(PairingError::Replay { counter: 1, last: u64::MAX - 1 }), "wrapped");
}

#[test]
fn a_tampered_header_ciphertext_or_tag_is_refused_and_moves_no_counter() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, record) = phone.seal(&command(), PHONE_MS).expect("seal");
    let parsed = Record::parse(&record).expect("parses");
    let tampered = |change: &dyn Fn(&mut Record)| {
        let mut copy = parsed.clone();
        change(&mut copy);
        copy.encode()
    };
    let last = parsed.ciphertext.len() - 1;
    for (what, bytes) in [
        ("counter", tampered(&|r| r.counter += 5)),
        ("expiry", tampered(&|r| r.expires_at_ms += 60_000)),
        ("ciphertext", tampered(&|r| r.ciphertext[0] ^= 0x80)),
        ("tag", tampered(&|r| r.ciphertext[last] ^= 0x01)),
    ] {
        assert_eq!(car.open(&bytes, NOW_MS), Err(PairingError::Tampered), "{what}");
    }
    assert_eq!(car.open(&tampered(&|r| r.session_id[0] ^= 1), NOW_MS), Err(PairingError::WrongSession));
    assert_eq!(car.open(&tampered(&|r| r.version = 9), NOW_MS), Err(PairingError::UnsupportedVersion(9)));
    // The genuine record still opens: the forgeries moved nothing.
    assert!(car.open(&record, NOW_MS).is_ok());
}

#[test]
fn truncated_and_oversized_records_are_refused() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, record) = phone.seal(&command(), PHONE_MS).expect("seal");
    for cut in [1, 10, record.len() - 1] {
        assert!(matches!(car.open(&record[..cut], NOW_MS), Err(PairingError::Malformed(_))), "cut at {cut}");
    }
    let mut longer = record.clone();
    longer.push(0);
    assert!(matches!(car.open(&longer, NOW_MS), Err(PairingError::Malformed(_))));
    let (_, too_big) = phone.seal(&vec![0; MAX_MESSAGE_LEN], PHONE_MS).expect("seal");
    assert!(
        matches!(fragment(&too_big, 185), Err(PairingError::Oversized(_))),
        "a record over the cap is never framed"
    );
    assert!(car.open(&record, NOW_MS).is_ok());
}

#[test]
fn a_reflected_record_is_refused() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, from_car) = car.seal(b"status", NOW_MS).expect("seal");
    assert_eq!(car.open(&from_car, NOW_MS), Err(PairingError::Reflected), "sent back to the car");
    let (_, from_phone) = phone.seal(&command(), PHONE_MS).expect("seal");
    assert_eq!(phone.open(&from_phone, PHONE_MS), Err(PairingError::Reflected), "sent back to the phone");
    // Flipping the direction byte to hide the reflection breaks the seal.
    let mut flipped = Record::parse(&from_car).expect("parses");
    flipped.direction = Direction::PhoneToCar as u8;
    assert_eq!(car.open(&flipped.encode(), NOW_MS), Err(PairingError::Tampered));
}

#[test]
fn an_expired_command_is_refused_and_a_far_expiry_cannot_be_claimed() {
    let w = world();
    let (mut phone, mut car) = w.handshake();
    let (_, record) = phone.seal(&command(), PHONE_MS).expect("seal");
    assert_eq!(car.open(&record, NOW_MS + COMMAND_LIFETIME_MS + 1), Err(PairingError::Expired));
    // A phone whose idea of the car's clock runs far ahead sets expiries the car refuses.
    let (_, ahead) = phone.seal(&command(), PHONE_MS + 60_000).expect("seal");
    assert_eq!(car.open(&ahead, NOW_MS), Err(PairingError::ExpiryTooFar));
}

#[test]
fn a_grant_for_another_car_expired_not_yet_valid_or_revoked_is_named_after_proof_of_key() {
    let w = world();
    let other_car =
        w.platform.sign(grant_for(&w.device, "VCAUEX00000000002", GrantRole::Owner, NOW_SECS - 60, NOW_SECS + 60));
    assert_eq!(
        w.refusal(Twist { grant: &other_car.bytes, ..w.twist() }),
        PairingError::Refused(AlertCode::GrantWrongVehicle)
    );
    assert_eq!(
        w.refusal(Twist { car_now_secs: NOW_SECS + 3600, ..w.twist() }),
        PairingError::Refused(AlertCode::GrantExpired)
    );
    assert_eq!(
        w.refusal(Twist { car_now_secs: NOW_SECS - 61, ..w.twist() }),
        PairingError::Refused(AlertCode::GrantNotYetValid)
    );
    assert_eq!(w.refusal(Twist { revoked: true, ..w.twist() }), PairingError::Refused(AlertCode::GrantRevoked));
}

#[test]
fn an_unknown_key_a_foreign_grant_and_a_tampered_auth_all_look_the_same() {
    let w = world();
    let stranger = device_key();
    let unknown_key = w.refusal(Twist { signer: &stranger, ..w.twist() });
    let forged_grant = GrantSigner::from_seed(&[66; 32]).sign(grant_for(
        &w.device,
        VIN,
        GrantRole::Owner,
        NOW_SECS - 60,
        NOW_SECS + 60,
    ));
    let foreign = w.refusal(Twist { grant: &forged_grant.bytes, ..w.twist() });
    let mut garbled = w.grant.bytes.clone();
    garbled[20] ^= 1;
    let altered = w.refusal(Twist { grant: &garbled, ..w.twist() });
    for refusal in [unknown_key, foreign, altered] {
        assert_eq!(refusal, PairingError::Refused(AlertCode::AuthenticationFailed));
    }
}

#[test]
fn a_grant_naming_a_key_off_the_curve_is_refused() {
    let w = world();
    let mut off_curve = grant_for(&w.device, VIN, GrantRole::Owner, NOW_SECS - 60, NOW_SECS + 60);
    off_curve.device_public_key[64] ^= 1;
    let signed = w.platform.sign(off_curve);
    let (_, car_error) = w.handshake_with(Twist { grant: &signed.bytes, ..w.twist() }).expect_err("refused");
    assert_eq!(car_error, PairingError::AuthenticationFailed);
}

#[test]
fn the_phone_refuses_a_car_without_the_expected_key() {
    let w = world();
    let impostor =
        CarIdentity::from_seed(w.car.vin.clone(), &[99; 32], w.platform.verifier()).with_advertising(advertising());
    let (phone, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let (_, m2) = car_respond(&impostor, &w.rng, &m1, NOW_MS).expect("the impostor answers");
    assert_eq!(phone.receive(&m2, PHONE_MS).err(), Some(PairingError::WrongVehicle));
}

#[test]
fn low_order_ephemeral_keys_are_refused_on_both_sides() {
    let w = world();
    // Points of small order on Curve25519: zero, one, and a point of order 8.
    let mut one = [0u8; 32];
    one[0] = 1;
    let order_eight = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
        0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ];
    for point in [[0u8; 32], one, order_eight] {
        let (_, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
        let mut hello = ClientHello::parse(&m1).expect("parses");
        hello.ephemeral = point;
        let refusal = car_respond(&w.car, &w.rng, &prove(hello), NOW_MS).expect_err("refused");
        assert!(matches!(refusal.error, PairingError::Malformed(_)));
        assert_eq!(refusal.alert, Some(vec![MessageType::PlainAlert as u8, AlertCode::Malformed as u8]));

        let (phone, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
        let (_, m2) = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect("answers");
        let mut answer = ServerHello::parse(&m2).expect("parses");
        answer.ephemeral = point;
        assert_eq!(phone.receive(&answer.encode(), PHONE_MS).err(), Some(PairingError::InvalidKey));
    }
}

#[test]
fn stripping_the_preferred_suite_breaks_the_handshake() {
    let w = world();
    let (phone, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let mut hello = ClientHello::parse(&m1).expect("parses");
    hello.suites.retain(|s| *s != Suite::X25519Aes256GcmSha256.wire());
    // Even an attacker who knows the advertising key (a former owner, say) gains nothing.
    let (_, m2) = car_respond(&w.car, &w.rng, &prove(hello), NOW_MS).expect("the car accepts the weaker offer");
    assert_eq!(ServerHello::parse(&m2).expect("parses").suite, Suite::X25519ChaCha20Poly1305Sha256.wire());
    // The phone's transcript has its real offer: every key differs, nothing opens.
    assert_eq!(phone.receive(&m2, PHONE_MS).err(), Some(PairingError::Tampered));

    // A car that picks a suite the phone did not offer is refused outright.
    let (phone, m1) = phone_start(&w.rng, w.expected(), &[Suite::X25519Aes256GcmSha256]).expect("start");
    let (_, m2) = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect("answers");
    let mut answer = ServerHello::parse(&m2).expect("parses");
    answer.suite = Suite::X25519ChaCha20Poly1305Sha256.wire();
    assert_eq!(phone.receive(&answer.encode(), PHONE_MS).err(), Some(PairingError::NoCommonSuite));
    // Both suites work when chosen honestly.
    for suite in SUPPORTED_SUITES {
        let (phone, m1) = phone_start(&w.rng, w.expected(), &[suite]).expect("start");
        let (_, m2) = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect("answers");
        assert_eq!(phone.receive(&m2, PHONE_MS).map(|p| p.suite()).ok(), Some(suite));
    }
}

#[test]
fn an_old_version_or_empty_offer_is_refused_without_keys() {
    let w = world();
    let (_, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let mut hello = ClientHello::parse(&m1).expect("parses");
    hello.version = 0;
    let refusal = car_respond(&w.car, &w.rng, &prove(hello.clone()), NOW_MS).expect_err("refused");
    assert_eq!(refusal.error, PairingError::UnsupportedVersion(0));
    hello.version = PROTOCOL_VERSION;
    hello.suites = vec![0x7777];
    let refusal = car_respond(&w.car, &w.rng, &prove(hello), NOW_MS).expect_err("refused");
    assert_eq!(refusal.error, PairingError::NoCommonSuite);
    let (phone, _) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let alert = refusal.alert.expect("the owner's phone is told why");
    assert_eq!(phone.receive(&alert, PHONE_MS).err(), Some(PairingError::Refused(AlertCode::NoCommonSuite)));
}

/// A hello changed by someone who holds the advertising key, with its proof made again.
fn prove(mut hello: ClientHello) -> Vec<u8> {
    hello.prove(&advertising(), NOW_SECS);
    hello.encode()
}

/// Issue 12: the car answered any hello, so anyone could probe a car for what it is, and a former
/// owner's phone still found and reached it. Now a hello must prove the current advertising key,
/// or the car stays silent.
#[test]
fn the_car_stays_silent_to_a_hello_without_its_advertising_key() {
    let w = world();
    // A stranger, or a former owner whose key was replaced.
    let former = ExpectedVehicle { advertising: AdvertisingKey::new(&[4; 32]), ..w.expected() };
    let (_, m1) = phone_start(&w.rng, former, &SUPPORTED_SUITES).expect("start");
    let refusal = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect_err("not answered");
    assert_eq!((refusal.error, refusal.alert), (PairingError::UnknownPhone, None));
    // A recorded hello of the owner's phone, replayed much later.
    let (_, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let later = NOW_MS + 3 * ADVERTISING_EPOCH_SECS as u64 * 1000;
    assert_eq!(car_respond(&w.car, &w.rng, &m1, later).expect_err("stale").alert, None);
    // A hello altered after the proof was made.
    let mut altered = ClientHello::parse(&m1).expect("parses");
    altered.nonce[0] ^= 1;
    assert_eq!(car_respond(&w.car, &w.rng, &altered.encode(), NOW_MS).expect_err("altered").alert, None);
    // A car without an owner answers nobody.
    let unsold = CarIdentity::from_seed(w.car.vin.clone(), &[2; 32], w.platform.verifier());
    assert_eq!(car_respond(&unsold, &w.rng, &m1, NOW_MS).expect_err("unsold").alert, None);
    // The owner's phone, in time, is answered.
    assert!(car_respond(&w.car, &w.rng, &m1, NOW_MS + 60_000).is_ok());
}

#[test]
fn replayed_handshake_messages_lead_nowhere() {
    let w = world();
    // A recorded ClientHello and ClientAuth, replayed to the car: the car answers the hello with
    // fresh keys, so the recorded ClientAuth cannot open.
    let (phone, m1) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    let (car, m2) = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect("answers");
    let phone = phone.receive(&m2, PHONE_MS).expect("car verified");
    let signature = w.device.sign(&w.rng, phone.to_sign()).expect("sign").as_ref().to_vec();
    let (_, m3) = phone.finish(&w.grant.bytes, &signature).expect("finish");
    car.receive(&w.car, &m3, NOW_SECS, &|_| false).expect("the genuine run succeeds");
    let (replayed_car, _) = car_respond(&w.car, &w.rng, &m1, NOW_MS).expect("answers again");
    let refusal = replayed_car.receive(&w.car, &m3, NOW_SECS, &|_| false).expect_err("refused");
    assert_eq!(refusal.error, PairingError::AuthenticationFailed);
    // A recorded ServerHello, replayed to a phone starting afresh, does not open either.
    let (fresh_phone, _) = phone_start(&w.rng, w.expected(), &SUPPORTED_SUITES).expect("start");
    assert_eq!(fresh_phone.receive(&m2, PHONE_MS).err(), Some(PairingError::Tampered));
}

#[test]
fn a_record_from_another_session_is_refused() {
    let w = world();
    let (mut phone_a, _) = w.handshake();
    let (_, mut car_b) = w.handshake();
    let (_, record) = phone_a.seal(&command(), PHONE_MS).expect("seal");
    assert_eq!(car_b.open(&record, NOW_MS), Err(PairingError::WrongSession));
    // Even with the session id rewritten, the keys differ.
    let mut moved = Record::parse(&record).expect("parses");
    moved.session_id = car_b.id();
    assert_eq!(car_b.open(&moved.encode(), NOW_MS), Err(PairingError::Tampered));
}

#[test]
fn a_link_receipt_verifies_only_with_its_car() {
    let w = world();
    let digest = LinkReceipt::device_key_digest(w.device.public_key().as_ref());
    let grant_id = Uuid::new_v4();
    let signed = LinkReceipt::signed_part(&w.car.vin, grant_id, &digest, NOW_SECS);
    let receipt = LinkReceipt {
        vin: w.car.vin.clone(),
        grant_id,
        device_key_digest: digest,
        linked_at: NOW_SECS,
        signature: w.car.sign(&signed),
    };
    assert_eq!(receipt.verify(&w.car.public_key()), Ok(()));
    let other = CarIdentity::from_seed(w.car.vin.clone(), &[5; 32], w.platform.verifier());
    assert_eq!(receipt.verify(&other.public_key()), Err(PairingError::WrongVehicle));
    let moved = LinkReceipt { linked_at: NOW_SECS + 1, ..receipt };
    assert_eq!(moved.verify(&w.car.public_key()), Err(PairingError::WrongVehicle));
}
