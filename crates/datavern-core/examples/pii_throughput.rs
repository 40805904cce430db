//! Single-threaded throughput of `Detector::detect` over the texts of a JSON-lines corpus
//! (as written by the `pii_corpus` example), and optionally the findings, so that
//! `bench/presidio/compare.py` can score datavern and Presidio with one evaluator.
//!
//! ```console
//! cargo run --release -p datavern-core --example pii_throughput -- corpus.jsonl \
//!     --findings findings.jsonl
//! ```
//!
//! The texts are read into memory first; only the `detect` calls are timed (one reused
//! `Detector` and output vector, as in `benches/pii.rs`). The file is scanned in `--samples`
//! samples (default 15), each repeating whole passes for at least `--sample-secs` seconds
//! (default 0.2), after one untimed warm-up pass. Prints one JSON object to stdout:
//! records, bytes, chars, and records/s and MB/s (10^6 bytes of UTF-8) of the median,
//! fastest and slowest sample.
//!
//! `--findings PATH` writes one JSON line per record, in corpus order:
//! `{"findings":[{"kind":"fnr","start":5,"end":16,"char_start":5,"char_end":16,"score":1.0}]}`
//! (byte and code-point offsets).

use std::error::Error;
use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use datavern_core::pii::{Detector, Finding};
use serde_json::{Value, json};

/// Command-line options.
struct Options {
    input: String,
    findings: Option<String>,
    samples: usize,
    sample_secs: f64,
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_args(std::env::args().skip(1))?;
    let texts = read_texts(&options.input)?;
    if texts.is_empty() {
        return Err(format!("{}: no records", options.input).into());
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();

    let detector = Detector::new();
    let mut findings: Vec<Finding> = Vec::with_capacity(8);
    if let Some(path) = &options.findings {
        write_findings(path, &detector, &texts)?;
    }

    // Warm-up: one untimed pass.
    black_box(pass(&detector, &texts, &mut findings));
    let min_sample = Duration::from_secs_f64(options.sample_secs);
    let mut rates: Vec<f64> = Vec::with_capacity(options.samples);
    for _ in 0..options.samples.max(1) {
        let started = Instant::now();
        let mut passes = 0usize;
        while started.elapsed() < min_sample {
            black_box(pass(&detector, &texts, &mut findings));
            passes += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        rates.push((passes * texts.len()) as f64 / elapsed);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let (slowest, fastest) = (rates[0], rates[rates.len() - 1]);
    let mb_per_s = |records_per_s: f64| records_per_s * bytes as f64 / texts.len() as f64 / 1e6;

    let summary = json!({
        "tool": "datavern",
        "records": texts.len(),
        "bytes": bytes,
        "chars": chars,
        "samples": rates.len(),
        "records_per_s": median,
        "mb_per_s": mb_per_s(median),
        "records_per_s_fastest": fastest,
        "records_per_s_slowest": slowest,
        "mb_per_s_fastest": mb_per_s(fastest),
    });
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &summary)?;
    writeln!(out)?;
    Ok(())
}

/// One pass over every text; returns the number of findings so the work is not optimised out.
fn pass(detector: &Detector, texts: &[String], findings: &mut Vec<Finding>) -> usize {
    let mut total = 0;
    for text in texts {
        detector.detect(black_box(text), findings);
        total += findings.len();
    }
    total
}

fn read_texts(path: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let reader = BufReader::new(File::open(path).map_err(|e| format!("{path}: {e}"))?);
    let mut texts = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value =
            serde_json::from_str(&line).map_err(|e| format!("{path}:{}: {e}", index + 1))?;
        let text = record
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{path}:{}: no \"text\" string", index + 1))?;
        texts.push(text.to_owned());
    }
    Ok(texts)
}

fn write_findings(path: &str, detector: &Detector, texts: &[String]) -> Result<(), Box<dyn Error>> {
    let mut out = BufWriter::new(File::create(path).map_err(|e| format!("{path}: {e}"))?);
    let mut findings = Vec::new();
    for text in texts {
        detector.detect(text, &mut findings);
        let list: Vec<Value> = findings
            .iter()
            .map(|f| {
                json!({
                    "kind": f.kind.as_str(),
                    "start": f.start,
                    "end": f.end,
                    "char_start": char_offset(text, f.start),
                    "char_end": char_offset(text, f.end),
                    "score": f.score,
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "findings": list }))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The number of `char`s before byte offset `byte` (findings always lie on `char` boundaries).
fn char_offset(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |prefix| prefix.chars().count())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, Box<dyn Error>> {
    let mut input = None;
    let mut options = Options {
        input: String::new(),
        findings: None,
        samples: 15,
        sample_secs: 0.2,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--findings" => options.findings = Some(value()?),
            "--samples" => options.samples = value()?.parse()?,
            "--sample-secs" => options.sample_secs = value()?.parse()?,
            "-h" | "--help" => {
                writeln!(
                    io::stderr(),
                    "usage: pii_throughput CORPUS.jsonl [--findings PATH] [--samples N] \
                     [--sample-secs S]"
                )?;
                std::process::exit(0);
            }
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other:?} (try --help)").into());
            }
            _ => input = Some(arg),
        }
    }
    options.input = input.ok_or("usage: pii_throughput CORPUS.jsonl [--findings PATH]")?;
    Ok(options)
}
