//! Blind indexes: stable per (tenant, collection, field, value), separated otherwise.

use datavern_crypto::{
    BlindIndexLength, Error, IndexContext, IndexRootKey, KekProvider, KeyVersion, Normalizer,
    UnwrapRequest, WrapRequest,
};

use crate::key_file;

const FNR: IndexContext<'static> = IndexContext {
    tenant: "0301",
    collection: "persons",
    field: "fnr",
};

fn root() -> IndexRootKey {
    IndexRootKey::generate(KeyVersion::FIRST).unwrap()
}

fn len(n: usize) -> BlindIndexLength {
    BlindIndexLength::new(n).unwrap()
}

#[test]
fn same_field_and_value_give_the_same_index() {
    let root = root();
    let a = root.derive(&FNR, len(16)).unwrap().compute(b"15108695088");
    let b = root.derive(&FNR, len(16)).unwrap().compute(b"15108695088");
    assert_eq!(a, b);
    assert_eq!(a.as_bytes(), b.as_bytes());
}

#[test]
fn different_values_give_different_indexes() {
    let key = root().derive(&FNR, len(16)).unwrap();
    assert_ne!(key.compute(b"15108695088"), key.compute(b"26111593816"));
    assert_ne!(key.compute(b""), key.compute(b"\0"));
}

#[test]
fn indexes_differ_across_fields_collections_and_tenants() {
    let root = root();
    let contexts = [
        FNR,
        IndexContext {
            field: "guardian_fnr",
            ..FNR
        },
        IndexContext {
            collection: "applications",
            ..FNR
        },
        IndexContext {
            tenant: "4601",
            ..FNR
        },
        // Moving a byte across the boundary between parts is a different context too.
        IndexContext {
            tenant: "0301p",
            collection: "ersons",
            ..FNR
        },
        IndexContext {
            collection: "personsf",
            field: "nr",
            ..FNR
        },
    ];
    let indexes: Vec<_> = contexts
        .iter()
        .map(|c| root.derive(c, len(32)).unwrap().compute(b"15108695088"))
        .collect();
    for i in 0..indexes.len() {
        for j in i + 1..indexes.len() {
            assert_ne!(
                indexes[i], indexes[j],
                "{:?} vs {:?}",
                contexts[i], contexts[j]
            );
        }
    }
}

#[test]
fn indexes_differ_across_root_keys() {
    let a = root()
        .derive(&FNR, len(32))
        .unwrap()
        .compute(b"15108695088");
    let b = root()
        .derive(&FNR, len(32))
        .unwrap()
        .compute(b"15108695088");
    assert_ne!(a, b);
}

#[test]
fn truncation_length_is_honoured() {
    let root = root();
    let full = root.derive(&FNR, len(32)).unwrap().compute(b"15108695088");
    for n in BlindIndexLength::MIN..=BlindIndexLength::MAX {
        let key = root.derive(&FNR, len(n)).unwrap();
        assert_eq!(key.length().get(), n);
        let index = key.compute(b"15108695088");
        assert_eq!(index.as_bytes().len(), n);
        assert_eq!(index.to_hex().len(), 2 * n);
        // Truncation keeps a prefix of the full HMAC (documented in docs/crypto.md).
        assert_eq!(index.as_bytes(), &full.as_bytes()[..n]);
    }
}

#[test]
fn lengths_outside_the_range_are_refused() {
    for n in [0, 1, 33, 64, usize::MAX] {
        assert!(matches!(BlindIndexLength::new(n), Err(Error::BlindIndexLength(m)) if m == n));
    }
    assert_eq!(
        BlindIndexLength::new(1).unwrap_err().to_string(),
        "blind index length must be 2..=32 bytes, not 1"
    );
}

#[test]
fn normalized_spellings_of_one_identifier_share_an_index() {
    let key = root().derive(&FNR, len(8)).unwrap();
    let spellings = ["15108695088", "151086 95088", " 151086-95088 "];
    let indexes: Vec<_> = spellings
        .iter()
        .map(|s| key.compute(Normalizer::Digits.normalize(s).as_bytes()))
        .collect();
    assert!(indexes.windows(2).all(|w| w[0] == w[1]));
    // Without normalization they differ: normalizing is the caller's job.
    assert_ne!(
        key.compute(spellings[0].as_bytes()),
        key.compute(spellings[1].as_bytes())
    );
}

#[tokio::test]
async fn index_survives_wrapping_the_root_key() {
    let (_dir, kek) = key_file().await;
    let root = root();
    let before = root.derive(&FNR, len(16)).unwrap().compute(b"15108695088");
    let wrapped = kek
        .wrap(&[WrapRequest::index_root(&root, "0301")])
        .await
        .unwrap();
    let unwrapped = kek
        .unwrap(&[UnwrapRequest::index_root(&wrapped[0], "0301")])
        .await
        .unwrap()
        .remove(0)
        .unwrap()
        .into_index_root()
        .unwrap();
    let after = unwrapped
        .derive(&FNR, len(16))
        .unwrap()
        .compute(b"15108695088");
    assert_eq!(before, after);
}
