//! Who may record a consent, through the API on SQLite, PostgreSQL and MariaDB: where the
//! catalog names a `consent.recorder_role` for a purpose (here the example's `nyhetsbrev`), a
//! principal of the purpose without that role cannot record a grant, neither through
//! `POST /v1/subjects/{id}/consents` nor by creating a person with `Datavern-Consent-Notice`
//! (403 `consent_recorder_required`, audited, nothing recorded), while it may still record a
//! withdrawal; a principal with the role records grants with their channel and evidence
//! reference, and a bad evidence reference is refused without being echoed.

use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_crypto::ApiKey;
use datavern_sql::Backend;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{self, CATALOG, TestApp, principal, problem, roles};
use datavern_testkit::on_every_backend;

/// `minside`: the portal, purpose `nyhetsbrev`, role `consent_recorder`.
const RECORDER: &str = "minside";
/// `kundesenter`: purpose `nyhetsbrev`, no role.
const OTHER: &str = "kundesenter";
/// `revisor`: role `auditor`, to read the audit log.
const AUDITOR: &str = "revisor";

const NYHETSBREV: &str = "/v1/collections/nyhetsbrev/records";

/// A server with three principals of tenant 4601: `minside` (the portal: purpose
/// `nyhetsbrev`, role `consent_recorder`), `kundesenter` (purpose `nyhetsbrev`, no role) and
/// `revisor` (role `auditor`, to read the audit log).
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
        let yaml = CATALOG.replacen(
            "    lawful_basis: 6(1)(a)\n",
            "    lawful_basis: 6(1)(a)\n    consent:\n      recorder_role: consent_recorder\n",
            1,
        );
        let catalog = Catalog::from_yaml(&yaml).unwrap();
        let principal = |id: &str, purposes: &[&str], names: &[&str]| {
            principal(id, "4601", Classification::Begrenset)
                .with_purposes(app::purposes(purposes))
                .with_roles(roles(names))
        };
        let app = TestApp::builder(backend)
            .principals([
                principal(RECORDER, &["nyhetsbrev"], &["consent_recorder"]),
                principal(OTHER, &["nyhetsbrev"], &[]),
                principal(AUDITOR, &[], &["auditor"]),
            ])
            .catalog(catalog)
            .spawn()
            .await;
        App { app }
    }

    fn call(&self, key: &ApiKey, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app.as_principal(key, method, path, "nyhetsbrev")
    }

    async fn json(&self, response: reqwest::Response, status: u16) -> Value {
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(got, status, "{body:#}");
        body
    }

    /// The audit entries of `principal`, newest first.
    async fn audit_of(&self, principal: &str) -> Vec<Value> {
        let response = self
            .call(
                self.key_of(AUDITOR),
                Method::GET,
                &format!("/v1/audit?principal={principal}"),
            )
            .send()
            .await
            .unwrap();
        let page = self.json(response, 200).await;
        page["items"].as_array().unwrap().clone()
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

#[on_every_backend]
async fn grants_need_the_recorder_role_and_record_channel_and_evidence(backend: Backend) {
    let app = App::spawn(backend).await;
    let subscriber = json!({"epost": "abonnent@example.no", "navn": "Abonnent"});

    // A person created with a consent, by a principal without the role: refused, audited,
    // nothing created.
    let (status, body) = problem(
        app.call(app.key_of(OTHER), Method::POST, NYHETSBREV)
            .header("datavern-consent-notice", "2026-01")
            .header("datavern-consent-channel", "web")
            .json(&subscriber)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_recorder_required")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("consent_recorder"),
        "{body}"
    );
    let audit = app.audit_of("kundesenter").await;
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["action"], "consent_grant");
    assert_eq!(audit[0]["outcome"], "denied");
    assert_eq!(audit[0]["reason"], "consent_recorder_required");
    assert_eq!(audit[0]["purpose"], "nyhetsbrev");
    let audit_text = Value::Array(audit).to_string();
    assert!(!audit_text.contains("abonnent@example.no"), "{audit_text}");

    // The portal, with the role: created with the consent, its channel and evidence.
    let response = app
        .call(app.key_of(RECORDER), Method::POST, NYHETSBREV)
        .header("datavern-consent-notice", "2026-01")
        .header("datavern-consent-channel", "web")
        .header("datavern-consent-evidence", "minside:skjema/7781")
        .json(&subscriber)
        .send()
        .await
        .unwrap();
    let created = app.json(response, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let consents = format!("/v1/subjects/{id}/consents");
    let response = app
        .call(app.key_of(RECORDER), Method::GET, &consents)
        .send()
        .await
        .unwrap();
    let register = app.json(response, 200).await;
    assert_eq!(register["history"].as_array().unwrap().len(), 1);
    assert_eq!(register["history"][0]["channel"], "web");
    assert_eq!(
        register["history"][0]["evidence_ref"],
        "minside:skjema/7781"
    );
    assert_eq!(register["history"][0]["recorded_by"], "minside");

    // A grant for an existing person, without the role: refused and audited; a withdrawal
    // needs no role (Art. 7(3)).
    let paper_grant = json!({
        "purpose": "nyhetsbrev", "action": "grant", "notice_version": "2026-02",
        "channel": "paper", "evidence_ref": "skjema:2026/4711",
    });
    let (status, body) = problem(
        app.call(app.key_of(OTHER), Method::POST, &consents)
            .json(&paper_grant)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_recorder_required")),
        "{body}"
    );
    let audit = app.audit_of("kundesenter").await;
    assert_eq!(audit.len(), 2, "{audit:#?}");
    assert_eq!(audit[0]["action"], "consent_grant");
    assert_eq!(audit[0]["reason"], "consent_recorder_required");
    let response = app
        .call(app.key_of(OTHER), Method::POST, &consents)
        .json(&json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "phone"}))
        .send()
        .await
        .unwrap();
    let withdrawn = app.json(response, 201).await;
    assert_eq!(withdrawn["evidence_ref"], Value::Null);

    // With the role: the grant records its channel and evidence reference.
    let response = app
        .call(app.key_of(RECORDER), Method::POST, &consents)
        .json(&paper_grant)
        .send()
        .await
        .unwrap();
    let granted = app.json(response, 201).await;
    assert_eq!(granted["channel"], "paper");
    assert_eq!(granted["evidence_ref"], "skjema:2026/4711");
    assert_eq!(granted["recorded_by"], "minside");

    // Evidence is an id, never personal data: refused without echoing it.
    for bad in [
        "15108695088",
        "kari@example.no",
        "Kari Nordmann",
        &"x".repeat(129),
    ] {
        let mut body = paper_grant.clone();
        body["evidence_ref"] = json!(bad);
        let (status, problem_body) = problem(
            app.call(app.key_of(RECORDER), Method::POST, &consents)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, problem_body["code"].as_str()),
            (422, Some("consent_invalid")),
            "{problem_body}"
        );
        assert!(
            !problem_body.to_string().contains(bad),
            "{bad} echoed: {problem_body}"
        );
    }
    let (status, problem_body) = problem(
        app.call(app.key_of(RECORDER), Method::POST, NYHETSBREV)
            .header("datavern-consent-notice", "2026-01")
            .header("datavern-consent-evidence", "15108695088")
            .json(&json!({"epost": "to@example.no"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem_body["code"].as_str()),
        (422, Some("consent_invalid"))
    );
    assert!(!problem_body.to_string().contains("15108695088"));

    let response = app
        .call(app.key_of(RECORDER), Method::GET, &consents)
        .send()
        .await
        .unwrap();
    let register = app.json(response, 200).await;
    let history = register["history"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["recorded_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("grant", "minside"),
            ("withdraw", "kundesenter"),
            ("grant", "minside"),
        ]
    );
    assert_eq!(register["current"][0]["state"], "granted");
    app.stop().await;
}
