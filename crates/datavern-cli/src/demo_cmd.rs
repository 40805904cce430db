//! `datavern demo seed`: fills the example catalog with synthetic municipal data through the
//! governed path, so it is encrypted, blind-indexed, audited and announced in the outbox
//! exactly like data written through the API.
//!
//! The data comes from [`datavern_core::demo`] (a pure function of seed and index); each
//! record goes through `access::decide` (once per collection: the grant is the same for every
//! record of it), `record::validate`, `Grant::check_write` and `Records::create_many`, in
//! chunks of 500 records (one transaction each) with a bounded number of chunks in flight.
//! Residents are all written first, since applications and cases refer to them. The database is found as `serve` finds it (`--data-dir`, `--config`,
//! `DATAVERN_` environment); in development mode the data directory, key file and signing
//! key are created as `serve` creates them.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use datavern_core::access::{self, AccessRequest, Grant, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Collection, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::demo::{self, Plan};
use datavern_core::record::{self, Mode};
use datavern_store::{Records, RequestMeta, Store};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::init_cmd::create_private_dir;
use crate::serve_cmd::{LogFormat, init_logging, kek, signer};
use crate::settings::{AUDIT_ORIGIN, Overrides, Settings, SettingsArgs};

/// The principal the seeded records are written by, as it appears in the audit log.
const SEED_PRINCIPAL: &str = "demo-seed";

/// `datavern demo …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DemoCommand {
    /// Write N synthetic records (residents with Tenor fødselsnumre, kindergarten applications,
    /// care cases) through the governed path: encrypted and audited like real data.
    Seed(SeedArgs),
}

/// Arguments of `datavern demo seed`.
#[derive(Debug, clap::Args)]
pub(crate) struct SeedArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// How many records to write in all: of every ten, seven residents, two applications and
    /// one case.
    #[arg(long, value_name = "N")]
    records: u64,
    /// The tenant to write for [default: the catalog's first tenant].
    #[arg(long, value_name = "KOMMUNENR")]
    tenant: Option<String>,
    /// The seed: the same seed gives the same data (record ids differ).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Chunks of 500 records (one transaction each) in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

pub(crate) fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    let DemoCommand::Seed(args) = command;
    let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(seed(settings, args))
}

/// What every create needs, shared by the tasks in flight.
struct Seeder {
    records: Records,
    meta: RequestMeta,
    seed: u64,
    progress: ProgressBar,
}

async fn seed(settings: Settings, args: SeedArgs) -> anyhow::Result<ExitCode> {
    let mode = settings.mode();
    let catalog = Arc::new(settings.catalog()?);
    create_private_dir(&settings.data_dir())?;
    let kek = kek(&settings, mode).await?;
    let signer = signer(&settings, mode).await?;
    let tenant = tenant(&catalog, args.tenant.as_deref())?;
    let principal = principal(tenant)?;
    let persons = grant(&catalog, &principal, "innbyggere", "innbyggerregister")?;
    let applications = grant(&catalog, &principal, "barnehagesoknader", "barnehageopptak")?;
    let cases = grant(&catalog, &principal, "saker", "helse_omsorg")?;

    let store_config = settings.store_config()?;
    let store = Store::open(&store_config).await.with_context(|| {
        format!(
            "cannot open the store (data {}, keys {})",
            store_config.data.redacted_url(),
            store_config.keys.redacted_url()
        )
    })?;
    store
        .apply_catalog(&catalog)
        .await
        .context("cannot apply the catalog to the database")?;
    store.audit().set_checkpointing(
        Arc::new(signer),
        AUDIT_ORIGIN,
        settings.audit.checkpoint_interval,
    );
    store.audit().start();

    let plan = Plan::for_records(args.records);
    let seeder = Seeder {
        records: Records::new(store.clone(), catalog.clone(), Arc::new(kek)),
        meta: RequestMeta::new(),
        seed: args.seed,
        progress: progress_bar(plan.total()),
    };
    let concurrency = usize::from(args.concurrency);
    let started = Instant::now();
    let outcome = async {
        let person_ids = seeder.persons(&persons, plan.persons, concurrency).await?;
        seeder
            .dependents(&applications, &cases, &person_ids, plan, concurrency)
            .await
    }
    .await;
    let elapsed = started.elapsed();
    seeder.progress.finish_and_clear();
    // Everything written is sealed into the chain and a checkpoint signed, also after a
    // failure: what was written stays governed.
    let sealed = store.audit().shutdown().await;
    store.close().await;
    outcome?;
    sealed.context("cannot seal the audit log")?;

    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "seeded {} records for tenant {tenant} ({} innbyggere, {} barnehagesoknader, {} saker) \
         in {:.1} s: {:.0} records/s",
        plan.total(),
        plan.persons,
        plan.applications,
        plan.cases,
        elapsed.as_secs_f64(),
        rate(plan.total(), elapsed),
    )?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

impl Seeder {
    /// Writes residents `0..count` in chunks; returns their record ids by index.
    async fn persons(
        &self,
        grant: &Granted<'_>,
        count: u64,
        concurrency: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut ids = vec![String::new(); usize::try_from(count)?];
        let chunks = chunks(count);
        let mut created = stream::iter(chunks)
            .map(|range| async move {
                let bodies = range
                    .clone()
                    .map(|index| demo::person(self.seed, index).body())
                    .collect();
                self.create_many(grant, bodies)
                    .await
                    .map(|created| (range.start, created))
            })
            .buffer_unordered(concurrency);
        while let Some((start, created)) = created.try_next().await? {
            for (offset, id) in created.into_iter().enumerate() {
                ids[usize::try_from(start)? + offset] = id;
            }
        }
        Ok(ids)
    }

    /// Writes the applications and cases, which refer to the residents in `ids` (all
    /// committed before).
    async fn dependents(
        &self,
        applications: &Granted<'_>,
        cases: &Granted<'_>,
        ids: &[String],
        plan: Plan,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let id = |index: u64| -> anyhow::Result<&str> {
            usize::try_from(index)
                .ok()
                .and_then(|i| ids.get(i))
                .map(String::as_str)
                .ok_or_else(|| anyhow!("the plan refers to resident {index}, which was not made"))
        };
        let application = |index: u64| -> anyhow::Result<Map<String, Value>> {
            let application = demo::application(self.seed, index);
            let guardian = |index: u64| -> anyhow::Result<(&str, demo::Person)> {
                Ok((id(index)?, demo::person(self.seed, index)))
            };
            let first = guardian(application.foresatt1)?;
            let second = application.foresatt2.map(guardian).transpose()?;
            Ok(application.body(
                id(application.barn)?,
                (first.0, &first.1),
                second.as_ref().map(|(id, person)| (*id, person)),
            ))
        };
        let case = |index: u64| -> anyhow::Result<Map<String, Value>> {
            let case = demo::case(self.seed, index);
            Ok(case.body(id(case.bruker)?))
        };
        let application_chunks = chunks(plan.applications).map(|range| (applications, range, true));
        let case_chunks = chunks(plan.cases).map(|range| (cases, range, false));
        stream::iter(application_chunks.chain(case_chunks))
            .map(|(grant, range, is_application)| {
                let bodies = range
                    .map(|index| {
                        if is_application {
                            application(index)
                        } else {
                            case(index)
                        }
                    })
                    .collect::<anyhow::Result<Vec<_>>>();
                async move { self.create_many(grant, bodies?).await }
            })
            .buffer_unordered(concurrency)
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    /// One chunk of records of one collection through the governed path, in one
    /// transaction; returns their ids in order.
    async fn create_many(
        &self,
        granted: &Granted<'_>,
        bodies: Vec<Map<String, Value>>,
    ) -> anyhow::Result<Vec<String>> {
        let records = bodies
            .iter()
            .map(|body| {
                let record = record::validate(granted.collection, body, Mode::Create)
                    .with_context(|| {
                        format!("generated {} record is invalid", granted.collection.name())
                    })?;
                granted
                    .grant
                    .check_write(record.field_names().map(|f| f.as_str()))?;
                Ok(record)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let count = records.len();
        let views = self
            .records
            .create_many(&granted.grant, records, &self.meta)
            .await
            .with_context(|| format!("cannot create {} records", granted.collection.name()))?;
        self.progress.inc(u64::try_from(count)?);
        Ok(views.into_iter().map(|view| view.id.to_string()).collect())
    }
}

/// Records per `create_many` (one transaction each).
const CHUNK: u64 = 500;

/// `0..count` in ranges of at most [`CHUNK`].
fn chunks(count: u64) -> impl Iterator<Item = std::ops::Range<u64>> {
    (0..count.div_ceil(CHUNK)).map(move |i| i * CHUNK..((i + 1) * CHUNK).min(count))
}

/// A collection with the grant to create its records.
struct Granted<'c> {
    collection: &'c Collection,
    grant: Grant,
}

/// The access decision for creating records of `collection` for `purpose`.
fn grant<'c>(
    catalog: &'c Catalog,
    principal: &Principal,
    collection: &str,
    purpose: &str,
) -> anyhow::Result<Granted<'c>> {
    let request = AccessRequest::create(collection, principal.tenant()).with_purpose(Some(purpose));
    let grant = access::decide(catalog, principal, &request).map_err(|denial| {
        anyhow!(
            "cannot seed {collection}: {denial} (demo seed needs the example catalog, \
             examples/kommune.yaml)"
        )
    })?;
    let collection = catalog
        .collection(collection)
        .ok_or_else(|| anyhow!("granted collection {collection} is not in the catalog"))?;
    Ok(Granted { collection, grant })
}

/// The seeding principal: the tenant's, cleared for BEGRENSET, with the purposes the three
/// collections are written for.
fn principal(tenant: Kommunenummer) -> anyhow::Result<Principal> {
    let purposes = ["innbyggerregister", "barnehageopptak", "helse_omsorg"]
        .into_iter()
        .map(PurposeId::parse)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Principal::new(
        PrincipalId::parse(SEED_PRINCIPAL)?,
        tenant,
        Classification::Begrenset,
    )
    .with_purposes(purposes))
}

fn tenant(catalog: &Catalog, given: Option<&str>) -> anyhow::Result<Kommunenummer> {
    let tenants = catalog.deployment().tenants();
    let Some(given) = given else {
        return tenants
            .first()
            .map(|t| t.kommunenummer())
            .ok_or_else(|| anyhow!("the catalog has no tenant"));
    };
    let tenant = Kommunenummer::parse(given).with_context(|| format!("--tenant {given}"))?;
    if !tenants.iter().any(|t| t.kommunenummer() == tenant) {
        bail!("tenant {tenant} is not in the catalog");
    }
    Ok(tenant)
}

/// A bar with rate and ETA on stderr; hidden when stderr is not a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} records, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn rate(records: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        records as f64 / seconds
    } else {
        0.0
    }
}
