//! The stored encoding of a wrapped key.

use datavern_crypto::{
    Error, IndexRootKey, KekProvider, KeyKind, KeyVersion, WrapRequest, WrappedKey,
};
use proptest::prelude::*;

use crate::{data_key, key_file};

async fn sample() -> WrappedKey {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    kek.wrap(&[WrapRequest::data_key(&key, "0301", "subject-1")])
        .await
        .unwrap()
        .remove(0)
}

#[tokio::test]
async fn encoding_round_trips() {
    let wrapped = sample().await;
    let bytes = wrapped.to_bytes();
    assert_eq!(bytes[0], 1, "encoding version");
    assert_eq!(bytes[1], 1, "kind: data key");
    assert_eq!(&bytes[2..18], wrapped.key_id().as_bytes());
    let back = WrappedKey::from_bytes(&bytes).unwrap();
    assert_eq!(back, wrapped);
    assert_eq!(back.to_bytes(), bytes);
}

#[tokio::test]
async fn index_root_kind_round_trips() {
    let (_dir, kek) = key_file().await;
    let root = IndexRootKey::generate(KeyVersion::new(7).unwrap()).unwrap();
    let wrapped = kek
        .wrap(&[WrapRequest::index_root(&root, "0301")])
        .await
        .unwrap()
        .remove(0);
    let back = WrappedKey::from_bytes(&wrapped.to_bytes()).unwrap();
    assert_eq!(back.kind(), KeyKind::IndexRoot);
    assert_eq!(back.key_version().get(), 7);
    assert_eq!(back, wrapped);
}

#[tokio::test]
async fn truncated_extended_or_unknown_encodings_are_refused() {
    let bytes = sample().await.to_bytes();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                WrappedKey::from_bytes(&bytes[..len]),
                Err(Error::MalformedWrappedKey(_))
            ),
            "truncated to {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        WrappedKey::from_bytes(&longer),
        Err(Error::MalformedWrappedKey("trailing bytes"))
    ));
    for (index, value, reason) in [
        (0, 2, "unknown encoding version"),
        (1, 0, "unknown key kind"),
        (1, 3, "unknown key kind"),
    ] {
        let mut altered = bytes.clone();
        altered[index] = value;
        let err = WrappedKey::from_bytes(&altered).unwrap_err();
        assert!(
            matches!(err, Error::MalformedWrappedKey(r) if r == reason),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn debug_shows_metadata_not_ciphertext() {
    let wrapped = sample().await;
    let debug = format!("{wrapped:?}");
    assert!(debug.contains(&wrapped.key_id().to_string()));
    assert!(debug.contains("ciphertext_len: 60"), "{debug}");
    assert!(!debug.contains("ciphertext: "), "{debug}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = WrappedKey::from_bytes(&bytes);
    }
}
