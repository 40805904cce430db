//! PostgreSQL row-level security: a role that is neither superuser nor BYPASSRLS sees and
//! writes only the rows of the tenant its transaction declares.

use datavern_sql::testing::{self, TestDb};
use datavern_sql::{Backend, Begin, Database, DatabaseRole, Transaction};
use datavern_store::testing::OpenStore as _;
use uuid::Uuid;

use crate::support::{SMALL_V1, catalog, report};

async fn insert_person(db: &Database, tenant: &str, name: &str) {
    testing::execute_with(
        db,
        "INSERT INTO c_personer (id, tenant, navn, created_at, updated_at) \
         VALUES (?, ?, ?, now(), now())",
        &[Uuid::now_v7().into(), tenant.into(), name.into()],
    )
    .await;
}

const COUNT: &str = "SELECT COUNT(*) FROM c_personer";

async fn count(db: &Database) -> i64 {
    testing::fetch_one(db, COUNT, &[]).await
}

/// Declares the transaction's tenant as the store does.
async fn declare_tenant(tx: &mut Transaction, tenant: &str) {
    tx.conn()
        .test_execute(
            "SELECT set_config('datavern.tenant', ?, true)",
            &[tenant.into()],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn row_level_security_limits_an_application_role_to_its_tenant() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.open().await;
    store.apply_catalog(&catalog(SMALL_V1)).await.unwrap();
    let owner = store.data();
    insert_person(owner, "4601", "Bergen-person").await;
    insert_person(owner, "0301", "Oslo-person").await;

    // The default test connection is a superuser: row-level security never applies to it.
    let superuser: bool = testing::fetch_one(
        owner,
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        &[],
    )
    .await;
    assert!(superuser);
    assert_eq!(
        count(owner).await,
        2,
        "a superuser bypasses row-level security"
    );

    let role = db.create_app_role().await;
    let app_database = Database::connect(&role.config, DatabaseRole::Data)
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    // The role's URL has a password; neither the configuration nor the pool shows it.
    for debug in [format!("{:?}", role.config), format!("{app_database:?}")] {
        assert!(!debug.contains(&role.password), "{debug}");
    }
    assert!(
        role.config
            .redacted_url()
            .contains(&format!("{}:***@", role.name))
    );
    let app = &app_database;

    // No tenant declared: nothing is visible.
    assert_eq!(count(app).await, 0);

    // The tenant is declared per transaction with set_config(..., true).
    let mut tx = app.begin(Begin::Plain).await.unwrap();
    declare_tenant(&mut tx, "4601").await;
    assert_eq!(tx.conn().test_fetch::<i64>(COUNT, &[]).await.unwrap(), [1]);
    let names: Vec<String> = tx
        .conn()
        .test_fetch("SELECT navn FROM c_personer", &[])
        .await
        .unwrap();
    assert_eq!(names, ["Bergen-person"]);
    let updated = tx
        .conn()
        .test_execute("UPDATE c_personer SET navn = 'changed'", &[])
        .await
        .unwrap();
    assert_eq!(updated, 1, "only the tenant's own row is updated");
    tx.commit().await.unwrap();

    // The setting ended with the transaction.
    assert_eq!(count(app).await, 0);
    let oslo: String = testing::fetch_one(
        owner,
        "SELECT navn FROM c_personer WHERE tenant = '0301'",
        &[],
    )
    .await;
    assert_eq!(oslo, "Oslo-person");

    // Writing another tenant's row is refused.
    let mut tx = app.begin(Begin::Plain).await.unwrap();
    declare_tenant(&mut tx, "4601").await;
    let err = tx
        .conn()
        .test_execute(
            "INSERT INTO c_personer (id, tenant, created_at, updated_at) \
             VALUES (?, '0301', now(), now())",
            &[Uuid::now_v7().into()],
        )
        .await
        .expect_err("row of another tenant");
    assert!(
        err.to_string().contains("row-level security policy"),
        "{err}"
    );
    tx.rollback().await.unwrap();

    // Even the table's owner is subject to the policy (FORCE), unlike a superuser.
    let forced: bool = testing::fetch_one(
        owner,
        "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'c_personer'::regclass",
        &[],
    )
    .await;
    assert!(forced);

    app.close().await;
    store.close().await;
    db.cleanup().await;
}
