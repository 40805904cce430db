//! Taking a snapshot: the residency check, a consistent dump of one database into a private
//! spool directory, and the dump archived into the repository.

use std::path::PathBuf;

use datavern_sql::Database;
use datavern_store::audit::BackupEvent;
use rustic_core::{BackupOptions, ParentOptions, PathList, SnapshotOptions};

use crate::backups::Backups;
use crate::error::{BackupError, Refusal, Result};
use crate::snapshot::{
    CATALOG_FILE, DUMP_DIR, SNAPSHOT_ROOT, SnapshotInfo, SnapshotKind, SnapshotMeta, TAG,
};

impl Backups {
    /// Takes a snapshot of the data database ([`SnapshotKind::Data`]: collection tables,
    /// audit log, every register, with the catalog) or of the key store
    /// ([`SnapshotKind::Keys`]: wrapped keys and tombstones, never an unwrapped key).
    ///
    /// A data snapshot is refused before anything is written when the repository's declared
    /// location may not hold one of the catalog's collections (`residency`). The dump is
    /// spooled in a private temporary directory and removed afterwards.
    pub async fn create(&self, kind: SnapshotKind) -> Result<SnapshotInfo> {
        let result = self.create_unaudited(kind).await;
        match &result {
            Ok(info) => {
                self.audit(BackupEvent::Created, Some(&info.id), Ok(()))
                    .await?
            }
            Err(err) => self.audit_failure(BackupEvent::Created, None, err).await,
        }
        result
    }

    async fn create_unaudited(&self, kind: SnapshotKind) -> Result<SnapshotInfo> {
        if kind == SnapshotKind::Data {
            let refusals = self.residency_refusals()?;
            if !refusals.is_empty() {
                return Err(BackupError::refused(
                    Refusal::Residency,
                    format!(
                        "the repository may not hold this backup: {}; back up to a target \
                         nearer, or limit what the target holds in the catalog",
                        refusals.join("; ")
                    ),
                ));
            }
        }
        let repo = self.open().await?;
        let spool = tempfile::Builder::new()
            .prefix("datavern-backup-")
            .tempdir()
            .map_err(|err| BackupError::io("cannot create the spool directory", err))?;
        let database: &Database = match kind {
            SnapshotKind::Data => self.store.data(),
            SnapshotKind::Keys => self.store.keys().database(),
        };
        let dump_dir = spool.path().join(DUMP_DIR);
        tokio::fs::create_dir(&dump_dir)
            .await
            .map_err(|err| BackupError::io("cannot create the spool directory", err))?;
        let started_at = self.store.now();
        let manifest = database.dump(&dump_dir).await?;
        let finished_at = self.store.now();
        let meta = SnapshotMeta {
            format: crate::snapshot::META_FORMAT,
            kind,
            backend: database.backend().as_str().to_owned(),
            started_at: started_at.to_string(),
            finished_at: finished_at.to_string(),
            datavern_version: env!("CARGO_PKG_VERSION").to_owned(),
            collections: match kind {
                SnapshotKind::Data => self
                    .catalog
                    .collections()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect(),
                SnapshotKind::Keys => Vec::new(),
            },
            tables: manifest.tables.len(),
            rows: manifest.total_rows(),
        };
        meta.write(spool.path()).await?;
        if kind == SnapshotKind::Data {
            tokio::fs::write(spool.path().join(CATALOG_FILE), &self.catalog_text)
                .await
                .map_err(|err| BackupError::io(format!("cannot write {CATALOG_FILE}"), err))?;
        }
        let time = rustic_core::jiff::Timestamp::try_from(finished_at)
            .map_err(|err| BackupError::Repository(format!("the snapshot time: {err}")))?
            .to_zoned(rustic_core::jiff::tz::TimeZone::UTC);
        let backend_tag = format!("backend:{}", meta.backend);
        let source = spool.path().to_path_buf();
        let info = repo
            .run(move |repo| archive(repo, &source, kind, &backend_tag, time))
            .await?;
        tracing::info!(
            snapshot = %info.short_id,
            kind = kind.as_str(),
            tables = meta.tables,
            rows = meta.rows,
            bytes = info.size_bytes,
            added = info.added_bytes,
            "Created a backup snapshot"
        );
        Ok(info)
    }
}

fn archive(
    repo: rustic_core::Repository<rustic_core::OpenStatus>,
    source: &std::path::Path,
    kind: SnapshotKind,
    backend_tag: &str,
    time: rustic_core::jiff::Zoned,
) -> Result<SnapshotInfo> {
    let rustic = |e: Box<rustic_core::RusticError>| BackupError::rustic(&e);
    let tags = format!("{TAG},{},{backend_tag}", kind.tag());
    let mut options = SnapshotOptions::default().add_tags(&tags).map_err(rustic)?;
    options.time = Some(time);
    options.host = Some("datavern".to_owned());
    let snap = options.to_snapshot().map_err(rustic)?;
    // The spool directory is new every time: compare with no parent, so every file is read
    // and chunked (the chunks themselves still deduplicate against the repository).
    let backup = BackupOptions::default()
        .as_path(Some(PathBuf::from(SNAPSHOT_ROOT).join(kind.as_str())))
        .parent_opts(ParentOptions::default().force(true));
    let source = source
        .to_str()
        .ok_or_else(|| BackupError::Config("the spool directory's path is not UTF-8".into()))?;
    let paths = PathList::from_string(source).map_err(rustic)?;
    let indexed = repo.to_indexed_ids().map_err(rustic)?;
    let snap = indexed.backup(&backup, &paths, snap).map_err(rustic)?;
    Ok(SnapshotInfo::of(&snap))
}
