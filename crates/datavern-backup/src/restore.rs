//! Restoring a snapshot into a fresh database, so that crypto-shredding survives it.
//!
//! A data snapshot is restored into an empty data database and read with the **live** key
//! store: every subject whose keys were destroyed after the snapshot was taken stays
//! unreadable, and the restore counts them and records them (ids only) in the audit logs of
//! both databases. A key-store snapshot is restored into an empty key store, and then every
//! key the live key store has destroyed since, and every key the data's audit log records as
//! crypto-shredded since, is destroyed again before the restore returns.

use std::path::Path;
use std::time::Instant;

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_sql::dump::DumpManifest;
use datavern_sql::{At, Database, DatabaseConfig, DatabaseRole};
use datavern_store::audit::BackupEvent;
use datavern_store::{AuditLog, KeyStore, SubjectId};
use rustic_core::repofile::SnapshotFile;
use rustic_core::{LocalDestination, LsOptions, RestoreOptions};
use serde::Serialize;

use crate::backups::{Backups, backup_entry, find_snapshot};
use crate::error::{BackupError, Refusal, Result};
use crate::repository::Repository;
use crate::snapshot::{CATALOG_FILE, DUMP_DIR, SNAPSHOT_ROOT, SnapshotKind, SnapshotMeta};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot: String,
    /// Which database it held.
    pub kind: SnapshotKind,
    /// The database restored into (password redacted).
    pub target: String,
    /// Tables loaded.
    pub tables: usize,
    /// Rows loaded.
    pub rows: u64,
    /// Data snapshots: the subjects whose keys were destroyed after the snapshot was taken:
    /// their records in the restored data do not decrypt. Key-store snapshots: the subjects
    /// whose keys were destroyed again in the restored key store.
    pub shredded_subjects: usize,
    /// The time from start to a usable database (recovery time), in seconds.
    pub seconds: f64,
}

impl Backups {
    /// Restores the snapshot `id` (a prefix, or `latest`) of `kind` into the empty database
    /// `into`. A target that holds any table is refused (`target_not_empty`) before anything
    /// is written; a restore that fails leaves the target empty again.
    pub async fn restore(
        &self,
        id: &str,
        kind: SnapshotKind,
        into: &DatabaseConfig,
    ) -> Result<RestoreReport> {
        let started = Instant::now();
        let result = self.restore_unaudited(id, kind, into, started).await;
        match &result {
            Ok(report) => {
                self.audit(BackupEvent::Restored, Some(&report.snapshot), Ok(()))
                    .await?
            }
            Err(err) => self.audit_failure(BackupEvent::Restored, None, err).await,
        }
        result
    }

    async fn restore_unaudited(
        &self,
        id: &str,
        kind: SnapshotKind,
        into: &DatabaseConfig,
        started: Instant,
    ) -> Result<RestoreReport> {
        let role = match kind {
            SnapshotKind::Data => DatabaseRole::Data,
            SnapshotKind::Keys => DatabaseRole::Keys,
        };
        let target = Database::connect(into, role).await?;
        let result = async {
            if !target.table_names().await?.is_empty() {
                return Err(BackupError::refused(
                    Refusal::TargetNotEmpty,
                    format!(
                        "the {role} database {} is not empty: a snapshot is restored only into \
                         an empty database (create a new one, or drop its tables first)",
                        into.redacted_url()
                    ),
                ));
            }
            let repo = self.open().await?;
            let snap = find_snapshot(&repo, id, Some(kind)).await?;
            let spool = tempfile::Builder::new()
                .prefix("datavern-restore-")
                .tempdir()
                .map_err(|err| BackupError::io("cannot create the spool directory", err))?;
            extract(&repo, &snap, kind, spool.path()).await?;
            let meta = SnapshotMeta::read(spool.path()).await?;
            let dump_dir = spool.path().join(DUMP_DIR);
            let manifest = DumpManifest::read(&dump_dir, target.backend()).await?;
            let loaded = self
                .load_into(&target, kind, spool.path(), &manifest)
                .await?;
            let snapshot_at = parse_time(&meta.started_at)?;
            let shredded = match kind {
                SnapshotKind::Data => self.count_shredded(&target, &snap, snapshot_at).await?,
                SnapshotKind::Keys => self.reshred(&target, snapshot_at).await?,
            };
            Ok(RestoreReport {
                snapshot: snap.id.to_hex().as_str().to_owned(),
                kind,
                target: into.redacted_url(),
                tables: loaded.tables,
                rows: loaded.rows,
                shredded_subjects: shredded,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        .await;
        target.close().await;
        result
    }

    /// Loads the dump into the empty `target`; on any failure drops what was created, so the
    /// target is empty again.
    async fn load_into(
        &self,
        target: &Database,
        kind: SnapshotKind,
        spool: &Path,
        manifest: &DumpManifest,
    ) -> Result<datavern_sql::dump::LoadReport> {
        let loaded = async {
            if !target.dialect().dump_carries_schema() {
                target.migrate().await?;
                if kind == SnapshotKind::Data {
                    create_collection_tables(target, spool).await?;
                }
            }
            Ok::<_, BackupError>(target.load(&spool.join(DUMP_DIR), manifest).await?)
        }
        .await;
        if loaded.is_err() {
            let tables = target.table_names().await.unwrap_or_default();
            if let Err(err) = target.drop_tables(&tables).await {
                tracing::error!(
                    error = %datavern_sql::report(&err),
                    "Cannot empty the target database after a failed restore"
                );
            }
        }
        loaded
    }

    /// Counts the subjects whose keys the live key store destroyed after the snapshot, and
    /// records the restore, with their ids, in the restored database's audit log.
    async fn count_shredded(
        &self,
        target: &Database,
        snap: &SnapshotFile,
        snapshot_at: At,
    ) -> Result<usize> {
        let shredded = self.store.keys().destroyed_after(snapshot_at).await?;
        let entry = backup_entry(
            &self.store,
            &self.principal,
            BackupEvent::Restored,
            Some(snap.id.to_hex().as_str()),
            Ok(()),
        )
        .with_subjects(shredded.iter().map(|(_, s)| s.as_uuid()));
        // Recorded and sealed into the restored chain, which verifies with it.
        let log = AuditLog::new(target.clone(), Default::default());
        log.set_clock(self.store.clock().clone());
        log.record(entry).await?;
        log.shutdown().await?;
        if !shredded.is_empty() {
            tracing::warn!(
                subjects = shredded.len(),
                "The restored data holds records of subjects erased after the snapshot; they \
                 stay unreadable (their keys are destroyed)"
            );
        }
        Ok(shredded.len())
    }

    /// Destroys again, in the restored key store, every key destroyed since the snapshot:
    /// the live key store's tombstones and the crypto-shreddings in the data's audit log.
    async fn reshred(&self, target: &Database, snapshot_at: At) -> Result<usize> {
        let mut subjects: Vec<(Kommunenummer, SubjectId)> =
            self.store.keys().destroyed_after(snapshot_at).await?;
        subjects.extend(self.store.audit().shredded_since(snapshot_at).await?);
        subjects.sort_by(|a, b| (a.0.as_str(), a.1.as_uuid()).cmp(&(b.0.as_str(), b.1.as_uuid())));
        subjects.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let restored = KeyStore::new(target.clone()).with_clock(self.store.clock().clone());
        let mut by_tenant: std::collections::BTreeMap<String, (Kommunenummer, Vec<SubjectId>)> =
            std::collections::BTreeMap::new();
        for (tenant, subject) in &subjects {
            by_tenant
                .entry(tenant.as_str().to_owned())
                .or_insert_with(|| (*tenant, Vec::new()))
                .1
                .push(*subject);
        }
        for (tenant, subjects) in by_tenant.values() {
            restored.destroy_keys_of(*tenant, subjects).await?;
        }
        Ok(subjects.len())
    }
}

/// Creates the collection tables of the snapshot's catalog in `target` (PostgreSQL,
/// MariaDB/MySQL), as the store would, so the dumped rows have their tables.
async fn create_collection_tables(target: &Database, spool: &Path) -> Result<()> {
    let text = tokio::fs::read_to_string(spool.join(CATALOG_FILE))
        .await
        .map_err(|err| BackupError::io(format!("the snapshot holds no {CATALOG_FILE}"), err))?;
    let catalog = Catalog::from_yaml(&text).map_err(|problems| {
        BackupError::Config(format!(
            "the snapshot's catalog does not validate with this version ({} problems): restore \
             with the version that wrote it",
            problems.len()
        ))
    })?;
    let statements = datavern_store::schema::catalog_statements(&catalog, target.backend())?;
    let mut conn = target.acquire().await?;
    for statement in statements {
        conn.conn().execute_raw(&statement).await?;
    }
    Ok(())
}

/// Restores the snapshot's files into `dir`.
async fn extract(
    repo: &Repository,
    snap: &SnapshotFile,
    kind: SnapshotKind,
    dir: &Path,
) -> Result<()> {
    let snap = snap.clone();
    let dest = dir
        .to_str()
        .ok_or_else(|| BackupError::Config("the spool directory's path is not UTF-8".into()))?
        .to_owned();
    repo.run(move |repo| {
        let rustic = |e: Box<rustic_core::RusticError>| BackupError::rustic(&e);
        let repo = repo.to_indexed().map_err(rustic)?;
        let path = format!("{SNAPSHOT_ROOT}/{}", kind.as_str());
        let node = repo
            .node_from_snapshot_and_path(&snap, &path)
            .map_err(rustic)?;
        let ls = repo.ls(&node, &LsOptions::default()).map_err(rustic)?;
        let destination = LocalDestination::new(&dest, true, !node.is_dir()).map_err(rustic)?;
        let options = RestoreOptions::default();
        let plan = repo
            .prepare_restore(&options, ls.clone(), &destination, false)
            .map_err(rustic)?;
        repo.restore(plan, &options, ls, &destination)
            .map_err(rustic)
    })
    .await
}

fn parse_time(text: &str) -> Result<At> {
    let timestamp: jiff::Timestamp = text.parse().map_err(|err| {
        BackupError::Repository(format!(
            "the snapshot's time {text:?} cannot be read: {err}"
        ))
    })?;
    Ok(At::from(timestamp))
}
