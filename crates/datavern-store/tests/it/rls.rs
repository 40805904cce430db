//! PostgreSQL row-level security: a role that is neither superuser nor BYPASSRLS sees and
//! writes only the rows of the tenant its transaction declares.

use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, DatabaseRole, DbPool};
use datavern_store::testing::OpenStore as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{SMALL_V1, catalog, report};

fn pg(db: &Database) -> &PgPool {
    match db.pool() {
        DbPool::Postgres(pool) => pool,
        _ => panic!("not PostgreSQL"),
    }
}

async fn insert_person(pool: &PgPool, tenant: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO c_personer (id, tenant, navn, created_at, updated_at) \
         VALUES ($1, $2, $3, now(), now())",
    )
    .bind(Uuid::now_v7())
    .bind(tenant)
    .bind(name)
    .execute(pool)
    .await
    .map(|_| ())
}

async fn count(executor: impl sqlx::PgExecutor<'_>) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM c_personer")
        .fetch_one(executor)
        .await
        .unwrap()
}

#[tokio::test]
async fn row_level_security_limits_an_application_role_to_its_tenant() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.open().await;
    store.apply_catalog(&catalog(SMALL_V1)).await.unwrap();
    let owner = pg(store.data());
    insert_person(owner, "4601", "Bergen-person").await.unwrap();
    insert_person(owner, "0301", "Oslo-person").await.unwrap();

    // The default test connection is a superuser: row-level security never applies to it.
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(owner)
            .await
            .unwrap();
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
    let app = pg(&app_database);

    // No tenant declared: nothing is visible.
    assert_eq!(count(app).await, 0);

    // The tenant is declared per transaction with set_config(..., true).
    let mut tx = app.begin().await.unwrap();
    sqlx::query("SELECT set_config('datavern.tenant', $1, true)")
        .bind("4601")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(count(&mut *tx).await, 1);
    let names: Vec<String> = sqlx::query_scalar("SELECT navn FROM c_personer")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, ["Bergen-person"]);
    let updated = sqlx::query("UPDATE c_personer SET navn = 'changed'")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 1, "only the tenant's own row is updated");
    tx.commit().await.unwrap();

    // The setting ended with the transaction.
    assert_eq!(count(app).await, 0);
    let oslo: String = sqlx::query_scalar("SELECT navn FROM c_personer WHERE tenant = '0301'")
        .fetch_one(owner)
        .await
        .unwrap();
    assert_eq!(oslo, "Oslo-person");

    // Writing another tenant's row is refused.
    let mut tx = app.begin().await.unwrap();
    sqlx::query("SELECT set_config('datavern.tenant', '4601', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query(
        "INSERT INTO c_personer (id, tenant, created_at, updated_at) VALUES ($1, '0301', now(), now())",
    )
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .expect_err("row of another tenant");
    assert!(
        err.to_string().contains("row-level security policy"),
        "{err}"
    );
    tx.rollback().await.unwrap();

    // Even the table's owner is subject to the policy (FORCE), unlike a superuser.
    let forced: bool = sqlx::query_scalar(
        "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'c_personer'::regclass",
    )
    .fetch_one(owner)
    .await
    .unwrap();
    assert!(forced);

    app.close().await;
    store.close().await;
    db.cleanup().await;
}
