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
