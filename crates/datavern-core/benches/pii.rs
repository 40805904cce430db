//! Throughput of PII detection on one core: short Norwegian text records (about 60 bytes) of
//! the labelled synthetic corpus, most without an identifier.
//!
//! Run in release: `cargo bench -p datavern-core --bench pii`. Divan reports items/s
//! (records per second) and bytes/s for each benchmark; the goal is at least 1,000,000
//! records/s on the realistic mix.

#![allow(missing_docs, clippy::print_stdout)]

use datavern_core::pii::{ColumnClassifier, Detector, Finding, corpus};
use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use rand::SeedableRng;
use rand::rngs::StdRng;

const RECORDS: usize = 10_000;

fn main() {
    let detector = Detector::new();
    for (name, share) in [
        ("mixed", 0.2),
        ("without identifiers", 0.0),
        ("with identifiers", 1.0),
    ] {
        let records = records(share);
        let bytes: usize = records.iter().map(String::len).sum();
        let chars: usize = records.iter().map(|r| r.chars().count()).sum();
        let mut findings = Vec::new();
        let with_findings = records
            .iter()
            .filter(|record| {
                detector.detect(record, &mut findings);
                !findings.is_empty()
            })
            .count();
        println!(
            "{name}: {} records, {:.1} bytes ({:.1} characters) on average, {:.1} % with a finding",
            records.len(),
            bytes as f64 / records.len() as f64,
            chars as f64 / records.len() as f64,
            100.0 * with_findings as f64 / records.len() as f64
        );
    }
    divan::main();
}

/// Corpus records are single sentences (about 40 bytes); these clauses pad them to the
/// 50–70 bytes of a typical case-note line without adding numbers.
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

/// Records of about 60 bytes, `share` of them built around identifiers.
fn records(share: f64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    corpus::generate(&mut rng, RECORDS, share)
        .into_iter()
        .enumerate()
        .map(|(index, record)| {
            let mut text = record.text;
            let mut clause = index;
            while text.len() < 50 {
                text.push_str(", ");
                text.push_str(CLAUSES[clause % CLAUSES.len()]);
                clause += 3;
            }
            text
        })
        .collect()
}

fn scan(bencher: Bencher<'_, '_>, records: &[String]) {
    let detector = Detector::new();
    let bytes: usize = records.iter().map(String::len).sum();
    let mut findings: Vec<Finding> = Vec::with_capacity(8);
    bencher
        .counter(ItemsCount::new(records.len()))
        .counter(BytesCount::new(bytes))
        .bench_local(|| {
            let mut total = 0usize;
            for record in records {
                detector.detect(black_box(record), &mut findings);
                total += findings.len();
            }
            total
        });
}

/// The realistic mix: 20 % of records hold an identifier, the rest are distractors (dates,
/// amounts, invoice and case numbers) or plain text.
#[divan::bench]
fn mixed_records(bencher: Bencher<'_, '_>) {
    scan(bencher, &records(0.2));
}

/// Records without identifiers only (distractors and plain text).
#[divan::bench]
fn records_without_identifiers(bencher: Bencher<'_, '_>) {
    scan(bencher, &records(0.0));
}

/// Records that all hold at least one identifier.
#[divan::bench]
fn records_with_identifiers(bencher: Bencher<'_, '_>) {
    scan(bencher, &records(1.0));
}

/// Classifying one column of 1,000 sampled fødselsnumre.
#[divan::bench]
fn classify_fnr_column(bencher: Bencher<'_, '_>) {
    let mut rng = StdRng::seed_from_u64(1);
    let values: Vec<String> = (0..1_000)
        .map(|_| datavern_core::id::synth::any_fodselsnummer(&mut rng))
        .collect();
    let classifier = ColumnClassifier::new();
    bencher
        .counter(ItemsCount::new(values.len()))
        .bench_local(|| classifier.classify("fnr", values.iter().map(String::as_str)));
}
