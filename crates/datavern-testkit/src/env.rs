//! A governed store on a test's fresh databases.

use std::sync::Arc;

use datavern_core::access::{self, AccessRequest, Grant, Operation, Principal, PrincipalId};
use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_core::record::{self, Mode, ValidatedRecord};
use datavern_crypto::{KekProvider, LocalKeyFile};
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database};
use datavern_store::records::{Cursor, KeyCacheConfig, Page, RecordView};
use datavern_store::testing::OpenStore as _;
use datavern_store::{RecordError, Records, RequestMeta, Store, StoreError};
use serde_json::Value;
use tempfile::TempDir;
use uuid::Uuid;

use crate::fixtures::{catalog, kommune_two_tenants, resident, tenant};
use crate::report;
use crate::sql::scalar;

/// A store with a catalog applied, a local KEK and the record service.
pub struct Env {
    /// The test's databases.
    pub db: TestDb,
    /// The store on them.
    pub store: Store,
    /// The record service.
    pub records: Records,
    /// The catalog applied.
    pub catalog: Arc<Catalog>,
    /// The KEK the record service wraps keys with.
    pub kek: Arc<dyn KekProvider>,
    /// The directory of the local KEK, removed with the env.
    pub kek_dir: TempDir,
}

impl Env {
    /// Fresh databases on `backend`, a store with the catalog `yaml` applied, a local KEK and
    /// the record service.
    pub async fn new(backend: Backend, yaml: &str) -> Env {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        let catalog = Arc::new(catalog(yaml));
        store.apply_catalog(&catalog).await.unwrap();
        let kek_dir = tempfile::tempdir().unwrap();
        let kek: Arc<dyn KekProvider> = Arc::new(
            LocalKeyFile::create(kek_dir.path().join("kek"))
                .await
                .unwrap(),
        );
        let records = Records::new(store.clone(), catalog.clone(), Arc::clone(&kek));
        Env {
            db,
            store,
            records,
            catalog,
            kek,
            kek_dir,
        }
    }

    /// The same databases and KEK, through record operations with their own key cache.
    pub fn with_key_cache(mut self, cache: KeyCacheConfig) -> Env {
        self.records = Records::with_key_cache(
            self.store.clone(),
            self.catalog.clone(),
            Arc::clone(&self.kek),
            cache,
        );
        self
    }

    /// [`Env::new`] with the example catalog and Oslo (0301) as a second tenant.
    pub async fn kommune(backend: Backend) -> Env {
        Env::new(backend, &kommune_two_tenants()).await
    }

    /// The data database.
    pub fn data(&self) -> &Database {
        self.store.data()
    }

    /// A grant for `operation` on `collection` for `purpose`, to a principal of `tenant_no`
    /// cleared for BEGRENSET and allowed every purpose.
    pub fn grant(
        &self,
        operation: Operation,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
    ) -> Grant {
        self.grant_lookup(operation, collection, purpose, tenant_no, "")
    }

    /// [`Env::grant`] for a lookup by `field` (`Operation::Lookup`).
    pub fn grant_lookup(
        &self,
        operation: Operation,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
        field: &str,
    ) -> Grant {
        let tenant = tenant(tenant_no);
        let request = match operation {
            Operation::Create => AccessRequest::create(collection, tenant),
            Operation::Read => AccessRequest::read(collection, tenant),
            Operation::Update => AccessRequest::update(collection, tenant),
            Operation::Delete => AccessRequest::delete(collection, tenant),
            Operation::List => AccessRequest::list(collection, tenant),
            Operation::Lookup => AccessRequest::lookup(collection, tenant, field),
        }
        .with_purpose(Some(purpose));
        access::decide(&self.catalog, &self.principal(tenant_no), &request)
            .unwrap_or_else(|denial| panic!("{denial}"))
    }

    /// A caseworker (`saksbehandler-1`) of `tenant_no`, cleared for BEGRENSET, allowed every
    /// purpose of the catalog.
    pub fn principal(&self, tenant_no: &str) -> Principal {
        Principal::new(
            PrincipalId::parse("saksbehandler-1").unwrap(),
            tenant(tenant_no),
            Classification::Begrenset,
        )
        .with_purposes(self.catalog.purposes().iter().map(|p| p.id().clone()))
    }

    /// `body` validated for `collection` in `mode`.
    pub fn body(&self, collection: &str, body: Value, mode: Mode) -> ValidatedRecord {
        let collection = self.catalog.collection(collection).unwrap();
        record::validate(collection, body.as_object().unwrap(), mode)
            .unwrap_or_else(|problems| panic!("{problems}"))
    }

    /// Creates a record of `collection` for `purpose` in `tenant_no`.
    pub async fn create(
        &self,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
        body: Value,
    ) -> RecordView {
        let grant = self.grant(Operation::Create, collection, purpose, tenant_no);
        let record = self.body(collection, body, Mode::Create);
        self.records
            .create(&grant, record, &meta())
            .await
            .unwrap_or_else(|err| panic!("create: {}", report(&err)))
    }

    /// Creates resident `n` (see [`resident`]) in tenant 4601 under `innbyggerregister`.
    pub async fn create_resident(&self, n: u32) -> RecordView {
        self.create("innbyggere", "innbyggerregister", "4601", resident(n))
            .await
    }

    /// Reads record `id` of `collection` for `purpose` in `tenant_no`.
    pub async fn get(
        &self,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
        id: Uuid,
    ) -> Result<RecordView, StoreError> {
        let grant = self.grant(Operation::Read, collection, purpose, tenant_no);
        self.records.get(&grant, id, &meta()).await
    }

    /// Updates record `id` of `collection` in 4601 with `patch`, expecting `expected`.
    pub async fn update(
        &self,
        collection: &str,
        purpose: &str,
        id: Uuid,
        patch: Value,
        expected: Option<i64>,
    ) -> Result<RecordView, StoreError> {
        let grant = self.grant(Operation::Update, collection, purpose, "4601");
        let patch = self.body(collection, patch, Mode::Patch);
        self.records
            .update(&grant, id, patch, expected, &meta())
            .await
    }

    /// Looks up the records of `collection` in 4601 whose `field` is `input` (the old name
    /// of a renamed field too, as the API accepts it).
    pub async fn lookup(
        &self,
        collection: &str,
        purpose: &str,
        field: &str,
        input: &str,
    ) -> Vec<RecordView> {
        let grant = self.grant_lookup(Operation::Lookup, collection, purpose, "4601", field);
        let field = grant.lookup_field().map_or(field, |f| f.as_str());
        let normalized =
            record::normalize_lookup(self.catalog.collection(collection).unwrap(), field, input)
                .unwrap();
        self.records
            .lookup(&grant, field, &normalized, &meta())
            .await
            .unwrap_or_else(|err| panic!("lookup: {}", report(&err)))
    }

    /// Lists a page of `collection` in 4601.
    pub async fn list(
        &self,
        collection: &str,
        purpose: &str,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Page<RecordView> {
        let grant = self.grant(Operation::List, collection, purpose, "4601");
        self.records
            .list(&grant, cursor, limit, &meta())
            .await
            .unwrap_or_else(|err| panic!("list: {}", report(&err)))
    }

    /// The number of rows of `table` in the data database.
    pub async fn count(&self, table: &str) -> i64 {
        scalar(self.data(), &format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Closes the store and drops the test's databases.
    pub async fn finish(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

/// The request metadata of every test request (request id `test-request`).
pub fn meta() -> RequestMeta {
    RequestMeta::new().with_request_id("test-request")
}

/// The record error `result` failed with.
///
/// # Panics
///
/// If `result` is not a record error.
pub fn record_error(result: Result<impl std::fmt::Debug, StoreError>) -> RecordError {
    match result {
        Err(StoreError::Record(err)) => err,
        other => panic!("expected a record error, got {other:?}"),
    }
}
