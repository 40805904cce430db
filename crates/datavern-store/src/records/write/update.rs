//! Update: a patch of one record, under its lock.

use datavern_core::access::{ConsentState, Grant, Operation};
use datavern_core::catalog::Kommunenummer;
use datavern_core::record::{FieldValue, Mode, ValidatedRecord};
use datavern_sql::{Conn, Tx, TxMode};
use sea_query::{Expr, Query};
use uuid::Uuid;

use super::{
    Change, Column, Refusal, SealContext, append_changes, archive_duty, check_change,
    check_references, check_writable, col, expect_mode, indexed_fields, locked_row, needs_key,
    reference_expr, referenced_record, resolve, write_entry,
};
use crate::error::Result;
use crate::outbox::{RecordChange, RecordEvent};
use crate::records::control::ControlQuery;
use crate::records::error::RecordError;
use crate::records::read::{Stored, StoredRow};
use crate::records::{RecordView, Records, RequestMeta, check_operation, history, time_expr};
use crate::table::{KeyOwner, Table, TableField};

/// Applies `patch` to record `id` in one transaction, under the row's lock: the checks, the
/// subjects' controls and legal holds, the version, the subjects the patch brings in, the
/// unique claims, the version kept under archive duty, the merged values, the references,
/// the sealed columns, the row, its audit entry and outbox event.
pub(in crate::records) async fn update(
    records: &Records,
    grant: &Grant,
    id: Uuid,
    patch: ValidatedRecord,
    expected_version: Option<i64>,
    meta: &RequestMeta,
) -> Result<RecordView> {
    check_operation(grant, Operation::Update)?;
    check_patch(grant, &patch)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let backend = records.inner.store.data().backend();
    let patch_values = resolve(plan, &patch)?;

    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    let mut row = locked_row(&mut tx.conn(), plan, backend, &controls, tenant, id).await?;
    if let Some(refusal) = check_change(records, &mut tx, grant, plan, &row, Change::Update).await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    check_version(expected_version, row.version)?;
    let patched = PatchedReferences::new(plan, &patch, &row.references);
    if let Some(refusal) = records
        .check_patched_subjects(&mut tx, grant, plan, &controls, &row, &patched)
        .await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    let new_owner = plan.write_owner(id, &patched.references)?;
    let unique = records
        .unique_values(tenant, plan, id, &patch_values)
        .await?;
    if let Some((error, _)) = records
        .find_duplicate(&mut tx.conn(), plan, tenant, &unique)
        .await?
    {
        let refusal = Refusal::of_row(plan, &row, error);
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    let now = records.now();
    if archive_duty(records, plan).is_some() {
        // Archive duty: the version replaced is kept, in this transaction (see `history`).
        history::keep(
            &mut tx.conn(),
            plan,
            tenant,
            grant.principal().as_str(),
            &row,
            now,
        )
        .await?;
    }
    let (merged, resealed) = records
        .merge_patch(grant, plan, &patch, &mut row, &patched)
        .await?;
    let mut to_write: Vec<(&TableField, &FieldValue)> = patch_values;
    to_write.extend(resealed.iter().map(|(f, v)| (*f, v)));
    check_references(&mut tx.conn(), plan, tenant, &patched.referenced()).await?;
    let mut columns = records
        .patch_columns(tenant, plan, id, new_owner, &to_write, &patched)
        .await?;
    columns.push(("updated_at", time_expr(backend, now)));
    columns.push(("version", Expr::col(col("version")).add(1i64)));
    update_row(&mut tx.conn(), plan, tenant, id, row.version, columns).await?;
    let version = row.version + 1;
    let updated = StoredRow {
        id,
        version,
        created_at: row.created_at,
        updated_at: now,
        references: patched.references,
        values: merged,
        controls: row.controls,
    };
    let entry = write_entry(
        now.into(),
        grant,
        Some(patch.field_names().collect()),
        id,
        updated.primary_subject(plan),
        updated.secondary_subjects(plan),
        meta,
    );
    let event = RecordEvent {
        change: RecordChange::Updated,
        tenant,
        collection: plan.name(),
        record: id,
        version,
        fields: patch.field_names().map(|f| f.to_string()).collect(),
        time: now,
    };
    append_changes(&mut tx.conn(), &[&entry], vec![event]).await?;
    // Every value the view shows is plain by now, so showing it needs no key.
    let view = records.view(plan, grant, &updated).await?;
    tx.commit().await?;
    tracing::debug!(record = %id, version, "Updated record");
    Ok(view)
}

/// Checks a patch: validated as a patch, not empty, and setting only fields the grant may
/// write.
fn check_patch(grant: &Grant, patch: &ValidatedRecord) -> Result<()> {
    expect_mode(patch, Mode::Patch)?;
    if patch.is_empty() {
        return Err(RecordError::EmptyUpdate.into());
    }
    check_writable(grant, patch)
}

/// Refuses an update that expected another version than the stored one, `current`.
fn check_version(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(expected) if expected != current => {
            Err(RecordError::VersionConflict { expected, current }.into())
        }
        _ => Ok(()),
    }
}

/// The subject references a record has after a patch.
struct PatchedReferences {
    /// Per subject reference of the plan, the referenced record.
    references: Vec<Option<Uuid>>,
    /// The positions the patch changes.
    changed: Vec<usize>,
}

impl PatchedReferences {
    /// The `stored` references with those `patch` sets.
    fn new(plan: &Table, patch: &ValidatedRecord, stored: &[Option<Uuid>]) -> Self {
        let mut references = stored.to_vec();
        let mut changed = Vec::new();
        for (position, reference) in plan.references.iter().enumerate() {
            let Some(value) = patch.get(&reference.field) else {
                continue;
            };
            let new = match value {
                FieldValue::Null => None,
                _ => referenced_record(patch, &reference.name),
            };
            if new != references[position] {
                references[position] = new;
                changed.push(position);
            }
        }
        PatchedReferences {
            references,
            changed,
        }
    }

    /// Whether the patch changes the primary subject.
    fn changes_primary(&self) -> bool {
        self.changed.contains(&0)
    }

    /// Whether the patch changes whose key seals the record.
    fn changes_owner(&self, plan: &Table) -> bool {
        plan.key_owner() == KeyOwner::PrimaryReference && self.changes_primary()
    }

    /// The records the patch newly references, with their positions.
    fn referenced(&self) -> Vec<(usize, Uuid)> {
        self.changed
            .iter()
            .filter_map(|&i| self.references[i].map(|s| (i, s)))
            .collect()
    }
}

/// Updates stored version `version` of record `id` to `columns`; a row changed by a writer
/// that ignored the lock is a version conflict.
async fn update_row(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: Kommunenummer,
    id: Uuid,
    version: i64,
    columns: Vec<Column<'_>>,
) -> Result<()> {
    let update = Query::update()
        .table(col(plan.table()))
        .values(columns.into_iter().map(|(name, expr)| (col(name), expr)))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("version")).eq(version))
        .to_owned();
    if conn.execute(&update).await? != 1 {
        // The row is locked, so only a writer that ignores the lock could get here.
        return Err(RecordError::VersionConflict {
            expected: version,
            current: version + 1,
        }
        .into());
    }
    Ok(())
}

impl Records {
    /// Why an update must be refused for the subjects it brings in, if it must: they are
    /// checked like those of a create (read in the write transaction `tx`), keeping the
    /// stored consent unless the primary subject changes.
    async fn check_patched_subjects(
        &self,
        tx: &mut Tx,
        grant: &Grant,
        plan: &Table,
        controls: &ControlQuery,
        row: &StoredRow,
        patched: &PatchedReferences,
    ) -> Result<Option<Refusal>> {
        if patched.changed.is_empty() {
            return Ok(None);
        }
        let references = &patched.references;
        let mut new_controls = controls
            .for_new_records(&mut tx.conn(), plan, &[references], ConsentState::Unknown)
            .await?
            .pop()
            .unwrap_or_default();
        if !patched.changes_primary() {
            new_controls.consent = row.controls.consent;
        }
        let Err(denial) = datavern_core::controls::check(&self.inner.catalog, grant, &new_controls)
        else {
            return Ok(None);
        };
        Ok(Some(Refusal {
            record: Some(row.id),
            primary: plan.primary_subject(row.id, references),
            secondary: plan.secondary_subjects(references),
            error: RecordError::Denied(Box::new(denial)),
        }))
    }

    /// The record as the update leaves it: the patch's values, and the others as stored
    /// (taken from `row`). Encrypted values the caller will see are decrypted now, before
    /// anything is written, so a tampered field fails the update instead of its answer; when
    /// the patch changes whose key seals the record, every encrypted value is decrypted, and
    /// also returned apart to be sealed again under the new key.
    async fn merge_patch<'p>(
        &self,
        grant: &Grant,
        plan: &'p Table,
        patch: &ValidatedRecord,
        row: &mut StoredRow,
        patched: &PatchedReferences,
    ) -> Result<(Vec<Stored>, Vec<(&'p TableField, FieldValue)>)> {
        let owner_changed = patched.changes_owner(plan);
        let mut merged: Vec<Stored> = Vec::with_capacity(plan.fields.len());
        let mut resealed: Vec<(&TableField, FieldValue)> = Vec::new();
        let old_owner = row.key_owner(plan);
        let stored_values = std::mem::take(&mut row.values);
        for (field, stored) in plan.fields.iter().zip(stored_values) {
            if let Some(value) = patch.get(&field.name) {
                merged.push(Stored::Plain(value.clone()));
                continue;
            }
            let decrypt = owner_changed || grant.may_read(&field.name);
            merged.push(match stored {
                Stored::Sealed(envelope) if decrypt => {
                    // Without a key owner the value reads as null (see `Records::open_values`).
                    let value = match old_owner {
                        Some(old_owner) => {
                            self.open(grant.tenant(), plan, field, row.id, old_owner, &envelope)
                                .await?
                        }
                        None => FieldValue::Null,
                    };
                    if owner_changed {
                        resealed.push((field, value.clone()));
                    }
                    Stored::Plain(value)
                }
                other => other,
            });
        }
        Ok((merged, resealed))
    }

    /// The columns an update sets: the values `to_write` sealed under `owner`'s key, with
    /// their blind indexes, and the subject references the patch changes.
    async fn patch_columns<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        id: Uuid,
        owner: Uuid,
        to_write: &[(&'p TableField, &FieldValue)],
        patched: &PatchedReferences,
    ) -> Result<Vec<Column<'p>>> {
        let cx = SealContext {
            tenant,
            plan,
            record: id,
            owner,
        };
        let key = if needs_key(to_write) {
            Some(self.inner.keys.write_key(tenant, owner).await?)
        } else {
            None
        };
        let index = self
            .index_keys(tenant, plan, indexed_fields(to_write.iter().copied()))
            .await?;
        let mut columns = Vec::with_capacity(to_write.len() * 2 + patched.changed.len() + 2);
        self.seal_values(&cx, to_write, key.as_ref(), &index, &mut columns)?;
        for &position in &patched.changed {
            let column = plan.references[position].column.as_str();
            columns.push((column, reference_expr(patched.references[position])));
        }
        Ok(columns)
    }
}
