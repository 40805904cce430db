//! What a run measures: backends and where they are, table size, durations, clients, seed;
//! and the refusal of any database that is not on this machine.

use std::time::Duration;

use datavern_sql::redact_url;

use crate::{BenchError, Scenario};

/// The name of the data database the benchmark creates (and drops) on a server.
pub const DATA_DATABASE: &str = "datavern_bench";
/// The name of its key store database.
pub const KEYS_DATABASE: &str = "datavern_bench_keys";

/// The environment variable with the PostgreSQL admin URL (the one the test suite uses).
pub const POSTGRES_URL_VAR: &str = "DATAVERN_TEST_POSTGRES_URL";
/// The environment variable with the MariaDB/MySQL admin URL.
pub const MYSQL_URL_VAR: &str = "DATAVERN_TEST_MYSQL_URL";
/// The PostgreSQL admin URL when neither a flag nor the variable gives one.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The MariaDB/MySQL admin URL when neither a flag nor the variable gives one.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// One backend to measure, and for a server backend the admin URL the benchmark creates its
/// databases through.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// SQLite files in a temporary directory.
    Sqlite,
    /// PostgreSQL through this admin URL (any database the user may `CREATE DATABASE` from).
    Postgres {
        /// The admin URL.
        admin_url: String,
    },
    /// MariaDB/MySQL through this admin URL.
    MySql {
        /// The admin URL.
        admin_url: String,
    },
}

/// Everything a run needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// The backends, measured one after the other.
    pub targets: Vec<Target>,
    /// Records in each table before the scenarios run (both the governed and the raw one).
    pub records: u64,
    /// How long each scenario runs before measuring starts.
    pub warmup: Duration,
    /// How long each scenario is measured.
    pub duration: Duration,
    /// The numbers of concurrent clients each scenario runs with.
    pub clients: Vec<usize>,
    /// The scenarios to run, in this order.
    pub scenarios: Vec<Scenario>,
    /// The seed of the synthetic data and of the choice of records to read.
    pub seed: u64,
    /// The most operations one scenario run starts, warm-up included, across its clients: a
    /// bound on count besides the bound on time.
    pub max_ops: u64,
    /// The pool size of each database (data and keys), shared by both sides.
    pub max_connections: u32,
    /// Whether this is the quick mode (recorded in the report).
    pub quick: bool,
}

impl BenchConfig {
    /// The full matrix: a million records, 2 s warm-up, 5 s measured, 1 and 16 clients.
    pub fn full(targets: Vec<Target>) -> Self {
        BenchConfig {
            targets,
            records: 1_000_000,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(5),
            clients: vec![1, 16],
            scenarios: Scenario::ALL.to_vec(),
            seed: 1,
            max_ops: 10_000_000,
            max_connections: datavern_sql::DatabaseConfig::DEFAULT_MAX_CONNECTIONS,
            quick: false,
        }
    }

    /// The smoke test: 2,000 records, 0.1 s warm-up, 0.4 s measured; it shows that every
    /// scenario completes, not how fast.
    pub fn quick(targets: Vec<Target>) -> Self {
        BenchConfig {
            records: 2_000,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(400),
            quick: true,
            ..Self::full(targets)
        }
    }

    /// Checks the configuration: at least one target, clients, records and a measured
    /// duration, and every server target on loopback.
    pub fn check(&self) -> Result<(), BenchError> {
        let invalid = |what: &str| Err(BenchError::Config(what.to_owned()));
        if self.targets.is_empty() {
            return invalid("no backend to measure");
        }
        if self.records == 0 {
            return invalid("--records must be at least 1");
        }
        if self.clients.is_empty() || self.clients.contains(&0) {
            return invalid("--clients must list numbers of at least 1");
        }
        if self.scenarios.is_empty() {
            return invalid("--scenarios must name at least one scenario");
        }
        if self.duration.is_zero() {
            return invalid("--duration must be longer than zero");
        }
        if self.max_ops == 0 || self.max_connections == 0 {
            return invalid("the operation bound and the pool size must be at least 1");
        }
        for target in &self.targets {
            if let Some(url) = target.admin_url() {
                check_loopback(url)?;
            }
        }
        Ok(())
    }
}

impl Target {
    /// The backend's name as the report gives it: `sqlite`, `postgres`, `mariadb`.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres { .. } => "postgres",
            Target::MySql { .. } => "mariadb",
        }
    }

    /// PostgreSQL at `given`, else at [`POSTGRES_URL_VAR`], else at [`DEFAULT_POSTGRES_URL`].
    pub fn postgres(given: Option<String>) -> Self {
        Target::Postgres {
            admin_url: given_or_env(given, POSTGRES_URL_VAR, DEFAULT_POSTGRES_URL),
        }
    }

    /// MariaDB/MySQL at `given`, else at [`MYSQL_URL_VAR`], else at [`DEFAULT_MYSQL_URL`].
    pub fn mysql(given: Option<String>) -> Self {
        Target::MySql {
            admin_url: given_or_env(given, MYSQL_URL_VAR, DEFAULT_MYSQL_URL),
        }
    }

    /// The admin URL of a server target.
    pub fn admin_url(&self) -> Option<&str> {
        match self {
            Target::Sqlite => None,
            Target::Postgres { admin_url } | Target::MySql { admin_url } => Some(admin_url),
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.admin_url() {
            None => f.write_str(self.name()),
            Some(url) => write!(f, "{} at {}", self.name(), redact_url(url)),
        }
    }
}

fn given_or_env(given: Option<String>, var: &str, default: &str) -> String {
    given
        .or_else(|| std::env::var(var).ok())
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Refuses a database URL whose host is not this machine: `127.0.0.0/8`, `::1`,
/// `localhost`, or a Unix socket directory. A benchmark loads its target hard and drops
/// databases on it; it never runs against a server elsewhere by mistake.
pub fn check_loopback(url: &str) -> Result<(), BenchError> {
    let refuse = |host: &str| {
        Err(BenchError::NotLoopback {
            url: redact_url(url),
            host: host.to_owned(),
        })
    };
    let Some((_, rest)) = url.split_once("://") else {
        return refuse("");
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if !is_loopback(host) {
        return refuse(host);
    }
    // libpq-style `host=`/`hostaddr=` parameters override the authority.
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            let key = key.to_ascii_lowercase();
            if (key == "host" || key == "hostaddr")
                && !value.starts_with('/')
                && !is_loopback(value)
            {
                return refuse(value);
            }
        }
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_are_accepted() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres:secret@localhost/test",
            "postgresql://u@LOCALHOST:5432",
            "mysql://root@127.0.0.1:3306/test",
            "mariadb://root:pw@127.0.1.1/test?ssl-mode=disabled",
            "postgres://u@[::1]:5432/test",
            "postgres://u@127.0.0.1/test?host=/var/run/postgresql",
        ] {
            assert!(check_loopback(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_hosts_are_refused_with_the_password_hidden() {
        for (url, host) in [
            (
                "postgres://postgres:secret@db.example.org:5432/test",
                "db.example.org",
            ),
            ("mysql://root:secret@10.0.0.5/test", "10.0.0.5"),
            ("postgres://u:secret@[2001:db8::1]:5432/test", "2001:db8::1"),
            ("postgres://u:secret@/test", ""),
            (
                "postgres://u:secret@127.0.0.1/test?host=db.example.org",
                "db.example.org",
            ),
            (
                "postgres://u:secret@127.0.0.1/test?hostaddr=192.0.2.7",
                "192.0.2.7",
            ),
            ("not a url", ""),
        ] {
            let err = check_loopback(url).expect_err(url);
            let message = err.to_string();
            assert!(matches!(err, BenchError::NotLoopback { .. }), "{message}");
            assert!(message.contains(&format!("\"{host}\"")), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn check_refuses_a_remote_target_and_empty_settings() {
        let remote = Target::Postgres {
            admin_url: "postgres://u@db.example.org/test".into(),
        };
        assert!(matches!(
            BenchConfig::quick(vec![Target::Sqlite, remote]).check(),
            Err(BenchError::NotLoopback { .. })
        ));
        assert!(BenchConfig::quick(vec![Target::Sqlite]).check().is_ok());
        assert!(BenchConfig::quick(Vec::new()).check().is_err());
        let no_clients = BenchConfig {
            clients: vec![0],
            ..BenchConfig::quick(vec![Target::Sqlite])
        };
        assert!(no_clients.check().is_err());
    }
}
