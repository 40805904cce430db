//! The erasure proof: a copy of the data taken before an erasure keeps the erased subject's
//! ciphertext, but the live key store can no longer decrypt it, while the other subjects in
//! the same copy still decrypt; and the live database holds none of the subject's rows,
//! blind-index values or keys.
//!
//! The copy is what an old backup would be: SQLite `VACUUM INTO` (a consistent file copy),
//! PostgreSQL `pg_dump` restored with `psql` into a fresh database, MariaDB/MySQL a table
//! copy. The data database never holds key material (the key store is its own database).

use std::process::Command;

use datavern_crypto::{FieldContext, UnwrapRequest, decrypt_field, envelope_key_id};
use datavern_sql::testing::{self, admin_url, with_database};
use datavern_sql::{Backend, Database, DatabaseConfig, DatabaseRole};
use datavern_store::{KeyState, SubjectId};
use uuid::Uuid;

use super::Env;
use crate::support::{execute, on_every_backend, report, tenant};

/// An old copy of `c_innbyggere`.
enum OldCopy {
    /// A file copy, opened read-only.
    Sqlite(Database, tempfile::TempDir),
    /// A dump restored into a database of its own, and that database's name.
    Postgres(Database, String),
    /// A copy of the table in the same database.
    MySql(String),
}

/// A row of the copy: the `fornavn` envelope and the fødselsnummer's blind index.
struct CopiedRow {
    fornavn: Vec<u8>,
    fnr_index: Vec<u8>,
}

impl OldCopy {
    async fn take(env: &Env) -> OldCopy {
        match env.data().backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("backup.db");
                execute(env.data(), &format!("VACUUM INTO '{}'", path.display())).await;
                OldCopy::Sqlite(testing::open_sqlite_read_only(&path).await, dir)
            }
            Backend::Postgres => {
                let (data_url, _) = env.db.urls();
                let name = format!("{}_copy", database_name(&data_url));
                let admin = admin_url(Backend::Postgres);
                testing::admin_execute(Backend::Postgres, &format!("CREATE DATABASE \"{name}\""))
                    .await;
                let copy_url = with_database(&admin, &name);
                let dir = tempfile::tempdir().unwrap();
                let dump = dir.path().join("dump.sql");
                let status = Command::new("pg_dump")
                    .args(["--no-owner", "--no-privileges", "-f"])
                    .arg(&dump)
                    .arg(&data_url)
                    .status()
                    .unwrap();
                assert!(status.success(), "pg_dump failed");
                let status = Command::new("psql")
                    .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
                    .arg(&dump)
                    .arg(&copy_url)
                    .output()
                    .unwrap();
                assert!(
                    status.status.success(),
                    "psql restore failed: {}",
                    String::from_utf8_lossy(&status.stderr)
                );
                let config = DatabaseConfig::new(copy_url).unwrap();
                let copy = Database::connect(&config, DatabaseRole::Data)
                    .await
                    .unwrap();
                OldCopy::Postgres(copy, name)
            }
            Backend::MySql => {
                execute(
                    env.data(),
                    "CREATE TABLE c_innbyggere_backup AS SELECT * FROM c_innbyggere",
                )
                .await;
                OldCopy::MySql("c_innbyggere_backup".to_owned())
            }
        }
    }

    async fn row(&self, env: &Env, id: Uuid) -> Option<CopiedRow> {
        let sql = "SELECT fornavn, dv_bidx_fodselsnummer FROM c_innbyggere WHERE id = ?";
        let rows: Vec<(Vec<u8>, Vec<u8>)> = match self {
            OldCopy::Sqlite(copy, _) | OldCopy::Postgres(copy, _) => {
                testing::fetch_rows(copy, sql, &[id.into()]).await
            }
            OldCopy::MySql(table) => {
                let sql = sql.replace("c_innbyggere", table);
                testing::fetch_rows(env.data(), &sql, &[id.into()]).await
            }
        };
        rows.into_iter()
            .next()
            .map(|(fornavn, fnr_index)| CopiedRow { fornavn, fnr_index })
    }

    /// Tables of the copy whose name mentions keys (there must be none).
    async fn key_tables(&self) -> i64 {
        match self {
            OldCopy::Sqlite(copy, _) | OldCopy::Postgres(copy, _) => testing::table_names(copy)
                .await
                .iter()
                .filter(|name| name.contains("key"))
                .count()
                as i64,
            OldCopy::MySql(_) => 0,
        }
    }

    async fn drop(self) {
        match self {
            OldCopy::Sqlite(copy, _dir) => copy.close().await,
            OldCopy::Postgres(copy, name) => {
                copy.close().await;
                testing::admin_execute(
                    Backend::Postgres,
                    &format!("DROP DATABASE IF EXISTS \"{name}\""),
                )
                .await;
            }
            OldCopy::MySql(_) => {}
        }
    }
}

fn database_name(url: &str) -> String {
    let path = url.rsplit('/').next().unwrap();
    path.split('?').next().unwrap().to_owned()
}

/// Decrypts the `fornavn` envelope of resident `id` with the live key store, if it can.
async fn decrypt_with_live_keys(env: &Env, id: Uuid, envelope: &[u8]) -> Option<String> {
    let subject = SubjectId::from_uuid(id);
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[subject])
        .await
        .unwrap();
    let key_id = envelope_key_id(envelope).unwrap();
    let stored = keys.iter().find(|k| k.key_id == key_id)?;
    let KeyState::Live(wrapped) = &stored.state else {
        return None;
    };
    let text = id.to_string();
    let key = env
        .kek
        .unwrap_one(UnwrapRequest::data_key(wrapped, "4601", &text))
        .await
        .unwrap()
        .into_data_key()
        .unwrap();
    let context = FieldContext {
        tenant: "4601",
        collection: "innbyggere",
        field: "fornavn",
        record_id: &text,
        subject_id: &text,
    };
    decrypt_field(&key, &context, envelope)
        .ok()
        .map(|plain| String::from_utf8(plain.to_vec()).unwrap())
}

#[on_every_backend]
async fn erased_subject_is_unreadable_in_old_copy_while_others_still_decrypt(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let copy = OldCopy::take(&env).await;
    assert_eq!(copy.key_tables().await, 0, "the data copy holds no keys");
    let before = copy.row(&env, family.b).await.expect("B is in the copy");
    // Before the erasure the live keys decrypt B's copy: the test can fail.
    assert_eq!(
        decrypt_with_live_keys(&env, family.b, &before.fornavn)
            .await
            .as_deref(),
        Some("Ingeborg2")
    );

    let outcome = env
        .rights
        .erase(&env.actor(), &[SubjectId::from_uuid(family.b)], env.now())
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert!(outcome.complete);
    assert_eq!(outcome.keys[0].destroyed_versions, 1);

    // Live: no row, no blind-index value, no key.
    assert_eq!(env.count_where("c_innbyggere", "id", family.b).await, 0);
    assert_eq!(
        env.count_where("c_barnehagesoknader", "dv_subject_foresatt2", family.b)
            .await,
        0
    );
    let live_index: i64 = testing::fetch_one(
        env.data(),
        "SELECT COUNT(*) FROM c_innbyggere WHERE dv_bidx_fodselsnummer = ?",
        &[before.fnr_index.clone().into()],
    )
    .await;
    assert_eq!(live_index, 0);
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(family.b)])
        .await
        .unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.iter()
            .all(|k| matches!(k.state, KeyState::Destroyed { .. }))
    );
    // Not served from the key cache either: the record service cannot read B any more.
    let resolved = env
        .rights
        .resolve(
            tenant("4601"),
            &datavern_governance::rights::SubjectIdentifier::SubjectId(family.b),
        )
        .await;
    assert!(resolved.is_err());

    // The old copy still holds B's ciphertext, which the live keys cannot open; D's can.
    let after = copy
        .row(&env, family.b)
        .await
        .expect("B is still in the copy");
    assert_eq!(after.fornavn, before.fornavn);
    assert_eq!(
        decrypt_with_live_keys(&env, family.b, &after.fornavn).await,
        None
    );
    let other = copy.row(&env, family.d).await.expect("D is in the copy");
    assert_eq!(
        decrypt_with_live_keys(&env, family.d, &other.fornavn)
            .await
            .as_deref(),
        Some("Ingeborg4")
    );
    copy.drop().await;
    env.finish().await;
}
