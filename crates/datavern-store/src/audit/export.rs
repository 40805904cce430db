//! Export of the sealed log to a file that can be verified offline with only the public
//! verifier key.
//!
//! JSON lines, in this order:
//!
//! ```text
//! {"type":"header","format":"datavern-audit-export","version":1,"origin":…,"verifier_key":…,
//!  "exported_at":…,"head":{"size":n,"hash":"<hex>"}}
//! {"type":"checkpoint","size":…,"head_hash":"<hex>","signed_at":…,"note":"<signed note>"}   ×k
//! {"type":"entry","sequence":1,"entry_hash":"<hex>","id":…,"sealed_at":…,"format":1,
//!  "occurred_at":…,"tenant":…,"principal":…,…}                                            ×n
//! {"type":"end","entries":n}
//! ```
//!
//! Every entry line carries every column, so the verifier recomputes each entry's canonical
//! bytes exactly as [`AuditLog::verify`] does from the database. The header's origin and
//! verifier key are informational: the verifier uses the key it is given, never the file's.

use std::io::BufRead;
use std::path::Path;

use datavern_crypto::audit::{ChainHash, ChainHead, CheckpointVerifier};
use datavern_sql::{At, Conn, Text};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use super::AuditLog;
use super::entry::{CanonicalFields, FORMAT_V1, encode_v1};
use super::error::AuditLogError;
use super::sealer::head_from_row;
use super::stored::{AuditRow, CHECKPOINTS, HEAD, HeadRow, col};
use super::tx::in_snapshot;
use super::verify::{RawCheckpoint, Replay, VerifyReport, sealed_page};

use crate::error::Result;

/// The `format` of an export file's header.
pub const EXPORT_FORMAT: &str = "datavern-audit-export";
/// The export format version this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// Entries read per query while exporting.
const PAGE: u64 = 1000;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Sealed entries written.
    pub entries: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// The recorded head at the time of the export.
    pub head: ChainHead,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header(Header),
    Checkpoint(CheckpointLine),
    Entry(Box<EntryLine>),
    End { entries: u64 },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    origin: Option<String>,
    verifier_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    exported_at: OffsetDateTime,
    head: HeadLine,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadLine {
    size: u64,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    size: u64,
    head_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    signed_at: OffsetDateTime,
    note: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    sequence: i64,
    entry_hash: String,
    id: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    sealed_at: Option<OffsetDateTime>,
    format: i16,
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    tenant: Option<String>,
    principal: String,
    purpose: Option<String>,
    action: String,
    collection: Option<String>,
    record_id: Option<String>,
    subject_id: Option<String>,
    subjects: Vec<String>,
    fields: Vec<String>,
    outcome: String,
    reason: Option<String>,
    request_id: Option<String>,
}

impl EntryLine {
    fn from_row(row: AuditRow) -> Self {
        EntryLine {
            sequence: row.sequence.unwrap_or_default(),
            entry_hash: hex(row.entry_hash.as_deref().unwrap_or_default()),
            id: row.id,
            sealed_at: row.sealed_at.map(OffsetDateTime::from),
            format: row.format,
            occurred_at: row.occurred_at.into(),
            tenant: row.tenant.map(|t| t.0),
            principal: row.principal.0,
            purpose: row.purpose.map(|t| t.0),
            action: row.action.0,
            collection: row.collection.map(|t| t.0),
            record_id: row.record_id.map(|id| id.to_string()),
            subject_id: row.subject_id.map(|id| id.to_string()),
            subjects: row.subjects.0,
            fields: row.fields.0,
            outcome: row.outcome.0,
            reason: row.reason.map(|t| t.0),
            request_id: row.request_id.map(|t| t.0),
        }
    }

    fn canonical_bytes(&self) -> Result<Vec<u8>, String> {
        if self.format != FORMAT_V1 {
            return Err(format!("unknown entry format {}", self.format));
        }
        let uuid = |text: &Option<String>, what: &str| -> Result<Option<[u8; 16]>, String> {
            text.as_deref()
                .map(|t| {
                    Uuid::parse_str(t)
                        .map(Uuid::into_bytes)
                        .map_err(|_| format!("its {what} is not a UUID"))
                })
                .transpose()
        };
        let record = uuid(&self.record_id, "record id")?;
        let subject = uuid(&self.subject_id, "subject id")?;
        Ok(encode_v1(&CanonicalFields {
            occurred_at_us: At::from(self.occurred_at).as_micros(),
            tenant: self.tenant.as_deref(),
            principal: &self.principal,
            purpose: self.purpose.as_deref(),
            action: &self.action,
            collection: self.collection.as_deref(),
            record_id: record.as_ref().map(|b| b.as_slice()),
            subject_id: subject.as_ref().map(|b| b.as_slice()),
            subjects: self.subjects.iter().map(String::as_str).collect(),
            fields: self.fields.iter().map(String::as_str).collect(),
            outcome: &self.outcome,
            reason: self.reason.as_deref(),
            request_id: self.request_id.as_deref(),
        }))
    }
}

impl AuditLog {
    /// Writes every sealed entry, every checkpoint and the recorded head, from one consistent
    /// snapshot, as JSON lines to `out`. `verifier_key` (the public key whose checkpoints these
    /// are) is written into the header for the reader's information.
    pub async fn export<W: AsyncWrite + Unpin + Send>(
        &self,
        out: &mut W,
        verifier_key: Option<&str>,
    ) -> Result<ExportSummary> {
        let now = self.now();
        in_snapshot(self.database(), async |conn| {
            export_in(conn, out, verifier_key, now).await
        })
        .await
    }

    /// [`export`](Self::export) to a new file at `path` (mode 0600; refused if it exists),
    /// flushed to disk before returning.
    pub async fn export_to_file(
        &self,
        path: &Path,
        verifier_key: Option<&str>,
    ) -> Result<ExportSummary> {
        let io = |source| AuditLogError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        };
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(path).await.map_err(io)?;
        let mut out = tokio::io::BufWriter::new(file);
        let summary = self.export(&mut out, verifier_key).await?;
        out.flush().await.map_err(io)?;
        out.into_inner().sync_all().await.map_err(io)?;
        Ok(summary)
    }
}

async fn export_in<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<'_>,
    out: &mut W,
    verifier_key: Option<&str>,
    exported_at: At,
) -> Result<ExportSummary> {
    let heads: Vec<HeadRow> = conn
        .fetch_all(
            sea_query::Query::select()
                .columns([col("size"), col("head_hash")])
                .from(col(HEAD)),
        )
        .await?;
    let head = heads
        .into_iter()
        .next()
        .map(head_from_row)
        .transpose()
        .map_err(AuditLogError::Corrupt)?
        .ok_or_else(|| AuditLogError::Corrupt("dv_audit_head has no row".to_owned()))?;
    let checkpoints: Vec<(i64, Vec<u8>, Text, At)> = conn
        .fetch_all(
            sea_query::Query::select()
                .columns([col("size"), col("head_hash"), col("note"), col("signed_at")])
                .from(col(CHECKPOINTS))
                .order_by(col("size"), sea_query::Order::Asc),
        )
        .await?;
    // The origin is the checkpoint text's first line.
    let origin = checkpoints
        .first()
        .and_then(|(_, _, note, _)| note.0.lines().next().map(str::to_owned));
    let header = Line::Header(Header {
        format: EXPORT_FORMAT.to_owned(),
        version: EXPORT_VERSION,
        origin,
        verifier_key: verifier_key.map(str::to_owned),
        exported_at: exported_at.into(),
        head: HeadLine {
            size: head.size,
            hash: head.hash.to_string(),
        },
    });
    write_line(out, &header).await?;
    let mut summary = ExportSummary {
        entries: 0,
        checkpoints: 0,
        head,
    };
    for (size, head_hash, note, signed_at) in checkpoints {
        let line = Line::Checkpoint(CheckpointLine {
            size: u64::try_from(size).unwrap_or_default(),
            head_hash: hex(&head_hash),
            signed_at: signed_at.into(),
            note: note.0,
        });
        write_line(out, &line).await?;
        summary.checkpoints += 1;
    }
    let mut after = 0i64;
    loop {
        let rows = sealed_page(conn, after, PAGE).await?;
        let count = rows.len() as u64;
        let Some(last) = rows.last() else { break };
        after = last.sequence.unwrap_or(i64::MAX);
        for row in rows {
            write_line(out, &Line::Entry(Box::new(EntryLine::from_row(row)))).await?;
            summary.entries += 1;
        }
        if count < PAGE {
            break;
        }
    }
    write_line(
        out,
        &Line::End {
            entries: summary.entries,
        },
    )
    .await?;
    Ok(summary)
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, line: &Line) -> Result<()> {
    let mut bytes = serde_json::to_vec(line)
        .map_err(|err| AuditLogError::Corrupt(format!("cannot encode an export line: {err}")))?;
    bytes.push(b'\n');
    out.write_all(&bytes)
        .await
        .map_err(|source| AuditLogError::Io {
            action: "write",
            path: "the export".into(),
            source,
        })?;
    Ok(())
}

/// Verifies an export read from `input` offline, with only the public `verifier` key (without
/// one, only the chain is checked and checkpoints are counted): the same checks as
/// [`AuditLog::verify`]. A line edited in the file is reported at its entry's position (or its
/// checkpoint's); a file that is not an export at all is an error.
pub fn verify_export<R: BufRead>(
    input: R,
    verifier: Option<&CheckpointVerifier>,
) -> Result<VerifyReport> {
    let mut replay = Replay::new(verifier);
    let mut recorded = None;
    let mut ended = None;
    let mut entries_seen = 0u64;
    for (index, line) in input.lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.map_err(|source| AuditLogError::Io {
            action: "read",
            path: "the export".into(),
            source,
        })?;
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(parsed) => parsed,
            Err(err) if number == 1 => {
                return Err(format_error(number, format!("not a header line: {err}")));
            }
            Err(err) => {
                // A damaged line: name the entry it should be, when the replay is at entries.
                replay.unreadable(format!("line {number} is not a valid export line: {err}"));
                break;
            }
        };
        match (number, parsed) {
            (1, Line::Header(header)) => {
                if header.format != EXPORT_FORMAT || header.version != EXPORT_VERSION {
                    return Err(format_error(
                        1,
                        format!(
                            "format {} version {}; this build reads {EXPORT_FORMAT} version \
                             {EXPORT_VERSION}",
                            header.format, header.version
                        ),
                    ));
                }
                let hash = header.head.hash.parse::<ChainHash>().map_err(|_| {
                    format_error(1, "the head hash is not 64 hex digits".to_owned())
                })?;
                recorded = Some(ChainHead {
                    size: header.head.size,
                    hash,
                });
                replay.expect_origin(header.origin);
            }
            (1, _) => {
                return Err(format_error(
                    1,
                    "the first line is not the header".to_owned(),
                ));
            }
            (_, Line::Header(_)) => {
                replay.unreadable(format!("line {number} is a second header"));
                break;
            }
            (_, Line::Checkpoint(checkpoint)) => {
                if entries_seen > 0 {
                    replay.unreadable(format!("line {number}: checkpoint after the entries"));
                    break;
                }
                let head_hash = unhex(&checkpoint.head_hash).unwrap_or_default();
                replay.checkpoint(&RawCheckpoint {
                    size: checkpoint.size,
                    head_hash,
                    note: checkpoint.note,
                });
            }
            (_, Line::Entry(entry)) => {
                entries_seen += 1;
                let stored = unhex(&entry.entry_hash);
                replay.entry(
                    Some(entry.sequence),
                    entry.canonical_bytes(),
                    stored.as_deref(),
                );
                if !replay.running() {
                    break;
                }
            }
            (_, Line::End { entries }) => {
                ended = Some(entries);
                break;
            }
        }
    }
    if recorded.is_none() {
        return Err(format_error(1, "the file is empty".to_owned()));
    }
    if replay.running() {
        match ended {
            None => replay.unreadable("the file ends without its end line (cut short)".to_owned()),
            Some(count) if count != entries_seen => replay.unreadable(format!(
                "the end line counts {count} entries, the file has {entries_seen}"
            )),
            Some(_) => {}
        }
    }
    Ok(replay.finish(recorded))
}

/// [`verify_export`] of the file at `path`.
pub fn verify_export_file(
    path: &Path,
    verifier: Option<&CheckpointVerifier>,
) -> Result<VerifyReport> {
    let file = std::fs::File::open(path).map_err(|source| AuditLogError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    verify_export(std::io::BufReader::new(file), verifier)
}

fn format_error(line: u64, problem: String) -> crate::error::StoreError {
    AuditLogError::ExportFormat { line, problem }.into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use time::format_description::well_known::Rfc3339;

    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00abff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn rfc3339_keeps_microseconds() {
        let at = OffsetDateTime::from(At::from(
            time::macros::datetime!(2026-03-01 12:00:00.123456789 UTC),
        ));
        let text = at.format(&Rfc3339).unwrap();
        assert_eq!(OffsetDateTime::parse(&text, &Rfc3339).unwrap(), at);
    }
}
