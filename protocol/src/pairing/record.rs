//! Records: what the phone and the car exchange once the handshake is done.
//!
//! Each record is sealed with AEAD under its direction's key, with a nonce made from the
//! direction's IV and a counter that strictly increases, and with associated data that binds the
//! protocol version, the session, the direction, the counter, the car (a digest of its VIN) and
//! the record's expiry. So a record cannot be replayed (same or lower counter), moved to another
//! session, reflected back at its sender, pointed at another car, or kept for later (it expires
//! within seconds), and a counter only moves once a record has proved genuine.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};

use super::wire::{Reader, Writer};
use super::{AlertCode, MessageType, PROTOCOL_VERSION, PairingError, Suite};

/// How long a command (and its response) stays valid after it is sealed.
pub const COMMAND_LIFETIME_MS: u64 = 10_000;
/// How far ahead of the receiver's clock an expiry may be: the lifetime plus the error in the
/// phone's estimate of the car's clock.
const MAX_EXPIRY_AHEAD_MS: u64 = COMMAND_LIFETIME_MS + 2_000;
const AD_CONTEXT: &[u8] = b"CAAS-REC-v1\0";
const HEADER_LEN: usize = 1 + 1 + 8 + 1 + 8 + 8;
const TAG_LEN: usize = 16;

/// Which way a record travels; each direction has its own key and IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    PhoneToCar = 1,
    CarToPhone = 2,
}

impl Direction {
    fn other(self) -> Self {
        match self {
            Self::PhoneToCar => Self::CarToPhone,
            Self::CarToPhone => Self::PhoneToCar,
        }
    }
}

/// A record as it travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub version: u8,
    pub session_id: [u8; 8],
    pub direction: u8,
    pub counter: u64,
    /// When the record stops being valid, in milliseconds of the car's clock.
    pub expires_at_ms: u64,
    pub ciphertext: Vec<u8>,
}

impl Record {
    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != MessageType::Record as u8 {
            return Err(PairingError::Malformed("not a record"));
        }
        let record = Self {
            version: r.u8()?,
            session_id: r.array()?,
            direction: r.u8()?,
            counter: r.u64()?,
            expires_at_ms: r.u64()?,
            ciphertext: r.field()?.to_vec(),
        };
        r.finish()?;
        if record.ciphertext.len() < TAG_LEN {
            return Err(PairingError::Malformed("record shorter than its tag"));
        }
        Ok(record)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(HEADER_LEN + 2 + self.ciphertext.len());
        w.u8(MessageType::Record as u8)
            .u8(self.version)
            .bytes(&self.session_id)
            .u8(self.direction)
            .u64(self.counter)
            .u64(self.expires_at_ms)
            .field(&self.ciphertext);
        w.into_vec()
    }

    fn associated_data(&self, vin_digest: &[u8; 32]) -> Vec<u8> {
        let mut w = Writer::with_capacity(AD_CONTEXT.len() + 59);
        w.bytes(AD_CONTEXT)
            .u8(self.version)
            .bytes(&self.session_id)
            .u8(self.direction)
            .u64(self.counter)
            .bytes(vin_digest)
            .u64(self.expires_at_ms);
        w.into_vec()
    }
}

/// One direction's key and IV.
pub(crate) struct DirectionKey {
    key: LessSafeKey,
    iv: [u8; 12],
}

impl DirectionKey {
    pub(crate) fn new(suite: Suite, key: &[u8; 32], iv: [u8; 12]) -> Result<Self, PairingError> {
        let key = UnboundKey::new(suite.aead(), key).map_err(|_| PairingError::Crypto("record key"))?;
        Ok(Self { key: LessSafeKey::new(key), iv })
    }

    /// The IV with the counter folded into its last 8 bytes: unique per record, as AEAD needs.
    fn nonce(&self, counter: u64) -> Nonce {
        let mut nonce = self.iv;
        for (n, c) in nonce[4..].iter_mut().zip(counter.to_be_bytes()) {
            *n ^= c;
        }
        Nonce::assume_unique_for_key(nonce)
    }

    pub(crate) fn seal(&self, counter: u64, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, PairingError> {
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(self.nonce(counter), Aad::from(ad), &mut buf)
            .map_err(|_| PairingError::Crypto("seal"))?;
        Ok(buf)
    }

    pub(crate) fn open(&self, counter: u64, ad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, PairingError> {
        let mut buf = ciphertext.to_vec();
        let plaintext =
            self.key.open_in_place(self.nonce(counter), Aad::from(ad), &mut buf).map_err(|_| PairingError::Tampered)?;
        Ok(plaintext.to_vec())
    }
}

impl std::fmt::Debug for DirectionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectionKey(..)")
    }
}

/// An established session, from one side's point of view.
#[derive(Debug)]
pub struct Session {
    id: [u8; 8],
    sends: Direction,
    send: DirectionKey,
    next_counter: u64,
    receive: DirectionKey,
    /// The highest counter accepted so far; counters start at 1.
    last_received: u64,
    vin_digest: [u8; 32],
    /// The car's clock minus this side's clock, in milliseconds (zero on the car).
    clock_offset_ms: i64,
    /// On the phone: the handshake key and final transcript with which the car seals its refusal
    /// of the phone's grant, if it refuses.
    handshake_alerts: Option<(DirectionKey, [u8; 32])>,
}

/// What a session is made of; the handshake derives it.
#[derive(Debug)]
pub(crate) struct SessionParts {
    pub(crate) id: [u8; 8],
    pub(crate) sends: Direction,
    pub(crate) send: DirectionKey,
    pub(crate) receive: DirectionKey,
    pub(crate) vin_digest: [u8; 32],
    pub(crate) clock_offset_ms: i64,
}

impl Session {
    pub(crate) fn new(parts: SessionParts) -> Self {
        let SessionParts { id, sends, send, receive, vin_digest, clock_offset_ms } = parts;
        Self {
            id,
            sends,
            send,
            next_counter: 1,
            receive,
            last_received: 0,
            vin_digest,
            clock_offset_ms,
            handshake_alerts: None,
        }
    }

    pub(crate) fn expecting_handshake_alerts(mut self, key: DirectionKey, th_final: [u8; 32]) -> Self {
        self.handshake_alerts = Some((key, th_final));
        self
    }

    pub fn id(&self) -> [u8; 8] {
        self.id
    }

    /// The car's clock at `now_ms` of this side's clock.
    pub fn car_clock_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_add_signed(self.clock_offset_ms)
    }

    /// Seals `plaintext` as the next record, valid for [`COMMAND_LIFETIME_MS`] from `now_ms` (this
    /// side's clock). Returns the record's counter and its bytes.
    pub fn seal(&mut self, plaintext: &[u8], now_ms: u64) -> Result<(u64, Vec<u8>), PairingError> {
        if self.next_counter == u64::MAX {
            return Err(PairingError::CounterExhausted);
        }
        let mut record = Record {
            version: PROTOCOL_VERSION,
            session_id: self.id,
            direction: self.sends as u8,
            counter: self.next_counter,
            expires_at_ms: self.car_clock_ms(now_ms) + COMMAND_LIFETIME_MS,
            ciphertext: Vec::new(),
        };
        record.ciphertext = self.send.seal(record.counter, &record.associated_data(&self.vin_digest), plaintext)?;
        self.next_counter += 1;
        Ok((record.counter, record.encode()))
    }

    /// Opens a record that arrived at `now_ms` (this side's clock). Returns its counter and
    /// plaintext. The counter moves only for a record that decrypts, so a forged record cannot
    /// push genuine ones out.
    ///
    /// On the phone, the car's sealed refusal of the handshake comes back as
    /// [`PairingError::Refused`]; an unsealed alert at this stage could come from anyone and is
    /// refused as unexpected.
    pub fn open(&mut self, bytes: &[u8], now_ms: u64) -> Result<(u64, Vec<u8>), PairingError> {
        match MessageType::of(bytes)? {
            MessageType::Record => {}
            MessageType::HandshakeAlert => return Err(self.open_handshake_alert(bytes)),
            _ => return Err(PairingError::Unexpected("a handshake message inside the session")),
        }
        let record = Record::parse(bytes)?;
        if record.version != PROTOCOL_VERSION {
            return Err(PairingError::UnsupportedVersion(record.version));
        }
        if record.session_id != self.id {
            return Err(PairingError::WrongSession);
        }
        if record.direction == self.sends as u8 {
            return Err(PairingError::Reflected);
        }
        if record.direction != self.sends.other() as u8 {
            return Err(PairingError::Malformed("unknown direction"));
        }
        if record.counter <= self.last_received {
            return Err(PairingError::Replay { counter: record.counter, last: self.last_received });
        }
        let plaintext =
            self.receive.open(record.counter, &record.associated_data(&self.vin_digest), &record.ciphertext)?;
        self.last_received = record.counter;
        let car_now = self.car_clock_ms(now_ms);
        if car_now > record.expires_at_ms {
            return Err(PairingError::Expired);
        }
        if record.expires_at_ms > car_now + MAX_EXPIRY_AHEAD_MS {
            return Err(PairingError::ExpiryTooFar);
        }
        Ok((record.counter, plaintext))
    }

    fn open_handshake_alert(&self, bytes: &[u8]) -> PairingError {
        let Some((key, th_final)) = &self.handshake_alerts else {
            return PairingError::Unexpected("a handshake alert inside the session");
        };
        let mut r = Reader::new(bytes);
        let opened =
            r.u8().and_then(|_| r.field()).and_then(|sealed| key.open(1, th_final, sealed)).and_then(|code| match code
                .as_slice()
            {
                [code] => AlertCode::from_wire(*code),
                _ => Err(PairingError::Malformed("alert of the wrong size")),
            });
        match opened {
            Ok(code) => PairingError::Refused(code),
            Err(error) => error,
        }
    }

    /// Moves the send counter, to show what happens near its end.
    #[cfg(test)]
    pub(crate) fn set_next_counter(&mut self, counter: u64) {
        self.next_counter = counter;
    }
}
