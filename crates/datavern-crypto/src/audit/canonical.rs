//! [`CanonicalWriter`]: an unambiguous byte encoding for audit entries.

use std::fmt;

/// Tag of an absent optional value.
const TAG_NONE: u8 = 0x00;
/// Tag of a byte string.
const TAG_BYTES: u8 = 0x01;
/// Tag of a UTF-8 string.
const TAG_STR: u8 = 0x02;
/// Tag of an unsigned 64-bit integer.
const TAG_U64: u8 = 0x03;
/// Tag of a signed 64-bit integer.
const TAG_I64: u8 = 0x04;
/// Tag of a list of strings.
const TAG_STR_LIST: u8 = 0x05;

/// Builds the canonical bytes of an audit entry, the input of
/// [`chain_next`](super::chain_next).
///
/// Every field is a one-byte type tag followed by its value; strings and byte strings carry
/// their length as 8 bytes big-endian, integers are 8 bytes big-endian. So the encoding of a
/// sequence of fields is unambiguous: no two different sequences of fields encode to the same
/// bytes, `("ab", "c")` differs from `("a", "bc")`, an absent value differs from an empty one,
/// and a string differs from the same bytes given as bytes. The byte layout is in
/// `docs/crypto.md`.
///
/// The writer never fails. The caller decides the fields and their order, which must be fixed
/// per entry format; start with a format version so that the format can change later:
///
/// ```
/// use datavern_crypto::audit::{CanonicalWriter, GENESIS, chain_next};
///
/// let entry = CanonicalWriter::new()
///     .str("datavern audit entry v1")
///     .str("0301")
///     .str("read")
///     .opt_str(Some("0190b5d2-7c1e-7000-8000-000000000001"))
///     .str_list(["name", "address"])
///     .i64(1_735_689_600_000_000)
///     .finish();
/// let hash = chain_next(&GENESIS, 1, &entry);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CanonicalWriter {
    out: Vec<u8>,
}

impl CanonicalWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
        }
    }

    /// Appends a UTF-8 string: `0x02 ‖ u64(len) ‖ bytes`.
    pub fn str(self, value: &str) -> Self {
        self.tagged(TAG_STR, value.as_bytes())
    }

    /// Appends a byte string: `0x01 ‖ u64(len) ‖ bytes`.
    pub fn bytes(self, value: &[u8]) -> Self {
        self.tagged(TAG_BYTES, value)
    }

    /// Appends an unsigned integer: `0x03 ‖ u64`.
    pub fn u64(mut self, value: u64) -> Self {
        self.out.push(TAG_U64);
        self.out.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a signed integer (e.g. a timestamp in microseconds): `0x04 ‖ i64` in two's
    /// complement.
    pub fn i64(mut self, value: i64) -> Self {
        self.out.push(TAG_I64);
        self.out.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends an absent optional value: `0x00`.
    pub fn none(mut self) -> Self {
        self.out.push(TAG_NONE);
        self
    }

    /// Appends an optional string: the string when present, [`none`](Self::none) otherwise.
    pub fn opt_str(self, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.str(value),
            None => self.none(),
        }
    }

    /// Appends an optional byte string: the bytes when present, [`none`](Self::none)
    /// otherwise.
    pub fn opt_bytes(self, value: Option<&[u8]>) -> Self {
        match value {
            Some(value) => self.bytes(value),
            None => self.none(),
        }
    }

    /// Appends an optional unsigned integer: the integer when present, [`none`](Self::none)
    /// otherwise.
    pub fn opt_u64(self, value: Option<u64>) -> Self {
        match value {
            Some(value) => self.u64(value),
            None => self.none(),
        }
    }

    /// Appends an optional signed integer: the integer when present, [`none`](Self::none)
    /// otherwise.
    pub fn opt_i64(self, value: Option<i64>) -> Self {
        match value {
            Some(value) => self.i64(value),
            None => self.none(),
        }
    }

    /// Appends a list of strings, in the order given: `0x05 ‖ u64(count)` followed by each
    /// string as [`str`](Self::str) encodes it. Sort the list first if its order carries no
    /// meaning, so that equal sets encode equally.
    pub fn str_list<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.out.push(TAG_STR_LIST);
        let count_at = self.out.len();
        self.out.extend_from_slice(&0u64.to_be_bytes());
        let mut count = 0u64;
        for value in values {
            self = self.str(value.as_ref());
            count += 1;
        }
        self.out[count_at..count_at + 8].copy_from_slice(&count.to_be_bytes());
        self
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    /// The canonical bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn tagged(mut self, tag: u8, value: &[u8]) -> Self {
        self.out.reserve(1 + 8 + value.len());
        self.out.push(tag);
        self.out
            .extend_from_slice(&(value.len() as u64).to_be_bytes());
        self.out.extend_from_slice(value);
        self
    }
}

/// Shows only the length: entries name subjects and records.
impl fmt::Debug for CanonicalWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CanonicalWriter({} bytes)", self.out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_tag_length_value() {
        let bytes = CanonicalWriter::new()
            .str("ab")
            .bytes(b"c")
            .u64(258)
            .i64(-1)
            .none()
            .str_list(["x", "yz"])
            .finish();
        let mut expected = vec![0x02, 0, 0, 0, 0, 0, 0, 0, 2, b'a', b'b'];
        expected.extend_from_slice(&[0x01, 0, 0, 0, 0, 0, 0, 0, 1, b'c']);
        expected.extend_from_slice(&[0x03, 0, 0, 0, 0, 0, 0, 1, 2]);
        expected.extend_from_slice(&[0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        expected.push(0x00);
        expected.extend_from_slice(&[0x05, 0, 0, 0, 0, 0, 0, 0, 2]);
        expected.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0, 1, b'x']);
        expected.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0, 2, b'y', b'z']);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn field_boundaries_and_absence_are_encoded() {
        let split = |a: &str, b: &str| CanonicalWriter::new().str(a).str(b).finish();
        assert_ne!(split("ab", "c"), split("a", "bc"));
        assert_ne!(
            CanonicalWriter::new().opt_str(None).finish(),
            CanonicalWriter::new().opt_str(Some("")).finish()
        );
        assert_ne!(
            CanonicalWriter::new().str("a").finish(),
            CanonicalWriter::new().bytes(b"a").finish()
        );
        assert_ne!(
            CanonicalWriter::new().str_list(["a", "b"]).finish(),
            CanonicalWriter::new().str_list(["a"]).str("b").finish()
        );
    }
}
