//! Issue 10, finding 2: the runner's clearance caps what a data subject request returns or
//! changes, verification records who verified and by what means, and the four-eyes rule
//! makes a second principal run an erasure or a rectification; every step and every refusal
//! is audited. And the requests part of finding 4: listing, showing and probing requests
//! leave audit entries, refusals included. On every backend, through the API.

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::classification::Classification;
use datavern_crypto::ApiKey;
use datavern_sql::Backend;
use datavern_store::audit::{AuditEntry, AuditFilter};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{CATALOG, TestApp, all_purposes, principal, problem, roles};
use datavern_testkit::on_every_backend;

/// `saksbehandler`: every purpose, BEGRENSET.
const CLERK: &str = "saksbehandler";
/// `personvernombud-2`: role `dpo`, BEGRENSET.
const DPO2: &str = "personvernombud-2";
/// `personvernombud`: role `dpo`, BEGRENSET.
const DPO: &str = "personvernombud";
/// `pvo-apen`: role `dpo`, clearance ÅPEN, no purposes (the red team's principal).
const APEN: &str = "pvo-apen";

/// Kari: a resident with a telephone number (BEGRENSET here) and a sak (BEGRENSET).
const KARI: &str = "01019010046";
/// Nobody in the register.
const NOBODY: &str = "15108695088";
const DIAGNOSE: &str = "sykepleie-diagnose";
const TELEFON: &str = "+4791234567";

/// The example catalog with `saker` and the residents' `telefon` classified BEGRENSET.
fn catalog() -> Catalog {
    let yaml = CATALOG.replacen(
        "      - name: telefon\n",
        "      - name: telefon\n        classification: BEGRENSET\n",
        1,
    );
    let saker = yaml.find("  - name: saker").unwrap();
    let (head, tail) = yaml.split_at(saker);
    let tail = tail.replacen("classification: ÅPEN", "classification: BEGRENSET", 1);
    Catalog::from_yaml(&format!("{head}{tail}")).unwrap()
}

/// The server with a clerk, two DPOs and a DPO cleared only for ÅPEN, all of Bergen.
struct App {
    app: TestApp,
}

impl std::ops::Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl App {
    async fn spawn(backend: Backend) -> App {
        let catalog = catalog();
        let dpo =
            |id: &str, clearance| principal(id, "4601", clearance).with_roles(roles(&["dpo"]));
        let app = TestApp::builder(backend)
            .principals([
                principal(CLERK, "4601", Classification::Begrenset)
                    .with_purposes(all_purposes(&catalog)),
                dpo(DPO, Classification::Begrenset),
                dpo(DPO2, Classification::Begrenset),
                dpo(APEN, Classification::Apen),
            ])
            .catalog(catalog)
            .spawn()
            .await;
        App { app }
    }

    async fn post(&self, key: &ApiKey, path: &str, body: Value) -> reqwest::Response {
        self.call(key, Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn ok(response: reqwest::Response, status: u16) -> Value {
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Kari and her sak, created by the clerk; their ids.
    async fn kari(&self) -> (String, String) {
        let create = |collection: &str, purpose: &str, body: Value| {
            self.call(
                self.key_of(CLERK),
                Method::POST,
                &format!("/v1/collections/{collection}/records"),
            )
            .header("datavern-purpose", purpose)
            .json(&body)
            .send()
        };
        let kari = Self::ok(
            create(
                "innbyggere",
                "innbyggerregister",
                json!({"fodselsnummer": KARI, "fornavn": "Kari", "etternavn": "Nordmann",
                       "telefon": TELEFON}),
            )
            .await
            .unwrap(),
            201,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let sak = Self::ok(
            create(
                "saker",
                "helse_omsorg",
                json!({"bruker_id": kari, "saksnummer": "2026/17",
                       "tjeneste": "hjemmesykepleie", "diagnose": DIAGNOSE}),
            )
            .await
            .unwrap(),
            201,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (kari, sak)
    }

    /// A request of `kind` for Kari filed by `filer`; its id.
    async fn file(&self, filer: &ApiKey, kind: &str) -> String {
        let created = Self::ok(
            self.post(
                filer,
                "/v1/requests",
                json!({"type": kind, "fodselsnummer": KARI}),
            )
            .await,
            201,
        )
        .await;
        created["id"].as_str().unwrap().to_owned()
    }

    /// Verifies request `id` as `verifier` by `method` with `evidence`; the request.
    async fn verify(&self, verifier: &ApiKey, id: &str, verification: Value) -> Value {
        Self::ok(
            self.post(verifier, &format!("/v1/requests/{id}/verify"), verification)
                .await,
            200,
        )
        .await
    }

    /// Runs request `id` as `runner` with `body`.
    async fn run(&self, runner: &ApiKey, id: &str, body: Value) -> reqwest::Response {
        self.post(runner, &format!("/v1/requests/{id}/run"), body)
            .await
    }

    async fn show(&self, id: &str) -> Value {
        let response = self
            .call(self.key_of(DPO), Method::GET, &format!("/v1/requests/{id}"))
            .send()
            .await
            .unwrap();
        Self::ok(response, 200).await
    }

    /// The status of the clerk's read of `collection/id` for `purpose`, and its body.
    async fn read(&self, collection: &str, id: &str, purpose: &str) -> (u16, Value) {
        let response = self
            .call(
                self.key_of(CLERK),
                Method::GET,
                &format!("/v1/collections/{collection}/records/{id}"),
            )
            .header("datavern-purpose", purpose)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Every audit entry about `record`, oldest first.
    async fn audit_of(&self, record: &str) -> Vec<AuditEntry> {
        let tenant = Kommunenummer::parse("4601").unwrap();
        let page = self
            .store
            .audit()
            .query(AuditFilter::new(tenant).record(record.parse().unwrap()))
            .await
            .unwrap();
        page.items.into_iter().map(|r| r.entry).collect()
    }

    /// Every audit entry by `principal`.
    async fn audit_by(&self, principal: &str) -> Vec<AuditEntry> {
        let tenant = Kommunenummer::parse("4601").unwrap();
        let page = self
            .store
            .audit()
            .query(AuditFilter::new(tenant).principal(principal).limit(500))
            .await
            .unwrap();
        page.items.into_iter().map(|r| r.entry).collect()
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

/// The events of a request's history.
fn events(request: &Value) -> Vec<&str> {
    request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

/// `(action, outcome, reason)` of each entry.
fn steps(entries: &[AuditEntry]) -> Vec<(&str, &str, Option<&str>)> {
    entries
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str(), e.reason.as_deref()))
        .collect()
}

#[on_every_backend]
async fn apen_dpo_gets_neither_begrenset_values_nor_the_fodselsnummer(backend: Backend) {
    let app = App::spawn(backend).await;
    let (kari, _) = app.kari().await;

    // The red team's run: filed, verified and run by the ÅPEN DPO alone (access is not a
    // four-eyes type).
    let id = app.file(app.key_of(APEN), "access").await;
    app.verify(app.key_of(APEN), &id, json!({"method": "id_porten"}))
        .await;
    let response = app.run(app.key_of(APEN), &id, Value::Null).await;
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("clearance_insufficient")),
        "{body:#}"
    );
    assert_eq!(body["required_clearance"], "BEGRENSET");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"innbyggere.telefon") && fields.contains(&"saker.diagnose"),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .all(|f| f.starts_with("saker.") || *f == "innbyggere.telefon"),
        "only what is above ÅPEN: {fields:?}"
    );
    let text = body.to_string();
    for value in [DIAGNOSE, KARI, TELEFON, "Kari"] {
        assert!(!text.contains(value), "{value} in the refusal: {text}");
    }

    // Nothing was shown, the request stands as it was, and the refusal is in its history and
    // in the audit log.
    let shown = app.show(&id).await;
    assert_eq!(shown["state"], "verified");
    assert_eq!(events(&shown), ["received", "verified", "refused"]);
    assert!(
        shown["history"][2]["note"]
            .as_str()
            .unwrap()
            .contains("BEGRENSET")
    );
    let entries = app.audit_of(&id).await;
    let refusal = entries
        .iter()
        .find(|e| e.action.as_str() == "request.refused")
        .unwrap();
    assert_eq!(
        (
            refusal.outcome.as_str(),
            refusal.reason.as_deref(),
            refusal.principal.as_str()
        ),
        ("denied", Some("clearance_insufficient"), "pvo-apen")
    );
    assert!(refusal.fields.contains(&"saker.diagnose".to_owned()));
    let shown_records = app.audit_by("pvo-apen").await;
    assert!(
        shown_records
            .iter()
            .all(|e| e.action.as_str() != "dsr.access"),
        "no record was shown to the ÅPEN DPO"
    );

    // A DPO cleared for BEGRENSET runs the same request: the complete answer.
    let answer = App::ok(app.run(app.key_of(DPO), &id, Value::Null).await, 200).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    let text = answer["access"].to_string();
    assert!(text.contains(DIAGNOSE) && text.contains(TELEFON), "{text}");
    assert_eq!(answer["access"]["subjects"], json!([kari]));
    app.stop().await;
}

#[on_every_backend]
async fn rectification_above_the_runners_clearance_is_refused(backend: Backend) {
    let app = App::spawn(backend).await;
    let (_, sak) = app.kari().await;
    let id = app.file(app.key_of(APEN), "rectification").await;
    // A second principal verified it: the four-eyes rule is met, the clearance is not.
    app.verify(app.key_of(DPO), &id, json!({"method": "in_person"}))
        .await;
    let corrections = json!({"corrections": [{"collection": "saker", "record": sak,
                                               "fields": {"diagnose": "endret"}}]});
    let (status, body) = problem(app.run(app.key_of(APEN), &id, corrections.clone()).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("clearance_insufficient")),
        "{body:#}"
    );
    assert_eq!(body["fields"], json!(["saker.diagnose"]));
    let (status, read) = app.read("saker", &sak, "helse_omsorg").await;
    assert_eq!(status, 200);
    assert_eq!(read["fields"]["diagnose"], DIAGNOSE, "nothing was written");
    assert_eq!(app.show(&id).await["state"], "verified");
    let refusals: Vec<_> = app
        .audit_of(&id)
        .await
        .into_iter()
        .filter(|e| e.action.as_str() == "request.refused")
        .collect();
    assert_eq!(
        steps(&refusals),
        [("request.refused", "denied", Some("clearance_insufficient"))]
    );
    assert!(
        app.audit_of(&sak)
            .await
            .iter()
            .all(|e| e.action.as_str() != "dsr.rectify"),
        "no rectification reached the sak"
    );

    // Another cleared DPO (not the verifier) runs it.
    let answer = App::ok(app.run(app.key_of(DPO2), &id, corrections).await, 200).await;
    assert_eq!(answer["request"]["state"], "completed", "{answer:#}");
    let (_, read) = app.read("saker", &sak, "helse_omsorg").await;
    assert_eq!(read["fields"]["diagnose"], "endret");
    app.stop().await;
}

#[on_every_backend]
async fn erasure_needs_a_second_principal_and_the_runners_clearance(backend: Backend) {
    let app = App::spawn(backend).await;
    let (kari, sak) = app.kari().await;

    // One principal files, verifies and runs: refused with the four-eyes code.
    let id = app.file(app.key_of(DPO), "erasure").await;
    let other = app.file(app.key_of(DPO), "erasure").await;
    let verified = app
        .verify(
            app.key_of(DPO),
            &id,
            json!({"method": "bankid", "evidence": "2026/77-3"}),
        )
        .await;
    assert_eq!(verified["verified_by"], "personvernombud");
    assert_eq!(verified["verification"], "bankid");
    assert_eq!(verified["verification_evidence"], "2026/77-3");
    let (status, body) = problem(app.run(app.key_of(DPO), &id, Value::Null).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("four_eyes_required")),
        "{body:#}"
    );
    let (status, _) = app.read("innbyggere", &kari, "innbyggerregister").await;
    assert_eq!(status, 200, "nothing was erased");
    let shown = app.show(&id).await;
    assert_eq!(shown["state"], "verified");
    assert_eq!(events(&shown), ["received", "verified", "refused"]);
    assert_eq!(shown["history"][1]["actor"], "personvernombud");
    assert_eq!(shown["history"][1]["method"], "bankid");
    assert_eq!(shown["history"][1]["evidence"], "2026/77-3");

    // The ÅPEN DPO is a second principal, but may not destroy BEGRENSET data.
    let (status, body) = problem(app.run(app.key_of(APEN), &id, Value::Null).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("clearance_insufficient")),
        "{body:#}"
    );
    assert_eq!(body["fields"], json!(["innbyggere.telefon"]), "{body:#}");
    let (status, _) = app.read("innbyggere", &kari, "innbyggerregister").await;
    assert_eq!(status, 200, "nothing was erased");

    // A second cleared principal runs it.
    let answer = App::ok(app.run(app.key_of(DPO2), &id, Value::Null).await, 200).await;
    assert_eq!(
        answer["request"]["state"], "partially_completed",
        "the sak is kept under archive duty: {answer:#}"
    );
    let (status, _) = app.read("innbyggere", &kari, "innbyggerregister").await;
    assert_eq!(status, 404, "erased");
    let (status, _) = app.read("saker", &sak, "klagebehandling").await;
    assert_eq!(status, 200, "archived");

    // Every step and refusal, in order, by whom.
    let entries = app.audit_of(&id).await;
    let mut register: Vec<(&str, &str, Option<&str>, &str)> = entries
        .iter()
        .filter(|e| {
            e.action.as_str().starts_with("request.") && e.action.as_str() != "request.read"
        })
        .map(|e| {
            (
                e.action.as_str(),
                e.outcome.as_str(),
                e.reason.as_deref(),
                e.principal.as_str(),
            )
        })
        .collect();
    register.dedup();
    assert_eq!(
        register,
        [
            ("request.received", "granted", None, "personvernombud"),
            (
                "request.verified",
                "granted",
                Some("method=bankid"),
                "personvernombud"
            ),
            (
                "request.refused",
                "denied",
                Some("four_eyes_required"),
                "personvernombud"
            ),
            (
                "request.refused",
                "denied",
                Some("clearance_insufficient"),
                "pvo-apen"
            ),
            ("request.started", "granted", None, "personvernombud-2"),
            (
                "request.partially_completed",
                "granted",
                None,
                "personvernombud-2"
            ),
        ]
    );
    for entry in &entries {
        let text = format!("{entry:?}");
        assert!(!text.contains("2026/77-3"), "evidence in the audit log");
    }

    // Verification refuses what is not a method, and evidence that holds personal data.
    for (body, pointer) in [
        (json!({}), "/method"),
        (json!({"method": "telepathy"}), "/method"),
        (
            json!({"method": "letter", "evidence": format!("pass {KARI}")}),
            "/evidence",
        ),
    ] {
        let (status, refusal) = problem(
            app.post(
                app.key_of(DPO),
                &format!("/v1/requests/{other}/verify"),
                body,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, refusal["errors"][0]["pointer"].as_str()),
            (422, Some(pointer)),
            "{refusal:#}"
        );
        assert!(!refusal.to_string().contains(KARI));
    }
    app.stop().await;
}

/// One call of the route table: method, path, body (none for `Null`), the status, the audit
/// entry expected (action, outcome, reason) and the record it names.
type Probe<'a> = (
    Method,
    String,
    Value,
    u16,
    (&'a str, &'a str, Option<&'a str>),
    Option<&'a str>,
);

#[on_every_backend]
async fn request_routes_audit_every_read_probe_and_refusal(backend: Backend) {
    let app = App::spawn(backend).await;
    app.kari().await;
    let id = app.file(app.key_of(DPO2), "access").await;
    let unknown = Uuid::now_v7().to_string();

    let calls: Vec<Probe<'_>> = vec![
        (
            Method::GET,
            "/v1/requests".to_owned(),
            Value::Null,
            200,
            ("request.listed", "granted", Some("requests=1")),
            None,
        ),
        (
            Method::GET,
            "/v1/requests?colour=blue".to_owned(),
            Value::Null,
            400,
            ("request.refused", "denied", Some("invalid_query")),
            None,
        ),
        (
            Method::GET,
            format!("/v1/requests/{id}"),
            Value::Null,
            200,
            ("request.read", "granted", None),
            Some(id.as_str()),
        ),
        (
            Method::GET,
            format!("/v1/requests/{unknown}"),
            Value::Null,
            404,
            ("request.refused", "denied", Some("request_not_found")),
            Some(unknown.as_str()),
        ),
        (
            Method::GET,
            "/v1/requests/not-a-uuid".to_owned(),
            Value::Null,
            400,
            ("request.refused", "denied", Some("invalid_request_id")),
            None,
        ),
        (
            Method::POST,
            "/v1/requests".to_owned(),
            json!({"type": "access", "fodselsnummer": NOBODY}),
            422,
            ("request.refused", "denied", Some("subject_unknown")),
            None,
        ),
        (
            Method::POST,
            "/v1/requests".to_owned(),
            json!({"type": "forget-me"}),
            422,
            ("request.refused", "denied", Some("invalid_subject_request")),
            None,
        ),
        (
            Method::POST,
            "/v1/requests".to_owned(),
            json!(["not", "an", "object"]),
            422,
            ("request.refused", "denied", Some("invalid_subject_request")),
            None,
        ),
        (
            Method::POST,
            format!("/v1/requests/{id}/verify"),
            json!({}),
            422,
            ("request.refused", "denied", Some("invalid_subject_request")),
            Some(id.as_str()),
        ),
        (
            Method::POST,
            format!("/v1/requests/{id}/run"),
            Value::Null,
            409,
            ("request.refused", "denied", Some("illegal_transition")),
            Some(id.as_str()),
        ),
        (
            Method::POST,
            format!("/v1/requests/{id}/extend"),
            json!({"months": 3, "reason": "x"}),
            422,
            ("request.refused", "denied", Some("invalid_subject_request")),
            Some(id.as_str()),
        ),
        (
            Method::POST,
            format!("/v1/requests/{unknown}/reject"),
            json!({"reason": "withdrawn"}),
            404,
            ("request.refused", "denied", Some("request_not_found")),
            Some(unknown.as_str()),
        ),
    ];
    for (method, path, body, status, expected, record) in calls {
        let mut builder = app.call(app.key_of(DPO), method.clone(), &path);
        if !body.is_null() {
            builder = builder.json(&body);
        }
        let response = builder.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        assert!(!text.contains(NOBODY), "{text}");
        let entries: Vec<AuditEntry> = app
            .audit_by("personvernombud")
            .await
            .into_iter()
            .filter(|e| e.request_id.as_deref() == Some(request_id.as_str()))
            .collect();
        assert_eq!(steps(&entries), [expected], "{method} {path}");
        assert_eq!(
            entries[0].record_id.map(|r| r.to_string()).as_deref(),
            record,
            "{method} {path}"
        );
        let text = format!("{entries:?}");
        assert!(!text.contains(NOBODY), "the probed number is not logged");
    }
    // The list and the read name the subjects they showed.
    let shown: Vec<AuditEntry> = app
        .audit_by("personvernombud")
        .await
        .into_iter()
        .filter(|e| e.action.as_str() == "request.listed" || e.action.as_str() == "request.read")
        .collect();
    assert_eq!(shown.len(), 2);
    assert!(shown.iter().all(|e| e.subject_id.is_some()));
    app.stop().await;
}
