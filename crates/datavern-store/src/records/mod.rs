//! Governed record operations: what the HTTP API calls for every record request.
//!
//! The server authenticates the caller, asks `datavern_core::access::decide` for a
//! [`Grant`], validates the body with `datavern_core::record::validate`, and hands both to
//! [`Records`]:
//!
//! ```text
//! create/update/delete ── one data-database transaction ─────────────────────────────┐
//!   grant check → subject key (key cache ← key store ← KEK) → seal fields, blind index │
//!   BEGIN (PostgreSQL: set_config('datavern.tenant')) → row change → audit entry        │
//!   → outbox event → COMMIT                                                            ┘
//! get/list/lookup
//!   SELECT (tenant-scoped) → decrypt readable fields → AuditLog::record (group commit,
//!   must succeed) → RecordView
//! ```
//!
//! Every encrypted field is sealed with the record's primary subject's data key, bound to
//! tenant, collection, field, record id and subject id, so ciphertext moved to another row,
//! field, subject or tenant fails to decrypt ([`RecordError::Decryption`]). Withheld fields
//! are never decrypted. Another tenant's id gives the same [`RecordError::NotFound`] as an id
//! that does not exist. `docs/records.md` walks through each path.
//!
//! ```no_run
//! # async fn demo(
//! #     store: datavern_store::Store,
//! #     catalog: std::sync::Arc<datavern_core::catalog::Catalog>,
//! #     kek: std::sync::Arc<dyn datavern_crypto::KekProvider>,
//! #     grant: datavern_core::access::Grant,
//! #     body: serde_json::Map<String, serde_json::Value>,
//! # ) -> datavern_store::Result<()> {
//! use datavern_core::record::{self, Mode};
//! use datavern_store::records::{Records, RequestMeta};
//!
//! let records = Records::new(store, catalog.clone(), kek);
//! let collection = catalog.collection(grant.collection().as_str()).unwrap();
//! let record = record::validate(collection, &body, Mode::Create).unwrap();
//! let view = records
//!     .create(&grant, record, &RequestMeta::new().with_request_id("req-1"))
//!     .await?;
//! println!("created {} at version {}", view.id, view.version);
//! # Ok(()) }
//! ```

pub(crate) mod codec;
pub(crate) mod control;
mod cursor;
mod error;
pub mod history;
mod keys;
pub mod raw;
mod read;
mod row;
mod unique;
mod write;

use std::fmt;
use std::sync::Arc;

use datavern_core::access::{AuditFacts, Grant, Operation, Withheld};
use datavern_core::catalog::{Catalog, FieldName, Kommunenummer};
use datavern_core::record::FieldValue;
use datavern_crypto::KekProvider;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

pub use self::cursor::{Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, page_limit};
pub use self::error::RecordError;
use self::keys::KeyCache;
pub use self::keys::{BLIND_INDEX_LEN, KeyCacheConfig};
use crate::audit::AuditEntry;
use crate::error::Result;
use crate::ids::SubjectId;
use crate::store::Store;
use crate::table::{Table, Tables};

/// The most records one lookup page returns, and the most candidates (records sharing the
/// value's blind index) one page examines. [`Records::lookup_page`] pages through more;
/// [`Records::lookup`] fails with [`RecordError::TooManyMatches`] when more than this many
/// records hold the value exactly (false positives of the truncated index never count).
pub const MAX_LOOKUP_MATCHES: usize = 1000;

/// The most records one [`Records::create_many`] writes; a larger batch fails with
/// [`RecordError::BatchTooLarge`].
pub const MAX_BATCH: usize = 1000;

/// The governed record operations of one store and catalog.
///
/// Built once at startup and shared (cheap to clone). It holds the key cache, so all
/// requests should share one `Records`.
#[derive(Clone)]
pub struct Records {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    catalog: Arc<Catalog>,
    tables: Tables,
    keys: KeyCache,
}

/// What the server knows about the request, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestMeta {
    /// The request id, to correlate audit entries with logs and traces.
    pub request_id: Option<String>,
}

/// A record as the caller may see it: its metadata, the fields it may read (with their
/// values) and the names of those withheld.
///
/// `Debug` prints field names and types, never values.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordView {
    /// The record id (UUIDv7).
    pub id: Uuid,
    /// The tenant the record belongs to.
    pub tenant: Kommunenummer,
    /// The collection.
    pub collection: String,
    /// The version, 1 on create and incremented by every update (pass it back as
    /// `expected_version`).
    pub version: i64,
    /// When the record was created (UTC, microseconds).
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
    /// The readable fields in catalog order, each with its value ([`FieldValue::Null`] when
    /// it has none).
    pub fields: Vec<(FieldName, FieldValue)>,
    /// The fields the grant withholds, with why; their values are not in `fields` (and were
    /// never decrypted).
    pub withheld: Vec<Withheld>,
    /// The data subjects the record concerns, as far as the caller may see them.
    pub subjects: Vec<RecordSubject>,
}

/// One data subject of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordSubject {
    /// The subject reference's name (`barn`), or `None` when the record is the person
    /// (`subjects: self`).
    pub reference: Option<String>,
    /// The subject's id: the person's record id.
    pub id: SubjectId,
    /// Whether it is the primary subject, whose key encrypts the record.
    pub primary: bool,
}

impl RequestMeta {
    /// No request id.
    pub fn new() -> Self {
        RequestMeta::default()
    }

    /// The same with a request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

impl RecordView {
    /// The value of field `name`, if the caller may read it.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
    }

    /// The primary subject's id, if the record concerns a person the caller may see.
    pub fn primary_subject(&self) -> Option<SubjectId> {
        self.subjects.iter().find(|s| s.primary).map(|s| s.id)
    }
}

impl fmt::Debug for RecordView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.type_name()))
            .collect();
        let withheld: Vec<&str> = self.withheld.iter().map(|w| w.field.as_str()).collect();
        f.debug_struct("RecordView")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("collection", &self.collection)
            .field("version", &self.version)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("fields", &fields)
            .field("withheld", &withheld)
            .field("subjects", &self.subjects)
            .finish()
    }
}

impl Records {
    /// The record operations on `store` for `catalog`'s collections, with keys wrapped by
    /// `kek` and the default key cache. Call it after [`Store::apply_catalog`] has applied
    /// the same catalog.
    pub fn new(store: Store, catalog: Arc<Catalog>, kek: Arc<dyn KekProvider>) -> Self {
        Self::with_key_cache(store, catalog, kek, KeyCacheConfig::default())
    }

    /// The same with a key cache of the given size and time to live.
    pub fn with_key_cache(
        store: Store,
        catalog: Arc<Catalog>,
        kek: Arc<dyn KekProvider>,
        cache: KeyCacheConfig,
    ) -> Self {
        let tables = Tables::new(&catalog);
        let keys = KeyCache::new(kek, store.keys().clone(), cache);
        Records {
            inner: Arc::new(Inner {
                store,
                catalog,
                tables,
                keys,
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.inner.catalog
    }

    /// Creates a record from `record` (validated with `Mode::Create`) as `grant` (a create
    /// grant) allows, and returns it as the caller may see it.
    ///
    /// In one transaction: the row with its encrypted fields and blind indexes, the audit
    /// entry (the fields written) and the outbox event `no.datavern.record.created`. Fails
    /// with [`RecordError::Denied`] if the record sets a field the grant may not write,
    /// [`RecordError::ReferenceNotFound`] if a subject reference names no record of the
    /// tenant, [`RecordError::Unstorable`] if a value does not fit its column.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant()))]
    pub async fn create(
        &self,
        grant: &Grant,
        record: datavern_core::record::ValidatedRecord,
        meta: &RequestMeta,
    ) -> Result<RecordView> {
        write::create(self, grant, record, meta).await
    }

    /// Creates every record of `records` (each validated with `Mode::Create`) as `grant`
    /// allows, and returns them, in order, as the caller may see them.
    ///
    /// Exactly what [`create`](Self::create) does for each record (same checks, encryption
    /// under each primary subject's key, blind indexes, one audit entry and one outbox event
    /// per record), with the new subjects' keys made in one KEK call and stored in one key
    /// store transaction, and all rows, audit entries and outbox events written in **one**
    /// data-database transaction: all or nothing. If any record fails (a denied field, a
    /// reference to nobody, an unstorable value, a database error), none is written; subject
    /// keys made for the batch may remain in the key store, like those of a failed
    /// `create`. References are to records committed before the batch. At most
    /// [`MAX_BATCH`] records, else [`RecordError::BatchTooLarge`].
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), records = records.len()))]
    pub async fn create_many(
        &self,
        grant: &Grant,
        records: Vec<datavern_core::record::ValidatedRecord>,
        meta: &RequestMeta,
    ) -> Result<Vec<RecordView>> {
        write::create_many(self, grant, records, meta).await
    }

    /// [`create_many`](Self::create_many), with a resumable job's `checkpoint` moved in the
    /// same transaction (see [`crate::jobs`]): the batch and the job's progress commit
    /// together or not at all, so a run killed at any point resumes after the last batch
    /// committed and never writes a record twice. Fails with
    /// [`StoreError::JobSuperseded`](crate::StoreError::JobSuperseded), writing nothing, if
    /// another run has taken the job over.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), records = records.len()))]
    pub async fn create_many_checkpointed(
        &self,
        grant: &Grant,
        records: Vec<datavern_core::record::ValidatedRecord>,
        checkpoint: &crate::jobs::Checkpoint,
        meta: &RequestMeta,
    ) -> Result<Vec<RecordView>> {
        write::create_many_checkpointed(self, grant, records, checkpoint, meta).await
    }

    /// Creates the person `record` (a collection with `subjects: self`) for a purpose that
    /// rests on consent, with the person's `consent` (a grant to the create's purpose): the
    /// record and the consent event (subject: the new record's id) are written in one
    /// transaction, so the record never exists without the consent that allows it. A create
    /// for a consent purpose without one is refused (`consent_required`).
    ///
    /// The grant carries no roles: a caller that takes consents from principals checks
    /// [`datavern_core::consent::check_recorder`] first, as the HTTP API does, when the
    /// catalog requires a recorder role for the purpose.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant()))]
    pub async fn create_with_consent(
        &self,
        grant: &Grant,
        record: datavern_core::record::ValidatedRecord,
        consent: &datavern_core::consent::ConsentEvent,
        meta: &RequestMeta,
    ) -> Result<RecordView> {
        write::create_with_consent(self, grant, record, consent, meta).await
    }

    /// The record `id` as `grant` (a read grant) allows: readable fields decrypted, withheld
    /// ones named. The read is in the audit log (group commit) before this returns; if the
    /// entry cannot be written, the read fails.
    ///
    /// Another tenant's record is [`RecordError::NotFound`], exactly like a missing one.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), record = %id))]
    pub async fn get(&self, grant: &Grant, id: Uuid, meta: &RequestMeta) -> Result<RecordView> {
        read::get(self, grant, id, meta).await
    }

    /// Changes the fields `patch` (validated with `Mode::Patch`) gives, leaving the others as
    /// they are, and returns the record as it now is.
    ///
    /// With `expected_version`, the update applies only to that version; otherwise
    /// [`RecordError::VersionConflict`] names the current one. The version is incremented.
    /// In one transaction with the audit entry (the fields changed) and the outbox event
    /// `no.datavern.record.updated`. A patch that changes the primary subject re-encrypts
    /// the record's other encrypted fields under the new subject's key.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), record = %id))]
    pub async fn update(
        &self,
        grant: &Grant,
        id: Uuid,
        patch: datavern_core::record::ValidatedRecord,
        expected_version: Option<i64>,
        meta: &RequestMeta,
    ) -> Result<RecordView> {
        write::update(self, grant, id, patch, expected_version, meta).await
    }

    /// Deletes record `id` (its row and blind indexes), in one transaction with the audit
    /// entry and the outbox event `no.datavern.record.deleted`. The subject's data key stays:
    /// erasing a person (crypto-shredding) is a data subject request of its own.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), record = %id))]
    pub async fn delete(&self, grant: &Grant, id: Uuid, meta: &RequestMeta) -> Result<()> {
        write::delete(self, grant, id, meta).await
    }

    /// One page of the collection's records in the tenant, in id (creation) order, starting
    /// after `cursor` (the first page without one). `limit` is bounded by [`page_limit`].
    ///
    /// Each returned record gets its own audit entry (all written by one group commit
    /// before this returns), so a data subject's access request finds every read of their
    /// data. Records the subjects' controls do not admit are left out silently: for a
    /// consent-based purpose those whose subject's consent is not granted, for a 6(1)(e)/(f)
    /// purpose those whose subject objected, and restricted records unless the purpose is
    /// allowed under restriction (see `datavern_core::controls`).
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant()))]
    pub async fn list(
        &self,
        grant: &Grant,
        cursor: Option<Cursor>,
        limit: u32,
        meta: &RequestMeta,
    ) -> Result<Page<RecordView>> {
        read::list(self, grant, cursor, limit, meta).await
    }

    /// The records whose `field` equals `normalized_value` exactly (the value as
    /// `datavern_core::record::normalize_lookup` returns it), found by blind index: the
    /// candidates sharing the value's index are decrypted and compared, so the truncated
    /// index's false positives are dropped (never returned, never audited, never counted).
    /// At most [`MAX_LOOKUP_MATCHES`] exact matches, else [`RecordError::TooManyMatches`]
    /// (page with [`lookup_page`](Self::lookup_page) instead); each returned record is
    /// audited as in [`list`](Self::list).
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), field = %field))]
    pub async fn lookup(
        &self,
        grant: &Grant,
        field: &str,
        normalized_value: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<RecordView>> {
        read::lookup(self, grant, field, normalized_value, meta).await
    }

    /// One page of the records whose `field` equals `normalized_value` exactly, in id order:
    /// the exact matches among the next [`MAX_LOOKUP_MATCHES`] candidates sharing the value's
    /// blind index after `cursor` (the first page without one), each audited as in
    /// [`list`](Self::list), and the cursor of the next page if more candidates follow. Many
    /// records holding one value (a flood of writes with someone's e-mail address) make
    /// several pages, never an error that hides the records.
    #[instrument(skip_all, fields(collection = %grant.collection(), tenant = %grant.tenant(), field = %field))]
    pub async fn lookup_page(
        &self,
        grant: &Grant,
        field: &str,
        normalized_value: &str,
        cursor: Option<Cursor>,
        meta: &RequestMeta,
    ) -> Result<Page<RecordView>> {
        read::lookup_page(self, grant, field, normalized_value, cursor, meta).await
    }

    /// Records a denied request in the audit log (group commit). The server calls it for
    /// every denial, with `AuditFacts::denied(..)`, before it answers.
    #[instrument(skip_all, fields(operation = %facts.operation))]
    pub async fn audit_denial(&self, facts: &AuditFacts, meta: &RequestMeta) -> Result<()> {
        let entry = with_meta(AuditEntry::from_facts(self.inner.store.now(), facts), meta);
        self.inner.store.audit().record(entry).await
    }

    /// Drops the subject's keys from the key cache. Call it after destroying the subject's
    /// keys (erasure), so that they are not served from memory until the cache's time to
    /// live runs out. Other processes' caches keep them at most that long.
    pub async fn evict(&self, tenant: Kommunenummer, subject: SubjectId) {
        self.inner.keys.evict(tenant, subject.as_uuid()).await;
    }

    /// SQLite's query plan (`EXPLAIN QUERY PLAN`, one line per step) for a lookup by
    /// `field` in `collection`, so tests can check that lookups seek the blind index.
    /// `None` on other backends or for a field without a blind index.
    #[cfg(feature = "test-support")]
    pub async fn sqlite_lookup_plan(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        field: &str,
    ) -> Result<Option<Vec<String>>> {
        let Some(plan) = self.inner.tables.get(collection) else {
            return Ok(None);
        };
        let Some(index) = plan
            .fields
            .iter()
            .find(|f| f.name == field)
            .and_then(|f| f.blind_index.as_deref())
        else {
            return Ok(None);
        };
        let (select, _) = read::lookup_select(
            plan,
            self.inner.store.data().backend(),
            None,
            tenant,
            index,
            &[0; 3],
            None,
        );
        let mut conn = self.inner.store.data().acquire().await?;
        Ok(conn.conn().sqlite_query_plan(&select).await?)
    }

    fn plan(&self, grant: &Grant) -> Result<&Table> {
        let name = grant.collection().as_str();
        self.inner
            .tables
            .get(name)
            .ok_or_else(|| RecordError::UnknownCollection(name.to_owned()).into())
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("collections", &self.inner.tables.len())
            .field("keys", &self.inner.keys)
            .finish_non_exhaustive()
    }
}

/// Fails unless `grant` is for `operation`.
fn check_operation(grant: &Grant, operation: Operation) -> Result<()> {
    if grant.operation() != operation {
        return Err(RecordError::WrongOperation {
            granted: grant.operation(),
            called: operation,
        }
        .into());
    }
    Ok(())
}

/// A time column's value on `backend` ([`datavern_sql::At::value`]); shared with the
/// outbox and the governance services.
pub fn time_expr(
    backend: datavern_sql::Backend,
    at: impl Into<datavern_sql::At>,
) -> sea_query::SimpleExpr {
    sea_query::Expr::val(at.into().value(backend)).into()
}

/// The entry with the request's id, if it has one.
fn with_meta(entry: AuditEntry, meta: &RequestMeta) -> AuditEntry {
    match &meta.request_id {
        Some(id) => entry.with_request_id(id.as_str()),
        None => entry,
    }
}
