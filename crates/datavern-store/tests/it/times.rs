//! The one time type at the storage boundary (`datavern_sql::At`) through a real table on
//! every backend: what is bound is what is read back, at microsecond precision, in time
//! order; the store's clock is what the store stamps.

use std::sync::Arc;

use datavern_core::clock::ManualClock;
use datavern_sql::testing::TestDb;
use datavern_sql::{At, Backend};
use datavern_store::testing::OpenStore as _;
use sea_query::{Alias, Expr, Order, Query};
use time::macros::datetime;

use crate::support::{execute, on_every_backend};

/// The column type the store gives a time on `backend` (as its migrations do).
fn time_column(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "TEXT",
        Backend::Postgres => "TIMESTAMPTZ",
        Backend::MySql => "DATETIME(6)",
    }
}

#[on_every_backend]
async fn times_round_trip_through_a_table_in_time_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let data = store.data();
    execute(
        data,
        &format!(
            "CREATE TABLE dvt_times (id BIGINT PRIMARY KEY, at {} NOT NULL)",
            time_column(backend)
        ),
    )
    .await;
    // In time order, over the whole range every backend keeps (MariaDB/MySQL included: a
    // time is bound as a `DATETIME`, not a `TIMESTAMP` with its 1970–2038 range).
    let first = datetime!(1000-01-01 00:00:00 UTC);
    let last = datetime!(9999-12-31 23:59:59.999999 UTC);
    let before_epoch = datetime!(1969-12-31 23:59:59.999999 UTC);
    let epoch = datetime!(1970-01-01 00:00:00 UTC);
    let written = [
        At::from(first),
        At::from(before_epoch),
        At::from(epoch),
        // Sub-microsecond digits are cut when the `At` is made, before any backend sees them.
        At::from(datetime!(2026-03-01 12:00:00.123456789 UTC)),
        At::from(datetime!(2026-03-01 13:00:00.5 +01:00)),
        At::from(last),
    ];
    let mut pooled = data.acquire().await.unwrap();
    // Inserted out of order, so that reading in time order is the database's doing.
    for (id, at) in written.iter().enumerate().rev() {
        let insert = Query::insert()
            .into_table(Alias::new("dvt_times"))
            .columns([Alias::new("id"), Alias::new("at")])
            .values_panic([i64::try_from(id).unwrap().into(), at.value(backend).into()])
            .to_owned();
        pooled
            .conn()
            .execute(&insert)
            .await
            .unwrap_or_else(|err| panic!("{at}: {err}"));
    }
    let read: Vec<(i64, At)> = pooled
        .conn()
        .fetch_all(
            Query::select()
                .columns([Alias::new("id"), Alias::new("at")])
                .from(Alias::new("dvt_times"))
                .order_by(Alias::new("at"), Order::Asc),
        )
        .await
        .unwrap();
    let ids: Vec<i64> = read.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5], "read in time order");
    let times: Vec<At> = read.into_iter().map(|(_, at)| at).collect();
    assert_eq!(times, written);
    assert_eq!(
        times[3].to_string(),
        "2026-03-01T12:00:00.123456Z",
        "truncated, not rounded"
    );

    // A range query compares as times on every backend (text on SQLite).
    let cutoff = At::from(datetime!(2026-03-01 12:00:00.123457 UTC));
    let later: Vec<(i64,)> = pooled
        .conn()
        .fetch_all(
            Query::select()
                .column(Alias::new("id"))
                .from(Alias::new("dvt_times"))
                .and_where(Expr::col(Alias::new("at")).gte(cutoff.value(backend)))
                .order_by(Alias::new("id"), Order::Asc),
        )
        .await
        .unwrap();
    assert_eq!(later, [(4,), (5,)]);
    drop(pooled);
    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn store_stamps_the_time_of_its_clock(backend: Backend) {
    let db = TestDb::new(backend).await;
    let clock = ManualClock::new("2031-05-17T08:30:00.654321Z".parse().unwrap());
    let store = db.open().await.with_clock(Arc::new(clock.clone()));
    assert_eq!(store.now().to_string(), "2031-05-17T08:30:00.654321Z");
    let catalog = crate::support::catalog(crate::support::SMALL_V1);
    store.apply_catalog(&catalog).await.unwrap();
    let applied: Vec<(At,)> = store
        .data()
        .acquire()
        .await
        .unwrap()
        .conn()
        .fetch_all(
            Query::select()
                .column(Alias::new("applied_at"))
                .from(Alias::new("dv_collections")),
        )
        .await
        .unwrap();
    assert!(!applied.is_empty());
    assert!(
        applied.iter().all(|(at,)| *at == store.now()),
        "{applied:?}"
    );

    // The audit log seals at the store's clock, and stamps what its callers pass.
    let entry = datavern_store::audit::AuditEntry::new(
        store.now(),
        Some(crate::support::tenant("0301")),
        "saksbehandler",
        datavern_store::audit::AuditAction::Record(datavern_core::access::Operation::Read),
        datavern_store::audit::AuditOutcome::Granted,
    );
    store.audit().record(entry).await.unwrap();
    // The background sealer may seal before or after the clock moves; either way at a time
    // of the store's clock, never the system's.
    clock.advance(jiff::SignedDuration::from_secs(90));
    store.audit().seal().await.unwrap();
    let page = store
        .audit()
        .query(datavern_store::audit::AuditFilter::new(
            crate::support::tenant("0301"),
        ))
        .await
        .unwrap();
    let record = &page.items[0];
    assert_eq!(
        record.entry.occurred_at.to_string(),
        "2031-05-17T08:30:00.654321Z"
    );
    let sealed = record.sealed_at.map(|at| At::from(at).to_string());
    assert!(
        matches!(
            sealed.as_deref(),
            Some("2031-05-17T08:30:00.654321Z" | "2031-05-17T08:31:30.654321Z")
        ),
        "{sealed:?}"
    );
    store.close().await;
    db.cleanup().await;
}
