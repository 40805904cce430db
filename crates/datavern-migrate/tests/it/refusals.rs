//! Refusals: each says what to fix and changes nothing.

use datavern_migrate::Refusal;
use datavern_sql::Backend;
use datavern_store::audit::{AuditAction, MigrationEvent};
use datavern_testkit::Env;

use crate::support::{
    ENCRYPT_POSTNUMMER, RETAIN_LONGER, audited, edited, migrator, on_every_backend,
};

#[on_every_backend]
async fn plan_applied_against_a_changed_database_is_refused(backend: Backend) {
    let env = Env::kommune(backend).await;
    let first = edited(&[ENCRYPT_POSTNUMMER]);
    let plan = migrator(&env).plan(&first).await.expect("plan");
    // Another catalog is put in force after the plan was made.
    migrator(&env)
        .apply(&edited(&[RETAIN_LONGER]), None)
        .await
        .expect("apply");
    let err = migrator(&env)
        .apply(&first, Some(&plan))
        .await
        .expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::ChecksumMismatch));
    assert!(err.to_string().contains("make the plan again"), "{err}");
    assert!(
        migrator(&env)
            .status()
            .await
            .expect("status")
            .open
            .is_none()
    );
    let refused = audited(
        &env,
        AuditAction::Migration(MigrationEvent::Refused),
        Some("checksum_mismatch"),
    )
    .await;
    assert_eq!(refused, 1);
}

#[on_every_backend]
async fn second_migration_while_one_is_open_is_refused(backend: Backend) {
    let env = Env::kommune(backend).await;
    env.create_resident(1).await;
    migrator(&env)
        .apply(&edited(&[ENCRYPT_POSTNUMMER]), None)
        .await
        .expect("apply");
    let err = migrator(&env)
        .apply(&edited(&[RETAIN_LONGER]), None)
        .await
        .expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::MigrationOpen));
    // A process started with yet another catalog is refused too while it is open.
    let other = edited(&[RETAIN_LONGER]);
    let err = env
        .store
        .apply_catalog(&other)
        .await
        .expect_err("refused at start-up");
    assert!(err.to_string().contains("migrate complete"), "{err}");
}

#[on_every_backend]
async fn unsupported_changes_are_refused_before_anything_runs(backend: Backend) {
    let env = Env::kommune(backend).await;
    // A searchable field that changes type.
    let new = edited(&[(
        "        identifier: email\n",
        "        identifier: email\n        blind_index_length: 4\n",
    )]);
    let err = migrator(&env).apply(&new, None).await.expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::Unsupported));
    assert!(
        migrator(&env)
            .status()
            .await
            .expect("status")
            .open
            .is_none()
    );
}

#[on_every_backend]
async fn complete_without_a_migration_is_refused(backend: Backend) {
    let env = Env::kommune(backend).await;
    let err = migrator(&env).complete().await.expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::NoMigration));
    let err = migrator(&env).abort().await.expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::NoMigration));
}
