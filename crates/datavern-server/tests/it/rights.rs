//! The data subject's rights end to end through the API, on every backend: residents, a
//! barnehagesøknad (child and guardians) and a sak (archive duty) are created through
//! `/v1/collections`, then each right is asked for by fødselsnummer (`POST /v1/requests`),
//! verified and run (`POST /v1/requests/{id}/run`), and its answer and effect are checked
//! through the API. The compliance report lists overdue and nearly due requests on a moved
//! clock, and the consent coverage of the newsletter.
//!
//! Withdrawn consent refusing the next read is tested in `consent.rs`.

use std::io::Read as _;
use std::sync::Arc;

use base64::Engine as _;
use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_core::clock::{Clock as _, ManualClock, SystemClock};
use datavern_sql::Backend;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, all_purposes, principal, problem, roles, test_catalog};
use datavern_testkit::on_every_backend;

/// Principal `saksbehandler`: every purpose, clearance BEGRENSET, role `auditor`.
const CLERK: &str = "saksbehandler";
/// Principal `personvernombud-2`: role `dpo`; verifies requests, so that erasure and
/// rectification have four eyes.
const DPO2: &str = "personvernombud-2";
/// Principal `personvernombud`: role `dpo`; files and runs requests.
const DPO: &str = "personvernombud";

/// The mother: guardian 1 of the søknad, client of the sak.
const MOR: &str = "01019010046";
/// The father: guardian 2.
const FAR: &str = "02028510031";
/// The child.
const BARN: &str = "03031850087";
/// A resident with a sak and no family here.
const PER: &str = "12051210032";

/// What must never show up in a stored request or an audit entry.
const PERSONAL: [&str; 9] = [
    MOR,
    FAR,
    BARN,
    PER,
    "Kari",
    "Ola",
    "Nordmann",
    "kari@example.no",
    "sykepleie-diagnose",
];

/// The server with a clerk and two DPOs of Bergen, on a clock showing the real time.
struct RightsApp {
    app: TestApp,
    clock: ManualClock,
}

impl std::ops::Deref for RightsApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// The records of one family.
struct Family {
    mor: String,
    far: String,
    barn: String,
    soknad: String,
    sak: String,
}

impl RightsApp {
    /// The server with the catalog's subject resolver, its store on a clock showing the real
    /// time when it starts (holds are placed and judged on it, and tests move it).
    async fn spawn(backend: Backend) -> RightsApp {
        Self::spawn_with(backend, test_catalog()).await
    }

    /// The same over `catalog`.
    async fn spawn_with(backend: Backend, catalog: Catalog) -> RightsApp {
        let clock = ManualClock::new(SystemClock.now());
        let clerk = principal(CLERK, "4601", Classification::Begrenset)
            .with_roles(roles(&["auditor"]))
            .with_purposes(all_purposes(&catalog));
        let app = TestApp::builder(backend)
            .principals([
                clerk,
                principal(DPO, "4601", Classification::Begrenset).with_roles(roles(&["dpo"])),
                principal(DPO2, "4601", Classification::Begrenset).with_roles(roles(&["dpo"])),
            ])
            .catalog(catalog)
            .clock(Arc::new(clock.clone()))
            .spawn()
            .await;
        RightsApp { app, clock }
    }

    /// A records call by the clerk for `purpose`.
    fn records(&self, method: Method, path: &str, purpose: &str) -> reqwest::RequestBuilder {
        self.call(self.key_of(CLERK), method, path)
            .header("datavern-purpose", purpose)
    }

    async fn ok(response: reqwest::Response, status: u16) -> Value {
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Creates a record of `collection` for `purpose`; its id.
    async fn create(&self, collection: &str, purpose: &str, body: Value) -> String {
        let response = self
            .records(
                Method::POST,
                &format!("/v1/collections/{collection}/records"),
                purpose,
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let created = Self::ok(response, 201).await;
        created["id"].as_str().unwrap().to_owned()
    }

    /// The status of a read of `collection/id` for `purpose`, and its body.
    async fn read(&self, collection: &str, id: &str, purpose: &str) -> (u16, Value) {
        let response = self
            .records(
                Method::GET,
                &format!("/v1/collections/{collection}/records/{id}"),
                purpose,
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The status of a `PATCH` of `collection/id` for `purpose`, and its body.
    async fn patch(&self, collection: &str, id: &str, purpose: &str, body: Value) -> (u16, Value) {
        let response = self
            .records(
                Method::PATCH,
                &format!("/v1/collections/{collection}/records/{id}"),
                purpose,
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A DPO `POST` of `body`.
    async fn dpo_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.call(self.key_of(DPO), Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Records a request of `kind` by fødselsnummer `fnr` with `parameters`, verified by the
    /// second DPO (the four-eyes rule: the first runs it); its id.
    async fn verified_request(&self, kind: &str, fnr: &str, parameters: Value) -> String {
        let id = self.received_request(kind, fnr, parameters).await;
        let response = self
            .call(
                self.key_of(DPO2),
                Method::POST,
                &format!("/v1/requests/{id}/verify"),
            )
            .json(&json!({"method": "id-porten"}))
            .send()
            .await
            .unwrap();
        let verified = Self::ok(response, 200).await;
        assert_eq!(verified["state"], "verified");
        assert_eq!(verified["verified_by"], "personvernombud-2");
        id
    }

    /// Records a request of `kind` by fødselsnummer `fnr`; its id.
    async fn received_request(&self, kind: &str, fnr: &str, parameters: Value) -> String {
        let mut body = json!({"type": kind, "fodselsnummer": fnr});
        if !parameters.is_null() {
            body["parameters"] = parameters;
        }
        let created = Self::ok(self.dpo_post("/v1/requests", body).await, 201).await;
        assert_eq!(created["identified_by"], "fodselsnummer");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Runs request `id` with `body` (none for `Value::Null`); the answer.
    async fn run(&self, id: &str, body: Value) -> Value {
        let path = format!("/v1/requests/{id}/run");
        let response = if body.is_null() {
            self.call(self.key_of(DPO), Method::POST, &path)
                .send()
                .await
                .unwrap()
        } else {
            self.dpo_post(&path, body).await
        };
        Self::ok(response, 200).await
    }

    /// The request as stored, checked to hold none of the family's personal data.
    async fn stored_request(&self, id: &str) -> Value {
        let response = self
            .call(self.key_of(DPO), Method::GET, &format!("/v1/requests/{id}"))
            .send()
            .await
            .unwrap();
        let request = Self::ok(response, 200).await;
        let text = request.to_string();
        for value in PERSONAL {
            assert!(
                !text.contains(value),
                "{value} stored in the request: {text}"
            );
        }
        request
    }

    /// The audit entries about `record` (the clerk is an auditor).
    async fn audit(&self, record: &str) -> Vec<Value> {
        let response = self
            .call(
                self.key_of(CLERK),
                Method::GET,
                &format!("/v1/audit?record={record}"),
            )
            .send()
            .await
            .unwrap();
        let page = Self::ok(response, 200).await;
        page["items"].as_array().unwrap().clone()
    }

    /// The compliance report.
    async fn compliance(&self) -> Value {
        let response = self
            .call(self.key_of(DPO), Method::GET, "/v1/reports/compliance")
            .send()
            .await
            .unwrap();
        Self::ok(response, 200).await
    }

    /// Mother, father and child, their barnehagesøknad, and the mother's sak.
    async fn family(&self) -> Family {
        let person = |fnr: &str, fornavn: &str| {
            json!({"fodselsnummer": fnr, "fornavn": fornavn, "etternavn": "Nordmann",
                   "postnummer": "5003"})
        };
        let mor = self
            .create(
                "innbyggere",
                "innbyggerregister",
                json!({"fodselsnummer": MOR, "fornavn": "Kari", "etternavn": "Nordmann",
                       "epost": "kari@example.no", "postnummer": "5003"}),
            )
            .await;
        let far = self
            .create("innbyggere", "innbyggerregister", person(FAR, "Ola"))
            .await;
        let barn = self
            .create("innbyggere", "innbyggerregister", person(BARN, "Emma"))
            .await;
        let soknad = self
            .create(
                "barnehagesoknader",
                "barnehageopptak",
                json!({"barn_id": barn, "foresatt1_id": mor, "foresatt2_id": far,
                       "soknadsdato": "2026-03-01", "onsket_barnehage": "Solstrålen",
                       "foresatt1_telefon": "+4791234567", "foresatt1_epost": "kari@example.no",
                       "foresatt2_telefon": "+4798765432"}),
            )
            .await;
        let sak = self
            .create(
                "saker",
                "helse_omsorg",
                json!({"bruker_id": mor, "saksnummer": "2026/17", "tjeneste": "hjemmesykepleie",
                       "diagnose": "sykepleie-diagnose"}),
            )
            .await;
        Family {
            mor,
            far,
            barn,
            soknad,
            sak,
        }
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

/// The names of a report record's fields.
fn field_names(record: &Value) -> Vec<&str> {
    record["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

/// The collection `name` of an access report.
fn collection<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

#[on_every_backend]
async fn access_and_portability_by_fodselsnummer(backend: Backend) {
    let app = RightsApp::spawn(backend).await;
    let family = app.family().await;

    // Not verified: refused, nothing changes.
    let id = app.received_request("access", MOR, Value::Null).await;
    let (status, body) = problem(
        app.dpo_post(&format!("/v1/requests/{id}/run"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("illegal_transition")),
        "{body:#}"
    );
    assert_eq!(app.stored_request(&id).await["state"], "received");

    let id = app.verified_request("access", MOR, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    assert!(answer["portability"].is_null());
    let report = &answer["access"];
    assert_eq!(report["subjects"], json!([family.mor]));

    // Every collection with the Art. 15(1) context.
    let innbyggere = collection(report, "innbyggere");
    let record = &innbyggere["records"][0];
    assert_eq!(record["id"], family.mor.as_str());
    assert_eq!(record["role"]["kind"], "self");
    let fornavn = record["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "fornavn")
        .unwrap();
    assert_eq!(fornavn["value"], "Kari");
    assert_eq!(fornavn["category"], "user.name.given");
    let context = &innbyggere["context"];
    assert_eq!(
        context["source"], "Folkeregisteret (Skatteetaten)",
        "{context:#}"
    );
    assert_eq!(context["classification"], "ÅPEN");
    assert_eq!(context["retention"]["period"], "P2Y");
    let purposes: Vec<&str> = context["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        [
            "innbyggerregister",
            "kommunikasjon",
            "barnehageopptak",
            "helse_omsorg"
        ]
    );
    assert_eq!(context["purposes"][0]["lawful_basis"], "6(1)(e)");
    assert!(
        context["purposes"][0]["legal_reference"]
            .as_str()
            .unwrap()
            .contains("folkeregisterloven")
    );

    let saker = collection(report, "saker");
    assert_eq!(saker["records"][0]["id"], family.sak.as_str());
    assert_eq!(saker["records"][0]["role"]["kind"], "primary");
    assert_eq!(saker["context"]["classification"], "BEGRENSET");
    assert!(
        saker["context"]["recipients"]
            .as_array()
            .unwrap()
            .contains(&json!("Statsforvalteren i Vestland")),
        "{:#}",
        saker["context"]
    );
    assert!(
        saker["context"]["archive_duty"]
            .as_str()
            .unwrap()
            .contains("arkivlova")
    );

    // A guardian sees their part of the søknad only: their reference and their fields.
    let soknad = &collection(report, "barnehagesoknader")["records"][0];
    assert_eq!(soknad["id"], family.soknad.as_str());
    assert_eq!(soknad["role"]["kind"], "secondary");
    assert_eq!(soknad["role"]["reference"], "foresatt1");
    let mut fields = field_names(soknad);
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["foresatt1_epost", "foresatt1_id", "foresatt1_telefon"],
        "{soknad:#}"
    );
    // The father's access report does not hold the mother's part.
    let far_id = app.verified_request("access", FAR, Value::Null).await;
    let far_report = app.run(&far_id, Value::Null).await;
    let far_soknad = &collection(&far_report["access"], "barnehagesoknader")["records"][0];
    assert_eq!(far_soknad["role"]["reference"], "foresatt2");
    assert!(!far_soknad.to_string().contains("kari@example.no"));
    assert!(
        !field_names(far_soknad)
            .iter()
            .any(|f| f.starts_with("foresatt1") || *f == "onsket_barnehage")
    );

    // The stored request keeps counts, not the data.
    let stored = app.stored_request(&id).await;
    assert_eq!(stored["state"], "completed");
    assert!(
        stored["outcome"]["records"].as_u64().unwrap() >= 3,
        "{stored:#}"
    );

    // Running it again is refused: it has ended.
    let (status, body) = problem(
        app.dpo_post(&format!("/v1/requests/{id}/run"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("illegal_transition"))
    );

    // Portability (Art. 20: consent or contract only): the mother is also an employee, a
    // second subject id for the same fødselsnummer. A zip with the JSON and one CSV per
    // included collection.
    let employee = app
        .create(
            "ansatte",
            "lonn",
            json!({"ansattnummer": "A-1001", "fodselsnummer": MOR, "fornavn": "Kari",
                   "etternavn": "Nordmann", "stilling": "sykepleier", "lonn": "612000"}),
        )
        .await;
    let id = app.verified_request("portability", MOR, Value::Null).await;
    assert_eq!(
        app.stored_request(&id).await["subjects"],
        json!([family.mor, employee]),
        "one person, two subject ids"
    );
    let answer = app.run(&id, json!({})).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    assert!(answer["access"].is_null());
    let export = &answer["portability"];
    let included: Vec<&str> = export["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(included, ["ansatte"], "{export:#}");
    let excluded = answer["request"]["outcome"]["excluded"].to_string();
    assert!(excluded.contains("innbyggere"), "{excluded}");
    let zip = base64::engine::general_purpose::STANDARD
        .decode(export["zip_base64"].as_str().unwrap())
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort_unstable();
    let mut expected: Vec<String> = included.iter().map(|c| format!("{c}.csv")).collect();
    expected.push("datavern-portability.json".to_owned());
    expected.sort_unstable();
    assert_eq!(names, expected);
    let mut json_text = String::new();
    archive
        .by_name("datavern-portability.json")
        .unwrap()
        .read_to_string(&mut json_text)
        .unwrap();
    let in_zip: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(in_zip, export["json"]);
    let mut csv = String::new();
    archive
        .by_name("ansatte.csv")
        .unwrap()
        .read_to_string(&mut csv)
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("ansattnummer"), "{header}");
    assert!(csv.contains("A-1001"), "{csv}");
    let stored = app.stored_request(&id).await;
    assert_eq!(stored["outcome"]["included"], export["included"]);
    app.stop().await;
}

#[on_every_backend]
async fn rectification_reads_back_corrected_and_audits_field_names(backend: Backend) {
    let app = RightsApp::spawn(backend).await;
    let family = app.family().await;
    let id = app
        .verified_request("rectification", MOR, Value::Null)
        .await;

    // Without corrections: refused, and the request stays verified.
    for body in [Value::Null, json!({}), json!({"corrections": []})] {
        let (status, problem) = problem(
            app.dpo_post(&format!("/v1/requests/{id}/run"), body.clone())
                .await,
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("correction_invalid")),
            "{body}: {problem:#}"
        );
    }
    // A correction of a field that is not the subject's: refused, nothing written.
    let (status, body) = problem(
        app.dpo_post(
            &format!("/v1/requests/{id}/run"),
            json!({"corrections": [{"collection": "barnehagesoknader", "record": family.soknad,
                                    "fields": {"foresatt2_telefon": "+4700000000"}}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body:#}");
    assert!(!body.to_string().contains("+4700000000"), "{body}");
    assert_eq!(app.stored_request(&id).await["state"], "in_progress");

    let answer = app
        .run(
            &id,
            json!({"corrections": [
                {"collection": "innbyggere", "record": family.mor,
                 "fields": {"etternavn": "Hansen", "postnummer": "5020"}},
                {"collection": "barnehagesoknader", "record": family.soknad,
                 "fields": {"foresatt1_telefon": "+4790000001"}},
            ]}),
        )
        .await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    let (status, person) = app
        .read("innbyggere", &family.mor, "innbyggerregister")
        .await;
    assert_eq!(status, 200, "{person:#}");
    assert_eq!(person["fields"]["etternavn"], "Hansen", "{person:#}");
    assert_eq!(person["fields"]["postnummer"], "5020");
    assert_eq!(person["fields"]["fornavn"], "Kari");
    let (_, soknad) = app
        .read("barnehagesoknader", &family.soknad, "barnehageopptak")
        .await;
    assert_eq!(soknad["fields"]["foresatt1_telefon"], "+4790000001");
    assert_eq!(soknad["fields"]["foresatt2_telefon"], "+4798765432");

    // The audit log names the fields, never the values.
    let entries = app.audit(&family.mor).await;
    let rectified = entries
        .iter()
        .find(|e| e["action"] == "dsr.rectify")
        .unwrap_or_else(|| panic!("{entries:#?}"));
    let mut fields: Vec<&str> = rectified["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["etternavn", "postnummer"]);
    assert_eq!(rectified["request_id"], format!("dsr:{id}"));
    // Ids, hashes and times are random or hex and may hold "5020" by chance: the rest is
    // searched for the values.
    let text = entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            for key in [
                "entry_hash",
                "record_id",
                "request_id",
                "subject_id",
                "subjects",
                "occurred_at",
                "sealed_at",
            ] {
                e[key] = Value::Null;
            }
            e.to_string()
        })
        .collect::<String>();
    assert!(!text.contains("Hansen") && !text.contains("5020"), "{text}");

    let stored = app.stored_request(&id).await;
    assert!(!stored.to_string().contains("Hansen"), "{stored}");
    assert_eq!(
        stored["outcome"]["corrections"][0]["fields"],
        json!(["etternavn", "postnummer"])
    );
    app.stop().await;
}

#[on_every_backend]
async fn erasure_keeps_archived_cases_and_respects_legal_holds(backend: Backend) {
    let app = RightsApp::spawn(backend).await;
    let family = app.family().await;

    // The mother: her resident record goes, her part of the søknad goes, the sak is kept
    // under archive duty and restricted.
    let id = app.verified_request("erasure", MOR, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    let request = &answer["request"];
    assert_eq!(request["state"], "partially_completed", "{answer:#}");
    let outcome = &request["outcome"];
    let parts = outcome["collections"].as_array().unwrap();
    let part = |name: &str| {
        parts
            .iter()
            .find(|c| c["collection"] == name)
            .unwrap_or_else(|| panic!("no {name} in {outcome:#}"))
    };
    assert_eq!(part("innbyggere")["method"], "crypto_shred");
    assert_eq!(part("saker")["method"], "restrict");
    assert_eq!(
        part("saker")["legal_reason"],
        "GDPR art. 17(3)(b) og (d); arkivlova § 6 og arkivforskrifta"
    );
    let (status, body) = app
        .read("innbyggere", &family.mor, "innbyggerregister")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("record_not_found"))
    );
    let (status, soknad) = app
        .read("barnehagesoknader", &family.soknad, "barnehageopptak")
        .await;
    assert_eq!(status, 200, "the child's søknad stays: {soknad:#}");
    assert!(
        soknad["fields"]
            .get("foresatt1_telefon")
            .is_none_or(Value::is_null)
    );
    assert!(
        soknad["fields"]
            .get("foresatt1_epost")
            .is_none_or(Value::is_null)
    );
    assert_eq!(soknad["fields"]["foresatt2_telefon"], "+4798765432");
    // The sak: kept, restricted (writes refused), readable for appeals.
    let (status, body) = app
        .patch(
            "saker",
            &family.sak,
            "helse_omsorg",
            json!({"vedtak": "innvilget"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("processing_restricted")),
        "{body:#}"
    );
    let (status, sak) = app.read("saker", &family.sak, "klagebehandling").await;
    assert_eq!(status, 200, "{sak:#}");
    assert_eq!(sak["fields"]["saksnummer"], "2026/17");
    app.stored_request(&id).await;

    // A legal hold on the father: his erasure is refused with the hold's reason.
    let hold_reason = "Tvist om foreldrebetaling, sak 26-123456TVI-BBYR";
    let hold = RightsApp::ok(
        app.dpo_post(
            "/v1/legal-holds",
            json!({"scope": "subject", "subject": family.far, "reason": hold_reason}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(hold["scope"], "subject", "{hold:#}");
    let id = app.verified_request("erasure", FAR, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(
        answer["request"]["state"], "partially_completed",
        "{answer:#}"
    );
    let text = answer["request"]["outcome"].to_string();
    assert!(text.contains(hold_reason), "{text}");
    let (status, _) = app
        .read("innbyggere", &family.far, "innbyggerregister")
        .await;
    assert_eq!(status, 200, "the hold keeps the father's record");
    let (_, soknad) = app
        .read("barnehagesoknader", &family.soknad, "barnehageopptak")
        .await;
    assert_eq!(soknad["fields"]["foresatt2_telefon"], "+4798765432");
    app.stored_request(&id).await;

    // A legal hold on the søknader: the child's erasure removes the resident record and
    // refuses the søknad with the hold's reason.
    let hold_reason = "Klage på opptak til Statsforvalteren";
    RightsApp::ok(
        app.dpo_post(
            "/v1/legal-holds",
            json!({"scope": "collection", "collection": "barnehagesoknader",
                   "reason": hold_reason}),
        )
        .await,
        201,
    )
    .await;
    let id = app.verified_request("erasure", BARN, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(
        answer["request"]["state"], "partially_completed",
        "{answer:#}"
    );
    let parts = answer["request"]["outcome"]["collections"]
        .as_array()
        .unwrap()
        .clone();
    let soknader = parts
        .iter()
        .find(|c| c["collection"] == "barnehagesoknader")
        .unwrap();
    assert_eq!(soknader["refusal_reason"], hold_reason, "{soknader:#}");
    let (status, _) = app
        .read("innbyggere", &family.barn, "innbyggerregister")
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .read("barnehagesoknader", &family.soknad, "barnehageopptak")
        .await;
    assert_eq!(status, 200, "the held søknad stays");
    app.stored_request(&id).await;

    // A hold on one record keeps the person: the erasure keeps his sak under archive duty
    // and registers the restriction on him, with the request's id.
    let per = app
        .create(
            "innbyggere",
            "innbyggerregister",
            json!({"fodselsnummer": PER, "fornavn": "Per", "etternavn": "Hansen"}),
        )
        .await;
    let per_sak = app
        .create(
            "saker",
            "helse_omsorg",
            json!({"bruker_id": per, "saksnummer": "2026/18", "tjeneste": "praktisk bistand"}),
        )
        .await;
    let hold_reason = "Erstatningssak mot kommunen";
    RightsApp::ok(
        app.dpo_post(
            "/v1/legal-holds",
            json!({"scope": "record", "collection": "innbyggere", "record": per,
                   "reason": hold_reason}),
        )
        .await,
        201,
    )
    .await;
    let id = app.verified_request("erasure", PER, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(
        answer["request"]["state"], "partially_completed",
        "{answer:#}"
    );
    // The held record stays (not 404), restricted like everything of his that is kept.
    let (status, body) = app.read("innbyggere", &per, "innbyggerregister").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("processing_restricted")),
        "{body:#}"
    );
    let (status, body) = app
        .patch(
            "saker",
            &per_sak,
            "helse_omsorg",
            json!({"vedtak": "avslag"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("processing_restricted"))
    );
    let response = app
        .call(
            app.key_of(CLERK),
            Method::GET,
            &format!("/v1/subjects/{per}/controls"),
        )
        .header("datavern-purpose", "innbyggerregister")
        .send()
        .await
        .unwrap();
    let controls = RightsApp::ok(response, 200).await;
    assert_eq!(controls["restricted"], true, "{controls:#}");
    assert_eq!(controls["restrictions"][0]["reason"], "archive_duty");
    assert_eq!(
        controls["restrictions"][0]["request_id"],
        format!("dsr:{id}")
    );
    app.stored_request(&id).await;
    app.stop().await;
}

#[on_every_backend]
async fn restriction_and_objection_are_enforced_and_lifted(backend: Backend) {
    let app = RightsApp::spawn(backend).await;
    let family = app.family().await;

    // A request without a ground is refused when it is recorded.
    let response = app
        .dpo_post(
            "/v1/requests",
            json!({"type": "restriction", "fodselsnummer": MOR,
                   "parameters": {"ground": "because"}}),
        )
        .await;
    let (status, body) = problem(response).await;
    assert_eq!(status, 422, "{body:#}");

    let id = app
        .verified_request("restriction", MOR, json!({"ground": "accuracy_contested"}))
        .await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    assert_eq!(answer["request"]["outcome"]["action"], "restricted");
    for (collection, record, purpose, body) in [
        (
            "innbyggere",
            &family.mor,
            "innbyggerregister",
            json!({"postnummer": "5020"}),
        ),
        (
            "saker",
            &family.sak,
            "helse_omsorg",
            json!({"vedtak": "innvilget"}),
        ),
    ] {
        let (status, body) = app.patch(collection, record, purpose, body).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("processing_restricted")),
            "{collection}: {body:#}"
        );
        let response = app
            .records(
                Method::DELETE,
                &format!("/v1/collections/{collection}/records/{record}"),
                purpose,
            )
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("processing_restricted")),
            "{collection}: {body:#}"
        );
    }
    let (status, sak) = app.read("saker", &family.sak, "klagebehandling").await;
    assert_eq!(status, 200, "{sak:#}");
    let (status, _) = app.read("saker", &family.sak, "helse_omsorg").await;
    assert_eq!(status, 403);
    // The other guardian is not restricted.
    let (status, body) = app
        .patch(
            "innbyggere",
            &family.far,
            "innbyggerregister",
            json!({"postnummer": "5020"}),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");

    let lift = app
        .verified_request("restriction", MOR, json!({"lift": true}))
        .await;
    let answer = app.run(&lift, Value::Null).await;
    assert_eq!(
        answer["request"]["outcome"]["action"], "lifted",
        "{answer:#}"
    );
    let (status, body) = app
        .patch(
            "saker",
            &family.sak,
            "helse_omsorg",
            json!({"vedtak": "innvilget"}),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    app.stored_request(&id).await;
    app.stored_request(&lift).await;

    // Objection to every 6(1)(e)/(f) purpose: reads for them are refused.
    let (status, _) = app.read("innbyggere", &family.mor, "kommunikasjon").await;
    assert_eq!(status, 200);
    let id = app.verified_request("objection", MOR, Value::Null).await;
    let answer = app.run(&id, Value::Null).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    assert_eq!(answer["request"]["outcome"]["action"], "upheld");
    for (collection, record, purpose) in [
        ("innbyggere", &family.mor, "kommunikasjon"),
        ("saker", &family.sak, "helse_omsorg"),
    ] {
        let (status, body) = app.read(collection, record, purpose).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("objection_upheld")),
            "{collection} for {purpose}: {body:#}"
        );
    }
    // Archiving is a legal obligation (6(1)(c)): an objection does not reach it.
    let (status, body) = app.read("saker", &family.sak, "arkivering").await;
    assert_eq!(status, 200, "{body:#}");
    let (status, _) = app.read("innbyggere", &family.far, "kommunikasjon").await;
    assert_eq!(status, 200, "the father did not object");

    let lift = app
        .verified_request("objection", MOR, json!({"lift": true}))
        .await;
    let answer = app.run(&lift, Value::Null).await;
    assert_eq!(
        answer["request"]["outcome"]["action"], "lifted",
        "{answer:#}"
    );
    let (status, body) = app.read("innbyggere", &family.mor, "kommunikasjon").await;
    assert_eq!(status, 200, "{body:#}");
    app.stored_request(&id).await;
    app.stored_request(&lift).await;
    app.stop().await;
}

#[on_every_backend]
async fn compliance_report_lists_deadlines_on_a_moved_clock_and_consent_coverage(backend: Backend) {
    // The søknader also serve the newsletter here, so that coverage counts the subjects of a
    // collection with subject references (its primary subject, the child) with those of a
    // `subjects: self` collection.
    let yaml = crate::app::CATALOG.replacen(
        "purposes: [barnehageopptak]",
        "purposes: [barnehageopptak, nyhetsbrev]",
        1,
    );
    let app = RightsApp::spawn_with(backend, Catalog::from_yaml(&yaml).unwrap()).await;
    let family = app.family().await;
    // A second søknad for the same child: still one subject.
    app.create(
        "barnehagesoknader",
        "barnehageopptak",
        json!({"barn_id": family.barn, "foresatt1_id": family.far,
               "soknadsdato": "2026-04-01", "onsket_barnehage": "Regnbuen"}),
    )
    .await;
    let report = app.compliance().await;
    assert_eq!(
        report["requests"],
        json!({"overdue": [], "due_soon": []}),
        "{report:#}"
    );
    assert_eq!(
        report["consent_coverage"],
        json!([{"purpose": "nyhetsbrev", "subjects": 1, "consented": 0}]),
        "the child of the søknad"
    );

    let early = app.received_request("access", MOR, Value::Null).await;
    app.clock.advance(SignedDuration::from_hours(24 * 10));
    let later = app.verified_request("erasure", FAR, Value::Null).await;
    // 35 days after the first request (overdue: due a calendar month after receipt), 25
    // after the second (due within a week).
    app.clock.advance(SignedDuration::from_hours(24 * 25));
    let report = app.compliance().await;
    let requests = &report["requests"];
    let overdue = requests["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "{requests:#}");
    assert_eq!(overdue[0]["id"], early.as_str());
    assert_eq!(overdue[0]["kind"], "access");
    assert_eq!(overdue[0]["state"], "received");
    assert!(overdue[0]["days_left"].as_i64().unwrap() < 0);
    let due_soon = requests["due_soon"].as_array().unwrap();
    assert_eq!(due_soon.len(), 1, "{requests:#}");
    assert_eq!(due_soon[0]["id"], later.as_str());
    assert_eq!(due_soon[0]["kind"], "erasure");
    let days_left = due_soon[0]["days_left"].as_i64().unwrap();
    assert!((0..=7).contains(&days_left), "{days_left}");
    let shown = app.stored_request(&later).await;
    assert_eq!(due_soon[0]["due_on"], shown["effective_due_on"]);
    assert_eq!(due_soon[0]["days_left"], shown["days_left"]);
    let generated = report["generated_at"].as_str().unwrap();
    assert_eq!(
        generated.get(..10),
        app.clock.now().to_string().get(..10),
        "judged on the state's clock"
    );

    // A finished request is no longer listed.
    let answer = app.run(&later, Value::Null).await;
    assert_ne!(answer["request"]["state"], "verified");
    let report = app.compliance().await;
    assert!(
        report["requests"]["due_soon"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(report["requests"]["overdue"][0]["id"], early.as_str());

    // Consent coverage: two subscribers, one withdraws.
    let mut subscribers = Vec::new();
    for epost in ["a@example.no", "b@example.no"] {
        let response = app
            .records(
                Method::POST,
                "/v1/collections/nyhetsbrev/records",
                "nyhetsbrev",
            )
            .header("datavern-consent-notice", "2026-01")
            .header("datavern-consent-channel", "web")
            .json(&json!({"epost": epost}))
            .send()
            .await
            .unwrap();
        subscribers.push(
            RightsApp::ok(response, 201).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let report = app.compliance().await;
    assert_eq!(
        report["consent_coverage"],
        json!([{"purpose": "nyhetsbrev", "subjects": 3, "consented": 2}])
    );
    let response = app
        .records(
            Method::POST,
            &format!("/v1/subjects/{}/consents", subscribers[0]),
            "nyhetsbrev",
        )
        .json(&json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let report = app.compliance().await;
    assert_eq!(
        report["consent_coverage"],
        json!([{"purpose": "nyhetsbrev", "subjects": 3, "consented": 1}])
    );
    app.stop().await;
}
