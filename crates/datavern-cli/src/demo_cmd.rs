//! `datavern demo seed` and `datavern demo digest`: synthetic municipal data written through
//! the governed path, and a digest of what a seeded database holds, to check that a seed
//! gives the same data run after run.
//!
//! Both go through the same governed code the HTTP API uses (`access::decide`,
//! `record::validate`, `Records`), never raw SQL, so the data is encrypted, blind-indexed,
//! audited and announced in the outbox like real data, and reading it back is audited too.
//! The database is found as `serve` finds it (`--data-dir`, `--config`, `DATAVERN_`
//! environment).

mod csv;
mod digest;
mod rights;
mod seed;

use std::process::ExitCode;

use anyhow::anyhow;
use datavern_core::access::{self, AccessRequest, Grant, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Collection, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;

use crate::governed::{Governed, Missing};
use crate::report_cmd::tenant;
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings};

/// `datavern demo …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DemoCommand {
    /// Write N synthetic records (residents with Tenor fødselsnumre, kindergarten applications,
    /// care cases) through the governed path: encrypted and audited like real data.
    Seed(seed::SeedArgs),
    /// Print a SHA-256 digest of the decrypted data of residents sampled from a seed: two
    /// databases seeded with the same --seed and --records give the same digest.
    Digest(digest::DigestArgs),
    /// Write N synthetic residents as a legacy system's `;`-separated CSV export (Norwegian
    /// column names, dd.mm.yyyy dates), to try `datavern import` with.
    Csv(csv::CsvArgs),
    /// Measure a data subject's access and erasure on a seeded database against plain SQL
    /// (and, with --retention, retention throughput), as BENCHMARKS.md reports them.
    Rights(rights::RightsArgs),
}

pub(crate) async fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    let settings_args = match &command {
        // Writes a file from the seed alone: no settings, no store.
        DemoCommand::Csv(args) => return csv::csv(args),
        DemoCommand::Seed(args) => &args.settings,
        DemoCommand::Digest(args) => &args.settings,
        DemoCommand::Rights(args) => &args.settings,
    };
    let settings = Settings::load(settings_args, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    match command {
        DemoCommand::Csv(_) => Ok(ExitCode::SUCCESS),
        DemoCommand::Seed(args) => seed::seed(settings, args).await,
        DemoCommand::Digest(args) => digest::digest(settings, args).await,
        DemoCommand::Rights(args) => rights::rights(settings, args).await,
    }
}

/// A collection with a grant for it.
struct Granted<'c> {
    collection: &'c Collection,
    grant: Grant,
}

/// The access decision for `request` (whose collection must be in the example catalog).
fn grant<'c>(
    catalog: &'c Catalog,
    principal: &Principal,
    request: &AccessRequest<'_>,
) -> anyhow::Result<Granted<'c>> {
    let name = request.collection();
    let grant = access::decide(catalog, principal, request).map_err(|denial| {
        anyhow!(
            "cannot {} {name}: {denial} (datavern demo needs the example catalog, \
             examples/kommune.yaml)",
            request.operation()
        )
    })?;
    let collection = catalog
        .collection(name)
        .ok_or_else(|| anyhow!("granted collection {name} is not in the catalog"))?;
    Ok(Granted { collection, grant })
}

/// A principal of the tenant, cleared for BEGRENSET, with `purposes`; `id` is how it
/// appears in the audit log.
fn principal(id: &str, tenant: Kommunenummer, purposes: &[&str]) -> anyhow::Result<Principal> {
    let purposes = purposes
        .iter()
        .map(|p| PurposeId::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(
        Principal::new(PrincipalId::parse(id)?, tenant, Classification::Begrenset)
            .with_purposes(purposes),
    )
}
