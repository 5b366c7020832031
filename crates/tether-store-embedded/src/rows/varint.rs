//! Varints (LEB128, signed ones zigzagged) and a reader of the byte streams the row store
//! writes. Small enough not to take a crate for; every read checks its bounds, so damaged
//! bytes are an error, never a panic.

use tether_store::{ErrorKind, StoreError, StoreResult};

/// The error of bytes the store wrote but cannot read back (a damaged file).
pub(crate) fn corrupt() -> StoreError {
    StoreError::new(ErrorKind::Internal, "stored logs are damaged")
}

pub(crate) fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_unsigned(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Length, then the bytes.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_unsigned(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads what the `put_` functions wrote, front to back.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn byte(&mut self) -> StoreResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn take(&mut self, n: usize) -> StoreResult<&'a [u8]> {
        if n > self.rest.len() {
            return Err(corrupt());
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> StoreResult<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| corrupt())
    }

    pub(crate) fn unsigned(&mut self) -> StoreResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt())
    }

    pub(crate) fn signed(&mut self) -> StoreResult<i64> {
        let v = self.unsigned()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> StoreResult<&'a [u8]> {
        let n = usize::try_from(self.unsigned()?).map_err(|_| corrupt())?;
        self.take(n)
    }

    /// What is left to read.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// A length, then that many bytes of UTF-8, borrowed.
    pub(crate) fn str(&mut self) -> StoreResult<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| corrupt())
    }

    pub(crate) fn text(&mut self) -> StoreResult<String> {
        let n = usize::try_from(self.unsigned()?).map_err(|_| corrupt())?;
        self.text_of(n)
    }

    pub(crate) fn text_of(&mut self, n: usize) -> StoreResult<String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt())
    }
}
