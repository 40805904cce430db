//! Where an import's rows come from: a CSV file with a header row, or a table of another
//! database (`datavern_sql::SourceTable`, read-only), each row numbered from 1 in a stable
//! order so a rerun finds the same row under the same number.

use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::Path;

use aws_lc_rs::digest::{Context, SHA256};
use datavern_sql::{DatabaseConfig, SourceTable};

use super::error::ImportError;
use super::mapping::hex;

/// A source of rows.
#[derive(Debug)]
pub struct Source {
    inner: Inner,
    header: Vec<String>,
    identity: String,
    description: String,
    /// Rows handed out so far (the number of the last one).
    position: u64,
}

#[derive(Debug)]
enum Inner {
    Csv(csv::Reader<BufReader<File>>),
    Table {
        table: SourceTable,
        order_by: Vec<String>,
    },
}

/// One row of a source.
#[derive(Debug)]
pub(crate) struct SourceRow {
    /// Its number, from 1.
    pub(crate) number: u64,
    /// Its cells in the source's column order, or why it cannot be read (a stable code and
    /// a message without the value).
    pub(crate) cells: Result<Vec<Option<String>>, (&'static str, String)>,
}

impl Source {
    /// The CSV file at `path`, fields separated by `delimiter` (`,` or `;`, common in
    /// Norway), its first row the header. The file's SHA-256 is part of the import's id.
    pub fn csv(path: &Path, delimiter: u8) -> Result<Source, ImportError> {
        let io = |err: std::io::Error| ImportError::Source(format!("{}: {err}", path.display()));
        let identity = {
            let mut file = BufReader::new(File::open(path).map_err(io)?);
            let mut context = Context::new(&SHA256);
            let mut buffer = vec![0; 64 * 1024];
            loop {
                let read = file.read(&mut buffer).map_err(io)?;
                if read == 0 {
                    break;
                }
                context.update(&buffer[..read]);
            }
            format!("csv:{}", hex(context.finish().as_ref()))
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(BufReader::new(File::open(path).map_err(io)?));
        let header = reader
            .headers()
            .map_err(|err| {
                ImportError::refused(
                    "source_unreadable",
                    format!(
                        "the CSV file {} has no readable header row ({}): the first row must \
                         name the columns",
                        path.display(),
                        csv_error_kind(&err)
                    ),
                )
            })?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect::<Vec<_>>();
        if header.iter().all(String::is_empty) {
            return Err(ImportError::refused(
                "source_unreadable",
                format!(
                    "the CSV file {} has no header row: the first row must name the columns",
                    path.display()
                ),
            ));
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Ok(Source {
            inner: Inner::Csv(reader),
            header,
            identity,
            description: format!("csv {name}"),
            position: 0,
        })
    }

    /// The table `table` of the database at `url`, its rows ordered by `order_by` (by
    /// default every column, in the table's order, so equal orderings only tie identical
    /// rows).
    pub async fn table(url: &str, table: &str, order_by: &[String]) -> Result<Source, ImportError> {
        let config =
            DatabaseConfig::new(url).map_err(|err| ImportError::Source(err.to_string()))?;
        let source = SourceTable::open(&config, table)
            .await
            .map_err(|err| match err {
                datavern_sql::SqlError::Config(message) => {
                    ImportError::refused("source_unreadable", message)
                }
                other => ImportError::Source(datavern_sql::report(&other)),
            })?;
        let header = source.columns().to_vec();
        let unknown: Vec<&String> = order_by.iter().filter(|c| !header.contains(c)).collect();
        if !unknown.is_empty() {
            let problem = format!(
                "--order-by names columns the table does not have ({}); its columns are {}",
                unknown
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                header
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            source.close().await;
            return Err(ImportError::refused("unknown_column", problem));
        }
        let order_by = if order_by.is_empty() {
            header.clone()
        } else {
            order_by.to_vec()
        };
        let identity = {
            let mut context = Context::new(&SHA256);
            for part in [source.redacted_url(), table, &order_by.join(",")] {
                context.update(part.as_bytes());
                context.update(&[0]);
            }
            format!("table:{}", hex(context.finish().as_ref()))
        };
        let description = format!("table {table} at {}", source.redacted_url());
        Ok(Source {
            inner: Inner::Table {
                table: source,
                order_by,
            },
            header,
            identity,
            description,
            position: 0,
        })
    }

    /// The source's column names (a CSV file's header, a table's columns).
    pub fn columns(&self) -> &[String] {
        &self.header
    }

    /// What identifies the source's content (a CSV file's digest; a table's address, name
    /// and order).
    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    /// The source in words, for the report (no password).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Skips the first `rows` rows (committed by an earlier run).
    pub(crate) async fn skip(&mut self, rows: u64) -> Result<(), ImportError> {
        match &mut self.inner {
            Inner::Csv(reader) => {
                let mut record = csv::ByteRecord::new();
                while self.position < rows {
                    if !reader
                        .read_byte_record(&mut record)
                        .map_err(|err| ImportError::Source(csv_error_kind(&err)))?
                    {
                        break;
                    }
                    self.position += 1;
                }
            }
            Inner::Table { .. } => self.position = rows,
        }
        Ok(())
    }

    /// The next `limit` rows (fewer at the end, none after it).
    pub(crate) async fn next_rows(&mut self, limit: usize) -> Result<Vec<SourceRow>, ImportError> {
        let width = self.header.len();
        let mut rows = Vec::with_capacity(limit);
        match &mut self.inner {
            Inner::Csv(reader) => {
                let mut record = csv::ByteRecord::new();
                while rows.len() < limit {
                    let more = reader
                        .read_byte_record(&mut record)
                        .map_err(|err| ImportError::Source(csv_error_kind(&err)))?;
                    if !more {
                        break;
                    }
                    self.position += 1;
                    rows.push(SourceRow {
                        number: self.position,
                        cells: csv_cells(&record, width),
                    });
                }
            }
            Inner::Table { table, order_by } => {
                let columns: Vec<&str> = self.header.iter().map(String::as_str).collect();
                let order: Vec<&str> = order_by.iter().map(String::as_str).collect();
                let page = table
                    .rows(&columns, &order, self.position, limit as u64)
                    .await
                    .map_err(|err| ImportError::Source(datavern_sql::report(&err)))?;
                for cells in page {
                    self.position += 1;
                    rows.push(SourceRow {
                        number: self.position,
                        cells: Ok(cells),
                    });
                }
            }
        }
        Ok(rows)
    }

    /// Closes a database source.
    pub async fn close(&self) {
        if let Inner::Table { table, .. } = &self.inner {
            table.close().await;
        }
    }
}

/// The cells of a CSV record of a file with `width` columns.
fn csv_cells(
    record: &csv::ByteRecord,
    width: usize,
) -> Result<Vec<Option<String>>, (&'static str, String)> {
    if record.len() != width {
        return Err((
            "wrong_column_count",
            format!(
                "the row has {} fields where the header has {width}",
                record.len()
            ),
        ));
    }
    record
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            std::str::from_utf8(bytes)
                .map(|text| Some(text.to_owned()))
                .map_err(|_| {
                    (
                        "invalid_utf8",
                        format!("field {} is not UTF-8 text: save the file as UTF-8", i + 1),
                    )
                })
        })
        .collect()
}

/// What went wrong reading CSV, without the text it was reading.
fn csv_error_kind(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read the file: {io}"),
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "not UTF-8 text{}",
            pos.as_ref()
                .map(|p| format!(" at line {}", p.line()))
                .unwrap_or_default()
        ),
        csv::ErrorKind::UnequalLengths { pos, .. } => format!(
            "rows of unequal length{}",
            pos.as_ref()
                .map(|p| format!(" at line {}", p.line()))
                .unwrap_or_default()
        ),
        _ => "malformed CSV".to_owned(),
    }
}
