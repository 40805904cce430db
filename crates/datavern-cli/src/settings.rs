//! One typed `Settings` for every command that touches data (`serve`, and `audit verify`,
//! `audit export` and later ones), resolved the same way everywhere:
//!
//! ```text
//! defaults < datavern.toml (--config FILE, else ./datavern.toml if present)
//!          < DATAVERN_* environment variables (`__` nests: DATAVERN_DATABASE__URL)
//!          < command-line flags (--data-dir, --listen)
//! ```
//!
//! Relative paths in the configuration file are relative to the file's directory; relative
//! paths from the environment or flags are relative to the working directory. Paths that are
//! not set default to files under `data_dir`. `Debug` shows database URLs with their
//! passwords replaced by `***`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use datavern_core::catalog::Catalog;
use datavern_server::{RateLimit, ServerConfig};
use datavern_sql::{DatabaseConfig, StoreConfig, TlsMode, redact_url};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::magic::RelativePathBuf;
use serde::{Deserialize, Deserializer};

/// The configuration file looked for in the working directory when `--config` is not given.
pub(crate) const CONFIG_FILE: &str = "datavern.toml";
/// The prefix of environment variables that configure datavern.
pub(crate) const ENV_PREFIX: &str = "DATAVERN_";
/// The example catalog, used when no catalog is configured.
pub(crate) const EXAMPLE_CATALOG: &str = include_str!("../../../examples/kommune.yaml");

/// The default data directory.
const DEFAULT_DATA_DIR: &str = "datavern-data";
/// Default file names under the data directory.
pub(crate) const KEK_FILE: &str = "kek.key";
pub(crate) const SIGNING_KEY_FILE: &str = "audit-signing.key";
pub(crate) const PRINCIPALS_FILE: &str = "principals.toml";
pub(crate) const BACKUP_PASSWORD_FILE: &str = "backup-password.wrapped";
pub(crate) const DEV_API_KEY_FILE: &str = "dev-api-key";
/// The origin line of the audit log's signed checkpoints: `serve` signs with it, and
/// `audit verify` must check for it.
pub(crate) const AUDIT_ORIGIN: &str = "datavern/audit";

/// The top-level keys; environment variables under other names (e.g. the test suites'
/// `DATAVERN_TEST_POSTGRES_URL`) are not configuration.
const SECTIONS: [&str; 10] = [
    "data_dir",
    "catalog",
    "server",
    "database",
    "keys",
    "auth",
    "audit",
    "retention",
    "requests",
    "backup",
];

/// Where the settings come from, shared by every command that touches data.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct SettingsArgs {
    /// Configuration file [default: ./datavern.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory: SQLite databases, key files, principals [default: ./datavern-data].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

/// Everything that says how datavern runs. The catalog says *what* is governed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Where embedded databases, key files and principals live by default.
    #[serde(default = "default_data_dir")]
    pub(crate) data_dir: RelativePathBuf,
    #[serde(default)]
    pub(crate) catalog: CatalogSettings,
    #[serde(default)]
    pub(crate) server: ServerSettings,
    #[serde(default)]
    pub(crate) database: DatabaseSettings,
    #[serde(default)]
    pub(crate) keys: KeySettings,
    #[serde(default)]
    pub(crate) auth: AuthSettings,
    #[serde(default)]
    pub(crate) audit: AuditSettings,
    #[serde(default)]
    pub(crate) retention: RetentionSettings,
    #[serde(default)]
    pub(crate) requests: RequestSettings,
    #[serde(default)]
    pub(crate) backup: BackupSettings,
    /// The configuration file read, if any.
    #[serde(skip)]
    pub(crate) config_file: Option<PathBuf>,
}

/// `[catalog]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogSettings {
    /// The catalog file; the built-in example catalog when unset.
    pub(crate) path: Option<RelativePathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServerSettings {
    /// `IP:port` to listen on.
    pub(crate) listen: SocketAddr,
    /// Largest request body: bytes, or `512KiB`, `1MiB`, `2MB`.
    #[serde(deserialize_with = "bytes")]
    pub(crate) body_limit: usize,
    /// `30s`, `500ms`, `2m`, or seconds.
    #[serde(deserialize_with = "duration")]
    pub(crate) request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    #[serde(deserialize_with = "duration")]
    pub(crate) shutdown_grace: Duration,
    /// How long a client may take to send a request's headers (also the idle timeout of a
    /// kept-alive connection).
    #[serde(deserialize_with = "duration")]
    pub(crate) header_read_timeout: Duration,
    /// The most connections open at once.
    pub(crate) max_connections: usize,
    /// The most connections open at once from one client address; 0: no limit.
    pub(crate) max_connections_per_ip: usize,
    /// Requests a minute per client address; 0: no limit.
    pub(crate) rate_limit_per_ip: u32,
    /// The burst allowed per client address.
    pub(crate) rate_limit_per_ip_burst: u32,
    /// Requests a minute per authenticated principal; 0: no limit.
    pub(crate) rate_limit_per_principal: u32,
    /// The burst allowed per principal.
    pub(crate) rate_limit_per_principal_burst: u32,
}

/// `[database]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DatabaseSettings {
    /// The data database URL; SQLite `data.db` under `data_dir` when unset.
    pub(crate) url: Option<DatabaseUrl>,
    /// The key store database URL; required with `url`.
    pub(crate) keys_url: Option<DatabaseUrl>,
    /// The data database as its owner, who runs migrations and applies the catalog; `url`
    /// is then the serving role's, which may not change the schema (`datavern db grants`).
    pub(crate) migration_url: Option<DatabaseUrl>,
    /// The key store as its owner; required with `migration_url`.
    pub(crate) keys_migration_url: Option<DatabaseUrl>,
    /// Largest pool size, per database.
    pub(crate) max_connections: u32,
    /// Connections kept open when idle, per database.
    pub(crate) min_connections: u32,
    /// How long to wait for a free connection.
    #[serde(deserialize_with = "duration")]
    pub(crate) acquire_timeout: Duration,
    /// Abort statements running longer than this (PostgreSQL, MariaDB/MySQL).
    #[serde(deserialize_with = "optional_duration")]
    pub(crate) statement_timeout: Option<Duration>,
    /// `disable`, `prefer`, `require`, `verify-ca`, `verify-full`.
    pub(crate) tls: Option<String>,
    /// CA certificates (PEM) to verify the server with.
    pub(crate) ca_file: Option<RelativePathBuf>,
}

/// A database URL; `Debug` hides the password.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct DatabaseUrl(String);

/// `[keys]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeySettings {
    /// The local key-encryption key file; `data_dir/kek.key` when unset.
    pub(crate) kek_file: Option<RelativePathBuf>,
    /// The audit checkpoint signing key; `data_dir/audit-signing.key` when unset.
    pub(crate) signing_key_file: Option<RelativePathBuf>,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthSettings {
    /// The principals file (API key hashes); `data_dir/principals.toml` when unset.
    pub(crate) principals_file: Option<RelativePathBuf>,
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuditSettings {
    /// How often a signed checkpoint of the audit chain is written.
    #[serde(deserialize_with = "duration")]
    pub(crate) checkpoint_interval: Duration,
}

/// `[retention]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RetentionSettings {
    /// How often `serve` runs retention in the background: a duration, or `off` (the
    /// default: deleting is irreversible, so a deployment opts in, after a dry run).
    #[serde(deserialize_with = "interval")]
    pub(crate) interval: Option<Duration>,
    /// Records changed per transaction.
    pub(crate) batch_size: usize,
}

/// `[backup]`: the backup repository (`docs/backup.md`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct BackupSettings {
    /// The repository: a local directory, or `s3://bucket/prefix` (with `[backup.s3]`).
    pub(crate) repository: Option<String>,
    /// The file holding the repository password wrapped by the KEK (default
    /// `backup-password.wrapped` under the data directory).
    pub(crate) password_file: Option<RelativePathBuf>,
    /// The name the password's wrap is bound to (default `datavern`).
    pub(crate) name: Option<String>,
    /// A storage target of kind `backup` in the catalog: where the repository is, and what
    /// it may hold.
    pub(crate) target: Option<String>,
    /// Or the repository's location: `no`, `eea`, `adequate` or `third`.
    pub(crate) location: Option<String>,
    /// rustic's local cache of the repository's indexes and trees (none by default).
    pub(crate) cache_dir: Option<RelativePathBuf>,
    /// How often `serve` takes a data snapshot (and a key-store snapshot): a duration, or
    /// `off` (the default).
    #[serde(deserialize_with = "interval")]
    pub(crate) interval: Option<Duration>,
    /// How often `serve` checks the repository's structure: a duration, or `off`.
    #[serde(deserialize_with = "interval")]
    pub(crate) verify_interval: Option<Duration>,
    /// `[backup.s3]`: the endpoint and credentials of an `s3://` repository.
    pub(crate) s3: Option<S3Settings>,
    /// `[backup.pitr]`: PostgreSQL point-in-time recovery through pgBackRest.
    pub(crate) pitr: Option<PitrSettings>,
}

/// `[backup.pitr]`: the PostgreSQL cluster pgBackRest backs up, and where it keeps things.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PitrSettings {
    /// pgBackRest's name for the cluster (default `datavern`).
    #[serde(default = "default_stanza")]
    pub(crate) stanza: String,
    /// The cluster's data directory.
    pub(crate) pg_data: RelativePathBuf,
    /// The cluster's port (default 5432).
    #[serde(default = "default_pg_port")]
    pub(crate) pg_port: u16,
    /// The directory of the cluster's socket (default `/var/run/postgresql`).
    pub(crate) socket_dir: Option<RelativePathBuf>,
    /// pgBackRest's repository directory.
    pub(crate) repo_path: RelativePathBuf,
    /// pgBackRest's own directory (log, lock, spool) and its private configuration file.
    pub(crate) work_dir: RelativePathBuf,
    /// The OS user pgBackRest runs as (the cluster's owner, e.g. `postgres`).
    pub(crate) run_as: Option<String>,
}

fn default_stanza() -> String {
    "datavern".to_owned()
}

fn default_pg_port() -> u16 {
    5432
}

/// `[backup.s3]`. `Debug` never shows the secret key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct S3Settings {
    /// The endpoint URL (`https://s3.example.no`).
    pub(crate) endpoint: String,
    /// The region, if the store wants one.
    pub(crate) region: Option<String>,
    /// The access key id.
    pub(crate) access_key_id: String,
    /// The secret access key.
    pub(crate) secret_access_key: String,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// `[requests]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RequestSettings {
    /// The four-eyes rule: the data subject request types that a principal other than the
    /// one who verified the request must run (default `["erasure", "rectification"]`; `[]`
    /// switches it off, which `serve` warns about).
    pub(crate) four_eyes: Vec<String>,
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            four_eyes: vec!["erasure".to_owned(), "rectification".to_owned()],
        }
    }
}

impl RequestSettings {
    /// The four-eyes rule the settings name; an unknown request type is refused.
    pub(crate) fn four_eyes(&self) -> anyhow::Result<datavern_core::dsr::FourEyes> {
        let types = self
            .four_eyes
            .iter()
            .map(|name| {
                name.parse::<datavern_core::dsr::RequestType>()
                    .map_err(|err| anyhow::anyhow!("requests.four_eyes: {err}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(datavern_core::dsr::FourEyes::for_types(types))
    }
}

/// Whether the process runs on the built-in development setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No configuration file and no database URL: SQLite under the data directory, and
    /// missing keys and a development API key are created.
    Development,
    /// Configured: every key and the principals file must exist (`datavern init` makes them).
    Configured,
}

/// Values given on the command line of a particular command, highest precedence.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    /// `--listen`.
    pub(crate) listen: Option<SocketAddr>,
}

impl Settings {
    /// Resolves the settings from defaults, the configuration file, `DATAVERN_` environment
    /// variables and the flags.
    pub(crate) fn load(args: &SettingsArgs, overrides: &Overrides) -> anyhow::Result<Settings> {
        Self::load_from(args, overrides, Env::prefixed(ENV_PREFIX))
    }

    fn load_from(args: &SettingsArgs, overrides: &Overrides, env: Env) -> anyhow::Result<Settings> {
        let config_file = match &args.config {
            Some(path) if !path.is_file() => {
                bail!("configuration file {} does not exist", path.display())
            }
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::new();
        if let Some(path) = &config_file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = env
            .filter(|key| {
                let first = key.as_str().split("__").next().unwrap_or_default();
                SECTIONS.iter().any(|s| first.eq_ignore_ascii_case(s))
            })
            .split("__");
        figment = figment.merge(env);
        if let Some(dir) = &args.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        if let Some(listen) = overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen.to_string()));
        }
        let mut settings: Settings = figment.extract().map_err(|err| {
            let errors: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("invalid configuration: {}", errors.join("; "))
        })?;
        settings.config_file = config_file;
        Ok(settings)
    }

    /// Development or configured (see [`Mode`]).
    pub(crate) fn mode(&self) -> Mode {
        if self.config_file.is_none() && self.database.url.is_none() {
            Mode::Development
        } else {
            Mode::Configured
        }
    }

    /// The data directory.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir.relative()
    }

    /// The KEK file.
    pub(crate) fn kek_file(&self) -> PathBuf {
        self.under_data_dir(self.keys.kek_file.as_ref(), KEK_FILE)
    }

    /// The audit checkpoint signing key file.
    pub(crate) fn signing_key_file(&self) -> PathBuf {
        self.under_data_dir(self.keys.signing_key_file.as_ref(), SIGNING_KEY_FILE)
    }

    /// The principals file.
    pub(crate) fn principals_file(&self) -> PathBuf {
        self.under_data_dir(self.auth.principals_file.as_ref(), PRINCIPALS_FILE)
    }

    /// The catalog: the configured file, or the built-in example.
    pub(crate) fn catalog(&self) -> anyhow::Result<Catalog> {
        let (text, origin) = self.catalog_text()?;
        Catalog::from_yaml(&text)
            .map_err(|errors| anyhow::anyhow!("catalog {origin} is invalid:\n{errors}"))
    }

    /// The catalog's text and where it came from.
    pub(crate) fn catalog_text(&self) -> anyhow::Result<(String, String)> {
        Ok(match &self.catalog.path {
            Some(path) => {
                let path = path.relative();
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read catalog {}", path.display()))?;
                (text, path.display().to_string())
            }
            None => (
                EXAMPLE_CATALOG.to_owned(),
                "the built-in example".to_owned(),
            ),
        })
    }

    /// The file holding the backup repository's wrapped password.
    pub(crate) fn backup_password_file(&self) -> PathBuf {
        self.under_data_dir(self.backup.password_file.as_ref(), BACKUP_PASSWORD_FILE)
    }

    /// How to reach the data database and the key store as their owner, to migrate them and
    /// apply the catalog, when that is another role than the one serving (`migration_url`
    /// and `keys_migration_url`); `None` when one role does both.
    pub(crate) fn owner_store_config(&self) -> anyhow::Result<Option<StoreConfig>> {
        let db = &self.database;
        match (&db.migration_url, &db.keys_migration_url) {
            (None, None) => Ok(None),
            (Some(data), Some(keys)) => {
                if db.url.is_none() {
                    bail!(
                        "database.migration_url is set but database.url is not: the migration \
                         URL is the owner's, beside the serving role's URL"
                    );
                }
                let (data, keys) = (
                    DatabaseConfig::new(data.0.clone())?,
                    DatabaseConfig::new(keys.0.clone())?,
                );
                Ok(Some(self.configured(data, keys)?))
            }
            (Some(_), None) | (None, Some(_)) => bail!(
                "set both database.migration_url and database.keys_migration_url (the owners of \
                 the data database and the key store), or neither"
            ),
        }
    }

    /// How to reach the data database and the key store.
    pub(crate) fn store_config(&self) -> anyhow::Result<StoreConfig> {
        let db = &self.database;
        let (data, keys) = match (&db.url, &db.keys_url) {
            (None, None) => {
                let embedded = StoreConfig::embedded(self.data_dir());
                (embedded.data, embedded.keys)
            }
            (Some(data), Some(keys)) => (
                DatabaseConfig::new(data.0.clone())?,
                DatabaseConfig::new(keys.0.clone())?,
            ),
            (Some(_), None) => bail!(
                "database.url is set but database.keys_url is not: the key store needs its own \
                 database (DATAVERN_DATABASE__KEYS_URL), so that a copy of the data never holds \
                 the keys that decrypt it"
            ),
            (None, Some(_)) => bail!(
                "database.keys_url is set but database.url is not: set both, or neither for \
                 SQLite under the data directory"
            ),
        };
        self.configured(data, keys)
    }

    /// `data` and `keys` with the pool, timeout and TLS settings of `[database]`.
    fn configured(
        &self,
        data: DatabaseConfig,
        keys: DatabaseConfig,
    ) -> anyhow::Result<StoreConfig> {
        let db = &self.database;
        let tls = db
            .tls
            .as_deref()
            .map(str::parse::<TlsMode>)
            .transpose()
            .context("database.tls")?;
        let configure = |mut config: DatabaseConfig| {
            config = config
                .with_max_connections(db.max_connections)
                .with_min_connections(db.min_connections)
                .with_acquire_timeout(db.acquire_timeout);
            if let Some(timeout) = db.statement_timeout {
                config = config.with_statement_timeout(timeout);
            }
            if let Some(tls) = tls {
                config = config.with_tls(tls);
            }
            if let Some(ca) = &db.ca_file {
                config = config.with_ca_file(ca.relative());
            }
            config
        };
        Ok(StoreConfig::new(configure(data), configure(keys)))
    }

    /// The HTTP server's settings.
    pub(crate) fn server_config(&self) -> ServerConfig {
        ServerConfig {
            listen: self.server.listen,
            body_limit: self.server.body_limit,
            request_timeout: self.server.request_timeout,
            shutdown_grace: self.server.shutdown_grace,
            header_read_timeout: self.server.header_read_timeout,
            max_connections: self.server.max_connections,
            max_connections_per_ip: Some(self.server.max_connections_per_ip).filter(|&max| max > 0),
            rate_limit_per_ip: RateLimit::new(
                self.server.rate_limit_per_ip,
                self.server.rate_limit_per_ip_burst,
            ),
            rate_limit_per_principal: RateLimit::new(
                self.server.rate_limit_per_principal,
                self.server.rate_limit_per_principal_burst,
            ),
        }
    }

    fn under_data_dir(&self, configured: Option<&RelativePathBuf>, file: &str) -> PathBuf {
        configured.map_or_else(|| self.data_dir().join(file), RelativePathBuf::relative)
    }
}

fn default_data_dir() -> RelativePathBuf {
    RelativePathBuf::from(DEFAULT_DATA_DIR)
}

impl Default for ServerSettings {
    fn default() -> Self {
        let defaults = ServerConfig::default();
        ServerSettings {
            listen: defaults.listen,
            body_limit: defaults.body_limit,
            request_timeout: defaults.request_timeout,
            shutdown_grace: defaults.shutdown_grace,
            header_read_timeout: defaults.header_read_timeout,
            max_connections: defaults.max_connections,
            max_connections_per_ip: defaults.max_connections_per_ip.unwrap_or(0),
            rate_limit_per_ip: defaults.rate_limit_per_ip.map_or(0, |r| r.per_minute.get()),
            rate_limit_per_ip_burst: defaults.rate_limit_per_ip.map_or(0, |r| r.burst.get()),
            rate_limit_per_principal: defaults
                .rate_limit_per_principal
                .map_or(0, |r| r.per_minute.get()),
            rate_limit_per_principal_burst: defaults
                .rate_limit_per_principal
                .map_or(0, |r| r.burst.get()),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: None,
            keys_url: None,
            migration_url: None,
            keys_migration_url: None,
            max_connections: DatabaseConfig::DEFAULT_MAX_CONNECTIONS,
            min_connections: 0,
            acquire_timeout: DatabaseConfig::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            tls: None,
            ca_file: None,
        }
    }
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            interval: None,
            batch_size: datavern_governance::retention::DEFAULT_BATCH_SIZE,
        }
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            checkpoint_interval: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url)
            .field("keys_url", &self.keys_url)
            .field("migration_url", &self.migration_url)
            .field("keys_migration_url", &self.keys_migration_url)
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

/// A number of bytes: an integer, or a number with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
fn bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let value = NumberOrText::deserialize(deserializer)?;
    let text = match value {
        NumberOrText::Number(n) => return usize::try_from(n).map_err(serde::de::Error::custom),
        NumberOrText::Text(text) => text,
    };
    parse_bytes(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{text}` is not a size: write bytes or a number with KiB, MiB, GiB, KB, MB or GB"
        ))
    })
}

fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().ok()?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1024,
        "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// A duration: seconds as a number, or a number with `ms`, `s`, `m` or `h`.
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let value = NumberOrText::deserialize(deserializer)?;
    let text = match value {
        NumberOrText::Number(n) => return Ok(Duration::from_secs(n)),
        NumberOrText::Text(text) => text,
    };
    parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration: write e.g. 500ms, 30s, 5m or 1h"
        ))
    })
}

/// `off`, or a positive duration.
fn interval<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let value = NumberOrText::deserialize(deserializer)?;
    let interval = match value {
        NumberOrText::Text(text) if text.trim() == "off" => return Ok(None),
        NumberOrText::Number(n) => Some(Duration::from_secs(n)),
        NumberOrText::Text(text) => parse_duration(&text),
    };
    match interval {
        Some(interval) if !interval.is_zero() => Ok(Some(interval)),
        _ => Err(serde::de::Error::custom(
            "an interval must be `off` or a positive duration, e.g. 1h or 30m",
        )),
    }
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "" | "s" => Some(Duration::from_secs(number)),
        "m" | "min" => number.checked_mul(60).map(Duration::from_secs),
        "h" => number.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Settings without the process environment (tests cannot set variables safely; the
    /// CLI tests cover `DATAVERN_` variables by starting the binary with them).
    fn load(args: &SettingsArgs) -> anyhow::Result<Settings> {
        Settings::load_from(args, &Overrides::default(), Env::prefixed("DVTEST_UNSET_"))
    }

    #[test]
    fn defaults_are_sqlite_under_the_data_dir_in_development_mode() {
        let settings = load(&SettingsArgs::default()).unwrap();
        assert_eq!(settings.mode(), Mode::Development);
        assert_eq!(settings.data_dir(), PathBuf::from("datavern-data"));
        assert_eq!(settings.kek_file(), PathBuf::from("datavern-data/kek.key"));
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.server.body_limit, 1024 * 1024);
        let store = settings.store_config().unwrap();
        assert_eq!(store.data.redacted_url(), "sqlite://datavern-data/data.db");
        assert_eq!(store.keys.redacted_url(), "sqlite://datavern-data/keys.db");
    }

    #[test]
    fn connection_and_rate_limits_default_on_and_zero_turns_them_off() {
        let settings = load(&SettingsArgs::default()).unwrap();
        let config = settings.server_config();
        assert_eq!(
            config,
            ServerConfig {
                listen: settings.server.listen,
                ..ServerConfig::default()
            }
        );
        assert!(config.rate_limit_per_ip.is_some());
        assert!(config.rate_limit_per_principal.is_some());

        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "datavern.toml",
            "[server]\nheader_read_timeout = \"2s\"\nmax_connections = 100\n\
             max_connections_per_ip = 0\nrate_limit_per_ip = 0\n\
             rate_limit_per_principal = 120\nrate_limit_per_principal_burst = 10\n",
        );
        let settings = load(&SettingsArgs {
            config: Some(file),
            data_dir: None,
        })
        .unwrap();
        let config = settings.server_config();
        assert_eq!(config.header_read_timeout, Duration::from_secs(2));
        assert_eq!(config.max_connections, 100);
        assert_eq!(config.max_connections_per_ip, None);
        assert_eq!(config.rate_limit_per_ip, None);
        assert_eq!(config.rate_limit_per_principal, RateLimit::new(120, 10));
    }

    #[test]
    fn file_then_flags_with_paths_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = write(
            dir.path(),
            "datavern.toml",
            r#"
data_dir = "state"

[server]
listen = "0.0.0.0:9000"
body_limit = "2MiB"
request_timeout = "1m"

[database]
url = "postgres://app:hunter2@db/datavern"
keys_url = "postgres://app:hunter2@db/datavern_keys"
migration_url = "postgres://owner:hunter3@db/datavern"
keys_migration_url = "postgres://owner:hunter3@db/datavern_keys"
statement_timeout = "500ms"
tls = "verify-full"

[auth]
principals_file = "/etc/datavern/principals.toml"
"#,
        );
        let args = SettingsArgs {
            config: Some(config),
            data_dir: None,
        };
        let settings = load(&args).unwrap();
        assert_eq!(settings.mode(), Mode::Configured);
        assert_eq!(settings.data_dir(), dir.path().join("state"));
        assert_eq!(settings.kek_file(), dir.path().join("state/kek.key"));
        assert_eq!(
            settings.principals_file(),
            PathBuf::from("/etc/datavern/principals.toml")
        );
        assert_eq!(settings.server.body_limit, 2 * 1024 * 1024);
        assert_eq!(settings.server.request_timeout, Duration::from_secs(60));
        assert_eq!(
            settings.database.statement_timeout,
            Some(Duration::from_millis(500))
        );
        let store = settings.store_config().unwrap();
        assert_eq!(store.data.tls(), Some(TlsMode::VerifyFull));
        let owner = settings.owner_store_config().unwrap().unwrap();
        assert_eq!(
            owner.data.redacted_url(),
            "postgres://owner:***@db/datavern"
        );
        assert_eq!(owner.keys.tls(), Some(TlsMode::VerifyFull));
        // Debug never shows the password.
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3"),
            "{debug}"
        );
        assert!(debug.contains("postgres://app:***@db/datavern"), "{debug}");

        // A flag beats the file.
        let args = SettingsArgs {
            data_dir: Some(PathBuf::from("elsewhere")),
            ..args
        };
        let settings = Settings::load_from(
            &args,
            &Overrides {
                listen: Some("127.0.0.1:0".parse().unwrap()),
            },
            Env::prefixed("DVTEST_UNSET_"),
        )
        .unwrap();
        assert_eq!(settings.data_dir(), PathBuf::from("elsewhere"));
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:0");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let check = |text: &str, expected: &str| {
            let config = write(dir.path(), "datavern.toml", text);
            let args = SettingsArgs {
                config: Some(config),
                data_dir: None,
            };
            let err = load(&args).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        };
        check(
            "[server]\nlisten_addr = \"x\"\n",
            "unknown field: found `listen_addr`",
        );
        check(
            "[server]\nrequest_timeout = \"soon\"\n",
            "`soon` is not a duration",
        );
        check("[server]\nbody_limit = \"1 TB\"\n", "`1 TB` is not a size");
        check("[server]\nlisten = \"localhost\"\n", "server.listen");

        let missing = SettingsArgs {
            config: Some(dir.path().join("nope.toml")),
            data_dir: None,
        };
        let err = load(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.toml does not exist"), "{err}");
    }

    #[test]
    fn retention_is_off_by_default_and_takes_an_interval() {
        let defaults = load(&SettingsArgs::default()).unwrap();
        assert_eq!(defaults.retention.interval, None);
        assert_eq!(defaults.retention.batch_size, 1000);
        let dir = tempfile::tempdir().unwrap();
        let load_text = |text: &str| {
            let config = write(dir.path(), "datavern.toml", text);
            load(&SettingsArgs {
                config: Some(config),
                data_dir: None,
            })
        };
        let hourly = load_text("[retention]\ninterval = \"1h\"\nbatch_size = 500\n").unwrap();
        assert_eq!(hourly.retention.interval, Some(Duration::from_secs(3600)));
        assert_eq!(hourly.retention.batch_size, 500);
        let off = load_text("[retention]\ninterval = \"off\"\n").unwrap();
        assert_eq!(off.retention.interval, None);
        for bad in ["0", "\"0s\"", "\"soon\""] {
            let err = load_text(&format!("[retention]\ninterval = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("must be `off` or a positive duration"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_data_url_without_a_key_store_url_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = write(
            dir.path(),
            "datavern.toml",
            "[database]\nurl = \"postgres://h/db\"\n",
        );
        let settings = load(&SettingsArgs {
            config: Some(config),
            data_dir: None,
        })
        .unwrap();
        let err = settings.store_config().unwrap_err().to_string();
        assert!(err.contains("DATAVERN_DATABASE__KEYS_URL"), "{err}");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("1048576"), Some(1_048_576));
        assert_eq!(parse_bytes("512KiB"), Some(512 * 1024));
        assert_eq!(parse_bytes("2 MB"), Some(2_000_000));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("-1s"), None);
    }
}
