//! Data subject rights on every backend with the example catalog: resolving a person, access
//! (with a guardian's part of a child's application), rectification, portability, and
//! erasure per collection policy, with archive duty, legal holds, idempotency and the
//! erasure proof against an old copy of the database.

use std::sync::Arc;

use datavern_core::access::{self, AccessRequest, Principal, PrincipalId};
use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_core::id::Fodselsnummer;
use datavern_core::record::{self, Mode};
use datavern_crypto::{KekProvider, LocalKeyFile};
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, DbPool};
use datavern_store::rights::{Actor, Rights, SubjectIdentifier};
use datavern_store::testing::OpenStore as _;
use datavern_store::{Records, RequestMeta, Store, SubjectId};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::support::{KOMMUNE, catalog, report, tenant};

mod access_tests;
mod erasure;
mod proof;
mod scrub;

/// A store with the example catalog, a local KEK, the record service and the rights.
pub(crate) struct Env {
    pub(crate) db: TestDb,
    pub(crate) store: Store,
    pub(crate) records: Records,
    pub(crate) rights: Rights,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) kek: Arc<dyn KekProvider>,
    _kek_dir: TempDir,
}

/// The people and records of a small family in Bergen.
pub(crate) struct Family {
    /// Parent A: a resident, foresatt1 on the application, client in a case, and an employee
    /// (same fødselsnummer).
    pub(crate) a: Uuid,
    /// A's employee record (a second subject id of the same person).
    pub(crate) a_employee: Uuid,
    /// Parent B: a resident and foresatt2.
    pub(crate) b: Uuid,
    /// Child C: a resident and the application's primary subject.
    pub(crate) c: Uuid,
    /// A bystander D: a resident only.
    pub(crate) d: Uuid,
    /// The kindergarten application.
    pub(crate) soknad: Uuid,
    /// A's case.
    pub(crate) sak: Uuid,
}

impl Env {
    pub(crate) async fn new(backend: Backend) -> Env {
        Env::with_catalog(backend, KOMMUNE).await
    }

    pub(crate) async fn with_catalog(backend: Backend, yaml: &str) -> Env {
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
        let rights = Rights::new(records.clone());
        Env {
            db,
            store,
            records,
            rights,
            catalog,
            kek,
            _kek_dir: kek_dir,
        }
    }

    pub(crate) fn data(&self) -> &Database {
        self.store.data()
    }

    /// The store's clock's time.
    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.store.now().into()
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor::new("personvernombud-1", tenant("4601")).with_request_id("dsr-1")
    }

    pub(crate) async fn create(&self, collection: &str, purpose: &str, body: Value) -> Uuid {
        let tenant = tenant("4601");
        let principal = Principal::new(
            PrincipalId::parse("saksbehandler-1").unwrap(),
            tenant,
            Classification::Begrenset,
        )
        .with_purposes(self.catalog.purposes().iter().map(|p| p.id().clone()));
        let request = AccessRequest::create(collection, tenant).with_purpose(Some(purpose));
        let grant = access::decide(&self.catalog, &principal, &request)
            .unwrap_or_else(|denial| panic!("{denial}"));
        let validated = record::validate(
            self.catalog.collection(collection).unwrap(),
            body.as_object().unwrap(),
            Mode::Create,
        )
        .unwrap_or_else(|problems| panic!("{problems}"));
        self.records
            .create(&grant, validated, &RequestMeta::new())
            .await
            .unwrap_or_else(|err| panic!("create {collection}: {}", report(&err)))
            .id
    }

    pub(crate) async fn family(&self) -> Family {
        let a = self
            .create("innbyggere", "innbyggerregister", resident(1))
            .await;
        let b = self
            .create("innbyggere", "innbyggerregister", resident(2))
            .await;
        let c = self
            .create("innbyggere", "innbyggerregister", resident(3))
            .await;
        let d = self
            .create("innbyggere", "innbyggerregister", resident(4))
            .await;
        let soknad = self
            .create(
                "barnehagesoknader",
                "barnehageopptak",
                json!({
                    "barn_id": c.to_string(),
                    "foresatt1_id": a.to_string(),
                    "foresatt2_id": b.to_string(),
                    "soknadsdato": "2026-03-01",
                    "onsket_barnehage": "Solstrålen barnehage",
                    "onsket_oppstart": "2026-08-15",
                    "foresatt1_telefon": "+47 911 11 111",
                    "foresatt1_epost": "forelder.a@example.no",
                    "foresatt2_telefon": "+47 922 22 222",
                    "foresatt2_epost": "forelder.b@example.no",
                }),
            )
            .await;
        let sak = self
            .create(
                "saker",
                "helse_omsorg",
                json!({
                    "bruker_id": a.to_string(),
                    "saksnummer": "2026/1234",
                    "tjeneste": "hjemmesykepleie",
                    "diagnose": "Diagnose-A",
                }),
            )
            .await;
        let a_employee = self
            .create(
                "ansatte",
                "lonn",
                json!({
                    "ansattnummer": "A-100",
                    "fodselsnummer": fnr(1),
                    "fornavn": "Ingeborg1",
                    "etternavn": "Skjærvik-Fjellheim",
                    "stilling": "rådgiver",
                    "lonn": 612000,
                }),
            )
            .await;
        Family {
            a,
            a_employee,
            b,
            c,
            d,
            soknad,
            sak,
        }
    }

    pub(crate) async fn resolve_fnr(&self, n: u32) -> Vec<SubjectId> {
        let fnr = Fodselsnummer::parse(&fnr(n)).unwrap();
        self.rights
            .resolve(tenant("4601"), &SubjectIdentifier::NationalId(fnr))
            .await
            .unwrap_or_else(|err| panic!("resolve: {}", report(&err)))
    }

    /// The number of rows of `table` whose `column` is `id`.
    pub(crate) async fn count_where(&self, table: &str, column: &str, id: Uuid) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?");
        let result = match self.data().pool() {
            DbPool::Sqlite(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
            DbPool::Postgres(pool) => {
                sqlx::query_scalar(&sql.replace('?', "$1"))
                    .bind(id)
                    .fetch_one(pool)
                    .await
            }
            DbPool::MySql(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
        };
        result.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Whether `column` of `table`'s row `id` is NULL (`None` if there is no such row).
    pub(crate) async fn is_null(&self, table: &str, column: &str, id: Uuid) -> Option<bool> {
        let sql = format!(
            "SELECT CASE WHEN {column} IS NULL THEN 1 ELSE 0 END FROM {table} WHERE id = ?"
        );
        let result: Result<Option<i32>, _> = match self.data().pool() {
            DbPool::Sqlite(pool) => sqlx::query_scalar(&sql).bind(id).fetch_optional(pool).await,
            DbPool::Postgres(pool) => {
                sqlx::query_scalar(&sql.replace('?', "$1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
            DbPool::MySql(pool) => sqlx::query_scalar::<_, i64>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
                .map(|v| v.map(|v| v as i32)),
        };
        result
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .map(|v| v == 1)
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

/// The audit's `fields` column as text (JSONB on PostgreSQL).
pub(crate) fn fields_text(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(fields AS TEXT)",
        _ => "fields",
    }
}

/// A valid fødselsnummer born on day `n` (1–28) of October 1986.
pub(crate) fn fnr(n: u32) -> String {
    let date = format!("{:02}1086", n);
    for individual in 100..1000 {
        let base = format!("{date}{individual}");
        let digits: Vec<u32> = base.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let Some(k1) = check_digit(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2]) else {
            continue;
        };
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
        "epost": format!("person{n}@example.no"),
    })
}
