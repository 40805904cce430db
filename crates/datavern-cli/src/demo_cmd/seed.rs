//! `datavern demo seed`: fills the example catalog with synthetic municipal data through the
//! governed path, so it is encrypted, blind-indexed, audited and announced in the outbox
//! exactly like data written through the API.
//!
//! The data comes from [`datavern_core::demo`] (a pure function of seed and index); each
//! record goes through `access::decide` (once per collection: the grant is the same for every
//! record of it), `record::validate`, `Grant::check_write` and `Records::create_many`, in
//! chunks of [`CHUNK`] records (one transaction each) with a bounded number of chunks in
//! flight. Residents are all written first, since applications and cases refer to them. In
//! development mode the data directory, key file and signing key are created as `serve`
//! creates them.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use datavern_core::access::AccessRequest;
use datavern_core::catalog::Kommunenummer;
use datavern_core::demo::{self, Plan};
use datavern_core::record::{self, Mode};
use datavern_store::{Records, RequestMeta};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use super::{Governed, Granted, Missing, grant, principal, tenant};
use crate::settings::{Settings, SettingsArgs};

/// The principal the seeded records are written by, as it appears in the audit log.
const SEED_PRINCIPAL: &str = "demo-seed";

/// The purposes the three collections are written for.
const PURPOSES: [&str; 3] = ["innbyggerregister", "barnehageopptak", "helse_omsorg"];

/// Arguments of `datavern demo seed`.
#[derive(Debug, clap::Args)]
pub(crate) struct SeedArgs {
    #[command(flatten)]
    pub(super) settings: SettingsArgs,
    /// How many records to write in all: of every ten, seven residents, two applications and
    /// one case.
    #[arg(long, value_name = "N")]
    records: u64,
    /// The tenant to write for [default: the catalog's first tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = crate::typed::from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
    /// The seed: the same seed gives the same data (record ids differ).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Chunks of 500 records (one transaction each) in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

/// What every create needs, shared by the tasks in flight.
struct Seeder {
    records: Records,
    meta: RequestMeta,
    seed: u64,
    progress: ProgressBar,
}

pub(super) async fn seed(settings: Settings, args: SeedArgs) -> anyhow::Result<ExitCode> {
    let governed = Governed::open(&settings, Missing::Create).await?;
    let catalog = &governed.catalog();
    let tenant = tenant(catalog, args.tenant)?;
    let principal = principal(SEED_PRINCIPAL, tenant, &PURPOSES)?;
    let create = |collection, purpose| {
        let request = AccessRequest::create(collection, tenant).with_purpose(Some(purpose));
        grant(catalog, &principal, &request)
    };
    let persons = create("innbyggere", "innbyggerregister")?;
    let applications = create("barnehagesoknader", "barnehageopptak")?;
    let cases = create("saker", "helse_omsorg")?;

    let plan = Plan::for_records(args.records);
    let seeder = Seeder {
        records: governed.records().clone(),
        meta: RequestMeta::new(),
        seed: args.seed,
        progress: progress_bar(plan.total()),
    };
    let concurrency = usize::from(args.concurrency);
    let started = Instant::now();
    let outcome = async {
        let person_ids = seeder.persons(&persons, plan.persons, concurrency).await?;
        // The dependents look up the residents' keys and check references to them by id:
        // let the planner know how large the tables have become.
        governed
            .store()
            .analyze()
            .await
            .context("cannot refresh the planner's statistics")?;
        seeder
            .dependents(&applications, &cases, &person_ids, plan, concurrency)
            .await
    }
    .await;
    let elapsed = started.elapsed();
    seeder.progress.finish_and_clear();
    // Everything written is sealed into the chain and a checkpoint signed, also after a
    // failure: what was written stays governed.
    let closed = governed.close().await;
    outcome?;
    closed?;

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
