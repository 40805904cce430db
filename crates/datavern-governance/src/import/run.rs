//! An import run: the checks before any row (collection, mapping, access), then per batch
//! of rows conversion, validation, duplicates, and one governed write with the checkpoint.

use std::collections::HashMap;
use std::time::Instant;

use aws_lc_rs::digest::{Context, SHA256};
use datavern_core::access::{self, AccessRequest, Grant, Principal};
use datavern_core::catalog::{Collection, Kommunenummer};
use datavern_core::id::IdentifierKind;
use datavern_core::record::{self, FieldValue, Mode, ProblemCode, ValidatedRecord};
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome, ImportEvent};
use datavern_store::jobs::{self, Checkpoint, JobKey, JobState};
use datavern_store::{RecordError, Records, RequestMeta, StoreError};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use serde_json::json;
use uuid::Uuid;

use super::error::ImportError;
use super::mapping::{Bound, Mapping, hex};
use super::report::{
    Duplicate, DuplicateOf, ImportMode, ImportReport, InvalidIdentifier, RejectedRow, RowProblem,
};
use super::source::{Source, SourceRow};

/// The kind of job an import's checkpoint is (`dv_jobs.name`).
pub const IMPORT_JOB: &str = "import";
/// Rows per batch (one transaction each) unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// The planner's statistics of the collection's table are refreshed when the records an
/// import wrote pass this many, and each doubling of it.
const STATISTICS_STEP: u64 = 1000;
/// Lookups of stored duplicates in flight at once.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The collection to write.
    pub collection: String,
    /// The tenant written for.
    pub tenant: Kommunenummer,
    /// The purpose the import processes the data for.
    pub purpose: String,
    /// Who imports (an operator's or the CLI's principal), as the audit log names them.
    pub principal: Principal,
    /// Write, or only check.
    pub mode: ImportMode,
    /// Rows per transaction (clamped to `1..=`[`datavern_store::records::MAX_BATCH`]).
    pub batch_size: usize,
    /// Stop after this many batches (resume with another run); `None` for the whole source.
    pub max_batches: Option<u64>,
}

/// Progress of a run, after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows read by this run so far.
    pub rows_read: u64,
    /// Records written (or, in a dry run, that would be).
    pub imported: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// Imports rows through the governed record path (`Records::create_many_checkpointed`).
#[derive(Clone)]
pub struct Importer {
    records: Records,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").finish_non_exhaustive()
    }
}

/// An import checked and ready: the collection, the grant, the bound mapping, the
/// fødselsnummer fields and the import's id.
struct Prepared<'c> {
    collection: &'c Collection,
    grant: Grant,
    bound: Bound<'c>,
    identities: Vec<IdentityField>,
    import_id: String,
}

/// A fødselsnummer field of the collection that the mapping fills.
struct IdentityField {
    name: String,
    /// The grant to look it up among stored records, if the field is searchable and the
    /// purpose may look it up.
    lookup: Option<Grant>,
}

/// The state of a run.
struct Run<'p, 'c> {
    prepared: &'p Prepared<'c>,
    options: &'p ImportOptions,
    meta: RequestMeta,
    job: Option<(JobKey, Uuid)>,
    /// Rows committed by earlier runs and counts carried over from them.
    carried: Carried,
    /// Per fødselsnummer field, the numbers seen in the source and the row first seen in.
    seen: Vec<HashMap<String, u64>>,
    report: ImportReport,
}

/// What a job's checkpoint holds.
#[derive(Debug, Clone, Copy, Default)]
struct Carried {
    row: u64,
    imported: u64,
    rejected: u64,
}

impl Importer {
    /// An importer writing through `records`.
    pub fn new(records: Records) -> Importer {
        Importer { records }
    }

    /// Imports `source` into `options.collection` as `mapping` (the mapping file's text)
    /// says. Refusals (an unknown collection or field, a column the source lacks, a purpose
    /// or principal that may not write) come before any row is read, and are audited
    /// (`import.refused`); a run is audited when it starts and when it ends (`import.started`,
    /// `import.finished`, with its counts), and every record written has its own `create`
    /// entry. `progress` is called after every batch.
    pub async fn run(
        &self,
        options: &ImportOptions,
        mapping: &str,
        source: &mut Source,
        progress: impl FnMut(&Progress) + Send,
    ) -> Result<ImportReport, ImportError> {
        let started = Instant::now();
        let catalog = std::sync::Arc::clone(self.records.catalog());
        let prepared = match prepare(&catalog, options, mapping, source) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                self.audit_refusal(options, &refusal).await?;
                return Err(refusal);
            }
        };
        let mut run = Run::new(&prepared, options, source);
        if options.mode == ImportMode::Apply {
            run.claim(&self.records).await?;
        }
        if run.report.already_done {
            self.audit(&run, ImportEvent::Finished, "already done".to_owned())
                .await?;
            return Ok(run.finish(started));
        }
        let start = match run.report.resumed_after_row {
            Some(row) => format!("resumed after row {row}"),
            None if options.mode == ImportMode::DryRun => "dry run".to_owned(),
            None => "first run".to_owned(),
        };
        self.audit(&run, ImportEvent::Started, start).await?;
        let outcome = self.batches(&mut run, source, progress).await;
        let summary = format!(
            "{}read {} imported {} rejected {}",
            match (&outcome, run.report.complete) {
                (Err(_), _) => "failed ",
                (Ok(()), false) => "partial ",
                (Ok(()), true) => "",
            },
            run.report.rows_read,
            run.report.imported,
            run.report.rejected
        );
        let audited = self.audit(&run, ImportEvent::Finished, summary).await;
        outcome?;
        audited?;
        Ok(run.finish(started))
    }

    /// Reads, checks and writes batches until the source ends or `max_batches` is reached.
    async fn batches(
        &self,
        run: &mut Run<'_, '_>,
        source: &mut Source,
        mut progress: impl FnMut(&Progress) + Send,
    ) -> Result<(), ImportError> {
        source.skip(run.carried.row).await?;
        let batch_size = run
            .options
            .batch_size
            .clamp(1, datavern_store::records::MAX_BATCH);
        loop {
            if run
                .options
                .max_batches
                .is_some_and(|max| run.report.batches >= max)
            {
                return Ok(());
            }
            let rows = source.next_rows(batch_size).await?;
            let Some(last) = rows.last().map(|row| row.number) else {
                run.report.complete = true;
                break;
            };
            let mut accepted = Vec::with_capacity(rows.len());
            for row in rows {
                run.report.rows_read += 1;
                if let Some(record) = run.check(row) {
                    accepted.push(record);
                }
            }
            let accepted = run.check_stored(&self.records, accepted).await?;
            run.write(&self.records, accepted, last).await?;
            run.report.batches += 1;
            progress(&Progress {
                rows_read: run.report.rows_read,
                imported: run.report.imported,
                rejected: run.report.rejected,
            });
        }
        if let Some((key, id)) = &run.job {
            let checkpoint = run.checkpoint(key, *id, JobState::Done, run.carried.row);
            jobs::advance(self.records.store(), run.options.tenant, &checkpoint).await?;
        }
        Ok(())
    }

    /// Audits a refused import (`import.refused`, the code as the reason).
    async fn audit_refusal(
        &self,
        options: &ImportOptions,
        refusal: &ImportError,
    ) -> Result<(), ImportError> {
        let catalog = self.records.catalog();
        let mut entry = AuditEntry::new(
            self.records.store().now(),
            Some(options.tenant),
            options.principal.id().as_str(),
            AuditAction::Import(ImportEvent::Refused),
            AuditOutcome::Denied,
        );
        // Names the caller typed are recorded only when the catalog knows them.
        if catalog.collection(&options.collection).is_some() {
            entry.collection = Some(options.collection.clone());
        }
        if catalog
            .purposes()
            .iter()
            .any(|p| p.id().as_str() == options.purpose)
        {
            entry.purpose = Some(options.purpose.clone());
        }
        entry.reason = refusal.refusal_code().map(str::to_owned);
        self.records.store().audit().record(entry).await?;
        Ok(())
    }

    /// Audits a step of `run` with `reason` (at most 64 characters).
    async fn audit(
        &self,
        run: &Run<'_, '_>,
        event: ImportEvent,
        mut reason: String,
    ) -> Result<(), ImportError> {
        if run.options.mode == ImportMode::DryRun {
            reason = format!("dry run {reason}");
        }
        reason.truncate(64);
        let mut entry = AuditEntry::new(
            self.records.store().now(),
            Some(run.options.tenant),
            run.options.principal.id().as_str(),
            AuditAction::Import(event),
            AuditOutcome::Granted,
        )
        .with_request_id(format!("import:{}", run.prepared.import_id))
        .with_fields(
            run.prepared
                .bound
                .columns
                .iter()
                .map(|c| c.field.name().to_string()),
        );
        entry.collection = Some(run.prepared.collection.name().to_string());
        entry.purpose = Some(run.options.purpose.clone());
        entry.reason = Some(reason);
        self.records.store().audit().record(entry).await?;
        Ok(())
    }
}

/// The checks before any row: the collection, the mapping against it and the source's
/// columns, the access decision for creating records for the purpose, the fields the grant
/// may write, and the lookups of fødselsnummer fields.
fn prepare<'c>(
    catalog: &'c datavern_core::catalog::Catalog,
    options: &ImportOptions,
    mapping: &str,
    source: &Source,
) -> Result<Prepared<'c>, ImportError> {
    let Some(collection) = catalog.collection(&options.collection) else {
        let names = || catalog.collections().iter().map(|c| c.name().as_str());
        let hint = match datavern_core::catalog::suggest(&options.collection, names()) {
            Some(name) => format!("did you mean `{name}`?"),
            None => format!(
                "its collections are {}",
                names()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(ImportError::refused(
            "collection_unknown",
            format!("the catalog has no collection named as --collection says: {hint}"),
        ));
    };
    let mapping = Mapping::parse(mapping)
        .map_err(|problem| ImportError::refused("mapping_invalid", problem))?;
    let bound = mapping
        .bind(collection, source.columns())
        .map_err(|problems| ImportError::Refused {
            code: "mapping_invalid",
            problems,
        })?;
    let name = collection.name().as_str();
    let decide = |request: AccessRequest<'_>| {
        access::decide(
            catalog,
            &options.principal,
            &request.with_purpose(Some(&options.purpose)),
        )
    };
    let grant = decide(AccessRequest::create(name, options.tenant))
        .map_err(|denial| ImportError::refused(denial.code(), denial.to_string()))?;
    grant
        .check_write(bound.columns.iter().map(|c| c.field.name().as_str()))
        .map_err(|denial| ImportError::refused(denial.code(), denial.to_string()))?;
    let identities = bound
        .columns
        .iter()
        .filter(|c| c.field.identifier() == Some(IdentifierKind::Fnr))
        .map(|c| {
            let field = c.field.name().as_str();
            IdentityField {
                name: field.to_owned(),
                lookup: c
                    .field
                    .is_searchable()
                    .then(|| decide(AccessRequest::lookup(name, options.tenant, field)).ok())
                    .flatten(),
            }
        })
        .collect();
    let import_id = {
        let mut context = Context::new(&SHA256);
        for part in [
            name,
            options.tenant.as_str(),
            source.identity(),
            mapping.checksum(),
        ] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        hex(context.finish().as_ref())
    };
    Ok(Prepared {
        collection,
        grant,
        bound,
        identities,
        import_id,
    })
}

impl<'p, 'c> Run<'p, 'c> {
    fn new(prepared: &'p Prepared<'c>, options: &'p ImportOptions, source: &Source) -> Self {
        Run {
            prepared,
            options,
            meta: RequestMeta::new().with_request_id(format!("import:{}", prepared.import_id)),
            job: None,
            carried: Carried::default(),
            seen: vec![HashMap::new(); prepared.identities.len()],
            report: ImportReport {
                import_id: prepared.import_id.clone(),
                collection: prepared.collection.name().to_string(),
                tenant: options.tenant,
                purpose: options.purpose.clone(),
                source: source.description().to_owned(),
                mode: options.mode,
                resumed_after_row: None,
                already_done: false,
                complete: false,
                rows_read: 0,
                imported: 0,
                rejected: 0,
                batches: 0,
                rejections: Vec::new(),
                invalid_identifiers: Vec::new(),
                duplicates: Vec::new(),
                checked_against_stored: prepared
                    .identities
                    .iter()
                    .filter(|f| f.lookup.is_some())
                    .map(|f| f.name.clone())
                    .collect(),
                elapsed_seconds: 0.0,
                rows_per_second: 0.0,
            },
        }
    }

    /// Claims the import's job: a new one, or the checkpoint of the runs before.
    async fn claim(&mut self, records: &Records) -> Result<(), ImportError> {
        let key = JobKey {
            name: IMPORT_JOB.to_owned(),
            unique_key: format!("import:{}", self.prepared.import_id),
            tenant: self.options.tenant,
        };
        let id = Uuid::now_v7();
        let initial = json!({ "row": 0, "imported": 0, "rejected": 0 });
        let claimed = jobs::claim(records.store(), &key, id, &initial).await?;
        let number = |name: &str| {
            claimed
                .payload
                .get(name)
                .and_then(serde_json::Value::as_u64)
        };
        self.carried = Carried {
            row: number("row").unwrap_or(0),
            imported: number("imported").unwrap_or(0),
            rejected: number("rejected").unwrap_or(0),
        };
        if claimed.resumed && self.carried.row > 0 {
            self.report.resumed_after_row = Some(self.carried.row);
        }
        if claimed.state == JobState::Done {
            self.report.already_done = true;
            self.report.complete = true;
        }
        self.job = Some((key, id));
        Ok(())
    }

    /// The row as a validated record, or `None` with the row rejected.
    fn check(&mut self, row: SourceRow) -> Option<(u64, ValidatedRecord)> {
        let cells = match row.cells {
            Ok(cells) => cells,
            Err((code, message)) => {
                self.reject(row.number, vec![RowProblem::at_row(code, message)]);
                return None;
            }
        };
        let bound = &self.prepared.bound;
        let (body, mut problems) = bound.body(&cells);
        match record::validate(self.prepared.collection, &body, Mode::Create) {
            Ok(record) if problems.is_empty() => {
                return self.first_in_source(row.number, record);
            }
            Ok(_) => {}
            Err(found) => {
                for problem in found.into_vec() {
                    // A field whose conversion failed was left out of the body: its own
                    // problem says why, not `missing_field`.
                    if problems.iter().any(|p| p.pointer == problem.path) {
                        continue;
                    }
                    let field = problem.path.trim_start_matches('/');
                    let column = bound.column_of(field).map(str::to_owned);
                    if problem.code == ProblemCode::InvalidIdentifier {
                        self.report.invalid_identifiers.push(InvalidIdentifier {
                            row: row.number,
                            field: field.to_owned(),
                            column: column.clone(),
                            message: problem.message.clone(),
                        });
                    }
                    problems.push(RowProblem {
                        pointer: problem.path,
                        column,
                        code: problem.code.as_str().to_owned(),
                        message: problem.message,
                    });
                }
            }
        }
        self.reject(row.number, problems);
        None
    }

    /// The record unless a fødselsnummer of it came earlier in the source.
    fn first_in_source(
        &mut self,
        row: u64,
        record: ValidatedRecord,
    ) -> Option<(u64, ValidatedRecord)> {
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        for (i, field) in self.prepared.identities.iter().enumerate() {
            let Some(FieldValue::String(number)) = record.get(&field.name) else {
                continue;
            };
            match self.seen[i].get(number) {
                Some(&first) => {
                    self.report.duplicates.push(Duplicate {
                        row,
                        field: field.name.clone(),
                        of: DuplicateOf::Source,
                        first_row: Some(first),
                    });
                    problems.push(RowProblem::at_field(
                        &field.name,
                        self.prepared.bound.column_of(&field.name),
                        "duplicate_in_source",
                        format!("the same number as row {first}"),
                    ));
                }
                None => keys.push((i, number.clone())),
            }
        }
        if !problems.is_empty() {
            self.reject(row, problems);
            return None;
        }
        for (i, number) in keys {
            self.seen[i].insert(number, row);
        }
        Some((row, record))
    }

    /// The records whose fødselsnummer no stored record has (looked up through the
    /// governed path, by blind index; each match read is audited); the others rejected.
    async fn check_stored(
        &mut self,
        records: &Records,
        accepted: Vec<(u64, ValidatedRecord)>,
    ) -> Result<Vec<(u64, ValidatedRecord)>, ImportError> {
        let collection = self.prepared.collection;
        let mut stored: Vec<Vec<&str>> = vec![Vec::new(); accepted.len()];
        for field in &self.prepared.identities {
            let Some(grant) = &field.lookup else {
                continue;
            };
            let meta = &self.meta;
            let found: Vec<bool> = stream::iter(accepted.iter())
                .map(|(_, record)| async move {
                    let Some(FieldValue::String(number)) = record.get(&field.name) else {
                        return Ok(false);
                    };
                    let Ok(normalized) = record::normalize_lookup(collection, &field.name, number)
                    else {
                        return Ok(false);
                    };
                    records
                        .lookup(grant, &field.name, &normalized, meta)
                        .await
                        .map(|views| !views.is_empty())
                })
                .buffered(LOOKUPS_IN_FLIGHT)
                .try_collect()
                .await
                .map_err(crate::Error::from)?;
            for (i, hit) in found.into_iter().enumerate() {
                if hit {
                    stored[i].push(&field.name);
                }
            }
        }
        let mut kept = Vec::with_capacity(accepted.len());
        for ((row, record), fields) in accepted.into_iter().zip(stored) {
            if fields.is_empty() {
                kept.push((row, record));
                continue;
            }
            let problems = fields
                .iter()
                .map(|field| {
                    self.report.duplicates.push(Duplicate {
                        row,
                        field: (*field).to_owned(),
                        of: DuplicateOf::Stored,
                        first_row: None,
                    });
                    RowProblem::at_field(
                        field,
                        self.prepared.bound.column_of(field),
                        "already_stored",
                        "a stored record has the same number",
                    )
                })
                .collect();
            self.reject(row, problems);
        }
        Ok(kept)
    }

    /// Writes the batch's records with the checkpoint `last` (the batch's last row), in one
    /// transaction; if the store refuses a record of it, writes them one by one and rejects
    /// those it refuses.
    async fn write(
        &mut self,
        records: &Records,
        accepted: Vec<(u64, ValidatedRecord)>,
        last: u64,
    ) -> Result<(), ImportError> {
        let Some((key, id)) = self.job.clone() else {
            // A dry run writes nothing.
            self.report.imported += accepted.len() as u64;
            self.carried.row = last;
            return Ok(());
        };
        let count = accepted.len() as u64;
        let checkpoint = self.checkpoint_after(&key, id, last, count);
        if accepted.is_empty() {
            jobs::advance(records.store(), self.options.tenant, &checkpoint).await?;
            self.advance(last, 0);
            return Ok(());
        }
        let batch: Vec<ValidatedRecord> = accepted.iter().map(|(_, r)| r.clone()).collect();
        match records
            .create_many_checkpointed(&self.prepared.grant, batch, &checkpoint, &self.meta)
            .await
        {
            Ok(_) => {
                let before = self.carried.imported;
                self.advance(last, count);
                self.refresh_statistics(records, before).await
            }
            Err(StoreError::Record(err)) if refuses_row(&err) => {
                self.write_one_by_one(records, &key, id, accepted, last)
                    .await
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Refreshes the planner's statistics of the collection's table each time the records
    /// this import wrote pass a doubling step (1,000, 2,000, 4,000, … since `before`): an
    /// import usually starts on an empty table, and on PostgreSQL the duplicate lookups would
    /// otherwise keep a plan that scans the whole table (`Database::analyze_tables`).
    async fn refresh_statistics(&self, records: &Records, before: u64) -> Result<(), ImportError> {
        let step = |n: u64| (n / STATISTICS_STEP).checked_ilog2();
        let crossed =
            step(self.carried.imported).is_some() && step(self.carried.imported) != step(before);
        if crossed && let Some(table) = records.table(self.prepared.collection.name().as_str()) {
            records
                .store()
                .data()
                .analyze_tables(&[table.table()])
                .await
                .map_err(|err| crate::Error::Store(StoreError::Sql(err)))?;
        }
        Ok(())
    }

    /// Writes each record in its own transaction with its own row as the checkpoint, and
    /// rejects those the store refuses (with the store's code).
    async fn write_one_by_one(
        &mut self,
        records: &Records,
        key: &JobKey,
        id: Uuid,
        accepted: Vec<(u64, ValidatedRecord)>,
        last: u64,
    ) -> Result<(), ImportError> {
        for (row, record) in accepted {
            let checkpoint = self.checkpoint_after(key, id, row, 1);
            match records
                .create_many_checkpointed(
                    &self.prepared.grant,
                    vec![record],
                    &checkpoint,
                    &self.meta,
                )
                .await
            {
                Ok(_) => self.advance(row, 1),
                Err(StoreError::Record(err)) if refuses_row(&err) => {
                    self.reject(
                        row,
                        vec![RowProblem::at_row(
                            err.code(),
                            format!("the store refused the record ({})", err.code()),
                        )],
                    );
                }
                Err(err) => return Err(err.into()),
            }
        }
        let checkpoint = self.checkpoint_after(key, id, last, 0);
        jobs::advance(records.store(), self.options.tenant, &checkpoint).await?;
        self.advance(last, 0);
        Ok(())
    }

    /// The checkpoint after the rows up to `row`, with `imported` more records written.
    fn checkpoint_after(&self, key: &JobKey, id: Uuid, row: u64, imported: u64) -> Checkpoint {
        let mut checkpoint = self.checkpoint(key, id, JobState::Running, row);
        checkpoint.payload["imported"] = json!(self.carried.imported + imported);
        checkpoint
    }

    /// The checkpoint at `row` with the counts so far.
    fn checkpoint(&self, key: &JobKey, id: Uuid, state: JobState, row: u64) -> Checkpoint {
        Checkpoint {
            unique_key: key.unique_key.clone(),
            run: id,
            state,
            payload: json!({
                "row": row,
                "imported": self.carried.imported,
                "rejected": self.carried.rejected,
            }),
        }
    }

    /// Notes the rows up to `row` committed, `imported` records of them written.
    fn advance(&mut self, row: u64, imported: u64) {
        self.carried.row = row;
        self.carried.imported += imported;
        self.report.imported += imported;
    }

    fn reject(&mut self, row: u64, problems: Vec<RowProblem>) {
        self.report.rejected += 1;
        self.carried.rejected += 1;
        self.report.rejections.push(RejectedRow { row, problems });
    }

    fn finish(mut self, started: Instant) -> ImportReport {
        let seconds = started.elapsed().as_secs_f64();
        self.report.elapsed_seconds = seconds;
        self.report.rows_per_second = if seconds > 0.0 {
            self.report.rows_read as f64 / seconds
        } else {
            0.0
        };
        self.report.rejections.sort_by_key(|r| r.row);
        self.report.duplicates.sort_by_key(|d| d.row);
        self.report.invalid_identifiers.sort_by_key(|i| i.row);
        self.report
    }
}

/// Whether the store refused a record for something about it (a value, a reference, a
/// unique field, the subject's controls), rather than failing.
fn refuses_row(err: &RecordError) -> bool {
    matches!(
        err,
        RecordError::Denied(_)
            | RecordError::Unstorable { .. }
            | RecordError::ReferenceNotFound { .. }
            | RecordError::DuplicateValue { .. }
            | RecordError::SubjectNotFound
    )
}
