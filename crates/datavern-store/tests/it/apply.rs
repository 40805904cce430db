//! `apply_catalog`: creates what is missing, changes nothing on re-apply, refuses changes.

use datavern_sql::Backend;
use datavern_sql::testing::TestDb;
use datavern_store::schema::{CollectionChanges, describe};
use datavern_store::testing::OpenStore as _;
use datavern_store::{IncompatibleCatalog, Store, StoreError};

use crate::support::{
    KOMMUNE, SMALL_V1, SMALL_V2, catalog, execute, on_every_backend, report, scalar, strings,
    tables,
};

#[on_every_backend]
async fn example_catalog_applies_and_reapplying_changes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let catalog = catalog(KOMMUNE);
    let names: Vec<String> = catalog
        .collections()
        .iter()
        .map(|c| c.name().to_string())
        .collect();

    let report = store.apply_catalog(&catalog).await.expect("first apply");
    assert_eq!(report.created, names);
    assert!(report.unchanged.is_empty());
    let created = tables(store.data()).await;
    for name in &names {
        assert!(
            created.contains(&format!("c_{name}")),
            "c_{name} in {created:?}"
        );
    }
    let fingerprints = strings(
        store.data(),
        "SELECT fingerprint FROM dv_collections ORDER BY name",
    )
    .await;
    let mut expected: Vec<(String, String)> = catalog
        .collections()
        .iter()
        .map(|c| (c.name().to_string(), describe(c).fingerprint()))
        .collect();
    expected.sort();
    assert_eq!(
        fingerprints,
        expected.into_iter().map(|(_, f)| f).collect::<Vec<_>>()
    );

    let again = store.apply_catalog(&catalog).await.expect("second apply");
    assert!(again.is_unchanged(), "{again:?}");
    assert_eq!(again.unchanged, names);
    // After a restart too.
    let reopened = Store::open(db.config()).await.expect("reopen");
    assert!(
        reopened
            .apply_catalog(&catalog)
            .await
            .unwrap()
            .is_unchanged()
    );
    assert_eq!(tables(store.data()).await, created);
    assert_eq!(
        scalar(
            store.data(),
            "SELECT COUNT(*) FROM dv_collections WHERE updated_at = applied_at"
        )
        .await,
        i64::try_from(names.len()).unwrap()
    );

    reopened.close().await;
    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn incompatible_changes_are_refused_with_each_difference(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    store.apply_catalog(&catalog(SMALL_V1)).await.unwrap();
    let before = tables(store.data()).await;

    let err = store
        .apply_catalog(&catalog(SMALL_V2))
        .await
        .expect_err("changed catalog");
    let StoreError::IncompatibleCatalog(IncompatibleCatalog { collections }) = &err else {
        panic!("expected IncompatibleCatalog, got {}", report(&err));
    };
    let changes = |collection: &str, changes: &[&str]| CollectionChanges {
        collection: collection.to_owned(),
        table: format!("c_{collection}"),
        changes: changes.iter().map(|c| (*c).to_owned()).collect(),
    };
    assert_eq!(
        collections,
        &[
            changes(
                "personer",
                &[
                    "field \"fodselsnummer\" is no longer searchable (its blind-index column \
                     would be dropped)",
                    "field \"navn\" is now encrypted (its column would hold ciphertext instead \
                     of plaintext values)",
                    "field \"fodselsdato\" changed type from date to timestamp",
                    "field \"epost\" was added (string)",
                    "field \"telefon\" was removed (its column holds string)",
                ]
            ),
            changes(
                "saker",
                &[
                    "subject reference \"verge\" was removed (column dv_subject_verge)",
                    "field \"verge_id\" was removed (its column holds string)",
                ]
            ),
        ]
    );
    let message = err.to_string();
    assert!(message.contains("nothing was applied"), "{message}");
    assert!(
        message.contains("collection \"personer\" (table c_personer):\n    - field"),
        "{message}"
    );
    // All or nothing: the new, compatible collection was not created either.
    assert_eq!(tables(store.data()).await, before);
    assert_eq!(
        scalar(store.data(), "SELECT COUNT(*) FROM dv_collections").await,
        2
    );

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn removed_collection_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    store.apply_catalog(&catalog(SMALL_V1)).await.unwrap();
    let (without_saker, _) = SMALL_V1.split_once("  - name: saker").unwrap();

    let err = store
        .apply_catalog(&catalog(without_saker))
        .await
        .expect_err("collection removed");
    let StoreError::IncompatibleCatalog(incompatible) = &err else {
        panic!("expected IncompatibleCatalog, got {}", report(&err));
    };
    assert_eq!(incompatible.collections.len(), 1);
    assert_eq!(incompatible.collections[0].collection, "saker");
    assert_eq!(
        incompatible.collections[0].changes,
        ["the collection was removed from the catalog, but its table c_saker and records remain"]
    );

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn reordered_fields_are_no_change(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    store.apply_catalog(&catalog(SMALL_V1)).await.unwrap();
    let navn = "      - name: navn\n        type: string\n        category: user.name\n";
    assert!(SMALL_V1.contains(navn));
    let reordered = SMALL_V1.replacen(navn, "", 1).replacen(
        "      - name: telefon\n",
        &format!("{navn}      - name: telefon\n"),
        1,
    );
    assert_ne!(reordered, SMALL_V1);

    let report = store.apply_catalog(&catalog(&reordered)).await.unwrap();
    assert!(report.is_unchanged(), "{report:?}");

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn table_dropped_outside_datavern_is_reported(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let catalog = catalog(SMALL_V1);
    store.apply_catalog(&catalog).await.unwrap();
    execute(store.data(), "DROP TABLE c_saker").await;

    let err = store.apply_catalog(&catalog).await.expect_err("table gone");
    assert!(
        matches!(&err, StoreError::SchemaDrift { table, .. } if table == "c_saker"),
        "{}",
        report(&err)
    );
    assert!(err.to_string().contains("the table is missing"), "{err}");

    store.close().await;
    db.cleanup().await;
}
