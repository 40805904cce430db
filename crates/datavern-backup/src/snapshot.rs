//! What a datavern snapshot is in the repository: its tags, the description file inside it
//! (`datavern.json`), and how it is listed.

use std::path::Path;

use rustic_core::StringList;
use rustic_core::repofile::SnapshotFile;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

/// The tag on every snapshot datavern writes; snapshots without it are left alone.
pub(crate) const TAG: &str = "datavern";

/// The tag of a snapshot under legal hold: never forgotten or pruned.
pub(crate) const HOLD_TAG: &str = "hold";

/// The path a snapshot's files have inside the repository (`restic ls` shows them there).
pub(crate) const SNAPSHOT_ROOT: &str = "/datavern";

/// The description file in every snapshot.
pub(crate) const META_FILE: &str = "datavern.json";

/// The catalog the data was governed by, in every data snapshot.
pub(crate) const CATALOG_FILE: &str = "catalog.yaml";

/// The database dump's directory in every snapshot.
pub(crate) const DUMP_DIR: &str = "dump";

/// The format of `datavern.json` this version writes and reads.
pub(crate) const META_FORMAT: u32 = 1;

/// Which of a store's two databases a snapshot holds. They are backed up apart: a copy of
/// the data never carries the keys that decrypt it, and the key store's snapshots are kept
/// for a short time only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// The data database: collection tables, audit log, registers, outbox.
    Data,
    /// The key store: wrapped subject keys (destroyed ones as tombstones) and index keys.
    Keys,
}

impl SnapshotKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Data => "data",
            SnapshotKind::Keys => "keys",
        }
    }

    /// The snapshot tag that marks the kind.
    pub fn tag(self) -> String {
        format!("kind:{}", self.as_str())
    }
}

/// `datavern.json`: what the snapshot holds, written by datavern beside the dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The format of this file (1).
    pub format: u32,
    /// Which database.
    pub kind: SnapshotKind,
    /// The backend it was taken from.
    pub backend: String,
    /// The store's time just before the dump's snapshot began (RFC 3339): every key destroyed
    /// after it may have sealed records in this snapshot.
    pub started_at: String,
    /// The datavern version that wrote it.
    pub datavern_version: String,
    /// The collections of the catalog (data snapshots).
    pub collections: Vec<String>,
}

impl SnapshotMeta {
    pub(crate) async fn read(dir: &Path) -> Result<SnapshotMeta> {
        let bytes = tokio::fs::read(dir.join(META_FILE)).await.map_err(|err| {
            BackupError::io(
                format!(
                    "the snapshot holds no readable {META_FILE}; it was not written by datavern"
                ),
                err,
            )
        })?;
        let meta: SnapshotMeta = serde_json::from_slice(&bytes).map_err(|err| {
            BackupError::Repository(format!("the snapshot's {META_FILE} cannot be read: {err}"))
        })?;
        if meta.format != META_FORMAT {
            return Err(BackupError::Config(format!(
                "the snapshot's {META_FILE} has format {}, this version reads {META_FORMAT}",
                meta.format
            )));
        }
        Ok(meta)
    }
}

/// One datavern snapshot, as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotInfo {
    /// The snapshot's id (64 hex digits; `restic` accepts any unique prefix).
    pub id: String,
    /// The short id (8 hex digits), as restic prints it.
    pub short_id: String,
    /// When it was taken (RFC 3339).
    pub time: String,
    /// Which database.
    pub kind: Option<SnapshotKind>,
    /// The backend it was taken from.
    pub backend: Option<String>,
    /// Whether it is under legal hold.
    pub held: bool,
    /// The hold's reason, if held.
    pub hold_reason: Option<String>,
    /// The size of the files it holds.
    pub size_bytes: u64,
    /// What it added to the repository, packed (compressed and encrypted).
    pub added_bytes: u64,
    /// The host that took it.
    pub hostname: String,
}

impl SnapshotInfo {
    pub(crate) fn of(snap: &SnapshotFile) -> SnapshotInfo {
        let tags: Vec<&String> = snap.tags.iter().collect();
        let kind = if tags.iter().any(|t| **t == SnapshotKind::Data.tag()) {
            Some(SnapshotKind::Data)
        } else if tags.iter().any(|t| **t == SnapshotKind::Keys.tag()) {
            Some(SnapshotKind::Keys)
        } else {
            None
        };
        let backend = tags
            .iter()
            .find_map(|t| t.strip_prefix("backend:"))
            .map(str::to_owned);
        let held = snap.tags.contains(HOLD_TAG);
        let id = snap.id.to_hex().as_str().to_owned();
        SnapshotInfo {
            short_id: id.chars().take(8).collect(),
            id,
            time: snap.time.timestamp().to_string(),
            kind,
            backend,
            held,
            hold_reason: if held { hold_reason(snap) } else { None },
            size_bytes: snap.summary.as_ref().map_or(0, |s| s.total_bytes_processed),
            added_bytes: snap.summary.as_ref().map_or(0, |s| s.data_added_packed),
            hostname: snap.hostname.clone(),
        }
    }
}

/// The prefix of a held snapshot's description line that gives the reason.
pub(crate) const HOLD_REASON_PREFIX: &str = "legal hold: ";

fn hold_reason(snap: &SnapshotFile) -> Option<String> {
    snap.description.as_ref().and_then(|d| {
        d.lines()
            .find_map(|l| l.strip_prefix(HOLD_REASON_PREFIX))
            .map(str::to_owned)
    })
}

/// The hold tag as rustic's tag list.
pub(crate) fn hold_tag() -> StringList {
    // A fixed, valid tag: cannot fail.
    HOLD_TAG.parse().unwrap_or_default()
}

/// Whether `snap` was written by datavern.
pub(crate) fn is_datavern(snap: &SnapshotFile) -> bool {
    snap.tags.contains(TAG)
}
