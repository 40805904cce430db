//! A live store with the example catalog, and the catalogs a test migrates it to.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_migrate::{MigrateOptions, Migrator};
use datavern_store::Records;
use datavern_store::audit::AuditAction;
use datavern_store::testing::OpenStore as _;
use datavern_testkit::Env;
use datavern_testkit::fixtures::{catalog, kommune_two_tenants};
use datavern_testkit::sql::scalar;

pub(crate) use datavern_testkit::on_every_backend;

/// The example catalog (two tenants) with `edits` applied: each `(from, to)` replaces the
/// first occurrence of `from`, which must be there.
pub(crate) fn edited(edits: &[(&str, &str)]) -> Catalog {
    let mut yaml = kommune_two_tenants();
    for (from, to) in edits {
        assert!(yaml.contains(from), "the example catalog has no {from:?}");
        yaml = yaml.replacen(from, to, 1);
    }
    catalog(&yaml)
}

/// The migrator of `env`'s store, in small batches so that walks take several.
pub(crate) fn migrator(env: &Env) -> Migrator {
    Migrator::new(env.store.clone(), env.kek.clone(), "drift-1").with_options(MigrateOptions {
        batch_size: 2,
        ..MigrateOptions::default()
    })
}

/// `env` serving `catalog` from now on, as a process restarted with it would: a new store
/// (PostgreSQL's prepared statements of the old shape are gone with the old connections).
pub(crate) async fn serve(env: &mut Env, catalog: Catalog) {
    env.store = env.db.open().await;
    env.catalog = Arc::new(catalog);
    env.records = Records::new(env.store.clone(), env.catalog.clone(), env.kek.clone());
}

/// Encrypt `postnummer`.
pub(crate) const ENCRYPT_POSTNUMMER: (&str, &str) = (
    "        identifier: postnummer\n",
    "        identifier: postnummer\n        encrypted: true\n",
);

/// Make `telefon` searchable.
pub(crate) const SEARCHABLE_TELEFON: (&str, &str) = (
    "        identifier: phone\n        encrypted: true\n",
    "        identifier: phone\n        encrypted: true\n        searchable: true\n",
);

/// Add `mellomnavn`.
pub(crate) const ADD_MELLOMNAVN: (&str, &str) = (
    "      - name: fodselsdato\n",
    "      - name: mellomnavn\n        type: string\n        category: user.name\n        encrypted: true\n      - name: fodselsdato\n",
);

/// Remove `adresse`.
pub(crate) const DROP_ADRESSE: (&str, &str) = (
    "      - name: adresse\n        type: string\n        category: user.contact.address\n        encrypted: true\n",
    "",
);

/// Rename the plain `postnummer` to `postnr`.
pub(crate) const RENAME_POSTNUMMER: (&str, &str) = (
    "      - name: postnummer\n        type: string\n",
    "      - name: postnr\n        renamed_from: postnummer\n        type: string\n",
);

/// Rename the encrypted, searchable `epost` to `epostadresse`.
pub(crate) const RENAME_EPOST: (&str, &str) = (
    "      - name: epost\n        type: string\n",
    "      - name: epostadresse\n        renamed_from: epost\n        type: string\n",
);

/// Keep residents three years instead of two.
pub(crate) const RETAIN_LONGER: (&str, &str) = ("      period: P2Y\n", "      period: P3Y\n");

/// The columns of the residents' table as the database has them, sorted.
pub(crate) async fn columns(env: &Env) -> Vec<String> {
    let mut pooled = env.data().acquire().await.expect("connection");
    let mut columns = pooled
        .conn()
        .table_columns("c_innbyggere")
        .await
        .expect("columns");
    columns.sort();
    columns
}

/// How many audit entries have `action` (and `reason`, if given).
pub(crate) async fn audited(env: &Env, action: AuditAction, reason: Option<&str>) -> i64 {
    let mut sql = format!("SELECT COUNT(*) FROM dv_audit WHERE action = '{action}'");
    if let Some(reason) = reason {
        sql.push_str(&format!(" AND reason = '{reason}'"));
    }
    scalar(env.data(), &sql).await
}
