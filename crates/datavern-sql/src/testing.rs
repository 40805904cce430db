//! Fresh, isolated databases for tests, on every backend (feature `test-support`).
//!
//! ```no_run
//! use datavern_sql::Backend;
//! use datavern_sql::testing::TestDb;
//!
//! # async fn demo() {
//! for backend in Backend::ALL {
//!     let db = TestDb::new(backend).await; // fresh data + key store databases
//!     let config = db.config(); // reaches both
//!     // ... the test (`datavern_store::testing::OpenStore` opens a store on them) ...
//!     db.cleanup().await; // drops the databases
//! }
//! # }
//! ```
//!
//! - SQLite: `data.db` and `keys.db` in a temporary directory.
//! - PostgreSQL: databases `dvt_<unix time>_<random>_data` and `…_keys`, created through the
//!   admin URL in `DATAVERN_TEST_POSTGRES_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`).
//! - MariaDB/MySQL: the same through `DATAVERN_TEST_MYSQL_URL` (default
//!   `mysql://root@127.0.0.1:3306/test`).
//!
//! An unreachable server is a test failure, never a skip: [`TestDb::new`] panics with a
//! message naming the variable and the URL (password redacted). [`TestDb::cleanup`] drops the
//! databases (and any role made by [`TestDb::create_app_role`]); if a test panics before
//! that, `Drop` does it on a thread of its own. The first `TestDb` of a process on a server
//! also drops leftovers with the `dvt_` prefix older than an hour.

use std::sync::Mutex;
use std::time::Duration;

use datavern_core::clock::{Clock, SystemClock};

use sqlx::{Connection, Executor, MySqlConnection, PgConnection};
use tempfile::TempDir;
use tokio::sync::OnceCell;

pub use crate::conn::Scalar;
pub use sea_query::Value;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, StoreConfig, redact_url};
use crate::conn::AnyRow;
use crate::database::Database;
use crate::error::SqlError;

/// The environment variable with the PostgreSQL admin URL for tests.
pub const POSTGRES_URL_VAR: &str = "DATAVERN_TEST_POSTGRES_URL";
/// The environment variable with the MariaDB/MySQL admin URL for tests.
pub const MYSQL_URL_VAR: &str = "DATAVERN_TEST_MYSQL_URL";
/// The PostgreSQL admin URL when the variable is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The MariaDB/MySQL admin URL when the variable is unset.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
/// Prefix of every database and role tests create on a server.
pub const PREFIX: &str = "dvt_";
/// Test databases older than this are dropped as leftovers of crashed runs.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

static POSTGRES_SWEPT: OnceCell<()> = OnceCell::const_new();
static MYSQL_SWEPT: OnceCell<()> = OnceCell::const_new();

/// A fresh data database and key store database for one test.
pub struct TestDb {
    backend: Backend,
    config: StoreConfig,
    base: String,
    server: Option<Server>,
    _dir: Option<TempDir>,
    roles: Mutex<Vec<String>>,
    cleaned: bool,
}

/// A PostgreSQL role made by [`TestDb::create_app_role`]: how an application should connect
/// (not superuser, not owner, not BYPASSRLS), so row-level security applies to it.
pub struct AppRole {
    /// The role's name.
    pub name: String,
    /// Its password (random, for tests only).
    pub password: String,
    /// Connects to the data database as the role.
    pub config: DatabaseConfig,
}

/// A login made by [`TestDb::create_login`], with no privileges until granted some.
pub struct Login {
    /// The role's or user's name.
    pub name: String,
    /// The URLs of the data database and the key store as the login (with its password).
    pub urls: (String, String),
    /// Connects to both databases as the login.
    pub config: StoreConfig,
}

/// A server test databases live on.
#[derive(Clone)]
struct Server {
    backend: Backend,
    admin_url: String,
    databases: Vec<String>,
}

impl TestDb {
    /// Creates the two databases on `backend`.
    ///
    /// # Panics
    ///
    /// If the server is unreachable or refuses to create a database; the message names the
    /// environment variable and the URL.
    pub async fn new(backend: Backend) -> TestDb {
        let base = unique_base();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()
                    .unwrap_or_else(|err| panic!("cannot create a temporary directory: {err}"));
                TestDb {
                    backend,
                    config: StoreConfig::embedded(dir.path()),
                    base,
                    server: None,
                    _dir: Some(dir),
                    roles: Mutex::new(Vec::new()),
                    cleaned: false,
                }
            }
            Backend::Postgres | Backend::MySql => {
                let admin_url = admin_url(backend);
                let databases = vec![format!("{base}_data"), format!("{base}_keys")];
                let server = Server {
                    backend,
                    admin_url,
                    databases,
                };
                server.create().await;
                let config = |name: &str| {
                    let url = with_database(&server.admin_url, name);
                    DatabaseConfig::new(url)
                        .unwrap_or_else(|err| panic!("{err}"))
                        .with_max_connections(5)
                };
                let config =
                    StoreConfig::new(config(&server.databases[0]), config(&server.databases[1]));
                TestDb {
                    backend,
                    config,
                    base,
                    server: Some(server),
                    _dir: None,
                    roles: Mutex::new(Vec::new()),
                    cleaned: false,
                }
            }
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store configuration reaching the two databases.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The connection URLs of the data database and the key store, with the test server's
    /// credentials (for configuring another process, such as the `datavern` binary, through
    /// `DATAVERN_DATABASE__URL` and `DATAVERN_DATABASE__KEYS_URL`).
    pub fn urls(&self) -> (String, String) {
        match &self.server {
            Some(server) => (
                with_database(&server.admin_url, &server.databases[0]),
                with_database(&server.admin_url, &server.databases[1]),
            ),
            // File URLs hold no credentials.
            None => (
                self.config.data.redacted_url(),
                self.config.keys.redacted_url(),
            ),
        }
    }

    /// PostgreSQL only: creates a login role with a random password that is neither
    /// superuser nor owner nor BYPASSRLS, with `SELECT, INSERT, UPDATE, DELETE` on every table
    /// that exists now in the data database (so call it after `apply_catalog`), and returns
    /// it with a configuration that connects to the data database as that role. The role is
    /// dropped by cleanup.
    ///
    /// # Panics
    ///
    /// On another backend, or if the server refuses.
    pub async fn create_app_role(&self) -> AppRole {
        let Some(server) = self
            .server
            .as_ref()
            .filter(|s| s.backend == Backend::Postgres)
        else {
            panic!(
                "create_app_role needs PostgreSQL, this test database is {}",
                self.backend
            );
        };
        let role = format!("{}_app{}", self.base, self.lock_roles().len());
        let password = unique_base();
        let data_url = with_database(&server.admin_url, &server.databases[0]);
        let mut conn = PgConnection::connect(&data_url)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {}: {err}", redact_url(&data_url)));
        let statements = [
            format!(
                r#"CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '{password}'"#
            ),
            format!(r#"GRANT USAGE ON SCHEMA public TO "{role}""#),
            format!(
                r#"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}""#
            ),
        ];
        for statement in &statements {
            conn.execute(statement.as_str())
                .await
                .unwrap_or_else(|err| panic!("cannot create test role {role}: {err}"));
        }
        let _ = conn.close().await;
        self.lock_roles().push(role.clone());
        let url = with_user(&data_url, &role, &password);
        let config = DatabaseConfig::new(url)
            .unwrap_or_else(|err| panic!("{err}"))
            .with_max_connections(2);
        AppRole {
            name: role,
            password,
            config,
        }
    }

    /// PostgreSQL and MariaDB/MySQL: creates a login role (PostgreSQL) or account
    /// `'name'@'%'` (MariaDB/MySQL) with a random password and no privileges at all, and
    /// returns it with the URLs and a store configuration that connect to both test
    /// databases as it. Cleanup drops it. For tests of the serving role's grants
    /// (`crate::grants`).
    ///
    /// # Panics
    ///
    /// On SQLite, or if the server refuses.
    pub async fn create_login(&self) -> Login {
        let Some(server) = self.server.as_ref() else {
            panic!("create_login needs a database server, this test database is SQLite");
        };
        let name = format!("{}_l{}", self.base, self.lock_roles().len());
        let password = uuid::Uuid::new_v4().simple().to_string();
        let statement = match server.backend {
            Backend::Postgres => format!(
                r#"CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '{password}'"#
            ),
            _ => format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"),
        };
        match server.backend {
            Backend::Postgres => {
                let mut conn = server.connect_pg().await;
                conn.execute(statement.as_str())
                    .await
                    .unwrap_or_else(|err| panic!("cannot create test role {name}: {err}"));
                let _ = conn.close().await;
            }
            _ => {
                let mut conn = server.connect_mysql().await;
                conn.execute(statement.as_str())
                    .await
                    .unwrap_or_else(|err| panic!("cannot create test user {name}: {err}"));
                let _ = conn.close().await;
            }
        }
        self.lock_roles().push(name.clone());
        let url = |database: &str| {
            with_user(
                &with_database(&server.admin_url, database),
                &name,
                &password,
            )
        };
        let urls = (url(&server.databases[0]), url(&server.databases[1]));
        let config = |url: &str| {
            DatabaseConfig::new(url)
                .unwrap_or_else(|err| panic!("{err}"))
                .with_max_connections(5)
        };
        let config = StoreConfig::new(config(&urls.0), config(&urls.1));
        Login { name, urls, config }
    }

    /// Drops the databases and roles (SQLite: removes the directory). Close stores first.
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        if let Some(server) = &self.server {
            let roles = std::mem::take(&mut *self.lock_roles());
            server.drop_all(&roles).await;
        }
    }

    fn lock_roles(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while holding the lock leaves a plain Vec behind: still usable.
        self.roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let Some(server) = self.server.clone() else {
            return;
        };
        let roles = std::mem::take(&mut *self.lock_roles());
        // Drop runs outside any async context we may block; a thread of its own has its own
        // runtime.
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(server.drop_all(&roles));
            }
        });
        let _ = handle.join();
    }
}

impl Server {
    async fn create(&self) {
        self.sweep_leftovers().await;
        match self.backend {
            Backend::Postgres => {
                let mut conn = self.connect_pg().await;
                for name in &self.databases {
                    conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                        .await
                        .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
                }
                let _ = conn.close().await;
            }
            Backend::MySql => {
                let mut conn = self.connect_mysql().await;
                for name in &self.databases {
                    conn.execute(
                        format!(
                            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                        )
                        .as_str(),
                    )
                    .await
                    .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
                }
                let _ = conn.close().await;
            }
            Backend::Sqlite => {}
        }
    }

    /// Drops the test's databases and roles. Failures are reported on stderr, not panics: it
    /// runs in cleanup and in `Drop`.
    async fn drop_all(&self, roles: &[String]) {
        let report = |what: &str, err: sqlx::Error| {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("datavern test cleanup: cannot drop {what}: {err}");
            }
        };
        match self.backend {
            Backend::Postgres => {
                let Ok(mut conn) = PgConnection::connect(&self.admin_url).await else {
                    return;
                };
                for name in &self.databases {
                    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
                    if let Err(err) = conn.execute(sql.as_str()).await {
                        report(name, err);
                    }
                }
                for role in roles {
                    let sql = format!(r#"DROP ROLE IF EXISTS "{role}""#);
                    if let Err(err) = conn.execute(sql.as_str()).await {
                        report(role, err);
                    }
                }
                let _ = conn.close().await;
            }
            Backend::MySql => {
                let Ok(mut conn) = MySqlConnection::connect(&self.admin_url).await else {
                    return;
                };
                // Never hang on a lock an abandoned connection still holds.
                let _ = conn.execute("SET SESSION lock_wait_timeout = 10").await;
                for name in &self.databases {
                    let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                    if let Err(err) = conn.execute(sql.as_str()).await {
                        report(name, err);
                    }
                }
                for user in roles {
                    let sql = format!("DROP USER IF EXISTS '{user}'@'%'");
                    if let Err(err) = conn.execute(sql.as_str()).await {
                        report(user, err);
                    }
                }
                let _ = conn.close().await;
            }
            Backend::Sqlite => {}
        }
    }

    /// Once per process and server: drops `dvt_` databases and roles older than
    /// [`LEFTOVER_AGE`] (their creation time is in their name).
    async fn sweep_leftovers(&self) {
        let cell = match self.backend {
            Backend::Postgres => &POSTGRES_SWEPT,
            Backend::MySql => &MYSQL_SWEPT,
            Backend::Sqlite => return,
        };
        cell.get_or_init(|| async {
            let stale = |name: &String| is_stale(name);
            match self.backend {
                Backend::Postgres => {
                    let mut conn = self.connect_pg().await;
                    let databases: Vec<String> = sqlx::query_scalar(
                        r"SELECT datname::text FROM pg_database WHERE datname LIKE 'dvt\_%'",
                    )
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                    let roles: Vec<String> = sqlx::query_scalar(
                        r"SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'dvt\_%'",
                    )
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                    let _ = conn.close().await;
                    let leftovers = Server {
                        databases: databases.into_iter().filter(stale).collect(),
                        ..self.clone()
                    };
                    let roles: Vec<String> = roles.into_iter().filter(stale).collect();
                    leftovers.drop_all(&roles).await;
                }
                Backend::MySql => {
                    let mut conn = self.connect_mysql().await;
                    let databases: Vec<String> = sqlx::query_scalar(
                        r"SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata
                          WHERE schema_name LIKE 'dvt\_%'",
                    )
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                    let _ = conn.close().await;
                    let leftovers = Server {
                        databases: databases.into_iter().filter(stale).collect(),
                        ..self.clone()
                    };
                    leftovers.drop_all(&[]).await;
                }
                Backend::Sqlite => {}
            }
        })
        .await;
    }

    async fn connect_pg(&self) -> PgConnection {
        match PgConnection::connect(&self.admin_url).await {
            Ok(conn) => conn,
            Err(err) => panic!(
                "{}",
                unreachable_message(self.backend, &self.admin_url, &err)
            ),
        }
    }

    async fn connect_mysql(&self) -> MySqlConnection {
        match MySqlConnection::connect(&self.admin_url).await {
            Ok(conn) => conn,
            Err(err) => panic!(
                "{}",
                unreachable_message(self.backend, &self.admin_url, &err)
            ),
        }
    }
}

/// Runs `sql` on `db` without parameters (several statements are allowed on SQLite and
/// PostgreSQL).
///
/// # Panics
///
/// If the database refuses; the message names the statement.
pub async fn execute(db: &Database, sql: &str) {
    try_execute(db, sql)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {}", report(&err)));
}

/// Runs `sql` on `db` without parameters, returning the rows affected or the database's
/// refusal.
pub async fn try_execute(db: &Database, sql: &str) -> Result<u64, SqlError> {
    db.acquire().await?.conn().test_execute(sql, &[]).await
}

/// Runs `sql` with `params` (placeholders written `?` on every backend) on `db` and returns
/// the rows affected.
///
/// # Panics
///
/// If the database refuses.
pub async fn execute_with(db: &Database, sql: &str, params: &[Value]) -> u64 {
    let result = async { db.acquire().await?.conn().test_execute(sql, params).await }.await;
    result.unwrap_or_else(|err| panic!("{sql}: {}", report(&err)))
}

/// The first column of every row `sql` with `params` returns on `db`, or the database's
/// refusal.
pub async fn try_fetch_all<T: Scalar>(
    db: &Database,
    sql: &str,
    params: &[Value],
) -> Result<Vec<T>, SqlError> {
    db.acquire().await?.conn().test_fetch(sql, params).await
}

/// The first column of every row `sql` with `params` returns on `db`.
///
/// # Panics
///
/// If the database refuses or a value does not decode as `T`.
pub async fn fetch_all<T: Scalar>(db: &Database, sql: &str, params: &[Value]) -> Vec<T> {
    try_fetch_all(db, sql, params)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {}", report(&err)))
}

/// The first column of the first row `sql` with `params` returns on `db`, if any.
///
/// # Panics
///
/// As [`fetch_all`].
pub async fn fetch_optional<T: Scalar>(db: &Database, sql: &str, params: &[Value]) -> Option<T> {
    fetch_all(db, sql, params).await.into_iter().next()
}

/// The first column of the first row `sql` with `params` returns on `db`.
///
/// # Panics
///
/// As [`fetch_all`], and if there is no row.
pub async fn fetch_one<T: Scalar>(db: &Database, sql: &str, params: &[Value]) -> T {
    fetch_optional(db, sql, params)
        .await
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

/// Every row `sql` with `params` returns on `db`, decoded as `T` (a tuple of columns).
///
/// # Panics
///
/// If the database refuses or a row does not decode as `T`.
pub async fn fetch_rows<T: AnyRow>(db: &Database, sql: &str, params: &[Value]) -> Vec<T> {
    let result = async {
        db.acquire()
            .await?
            .conn()
            .test_fetch_rows(sql, params)
            .await
    }
    .await;
    result.unwrap_or_else(|err| panic!("{sql}: {}", report(&err)))
}

/// The tables of `db` (of its current schema on PostgreSQL), sorted by name.
///
/// # Panics
///
/// If the database refuses.
pub async fn table_names(db: &Database) -> Vec<String> {
    let result = async { db.acquire().await?.conn().table_names().await }.await;
    result.unwrap_or_else(|err| panic!("cannot list tables: {}", report(&err)))
}

/// Opens the SQLite database file at `path` read-only (nothing is created, migrated or
/// changed in it), as the data database: to read a copy taken as a backup would be.
///
/// # Panics
///
/// If the file cannot be opened.
pub async fn open_sqlite_read_only(path: &std::path::Path) -> Database {
    Database::open_sqlite_read_only(path)
        .await
        .unwrap_or_else(|err| panic!("cannot open {}: {}", path.display(), report(&err)))
}

/// Runs `sql` on `backend`'s test server as its admin ([`admin_url`]), outside any test
/// database: to create or drop a database of a test's own.
///
/// # Panics
///
/// If the server is unreachable or refuses; on SQLite, which has no server.
pub async fn admin_execute(backend: Backend, sql: &str) {
    let url = admin_url(backend);
    let result = match backend {
        Backend::Postgres => {
            async {
                let mut conn = PgConnection::connect(&url).await?;
                conn.execute(sql).await?;
                conn.close().await
            }
            .await
        }
        Backend::MySql => {
            async {
                let mut conn = MySqlConnection::connect(&url).await?;
                conn.execute(sql).await?;
                conn.close().await
            }
            .await
        }
        Backend::Sqlite => panic!("SQLite has no server to administer"),
    };
    result.unwrap_or_else(|err| panic!("{sql} on {}: {err}", redact_url(&url)));
}

/// The error a statement fails with when the pool waited in vain for a connection: the
/// database is unavailable ([`SqlError::is_unavailable`]).
pub fn pool_timed_out() -> SqlError {
    SqlError::Statement(sqlx::Error::PoolTimedOut)
}

/// The error a statement fails with after the pool was closed: the database is unavailable
/// ([`SqlError::is_unavailable`]).
pub fn pool_closed() -> SqlError {
    SqlError::Statement(sqlx::Error::PoolClosed)
}

/// Drops the triggers that keep the audit tables append-only (migration 0008), as an
/// attacker with the owner's privileges could: for tests that tamper with the audit log in
/// SQL to show that verification detects it.
///
/// # Panics
///
/// If the database refuses.
pub async fn drop_audit_guards(db: &Database) {
    let triggers = [
        ("dv_audit_seal_only", "dv_audit"),
        ("dv_audit_no_delete", "dv_audit"),
        ("dv_audit_no_truncate", "dv_audit"),
        ("dv_audit_head_forward", "dv_audit_head"),
        ("dv_audit_head_no_delete", "dv_audit_head"),
        ("dv_audit_head_no_truncate", "dv_audit_head"),
        ("dv_audit_checkpoints_no_update", "dv_audit_checkpoints"),
        ("dv_audit_checkpoints_no_delete", "dv_audit_checkpoints"),
        ("dv_audit_checkpoints_no_truncate", "dv_audit_checkpoints"),
    ];
    for (trigger, table) in triggers {
        let sql = match db.backend() {
            Backend::Postgres => format!("DROP TRIGGER IF EXISTS {trigger} ON {table}"),
            _ => format!("DROP TRIGGER IF EXISTS {trigger}"),
        };
        try_execute(db, &sql)
            .await
            .unwrap_or_else(|err| panic!("cannot drop trigger {trigger}: {err}"));
    }
}

/// The admin URL for `backend`'s test server: the environment variable, else the default.
pub fn admin_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::Postgres => (POSTGRES_URL_VAR, DEFAULT_POSTGRES_URL),
        Backend::MySql => (MYSQL_URL_VAR, DEFAULT_MYSQL_URL),
        Backend::Sqlite => return String::new(),
    };
    std::env::var(var)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The environment variable naming `backend`'s test server, if it has one.
pub fn url_var(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Postgres => Some(POSTGRES_URL_VAR),
        Backend::MySql => Some(MYSQL_URL_VAR),
        Backend::Sqlite => None,
    }
}

fn unreachable_message(backend: Backend, url: &str, err: &sqlx::Error) -> String {
    format!(
        "the {} server for tests is unreachable at {} ({err}); start it, or set {} to its \
         admin URL. Tests never skip a backend.",
        backend.product(),
        redact_url(url),
        url_var(backend).unwrap_or_default(),
    )
}

/// An error and its causes on one line, `: `-separated.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
    crate::error::report(err)
}

/// The wall clock's Unix seconds. Not a time of record: it names test databases so that a
/// later run (another process, so no shared injected clock) can drop leftovers by age; a
/// test's `ManualClock` must not make fresh databases look stale.
fn wall_seconds() -> u64 {
    // Before 1970 only on a broken host clock; then nothing counts as stale.
    u64::try_from(SystemClock.now().as_second()).unwrap_or(0)
}

/// `dvt_<unix seconds>_<8 random hex digits>`.
fn unique_base() -> String {
    let secs = wall_seconds();
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{PREFIX}{secs}_{}", &random[random.len() - 8..])
}

/// Whether a `dvt_<secs>_…` name was made more than [`LEFTOVER_AGE`] ago.
fn is_stale(name: &str) -> bool {
    let now = wall_seconds();
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|secs| secs.parse::<u64>().ok())
        .is_some_and(|created| now.saturating_sub(created) > LEFTOVER_AGE.as_secs())
}

/// `url` with its database (path) replaced by `database`, query kept.
pub fn with_database(url: &str, database: &str) -> String {
    crate::config::url_with_database(url, database)
}

/// `url` with its user info replaced by `user:password`.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{}{user}:{password}@{host}", &url[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_another_database_and_user() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "dvt_1_a"),
            "postgres://postgres@127.0.0.1:5432/dvt_1_a"
        );
        assert_eq!(
            with_database("mysql://root@h?ssl-mode=disabled", "x"),
            "mysql://root@h/x?ssl-mode=disabled"
        );
        assert_eq!(
            with_user("postgres://postgres@h:5432/db?sslmode=prefer", "app", "pw"),
            "postgres://app:pw@h:5432/db?sslmode=prefer"
        );
        assert_eq!(
            with_user("postgres://h/db", "app", "pw"),
            "postgres://app:pw@h/db"
        );
    }

    #[test]
    fn unreachable_server_message_names_the_variable_and_hides_the_password() {
        let err = sqlx::Error::PoolTimedOut;
        let message = unreachable_message(Backend::MySql, "mysql://root:pw@db:3306/test", &err);
        assert!(message.contains("DATAVERN_TEST_MYSQL_URL"), "{message}");
        assert!(
            message.contains("mysql://root:***@db:3306/test"),
            "{message}"
        );
        assert!(message.contains("MariaDB/MySQL"), "{message}");
        assert!(!message.contains(":pw@"), "{message}");
    }

    #[test]
    fn only_old_prefixed_names_are_stale() {
        assert!(is_stale("dvt_1000_abcd_data"));
        assert!(!is_stale(&unique_base()));
        assert!(!is_stale("dvt_x_data"));
        assert!(!is_stale("production"));
    }
}
