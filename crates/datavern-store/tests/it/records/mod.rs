//! Governed record operations on every backend: round trips of every field type, partial
//! updates and optimistic concurrency, delete, cursor pagination, blind-index lookup,
//! withheld fields, tenant isolation, and the security properties: no plaintext in the
//! database, moved ciphertext fails to decrypt, one audit entry and one outbox row per write
//! in the write's transaction (none when it fails), reads audited.

use std::sync::Arc;

use datavern_core::access::{
    self, AccessRequest, AuditFacts, Grant, Operation, Principal, PrincipalId, WithheldReason,
};
use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_core::record::{self, FieldValue, Mode, ValidatedRecord};
use datavern_crypto::{KekProvider, LocalKeyFile};
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, SqlError, testing};
use datavern_store::records::{Cursor, KeyCacheConfig, MAX_PAGE_LIMIT, Page, RecordView};
use datavern_store::testing::OpenStore as _;
use datavern_store::{RecordError, Records, RequestMeta, Store, StoreError, SubjectId};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::support::{KOMMUNE, backend_tests, catalog, execute, report, scalar, strings, tenant};

mod batch;
mod events;
mod operations;
mod sealing;
mod security;
mod serving_role;

/// Every field type, plain and encrypted, in a person collection with two tenants.
const TYPES: &str = r#"
version: 1
deployment:
  tenants:
    - kommunenummer: "4601"
      name: Bergen kommune
    - kommunenummer: "0301"
      name: Oslo kommune
  accreditation: BEGRENSET
  storage:
    - name: primary
      kind: database
      location: no
    - name: keys
      kind: key_store
      location: no
purposes:
  - id: register
    description: Holde register
    lawful_basis: 6(1)(e)
    legal_reference: kommuneloven § 2-1
collections:
  - name: typer
    description: Every field type
    classification: ÅPEN
    subjects: self
    purposes: [register]
    retention:
      period: P1Y
      from: created
      then: delete
    fields:
      - { name: s, type: string, required: true, category: system.operations }
      - { name: t, type: text, category: system.operations }
      - { name: i, type: integer, category: system.operations }
      - { name: d, type: decimal, category: system.operations }
      - { name: b, type: boolean, category: system.operations }
      - { name: dt, type: date, category: system.operations }
      - { name: ts, type: timestamp, category: system.operations }
      - { name: j, type: json, category: system.operations }
      - { name: es, type: string, category: system.operations, encrypted: true }
      - { name: et, type: text, category: system.operations, encrypted: true }
      - { name: ei, type: integer, category: system.operations, encrypted: true }
      - { name: ed, type: decimal, category: system.operations, encrypted: true }
      - { name: eb, type: boolean, category: system.operations, encrypted: true }
      - { name: edt, type: date, category: system.operations, encrypted: true }
      - { name: ets, type: timestamp, category: system.operations, encrypted: true }
      - { name: ej, type: json, category: system.operations, encrypted: true }
"#;

/// The example catalog with Oslo as a second tenant.
pub(crate) fn kommune_two_tenants() -> String {
    KOMMUNE.replacen(
        "      name: Bergen kommune\n",
        "      name: Bergen kommune\n    - kommunenummer: \"0301\"\n      name: Oslo kommune\n",
        1,
    )
}

/// A store with a catalog applied, a local KEK and the record service.
pub(crate) struct Env {
    pub(crate) db: TestDb,
    pub(crate) store: Store,
    pub(crate) records: Records,
    pub(crate) catalog: Arc<Catalog>,
    kek: Arc<dyn KekProvider>,
    _kek_dir: TempDir,
}

impl Env {
    pub(crate) async fn new(backend: Backend, yaml: &str) -> Env {
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
            _kek_dir: kek_dir,
        }
    }

    /// The same databases and KEK, through record operations with their own key cache.
    fn with_key_cache(mut self, cache: KeyCacheConfig) -> Env {
        self.records = Records::with_key_cache(
            self.store.clone(),
            self.catalog.clone(),
            Arc::clone(&self.kek),
            cache,
        );
        self
    }

    pub(crate) async fn kommune(backend: Backend) -> Env {
        Env::new(backend, &kommune_two_tenants()).await
    }

    pub(crate) fn data(&self) -> &Database {
        self.store.data()
    }

    /// A grant for `operation` on `collection` for `purpose`, to a principal of `tenant_no`
    /// cleared for BEGRENSET and allowed every purpose.
    fn grant(
        &self,
        operation: Operation,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
    ) -> Grant {
        self.grant_lookup(operation, collection, purpose, tenant_no, "")
    }

    fn grant_lookup(
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

    pub(crate) fn principal(&self, tenant_no: &str) -> Principal {
        Principal::new(
            PrincipalId::parse("saksbehandler-1").unwrap(),
            tenant(tenant_no),
            Classification::Begrenset,
        )
        .with_purposes(self.catalog.purposes().iter().map(|p| p.id().clone()))
    }

    pub(crate) fn body(&self, collection: &str, body: Value, mode: Mode) -> ValidatedRecord {
        let collection = self.catalog.collection(collection).unwrap();
        record::validate(collection, body.as_object().unwrap(), mode)
            .unwrap_or_else(|problems| panic!("{problems}"))
    }

    pub(crate) async fn create(
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
    pub(crate) async fn create_resident(&self, n: u32) -> RecordView {
        self.create("innbyggere", "innbyggerregister", "4601", resident(n))
            .await
    }

    async fn get(
        &self,
        collection: &str,
        purpose: &str,
        tenant_no: &str,
        id: Uuid,
    ) -> Result<RecordView, StoreError> {
        let grant = self.grant(Operation::Read, collection, purpose, tenant_no);
        self.records.get(&grant, id, &meta()).await
    }

    async fn update(
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

    async fn lookup(
        &self,
        collection: &str,
        purpose: &str,
        field: &str,
        input: &str,
    ) -> Vec<RecordView> {
        let grant = self.grant_lookup(Operation::Lookup, collection, purpose, "4601", field);
        let normalized =
            record::normalize_lookup(self.catalog.collection(collection).unwrap(), field, input)
                .unwrap();
        self.records
            .lookup(&grant, field, &normalized, &meta())
            .await
            .unwrap_or_else(|err| panic!("lookup: {}", report(&err)))
    }

    async fn list(
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

    pub(crate) async fn count(&self, table: &str) -> i64 {
        scalar(self.data(), &format!("SELECT COUNT(*) FROM {table}")).await
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

pub(crate) fn meta() -> RequestMeta {
    RequestMeta::new().with_request_id("test-request")
}

/// A valid fødselsnummer born on day `n` (1–28) of October 1986, by the old check-digit rule.
fn fnr(n: u32) -> String {
    let date = format!("{:02}1086", n);
    for individual in 100..1000 {
        let base = format!("{date}{individual}");
        let digits: Vec<u32> = base.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let k1 = check_digit(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
        let Some(k1) = k1 else { continue };
        let mut with_k1 = digits.clone();
        with_k1.push(k1);
        let Some(k2) = check_digit(&with_k1, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) else {
            continue;
        };
        return format!("{base}{k1}{k2}");
    }
    unreachable!("some individual number gives valid check digits")
}

fn check_digit(digits: &[u32], weights: &[u32]) -> Option<u32> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// A resident of `innbyggere` with distinctive values.
pub(crate) fn resident(n: u32) -> Value {
    json!({
        "fodselsnummer": fnr(n),
        "fornavn": format!("Ingeborg{n}"),
        "etternavn": "Skjærvik-Fjellheim",
        "fodselsdato": format!("1986-10-{n:02}"),
        "adresse": "Lønborglien 77",
        "postnummer": "5039",
        "telefon": "+47 912 34 567",
        "epost": "Ingeborg.Skjaervik@example.no",
    })
}

fn string(view: &RecordView, field: &str) -> String {
    match view.get(field) {
        Some(FieldValue::String(s)) => s.clone(),
        other => panic!("{field}: expected a string, got {other:?}"),
    }
}

pub(crate) fn record_error(result: Result<impl std::fmt::Debug, StoreError>) -> RecordError {
    match result {
        Err(StoreError::Record(err)) => err,
        other => panic!("expected a record error, got {other:?}"),
    }
}

pub(crate) fn soknad(child: Uuid, guardian: Uuid) -> Value {
    json!({
        "barn_id": child.to_string(),
        "foresatt1_id": guardian.to_string(),
        "soknadsdato": "2025-02-01",
        "onsket_barnehage": "Solstrålen barnehage",
        "onsket_oppstart": "2025-08-15",
        "foresatt1_telefon": "912 34 567",
        "foresatt1_epost": "forelder@example.no",
    })
}

/// Values of `resident(n)` that are stored encrypted and must never appear in the clear.
fn secret_values(n: u32) -> Vec<String> {
    vec![
        fnr(n),
        format!("Ingeborg{n}"),
        "Skjærvik-Fjellheim".to_owned(),
        "Lønborglien 77".to_owned(),
        "+4791234567".to_owned(),
        "Ingeborg.Skjaervik@example.no".to_owned(),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes in `column` of the row `id` of `table`.
async fn read_bytes(db: &Database, table: &str, column: &str, id: Uuid) -> Vec<u8> {
    let sql = format!("SELECT {column} FROM {table} WHERE id = ?");
    testing::fetch_one(db, &sql, &[id.into()]).await
}

/// Overwrites `column` of the row `id` of `table` with `bytes`, directly in SQL.
async fn write_bytes(db: &Database, table: &str, column: &str, id: Uuid, bytes: &[u8]) {
    let sql = format!("UPDATE {table} SET {column} = ? WHERE id = ?");
    assert_eq!(
        testing::execute_with(db, &sql, &[bytes.to_vec().into(), id.into()]).await,
        1
    );
}

/// `(action, outcome, record id as 32 lowercase hex digits, fields as stored)` of every audit
/// entry, in insertion order.
async fn audit_rows(env: &Env) -> Vec<(String, String, String, String)> {
    let (record, fields) = match env.db.backend() {
        Backend::Sqlite => ("lower(hex(record_id))", "fields"),
        Backend::Postgres => ("replace(record_id::text, '-', '')", "fields::text"),
        Backend::MySql => ("lower(hex(record_id))", "CAST(fields AS CHAR)"),
    };
    let column = |c: String| {
        let sql = format!("SELECT COALESCE({c}, '') FROM dv_audit ORDER BY id");
        async move { strings(env.data(), &sql).await }
    };
    let actions = column("action".to_owned()).await;
    let outcomes = column("outcome".to_owned()).await;
    let records = column(record.to_owned()).await;
    let fields = column(fields.to_owned()).await;
    actions
        .into_iter()
        .zip(outcomes)
        .zip(records)
        .zip(fields)
        .map(|(((a, o), r), f)| (a, o, r, f.replace(' ', "")))
        .collect()
}
