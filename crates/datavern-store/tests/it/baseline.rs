//! The raw benchmark baseline: its table, bulk and single inserts, reads by id and lookups by
//! fødselsnummer, the server version, and scratch databases.

use std::sync::Arc;

use datavern_core::clock::{Clock as _, SystemClock};
use datavern_sql::baseline::{
    MAX_ROWS_PER_INSERT, RawBaseline, RawPerson, drop_database, recreate_database,
};
use datavern_sql::testing::{TestDb, admin_url};
use datavern_sql::{Backend, Database, DatabaseConfig, DatabaseRole};
use datavern_store::testing::OpenStore as _;
use time::macros::date;
use uuid::Uuid;

use crate::support::{on_every_backend, scalar};

fn person(index: usize, fodselsnummer: &str) -> RawPerson {
    RawPerson {
        id: Uuid::now_v7(),
        tenant: "4601".into(),
        fodselsnummer: fodselsnummer.into(),
        fornavn: format!("Kari{index}"),
        etternavn: "Nordmann".into(),
        fodselsdato: index.is_multiple_of(2).then_some(date!(1986 - 10 - 15)),
        postnummer: (!index.is_multiple_of(3)).then(|| "5003".to_owned()),
    }
}

#[on_every_backend]
async fn baseline_rows_round_trip_by_id_and_fodselsnummer(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let baseline = RawBaseline::new(store.data().clone(), store.clock().clone());
    baseline.create_table().await.unwrap();

    // More than one statement's worth, so the chunking and its transaction are exercised.
    let count = MAX_ROWS_PER_INSERT * 2 + 7;
    let people: Vec<RawPerson> = (0..count)
        .map(|i| person(i, &format!("{:011}", 10_000_000_000u64 + i as u64)))
        .collect();
    assert_eq!(baseline.insert_many(&people).await.unwrap(), count as u64);
    let twin = person(count, &people[5].fodselsnummer);
    baseline.insert(&twin).await.unwrap();
    assert_eq!(baseline.count().await.unwrap(), count as u64 + 1);
    assert_eq!(
        scalar(store.data(), "SELECT COUNT(*) FROM bench_raw_persons").await,
        count as i64 + 1
    );

    for original in [
        &people[0],
        &people[1],
        &people[3],
        &people[count - 1],
        &twin,
    ] {
        let read = baseline.get("4601", original.id).await.unwrap();
        assert_eq!(read.as_ref(), Some(original));
    }
    assert_eq!(baseline.get("0301", people[0].id).await.unwrap(), None);
    assert_eq!(baseline.get("4601", Uuid::now_v7()).await.unwrap(), None);

    let found = baseline
        .lookup("4601", &people[5].fodselsnummer)
        .await
        .unwrap();
    let mut expected = vec![people[5].clone(), twin.clone()];
    expected.sort_by_key(|p| p.id);
    assert_eq!(found, expected);
    assert!(
        baseline
            .lookup("4601", "99999999999")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        baseline
            .lookup("0301", &people[5].fodselsnummer)
            .await
            .unwrap()
            .is_empty()
    );

    // Creating again starts from an empty table.
    baseline.create_table().await.unwrap();
    assert_eq!(baseline.count().await.unwrap(), 0);
    baseline.drop_table().await.unwrap();
    assert!(baseline.count().await.is_err());

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn server_version_names_the_product(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let version = store.data().server_version().await.unwrap();
    let expected = match backend {
        Backend::Sqlite => vec!["SQLite 3."],
        Backend::Postgres => vec!["PostgreSQL "],
        Backend::MySql => vec!["MariaDB ", "MySQL "],
    };
    assert!(
        expected.iter().any(|prefix| version.starts_with(prefix)),
        "{version}"
    );
    assert!(version.len() > expected[0].len() + 1, "{version}");
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn scratch_databases_are_recreated_empty_and_dropped_on_postgres() {
    scratch_databases_are_recreated_empty_and_dropped(Backend::Postgres).await;
}

#[tokio::test]
async fn scratch_databases_are_recreated_empty_and_dropped_on_mysql() {
    scratch_databases_are_recreated_empty_and_dropped(Backend::MySql).await;
}

async fn scratch_databases_are_recreated_empty_and_dropped(backend: Backend) {
    let admin = admin_url(backend);
    // The test suite's prefix and a creation time, so a crashed run's leftover is swept.
    let secs = SystemClock.now().as_second();
    let simple = Uuid::now_v7().simple().to_string();
    let name = format!("dvt_{secs}_{}_scratch", &simple[simple.len() - 8..]);

    let url = recreate_database(&admin, &name).await.unwrap();
    assert!(url.contains(&name), "{url}");
    let connect = || async {
        Database::connect(
            &DatabaseConfig::new(url.clone()).unwrap(),
            DatabaseRole::Data,
        )
        .await
        .unwrap()
    };
    let db = connect().await;
    let baseline = RawBaseline::new(db.clone(), Arc::new(SystemClock));
    baseline.create_table().await.unwrap();
    baseline.insert(&person(0, "15108695088")).await.unwrap();
    db.close().await;

    // Recreating drops what was there.
    recreate_database(&admin, &name).await.unwrap();
    let db = connect().await;
    assert!(
        RawBaseline::new(db.clone(), Arc::new(SystemClock))
            .count()
            .await
            .is_err()
    );
    db.close().await;

    drop_database(&admin, &name).await.unwrap();
    let gone = Database::connect(
        &DatabaseConfig::new(url.clone()).unwrap(),
        DatabaseRole::Data,
    )
    .await;
    assert!(gone.is_err());
    // Dropping what is not there is fine.
    drop_database(&admin, &name).await.unwrap();
    assert!(recreate_database(&admin, "Not-A-Name").await.is_err());
}
