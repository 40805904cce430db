//! Verification: replays the sealed entries through a [`ChainVerifier`] with the signed
//! checkpoints, compares the end of the chain with the recorded head, and reports the first
//! bad position and why.
//!
//! The same [`Replay`] checks the database ([`AuditLog::verify`]) and an export file
//! ([`verify_export`](super::verify_export)).

use std::fmt;

use datavern_crypto::audit::{ChainError, ChainHash, ChainHead, ChainVerifier, CheckpointVerifier};
use datavern_sql::{Conn, Text};
use sea_query::{Expr, Order, Query};
use time::OffsetDateTime;

use super::AuditLog;
use super::error::AuditLogError;
use super::sealer::{head_from_row, oldest_unsealed};
use super::stored::{ALL_COLUMNS, AUDIT, AuditRow, CHECKPOINTS, HEAD, HeadRow, col};
use super::tx::in_snapshot;

use crate::error::{Result, StoreError};

/// Sealed entries read per query.
const PAGE: u64 = 1000;

/// What verification found: how much was checked and, if the log is not intact, the first
/// problem.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Sealed entries that verified (up to the first problem).
    pub entries: u64,
    /// The chain head after the entries that verified.
    pub head: ChainHead,
    /// The head recorded with the log (`dv_audit_head`, or an export's header).
    pub recorded_head: Option<ChainHead>,
    /// Checkpoints whose signature verified and whose head the chain passed through.
    pub checkpoints_verified: u64,
    /// Checkpoints present but not checked, because no verifier key was given.
    pub checkpoints_unverified: u64,
    /// Size of the largest verified checkpoint: entries up to it cannot be rewritten, even
    /// with recomputed hashes, without detection.
    pub last_checkpoint: Option<u64>,
    /// Entries written but not yet sealed (not errors: the sealer chains them shortly).
    pub unsealed: u64,
    /// When the oldest unsealed entry happened.
    pub oldest_unsealed: Option<OffsetDateTime>,
    /// The first problem, or `None` when the log is intact.
    pub failure: Option<VerifyFailure>,
}

impl VerifyReport {
    /// Whether the log verified completely.
    pub fn is_intact(&self) -> bool {
        self.failure.is_none()
    }
}

/// The first problem found, at a position in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyFailure {
    /// The sequence number where the log stops being consistent, where one can be named.
    pub position: Option<u64>,
    /// What is wrong there.
    pub problem: Problem,
}

/// What is wrong with an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The chain does not follow: an entry altered, deleted, inserted or moved, or the chain
    /// rewritten before a signed checkpoint.
    Chain(ChainError),
    /// A sealed entry cannot be read or encoded (a column holds something no writer stores).
    Unreadable(String),
    /// The recorded head is not the end of the chain: the head was altered, entries were
    /// deleted from the end, or entries were added after it.
    Head {
        /// The head recorded with the log.
        recorded: ChainHead,
        /// The end of the chain of sealed entries.
        chain: ChainHead,
    },
    /// A stored checkpoint does not verify: its note is altered or not signed by the verifier
    /// key, it is for another log, or its columns disagree with its note.
    Checkpoint {
        /// The checkpoint's size as stored.
        size: u64,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = self.position {
            write!(f, "at position {position}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Chain(err) => {
                let why = match err {
                    ChainError::SequenceGap { .. } => {
                        "entries are missing (deleted), or a later entry was moved up"
                    }
                    ChainError::SequenceOutOfOrder { .. } => {
                        "an entry was inserted, duplicated or moved back"
                    }
                    ChainError::HashMismatch { .. } => {
                        "this entry or its stored hash was altered, or an entry before it was \
                         removed, inserted or reordered"
                    }
                    ChainError::CheckpointMismatch { .. } => {
                        "the log up to this signed checkpoint was rewritten with recomputed \
                         hashes"
                    }
                    ChainError::Truncated { .. } => {
                        "entries covered by a signed checkpoint were deleted from the end"
                    }
                    _ => "the chain is inconsistent",
                };
                write!(f, "{err}: {why}")
            }
            Problem::Unreadable(reason) => write!(f, "entry cannot be read: {reason}"),
            Problem::Head { recorded, chain } => {
                write!(
                    f,
                    "the recorded head (size {}, {}) is not the end of the chain (size {}, {}): ",
                    recorded.size, recorded.hash, chain.size, chain.hash
                )?;
                f.write_str(if chain.size < recorded.size {
                    "sealed entries were deleted from the end"
                } else if chain.size > recorded.size {
                    "entries were added after the head"
                } else {
                    "the head or the last entry was altered"
                })
            }
            Problem::Checkpoint { size, reason } => {
                write!(f, "checkpoint of size {size} does not verify: {reason}")
            }
        }
    }
}

/// A checkpoint as stored or exported, before verification.
pub(crate) struct RawCheckpoint {
    pub(crate) size: u64,
    pub(crate) head_hash: Vec<u8>,
    pub(crate) note: String,
}

/// One verification run: checkpoints first, then entries in stored order, then the head.
pub(crate) struct Replay<'a> {
    verifier: Option<&'a CheckpointVerifier>,
    chain: ChainVerifier,
    origin: Option<String>,
    failures: Vec<VerifyFailure>,
    stopped: bool,
    report: VerifyReport,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(verifier: Option<&'a CheckpointVerifier>) -> Self {
        Replay {
            verifier,
            chain: ChainVerifier::new(),
            origin: None,
            failures: Vec::new(),
            stopped: false,
            report: VerifyReport {
                entries: 0,
                head: ChainHead::EMPTY,
                recorded_head: None,
                checkpoints_verified: 0,
                checkpoints_unverified: 0,
                last_checkpoint: None,
                unsealed: 0,
                oldest_unsealed: None,
                failure: None,
            },
        }
    }

    /// The origin the checkpoints must have (an export's header); otherwise the first
    /// checkpoint's origin is the log's.
    pub(crate) fn expect_origin(&mut self, origin: Option<String>) {
        self.origin = origin;
    }

    /// Checks a stored checkpoint's signature and columns and, if it is good, registers its
    /// head with the chain.
    pub(crate) fn checkpoint(&mut self, raw: &RawCheckpoint) {
        let Some(verifier) = self.verifier else {
            self.report.checkpoints_unverified += 1;
            return;
        };
        let bad = |reason: String| VerifyFailure {
            position: Some(raw.size),
            problem: Problem::Checkpoint {
                size: raw.size,
                reason,
            },
        };
        let checkpoint = match verifier.verify(&raw.note) {
            Ok(checkpoint) => checkpoint,
            Err(err) => return self.failures.push(bad(err.to_string())),
        };
        match &self.origin {
            Some(origin) if origin != checkpoint.origin() => {
                return self.failures.push(bad(format!(
                    "it is for the log `{}`, not `{origin}`",
                    checkpoint.origin()
                )));
            }
            Some(_) => {}
            None => self.origin = Some(checkpoint.origin().to_owned()),
        }
        if checkpoint.size() != raw.size || checkpoint.head_hash().as_bytes() != &raw.head_hash[..]
        {
            return self.failures.push(bad(
                "its stored size or head hash differs from its signed note".to_owned(),
            ));
        }
        match self.chain.expect(checkpoint.chain_head()) {
            Ok(()) => {
                self.report.checkpoints_verified += 1;
                self.report.last_checkpoint = self.report.last_checkpoint.max(Some(raw.size));
            }
            Err(err) => self.fail(err.position(), Problem::Chain(err)),
        }
    }

    /// Whether entries are still worth feeding.
    pub(crate) fn running(&self) -> bool {
        !self.stopped
    }

    /// The sequence number the next entry should have.
    pub(crate) fn next_position(&self) -> u64 {
        self.chain.head().size.saturating_add(1)
    }

    /// Checks the next sealed entry: its sequence number, its canonical bytes (or why they
    /// cannot be computed) and its stored hash.
    pub(crate) fn entry(
        &mut self,
        sequence: Option<i64>,
        bytes: Result<Vec<u8>, String>,
        stored: Option<&[u8]>,
    ) {
        if self.stopped {
            return;
        }
        let position = self.next_position();
        let sequence = match sequence.map(u64::try_from) {
            Some(Ok(sequence)) => sequence,
            _ => {
                return self.fail(
                    Some(position),
                    Problem::Unreadable("its sequence number is not positive".to_owned()),
                );
            }
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(reason) => return self.fail(Some(sequence), Problem::Unreadable(reason)),
        };
        let Some(stored) = stored.and_then(|h| ChainHash::try_from(h).ok()) else {
            return self.fail(
                Some(sequence),
                Problem::Unreadable("its stored hash is not 32 bytes".to_owned()),
            );
        };
        match self.chain.push(sequence, &bytes, &stored) {
            Ok(()) => self.report.entries += 1,
            Err(err) => self.fail(err.position(), Problem::Chain(err)),
        }
    }

    /// Stops at an entry that could not be read at all.
    pub(crate) fn unreadable(&mut self, reason: String) {
        let position = self.next_position();
        self.fail(Some(position), Problem::Unreadable(reason));
    }

    /// Ends the replay: checks that no signed checkpoint lies beyond the chain and that the
    /// chain ends at `recorded`.
    pub(crate) fn finish(mut self, recorded: Option<ChainHead>) -> VerifyReport {
        self.report.recorded_head = recorded;
        self.report.head = self.chain.head();
        if !self.stopped {
            let chain = self.chain.clone();
            match chain.finish() {
                Err(err) => self.fail(err.position(), Problem::Chain(err)),
                Ok(end) => {
                    if let Some(recorded) = recorded.filter(|r| *r != end) {
                        let position = if end.size < recorded.size {
                            end.size + 1
                        } else if end.size > recorded.size {
                            recorded.size + 1
                        } else {
                            end.size
                        };
                        self.fail(
                            Some(position),
                            Problem::Head {
                                recorded,
                                chain: end,
                            },
                        );
                    }
                }
            }
        }
        // The first bad position; among problems without one, the first found.
        self.report.failure = self
            .failures
            .into_iter()
            .min_by_key(|f| f.position.unwrap_or(u64::MAX));
        self.report
    }

    pub(crate) fn unsealed(&mut self, count: u64, oldest: Option<OffsetDateTime>) {
        self.report.unsealed = count;
        self.report.oldest_unsealed = oldest;
    }

    fn fail(&mut self, position: Option<u64>, problem: Problem) {
        self.stopped = true;
        self.failures.push(VerifyFailure { position, problem });
    }
}

impl AuditLog {
    /// Verifies the whole log in one consistent snapshot: every sealed entry in sequence
    /// order against the hash chain (canonical bytes recomputed from the columns), every
    /// stored checkpoint's signature with `verifier` (without one, checkpoints are counted,
    /// not checked) and that the chain passes through each, and that the chain ends at the
    /// recorded head. Reports the first bad position; unsealed entries are counted.
    ///
    /// Errors only when the database cannot be read; what is wrong with the log is in the
    /// report.
    pub async fn verify(&self, verifier: Option<&CheckpointVerifier>) -> Result<VerifyReport> {
        self.verify_inner(verifier, &[]).await
    }

    /// [`verify`](Self::verify), also against checkpoints kept outside the database (signed
    /// notes exported earlier, or published): entries deleted from the end, or rewritten,
    /// after the last checkpoint stored in the database are detected only this way. Fails if
    /// one of `known` does not verify with `verifier`.
    pub async fn verify_with_checkpoints(
        &self,
        verifier: &CheckpointVerifier,
        known: &[String],
    ) -> Result<VerifyReport> {
        let mut trusted = Vec::with_capacity(known.len());
        for note in known {
            let checkpoint = verifier.verify(note).map_err(AuditLogError::Checkpoint)?;
            trusted.push(RawCheckpoint {
                size: checkpoint.size(),
                head_hash: checkpoint.head_hash().as_bytes().to_vec(),
                note: note.clone(),
            });
        }
        self.verify_inner(Some(verifier), &trusted).await
    }

    async fn verify_inner(
        &self,
        verifier: Option<&CheckpointVerifier>,
        known: &[RawCheckpoint],
    ) -> Result<VerifyReport> {
        in_snapshot(self.database(), async |conn| {
            verify_in(conn, verifier, known).await
        })
        .await
    }
}

/// Verification inside a snapshot transaction (SQLite: a read transaction, which in WAL mode
/// sees one snapshot from its first read).
async fn verify_in(
    conn: &mut Conn<'_>,
    verifier: Option<&CheckpointVerifier>,
    known: &[RawCheckpoint],
) -> Result<VerifyReport> {
    let mut replay = Replay::new(verifier);

    let heads: Vec<HeadRow> = conn
        .fetch_all(
            Query::select()
                .columns([col("size"), col("head_hash")])
                .from(col(HEAD))
                .and_where(Expr::col(col("singleton")).eq(1)),
        )
        .await?;
    let recorded = match heads.into_iter().next().map(head_from_row) {
        Some(Ok(head)) => Some(head),
        Some(Err(problem)) => {
            replay.fail(
                None,
                Problem::Unreadable(format!("dv_audit_head: {problem}")),
            );
            None
        }
        None => {
            replay.fail(
                None,
                Problem::Unreadable("dv_audit_head has no row".to_owned()),
            );
            None
        }
    };

    let checkpoints: Vec<(i64, Vec<u8>, Text)> = conn
        .fetch_all(
            Query::select()
                .columns([col("size"), col("head_hash"), col("note")])
                .from(col(CHECKPOINTS))
                .order_by(col("size"), Order::Asc),
        )
        .await?;
    for (size, head_hash, note) in checkpoints {
        let size = u64::try_from(size).unwrap_or(0);
        replay.checkpoint(&RawCheckpoint {
            size,
            head_hash,
            note: note.0,
        });
    }

    for checkpoint in known {
        replay.checkpoint(checkpoint);
    }

    let mut after = 0i64;
    while replay.running() {
        let page = sealed_page(conn, after, PAGE).await;
        let rows = match page {
            Ok(rows) => rows,
            Err(StoreError::Sql(err)) if err.is_decode() => {
                // Find the row that does not decode, one at a time.
                match first_unreadable(conn, after).await? {
                    Some((rows, reason)) => {
                        for row in &rows {
                            replay.entry(
                                row.sequence,
                                row.canonical_bytes(),
                                row.entry_hash.as_deref(),
                            );
                        }
                        replay.unreadable(reason);
                    }
                    None => replay.unreadable("a row does not decode".to_owned()),
                }
                break;
            }
            Err(err) => return Err(err),
        };
        let Some(last) = rows.last() else { break };
        after = last.sequence.unwrap_or(i64::MAX);
        for row in &rows {
            replay.entry(
                row.sequence,
                row.canonical_bytes(),
                row.entry_hash.as_deref(),
            );
        }
        if (rows.len() as u64) < PAGE {
            break;
        }
    }

    let unsealed: Vec<(i64,)> = conn
        .fetch_all(
            Query::select()
                .expr(Expr::col(col("id")).count())
                .from(col(AUDIT))
                .and_where(Expr::col(col("sequence")).is_null()),
        )
        .await?;
    let count = unsealed
        .first()
        .map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0));
    let oldest = if count > 0 {
        // A failure to read it leaves the age unknown; it does not fail the verification.
        oldest_unsealed(conn)
            .await
            .ok()
            .flatten()
            .map(OffsetDateTime::from)
    } else {
        None
    };
    replay.unsealed(count, oldest);
    Ok(replay.finish(recorded))
}

/// Sealed entries with a sequence number above `after`, in sequence order.
pub(crate) async fn sealed_page(
    conn: &mut Conn<'_>,
    after: i64,
    limit: u64,
) -> Result<Vec<AuditRow>> {
    conn.fetch_all(
        Query::select()
            .columns(ALL_COLUMNS.iter().map(|c| col(c)))
            .from(col(AUDIT))
            .and_where(Expr::col(col("sequence")).is_not_null())
            .and_where(Expr::col(col("sequence")).gt(after))
            .order_by(col("sequence"), Order::Asc)
            .limit(limit),
    )
    .await
    .map_err(Into::into)
}

/// Reads sealed entries after `after` one by one until one does not decode: the readable ones
/// before it and the decoding error.
async fn first_unreadable(
    conn: &mut Conn<'_>,
    mut after: i64,
) -> Result<Option<(Vec<AuditRow>, String)>> {
    let mut rows = Vec::new();
    loop {
        match sealed_page(conn, after, 1).await {
            Ok(mut page) => match page.pop() {
                Some(row) => {
                    after = row.sequence.unwrap_or(i64::MAX);
                    rows.push(row);
                }
                None => return Ok(None),
            },
            Err(StoreError::Sql(err)) if err.is_decode() => {
                return Ok(Some((rows, err.to_string())));
            }
            Err(err) => return Err(err),
        }
    }
}
