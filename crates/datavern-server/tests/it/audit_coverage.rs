//! Every request that touches or probes personal data, and every refusal, leaves an audit
//! entry: a table of route × outcome, each checked for its entry (action, outcome, reason).

use reqwest::Method;
use serde_json::{Value, json};

use datavern_crypto::ApiKey;
use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::TestApp;
use datavern_testkit::on_every_backend;

/// Who sends a case.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// `dev`: every purpose, role `auditor`, not `dpo`.
    Dev,
    /// `dpo`: role `dpo`, no purpose.
    Dpo,
}

/// One row of the table: a request, its status, and the audit entry it must leave.
struct Case {
    name: &'static str,
    who: Who,
    method: Method,
    path: String,
    purpose: &'static str,
    if_match: Option<&'static str>,
    body: Option<Body>,
    status: u16,
    action: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
}

enum Body {
    Json(Value),
    Raw(&'static str),
}

fn case(
    name: &'static str,
    who: Who,
    method: Method,
    path: &str,
    body: Option<Body>,
    status: u16,
    (action, outcome, reason): (&'static str, &'static str, Option<&'static str>),
) -> Case {
    Case {
        name,
        who,
        method,
        path: path.to_owned(),
        purpose: "",
        if_match: None,
        body,
        status,
        action,
        outcome,
        reason,
    }
}

#[on_every_backend]
async fn every_route_and_outcome_leaves_its_audit_entry(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let person: Value = app
        .request(
            Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&json!({"fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let person_id = person["id"].as_str().unwrap().to_owned();
    let record = format!("/v1/collections/innbyggere/records/{person_id}");
    let consents = format!("/v1/subjects/{person_id}/consents");
    let hold: Value = app
        .as_principal(app.dpo_key(), Method::POST, "/v1/legal-holds", "")
        .json(&json!({"scope": "subject", "subject": person_id, "reason": "Tilsynssak 2026/3"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let release = format!("/v1/legal-holds/{}/release", hold["id"].as_str().unwrap());
    let missing_release = "/v1/legal-holds/0190b5d2-7c1e-7000-8000-000000000001/release";

    let mut cases = vec![
        // Legal holds: listing shows subject ids and reasons; every refusal is audited.
        case(
            "holds listed",
            Who::Dpo,
            Method::GET,
            "/v1/legal-holds",
            None,
            200,
            ("hold.listed", "granted", None),
        ),
        case(
            "holds list refused without the role",
            Who::Dev,
            Method::GET,
            "/v1/legal-holds",
            None,
            403,
            ("hold.refused", "denied", Some("access_denied")),
        ),
        case(
            "hold placing refused without the role",
            Who::Dev,
            Method::POST,
            "/v1/legal-holds",
            Some(Body::Json(
                json!({"scope": "collection", "collection": "saker", "reason": "x"}),
            )),
            403,
            ("hold.refused", "denied", Some("access_denied")),
        ),
        case(
            "hold placing with an empty reason",
            Who::Dpo,
            Method::POST,
            "/v1/legal-holds",
            Some(Body::Json(
                json!({"scope": "collection", "collection": "saker", "reason": ""}),
            )),
            400,
            ("hold.place", "denied", Some("hold_reason_invalid")),
        ),
        case(
            "hold placing with a malformed body",
            Who::Dpo,
            Method::POST,
            "/v1/legal-holds",
            Some(Body::Raw("{\"scope\": ")),
            400,
            ("hold.place", "denied", Some("malformed_json")),
        ),
        case(
            "hold release refused without the role",
            Who::Dev,
            Method::POST,
            &release,
            Some(Body::Json(json!({"reason": "Saken er avsluttet"}))),
            403,
            ("hold.refused", "denied", Some("access_denied")),
        ),
        case(
            "release of a hold that does not exist",
            Who::Dpo,
            Method::POST,
            missing_release,
            Some(Body::Json(json!({"reason": "Saken er avsluttet"}))),
            404,
            ("hold.release", "denied", Some("hold_not_found")),
        ),
        case(
            "hold released",
            Who::Dpo,
            Method::POST,
            &release,
            Some(Body::Json(json!({"reason": "Saken er avsluttet"}))),
            200,
            ("hold.released", "granted", None),
        ),
        case(
            "release of a released hold",
            Who::Dpo,
            Method::POST,
            &release,
            Some(Body::Json(json!({"reason": "Saken er avsluttet"}))),
            409,
            ("hold.release", "denied", Some("hold_already_released")),
        ),
        // The compliance report, allowed or refused.
        case(
            "compliance report read",
            Who::Dpo,
            Method::GET,
            "/v1/reports/compliance",
            None,
            200,
            ("report.compliance", "granted", None),
        ),
        case(
            "compliance report refused without the role",
            Who::Dev,
            Method::GET,
            "/v1/reports/compliance",
            None,
            403,
            ("report.refused", "denied", Some("access_denied")),
        ),
        // The auditor's routes, refused to the data protection officer (no role `auditor`).
        case(
            "audit log refused without the role",
            Who::Dpo,
            Method::GET,
            "/v1/audit",
            None,
            403,
            ("audit_read", "denied", Some("access_denied")),
        ),
        case(
            "subject controls refused without the role",
            Who::Dpo,
            Method::GET,
            &format!("/v1/subjects/{person_id}/controls"),
            None,
            403,
            ("controls_read", "denied", Some("access_denied")),
        ),
        // Consent writes failing 4xx.
        Case {
            purpose: "nyhetsbrev",
            ..case(
                "consent with an unknown action",
                Who::Dev,
                Method::POST,
                &consents,
                Some(Body::Json(
                    json!({"purpose": "nyhetsbrev", "action": "perhaps", "channel": "web"}),
                )),
                422,
                ("consent_grant", "denied", Some("consent_invalid")),
            )
        },
        Case {
            purpose: "nyhetsbrev",
            ..case(
                "consent for another purpose than the header's",
                Who::Dev,
                Method::POST,
                &consents,
                Some(Body::Json(
                    json!({"purpose": "innbyggerregister", "action": "withdraw", "channel": "web"}),
                )),
                400,
                ("consent_withdraw", "denied", Some("bad_request")),
            )
        },
        Case {
            purpose: "nyhetsbrev",
            ..case(
                "consent with a malformed body",
                Who::Dev,
                Method::POST,
                &consents,
                Some(Body::Raw("[")),
                400,
                ("consent_grant", "denied", Some("malformed_json")),
            )
        },
        Case {
            purpose: "nyhetsbrev",
            ..case(
                "consent for a subject id that is not a UUID",
                Who::Dev,
                Method::POST,
                "/v1/subjects/not-a-uuid/consents",
                Some(Body::Json(
                    json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "web"}),
                )),
                400,
                ("consent_withdraw", "denied", Some("invalid_record_id")),
            )
        },
        // Record routes: validation failures (422) and version conflicts (412).
        Case {
            purpose: "innbyggerregister",
            ..case(
                "create with an invalid record",
                Who::Dev,
                Method::POST,
                "/v1/collections/innbyggere/records",
                Some(Body::Json(
                    json!({"fodselsnummer": "15108695077", "fornavn": "Kari"}),
                )),
                422,
                ("create", "denied", Some("invalid_record")),
            )
        },
        Case {
            purpose: "innbyggerregister",
            ..case(
                "create with a body that is not an object",
                Who::Dev,
                Method::POST,
                "/v1/collections/innbyggere/records",
                Some(Body::Json(json!(["15108695088"]))),
                422,
                ("create", "denied", Some("invalid_body")),
            )
        },
        Case {
            purpose: "innbyggerregister",
            ..case(
                "update with an invalid value",
                Who::Dev,
                Method::PATCH,
                &record,
                Some(Body::Json(json!({"telefon": "12"}))),
                422,
                ("update", "denied", Some("invalid_record")),
            )
        },
        Case {
            purpose: "innbyggerregister",
            if_match: Some("\"7\""),
            ..case(
                "update of a version that is not current",
                Who::Dev,
                Method::PATCH,
                &record,
                Some(Body::Json(json!({"fornavn": "Kari Anne"}))),
                412,
                ("update", "denied", Some("version_conflict")),
            )
        },
    ];
    assert!(cases.len() >= 19);

    for case in cases.drain(..) {
        let key: &ApiKey = match case.who {
            Who::Dev => app.key(),
            Who::Dpo => app.dpo_key(),
        };
        let before = count(&app, &case).await;
        let mut request = app.as_principal(key, case.method.clone(), &case.path, case.purpose);
        if let Some(version) = case.if_match {
            request = request.header("if-match", version);
        }
        request = match &case.body {
            Some(Body::Json(value)) => request.json(value),
            Some(Body::Raw(text)) => request
                .header("content-type", "application/json")
                .body(*text),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {text}", case.name);
        let after = count(&app, &case).await;
        assert_eq!(
            after,
            before + 1,
            "{}: no audit entry {} {} {:?}",
            case.name,
            case.action,
            case.outcome,
            case.reason
        );
    }
    app.stop().await;
}

/// How many entries of the case's principal have its action, outcome and reason.
async fn count(app: &TestApp, case: &Case) -> usize {
    let principal = match case.who {
        Who::Dev => "dev",
        Who::Dpo => "dpo",
    };
    let mut total = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/audit?principal={principal}&limit=500");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = app.get_authed(&path).await.json().await.unwrap();
        total += page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["action"] == case.action
                    && e["outcome"] == case.outcome
                    && e["reason"].as_str() == case.reason
            })
            .count();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return total,
        }
    }
}
