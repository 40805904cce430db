//! The two transactions the audit log's maintenance runs in, once for every backend.

use datavern_sql::{Begin, Conn, Database};

use crate::error::Result;

/// Runs `work` in a read-only snapshot of the data database ([`Begin::Snapshot`]) and rolls
/// it back: export and verify see one consistent log however long they take.
pub(super) async fn in_snapshot<T>(
    db: &Database,
    work: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T>,
) -> Result<T> {
    let mut tx = db.begin(Begin::Snapshot).await?;
    let result = work(&mut tx.conn()).await;
    tx.rollback().await?;
    result
}

/// Runs `work` in a write transaction that sees rows committed while it waits for the head's
/// lock ([`Begin::ReadCommittedWrite`]), and commits it if `work` succeeds. The sealing
/// `UPDATE` names a round's ids as parameters; a generic plan evaluated the id list against
/// every unsealed entry (2 s per round of 250 with a million waiting on PostgreSQL), so every
/// statement is planned for its values ([`Conn::prefer_custom_plans`]).
pub(super) async fn in_head_lock<T>(
    db: &Database,
    work: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T>,
) -> Result<T> {
    let mut tx = db.begin(Begin::ReadCommittedWrite).await?;
    tx.conn().prefer_custom_plans().await?;
    let result = work(&mut tx.conn()).await?;
    tx.commit().await?;
    Ok(result)
}
