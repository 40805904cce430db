//! The right to rectification (Art. 16): corrections of the subject's own records.

use std::fmt;

use datavern_core::catalog::{Catalog, Collection, Kommunenummer};
use datavern_core::record::{self, Mode, ValidatedRecord};
use datavern_sql::{At, Conn, Tx, TxMode};
use sea_query::{Alias, Expr, Query, SimpleExpr};
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::instrument;
use uuid::Uuid;

use super::access::{Appearance, SubjectRole, appearances, field_concerns};
use super::clearance::{Shortfall, cap};
use super::{Actor, Rights, RightsError, uuids};
use crate::error::Result;
use datavern_store::SubjectId;
use datavern_store::audit::{self, AuditAction, AuditEntry, AuditOutcome};
use datavern_store::outbox::{self, RecordChange, RecordEvent};
use datavern_store::records::raw::RawRow;
use datavern_store::records::time_expr;
use datavern_store::table::Table;
use time::OffsetDateTime;

/// One correction: new values for fields of one record of the subject.
///
/// `Debug` shows the collection, record and field names, never the values.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Correction {
    /// The collection.
    pub collection: String,
    /// The record.
    pub record: Uuid,
    /// The fields to change and their new values, as JSON (as in a record `PATCH`).
    pub fields: Map<String, Value>,
}

/// What a rectification changed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RectificationOutcome {
    /// Each correction, in the order given.
    pub corrections: Vec<CorrectionOutcome>,
}

/// One applied correction.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CorrectionOutcome {
    /// The collection.
    pub collection: String,
    /// The record.
    pub record: Uuid,
    /// The fields changed (names only).
    pub fields: Vec<String>,
    /// The record's new version.
    pub version: i64,
}

impl Correction {
    /// New values `fields` for `record` of `collection`.
    pub fn new(collection: impl Into<String>, record: Uuid, fields: Map<String, Value>) -> Self {
        Correction {
            collection: collection.into(),
            record,
            fields,
        }
    }
}

impl fmt::Debug for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        f.debug_struct("Correction")
            .field("collection", &self.collection)
            .field("record", &self.record)
            .field("fields", &fields)
            .finish()
    }
}

impl Rights {
    /// Applies `corrections` to records of `subjects` in the actor's tenant, all or none.
    ///
    /// Each correction is validated like a record `PATCH` (`datavern_core::record::validate`
    /// in patch mode) and may only change fields about the subject: for the record itself or
    /// its primary subject, any field but subject references and fields attributed to
    /// another party; for a secondary party, the fields attributed to them. A record that is
    /// not the subject's is refused ([`RightsError::NotSubjectsRecord`]). Values are sealed
    /// again under the record's key, the version is incremented, and each correction gets an
    /// audit entry (`dsr.rectify`, the field names, never the values) and an outbox event
    /// `no.datavern.record.updated`, in one transaction. A correction of a field classified
    /// above the actor's clearance (or the accreditation) refuses them all
    /// ([`RightsError::ClearanceInsufficient`]) before anything is written.
    #[instrument(skip_all, fields(tenant = %actor.tenant, corrections = corrections.len()))]
    pub async fn rectify(
        &self,
        actor: &Actor,
        subjects: &[SubjectId],
        corrections: &[Correction],
    ) -> Result<RectificationOutcome> {
        let ids = uuids(subjects);
        if ids.is_empty() {
            return Err(RightsError::NoSubjects.into());
        }
        let records = &self.records;
        let catalog = records.catalog().clone();
        // Validate everything before the transaction: a bad correction writes nothing.
        let validated = validate(&catalog, actor, corrections)?;

        let now = records.now();
        let mut outcomes = Vec::with_capacity(validated.len());
        let mut tx = Tx::begin(records.store().data(), actor.tenant, TxMode::Write).await?;
        for correction in &validated {
            outcomes.push(
                self.apply_correction(&mut tx.conn(), actor, &ids, correction, now)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(RectificationOutcome {
            corrections: outcomes,
        })
    }

    /// Applies one validated correction in the rectification's transaction (`conn`): the
    /// record must be one of the subjects' and the fields about them; then the update, its
    /// audit entry and its outbox event.
    async fn apply_correction(
        &self,
        conn: &mut Conn<'_>,
        actor: &Actor,
        ids: &[Uuid],
        validated: &Validated<'_>,
        now: OffsetDateTime,
    ) -> Result<CorrectionOutcome> {
        let records = &self.records;
        let tenant = actor.tenant;
        let Validated {
            correction,
            collection,
            patch,
        } = validated;
        let Some(table) = records.table(&correction.collection) else {
            return Err(RightsError::UnknownCollection(correction.collection.clone()).into());
        };
        let not_theirs = || RightsError::NotSubjectsRecord {
            collection: correction.collection.clone(),
            record: correction.record,
        };
        let rows = records
            .raw_rows(
                conn,
                tenant,
                table.name(),
                Expr::col(Alias::new("id")).eq(correction.record),
                true,
            )
            .await?;
        let row = rows.first().ok_or_else(not_theirs)?;
        let seen = appearances(table, row, ids);
        if seen.is_empty() {
            return Err(not_theirs().into());
        }
        check_correctable(correction, collection, table, &seen, patch)?;
        // A legal hold refuses; archive duty keeps the version replaced.
        records
            .before_correction(conn, tenant, table.name(), row, &actor.principal, now)
            .await?;
        self.update_row(conn, tenant, table, row, patch, now)
            .await?;
        let version = row.version + 1;
        let fields: Vec<String> = patch.field_names().map(|f| f.to_string()).collect();
        audit::append(
            conn,
            &correction_entry(now.into(), actor, table, row, &seen, &fields),
        )
        .await?;
        outbox::append(
            conn,
            RecordEvent {
                change: RecordChange::Updated,
                tenant,
                collection: table.name(),
                record: row.id,
                version,
                fields: fields.clone(),
                time: now,
            },
        )
        .await?;
        Ok(CorrectionOutcome {
            collection: table.name().to_owned(),
            record: row.id,
            fields,
            version,
        })
    }

    /// Writes the patch's values to `row`, sealed again under the record's key, with the
    /// version incremented.
    async fn update_row(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        table: &Table,
        row: &RawRow,
        patch: &ValidatedRecord,
        now: OffsetDateTime,
    ) -> Result<()> {
        let records = &self.records;
        let owner = row.key_owner(table);
        let mut columns: Vec<(String, SimpleExpr)> = Vec::new();
        for (name, value) in patch.iter() {
            columns.extend(
                records
                    .seal_value(tenant, table.name(), row.id, owner, name.as_str(), value)
                    .await?,
            );
        }
        let mut values: Vec<(Alias, SimpleExpr)> = columns
            .into_iter()
            .map(|(name, expr)| (Alias::new(name), expr))
            .collect();
        values.push((Alias::new("updated_at"), time_expr(conn.backend(), now)));
        values.push((
            Alias::new("version"),
            Expr::col(Alias::new("version")).add(1i64),
        ));
        let update = Query::update()
            .table(Alias::new(table.table()))
            .values(values)
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(Alias::new("id")).eq(row.id))
            .to_owned();
        conn.execute(&update).await?;
        Ok(())
    }
}

/// A correction validated against its collection, as a patch.
struct Validated<'a> {
    correction: &'a Correction,
    collection: &'a Collection,
    patch: ValidatedRecord,
}

/// Validates each correction like a record `PATCH` and refuses them all when one changes a
/// field above the actor's clearance (`clearance.rs`).
fn validate<'a>(
    catalog: &'a Catalog,
    actor: &Actor,
    corrections: &'a [Correction],
) -> Result<Vec<Validated<'a>>> {
    let mut validated = Vec::with_capacity(corrections.len());
    let mut shortfall = Shortfall::new(cap(catalog, actor));
    for correction in corrections {
        let collection = catalog
            .collection(&correction.collection)
            .filter(|c| c.has_data_subjects())
            .ok_or_else(|| RightsError::UnknownCollection(correction.collection.clone()))?;
        for name in correction.fields.keys() {
            shortfall.field(collection, name);
        }
        let patch =
            record::validate(collection, &correction.fields, Mode::Patch).map_err(|problems| {
                RightsError::InvalidCorrection {
                    collection: correction.collection.clone(),
                    record: correction.record,
                    problems: problems.to_string(),
                }
            })?;
        if patch.is_empty() {
            return Err(RightsError::EmptyCorrection {
                collection: correction.collection.clone(),
                record: correction.record,
            }
            .into());
        }
        validated.push(Validated {
            correction,
            collection,
            patch,
        });
    }
    // No field above the runner's clearance is changed (`clearance.rs`).
    shortfall.into_result()?;
    Ok(validated)
}

/// Refuses a correction of a subject reference, or of a field about another person in the
/// record than the subjects (`seen`).
fn check_correctable(
    correction: &Correction,
    collection: &Collection,
    table: &Table,
    seen: &[Appearance],
    patch: &ValidatedRecord,
) -> Result<()> {
    for name in patch.field_names() {
        let name = name.as_str();
        if table.references.iter().any(|r| r.field == name) {
            return Err(RightsError::FieldNotCorrectable {
                collection: correction.collection.clone(),
                field: name.to_owned(),
                why: "it names a data subject; who a record is about is not corrected \
                      through rectification",
            }
            .into());
        }
        if !seen
            .iter()
            .any(|a| field_concerns(collection, table, a, name))
        {
            return Err(RightsError::FieldNotCorrectable {
                collection: correction.collection.clone(),
                field: name.to_owned(),
                why: "it is about another person in the record",
            }
            .into());
        }
    }
    Ok(())
}

/// The audit entry of a correction of `row`: the subjects it concerns (primary first) and
/// the field names, never the values.
fn correction_entry(
    at: At,
    actor: &Actor,
    table: &Table,
    row: &RawRow,
    seen: &[Appearance],
    fields: &[String],
) -> AuditEntry {
    let primary = seen
        .iter()
        .find(|a| !matches!(a.role, SubjectRole::Secondary { .. }))
        .or(seen.first())
        .map(|a| a.subject);
    let mut entry = actor
        .entry(at, AuditAction::DsrRectify, AuditOutcome::Granted)
        .with_record(row.id)
        .with_fields(fields.iter().cloned());
    if let Some(subject) = primary {
        entry = entry.with_subject(subject);
    }
    entry = entry.with_subjects(seen.iter().map(|a| a.subject));
    entry.collection = Some(table.name().to_owned());
    entry
}
