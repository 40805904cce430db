//! datavern's SQL dialect layer, on SQLite (the embedded default), PostgreSQL and
//! MariaDB/MySQL.
//!
//! **Invariant**: the only crate that knows SQL dialects or touches a sqlx pool. The store
//! above it builds its statements with sea-query and runs them through a [`Conn`]; what
//! differs between the backends (connection options, pools, transactions and their
//! isolation, locks, migrations, time values, introspection) is decided here.
//!
//! - [`Backend`], [`DatabaseConfig`] and [`StoreConfig`]: which database system, how to reach
//!   it (URLs held as secrets, [`redact_url`] for messages, TLS modes, timeouts), and the
//!   pair of databases a store is made of.
//! - [`Dialect`]: every difference between the backends' SQL (value encodings, column types,
//!   locking reads, JSON containment, row-level security, placeholders), one named method
//!   each; code above this crate asks it instead of matching on a [`Backend`].
//! - [`Database`]: a pool on one backend, with health, statistics, migrations ([`migrations`])
//!   and scrubbing; [`Conn`] one connection of it, [`Tx`] a transaction scoped to a tenant,
//!   [`Transaction`] one on the whole database ([`Begin`] says its isolation), and
//!   [`Database::serialized`] schema work under a lock across processes. The sqlx pool
//!   itself never leaves this crate.
//! - [`dump`]: consistent logical dumps of a whole database (rows as stored) and their
//!   loading into an empty one, for backups.
//! - [`SourceTable`]: a table of another database (a legacy system's), read-only, its rows
//!   as text in a stable order, for `datavern import`.
//! - [`copy`]: a whole database copied to another backend in keyset batches, values
//!   converted by meaning, resumable from checkpoints in the target, verified by row counts
//!   and backend-independent digests.
//! - [`grants`]: the serving role's privileges on PostgreSQL and MariaDB/MySQL.
//! - [`baseline`]: the raw-SQL baseline `datavern bench` compares the governed path with.
//! - With the `test-support` feature, `testing` gives each test fresh databases on any
//!   backend.

mod at;
mod backend;
pub mod baseline;
mod config;
mod conn;
pub mod copy;
mod database;
mod dialect;
pub mod dump;
mod error;
pub mod grants;
mod migrate;
mod session_lock;
mod source;
#[cfg(feature = "test-support")]
pub mod testing;
mod tx;

pub use self::at::{At, TimeError, to_civil_date, to_time_date};
pub use self::backend::{Backend, UnknownBackend};
pub use self::config::{
    DatabaseConfig, EMBEDDED_DATA_FILE, EMBEDDED_KEYS_FILE, StoreConfig, TlsMode, UnknownTlsMode,
    redact_url,
};
pub use self::conn::{AnyRow, Conn, DecodeRow, PooledConn, ReadLock, Text};
pub use self::database::{Database, PoolStats, WriteTurn};
pub use self::dialect::{Dialect, LockMode, SqlType};
pub use self::error::{DatabaseRole, Result, SqlError, report};
pub use self::migrate::migrations;
pub use self::session_lock::SessionLock;
pub use self::source::SourceTable;
pub use self::tx::{Begin, SchemaLock, Transaction, Tx, TxMode};

/// Static row types: `#[derive(FromRow)]` makes a struct of columns decodable on every
/// backend ([`AnyRow`]); [`Json`] decodes and binds a JSON column.
pub use sqlx::FromRow;
pub use sqlx::types::Json;

/// The `tracing` target under which the driver logs every statement it runs (at `info`,
/// slow ones at `warn`), for log filters.
pub const STATEMENT_LOG_TARGET: &str = "sqlx::query";
