//! Retention tiers and legal holds on snapshots.

use datavern_backup::{KeepPolicy, Prune, SnapshotKind};
use datavern_sql::Backend;
use datavern_sql::testing::fetch_one;

use crate::support::Setup;

#[tokio::test]
async fn held_snapshot_is_never_forgotten_or_pruned_until_released() {
    let s = Setup::new(Backend::Sqlite).await;
    let mut taken = Vec::new();
    for n in 1..=3 {
        s.env.create_resident(n).await;
        taken.push(s.backups.create(SnapshotKind::Data).await.expect("create"));
    }
    let keys = s.backups.create(SnapshotKind::Keys).await.expect("keys");

    let held = s
        .backups
        .hold(&taken[0].id[..10], "sak 2026/4711")
        .await
        .expect("hold");
    assert!(held.held);
    assert_eq!(held.hold_reason.as_deref(), Some("sak 2026/4711"));

    let last_one = KeepPolicy {
        last: Some(1),
        ..KeepPolicy::default()
    };
    let report = s
        .backups
        .forget(SnapshotKind::Data, last_one, Prune::Yes)
        .await
        .expect("forget");
    let forgotten: Vec<&str> = report.forgotten.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        forgotten,
        [taken[1].id.as_str()],
        "only the unheld middle one goes"
    );
    let listed = s.backups.list().await.expect("list");
    let ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [held.id.as_str(), taken[2].id.as_str(), keys.id.as_str()]
    );

    // The pruned repository still restores the held snapshot completely.
    s.backups
        .verify(datavern_backup::ReadData::All)
        .await
        .expect("intact after prune");

    let released = s.backups.release(&held.id).await.expect("release");
    assert!(!released.held);
    let report = s
        .backups
        .forget(SnapshotKind::Data, last_one, Prune::No)
        .await
        .expect("forget");
    assert_eq!(report.forgotten.len(), 1);
    assert_eq!(report.forgotten[0].id, released.id);
    assert_eq!(
        s.backups.list().await.expect("list").len(),
        2,
        "the keys' snapshot stays"
    );

    let audited: i64 = fetch_one(
        s.env.data(),
        "SELECT COUNT(*) FROM dv_audit WHERE action IN ('backup.held', 'backup.released', 'backup.forgotten')",
        &[],
    )
    .await;
    assert_eq!(audited, 4, "a hold, a release, and two snapshots forgotten");
    s.finish().await;
}

#[tokio::test]
async fn forget_without_a_tier_is_refused() {
    let s = Setup::new(Backend::Sqlite).await;
    s.backups.create(SnapshotKind::Data).await.expect("create");
    let err = s
        .backups
        .forget(SnapshotKind::Data, KeepPolicy::default(), Prune::Yes)
        .await
        .expect_err("no tier");
    assert!(err.to_string().contains("at least one tier"), "{err}");
    assert_eq!(s.backups.list().await.expect("list").len(), 1);
    s.finish().await;
}
