//! Data subject rights on every backend with the example catalog: resolving a person, access
//! (with a guardian's part of a child's application), rectification, portability, and
//! erasure per collection policy, with archive duty, legal holds, idempotency and the
//! erasure proof against an old copy of the database.

use datavern_core::access::{self, AccessRequest, Principal, PrincipalId};
use datavern_core::classification::Classification;
use datavern_core::id::Fodselsnummer;
use datavern_core::record::{self, Mode};
use datavern_governance::rights::{Actor, Rights, SubjectIdentifier};
use datavern_sql::Backend;
use datavern_store::{RequestMeta, SubjectId};
use datavern_testkit::Env as Base;
use datavern_testkit::{fixtures, sql};
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) use datavern_testkit::fixtures::fnr;
pub(crate) use datavern_testkit::sql::fields_text;

use crate::support::{KOMMUNE, report, tenant};

mod access_tests;
mod erasure;
mod proof;
mod scrub;

/// A store with the example catalog, a local KEK, the record service (the testkit's [`Base`])
/// and the rights.
pub(crate) struct Env {
    base: Base,
    pub(crate) rights: Rights,
}

impl std::ops::Deref for Env {
    type Target = Base;

    fn deref(&self) -> &Base {
        &self.base
    }
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
        let base = Base::new(backend, yaml).await;
        let rights = Rights::new(base.records.clone());
        Env { base, rights }
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
        sql::count_where(self.data(), table, column, id).await
    }

    /// Whether `column` of `table`'s row `id` is NULL (`None` if there is no such row).
    pub(crate) async fn is_null(&self, table: &str, column: &str, id: Uuid) -> Option<bool> {
        sql::is_null(self.data(), table, column, id).await
    }

    pub(crate) async fn finish(self) {
        self.base.finish().await;
    }
}

/// Resident `n` of `innbyggere` (the testkit's), with an e-mail address of their own.
pub(crate) fn resident(n: u32) -> Value {
    let mut resident = fixtures::resident(n);
    resident["epost"] = json!(format!("person{n}@example.no"));
    resident
}
