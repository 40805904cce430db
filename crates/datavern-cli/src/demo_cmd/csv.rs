//! `datavern demo csv`: synthetic residents as a legacy system would export them, a
//! `;`-separated CSV file with Norwegian column names and `dd.mm.yyyy` dates, to try and
//! measure `datavern import` with (`docs/import.md`, `BENCHMARKS.md`). The rows are
//! [`datavern_core::demo::person`] (Tenor fødselsnumre, real postnummer/poststed pairs), a
//! pure function of seed and index, so a seed gives the same file every time.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use datavern_core::demo;

/// Arguments of `datavern demo csv`.
#[derive(Debug, clap::Args)]
pub(crate) struct CsvArgs {
    /// How many residents (rows).
    #[arg(long, value_name = "N")]
    records: u64,
    /// The seed: the same seed gives the same rows.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// The file to write [default: stdout].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The header: the legacy system's column names, as `docs/import.md`'s mapping reads them.
const HEADER: [&str; 9] = [
    "Fødselsnummer",
    "Fornavn",
    "Etternavn",
    "Født",
    "Adresse",
    "Postnr",
    "Poststed",
    "Mobil",
    "E-post",
];

pub(crate) fn csv(args: &CsvArgs) -> anyhow::Result<ExitCode> {
    let sink: Box<dyn std::io::Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(std::io::BufWriter::new(sink));
    writer.write_record(HEADER)?;
    for index in 0..args.records {
        let person = demo::person(args.seed, index);
        let born = person.fodselsdato;
        writer.write_record([
            person.fodselsnummer.as_str(),
            &person.fornavn,
            &person.etternavn,
            &format!("{:02}.{:02}.{:04}", born.day(), born.month(), born.year()),
            &person.adresse,
            person.postal.postnummer,
            person.postal.poststed,
            &person.telefon,
            &person.epost,
        ])?;
    }
    let mut inner = writer
        .into_inner()
        .map_err(|err| anyhow::anyhow!("cannot write the CSV: {}", err.error()))?;
    inner.flush()?;
    Ok(ExitCode::SUCCESS)
}
