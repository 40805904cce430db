//! Writes the labelled synthetic PII corpus (`datavern_core::pii::corpus`) as JSON lines, so
//! that other tools (Presidio, in `bench/presidio/`) can be measured on exactly the records
//! the detector's own tests and benchmark use.
//!
//! ```console
//! cargo run --release -p datavern-core --example pii_corpus -- \
//!     --records 20000 --seed 0x0da7a7e2 --share 0.6 --out corpus.jsonl --eval
//! ```
//!
//! One line per record:
//!
//! ```json
//! {"text":"Fnr: 15108695088","labels":[{"kind":"fnr","start":5,"end":16,
//!  "char_start":5,"char_end":16,"also_accepted":"kontonr","variant":"fodselsnummer"}]}
//! ```
//!
//! `start`/`end` are byte offsets into the UTF-8 text (what the Rust detector reports),
//! `char_start`/`char_end` the same span in Unicode code points (what Python's `str` indexes).
//! `also_accepted` is the other kind that counts as correct when the text cannot tell a bare
//! number's kind (see `corpus::Label`), `variant` the fødselsnummer variant; both may be null.
//!
//! Options (defaults reproduce `tests/it/pii/corpus.rs`):
//!
//! - `--records N` (20000), `--seed S` (decimal or `0x` hex; `0x0da7a7e2`), `--share F` (0.6,
//!   the share of records built around identifiers);
//! - `--pad-to B`: append number-free clauses until each record is at least `B` bytes, as
//!   `benches/pii.rs` does with `B = 50` (with `--seed 0x5eed --records 10000 --share 0.2` this
//!   gives the benchmark's `mixed_records` input); labels are unaffected;
//! - `--out PATH` (stdout when absent);
//! - `--eval`: also print `corpus::evaluate` with the default detector to stderr (exact-span
//!   matching), the reference that `bench/presidio/compare.py` checks its own scoring against.

use std::error::Error;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use datavern_core::pii::{Detector, corpus};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// The clauses `benches/pii.rs` pads records with (copied: the bench keeps them private).
const CLAUSES: &[&str] = &[
    "jf. tidligere vedtak",
    "se notat fra saksbehandler",
    "etter samtale med foresatte",
    "ifølge søknaden",
    "som avtalt på telefon",
    "behandles av barnevernet",
    "i henhold til forvaltningsloven",
    "mottatt via Altinn",
];

/// Command-line options.
struct Options {
    records: usize,
    seed: u64,
    share: f64,
    pad_to: Option<usize>,
    out: Option<String>,
    eval: bool,
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_args(std::env::args().skip(1))?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut records = corpus::generate(&mut rng, options.records, options.share);
    if let Some(min_bytes) = options.pad_to {
        pad(&mut records, min_bytes);
    }

    let sink: Box<dyn Write> = match &options.out {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    for record in &records {
        serde_json::to_writer(&mut out, &record_json(record))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;

    if options.eval {
        let evaluation = corpus::evaluate(&Detector::new(), &records);
        let mut err = io::stderr().lock();
        writeln!(
            err,
            "corpus::evaluate, default detector, {} records (seed {:#x}, share {}{}):\n\n{evaluation}",
            options.records,
            options.seed,
            options.share,
            options
                .pad_to
                .map(|b| format!(", padded to {b} bytes"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// Pads records like `benches/pii.rs`: clauses appended after `", "` until `min_bytes`.
fn pad(records: &mut [corpus::Record], min_bytes: usize) {
    for (index, record) in records.iter_mut().enumerate() {
        let mut clause = index;
        while record.text.len() < min_bytes {
            record.text.push_str(", ");
            record.text.push_str(CLAUSES[clause % CLAUSES.len()]);
            clause += 3;
        }
    }
}

/// One record as JSON, with byte and character offsets for each label.
fn record_json(record: &corpus::Record) -> Value {
    let labels: Vec<Value> = record
        .labels
        .iter()
        .map(|label| {
            json!({
                "kind": label.kind.as_str(),
                "start": label.start,
                "end": label.end,
                "char_start": char_offset(&record.text, label.start),
                "char_end": char_offset(&record.text, label.end),
                "also_accepted": label.also_accepted.map(|k| k.as_str()),
                "variant": label.variant.map(|v| v.as_str()),
            })
        })
        .collect();
    json!({ "text": record.text, "labels": labels })
}

/// The number of `char`s before byte offset `byte` (labels always lie on `char` boundaries).
fn char_offset(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |prefix| prefix.chars().count())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        records: 20_000,
        seed: 0x0da7_a7e2,
        share: 0.6,
        pad_to: None,
        out: None,
        eval: false,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => options.records = value()?.parse()?,
            "--seed" => options.seed = parse_seed(&value()?)?,
            "--share" => options.share = value()?.parse()?,
            "--pad-to" => options.pad_to = Some(value()?.parse()?),
            "--out" => options.out = Some(value()?),
            "--eval" => options.eval = true,
            "-h" | "--help" => {
                writeln!(
                    io::stderr(),
                    "usage: pii_corpus [--records N] [--seed S] [--share F] [--pad-to BYTES] \
                     [--out PATH] [--eval]"
                )?;
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(options)
}

fn parse_seed(text: &str) -> Result<u64, Box<dyn Error>> {
    let digits = text.replace('_', "");
    Ok(match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16)?,
        None => digits.parse()?,
    })
}
