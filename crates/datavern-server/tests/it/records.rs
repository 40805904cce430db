//! The governed record routes end to end, on SQLite, PostgreSQL and MariaDB.

use reqwest::Method;
use serde_json::{Value, json};

use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::{TestApp, problem};
use datavern_testkit::on_every_backend;

const INNBYGGERE: &str = "/v1/collections/innbyggere/records";
const REGISTER: &str = "innbyggerregister";

fn kari() -> Value {
    json!({
        "fodselsnummer": "151086 95088",
        "fornavn": "Kari",
        "etternavn": "Nordmann",
        "telefon": "912 34 567",
        "postnummer": "5003",
    })
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app
        .request(Method::POST, INNBYGGERE, REGISTER)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// How many records `dev` sees in `innbyggere`.
async fn count(app: &TestApp) -> usize {
    let page: Value = app
        .request(Method::GET, &format!("{INNBYGGERE}?limit=500"), REGISTER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

#[on_every_backend]
async fn records_round_trip_with_lookup_withheld_fields_and_versions(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;

    let response = app
        .request(Method::POST, INNBYGGERE, REGISTER)
        .json(&kari())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{INNBYGGERE}/{id}"));
    assert_eq!(created["version"], 1);
    // Canonical forms: identifiers normalised.
    assert_eq!(created["fields"]["fodselsnummer"], "15108695088");
    assert_eq!(created["fields"]["telefon"], "+4791234567");
    assert_eq!(created["withheld"], json!([]));
    assert_eq!(created["subjects"][0]["id"], id.as_str());

    let read: Value = app
        .request(Method::GET, &location, REGISTER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["fields"], created["fields"]);

    // `kommunikasjon` may not read the fødselsnummer (personopplysningsloven § 12).
    let letter: Value = app
        .as_principal(app.limited_key(), Method::GET, &location, "kommunikasjon")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(letter["fields"].get("fodselsnummer").is_none(), "{letter}");
    assert_eq!(letter["fields"]["fornavn"], "Kari");
    assert_eq!(
        letter["withheld"],
        json!([{ "field": "fodselsnummer", "reason": "purpose" }])
    );

    // Lookup by blind index, with the value written either way.
    for value in ["15108695088", "151086%2095088"] {
        let found: Value = app
            .request(
                Method::GET,
                &format!("{INNBYGGERE}?fodselsnummer={value}"),
                REGISTER,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = found["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{found}");
        assert_eq!(items[0]["id"], id.as_str());
    }
    let none: Value = app
        .request(
            Method::GET,
            &format!("{INNBYGGERE}?fodselsnummer=26111593816"),
            REGISTER,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));

    // Update with If-Match; a stale version is a 412.
    let response = app
        .request(Method::PATCH, &location, REGISTER)
        .header("if-match", "\"1\"")
        .json(&json!({ "etternavn": "Hansen", "telefon": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["fields"]["etternavn"], "Hansen");
    assert_eq!(updated["fields"]["telefon"], Value::Null);
    assert_eq!(updated["fields"]["fornavn"], "Kari");
    let (status, body) = problem(
        app.request(Method::PATCH, &location, REGISTER)
            .header("if-match", "\"1\"")
            .json(&json!({ "etternavn": "Berg" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 412);
    assert_eq!(body["code"], "version_conflict");

    let response = app
        .request(Method::DELETE, &location, REGISTER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, body) = problem(
        app.request(Method::GET, &location, REGISTER)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "record_not_found");
    app.stop().await;
}

#[on_every_backend]
async fn list_pages_follow_the_cursor(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let mut ids = Vec::new();
    for fnr in ["15108695088", "26111593816", "53097248016"] {
        let mut body = kari();
        body["fodselsnummer"] = json!(fnr);
        ids.push(create(&app, &body).await["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = format!("{INNBYGGERE}?limit=2");
    loop {
        let page: Value = app
            .request(Method::GET, &path, REGISTER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{INNBYGGERE}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let (status, body) = problem(
        app.request(Method::GET, &format!("{INNBYGGERE}?cursor=nope"), REGISTER)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_query");
    app.stop().await;
}

/// One bad request and what it must give.
struct Case {
    name: &'static str,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &'static str,
    /// `(pointer, code)` of the first field error, if any.
    error: Option<(&'static str, &'static str)>,
    /// Whether the refusal is recorded in the audit log: every refusal after authentication
    /// (an access denial, or a body refused once access was granted), but not one the
    /// server's layers answer before the route (an oversize body by its length).
    audited: bool,
}

#[on_every_backend]
async fn bad_input_is_refused_without_partial_writes(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let existing = create(&app, &kari()).await;
    let id = existing["id"].as_str().unwrap().to_owned();
    let record = format!("{INNBYGGERE}/{id}");
    let with = |change: Value| {
        let mut body = kari();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let post = |body: Value| app.request(Method::POST, INNBYGGERE, REGISTER).json(&body);

    let cases = vec![
        Case {
            name: "malformed JSON",
            request: app
                .request(Method::POST, INNBYGGERE, REGISTER)
                .header("content-type", "application/json")
                .body(r#"{"fodselsnummer": "15108695088", "#),
            status: 400,
            code: "malformed_json",
            error: None,
            audited: true,
        },
        Case {
            name: "unknown field",
            request: post(with(json!({ "fodselsnr": "x" }))),
            status: 422,
            code: "invalid_record",
            // The unknown name is not repeated, even in a pointer.
            error: Some(("", "unknown_field")),
            audited: true,
        },
        Case {
            name: "wrong type",
            request: post(with(json!({ "fornavn": 5 }))),
            status: 422,
            code: "invalid_record",
            error: Some(("/fornavn", "wrong_type")),
            audited: true,
        },
        Case {
            name: "missing required field",
            request: post(with(json!({ "etternavn": null }))),
            status: 422,
            code: "invalid_record",
            error: Some(("/etternavn", "missing_field")),
            audited: true,
        },
        Case {
            name: "invalid identifier",
            request: post(with(json!({ "fodselsnummer": "15108695077" }))),
            status: 422,
            code: "invalid_record",
            error: Some(("/fodselsnummer", "invalid_identifier")),
            audited: true,
        },
        Case {
            name: "oversize body",
            request: post(with(json!({ "adresse": "x".repeat(2 * 1024 * 1024) }))),
            status: 413,
            code: "payload_too_large",
            error: None,
            audited: false,
        },
        Case {
            name: "not JSON",
            request: app
                .request(Method::POST, INNBYGGERE, REGISTER)
                .header("content-type", "text/plain")
                .body("fodselsnummer=15108695088"),
            status: 415,
            code: "unsupported_media_type",
            error: None,
            audited: true,
        },
        Case {
            name: "unknown collection",
            request: app
                .request(Method::POST, "/v1/collections/innbygere/records", REGISTER)
                .json(&kari()),
            status: 404,
            code: "collection_unknown",
            error: None,
            audited: true,
        },
        Case {
            name: "missing purpose",
            request: app
                .client
                .post(app.url(INNBYGGERE))
                .bearer_auth(app.key().expose_secret())
                .json(&kari()),
            status: 400,
            code: "purpose_missing",
            error: None,
            audited: true,
        },
        Case {
            name: "unknown purpose",
            request: app
                .request(Method::POST, INNBYGGERE, "innbyggerregistre")
                .json(&kari()),
            status: 400,
            code: "purpose_unknown",
            error: None,
            audited: true,
        },
        Case {
            name: "purpose not allowed for the principal",
            request: app
                .as_principal(app.limited_key(), Method::POST, INNBYGGERE, REGISTER)
                .json(&kari()),
            status: 403,
            code: "purpose_not_allowed",
            error: None,
            audited: true,
        },
        Case {
            name: "principal without clearance",
            request: app.as_principal(
                app.limited_key(),
                Method::GET,
                "/v1/collections/saker/records",
                "helse_omsorg",
            ),
            status: 403,
            code: "clearance_insufficient",
            error: None,
            audited: true,
        },
        Case {
            name: "field the purpose may not write",
            request: app
                .as_principal(app.limited_key(), Method::PATCH, &record, "kommunikasjon")
                .json(&json!({ "fodselsnummer": "26111593816" })),
            status: 403,
            code: "field_not_writable",
            error: None,
            audited: true,
        },
        Case {
            name: "other tenant's record (read)",
            request: app.as_principal(app.oslo_key(), Method::GET, &record, REGISTER),
            status: 404,
            code: "record_not_found",
            error: None,
            audited: true,
        },
        Case {
            name: "other tenant's record (update)",
            request: app
                .as_principal(app.oslo_key(), Method::PATCH, &record, REGISTER)
                .json(&json!({ "etternavn": "Hansen" })),
            status: 404,
            code: "record_not_found",
            error: None,
            audited: true,
        },
        Case {
            name: "other tenant's record (delete)",
            request: app.as_principal(app.oslo_key(), Method::DELETE, &record, REGISTER),
            status: 404,
            code: "record_not_found",
            error: None,
            audited: true,
        },
        Case {
            name: "record id not a UUID",
            request: app.request(Method::GET, &format!("{INNBYGGERE}/15108695088"), REGISTER),
            status: 400,
            code: "invalid_record_id",
            error: None,
            audited: false,
        },
        Case {
            name: "lookup by a field without blind index",
            request: app.request(Method::GET, &format!("{INNBYGGERE}?fornavn=Kari"), REGISTER),
            status: 400,
            code: "field_not_searchable",
            error: None,
            audited: true,
        },
        Case {
            name: "lookup by an invalid identifier",
            request: app.request(
                Method::GET,
                &format!("{INNBYGGERE}?fodselsnummer=15108695077"),
                REGISTER,
            ),
            status: 400,
            code: "invalid_query",
            error: Some(("/fodselsnummer", "invalid_identifier")),
            audited: false,
        },
    ];

    for case in cases {
        let before = app.store.audit().stats().entries_recorded;
        let (status, body) = problem(case.request.send().await.unwrap()).await;
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["code"], case.code, "{}: {body}", case.name);
        if let Some((pointer, code)) = case.error {
            assert_eq!(
                body["errors"][0]["pointer"], pointer,
                "{}: {body}",
                case.name
            );
            assert_eq!(body["errors"][0]["code"], code, "{}: {body}", case.name);
        }
        // What was sent is never repeated back.
        let text = body.to_string();
        assert!(!text.contains("15108695077"), "{}: {text}", case.name);
        assert!(!text.contains("26111593816"), "{}: {text}", case.name);
        let after = app.store.audit().stats().entries_recorded;
        assert_eq!(
            after - before,
            u64::from(case.audited),
            "{}: audit entries",
            case.name
        );
    }

    // Nothing was written: one record, unchanged.
    assert_eq!(count(&app).await, 1);
    let response = app
        .request(Method::GET, &record, REGISTER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["fields"], existing["fields"]);
    app.stop().await;
}

#[on_every_backend]
async fn renamed_field_is_served_under_both_names(backend: Backend) {
    let yaml = crate::app::test_catalog().source().replacen(
        "      - name: epost\n        type: string\n",
        "      - name: epostadresse\n        renamed_from: epost\n        type: string\n",
        1,
    );
    let catalog = datavern_core::catalog::Catalog::from_yaml(&yaml).unwrap();
    let app = TestApp::builder(backend).catalog(catalog).spawn().await;

    // Created under the old name, answered under the new one.
    let mut body = kari();
    body["epost"] = json!("Kari.Nordmann@Example.no");
    let created = create(&app, &body).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["fields"]["epostadresse"],
        "Kari.Nordmann@Example.no"
    );
    assert!(created["fields"].get("epost").is_none(), "{created}");

    // Looked up under either name.
    for name in ["epost", "epostadresse"] {
        let found: Value = app
            .request(
                Method::GET,
                &format!("{INNBYGGERE}?{name}=kari.nordmann@example.no"),
                REGISTER,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = found["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{name}: {found}");
        assert_eq!(items[0]["id"], id.as_str());
    }

    // Patched under the old name.
    let patched: Value = app
        .request(Method::PATCH, &format!("{INNBYGGERE}/{id}"), REGISTER)
        .json(&json!({"epost": "kari@example.no"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched["fields"]["epostadresse"], "kari@example.no",
        "{patched}"
    );

    // Both names in one body: which one to keep.
    let response = app
        .request(Method::PATCH, &format!("{INNBYGGERE}/{id}"), REGISTER)
        .json(&json!({"epost": "a@example.no", "epostadresse": "b@example.no"}))
        .send()
        .await
        .unwrap();
    let (status, problem) = problem(response).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/epost", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "renamed_field", "{problem}");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("keep `epostadresse`"),
        "{problem}"
    );
}
