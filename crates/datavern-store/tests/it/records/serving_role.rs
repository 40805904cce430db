//! The serving role's privileges (`datavern_sql::grants`) and the append-only audit tables
//! (migration 0008): a role with the serving grants serves records, appends, seals and
//! checkpoints the audit log, and is refused every change to what is written; the triggers
//! refuse the same to the owner.

use datavern_crypto::audit::{CheckpointSigner, KeyName};
use datavern_sql::grants::{self, Grantee};
use datavern_sql::{Backend, Database, testing};
use datavern_store::{Records, Store};

use super::Env;
use crate::support::{execute, on_every_backend, report, scalar};

/// Runs `sql` on `db`, returning the database's refusal, if any.
async fn try_sql(db: &Database, sql: &str) -> Result<(), String> {
    testing::try_execute(db, sql)
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}

async fn refused(db: &Database, sql: &str) -> String {
    match try_sql(db, sql).await {
        Ok(()) => panic!("{} allowed: {sql}", db.backend()),
        Err(err) => err,
    }
}

fn signer() -> CheckpointSigner {
    CheckpointSigner::generate(KeyName::new("datavern/audit").unwrap()).unwrap()
}

#[tokio::test]
async fn postgres_serving_role_appends_to_the_audit_log_and_cannot_change_it() {
    serving_role_appends_to_the_audit_log_and_cannot_change_it(Backend::Postgres).await;
}

#[tokio::test]
async fn mysql_serving_role_appends_to_the_audit_log_and_cannot_change_it() {
    serving_role_appends_to_the_audit_log_and_cannot_change_it(Backend::MySql).await;
}

async fn serving_role_appends_to_the_audit_log_and_cannot_change_it(backend: Backend) {
    // The owner migrated and applied the catalog (Env opens the store as the admin user).
    let mut env = Env::kommune(backend).await;
    let login = env.db.create_login().await;
    let grantee = Grantee::new(&login.name).unwrap();
    for db in [env.store.data(), env.store.keys().database()] {
        let statements = grants::apply_serving_grants(db, &grantee)
            .await
            .unwrap_or_else(|err| panic!("{}", report(&err)));
        assert!(!statements.is_empty());
        // Applying them again converges instead of failing.
        grants::apply_serving_grants(db, &grantee)
            .await
            .unwrap_or_else(|err| panic!("again: {}", report(&err)));
    }

    // A role that may not create tables cannot migrate, and need not: open_migrated checks.
    let serving = Store::open_migrated(&login.config)
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    serving
        .apply_catalog(&env.catalog)
        .await
        .unwrap_or_else(|err| panic!("apply_catalog as the serving role: {}", report(&err)));
    let owner = std::mem::replace(&mut env.store, serving.clone());
    env.records = Records::new(serving.clone(), env.catalog.clone(), env.kek.clone());

    // It serves records: create (row, subject key, audit entry, outbox), read, update, delete.
    let created = env.create_resident(1).await;
    env.get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    let updated = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            serde_json::json!({"adresse": "Nygårdsgaten 1"}),
            Some(created.version),
        )
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert_eq!(updated.version, 2);
    // It seals (UPDATE of the seal columns and the head) and signs checkpoints (INSERT).
    let head = serving
        .audit()
        .seal()
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert!(head.size >= 3, "{}", head.size);
    let signer = signer();
    serving
        .audit()
        .checkpoint(&signer, "datavern/audit")
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));

    // Every change to what was written is refused, by privilege or by trigger.
    let data = serving.data();
    let attempts = [
        "UPDATE dv_audit SET principal = 'someone-else' WHERE sequence = 1",
        "UPDATE dv_audit SET sequence = 1000 WHERE sequence = 1",
        "UPDATE dv_audit SET entry_hash = entry_hash WHERE sequence = 1",
        "DELETE FROM dv_audit WHERE sequence = 1",
        "DELETE FROM dv_audit",
        "TRUNCATE TABLE dv_audit",
        "DROP TABLE dv_audit",
        "ALTER TABLE dv_audit ADD COLUMN x INTEGER",
        "UPDATE dv_audit_head SET size = 0, head_hash = NULL",
        "DELETE FROM dv_audit_head",
        "UPDATE dv_audit_checkpoints SET note = 'forged'",
        "DELETE FROM dv_audit_checkpoints",
        "TRUNCATE TABLE dv_audit_checkpoints",
        "DROP TRIGGER dv_audit_seal_only",
    ];
    for sql in attempts {
        let sql = match (backend, sql) {
            (Backend::Postgres, "DROP TRIGGER dv_audit_seal_only") => {
                "DROP TRIGGER dv_audit_seal_only ON dv_audit"
            }
            _ => sql,
        };
        let err = refused(data, sql).await;
        assert!(
            err.contains("denied") || err.contains("refused") || err.contains("must be owner"),
            "{sql}: {err}"
        );
    }
    // Neither can it change or delete a key other than by destroying it.
    let keys = serving.keys().database();
    refused(keys, "DELETE FROM dv_subject_keys").await;
    refused(keys, "UPDATE dv_subject_keys SET kek_version = 2").await;
    refused(keys, "DROP TABLE dv_index_keys").await;

    // The log is intact, as the owner sees it too.
    let verified = owner
        .audit()
        .verify(Some(&signer.verifier()))
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert!(verified.is_intact(), "{:?}", verified.failure);
    assert_eq!(verified.checkpoints_verified, 1);

    // It deletes records it may delete (the audit entry of the deletion is appended).
    let grant = env.grant(
        datavern_core::access::Operation::Delete,
        "innbyggere",
        "innbyggerregister",
        "4601",
    );
    env.records
        .delete(&grant, created.id, &super::meta())
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));

    serving.close().await;
    env.store = owner;
    env.finish().await;
}

/// The triggers of migration 0008 hold for the owner (and on SQLite, which has no roles):
/// a sealed entry never changes, an unsealed one only gets its seal, nothing is deleted and
/// the head never moves back.
#[on_every_backend]
async fn audit_rows_are_append_only_even_for_the_owner(backend: Backend) {
    let env = Env::kommune(backend).await;
    env.create_resident(1).await;
    env.create_resident(2).await;
    let head = env.store.audit().seal().await.unwrap();
    assert_eq!(head.size, 2);
    let data = env.store.data();
    for sql in [
        "UPDATE dv_audit SET principal = 'someone-else' WHERE sequence = 1",
        "UPDATE dv_audit SET sequence = 1000 WHERE sequence = 2",
        "UPDATE dv_audit SET sealed_at = occurred_at WHERE sequence = 1",
        "DELETE FROM dv_audit WHERE sequence = 2",
        "UPDATE dv_audit_head SET size = 1",
        "DELETE FROM dv_audit_head",
    ] {
        let err = refused(data, sql).await;
        assert!(err.contains("refused"), "{sql}: {err}");
    }
    if backend == Backend::Postgres {
        let err = refused(data, "TRUNCATE dv_audit").await;
        assert!(err.contains("refused"), "{err}");
    }
    // An unsealed entry may have its content changed by nobody either. The background
    // sealer stops first, so the entry stays unsealed until this test seals it (a write
    // appends its entry in its own transaction, without the sealer).
    env.store.audit().stop().await;
    env.create_resident(3).await;
    assert_eq!(
        scalar(data, "SELECT COUNT(*) FROM dv_audit WHERE sequence IS NULL").await,
        1,
        "the new entry is unsealed"
    );
    let err = refused(
        data,
        "UPDATE dv_audit SET action = 'read' WHERE sequence IS NULL",
    )
    .await;
    assert!(err.contains("refused"), "{err}");
    // Sealing still works, and the log verifies.
    assert_eq!(env.store.audit().seal().await.unwrap().size, 3);
    let report = env.store.audit().verify(None).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.failure);

    // Whoever owns the tables can drop the triggers; the chain then still detects the edit.
    datavern_sql::testing::drop_audit_guards(data).await;
    execute(
        data,
        "UPDATE dv_audit SET principal = 'someone-else' WHERE sequence = 2",
    )
    .await;
    let report = env.store.audit().verify(None).await.unwrap();
    assert!(!report.is_intact());
    env.finish().await;
}
