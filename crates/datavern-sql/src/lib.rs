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
//! - [`Database`]: a pool on one backend, with health, statistics, migrations ([`migrations`])
//!   and scrubbing; [`Conn`] one connection of it, [`Tx`] a transaction scoped to a tenant.
//! - [`grants`]: the serving role's privileges on PostgreSQL and MariaDB/MySQL.
//! - [`baseline`]: the raw-SQL baseline `datavern bench` compares the governed path with.
//! - With the `test-support` feature, `testing` gives each test fresh databases on any
//!   backend.

mod at;
mod backend;
pub mod baseline;
mod config;
mod conn;
mod database;
mod error;
pub mod grants;
mod migrate;
#[cfg(feature = "test-support")]
pub mod testing;
mod tx;

pub use self::at::{At, TimeError, to_civil_date, to_time_date};
pub use self::backend::{Backend, UnknownBackend};
pub use self::config::{
    DatabaseConfig, EMBEDDED_DATA_FILE, EMBEDDED_KEYS_FILE, StoreConfig, TlsMode, UnknownTlsMode,
    redact_url,
};
pub use self::conn::{AnyRow, Conn, PooledConn, Text};
pub use self::database::{Database, DbPool, PoolStats, WriteTurn};
pub use self::error::{DatabaseRole, Result, SqlError, report};
pub use self::migrate::migrations;
pub use self::tx::{Tx, TxMode};
