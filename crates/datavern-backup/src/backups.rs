//! The backup service: one repository, the live store it backs up, and every operation on
//! them, each audited.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_crypto::{KekProvider, RepositoryPassword};
use datavern_store::audit::{AuditAction, AuditOutcome, BackupEvent};
use datavern_store::{AuditEntry, Store};
use rustic_core::CheckOptions;
use rustic_core::repofile::SnapshotFile;
use serde::Serialize;

use crate::config::{Placement, RepositoryConfig};
use crate::error::{BackupError, Refusal, Result};
use crate::progress::ProgressMode;
use crate::repository::{self, Repository};
use crate::snapshot::{HOLD_REASON_PREFIX, SnapshotInfo, SnapshotKind, hold_tag, is_datavern};

/// Backups of one store into one repository.
///
/// Every operation that reads or changes the repository (create, verify, restore, forget,
/// hold, release, drill) and every refusal is an entry in the live store's audit log,
/// with the snapshot id as its correlation id and never a value.
pub struct Backups {
    pub(crate) store: Store,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) catalog_text: String,
    pub(crate) kek: Arc<dyn KekProvider>,
    pub(crate) config: RepositoryConfig,
    pub(crate) principal: String,
    pub(crate) progress: ProgressMode,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The repository checked.
    pub repository: String,
    /// The datavern snapshots in it.
    pub snapshots: usize,
    /// Whether every pack's content was read and its hash checked (`--read-data`), not only
    /// the structure (indexes, trees, packs present with the right sizes).
    pub read_data: bool,
}

/// Whether `verify` reads the data itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadData {
    /// Structure only: indexes, snapshot trees, packs present with their sizes.
    StructureOnly,
    /// Also download every pack and check every blob's hash.
    All,
}

impl Backups {
    /// The service over `store` (the live databases; `catalog` applied to it and given as
    /// `catalog_text`, which data snapshots keep), unwrapping the repository password with
    /// `kek`. Operations are audited under the principal `datavern-backup` unless
    /// [`with_principal`](Self::with_principal) names another.
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        catalog_text: String,
        kek: Arc<dyn KekProvider>,
        config: RepositoryConfig,
    ) -> Backups {
        Backups {
            store,
            catalog,
            catalog_text,
            kek,
            config,
            principal: "datavern-backup".to_owned(),
            progress: ProgressMode::Hidden,
        }
    }

    /// The same service auditing under `principal` (the operator's id).
    pub fn with_principal(mut self, principal: impl Into<String>) -> Backups {
        self.principal = principal.into();
        self
    }

    /// The same service drawing progress as `mode` says.
    pub fn with_progress(mut self, mode: ProgressMode) -> Backups {
        self.progress = mode;
        self
    }

    /// The live store's time, as Unix seconds (for metrics).
    pub fn now_unix_seconds(&self) -> f64 {
        self.store.now().as_micros() as f64 / 1e6
    }

    /// The backend of the live data database.
    pub fn store_backend(&self) -> datavern_sql::Backend {
        self.store.data().backend()
    }

    /// The repository's configuration.
    pub fn config(&self) -> &RepositoryConfig {
        &self.config
    }

    /// Creates the repository and its wrapped password file.
    pub async fn init(&self) -> Result<()> {
        Repository::init(&self.config, self.kek.as_ref(), self.progress).await?;
        tracing::info!(repository = %self.config.spec.display(), "Initialized the backup repository");
        Ok(())
    }

    /// The repository's password, unwrapped, for stock `restic` (`--password-command`).
    pub async fn password(&self) -> Result<RepositoryPassword> {
        repository::password(&self.config, self.kek.as_ref()).await
    }

    /// Every datavern snapshot in the repository, oldest first.
    pub async fn list(&self) -> Result<Vec<SnapshotInfo>> {
        let repo = self.open().await?;
        let snapshots = datavern_snapshots(&repo).await?;
        Ok(snapshots.iter().map(SnapshotInfo::of).collect())
    }

    /// Checks the repository: its structure, and with [`ReadData::All`] every pack's
    /// content. A damaged repository is a refusal (`repository_damaged`) naming what rustic
    /// found.
    pub async fn verify(&self, read_data: ReadData) -> Result<VerifyReport> {
        let result = self.verify_unaudited(read_data).await;
        match &result {
            Ok(_) => self.audit(BackupEvent::Verified, None, Ok(())).await?,
            Err(err) => self.audit_failure(BackupEvent::Verified, None, err).await,
        }
        result
    }

    async fn verify_unaudited(&self, read_data: ReadData) -> Result<VerifyReport> {
        let repo = self.open().await?;
        let read = read_data == ReadData::All;
        let snapshots = datavern_snapshots(&repo).await?.len();
        repo.run(move |repo| {
            let options = CheckOptions::default().read_data(read);
            let results = repo.check(options).map_err(|e| BackupError::rustic(&e))?;
            results.is_ok().map_err(|e| {
                BackupError::refused(
                    Refusal::Damaged,
                    format!("the repository is damaged: {}", e.display_log()),
                )
            })
        })
        .await?;
        Ok(VerifyReport {
            repository: self.config.spec.display(),
            snapshots,
            read_data: read,
        })
    }

    /// Places a legal hold on the snapshot `id` (a unique prefix will do): it is never
    /// forgotten or pruned while held. The snapshot is rewritten with the `hold` tag and the
    /// reason in its description, so its id changes; the new snapshot names the old one as
    /// its original.
    pub async fn hold(&self, id: &str, reason: &str) -> Result<SnapshotInfo> {
        if reason.trim().is_empty() {
            return Err(BackupError::Config(
                "a legal hold needs a reason (--reason): the case or the order it serves".into(),
            ));
        }
        let reason = reason.trim().replace('\n', " ");
        let result = self
            .retag(id, move |snap| {
                snap.add_tags(vec![hold_tag()]);
                let mut description = snap.description.take().unwrap_or_default();
                if !description.is_empty() {
                    description.push('\n');
                }
                description.push_str(HOLD_REASON_PREFIX);
                description.push_str(&reason);
                snap.description = Some(description);
            })
            .await;
        self.audit_result(BackupEvent::Held, result).await
    }

    /// Releases the legal hold on the snapshot `id`.
    pub async fn release(&self, id: &str) -> Result<SnapshotInfo> {
        let result = self
            .retag(id, |snap| {
                snap.remove_tags(&[hold_tag()]);
                snap.description = snap.description.take().and_then(|d| {
                    let kept: Vec<&str> = d
                        .lines()
                        .filter(|l| !l.starts_with(HOLD_REASON_PREFIX))
                        .collect();
                    (!kept.is_empty()).then(|| kept.join("\n"))
                });
            })
            .await;
        self.audit_result(BackupEvent::Released, result).await
    }

    async fn retag<F>(&self, id: &str, change: F) -> Result<SnapshotInfo>
    where
        F: FnOnce(&mut SnapshotFile) + Send + 'static,
    {
        let repo = self.open().await?;
        let old = find_snapshot(&repo, id, None).await?;
        repo.run(move |repo| {
            let mut changed = old.clone();
            change(&mut changed);
            if changed.original.is_none() {
                changed.original = Some(old.id);
            }
            repo.save_snapshots(vec![changed])
                .map_err(|e| BackupError::rustic(&e))?;
            repo.delete_snapshots(&[old.id])
                .map_err(|e| BackupError::rustic(&e))?;
            let new = repo
                .get_all_snapshots()
                .map_err(|e| BackupError::rustic(&e))?
                .into_iter()
                .find(|s| s.original == Some(old.original.unwrap_or(old.id)) && s.id != old.id)
                .ok_or_else(|| {
                    BackupError::Repository("the rewritten snapshot cannot be found".into())
                })?;
            Ok(SnapshotInfo::of(&new))
        })
        .await
    }

    pub(crate) async fn open(&self) -> Result<Repository> {
        Repository::open(&self.config, self.kek.as_ref(), self.progress).await
    }

    /// The repository's declared location, and the collections it may not hold: the
    /// residency check before anything is written.
    pub(crate) fn residency_refusals(&self) -> Result<Vec<String>> {
        let collections = self.catalog.collections();
        match &self.config.placement {
            None => Err(BackupError::Config(
                "the repository declares no location: set backup.target to a storage target of \
                 kind backup in the catalog, or backup.location to no, eea, adequate or third"
                    .into(),
            )),
            Some(Placement::Location(location)) => Ok(self
                .catalog
                .residency_refusals(*location, collections.iter())),
            Some(Placement::Target(name)) => {
                let target = self
                    .catalog
                    .deployment()
                    .storage()
                    .iter()
                    .find(|t| t.name().as_str() == name)
                    .ok_or_else(|| {
                        BackupError::Config(format!(
                            "backup.target `{name}` is not a storage target of the catalog"
                        ))
                    })?;
                if target.kind() != datavern_core::catalog::StorageKind::Backup {
                    return Err(BackupError::Config(format!(
                        "backup.target `{name}` is a storage target of kind {}, not backup",
                        target.kind().as_str()
                    )));
                }
                let mut refusals: Vec<String> = collections
                    .iter()
                    .filter(|c| !target.holds(c.name().as_str()))
                    .map(|c| {
                        format!(
                            "collection `{}` is not among the collections storage target \
                             `{name}` may hold",
                            c.name()
                        )
                    })
                    .collect();
                refusals.extend(
                    self.catalog
                        .residency_refusals(target.location(), collections.iter()),
                );
                Ok(refusals)
            }
        }
    }

    /// Writes the audit entry of a backup operation into the live store's log: `granted`,
    /// or `refused` with the refusal's code.
    pub(crate) async fn audit(
        &self,
        event: BackupEvent,
        snapshot: Option<&str>,
        refused: std::result::Result<(), Refusal>,
    ) -> Result<()> {
        let entry = backup_entry(&self.store, &self.principal, event, snapshot, refused);
        Ok(self.store.audit().record(entry).await?)
    }

    /// Audits a failed operation if a rule refused it (a failure of the repository or a
    /// database is logged by the caller instead).
    pub(crate) async fn audit_failure(
        &self,
        event: BackupEvent,
        snapshot: Option<&str>,
        err: &BackupError,
    ) {
        if let Some(refusal) = err.refusal()
            && let Err(audit_err) = self.audit(event, snapshot, Err(refusal)).await
        {
            tracing::error!(error = %audit_err, "Cannot audit a refused backup operation");
        }
    }

    async fn audit_result(
        &self,
        event: BackupEvent,
        result: Result<SnapshotInfo>,
    ) -> Result<SnapshotInfo> {
        match &result {
            Ok(info) => self.audit(event, Some(&info.id), Ok(())).await?,
            Err(err) => self.audit_failure(event, None, err).await,
        }
        result
    }
}

/// The audit entry of a backup operation.
pub(crate) fn backup_entry(
    store: &Store,
    principal: &str,
    event: BackupEvent,
    snapshot: Option<&str>,
    refused: std::result::Result<(), Refusal>,
) -> AuditEntry {
    let outcome = match refused {
        Ok(()) => AuditOutcome::Granted,
        Err(_) => AuditOutcome::Refused,
    };
    let mut entry = AuditEntry::new(
        store.now(),
        None,
        principal,
        AuditAction::Backup(event),
        outcome,
    );
    if let Err(refusal) = refused {
        entry.reason = Some(refusal.code().to_owned());
    }
    if let Some(snapshot) = snapshot {
        entry = entry.with_request_id(snapshot);
    }
    entry
}

/// Every datavern snapshot of the repository, oldest first.
pub(crate) async fn datavern_snapshots(repo: &Repository) -> Result<Vec<SnapshotFile>> {
    repo.run(|repo| {
        let mut snapshots: Vec<SnapshotFile> = repo
            .get_all_snapshots()
            .map_err(|e| BackupError::rustic(&e))?
            .into_iter()
            .filter(is_datavern)
            .collect();
        snapshots.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(snapshots)
    })
    .await
}

/// The datavern snapshot whose id starts with `id` (of `kind`, if given); `latest` is the
/// newest.
pub(crate) async fn find_snapshot(
    repo: &Repository,
    id: &str,
    kind: Option<SnapshotKind>,
) -> Result<SnapshotFile> {
    let id = id.trim().to_ascii_lowercase();
    let snapshots: Vec<SnapshotFile> = datavern_snapshots(repo)
        .await?
        .into_iter()
        .filter(|s| kind.is_none_or(|k| SnapshotInfo::of(s).kind == Some(k)))
        .collect();
    let kind_name = kind.map_or("datavern", SnapshotKind::as_str);
    if id == "latest" {
        return snapshots.into_iter().next_back().ok_or_else(|| {
            BackupError::refused(
                Refusal::NoSuchSnapshot,
                format!("the repository holds no {kind_name} snapshot"),
            )
        });
    }
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(BackupError::Config(
            "a snapshot is named by its id (hex digits, a unique prefix will do) or `latest`"
                .into(),
        ));
    }
    let mut matching: Vec<SnapshotFile> = snapshots
        .into_iter()
        .filter(|s| s.id.to_hex().as_str().to_owned().starts_with(&id))
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(BackupError::refused(
            Refusal::NoSuchSnapshot,
            format!("no {kind_name} snapshot has an id starting with {id}"),
        )),
        n => Err(BackupError::Config(format!(
            "{n} snapshots have ids starting with {id}: give more digits"
        ))),
    }
}
