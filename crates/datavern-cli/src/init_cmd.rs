//! `datavern init [--dir DIR]`: a commented `datavern.toml`, the key-encryption key file, the
//! audit signing key and a first API key, for an installation that is configured rather than
//! run in development mode. Refuses to overwrite anything.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use datavern_core::access::{Principal, PrincipalId, Role};
use datavern_core::catalog::Catalog;
use datavern_crypto::audit::{CheckpointSigner, KeyName};
use datavern_crypto::{ApiKey, LocalKeyFile};
use datavern_server::auth::{PrincipalEntry, PrincipalsFile};
use datavern_server::{AUDITOR_ROLE, DPO_ROLE};

use crate::settings::{CONFIG_FILE, EXAMPLE_CATALOG, KEK_FILE, PRINCIPALS_FILE, SIGNING_KEY_FILE};

/// The name in audit checkpoint signatures.
pub(crate) const SIGNING_KEY_NAME: &str = "datavern/audit";
/// The data directory `init` creates beside the configuration file.
const DATA_DIR: &str = "datavern-data";

/// Arguments of `datavern init`.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Directory to write `datavern.toml` into; the data directory (keys, principals) is
    /// `DIR/datavern-data`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

pub(crate) async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let config = args.dir.join(CONFIG_FILE);
    let data_dir = args.dir.join(DATA_DIR);
    let kek = data_dir.join(KEK_FILE);
    let signing_key = data_dir.join(SIGNING_KEY_FILE);
    let principals = data_dir.join(PRINCIPALS_FILE);
    let existing: Vec<String> = [&config, &kek, &signing_key, &principals]
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "refusing to overwrite {}; remove {} or choose another --dir",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        );
    }
    let catalog = Catalog::from_yaml(EXAMPLE_CATALOG)
        .map_err(|errors| anyhow::anyhow!("the built-in example catalog is invalid: {errors}"))?;

    create_private_dir(&data_dir)?;
    async {
        LocalKeyFile::create(&kek)
            .await
            .with_context(|| format!("cannot create {}", kek.display()))?;
        create_signing_key(&signing_key).await
    }
    .await?;
    let key = create_principals(
        &principals,
        &catalog,
        "admin",
        &["admin", AUDITOR_ROLE, DPO_ROLE],
    )?;
    write_new(&config, &config_text(), 0o644)?;

    #[allow(clippy::print_stdout)]
    {
        println!("Wrote {}", config.display());
        println!("Wrote {} (key-encryption key)", kek.display());
        println!(
            "Wrote {} (audit checkpoint signing key)",
            signing_key.display()
        );
        println!(
            "Wrote {} (principal `admin`, roles admin and auditor)",
            principals.display()
        );
        println!();
        println!("API key of principal `admin` (shown once; only its hash is stored):");
        println!();
        println!("    {}", key.expose_secret());
        println!();
        println!(
            "Edit {} (catalog, database URLs), then run `datavern serve --config {}`.",
            config.display(),
            config.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A principal acting for the catalog's first tenant, cleared for its accreditation, with
/// every purpose it declares: the development or first administrative principal.
pub(crate) fn all_purposes_principal(
    catalog: &Catalog,
    id: &str,
    roles: &[&str],
) -> anyhow::Result<Principal> {
    let tenant = catalog
        .deployment()
        .tenants()
        .first()
        .context("the catalog declares no tenant")?
        .kommunenummer();
    Ok(Principal::new(
        PrincipalId::parse(id)?,
        tenant,
        catalog.deployment().accreditation(),
    )
    .with_roles(
        roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<Vec<_>, _>>()?,
    )
    .with_purposes(catalog.purposes().iter().map(|p| p.id().clone())))
}

/// Creates the principals file at `path` with one principal and a fresh key; returns the key.
pub(crate) fn create_principals(
    path: &Path,
    catalog: &Catalog,
    id: &str,
    roles: &[&str],
) -> anyhow::Result<ApiKey> {
    let principal = all_purposes_principal(catalog, id, roles)?;
    let key = ApiKey::generate().context("cannot generate an API key")?;
    let file = PrincipalsFile {
        principals: vec![PrincipalEntry::new(&principal, &key.hash())],
    };
    write_new(path, &file.to_toml(), 0o600)?;
    Ok(key)
}

/// Creates the audit checkpoint signing key file.
pub(crate) async fn create_signing_key(path: &Path) -> anyhow::Result<CheckpointSigner> {
    let name = KeyName::new(SIGNING_KEY_NAME)?;
    CheckpointSigner::create(path, name)
        .await
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Creates `dir` (and parents); new directories are private to the owner (0700 on Unix).
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Writes `text` to a new file with `mode` (Unix); fails if the file exists.
pub(crate) fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    write_new_bytes(path, text.as_bytes(), mode)
}

/// Writes `bytes` to a new file with `mode` (Unix); fails if the file exists.
pub(crate) fn write_new_bytes(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The commented configuration file `init` writes.
fn config_text() -> String {
    format!(
        r#"# datavern configuration. Every setting can also be given as an environment variable:
# DATAVERN_ and the key path in capitals, with __ between levels, e.g.
# DATAVERN_DATABASE__URL or DATAVERN_SERVER__LISTEN. Precedence: defaults < this file <
# environment < command-line flags (--data-dir, --listen). Relative paths here are relative
# to this file's directory. See docs/api.md and README.md.

# Key files, the principals file and (without database URLs) the SQLite databases.
data_dir = "{DATA_DIR}"

[catalog]
# The catalog: what is governed (collections, fields, purposes, retention). Without a path,
# the built-in example catalog (Bergen kommune) is used.
# path = "catalog.yaml"

[server]
listen = "127.0.0.1:8080"
body_limit = "1MiB"
request_timeout = "30s"
# How long shutdown (SIGTERM) waits for requests in flight.
shutdown_grace = "30s"

[database]
# Without URLs: SQLite files data.db and keys.db in data_dir. The key store is always a
# database of its own, so that a copy of the data never holds the keys that decrypt it.
# url = "postgres://datavern:PASSWORD@db.example.kommune.no:5432/datavern"
# keys_url = "postgres://datavern_keys:PASSWORD@keys.example.kommune.no:5432/datavern_keys"
# (MariaDB/MySQL: mysql://user:PASSWORD@host:3306/datavern)
max_connections = 10
min_connections = 0
acquire_timeout = "10s"
# statement_timeout = "30s"
# disable, prefer, require, verify-ca or verify-full
# tls = "verify-full"
# ca_file = "ca.pem"

[keys]
# kek_file = "{DATA_DIR}/{KEK_FILE}"
# signing_key_file = "{DATA_DIR}/{SIGNING_KEY_FILE}"

[auth]
# API key hashes of the principals that may call the API.
# principals_file = "{DATA_DIR}/{PRINCIPALS_FILE}"

[audit]
# How often a signed checkpoint of the audit log's hash chain is written.
checkpoint_interval = "60s"

[retention]
# How often `serve` deletes, anonymizes or archives records past their retention period
# (docs/retention.md): "off", or e.g. "1h". Try `datavern retention run --dry-run` first.
interval = "off"
# batch_size = 1000
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Mode, Overrides, Settings, SettingsArgs};

    #[test]
    fn written_config_is_valid_and_points_at_the_data_dir_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, config_text()).unwrap();
        let args = SettingsArgs {
            config: Some(path),
            data_dir: None,
        };
        let settings = Settings::load(&args, &Overrides::default()).unwrap();
        assert_eq!(settings.mode(), Mode::Configured);
        assert_eq!(settings.data_dir(), dir.path().join(DATA_DIR));
        assert_eq!(
            settings.kek_file(),
            dir.path().join(DATA_DIR).join(KEK_FILE)
        );
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
    }
}
