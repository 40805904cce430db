//! `/v1/requests`: data subject requests through the API, on every backend: the lifecycle
//! with deadlines on a moved clock, every step audited, bad input answered with what to fix,
//! the `dpo` role enforced and refusals audited.

use std::collections::HashMap;
use std::sync::Arc;

use datavern_core::catalog::Kommunenummer;
use datavern_core::classification::Classification;
use datavern_core::clock::ManualClock;
use datavern_core::dsr::SubjectIdentifier;
use datavern_governance::requests::{ResolveFuture, SubjectResolver};
use datavern_sql::Backend;
use datavern_store::SubjectId;
use datavern_store::audit::AuditFilter;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{TestApp, principal, problem, roles};
use datavern_testkit::on_every_backend;

/// Principal `personvernombud`: tenant 4601, role `dpo`.
const DPO: &str = "personvernombud";
/// Principal `saksbehandler`: tenant 4601, role `auditor` but not `dpo`.
const CLERK: &str = "saksbehandler";
/// Principal `oslo-pvo`: tenant 0301, role `dpo`.
const OSLO_DPO: &str = "oslo-pvo";

const KARI: &str = "15108695088";
const NOBODY: &str = "26111593816";

/// A resolver over a fixed register of persons (fødselsnummer → subject ids), standing in
/// for the catalog-based one the server is given in production.
struct Register(HashMap<String, Vec<SubjectId>>);

impl SubjectResolver for Register {
    fn resolve<'a>(
        &'a self,
        _tenant: Kommunenummer,
        identifier: &'a SubjectIdentifier,
    ) -> ResolveFuture<'a> {
        let found = match identifier {
            SubjectIdentifier::NationalId(fnr) => {
                self.0.get(fnr.as_str()).cloned().unwrap_or_default()
            }
            SubjectIdentifier::SubjectId(id) => vec![SubjectId::from_uuid(*id)],
        };
        Box::pin(async move { Ok(found) })
    }
}

/// The server with a DPO and a clerk of Bergen and a DPO of Oslo, a moved clock and a register
/// of persons that knows Kari.
struct DsrApp {
    app: TestApp,
    clock: ManualClock,
    kari: SubjectId,
}

impl std::ops::Deref for DsrApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl DsrApp {
    async fn spawn(backend: Backend, resolver: Option<Arc<dyn SubjectResolver>>) -> DsrApp {
        // 10:00 in Oslo on Saturday 31 January 2026.
        let clock = ManualClock::new("2026-01-31T09:00:00Z".parse().unwrap());
        let kari = SubjectId::from_uuid(Uuid::now_v7());
        let resolver = resolver
            .unwrap_or_else(|| Arc::new(Register(HashMap::from([(KARI.to_owned(), vec![kari])]))));
        let app = TestApp::builder(backend)
            .principals([
                principal(DPO, "4601", Classification::Begrenset).with_roles(roles(&["dpo"])),
                principal(CLERK, "4601", Classification::Begrenset).with_roles(roles(&["auditor"])),
                principal(OSLO_DPO, "0301", Classification::Begrenset).with_roles(roles(&["dpo"])),
            ])
            .clock(Arc::new(clock.clone()))
            .resolver(resolver)
            .spawn()
            .await;
        DsrApp { app, clock, kari }
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.call(self.key_of(DPO), Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn ok(&self, response: reqwest::Response, status: u16) -> Value {
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(got, status, "{body:#}");
        body
    }

    async fn show(&self, id: &str) -> Value {
        let response = self
            .call(self.key_of(DPO), Method::GET, &format!("/v1/requests/{id}"))
            .send()
            .await
            .unwrap();
        self.ok(response, 200).await
    }

    fn advance_days(&self, days: i64) {
        self.clock.advance(SignedDuration::from_hours(24 * days));
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

#[on_every_backend]
async fn lifecycle_through_the_api_with_deadlines_on_a_moved_clock(backend: Backend) {
    let app = DsrApp::spawn(backend, None).await;
    let response = app
        .post(
            "/v1/requests",
            json!({"type": "access", "fodselsnummer": KARI}),
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = app.ok(response, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/requests/{id}"));
    assert!(
        !created.to_string().contains(KARI),
        "the number is not stored or echoed"
    );
    assert_eq!(created["state"], "received");
    assert_eq!(created["identified_by"], "fodselsnummer");
    assert_eq!(created["subjects"], json!([app.kari.to_string()]));
    assert_eq!(created["article"], "Art. 15");
    // Received 31 January: due on the last day of February.
    assert_eq!(created["due_on"], "2026-02-28");
    assert_eq!(created["effective_due_on"], "2026-02-28");
    assert_eq!(created["days_left"], 28);
    assert_eq!(created["overdue"], false);

    let verified = app
        .ok(
            app.post(
                &format!("/v1/requests/{id}/verify"),
                json!({"method": "id-porten"}),
            )
            .await,
            200,
        )
        .await;
    assert_eq!(verified["state"], "verified");
    assert_eq!(verified["verified_by"], "personvernombud");
    assert_eq!(verified["verification"], "id_porten");

    // Running requests is tested end to end in rights.rs; this one stays open.

    app.advance_days(20);
    let (status, body) = problem(
        app.post(&format!("/v1/requests/{id}/extend"), json!({"months": 1}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["pointer"].as_str()),
        (422, Some("/reason"))
    );
    let extended = app
        .ok(
            app.post(
                &format!("/v1/requests/{id}/extend"),
                json!({"months": 1, "reason": "records in three archives"}),
            )
            .await,
            200,
        )
        .await;
    assert_eq!(extended["due_on"], "2026-02-28");
    assert_eq!(extended["extended_due_on"], "2026-03-31");
    assert_eq!(extended["extension_months"], 1);
    assert_eq!(extended["days_left"], 39);

    // 1 March: past the original due date, no further extension.
    app.advance_days(9);
    let (status, body) = problem(
        app.post(
            &format!("/v1/requests/{id}/extend"),
            json!({"months": 1, "reason": "still more"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("extension_refused"))
    );
    assert!(body["detail"].as_str().unwrap().contains("2026-02-28"));

    // 1 April: overdue in the list and in the request itself.
    app.advance_days(31);
    let shown = app.show(&id).await;
    assert_eq!(shown["overdue"], true);
    assert_eq!(shown["days_left"], -1);
    let events: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["received", "verified", "extended"]);
    let overdue = app
        .ok(
            app.call(app.key_of(DPO), Method::GET, "/v1/requests?overdue=true")
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
    assert_eq!(overdue["items"][0]["id"], id.as_str());

    let rejected = app
        .ok(
            app.post(
                &format!("/v1/requests/{id}/reject"),
                json!({"reason": "the subject withdrew the request"}),
            )
            .await,
            200,
        )
        .await;
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["overdue"], false);
    assert_eq!(rejected["days_left"], Value::Null);
    let (status, body) = problem(
        app.post(
            &format!("/v1/requests/{id}/verify"),
            json!({"method": "letter"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("illegal_transition"))
    );
    let none_overdue = app
        .ok(
            app.call(app.key_of(DPO), Method::GET, "/v1/requests?overdue=true")
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
    assert!(none_overdue["items"].as_array().unwrap().is_empty());

    let tenant = Kommunenummer::parse("4601").unwrap();
    let audit = app
        .store
        .audit()
        .query(AuditFilter::new(tenant).record(id.parse().unwrap()))
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    // Every step, every refusal (with its code) and the read of the request (issue 10).
    let reasons: Vec<Option<&str>> = audit
        .items
        .iter()
        .map(|r| r.entry.reason.as_deref())
        .collect();
    assert_eq!(
        actions,
        [
            "request.received",
            "request.verified",
            "request.refused",
            "request.extended",
            "request.refused",
            "request.read",
            "request.rejected",
            "request.refused",
        ]
    );
    assert_eq!(
        reasons,
        [
            None,
            Some("method=id_porten"),
            Some("invalid_subject_request"),
            None,
            Some("extension_refused"),
            None,
            None,
            Some("illegal_transition"),
        ]
    );
    assert!(
        audit
            .items
            .iter()
            .all(|r| r.entry.subject_id == Some(app.kari.as_uuid())
                && r.entry.principal == "personvernombud")
    );
    app.stop().await;
}

#[on_every_backend]
async fn bad_requests_are_answered_with_what_to_fix(backend: Backend) {
    let app = DsrApp::spawn(backend, None).await;
    for (body, pointer) in [
        (json!({"type": "delete", "fodselsnummer": KARI}), "/type"),
        (
            json!({"type": "access", "fodselsnummer": "15108695077"}),
            "/fodselsnummer",
        ),
        (
            json!({"type": "access", "subject_id": "nobody"}),
            "/subject_id",
        ),
        (json!({"type": "access"}), ""),
        (
            json!({"type": "access", "fodselsnummer": KARI, "subject_id": app.kari.to_string()}),
            "",
        ),
        (
            json!({"type": "rectification", "fodselsnummer": KARI,
                   "parameters": {"corrections": {"etternavn": "Hansen"}}}),
            "/parameters/corrections",
        ),
        (
            json!({"type": "objection", "fodselsnummer": KARI,
                   "parameters": {"purposes": ["no_such_purpose"]}}),
            "/parameters/purposes/0",
        ),
    ] {
        let (status, problem) = problem(app.post("/v1/requests", body.clone()).await).await;
        assert_eq!(status, 422, "{body}: {problem:#}");
        assert_eq!(problem["code"], "invalid_subject_request");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem:#}");
        let text = problem.to_string();
        assert!(
            !text.contains("15108695077") && !text.contains("Hansen"),
            "{text}"
        );
    }
    let (status, body) = problem(
        app.post(
            "/v1/requests",
            json!({"type": "erasure", "fodselsnummer": NOBODY}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("subject_unknown"))
    );
    assert!(!body.to_string().contains(NOBODY));

    let (status, body) = problem(
        app.call(app.key_of(DPO), Method::GET, "/v1/requests/not-a-uuid")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request_id"))
    );
    let (status, body) = problem(
        app.call(
            app.key_of(DPO),
            Method::GET,
            &format!("/v1/requests/{}", Uuid::now_v7()),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("request_not_found"))
    );
    for query in [
        "state=done",
        "type=delete",
        "overdue=yes",
        "due_before=soon",
        "cursor=x",
        "colour=red",
    ] {
        let (status, body) = problem(
            app.call(
                app.key_of(DPO),
                Method::GET,
                &format!("/v1/requests?{query}"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query")),
            "{query}"
        );
    }
    let created = app
        .ok(
            app.post(
                "/v1/requests",
                json!({"type": "erasure", "subject_id": app.kari.to_string()}),
            )
            .await,
            201,
        )
        .await;
    assert_eq!(created["identified_by"], "subject_id");
    let id = created["id"].as_str().unwrap();
    for months in [0, 3] {
        let (status, body) = problem(
            app.post(
                &format!("/v1/requests/{id}/extend"),
                json!({"months": months, "reason": "complex"}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["errors"][0]["pointer"].as_str()),
            (422, Some("/months"))
        );
    }
    let (status, body) =
        problem(app.post(&format!("/v1/requests/{id}/run"), json!({})).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("illegal_transition")),
        "a received request is verified first"
    );
    app.stop().await;

    // Without a register of persons, a fødselsnummer cannot be resolved.
    let app = DsrApp::spawn(
        backend,
        Some(Arc::new(datavern_governance::requests::SubjectIdsOnly)),
    )
    .await;
    let (status, body) = problem(
        app.post(
            "/v1/requests",
            json!({"type": "access", "fodselsnummer": KARI}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("subject_not_resolvable"))
    );
    app.stop().await;
}

#[on_every_backend]
async fn dpo_role_is_required_and_refusals_are_audited(backend: Backend) {
    let app = DsrApp::spawn(backend, None).await;
    let created = app
        .ok(
            app.post(
                "/v1/requests",
                json!({"type": "access", "fodselsnummer": KARI}),
            )
            .await,
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let calls = [
        (Method::POST, "/v1/requests".to_owned()),
        (Method::GET, "/v1/requests".to_owned()),
        (Method::GET, format!("/v1/requests/{id}")),
        (Method::POST, format!("/v1/requests/{id}/verify")),
        (Method::POST, format!("/v1/requests/{id}/extend")),
        (Method::POST, format!("/v1/requests/{id}/reject")),
        (Method::POST, format!("/v1/requests/{id}/run")),
    ];
    for (method, path) in &calls {
        let (status, body) = problem(
            app.call(app.key_of(CLERK), method.clone(), path)
                .json(&json!({"type": "access", "fodselsnummer": KARI, "months": 1, "reason": "x"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("access_denied")),
            "{method} {path}"
        );
        assert!(body["detail"].as_str().unwrap().contains("`dpo`"));
    }
    let tenant = Kommunenummer::parse("4601").unwrap();
    let refusals = app
        .store
        .audit()
        .query(AuditFilter::new(tenant).principal("saksbehandler"))
        .await
        .unwrap();
    assert_eq!(refusals.items.len(), calls.len());
    assert!(
        refusals
            .items
            .iter()
            .all(|r| r.entry.action.as_str() == "request.refused"
                && r.entry.outcome.as_str() == "denied")
    );
    assert_eq!(app.show(id).await["state"], "received", "nothing changed");

    // Another tenant's DPO does not see the request.
    let (status, body) = problem(
        app.call(
            app.key_of(OSLO_DPO),
            Method::GET,
            &format!("/v1/requests/{id}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("request_not_found"))
    );
    app.stop().await;
}

#[test]
fn new_request_body_never_shows_the_fodselsnummer_in_debug() {
    let body: datavern_server::wire::request::NewRequestJson =
        serde_json::from_value(json!({"type": "access", "fodselsnummer": KARI})).unwrap();
    let debug = format!("{body:?}");
    assert!(!debug.contains(KARI), "{debug}");
    assert!(debug.contains("redacted"));
}
