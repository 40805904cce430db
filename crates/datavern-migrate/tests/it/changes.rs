//! Migrations end to end: the previous catalog serves during the window, the new one after
//! `complete`, and every value survives.

use datavern_migrate::{ChangeClass, ChangeKind, MigrateOptions, OnInvalid};
use datavern_sql::Backend;
use datavern_sql::testing::table_names;
use datavern_store::audit::{AuditAction, MigrationEvent};
use datavern_testkit::Env;
use serde_json::json;

use crate::support::{
    ADD_MELLOMNAVN, DROP_ADRESSE, ENCRYPT_POSTNUMMER, RETAIN_LONGER, SEARCHABLE_TELEFON, audited,
    columns, edited, migrator, on_every_backend, serve,
};

#[on_every_backend]
async fn plan_classes_each_change_and_counts_rows(backend: Backend) {
    let env = Env::kommune(backend).await;
    for n in 1..=3 {
        env.create_resident(n).await;
    }
    let new = edited(&[
        ENCRYPT_POSTNUMMER,
        SEARCHABLE_TELEFON,
        ADD_MELLOMNAVN,
        DROP_ADRESSE,
        RETAIN_LONGER,
    ]);
    let plan = migrator(&env).plan(&new).await.expect("plan");
    assert_eq!(plan.from_version, 1);
    let class = |field: &str| {
        plan.changes
            .iter()
            .find(|c| match &c.kind {
                ChangeKind::FieldReshaped { field: f, .. }
                | ChangeKind::FieldSearchable { field: f }
                | ChangeKind::FieldAdded { field: f }
                | ChangeKind::FieldRemoved { field: f, .. } => f == field,
                _ => false,
            })
            .map(|c| (c.class, c.rows))
            .unwrap_or_else(|| panic!("no change of {field}"))
    };
    assert_eq!(class("postnummer"), (ChangeClass::ExpandContract, Some(3)));
    assert_eq!(class("telefon"), (ChangeClass::Backfill, Some(3)));
    assert_eq!(class("mellomnavn"), (ChangeClass::Additive, None));
    assert_eq!(class("adresse"), (ChangeClass::Destructive, Some(3)));
    let governance = plan
        .changes
        .iter()
        .find_map(|c| match &c.kind {
            ChangeKind::Governance { details } if c.collection == "innbyggere" => Some(details),
            _ => None,
        })
        .expect("a governance change");
    assert!(
        governance
            .iter()
            .any(|d| d.contains("retention") && d.contains("P3Y")),
        "{governance:?}"
    );
    for dialect in ["sqlite", "postgres", "mysql"] {
        let reshaped = plan
            .changes
            .iter()
            .find(|c| matches!(c.kind, ChangeKind::FieldReshaped { .. }))
            .expect("the reshape");
        let phases = &reshaped.ddl[dialect];
        assert!(
            phases
                .expand
                .iter()
                .any(|s| s.sql.contains("dv_next_postnummer")),
            "{dialect}"
        );
        assert!(!phases.contract.is_empty(), "{dialect}");
    }
}

#[on_every_backend]
async fn migration_changes_every_kind_while_the_old_catalog_serves(backend: Backend) {
    let mut env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(env.create_resident(n).await.id);
    }
    let new = edited(&[
        ENCRYPT_POSTNUMMER,
        SEARCHABLE_TELEFON,
        ADD_MELLOMNAVN,
        DROP_ADRESSE,
        RETAIN_LONGER,
    ]);
    let migrator = migrator(&env);
    let applied = migrator
        .apply(&new, None)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(applied.version, None, "complete is next");
    assert_eq!(applied.backfilled.len(), 2);
    assert!(
        applied.backfilled.iter().all(|(_, rows)| *rows == 5),
        "{:?}",
        applied.backfilled
    );

    // The previous catalog still serves, reads and writes, during the window.
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", ids[0])
        .await
        .expect("read");
    assert_eq!(text(&read, "postnummer"), Some("5039".to_string()));
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[1],
        json!({"postnummer": "0150", "telefon": "+47 400 00 002"}),
        None,
    )
    .await
    .expect("update during the window");
    let late = env
        .create(
            "innbyggere",
            "innbyggerregister",
            "4601",
            datavern_testkit::fixtures::resident(6),
        )
        .await
        .id;
    // A restart on the previous catalog is allowed during the window.
    env.store
        .apply_catalog(&env.catalog)
        .await
        .expect("the previous catalog still opens");

    let version = migrator
        .complete()
        .await
        .unwrap_or_else(|e| panic!("complete: {e}"));
    assert_eq!(version, 2);
    serve(&mut env, new.clone()).await;
    let report = env
        .store
        .apply_catalog(&new)
        .await
        .expect("the new catalog opens");
    assert_eq!(report.version, None, "already recorded by the migration");

    for (i, id) in ids.iter().enumerate() {
        let record = env
            .get("innbyggere", "innbyggerregister", "4601", *id)
            .await
            .expect("read");
        let expected = if i == 1 { "0150" } else { "5039" };
        assert_eq!(
            text(&record, "postnummer"),
            Some(expected.to_string()),
            "record {i}"
        );
        assert_eq!(text(&record, "adresse"), None);
    }
    let record = env
        .get("innbyggere", "innbyggerregister", "4601", late)
        .await
        .expect("read");
    assert_eq!(text(&record, "postnummer"), Some("5039".to_string()));
    // The blind index was built for old rows, refreshed for the changed one, and filled for
    // the one created during the window.
    let found = env
        .lookup(
            "innbyggere",
            "innbyggerregister",
            "telefon",
            "+47 400 00 002",
        )
        .await;
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[1]]);
    let found = env
        .lookup(
            "innbyggere",
            "innbyggerregister",
            "telefon",
            "+47 912 34 567",
        )
        .await;
    assert_eq!(found.len(), 5, "residents 1, 3, 4, 5 and 6");
    // The new field is writable.
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[2],
        json!({"mellomnavn": "Marie"}),
        None,
    )
    .await
    .expect("write the new field");

    let columns = columns(&env).await;
    assert!(
        !columns
            .iter()
            .any(|c| c == "adresse" || c.starts_with("dv_next_")),
        "{columns:?}"
    );
    let tables = table_names(env.data()).await;
    assert!(tables.iter().any(|t| t == "dv_catalog_versions"));

    for event in [
        MigrationEvent::Started,
        MigrationEvent::Expanded,
        MigrationEvent::Backfilled,
        MigrationEvent::Completed,
    ] {
        assert!(
            audited(&env, AuditAction::Migration(event), None).await > 0,
            "{event:?}"
        );
    }
    env.store.audit().seal().await.expect("seal");
    let verified = env.store.audit().verify(None).await.expect("verify");
    assert!(verified.is_intact(), "{verified:?}");
}

#[on_every_backend]
async fn governance_change_is_versioned_at_once(backend: Backend) {
    let env = Env::kommune(backend).await;
    let new = edited(&[RETAIN_LONGER]);
    let applied = migrator(&env).apply(&new, None).await.expect("apply");
    assert_eq!(applied.version, Some(2), "no DDL: in force at once");
    let status = migrator(&env).status().await.expect("status");
    assert_eq!(status.versions.len(), 2);
    assert_eq!(status.versions[1].applied_by, "drift-1");
    assert_eq!(status.versions[1].migration, Some(applied.id));
    assert!(status.open.is_none());
}

#[on_every_backend]
async fn abort_drops_what_apply_added(backend: Backend) {
    let env = Env::kommune(backend).await;
    env.create_resident(1).await;
    let before = columns(&env).await;
    let new = edited(&[ENCRYPT_POSTNUMMER, SEARCHABLE_TELEFON, ADD_MELLOMNAVN]);
    migrator(&env).apply(&new, None).await.expect("apply");
    migrator(&env).abort().await.expect("abort");
    let after = columns(&env).await;
    assert_eq!(before, after);
    env.store
        .apply_catalog(&env.catalog)
        .await
        .expect("the old catalog opens");
    let read = env
        .get(
            "innbyggere",
            "innbyggerregister",
            "4601",
            env.create_resident(2).await.id,
        )
        .await;
    assert!(read.is_ok());
}

#[on_every_backend]
async fn type_change_lists_values_that_do_not_convert(backend: Backend) {
    let mut env = Env::kommune(backend).await;
    let id = env.create_resident(1).await.id;
    let new = edited(&[(
        "        type: string\n        category: user.contact.address.postal_code\n        identifier: postnummer\n",
        "        type: integer\n        category: user.contact.address.postal_code\n",
    )]);
    // "5039" converts to an integer.
    let applied = migrator(&env).apply(&new, None).await.expect("apply");
    assert_eq!(applied.backfilled[0].1, 1);
    migrator(&env).complete().await.expect("complete");
    serve(&mut env, new).await;
    let record = env
        .get("innbyggere", "innbyggerregister", "4601", id)
        .await
        .expect("read");
    assert_eq!(text(&record, "postnummer"), Some("5039".to_string()));

    // Back to dates from integers: 5039 is no date.
    let dates = edited(&[(
        "        type: string\n        category: user.contact.address.postal_code\n        identifier: postnummer\n",
        "        type: date\n        category: user.contact.address.postal_code\n",
    )]);
    let err = migrator(&env)
        .apply(&dates, None)
        .await
        .expect_err("refused");
    assert_eq!(
        err.refusal(),
        Some(datavern_migrate::Refusal::InvalidValues),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&id.to_string()), "{message}");
    assert!(
        !message.contains("5039"),
        "no values in the message: {message}"
    );
    assert!(
        migrator(&env)
            .status()
            .await
            .expect("status")
            .open
            .is_none(),
        "nothing started"
    );
    let nulls = migrator(&env).with_options(MigrateOptions {
        on_invalid: OnInvalid::Null,
        ..MigrateOptions::default()
    });
    nulls
        .apply(&dates, None)
        .await
        .expect("apply with --on-invalid null");
    nulls.complete().await.expect("complete");
    serve(&mut env, dates).await;
    let record = env
        .get("innbyggere", "innbyggerregister", "4601", id)
        .await
        .expect("read");
    assert_eq!(text(&record, "postnummer"), None);
}

/// The canonical text of `field` of `record`, if it has a value.
fn text(record: &datavern_store::RecordView, field: &str) -> Option<String> {
    record.get(field).and_then(|value| value.canonical())
}
