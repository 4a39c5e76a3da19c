//! Arbitrary chunks at arbitrary times into the reassembler: it must never panic, never hold or
//! return more than one capped message, and only return what a sender could have framed.
#![no_main]

use caas_protocol::pairing::{MAX_MESSAGE_LEN, Reassembler};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reassembler = Reassembler::new();
    let mut now = 0u64;
    // Each chunk: one byte of delay (in 10 ms steps, so some gaps pass the idle limit), one byte
    // of length, then the chunk.
    let mut rest = data;
    while let [delay, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        now += u64::from(*delay) * 10;
        if let Ok(Some(message)) = reassembler.push(&tail[..take], now) {
            assert!(!message.is_empty() && message.len() <= MAX_MESSAGE_LEN);
        }
        rest = &tail[take..];
    }
});
