//! Shared helpers: catalogs, a KEK, raw SQL for assertions, and the per-backend test macro.

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_crypto::{
    DataKey, IndexRootKey, KekProvider, KeyVersion, LocalKeyFile, UnwrapRequest, WrapRequest,
    WrappedKey,
};
use datavern_sql::Database;
use datavern_sql::testing;
use datavern_store::SubjectId;
use tempfile::TempDir;

/// The example catalog of the repository.
pub(crate) const KOMMUNE: &str = include_str!("../../../../examples/kommune.yaml");
/// A small catalog.
pub(crate) const SMALL_V1: &str = include_str!("catalogs/small_v1.yaml");
/// The small catalog changed in every way `apply_catalog` refuses.
pub(crate) const SMALL_V2: &str = include_str!("catalogs/small_v2.yaml");

/// Runs each `async fn(Backend)` listed as one test per backend, in modules `sqlite`,
/// `postgres` and `mysql`.
macro_rules! backend_tests {
    ($($test:ident),+ $(,)?) => {
        backend_tests!(@module sqlite, Sqlite, $($test),+);
        backend_tests!(@module postgres, Postgres, $($test),+);
        backend_tests!(@module mysql, MySql, $($test),+);
    };
    (@module $module:ident, $backend:ident, $($test:ident),+) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(datavern_sql::Backend::$backend).await;
                }
            )+
        }
    };
}
pub(crate) use backend_tests;

pub(crate) fn catalog(yaml: &str) -> Catalog {
    Catalog::from_yaml(yaml).unwrap_or_else(|errors| panic!("test catalog is invalid:\n{errors}"))
}

pub(crate) fn tenant(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).unwrap()
}

pub(crate) fn subject() -> SubjectId {
    SubjectId::from_uuid(uuid::Uuid::now_v7())
}

/// A local KEK in a temporary directory.
pub(crate) struct Kek {
    _dir: TempDir,
    pub(crate) file: LocalKeyFile,
}

impl Kek {
    pub(crate) async fn new() -> Kek {
        let dir = tempfile::tempdir().unwrap();
        let file = LocalKeyFile::create(dir.path().join("kek")).await.unwrap();
        Kek { _dir: dir, file }
    }

    /// A new data key of `version` for the subject, wrapped.
    pub(crate) async fn data_key(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
        version: KeyVersion,
    ) -> datavern_crypto::Result<WrappedKey> {
        let key = DataKey::generate(version)?;
        let subject = subject.to_string();
        self.file
            .wrap_one(WrapRequest::data_key(&key, tenant.as_str(), &subject))
            .await
    }

    /// A new index root key (version 1) for the tenant, wrapped.
    pub(crate) async fn index_root(
        &self,
        tenant: Kommunenummer,
    ) -> datavern_crypto::Result<WrappedKey> {
        let key = IndexRootKey::generate(KeyVersion::FIRST)?;
        self.file
            .wrap_one(WrapRequest::index_root(&key, tenant.as_str()))
            .await
    }

    /// Unwraps a subject's data key.
    pub(crate) async fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> DataKey {
        let subject = subject.to_string();
        self.file
            .unwrap_one(UnwrapRequest::data_key(wrapped, tenant.as_str(), &subject))
            .await
            .unwrap()
            .into_data_key()
            .unwrap()
    }
}

/// Runs `sql` (no parameters) on `db`.
pub(crate) async fn execute(db: &Database, sql: &str) {
    testing::execute(db, sql).await;
}

/// The single integer `sql` returns.
pub(crate) async fn scalar(db: &Database, sql: &str) -> i64 {
    testing::fetch_one(db, sql, &[]).await
}

/// The first column of every row `sql` returns, as integers.
pub(crate) async fn integers(db: &Database, sql: &str) -> Vec<i64> {
    testing::fetch_all(db, sql, &[]).await
}

/// The first column of every row `sql` returns, as text.
pub(crate) async fn strings(db: &Database, sql: &str) -> Vec<String> {
    testing::fetch_all(db, sql, &[]).await
}

/// The names of the tables in `db`, sorted.
pub(crate) async fn tables(db: &Database) -> Vec<String> {
    testing::table_names(db).await
}

/// An error with its causes, on one line.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    datavern_sql::testing::report(err)
}
