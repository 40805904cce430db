//! Zero downtime, shown: on PostgreSQL, the API serves reads and writes of residents while
//! `apply` encrypts their `postnummer` over 100,000 records: no request fails, no write is
//! lost, every record reads back afterwards under the new catalog, and the audit chain
//! verifies.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datavern_core::access::{self, AccessRequest, Principal, PrincipalId};
use datavern_core::catalog::Catalog;
use datavern_core::classification::Classification;
use datavern_core::record::{self, Mode};
use datavern_migrate::{MigrateOptions, Migrator};
use datavern_sql::Backend;
use datavern_store::records::MAX_BATCH;
use datavern_store::{Records, RequestMeta};
use datavern_testkit::app::TestApp;
use datavern_testkit::fixtures::tenant;
use sea_query::{Alias, Expr};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::support::ENCRYPT_POSTNUMMER;

const RECORDS: u64 = 100_000;
const PURPOSE: &str = "innbyggerregister";
/// Postnumre in use, which the updates cycle through.
const POSTNUMRE: [&str; 3] = ["5039", "0150", "5020"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_serves_while_a_field_is_encrypted_over_100k_records() {
    let app = TestApp::builder(Backend::Postgres).spawn().await;
    let old = app.governance.catalog().clone();
    let records = app.governance.records();

    // 100,000 residents, through the governed path in batches.
    let mut expected: HashMap<Uuid, String> = HashMap::new();
    let principal = Principal::new(
        PrincipalId::parse("seeder").expect("id"),
        tenant("4601"),
        Classification::Begrenset,
    )
    .with_purposes(old.purposes().iter().map(|p| p.id().clone()));
    let grant = access::decide(
        &old,
        &principal,
        &AccessRequest::create("innbyggere", tenant("4601")).with_purpose(Some(PURPOSE)),
    )
    .expect("grant");
    let collection = old.collection("innbyggere").expect("innbyggere");
    let mut index = 0;
    while index < RECORDS {
        let mut batch = Vec::new();
        let mut postal = Vec::new();
        for _ in 0..MAX_BATCH {
            if index == RECORDS {
                break;
            }
            let body = datavern_core::demo::person(7, index).body();
            postal.push(body["postnummer"].as_str().expect("postnummer").to_owned());
            batch.push(record::validate(collection, &body, Mode::Create).expect("valid"));
            index += 1;
        }
        let created = records
            .create_many(&grant, batch, &RequestMeta::new())
            .await
            .expect("seed");
        for (view, postnummer) in created.into_iter().zip(postal) {
            expected.insert(view.id, postnummer);
        }
    }
    let ids: Vec<Uuid> = expected.keys().copied().collect();
    let expected = Arc::new(Mutex::new(expected));

    // Traffic: two writers (creates and updates of postnummer), two readers.
    let stop = Arc::new(AtomicBool::new(false));
    let app = Arc::new(app);
    let mut traffic = Vec::new();
    for worker in 0..4u64 {
        let (app, stop, expected, ids) = (app.clone(), stop.clone(), expected.clone(), ids.clone());
        traffic.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut calls = 0u64;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = ids[usize::try_from((n * 7919 + worker * 104_729) % ids.len() as u64)
                    .unwrap_or(0)];
                let path = format!("/v1/collections/innbyggere/records/{id}");
                let response = match worker {
                    0 => {
                        // Update postnummer of an existing resident.
                        let value =
                            POSTNUMRE[usize::try_from(n).unwrap_or(0) % POSTNUMRE.len()].to_owned();
                        let response = app
                            .request(reqwest::Method::PATCH, &path, PURPOSE)
                            .json(&serde_json::json!({ "postnummer": value }))
                            .send()
                            .await;
                        if let Ok(r) = &response
                            && r.status().is_success()
                        {
                            expected.lock().await.insert(id, value);
                        }
                        response
                    }
                    1 => {
                        // Create a new resident.
                        let mut body = datavern_core::demo::person(8, n).body();
                        body.insert("postnummer".into(), serde_json::json!("5020"));
                        let response = app
                            .request(
                                reqwest::Method::POST,
                                "/v1/collections/innbyggere/records",
                                PURPOSE,
                            )
                            .json(&body)
                            .send()
                            .await;
                        match response {
                            Ok(r) if r.status().is_success() => {
                                let created: serde_json::Value = r.json().await.unwrap_or_default();
                                if let Some(id) =
                                    created["id"].as_str().and_then(|s| Uuid::parse_str(s).ok())
                                {
                                    expected.lock().await.insert(id, "5020".to_owned());
                                } else {
                                    errors.push("create answered without an id".to_owned());
                                }
                                calls += 1;
                                continue;
                            }
                            other => other,
                        }
                    }
                    _ => {
                        app.request(reqwest::Method::GET, &path, PURPOSE)
                            .send()
                            .await
                    }
                };
                calls += 1;
                match response {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => errors.push(format!(
                        "{} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(err) => errors.push(err.to_string()),
                }
            }
            (calls, errors)
        }));
    }

    let yaml = datavern_testkit::app::test_catalog().source().to_owned();
    let new = Catalog::from_yaml(&yaml.replacen(ENCRYPT_POSTNUMMER.0, ENCRYPT_POSTNUMMER.1, 1))
        .expect("new catalog");
    let migrator = Migrator::new(app.store.clone(), app.governance.kek().clone(), "drift-1")
        .with_options(MigrateOptions::default());
    let applied = migrator
        .apply(&new, None)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(
        applied.backfilled[0].1 >= RECORDS,
        "{:?}",
        applied.backfilled
    );

    stop.store(true, Ordering::Relaxed);
    let mut calls = 0;
    for task in traffic {
        let (n, errors) = task.await.expect("traffic task");
        assert!(
            errors.is_empty(),
            "requests failed during apply: {errors:?}"
        );
        calls += n;
    }
    assert!(calls > 100, "the API was busy during apply ({calls} calls)");

    let version = migrator
        .complete()
        .await
        .unwrap_or_else(|e| panic!("complete: {e}"));
    assert_eq!(version, 2);

    // Every record, under the new catalog (a restarted process), holds what was written last.
    let store = app.store.clone();
    let records = Records::new(store.clone(), Arc::new(new), app.governance.kek().clone());
    let expected = expected.lock().await;
    let table = records.table("innbyggere").expect("table");
    let position = table
        .fields
        .iter()
        .position(|f| f.name == "postnummer")
        .expect("field");
    let mut seen = 0usize;
    let mut after = None;
    loop {
        let mut tx =
            datavern_sql::Tx::begin(store.data(), tenant("4601"), datavern_sql::TxMode::Write)
                .await
                .expect("tx");
        let rows = records
            .raw_page(
                &mut tx.conn(),
                tenant("4601"),
                "innbyggere",
                Expr::col(Alias::new("id")).is_not_null(),
                after,
                5000,
            )
            .await
            .expect("page");
        tx.commit().await.expect("commit");
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let owners: Vec<Uuid> = rows.iter().filter_map(|r| r.key_owner(table)).collect();
        records
            .preload_keys(tenant("4601"), &owners)
            .await
            .expect("keys");
        for row in &rows {
            let values = records
                .decrypt(tenant("4601"), "innbyggere", row, |p| p == position)
                .await
                .unwrap_or_else(|e| panic!("record {} does not read: {e}", row.id));
            let value = values.first().and_then(|(_, v)| v.canonical());
            assert_eq!(value.as_ref(), expected.get(&row.id), "record {}", row.id);
            seen += 1;
        }
    }
    assert_eq!(seen, expected.len(), "every record, none lost");

    store.audit().seal().await.expect("seal");
    let verified = store.audit().verify(None).await.expect("verify");
    assert!(verified.is_intact(), "{verified:?}");
}
