//! Copying a whole database to another backend, row by row, values converted by meaning.
//!
//! [`Database::copy_into`] copies every table of one database (the data database or the
//! key store) into another of any backend (SQLite, PostgreSQL, MariaDB/MySQL) whose schema
//! exists (the same migrations and collection tables) and whose tables are empty but for
//! the rows the migrations seed:
//!
//! - **Consistent**: the source is read in one read-only snapshot (PostgreSQL `REPEATABLE
//!   READ`, MariaDB/MySQL `WITH CONSISTENT SNAPSHOT`, a SQLite read transaction, which in
//!   WAL mode sees the database as of its first read).
//! - **As stored**: each table in primary-key order, in keyset batches; each value decoded
//!   by its column's declared type, conformed to what the column means (the side that says
//!   most decides: PostgreSQL's types, then MariaDB/MySQL's; SQLite's say least) and bound
//!   as the target's column wants it: times through [`At`](crate::At) (SQLite's fixed-width
//!   text, `timestamptz`, a UTC `DATETIME`), UUIDs as 16 bytes or `uuid`, booleans as
//!   integers or `bool`, decimals and JSON as text cast on PostgreSQL. Bytes stay bytes:
//!   ciphertext and blind indexes are copied as they are, the audit chain keeps its hashes.
//!   Batches are multi-row `INSERT`s within the target's bind-parameter limit
//!   ([`Backend::rows_per_insert`](crate::Backend::rows_per_insert)); the next batch is
//!   read while the last is written. Tables are written referenced-first; the row the
//!   migrations seed (`dv_audit_head`) is updated to the source's; PostgreSQL identity
//!   sequences are moved past the copied ids.
//! - **Resumable**: each batch commits with its checkpoint in the target's
//!   [`PROGRESS_TABLE`] (see [`Database::copy_state`]); a rerun continues after the last
//!   committed batch.
//! - **Verified**: at the end every table's rows are counted and digested on both sides from
//!   canonical values (the same meaning gives the same bytes on every backend), the source
//!   still in its snapshot.

mod checkpoint;
mod digest;
mod link;
mod plan;
mod rows;
mod schema;
mod value;

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use self::checkpoint::Checkpoint;
use self::digest::TableDigest;
use self::link::Link;
use self::plan::TablePlan;
use self::rows::{RowValues, Side};
use crate::database::Database;
use crate::dump::MIGRATIONS_TABLE;
use crate::error::{Result, SqlError};

/// The table in the target that holds the copy's checkpoints while it is in progress;
/// dropped by [`Database::finish_copy_target`] once the copy is verified.
pub const PROGRESS_TABLE: &str = "dv_copy_progress";

/// Rows per batch unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 5_000;

/// What a database holds, as the target of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// No table at all: a copy may begin.
    Empty,
    /// A copy into it began and has not finished ([`PROGRESS_TABLE`] is there): a copy
    /// resumes.
    InProgress,
    /// It holds tables and no copy is in progress: nothing is copied into it.
    NotEmpty,
}

/// How a copy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyOptions {
    /// Rows per batch (one `INSERT` and one checkpoint each), at most what the target's
    /// bind-parameter limit allows for the table.
    pub batch_size: usize,
    /// Stop after this many batches, as if killed (for tests of resuming).
    pub batch_limit: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            batch_limit: None,
        }
    }
}

/// What a copy is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Copying rows.
    Copy,
    /// Counting and digesting both sides.
    Verify,
}

/// Where a copy stands: `done` of `total` rows of `table` in `phase`.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The phase.
    pub phase: Phase,
    /// The table.
    pub table: &'a str,
    /// Rows done in this table.
    pub done: u64,
    /// Rows in this table (in the source's snapshot).
    pub total: u64,
}

/// One table of a copy, compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: String,
    /// Rows copied by this run (fewer than `source_rows` when it resumed a copy).
    pub copied: u64,
    /// Rows in the source's snapshot.
    pub source_rows: u64,
    /// Rows in the target.
    pub target_rows: u64,
    /// The digest of the source's rows (64 hex digits).
    pub source_digest: String,
    /// The digest of the target's rows.
    pub target_digest: String,
}

impl TableReport {
    /// Whether both sides hold the same rows.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_digest == self.target_digest
    }
}

/// What [`Database::copy_into`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyReport {
    /// Whether every table was copied; `false` only when
    /// [`batch_limit`](CopyOptions::batch_limit) stopped it (then nothing is verified).
    pub complete: bool,
    /// Every table, in the order copied (verified only if `complete`).
    pub tables: Vec<TableReport>,
    /// Rows copied by this run.
    pub rows_copied: u64,
    /// Seconds spent copying.
    pub copy_seconds: f64,
    /// Seconds spent verifying.
    pub verify_seconds: f64,
}

impl CopyReport {
    /// Whether the copy is complete and every table matches.
    pub fn verified(&self) -> bool {
        self.complete && self.tables.iter().all(TableReport::matches)
    }
}

impl Database {
    /// What the database holds, as the target of a copy (on PostgreSQL, its current
    /// schema).
    pub async fn copy_state(&self) -> Result<TargetState> {
        let tables = self.table_names().await?;
        Ok(if tables.is_empty() {
            TargetState::Empty
        } else if tables.iter().any(|t| t == PROGRESS_TABLE) {
            TargetState::InProgress
        } else {
            TargetState::NotEmpty
        })
    }

    /// Marks the database as the target of a copy in progress (creates [`PROGRESS_TABLE`]):
    /// called before anything else is created in it, so that a copy killed at any point is
    /// recognised as one and resumed.
    pub async fn begin_copy_target(&self) -> Result<()> {
        let mut link = Link::acquire(self).await?;
        link.create_progress_table().await
    }

    /// Ends the copy into this database: drops [`PROGRESS_TABLE`].
    pub async fn finish_copy_target(&self) -> Result<()> {
        let mut link = Link::acquire(self).await?;
        link.execute(&format!("DROP TABLE IF EXISTS {PROGRESS_TABLE}"))
            .await
    }

    /// Copies every table of this database into `target` and verifies the copy (see the
    /// module documentation). `target` must have been marked
    /// ([`begin_copy_target`](Self::begin_copy_target)) and have the schema; `progress`
    /// is called after every batch.
    pub async fn copy_into(
        &self,
        target: &Database,
        options: &CopyOptions,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<CopyReport> {
        let mut source = Link::acquire(self).await?;
        let mut sink = Link::acquire(target).await?;
        sink.prepare_target().await?;
        source.begin_snapshot().await?;
        let result = copy(&mut source, &mut sink, options, progress).await;
        source.rollback().await;
        result
    }
}

async fn copy(
    source: &mut Link,
    target: &mut Link,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<CopyReport> {
    let plans = plans(source, target).await?;
    let mut checkpoints = target.checkpoints(&plans).await?;
    let started = Instant::now();
    let mut batches = 0u64;
    let mut tables = Vec::with_capacity(plans.len());
    let mut rows_copied = 0;
    let mut complete = true;
    for plan in &plans {
        let total = source.count(&plan.name).await?;
        let mut checkpoint = checkpoints.remove(&plan.name).unwrap_or_default();
        let copied = if checkpoint.done || !complete {
            0
        } else {
            let limit = options
                .batch_size
                .clamp(1, target.backend().rows_per_insert(plan.columns.len()));
            let run = TableRun {
                plan,
                limit,
                total,
                batch_limit: options.batch_limit,
            };
            let (copied, finished) = run
                .copy(source, target, &mut checkpoint, &mut batches, progress)
                .await?;
            complete = finished;
            copied
        };
        rows_copied += copied;
        tables.push(TableReport {
            table: plan.name.clone(),
            copied,
            source_rows: total,
            target_rows: 0,
            source_digest: String::new(),
            target_digest: String::new(),
        });
    }
    let copy_seconds = started.elapsed().as_secs_f64();
    let verified = Instant::now();
    if complete {
        for (plan, report) in plans.iter().zip(tables.iter_mut()) {
            let limit = options.batch_size.max(1);
            let theirs = digest_table(
                source,
                plan,
                Side::Source,
                limit,
                report.source_rows,
                progress,
            )
            .await?;
            let ours = digest_table(
                target,
                plan,
                Side::Target,
                limit,
                report.source_rows,
                progress,
            )
            .await?;
            report.source_rows = theirs.rows();
            report.source_digest = theirs.hex();
            report.target_rows = ours.rows();
            report.target_digest = ours.hex();
        }
    }
    Ok(CopyReport {
        complete,
        tables,
        rows_copied,
        copy_seconds,
        verify_seconds: if complete {
            verified.elapsed().as_secs_f64()
        } else {
            0.0
        },
    })
}

/// The plan of every table of the source (but the migrations' own and the progress
/// table), referenced tables first.
async fn plans(source: &mut Link, target: &mut Link) -> Result<Vec<TablePlan>> {
    let skip = [MIGRATIONS_TABLE, PROGRESS_TABLE];
    let names: Vec<String> = source
        .table_names()
        .await?
        .into_iter()
        .filter(|t| !skip.contains(&t.as_str()))
        .collect();
    let present: BTreeSet<String> = target.table_names().await?.into_iter().collect();
    if let Some(missing) = names.iter().find(|t| !present.contains(*t)) {
        return Err(SqlError::Copy(format!(
            "table {missing} of the source has no counterpart on the target: the target's \
             schema was not made by the same datavern version and catalog"
        )));
    }
    let edges = target.references().await?;
    let mut plans = Vec::with_capacity(names.len());
    for name in dependency_order(&names, &edges) {
        let from = source.shape(&name).await?;
        let to = target.shape(&name).await?;
        plans.push(TablePlan::new(
            &name,
            (source.backend(), from),
            (target.backend(), to),
        )?);
    }
    Ok(plans)
}

/// Copying the rest of one table.
struct TableRun<'p> {
    plan: &'p TablePlan,
    limit: usize,
    total: u64,
    batch_limit: Option<u64>,
}

impl TableRun<'_> {
    /// Copies the rows after the checkpoint; returns the rows copied and whether the table
    /// was finished (not stopped by the batch limit).
    async fn copy(
        &self,
        source: &mut Link,
        target: &mut Link,
        checkpoint: &mut Checkpoint,
        batches: &mut u64,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<(u64, bool)> {
        let plan = self.plan;
        let mut copied = 0u64;
        let mut batch = source
            .read_batch(
                plan,
                Side::Source,
                checkpoint.last_key.as_deref(),
                self.limit,
            )
            .await?;
        loop {
            if self.batch_limit.is_some_and(|limit| *batches >= limit) {
                return Ok((copied, false));
            }
            let end = batch.len() < self.limit;
            let mut next_checkpoint = checkpoint.clone();
            if let Some(last) = batch.last() {
                next_checkpoint.last_key = Some(plan.key_of(last));
            }
            next_checkpoint.copied += batch.len() as u64;
            next_checkpoint.done = end;
            let read_next = async {
                match (&next_checkpoint.last_key, end) {
                    (Some(key), false) => {
                        source
                            .read_batch(plan, Side::Source, Some(key), self.limit)
                            .await
                    }
                    _ => Ok(Vec::new()),
                }
            };
            let write = write_batch(target, plan, &batch, &next_checkpoint);
            let (written, next) = tokio::join!(write, read_next);
            written?;
            let next = next?;
            *batches += 1;
            copied += batch.len() as u64;
            *checkpoint = next_checkpoint;
            progress(Progress {
                phase: Phase::Copy,
                table: &plan.name,
                done: checkpoint.copied,
                total: self.total,
            });
            if end {
                target
                    .advance_identities(&plan.name, &plan.identities)
                    .await?;
                return Ok((copied, true));
            }
            batch = next;
        }
    }
}

/// Writes one batch and its checkpoint in one transaction.
async fn write_batch(
    target: &mut Link,
    plan: &TablePlan,
    rows: &[RowValues],
    checkpoint: &Checkpoint,
) -> Result<()> {
    target.begin_write().await?;
    let written = async {
        target.write_rows(plan, rows).await?;
        target.save_checkpoint(&plan.name, checkpoint).await?;
        target.commit().await
    }
    .await;
    if written.is_err() {
        target.rollback().await;
    }
    written
}

/// The digest of every row of a table on one side.
async fn digest_table(
    link: &mut Link,
    plan: &TablePlan,
    side: Side,
    limit: usize,
    total: u64,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<TableDigest> {
    let mut digest = TableDigest::default();
    let mut scratch = Vec::with_capacity(1024);
    let mut after: Option<Vec<value::Value>> = None;
    loop {
        let rows = link.read_batch(plan, side, after.as_deref(), limit).await?;
        for row in &rows {
            digest.add(plan, row, &mut scratch);
        }
        progress(Progress {
            phase: Phase::Verify,
            table: &plan.name,
            done: digest.rows(),
            total,
        });
        match rows.last() {
            Some(last) if rows.len() == limit => after = Some(plan.key_of(last)),
            _ => return Ok(digest),
        }
    }
}

/// `tables` ordered so that every table comes after the tables it references (`edges` are
/// `(table, referenced)` pairs); otherwise by name. A cycle is broken in name order.
fn dependency_order(tables: &[String], edges: &[(String, String)]) -> Vec<String> {
    let known: BTreeSet<&String> = tables.iter().collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(tables.len());
    let mut rest: Vec<&String> = tables.iter().collect();
    while !rest.is_empty() {
        let (ready, waiting): (Vec<&String>, Vec<&String>) = rest.iter().partition(|t| {
            edges.iter().all(|(from, to)| {
                from != **t || to == **t || placed.contains(to) || !known.contains(to)
            })
        });
        let ready = if ready.is_empty() {
            waiting.iter().take(1).copied().collect()
        } else {
            ready
        };
        for table in ready {
            placed.insert(table.clone());
            ordered.push(table.clone());
        }
        rest = waiting
            .into_iter()
            .filter(|t| !placed.contains(*t))
            .collect();
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::dependency_order;

    #[test]
    fn referenced_tables_come_first_and_cycles_do_not_lose_tables() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            dependency_order(
                &names(&["a", "dv_request_events", "dv_requests"]),
                &[edge("dv_request_events", "dv_requests"), edge("a", "a")]
            ),
            names(&["a", "dv_requests", "dv_request_events"])
        );
        assert_eq!(
            dependency_order(&names(&["b", "c"]), &[edge("b", "c"), edge("c", "b")]),
            names(&["b", "c"])
        );
    }
}
