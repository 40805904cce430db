//! The key store: round trip, race safety, batch lookup, destruction, index root keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datavern_crypto::{KeyKind, KeyVersion, envelope_key_id};
use datavern_sql::Backend;
use datavern_sql::testing::TestDb;
use datavern_store::testing::OpenStore as _;
use datavern_store::{KeyState, StoreError};
use tokio::sync::Barrier;

use crate::support::{Kek, on_every_backend, report, scalar, subject, tenant};

#[on_every_backend]
async fn subject_key_round_trip(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, person) = (tenant("4601"), subject());

    let created = store
        .keys()
        .get_or_create_subject_key(bergen, person, || {
            kek.data_key(bergen, person, KeyVersion::FIRST)
        })
        .await
        .unwrap();
    let calls = AtomicUsize::new(0);
    let fetched = store
        .keys()
        .get_or_create_subject_key(bergen, person, || {
            calls.fetch_add(1, Ordering::SeqCst);
            kek.data_key(bergen, person, KeyVersion::FIRST)
        })
        .await
        .unwrap();
    assert_eq!(fetched, created);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "an existing key is not recreated"
    );

    // What is stored unwraps to a working key with the same id.
    let key = kek.unwrap_data_key(&fetched, bergen, person).await;
    assert_eq!(key.id(), created.key_id());
    let context = datavern_crypto::FieldContext {
        tenant: bergen.as_str(),
        collection: "innbyggere",
        field: "fodselsnummer",
        record_id: "0190b5d2-7c1e-7000-8000-000000000001",
        subject_id: &person.to_string(),
    };
    let envelope = datavern_crypto::encrypt_field(&key, &context, b"15108695088").unwrap();
    assert_eq!(envelope_key_id(&envelope).unwrap(), created.key_id());

    let stored = store.keys().subject_keys(bergen, &[person]).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject, person);
    assert_eq!(stored[0].key_id, created.key_id());
    assert_eq!(stored[0].key_version, KeyVersion::FIRST);
    assert!(matches!(&stored[0].state, KeyState::Live(w) if *w == created));

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn concurrent_first_use_of_a_subject_stores_one_key(backend: Backend) {
    const RACERS: usize = 6;
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Arc::new(Kek::new().await);
    let (bergen, person) = (tenant("4601"), subject());
    // Every racer has looked and found no key before any of them stores one.
    let barrier = Arc::new(Barrier::new(RACERS));

    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let (store, kek, barrier) = (store.clone(), kek.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            store
                .keys()
                .get_or_create_subject_key(bergen, person, || async move {
                    let key = kek.data_key(bergen, person, KeyVersion::FIRST).await;
                    barrier.wait().await;
                    key
                })
                .await
        }));
    }
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(
            task.await
                .unwrap()
                .unwrap_or_else(|err| panic!("{}", report(&err))),
        );
    }
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "every racer gets the stored key"
    );
    assert_eq!(
        scalar(
            store.keys().database(),
            "SELECT COUNT(*) FROM dv_subject_keys"
        )
        .await,
        1
    );
    let stored = store.keys().subject_keys(bergen, &[person]).await.unwrap();
    assert_eq!(stored[0].key_id, keys[0].key_id());

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn batch_lookup_returns_every_subjects_keys(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let bergen = tenant("4601");
    let people: Vec<_> = (0..3).map(|_| subject()).collect();
    let mut created = Vec::new();
    for person in &people {
        let person = *person;
        created.push(
            store
                .keys()
                .get_or_create_subject_key(bergen, person, || {
                    kek.data_key(bergen, person, KeyVersion::FIRST)
                })
                .await
                .unwrap(),
        );
    }
    let unknown = subject();

    let mut wanted = vec![unknown];
    wanted.extend(people.iter().rev());
    let stored = store.keys().subject_keys(bergen, &wanted).await.unwrap();
    assert_eq!(stored.len(), 3, "the unknown subject has no keys");
    for (person, key) in people.iter().zip(&created) {
        let found = stored.iter().find(|s| s.subject == *person).unwrap();
        assert!(matches!(&found.state, KeyState::Live(w) if w == key));
    }
    let order: Vec<_> = stored.iter().map(|s| s.subject).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert!(
        store
            .keys()
            .subject_keys(bergen, &[])
            .await
            .unwrap()
            .is_empty()
    );

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn destroyed_subject_keys_leave_no_wrapped_bytes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, person, other) = (tenant("4601"), subject(), subject());
    for who in [person, other] {
        store
            .keys()
            .get_or_create_subject_key(bergen, who, || kek.data_key(bergen, who, KeyVersion::FIRST))
            .await
            .unwrap();
    }

    assert_eq!(
        store
            .keys()
            .destroy_subject_keys(bergen, person)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .keys()
            .destroy_subject_keys(bergen, person)
            .await
            .unwrap(),
        0,
        "already destroyed"
    );

    let keys = store.keys().database();
    assert_eq!(
        scalar(
            keys,
            "SELECT COUNT(*) FROM dv_subject_keys WHERE wrapped IS NOT NULL"
        )
        .await,
        1,
        "only the other subject's key is left"
    );
    assert_eq!(
        scalar(
            keys,
            "SELECT COUNT(*) FROM dv_subject_keys WHERE destroyed_at IS NOT NULL"
        )
        .await,
        1,
        "a tombstone remains"
    );
    let stored = store.keys().subject_keys(bergen, &[person]).await.unwrap();
    assert!(matches!(stored[0].state, KeyState::Destroyed { .. }));

    let err = store
        .keys()
        .get_or_create_subject_key(bergen, person, || {
            kek.data_key(bergen, person, KeyVersion::FIRST)
        })
        .await
        .expect_err("an erased subject gets no new key");
    assert!(
        matches!(err, StoreError::SubjectKeyDestroyed { .. }),
        "{}",
        report(&err)
    );

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn keys_are_per_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, oslo, person) = (tenant("4601"), tenant("0301"), subject());

    let in_bergen = store
        .keys()
        .get_or_create_subject_key(bergen, person, || {
            kek.data_key(bergen, person, KeyVersion::FIRST)
        })
        .await
        .unwrap();
    let in_oslo = store
        .keys()
        .get_or_create_subject_key(oslo, person, || {
            kek.data_key(oslo, person, KeyVersion::FIRST)
        })
        .await
        .unwrap();
    assert_ne!(in_bergen.key_id(), in_oslo.key_id());
    assert_eq!(
        store
            .keys()
            .subject_keys(oslo, &[person])
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .keys()
        .destroy_subject_keys(oslo, person)
        .await
        .unwrap();
    let bergen_keys = store.keys().subject_keys(bergen, &[person]).await.unwrap();
    assert!(matches!(&bergen_keys[0].state, KeyState::Live(_)));

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn index_root_key_is_created_once_per_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, oslo) = (tenant("4601"), tenant("0301"));

    let first = store
        .keys()
        .get_or_create_index_root_key(bergen, || kek.index_root(bergen))
        .await
        .unwrap();
    let again = store
        .keys()
        .get_or_create_index_root_key(bergen, || kek.index_root(bergen))
        .await
        .unwrap();
    let oslo_key = store
        .keys()
        .get_or_create_index_root_key(oslo, || kek.index_root(oslo))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.kind(), KeyKind::IndexRoot);
    assert_ne!(first.key_id(), oslo_key.key_id());
    assert_eq!(store.keys().index_root_keys(bergen).await.unwrap(), [first]);

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn wrong_kind_or_version_of_key_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, person) = (tenant("4601"), subject());

    let err = store
        .keys()
        .get_or_create_subject_key(bergen, person, || kek.index_root(bergen))
        .await
        .expect_err("an index root key is no data key");
    assert!(matches!(err, StoreError::InvalidKey(_)), "{}", report(&err));

    let second = KeyVersion::FIRST.next().unwrap();
    let err = store
        .keys()
        .get_or_create_subject_key(bergen, person, || kek.data_key(bergen, person, second))
        .await
        .expect_err("a first key has version 1");
    assert!(err.to_string().contains("version 1"), "{err}");
    assert_eq!(
        scalar(
            store.keys().database(),
            "SELECT COUNT(*) FROM dv_subject_keys"
        )
        .await,
        0
    );

    store.close().await;
    db.cleanup().await;
}

/// SQLite's key file is opened with `secure_delete`: after a checkpoint, the destroyed key's
/// bytes are nowhere in the file.
#[tokio::test]
async fn destroyed_key_bytes_are_overwritten_in_the_sqlite_file() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.open().await;
    let kek = Kek::new().await;
    let (bergen, person) = (tenant("4601"), subject());
    let wrapped = store
        .keys()
        .get_or_create_subject_key(bergen, person, || {
            kek.data_key(bergen, person, KeyVersion::FIRST)
        })
        .await
        .unwrap();
    let bytes = wrapped.to_bytes();
    // The provider's ciphertext: the last 60 bytes of the encoding.
    let secret_part = &bytes[bytes.len() - 60..];
    let path = db.config().keys.redacted_url();
    let path = path.trim_start_matches("sqlite://").to_owned();
    let keys = store.keys().database();
    let in_file = || {
        let file = std::fs::read(&path).unwrap();
        file.windows(secret_part.len()).any(|w| w == secret_part)
    };
    crate::support::execute(keys, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    assert!(
        in_file(),
        "the stored key is in {path} before it is destroyed"
    );

    store
        .keys()
        .destroy_subject_keys(bergen, person)
        .await
        .unwrap();
    crate::support::execute(keys, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    assert!(!in_file(), "wrapped key bytes survive in {path}");

    store.close().await;
    db.cleanup().await;
}
