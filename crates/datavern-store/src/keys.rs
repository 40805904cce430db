//! The key store: wrapped subject data keys and per-tenant blind-index root keys, in a
//! database of their own.
//!
//! Only [`WrappedKey::to_bytes`] is stored (keys encrypted by the KEK); the clear columns
//! repeat its metadata so a key can be found by the key id at the start of a field envelope,
//! and keys wrapped by an old KEK version can be selected for rewrapping. Creation is
//! race-safe: the primary key `(tenant, subject_id, key_version)` admits one first key per
//! subject, and a loser of the race reads the winner's key back. Destroying a subject's keys
//! (crypto-shredding) removes the wrapped bytes and keeps a tombstone row, so the erasure is
//! visible and no new key is silently made for the erased subject.

use std::future::Future;
use std::sync::Arc;

use datavern_core::catalog::Kommunenummer;
use datavern_core::clock::{Clock, SystemClock};
use datavern_crypto::{KeyId, KeyKind, KeyVersion, WrappedKey};
use datavern_sql::{At, Conn, Database, Tx, TxMode};
use sea_query::{Alias, Expr, InsertStatement, Order, Query, SelectStatement, SimpleExpr};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::ids::SubjectId;

/// Subjects per query in batch lookups (well below every backend's parameter limit).
const BATCH: usize = 500;

/// The key store database and its operations.
#[derive(Debug, Clone)]
pub struct KeyStore {
    db: Database,
    /// The store's clock: creation and destruction times.
    clock: Arc<dyn Clock>,
}

/// One version of a subject's data key, as stored.
#[derive(Debug, Clone)]
pub struct StoredSubjectKey {
    /// The subject.
    pub subject: SubjectId,
    /// The key's id (the one its field envelopes start with).
    pub key_id: KeyId,
    /// The key's version (1 for the subject's first key).
    pub key_version: KeyVersion,
    /// When it was stored.
    pub created_at: OffsetDateTime,
    /// The wrapped key, or when it was destroyed.
    pub state: KeyState,
}

/// Whether a stored key still exists.
#[derive(Debug, Clone)]
pub enum KeyState {
    /// The key, wrapped by the KEK.
    Live(WrappedKey),
    /// The wrapped bytes were deleted (crypto-shredded) at this time; what the key sealed is
    /// unreadable.
    Destroyed {
        /// When.
        at: OffsetDateTime,
    },
}

/// A row of `dv_subject_keys`: subject, version, key id, wrapped, created, destroyed.
type SubjectKeyRow = (
    Uuid,
    i64,
    Vec<u8>,
    Option<Vec<u8>>,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

/// A row of `dv_index_keys`: the wrapped key.
type IndexKeyRow = (Vec<u8>,);

/// The columns of a stored key after the ones that say whose it is.
const KEY_COLUMNS: [&str; 6] = [
    "key_version",
    "key_id",
    "kek_id",
    "kek_version",
    "wrapped",
    "created_at",
];

/// `INSERT INTO table` of a new wrapped key: the `owner` columns that say whose key it is,
/// then the key's version, id, KEK, wrapped bytes and creation time.
fn insert_key<const N: usize>(
    table: &'static str,
    owner: [(&'static str, SimpleExpr); N],
    wrapped: &WrappedKey,
    now: SimpleExpr,
) -> InsertStatement {
    let names = owner.each_ref().map(|(name, _)| *name);
    insert_keys(
        table,
        names,
        [(owner.map(|(_, value)| value), wrapped)],
        now,
    )
}

/// `INSERT INTO table` of several new wrapped keys in one statement: per row, the values of
/// the `owner` columns, then the key's (as [`insert_key`]).
fn insert_keys<'k, const N: usize>(
    table: &'static str,
    owner: [&'static str; N],
    rows: impl IntoIterator<Item = ([SimpleExpr; N], &'k WrappedKey)>,
    now: SimpleExpr,
) -> InsertStatement {
    let mut insert = Query::insert();
    insert
        .into_table(col(table))
        .columns(owner.into_iter().chain(KEY_COLUMNS).map(col));
    for (owner, wrapped) in rows {
        let key: [SimpleExpr; KEY_COLUMNS.len()] = [
            i64::from(wrapped.key_version().get()).into(),
            wrapped.key_id().as_bytes().to_vec().into(),
            wrapped.kek_id().as_str().into(),
            i64::from(wrapped.kek_version().get()).into(),
            wrapped.to_bytes().into(),
            now.clone(),
        ];
        // As many values as columns: cannot panic.
        insert.values_panic(owner.into_iter().chain(key));
    }
    insert
}

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

impl KeyStore {
    /// The key store on `db` (which must be the key store database, migrated).
    pub fn new(db: Database) -> Self {
        Self {
            db,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same key store taking time from `clock` (the store's, `Store::with_clock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The time a key is created or destroyed at: the clock's, as a statement value.
    fn now(&self) -> SimpleExpr {
        At::from(self.clock.now()).value(self.db.backend()).into()
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The subject's newest data key; if it has none, the key `create` makes, stored first.
    ///
    /// `create` is called only when the subject has no key, and must return a data key of
    /// version 1 wrapped for this tenant and subject. When several callers race for the same
    /// subject, exactly one key is stored and all of them get it back (the others' keys are
    /// discarded unused). Fails with [`StoreError::SubjectKeyDestroyed`] if the subject's keys
    /// were destroyed.
    #[instrument(skip_all, fields(tenant = %tenant, subject = %subject))]
    pub async fn get_or_create_subject_key<F, Fut>(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
        create: F,
    ) -> Result<WrappedKey>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = datavern_crypto::Result<WrappedKey>>,
    {
        if let Some(key) = self.newest_subject_key(tenant, subject).await? {
            return live_or_destroyed(tenant, key);
        }
        let wrapped = create().await?;
        check_new_key(&wrapped, KeyKind::DataKey)?;
        let insert = insert_key(
            "dv_subject_keys",
            [
                ("tenant", tenant.as_str().into()),
                ("subject_id", subject.as_uuid().into()),
            ],
            &wrapped,
            self.now(),
        );
        let mut conn = self.db.acquire().await?;
        match conn.conn().execute(&insert).await {
            Ok(_) => {
                tracing::debug!(key_id = %wrapped.key_id(), "Stored new subject key");
                Ok(wrapped)
            }
            Err(err) if err.is_unique_violation() => {
                // Another caller stored the subject's first key in the meantime: use theirs.
                drop(conn);
                match self.newest_subject_key(tenant, subject).await? {
                    Some(key) => live_or_destroyed(tenant, key),
                    None => Err(err.into()),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Stores the first keys of several subjects in one key store transaction: all of them,
    /// or (when any subject got a key in the meantime) none. Returns `false` in that case,
    /// after rolling back; the caller then falls back to
    /// [`get_or_create_subject_key`](Self::get_or_create_subject_key) per subject, which reads
    /// the winner's key back. Each key must be a data key of version 1 wrapped for this
    /// tenant and its subject, and each subject appear once.
    #[instrument(skip_all, fields(tenant = %tenant, subjects = keys.len()))]
    pub async fn create_subject_keys(
        &self,
        tenant: Kommunenummer,
        keys: &[(SubjectId, &WrappedKey)],
    ) -> Result<bool> {
        if keys.is_empty() {
            return Ok(true);
        }
        for (_, wrapped) in keys {
            check_new_key(wrapped, KeyKind::DataKey)?;
        }
        let mut tx = Tx::begin(&self.db, tenant, TxMode::Write).await?;
        // One statement per chunk: a subject that got a key meanwhile fails the statement,
        // and with it the transaction.
        let rows_per_insert = self.db.backend().rows_per_insert(2 + KEY_COLUMNS.len());
        for chunk in keys.chunks(rows_per_insert) {
            let insert = insert_keys(
                "dv_subject_keys",
                ["tenant", "subject_id"],
                chunk.iter().map(|(subject, wrapped)| {
                    ([tenant.as_str().into(), subject.as_uuid().into()], *wrapped)
                }),
                self.now(),
            );
            match tx.conn().execute(&insert).await {
                Ok(_) => {}
                // Dropping the transaction rolls it back.
                Err(err) if err.is_unique_violation() => return Ok(false),
                Err(err) => return Err(err.into()),
            }
        }
        tx.commit().await?;
        tracing::debug!(keys = keys.len(), "Stored new subject keys");
        Ok(true)
    }

    /// Every stored key version (live or destroyed) of each of `subjects` in `tenant`, ordered
    /// by subject and version. Subjects without keys are absent.
    #[instrument(skip_all, fields(tenant = %tenant, subjects = subjects.len()))]
    pub async fn subject_keys(
        &self,
        tenant: Kommunenummer,
        subjects: &[SubjectId],
    ) -> Result<Vec<StoredSubjectKey>> {
        let mut keys = Vec::new();
        if subjects.is_empty() {
            return Ok(keys);
        }
        let mut conn = self.db.acquire().await?;
        for chunk in subjects.chunks(BATCH) {
            let mut query = subject_key_query(tenant);
            query.and_where(Expr::col(col("subject_id")).is_in(chunk.iter().map(|s| s.as_uuid())));
            keys.extend(fetch_subject_keys(&mut conn.conn(), &query).await?);
        }
        keys.sort_by_key(|k| (k.subject, k.key_version));
        Ok(keys)
    }

    /// Destroys every key version of the subject (crypto-shredding): the wrapped bytes are
    /// deleted and each row stays as a tombstone with `destroyed_at`. Returns the number of
    /// versions destroyed now (0 if the subject had none, or they were destroyed before).
    ///
    /// Then the key store's files are scrubbed ([`Database::scrub`]): on SQLite the wrapped
    /// bytes are gone from `keys.db` and its WAL when this returns; on PostgreSQL the table
    /// is vacuumed (or autovacuum does it, within a minute). Old copies survive in
    /// PostgreSQL's WAL and MariaDB/MySQL's undo, redo and binary logs until those are
    /// recycled, and in backups of the key store until they expire; see `docs/storage.md`.
    #[instrument(skip_all, fields(tenant = %tenant, subject = %subject))]
    pub async fn destroy_subject_keys(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> Result<u64> {
        let now = self.now();
        let update = Query::update()
            .table(col("dv_subject_keys"))
            .values([
                (col("wrapped"), sea_query::Value::Bytes(None).into()),
                (col("destroyed_at"), now),
            ])
            .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(col("subject_id")).eq(subject.as_uuid()))
            .and_where(Expr::col(col("destroyed_at")).is_null())
            .to_owned();
        let destroyed = {
            let mut conn = self.db.acquire().await?;
            conn.conn().execute(&update).await?
        };
        tracing::info!(versions = destroyed, "Destroyed subject keys");
        self.scrub(destroyed).await;
        Ok(destroyed)
    }

    /// Destroys the data keys of every subject in `subjects` (one statement), as
    /// [`destroy_subject_keys`](Self::destroy_subject_keys) does for one. Returns the number
    /// of key versions destroyed now.
    #[instrument(skip_all, fields(tenant = %tenant, subjects = subjects.len()))]
    pub async fn destroy_keys_of(
        &self,
        tenant: Kommunenummer,
        subjects: &[SubjectId],
    ) -> Result<u64> {
        if subjects.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let update = Query::update()
            .table(col("dv_subject_keys"))
            .values([
                (col("wrapped"), sea_query::Value::Bytes(None).into()),
                (col("destroyed_at"), now),
            ])
            .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(col("subject_id")).is_in(subjects.iter().map(SubjectId::as_uuid)))
            .and_where(Expr::col(col("destroyed_at")).is_null())
            .to_owned();
        let destroyed = {
            let mut conn = self.db.acquire().await?;
            conn.conn().execute(&update).await?
        };
        tracing::info!(versions = destroyed, "Destroyed subject keys");
        self.scrub(destroyed).await;
        Ok(destroyed)
    }

    /// After keys were destroyed: removes the old row versions from the key store's files.
    /// A failure is logged, not returned: the keys are destroyed either way, and the next
    /// destruction (or autovacuum, or a checkpoint) scrubs what this one could not.
    async fn scrub(&self, destroyed: u64) {
        if destroyed == 0 {
            return;
        }
        if let Err(err) = self.db.scrub(&["dv_subject_keys"]).await {
            tracing::warn!(
                error = %crate::error::report(&err),
                "Cannot scrub the key store after destroying keys; old copies stay in its \
                 files until the next checkpoint or vacuum"
            );
        }
    }

    /// The tenant's newest blind-index root key; if it has none, the key `create` makes,
    /// stored first. `create` must return an index root key of version 1 wrapped for this
    /// tenant. Race-safe like [`get_or_create_subject_key`](Self::get_or_create_subject_key).
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn get_or_create_index_root_key<F, Fut>(
        &self,
        tenant: Kommunenummer,
        create: F,
    ) -> Result<WrappedKey>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = datavern_crypto::Result<WrappedKey>>,
    {
        if let Some(key) = self.index_root_keys(tenant).await?.pop() {
            return Ok(key);
        }
        let wrapped = create().await?;
        check_new_key(&wrapped, KeyKind::IndexRoot)?;
        let insert = insert_key(
            "dv_index_keys",
            [("tenant", tenant.as_str().into())],
            &wrapped,
            self.now(),
        );
        let mut conn = self.db.acquire().await?;
        match conn.conn().execute(&insert).await {
            Ok(_) => Ok(wrapped),
            Err(err) if err.is_unique_violation() => {
                drop(conn);
                match self.index_root_keys(tenant).await?.pop() {
                    Some(key) => Ok(key),
                    None => Err(err.into()),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The subjects, per tenant, whose keys existed at `at` and were destroyed after it: a
    /// copy of the data taken at `at` holds records of theirs that no longer decrypt. Sorted
    /// by tenant and subject.
    #[instrument(skip_all)]
    pub async fn destroyed_after(&self, at: At) -> Result<Vec<(Kommunenummer, SubjectId)>> {
        let backend = self.db.backend();
        let query = Query::select()
            .distinct()
            .columns([col("tenant"), col("subject_id")])
            .from(col("dv_subject_keys"))
            .and_where(Expr::col(col("created_at")).lte(at.value(backend)))
            .and_where(Expr::col(col("destroyed_at")).gt(at.value(backend)))
            .order_by(col("tenant"), Order::Asc)
            .order_by(col("subject_id"), Order::Asc)
            .to_owned();
        let mut conn = self.db.acquire().await?;
        let rows: Vec<(datavern_sql::Text, Uuid)> = conn.conn().fetch_all(&query).await?;
        rows.into_iter()
            .map(|(tenant, subject)| {
                let tenant = Kommunenummer::parse(&tenant.0).map_err(|_| {
                    StoreError::InvalidKey("dv_subject_keys row has an invalid tenant".to_owned())
                })?;
                Ok((tenant, SubjectId::from_uuid(subject)))
            })
            .collect()
    }

    /// Every blind-index root key version of the tenant, oldest first.
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn index_root_keys(&self, tenant: Kommunenummer) -> Result<Vec<WrappedKey>> {
        let query = Query::select()
            .column(col("wrapped"))
            .from(col("dv_index_keys"))
            .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
            .order_by(col("key_version"), Order::Asc)
            .to_owned();
        let mut conn = self.db.acquire().await?;
        let rows: Vec<IndexKeyRow> = conn.conn().fetch_all(&query).await?;
        rows.into_iter()
            .map(|(bytes,)| {
                let key = WrappedKey::from_bytes(&bytes)?;
                if key.kind() != KeyKind::IndexRoot {
                    return Err(StoreError::InvalidKey(format!(
                        "dv_index_keys holds a {} for tenant {tenant}",
                        key.kind()
                    )));
                }
                Ok(key)
            })
            .collect()
    }

    /// The subject's newest key version, if any.
    async fn newest_subject_key(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> Result<Option<StoredSubjectKey>> {
        let mut query = subject_key_query(tenant);
        query
            .and_where(Expr::col(col("subject_id")).eq(subject.as_uuid()))
            .order_by(col("key_version"), Order::Desc)
            .limit(1);
        let mut conn = self.db.acquire().await?;
        Ok(fetch_subject_keys(&mut conn.conn(), &query).await?.pop())
    }
}

/// Selects the columns of [`SubjectKeyRow`] for `tenant`.
fn subject_key_query(tenant: Kommunenummer) -> SelectStatement {
    Query::select()
        .columns([
            col("subject_id"),
            col("key_version"),
            col("key_id"),
            col("wrapped"),
            col("created_at"),
            col("destroyed_at"),
        ])
        .from(col("dv_subject_keys"))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .to_owned()
}

async fn fetch_subject_keys(
    conn: &mut Conn<'_>,
    query: &SelectStatement,
) -> Result<Vec<StoredSubjectKey>> {
    let rows: Vec<SubjectKeyRow> = conn.fetch_all(query).await?;
    rows.into_iter().map(stored_subject_key).collect()
}

fn stored_subject_key(row: SubjectKeyRow) -> Result<StoredSubjectKey> {
    let (subject, version, key_id, wrapped, created_at, destroyed_at) = row;
    let bad = |what: &str| StoreError::InvalidKey(format!("dv_subject_keys row {what}"));
    let key_version = u32::try_from(version)
        .ok()
        .and_then(|v| KeyVersion::new(v).ok())
        .ok_or_else(|| bad("has an invalid key_version"))?;
    let key_id = <[u8; KeyId::LEN]>::try_from(key_id.as_slice())
        .map(KeyId::from_bytes)
        .map_err(|_| bad("has a key_id that is not 16 bytes"))?;
    let state = match (wrapped, destroyed_at) {
        (_, Some(at)) => KeyState::Destroyed { at },
        (Some(bytes), None) => {
            let key = WrappedKey::from_bytes(&bytes)?;
            if key.kind() != KeyKind::DataKey
                || key.key_id() != key_id
                || key.key_version() != key_version
            {
                return Err(bad("disagrees with the wrapped key it holds"));
            }
            KeyState::Live(key)
        }
        (None, None) => return Err(bad("has neither a wrapped key nor destroyed_at")),
    };
    Ok(StoredSubjectKey {
        subject: SubjectId::from_uuid(subject),
        key_id,
        key_version,
        created_at,
        state,
    })
}

fn live_or_destroyed(tenant: Kommunenummer, key: StoredSubjectKey) -> Result<WrappedKey> {
    match key.state {
        KeyState::Live(wrapped) => Ok(wrapped),
        KeyState::Destroyed { .. } => Err(StoreError::SubjectKeyDestroyed {
            tenant: tenant.to_string(),
            subject: key.subject.to_string(),
        }),
    }
}

/// A subject's or tenant's first key must be the right kind and version 1, so that racing
/// creators collide on the same primary key.
fn check_new_key(wrapped: &WrappedKey, kind: KeyKind) -> Result<()> {
    if wrapped.kind() != kind {
        return Err(StoreError::InvalidKey(format!(
            "expected a {kind}, got a {}",
            wrapped.kind()
        )));
    }
    if wrapped.key_version() != KeyVersion::FIRST {
        return Err(StoreError::InvalidKey(format!(
            "a first key must have version 1, not {}",
            wrapped.key_version()
        )));
    }
    Ok(())
}
