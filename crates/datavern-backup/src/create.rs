//! Taking a snapshot: the residency check, a consistent dump of one database into a private
//! spool directory, archived into the repository file by file while the dump goes on.

use std::path::{Path, PathBuf};

use datavern_sql::Database;
use datavern_sql::dump::DumpManifest;
use datavern_store::audit::BackupEvent;
use rustic_core::repofile::SnapshotFile;
use rustic_core::{BackupOptions, ParentOptions, SnapshotOptions};

use crate::backups::Backups;
use crate::error::{BackupError, Refusal, Result};
use crate::snapshot::{
    CATALOG_FILE, DUMP_DIR, META_FILE, META_FORMAT, SNAPSHOT_ROOT, SnapshotInfo, SnapshotKind,
    SnapshotMeta, TAG,
};
use crate::spool::{SpoolSource, spool};

impl Backups {
    /// Takes a snapshot of the data database ([`SnapshotKind::Data`]: collection tables,
    /// audit log, every register, with the catalog) or of the key store
    /// ([`SnapshotKind::Keys`]: wrapped keys and tombstones, never an unwrapped key).
    ///
    /// A data snapshot is refused before anything is written when the repository's declared
    /// location may not hold one of the catalog's collections (`residency`). The dump is
    /// spooled in a private temporary directory, each file archived as soon as it is
    /// complete, and removed afterwards; a dump that fails leaves no snapshot.
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
        let spool_dir = tempfile::Builder::new()
            .prefix("datavern-backup-")
            .tempdir()
            .map_err(|err| BackupError::io("cannot create the spool directory", err))?;
        let database: &Database = match kind {
            SnapshotKind::Data => self.store.data(),
            SnapshotKind::Keys => self.store.keys().database(),
        };
        let started_at = self.store.now();
        let meta = SnapshotMeta {
            format: META_FORMAT,
            kind,
            backend: database.backend().as_str().to_owned(),
            started_at: started_at.to_string(),
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
        };
        let time = rustic_core::jiff::Timestamp::try_from(started_at)
            .map_err(|err| BackupError::Repository(format!("the snapshot time: {err}")))?
            .to_zoned(rustic_core::jiff::tz::TimeZone::UTC);
        let backend_tag = format!("backend:{}", meta.backend);
        let root = spool_dir.path().to_path_buf();
        let (spool, source) = spool(&root, kind.as_str());

        // The archive runs on the blocking pool, taking each file as the dump hands it over,
        // in path order: the root, catalog.yaml, datavern.json, dump/, the tables, the
        // manifest.
        let archive = {
            let root = root.clone();
            let repo = repo.clone();
            tokio::spawn(async move {
                repo.run(move |repo| archive(repo, source, &root, kind, &backend_tag, time))
                    .await
            })
        };
        let dumped = async {
            spool.dir("");
            if kind == SnapshotKind::Data {
                write(&root, CATALOG_FILE, self.catalog_text.as_bytes()).await?;
                spool.file(CATALOG_FILE);
            }
            let bytes = serde_json::to_vec_pretty(&meta).map_err(|err| {
                BackupError::Repository(format!("cannot write {META_FILE}: {err}"))
            })?;
            write(&root, META_FILE, &bytes).await?;
            spool.file(META_FILE);
            let dump_dir = root.join(DUMP_DIR);
            tokio::fs::create_dir(&dump_dir)
                .await
                .map_err(|err| BackupError::io("cannot create the spool directory", err))?;
            spool.dir(DUMP_DIR);
            let mut hand_over = |file: &str| spool.file(&format!("{DUMP_DIR}/{file}"));
            Ok::<DumpManifest, BackupError>(database.dump_with(&dump_dir, &mut hand_over).await?)
        }
        .await;
        // The archive ends when the spool's last handle is dropped.
        drop(spool);
        let archived = archive
            .await
            .map_err(|err| BackupError::Repository(format!("the archive task failed: {err}")))?;
        let manifest = match (dumped, archived) {
            (Ok(manifest), Ok(snap)) => (manifest, snap),
            (Err(err), Ok(snap)) => {
                // What was archived is incomplete: it is not a snapshot.
                let id = snap.id;
                if let Err(forget) = repo
                    .run(move |repo| {
                        repo.delete_snapshots(&[id])
                            .map_err(|e| BackupError::rustic(&e))
                    })
                    .await
                {
                    tracing::error!(error = %forget, "Cannot remove an incomplete snapshot");
                }
                return Err(err);
            }
            (Err(err), Err(_)) | (Ok(_), Err(err)) => return Err(err),
        };
        let (manifest, snap) = manifest;
        let info = SnapshotInfo::of(&snap);
        tracing::info!(
            snapshot = %info.short_id,
            kind = kind.as_str(),
            tables = manifest.tables.len(),
            rows = manifest.total_rows(),
            bytes = info.size_bytes,
            added = info.added_bytes,
            "Created a backup snapshot"
        );
        Ok(info)
    }
}

async fn write(root: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    tokio::fs::write(root.join(name), bytes)
        .await
        .map_err(|err| BackupError::io(format!("cannot write {name}"), err))
}

fn archive(
    repo: rustic_core::Repository<rustic_core::OpenStatus>,
    source: SpoolSource,
    root: &Path,
    kind: SnapshotKind,
    backend_tag: &str,
    time: rustic_core::jiff::Zoned,
) -> Result<SnapshotFile> {
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
        .parent_opts(ParentOptions::default().force(true))
        .no_scan(true);
    let indexed = repo.to_indexed_ids().map_err(rustic)?;
    indexed
        .archive(&backup, &source, snap, &[root.to_path_buf()])
        .map_err(rustic)
}
