//! The database systems the store runs on.

use std::fmt;
use std::str::FromStr;

/// A database system the store runs on: the only place SQL dialects differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// SQLite: the embedded default (one file per database).
    Sqlite,
    /// PostgreSQL: the primary production backend (row-level security, native UUID).
    Postgres,
    /// MariaDB or MySQL, through the MySQL driver.
    MySql,
}

impl Backend {
    /// Every backend, in the order tests run them.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The lowercase name used in configuration, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The product name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MariaDB/MySQL",
        }
    }

    /// The most bind parameters one statement may carry: SQLite's
    /// `SQLITE_MAX_VARIABLE_NUMBER` (32 766 since 3.32), and the 16-bit parameter count of
    /// the PostgreSQL and MySQL wire protocols (65 535).
    pub fn max_bind_params(self) -> usize {
        match self {
            Backend::Sqlite => 32_766,
            Backend::Postgres | Backend::MySql => 65_535,
        }
    }

    /// How many rows of `columns` values each one multi-row `INSERT` may carry, so that a
    /// statement stays within [`max_bind_params`](Self::max_bind_params) even if every value
    /// is a parameter (at least one row).
    pub fn rows_per_insert(self, columns: usize) -> usize {
        (self.max_bind_params() / columns.max(1)).max(1)
    }

    /// The backend a connection URL names by its scheme (`sqlite:`, `postgres:` or
    /// `postgresql:`, `mysql:` or `mariadb:`).
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not a backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown database backend \"{0}\": expected sqlite, postgres or mysql")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://data.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("MariaDB://u@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("redis://h"), None);
        assert_eq!(Backend::from_url("no scheme"), None);
        assert_eq!("MariaDB".parse::<Backend>(), Ok(Backend::MySql));
        assert!("oracle".parse::<Backend>().is_err());
    }

    #[test]
    fn a_multi_row_insert_stays_within_the_parameter_limit() {
        for backend in Backend::ALL {
            for columns in [1, 9, 14, 23, 40_000, 70_000] {
                let rows = backend.rows_per_insert(columns);
                assert!(rows >= 1);
                assert!(
                    rows == 1 || rows * columns <= backend.max_bind_params(),
                    "{backend}: {rows} rows of {columns}"
                );
                assert!((rows + 1) * columns > backend.max_bind_params() || rows == 1);
            }
        }
        assert_eq!(Backend::Sqlite.rows_per_insert(14), 2340);
        assert_eq!(Backend::Postgres.rows_per_insert(9), 7281);
        assert_eq!(Backend::MySql.rows_per_insert(0), 65_535);
    }
}
