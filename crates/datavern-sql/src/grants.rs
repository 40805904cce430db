//! The privileges of the role that serves requests, separate from the owner that migrates.
//!
//! A deployment on PostgreSQL or MariaDB/MySQL should connect the service as a role that owns
//! nothing: the owner runs the migrations and applies the catalog (`database.migration_url`),
//! and the serving role gets exactly what the service needs:
//!
//! - on every table of the data database except the audit log's: `SELECT, INSERT, UPDATE,
//!   DELETE`;
//! - on `dv_audit`: `SELECT, INSERT`, and `UPDATE` of the seal columns only (`sequence`,
//!   `entry_hash`, `sealed_at`), which the sealer sets once per entry;
//! - on `dv_audit_head`: `SELECT` and `UPDATE (size, head_hash, sealed_at)`;
//! - on `dv_audit_checkpoints`: `SELECT, INSERT`;
//! - in the key store: `SELECT, INSERT` on both key tables and `UPDATE (wrapped, destroyed_at)`
//!   on `dv_subject_keys` (destroying a key);
//! - `SELECT` on `_sqlx_migrations` (to check the schema is current), nothing else: no
//!   `DELETE`, `TRUNCATE`, `DROP`, `ALTER`, `CREATE`, `TRIGGER` or `REFERENCES` anywhere.
//!
//! The triggers of migration 0008 refuse, for every role including the owner, any `UPDATE`
//! of a sealed entry, any `UPDATE` of an unsealed entry's other columns, and every `DELETE`
//! (and on PostgreSQL `TRUNCATE`) of the audit tables. SQLite has no roles: its protection is
//! the file's mode (0600), those triggers and the hash chain. See `docs/storage.md`.

use crate::backend::Backend;
use crate::database::{Database, DbPool};
use crate::error::{DatabaseRole, Result, SqlError};

/// The audit log's tables, whose privileges differ from the others'.
const AUDIT_TABLES: [&str; 3] = ["dv_audit", "dv_audit_head", "dv_audit_checkpoints"];
/// sqlx's migration bookkeeping table.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The role (PostgreSQL) or account (MariaDB/MySQL) that serves requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantee {
    name: String,
    host: String,
}

impl Grantee {
    /// A role or user name: letters, digits and `_`, starting with a letter or `_`, at most
    /// 63 bytes. On MariaDB/MySQL the account is `'name'@'%'` unless [`with_host`] says
    /// otherwise.
    ///
    /// [`with_host`]: Self::with_host
    pub fn new(name: &str) -> Result<Grantee> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(SqlError::Config(
                "a role name must be 1 to 63 ASCII letters, digits or `_`, starting with a \
                 letter or `_`"
                    .to_owned(),
            ));
        }
        Ok(Grantee {
            name: name.to_owned(),
            host: "%".to_owned(),
        })
    }

    /// MariaDB/MySQL: the host part of the account (`%`, `10.0.0.%`, `app.example.no`).
    pub fn with_host(mut self, host: &str) -> Result<Grantee> {
        let ok = !host.is_empty()
            && host.len() <= 255
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '%' | '_' | '-' | ':'));
        if !ok {
            return Err(SqlError::Config(
                "a host must be ASCII letters, digits and `.`, `%`, `_`, `-`, `:`".to_owned(),
            ));
        }
        self.host = host.to_owned();
        Ok(self)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn sql(&self, backend: Backend) -> String {
        match backend {
            Backend::MySql => format!("'{}'@'{}'", self.name, self.host),
            _ => format!("\"{}\"", self.name),
        }
    }
}

/// The statements that give `grantee` exactly the serving role's privileges on `db` (the data
/// database or the key store, by its role), for the tables that exist now. Run them as the
/// owner, after the migrations and after every catalog that adds a collection (on PostgreSQL
/// default privileges cover tables the owner creates later). They first revoke everything,
/// so running them again converges. SQLite has no roles: an empty list.
pub async fn serving_grants(db: &Database, grantee: &Grantee) -> Result<Vec<String>> {
    let backend = db.backend();
    if backend == Backend::Sqlite {
        return Ok(Vec::new());
    }
    let to = grantee.sql(backend);
    let q = |name: &str| quote(backend, name);
    let tables = tables(db).await?;
    let mut statements = Vec::new();
    match backend {
        Backend::Postgres => {
            let schema: String = match db.db_pool() {
                DbPool::Postgres(pool) => {
                    sqlx::query_scalar("SELECT current_schema()::text")
                        .fetch_one(pool)
                        .await?
                }
                _ => unreachable_backend()?,
            };
            statements.push(format!(
                "REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {to}",
                q(&schema)
            ));
            statements.push(format!("GRANT USAGE ON SCHEMA {} TO {to}", q(&schema)));
            if db.role() == DatabaseRole::Data {
                // Collection tables the owner creates later, when a catalog adds one.
                statements.push(format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE \
                     ON TABLES TO {to}",
                    q(&schema)
                ));
            }
        }
        // MySQL has no REVOKE over all of a database's tables: per table, below.
        Backend::MySql | Backend::Sqlite => {}
    }
    for table in &tables {
        if backend == Backend::MySql {
            // `REVOKE` fails where the account holds nothing on the table: grant something
            // first, so that revoking everything works on a first run and a rerun alike.
            statements.push(format!("GRANT SELECT ON {} TO {to}", q(table)));
            statements.push(format!("REVOKE ALL PRIVILEGES ON {} FROM {to}", q(table)));
        }
        statements.extend(table_grants(backend, db.role(), table, &to));
    }
    Ok(statements)
}

/// Applies [`serving_grants`] on `db` (connected as its owner), in order.
pub async fn apply_serving_grants(db: &Database, grantee: &Grantee) -> Result<Vec<String>> {
    let statements = serving_grants(db, grantee).await?;
    let mut conn = db.acquire().await?;
    for statement in &statements {
        conn.conn().execute_raw(statement).await?;
    }
    Ok(statements)
}

/// The grants of one table.
fn table_grants(backend: Backend, role: DatabaseRole, table: &str, to: &str) -> Vec<String> {
    let t = quote(backend, table);
    let cols = |names: &[&str]| {
        names
            .iter()
            .map(|n| quote(backend, n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (role, table) {
        (_, MIGRATIONS_TABLE) => vec![format!("GRANT SELECT ON {t} TO {to}")],
        (DatabaseRole::Data, "dv_audit") => vec![
            format!("GRANT SELECT, INSERT ON {t} TO {to}"),
            format!(
                "GRANT UPDATE ({}) ON {t} TO {to}",
                cols(&["sequence", "entry_hash", "sealed_at"])
            ),
        ],
        (DatabaseRole::Data, "dv_audit_head") => vec![
            format!("GRANT SELECT ON {t} TO {to}"),
            format!(
                "GRANT UPDATE ({}) ON {t} TO {to}",
                cols(&["size", "head_hash", "sealed_at"])
            ),
        ],
        (DatabaseRole::Data, "dv_audit_checkpoints") => {
            vec![format!("GRANT SELECT, INSERT ON {t} TO {to}")]
        }
        (DatabaseRole::Keys, "dv_subject_keys") => vec![
            format!("GRANT SELECT, INSERT ON {t} TO {to}"),
            format!(
                "GRANT UPDATE ({}) ON {t} TO {to}",
                cols(&["wrapped", "destroyed_at"])
            ),
        ],
        (DatabaseRole::Keys, _) => vec![format!("GRANT SELECT, INSERT ON {t} TO {to}")],
        (DatabaseRole::Data, _) => {
            vec![format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {to}"
            )]
        }
    }
}

/// Whether `table` is one of the audit log's tables.
pub fn is_audit_table(table: &str) -> bool {
    AUDIT_TABLES.contains(&table)
}

/// The base tables of the database's current schema, sorted.
async fn tables(db: &Database) -> Result<Vec<String>> {
    let mut tables: Vec<String> = match db.db_pool() {
        DbPool::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
            )
            .fetch_all(pool)
            .await?
        }
        DbPool::MySql(pool) => {
            sqlx::query_scalar(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(pool)
            .await?
        }
        DbPool::Sqlite(_) => Vec::new(),
    };
    tables.sort();
    // Names come from the catalog of the server; refuse anything that would need quoting.
    if let Some(bad) = tables
        .iter()
        .find(|t| !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(SqlError::Config(format!(
            "table {bad:?} is not named as datavern names tables; grant its privileges by hand"
        )));
    }
    Ok(tables)
}

fn quote(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

fn unreachable_backend<T>() -> Result<T> {
    Err(SqlError::Config(
        "the pool's backend changed under the grants".to_owned(),
    ))
}
