//! Integration tests for datavern-crypto: one test binary, one module per feature.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod audit;
mod blind_index;
mod debug_output;
mod envelope;
mod kek_local;
mod known_answers;
mod wrapped_key;

use datavern_crypto::{DataKey, FieldContext, KeyVersion, LocalKeyFile};
use tempfile::TempDir;

/// A context in which fields are sealed in these tests.
pub(crate) fn context() -> FieldContext<'static> {
    FieldContext {
        tenant: "0301",
        collection: "persons",
        field: "name",
        record_id: "0190b5d2-7c1e-7000-8000-000000000001",
        subject_id: "subject-1",
    }
}

pub(crate) fn data_key() -> DataKey {
    DataKey::generate(KeyVersion::FIRST).unwrap()
}

/// A fresh key file in its own temporary directory (kept alive by the returned guard).
pub(crate) async fn key_file() -> (TempDir, LocalKeyFile) {
    let dir = tempfile::tempdir().unwrap();
    let kek = LocalKeyFile::create(dir.path().join("kek")).await.unwrap();
    (dir, kek)
}

pub(crate) fn hex_decode(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The 64-hex-digit key values in a key file's text.
pub(crate) fn key_hexes(file_text: &str) -> Vec<String> {
    file_text
        .lines()
        .filter(|l| l.starts_with("key."))
        .map(|l| l.split_once('=').unwrap().1.trim().to_owned())
        .collect()
}

/// Asserts that `text` contains neither `key_hex` (either case) nor its raw bytes, nor the
/// bytes as a Rust debug list.
pub(crate) fn assert_no_key(text: &str, key_hex: &str) {
    assert_eq!(key_hex.len(), 64);
    assert!(!text.contains(&key_hex.to_lowercase()), "hex key in {text}");
    assert!(!text.contains(&key_hex.to_uppercase()), "hex key in {text}");
    let raw = hex_decode(key_hex);
    assert!(
        !text.as_bytes().windows(raw.len()).any(|w| w == raw),
        "raw key in {text}"
    );
    let list = format!("{raw:?}");
    assert!(
        !text.contains(&list[1..list.len() - 1]),
        "key byte list in {text}"
    );
}
