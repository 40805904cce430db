//! Copying a whole installation to other databases (`datavern migrate copy`): the data
//! database and the key store, each to a target of its own on any backend.
//!
//! In order: the residency check of every collection against the targets' declared
//! location (a refusal writes nothing anywhere but the source's audit log); each target
//! empty, or holding a copy in progress, which then resumes; the targets marked as copy
//! targets, migrated, and given the catalog's collection tables; every table copied as
//! stored (ciphertext stays ciphertext, the audit chain keeps its hashes; see
//! [`datavern_sql::copy`]); both sides counted and digested; and only when everything
//! matches, the targets' checkpoints dropped and the copy recorded in the target's audit log
//! (sealed into the copied chain, which still verifies) and in the source's.
//!
//! The key store goes only to the key-store target, which must be another database than
//! the data target ([`Store::connect`] refuses one database for both).

use datavern_core::catalog::Catalog;
use datavern_core::residency::Location;
use datavern_sql::copy::{CopyOptions, CopyReport, Progress, TargetState};
use datavern_sql::{Database, DatabaseRole, StoreConfig};
use serde::Serialize;

use crate::AuditEntry;
use crate::audit::{AuditAction, AuditOutcome, MigrationEvent};
use crate::error::StoreError;
use crate::schema;
use crate::store::Store;

/// What to copy where.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    /// The catalog applied to the source; its collection tables are created on the target.
    pub catalog: &'a Catalog,
    /// The target databases (data and key store).
    pub target: &'a StoreConfig,
    /// Where the targets are, checked against every collection's residency rules.
    pub location: Location,
    /// Who copies, for the audit log.
    pub principal: &'a str,
    /// Batch size and the test hook.
    pub options: CopyOptions,
}

/// Collections a residency rule keeps out of a copy's declared location (a plain copy or a
/// masked one): the copy is refused before anything is written.
#[derive(Debug, thiserror::Error)]
#[error(
    "the target is declared to be in `{location}`, where {} of the catalog's collections may \
     not be stored:\n  - {}\ncopy to a database in a location every collection allows \
     (--location says where the target is)",
    refusals.len(),
    refusals.join("\n  - ")
)]
pub struct ResidencyRefused {
    /// The declared location.
    pub location: Location,
    /// One line per collection refused, naming the rule.
    pub refusals: Vec<String>,
}

/// Checks every collection of `catalog` against the residency rules for a copy to
/// `location`.
pub fn check_residency(catalog: &Catalog, location: Location) -> Result<(), ResidencyRefused> {
    let refusals = catalog.residency_refusals(location, catalog.collections().iter());
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(ResidencyRefused { location, refusals })
    }
}

/// Why a copy did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A residency rule keeps collections out of the target's location; nothing written.
    #[error(transparent)]
    Residency(#[from] ResidencyRefused),
    /// A target holds tables and no copy in progress; nothing written.
    #[error(
        "the {role} target {url} is not empty: an installation is copied only into empty \
         databases (create new ones, or drop their tables first)"
    )]
    TargetNotEmpty {
        /// Which target.
        role: DatabaseRole,
        /// Its URL, password redacted.
        url: String,
    },
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<datavern_sql::SqlError> for CopyError {
    fn from(err: datavern_sql::SqlError) -> Self {
        CopyError::Store(StoreError::Sql(err))
    }
}

impl CopyError {
    /// The stable code of a refusal (`residency`, `target_not_empty`); `None` for a failure.
    pub fn refusal_code(&self) -> Option<&'static str> {
        match self {
            CopyError::Residency(_) => Some("residency"),
            CopyError::TargetNotEmpty { .. } => Some("target_not_empty"),
            CopyError::Store(_) => None,
        }
    }
}

/// What a copy of the installation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstallationCopy {
    /// The source's backend (`sqlite`, `postgres`, `mysql`).
    pub source_backend: String,
    /// The target's backend (of its data database).
    pub target_backend: String,
    /// The target's declared location.
    pub location: String,
    /// Whether this run resumed a copy in progress.
    pub resumed: bool,
    /// The data database.
    pub data: CopyReport,
    /// The key store.
    pub keys: CopyReport,
}

impl InstallationCopy {
    /// Whether both databases were copied completely and verified.
    pub fn verified(&self) -> bool {
        self.data.verified() && self.keys.verified()
    }

    /// Whether both databases were copied completely (verified or not).
    pub fn complete(&self) -> bool {
        self.data.complete && self.keys.complete
    }
}

/// Copies the installation of `source` as `request` says, calling `progress` with each
/// database's progress. A refusal is audited in the source's log and writes nothing else;
/// a copy that does not verify is audited as failed and left in progress in the targets.
pub async fn copy_installation(
    source: &Store,
    request: &CopyRequest<'_>,
    progress: &mut (dyn FnMut(DatabaseRole, Progress<'_>) + Send),
) -> Result<InstallationCopy, CopyError> {
    let result = copy_unaudited(source, request, progress).await;
    let (event, outcome, reason) = match &result {
        Ok(copy) if copy.verified() => (MigrationEvent::Copied, AuditOutcome::Granted, None),
        // Stopped by the test hook: neither done nor failed.
        Ok(copy) if !copy.complete() => return result,
        Ok(_) => (
            MigrationEvent::CopyFailed,
            AuditOutcome::Refused,
            Some("verification_failed"),
        ),
        Err(err) => match err.refusal_code() {
            Some(code) => (
                MigrationEvent::CopyRefused,
                AuditOutcome::Refused,
                Some(code),
            ),
            None => (
                MigrationEvent::CopyFailed,
                AuditOutcome::Refused,
                Some("failed"),
            ),
        },
    };
    let entry = copy_entry(source, request, event, outcome, reason);
    if let Err(err) = source.audit().record(entry).await {
        tracing::error!(error = %err, "Cannot audit the copy of the installation");
        if result.is_ok() {
            return Err(err.into());
        }
    }
    result
}

async fn copy_unaudited(
    source: &Store,
    request: &CopyRequest<'_>,
    progress: &mut (dyn FnMut(DatabaseRole, Progress<'_>) + Send),
) -> Result<InstallationCopy, CopyError> {
    check_residency(request.catalog, request.location)?;
    let target = Store::connect(request.target)
        .await?
        .with_clock(source.clock().clone());
    let result = copy_into(source, &target, request, progress).await;
    target.close().await;
    result
}

async fn copy_into(
    source: &Store,
    target: &Store,
    request: &CopyRequest<'_>,
    progress: &mut (dyn FnMut(DatabaseRole, Progress<'_>) + Send),
) -> Result<InstallationCopy, CopyError> {
    let databases = [target.data(), target.keys().database()];
    let mut resumed = false;
    for db in databases {
        match db.copy_state().await? {
            TargetState::Empty => {}
            TargetState::InProgress => resumed = true,
            TargetState::NotEmpty => {
                return Err(CopyError::TargetNotEmpty {
                    role: db.role(),
                    url: db.redacted_url().to_owned(),
                });
            }
        }
    }
    for db in databases {
        db.begin_copy_target().await?;
    }
    target.migrate().await?;
    create_collection_tables(target.data(), request.catalog).await?;
    let data = source
        .data()
        .copy_into(target.data(), &request.options, &mut |p| {
            progress(DatabaseRole::Data, p)
        })
        .await?;
    let keys = if data.complete {
        source
            .keys()
            .database()
            .copy_into(target.keys().database(), &request.options, &mut |p| {
                progress(DatabaseRole::Keys, p)
            })
            .await?
    } else {
        CopyReport {
            complete: false,
            tables: Vec::new(),
            rows_copied: 0,
            copy_seconds: 0.0,
            verify_seconds: 0.0,
        }
    };
    let copy = InstallationCopy {
        source_backend: source.data().backend().to_string(),
        target_backend: target.data().backend().to_string(),
        location: request.location.to_string(),
        resumed,
        data,
        keys,
    };
    if copy.verified() {
        for db in databases {
            db.finish_copy_target().await?;
        }
        // Recorded and sealed into the copied chain, which verifies with it.
        let entry = copy_entry(
            source,
            request,
            MigrationEvent::Copied,
            AuditOutcome::Granted,
            None,
        );
        target.audit().record(entry).await?;
        target.audit().shutdown().await?;
    }
    Ok(copy)
}

/// Creates the tables of the catalog's collections, as the store would.
async fn create_collection_tables(db: &Database, catalog: &Catalog) -> Result<(), CopyError> {
    let statements = schema::catalog_statements(catalog, db.backend())?;
    let mut conn = db.acquire().await?;
    for statement in statements {
        conn.conn().execute_raw(&statement).await?;
    }
    Ok(())
}

/// The audit entry of a copy: who, what, and the backends (never a URL).
fn copy_entry(
    source: &Store,
    request: &CopyRequest<'_>,
    event: MigrationEvent,
    outcome: AuditOutcome,
    reason: Option<&str>,
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        source.now(),
        None,
        request.principal,
        AuditAction::Migration(event),
        outcome,
    )
    .with_request_id(format!(
        "copy:{}-to-{}",
        source.data().backend(),
        request.target.data.backend()
    ));
    entry.reason = reason.map(str::to_owned);
    entry
}
