//! A bounded reader of server-sent events: splits the byte stream into events of at most a limit
//! ([`MAX_EVENT_BYTES`] for the push stream), so a misbehaving server cannot make the reader
//! buffer without end.

use caas_protocol::push::MAX_PUSH_BYTES;

/// The largest event accepted; a push is at most 4 KiB and the SSE framing adds little.
pub const MAX_EVENT_BYTES: usize = MAX_PUSH_BYTES + 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event over {0} bytes")]
pub struct EventTooLarge(pub usize);

/// Accumulates bytes and yields complete events (without their blank-line terminator).
#[derive(Debug)]
pub struct SseSplitter {
    buffer: Vec<u8>,
    limit: usize,
}

impl Default for SseSplitter {
    /// A splitter for the push stream: events of a push's size.
    fn default() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }
}

impl SseSplitter {
    /// A splitter refusing events over `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self { buffer: Vec::new(), limit }
    }

    /// Adds bytes; returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, EventTooLarge> {
        self.buffer.extend(bytes.iter().filter(|b| **b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.buffer.drain(..end + 2).take(end + 1).collect();
            // Comment-only events (keep-alives) carry nothing.
            if event.split(|b| *b == b'\n').any(|line| !line.is_empty() && !line.starts_with(b":")) {
                if event.len() > self.limit {
                    return Err(EventTooLarge(self.limit));
                }
                events.push(event);
            }
        }
        if self.buffer.len() > self.limit {
            self.buffer.clear();
            return Err(EventTooLarge(self.limit));
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_chunks_and_skips_keep_alives() {
        let mut s = SseSplitter::default();
        assert_eq!(s.push(b"id: 1\nevent: order_event\nda").expect("ok"), Vec::<Vec<u8>>::new());
        let events = s.push(b"ta: {}\n\n:\n\nevent: x\r\ndata: 2\r\n\r\n").expect("ok");
        assert_eq!(events, vec![b"id: 1\nevent: order_event\ndata: {}\n".to_vec(), b"event: x\ndata: 2\n".to_vec()]);
    }

    #[test]
    fn refuses_an_endless_event() {
        let mut s = SseSplitter::default();
        let chunk = vec![b'a'; 1024];
        let mut result = Ok(Vec::new());
        for _ in 0..6 {
            result = s.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(EventTooLarge(MAX_EVENT_BYTES)));
    }
}
