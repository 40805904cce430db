//! The run of a masked copy: the checks, the pass that learns the source's identifiers and
//! names, and the pass that writes every record, masked, through the target's governed
//! create.

use std::collections::HashMap;
use std::time::Instant;

use datavern_core::access::{Grant, Principal, PrincipalId};
use datavern_core::catalog::{Attribution, Catalog, Collection, DataSubjects, Kommunenummer};
use datavern_core::consent::{ConsentAction, ConsentEvent};
use datavern_core::record::{self, FieldValue, Mode};
use datavern_core::residency::Location;
use datavern_sql::{Tx, TxMode};
use datavern_store::audit::{AuditAction, AuditOutcome, MigrationEvent};
use datavern_store::copy::{ResidencyRefused, check_residency};
use datavern_store::records::MAX_BATCH;
use datavern_store::records::raw::RawRow;
use datavern_store::{AuditEntry, Records, RequestMeta, StoreError, SubjectId};
use jiff::ToSpan as _;
use sea_query::Expr;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::synth::{Masker, SynthError};
use crate::controls::Controls;
use crate::rights::value::to_json;

/// Records per page read and per create transaction.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// How to copy.
#[derive(Debug, Clone)]
pub struct MaskOptions {
    /// Who copies, for both audit logs.
    pub principal: PrincipalId,
    /// Where the target is, checked against every collection's residency rules.
    pub location: Location,
    /// Records per page and per transaction (at most [`MAX_BATCH`]).
    pub batch_size: usize,
}

/// The phase a progress report is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the source's identifiers and names.
    Learn,
    /// Writing the masked records.
    Write,
}

/// Where a masked copy is.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The pass.
    pub phase: Phase,
    /// The collection.
    pub collection: &'a str,
    /// Records of the collection done in this pass (all tenants).
    pub done: u64,
}

/// What a masked copy wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MaskReport {
    /// The source's backend.
    pub source_backend: String,
    /// The target's backend.
    pub target_backend: String,
    /// The target's declared location.
    pub location: String,
    /// Per collection, in the order written.
    pub collections: Vec<MaskedCollection>,
    /// Records written in all.
    pub records: u64,
    /// Consents in force carried over to the persons of the copy (as grants recorded by
    /// the copy's principal, at the person's shifted time).
    pub consents: u64,
    /// Seconds the copy took.
    pub seconds: f64,
}

/// One collection of a masked copy.
#[derive(Debug, Clone, Serialize)]
pub struct MaskedCollection {
    /// Its name.
    pub collection: String,
    /// Records written.
    pub records: u64,
    /// The fields whose values were replaced (the personal ones); the others are copied.
    pub masked_fields: Vec<String>,
}

/// Why a masked copy did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    /// A residency rule keeps collections out of the target's location; nothing written.
    #[error(transparent)]
    Residency(#[from] ResidencyRefused),
    /// The target's catalog does not say `masked: true`, or differs from the source's.
    #[error("{0}")]
    TargetCatalog(String),
    /// A target collection holds records; nothing written.
    #[error(
        "the target's collection `{0}` holds records: a masked copy is written only into an \
         empty installation (drop the target's tables, or create new databases, and copy again)"
    )]
    TargetNotEmpty(String),
    /// A masked record did not validate (a bug in the masking, named by field, never by value).
    #[error("the masked value of `{collection}.{field}` does not validate ({code})")]
    Invalid {
        /// The collection.
        collection: String,
        /// The field.
        field: String,
        /// The problem's code.
        code: String,
    },
    /// A reference names a record the copy did not write.
    #[error("a record of `{0}` refers to a person the copy did not write")]
    Dangling(String),
    /// A synthetic value could not be made.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// A consent of the source could not be carried over (named by purpose, never by
    /// subject).
    #[error("a consent to `{purpose}` could not be carried over: {reason}")]
    Consent {
        /// The purpose.
        purpose: String,
        /// Why, in words without personal data.
        reason: String,
    },
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::Error> for MaskError {
    fn from(err: crate::Error) -> Self {
        match err {
            crate::Error::Store(err) => MaskError::Store(err),
            other => MaskError::Consent {
                purpose: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

impl From<datavern_sql::SqlError> for MaskError {
    fn from(err: datavern_sql::SqlError) -> Self {
        MaskError::Store(StoreError::Sql(err))
    }
}

impl MaskError {
    /// The stable code of a refusal (`residency`, `target_catalog`, `target_not_empty`);
    /// `None` for a failure.
    pub fn refusal_code(&self) -> Option<&'static str> {
        match self {
            MaskError::Residency(_) => Some("residency"),
            MaskError::TargetCatalog(_) => Some("target_catalog"),
            MaskError::TargetNotEmpty(_) => Some("target_not_empty"),
            _ => None,
        }
    }
}

/// Writes a masked copy of every record `source` holds into `target`, an empty installation
/// whose catalog is the source's with `masked: true`, and records it in both audit logs
/// (`migration.masked`; a refusal or failure as `migration.copy_refused` or
/// `migration.copy_failed` in the source's). `progress` is called after each page.
pub async fn masked_copy(
    source: &Records,
    target: &Records,
    options: &MaskOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<MaskReport, MaskError> {
    let result = run(source, target, options, progress).await;
    let (event, outcome, reason) = match &result {
        Ok(_) => (MigrationEvent::Masked, AuditOutcome::Granted, None),
        Err(err) => match err.refusal_code() {
            Some(code) => (
                MigrationEvent::CopyRefused,
                AuditOutcome::Refused,
                Some(code),
            ),
            None => (
                MigrationEvent::CopyFailed,
                AuditOutcome::Refused,
                Some("failed"),
            ),
        },
    };
    let target_backend = target.store().data().backend().to_string();
    let entry_in =
        |records: &Records| entry(records, &target_backend, options, event, outcome, reason);
    let audited = source.store().audit().record(entry_in(source)).await;
    if let Err(err) = audited {
        tracing::error!(error = %err, "Cannot audit the masked copy");
        if result.is_ok() {
            return Err(err.into());
        }
    }
    if result.is_ok() {
        target.store().audit().record(entry_in(target)).await?;
    }
    result
}

/// Records in the source's audit log that a masked copy to a `target_backend` database was
/// refused with `code` before the target was opened (the command's own checks: the
/// source's key directory, a target not empty).
pub async fn record_refusal(
    source: &Records,
    target_backend: &str,
    options: &MaskOptions,
    code: &str,
) -> Result<(), MaskError> {
    let entry = entry(
        source,
        target_backend,
        options,
        MigrationEvent::CopyRefused,
        AuditOutcome::Refused,
        Some(code),
    );
    source.store().audit().record(entry).await?;
    Ok(())
}

/// The audit entry of a masked copy, for the log of `records` (source or target).
fn entry(
    records: &Records,
    target_backend: &str,
    options: &MaskOptions,
    event: MigrationEvent,
    outcome: AuditOutcome,
    reason: Option<&str>,
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        records.store().now(),
        None,
        options.principal.as_str(),
        AuditAction::Migration(event),
        outcome,
    )
    .with_request_id(format!("masked-copy:to-{target_backend}"));
    entry.reason = reason.map(str::to_owned);
    entry
}

async fn run(
    source: &Records,
    target: &Records,
    options: &MaskOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<MaskReport, MaskError> {
    let started = Instant::now();
    let catalog = source.catalog();
    check(catalog, target, options).await?;
    let batch = options.batch_size.clamp(1, MAX_BATCH) as u64;
    let tenants: Vec<Kommunenummer> = catalog
        .deployment()
        .tenants()
        .iter()
        .map(|t| t.kommunenummer())
        .collect();

    let mut masker = Masker::new()?;
    learn(source, &tenants, batch, &mut masker, progress).await?;

    // Persons first: the records that refer to them need their new ids.
    let mut order: Vec<&Collection> = catalog.collections().iter().collect();
    order.sort_by_key(|c| matches!(c.subjects(), DataSubjects::References(_)));
    let mut ids: HashMap<Uuid, Uuid> = HashMap::new();
    let mut collections = Vec::new();
    let mut consents = 0;
    let meta = RequestMeta::new().with_request_id("masked-copy");
    let controls = Controls::new(target.clone());
    for collection in order {
        let name = collection.name().as_str();
        let mut written = 0;
        for &tenant in &tenants {
            let grant =
                Grant::for_migration(target.catalog(), options.principal.clone(), tenant, name)
                    .ok_or_else(|| {
                        MaskError::TargetCatalog(format!(
                            "the target's catalog serves no purpose in collection `{name}`"
                        ))
                    })?;
            let mut after = None;
            while let Some(rows) = page(source, tenant, name, after, batch).await? {
                after = rows.last().map(|r| r.id);
                let mut records = Vec::with_capacity(rows.len());
                for row in &rows {
                    let body =
                        masked_body(source, &mut masker, &ids, tenant, collection, row).await?;
                    let record = record::validate(collection, &body, Mode::Create)
                        .map_err(|problems| invalid(name, &problems))?;
                    records.push(record);
                }
                let views = target.create_many(&grant, records, &meta).await?;
                if matches!(collection.subjects(), DataSubjects::Record) {
                    let pairs: Vec<(Uuid, Uuid)> = rows
                        .iter()
                        .zip(&views)
                        .map(|(row, view)| (row.id, view.id))
                        .collect();
                    let carried = Carried {
                        source,
                        target: &controls,
                        masker: &masker,
                        options,
                        meta: &meta,
                    };
                    consents += carried.consents(tenant, &pairs).await?;
                    ids.extend(pairs);
                }
                written += views.len() as u64;
                progress(Progress {
                    phase: Phase::Write,
                    collection: name,
                    done: written,
                });
            }
        }
        collections.push(MaskedCollection {
            collection: name.to_owned(),
            records: written,
            masked_fields: collection
                .fields()
                .iter()
                .filter(|f| Masker::masks(f) && !is_reference(collection, f.name().as_str()))
                .map(|f| f.name().to_string())
                .collect(),
        });
    }
    Ok(MaskReport {
        source_backend: source.store().data().backend().to_string(),
        target_backend: target.store().data().backend().to_string(),
        location: options.location.to_string(),
        records: collections.iter().map(|c| c.records).sum(),
        consents,
        collections,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The first pass: every personal value of the source shown to `masker`, so that no
/// replacement equals one, and the choice fields' values known.
async fn learn(
    source: &Records,
    tenants: &[Kommunenummer],
    batch: u64,
    masker: &mut Masker,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<(), MaskError> {
    for collection in source.catalog().collections() {
        let name = collection.name().as_str();
        let learned: Vec<usize> = collection
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| Masker::masks(f))
            .map(|(i, _)| i)
            .collect();
        if learned.is_empty() {
            continue;
        }
        let mut done = 0;
        for &tenant in tenants {
            let mut after = None;
            while let Some(rows) = page(source, tenant, name, after, batch).await? {
                after = rows.last().map(|r| r.id);
                for row in &rows {
                    for (field, value) in source
                        .decrypt(tenant, name, row, |p| learned.contains(&p))
                        .await?
                    {
                        if let Some(field) = collection.field(&field) {
                            masker.learn(name, field, &value);
                        }
                    }
                }
                done += rows.len() as u64;
                progress(Progress {
                    phase: Phase::Learn,
                    collection: name,
                    done,
                });
            }
        }
    }

    Ok(())
}

/// What carries the consents of the source's persons over to the copy.
struct Carried<'a> {
    source: &'a Records,
    target: &'a Controls,
    masker: &'a Masker,
    options: &'a MaskOptions,
    meta: &'a RequestMeta,
}

impl Carried<'_> {
    /// Records in the copy each consent in force of the persons `pairs` (source id, copy
    /// id) of `tenant`: a grant of the same purpose and notice version through the same
    /// channel, at the person's shifted time, by the copy's principal. Without consents, a
    /// test environment could not read its consent-based collections.
    async fn consents(
        &self,
        tenant: Kommunenummer,
        pairs: &[(Uuid, Uuid)],
    ) -> Result<u64, MaskError> {
        let old: Vec<Uuid> = pairs.iter().map(|(old, _)| *old).collect();
        let mut tx = Tx::begin(self.source.store().data(), tenant, TxMode::Read).await?;
        let granted = crate::controls::sql::granted_consents(&mut tx.conn(), tenant, &old).await?;
        tx.commit().await?;
        if granted.is_empty() {
            return Ok(0);
        }
        let catalog = self.target.records().catalog();
        let principal = Principal::new(
            self.options.principal.clone(),
            tenant,
            catalog.deployment().accreditation(),
        )
        .with_purposes(catalog.purposes().iter().map(|p| p.id().clone()))
        .with_roles(
            catalog
                .purposes()
                .iter()
                .filter_map(|p| p.consent_recorder_role().cloned()),
        );
        let new: HashMap<Uuid, Uuid> = pairs.iter().copied().collect();
        let mut carried = 0;
        for (subject, purpose, notice, channel, at) in granted {
            let refused = |reason: String| MaskError::Consent {
                purpose: purpose.to_string(),
                reason,
            };
            let Some(copy) = new.get(&subject) else {
                continue;
            };
            let at = at.to_timestamp().map_err(|err| refused(err.to_string()))?;
            let days = self.masker.shift(Some(subject));
            let at = at.checked_add((days * 24).hours()).unwrap_or(at);
            let event = ConsentEvent::new(
                purpose.clone(),
                ConsentAction::Grant,
                Some(notice),
                channel,
                at,
                self.options.principal.as_str(),
            )
            .map_err(|err| refused(err.to_string()))?;
            self.target
                .record_consent(&principal, SubjectId::from_uuid(*copy), &event, self.meta)
                .await?;
            carried += 1;
        }
        Ok(carried)
    }
}

/// The refusals before anything is read: residency, the target's catalog, an empty target.
async fn check(
    catalog: &Catalog,
    target: &Records,
    options: &MaskOptions,
) -> Result<(), MaskError> {
    check_residency(catalog, options.location)?;
    let theirs = target.catalog();
    if !theirs.deployment().is_masked() {
        return Err(MaskError::TargetCatalog(
            "the target's catalog does not say `masked: true` under `deployment`: a masked \
             copy is served only by a catalog that says what it is"
                .to_owned(),
        ));
    }
    let shape = |c: &Catalog| {
        c.collections()
            .iter()
            .map(|c| serde_json::to_value(c.summary()).unwrap_or(Value::Null))
            .collect::<Vec<_>>()
    };
    if shape(catalog) != shape(theirs) {
        return Err(MaskError::TargetCatalog(
            "the target's catalog declares other collections or fields than the source's: \
             give it the source's catalog with `masked: true` under `deployment`"
                .to_owned(),
        ));
    }
    for collection in theirs.collections() {
        let name = collection.name().as_str();
        for tenant in theirs.deployment().tenants() {
            if page(target, tenant.kommunenummer(), name, None, 1)
                .await?
                .is_some()
            {
                return Err(MaskError::TargetNotEmpty(name.to_owned()));
            }
        }
    }
    Ok(())
}

/// The next page of `collection` in `tenant` after `after`, or `None` at the end.
async fn page(
    records: &Records,
    tenant: Kommunenummer,
    collection: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Option<Vec<RawRow>>, MaskError> {
    let mut tx = Tx::begin(records.store().data(), tenant, TxMode::Read).await?;
    let rows = records
        .raw_scan(
            &mut tx.conn(),
            tenant,
            collection,
            Expr::value(true),
            after,
            limit,
        )
        .await?;
    tx.commit().await?;
    Ok((!rows.is_empty()).then_some(rows))
}

/// The body of `row` with every personal value masked and references moved to the new ids.
async fn masked_body(
    source: &Records,
    masker: &mut Masker,
    ids: &HashMap<Uuid, Uuid>,
    tenant: Kommunenummer,
    collection: &Collection,
    row: &RawRow,
) -> Result<Map<String, Value>, MaskError> {
    let name = collection.name().as_str();
    let references = match collection.subjects() {
        DataSubjects::References(references) => references.as_slice(),
        DataSubjects::Record | DataSubjects::None => &[],
    };
    let table = source
        .table(name)
        .ok_or_else(|| MaskError::Dangling(name.to_owned()))?;
    let subject_of = |reference: &str| {
        table
            .references
            .iter()
            .position(|r| r.name == reference)
            .and_then(|i| row.references.get(i).copied().flatten())
    };
    let mut body = Map::new();
    for (field_name, value) in source.decrypt(tenant, name, row, |_| true).await? {
        if value == FieldValue::Null {
            continue;
        }
        let Some(field) = collection.field(&field_name) else {
            continue;
        };
        let masked = if let Some(reference) = references.iter().find(|r| r.field() == field.name())
        {
            let old = subject_of(reference.name().as_str())
                .ok_or_else(|| MaskError::Dangling(name.to_owned()))?;
            let new = ids
                .get(&old)
                .ok_or_else(|| MaskError::Dangling(name.to_owned()))?;
            FieldValue::String(new.to_string())
        } else {
            let subject = match field.attribution() {
                Attribution::Record => Some(row.id),
                Attribution::Subject(reference) => subject_of(reference.as_str()),
                Attribution::Nobody => None,
            };
            masker.mask(name, field, subject, &value)?
        };
        body.insert(field_name, to_json(&masked));
    }
    Ok(body)
}

fn is_reference(collection: &Collection, field: &str) -> bool {
    match collection.subjects() {
        DataSubjects::References(references) => references.iter().any(|r| r.field() == field),
        DataSubjects::Record | DataSubjects::None => false,
    }
}

fn invalid(collection: &str, problems: &record::RecordProblems) -> MaskError {
    let first = problems.as_slice().first();
    MaskError::Invalid {
        collection: collection.to_owned(),
        field: first.map_or_else(String::new, |p| p.path.clone()),
        code: first.map_or_else(String::new, |p| p.code.as_str().to_owned()),
    }
}

/// The catalog `text` with `masked: true` under `deployment:` (the text as it was if it says
/// so already), comments and order kept: the catalog of a masked copy. `None` when the
/// deployment is not written as a block of one key per line, or the text is no catalog.
pub fn mark_masked(text: &str) -> Option<String> {
    if Catalog::from_yaml(text).ok()?.deployment().is_masked() {
        return Some(text.to_owned());
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() + 100);
    let mut inserted = false;
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        if !inserted && line.trim_end() == "deployment:" {
            let indent = lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map_or("  ", |l| &l[..l.len() - l.trim_start().len()]);
            out.push_str(&format!(
                "{indent}# A masked copy (datavern migrate copy --mask): every personal value \
                 is synthetic.\n{indent}masked: true\n"
            ));
            inserted = true;
        }
    }
    let masked = Catalog::from_yaml(&out).ok()?;
    (inserted && masked.deployment().is_masked()).then_some(out)
}
