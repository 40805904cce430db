//! The raw baseline `datavern bench` measures the governed path against: plain SQL on a plain
//! table with the columns of the benchmark's person collection, in plaintext, with an
//! ordinary index on the fødselsnummer column: no encryption, no blind index, no audit, no
//! outbox, no row-level security.
//!
//! It runs on the store's own data database (`Store::data`), so both sides of a comparison
//! share the server, the pool and its settings. Its SQL lives here because this crate is the
//! only one that knows SQL dialects; nothing but benchmarks uses it.
//!
//! [`recreate_database`] and [`drop_database`] make and remove the scratch databases a
//! benchmark runs in, through a server's admin URL.

use std::fmt;
use std::sync::Arc;

use datavern_core::clock::Clock;

use sea_query::{Alias, Expr, InsertStatement, Query, SelectStatement, SimpleExpr};
use sqlx::{Connection as _, Executor as _, MySqlConnection, PgConnection};
use time::Date;
use uuid::Uuid;

use crate::at::At;
use crate::backend::Backend;
use crate::config::{redact_url, url_with_database};
use crate::conn::Text;
use crate::database::{Database, DbPool};
use crate::error::{Result, SqlError};

/// The baseline's table.
pub const RAW_TABLE: &str = "bench_raw_persons";

/// The most rows one `INSERT` statement of [`RawBaseline::insert_many`] carries (ten columns
/// each: well below every backend's limit on bound parameters).
pub const MAX_ROWS_PER_INSERT: usize = 1_000;

/// One row of the baseline table: a person, in plaintext.
///
/// `Debug` shows the id only: the row holds (synthetic) personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct RawPerson {
    /// The row's id.
    pub id: Uuid,
    /// The tenant (kommunenummer).
    pub tenant: String,
    /// The fødselsnummer, eleven digits.
    pub fodselsnummer: String,
    /// Given name.
    pub fornavn: String,
    /// Family name.
    pub etternavn: String,
    /// Birth date.
    pub fodselsdato: Option<Date>,
    /// Postnummer.
    pub postnummer: Option<String>,
}

/// Plain SQL on the baseline table of one database.
#[derive(Debug, Clone)]
pub struct RawBaseline {
    db: Database,
    clock: Arc<dyn Clock>,
}

/// The columns [`RawBaseline::insert_many`] writes, in order.
const COLUMNS: [&str; 10] = [
    "id",
    "tenant",
    "fodselsnummer",
    "fornavn",
    "etternavn",
    "fodselsdato",
    "postnummer",
    "created_at",
    "updated_at",
    "version",
];

/// The columns a read returns.
const SELECTED: [&str; 7] = [
    "id",
    "tenant",
    "fodselsnummer",
    "fornavn",
    "etternavn",
    "fodselsdato",
    "postnummer",
];

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant: Text,
    fodselsnummer: Text,
    fornavn: Text,
    etternavn: Text,
    fodselsdato: Option<Date>,
    postnummer: Option<Text>,
}

impl RawBaseline {
    /// The baseline on `db` (usually the store's data database), stamping rows with the
    /// time of `clock` (the store's, as the governed path does).
    pub fn new(db: Database, clock: Arc<dyn Clock>) -> Self {
        RawBaseline { db, clock }
    }

    /// The database it runs on.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Drops the baseline table if it exists and creates it empty, with its index on
    /// `(tenant, fodselsnummer)`.
    pub async fn create_table(&self) -> Result<()> {
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        for statement in create_statements(self.db.backend()) {
            conn.execute_raw(&statement).await?;
        }
        Ok(())
    }

    /// Drops the baseline table.
    pub async fn drop_table(&self) -> Result<()> {
        let mut pooled = self.db.acquire().await?;
        pooled
            .conn()
            .execute_raw(&format!(
                "DROP TABLE IF EXISTS {}",
                quoted(self.db.backend())
            ))
            .await?;
        Ok(())
    }

    /// Inserts one row.
    pub async fn insert(&self, person: &RawPerson) -> Result<()> {
        let backend = self.db.backend();
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(RAW_TABLE))
            .columns(COLUMNS.map(Alias::new))
            // As many values as columns: cannot panic.
            .values_panic(values(backend, person, At::from(self.clock.now())));
        self.execute(&insert).await?;
        Ok(())
    }

    /// Inserts `people` with multi-row `INSERT`s of at most [`MAX_ROWS_PER_INSERT`] rows, in
    /// one transaction. Returns the rows inserted.
    pub async fn insert_many(&self, people: &[RawPerson]) -> Result<u64> {
        if people.is_empty() {
            return Ok(0);
        }
        let backend = self.db.backend();
        let now = At::from(self.clock.now());
        let statements: Vec<_> = people
            .chunks(MAX_ROWS_PER_INSERT)
            .map(|chunk| {
                let mut insert = Query::insert();
                insert
                    .into_table(Alias::new(RAW_TABLE))
                    .columns(COLUMNS.map(Alias::new));
                for person in chunk {
                    // As many values as columns: cannot panic.
                    insert.values_panic(values(backend, person, now));
                }
                insert
            })
            .collect();
        // On SQLite, queue with the store's own writers (the audit sealer may still be
        // working off the governed seed's entries): polling for the lock alone can lose every
        // race until the busy timeout fails the seed.
        let _turn = match backend {
            Backend::Sqlite => Some(self.db.write_turn().await),
            Backend::Postgres | Backend::MySql => None,
        };
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let transaction = statements.len() > 1;
        if transaction {
            conn.execute_raw(begin(backend)).await?;
        }
        let mut inserted = 0;
        for statement in &statements {
            match conn.execute(statement).await {
                Ok(rows) => inserted += rows,
                Err(err) => {
                    if transaction {
                        // The original error matters; a failed rollback closes the connection.
                        let _ = conn.execute_raw("ROLLBACK").await;
                    }
                    return Err(err);
                }
            }
        }
        if transaction {
            conn.execute_raw("COMMIT").await?;
        }
        Ok(inserted)
    }

    /// The row `id` of `tenant`, if there is one.
    pub async fn get(&self, tenant: &str, id: Uuid) -> Result<Option<RawPerson>> {
        let mut select = Query::select();
        select
            .columns(SELECTED.map(Alias::new))
            .from(Alias::new(RAW_TABLE))
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        let rows = self.fetch(&select).await?;
        Ok(rows.into_iter().next().map(RawPerson::from))
    }

    /// Every row of `tenant` with this fødselsnummer, by id (an exact match on the index).
    pub async fn lookup(&self, tenant: &str, fodselsnummer: &str) -> Result<Vec<RawPerson>> {
        let mut select = Query::select();
        select
            .columns(SELECTED.map(Alias::new))
            .from(Alias::new(RAW_TABLE))
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant))
            .and_where(Expr::col(Alias::new("fodselsnummer")).eq(fodselsnummer))
            .order_by(Alias::new("id"), sea_query::Order::Asc);
        let rows = self.fetch(&select).await?;
        Ok(rows.into_iter().map(RawPerson::from).collect())
    }

    /// Runs `statement` on a pooled connection. Returns the rows affected.
    async fn execute(&self, statement: &InsertStatement) -> Result<u64> {
        self.db.acquire().await?.conn().execute(statement).await
    }

    /// Runs `select` on a pooled connection and decodes its rows.
    async fn fetch(&self, select: &SelectStatement) -> Result<Vec<Row>> {
        self.db.acquire().await?.conn().fetch_all(select).await
    }

    /// The number of rows in the table.
    pub async fn count(&self) -> Result<u64> {
        let mut select = Query::select();
        select
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from(Alias::new(RAW_TABLE));
        let mut pooled = self.db.acquire().await?;
        let rows: Vec<(i64,)> = pooled.conn().fetch_all(&select).await?;
        let count = rows.first().map_or(0, |row| row.0);
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// Creates database `name` on the server `admin_url` reaches (PostgreSQL or MariaDB/MySQL),
/// dropping it first if it exists, and returns the URL of the new database (the admin URL
/// with its database replaced). MariaDB/MySQL databases get `utf8mb4_bin`, as datavern's
/// tables have.
///
/// `name` must be lowercase ASCII letters, digits and `_`, starting with a letter.
pub async fn recreate_database(admin_url: &str, name: &str) -> Result<String> {
    check_name(name)?;
    drop_database(admin_url, name).await?;
    let create = match backend_of(admin_url)? {
        Backend::Postgres => format!(r#"CREATE DATABASE "{name}""#),
        Backend::MySql => {
            format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        }
        Backend::Sqlite => return Err(sqlite_has_no_server()),
    };
    admin_execute(admin_url, &create).await?;
    Ok(url_with_database(admin_url, name))
}

/// Drops database `name` on the server `admin_url` reaches, if it exists (on PostgreSQL also
/// when connections to it are still open).
pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let drop = match backend_of(admin_url)? {
        Backend::Postgres => format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
        Backend::MySql => format!("DROP DATABASE IF EXISTS `{name}`"),
        Backend::Sqlite => return Err(sqlite_has_no_server()),
    };
    admin_execute(admin_url, &drop).await
}

impl Database {
    /// The database server's product and version, e.g. `PostgreSQL 16.4`, `MariaDB
    /// 10.11.6-MariaDB-0+deb12u1`, `SQLite 3.46.0`.
    pub async fn server_version(&self) -> Result<String> {
        let (product, sql) = match self.backend() {
            Backend::Sqlite => ("SQLite", "SELECT sqlite_version()"),
            Backend::Postgres => ("PostgreSQL", "SELECT current_setting('server_version')"),
            Backend::MySql => ("MySQL", "SELECT VERSION()"),
        };
        let version: String = match self.db_pool() {
            DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            DbPool::MySql(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        };
        Ok(if version.contains("MariaDB") {
            format!("MariaDB {version}")
        } else {
            format!("{product} {version}")
        })
    }
}

impl From<Row> for RawPerson {
    fn from(row: Row) -> Self {
        RawPerson {
            id: row.id,
            tenant: row.tenant.0,
            fodselsnummer: row.fodselsnummer.0,
            fornavn: row.fornavn.0,
            etternavn: row.etternavn.0,
            fodselsdato: row.fodselsdato,
            postnummer: row.postnummer.map(|text| text.0),
        }
    }
}

impl fmt::Debug for RawPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPerson")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn values(backend: Backend, person: &RawPerson, now: At) -> [SimpleExpr; 10] {
    let date: sea_query::Value = match person.fodselsdato {
        Some(date) => date.into(),
        None => sea_query::Value::TimeDate(None),
    };
    [
        person.id.into(),
        person.tenant.as_str().into(),
        person.fodselsnummer.as_str().into(),
        person.fornavn.as_str().into(),
        person.etternavn.as_str().into(),
        date.into(),
        person.postnummer.clone().into(),
        now.value(backend).into(),
        now.value(backend).into(),
        1i64.into(),
    ]
}

/// The table and its index, with the column types the store gives a collection's id,
/// tenant, plain string, date, timestamp and version columns on `backend`.
fn create_statements(backend: Backend) -> Vec<String> {
    let table = quoted(backend);
    let drop = format!("DROP TABLE IF EXISTS {table}");
    let index =
        format!("CREATE INDEX ix_{RAW_TABLE}_fodselsnummer ON {table} (tenant, fodselsnummer)");
    let create = match backend {
        Backend::Sqlite => format!(
            "CREATE TABLE {table} (id blob NOT NULL PRIMARY KEY, tenant text NOT NULL, \
             fodselsnummer text NOT NULL, fornavn text NOT NULL, etternavn text NOT NULL, \
             fodselsdato text, postnummer text, created_at text NOT NULL, \
             updated_at text NOT NULL, version integer NOT NULL DEFAULT 1)"
        ),
        Backend::Postgres => format!(
            "CREATE TABLE {table} (id uuid NOT NULL PRIMARY KEY, tenant varchar(4) NOT NULL, \
             fodselsnummer varchar(255) NOT NULL, fornavn varchar(255) NOT NULL, \
             etternavn varchar(255) NOT NULL, fodselsdato date, postnummer varchar(255), \
             created_at timestamp with time zone NOT NULL, \
             updated_at timestamp with time zone NOT NULL, version bigint NOT NULL DEFAULT 1)"
        ),
        Backend::MySql => format!(
            "CREATE TABLE {table} (id binary(16) NOT NULL PRIMARY KEY, tenant char(4) NOT NULL, \
             fodselsnummer varchar(255) NOT NULL, fornavn varchar(255) NOT NULL, \
             etternavn varchar(255) NOT NULL, fodselsdato date, postnummer varchar(255), \
             created_at datetime(6) NOT NULL, updated_at datetime(6) NOT NULL, \
             version bigint NOT NULL DEFAULT 1) \
             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        ),
    };
    vec![drop, create, index]
}

fn quoted(backend: Backend) -> String {
    match backend {
        Backend::MySql => format!("`{RAW_TABLE}`"),
        Backend::Sqlite | Backend::Postgres => format!("\"{RAW_TABLE}\""),
    }
}

fn begin(backend: Backend) -> &'static str {
    match backend {
        // Take the write lock at once rather than upgrading (and failing busy) later.
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres | Backend::MySql => "BEGIN",
    }
}

fn check_name(name: &str) -> Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if valid {
        Ok(())
    } else {
        Err(SqlError::Config(format!(
            "database name \"{name}\" is not lowercase letters, digits and _ (at most 63)"
        )))
    }
}

fn backend_of(admin_url: &str) -> Result<Backend> {
    Backend::from_url(admin_url).ok_or_else(|| {
        SqlError::Config(format!(
            "unsupported database URL \"{}\": use postgres:// or mysql:// (mariadb://)",
            redact_url(admin_url)
        ))
    })
}

fn sqlite_has_no_server() -> SqlError {
    SqlError::Config("SQLite has no server to create databases on: use a directory".into())
}

/// Runs one statement on a direct connection to the admin URL.
async fn admin_execute(admin_url: &str, sql: &str) -> Result<()> {
    let connect_error = |source| SqlError::Connect {
        role: crate::error::DatabaseRole::Data,
        backend: Backend::from_url(admin_url).unwrap_or(Backend::Postgres),
        url: redact_url(admin_url),
        source,
    };
    match backend_of(admin_url)? {
        Backend::Postgres => {
            let mut conn = PgConnection::connect(admin_url)
                .await
                .map_err(connect_error)?;
            let outcome = conn.execute(sql).await;
            let _ = conn.close().await;
            outcome?;
        }
        Backend::MySql => {
            let url = match admin_url.get(..8) {
                Some(scheme) if scheme.eq_ignore_ascii_case("mariadb:") => {
                    format!("mysql:{}", &admin_url[8..])
                }
                _ => admin_url.to_owned(),
            };
            let mut conn = MySqlConnection::connect(&url)
                .await
                .map_err(connect_error)?;
            let outcome = conn.execute(sql).await;
            let _ = conn.close().await;
            outcome?;
        }
        Backend::Sqlite => return Err(sqlite_has_no_server()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_checked_before_they_reach_sql() {
        assert!(check_name("datavern_bench").is_ok());
        assert!(check_name("datavern_bench_keys").is_ok());
        for bad in ["", "1bench", "Bench", "bench;drop", "bench\"", "bench-keys"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_the_id_only() {
        let person = RawPerson {
            id: Uuid::nil(),
            tenant: "4601".into(),
            fodselsnummer: "15108695088".into(),
            fornavn: "Kari".into(),
            etternavn: "Nordmann".into(),
            fodselsdato: None,
            postnummer: Some("5003".into()),
        };
        let debug = format!("{person:?}");
        assert!(
            debug.contains("00000000-0000-0000-0000-000000000000"),
            "{debug}"
        );
        for value in ["15108695088", "Kari", "Nordmann", "5003"] {
            assert!(!debug.contains(value), "{debug}");
        }
    }
}
