//! `Debug` of key types shows ids and versions, nothing else.
//!
//! Key bytes are not reachable from outside the crate, so these tests pin the exact output:
//! any extra field (such as the key) would change it. The unit tests inside the crate check
//! the same outputs against the actual key bytes.

use datavern_crypto::{
    BlindIndexLength, IndexContext, IndexRootKey, KekProvider, KeyVersion, UnwrapRequest,
    UnwrappedKey, WrapRequest,
};

use crate::{data_key, key_file};

#[test]
fn data_key_debug_is_id_and_version_only() {
    let key = data_key();
    assert_eq!(
        format!("{key:?}"),
        format!(
            "DataKey {{ id: KeyId({}), version: KeyVersion(1), .. }}",
            key.id()
        )
    );
    // Clones share the key and print the same.
    assert_eq!(format!("{:?}", key.clone()), format!("{key:?}"));
}

#[test]
fn index_keys_debug_is_ids_versions_and_length_only() {
    let root = IndexRootKey::generate(KeyVersion::new(2).unwrap()).unwrap();
    assert_eq!(
        format!("{root:?}"),
        format!(
            "IndexRootKey {{ id: KeyId({}), version: KeyVersion(2), .. }}",
            root.id()
        )
    );
    let context = IndexContext {
        tenant: "0301",
        collection: "persons",
        field: "fnr",
    };
    let key = root
        .derive(&context, BlindIndexLength::new(8).unwrap())
        .unwrap();
    assert_eq!(
        format!("{key:?}"),
        format!(
            "BlindIndexKey {{ root_id: KeyId({}), root_version: KeyVersion(2), length: 8, .. }}",
            root.id()
        )
    );
    let index = key.compute(b"15108695088");
    assert_eq!(format!("{index:?}"), "BlindIndex(8 bytes)");
}

#[tokio::test]
async fn requests_and_unwrapped_keys_debug_show_no_key() {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    let request = WrapRequest::data_key(&key, "0301", "subject-1");
    let shown = format!("{request:?}");
    assert!(
        shown.contains(&format!(
            "DataKey {{ id: KeyId({}), version: KeyVersion(1), .. }}",
            key.id()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("subject-1") && shown.contains("0301"),
        "{shown}"
    );

    let wrapped = kek.wrap(&[request]).await.unwrap();
    let unwrap = UnwrapRequest::data_key(&wrapped[0], "0301", "subject-1");
    let unwrapped = kek.unwrap(&[unwrap]).await.unwrap().remove(0).unwrap();
    assert!(matches!(unwrapped, UnwrappedKey::Data(_)));
    assert_eq!(
        format!("{unwrapped:?}"),
        format!(
            "Data(DataKey {{ id: KeyId({}), version: KeyVersion(1), .. }})",
            key.id()
        )
    );
}
