//! Backfills: keyset walks over a collection table, per tenant, that fill a migration's new
//! column from the stored values (the field's next shape, or its blind index), in batches
//! of one transaction each with the checkpoint row that describes it.
//!
//! A row is filled when its target is NULL and its source is not. The sync trigger clears
//! the target whenever a writer changes the source without it, so a row changed behind the
//! walk is filled again by the final sweep at `complete`, which walks the whole table once
//! more (inside the contract transaction where the backend allows).

use datavern_core::catalog::{FieldType, Kommunenummer};
use datavern_core::record::FieldValue;
use datavern_sql::{At, Conn, Database, Tx, TxMode};
use datavern_store::Records;
use datavern_store::records::raw::{RawRow, convert};
use sea_query::{Alias, Expr, Query, SimpleExpr, Value};
use uuid::Uuid;

use crate::error::{MigrateError, Refusal, Result};
use crate::plan::{Backfill, BackfillKind};

/// Rows one backfill `UPDATE` rewrites (three bound values each: within every backend's
/// limit on parameters).
const UPDATE_CHUNK: usize = 250;

/// What a backfill does with a value that does not convert to the field's new type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnInvalid {
    /// Refuse the migration before anything changes, listing the records (the default).
    #[default]
    Refuse,
    /// Store no value (NULL) for it.
    Null,
}

/// The old and new catalogs' record operations a backfill reads and writes through.
pub(crate) struct Filler<'a> {
    pub(crate) old: &'a Records,
    pub(crate) new: &'a Records,
    pub(crate) backfill: &'a Backfill,
    pub(crate) on_invalid: OnInvalid,
}

/// One page filled.
pub(crate) struct Page {
    /// Rows read (and rewritten).
    pub(crate) rows: u64,
    /// The last id read, where the next page starts.
    pub(crate) last: Option<Uuid>,
    /// Records whose value did not convert.
    pub(crate) invalid: Vec<Uuid>,
}

impl Filler<'_> {
    /// The rows the walk selects: the target empty, the source not (a dry run, before the
    /// target exists: every row with a value).
    fn pending(&self, dry_run: bool) -> SimpleExpr {
        let source = Expr::col(Alias::new(self.backfill.source.as_str())).is_not_null();
        if dry_run {
            return source;
        }
        Expr::col(Alias::new(self.backfill.target.as_str()))
            .is_null()
            .and(source)
    }

    /// Fills one page of at most `limit` rows of `tenant` after `after`, on `conn` (in the
    /// caller's transaction, with the tenant declared).
    pub(crate) async fn fill_page(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        after: Option<Uuid>,
        limit: u64,
        dry_run: bool,
    ) -> Result<Page> {
        let collection = self.backfill.collection.as_str();
        let rows = self
            .old
            .raw_page(
                conn,
                tenant,
                collection,
                self.pending(dry_run),
                after,
                limit,
            )
            .await?;
        let mut page = Page {
            rows: rows.len() as u64,
            last: rows.last().map(|r| r.id),
            invalid: Vec::new(),
        };
        if rows.is_empty() {
            return Ok(page);
        }
        let table = self.old.table(collection).ok_or_else(|| {
            MigrateError::refused(
                Refusal::WrongState,
                format!("collection \"{collection}\" is not in the catalog in force"),
            )
        })?;
        // The value is read (and opened) as the catalog in force stores it: under the old
        // name of a renamed field.
        let position = table
            .fields
            .iter()
            .position(|f| f.name == self.backfill.source)
            .ok_or_else(|| {
                MigrateError::refused(
                    Refusal::WrongState,
                    format!(
                        "field \"{}\" is not in collection \"{collection}\" of the catalog in \
                         force",
                        self.backfill.source
                    ),
                )
            })?;
        let owners: Vec<Uuid> = rows.iter().filter_map(|r| r.key_owner(table)).collect();
        // One key-store query and one KEK call per page, for opening (old shape) and for
        // sealing (next shape), instead of one per record.
        self.old.preload_keys(tenant, &owners).await?;
        if matches!(&self.backfill.kind, BackfillKind::Reshape { to } if to.encrypted) {
            self.new.preload_keys(tenant, &owners).await?;
        }
        let mut targets = Vec::with_capacity(rows.len());
        for row in &rows {
            let value = self.value(tenant, row, position).await?;
            let target = match self.target(tenant, row, table, &value).await? {
                Target::Value(expr) => expr,
                Target::Invalid => {
                    page.invalid.push(row.id);
                    null()
                }
            };
            targets.push((row.id, target));
        }
        if dry_run {
            return Ok(page);
        }
        // One statement per chunk, not per row: `SET target = CASE id WHEN … END`.
        for chunk in targets.chunks(UPDATE_CHUNK) {
            let mut case = sea_query::CaseStatement::new();
            for (id, target) in chunk {
                case = case.case(Expr::col(Alias::new("id")).eq(*id), target.clone());
            }
            // The column itself as the ELSE: it gives the CASE its type on PostgreSQL when
            // every branch is NULL.
            let case = case.finally(Expr::col(Alias::new(self.backfill.target.as_str())));
            conn.execute(
                Query::update()
                    .table(Alias::new(self.backfill.table.as_str()))
                    .value(Alias::new(self.backfill.target.as_str()), case)
                    .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().map(|(id, _)| *id)))
                    .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str())),
            )
            .await?;
        }
        Ok(page)
    }

    async fn value(
        &self,
        tenant: Kommunenummer,
        row: &RawRow,
        position: usize,
    ) -> Result<FieldValue> {
        let values = self
            .old
            .decrypt(tenant, &self.backfill.collection, row, |p| p == position)
            .await?;
        Ok(values
            .into_iter()
            .next()
            .map_or(FieldValue::Null, |(_, value)| value))
    }

    async fn target(
        &self,
        tenant: Kommunenummer,
        row: &RawRow,
        table: &datavern_store::table::Table,
        value: &FieldValue,
    ) -> Result<Target> {
        let collection = self.backfill.collection.as_str();
        let field = self.backfill.field.as_str();
        match &self.backfill.kind {
            BackfillKind::Reshape { to } => {
                let to_type: FieldType = to.field_type.parse().map_err(|_| {
                    MigrateError::refused(
                        Refusal::CatalogInvalid,
                        format!("field \"{field}\" has an unknown type"),
                    )
                })?;
                if value.canonical().is_none() {
                    return Ok(Target::Value(null()));
                }
                let converted = convert(value, to_type);
                let Some(converted) = converted else {
                    return Ok(match self.on_invalid {
                        OnInvalid::Refuse | OnInvalid::Null => Target::Invalid,
                    });
                };
                let owner = row.key_owner(table);
                let columns = self
                    .new
                    .seal_value(tenant, collection, row.id, owner, field, &converted)
                    .await?;
                let expr = columns
                    .into_iter()
                    .find(|(column, _)| column == field)
                    .map(|(_, expr)| expr)
                    .unwrap_or(null());
                Ok(Target::Value(expr))
            }
            BackfillKind::BlindIndex => {
                let Some(new_field) = self.new.table(collection).and_then(|t| t.field(field))
                else {
                    return Ok(Target::Value(null()));
                };
                let Some(form) = new_field.index_form(value) else {
                    return Ok(Target::Value(null()));
                };
                let index = self
                    .new
                    .blind_index(tenant, collection, field, &form)
                    .await?;
                Ok(Target::Value(SimpleExpr::Value(Value::Bytes(Some(
                    Box::new(index),
                )))))
            }
        }
    }
}

/// SQL NULL, typed by the column it is written to.
fn null() -> SimpleExpr {
    SimpleExpr::Keyword(sea_query::Keyword::Null)
}

enum Target {
    Value(SimpleExpr),
    Invalid,
}

/// A backfill's checkpoint for one tenant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checkpoint {
    pub(crate) last: Option<Uuid>,
    pub(crate) rows: i64,
    pub(crate) done: bool,
}

/// The checkpoint of `step` of `migration` for `tenant`.
pub(crate) async fn checkpoint(
    conn: &mut Conn<'_>,
    migration: i64,
    step: i32,
    tenant: Kommunenummer,
) -> Result<Checkpoint> {
    let rows: Vec<(Option<Uuid>, i64, bool)> = conn
        .fetch_all(
            Query::select()
                .columns(["last_id", "rows_done", "done"].map(Alias::new))
                .from(Alias::new("dv_migration_progress"))
                .and_where(Expr::col(Alias::new("migration")).eq(migration))
                .and_where(Expr::col(Alias::new("step")).eq(step))
                .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str())),
        )
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|(last, rows, done)| Checkpoint { last, rows, done })
        .unwrap_or_default())
}

/// Writes the checkpoint in the caller's transaction.
pub(crate) async fn save_checkpoint(
    conn: &mut Conn<'_>,
    migration: i64,
    step: i32,
    tenant: Kommunenummer,
    checkpoint: &Checkpoint,
    now: At,
) -> Result<()> {
    let backend = conn.backend();
    let updated = conn
        .execute(
            Query::update()
                .table(Alias::new("dv_migration_progress"))
                .value(Alias::new("last_id"), checkpoint.last)
                .value(Alias::new("rows_done"), checkpoint.rows)
                .value(Alias::new("done"), checkpoint.done)
                .value(Alias::new("updated_at"), now.value(backend))
                .and_where(Expr::col(Alias::new("migration")).eq(migration))
                .and_where(Expr::col(Alias::new("step")).eq(step))
                .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str())),
        )
        .await?;
    if updated == 0 {
        conn.execute(
            Query::insert()
                .into_table(Alias::new("dv_migration_progress"))
                .columns(
                    [
                        "migration",
                        "step",
                        "tenant",
                        "last_id",
                        "rows_done",
                        "done",
                        "updated_at",
                    ]
                    .map(Alias::new),
                )
                // Seven columns, seven values: cannot panic.
                .values_panic([
                    migration.into(),
                    step.into(),
                    tenant.as_str().into(),
                    checkpoint.last.into(),
                    checkpoint.rows.into(),
                    checkpoint.done.into(),
                    now.value(backend).into(),
                ]),
        )
        .await?;
    }
    Ok(())
}

/// Counts the rows of `table` in `tenant` (with `column` not NULL, if given).
pub(crate) async fn count(
    db: &Database,
    tenant: Kommunenummer,
    table: &str,
    column: Option<&str>,
) -> Result<u64> {
    let mut tx = Tx::begin(db, tenant, TxMode::Read).await?;
    let mut select = Query::select();
    select
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()));
    if let Some(column) = column {
        select.and_where(Expr::col(Alias::new(column)).is_not_null());
    }
    let rows: Vec<(i64,)> = tx.conn().fetch_all(&select).await?;
    tx.commit().await?;
    Ok(rows
        .first()
        .map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0)))
}
