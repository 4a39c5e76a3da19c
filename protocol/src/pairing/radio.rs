//! The simulated radio's wire format: how the phone's simulated BLE link and the platform
//! mock's simulated cars talk over a byte stream (a loopback socket, or an in-process pipe).
//!
//! It models what the phone's BLE stack offers an app, no more: scanning for advertisements,
//! connecting with an ATT MTU, writes with response on the write characteristic, and
//! indications from the indicate characteristic. Each frame on the stream is a 4-byte big-endian
//! length and the frame's bytes.

use super::wire::{Reader, Writer};
use super::{MAX_MTU, MIN_MTU, PairingError, RotatingId};

/// No radio frame is longer: the biggest carries one ATT payload or a scan result.
pub const MAX_RADIO_FRAME: usize = 4096;
/// At most this many cars are reported by one scan.
pub const MAX_ADVERTISEMENTS: usize = 64;

/// A car seen while scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The radio's name for the peripheral (a random address on a real car), valid for a connect.
    pub peripheral_id: String,
    pub rotating_id: RotatingId,
    pub rssi: i8,
}

/// One frame between the phone's stack and the simulated air.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioFrame {
    Scan,
    Connect {
        peripheral_id: String,
        mtu: u16,
    },
    /// A write with response carrying one ATT payload (at most MTU-3 bytes).
    Write(Vec<u8>),
    Disconnect,
    Advertisements(Vec<Advertisement>),
    Connected {
        mtu: u16,
    },
    WriteAck,
    Indication(Vec<u8>),
    /// The link ended (the car went away, or refused the connection).
    Disconnected {
        reason: String,
    },
}

impl RadioFrame {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(32);
        match self {
            Self::Scan => {
                w.u8(0x01);
            }
            Self::Connect { peripheral_id, mtu } => {
                w.u8(0x02).short_field(peripheral_id.as_bytes()).u16(*mtu);
            }
            Self::Write(chunk) => {
                w.u8(0x03).field(chunk);
            }
            Self::Disconnect => {
                w.u8(0x04);
            }
            Self::Advertisements(list) => {
                w.u8(0x81).u8(list.len().min(MAX_ADVERTISEMENTS) as u8);
                for ad in list.iter().take(MAX_ADVERTISEMENTS) {
                    w.short_field(ad.peripheral_id.as_bytes()).bytes(&ad.rotating_id.0).u8(ad.rssi as u8);
                }
            }
            Self::Connected { mtu } => {
                w.u8(0x82).u16(*mtu);
            }
            Self::WriteAck => {
                w.u8(0x83);
            }
            Self::Indication(chunk) => {
                w.u8(0x84).field(chunk);
            }
            Self::Disconnected { reason } => {
                let reason = &reason.as_bytes()[..reason.len().min(200)];
                w.u8(0x85).short_field(reason);
            }
        }
        w.into_vec()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        if bytes.len() > MAX_RADIO_FRAME {
            return Err(PairingError::Oversized(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let text =
            |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| PairingError::Malformed("text is not UTF-8"));
        let chunk = |bytes: &[u8]| {
            if bytes.len() > usize::from(MAX_MTU) {
                Err(PairingError::Oversized(bytes.len()))
            } else {
                Ok(bytes.to_vec())
            }
        };
        let frame = match r.u8()? {
            0x01 => Self::Scan,
            0x02 => Self::Connect { peripheral_id: text(r.short_field()?)?, mtu: r.u16()?.clamp(MIN_MTU, MAX_MTU) },
            0x03 => Self::Write(chunk(r.field()?)?),
            0x04 => Self::Disconnect,
            0x81 => {
                let count = usize::from(r.u8()?);
                if count > MAX_ADVERTISEMENTS {
                    return Err(PairingError::Malformed("too many advertisements"));
                }
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    list.push(Advertisement {
                        peripheral_id: text(r.short_field()?)?,
                        rotating_id: RotatingId(r.array()?),
                        rssi: r.u8()? as i8,
                    });
                }
                Self::Advertisements(list)
            }
            0x82 => Self::Connected { mtu: r.u16()?.clamp(MIN_MTU, MAX_MTU) },
            0x83 => Self::WriteAck,
            0x84 => Self::Indication(chunk(r.field()?)?),
            0x85 => Self::Disconnected { reason: text(r.short_field()?)? },
            _ => return Err(PairingError::Malformed("unknown radio frame")),
        };
        r.finish()?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_reads_back() {
        for frame in [
            RadioFrame::Scan,
            RadioFrame::Connect { peripheral_id: "car-1".into(), mtu: 185 },
            RadioFrame::Write(vec![1, 2, 3]),
            RadioFrame::Disconnect,
            RadioFrame::Advertisements(vec![Advertisement {
                peripheral_id: "car-1".into(),
                rotating_id: RotatingId([1; 8]),
                rssi: -60,
            }]),
            RadioFrame::Connected { mtu: 23 },
            RadioFrame::WriteAck,
            RadioFrame::Indication(vec![9; 20]),
            RadioFrame::Disconnected { reason: "out of range".into() },
        ] {
            assert_eq!(RadioFrame::parse(&frame.encode()), Ok(frame));
        }
        assert!(RadioFrame::parse(&[0x03, 0x02, 0x10]).is_err(), "a chunk longer than any MTU");
    }
}
