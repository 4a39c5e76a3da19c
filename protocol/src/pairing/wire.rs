//! A bounded byte reader and writer for the pairing messages.
//!
//! Every pairing message comes off a radio from a peer that may be hostile, so parsing never
//! trusts a length it has not checked against what is left, and a message with bytes left over is
//! as malformed as a short one.

use super::PairingError;

/// Reads fields off the front of a message; every read is checked against what is left.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], PairingError> {
        if self.rest.len() < len {
            return Err(PairingError::Malformed("message ends early"));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], PairingError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, PairingError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, PairingError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, PairingError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, PairingError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, PairingError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A field with a one-byte length in front.
    pub(crate) fn short_field(&mut self) -> Result<&'a [u8], PairingError> {
        let len = self.u8()?;
        self.bytes(usize::from(len))
    }

    /// A field with a two-byte length in front.
    pub(crate) fn field(&mut self) -> Result<&'a [u8], PairingError> {
        let len = self.u16()?;
        self.bytes(usize::from(len))
    }

    /// What a caller needs to finish a message: nothing may be left over.
    pub(crate) fn finish(self) -> Result<(), PairingError> {
        if self.rest.is_empty() { Ok(()) } else { Err(PairingError::Malformed("bytes after the end of the message")) }
    }
}

/// Builds a message; lengths that do not fit their prefix are a programming error caught in tests.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { buf: Vec::with_capacity(capacity) }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    pub(crate) fn u16(&mut self, value: u16) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn i64(&mut self, value: i64) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn short_field(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u8::try_from(bytes.len()).unwrap_or_else(|_| panic!("a short field holds at most 255 bytes"));
        self.u8(len).bytes(bytes)
    }

    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u16::try_from(bytes.len()).unwrap_or_else(|_| panic!("a field holds at most 65535 bytes"));
        self.u16(len).bytes(bytes)
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// A value with a fixed binary layout, written and read whole: the receipts the car signs.
pub(crate) trait Layout: Sized {
    fn write(&self, w: &mut Writer);
    fn read(r: &mut Reader<'_>) -> Result<Self, PairingError>;
}

/// The value's bytes.
pub(crate) fn encode(value: &impl Layout) -> Vec<u8> {
    let mut w = Writer::with_capacity(160);
    value.write(&mut w);
    w.into_vec()
}

/// The value `bytes` hold, with nothing left over.
pub(crate) fn decode<T: Layout>(bytes: &[u8]) -> Result<T, PairingError> {
    let mut r = Reader::new(bytes);
    let value = T::read(&mut r)?;
    r.finish()?;
    Ok(value)
}
