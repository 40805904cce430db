//! Renaming a field (`renamed_from`): the values carried over to the new name (sealed and
//! indexed again under it), both names served, the old column gone at `complete`, nothing
//! changed by `abort`.

use datavern_migrate::{ChangeClass, ChangeKind, Refusal};
use datavern_sql::Backend;
use datavern_store::RecordView;
use datavern_store::audit::AuditFilter;
use datavern_testkit::Env;
use datavern_testkit::fixtures::{resident, tenant};
use datavern_testkit::sql::scalar;
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    RENAME_EPOST, RENAME_POSTNUMMER, RETAIN_LONGER, columns, edited, migrator, on_every_backend,
    serve,
};

const PURPOSE: &str = "innbyggerregister";
const NEW_ADDRESS: &str = "ny.adresse@example.no";

/// `(postnummer, epost)` of each record, read by `env`'s catalog under these names.
async fn values(
    env: &Env,
    ids: &[Uuid],
    names: (&str, &str),
) -> Vec<(Option<String>, Option<String>)> {
    let mut values = Vec::new();
    for id in ids {
        let record = env
            .get("innbyggere", PURPOSE, "4601", *id)
            .await
            .unwrap_or_else(|e| panic!("read {id}: {e}"));
        values.push((text(&record, names.0), text(&record, names.1)));
    }
    values
}

/// Records whose `column` of the residents' table is NULL.
async fn nulls(env: &Env, column: &str) -> i64 {
    scalar(
        env.data(),
        &format!("SELECT COUNT(*) FROM c_innbyggere WHERE {column} IS NULL"),
    )
    .await
}

#[on_every_backend]
async fn plan_shows_a_rename_not_a_removal_and_an_addition(backend: Backend) {
    let env = Env::kommune(backend).await;
    for n in 1..=3 {
        env.create_resident(n).await;
    }
    let plan = migrator(&env)
        .plan(&edited(&[RENAME_POSTNUMMER, RENAME_EPOST]))
        .await
        .expect("plan");
    let renames: Vec<(&str, &str, bool, ChangeClass, Option<u64>)> = plan
        .changes
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::FieldRenamed {
                field, from, shape, ..
            } => Some((
                field.as_str(),
                from.as_str(),
                shape.encrypted,
                c.class,
                c.rows,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        renames,
        [
            (
                "postnr",
                "postnummer",
                false,
                ChangeClass::ExpandContract,
                Some(3)
            ),
            (
                "epostadresse",
                "epost",
                true,
                ChangeClass::ExpandContract,
                Some(3)
            ),
        ]
    );
    assert!(
        plan.changes
            .iter()
            .all(|c| matches!(c.kind, ChangeKind::FieldRenamed { .. })),
        "no field added or removed, no governance changed: {:?}",
        plan.changes
    );
    let epost = plan
        .changes
        .iter()
        .find(|c| matches!(&c.kind, ChangeKind::FieldRenamed { field, .. } if field == "epostadresse"))
        .expect("the rename of epost");
    for dialect in ["sqlite", "postgres", "mysql"] {
        let phases = &epost.ddl[dialect];
        let has = |statements: &[datavern_migrate::plan::Statement], words: &str| {
            statements.iter().any(|s| s.sql.contains(words))
        };
        assert!(has(&phases.expand, "dv_bidx_epostadresse"), "{dialect}");
        assert!(has(&phases.contract, "dv_bidx_epost"), "{dialect}");
        assert!(!has(&phases.contract, "epostadresse"), "{dialect}");
        assert!(has(&phases.abort, "epostadresse"), "{dialect}");
        assert!(
            !has(&phases.abort, "\"epost\"") && !has(&phases.abort, "`epost`"),
            "{dialect}"
        );
    }
}

#[on_every_backend]
async fn governance_of_a_renamed_field_is_compared_across_the_rename(backend: Backend) {
    let env = Env::kommune(backend).await;
    let (from, to) = RENAME_POSTNUMMER;
    let narrowed = format!("{to}        purposes: [innbyggerregister]\n");
    let plan = migrator(&env)
        .plan(&edited(&[(from, &narrowed)]))
        .await
        .expect("plan");
    let details: Vec<&String> = plan
        .changes
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Governance { details } => Some(details),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(details.len(), 1, "{details:?}");
    assert!(
        details[0].starts_with("fields.postnr.purposes: "),
        "{details:?}"
    );
}

#[on_every_backend]
async fn rename_carries_every_value_to_the_new_name(backend: Backend) {
    let mut env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(env.create_resident(n).await.id);
    }
    let new = edited(&[RENAME_POSTNUMMER, RENAME_EPOST]);
    let migrator = migrator(&env);
    let applied = migrator
        .apply(&new, None)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(applied.version, None, "complete is next");
    // postnr; epostadresse and its blind index.
    assert_eq!(applied.backfilled.len(), 3, "{:?}", applied.backfilled);
    assert!(
        applied.backfilled.iter().all(|(_, rows)| *rows == 4),
        "{:?}",
        applied.backfilled
    );
    for column in ["postnr", "epostadresse", "dv_bidx_epostadresse"] {
        assert_eq!(nulls(&env, column).await, 0, "{column} filled");
    }

    // The previous catalog serves the old names during the window; a write to them clears
    // the new columns (the sync triggers), and a record created now has none.
    env.update(
        "innbyggere",
        PURPOSE,
        ids[1],
        json!({"postnummer": "0150", "epost": NEW_ADDRESS}),
        None,
    )
    .await
    .expect("update during the window");
    for column in ["postnr", "epostadresse", "dv_bidx_epostadresse"] {
        assert_eq!(
            nulls(&env, column).await,
            1,
            "{column} cleared by the trigger"
        );
    }
    ids.push(
        env.create("innbyggere", PURPOSE, "4601", resident(5))
            .await
            .id,
    );
    let before = values(&env, &ids, ("postnummer", "epost")).await;
    assert_eq!(before[1].0.as_deref(), Some("0150"));
    env.store
        .apply_catalog(&env.catalog)
        .await
        .expect("the previous catalog still opens during the window");

    let version = migrator
        .complete()
        .await
        .unwrap_or_else(|e| panic!("complete: {e}"));
    assert_eq!(version, 2);
    serve(&mut env, new.clone()).await;
    env.store
        .apply_catalog(&new)
        .await
        .expect("the new catalog opens");

    // Every record reads the same values under the new names, and nothing under the old.
    assert_eq!(values(&env, &ids, ("postnr", "epostadresse")).await, before);
    assert!(
        values(&env, &ids, ("postnummer", "epost"))
            .await
            .iter()
            .all(|v| *v == (None, None))
    );
    // Lookups by the new name (the blind index computed with its key), and by the old one.
    let found = |records: Vec<RecordView>| records.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        found(
            env.lookup("innbyggere", PURPOSE, "epostadresse", NEW_ADDRESS)
                .await
        ),
        [ids[1]]
    );
    let old_address = before[0].1.clone().expect("an address");
    let mut others = found(
        env.lookup("innbyggere", PURPOSE, "epostadresse", &old_address)
            .await,
    );
    others.sort();
    let mut expected = vec![ids[0], ids[2], ids[3], ids[4]];
    expected.sort();
    assert_eq!(others, expected);
    assert_eq!(
        found(
            env.lookup("innbyggere", PURPOSE, "epost", NEW_ADDRESS)
                .await
        ),
        [ids[1]],
        "the old name is an alias while the catalog declares the rename"
    );
    // Writes under the old name land in the new field.
    let updated = env
        .update(
            "innbyggere",
            PURPOSE,
            ids[2],
            json!({"postnummer": "5020"}),
            None,
        )
        .await
        .expect("write under the old name");
    assert_eq!(text(&updated, "postnr").as_deref(), Some("5020"));
    // The audit log names the field by its new name.
    let entries = env
        .store
        .audit()
        .query(AuditFilter::new(tenant("4601")).record(ids[2]).limit(1000))
        .await
        .expect("audit entries");
    let last = entries
        .items
        .iter()
        .max_by_key(|r| r.id)
        .expect("the update's entry");
    assert_eq!(last.entry.fields, ["postnr"], "{:?}", last.entry);

    let columns = columns(&env).await;
    for gone in ["postnummer", "epost", "dv_bidx_epost"] {
        assert!(!columns.iter().any(|c| c == gone), "{gone}: {columns:?}");
    }
    for kept in ["postnr", "epostadresse", "dv_bidx_epostadresse"] {
        assert!(columns.iter().any(|c| c == kept), "{kept}: {columns:?}");
    }

    // The `renamed_from` lines may stay: the rename is done, so they change nothing.
    let later = migrator
        .plan(&edited(&[RENAME_POSTNUMMER, RENAME_EPOST, RETAIN_LONGER]))
        .await
        .expect("plan");
    assert!(
        later
            .changes
            .iter()
            .all(|c| matches!(c.kind, ChangeKind::Governance { .. })),
        "{:?}",
        later.changes
    );

    env.store.audit().seal().await.expect("seal");
    let verified = env.store.audit().verify(None).await.expect("verify");
    assert!(verified.is_intact(), "{verified:?}");
}

#[on_every_backend]
async fn abort_of_a_rename_leaves_the_catalog_in_force_and_its_data(backend: Backend) {
    let env = Env::kommune(backend).await;
    let ids = vec![
        env.create_resident(1).await.id,
        env.create_resident(2).await.id,
    ];
    let before_columns = columns(&env).await;
    let before = values(&env, &ids, ("postnummer", "epost")).await;
    let new = edited(&[RENAME_POSTNUMMER, RENAME_EPOST]);
    migrator(&env).apply(&new, None).await.expect("apply");
    migrator(&env).abort().await.expect("abort");

    assert_eq!(columns(&env).await, before_columns);
    let status = migrator(&env).status().await.expect("status");
    assert!(status.open.is_none());
    assert_eq!(
        status.versions.len(),
        1,
        "the catalog in force is unchanged"
    );
    env.store
        .apply_catalog(&env.catalog)
        .await
        .expect("the catalog in force opens");
    assert_eq!(values(&env, &ids, ("postnummer", "epost")).await, before);
    let address = before[0].1.clone().expect("an address");
    assert_eq!(
        env.lookup("innbyggere", PURPOSE, "epost", &address)
            .await
            .len(),
        2
    );
}

#[on_every_backend]
async fn renamed_field_may_become_searchable(backend: Backend) {
    let mut env = Env::kommune(backend).await;
    let id = env.create_resident(1).await.id;
    let new = edited(&[(
        "      - name: telefon\n        type: string\n        category: user.contact.phone\n        identifier: phone\n        encrypted: true\n",
        "      - name: mobil\n        renamed_from: telefon\n        type: string\n        category: user.contact.phone\n        identifier: phone\n        encrypted: true\n        searchable: true\n",
    )]);
    let migrator = migrator(&env);
    let applied = migrator.apply(&new, None).await.expect("apply");
    assert_eq!(applied.backfilled.len(), 2, "{:?}", applied.backfilled);
    migrator.complete().await.expect("complete");
    serve(&mut env, new).await;
    let found = env
        .lookup("innbyggere", PURPOSE, "telefon", "+47 912 34 567")
        .await;
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    let columns = columns(&env).await;
    assert!(
        columns.iter().any(|c| c == "dv_bidx_mobil") && !columns.iter().any(|c| c == "telefon"),
        "{columns:?}"
    );
}

#[on_every_backend]
async fn rename_with_a_type_change_is_refused(backend: Backend) {
    let env = Env::kommune(backend).await;
    env.create_resident(1).await;
    let new = edited(&[(
        "      - name: postnummer\n        type: string\n        category: user.contact.address.postal_code\n        identifier: postnummer\n",
        "      - name: postnr\n        renamed_from: postnummer\n        type: integer\n        category: user.contact.address.postal_code\n",
    )]);
    let plan = migrator(&env).plan(&new).await.expect("plan");
    assert!(
        plan.changes
            .iter()
            .any(|c| c.class == ChangeClass::Unsupported),
        "{:?}",
        plan.changes
    );
    let err = migrator(&env).apply(&new, None).await.expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::Unsupported), "{err:?}");
    assert!(err.to_string().contains("rename it first"), "{err}");
}

/// The canonical text of `field` of `record`, if it has a value.
fn text(record: &RecordView, field: &str) -> Option<String> {
    record.get(field).and_then(|value| value.canonical())
}
