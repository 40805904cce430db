//! One database: a connection pool on one of the three backends.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlSslMode};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::instrument;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, TlsMode};
use crate::conn::PooledConn;
use crate::dialect::Dialect;
use crate::error::{DatabaseRole, Result, SqlError};
use crate::migrate;
use crate::tx::{Begin, Transaction};

/// A connection pool to one database (the data database or the key store), on any backend.
///
/// Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct Database {
    pool: DbPool,
    role: DatabaseRole,
    url: String,
    /// Turns to write, in arrival order (SQLite; see [`Database::write_turn`]).
    writers: Arc<Mutex<()>>,
}

/// This process's turn to write to a SQLite database: held from before `BEGIN IMMEDIATE`
/// until the transaction ends.
pub struct WriteTurn {
    _guard: OwnedMutexGuard<()>,
}

/// The sqlx pool behind a [`Database`], per backend: private to this crate, so that no
/// code above it runs sqlx on a pool.
#[derive(Debug, Clone)]
pub(crate) enum DbPool {
    /// A SQLite pool.
    Sqlite(SqlitePool),
    /// A PostgreSQL pool.
    Postgres(PgPool),
    /// A MariaDB/MySQL pool.
    MySql(MySqlPool),
}

/// Runs `$body` with `$pool` bound to the database's sqlx pool, whatever its backend: for
/// the methods that do the same on every backend.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            DbPool::Sqlite($pool) => $body,
            DbPool::Postgres($pool) => $body,
            DbPool::MySql($pool) => $body,
        }
    };
}

/// A snapshot of a pool's connections, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, in use or idle.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
}

impl Database {
    /// Connects a pool with `config`'s settings and checks that one connection works.
    ///
    /// SQLite files are created if missing, whether given by path or by `sqlite://` URL
    /// (readable by their owner only; SQLite gives the `-wal` and `-shm` files the same mode,
    /// and existing files readable by others are narrowed to 0600) and opened in WAL mode with foreign keys on, a
    /// busy timeout, `synchronous = NORMAL` and `secure_delete` (deleted content is
    /// overwritten, so erased data does not linger in free pages).
    #[instrument(skip_all, fields(role = %role, backend = %config.backend()))]
    pub async fn connect(config: &DatabaseConfig, role: DatabaseRole) -> Result<Database> {
        config.check()?;
        let url = config.redacted_url();
        let connect_error = |source| SqlError::Connect {
            role,
            backend: config.backend(),
            url: url.clone(),
            source,
        };
        let pool = match config.backend() {
            Backend::Sqlite => {
                let options = sqlite_options(config).map_err(connect_error)?;
                // By path or by URL alike: the file, its WAL and shared memory are the
                // owner's only.
                if let Some(path) = sqlite_file(config, &options) {
                    secure_sqlite_files(&path)
                        .await
                        .map_err(|err| connect_error(sqlx::Error::Io(err)))?;
                }
                let pool = pool_options(config)
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                DbPool::Sqlite(pool)
            }
            Backend::Postgres => {
                let options = postgres_options(config).map_err(connect_error)?;
                probe::<sqlx::PgConnection>(&options, config.acquire_timeout())
                    .await
                    .map_err(connect_error)?;
                let pool = pool_options(config)
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                DbPool::Postgres(pool)
            }
            Backend::MySql => {
                let options = mysql_options(config).map_err(connect_error)?;
                probe::<sqlx::MySqlConnection>(&options, config.acquire_timeout())
                    .await
                    .map_err(connect_error)?;
                let timeout = config.statement_timeout();
                let pool = pool_options(config)
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            if let Some(timeout) = timeout {
                                set_mysql_statement_timeout(conn, timeout).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                DbPool::MySql(pool)
            }
        };
        tracing::debug!(url = %url, "Connected database pool");
        Ok(Database {
            pool,
            role,
            url,
            writers: Arc::new(Mutex::new(())),
        })
    }

    /// A database on a pool connected elsewhere in this crate (an import source opened
    /// read-only), with `url` already redacted.
    pub(crate) fn from_pool(pool: DbPool, role: DatabaseRole, url: String) -> Database {
        Database {
            pool,
            role,
            url,
            writers: Arc::new(Mutex::new(())),
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self.pool {
            DbPool::Sqlite(_) => Backend::Sqlite,
            DbPool::Postgres(_) => Backend::Postgres,
            DbPool::MySql(_) => Backend::MySql,
        }
    }

    /// The backend's SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.backend().dialect()
    }

    /// Waits for this process's turn to write, first come first served.
    ///
    /// SQLite has one writer at a time, and a writer that finds the lock taken polls for it
    /// (`busy_timeout`) with sleeps of up to 100 ms, with no order among the waiters: under
    /// steady concurrent writes (a seed, a busy server) one waiter can lose every race until
    /// its timeout fails it, and the lock sits idle between a release and the next poll.
    /// Every SQLite write transaction of the store takes a turn first, so writers of one
    /// process queue fairly and hand the lock over at once; `busy_timeout` still arbitrates
    /// between processes. The other backends lock rows, not the database, and need no turn.
    pub async fn write_turn(&self) -> WriteTurn {
        WriteTurn {
            _guard: Arc::clone(&self.writers).lock_owned().await,
        }
    }

    /// Which of the store's databases this is.
    pub fn role(&self) -> DatabaseRole {
        self.role
    }

    /// The URL, password redacted.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Health check: takes a connection from the pool and pings the server.
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| pool.acquire().await?.ping().await?);
        Ok(())
    }

    /// The pool's connection counts, for metrics.
    pub fn stats(&self) -> PoolStats {
        let (size, idle) = on_pool!(self, |pool| (pool.size(), pool.num_idle()));
        PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// Closes every connection, waiting for those in use to be returned. Later operations
    /// fail.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        on_pool!(self, |pool| pool.is_closed())
    }

    /// Applies this database's internal migrations (data or key store, for its backend) that
    /// are not applied yet. Idempotent; concurrent callers wait for each other.
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn migrate(&self) -> Result<()> {
        let migrator = migrate::migrator(self.backend(), self.role);
        on_pool!(self, |pool| migrator.run(pool).await).map_err(|source| SqlError::Migrate {
            role: self.role,
            source,
        })
    }

    /// Removes what deleted or overwritten rows leave behind in the database's files, as far
    /// as the backend lets a connection do so, after an erasure or a key's destruction.
    ///
    /// - SQLite: every connection runs with `secure_delete`, so a deleted row is zeroed in
    ///   its page; but until a checkpoint the WAL still holds the page as it was, and the main
    ///   file the page as of the previous checkpoint. This takes the process's turn to write
    ///   and runs `PRAGMA wal_checkpoint(TRUNCATE)`: the zeroed pages are written to the main
    ///   file and the WAL is emptied and truncated to zero bytes. If a reader still holds an
    ///   old snapshot, the checkpoint cannot finish: a warning says so, and the next one
    ///   completes it.
    /// - PostgreSQL: `VACUUM` of each of `tables` removes their dead row versions from the
    ///   table files (the row as it was before an `UPDATE` or `DELETE`). Only the table's
    ///   owner may vacuum it; for another role PostgreSQL skips it with a warning, and
    ///   autovacuum does it (the key store's table is vacuumed as soon as it has one dead
    ///   row, migration `keys/0008`). WAL segments keep the old page until they are recycled.
    /// - MariaDB/MySQL: nothing a connection can do cheaply (InnoDB purges old versions from
    ///   the undo log by itself; freed record space is reused, not zeroed, until `OPTIMIZE
    ///   TABLE` rebuilds the table). See `docs/storage.md`.
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn scrub(&self, tables: &[&str]) -> Result<()> {
        match &self.pool {
            DbPool::Sqlite(pool) => {
                let _turn = self.write_turn().await;
                let (busy, log, checkpointed): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(pool)
                        .await?;
                if busy != 0 {
                    tracing::warn!(
                        log,
                        checkpointed,
                        "WAL checkpoint could not finish (a reader holds an old snapshot); \
                         old pages stay in the WAL until the next checkpoint"
                    );
                }
            }
            DbPool::Postgres(pool) => {
                for table in tables {
                    check_identifier(table)?;
                    sqlx::raw_sql(&format!("VACUUM \"{table}\""))
                        .execute(pool)
                        .await?;
                }
            }
            DbPool::MySql(_) => {}
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics of `tables` after many rows were written
    /// into them at once (an import into an empty table).
    ///
    /// - PostgreSQL: `ANALYZE` of each table. Until autovacuum gets to a table that started
    ///   empty, the planner believes it empty, and the generic plan of a prepared lookup
    ///   (made after five executions) scans the whole table; `ANALYZE` also invalidates those
    ///   plans, so the next execution plans with the index.
    /// - MariaDB/MySQL: nothing (InnoDB recalculates persistent statistics by itself once a
    ///   tenth of the table has changed).
    /// - SQLite: nothing (without `sqlite_stat1` the planner prefers the index anyway).
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn analyze_tables(&self, tables: &[&str]) -> Result<()> {
        if let DbPool::Postgres(pool) = &self.pool {
            for table in tables {
                check_identifier(table)?;
                sqlx::raw_sql(&format!("ANALYZE \"{table}\""))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Checks that every internal migration of this database is applied, without changing
    /// anything: for a role that may read `_sqlx_migrations` but not create tables.
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn check_migrated(&self) -> Result<()> {
        let query = "SELECT version FROM _sqlx_migrations WHERE success = TRUE";
        let applied: Vec<i64> =
            on_pool!(self, |pool| sqlx::query_scalar(query).fetch_all(pool).await)
                .unwrap_or_default();
        let missing: Vec<i64> = migrate::migrator(self.backend(), self.role)
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        match missing.first() {
            None => Ok(()),
            Some(&first) => Err(SqlError::NotMigrated {
                role: self.role,
                missing: missing.len(),
                first,
            }),
        }
    }

    /// Opens the SQLite file at `path` read-only (not created, not switched to WAL, not
    /// narrowed in mode), for tests that read a copy.
    #[cfg(feature = "test-support")]
    pub(crate) async fn open_sqlite_read_only(path: &Path) -> Result<Database> {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let pool = PoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Database {
            pool: DbPool::Sqlite(pool),
            role: DatabaseRole::Data,
            url: format!("sqlite://{}?mode=ro", path.display()),
            writers: Arc::new(Mutex::new(())),
        })
    }

    /// The sqlx pool.
    pub(crate) fn db_pool(&self) -> &DbPool {
        &self.pool
    }

    /// Begins a transaction on the whole database (not scoped to a tenant: the store's own
    /// maintenance), as `kind` says.
    pub async fn begin(&self, kind: Begin) -> Result<Transaction> {
        Transaction::begin(self, kind).await
    }

    /// Refreshes the planner's statistics of every table (`ANALYZE`) on PostgreSQL, whose
    /// autovacuum may not have seen a bulk load yet; SQLite and MariaDB/MySQL keep theirs
    /// well enough by themselves.
    #[instrument(skip_all, fields(role = %self.role, backend = %self.backend()))]
    pub async fn analyze(&self) -> Result<()> {
        if let DbPool::Postgres(pool) = &self.pool {
            sqlx::raw_sql("ANALYZE").execute(pool).await?;
        }
        Ok(())
    }

    /// A connection from the pool.
    pub async fn acquire(&self) -> Result<PooledConn> {
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => PooledConn::sqlite(pool.acquire().await?),
            DbPool::Postgres(pool) => PooledConn::postgres(pool.acquire().await?),
            DbPool::MySql(pool) => PooledConn::mysql(pool.acquire().await?),
        })
    }

    /// A string that is equal for two pools exactly when they reach the same database (the
    /// same file, or the same database on the same server).
    pub async fn identity(&self) -> Result<String> {
        let identity = match &self.pool {
            DbPool::Sqlite(pool) => {
                // `file` is the absolute path of the main database.
                let row: (i64, String, String) = sqlx::query_as("PRAGMA database_list")
                    .fetch_one(pool)
                    .await?;
                format!("sqlite:{}", row.2)
            }
            DbPool::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT 'postgres:' || current_database() || '@' \
                     || pg_postmaster_start_time()::text || ':' \
                     || coalesce(inet_server_port()::text, '')",
                )
                .fetch_one(pool)
                .await?
            }
            DbPool::MySql(pool) => {
                sqlx::query_scalar(
                    "SELECT CONCAT('mysql:', DATABASE(), '@', @@hostname, ':', @@port, ':', \
                     @@datadir)",
                )
                .fetch_one(pool)
                .await?
            }
        };
        Ok(identity)
    }
}

/// Refuses a table name that would need quoting in any dialect (lowercase ASCII letters,
/// digits and `_`, starting with a letter or `_`, at most 63 bytes).
fn check_identifier(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(SqlError::Config(format!(
            "\"{name}\" is not a plain SQL identifier (lowercase letters, digits and _)"
        )))
    }
}

/// The pool sizes and acquire timeout `config` asks for, on any backend.
fn pool_options<DB: sqlx::Database>(config: &DatabaseConfig) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(config.max_connections())
        .min_connections(config.min_connections())
        .acquire_timeout(config.acquire_timeout())
}

/// Opens and closes one connection, within `timeout`. The pool retries a refused connection
/// until its acquire timeout and then reports only "pool timed out"; a direct connection
/// reports the cause (refused, authentication, TLS, unknown database).
async fn probe<C: Connection>(
    options: &C::Options,
    timeout: std::time::Duration,
) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(timeout, C::connect_with(options)).await {
        Ok(Ok(conn)) => {
            // The probe has done its job; a failure to say goodbye is not the caller's problem.
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(err)) => Err(err),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {:.1} s", timeout.as_secs_f64()),
        ))),
    }
}

/// The file a SQLite configuration opens, given by path or by URL; `None` for an in-memory
/// database.
fn sqlite_file(config: &DatabaseConfig, options: &SqliteConnectOptions) -> Option<PathBuf> {
    if let Some(path) = config.sqlite_path() {
        return Some(path.to_path_buf());
    }
    let url = config.expose_url().unwrap_or_default();
    let filename = options.get_filename();
    let in_memory = filename.as_os_str().is_empty()
        || filename == Path::new(":memory:")
        || url.contains("mode=memory");
    (!in_memory).then(|| filename.to_path_buf())
}

/// Makes the database at `path` private to its owner before SQLite opens it: the file is
/// created with mode 0600 if missing (SQLite gives the `-wal` and `-shm` files the database
/// file's mode), and an existing file, WAL or shared-memory file that group or others may
/// read is narrowed to 0600 (with a warning). A missing directory is an error, as it is for
/// SQLite: the CLI creates the data directory, with mode 0700.
async fn secure_sqlite_files(path: &Path) -> std::io::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path).await {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
        for file in files {
            let Ok(metadata) = tokio::fs::metadata(&file).await else {
                continue;
            };
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tokio::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).await?;
                tracing::warn!(
                    path = %file.display(),
                    mode = %format!("{mode:o}"),
                    "Database file was readable by others; narrowed to 0600"
                );
            }
        }
    }
    Ok(())
}

fn sqlite_options(config: &DatabaseConfig) -> Result<SqliteConnectOptions, sqlx::Error> {
    let options = match (config.sqlite_path(), config.expose_url()) {
        (Some(path), _) => SqliteConnectOptions::new().filename(path),
        (None, Some(url)) => SqliteConnectOptions::from_str(url)?,
        (None, None) => SqliteConnectOptions::new(),
    };
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(config.busy_timeout())
        .synchronous(SqliteSynchronous::Normal)
        .pragma("secure_delete", "ON"))
}

fn postgres_options(config: &DatabaseConfig) -> Result<PgConnectOptions, sqlx::Error> {
    let url = config.expose_url().unwrap_or_default();
    let mut options = PgConnectOptions::from_str(url)?.application_name("datavern");
    if let Some(mode) = config.tls() {
        options = options.ssl_mode(match mode {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyCa => PgSslMode::VerifyCa,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        });
    }
    if let Some(ca) = config.ca_file() {
        options = options.ssl_root_cert(ca);
    }
    if let Some(timeout) = config.statement_timeout() {
        let millis = timeout.as_millis().max(1).to_string();
        options = options.options([("statement_timeout", millis.as_str())]);
    }
    Ok(options)
}

fn mysql_options(config: &DatabaseConfig) -> Result<MySqlConnectOptions, sqlx::Error> {
    let url = config.expose_url().unwrap_or_default();
    // The MySQL driver speaks to MariaDB too, but only accepts its own scheme.
    let url = match url.get(..8) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mariadb:") => format!("mysql:{}", &url[8..]),
        _ => url.to_owned(),
    };
    let mut options = MySqlConnectOptions::from_str(&url)?.charset("utf8mb4");
    if let Some(mode) = config.tls() {
        options = options.ssl_mode(match mode {
            TlsMode::Disable => MySqlSslMode::Disabled,
            TlsMode::Prefer => MySqlSslMode::Preferred,
            TlsMode::Require => MySqlSslMode::Required,
            TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
            TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
        });
    }
    if let Some(ca) = config.ca_file() {
        options = options.ssl_ca(ca);
    }
    Ok(options)
}

/// MariaDB and MySQL name the statement timeout differently (and MySQL's covers `SELECT`
/// only).
async fn set_mysql_statement_timeout(
    conn: &mut sqlx::MySqlConnection,
    timeout: std::time::Duration,
) -> Result<(), sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await?;
    let statement = if version.contains("MariaDB") {
        format!(
            "SET SESSION max_statement_time = {:.3}",
            timeout.as_secs_f64()
        )
    } else {
        format!("SET SESSION max_execution_time = {}", timeout.as_millis())
    };
    conn.execute(statement.as_str()).await?;
    Ok(())
}
