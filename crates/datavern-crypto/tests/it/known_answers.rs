//! Formats checked against values built independently of this crate (Python's
//! `cryptography` AESGCM following docs/crypto.md): a key file, a wrapped data key and a
//! field envelope. If any documented byte layout drifts from the code, this fails.

use datavern_crypto::{
    FieldContext, KekProvider, LocalKeyFile, UnwrapRequest, WrappedKey, decrypt_field,
};

use crate::hex_decode;

/// KEK version 1 is 32 bytes of 0x11.
const KEY_FILE: &str = "format = datavern-local-kek/1\n\
    id = local:kat\n\
    current = 1\n\
    key.1 = 1111111111111111111111111111111111111111111111111111111111111111\n";

/// Data key 0x42 × 32, id 00 01 .. 0f, version 1, wrapped for tenant "0301", subject
/// "subject-1" by `local:kat` version 1 with nonce b0 b1 .. bb.
const WRAPPED: &str = "0101000102030405060708090a0b0c0d0e0f00000001096c6f63616c3a6b61740000\
    00010000003cb0b1b2b3b4b5b6b7b8b9babbc00fefc143c06d6a149c7b7c261896a0c0c76feb48dedad121b1095b\
    9ee37de4b7d328c5e71eca336cc4596b6c9194d0";

/// "Kari Nordmann" sealed under that data key with nonce a0 a1 .. ab.
const ENVELOPE: &str = "01000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaabe6521d7b047b\
    a104d158eb092f8fb640f11d7fbc42c63abe5351f0d5e6";

#[tokio::test]
async fn independently_built_key_file_wrapped_key_and_envelope_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek");
    std::fs::write(&path, KEY_FILE).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let kek = LocalKeyFile::open(&path).await.unwrap();
    let wrapped = WrappedKey::from_bytes(&hex_decode(WRAPPED)).unwrap();
    assert_eq!(wrapped.to_bytes(), hex_decode(WRAPPED));
    let key = kek
        .unwrap(&[UnwrapRequest::data_key(&wrapped, "0301", "subject-1")])
        .await
        .unwrap()
        .remove(0)
        .unwrap()
        .into_data_key()
        .unwrap();
    let context = FieldContext {
        tenant: "0301",
        collection: "persons",
        field: "name",
        record_id: "0190b5d2-7c1e-7000-8000-000000000001",
        subject_id: "subject-1",
    };
    let plain = decrypt_field(&key, &context, &hex_decode(ENVELOPE)).unwrap();
    assert_eq!(plain.as_slice(), b"Kari Nordmann");
}
