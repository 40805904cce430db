//! The sealer: assigns sequence numbers and chain hashes to committed, unsealed entries, in
//! commit order, one sealer at a time.
//!
//! Each round is one short transaction that
//!
//! 1. locks the chain's head: PostgreSQL and MariaDB/MySQL `SELECT … FROM dv_audit_head …
//!    FOR UPDATE`; SQLite `BEGIN IMMEDIATE`, the database's single write lock. A second sealer
//!    (another process on the same database) waits here, then sees the first one's result;
//! 2. checks that the head is the last sealed entry (size and hash), so it never extends a
//!    tampered chain;
//! 3. reads up to a round's worth of unsealed entries `ORDER BY id`, computes each entry's
//!    canonical bytes from its columns and `hash = chain_next(prev, size + 1, bytes)`, and
//!    sets `sequence`, `entry_hash` and `sealed_at` (a few hundred entries per `UPDATE`,
//!    with `CASE id WHEN …`, so a round costs a few statements, not one per entry);
//! 4. moves the head and commits.
//!
//! **Why this is commit order.** An entry is inserted by the transaction that makes the
//! change it records (or by a group-commit batch) and becomes visible to other transactions
//! only when that transaction commits. The sealer seals only what is visible to it, so an
//! entry is sealed after it committed, and every entry sealed in an earlier round committed
//! before that round read. Within a round, `id` order stands in for commit order among
//! entries that were all committed by then. The edge: a transaction that took a low `id` and
//! commits after a round already sealed higher ids is simply sealed in a later round, with a
//! later sequence number: the chain never inserts anything before an entry already sealed,
//! has no gaps, and follows the order in which entries became durable and visible.
//!
//! PostgreSQL runs the round at `READ COMMITTED` (its default: every statement sees what is
//! committed when it starts, and the locked head row is re-read after the lock is granted).
//! MariaDB/MySQL runs it at `READ COMMITTED` explicitly (under `REPEATABLE READ` the snapshot
//! would be fixed at the first read) and reads `dv_audit` without locking (no gap locks that
//! would block inserters). SQLite has one writer at a time, so the round sees every committed
//! entry and nobody commits during it.

use std::time::Duration;

use super::error::AuditLogError;
use super::stored::{ALL_COLUMNS, AUDIT, AuditRow, HEAD, HeadRow, col};
use super::tx::in_head_lock;
use crate::error::Result;
use datavern_core::clock::Clock;
use datavern_crypto::audit::{ChainHash, ChainHead, chain_next};
use datavern_sql::{At, Conn, Database};
use sea_query::extension::mysql::{IndexHintScope, IndexName, MySqlSelectStatementExt as _};
use sea_query::{CaseStatement, Expr, LockType, Order, Query};

/// The index of the unsealed entries, in id order (on every backend under this name).
const UNSEALED_INDEX: &str = "dv_audit_unsealed";

/// Seals every unsealed entry visible now, in rounds of at most `round` entries, and returns
/// the head after the last one. Idempotent: with nothing to seal it returns the head.
/// Each round is sealed at the time of `clock` when it starts.
pub(crate) async fn seal(
    db: &Database,
    round: usize,
    clock: &dyn Clock,
) -> Result<(ChainHead, u64)> {
    let mut total = 0u64;
    loop {
        let (head, sealed) = seal_round(db, round, At::from(clock.now())).await?;
        total += sealed as u64;
        if sealed < round {
            return Ok((head, total));
        }
    }
}

/// One sealing transaction: returns the head and the number of entries sealed.
async fn seal_round(db: &Database, round: usize, now: At) -> Result<(ChainHead, usize)> {
    in_head_lock(db, async |conn| seal_locked(conn, round, now).await).await
}

async fn seal_locked(conn: &mut Conn<'_>, round: usize, now: At) -> Result<(ChainHead, usize)> {
    let head = lock_head(conn).await?;
    check_head(conn, head).await?;

    let unsealed: Vec<AuditRow> = conn
        .fetch_all(
            Query::select()
                .columns(ALL_COLUMNS.iter().map(|c| col(c)))
                .from(col(AUDIT))
                // MariaDB/MySQL only (the other builders leave hints out): without it the
                // planner walks the primary key through every sealed entry
                // (migrations/data/mysql/0002_audit_unsealed_index.sql).
                .force_index(IndexName::new(UNSEALED_INDEX), IndexHintScope::All)
                .and_where(Expr::col(col("sequence")).is_null())
                .order_by(col("id"), Order::Asc)
                .limit(round as u64),
        )
        .await?;
    if unsealed.is_empty() {
        return Ok((head, 0));
    }

    let backend = conn.backend();
    let sealed_at = now.value(backend);
    let mut next = head;
    let mut seals = Vec::with_capacity(unsealed.len());
    for row in &unsealed {
        let bytes = row.canonical_bytes().map_err(|problem| {
            AuditLogError::Corrupt(format!("unsealed entry id {}: {problem}", row.id))
        })?;
        let sequence = next
            .size
            .checked_add(1)
            .ok_or_else(|| AuditLogError::Corrupt("sequence number overflow".to_owned()))?;
        let hash = chain_next(&next.hash, sequence, &bytes);
        seals.push((row.id, to_i64(sequence)?, hash));
        next = ChainHead {
            size: sequence,
            hash,
        };
    }
    for chunk in seals.chunks(SEALS_PER_STATEMENT) {
        let updated = conn.execute(&seal_update(chunk, &sealed_at)).await?;
        if updated != chunk.len() as u64 {
            return Err(AuditLogError::Corrupt(format!(
                "{} of entries {}..={} were sealed by someone else while the head was locked",
                chunk.len() as u64 - updated.min(chunk.len() as u64),
                chunk[0].0,
                chunk[chunk.len() - 1].0
            ))
            .into());
        }
    }
    conn.execute(
        Query::update()
            .table(col(HEAD))
            .values([
                (col("size"), to_i64(next.size)?.into()),
                (col("head_hash"), next.hash.as_bytes().to_vec().into()),
                (col("sealed_at"), sealed_at.into()),
            ])
            .and_where(Expr::col(col("singleton")).eq(1)),
    )
    .await?;
    tracing::debug!(
        sealed = unsealed.len(),
        size = next.size,
        "Sealed audit entries"
    );
    Ok((next, unsealed.len()))
}

/// Entries one sealing `UPDATE` seals. Each costs five parameters, and the `CASE`s are
/// evaluated branch by branch, so a few hundred keep the statement cheap while a round of a
/// thousand entries takes four statements instead of a thousand.
const SEALS_PER_STATEMENT: usize = 250;

/// `UPDATE dv_audit SET sequence = CASE id WHEN … END, entry_hash = CASE id WHEN … END,
/// sealed_at = … WHERE id IN (…) AND sequence IS NULL` for `(id, sequence, hash)` triples:
/// one statement, the same on every backend.
fn seal_update(
    seals: &[(i64, i64, ChainHash)],
    sealed_at: &sea_query::Value,
) -> sea_query::UpdateStatement {
    let mut sequence = CaseStatement::new();
    let mut hash = CaseStatement::new();
    for (id, seq, entry_hash) in seals {
        sequence = sequence.case(Expr::col(col("id")).eq(*id), *seq);
        hash = hash.case(Expr::col(col("id")).eq(*id), entry_hash.as_bytes().to_vec());
    }
    Query::update()
        .table(col(AUDIT))
        .values([
            (col("sequence"), sequence.into()),
            (col("entry_hash"), hash.into()),
            (col("sealed_at"), sealed_at.clone().into()),
        ])
        .and_where(Expr::col(col("id")).is_in(seals.iter().map(|(id, _, _)| *id)))
        .and_where(Expr::col(col("sequence")).is_null())
        .to_owned()
}

/// Reads the head, locking it for the rest of the transaction (SQLite: the transaction's write
/// lock already does).
pub(crate) async fn lock_head(conn: &mut Conn<'_>) -> Result<ChainHead> {
    let rows: Vec<HeadRow> = conn
        .fetch_all(
            Query::select()
                .columns([col("size"), col("head_hash")])
                .from(col(HEAD))
                .and_where(Expr::col(col("singleton")).eq(1))
                .lock(LockType::Update),
        )
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(AuditLogError::Corrupt("dv_audit_head has no row".to_owned()).into());
    };
    head_from_row(row).map_err(|problem| AuditLogError::Corrupt(problem).into())
}

/// The head a `dv_audit_head` row records, or what is wrong with it.
pub(crate) fn head_from_row((size, hash): HeadRow) -> Result<ChainHead, String> {
    let size = u64::try_from(size).map_err(|_| format!("head size {size} is negative"))?;
    let hash = match (size, hash) {
        (0, None) => datavern_crypto::audit::GENESIS,
        (_, Some(bytes)) => ChainHash::try_from(bytes.as_slice())
            .map_err(|_| "head hash is not 32 bytes".to_owned())?,
        (_, None) => return Err(format!("head of size {size} has no hash")),
    };
    Ok(ChainHead { size, hash })
}

/// Refuses to extend a chain whose head is not its last sealed entry.
async fn check_head(conn: &mut Conn<'_>, head: ChainHead) -> Result<()> {
    let last: Vec<(Option<i64>,)> = conn
        .fetch_all(
            Query::select()
                .expr(Expr::col(col("sequence")).max())
                .from(col(AUDIT)),
        )
        .await?;
    let last = last.into_iter().next().and_then(|(max,)| max).unwrap_or(0);
    if last != to_i64(head.size)? {
        return Err(AuditLogError::Corrupt(format!(
            "the head records {} entries but the last sealed entry is {last}",
            head.size
        ))
        .into());
    }
    if head.size == 0 {
        return Ok(());
    }
    let stored: Vec<(Option<Vec<u8>>,)> = conn
        .fetch_all(
            Query::select()
                .column(col("entry_hash"))
                .from(col(AUDIT))
                .and_where(Expr::col(col("sequence")).eq(to_i64(head.size)?)),
        )
        .await?;
    match stored.into_iter().next() {
        Some((Some(hash),)) if hash.as_slice() == head.hash.as_bytes() => Ok(()),
        _ => Err(AuditLogError::Corrupt(format!(
            "the head's hash is not the hash of entry {}",
            head.size
        ))
        .into()),
    }
}

/// Age of the oldest unsealed entry (zero when everything is sealed): the window in which
/// an entry could still be altered without breaking the chain.
/// An entry stamped after `now` (clocks of two processes apart) has no age yet: zero.
pub(crate) async fn lag(db: &Database, now: At) -> Result<Duration> {
    let mut pooled = db.acquire().await?;
    Ok(match oldest_unsealed(&mut pooled.conn()).await? {
        Some(at) => {
            let age = now.as_micros().saturating_sub(at.as_micros());
            Duration::from_micros(u64::try_from(age).unwrap_or(0))
        }
        None => Duration::ZERO,
    })
}

/// When the oldest unsealed entry occurred, if there is one.
pub(crate) async fn oldest_unsealed(conn: &mut Conn<'_>) -> Result<Option<At>> {
    let oldest: Vec<(At,)> = conn
        .fetch_all(
            Query::select()
                .column(col("occurred_at"))
                .from(col(AUDIT))
                .and_where(Expr::col(col("sequence")).is_null())
                .order_by(col("id"), Order::Asc)
                .limit(1),
        )
        .await?;
    Ok(oldest.into_iter().next().map(|(at,)| at))
}

pub(crate) fn to_i64(n: u64) -> Result<i64, AuditLogError> {
    i64::try_from(n).map_err(|_| AuditLogError::Corrupt("sequence number overflow".to_owned()))
}
