//! The data subject's controls through the API, on SQLite, PostgreSQL and MariaDB: consent
//! given with a create, withdrawn through `/v1/subjects/{id}/consents` (the next read is
//! refused, lists drop the record), bad consent requests refused with clear 4xx, and a
//! restriction (as a data subject request would record it) refusing writes.

use std::sync::Arc;

use datavern_core::access::{Principal, PrincipalId};
use datavern_core::catalog::Kommunenummer;
use datavern_core::classification::Classification;
use datavern_core::controls::RestrictionReason;
use datavern_crypto::LocalKeyFile;
use datavern_governance::controls::Controls;
use datavern_server::ServerConfig;
use datavern_sql::Backend;
use datavern_store::{Records, SubjectId};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{TestApp, problem, test_catalog};
use datavern_testkit::on_every_backend;

const NYHETSBREV: &str = "/v1/collections/nyhetsbrev/records";

fn consents(id: &str) -> String {
    format!("/v1/subjects/{id}/consents")
}

#[on_every_backend]
async fn withdrawn_consent_refuses_the_next_read_through_the_api(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let subscriber = json!({"epost": "abonnent@example.no", "navn": "Abonnent"});

    // No consent, no subscriber.
    let response = app
        .request(Method::POST, NYHETSBREV, "nyhetsbrev")
        .json(&subscriber)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_required"))
    );
    assert!(
        body["detail"].as_str().unwrap().contains("consent"),
        "{body}"
    );

    let response = app
        .request(Method::POST, NYHETSBREV, "nyhetsbrev")
        .header("datavern-consent-notice", "2026-01")
        .header("datavern-consent-channel", "web")
        .json(&subscriber)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let record = format!("{NYHETSBREV}/{id}");
    let read = app
        .request(Method::GET, &record, "nyhetsbrev")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);

    let register: Value = app
        .request(Method::GET, &consents(&id), "nyhetsbrev")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register["current"][0]["state"], "granted", "{register}");
    assert_eq!(register["history"][0]["channel"], "web");
    assert_eq!(register["history"][0]["notice_version"], "2026-01");
    assert_eq!(register["history"][0]["recorded_by"], "dev");

    let response = app
        .request(Method::POST, &consents(&id), "nyhetsbrev")
        .json(&json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let (status, body) = problem(
        app.request(Method::GET, &record, "nyhetsbrev")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_required"))
    );
    let page: Value = app
        .request(Method::GET, NYHETSBREV, "nyhetsbrev")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]));
    let register: Value = app
        .request(Method::GET, &consents(&id), "nyhetsbrev")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register["current"][0]["state"], "not_granted");
    assert_eq!(register["history"].as_array().unwrap().len(), 2);

    // Bad requests: each a clear 4xx, nothing recorded.
    let check = |builder: reqwest::RequestBuilder, status: u16, code: &'static str| async move {
        let (got, body) = problem(builder.send().await.unwrap()).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    };
    let grant = json!({"purpose": "nyhetsbrev", "action": "grant", "notice_version": "2026-01", "channel": "web"});
    check(
        app.request(Method::POST, &consents(&id), "nyhetsbrev")
            .json(&json!({"purpose": "nyhetsbrev", "action": "grant", "channel": "web"})),
        422,
        "consent_invalid",
    )
    .await;
    check(
        app.request(Method::POST, &consents(&id), "nyhetsbrev")
            .json(&json!({"purpose": "nyhetsbrev", "action": "grant", "notice_version": "1", "channel": "fax"})),
        422,
        "consent_invalid",
    )
    .await;
    check(
        app.request(Method::POST, &consents(&id), "nyhetsbrev").json(
            &json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "web", "occurred_at": "2999-01-01T00:00:00Z"}),
        ),
        422,
        "consent_invalid",
    )
    .await;
    check(
        app.request(Method::POST, &consents(&id), "innbyggerregister")
            .json(&grant),
        422,
        "consent_invalid",
    )
    .await;
    check(
        app.as_principal(
            app.limited_key(),
            Method::POST,
            &consents(&id),
            "nyhetsbrev",
        )
        .json(&grant),
        403,
        "purpose_not_allowed",
    )
    .await;
    check(
        app.request(
            Method::POST,
            &consents(&Uuid::now_v7().to_string()),
            "nyhetsbrev",
        )
        .json(&grant),
        404,
        "subject_not_found",
    )
    .await;
    check(
        app.request(Method::POST, &consents("not-a-uuid"), "nyhetsbrev")
            .json(&grant),
        400,
        "invalid_record_id",
    )
    .await;
    check(
        app.as_principal(app.oslo_key(), Method::GET, &consents(&id), "nyhetsbrev"),
        404,
        "subject_not_found",
    )
    .await;
    let register: Value = app
        .request(Method::GET, &consents(&id), "nyhetsbrev")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register["history"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[on_every_backend]
async fn restriction_refuses_writes_through_the_api(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let response = app
        .request(
            Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&json!({"fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let person: Value = response.json().await.unwrap();
    let person = person["id"].as_str().unwrap().to_owned();
    let response = app
        .request(
            Method::POST,
            "/v1/collections/saker/records",
            "helse_omsorg",
        )
        .json(&json!({"bruker_id": person, "saksnummer": "2026/1", "tjeneste": "hjemmesykepleie"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let case: Value = response.json().await.unwrap();
    let case = format!(
        "/v1/collections/saker/records/{}",
        case["id"].as_str().unwrap()
    );

    // What a restriction request records when it is executed.
    let kek_dir = tempfile::tempdir().unwrap();
    let kek = LocalKeyFile::create(kek_dir.path().join("kek"))
        .await
        .unwrap();
    let records = Records::new(app.store.clone(), Arc::new(test_catalog()), Arc::new(kek));
    let controls = Controls::new(records);
    let dpo = Principal::new(
        PrincipalId::parse("personvernombud").unwrap(),
        Kommunenummer::parse("4601").unwrap(),
        Classification::Begrenset,
    );
    let subject = SubjectId::parse(&person).unwrap();
    let marked = controls
        .restrict(
            &dpo,
            &[subject],
            RestrictionReason::AccuracyContested,
            Some("dsr-1"),
        )
        .await
        .unwrap();
    assert_eq!(marked, 2);

    let (status, body) = problem(
        app.request(Method::PATCH, &case, "helse_omsorg")
            .json(&json!({"vedtak": "innvilget"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("processing_restricted"))
    );
    assert!(
        body["detail"].as_str().unwrap().contains("Art. 18"),
        "{body}"
    );
    let (status, body) = problem(
        app.request(Method::GET, &case, "helse_omsorg")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("processing_restricted"))
    );
    let read = app
        .request(Method::GET, &case, "klagebehandling")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);

    let controls_path = format!("/v1/subjects/{person}/controls");
    let view: Value = app.get_authed(&controls_path).await.json().await.unwrap();
    assert_eq!(view["restricted"], true, "{view}");
    assert_eq!(view["restrictions"][0]["reason"], "accuracy_contested");
    assert_eq!(view["restrictions"][0]["request_id"], "dsr-1");
    let (status, body) = problem(
        app.as_principal(
            app.limited_key(),
            Method::GET,
            &controls_path,
            "helse_omsorg",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("access_denied"))
    );
    app.stop().await;
}
