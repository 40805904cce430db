//! What stops an ordinary record write, through the API on every backend: an active legal
//! hold (on the record, on its primary or secondary subject, on its collection) refuses
//! `PATCH` and `DELETE` with `409 legal_hold` until it is released; archive duty refuses
//! `DELETE` with `409 archive_duty` and keeps the version a `PATCH` replaces; a flood of
//! records sharing one value pages instead of hiding the others behind an error; a field the
//! catalog marks `unique` refuses a second record with its value, also under concurrency.
//! Every refusal is audited (outcome `denied`, the code as reason, no value).

use std::sync::Arc;

use base64::Engine as _;
use datavern_core::access::{self, AccessRequest, Principal};
use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::classification::Classification;
use datavern_core::record::{self, FieldValue, Mode};
use datavern_sql::Backend;
use datavern_sql::Text;
use datavern_sql::testing;
use datavern_store::Records;
use datavern_store::records::RequestMeta;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{CATALOG, TestApp, all_purposes, principal, problem, roles};
use datavern_testkit::on_every_backend;

/// Principal `saksbehandler`: every purpose, clearance BEGRENSET, role `auditor`.
const CLERK: &str = "saksbehandler";
/// Principal `personvernombud`: role `dpo`.
const DPO: &str = "personvernombud";

const INNBYGGERE: &str = "innbyggere";
const REGISTER: &str = "innbyggerregister";
const HELSE: &str = "helse_omsorg";

/// The example catalog with tenant 0301 and `fodselsnummer` of `innbyggere` unique.
fn catalog() -> Catalog {
    let with_oslo = CATALOG.replacen(
        "      name: Bergen kommune\n",
        "      name: Bergen kommune\n    - kommunenummer: \"0301\"\n      name: Oslo kommune\n",
        1,
    );
    let unique = with_oslo.replacen(
        "        encrypted: true\n        searchable: true\n",
        "        encrypted: true\n        searchable: true\n        unique: true\n",
        1,
    );
    Catalog::from_yaml(&unique).unwrap()
}

/// The server with a clerk and a DPO of Bergen, and the record operations it runs on.
struct GuardApp {
    app: TestApp,
    records: Records,
    catalog: Arc<Catalog>,
}

impl std::ops::Deref for GuardApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl GuardApp {
    async fn spawn(backend: Backend) -> GuardApp {
        let catalog = catalog();
        let app = TestApp::builder(backend)
            .principals([
                Self::clerk_principal(&catalog),
                principal(DPO, "4601", Classification::Begrenset).with_roles(roles(&["dpo"])),
            ])
            .catalog(catalog)
            .spawn()
            .await;
        let records = app.governance.records().clone();
        let catalog = records.catalog().clone();
        GuardApp {
            app,
            records,
            catalog,
        }
    }

    fn clerk_principal(catalog: &Catalog) -> Principal {
        principal(CLERK, "4601", Classification::Begrenset)
            .with_roles(roles(&["auditor"]))
            .with_purposes(all_purposes(catalog))
    }

    async fn stop(self) {
        self.app.stop().await;
    }

    /// A record request as the clerk for `purpose`.
    fn records(&self, method: Method, path: &str, purpose: &str) -> reqwest::RequestBuilder {
        self.call(self.key_of(CLERK), method, path)
            .header("datavern-purpose", purpose)
    }

    async fn ok(response: reqwest::Response, status: u16) -> Value {
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Creates a record; its id.
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
        Self::ok(response, 201).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn patch(
        &self,
        collection: &str,
        id: &str,
        purpose: &str,
        body: Value,
    ) -> reqwest::Response {
        self.records(
            Method::PATCH,
            &format!("/v1/collections/{collection}/records/{id}"),
            purpose,
        )
        .json(&body)
        .send()
        .await
        .unwrap()
    }

    async fn delete(&self, collection: &str, id: &str, purpose: &str) -> reqwest::Response {
        self.records(
            Method::DELETE,
            &format!("/v1/collections/{collection}/records/{id}"),
            purpose,
        )
        .send()
        .await
        .unwrap()
    }

    async fn read(&self, collection: &str, id: &str, purpose: &str) -> Value {
        let response = self
            .records(
                Method::GET,
                &format!("/v1/collections/{collection}/records/{id}"),
                purpose,
            )
            .send()
            .await
            .unwrap();
        Self::ok(response, 200).await
    }

    /// Places a hold (`scope` holds the scope's members); its id.
    async fn hold(&self, scope: Value, reason: &str) -> String {
        let mut body = scope;
        body["reason"] = json!(reason);
        let response = self
            .call(self.key_of(DPO), Method::POST, "/v1/legal-holds")
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::ok(response, 201).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn release(&self, hold: &str) {
        let response = self
            .call(
                self.key_of(DPO),
                Method::POST,
                &format!("/v1/legal-holds/{hold}/release"),
            )
            .json(&json!({"reason": "Saken er avsluttet"}))
            .send()
            .await
            .unwrap();
        Self::ok(response, 200).await;
    }

    /// The audit entries about `record`.
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
        Self::ok(response, 200).await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Asserts `response` is `409 code` whose detail says `says`, and that the refusal of
    /// `action` on `record` is in the audit log with no value (`secrets` never appear).
    async fn refused(
        &self,
        response: reqwest::Response,
        code: &str,
        says: &str,
        action: &str,
        record: &str,
        secrets: &[&str],
    ) {
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some(code)),
            "{body:#}"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
        let entries = self.audit(record).await;
        let refusals: Vec<&Value> = entries
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == "denied" && e["reason"] == code)
            .collect();
        assert!(!refusals.is_empty(), "no audited refusal: {entries:#?}");
        let text = serde_json::to_string(&entries).unwrap();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in the audit log: {text}");
        }
    }

    fn grant(&self, request: AccessRequest<'_>) -> access::Grant {
        access::decide(
            &self.catalog,
            &Self::clerk_principal(&self.catalog),
            &request,
        )
        .unwrap()
    }

    /// The raw bytes of column `column` of record `id` in `table`.
    async fn raw_bytes(&self, table: &str, column: &str, id: Uuid) -> Option<Vec<u8>> {
        let sql = format!("SELECT {column} FROM {table} WHERE id = ?");
        testing::fetch_one(self.store.data(), &sql, &[id.into()]).await
    }

    /// The kept versions of record `id`: (version, content), oldest first.
    async fn kept_versions(&self, id: Uuid) -> Vec<(i64, Value)> {
        // Text, which also reads a MariaDB/MySQL column with a binary collation.
        let rows: Vec<(i64, Text)> = testing::fetch_rows(
            self.store.data(),
            "SELECT version, content FROM dv_record_versions WHERE record_id = ? \
             ORDER BY version",
            &[id.into()],
        )
        .await;
        rows.into_iter()
            .map(|(version, Text(content))| (version, serde_json::from_str(&content).unwrap()))
            .collect()
    }
}

fn resident(fnr: &str, fornavn: &str) -> Value {
    json!({"fodselsnummer": fnr, "fornavn": fornavn, "etternavn": "Nordmann",
           "postnummer": "5003"})
}

#[on_every_backend]
async fn legal_holds_refuse_patch_and_delete_until_released(backend: Backend) {
    let app = GuardApp::spawn(backend).await;
    let mor = app
        .create(INNBYGGERE, REGISTER, resident("01019010046", "Kari"))
        .await;
    let far = app
        .create(INNBYGGERE, REGISTER, resident("02028510031", "Ola"))
        .await;
    let barn = app
        .create(INNBYGGERE, REGISTER, resident("03031850087", "Emma"))
        .await;
    let soknad = app
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            json!({"barn_id": barn, "foresatt1_id": mor, "foresatt2_id": far,
                   "soknadsdato": "2026-03-01", "onsket_barnehage": "Solstrålen",
                   "foresatt2_telefon": "+4798765432"}),
        )
        .await;
    let sak = app
        .create(
            "saker",
            HELSE,
            json!({"bruker_id": mor, "saksnummer": "2026/17", "tjeneste": "hjemmesykepleie",
                   "diagnose": "sykepleie-diagnose", "vurdering": "behov for hjelp",
                   "vedtak": "innvilget"}),
        )
        .await;
    let secrets = [
        "Kari",
        "Ola",
        "sykepleie-diagnose",
        "+4798765432",
        "Solstrålen",
    ];

    // A hold on the record itself.
    let reason = "Erstatningssak mot kommunen, sak 26-1";
    let on_record = app
        .hold(
            json!({"scope": "record", "collection": INNBYGGERE, "record": far}),
            reason,
        )
        .await;
    let response = app
        .patch(INNBYGGERE, &far, REGISTER, json!({"fornavn": "Olav"}))
        .await;
    app.refused(response, "legal_hold", reason, "update", &far, &secrets)
        .await;
    let response = app.delete(INNBYGGERE, &far, REGISTER).await;
    app.refused(response, "legal_hold", reason, "delete", &far, &secrets)
        .await;
    assert_eq!(
        app.read(INNBYGGERE, &far, REGISTER).await["fields"]["fornavn"],
        "Ola"
    );

    // A hold on a subject covers the records where the subject is a secondary party (the
    // father on the søknad) ...
    let reason = "Tvist om foreldrebetaling";
    let on_far = app
        .hold(json!({"scope": "subject", "subject": far}), reason)
        .await;
    let response = app
        .patch(
            "barnehagesoknader",
            &soknad,
            "barnehageopptak",
            json!({"foresatt2_telefon": null}),
        )
        .await;
    app.refused(response, "legal_hold", reason, "update", &soknad, &secrets)
        .await;
    let response = app
        .delete("barnehagesoknader", &soknad, "barnehageopptak")
        .await;
    app.refused(response, "legal_hold", reason, "delete", &soknad, &secrets)
        .await;
    let kept = app
        .read("barnehagesoknader", &soknad, "barnehageopptak")
        .await;
    assert_eq!(kept["fields"]["foresatt2_telefon"], "+4798765432");
    // ... and the primary one (the mother on her sak).
    let reason = "Tilsynssak hos Statsforvalteren";
    let on_mor = app
        .hold(json!({"scope": "subject", "subject": mor}), reason)
        .await;
    let response = app
        .patch("saker", &sak, HELSE, json!({"vedtak": "avslått"}))
        .await;
    app.refused(response, "legal_hold", reason, "update", &sak, &secrets)
        .await;
    app.release(&on_mor).await;

    // A hold on the whole collection: the PATCH nulling the health data is refused, and
    // DELETE names the hold (it comes before the archive duty).
    let reason = "Klagesak til Helsetilsynet";
    let on_saker = app
        .hold(
            json!({"scope": "collection", "collection": "saker"}),
            reason,
        )
        .await;
    let response = app
        .patch(
            "saker",
            &sak,
            HELSE,
            json!({"diagnose": null, "vurdering": null, "vedtak": null}),
        )
        .await;
    app.refused(response, "legal_hold", reason, "update", &sak, &secrets)
        .await;
    let response = app.delete("saker", &sak, HELSE).await;
    app.refused(response, "legal_hold", reason, "delete", &sak, &secrets)
        .await;
    let read = app.read("saker", &sak, HELSE).await;
    assert_eq!(read["fields"]["diagnose"], "sykepleie-diagnose");
    assert_eq!(read["version"], 1);

    // Released, the writes go through.
    for hold in [&on_record, &on_far, &on_saker] {
        app.release(hold).await;
    }
    let patched = GuardApp::ok(
        app.patch("saker", &sak, HELSE, json!({"vedtak": "avslått"}))
            .await,
        200,
    )
    .await;
    assert_eq!(patched["version"], 2);
    GuardApp::ok(
        app.patch(
            "barnehagesoknader",
            &soknad,
            "barnehageopptak",
            json!({"foresatt2_telefon": null}),
        )
        .await,
        200,
    )
    .await;
    GuardApp::ok(
        app.delete("barnehagesoknader", &soknad, "barnehageopptak")
            .await,
        204,
    )
    .await;
    GuardApp::ok(app.delete(INNBYGGERE, &far, REGISTER).await, 204).await;
    app.stop().await;
}

#[on_every_backend]
async fn archive_duty_refuses_delete_and_keeps_every_version(backend: Backend) {
    let app = GuardApp::spawn(backend).await;
    let mor = app
        .create(INNBYGGERE, REGISTER, resident("01019010046", "Kari"))
        .await;
    let sak = app
        .create(
            "saker",
            HELSE,
            json!({"bruker_id": mor, "saksnummer": "2026/17", "tjeneste": "hjemmesykepleie",
                   "diagnose": "sykepleie-diagnose", "vurdering": "behov for hjelp",
                   "vedtak": "innvilget"}),
        )
        .await;
    let sak_id: Uuid = sak.parse().unwrap();
    let sealed = app
        .raw_bytes("c_saker", "diagnose", sak_id)
        .await
        .expect("diagnose is stored sealed");

    // DELETE under archive duty: refused with the catalog's legal reason, audited.
    let response = app.delete("saker", &sak, HELSE).await;
    app.refused(
        response,
        "archive_duty",
        "arkivlova § 6",
        "delete",
        &sak,
        &["sykepleie-diagnose"],
    )
    .await;

    // A correction nulling the health data is applied, and the version it replaces is kept.
    let patched = GuardApp::ok(
        app.patch(
            "saker",
            &sak,
            HELSE,
            json!({"diagnose": null, "vurdering": null, "vedtak": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["fields"]["diagnose"], Value::Null);
    GuardApp::ok(
        app.patch("saker", &sak, HELSE, json!({"vedtak": "avslått"}))
            .await,
        200,
    )
    .await;
    assert_eq!(app.raw_bytes("c_saker", "diagnose", sak_id).await, None);

    let kept = app.kept_versions(sak_id).await;
    let versions: Vec<i64> = kept.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, [1, 2], "{kept:#?}");
    let first = &kept[0].1;
    assert_eq!(
        first["fields"]["diagnose"]["sealed"],
        base64::engine::general_purpose::STANDARD.encode(&sealed),
        "version 1 keeps the ciphertext as stored"
    );
    assert_eq!(first["subjects"]["bruker"], mor.as_str());
    let text = serde_json::to_string(&kept).unwrap();
    assert!(!text.contains("sykepleie-diagnose"), "{text}");

    // The kept versions read back through the store, decrypted and audited like a read.
    let grant =
        app.grant(AccessRequest::read("saker", "4601".parse().unwrap()).with_purpose(Some(HELSE)));
    let old = app
        .records
        .versions(&grant, sak_id, &RequestMeta::new())
        .await
        .unwrap();
    assert_eq!(old.len(), 2);
    let text = |view: &datavern_store::RecordView, field: &str| match view.get(field) {
        Some(FieldValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    assert_eq!(old[0].version, 1);
    assert_eq!(
        text(&old[0], "diagnose").as_deref(),
        Some("sykepleie-diagnose")
    );
    assert_eq!(text(&old[0], "vedtak").as_deref(), Some("innvilget"));
    assert_eq!(old[1].version, 2);
    assert_eq!(text(&old[1], "diagnose"), None);
    let current = app.read("saker", &sak, HELSE).await;
    assert_eq!(current["version"], 3);
    assert_eq!(current["fields"]["vedtak"], "avslått");

    // Without archive duty an update keeps no version.
    GuardApp::ok(
        app.patch(INNBYGGERE, &mor, REGISTER, json!({"fornavn": "Karin"}))
            .await,
        200,
    )
    .await;
    assert!(app.kept_versions(mor.parse().unwrap()).await.is_empty());
    app.stop().await;
}

#[on_every_backend]
async fn a_flood_of_one_value_pages_instead_of_hiding_the_victim(backend: Backend) {
    let app = GuardApp::spawn(backend).await;
    let victim_mail = "kari@example.no";
    let mut victim = resident("01019010046", "Kari");
    victim["epost"] = json!(victim_mail);
    let victim = app.create(INNBYGGERE, REGISTER, victim).await;
    let mut other = resident("02028510031", "Ola");
    other["epost"] = json!("ola@example.no");
    let other = app.create(INNBYGGERE, REGISTER, other).await;

    // One writer creates 1,001 residents with the victim's address (in two batches).
    let tenant: Kommunenummer = "4601".parse().unwrap();
    let grant = app.grant(AccessRequest::create(INNBYGGERE, tenant).with_purpose(Some(REGISTER)));
    let collection = app.catalog.collection(INNBYGGERE).unwrap();
    let flood: Vec<_> = (0..1001)
        .map(|i| {
            let mut body = datavern_core::demo::person(7, i).body();
            body.insert("epost".into(), json!("KARI@example.no"));
            record::validate(collection, &body, Mode::Create).unwrap()
        })
        .collect();
    let mut flood = flood.into_iter();
    loop {
        let batch: Vec<_> = flood.by_ref().take(600).collect();
        if batch.is_empty() {
            break;
        }
        app.records
            .create_many(&grant, batch, &RequestMeta::new())
            .await
            .unwrap();
    }

    // The victim's address: every match, a page at a time, the victim on the first.
    let lookup = |cursor: Option<String>| {
        let mut path = format!("/v1/collections/{INNBYGGERE}/records?epost={victim_mail}");
        if let Some(cursor) = cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        app.records(Method::GET, &path, REGISTER).send()
    };
    let first = GuardApp::ok(lookup(None).await.unwrap(), 200).await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    assert_eq!(
        items[0]["id"],
        victim.as_str(),
        "the oldest match comes first"
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = GuardApp::ok(lookup(Some(cursor)).await.unwrap(), 200).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second.get("next_cursor").is_none(), "{second:#}");
    let mut ids: Vec<&str> = items
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1002, "every match once");

    // Another address is untouched by the flood.
    let path = format!("/v1/collections/{INNBYGGERE}/records?epost=ola@example.no");
    let page = GuardApp::ok(
        app.records(Method::GET, &path, REGISTER)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], other.as_str());
    // `limit` stays refused on a lookup.
    let (status, body) = problem(
        app.records(Method::GET, &format!("{path}&limit=5"), REGISTER)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    app.stop().await;
}

#[on_every_backend]
async fn unique_fields_refuse_a_second_record_with_the_value(backend: Backend) {
    let app = GuardApp::spawn(backend).await;
    let kari = app
        .create(INNBYGGERE, REGISTER, resident("15108695088", "Kari"))
        .await;
    // The same fødselsnummer, written differently: refused, audited, the value not echoed.
    let response = app
        .records(
            Method::POST,
            &format!("/v1/collections/{INNBYGGERE}/records"),
            REGISTER,
        )
        .json(&resident("151086 95088", "Kopi"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("duplicate_value")),
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["pointer"], "/fodselsnummer");
    let text = body.to_string();
    assert!(
        !text.contains("15108695088") && !text.contains("151086"),
        "{text}"
    );
    let response = app
        .call(app.key_of(CLERK), Method::GET, "/v1/audit?limit=500")
        .send()
        .await
        .unwrap();
    let entries = GuardApp::ok(response, 200).await;
    let refusals: Vec<&Value> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "create" && e["reason"] == "duplicate_value")
        .collect();
    assert_eq!(refusals.len(), 1, "{entries:#}");
    assert_eq!(refusals[0]["outcome"], "denied");

    // An update to another record's value is refused; keeping one's own value is not.
    let ola = app
        .create(INNBYGGERE, REGISTER, resident("02028510031", "Ola"))
        .await;
    let response = app
        .patch(
            INNBYGGERE,
            &ola,
            REGISTER,
            json!({"fodselsnummer": "15108695088"}),
        )
        .await;
    app.refused(
        response,
        "duplicate_value",
        "fodselsnummer",
        "update",
        &ola,
        &["15108695088"],
    )
    .await;
    GuardApp::ok(
        app.patch(
            INNBYGGERE,
            &ola,
            REGISTER,
            json!({"fodselsnummer": "02028510031"}),
        )
        .await,
        200,
    )
    .await;
    // Once Kari's record is gone, her number is free again.
    GuardApp::ok(app.delete(INNBYGGERE, &kari, REGISTER).await, 204).await;
    GuardApp::ok(
        app.patch(
            INNBYGGERE,
            &ola,
            REGISTER,
            json!({"fodselsnummer": "15108695088"}),
        )
        .await,
        200,
    )
    .await;

    // A batch giving two records one value is refused as a whole.
    let tenant: Kommunenummer = "4601".parse().unwrap();
    let grant = app.grant(AccessRequest::create(INNBYGGERE, tenant).with_purpose(Some(REGISTER)));
    let collection = app.catalog.collection(INNBYGGERE).unwrap();
    let body = resident("03031850087", "Emma");
    let one = record::validate(collection, body.as_object().unwrap(), Mode::Create).unwrap();
    let err = app
        .records
        .create_many(&grant, vec![one.clone(), one], &RequestMeta::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            datavern_store::StoreError::Record(datavern_store::RecordError::DuplicateValue { .. })
        ),
        "{err}"
    );

    // Eight concurrent creates of one new value: exactly one is written.
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(
                app.records(
                    Method::POST,
                    &format!("/v1/collections/{INNBYGGERE}/records"),
                    REGISTER,
                )
                .json(&resident("03031850087", &format!("Emma{i}")))
                .send(),
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap().unwrap().status().as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let path = format!("/v1/collections/{INNBYGGERE}/records?fodselsnummer=03031850087");
    let page = GuardApp::ok(
        app.records(Method::GET, &path, REGISTER)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}
