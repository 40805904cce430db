//! A principal for a tenant the catalog does not serve is refused at authentication, on
//! every route (`403 tenant_unknown`), and each refusal is audited. Before, only the record
//! routes refused it: it got 200 on audit, requests, holds and compliance and could place
//! holds.

use std::sync::Arc;

use datavern_core::access::{Principal, PrincipalId, Role};
use datavern_core::catalog::Kommunenummer;
use datavern_core::classification::Classification;
use datavern_crypto::ApiKey;
use datavern_server::auth::StaticKeys;
use datavern_server::metrics::Metrics;
use datavern_server::{AppState, ServerConfig};
use datavern_sql::testing::TestDb;
use datavern_store::audit::AuditFilter;
use datavern_store::testing::OpenStore as _;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::app::{problem, serve, test_catalog, with_local_kek};
use datavern_testkit::on_every_backend;

#[on_every_backend]
async fn unserved_tenant_is_refused_on_every_route_and_audited(backend: datavern_sql::Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let catalog = test_catalog();
    store.apply_catalog(&catalog).await.unwrap();
    // Trondheim (5001) is not in the catalog; every role and purpose, the highest clearance.
    let trondheim = Kommunenummer::parse("5001").unwrap();
    assert!(catalog.deployment().tenant(&trondheim).is_none());
    let key = ApiKey::generate().unwrap();
    let principal = Principal::new(
        PrincipalId::parse("trondheim-pvo").unwrap(),
        trondheim,
        Classification::StrengtHemmelig,
    )
    .with_roles(["auditor", "dpo"].map(|r| Role::parse(r).unwrap()))
    .with_purposes(catalog.purposes().iter().map(|p| p.id().clone()));
    let keys = StaticKeys::new(vec![(key.hash(), principal)]);
    let (governance, _keys_dir) = with_local_kek(&store, catalog).await;
    let state = AppState::new(governance.build(), Arc::new(keys), Metrics::global());
    let (addr, stop, task) = serve(state, ServerConfig::default()).await;
    let client = reqwest::Client::new();

    let id = Uuid::now_v7();
    let routes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, "/v1/catalog".into(), None),
        (Method::GET, "/v1/audit".into(), None),
        (Method::GET, "/v1/requests".into(), None),
        (
            Method::POST,
            "/v1/requests".into(),
            Some(json!({"type": "access", "subject_id": id.to_string()})),
        ),
        (Method::GET, format!("/v1/requests/{id}"), None),
        (
            Method::POST,
            format!("/v1/requests/{id}/run"),
            Some(json!({})),
        ),
        (Method::GET, "/v1/legal-holds".into(), None),
        (
            Method::POST,
            "/v1/legal-holds".into(),
            Some(json!({"scope": "collection", "collection": "saker", "reason": "Tvist 2026"})),
        ),
        (
            Method::POST,
            format!("/v1/legal-holds/{id}/release"),
            Some(json!({})),
        ),
        (Method::GET, "/v1/reports/compliance".into(), None),
        (Method::GET, "/v1/reports/ropa".into(), None),
        (Method::GET, format!("/v1/subjects/{id}/consents"), None),
        (Method::GET, format!("/v1/subjects/{id}/controls"), None),
        (
            Method::GET,
            "/v1/collections/innbyggere/records".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/collections/innbyggere/records".into(),
            Some(json!({"fornavn": "Kari"})),
        ),
        (
            Method::GET,
            format!("/v1/collections/innbyggere/records/{id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/collections/innbyggere/records/{id}"),
            None,
        ),
    ];
    for (method, path, body) in &routes {
        let mut request = client
            .request(method.clone(), format!("http://{addr}{path}"))
            .bearer_auth(key.expose_secret())
            .header("datavern-purpose", "innbyggerregister");
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, json) = problem(request.send().await.unwrap()).await;
        assert_eq!(status, 403, "{method} {path}: {json}");
        assert_eq!(json["code"], "tenant_unknown", "{method} {path}: {json}");
        assert!(
            json["detail"].as_str().unwrap().contains("5001"),
            "{method} {path}: {json}"
        );
    }

    // One audit entry per refusal, naming the principal and the reason.
    let page = store
        .audit()
        .query(AuditFilter::new(trondheim).limit(1000))
        .await
        .unwrap();
    let refusals: Vec<_> = page
        .items
        .iter()
        .filter(|r| {
            r.entry.action.as_str() == "authenticate"
                && r.entry.outcome.as_str() == "denied"
                && r.entry.reason.as_deref() == Some("tenant_unknown")
                && r.entry.principal == "trondheim-pvo"
        })
        .collect();
    assert_eq!(refusals.len(), routes.len(), "{:?}", page.items);
    // Nothing else happened for that tenant: no hold placed, no request created.
    assert_eq!(page.items.len(), routes.len());

    let _ = stop.send(());
    task.await.unwrap().unwrap();
    store.audit().shutdown().await.unwrap();
    store.close().await;
    db.cleanup().await;
}
