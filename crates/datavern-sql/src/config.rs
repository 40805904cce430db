//! How to reach the databases: URLs (kept secret), pool sizes, timeouts and TLS.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::backend::Backend;
use crate::error::SqlError;

/// The file name of the data database in an embedded (SQLite) installation.
pub const EMBEDDED_DATA_FILE: &str = "data.db";
/// The file name of the key store database in an embedded (SQLite) installation.
pub const EMBEDDED_KEYS_FILE: &str = "keys.db";

/// How to connect to one database: where it is, pool sizes, timeouts and TLS.
///
/// The URL usually carries a password, so it is held as a [`SecretString`] and `Debug` shows
/// it with the password replaced by `***` (see [`redact_url`]).
#[derive(Clone)]
pub struct DatabaseConfig {
    target: Target,
    backend: Backend,
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
    busy_timeout: Duration,
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
}

#[derive(Clone)]
enum Target {
    Url(SecretString),
    SqliteFile(PathBuf),
}

/// Transport security for PostgreSQL and MariaDB/MySQL connections; ignored by SQLite, which
/// has no transport.
///
/// The names and meanings are libpq's `sslmode`; MySQL's `ssl-mode` equivalents are
/// `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA` and `VERIFY_IDENTITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// Never use TLS.
    Disable,
    /// Use TLS if the server offers it, else plaintext (the drivers' default).
    Prefer,
    /// Refuse to connect without TLS; the server's certificate is not verified.
    Require,
    /// Require TLS and a certificate signed by a trusted CA (the CA file, else the system's
    /// roots); the host name is not checked.
    VerifyCa,
    /// Require TLS, a trusted certificate and a host name matching it.
    VerifyFull,
}

/// The connection settings of a whole store: the data database and the key store database.
///
/// They are two databases by design (two SQLite files in embedded mode; two databases,
/// possibly on one server, otherwise), so that a copy of the data never carries the keys
/// that decrypt it. `Store::open` refuses two configurations that
/// reach the same database.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data database: collection tables, audit log, outbox, jobs.
    pub data: DatabaseConfig,
    /// The key store: wrapped subject keys and blind-index root keys.
    pub keys: DatabaseConfig,
}

impl StoreConfig {
    /// Two configurations, one per database.
    pub fn new(data: DatabaseConfig, keys: DatabaseConfig) -> Self {
        Self { data, keys }
    }

    /// An embedded installation in `dir`: SQLite files `data.db` and `keys.db`, created if
    /// missing.
    pub fn embedded(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            data: DatabaseConfig::sqlite_file(dir.join(EMBEDDED_DATA_FILE)),
            keys: DatabaseConfig::sqlite_file(dir.join(EMBEDDED_KEYS_FILE)),
        }
    }
}

impl DatabaseConfig {
    /// Default largest pool size.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// Default wait for a free connection before giving up.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default wait for a SQLite lock before `SQLITE_BUSY`.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// A database by URL: `sqlite://path/to/file.db`, `postgres://user:pass@host:5432/db`,
    /// `mysql://user:pass@host:3306/db` (or `mariadb://…`). TLS options in the URL
    /// (`sslmode=…`, `ssl-mode=…`) apply unless [`with_tls`](Self::with_tls) overrides them.
    pub fn new(url: impl Into<String>) -> Result<Self, SqlError> {
        let url: String = url.into();
        let Some(backend) = Backend::from_url(&url) else {
            return Err(SqlError::Config(format!(
                "unsupported database URL \"{}\": use sqlite://, postgres:// or mysql:// \
                 (mariadb://)",
                redact_url(&url)
            )));
        };
        Ok(Self::with_target(
            Target::Url(SecretString::from(url)),
            backend,
        ))
    }

    /// A SQLite database file, created if missing.
    pub fn sqlite_file(path: impl Into<PathBuf>) -> Self {
        Self::with_target(Target::SqliteFile(path.into()), Backend::Sqlite)
    }

    fn with_target(target: Target, backend: Backend) -> Self {
        Self {
            target,
            backend,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            min_connections: 0,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            tls: None,
            ca_file: None,
        }
    }

    /// The largest number of pooled connections (at least 1).
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// The number of connections kept open when idle.
    pub fn with_min_connections(mut self, min: u32) -> Self {
        self.min_connections = min;
        self
    }

    /// How long to wait for a free connection before failing.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Abort statements that run longer than this: PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, MySQL `max_execution_time` (which covers `SELECT` only). SQLite
    /// has no statement timeout; the setting is ignored there.
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// SQLite only: how long a connection waits for another's lock before `SQLITE_BUSY`.
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The TLS mode, overriding any given in the URL.
    pub fn with_tls(mut self, mode: TlsMode) -> Self {
        self.tls = Some(mode);
        self
    }

    /// A PEM file of CA certificates to verify the server against (with
    /// [`TlsMode::VerifyCa`] or [`TlsMode::VerifyFull`]).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The backend the URL names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn redacted_url(&self) -> String {
        match &self.target {
            Target::Url(url) => redact_url(url.expose_secret()),
            Target::SqliteFile(path) => format!("sqlite://{}", path.display()),
        }
    }

    /// The largest pool size.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// The idle pool size.
    pub fn min_connections(&self) -> u32 {
        self.min_connections
    }

    /// The wait for a free connection.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The statement timeout, if any.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
    }

    /// The SQLite busy timeout.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// The TLS mode, if set here rather than in the URL.
    pub fn tls(&self) -> Option<TlsMode> {
        self.tls
    }

    /// The CA file, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The SQLite file, if this is a SQLite configuration given by path.
    pub(crate) fn sqlite_path(&self) -> Option<&Path> {
        match &self.target {
            Target::SqliteFile(path) => Some(path),
            Target::Url(_) => None,
        }
    }

    /// The URL in clear, for the driver only.
    pub(crate) fn expose_url(&self) -> Option<&str> {
        match &self.target {
            Target::Url(url) => Some(url.expose_secret()),
            Target::SqliteFile(_) => None,
        }
    }

    /// Refuses settings that cannot work, saying what to change.
    pub(crate) fn check(&self) -> Result<(), SqlError> {
        if self.max_connections == 0 {
            return Err(SqlError::Config(
                "max_connections must be at least 1".to_owned(),
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(SqlError::Config(format!(
                "min_connections ({}) exceeds max_connections ({})",
                self.min_connections, self.max_connections
            )));
        }
        if self.ca_file.is_some()
            && !matches!(self.tls, Some(TlsMode::VerifyCa | TlsMode::VerifyFull))
            && self.backend != Backend::Sqlite
        {
            return Err(SqlError::Config(
                "a CA file is only used to verify the server: set tls to verify-ca or \
                 verify-full"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.redacted_url())
            .field("backend", &self.backend)
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("busy_timeout", &self.busy_timeout)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl TlsMode {
    /// Every mode, weakest first.
    pub const ALL: [TlsMode; 5] = [
        TlsMode::Disable,
        TlsMode::Prefer,
        TlsMode::Require,
        TlsMode::VerifyCa,
        TlsMode::VerifyFull,
    ];

    /// The configuration spelling (libpq's).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not a TLS mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TLS mode \"{0}\": expected disable, prefer, require, verify-ca or verify-full")]
pub struct UnknownTlsMode(pub String);

impl FromStr for TlsMode {
    type Err = UnknownTlsMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        TlsMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == wanted)
            .ok_or_else(|| UnknownTlsMode(s.to_owned()))
    }
}

/// `url` with the password (in the user info, or a query parameter whose name contains
/// `password`) replaced by `***`.
///
/// ```
/// # use datavern_sql::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db:5432/datavern?sslmode=require"),
///     "postgres://app:***@db:5432/datavern?sslmode=require"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        // Not a URL with an authority: show only the scheme.
        return match url.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:***"),
            None => "***".to_owned(),
        };
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = url[..start].to_owned();
    match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

/// `url` with its database (path) replaced by `database`, query kept.
pub(crate) fn url_with_database(url: &str, database: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let authority_start = before_query.find("://").map_or(0, |i| i + 3);
    let base = match before_query[authority_start..].find('/') {
        Some(slash) => &before_query[..authority_start + slash],
        None => before_query,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_user_info_and_query() {
        let check = |url: &str, expected: &str| assert_eq!(redact_url(url), expected, "{url}");
        check(
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@127.0.0.1:5432/test",
        );
        check("mysql://root:pw@h/db", "mysql://root:***@h/db");
        check("mysql://root:p@ss@h", "mysql://root:***@h");
        check(
            "postgres://h/db?user=a&password=x&sslmode=require",
            "postgres://h/db?user=a&password=***&sslmode=require",
        );
        check("sqlite://data.db?mode=rwc", "sqlite://data.db?mode=rwc");
        check("sqlite:data.db", "sqlite:***");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let config = DatabaseConfig::new("postgres://app:hunter2@db/datavern").unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("postgres://app:***@db/datavern"), "{debug}");
    }

    #[test]
    fn refuses_impossible_settings() {
        let base = DatabaseConfig::new("postgres://h/db").unwrap();
        assert!(base.clone().with_max_connections(0).check().is_err());
        assert!(
            base.clone()
                .with_max_connections(2)
                .with_min_connections(3)
                .check()
                .is_err()
        );
        let err = base
            .clone()
            .with_tls(TlsMode::Require)
            .with_ca_file("/ca.pem")
            .check()
            .unwrap_err();
        assert!(err.to_string().contains("verify-ca"), "{err}");
        assert!(
            base.with_tls(TlsMode::VerifyFull)
                .with_ca_file("/ca.pem")
                .check()
                .is_ok()
        );
        assert!(DatabaseConfig::new("oracle://h/db").is_err());
    }

    #[test]
    fn tls_modes_parse_in_either_spelling() {
        assert_eq!("verify_full".parse::<TlsMode>(), Ok(TlsMode::VerifyFull));
        assert_eq!("Require".parse::<TlsMode>(), Ok(TlsMode::Require));
        assert!("on".parse::<TlsMode>().is_err());
    }
}
