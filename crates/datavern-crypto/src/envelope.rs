//! The field envelope: how one encrypted field value is laid out in storage.
//!
//! ```text
//! offset  size  content
//! 0       1     format version: 0x01 plain, 0x02 padded
//! 1       16    key id of the subject's data key
//! 17      12    random nonce
//! 29      n     AES-256-GCM ciphertext (n = plaintext length, or padded length for 0x02)
//! 29+n    16    GCM tag
//! ```
//!
//! The associated data is the 17-byte header followed by the [`FieldContext`]'s canonical
//! encoding, so an envelope moved to another tenant, collection, field, record or subject, or
//! given another header, fails to authenticate. Format 2 pads the plaintext inside the AEAD
//! (ISO/IEC 7816-4: `0x80`, then zeros, to the next multiple of a bucket), so the envelope's
//! length shows the bucket, not the value's length; format 1 envelopes stay readable. See
//! `docs/crypto.md`.

use aws_lc_rs::aead::{Aad, Nonce};
use zeroize::Zeroizing;

use crate::data_key::DataKey;
use crate::encoding::{lp_len, put_lp};
use crate::error::{Error, Result};
use crate::ids::KeyId;

/// Format version written in the first byte of an unpadded envelope.
pub const ENVELOPE_VERSION: u8 = 1;
/// Format version written in the first byte of a padded envelope ([`Padding::Bucket`]).
pub const PADDED_ENVELOPE_VERSION: u8 = 2;
/// The padding marker (ISO/IEC 7816-4): the first padding byte; zeros follow it.
const PAD_MARKER: u8 = 0x80;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Bytes an unpadded envelope adds to its plaintext: version, key id, nonce and tag (45).
pub const ENVELOPE_OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

const HEADER_LEN: usize = 1 + KeyId::LEN;

/// How a value is padded before sealing, so that the envelope's length reveals less than
/// the value's: a name of 4 bytes and one of 20 give envelopes of the same size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Padding {
    /// None: a format-1 envelope, exactly [`ENVELOPE_OVERHEAD`] bytes longer than the value.
    #[default]
    None,
    /// Padded inside the encryption to the next multiple of the bucket (always at least one
    /// padding byte): a format-2 envelope of `k × bucket + ENVELOPE_OVERHEAD` bytes.
    Bucket(PaddingBucket),
}

/// A padding bucket size in bytes: from 1 to 4096.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaddingBucket(u16);

impl PaddingBucket {
    /// Smallest bucket in bytes.
    pub const MIN: usize = 1;
    /// Largest bucket in bytes.
    pub const MAX: usize = 4096;

    /// A bucket of `bytes`, or [`Error::PaddingBucket`] outside `MIN..=MAX`.
    pub fn new(bytes: usize) -> Result<Self> {
        if !(Self::MIN..=Self::MAX).contains(&bytes) {
            return Err(Error::PaddingBucket(bytes));
        }
        u16::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::PaddingBucket(bytes))
    }

    /// The bucket in bytes.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }

    /// The padded length of a value of `len` bytes: the smallest multiple of the bucket that
    /// holds the value and the one-byte marker.
    pub fn padded_len(self, len: usize) -> usize {
        let bucket = self.get();
        (len / bucket + 1) * bucket
    }
}

impl Padding {
    /// The length of the envelope that sealing a value of `len` bytes gives.
    pub fn envelope_len(self, len: usize) -> usize {
        match self {
            Padding::None => len + ENVELOPE_OVERHEAD,
            Padding::Bucket(bucket) => bucket.padded_len(len) + ENVELOPE_OVERHEAD,
        }
    }
}

/// Where a field value lives. Bound into the envelope as associated data, so ciphertext only
/// decrypts in the place it was written.
///
/// Every part is required (use the same text on write and read; an empty string is a distinct
/// value, not a wildcard). The parts are ids, not personal data, so `Debug` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldContext<'a> {
    /// The tenant (kommunenummer).
    pub tenant: &'a str,
    /// The catalog collection.
    pub collection: &'a str,
    /// The field within the collection.
    pub field: &'a str,
    /// The record's id (a UUIDv7 in its canonical text form).
    pub record_id: &'a str,
    /// The id of the data subject whose key seals the field.
    pub subject_id: &'a str,
}

impl FieldContext<'_> {
    /// The canonical encoding: each of tenant, collection, field, record id and subject id, in
    /// that order, as a 4-byte big-endian byte length followed by the UTF-8 bytes.
    ///
    /// Fails only for a part longer than `u32::MAX` bytes.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    fn parts(&self) -> [&[u8]; 5] {
        [
            self.tenant.as_bytes(),
            self.collection.as_bytes(),
            self.field.as_bytes(),
            self.record_id.as_bytes(),
            self.subject_id.as_bytes(),
        ]
    }

    fn encoded_len(&self) -> usize {
        self.parts().iter().map(|p| lp_len(p)).sum()
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        for part in self.parts() {
            put_lp(out, part)?;
        }
        Ok(())
    }
}

/// The associated data for an envelope with `header` in `context`.
fn associated_data(header: &[u8], context: &FieldContext<'_>) -> Result<Vec<u8>> {
    let mut aad = Vec::with_capacity(header.len() + context.encoded_len());
    aad.extend_from_slice(header);
    context.encode_into(&mut aad)?;
    Ok(aad)
}

/// Seals `plaintext` (which may be empty) under `key` for the place `context` names, without
/// padding (a format-1 envelope).
///
/// Returns an envelope of `plaintext.len() + ENVELOPE_OVERHEAD` bytes with a fresh random
/// nonce, so sealing the same value twice gives different envelopes.
pub fn encrypt_field(
    key: &DataKey,
    context: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    encrypt_field_padded(key, context, plaintext, Padding::None)
}

/// Seals `plaintext` as [`encrypt_field`] does, padded as `padding` says: with
/// [`Padding::Bucket`] a format-2 envelope whose length is `padding.envelope_len(len)`, the
/// padding encrypted and authenticated with the value and removed by [`decrypt_field`].
pub fn encrypt_field_padded(
    key: &DataKey,
    context: &FieldContext<'_>,
    plaintext: &[u8],
    padding: Padding,
) -> Result<Vec<u8>> {
    let (version, sealed_len) = match padding {
        Padding::None => (ENVELOPE_VERSION, plaintext.len()),
        Padding::Bucket(bucket) => (PADDED_ENVELOPE_VERSION, bucket.padded_len(plaintext.len())),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + sealed_len + TAG_LEN);
    out.push(version);
    out.extend_from_slice(key.id().as_bytes());
    let aad = associated_data(&out, context)?;
    // The nonce is chosen by aws-lc during sealing; reserve its slot and fill it afterwards.
    out.extend_from_slice(&[0u8; NONCE_LEN]);
    out.extend_from_slice(plaintext);
    if version == PADDED_ENVELOPE_VERSION {
        out.push(PAD_MARKER);
        out.resize(HEADER_LEN + NONCE_LEN + sealed_len, 0);
    }
    let (nonce, tag) = key
        .aead()
        .seal_in_place_separate_tag(
            Aad::from(aad.as_slice()),
            &mut out[HEADER_LEN + NONCE_LEN..],
        )
        .map_err(|_| Error::Crypto)?;
    out[HEADER_LEN..HEADER_LEN + NONCE_LEN].copy_from_slice(nonce.as_ref());
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens an envelope made by [`encrypt_field`] or [`encrypt_field_padded`] (either format)
/// with the same key and context, removing the padding of a format-2 envelope.
///
/// Any failure (wrong key, wrong context, altered or truncated bytes, unknown version) is the
/// same [`Error::FieldAuthentication`], so the error reveals nothing about why. The plaintext
/// is zeroized when dropped.
pub fn decrypt_field(
    key: &DataKey,
    context: &FieldContext<'_>,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if envelope.len() < ENVELOPE_OVERHEAD
        || !is_known_version(envelope[0])
        || envelope[1..HEADER_LEN] != key.id().as_bytes()[..]
    {
        return Err(Error::FieldAuthentication);
    }
    let (header, rest) = envelope.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let aad = associated_data(header, context).map_err(|_| Error::FieldAuthentication)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::FieldAuthentication)?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let len = key
        .aead()
        .open_in_place(nonce, Aad::from(aad.as_slice()), &mut buf)
        .map_err(|_| Error::FieldAuthentication)?
        .len();
    buf.truncate(len);
    if header[0] == PADDED_ENVELOPE_VERSION {
        // Authenticated already, so a bad padding can only come from a faulty writer; it is
        // still refused rather than returned.
        let end = buf
            .iter()
            .rposition(|b| *b != 0)
            .filter(|i| buf[*i] == PAD_MARKER)
            .ok_or(Error::FieldAuthentication)?;
        buf.truncate(end);
    }
    Ok(buf)
}

fn is_known_version(version: u8) -> bool {
    version == ENVELOPE_VERSION || version == PADDED_ENVELOPE_VERSION
}

/// The id of the data key that sealed `envelope`, read without decrypting, so the caller can
/// fetch and unwrap that key. The id is not authenticated until [`decrypt_field`] succeeds.
pub fn envelope_key_id(envelope: &[u8]) -> Result<KeyId> {
    if envelope.len() < ENVELOPE_OVERHEAD || !is_known_version(envelope[0]) {
        return Err(Error::MalformedEnvelope);
    }
    let id: [u8; KeyId::LEN] = envelope[1..HEADER_LEN]
        .try_into()
        .map_err(|_| Error::MalformedEnvelope)?;
    Ok(KeyId::from_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::KeyVersion;
    use crate::secret::KeyBytes;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// An envelope built independently (Python `cryptography`'s AESGCM, following
    /// docs/crypto.md) opens here, so the documented layout and associated data are the ones
    /// implemented.
    #[test]
    fn opens_an_independently_built_envelope() {
        let key = DataKey::from_parts(
            KeyId::from_bytes(std::array::from_fn(|i| i as u8)),
            KeyVersion::FIRST,
            KeyBytes::from_slice(&[0x42; 32]).unwrap(),
        )
        .unwrap();
        let context = FieldContext {
            tenant: "0301",
            collection: "persons",
            field: "name",
            record_id: "0190b5d2-7c1e-7000-8000-000000000001",
            subject_id: "subject-1",
        };
        let envelope = hex(
            "01000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaabe6521d7b047ba104d158eb\
             092f8fb640f11d7fbc42c63abe5351f0d5e6",
        );
        let plain = decrypt_field(&key, &context, &envelope).unwrap();
        assert_eq!(plain.as_slice(), b"Kari Nordmann");
    }

    /// A padded (format 2) envelope built independently the same way: the value, `0x80` and
    /// zeros to 32 bytes, sealed with the version byte 0x02 in the header.
    #[test]
    fn opens_an_independently_built_padded_envelope() {
        let key = DataKey::from_parts(
            KeyId::from_bytes(std::array::from_fn(|i| i as u8)),
            KeyVersion::FIRST,
            KeyBytes::from_slice(&[0x42; 32]).unwrap(),
        )
        .unwrap();
        let context = FieldContext {
            tenant: "0301",
            collection: "persons",
            field: "name",
            record_id: "0190b5d2-7c1e-7000-8000-000000000001",
            subject_id: "subject-1",
        };
        let envelope = hex(
            "02000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaabe6521d7b047ba104d158eb\
             092f02fc777b8dd635eb8266e42aa6ab457cb2c242408ae272f341dd79ecf1593420ccb445",
        );
        assert_eq!(envelope.len(), 32 + ENVELOPE_OVERHEAD);
        let plain = decrypt_field(&key, &context, &envelope).unwrap();
        assert_eq!(plain.as_slice(), b"Kari Nordmann");
    }

    #[test]
    fn canonical_bytes_are_length_prefixed_in_order() {
        let context = FieldContext {
            tenant: "t",
            collection: "cc",
            field: "",
            record_id: "r",
            subject_id: "s",
        };
        assert_eq!(
            context.canonical_bytes().unwrap(),
            b"\0\0\0\x01t\0\0\0\x02cc\0\0\0\0\0\0\0\x01r\0\0\0\x01s"
        );
    }
}
