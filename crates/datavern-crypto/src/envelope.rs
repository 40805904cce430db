//! The field envelope: how one encrypted field value is laid out in storage.
//!
//! ```text
//! offset  size  content
//! 0       1     format version (0x01)
//! 1       16    key id of the subject's data key
//! 17      12    random nonce
//! 29      n     AES-256-GCM ciphertext (n = plaintext length)
//! 29+n    16    GCM tag
//! ```
//!
//! The associated data is the 17-byte header followed by the [`FieldContext`]'s canonical
//! encoding, so an envelope moved to another tenant, collection, field, record or subject, or
//! given another header, fails to authenticate. See `docs/crypto.md`.

use aws_lc_rs::aead::{Aad, Nonce};
use zeroize::Zeroizing;

use crate::data_key::DataKey;
use crate::encoding::{lp_len, put_lp};
use crate::error::{Error, Result};
use crate::ids::KeyId;

/// Format version written in the first byte of every envelope.
pub const ENVELOPE_VERSION: u8 = 1;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Bytes an envelope adds to its plaintext: version, key id, nonce and tag (45).
pub const ENVELOPE_OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

const HEADER_LEN: usize = 1 + KeyId::LEN;

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

/// Seals `plaintext` (which may be empty) under `key` for the place `context` names.
///
/// Returns an envelope of `plaintext.len() + ENVELOPE_OVERHEAD` bytes with a fresh random
/// nonce, so sealing the same value twice gives different envelopes.
pub fn encrypt_field(
    key: &DataKey,
    context: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plaintext.len() + ENVELOPE_OVERHEAD);
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(key.id().as_bytes());
    let aad = associated_data(&out, context)?;
    // The nonce is chosen by aws-lc during sealing; reserve its slot and fill it afterwards.
    out.extend_from_slice(&[0u8; NONCE_LEN]);
    out.extend_from_slice(plaintext);
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

/// Opens an envelope made by [`encrypt_field`] with the same key and context.
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
        || envelope[0] != ENVELOPE_VERSION
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
    Ok(buf)
}

/// The id of the data key that sealed `envelope`, read without decrypting, so the caller can
/// fetch and unwrap that key. The id is not authenticated until [`decrypt_field`] succeeds.
pub fn envelope_key_id(envelope: &[u8]) -> Result<KeyId> {
    if envelope.len() < ENVELOPE_OVERHEAD || envelope[0] != ENVELOPE_VERSION {
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
