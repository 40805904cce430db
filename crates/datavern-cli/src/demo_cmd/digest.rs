//! `datavern demo digest`: a SHA-256 digest of the decrypted data of residents sampled from
//! a seed, to show that two databases seeded with the same `--seed` and `--records` hold the
//! same data.
//!
//! The sample is `--sample` resident indexes spread evenly over the seed's residents. For
//! each, the pure generator ([`datavern_core::demo::person`]) gives the resident's
//! fødselsnummer, which is looked up through the governed path (`access::decide` for a
//! lookup under `innbyggerregister`, then `Records::lookup`: blind index, decryption,
//! an audit entry per record returned). Each match is rendered canonically: its fields in
//! catalog order with their canonical values, without the record id, subject ids,
//! timestamps or version, which differ between runs or say nothing about the data. The
//! digest hashes the renderings of every sampled resident in sample order, so it changes if
//! any value of any sampled resident differs.
//!
//! Applications and cases that refer to a resident are not in the digest: the catalog gives
//! them no searchable field, so the governed API can reach them only by listing the whole
//! collection (each record read audited), which is not cheap at a million records.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use aws_lc_rs::digest::{Context as Sha256, SHA256};

use datavern_core::access::AccessRequest;
use datavern_core::catalog::Kommunenummer;
use datavern_core::demo::{self, Plan};
use datavern_core::record;
use datavern_store::{RecordView, Records, RequestMeta};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

use super::{Governed, Granted, Missing, grant, principal, tenant};
use crate::settings::{Settings, SettingsArgs};

/// The principal the lookups are made by, as it appears in the audit log.
const DIGEST_PRINCIPAL: &str = "demo-digest";

/// The field residents are looked up by.
const LOOKUP_FIELD: &str = "fodselsnummer";

/// Lookups in flight at once.
const CONCURRENCY: usize = 8;

/// Arguments of `datavern demo digest`.
#[derive(Debug, clap::Args)]
pub(crate) struct DigestArgs {
    #[command(flatten)]
    pub(super) settings: SettingsArgs,
    /// The number of records the database was seeded with (`demo seed --records`).
    #[arg(long, value_name = "N")]
    records: u64,
    /// The tenant it was seeded for [default: the catalog's first tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = crate::typed::from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
    /// The seed it was seeded with (`demo seed --seed`).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// How many residents to sample, spread evenly over all of them (at most all).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    sample: u64,
}

pub(super) async fn digest(settings: Settings, args: DigestArgs) -> anyhow::Result<ExitCode> {
    let governed = Governed::open(&settings, Missing::Refuse).await?;
    let outcome = sample_digest(&governed, &args).await;
    let closed = governed.close().await;
    let (digest, found, missing) = outcome?;
    closed?;

    let sampled = found + missing;
    if missing > 0 {
        let mut stderr = std::io::stderr().lock();
        writeln!(
            stderr,
            "{missing} of {sampled} sampled residents are missing: the database was not seeded \
             with --seed {} --records {} (or not completely)",
            args.seed, args.records
        )?;
        return Ok(ExitCode::from(1));
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "sha256:{digest} over {found} sampled residents (seed {}, {} records)",
        args.seed, args.records
    )?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The digest of the sampled residents as hex, how many were found and how many missing.
async fn sample_digest(
    governed: &Governed,
    args: &DigestArgs,
) -> anyhow::Result<(String, u64, u64)> {
    let catalog = &governed.catalog();
    let tenant = tenant(catalog, args.tenant)?;
    let principal = principal(DIGEST_PRINCIPAL, tenant, &["innbyggerregister"])?;
    let request = AccessRequest::lookup("innbyggere", tenant, LOOKUP_FIELD)
        .with_purpose(Some("innbyggerregister"));
    let granted = grant(catalog, &principal, &request)?;
    let lookup = Lookup {
        records: governed.records(),
        granted: &granted,
        meta: RequestMeta::new(),
    };

    let persons = Plan::for_records(args.records).persons;
    let indexes = sample(persons, args.sample);
    let mut hasher = Sha256::new(&SHA256);
    let (mut found, mut missing) = (0u64, 0u64);
    let mut rendered = stream::iter(indexes)
        .map(|index| lookup.render(args.seed, index))
        .buffered(CONCURRENCY);
    while let Some(subject) = rendered.try_next().await? {
        match subject {
            Some(line) => {
                hasher.update(line.as_bytes());
                hasher.update(b"\n");
                found += 1;
            }
            None => missing += 1,
        }
    }
    let digest = hasher
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((digest, found, missing))
}

/// `count` indexes spread evenly over `0..persons` (every index when `count >= persons`), in
/// increasing order.
pub(super) fn sample(persons: u64, count: u64) -> Vec<u64> {
    let count = count.min(persons);
    (0..count)
        .map(|k| {
            // k < count <= persons, so the quotient is below persons and fits a u64.
            let index = u128::from(k) * u128::from(persons) / u128::from(count);
            u64::try_from(index).unwrap_or(u64::MAX)
        })
        .collect()
}

/// Looks residents up through the governed path.
struct Lookup<'a> {
    records: &'a Records,
    granted: &'a Granted<'a>,
    meta: RequestMeta,
}

impl Lookup<'_> {
    /// The canonical rendering of resident `index` of `seed` as stored, or `None` if no
    /// record has its fødselsnummer.
    async fn render(&self, seed: u64, index: u64) -> anyhow::Result<Option<String>> {
        let person = demo::person(seed, index);
        let normalized =
            record::normalize_lookup(self.granted.collection, LOOKUP_FIELD, &person.fodselsnummer)
                .with_context(|| {
                    format!("resident {index}'s generated fødselsnummer is invalid")
                })?;
        let views = self
            .records
            .lookup(&self.granted.grant, LOOKUP_FIELD, &normalized, &self.meta)
            .await
            .with_context(|| format!("cannot look up resident {index}"))?;
        if views.is_empty() {
            return Ok(None);
        }
        Ok(Some(render(index, &views)))
    }
}

/// One line of canonical JSON for resident `index`: the records found for their
/// fødselsnummer (synthetic numbers can repeat, so there may be several), each as its
/// fields' `[name, canonical value]` pairs in catalog order, sorted so that the order the
/// database returns them in does not matter. No ids, times or versions.
fn render(index: u64, views: &[RecordView]) -> String {
    let mut records: Vec<Value> = views
        .iter()
        .map(|view| {
            let fields: Vec<Value> = view
                .fields
                .iter()
                .map(|(name, value)| json!([name.as_str(), value.canonical()]))
                .collect();
            let withheld: Vec<&str> = view.withheld.iter().map(|w| w.field.as_str()).collect();
            json!({ "fields": fields, "withheld": withheld })
        })
        .collect();
    records.sort_by_cached_key(Value::to_string);
    json!({ "resident": index, "records": records }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_spread_over_every_resident_without_repeats() {
        assert_eq!(sample(10, 5), vec![0, 2, 4, 6, 8]);
        assert_eq!(sample(3, 100), vec![0, 1, 2]);
        assert_eq!(sample(0, 100), Vec::<u64>::new());
        let big = sample(700_000, 100);
        assert_eq!(big.len(), 100);
        assert!(big.windows(2).all(|w| w[0] < w[1]));
        assert!(big.iter().all(|&index| index < 700_000));
        assert_eq!(sample(u64::MAX, 3).len(), 3);
    }
}
