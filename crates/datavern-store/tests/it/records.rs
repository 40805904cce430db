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
use datavern_store::records::{Cursor, MAX_PAGE_LIMIT, Page, RecordView};
use datavern_store::testing::TestDb;
use datavern_store::{
    Backend, Database, DbPool, RecordError, Records, RequestMeta, Store, StoreError, SubjectId,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::support::{KOMMUNE, backend_tests, catalog, execute, report, scalar, strings, tenant};

backend_tests!(
    create_then_get_round_trips_every_field_type,
    values_a_column_would_change_are_refused,
    partial_update_keeps_other_fields_and_bumps_version,
    stale_version_is_a_conflict,
    delete_removes_the_record_and_its_blind_indexes,
    list_pages_in_id_order_without_duplicates,
    lookup_by_fodselsnummer_finds_formatted_and_unformatted_input,
    lookup_drops_blind_index_false_positives,
    withheld_fields_follow_the_purpose,
    another_tenants_record_is_not_found,
    references_must_exist_and_a_new_primary_subject_reencrypts,
    database_never_holds_stored_plaintext,
    moved_ciphertext_fails_to_decrypt,
    each_write_leaves_one_audit_entry_and_one_outbox_row,
    a_write_that_fails_midway_leaves_no_trace,
    reads_are_audited_per_record_and_sealed,
    denials_are_audited,
    outbox_rows_hold_no_personal_values,
    evicted_destroyed_keys_are_not_served,
);

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
fn kommune_two_tenants() -> String {
    KOMMUNE.replacen(
        "      name: Bergen kommune\n",
        "      name: Bergen kommune\n    - kommunenummer: \"0301\"\n      name: Oslo kommune\n",
        1,
    )
}

/// A store with a catalog applied, a local KEK and the record service.
struct Env {
    db: TestDb,
    store: Store,
    records: Records,
    catalog: Arc<Catalog>,
    _kek_dir: TempDir,
}

impl Env {
    async fn new(backend: Backend, yaml: &str) -> Env {
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
        let records = Records::new(store.clone(), catalog.clone(), kek);
        Env {
            db,
            store,
            records,
            catalog,
            _kek_dir: kek_dir,
        }
    }

    async fn kommune(backend: Backend) -> Env {
        Env::new(backend, &kommune_two_tenants()).await
    }

    fn data(&self) -> &Database {
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

    fn principal(&self, tenant_no: &str) -> Principal {
        Principal::new(
            PrincipalId::parse("saksbehandler-1").unwrap(),
            tenant(tenant_no),
            Classification::Begrenset,
        )
        .with_purposes(self.catalog.purposes().iter().map(|p| p.id().clone()))
    }

    fn body(&self, collection: &str, body: Value, mode: Mode) -> ValidatedRecord {
        let collection = self.catalog.collection(collection).unwrap();
        record::validate(collection, body.as_object().unwrap(), mode)
            .unwrap_or_else(|problems| panic!("{problems}"))
    }

    async fn create(
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

    async fn count(&self, table: &str) -> i64 {
        scalar(self.data(), &format!("SELECT COUNT(*) FROM {table}")).await
    }

    async fn finish(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

fn meta() -> RequestMeta {
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
fn resident(n: u32) -> Value {
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

fn record_error(result: Result<impl std::fmt::Debug, StoreError>) -> RecordError {
    match result {
        Err(StoreError::Record(err)) => err,
        other => panic!("expected a record error, got {other:?}"),
    }
}

async fn create_then_get_round_trips_every_field_type(backend: Backend) {
    let env = Env::new(backend, TYPES).await;
    let body = json!({
        "s": "Åse Ødegård", "es": "Åse Ødegård",
        "t": "lang\ntekst med æøå", "et": "lang\ntekst med æøå",
        "i": -9_007_199_254_740_993_i64, "ei": i64::MAX,
        "d": "-12345678901234567890.0123456789", "ed": "1234567890123456789012345678901234567890.5",
        "b": true, "eb": false,
        "dt": "1905-06-07", "edt": "2024-02-29",
        "ts": "2024-02-29T23:59:59.123456+01:00", "ets": "1969-07-20T20:17:40.123456789Z",
        "j": { "a": [1, 2, { "b": null }], "c": "x" }, "ej": ["x", { "y": true }],
    });
    let created = env.create("typer", "register", "4601", body.clone()).await;
    let expected = env.body("typer", body, Mode::Create);
    assert_eq!(created.version, 1);
    assert_eq!(created.subjects.len(), 1);
    assert_eq!(
        created.primary_subject(),
        Some(SubjectId::from_uuid(created.id))
    );
    assert_eq!(created.id.get_version_num(), 7, "record ids are UUIDv7");

    let read = env
        .get("typer", "register", "4601", created.id)
        .await
        .unwrap();
    for (name, value) in expected.iter() {
        assert_eq!(read.get(name.as_str()), Some(value), "{name} after get");
        assert_eq!(
            created.get(name.as_str()),
            Some(value),
            "{name} after create"
        );
    }
    assert_eq!(read.version, 1);
    assert_eq!(read.created_at, created.created_at);
    assert_eq!(read.updated_at, created.updated_at);
    assert!(read.withheld.is_empty());

    // Absent optional fields read back as null, plain or encrypted.
    let sparse = env
        .create("typer", "register", "4601", json!({ "s": "bare" }))
        .await;
    let read = env
        .get("typer", "register", "4601", sparse.id)
        .await
        .unwrap();
    assert_eq!(read.fields.len(), 16);
    for (name, value) in &read.fields {
        if name != "s" {
            assert_eq!(value, &FieldValue::Null, "{name}");
        }
    }
    // Debug shows names and types, never values.
    let debug = format!("{read:?} {created:?}");
    assert!(
        !debug.contains("Ødegård") && !debug.contains("bare"),
        "{debug}"
    );
    env.finish().await;
}

async fn values_a_column_would_change_are_refused(backend: Backend) {
    let env = Env::new(backend, TYPES).await;
    let grant = env.grant(Operation::Create, "typer", "register", "4601");
    for (body, field) in [
        (json!({ "s": "x".repeat(256) }), "s"),
        (json!({ "s": "x", "es": "y".repeat(256) }), "es"),
        (json!({ "s": "x", "d": "1.12345678901" }), "d"),
        (
            json!({ "s": "x", "ts": "2024-01-01T00:00:00.0000001Z" }),
            "ts",
        ),
    ] {
        let record = env.body("typer", body, Mode::Create);
        let err = record_error(env.records.create(&grant, record, &meta()).await);
        assert!(
            matches!(&err, RecordError::Unstorable { field: f, .. } if f == field),
            "{err}"
        );
        assert_eq!(err.code(), "value_not_storable");
    }
    // Encrypted values keep what their plain columns cannot.
    let ok = env
        .create(
            "typer",
            "register",
            "4601",
            json!({ "s": "x", "ed": "1.12345678901", "ets": "2024-01-01T00:00:00.0000001Z" }),
        )
        .await;
    let read = env.get("typer", "register", "4601", ok.id).await.unwrap();
    assert_eq!(
        read.get("ed"),
        Some(&FieldValue::Decimal("1.12345678901".to_owned()))
    );
    assert_eq!(env.count("c_typer").await, 1);
    env.finish().await;
}

async fn partial_update_keeps_other_fields_and_bumps_version(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env
        .create("innbyggere", "innbyggerregister", "4601", resident(1))
        .await;
    let updated = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Strandkaien 2", "telefon": null }),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(string(&updated, "adresse"), "Strandkaien 2");
    assert_eq!(updated.get("telefon"), Some(&FieldValue::Null));

    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(read, updated, "the update's answer is what a read returns");
    for field in [
        "fodselsnummer",
        "fornavn",
        "etternavn",
        "fodselsdato",
        "postnummer",
        "epost",
    ] {
        assert_eq!(read.get(field), created.get(field), "{field} is kept");
    }
    // The blind index follows the value: the old e-mail no longer finds the record.
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "epost": "ny@example.no" }),
        None,
    )
    .await
    .unwrap();
    assert!(
        env.lookup(
            "innbyggere",
            "innbyggerregister",
            "epost",
            "Ingeborg.Skjaervik@example.no"
        )
        .await
        .is_empty()
    );
    assert_eq!(
        env.lookup("innbyggere", "innbyggerregister", "epost", "NY@example.no")
            .await
            .len(),
        1
    );

    let empty = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({}),
            None,
        )
        .await;
    assert!(matches!(record_error(empty), RecordError::EmptyUpdate));
    env.finish().await;
}

async fn stale_version_is_a_conflict(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env
        .create("innbyggere", "innbyggerregister", "4601", resident(2))
        .await;
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "adresse": "Første vei 1" }),
        Some(1),
    )
    .await
    .unwrap();
    let stale = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Andre vei 2" }),
            Some(1),
        )
        .await;
    let err = record_error(stale);
    assert!(
        matches!(
            err,
            RecordError::VersionConflict {
                expected: 1,
                current: 2
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), "version_conflict");
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "adresse"), "Første vei 1");
    assert_eq!(read.version, 2);
    env.finish().await;
}

async fn delete_removes_the_record_and_its_blind_indexes(backend: Backend) {
    let env = Env::kommune(backend).await;
    let kept = env
        .create("innbyggere", "innbyggerregister", "4601", resident(3))
        .await;
    let gone = env
        .create("innbyggere", "innbyggerregister", "4601", resident(4))
        .await;
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records.delete(&grant, gone.id, &meta()).await.unwrap();

    let err = record_error(
        env.get("innbyggere", "innbyggerregister", "4601", gone.id)
            .await,
    );
    assert!(matches!(err, RecordError::NotFound { .. }), "{err}");
    let again = record_error(env.records.delete(&grant, gone.id, &meta()).await);
    assert!(matches!(again, RecordError::NotFound { .. }));
    assert_eq!(env.count("c_innbyggere").await, 1);
    assert!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(4))
            .await
            .is_empty()
    );
    assert_eq!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(3))
            .await[0]
            .id,
        kept.id
    );
    // The subject's key stays: erasure is a request of its own.
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(gone.id)])
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    env.finish().await;
}

async fn list_pages_in_id_order_without_duplicates(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=7 {
        ids.push(
            env.create("innbyggere", "innbyggerregister", "4601", resident(n))
                .await
                .id,
        );
    }
    // Another tenant's records never appear.
    env.create("innbyggere", "innbyggerregister", "0301", resident(20))
        .await;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = env.list("innbyggere", "innbyggerregister", cursor, 3).await;
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|v| v.id));
        match page.next {
            Some(next) => cursor = Some(Cursor::parse(&next.to_string()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every record once, in creation order");

    assert_eq!(
        env.list("innbyggere", "innbyggerregister", None, 0)
            .await
            .items
            .len(),
        1
    );
    let all = env
        .list("innbyggere", "innbyggerregister", None, MAX_PAGE_LIMIT + 1)
        .await;
    assert_eq!(all.items.len(), 7);
    assert!(all.next.is_none());
    // The list shows fields like a read, decrypted.
    assert_eq!(string(&all.items[0], "fornavn"), "Ingeborg1");
    env.finish().await;
}

async fn lookup_by_fodselsnummer_finds_formatted_and_unformatted_input(backend: Backend) {
    let env = Env::kommune(backend).await;
    let kari = env
        .create(
            "innbyggere",
            "innbyggerregister",
            "4601",
            json!({
                "fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann",
                "epost": "Kari@Example.no",
            }),
        )
        .await;
    env.create("innbyggere", "innbyggerregister", "4601", resident(5))
        .await;

    for input in ["15108695088", "151086 95088", " 151086 95088 "] {
        let found = env
            .lookup("innbyggere", "innbyggerregister", "fodselsnummer", input)
            .await;
        assert_eq!(found.len(), 1, "{input}");
        assert_eq!(found[0].id, kari.id);
        assert_eq!(string(&found[0], "fornavn"), "Kari");
    }
    let by_mail = env
        .lookup("innbyggere", "kommunikasjon", "epost", "KARI@EXAMPLE.NO")
        .await;
    assert_eq!(by_mail.len(), 1);
    assert_eq!(
        string(&by_mail[0], "epost"),
        "Kari@Example.no",
        "stored as given"
    );
    assert!(
        env.lookup(
            "innbyggere",
            "innbyggerregister",
            "fodselsnummer",
            "26111593816"
        )
        .await
        .is_empty()
    );

    // The employees' fødselsnummer is encrypted (a national id) and searchable too.
    let employee = env
        .create(
            "ansatte",
            "lonn",
            "4601",
            json!({
                "ansattnummer": "A-1", "fodselsnummer": "26111593816",
                "fornavn": "Ola", "etternavn": "Nordmann", "lonn": "650000.50",
            }),
        )
        .await;
    let found = env
        .lookup("ansatte", "lonn", "fodselsnummer", "261115 93816")
        .await;
    assert_eq!(
        found.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![employee.id]
    );
    assert_eq!(
        found[0].get("lonn"),
        Some(&FieldValue::Decimal("650000.5".to_owned()))
    );
    env.finish().await;
}

async fn lookup_drops_blind_index_false_positives(backend: Backend) {
    let env = Env::kommune(backend).await;
    let a = env
        .create("innbyggere", "innbyggerregister", "4601", resident(6))
        .await;
    let b = env
        .create("innbyggere", "innbyggerregister", "4601", resident(7))
        .await;
    // Give b the index value of a's number: a collision, as a truncated index has now and
    // then. b is a candidate, but its number differs.
    let index = read_bytes(env.data(), "c_innbyggere", "dv_bidx_fodselsnummer", a.id).await;
    write_bytes(
        env.data(),
        "c_innbyggere",
        "dv_bidx_fodselsnummer",
        b.id,
        &index,
    )
    .await;
    let found = env
        .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(6))
        .await;
    assert_eq!(found.iter().map(|v| v.id).collect::<Vec<_>>(), vec![a.id]);
    // b's own number no longer finds it (its index was overwritten).
    assert!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(7))
            .await
            .is_empty()
    );
    env.finish().await;
}

async fn withheld_fields_follow_the_purpose(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env
        .create("innbyggere", "innbyggerregister", "4601", resident(8))
        .await;
    let letters = env
        .get("innbyggere", "kommunikasjon", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(letters.get("fodselsnummer"), None);
    assert_eq!(letters.withheld.len(), 1);
    assert_eq!(letters.withheld[0].field, "fodselsnummer");
    assert_eq!(letters.withheld[0].reason, WithheldReason::Purpose);
    assert_eq!(string(&letters, "adresse"), "Lønborglien 77");

    let employee = env
        .create("ansatte", "lonn", "4601", json!({
            "ansattnummer": "A-2", "fodselsnummer": "15108695088", "fornavn": "Kari",
            "etternavn": "Nordmann", "kontonummer": "8601.11.17947", "fagforening": "Fagforbundet",
        }))
        .await;
    let hr = env
        .get("ansatte", "arbeidsforhold", "4601", employee.id)
        .await
        .unwrap();
    let withheld: Vec<&str> = hr.withheld.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        withheld,
        [
            "fodselsnummer",
            "kontonummer",
            "fagforening",
            "politiattest_kontrollert"
        ]
    );
    for field in withheld {
        assert_eq!(hr.get(field), None, "{field}");
    }
    assert_eq!(string(&hr, "fornavn"), "Kari");
    let payroll = env
        .get("ansatte", "lonn", "4601", employee.id)
        .await
        .unwrap();
    assert_eq!(string(&payroll, "kontonummer"), "86011117947");

    // A write of a withheld field is refused, and nothing is written.
    let grant = env.grant(Operation::Update, "innbyggere", "kommunikasjon", "4601");
    let patch = env.body(
        "innbyggere",
        json!({ "fodselsnummer": "26111593816" }),
        Mode::Patch,
    );
    let err = record_error(
        env.records
            .update(&grant, created.id, patch, None, &meta())
            .await,
    );
    assert_eq!(err.code(), "field_not_writable");
    env.finish().await;
}

async fn another_tenants_record_is_not_found(backend: Backend) {
    let env = Env::kommune(backend).await;
    let bergen = env
        .create("innbyggere", "innbyggerregister", "4601", resident(9))
        .await;
    let missing = Uuid::now_v7();
    for id in [bergen.id, missing] {
        let err = record_error(env.get("innbyggere", "innbyggerregister", "0301", id).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
        assert_eq!(
            err.to_string(),
            "there is no record with this id in collection `innbyggere`"
        );
        let grant = env.grant(Operation::Update, "innbyggere", "innbyggerregister", "0301");
        let patch = env.body("innbyggere", json!({ "adresse": "Oslo" }), Mode::Patch);
        let err = record_error(env.records.update(&grant, id, patch, None, &meta()).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
        let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "0301");
        let err = record_error(env.records.delete(&grant, id, &meta()).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
    }
    let grant = env.grant(Operation::List, "innbyggere", "innbyggerregister", "0301");
    assert!(
        env.records
            .list(&grant, None, 10, &meta())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let grant = env.grant_lookup(
        Operation::Lookup,
        "innbyggere",
        "innbyggerregister",
        "0301",
        "fodselsnummer",
    );
    assert!(
        env.records
            .lookup(&grant, "fodselsnummer", &fnr(9), &meta())
            .await
            .unwrap()
            .is_empty()
    );
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", bergen.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "adresse"), "Lønborglien 77", "untouched");

    // A Bergen application cannot name an Oslo resident.
    let oslo_child = env
        .create("innbyggere", "innbyggerregister", "0301", resident(10))
        .await;
    let guardian = env
        .create("innbyggere", "innbyggerregister", "4601", resident(11))
        .await;
    let grant = env.grant(
        Operation::Create,
        "barnehagesoknader",
        "barnehageopptak",
        "4601",
    );
    let body = env.body(
        "barnehagesoknader",
        soknad(oslo_child.id, guardian.id),
        Mode::Create,
    );
    let err = record_error(env.records.create(&grant, body, &meta()).await);
    assert!(
        matches!(&err, RecordError::ReferenceNotFound { field, .. } if field == "barn_id"),
        "{err}"
    );
    env.finish().await;
}

fn soknad(child: Uuid, guardian: Uuid) -> Value {
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

async fn references_must_exist_and_a_new_primary_subject_reencrypts(backend: Backend) {
    let env = Env::kommune(backend).await;
    let child = env
        .create("innbyggere", "innbyggerregister", "4601", resident(12))
        .await;
    let sibling = env
        .create("innbyggere", "innbyggerregister", "4601", resident(13))
        .await;
    let guardian = env
        .create("innbyggere", "innbyggerregister", "4601", resident(14))
        .await;

    let grant = env.grant(
        Operation::Create,
        "barnehagesoknader",
        "barnehageopptak",
        "4601",
    );
    let body = env.body(
        "barnehagesoknader",
        soknad(Uuid::now_v7(), guardian.id),
        Mode::Create,
    );
    let err = record_error(env.records.create(&grant, body, &meta()).await);
    assert!(
        matches!(&err, RecordError::ReferenceNotFound { collection, .. } if collection == "innbyggere")
    );
    assert_eq!(env.count("c_barnehagesoknader").await, 0);

    let created = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let subjects: Vec<(Option<&str>, Uuid, bool)> = created
        .subjects
        .iter()
        .map(|s| (s.reference.as_deref(), s.id.as_uuid(), s.primary))
        .collect();
    assert_eq!(
        subjects,
        [
            (Some("barn"), child.id, true),
            (Some("foresatt1"), guardian.id, false)
        ]
    );

    let moved = env
        .update(
            "barnehagesoknader",
            "barnehageopptak",
            created.id,
            json!({ "barn_id": sibling.id.to_string() }),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(
        moved.primary_subject(),
        Some(SubjectId::from_uuid(sibling.id))
    );
    let read = env
        .get("barnehagesoknader", "barnehageopptak", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "onsket_barnehage"), "Solstrålen barnehage");
    assert_eq!(string(&read, "foresatt1_telefon"), "+4791234567");
    assert_eq!(read, moved);
    // The record is now sealed with the sibling's key: destroying the first child's key
    // leaves it readable.
    env.store
        .keys()
        .destroy_subject_keys(tenant("4601"), SubjectId::from_uuid(child.id))
        .await
        .unwrap();
    env.records
        .evict(tenant("4601"), SubjectId::from_uuid(child.id))
        .await;
    env.get("barnehagesoknader", "barnehageopptak", "4601", created.id)
        .await
        .unwrap();

    let to_nowhere = env
        .update(
            "barnehagesoknader",
            "barnehageopptak",
            created.id,
            json!({ "foresatt2_id": Uuid::now_v7().to_string() }),
            None,
        )
        .await;
    assert!(matches!(
        record_error(to_nowhere),
        RecordError::ReferenceNotFound { .. }
    ));
    env.finish().await;
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

async fn database_never_holds_stored_plaintext(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 15..=17 {
        ids.push(
            env.create("innbyggere", "innbyggerregister", "4601", resident(n))
                .await
                .id,
        );
    }
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[0],
        json!({ "fornavn": "Ingeborg15" }),
        None,
    )
    .await
    .unwrap();
    env.get("innbyggere", "innbyggerregister", "4601", ids[1])
        .await
        .unwrap();
    env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(17))
        .await;
    env.store.audit().seal().await.unwrap();

    let secrets: Vec<String> = (15..=17).flat_map(secret_values).collect();
    let dumps = dump_databases(&env).await;
    assert!(dumps.len() >= 2, "both databases were read");
    for (what, bytes) in &dumps {
        for secret in &secrets {
            let plain = secret.as_bytes();
            let upper = hex(plain).to_uppercase();
            let lower = hex(plain);
            assert!(!contains(bytes, plain), "{secret:?} in {what}");
            assert!(
                !contains(bytes, upper.as_bytes()),
                "{secret:?} as hex in {what}"
            );
            assert!(
                !contains(bytes, lower.as_bytes()),
                "{secret:?} as hex in {what}"
            );
        }
    }
    // The scan does see what is stored in the clear by design (postnummer, birth date).
    assert!(
        dumps
            .iter()
            .any(|(_, bytes)| contains(bytes, b"5039") || contains(bytes, hex(b"5039").as_bytes()))
    );
    env.finish().await;
}

/// Everything both databases hold: the SQLite files byte for byte (including the WAL and
/// free pages); on the servers every row of every table, each column as text and as hex.
async fn dump_databases(env: &Env) -> Vec<(String, Vec<u8>)> {
    let mut dumps = Vec::new();
    match env.db.backend() {
        Backend::Sqlite => {
            for config in [&env.db.config().data, &env.db.config().keys] {
                let path = config
                    .redacted_url()
                    .trim_start_matches("sqlite://")
                    .to_owned();
                for file in [path.clone(), format!("{path}-wal")] {
                    if let Ok(bytes) = std::fs::read(&file) {
                        dumps.push((file, bytes));
                    }
                }
            }
        }
        Backend::Postgres => {
            for db in [env.store.data(), env.store.keys().database()] {
                for table in crate::support::tables(db).await {
                    let rows = strings(
                        db,
                        &format!("SELECT row_to_json(t)::text FROM \"{table}\" t"),
                    )
                    .await;
                    dumps.push((table, rows.join("\n").into_bytes()));
                }
            }
        }
        Backend::MySql => {
            for db in [env.store.data(), env.store.keys().database()] {
                for table in crate::support::tables(db).await {
                    let columns = strings(
                        db,
                        &format!(
                            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                             WHERE table_schema = DATABASE() AND table_name = '{table}'"
                        ),
                    )
                    .await;
                    let select: Vec<String> = columns
                        .iter()
                        .map(|c| format!("COALESCE(HEX(`{c}`), '')"))
                        .collect();
                    let rows = strings(
                        db,
                        &format!(
                            "SELECT CONCAT_WS('|', {}) FROM `{table}`",
                            select.join(", ")
                        ),
                    )
                    .await;
                    dumps.push((table, rows.join("\n").into_bytes()));
                }
            }
        }
    }
    dumps
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn moved_ciphertext_fails_to_decrypt(backend: Backend) {
    let env = Env::kommune(backend).await;
    let a = env
        .create("innbyggere", "innbyggerregister", "4601", resident(18))
        .await;
    let b = env
        .create("innbyggere", "innbyggerregister", "4601", resident(19))
        .await;
    let expect_failure = |result: Result<RecordView, StoreError>, field: &str, record: Uuid| {
        let err = record_error(result);
        match &err {
            RecordError::Decryption {
                field: f,
                record: r,
                collection,
            } => {
                assert_eq!(
                    (f.as_str(), *r, collection.as_str()),
                    (field, record, "innbyggere")
                );
            }
            other => panic!("expected a decryption error, got {other}"),
        }
        assert_eq!(err.code(), "field_decryption_failed");
        // The message names the place, never a value.
        assert!(!err.to_string().contains("Ingeborg"));
    };

    // To another row (another subject, so another key).
    let fornavn = read_bytes(env.data(), "c_innbyggere", "fornavn", a.id).await;
    write_bytes(env.data(), "c_innbyggere", "fornavn", b.id, &fornavn).await;
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", b.id)
            .await,
        "fornavn",
        b.id,
    );
    // To another field of the same row (same key).
    write_bytes(env.data(), "c_innbyggere", "etternavn", a.id, &fornavn).await;
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", a.id)
            .await,
        "etternavn",
        a.id,
    );
    // A withheld field is never decrypted: damage only it, and a purpose that may not read
    // it still reads the record, while one that may fails.
    let c = env
        .create("innbyggere", "innbyggerregister", "4601", resident(20))
        .await;
    let other_number = read_bytes(env.data(), "c_innbyggere", "fodselsnummer", b.id).await;
    write_bytes(
        env.data(),
        "c_innbyggere",
        "fodselsnummer",
        c.id,
        &other_number,
    )
    .await;
    let letters = env
        .get("innbyggere", "kommunikasjon", "4601", c.id)
        .await
        .unwrap();
    assert_eq!(string(&letters, "fornavn"), "Ingeborg20");
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", c.id)
            .await,
        "fodselsnummer",
        c.id,
    );

    // To another record of the same subject (same key, other record id): two applications
    // for one child.
    let child = env
        .create("innbyggere", "innbyggerregister", "4601", resident(21))
        .await;
    let guardian = env
        .create("innbyggere", "innbyggerregister", "4601", resident(22))
        .await;
    let first = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let second = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let phone = read_bytes(
        env.data(),
        "c_barnehagesoknader",
        "foresatt1_telefon",
        first.id,
    )
    .await;
    write_bytes(
        env.data(),
        "c_barnehagesoknader",
        "foresatt1_telefon",
        second.id,
        &phone,
    )
    .await;
    let err = record_error(
        env.get("barnehagesoknader", "barnehageopptak", "4601", second.id)
            .await,
    );
    assert!(
        matches!(err, RecordError::Decryption { record, .. } if record == second.id),
        "{err}"
    );
    env.get("barnehagesoknader", "barnehageopptak", "4601", first.id)
        .await
        .unwrap();

    // Altered bytes fail the same way; a truncated envelope too.
    let mut altered = read_bytes(env.data(), "c_innbyggere", "adresse", b.id).await;
    let last = altered.len() - 1;
    altered[last] ^= 1;
    write_bytes(env.data(), "c_innbyggere", "adresse", b.id, &altered).await;
    write_bytes(env.data(), "c_innbyggere", "fornavn", b.id, &[1, 2, 3]).await;
    let err = record_error(
        env.get("innbyggere", "innbyggerregister", "4601", b.id)
            .await,
    );
    assert!(matches!(err, RecordError::Decryption { .. }));
    env.finish().await;
}

/// The bytes in `column` of the row `id` of `table`.
async fn read_bytes(db: &Database, table: &str, column: &str, id: Uuid) -> Vec<u8> {
    let sql = |p: &str| format!("SELECT {column} FROM {table} WHERE id = {p}");
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(&sql("?")).bind(id).fetch_one(pool).await,
        DbPool::Postgres(pool) => {
            sqlx::query_scalar(&sql("$1"))
                .bind(id)
                .fetch_one(pool)
                .await
        }
        DbPool::MySql(pool) => sqlx::query_scalar(&sql("?")).bind(id).fetch_one(pool).await,
        _ => unreachable!("a new backend"),
    };
    result.unwrap_or_else(|err| panic!("{}: {err}", sql("?")))
}

/// Overwrites `column` of the row `id` of `table` with `bytes`, directly in SQL.
async fn write_bytes(db: &Database, table: &str, column: &str, id: Uuid, bytes: &[u8]) {
    let sql = |a: &str, b: &str| format!("UPDATE {table} SET {column} = {a} WHERE id = {b}");
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query(&sql("?", "?"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::Postgres(pool) => sqlx::query(&sql("$1", "$2"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::MySql(pool) => sqlx::query(&sql("?", "?"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        _ => unreachable!("a new backend"),
    };
    assert_eq!(
        result.unwrap_or_else(|err| panic!("{}: {err}", sql("?", "?"))),
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

async fn each_write_leaves_one_audit_entry_and_one_outbox_row(backend: Backend) {
    let env = Env::kommune(backend).await;
    let (audit0, outbox0) = (env.count("dv_audit").await, env.count("dv_outbox").await);

    let created = env
        .create("innbyggere", "innbyggerregister", "4601", resident(23))
        .await;
    assert_eq!(env.count("dv_audit").await, audit0 + 1);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 1);
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "postnummer": "5003", "adresse": "Torgallmenningen 1" }),
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(env.count("dv_audit").await, audit0 + 2);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 2);
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records
        .delete(&grant, created.id, &meta())
        .await
        .unwrap();
    assert_eq!(env.count("dv_audit").await, audit0 + 3);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 3);

    let id = created.id.simple().to_string();
    let audit = audit_rows(&env).await;
    let audit: Vec<_> = audit
        .iter()
        .map(|(a, o, r, f)| (a.as_str(), o.as_str(), r.as_str(), f.as_str()))
        .collect();
    let all = r#"["adresse","epost","etternavn","fodselsdato","fodselsnummer","fornavn","postnummer","telefon"]"#;
    assert_eq!(
        audit,
        [
            ("create", "granted", id.as_str(), all),
            (
                "update",
                "granted",
                id.as_str(),
                r#"["adresse","postnummer"]"#
            ),
            ("delete", "granted", id.as_str(), all),
        ]
    );

    let events = env.store.outbox().pending(10).await.unwrap();
    let shape: Vec<(&str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.source.as_str(),
                e.subject.as_deref(),
            )
        })
        .collect();
    let subject = created.id.to_string();
    assert_eq!(
        shape,
        [
            (
                "no.datavern.record.created",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
            (
                "no.datavern.record.updated",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
            (
                "no.datavern.record.deleted",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
        ]
    );
    assert_eq!(
        events[1].data,
        Some(json!({
            "record_id": subject, "collection": "innbyggere", "tenant": "4601", "version": 2,
            "fields": ["adresse", "postnummer"],
        }))
    );
    assert!(
        events
            .iter()
            .all(|e| e.specversion == "1.0" && e.id.get_version_num() == 7)
    );
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(
        env.store
            .outbox()
            .mark_published(&[events[0].id])
            .await
            .unwrap(),
        1
    );
    assert_eq!(env.store.outbox().pending(10).await.unwrap().len(), 2);
    env.finish().await;
}

async fn a_write_that_fails_midway_leaves_no_trace(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env
        .create("innbyggere", "innbyggerregister", "4601", resident(24))
        .await;
    // One event per record at most: a second write of the record fails at its outbox
    // insert, after its row change and audit entry, inside the same transaction.
    execute(
        env.data(),
        "CREATE UNIQUE INDEX test_one_event_per_record ON dv_outbox (subject)",
    )
    .await;
    let counts = || async { (env.count("dv_audit").await, env.count("dv_outbox").await) };
    let before = counts().await;

    let update = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Ny adresse 1" }),
            None,
        )
        .await;
    assert!(matches!(update, Err(StoreError::Database(_))), "{update:?}");
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    let delete = env.records.delete(&grant, created.id, &meta()).await;
    assert!(matches!(delete, Err(StoreError::Database(_))), "{delete:?}");
    assert_eq!(counts().await, before, "no audit entry, no outbox row");
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(
        (read.version, string(&read, "adresse").as_str()),
        (1, "Lønborglien 77")
    );
    let reads = counts().await;

    // A key store that cannot be reached: nothing is written at all.
    env.store.keys().database().close().await;
    let grant = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "4601");
    let record = env.body("innbyggere", resident(25), Mode::Create);
    let create = env.records.create(&grant, record, &meta()).await;
    assert!(create.is_err());
    assert_eq!(counts().await, reads);
    assert_eq!(env.count("c_innbyggere").await, 1);
    env.finish().await;
}

async fn reads_are_audited_per_record_and_sealed(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            env.create("innbyggere", "innbyggerregister", "4601", resident(n))
                .await
                .id,
        );
    }
    env.get("innbyggere", "kommunikasjon", "4601", ids[0])
        .await
        .unwrap();
    env.list("innbyggere", "innbyggerregister", None, 10).await;
    env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(2))
        .await;
    env.store.audit().seal().await.unwrap();

    let rows = audit_rows(&env).await;
    let reads: Vec<(&str, &str)> = rows
        .iter()
        .filter(|(a, ..)| a != "create")
        .map(|(a, _, r, _)| (a.as_str(), r.as_str()))
        .collect();
    let hex = |i: usize| ids[i].simple().to_string();
    let (h0, h1, h2) = (hex(0), hex(1), hex(2));
    let mut expected = vec![
        ("read", h0.as_str()),
        ("list", h0.as_str()),
        ("list", h1.as_str()),
        ("list", h2.as_str()),
        ("lookup", h1.as_str()),
    ];
    // Group commit may write concurrent entries in any order.
    let mut reads = reads;
    reads.sort_unstable();
    expected.sort_unstable();
    assert_eq!(reads, expected);
    // The read under `kommunikasjon` names the fields it returned, not the withheld one.
    let read_fields = &rows.iter().find(|(a, ..)| a == "read").unwrap().3;
    assert!(
        !read_fields.contains("fodselsnummer") && read_fields.contains("adresse"),
        "{read_fields}"
    );
    assert_eq!(
        scalar(
            env.data(),
            "SELECT COUNT(*) FROM dv_audit WHERE sequence IS NULL"
        )
        .await,
        0,
        "every entry is sealed"
    );
    let request_ids = strings(env.data(), "SELECT DISTINCT request_id FROM dv_audit").await;
    assert_eq!(request_ids, ["test-request"]);
    env.finish().await;
}

async fn denials_are_audited(backend: Backend) {
    let env = Env::kommune(backend).await;
    let principal = env.principal("4601");
    let request =
        AccessRequest::read("innbyggere", tenant("4601")).with_purpose(Some("nyhetsbrev"));
    let denial = access::decide(&env.catalog, &principal, &request).unwrap_err();
    let facts = AuditFacts::denied(&principal, &request, &denial);
    env.records.audit_denial(&facts, &meta()).await.unwrap();
    let rows = audit_rows(&env).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("read", "denied"));
    let reasons = strings(env.data(), "SELECT reason FROM dv_audit").await;
    assert_eq!(reasons, [denial.code()]);
    env.finish().await;
}

async fn outbox_rows_hold_no_personal_values(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 26..=27 {
        ids.push(
            env.create("innbyggere", "innbyggerregister", "4601", resident(n))
                .await
                .id,
        );
    }
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[0],
        json!({ "fornavn": "Ingeborg26", "epost": "Ingeborg.Skjaervik@example.no" }),
        None,
    )
    .await
    .unwrap();
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records.delete(&grant, ids[1], &meta()).await.unwrap();

    let events = env.store.outbox().pending(100).await.unwrap();
    assert_eq!(events.len(), 4);
    let sql = match backend {
        Backend::Postgres => "SELECT row_to_json(t)::text FROM dv_outbox t",
        Backend::MySql => {
            "SELECT CONCAT_WS(' ', source, type, subject, data, tenant) FROM dv_outbox"
        }
        _ => {
            "SELECT source || ' ' || type || ' ' || subject || ' ' || data || ' ' || tenant FROM dv_outbox"
        }
    };
    let text = strings(env.data(), sql).await.join("\n");
    assert!(
        text.contains("innbyggere"),
        "the scan reads the rows: {text}"
    );
    for secret in (26..=27)
        .flat_map(secret_values)
        .chain(["5039".to_owned(), "1986-10-26".to_owned()])
    {
        assert!(!text.contains(&secret), "{secret:?} in the outbox");
    }
    for event in &events {
        let data = event.data.as_ref().unwrap().as_object().unwrap();
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["collection", "fields", "record_id", "tenant", "version"]
        );
    }
    env.finish().await;
}

async fn evicted_destroyed_keys_are_not_served(backend: Backend) {
    let env = Env::kommune(backend).await;
    let person = env
        .create("innbyggere", "innbyggerregister", "4601", resident(28))
        .await;
    let subject = SubjectId::from_uuid(person.id);
    env.store
        .keys()
        .destroy_subject_keys(tenant("4601"), subject)
        .await
        .unwrap();
    env.records.evict(tenant("4601"), subject).await;
    let result = env
        .get("innbyggere", "innbyggerregister", "4601", person.id)
        .await;
    assert!(
        matches!(result, Err(StoreError::SubjectKeyDestroyed { .. })),
        "{result:?}"
    );
    // Nor is the erased subject given a fresh key for a new value.
    let update = env
        .update(
            "innbyggere",
            "innbyggerregister",
            person.id,
            json!({ "adresse": "x" }),
            None,
        )
        .await;
    assert!(
        matches!(update, Err(StoreError::SubjectKeyDestroyed { .. })),
        "{update:?}"
    );
    env.finish().await;
}

#[tokio::test]
async fn records_work_for_an_application_role_under_row_level_security() {
    let env = Env::kommune(Backend::Postgres).await;
    let bergen = env
        .create("innbyggere", "innbyggerregister", "4601", resident(1))
        .await;
    let role = env.db.create_app_role().await;
    execute(
        env.data(),
        &format!(
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{}\"",
            role.name
        ),
    )
    .await;
    let config =
        datavern_store::StoreConfig::new(role.config.clone(), env.db.config().keys.clone());
    let store = Store::connect(&config).await.unwrap();
    // The same key store with a KEK of its own: it serves another tenant here.
    let kek: Arc<dyn KekProvider> = Arc::new(
        LocalKeyFile::create(env._kek_dir.path().join("kek2"))
            .await
            .unwrap(),
    );
    let app = Records::new(store.clone(), env.catalog.clone(), kek);
    let grant = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "0301");
    let record = env.body("innbyggere", resident(2), Mode::Create);
    let oslo = app.create(&grant, record, &meta()).await.unwrap();
    let grant = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "0301");
    let read = app.get(&grant, oslo.id, &meta()).await.unwrap();
    assert_eq!(read.tenant, tenant("0301"));
    let err = record_error(app.get(&grant, bergen.id, &meta()).await);
    assert!(matches!(err, RecordError::NotFound { .. }));
    let grant = env.grant(Operation::List, "innbyggere", "innbyggerregister", "0301");
    let page = app.list(&grant, None, 10, &meta()).await.unwrap();
    assert_eq!(
        page.items.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![oslo.id]
    );
    store.close().await;
    env.finish().await;
}
