//! The tamper-evident audit log: entries written with the changes they record, sealed into a
//! hash chain in commit order, signed checkpoints, verification, export and queries.
//!
//! ```text
//!  change's transaction ──append──┐
//!  record() ─► channel ─► writer ─┤  INSERT dv_audit (sequence NULL)      ← unsealed
//!              (group commit)     ▼
//!                              sealer (one at a time: head locked)     ← commit order
//!                                 │  sequence = size + 1, entry_hash = chain_next(prev, …)
//!                                 ▼
//!                         dv_audit_head (size, hash) ──► checkpoint: signed note
//! ```
//!
//! - [`AuditEntry`]: what an entry holds (ids and field names, never personal values) and its
//!   canonical bytes.
//! - `append` (crate-internal): writes an entry inside the caller's transaction, so it
//!   commits or rolls back with the change.
//! - [`AuditLog::record`]: for reads and denials, which have no transaction of their own:
//!   many concurrent callers share one transaction (group commit) and each resolves once its
//!   entry is durable, or fails (fail closed).
//! - [`AuditLog::seal`], and a background task that seals continuously.
//! - [`AuditLog::checkpoint`]: signs the head (C2SP signed note).
//! - [`AuditLog::verify`], [`AuditLog::export`], [`verify_export`]: replays the chain and the
//!   checkpoints and reports the first bad position.
//! - [`AuditLog::query`]: entries of one tenant by subject, record, principal, time.
//!
//! `docs/audit.md` has the design, the encoding and the threat model.

mod action;
mod checkpoint;
pub mod entry;
mod error;
mod export;
mod query;
mod sealer;
mod stored;
mod tx;
mod verify;
pub mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use datavern_core::clock::{Clock, SystemClock};
use datavern_crypto::audit::{ChainHead, CheckpointSigner};
use datavern_sql::{At, Database};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::instrument;

use crate::error::Result;

pub use self::action::{AuditAction, AuditOutcome, BackupEvent, MigrationEvent};
pub use self::checkpoint::StoredCheckpoint;
pub use self::entry::{AuditEntry, MAX_REQUEST_ID};
pub use self::error::AuditLogError;
pub use self::export::{
    EXPORT_FORMAT, EXPORT_VERSION, ExportSummary, verify_export, verify_export_file,
};
pub use self::query::{AuditFilter, AuditRecord, Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
pub use self::verify::{Problem, VerifyFailure, VerifyReport};
// The records module appends each change's entry inside the change's transaction.
#[allow(unused_imports)]
pub use self::writer::{append, append_all};

/// How the audit log batches, seals and checkpoints.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditConfig {
    /// Most entries one group commit writes (one transaction, one multi-row insert).
    pub batch_size: usize,
    /// Entries that may wait for the writer; when full, [`AuditLog::record`] waits
    /// (backpressure).
    pub queue_capacity: usize,
    /// How often the background task seals, besides after every group commit; `None`: no
    /// background task (seal with [`AuditLog::seal`]).
    pub seal_interval: Option<Duration>,
    /// Most entries one sealing transaction seals (a sealing pass runs rounds until done).
    pub seal_round: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            batch_size: 256,
            queue_capacity: 4096,
            seal_interval: Some(Duration::from_millis(250)),
            seal_round: 1000,
        }
    }
}

impl AuditConfig {
    /// No background task: entries are sealed only by [`AuditLog::seal`] (and
    /// [`AuditLog::shutdown`]). For tools such as `datavern audit verify` that must not
    /// change what they inspect, and for tests.
    pub fn manual() -> Self {
        AuditConfig {
            seal_interval: None,
            ..AuditConfig::default()
        }
    }
}

/// Counters of the audit log since it was opened, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AuditStats {
    /// Entries written through [`AuditLog::record`].
    pub entries_recorded: u64,
    /// Group-commit transactions that committed.
    pub batches_committed: u64,
    /// Group-commit transactions that failed (their callers got an error).
    pub batches_failed: u64,
    /// Entries sealed by this process.
    pub entries_sealed: u64,
}

/// The audit log of one data database: group commit, sealing, checkpoints, verification,
/// export and queries.
///
/// Held by [`Store`](crate::Store) (`store.audit()`); cheap to clone: clones share the
/// writer and the background task.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    config: AuditConfig,
    /// The store's clock: `sealed_at` and the sealing lag.
    clock: Mutex<Arc<dyn Clock>>,
    writer: Mutex<WriterState>,
    background: Mutex<Option<Background>>,
    checkpointing: Mutex<Option<Checkpointing>>,
    shared: Arc<Shared>,
}

enum WriterState {
    NotStarted,
    Running {
        sender: mpsc::Sender<writer::Pending>,
        task: JoinHandle<()>,
    },
    Closed,
}

struct Background {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Periodic checkpoints by the background task.
#[derive(Clone)]
struct Checkpointing {
    signer: Arc<CheckpointSigner>,
    origin: String,
    interval: Duration,
}

/// State shared with the tasks.
pub(crate) struct Shared {
    pub(crate) batches: AtomicU64,
    pub(crate) entries: AtomicU64,
    pub(crate) failed_batches: AtomicU64,
    pub(crate) sealed: AtomicU64,
    wake: Notify,
    /// Serializes this process's sealing passes (the database lock serializes processes).
    seal_lock: tokio::sync::Mutex<()>,
}

/// Why the sealer is woken.
pub(crate) enum Signal {
    /// A group commit wrote entries.
    Written,
}

impl Shared {
    pub(crate) fn wake_sealer(&self, _why: Signal) {
        self.wake.notify_one();
    }
}

impl AuditLog {
    /// The audit log of `db` (the data database, migrated). Starts no task: the group-commit
    /// writer starts with the first [`record`](Self::record), the background sealer with
    /// [`start`](Self::start).
    pub fn new(db: Database, config: AuditConfig) -> AuditLog {
        AuditLog {
            inner: Arc::new(Inner {
                db,
                config,
                clock: Mutex::new(Arc::new(SystemClock)),
                writer: Mutex::new(WriterState::NotStarted),
                background: Mutex::new(None),
                checkpointing: Mutex::new(None),
                shared: Arc::new(Shared {
                    batches: AtomicU64::new(0),
                    entries: AtomicU64::new(0),
                    failed_batches: AtomicU64::new(0),
                    sealed: AtomicU64::new(0),
                    wake: Notify::new(),
                    seal_lock: tokio::sync::Mutex::new(()),
                }),
            }),
        }
    }

    /// The database the log lives in.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// Takes time (`sealed_at`, the sealing lag) from `clock` instead of the system clock;
    /// [`Store::with_clock`](crate::Store::with_clock) passes the store's.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *lock(&self.inner.clock) = clock;
    }

    /// The log's clock's current time.
    pub fn now(&self) -> At {
        At::from(lock(&self.inner.clock).now())
    }

    /// Starts the background task that seals continuously (every
    /// [`seal_interval`](AuditConfig::seal_interval) and after every group commit) and signs
    /// checkpoints when [`set_checkpointing`](Self::set_checkpointing) configured a signer.
    /// Does nothing without a seal interval, when already started, or after shutdown.
    pub fn start(&self) {
        let Some(interval) = self.inner.config.seal_interval else {
            return;
        };
        let mut background = lock(&self.inner.background);
        if background.is_some() || matches!(*lock(&self.inner.writer), WriterState::Closed) {
            return;
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(background_task(self.clone_weak(), interval, stopped));
        *background = Some(Background { stop, task });
    }

    /// Signs a checkpoint of the head with `signer` for the log named `origin` every
    /// `interval` (from the background task, when one runs and entries were sealed since the
    /// last checkpoint).
    pub fn set_checkpointing(
        &self,
        signer: Arc<CheckpointSigner>,
        origin: impl Into<String>,
        interval: Duration,
    ) {
        *lock(&self.inner.checkpointing) = Some(Checkpointing {
            signer,
            origin: origin.into(),
            interval,
        });
    }

    /// Writes `entry` with the group commit: concurrent callers share one transaction, and
    /// this resolves once the entry is committed (durable), unsealed; the sealer chains it
    /// shortly after. For reads and denials; a change's own entry is appended in the change's
    /// transaction instead.
    ///
    /// Fails closed: when the batch cannot be written every caller in it gets
    /// [`AuditLogError::BatchFailed`], and the read it records must fail too.
    #[instrument(skip_all, fields(action = %entry.action))]
    pub async fn record(&self, entry: AuditEntry) -> Result<()> {
        entry.check()?;
        let sender = self.sender()?;
        let (done, answer) = oneshot::channel();
        sender
            .send(writer::Pending { entry, done })
            .await
            .map_err(|_| AuditLogError::Closed)?;
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(AuditLogError::Closed.into()),
        }
    }

    /// Seals every entry committed and not yet sealed, in commit order, and returns the head
    /// of the chain. Idempotent: with nothing to seal it returns the current head.
    #[instrument(skip_all)]
    pub async fn seal(&self) -> Result<ChainHead> {
        let _pass = self.inner.shared.seal_lock.lock().await;
        let clock = lock(&self.inner.clock).clone();
        let (head, sealed) =
            sealer::seal(&self.inner.db, self.inner.config.seal_round, clock.as_ref()).await?;
        self.inner
            .shared
            .sealed
            .fetch_add(sealed, Ordering::Relaxed);
        Ok(head)
    }

    /// Age of the oldest unsealed entry, zero when all are sealed: the
    /// `datavern_audit_lag_seconds` metric. An unsealed entry can still be altered without
    /// breaking the chain, so alert when this exceeds a few seconds.
    pub async fn lag(&self) -> Result<Duration> {
        sealer::lag(&self.inner.db, self.now()).await
    }

    /// Counters since the log was opened.
    pub fn stats(&self) -> AuditStats {
        let shared = &self.inner.shared;
        AuditStats {
            entries_recorded: shared.entries.load(Ordering::Relaxed),
            batches_committed: shared.batches.load(Ordering::Relaxed),
            batches_failed: shared.failed_batches.load(Ordering::Relaxed),
            entries_sealed: shared.sealed.load(Ordering::Relaxed),
        }
    }

    /// Stops recording: waits until every entry already handed to
    /// [`record`](Self::record) is written, and stops the background task. Does not seal.
    /// Later calls to `record` fail with [`AuditLogError::Closed`].
    pub async fn stop(&self) {
        let writer = std::mem::replace(&mut *lock(&self.inner.writer), WriterState::Closed);
        if let WriterState::Running { sender, task } = writer {
            drop(sender);
            // The task ends when every sender is gone; a panic in it was already reported.
            let _ = task.await;
        }
        let background = lock(&self.inner.background).take();
        if let Some(Background { stop, task }) = background {
            let _ = stop.send(true);
            let _ = task.await;
        }
    }

    /// Clean shutdown: [`stop`](Self::stop), then seal everything written, then sign a
    /// checkpoint of the final head if a signer is configured. Returns the final head.
    pub async fn shutdown(&self) -> Result<ChainHead> {
        self.stop().await;
        let head = self.seal().await?;
        let checkpointing = lock(&self.inner.checkpointing).clone();
        if let Some(plan) = checkpointing {
            self.checkpoint(&plan.signer, &plan.origin).await?;
        }
        Ok(head)
    }

    fn sender(&self) -> Result<mpsc::Sender<writer::Pending>> {
        let mut state = lock(&self.inner.writer);
        match &*state {
            WriterState::Running { sender, .. } => Ok(sender.clone()),
            WriterState::Closed => Err(AuditLogError::Closed.into()),
            WriterState::NotStarted => {
                let config = &self.inner.config;
                let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
                let task = tokio::spawn(writer::run(
                    self.inner.db.clone(),
                    receiver,
                    config.batch_size.max(1),
                    Arc::clone(&self.inner.shared),
                ));
                *state = WriterState::Running {
                    sender: sender.clone(),
                    task,
                };
                Ok(sender)
            }
        }
    }

    /// A handle for the background task that does not keep the log alive.
    fn clone_weak(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }
}

/// How a test transaction ends (feature `test-support`).
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEnd {
    /// Commit it.
    Commit,
    /// Roll it back.
    Rollback,
}

#[cfg(feature = "test-support")]
impl AuditLog {
    /// Test support: appends `entries` one by one in one transaction, as a change's
    /// transaction does, then ends it as `end` says.
    pub async fn append_in_transaction(&self, entries: &[AuditEntry], end: TxEnd) -> Result<()> {
        let mut tx = self.inner.db.begin(datavern_sql::Begin::Plain).await?;
        for entry in entries {
            append(&mut tx.conn(), entry).await?;
        }
        match end {
            TxEnd::Commit => tx.commit().await?,
            TxEnd::Rollback => tx.rollback().await?,
        }
        Ok(())
    }
}

/// A transaction that appended an entry and is still open (feature `test-support`).
#[cfg(feature = "test-support")]
pub struct OpenTransaction {
    tx: datavern_sql::Transaction,
}

#[cfg(feature = "test-support")]
impl AuditLog {
    /// Test support: begins a transaction, appends `entry` in it as a change does, and
    /// leaves it open, so a test can commit it after other entries were sealed.
    pub async fn begin_with(&self, entry: &AuditEntry) -> Result<OpenTransaction> {
        let mut tx = self.inner.db.begin(datavern_sql::Begin::Plain).await?;
        append(&mut tx.conn(), entry).await?;
        Ok(OpenTransaction { tx })
    }
}

#[cfg(feature = "test-support")]
impl OpenTransaction {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("backend", &self.inner.db.backend())
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Seals after every group commit and every `interval`; signs checkpoints when due. Ends when
/// told to stop or when the log is gone.
/// How long the background sealer waits after being woken by a group commit, so that one
/// round seals what the next commits add too (sealing lag stays far below the interval).
const SEAL_COALESCE: Duration = Duration::from_millis(20);

async fn background_task(
    log: std::sync::Weak<Inner>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = false;
    let mut last_checkpoint: Option<tokio::time::Instant> = None;
    loop {
        let Some(inner) = log.upgrade() else { return };
        let shared = Arc::clone(&inner.shared);
        let audit = AuditLog { inner };
        match audit.seal().await {
            Ok(head) => {
                if failing {
                    tracing::info!(size = head.size, "Audit sealing recovered");
                    failing = false;
                }
                checkpoint_if_due(&audit, head, &mut last_checkpoint).await;
            }
            Err(err) => {
                if !failing {
                    tracing::error!(error = %crate::error::report(&err), "Audit sealing failed; retrying");
                    failing = true;
                }
            }
        }
        drop(audit);
        let woken = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = shared.wake.notified() => true,
            _ = stop.changed() => return,
        };
        if woken {
            // Under load a group commit lands every millisecond or two; sealing after each
            // one rewrote the same index pages for a handful of entries every time. Waiting a
            // little lets one round seal everything written meanwhile.
            tokio::select! {
                _ = tokio::time::sleep(SEAL_COALESCE) => {}
                _ = stop.changed() => return,
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn checkpoint_if_due(
    audit: &AuditLog,
    head: ChainHead,
    last: &mut Option<tokio::time::Instant>,
) {
    let plan = lock(&audit.inner.checkpointing).clone();
    let Some(plan) = plan else { return };
    if last.is_some_and(|at| at.elapsed() < plan.interval) {
        return;
    }
    match audit.checkpoint(&plan.signer, &plan.origin).await {
        Ok(checkpoint) => {
            *last = Some(tokio::time::Instant::now());
            tracing::debug!(size = checkpoint.size, head = %head.hash, "Signed audit checkpoint");
        }
        Err(err) => tracing::error!(error = %crate::error::report(&err), "Audit checkpoint failed"),
    }
}

/// The lock's data; a panic while it was held leaves plain data behind, still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
