//! Writing entries: [`append`] inside the caller's transaction, and the group-commit writer
//! behind [`AuditLog::record`](super::AuditLog::record).
//!
//! Group commit: callers put their entry and a oneshot sender on a bounded channel (a full
//! channel makes callers wait: backpressure). One writer task takes the first entry waiting,
//! then everything else already queued up to [`AuditConfig::batch_size`](super::AuditConfig),
//! inserts them with one multi-row `INSERT` in one transaction, commits, and answers every
//! waiter: `Ok` once the batch is durable, or the same error for all of them (fail closed).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use datavern_sql::{Begin, Conn, Database};
use tokio::sync::{mpsc, oneshot};

use super::entry::AuditEntry;
use super::error::AuditLogError;
use super::stored;
use super::{Shared, Signal};
use crate::error::{Result, StoreError};

/// Inserts `entry`, unsealed, on `conn` (inside the caller's transaction, so it commits or
/// rolls back with the change it records). The sealer chains it once it is committed.
// Called by the records module (and the test-support hook); without either nothing calls it.
#[cfg_attr(not(feature = "test-support"), allow(dead_code))]
pub async fn append(conn: &mut Conn<'_>, entry: &AuditEntry) -> Result<()> {
    append_all(conn, &[entry]).await
}

/// Inserts `entries`, unsealed and in order, with as few multi-row statements as the
/// backend's parameter limit allows (one for up to 2 340 entries on SQLite, 4 681 on
/// PostgreSQL and MariaDB/MySQL).
pub async fn append_all(conn: &mut Conn<'_>, entries: &[&AuditEntry]) -> Result<()> {
    let rows = conn
        .backend()
        .rows_per_insert(stored::CONTENT_COLUMNS.len());
    for chunk in entries.chunks(rows) {
        let insert = stored::insert(conn.backend(), chunk)?;
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// One caller waiting for its entry to be durable.
pub(crate) struct Pending {
    pub(crate) entry: AuditEntry,
    pub(crate) done: oneshot::Sender<Result<(), AuditLogError>>,
}

/// The writer task: runs until every sender is gone (the log is shut down and its clones
/// dropped), then returns.
pub(crate) async fn run(
    db: Database,
    mut rx: mpsc::Receiver<Pending>,
    batch_size: usize,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(batch_size);
    while rx.recv_many(&mut batch, batch_size).await > 0 {
        let entries: Vec<&AuditEntry> = batch.iter().map(|p| &p.entry).collect();
        let result = write_batch(&db, &entries).await;
        match &result {
            Ok(()) => {
                shared.batches.fetch_add(1, Ordering::Relaxed);
                shared
                    .entries
                    .fetch_add(entries.len() as u64, Ordering::Relaxed);
                shared.wake_sealer(Signal::Written);
            }
            Err(err) => {
                shared.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    error = %crate::error::report(err),
                    entries = entries.len(),
                    "Audit batch could not be written; its reads fail"
                );
            }
        }
        let result = result.map_err(Arc::new);
        for pending in batch.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(err) => Err(AuditLogError::BatchFailed(Arc::clone(err))),
            };
            // A caller that stopped waiting (its request was cancelled) needs no answer.
            let _ = pending.done.send(answer);
        }
    }
}

/// Writes `entries` in one transaction. An entry that cannot be stored fails the whole batch
/// before anything is written.
async fn write_batch(db: &Database, entries: &[&AuditEntry]) -> Result<(), StoreError> {
    for entry in entries {
        entry.check()?;
    }
    let mut tx = db.begin(Begin::Write).await?;
    append_all(&mut tx.conn(), entries).await?;
    tx.commit().await?;
    Ok(())
}
