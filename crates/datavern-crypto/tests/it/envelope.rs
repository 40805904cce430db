//! The field envelope: round trip, layout, and that ciphertext cannot be read, altered or moved.

use datavern_crypto::{
    ENVELOPE_OVERHEAD, ENVELOPE_VERSION, Error, FieldContext, KeyId, NONCE_LEN,
    PADDED_ENVELOPE_VERSION, Padding, PaddingBucket, decrypt_field, encrypt_field,
    encrypt_field_padded, envelope_key_id,
};
use proptest::prelude::*;

use crate::{context, data_key};

fn is_auth_failure(result: Result<impl Sized, Error>) -> bool {
    matches!(result, Err(Error::FieldAuthentication))
}

/// Arbitrary contexts, including empty parts and non-ASCII text.
fn contexts() -> impl Strategy<Value = [String; 5]> {
    let part = || "\\PC{0,24}";
    [part(), part(), part(), part(), part()]
}

fn as_context(parts: &[String; 5]) -> FieldContext<'_> {
    FieldContext {
        tenant: &parts[0],
        collection: &parts[1],
        field: &parts[2],
        record_id: &parts[3],
        subject_id: &parts[4],
    }
}

fn bucket(bytes: usize) -> Padding {
    Padding::Bucket(PaddingBucket::new(bytes).unwrap())
}

proptest! {
    #[test]
    fn padded_envelopes_round_trip_and_show_only_the_bucket(
        plaintext in proptest::collection::vec(any::<u8>(), 0..600),
        size in 1usize..=300,
        parts in contexts(),
    ) {
        let key = data_key();
        let ctx = as_context(&parts);
        let padding = bucket(size);
        let envelope = encrypt_field_padded(&key, &ctx, &plaintext, padding).unwrap();
        prop_assert_eq!(envelope[0], PADDED_ENVELOPE_VERSION);
        // Length: the next multiple of the bucket above the value (room for the marker).
        let sealed = envelope.len() - ENVELOPE_OVERHEAD;
        prop_assert_eq!(sealed % size, 0);
        prop_assert!(sealed > plaintext.len() && sealed <= plaintext.len() + size);
        prop_assert_eq!(envelope.len(), padding.envelope_len(plaintext.len()));
        prop_assert_eq!(envelope_key_id(&envelope).unwrap(), key.id());
        let opened = decrypt_field(&key, &ctx, &envelope).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn values_within_a_bucket_give_envelopes_of_equal_length(
        a in proptest::collection::vec(any::<u8>(), 0..32),
        b in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let key = data_key();
        let one = encrypt_field_padded(&key, &context(), &a, bucket(32)).unwrap();
        let two = encrypt_field_padded(&key, &context(), &b, bucket(32)).unwrap();
        prop_assert_eq!(one.len(), 32 + ENVELOPE_OVERHEAD);
        prop_assert_eq!(one.len(), two.len());
    }

    #[test]
    fn changing_any_byte_of_a_padded_envelope_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 0..40),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = data_key();
        let mut envelope = encrypt_field_padded(&key, &context(), &plaintext, bucket(16)).unwrap();
        let i = position.index(envelope.len());
        envelope[i] ^= flip;
        prop_assert!(is_auth_failure(decrypt_field(&key, &context(), &envelope)));
    }

    #[test]
    fn round_trips_any_plaintext_in_any_context(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        parts in contexts(),
    ) {
        let key = data_key();
        let ctx = as_context(&parts);
        let envelope = encrypt_field(&key, &ctx, &plaintext).unwrap();
        prop_assert_eq!(envelope.len(), plaintext.len() + ENVELOPE_OVERHEAD);
        let opened = decrypt_field(&key, &ctx, &envelope).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn ciphertext_never_contains_the_plaintext(
        plaintext in proptest::collection::vec(any::<u8>(), 4..512),
    ) {
        let key = data_key();
        let envelope = encrypt_field(&key, &context(), &plaintext).unwrap();
        prop_assert!(!envelope.windows(plaintext.len()).any(|w| w == plaintext.as_slice()));
    }

    #[test]
    fn changing_any_byte_of_the_envelope_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = data_key();
        let mut envelope = encrypt_field(&key, &context(), &plaintext).unwrap();
        let i = position.index(envelope.len());
        envelope[i] ^= flip;
        prop_assert!(is_auth_failure(decrypt_field(&key, &context(), &envelope)));
    }

    #[test]
    fn changing_the_context_fails(
        parts in contexts(),
        which in 0usize..5,
        replacement in "\\PC{0,24}",
    ) {
        let mut moved = parts.clone();
        prop_assume!(moved[which] != replacement);
        moved[which] = replacement;
        let key = data_key();
        let envelope = encrypt_field(&key, &as_context(&parts), b"Kari Nordmann").unwrap();
        prop_assert!(is_auth_failure(decrypt_field(&key, &as_context(&moved), &envelope)));
    }
}

#[test]
fn every_single_byte_change_fails_exhaustively() {
    let key = data_key();
    let envelope = encrypt_field(&key, &context(), b"15108695088").unwrap();
    for i in 0..envelope.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut altered = envelope.clone();
            altered[i] ^= flip;
            assert!(
                is_auth_failure(decrypt_field(&key, &context(), &altered)),
                "byte {i} ^ {flip:#x} still decrypts"
            );
        }
    }
}

#[test]
fn truncated_or_extended_envelopes_fail() {
    let key = data_key();
    let envelope = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    for len in 0..envelope.len() {
        assert!(
            is_auth_failure(decrypt_field(&key, &context(), &envelope[..len])),
            "{len}"
        );
    }
    let mut longer = envelope.clone();
    longer.push(0);
    assert!(is_auth_failure(decrypt_field(&key, &context(), &longer)));
}

#[test]
fn another_data_key_fails() {
    let key = data_key();
    let other = data_key();
    let envelope = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    assert!(is_auth_failure(decrypt_field(
        &other,
        &context(),
        &envelope
    )));
    // Even with the other key's id written into the header, the tag does not verify.
    let mut relabelled = envelope.clone();
    relabelled[1..17].copy_from_slice(other.id().as_bytes());
    assert!(is_auth_failure(decrypt_field(
        &other,
        &context(),
        &relabelled
    )));
}

#[test]
fn each_part_of_the_associated_data_is_bound() {
    let key = data_key();
    let base = context();
    let envelope = encrypt_field(&key, &base, b"Kari Nordmann").unwrap();
    let moves = [
        FieldContext {
            tenant: "4601",
            ..base
        },
        FieldContext {
            collection: "applications",
            ..base
        },
        FieldContext {
            field: "address",
            ..base
        },
        FieldContext {
            record_id: "0190b5d2-7c1e-7000-8000-000000000002",
            ..base
        },
        FieldContext {
            subject_id: "subject-2",
            ..base
        },
        // Shifting a byte between adjacent parts must not produce the same associated data.
        FieldContext {
            tenant: "030",
            collection: "1persons",
            ..base
        },
    ];
    for moved in moves {
        assert!(
            is_auth_failure(decrypt_field(&key, &moved, &envelope)),
            "{moved:?}"
        );
    }
    assert_eq!(
        decrypt_field(&key, &base, &envelope).unwrap().as_slice(),
        b"Kari Nordmann"
    );
}

#[test]
fn decrypt_error_says_nothing_about_why() {
    let key = data_key();
    let envelope = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    let wrong_context = decrypt_field(
        &key,
        &FieldContext {
            field: "x",
            ..context()
        },
        &envelope,
    );
    let wrong_key = decrypt_field(&data_key(), &context(), &envelope);
    let garbage = decrypt_field(&key, &context(), b"garbage");
    for result in [wrong_context, wrong_key, garbage] {
        assert_eq!(
            result.unwrap_err().to_string(),
            "field ciphertext failed authentication"
        );
    }
}

#[test]
fn layout_is_version_key_id_nonce_ciphertext_tag() {
    let key = data_key();
    let plaintext = b"Kari Nordmann";
    let envelope = encrypt_field(&key, &context(), plaintext).unwrap();
    assert_eq!(envelope[0], ENVELOPE_VERSION);
    assert_eq!(&envelope[1..17], key.id().as_bytes());
    assert_eq!(
        envelope.len(),
        1 + KeyId::LEN + NONCE_LEN + plaintext.len() + 16
    );
    assert_eq!(envelope_key_id(&envelope).unwrap(), key.id());
}

#[test]
fn sealing_twice_uses_fresh_nonces() {
    let key = data_key();
    let a = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    let b = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    assert_ne!(a[17..29], b[17..29]);
    assert_ne!(a, b);
}

#[test]
fn empty_plaintext_is_sealed_and_authenticated() {
    let key = data_key();
    let envelope = encrypt_field(&key, &context(), b"").unwrap();
    assert_eq!(envelope.len(), ENVELOPE_OVERHEAD);
    assert!(
        decrypt_field(&key, &context(), &envelope)
            .unwrap()
            .is_empty()
    );
    assert!(is_auth_failure(decrypt_field(
        &key,
        &FieldContext {
            field: "x",
            ..context()
        },
        &envelope
    )));
}

#[test]
fn key_id_of_a_malformed_envelope_is_an_error() {
    assert!(matches!(
        envelope_key_id(&[]),
        Err(Error::MalformedEnvelope)
    ));
    assert!(matches!(
        envelope_key_id(&[ENVELOPE_VERSION; 44]),
        Err(Error::MalformedEnvelope)
    ));
    let mut unknown_version = encrypt_field(&data_key(), &context(), b"x").unwrap();
    unknown_version[0] = 3;
    assert!(matches!(
        envelope_key_id(&unknown_version),
        Err(Error::MalformedEnvelope)
    ));
}

/// Envelopes written before padding existed (format 1) still open, and `Padding::None` still
/// writes them: old data stays readable and unpadded fields keep their layout.
#[test]
fn unpadded_envelopes_keep_format_one_and_still_open() {
    let key = data_key();
    let old = encrypt_field(&key, &context(), b"Kari Nordmann").unwrap();
    let none = encrypt_field_padded(&key, &context(), b"Kari Nordmann", Padding::None).unwrap();
    for envelope in [&old, &none] {
        assert_eq!(envelope[0], ENVELOPE_VERSION);
        assert_eq!(envelope.len(), 13 + ENVELOPE_OVERHEAD);
        assert_eq!(
            decrypt_field(&key, &context(), envelope)
                .unwrap()
                .as_slice(),
            b"Kari Nordmann"
        );
    }
}

/// The version byte is authenticated: relabelling a padded envelope as format 1 (which would
/// return the padding as part of the value) or a plain one as format 2 (which would strip
/// bytes) fails.
#[test]
fn relabelling_the_format_fails() {
    let key = data_key();
    let mut padded = encrypt_field_padded(&key, &context(), b"Ola", bucket(32)).unwrap();
    padded[0] = ENVELOPE_VERSION;
    assert!(is_auth_failure(decrypt_field(&key, &context(), &padded)));
    let mut plain = encrypt_field(&key, &context(), b"Ola\x80").unwrap();
    plain[0] = PADDED_ENVELOPE_VERSION;
    assert!(is_auth_failure(decrypt_field(&key, &context(), &plain)));
}

#[test]
fn padding_buckets_outside_the_range_are_refused() {
    for n in [0, PaddingBucket::MAX + 1, 1 << 20] {
        assert!(matches!(PaddingBucket::new(n), Err(Error::PaddingBucket(m)) if m == n));
    }
    assert_eq!(
        PaddingBucket::new(0).unwrap_err().to_string(),
        "padding bucket must be 1..=4096 bytes, not 0"
    );
    assert_eq!(PaddingBucket::new(32).unwrap().padded_len(31), 32);
    assert_eq!(PaddingBucket::new(32).unwrap().padded_len(32), 64);
    assert_eq!(PaddingBucket::new(32).unwrap().padded_len(0), 32);
}
