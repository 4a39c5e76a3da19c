//! Messages over GATT: a 2-byte length in front, cut into chunks of MTU-3 bytes (the ATT
//! header takes 3), put back together on the other side.
//!
//! The reassembler is the first code to touch bytes from the radio, so it holds at most one
//! message of at most [`MAX_MESSAGE_LEN`] bytes, and a message whose chunks stop arriving for
//! [`REASSEMBLY_IDLE_MS`] is dropped: a chunk from a stalled or hostile sender cannot be glued
//! to the next message.

use super::PairingError;

/// The largest message either side sends or accepts.
pub const MAX_MESSAGE_LEN: usize = 1024;
/// Bytes of every ATT packet taken by its header.
pub const ATT_HEADER_LEN: usize = 3;
/// The smallest ATT MTU BLE allows, and the largest.
pub const MIN_MTU: u16 = 23;
pub const MAX_MTU: u16 = 517;
/// A message whose next chunk comes later than this is dropped.
pub const REASSEMBLY_IDLE_MS: u64 = 1_000;

const LEN_PREFIX: usize = 2;

/// The chunks that carry `message` over a link with this ATT MTU.
pub fn fragment(message: &[u8], mtu: u16) -> Result<Vec<Vec<u8>>, PairingError> {
    if message.is_empty() {
        return Err(PairingError::Malformed("empty message"));
    }
    if message.len() > MAX_MESSAGE_LEN {
        return Err(PairingError::Oversized(message.len()));
    }
    let chunk = usize::from(mtu.clamp(MIN_MTU, MAX_MTU)) - ATT_HEADER_LEN;
    let mut framed = Vec::with_capacity(LEN_PREFIX + message.len());
    framed.extend_from_slice(&(message.len() as u16).to_be_bytes());
    framed.extend_from_slice(message);
    Ok(framed.chunks(chunk).map(<[u8]>::to_vec).collect())
}

/// Puts chunks back into messages, one message at a time.
#[derive(Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    /// The announced length of the message being put together, once its first chunk came.
    expected: Option<usize>,
    last_chunk_ms: u64,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether part of a message is waiting for more chunks.
    pub fn in_progress(&self) -> bool {
        self.expected.is_some()
    }

    /// Takes one chunk that arrived at `now_ms` (any monotonic clock in milliseconds); returns a
    /// whole message once its last chunk is in. On an error the partial message is dropped and
    /// the next chunk starts a new one.
    pub fn push(&mut self, chunk: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, PairingError> {
        if self.expected.is_some() && now_ms.saturating_sub(self.last_chunk_ms) >= REASSEMBLY_IDLE_MS {
            self.reset();
        }
        self.last_chunk_ms = now_ms;
        let result = self.take(chunk);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Drops the message being put together.
    fn reset(&mut self) {
        self.buf.clear();
        self.expected = None;
    }

    fn take(&mut self, chunk: &[u8]) -> Result<Option<Vec<u8>>, PairingError> {
        if chunk.is_empty() {
            return Err(PairingError::Malformed("empty chunk"));
        }
        if chunk.len() > usize::from(MAX_MTU) - ATT_HEADER_LEN {
            return Err(PairingError::Oversized(chunk.len()));
        }
        let body = match self.expected {
            Some(_) => chunk,
            None => {
                let [hi, lo, rest @ ..] = chunk else {
                    return Err(PairingError::Malformed("first chunk shorter than the length prefix"));
                };
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                if len == 0 {
                    return Err(PairingError::Malformed("empty message"));
                }
                if len > MAX_MESSAGE_LEN {
                    return Err(PairingError::Oversized(len));
                }
                self.expected = Some(len);
                rest
            }
        };
        let expected = self.expected.unwrap_or_default();
        if self.buf.len() + body.len() > expected {
            return Err(PairingError::Malformed("chunk runs past the announced length"));
        }
        self.buf.extend_from_slice(body);
        if self.buf.len() < expected {
            return Ok(None);
        }
        self.expected = None;
        Ok(Some(std::mem::take(&mut self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reassemble(chunks: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, PairingError> {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            out.extend(r.push(chunk, i as u64 * 30)?);
        }
        Ok(out)
    }

    #[test]
    fn chunks_fit_the_mtu_for_every_mtu_the_issue_names() {
        let message = vec![0x5a; MAX_MESSAGE_LEN];
        for mtu in [23u16, 185, 247, 517] {
            let chunks = fragment(&message, mtu).expect("a full-size message fragments");
            assert!(chunks.iter().all(|c| c.len() <= usize::from(mtu) - ATT_HEADER_LEN));
            assert_eq!(chunks.len(), (MAX_MESSAGE_LEN + 2).div_ceil(usize::from(mtu) - 3));
            assert_eq!(reassemble(&chunks), Ok(vec![message.clone()]));
        }
    }

    #[test]
    fn oversized_and_empty_messages_are_refused_both_ways() {
        assert_eq!(fragment(&[0; MAX_MESSAGE_LEN + 1], 185), Err(PairingError::Oversized(MAX_MESSAGE_LEN + 1)));
        assert!(matches!(fragment(&[], 185), Err(PairingError::Malformed(_))));
        let mut r = Reassembler::new();
        assert_eq!(r.push(&[0x04, 0x01, 0xff], 0), Err(PairingError::Oversized(0x401)));
        assert!(!r.in_progress(), "an oversized announcement keeps nothing");
        assert!(matches!(r.push(&[0x00, 0x00], 0), Err(PairingError::Malformed(_))));
        assert!(matches!(r.push(&[0x01], 0), Err(PairingError::Malformed(_))));
        assert!(matches!(r.push(&[], 0), Err(PairingError::Malformed(_))));
        assert_eq!(r.push(&[0x5a; 515], 0), Err(PairingError::Oversized(515)));
    }

    #[test]
    fn a_chunk_past_the_announced_length_drops_the_message() {
        let mut r = Reassembler::new();
        assert_eq!(r.push(&[0x00, 0x03, 1, 2], 0), Ok(None));
        assert!(matches!(r.push(&[3, 4], 10), Err(PairingError::Malformed(_))));
        assert_eq!(r.push(&[0x00, 0x01, 9], 20), Ok(Some(vec![9])), "the next message starts clean");
    }

    #[test]
    fn fragments_more_than_a_second_apart_never_join() {
        let message: Vec<u8> = (0..=255).collect();
        let chunks = fragment(&message, 23).expect("fragments");
        let mut r = Reassembler::new();
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 999), Ok(None), "just under a second is still the same message");
        // The rest arrives late: the partial message is gone and the late chunk is read as the
        // start of a new one, so the old message can never complete.
        let mut completed = Vec::new();
        let mut now = 999 + REASSEMBLY_IDLE_MS;
        for chunk in &chunks[2..] {
            if let Ok(Some(m)) = r.push(chunk, now) {
                completed.push(m);
            }
            now += 10;
        }
        assert!(!completed.contains(&message));
        // A whole message sent again afterwards goes through.
        let mut r = Reassembler::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let got = r.push(chunk, now + i as u64).expect("in time");
            assert_eq!(got.is_some(), i + 1 == chunks.len());
        }
    }

    #[test]
    fn a_disconnect_mid_frame_leaves_nothing_behind() {
        let message = vec![7u8; 300];
        let chunks = fragment(&message, 23).expect("fragments");
        let mut r = Reassembler::new();
        for chunk in &chunks[..5] {
            assert_eq!(r.push(chunk, 0), Ok(None));
        }
        assert!(r.in_progress());
        // A new link gets a new reassembler; the truncated message never surfaces.
        let mut fresh = Reassembler::new();
        assert_eq!(fresh.push(&chunks[5], 0).ok().flatten(), None);
    }

    proptest! {
        #[test]
        fn any_message_survives_any_mtu(message in proptest::collection::vec(any::<u8>(), 1..=MAX_MESSAGE_LEN), mtu in MIN_MTU..=MAX_MTU) {
            let chunks = fragment(&message, mtu).expect("fragments");
            prop_assert_eq!(reassemble(&chunks), Ok(vec![message]));
        }

        #[test]
        fn arbitrary_chunks_never_panic_or_exceed_the_cap(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..40)) {
            let mut r = Reassembler::new();
            for (i, chunk) in chunks.iter().enumerate() {
                if let Ok(Some(message)) = r.push(chunk, i as u64 * 400) {
                    prop_assert!(!message.is_empty() && message.len() <= MAX_MESSAGE_LEN);
                }
                prop_assert!(r.buf.len() <= MAX_MESSAGE_LEN);
            }
        }
    }
}
