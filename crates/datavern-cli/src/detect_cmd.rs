//! `datavern detect`: find personal data in free text (one JSON line per finding), or classify
//! the columns of a CSV file (one JSON line per column).
//!
//! Offsets are byte offsets into the line the finding is on (0-based, end exclusive); `line`
//! is 1-based. Values are masked unless `--show-values`: every letter and digit of the value
//! becomes `*`, so no digit of an identifier is ever printed by default.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use datavern_core::pii::{
    ColumnClassification, ColumnClassifier, DEFAULT_MIN_SCORE, Detector, Finding,
};
use serde_json::{Map, Value, json};

/// Arguments of `datavern detect`.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// The text file to scan (or, with --columns, the CSV file); `-` or nothing for standard
    /// input.
    file: Option<PathBuf>,
    /// Classify the columns of a CSV file (first row: column names) instead of scanning text.
    #[arg(long)]
    columns: bool,
    /// With --columns: how many rows to sample per column.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    sample: usize,
    /// With --columns: the field delimiter (one ASCII character).
    #[arg(long, value_name = "CHAR", default_value_t = ',')]
    delimiter: char,
    /// Print the values found (masked by default: no digit of a value is shown).
    #[arg(long)]
    show_values: bool,
    /// Report findings scoring at least this (0–1).
    #[arg(long, value_name = "SCORE", default_value_t = DEFAULT_MIN_SCORE)]
    min_score: f32,
}

pub(crate) fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.min_score) {
        anyhow::bail!(
            "--min-score must lie between 0 and 1, got {}",
            args.min_score
        );
    }
    let input = open(args.file.as_deref())?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let outcome = if args.columns {
        classify_columns(&args, input, &mut out)
    } else {
        scan_text(&args, input, &mut out)
    };
    let outcome = outcome.and_then(|()| out.flush().context("writing to standard output"));
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `datavern detect big.txt | head` is not an error.
        Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err),
    }
}

fn open(file: Option<&Path>) -> anyhow::Result<Box<dyn Read>> {
    match file {
        None => Ok(Box::new(io::stdin())),
        Some(path) if path.as_os_str() == "-" => Ok(Box::new(io::stdin())),
        Some(path) => {
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Ok(Box::new(file))
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Lines are scanned in blocks of about this many bytes, so a context word on one line
/// ("Fødselsnummer:") still counts for a number on the next.
const BLOCK: usize = 64 * 1024;

fn scan_text(args: &DetectArgs, input: Box<dyn Read>, out: &mut impl Write) -> anyhow::Result<()> {
    let detector = Detector::new().with_min_score(args.min_score);
    let mut reader = BufReader::with_capacity(BLOCK, input);
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + 1024);
    let mut line_starts: Vec<usize> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut first_line = 1usize;
    loop {
        block.clear();
        line_starts.clear();
        while block.len() < BLOCK {
            line_starts.push(block.len());
            let read = reader
                .read_until(b'\n', &mut block)
                .context("reading the input")?;
            if read == 0 {
                line_starts.pop();
                break;
            }
        }
        if block.is_empty() {
            return Ok(());
        }
        // Invalid UTF-8 is skipped, valid stretches around it are scanned: offsets stay the
        // input's own byte offsets.
        let mut chunk_start = 0usize;
        for chunk in block.utf8_chunks() {
            let text = chunk.valid();
            detector.detect(text, &mut findings);
            for finding in &findings {
                let at = Position {
                    line_starts: &line_starts,
                    first_line,
                    chunk_start,
                };
                write_finding(args, &at, text, finding, out)?;
            }
            chunk_start += text.len() + chunk.invalid().len();
        }
        first_line += line_starts.len();
    }
}

/// Where a scanned chunk lies in the input.
struct Position<'a> {
    /// Offsets of the block's lines in the block.
    line_starts: &'a [usize],
    /// The 1-based number of the block's first line.
    first_line: usize,
    /// Offset of the chunk in the block.
    chunk_start: usize,
}

fn write_finding(
    args: &DetectArgs,
    at: &Position<'_>,
    text: &str,
    finding: &Finding,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let start = at.chunk_start + finding.start;
    let end = at.chunk_start + finding.end;
    let line_index = at
        .line_starts
        .partition_point(|&line_start| line_start <= start)
        .saturating_sub(1);
    let line_start = at.line_starts.get(line_index).copied().unwrap_or(0);
    let first_line = at.first_line;
    let mut record = Map::new();
    record.insert("line".into(), json!(first_line + line_index));
    record.insert("start".into(), json!(start - line_start));
    record.insert("end".into(), json!(end - line_start));
    record.insert("kind".into(), json!(finding.kind.as_str()));
    if let Some(variant) = finding.variant {
        record.insert("variant".into(), json!(variant.as_str()));
        if let Some(rule) = variant.checksum_rule() {
            record.insert("rule".into(), json!(rule.as_str()));
        }
    }
    record.insert("score".into(), json!(round3(finding.score)));
    record.insert("category".into(), json!(finding.category().as_str()));
    if let Some(other) = finding.also_valid_as {
        record.insert("also_valid_as".into(), json!(other.as_str()));
    }
    let value = finding.text(text).unwrap_or_default();
    record.insert(
        "value".into(),
        json!(if args.show_values {
            value.to_owned()
        } else {
            mask(value)
        }),
    );
    writeln!(out, "{}", Value::Object(record)).context("writing to standard output")
}

fn classify_columns(
    args: &DetectArgs,
    input: Box<dyn Read>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let delimiter = u8::try_from(args.delimiter)
        .ok()
        .filter(u8::is_ascii)
        .with_context(|| {
            format!(
                "--delimiter must be one ASCII character, got {:?}",
                args.delimiter
            )
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .context("reading the CSV header row")?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for (index, row) in reader.records().take(args.sample).enumerate() {
        let row = row.with_context(|| format!("reading CSV row {}", index + 2))?;
        for (column, value) in columns.iter_mut().zip(row.iter()) {
            column.push(value.to_owned());
        }
    }
    let classifier = ColumnClassifier::new();
    for (name, values) in headers.iter().zip(&columns) {
        let verdict = classifier.classify(name, values.iter().map(String::as_str));
        writeln!(out, "{}", column_json(name, &verdict)).context("writing to standard output")?;
    }
    Ok(())
}

fn column_json(name: &str, verdict: &ColumnClassification) -> Value {
    json!({
        "column": name,
        "kind": verdict.kind.map(|kind| kind.as_str()),
        "category": verdict.kind.and_then(|kind| kind.category()).map(|c| c.as_str()),
        "confidence": round3(verdict.confidence),
        "share_valid": round3(verdict.share_valid),
        "in_free_text": verdict.in_free_text,
        "name_evidence": verdict.name_evidence.map(|evidence| evidence.kind.as_str()),
        "sampled": verdict.sampled,
        "empty": verdict.empty,
    })
}

/// Every letter and digit replaced by `*`; separators, `@`, `+` and dots kept so the shape
/// of the value stays readable.
fn mask(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_alphanumeric() { '*' } else { c })
        .collect()
}

fn round3(value: f32) -> f64 {
    (f64::from(value) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_every_digit_and_letter() {
        assert_eq!(mask("151086 95088"), "****** *****");
        assert_eq!(mask("ola@nav.no"), "***@***.**");
        assert_eq!(mask("+47 912 34 567"), "+** *** ** ***");
    }
}
