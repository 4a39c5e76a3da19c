//! A bounded reader of server-sent events: splits the byte stream into events of at most
//! [`MAX_EVENT_BYTES`], so a misbehaving server cannot make the phone buffer without end.

use caas_protocol::push::MAX_PUSH_BYTES;

/// The largest event accepted; a push is at most 4 KiB and the SSE framing adds little.
pub const MAX_EVENT_BYTES: usize = MAX_PUSH_BYTES + 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event over {MAX_EVENT_BYTES} bytes")]
pub struct EventTooLarge;

/// Accumulates bytes and yields complete events (without their blank-line terminator).
#[derive(Debug, Default)]
pub struct SseSplitter {
    buffer: Vec<u8>,
}

impl SseSplitter {
    /// Adds bytes; returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, EventTooLarge> {
        self.buffer.extend(bytes.iter().filter(|b| **b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.buffer.drain(..end + 2).take(end + 1).collect();
            // Comment-only events (keep-alives) carry nothing.
            if event.split(|b| *b == b'\n').any(|line| !line.is_empty() && !line.starts_with(b":")) {
                if event.len() > MAX_EVENT_BYTES {
                    return Err(EventTooLarge);
                }
                events.push(event);
            }
        }
        if self.buffer.len() > MAX_EVENT_BYTES {
            self.buffer.clear();
            return Err(EventTooLarge);
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
        assert_eq!(result, Err(EventTooLarge));
    }
}
