//! The audit log on every backend: appends that roll back, group commit, sealing, tampering
//! directly in SQL (each alteration found at the right position), checkpoints, export and
//! offline verification, queries, lag and shutdown.

use std::sync::Arc;
use std::time::Duration;

use datavern_core::access::Operation;
use datavern_core::clock::{Clock as _, SystemClock};
use datavern_crypto::audit::{
    ChainError, ChainHash, ChainHead, CheckpointSigner, CheckpointVerifier, KeyName, chain_next,
};
use datavern_sql::testing::TestDb;
use datavern_sql::{At, Backend, Database, DatabaseRole};
use datavern_store::StoreError;
use datavern_store::audit::{
    AuditAction, AuditConfig, AuditEntry, AuditFilter, AuditLog, AuditLogError, AuditOutcome,
    Problem, TxEnd, VerifyReport, verify_export,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::support::{execute, on_every_backend, report, scalar, tenant};

/// The action of the test entries.
const READ: AuditAction = AuditAction::Record(Operation::Read);

const ORIGIN: &str = "datavern.test/audit/0301";

/// A test database with an audit log that seals only when told to.
struct Setup {
    db: TestDb,
    data: Database,
    log: AuditLog,
}

impl Setup {
    async fn new(backend: Backend) -> Setup {
        let db = TestDb::new(backend).await;
        let data = Database::connect(&db.config().data, DatabaseRole::Data)
            .await
            .unwrap();
        data.migrate().await.unwrap();
        let log = AuditLog::new(data.clone(), AuditConfig::manual());
        Setup { db, data, log }
    }

    /// Another audit log on the same database, with its own pool (another process).
    async fn other_log(&self) -> AuditLog {
        let data = Database::connect(&self.db.config().data, DatabaseRole::Data)
            .await
            .unwrap();
        AuditLog::new(data, AuditConfig::manual())
    }

    /// Records `n` entries one after another.
    async fn record(&self, n: usize) {
        for i in 0..n {
            self.log.record(entry(i)).await.unwrap();
        }
    }

    /// Seven sealed entries, a checkpoint at 5: the log the tamper tests alter.
    async fn seven_with_checkpoint_at_five(&self) -> CheckpointSigner {
        let signer = signer();
        self.record(5).await;
        assert_eq!(self.log.seal().await.unwrap().size, 5);
        self.log.checkpoint(&signer, ORIGIN).await.unwrap();
        self.record(2).await;
        assert_eq!(self.log.seal().await.unwrap().size, 7);
        let report = self.log.verify(Some(&signer.verifier())).await.unwrap();
        assert!(report.is_intact(), "{:?}", report.failure);
        assert_eq!(report.checkpoints_verified, 1);
        signer
    }

    async fn verify(&self, signer: &CheckpointSigner) -> VerifyReport {
        self.log.verify(Some(&signer.verifier())).await.unwrap()
    }

    /// Runs `sql` as an attacker with the owner's privileges would: dropping the triggers
    /// that keep the audit tables append-only first.
    async fn sql(&self, sql: &str) {
        datavern_sql::testing::drop_audit_guards(&self.data).await;
        execute(&self.data, sql).await;
    }

    fn backend(&self) -> Backend {
        self.db.backend()
    }

    async fn finish(self) {
        self.log.stop().await;
        self.data.close().await;
        self.db.cleanup().await;
    }
}

fn signer() -> CheckpointSigner {
    CheckpointSigner::generate(KeyName::new("datavern.test/audit").unwrap()).unwrap()
}

/// The system clock's time, as the log's own clock (`AuditLog::new` without a store) shows.
fn now() -> At {
    At::from(SystemClock.now())
}

fn entry(i: usize) -> AuditEntry {
    AuditEntry::new(
        now(),
        Some(tenant("0301")),
        format!("saksbehandler-{i}"),
        READ,
        AuditOutcome::Granted,
    )
    .with_fields(["navn".to_owned(), "adresse".to_owned()])
    .with_request_id(format!("req-{i}"))
}

/// Asserts the report fails at `position` and returns the problem.
#[track_caller]
fn fails_at(report: &VerifyReport, position: u64) -> &Problem {
    let failure = report
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("expected a failure at {position}, the log verified"));
    assert_eq!(failure.position, Some(position), "{failure}");
    assert!(!failure.to_string().is_empty());
    &failure.problem
}

/// An SQL literal of `bytes` for the backend.
fn bytes_literal(backend: Backend, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match backend {
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
        _ => format!("X'{hex}'"),
    }
}

#[on_every_backend]
async fn rolled_back_append_leaves_nothing(backend: Backend) {
    let s = Setup::new(backend).await;
    s.log
        .append_in_transaction(&[entry(1), entry(2)], TxEnd::Rollback)
        .await
        .unwrap();
    assert_eq!(scalar(&s.data, "SELECT COUNT(*) FROM dv_audit").await, 0);
    assert_eq!(s.log.seal().await.unwrap(), ChainHead::EMPTY);

    s.log
        .append_in_transaction(&[entry(1), entry(2)], TxEnd::Commit)
        .await
        .unwrap();
    assert_eq!(
        scalar(
            &s.data,
            "SELECT COUNT(*) FROM dv_audit WHERE sequence IS NULL"
        )
        .await,
        2
    );
    assert_eq!(s.log.seal().await.unwrap().size, 2);
    s.finish().await;
}

#[on_every_backend]
async fn group_commit_writes_200_concurrent_reads_in_fewer_transactions(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let log = s.log.clone();
        tasks.spawn(async move { log.record(entry(i)).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(scalar(&s.data, "SELECT COUNT(*) FROM dv_audit").await, 200);
    let stats = s.log.stats();
    assert_eq!(stats.entries_recorded, 200);
    assert!(
        stats.batches_committed < 200,
        "200 entries took {} transactions",
        stats.batches_committed
    );
    assert_eq!(s.log.seal().await.unwrap().size, 200);
    assert!(s.log.verify(None).await.unwrap().is_intact());
    s.finish().await;
}

#[on_every_backend]
async fn failed_group_commit_fails_every_waiter(backend: Backend) {
    let s = Setup::new(backend).await;
    let closed = s.other_log().await;
    closed.database().close().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..3 {
        let log = closed.clone();
        tasks.spawn(async move { log.record(entry(i)).await });
    }
    while let Some(result) = tasks.join_next().await {
        let err = result.unwrap().unwrap_err();
        assert!(
            matches!(err, StoreError::Audit(AuditLogError::BatchFailed(_))),
            "{}",
            report(&err)
        );
    }
    assert!(closed.stats().batches_failed >= 1);
    assert_eq!(closed.stats().entries_recorded, 0);

    // A value that does not fit its column is refused before it is queued.
    let long = AuditEntry::new(
        now(),
        Some(tenant("0301")),
        "p".repeat(300),
        READ,
        AuditOutcome::Granted,
    );
    let err = s.log.record(long).await.unwrap_err();
    assert!(matches!(
        err,
        StoreError::Audit(AuditLogError::InvalidEntry(_))
    ));

    // After stop, recording fails closed.
    s.log.stop().await;
    let err = s.log.record(entry(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Audit(AuditLogError::Closed)));
    assert_eq!(scalar(&s.data, "SELECT COUNT(*) FROM dv_audit").await, 0);
    s.finish().await;
}

#[on_every_backend]
async fn sealing_is_idempotent_and_continues_the_chain(backend: Backend) {
    let s = Setup::new(backend).await;
    assert_eq!(s.log.seal().await.unwrap(), ChainHead::EMPTY);
    s.record(3).await;
    let first = s.log.seal().await.unwrap();
    assert_eq!(first.size, 3);
    assert_eq!(s.log.seal().await.unwrap(), first);

    s.record(2).await;
    let second = s.log.seal().await.unwrap();
    assert_eq!(second.size, 5);

    // The chain continues from the first head: recompute it from the entries as read back.
    let page = s
        .log
        .query(AuditFilter::new(tenant("0301")).limit(10))
        .await
        .unwrap();
    let mut head = ChainHead::EMPTY;
    for record in &page.items {
        let sequence = record.sequence.unwrap();
        head = ChainHead {
            size: sequence,
            hash: chain_next(&head.hash, sequence, &record.entry.canonical_bytes()),
        };
        assert_eq!(record.entry_hash, Some(head.hash));
        if sequence == 3 {
            assert_eq!(head, first);
        }
    }
    assert_eq!(head, second);
    let report = s.log.verify(None).await.unwrap();
    assert!(report.is_intact());
    assert_eq!((report.entries, report.head), (5, second));
    assert_eq!(report.recorded_head, Some(second));
    s.finish().await;
}

#[on_every_backend]
async fn concurrent_sealers_keep_one_chain(backend: Backend) {
    let s = Setup::new(backend).await;
    let other = s.other_log().await;
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..10 {
        for i in 0..10 {
            let log = if i % 2 == 0 {
                s.log.clone()
            } else {
                other.clone()
            };
            tasks.spawn(async move {
                log.record(entry(round * 10 + i)).await?;
                log.seal().await.map(|_| ())
            });
        }
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let head = other.seal().await.unwrap();
    assert_eq!(head.size, 100);
    let report = s.log.verify(None).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.failure);
    assert_eq!(report.unsealed, 0);
    other.stop().await;
    other.database().close().await;
    s.finish().await;
}

#[on_every_backend]
async fn chain_order_is_commit_order_not_id_order(backend: Backend) {
    let s = Setup::new(backend).await;
    // `early` takes the lower id but does not commit yet.
    let early = s.log.begin_with(&entry(1)).await.unwrap();
    let log = s.log.clone();
    let late = tokio::spawn(async move { log.record(entry(2)).await });
    let order = if backend == Backend::Sqlite {
        // One writer at a time: `late` waits for `early`'s write lock, so `early` commits
        // first and is sealed first.
        early.commit().await.unwrap();
        late.await.unwrap().unwrap();
        assert_eq!(s.log.seal().await.unwrap().size, 2);
        ["saksbehandler-1", "saksbehandler-2"]
    } else {
        // `late` commits while `early` is still open: it is sealed alone, and `early`, with
        // the lower id, gets the next sequence number once it commits.
        late.await.unwrap().unwrap();
        assert_eq!(s.log.seal().await.unwrap().size, 1);
        early.commit().await.unwrap();
        assert_eq!(s.log.seal().await.unwrap().size, 2);
        ["saksbehandler-2", "saksbehandler-1"]
    };
    let page = s.log.query(AuditFilter::new(tenant("0301"))).await.unwrap();
    let mut sealed: Vec<_> = page
        .items
        .iter()
        .map(|r| (r.sequence.unwrap(), r.entry.principal.as_str()))
        .collect();
    sealed.sort_unstable();
    assert_eq!(sealed, [(1, order[0]), (2, order[1])]);
    assert!(s.log.verify(None).await.unwrap().is_intact());
    s.finish().await;
}

#[on_every_backend]
async fn edited_column_is_found_at_its_entry(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    s.sql("UPDATE dv_audit SET action = 'delete' WHERE sequence = 3")
        .await;
    let report = s.verify(&signer).await;
    assert_eq!(
        fails_at(&report, 3),
        &Problem::Chain(ChainError::HashMismatch { sequence: 3 })
    );
    assert_eq!(report.entries, 2);
    s.finish().await;
}

#[on_every_backend]
async fn deleted_entry_is_found_at_its_position(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    s.sql("DELETE FROM dv_audit WHERE sequence = 3").await;
    let report = s.verify(&signer).await;
    assert_eq!(
        fails_at(&report, 3),
        &Problem::Chain(ChainError::SequenceGap {
            expected: 3,
            found: 4
        })
    );
    s.finish().await;
}

/// Inserts a forged entry with sequence 8 after the seven, hashed onto entry 7 (or not).
async fn forge_eighth(s: &Setup, correct_hash: bool) {
    let at = datetime!(2025-01-01 00:00:00 UTC);
    let forged = AuditEntry::new(
        at.into(),
        Some(tenant("0301")),
        "forger",
        READ,
        AuditOutcome::Granted,
    );
    let report = s.log.verify(None).await.unwrap();
    let hash = if correct_hash {
        chain_next(&report.head.hash, 8, &forged.canonical_bytes())
    } else {
        ChainHash::from_bytes([7; 32])
    };
    let time = match s.backend() {
        Backend::Sqlite => "'2025-01-01T00:00:00.000000Z'",
        Backend::Postgres => "'2025-01-01 00:00:00+00'",
        _ => "'2025-01-01 00:00:00'",
    };
    s.sql(&format!(
        "INSERT INTO dv_audit (sequence, entry_hash, format, occurred_at, tenant, principal, \
         action, subjects, fields, outcome) VALUES (8, {}, 1, {time}, '0301', 'forger', 'read', \
         '[]', '[]', 'granted')",
        bytes_literal(s.backend(), hash.as_bytes())
    ))
    .await;
}

#[on_every_backend]
async fn forged_entry_with_a_correct_hash_is_found_past_the_head(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    forge_eighth(&s, true).await;
    let report = s.verify(&signer).await;
    let Problem::Head { recorded, chain } = fails_at(&report, 8) else {
        panic!("{:?}", report.failure);
    };
    assert_eq!((recorded.size, chain.size), (7, 8));
    // The sealer refuses to extend a chain whose head is not its last entry.
    s.record(1).await;
    let err = s.log.seal().await.unwrap_err();
    assert!(matches!(err, StoreError::Audit(AuditLogError::Corrupt(_))));
    s.finish().await;
}

#[on_every_backend]
async fn forged_entry_with_a_wrong_hash_is_found_at_its_position(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    forge_eighth(&s, false).await;
    let report = s.verify(&signer).await;
    assert_eq!(
        fails_at(&report, 8),
        &Problem::Chain(ChainError::HashMismatch { sequence: 8 })
    );
    s.finish().await;
}

#[on_every_backend]
async fn swapped_sequences_are_found_at_the_first(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    s.sql("UPDATE dv_audit SET sequence = 1000 WHERE sequence = 2")
        .await;
    s.sql("UPDATE dv_audit SET sequence = 2 WHERE sequence = 3")
        .await;
    s.sql("UPDATE dv_audit SET sequence = 3 WHERE sequence = 1000")
        .await;
    let report = s.verify(&signer).await;
    assert_eq!(
        fails_at(&report, 2),
        &Problem::Chain(ChainError::HashMismatch { sequence: 2 })
    );
    s.finish().await;
}

#[on_every_backend]
async fn edited_head_is_found(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    let literal = bytes_literal(backend, &[9; 32]);
    s.sql(&format!("UPDATE dv_audit_head SET head_hash = {literal}"))
        .await;
    let report = s.verify(&signer).await;
    let Problem::Head { recorded, chain } = fails_at(&report, 7) else {
        panic!("{:?}", report.failure);
    };
    assert_eq!((recorded.size, chain.size), (7, 7));

    // A head moved back one entry (to entry 6's hash): entry 7 is past it.
    s.sql(
        "UPDATE dv_audit_head SET size = 6, head_hash = \
         (SELECT entry_hash FROM (SELECT entry_hash FROM dv_audit WHERE sequence = 6) AS e)",
    )
    .await;
    let report = s.verify(&signer).await;
    let Problem::Head { recorded, chain } = fails_at(&report, 7) else {
        panic!("{:?}", report.failure);
    };
    assert_eq!((recorded.size, chain.size), (6, 7));
    s.finish().await;
}

#[on_every_backend]
async fn edited_checkpoint_is_found(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    s.sql("UPDATE dv_audit_checkpoints SET note = REPLACE(note, 'timestamp', 'tidspunkt')")
        .await;
    let report = s.verify(&signer).await;
    let Problem::Checkpoint { size: 5, reason } = fails_at(&report, 5) else {
        panic!("{:?}", report.failure);
    };
    assert!(reason.contains("invalid signature"), "{reason}");

    // The note intact but its column pointing elsewhere.
    s.sql("UPDATE dv_audit_checkpoints SET note = REPLACE(note, 'tidspunkt', 'timestamp')")
        .await;
    assert!(s.verify(&signer).await.is_intact());
    let literal = bytes_literal(backend, &[1; 32]);
    s.sql(&format!(
        "UPDATE dv_audit_checkpoints SET head_hash = {literal}"
    ))
    .await;
    let report = s.verify(&signer).await;
    assert!(matches!(
        fails_at(&report, 5),
        Problem::Checkpoint { size: 5, .. }
    ));
    s.finish().await;
}

/// Alters entry `from`'s action and recomputes the hashes of it and every later entry, and
/// the head: what an attacker with write access to the database can do.
async fn rewrite_from(s: &Setup, from: u64) {
    s.sql(&format!(
        "UPDATE dv_audit SET action = 'delete' WHERE sequence = {from}"
    ))
    .await;
    let page = s
        .log
        .query(AuditFilter::new(tenant("0301")).limit(100))
        .await
        .unwrap();
    let mut head = ChainHead::EMPTY;
    for record in page.items {
        let Some(sequence) = record.sequence else {
            continue;
        };
        head = ChainHead {
            size: sequence,
            hash: chain_next(&head.hash, sequence, &record.entry.canonical_bytes()),
        };
        if sequence >= from {
            let literal = bytes_literal(s.backend(), head.hash.as_bytes());
            s.sql(&format!(
                "UPDATE dv_audit SET entry_hash = {literal} WHERE sequence = {sequence}"
            ))
            .await;
        }
    }
    let literal = bytes_literal(s.backend(), head.hash.as_bytes());
    s.sql(&format!("UPDATE dv_audit_head SET head_hash = {literal}"))
        .await;
}

#[on_every_backend]
async fn rewritten_chain_is_found_at_the_next_checkpoint(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    rewrite_from(&s, 3).await;
    // Without the key, the rewritten chain is consistent: that is what checkpoints are for.
    assert!(s.log.verify(None).await.unwrap().is_intact());
    let report = s.verify(&signer).await;
    assert_eq!(
        fails_at(&report, 5),
        &Problem::Chain(ChainError::CheckpointMismatch { size: 5 })
    );
    s.finish().await;
}

#[on_every_backend]
async fn truncated_tail_is_found_only_against_a_kept_checkpoint(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    let kept = s.log.checkpoint(&signer, ORIGIN).await.unwrap();
    assert_eq!(kept.size, 7);

    // The attacker drops entries 6 and 7, the checkpoint that covered them, and moves the
    // head back to entry 5.
    s.sql("DELETE FROM dv_audit_checkpoints WHERE size = 7")
        .await;
    s.sql("DELETE FROM dv_audit WHERE sequence > 5").await;
    s.sql(
        "UPDATE dv_audit_head SET size = 5, head_hash = \
         (SELECT entry_hash FROM (SELECT entry_hash FROM dv_audit WHERE sequence = 5) AS e)",
    )
    .await;
    let report = s.verify(&signer).await;
    assert!(report.is_intact(), "{:?}", report.failure);
    assert_eq!(report.entries, 5);

    let report = s
        .log
        .verify_with_checkpoints(&signer.verifier(), &[kept.note])
        .await
        .unwrap();
    assert_eq!(
        fails_at(&report, 6),
        &Problem::Chain(ChainError::Truncated {
            size: 5,
            checkpoint: 7
        })
    );
    s.finish().await;
}

#[on_every_backend]
async fn export_verifies_offline_and_fails_after_an_edited_line(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    let verifier_key = signer.verifier_key();
    let mut file = Vec::new();
    let summary = s.log.export(&mut file, Some(&verifier_key)).await.unwrap();
    assert_eq!(
        (summary.entries, summary.checkpoints, summary.head.size),
        (7, 1, 7)
    );

    // Offline: only the public key.
    let verifier = CheckpointVerifier::new(&verifier_key).unwrap();
    let report = verify_export(file.as_slice(), Some(&verifier)).unwrap();
    assert!(report.is_intact(), "{:?}", report.failure);
    assert_eq!((report.entries, report.checkpoints_verified), (7, 1));

    let text = String::from_utf8(file).unwrap();
    let edit = |find: &str, replace: &str| -> Vec<u8> {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let line = lines
            .iter_mut()
            .find(|l| l.contains(find))
            .unwrap_or_else(|| panic!("no line with {find}"));
        *line = line.replacen(find, replace, 1);
        (lines.join("\n") + "\n").into_bytes()
    };

    // One entry's principal changed.
    let edited = edit(
        "\"principal\":\"saksbehandler-2\",",
        "\"principal\":\"saksbehandler-9\",",
    );
    let report = verify_export(edited.as_slice(), Some(&verifier)).unwrap();
    assert_eq!(
        fails_at(&report, 3),
        &Problem::Chain(ChainError::HashMismatch { sequence: 3 })
    );

    // The checkpoint's note changed.
    let edited = edit("timestamp ", "tidspunkt ");
    let report = verify_export(edited.as_slice(), Some(&verifier)).unwrap();
    assert!(matches!(
        fails_at(&report, 5),
        Problem::Checkpoint { size: 5, .. }
    ));

    // An entry line removed.
    let without: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("saksbehandler-3"))
        .collect();
    let report = verify_export((without.join("\n") + "\n").as_bytes(), Some(&verifier)).unwrap();
    assert!(matches!(
        fails_at(&report, 4),
        Problem::Chain(ChainError::SequenceGap { .. })
    ));

    // Not an export at all.
    assert!(verify_export("hello\n".as_bytes(), Some(&verifier)).is_err());
    s.finish().await;
}

#[on_every_backend]
async fn checkpoint_verifies_with_its_key_and_not_with_another(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = s.seven_with_checkpoint_at_five().await;
    let stored = s.log.checkpoints().await.unwrap();
    assert_eq!(stored.len(), 1);
    let checkpoint = signer
        .verifier()
        .verify_for_origin(&stored[0].note, ORIGIN)
        .unwrap();
    assert_eq!(checkpoint.size(), 5);
    assert_eq!(*checkpoint.head_hash(), stored[0].head);

    // Idempotent: a checkpoint of the same head is the stored one.
    s.log.checkpoint(&signer, ORIGIN).await.unwrap();
    s.log.checkpoint(&signer, ORIGIN).await.unwrap();
    assert_eq!(s.log.checkpoints().await.unwrap().len(), 2);

    let another = signer_named("datavern.test/audit");
    let report = s.log.verify(Some(&another.verifier())).await.unwrap();
    let Problem::Checkpoint { size: 5, reason } = fails_at(&report, 5) else {
        panic!("{:?}", report.failure);
    };
    assert!(reason.contains("no signature"), "{reason}");

    // Without a key, checkpoints are counted, not checked.
    let report = s.log.verify(None).await.unwrap();
    assert!(report.is_intact());
    assert_eq!(
        (report.checkpoints_verified, report.checkpoints_unverified),
        (0, 2)
    );
    s.finish().await;
}

fn signer_named(name: &str) -> CheckpointSigner {
    CheckpointSigner::generate(KeyName::new(name).unwrap()).unwrap()
}

#[on_every_backend]
async fn query_filters_by_subject_record_principal_and_time_with_cursor(backend: Backend) {
    let s = Setup::new(backend).await;
    let child = Uuid::now_v7();
    let guardian = Uuid::now_v7();
    let record = Uuid::now_v7();
    let early = datetime!(2025-03-01 10:00:00.123456 UTC);
    let late = datetime!(2025-03-02 10:00:00 UTC);
    let about_child = AuditEntry::new(
        now(),
        Some(tenant("0301")),
        "barnehage",
        AuditAction::Record(Operation::Create),
        AuditOutcome::Granted,
    )
    .with_time(early.into())
    .with_record(record)
    .with_subject(child)
    .with_subject(guardian);
    s.log.record(about_child.clone()).await.unwrap();
    s.log
        .record(entry(1).with_time(late.into()).with_subject(guardian))
        .await
        .unwrap();
    s.log
        .record(
            AuditEntry::new(
                now(),
                Some(tenant("4601")),
                "bergen",
                READ,
                AuditOutcome::Granted,
            )
            .with_subject(child),
        )
        .await
        .unwrap();
    s.log.seal().await.unwrap();

    let oslo = || AuditFilter::new(tenant("0301"));
    let ids = |page: datavern_store::audit::Page<datavern_store::audit::AuditRecord>| {
        page.items
            .into_iter()
            .map(|r| r.entry.principal)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.log.query(oslo().subject(child)).await.unwrap()),
        ["barnehage"]
    );
    assert_eq!(
        ids(s.log.query(oslo().subject(guardian)).await.unwrap()),
        ["barnehage", "saksbehandler-1"]
    );
    assert_eq!(
        ids(s.log.query(oslo().record(record)).await.unwrap()),
        ["barnehage"]
    );
    assert_eq!(
        ids(s
            .log
            .query(oslo().principal("saksbehandler-1"))
            .await
            .unwrap()),
        ["saksbehandler-1"]
    );
    assert_eq!(
        ids(s
            .log
            .query(oslo().between(Some(early), Some(late)))
            .await
            .unwrap()),
        ["barnehage"]
    );
    assert_eq!(
        ids(s.log.query(oslo().between(Some(late), None)).await.unwrap()),
        ["saksbehandler-1"]
    );
    // Another tenant's entries are not there.
    assert_eq!(
        ids(s.log.query(AuditFilter::new(tenant("4601"))).await.unwrap()),
        ["bergen"]
    );

    // Read back whole, as written.
    let page = s.log.query(oslo().record(record)).await.unwrap();
    let stored = &page.items[0];
    assert_eq!(stored.entry, about_child);
    assert_eq!(stored.sequence, Some(1));

    // Pages of one.
    let first = s.log.query(oslo().limit(1)).await.unwrap();
    let cursor = first.next.unwrap();
    let text = cursor.to_string();
    let second = s
        .log
        .query(oslo().limit(1).after(text.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next.is_none());
    assert_ne!(first.items[0].id, second.items[0].id);

    assert!(s.log.query(oslo().limit(0)).await.is_err());
    assert!("x1".parse::<datavern_store::audit::Cursor>().is_err());
    s.finish().await;
}

#[on_every_backend]
async fn lag_is_the_age_of_the_oldest_unsealed_entry(backend: Backend) {
    let s = Setup::new(backend).await;
    assert_eq!(s.log.lag().await.unwrap(), Duration::ZERO);
    let ten_seconds_ago = OffsetDateTime::from(s.log.now()) - time::Duration::seconds(10);
    s.log
        .record(entry(0).with_time(ten_seconds_ago.into()))
        .await
        .unwrap();
    assert!(s.log.lag().await.unwrap() >= Duration::from_secs(10));
    let report = s.log.verify(None).await.unwrap();
    assert_eq!(report.unsealed, 1);
    assert!(report.is_intact());
    s.log.seal().await.unwrap();
    assert_eq!(s.log.lag().await.unwrap(), Duration::ZERO);
    s.finish().await;
}

#[on_every_backend]
async fn shutdown_flushes_seals_and_checkpoints(backend: Backend) {
    let s = Setup::new(backend).await;
    let signer = Arc::new(signer());
    s.log
        .set_checkpointing(Arc::clone(&signer), ORIGIN, Duration::from_secs(3600));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let log = s.log.clone();
        tasks.spawn(async move { log.record(entry(i)).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let head = s.log.shutdown().await.unwrap();
    assert_eq!(head.size, 20);
    let checkpoints = s.log.checkpoints().await.unwrap();
    assert_eq!(checkpoints.last().map(|c| c.size), Some(20));
    let report = s.verify(&signer).await;
    assert!(report.is_intact());
    assert_eq!((report.unsealed, report.last_checkpoint), (0, Some(20)));
    s.finish().await;
}
