//! Legal holds: placing, releasing, expiry, and what a hold set covers.

use datavern_core::access::PrincipalId;
use datavern_core::catalog::CollectionName;
use datavern_governance::{Error, HoldError, HoldScope, NewHold};
use datavern_sql::Backend;
use datavern_sql::testing::TestDb;
use datavern_store::testing::OpenStore as _;
use time::{Duration, OffsetDateTime};

use crate::support::{self, KOMMUNE, on_every_backend};

fn dpo() -> PrincipalId {
    PrincipalId::parse("dpo@bergen").unwrap()
}

fn collection(name: &str) -> CollectionName {
    CollectionName::parse(name).unwrap()
}

#[on_every_backend]
async fn holds_cover_collections_records_and_subjects_until_released(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let catalog = support::catalog(KOMMUNE);
    store.apply_catalog(&catalog).await.unwrap();
    let holds = datavern_governance::LegalHolds::new(store.clone());
    let tenant = support::tenant("4601");
    let other = support::tenant("0301");
    let now = OffsetDateTime::from(store.now());
    let subject = support::subject();
    let record = uuid::Uuid::now_v7();

    let on_saker = holds
        .place(
            &catalog,
            tenant,
            &dpo(),
            NewHold {
                scope: HoldScope::Collection {
                    collection: collection("saker"),
                },
                reason: "Tilsynssak 2026/17".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    holds
        .place(
            &catalog,
            tenant,
            &dpo(),
            NewHold {
                scope: HoldScope::Record {
                    collection: collection("barnehagesoknader"),
                    record,
                },
                reason: "Klagesak".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    holds
        .place(
            &catalog,
            tenant,
            &dpo(),
            NewHold {
                scope: HoldScope::Subject { subject },
                reason: "Rettssak 26-012345TVI".to_owned(),
                expires_at: Some(now + Duration::days(30)),
            },
        )
        .await
        .unwrap();

    let active = holds.active(tenant, now).await.unwrap();
    assert_eq!(active.holds().len(), 3);
    assert_eq!(
        active.on_collection("saker").map(|h| h.reason.as_str()),
        Some("Tilsynssak 2026/17")
    );
    assert!(active.on_collection("innbyggere").is_none());
    assert!(active.on_record("barnehagesoknader", record).is_some());
    assert!(active.on_record("saker", record).is_none());
    assert_eq!(active.records_of("barnehagesoknader"), vec![record]);
    assert_eq!(active.subjects(), vec![subject]);
    assert!(active.on_subject(support::subject()).is_none());
    // Another tenant sees none of them.
    assert!(holds.active(other, now).await.unwrap().is_empty());

    let released = holds
        .release(tenant, on_saker.id, &dpo(), "Tilsynssaken er avsluttet")
        .await
        .unwrap();
    assert_eq!(released.released_by.as_deref(), Some("dpo@bergen"));
    let active = holds.active(tenant, now).await.unwrap();
    assert!(active.on_collection("saker").is_none());
    assert_eq!(active.holds().len(), 2);
    // The register keeps released holds.
    assert_eq!(holds.list(tenant).await.unwrap().len(), 3);
    match holds.release(tenant, on_saker.id, &dpo(), "igjen").await {
        Err(Error::Hold(HoldError::AlreadyReleased)) => {}
        other => panic!("expected already released, got {other:?}"),
    }
    // Another tenant cannot release it.
    let second = holds.list(tenant).await.unwrap()[0].id;
    match holds.release(other, second, &dpo(), "nei").await {
        Err(Error::Hold(HoldError::NotFound)) => {}
        other => panic!("expected not found, got {other:?}"),
    }

    // Placing and releasing are audited, without the reason.
    store.audit().seal().await.unwrap();
    let page = store
        .audit()
        .query(datavern_store::audit::AuditFilter::new(tenant))
        .await
        .unwrap();
    let actions: Vec<&str> = page.items.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "hold.placed").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(actions.iter().filter(|a| **a == "hold.released").count(), 1);
    db.cleanup().await;
}

#[on_every_backend]
async fn holds_refuse_bad_input_and_lapse_at_expiry(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let catalog = support::catalog(KOMMUNE);
    store.apply_catalog(&catalog).await.unwrap();
    let holds = datavern_governance::LegalHolds::new(store.clone());
    let tenant = support::tenant("4601");
    let now = OffsetDateTime::from(store.now());
    let hold = |scope, reason: &str, expires_at| NewHold {
        scope,
        reason: reason.to_owned(),
        expires_at,
    };
    let subject = HoldScope::Subject {
        subject: support::subject(),
    };

    let refused = [
        (hold(subject.clone(), "  ", None), "hold_reason_invalid"),
        (
            hold(subject.clone(), "sak", Some(now - Duration::hours(1))),
            "hold_expiry_invalid",
        ),
        (
            hold(
                HoldScope::Collection {
                    collection: collection("finnes_ikke"),
                },
                "sak",
                None,
            ),
            "collection_unknown",
        ),
    ];
    for (new, code) in refused {
        match holds.place(&catalog, tenant, &dpo(), new).await {
            Err(Error::Hold(err)) => assert_eq!(err.code(), code),
            other => panic!("expected {code}, got {other:?}"),
        }
    }
    assert!(holds.list(tenant).await.unwrap().is_empty());

    holds
        .place(
            &catalog,
            tenant,
            &dpo(),
            hold(subject, "sak", Some(now + Duration::days(1))),
        )
        .await
        .unwrap();
    assert_eq!(holds.active(tenant, now).await.unwrap().holds().len(), 1);
    let later = now + Duration::days(2);
    assert!(holds.active(tenant, later).await.unwrap().is_empty());
    db.cleanup().await;
}
