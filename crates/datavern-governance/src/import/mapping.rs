//! The mapping file of an import: which source column becomes which catalog field, and how
//! its text is converted first (`docs/import.md`).
//!
//! ```yaml
//! columns:
//!   - { column: FNR, field: fodselsnummer }
//!   - { column: Fornavn, field: fornavn }
//!   - { column: Født, field: fodselsdato, date_format: dd.mm.yyyy }
//!   - { column: Tlf, field: telefon, empty: "null" }
//! ```
//!
//! A mapping is checked against the collection and the source's columns before any row is
//! read (`Mapping::bind`): every problem is listed with what to fix (a field the collection
//! does not have, a column the source does not have, a field mapped twice, a required field
//! mapped from nothing, a conversion that does not fit the field's type), and nothing is
//! written while one remains.

use aws_lc_rs::digest::{SHA256, digest};
use datavern_core::catalog::{Collection, Field, FieldType};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::report::RowProblem;

/// A parsed mapping file, not yet checked against a collection or a source.
#[derive(Debug, Clone)]
pub struct Mapping {
    columns: Vec<ColumnMapping>,
    checksum: String,
}

/// What to do with a cell that is empty (after trimming).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Empty {
    /// The field is given as `null`: no value (the default). A required field then fails
    /// with `null_not_allowed`.
    #[default]
    Null,
    /// The field is given the empty text.
    Keep,
}

/// One column of the mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnMapping {
    /// The source column, as its header (or the table) names it.
    column: String,
    /// The catalog field it becomes.
    field: String,
    /// Strip white space around the value (default `true`).
    #[serde(default = "yes")]
    trim: bool,
    /// An empty cell: `null` (default) or `keep`.
    #[serde(default)]
    empty: Empty,
    /// For a `date` field: how the source writes dates, with `dd`, `mm` and `yyyy` (e.g.
    /// `dd.mm.yyyy`); without, dates must be `yyyy-mm-dd`.
    #[serde(default)]
    date_format: Option<String>,
    /// For a `decimal` field: the source writes a decimal comma (`1234,50`), and may group
    /// thousands with spaces or dots (`1 234,50`, `1.234,50`).
    #[serde(default)]
    decimal_comma: bool,
}

fn yes() -> bool {
    true
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    columns: Vec<ColumnMapping>,
}

/// A mapping checked against a collection and a source: for each mapped column, its position
/// in a source row and the field it becomes.
#[derive(Debug)]
pub(crate) struct Bound<'c> {
    pub(crate) columns: Vec<BoundColumn<'c>>,
}

/// One mapped column.
#[derive(Debug)]
pub(crate) struct BoundColumn<'c> {
    /// Its position in a source row.
    pub(crate) index: usize,
    /// Its name in the source.
    pub(crate) column: String,
    /// The field it becomes.
    pub(crate) field: &'c Field,
    trim: bool,
    empty: Empty,
    date_format: Option<DateFormat>,
    decimal_comma: bool,
}

/// A date format of `dd`, `mm`, `yyyy` and separators, as strftime.
#[derive(Debug, Clone)]
struct DateFormat {
    written: String,
    strftime: String,
}

impl Mapping {
    /// Parses a mapping file. The error says what is wrong, with line and column.
    pub fn parse(yaml: &str) -> Result<Mapping, String> {
        let file: MappingFile = serde_norway::from_str(yaml).map_err(|err| {
            format!("the mapping file is not a valid mapping: {err} (see docs/import.md)")
        })?;
        if file.columns.is_empty() {
            return Err("the mapping file maps no columns: list them under `columns`".to_owned());
        }
        let hash = digest(&SHA256, yaml.as_bytes());
        Ok(Mapping {
            columns: file.columns,
            checksum: hex(hash.as_ref()),
        })
    }

    /// The SHA-256 of the mapping file's text, in hex: part of the import's id, so a changed
    /// mapping is a new import.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The source columns the mapping reads, in the mapping's order.
    pub fn source_columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.column.as_str())
    }

    /// Checks the mapping against `collection` and the source's `header`; every problem is
    /// listed, each saying what to fix.
    pub(crate) fn bind<'c>(
        &self,
        collection: &'c Collection,
        header: &[String],
    ) -> Result<Bound<'c>, Vec<String>> {
        let mut problems = Vec::new();
        let mut columns = Vec::new();
        let fields = || collection.fields().iter().map(|f| f.name().as_str());
        for (position, mapped) in self.columns.iter().enumerate() {
            let at = format!("columns[{position}]");
            let field = collection.field(&mapped.field);
            if field.is_none() {
                let hint = match datavern_core::catalog::suggest(&mapped.field, fields())
                    .or_else(|| abbreviated(&mapped.field, fields()))
                {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!(
                        "its fields are {}",
                        fields()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                problems.push(format!(
                    "{at}: field `{}` is not a field of collection `{}`: {hint}",
                    mapped.field,
                    collection.name()
                ));
            }
            let index = header.iter().position(|h| h == &mapped.column);
            if index.is_none() {
                let hint = match datavern_core::catalog::suggest(
                    &mapped.column,
                    header.iter().map(String::as_str),
                ) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!(
                        "its columns are {}",
                        header
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                problems.push(format!(
                    "{at}: column `{}` is not in the source: {hint}",
                    mapped.column
                ));
            }
            if self.columns[..position]
                .iter()
                .any(|earlier| earlier.field == mapped.field)
            {
                problems.push(format!(
                    "{at}: field `{}` is mapped from two columns: map it once",
                    mapped.field
                ));
            }
            let date_format = match (&mapped.date_format, field) {
                (None, _) => None,
                (Some(written), Some(field)) if field.field_type() != FieldType::Date => {
                    problems.push(format!(
                        "{at}: date_format `{written}` on field `{}`, which is not a date: \
                         remove it",
                        mapped.field
                    ));
                    None
                }
                (Some(written), _) => match DateFormat::parse(written) {
                    Ok(format) => Some(format),
                    Err(problem) => {
                        problems.push(format!("{at}: {problem}"));
                        None
                    }
                },
            };
            if mapped.decimal_comma
                && let Some(field) = field
                && field.field_type() != FieldType::Decimal
            {
                problems.push(format!(
                    "{at}: decimal_comma on field `{}`, which is not a decimal: remove it",
                    mapped.field
                ));
            }
            if let (Some(field), Some(index)) = (field, index) {
                columns.push(BoundColumn {
                    index,
                    column: mapped.column.clone(),
                    field,
                    trim: mapped.trim,
                    empty: mapped.empty,
                    date_format,
                    decimal_comma: mapped.decimal_comma,
                });
            }
        }
        for field in collection.fields() {
            if field.is_required()
                && !self
                    .columns
                    .iter()
                    .any(|c| c.field == field.name().as_str())
            {
                problems.push(format!(
                    "field `{}` of collection `{}` is required but no column is mapped to it: \
                     add a column for it",
                    field.name(),
                    collection.name()
                ));
            }
        }
        if problems.is_empty() {
            Ok(Bound { columns })
        } else {
            Err(problems)
        }
    }
}

impl Bound<'_> {
    /// The record body of one source row (its cells in source order), or the problems of
    /// the conversions that failed. Never quotes a value.
    pub(crate) fn body(&self, cells: &[Option<String>]) -> (Map<String, Value>, Vec<RowProblem>) {
        let mut body = Map::new();
        let mut problems = Vec::new();
        for column in &self.columns {
            let cell = cells.get(column.index).and_then(Option::as_deref);
            match column.convert(cell) {
                Ok(value) => {
                    body.insert(column.field.name().to_string(), value);
                }
                Err((code, message)) => problems.push(RowProblem::at_field(
                    column.field.name().as_str(),
                    Some(&column.column),
                    code,
                    message,
                )),
            }
        }
        (body, problems)
    }

    /// The column a field is read from.
    pub(crate) fn column_of(&self, field: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.field.name().as_str() == field)
            .map(|c| c.column.as_str())
    }
}

impl BoundColumn<'_> {
    /// The JSON value of one cell for the field, as the API would receive it.
    fn convert(&self, cell: Option<&str>) -> Result<Value, (&'static str, String)> {
        let Some(text) = cell else {
            return Ok(Value::Null);
        };
        let text = if self.trim { text.trim() } else { text };
        if text.is_empty() && self.empty == Empty::Null {
            return Ok(Value::Null);
        }
        Ok(match self.field.field_type() {
            FieldType::String | FieldType::Text => Value::String(text.to_owned()),
            FieldType::Integer => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                // Validation says what is wrong (`wrong_type`).
                Err(_) => Value::String(text.to_owned()),
            },
            FieldType::Decimal if self.decimal_comma => Value::String(
                text.chars()
                    .filter(|c| !matches!(c, ' ' | '.' | '\u{a0}' | '\u{202f}'))
                    .map(|c| if c == ',' { '.' } else { c })
                    .collect(),
            ),
            FieldType::Decimal => Value::String(text.to_owned()),
            FieldType::Boolean => match text.to_lowercase().as_str() {
                "true" | "1" | "ja" | "j" | "yes" | "y" | "sann" => Value::Bool(true),
                "false" | "0" | "nei" | "n" | "no" | "usann" => Value::Bool(false),
                _ => {
                    return Err((
                        "wrong_type",
                        "expected a boolean: true/false, ja/nei, j/n, yes/no or 1/0".to_owned(),
                    ));
                }
            },
            FieldType::Date => match &self.date_format {
                Some(format) => Value::String(format.to_iso(text)?),
                None => Value::String(text.to_owned()),
            },
            FieldType::Timestamp => Value::String(text.to_owned()),
            FieldType::Json => serde_json::from_str(text).map_err(|_| {
                (
                    "wrong_type",
                    "expected JSON text for a json field".to_owned(),
                )
            })?,
        })
    }
}

impl DateFormat {
    /// `dd`, `mm` and `yyyy` (each once) with separators between them.
    fn parse(written: &str) -> Result<DateFormat, String> {
        let mut strftime = String::new();
        let mut rest = written;
        let mut seen = [false; 3];
        while !rest.is_empty() {
            if let Some(tail) = rest.strip_prefix("yyyy") {
                strftime.push_str("%Y");
                seen[0] = true;
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("mm") {
                strftime.push_str("%m");
                seen[1] = true;
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("dd") {
                strftime.push_str("%d");
                seen[2] = true;
                rest = tail;
            } else {
                let mut chars = rest.chars();
                let c = chars.next().unwrap_or(' ');
                if c.is_ascii_alphanumeric() || c == '%' {
                    return Err(format!(
                        "date_format `{written}`: write dates with `dd`, `mm`, `yyyy` and \
                         separators, e.g. `dd.mm.yyyy`"
                    ));
                }
                strftime.push(c);
                rest = chars.as_str();
            }
        }
        if seen != [true; 3] {
            return Err(format!(
                "date_format `{written}` needs `dd`, `mm` and `yyyy`, e.g. `dd.mm.yyyy`"
            ));
        }
        Ok(DateFormat {
            written: written.to_owned(),
            strftime,
        })
    }

    /// The date `text` in this format as `yyyy-mm-dd`.
    fn to_iso(&self, text: &str) -> Result<String, (&'static str, String)> {
        jiff::civil::Date::strptime(&self.strftime, text)
            .map(|date| date.to_string())
            .map_err(|_| {
                (
                    "invalid_date",
                    format!("not a date written {}", self.written),
                )
            })
    }
}

/// The one name `name` abbreviates, if exactly one shares the longest prefix of at least
/// five characters with it (`fodselsnr` for `fodselsnummer`), which edit distance misses.
fn abbreviated<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let shared = |candidate: &str| {
        candidate
            .chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let scored: Vec<(usize, &str)> = names.map(|n| (shared(n), n)).collect();
    let best = scored.iter().map(|(s, _)| *s).max().filter(|s| *s >= 5)?;
    let mut top = scored.iter().filter(|(s, _)| *s == best);
    match (top.next(), top.next()) {
        (Some((_, only)), None) => Some(only),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats_read_norwegian_dates() {
        let format = DateFormat::parse("dd.mm.yyyy").unwrap();
        assert_eq!(format.to_iso("17.05.1990").unwrap(), "1990-05-17");
        assert_eq!(format.to_iso("31.02.1990").unwrap_err().0, "invalid_date");
        assert!(DateFormat::parse("dd.mm.yy").is_err());
        assert!(DateFormat::parse("dd/mm/yyyy").is_ok());
    }

    #[test]
    fn a_mapping_with_unknown_keys_is_refused() {
        assert!(Mapping::parse("columns:\n  - { column: a, field: b, trim: true }\n").is_ok());
        let err = Mapping::parse("columns:\n  - { column: a, feild: b }\n").unwrap_err();
        assert!(err.contains("feild"), "{err}");
        assert!(Mapping::parse("columns: []\n").is_err());
    }
}
