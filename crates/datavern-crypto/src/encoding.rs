//! Byte-level helpers shared by the envelope, wrapped-key and key-file formats: length-prefixed
//! fields, a bounds-checked reader, and hex without a dependency.

use crate::error::{Error, Result};

/// Appends `bytes` preceded by its length as a 4-byte big-endian integer.
///
/// Length prefixes make the concatenation of several fields unambiguous: `("ab", "c")` and
/// `("a", "bc")` encode differently.
pub(crate) fn put_lp(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::ContextTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Encoded size of a length-prefixed field.
pub(crate) fn lp_len(bytes: &[u8]) -> usize {
    4 + bytes.len()
}

/// A cursor over bytes that never panics: every read past the end yields `None`.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`. Used for ids; key files use [`hex_encode_secret`].
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends lowercase hex of `bytes` to `out`. The caller reserves capacity first so that no
/// reallocation leaves a copy of secret hex behind in freed memory.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `out.len() * 2` hex digits into `out`, writing in place so a secret never
/// passes through an intermediate buffer.
pub(crate) fn hex_decode_into(hex: &str, out: &mut [u8]) -> std::result::Result<(), ()> {
    let hex = hex.as_bytes();
    if hex.len() != out.len() * 2 {
        return Err(());
    }
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) else {
            return Err(());
        };
        *byte = (hi << 4) | lo;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefix_separates_fields() {
        let mut a = Vec::new();
        put_lp(&mut a, b"ab").unwrap();
        put_lp(&mut a, b"c").unwrap();
        let mut b = Vec::new();
        put_lp(&mut b, b"a").unwrap();
        put_lp(&mut b, b"bc").unwrap();
        assert_ne!(a, b);
        assert_eq!(a, b"\0\0\0\x02ab\0\0\0\x01c");
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_digits() {
        let bytes = [0x00, 0x7f, 0xff, 0xa5];
        let hex = hex_encode(&bytes);
        assert_eq!(hex, "007fffa5");
        let mut back = [0u8; 4];
        hex_decode_into(&hex, &mut back).unwrap();
        assert_eq!(back, bytes);
        assert!(hex_decode_into("007fffa", &mut back).is_err());
        assert!(hex_decode_into("007fffzz", &mut back).is_err());
    }

    #[test]
    fn reader_stops_at_end() {
        let mut r = Reader::new(&[1, 0, 0, 0, 2]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u32(), Some(2));
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
        assert_eq!(r.take(1), None);
    }
}
