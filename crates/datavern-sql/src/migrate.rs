//! The internal tables' versioned migrations, one set per database and dialect.
//!
//! Files live in `migrations/{data,keys}/{sqlite,postgres,mysql}/NNNN_description.sql` and are
//! embedded at compile time. sqlx records applied versions with checksums in
//! `_sqlx_migrations` of each database, refuses a changed applied migration, and serializes
//! concurrent runs with a lock. Policy: migrations only move forward; an applied file is
//! never edited (a fix is a new migration); each dialect gets the same version numbers for the
//! same change. See `docs/storage.md`.

use sqlx::migrate::Migrator;

use crate::backend::Backend;
use crate::error::DatabaseRole;

static DATA_SQLITE: Migrator = sqlx::migrate!("migrations/data/sqlite");
static DATA_POSTGRES: Migrator = sqlx::migrate!("migrations/data/postgres");
static DATA_MYSQL: Migrator = sqlx::migrate!("migrations/data/mysql");
static KEYS_SQLITE: Migrator = sqlx::migrate!("migrations/keys/sqlite");
static KEYS_POSTGRES: Migrator = sqlx::migrate!("migrations/keys/postgres");
static KEYS_MYSQL: Migrator = sqlx::migrate!("migrations/keys/mysql");

/// The migrations of `role`'s database on `backend`.
pub(crate) fn migrator(backend: Backend, role: DatabaseRole) -> &'static Migrator {
    match (role, backend) {
        (DatabaseRole::Data, Backend::Sqlite) => &DATA_SQLITE,
        (DatabaseRole::Data, Backend::Postgres) => &DATA_POSTGRES,
        (DatabaseRole::Data, Backend::MySql) => &DATA_MYSQL,
        (DatabaseRole::Keys, Backend::Sqlite) => &KEYS_SQLITE,
        (DatabaseRole::Keys, Backend::Postgres) => &KEYS_POSTGRES,
        (DatabaseRole::Keys, Backend::MySql) => &KEYS_MYSQL,
    }
}

/// The versions and descriptions of `role`'s migrations on `backend`, in order.
pub fn migrations(backend: Backend, role: DatabaseRole) -> Vec<(i64, String)> {
    migrator(backend, role)
        .iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_has_the_same_versions() {
        for role in [DatabaseRole::Data, DatabaseRole::Keys] {
            let versions = |backend| migrations(backend, role);
            let sqlite = versions(Backend::Sqlite);
            assert!(!sqlite.is_empty());
            assert_eq!(sqlite, versions(Backend::Postgres), "{role}");
            assert_eq!(sqlite, versions(Backend::MySql), "{role}");
        }
    }
}
