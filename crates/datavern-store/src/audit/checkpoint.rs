//! Signed checkpoints of the chain head, stored in `dv_audit_checkpoints`.
//!
//! Before signing, the entries sealed since the previous checkpoint are replayed from that
//! checkpoint's head, so the signer never vouches for a head that does not follow from the
//! entries (an altered entry or head is refused, not signed).

use datavern_crypto::audit::{
    ChainHash, ChainHead, ChainVerifier, Checkpoint, CheckpointSigner, SignedNote,
};
use datavern_sql::{At, Conn};
use sea_query::{Expr, Order, Query};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AuditLog;
use super::error::AuditLogError;
use super::sealer::{lock_head, to_i64};
use super::stored::{ALL_COLUMNS, AUDIT, AuditRow, CHECKPOINTS, CheckpointRow, col};
use super::tx::in_head_lock;

use crate::error::{Result, StoreError};

/// Entries replayed per query when checking the chain before signing.
const PAGE: u64 = 1000;

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredCheckpoint {
    /// Entries covered.
    pub size: u64,
    /// The chain hash after the last of them.
    pub head: ChainHash,
    /// The C2SP signed note (checkpoint text and signature lines).
    pub note: String,
    /// When it was signed.
    pub signed_at: OffsetDateTime,
}

impl AuditLog {
    /// Signs a checkpoint of the current head (sealed entries only) for the log named
    /// `origin` with `signer`, stores it in `dv_audit_checkpoints` and returns it. The head is
    /// first checked against the entries sealed since the previous checkpoint. Idempotent:
    /// when a checkpoint of this size exists, returns that one.
    pub async fn checkpoint(
        &self,
        signer: &CheckpointSigner,
        origin: &str,
    ) -> Result<StoredCheckpoint> {
        // Validate the origin before taking any lock.
        Checkpoint::new(origin, ChainHead::EMPTY).map_err(AuditLogError::Checkpoint)?;
        let now = self.now();
        in_head_lock(self.database(), async |conn| {
            checkpoint_locked(conn, signer, origin, now).await
        })
        .await
    }

    /// Every stored checkpoint, by size.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        let mut pooled = self.database().acquire().await?;
        read_checkpoints(&mut pooled.conn()).await
    }
}

async fn checkpoint_locked(
    conn: &mut Conn<'_>,
    signer: &CheckpointSigner,
    origin: &str,
    signed_at: At,
) -> Result<StoredCheckpoint> {
    // Locks the head: no sealing while the checkpoint is made.
    let head = lock_head(conn).await?;
    let previous = read_checkpoints(conn).await?;
    if let Some(existing) = previous.iter().find(|c| c.size == head.size) {
        return Ok(existing.clone());
    }
    let resume = previous
        .iter()
        .rev()
        .find(|c| c.size < head.size)
        .map(|c| ChainHead {
            size: c.size,
            hash: c.head,
        })
        .unwrap_or(ChainHead::EMPTY);
    check_since(conn, resume, head).await?;

    let mut checkpoint = Checkpoint::new(origin, head).map_err(AuditLogError::Checkpoint)?;
    let signed = OffsetDateTime::from(signed_at);
    if let Ok(stamp) = signed
        .replace_nanosecond(0)
        .unwrap_or(signed)
        .format(&Rfc3339)
    {
        checkpoint = checkpoint
            .with_extension(format!("timestamp {stamp}"))
            .map_err(AuditLogError::Checkpoint)?;
    }
    let note: SignedNote = signer
        .sign(&checkpoint)
        .map_err(AuditLogError::Checkpoint)?;
    let insert = Query::insert()
        .into_table(col(CHECKPOINTS))
        .columns([col("size"), col("head_hash"), col("note"), col("signed_at")])
        .values([
            to_i64(head.size)?.into(),
            head.hash.as_bytes().to_vec().into(),
            note.as_str().into(),
            signed_at.value(conn.backend()).into(),
        ])
        .map_err(|err| AuditLogError::Corrupt(err.to_string()))?
        .to_owned();
    conn.execute(&insert).await?;
    Ok(StoredCheckpoint {
        size: head.size,
        head: head.hash,
        note: note.into_string(),
        signed_at: signed_at.into(),
    })
}

/// Replays the entries after `from` up to `to` and checks that they lead to `to`.
async fn check_since(conn: &mut Conn<'_>, from: ChainHead, to: ChainHead) -> Result<()> {
    let mut chain = ChainVerifier::resume(from);
    let mut after = to_i64(from.size)?;
    let end = to_i64(to.size)?;
    while after < end {
        let rows: Vec<AuditRow> = conn
            .fetch_all(
                Query::select()
                    .columns(ALL_COLUMNS.iter().map(|c| col(c)))
                    .from(col(AUDIT))
                    .and_where(Expr::col(col("sequence")).gt(after))
                    .and_where(Expr::col(col("sequence")).lte(end))
                    .order_by(col("sequence"), Order::Asc)
                    .limit(PAGE),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.sequence.unwrap_or(end);
        for row in &rows {
            let refuse = |problem: String| {
                AuditLogError::Corrupt(format!(
                    "not signing a checkpoint: {problem}; run `datavern audit verify`"
                ))
            };
            let bytes = row.canonical_bytes().map_err(refuse)?;
            let stored = row
                .entry_hash
                .as_deref()
                .and_then(|h| ChainHash::try_from(h).ok())
                .ok_or_else(|| refuse(format!("entry id {} has no valid hash", row.id)))?;
            let sequence = row
                .sequence
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0);
            chain
                .push(sequence, &bytes, &stored)
                .map_err(|err| refuse(err.to_string()))?;
        }
    }
    if chain.head() != to {
        return Err(AuditLogError::Corrupt(format!(
            "not signing a checkpoint: the entries do not lead to the head of size {}; run \
             `datavern audit verify`",
            to.size
        ))
        .into());
    }
    Ok(())
}

pub(crate) async fn read_checkpoints(conn: &mut Conn<'_>) -> Result<Vec<StoredCheckpoint>> {
    let rows: Vec<CheckpointRow> = conn
        .fetch_all(
            Query::select()
                .columns([col("size"), col("head_hash"), col("note"), col("signed_at")])
                .from(col(CHECKPOINTS))
                .order_by(col("size"), Order::Asc),
        )
        .await?;
    rows.into_iter()
        .map(|(size, head, note, signed_at)| {
            let corrupt = |what: &str| -> StoreError {
                AuditLogError::Corrupt(format!("checkpoint of size {size}: {what}")).into()
            };
            Ok(StoredCheckpoint {
                size: u64::try_from(size).map_err(|_| corrupt("negative size"))?,
                head: ChainHash::try_from(head.as_slice())
                    .map_err(|_| corrupt("head hash is not 32 bytes"))?,
                note: note.0,
                signed_at: signed_at.into(),
            })
        })
        .collect()
}
