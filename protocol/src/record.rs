//! The purchase record as evidence: every event of an order carries the hash of the one before it
//! (`prev`), and the platform signs the head of the chain with its record key. Anyone holding the
//! events and the platform's public key can check, offline, that nothing was rewritten, removed or
//! inserted since the platform signed it; the phone checks it at every sync.
//!
//! An event's hash is SHA-256 over a domain tag and the event as it travels, in the JSON
//! Canonicalization Scheme (RFC 8785): the phone keeps events as received, so it hashes exactly
//! the bytes the platform hashed, including fields of kinds it cannot read.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{Context, SHA256};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Names what is hashed, so no other SHA-256 of the platform can pass for an event's.
const EVENT_DOMAIN: &[u8] = b"caas-record-v1 event\n";
const GENESIS_DOMAIN: &[u8] = b"caas-record-v1 genesis\n";
const HEAD_DOMAIN: &[u8] = b"caas-record-v1 head\n";

/// The format name of an exported record.
pub const EXPORT_FORMAT: &str = "caas-record/1";

/// The SHA-256 of an event; base64url without padding on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordHash([u8; 32]);

impl RecordHash {
    /// What the first event of an order links to: bound to the order, so no event moves between
    /// records.
    pub fn genesis(order_id: Uuid) -> Self {
        let mut context = Context::new(&SHA256);
        context.update(GENESIS_DOMAIN);
        context.update(order_id.as_bytes());
        Self::of(context)
    }

    /// The hash of one event as it travels (its `prev` included).
    pub fn of_event(event: &serde_json::Value) -> Result<Self, RecordError> {
        Self::with_text(event).map(|(hash, _)| hash)
    }

    /// The hash of an event and a JSON text of it to store: the canonical text the hash was taken
    /// over, so a phone serializes each event once, unless the event holds a number the canonical
    /// text would not give back as read (see [`Canonical`]), which only the plain text keeps.
    pub fn with_text(event: &serde_json::Value) -> Result<(Self, String), RecordError> {
        let canonicalize = || {
            serde_json_canonicalizer::to_string(event)
                .map_err(|e| RecordError::Malformed(format!("an event cannot be canonicalized: {e}")))
        };
        // Straight into a buffer: `Value`'s `Display` goes through a formatter and an adapter,
        // a quarter of a page's ingest.
        let plain = || {
            serde_json::to_string(event).map_err(|e| RecordError::Malformed(format!("an event cannot be written: {e}")))
        };
        let (canonical, text) = match Canonical::of(event) {
            Canonical::Plain => (None, plain()?),
            Canonical::Rewritten { exact: true } => (None, canonicalize()?),
            Canonical::Rewritten { exact: false } => (Some(canonicalize()?), plain()?),
        };
        let mut context = Context::new(&SHA256);
        context.update(EVENT_DOMAIN);
        context.update(canonical.as_ref().unwrap_or(&text).as_bytes());
        Ok((Self::of(context), text))
    }

    fn of(context: Context) -> Self {
        let mut hash = [0; 32];
        hash.copy_from_slice(context.finish().as_ref());
        Self(hash)
    }

    pub fn to_text(self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn from_text(text: &str) -> Result<Self, RecordError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| RecordError::Malformed("a hash is not 32 bytes of base64url".into()))?;
        let mut hash = [0; 32];
        hash.copy_from_slice(&bytes);
        Ok(Self(hash))
    }
}

impl std::fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordHash({})", self.to_text())
    }
}

impl Serialize for RecordHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for RecordHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_text(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for RecordHash {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("SHA-256, base64url without padding"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for RecordHash {}

/// The platform's public record key: what a record is checked with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordKey {
    pub key_id: String,
    /// Ed25519 public key, base64url without padding.
    pub public_key: String,
}

impl RecordKey {
    /// The key from its public half (Ed25519, base64url), as a reader is given it.
    pub fn from_public_key(public_key: &str) -> Result<Self, RecordError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(public_key)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| RecordError::Malformed("a record key is 32 bytes of base64url".into()))?;
        Ok(Self { key_id: crate::handover::key_id(&bytes), public_key: public_key.to_owned() })
    }
}

/// How canonical JSON (RFC 8785) would write a value, found by one walk: its plain text already
/// (keys in ASCII and in order, integers a double holds exactly: serde_json then writes the same
/// bytes), or only by the canonicalizer, and whether the canonical text reads back as the same
/// value (it writes every number as a double: an integer beyond 2^53 comes back rounded, and a
/// fraction-free double such as 2.0 or -0.0 as an integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canonical {
    Plain,
    Rewritten { exact: bool },
}

impl Canonical {
    fn of(value: &serde_json::Value) -> Self {
        const EXACT: u64 = 1 << 53;
        let (mut plain, mut exact) = (true, true);
        let mut stack = vec![value];
        while let Some(value) = stack.pop() {
            match value {
                serde_json::Value::Number(n) => {
                    let integer =
                        n.as_u64().map(|n| n <= EXACT).or_else(|| n.as_i64().map(|n| n.unsigned_abs() <= EXACT));
                    plain &= integer == Some(true);
                    exact &= integer == Some(true);
                }
                serde_json::Value::Array(items) => stack.extend(items),
                serde_json::Value::Object(fields) => {
                    let mut previous: Option<&str> = None;
                    for (key, value) in fields {
                        plain &= key.is_ascii() && previous.is_none_or(|before| before < key.as_str());
                        previous = Some(key);
                        stack.push(value);
                    }
                }
                _ => {}
            }
        }
        if plain { Canonical::Plain } else { Canonical::Rewritten { exact } }
    }
}

/// The platform's word for the head of an order's chain: the hash of the event at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedHead {
    pub order_id: Uuid,
    pub version: u64,
    pub hash: RecordHash,
    pub key_id: String,
    /// Ed25519 over the head, base64url without padding.
    pub signature: String,
}

impl SignedHead {
    fn message(order_id: Uuid, version: u64, hash: RecordHash) -> Vec<u8> {
        let mut message = HEAD_DOMAIN.to_vec();
        message.extend_from_slice(order_id.as_bytes());
        message.extend_from_slice(&version.to_be_bytes());
        message.extend_from_slice(&hash.0);
        message
    }

    /// Checks the platform's signature with `key`.
    pub fn verify(&self, key: &RecordKey) -> Result<(), RecordError> {
        if self.key_id != key.key_id {
            return Err(RecordError::WrongKey { signed_by: self.key_id.clone(), trusted: key.key_id.clone() });
        }
        let public = URL_SAFE_NO_PAD.decode(&key.public_key).map_err(|_| RecordError::BadSignature)?;
        let signature = URL_SAFE_NO_PAD.decode(&self.signature).map_err(|_| RecordError::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, public)
            .verify(&Self::message(self.order_id, self.version, self.hash), &signature)
            .map_err(|_| RecordError::BadSignature)
    }
}

/// The platform's record signing key.
pub struct RecordSigner {
    pair: Ed25519KeyPair,
    key_id: String,
}

impl std::fmt::Debug for RecordSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl RecordSigner {
    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .unwrap_or_else(|_| unreachable!("any 32 bytes are an Ed25519 seed"));
        let key_id = crate::handover::key_id(pair.public_key().as_ref());
        Self { pair, key_id }
    }

    pub fn public_key(&self) -> RecordKey {
        RecordKey { key_id: self.key_id.clone(), public_key: URL_SAFE_NO_PAD.encode(self.pair.public_key()) }
    }

    pub fn sign(&self, order_id: Uuid, version: u64, hash: RecordHash) -> SignedHead {
        let signature = self.pair.sign(&SignedHead::message(order_id, version, hash));
        SignedHead {
            order_id,
            version,
            hash,
            key_id: self.key_id.clone(),
            signature: URL_SAFE_NO_PAD.encode(signature),
        }
    }
}

/// Why a record does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record cannot be read: {0}")]
    Malformed(String),
    /// Events are missing, repeated or out of order.
    #[error("event {found} follows event {expected_after}: the record has a gap")]
    Gap { expected_after: u64, found: u64 },
    /// The event does not link to the one before it: something before it was changed.
    #[error("event {version} does not follow from the events before it: the history was rewritten")]
    Broken { version: u64 },
    /// The platform's signed head names other events than the ones held.
    #[error("the platform's signed record at event {version} is not the history held here: it was rewritten")]
    Rewritten { version: u64 },
    #[error("the platform's signature on the record does not check out")]
    BadSignature,
    /// The key ids are quoted and escaped: they come from the record, which may be hostile.
    #[error("the record was signed by key {signed_by:?}, not by the platform's key {trusted:?}")]
    WrongKey { signed_by: String, trusted: String },
    /// The platform signed events it did not send.
    #[error("the platform signed {signed} events but this phone was given {held}")]
    Missing { held: u64, signed: u64 },
    /// The record is not signed up to its last event.
    #[error("the record holds {held} events but is signed only up to event {signed}")]
    Unsigned { held: u64, signed: u64 },
}

/// An order's chain as far as it was checked: the version and hash of its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    order_id: Uuid,
    version: u64,
    head: RecordHash,
}

impl Chain {
    /// An order's chain before its first event.
    pub fn new(order_id: Uuid) -> Self {
        Self { order_id, version: 0, head: RecordHash::genesis(order_id) }
    }

    /// A chain checked up to `version`, whose event there hashed to `head`.
    pub fn resume(order_id: Uuid, version: u64, head: RecordHash) -> Self {
        Self { order_id, version, head }
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// The hash the next event must carry as its `prev`.
    pub fn head(&self) -> RecordHash {
        self.head
    }

    /// Takes the next event, as it travels: it must be this order's next version and carry the
    /// hash of the one before. Returns its hash; the chain is unchanged when it is refused.
    pub fn link(&mut self, event: &serde_json::Value) -> Result<RecordHash, RecordError> {
        self.link_with_text(event).map(|(hash, _)| hash)
    }

    /// [`Chain::link`], returning a JSON text of the event to store beside its hash
    /// ([`RecordHash::with_text`]).
    pub fn link_with_text(&mut self, event: &serde_json::Value) -> Result<(RecordHash, String), RecordError> {
        let version =
            event["version"].as_u64().ok_or_else(|| RecordError::Malformed("an event has no version".into()))?;
        let order = event["order_id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
        if order != Some(self.order_id) {
            return Err(RecordError::Malformed(format!("event {version} belongs to another order")));
        }
        if version != self.version + 1 {
            return Err(RecordError::Gap { expected_after: self.version, found: version });
        }
        let prev = event.get("prev").and_then(serde_json::Value::as_str).map(RecordHash::from_text).transpose()?;
        if prev != Some(self.head) {
            return Err(RecordError::Broken { version });
        }
        let (hash, text) = RecordHash::with_text(event)?;
        self.version = version;
        self.head = hash;
        Ok((hash, text))
    }

    /// Compares the platform's signed head with the chain: signed by `key`, for this order, and
    /// naming the held event at its version. A head beyond the chain names events still to come.
    pub fn check(&self, head: &SignedHead, key: &RecordKey) -> Result<(), RecordError> {
        head.verify(key)?;
        if head.order_id != self.order_id {
            return Err(RecordError::Malformed("the signed head is another order's".into()));
        }
        match head.version.cmp(&self.version) {
            std::cmp::Ordering::Greater => Ok(()),
            std::cmp::Ordering::Equal if head.hash == self.head => Ok(()),
            _ => Err(RecordError::Rewritten { version: head.version }),
        }
    }
}

/// An order's purchase record as exported: its events as the platform sent them, the platform's
/// signature on their head, and the key it was signed with (for information: a record is checked
/// only against a key the reader already trusts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordExport {
    pub format: String,
    pub order_id: Uuid,
    pub key: RecordKey,
    pub head: SignedHead,
    pub events: Vec<serde_json::Value>,
}

/// What a record that checks out holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    pub order_id: Uuid,
    pub events: u64,
    pub head: RecordHash,
}

/// The longest record a reader takes, in bytes: far beyond any order's whole life.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

impl RecordExport {
    /// The record as a JSON document, to keep or hand over.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| unreachable!("a record is JSON through and through"))
    }

    /// Reads a record a reader was given, at most [`MAX_RECORD_BYTES`].
    pub fn from_json(text: &str) -> Result<Self, RecordError> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(RecordError::Malformed("larger than any purchase record".into()));
        }
        serde_json::from_str(text).map_err(|e| RecordError::Malformed(format!("not a purchase record: {e}")))
    }

    /// Checks the whole record against the platform's public key: every event links to the one
    /// before from the order's genesis, and the platform signed the last one.
    pub fn verify(&self, trusted: &RecordKey) -> Result<VerifiedRecord, RecordError> {
        if self.format != EXPORT_FORMAT {
            return Err(RecordError::Malformed(format!("{:?} is not a record format this version reads", self.format)));
        }
        if self.key.public_key != trusted.public_key {
            return Err(RecordError::WrongKey { signed_by: self.key.key_id.clone(), trusted: trusted.key_id.clone() });
        }
        let mut chain = Chain::new(self.order_id);
        for event in &self.events {
            chain.link(event)?;
        }
        if self.head.version != chain.version() {
            return Err(RecordError::Unsigned { held: chain.version(), signed: self.head.version });
        }
        chain.check(&self.head, trusted)?;
        Ok(VerifiedRecord { order_id: self.order_id, events: chain.version(), head: chain.head() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chained(order: Uuid, count: u64) -> Vec<serde_json::Value> {
        let mut chain = Chain::new(order);
        (1..=count)
            .map(|version| {
                let event = json!({
                    "event_id": Uuid::new_v4(), "order_id": order, "version": version,
                    "occurred_at": "2026-11-28T10:00:00Z", "type": "estimate_revised",
                    "estimated_completion": "2027-01-09", "reason": format!("revision {version}"),
                    "prev": chain.head(),
                });
                chain.link(&event).expect("links");
                event
            })
            .collect()
    }

    fn export(order: Uuid, signer: &RecordSigner, events: Vec<serde_json::Value>) -> RecordExport {
        let mut chain = Chain::new(order);
        events.iter().for_each(|e| {
            chain.link(e).expect("links");
        });
        RecordExport {
            format: EXPORT_FORMAT.into(),
            order_id: order,
            key: signer.public_key(),
            head: signer.sign(order, chain.version(), chain.head()),
            events,
        }
    }

    #[test]
    fn a_record_checks_out_with_the_platforms_key_only() {
        let (order, signer) = (Uuid::new_v4(), RecordSigner::from_seed(&[7; 32]));
        let record = export(order, &signer, chained(order, 5));
        let verified = record.verify(&signer.public_key()).expect("checks out");
        assert_eq!(verified.events, 5);
        let other = RecordSigner::from_seed(&[8; 32]).public_key();
        assert!(matches!(record.verify(&other), Err(RecordError::WrongKey { .. })));
    }

    #[test]
    fn a_changed_removed_or_reordered_event_is_caught() {
        let (order, signer) = (Uuid::new_v4(), RecordSigner::from_seed(&[7; 32]));
        let trusted = signer.public_key();
        let good = export(order, &signer, chained(order, 4));

        let mut changed = good.clone();
        changed.events[1]["reason"] = json!("a quieter reason");
        assert_eq!(changed.verify(&trusted), Err(RecordError::Broken { version: 3 }));

        let mut last_changed = good.clone();
        last_changed.events[3]["reason"] = json!("rewritten");
        assert_eq!(last_changed.verify(&trusted), Err(RecordError::Rewritten { version: 4 }));

        let mut removed = good.clone();
        removed.events.remove(1);
        assert_eq!(removed.verify(&trusted), Err(RecordError::Gap { expected_after: 1, found: 3 }));

        let mut truncated = good.clone();
        truncated.events.pop();
        assert_eq!(truncated.verify(&trusted), Err(RecordError::Unsigned { held: 3, signed: 4 }));

        // Rewritten and chained again by someone without the platform's key.
        let forger = RecordSigner::from_seed(&[9; 32]);
        let mut forged = export(order, &forger, chained(order, 4));
        forged.key = trusted.clone();
        forged.head.key_id = trusted.key_id.clone();
        assert_eq!(forged.verify(&trusted), Err(RecordError::BadSignature));
    }

    proptest::proptest! {
        /// Any change to any event of a signed record (a field changed, added or removed, an event
        /// dropped, repeated or swapped) is caught, and reading never panics.
        #[test]
        fn no_change_to_a_signed_record_goes_unnoticed(
            count in 1u64..8,
            at in 0usize..8,
            change in 0u8..7,
            text in "[a-z0-9 ]{0,12}",
        ) {
            let (order, signer) = (Uuid::from_u128(5), RecordSigner::from_seed(&[7; 32]));
            let mut record = export(order, &signer, chained(order, count));
            let original = record.events.clone();
            let i = at % record.events.len();
            let field = ["reason", "occurred_at", "type", "event_id"][usize::from(change) % 4];
            match change {
                0..=3 if record.events[i][field].as_str() != Some(text.as_str()) => record.events[i][field] = json!(text),
                4 => record.events[i][format!("x{text}")] = json!(1),
                5 => { record.events[i].as_object_mut().map(|o| o.remove("reason")); }
                _ => {
                    let event = record.events[i].clone();
                    if i + 1 < record.events.len() { record.events.swap(i, i + 1) } else { record.events.push(event) }
                }
            }
            if record.events != original {
                proptest::prop_assert!(record.verify(&signer.public_key()).is_err());
            }
            let _reading_never_panics = RecordExport::from_json(&record.to_json().replace('"', "'"));
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-(1i64 << 53)..=(1i64 << 53)).prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            "(?s).{0,12}".prop_map(serde_json::Value::from),
            "[\\x00-\\x1f\"\\\\/\\x7f\u{2028}\u{e000}\u{10000}]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}|(?s).{0,4}", inner, 0..6)
                    .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The hash never depends on which way the text was written: the plain text is taken only
        /// where it is, byte for byte, the canonicalizer's, and the text stored holds the value.
        #[test]
        fn the_hash_is_the_canonical_texts_and_the_stored_text_holds_the_value(value in any_json()) {
            let canonical = serde_json_canonicalizer::to_string(&value).expect("canonical");
            let mut context = Context::new(&SHA256);
            context.update(EVENT_DOMAIN);
            context.update(canonical.as_bytes());
            let (hash, text) = RecordHash::with_text(&value).expect("hash");
            proptest::prop_assert_eq!(hash, RecordHash::of(context));
            if Canonical::of(&value) == Canonical::Plain {
                proptest::prop_assert_eq!(&text, &canonical);
            }
            let reread: serde_json::Value = serde_json::from_str(&text).expect("json");
            proptest::prop_assert_eq!(reread, value);
        }
    }

    /// A phone stores the canonical text it hashed instead of the text received: it must hold the
    /// same data, a newer platform's fields and the largest numbers included.
    #[test]
    fn the_canonical_text_holds_the_event_it_was_taken_from() {
        let received = json!({
            "version": 9_007_199_254_740_992u64, "amount": -9_007_199_254_740_992i64,
            "text": "é \u{1F697} \"quoted\" \\ \n \u{7f}", "nested": { "z": [null, true, { "b": 2, "a": 1 }], "a": "" },
            "ñandú": { "é": 1, "e": 2 },
        });
        let (hash, text) = RecordHash::with_text(&received).expect("text");
        assert_eq!(text, serde_json_canonicalizer::to_string(&received).expect("canonical"), "stored as hashed");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("json"), received);
        assert_eq!(RecordHash::of_event(&received).expect("hash"), hash);
        // Numbers canonical JSON would not give back as read are stored as received, and hash as
        // before.
        for beyond in [
            json!({ "n": u64::MAX }),
            json!({ "a": [{ "n": i64::MIN }] }),
            json!({ "n": (1u64 << 53) + 1 }),
            json!({ "f": 2.0, "z": -0.0, "r": 0.1, "big": 1e300 }),
        ] {
            let (hash, text) = RecordHash::with_text(&beyond).expect("text");
            assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("json"), beyond, "exact");
            assert_eq!(RecordHash::of_event(&beyond).expect("hash"), hash);
        }
    }

    #[test]
    fn an_event_hashes_the_same_whatever_the_order_of_its_fields() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":"é","x":[2,1]}}"#).expect("json");
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":[2,1],"y":"é"},"b":1}"#).expect("json");
        assert_eq!(RecordHash::of_event(&a), RecordHash::of_event(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":{"x":[1,2],"y":"é"},"b":1}"#).expect("json");
        assert_ne!(RecordHash::of_event(&a), RecordHash::of_event(&c));
    }

    #[test]
    fn an_event_of_another_order_never_links() {
        let (order, other) = (Uuid::new_v4(), Uuid::new_v4());
        let theirs = chained(other, 1);
        assert!(matches!(Chain::new(order).link(&theirs[0]), Err(RecordError::Malformed(_))));
        let mut moved = theirs[0].clone();
        moved["order_id"] = json!(order);
        assert_eq!(Chain::new(order).link(&moved), Err(RecordError::Broken { version: 1 }), "genesis is per order");
    }
}
