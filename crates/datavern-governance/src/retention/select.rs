//! The statements of the retention job: which records of a collection are due, with and
//! without the legal holds, and the changes made to a batch of them.
//!
//! Every statement is built with sea-query for all three dialects. The records due are
//! selected by id first and changed by id list second, because MariaDB/MySQL refuses a
//! `DELETE`/`UPDATE` whose condition reads the table being changed (the last-activity
//! condition does).

use datavern_core::catalog::{
    Catalog, Collection, FieldType, Kommunenummer, RetentionAction, RetentionStart,
};
use datavern_sql::{At, Backend};
use sea_query::{Alias, Cond, Expr, Func, IntoCondition, Query, SelectStatement, SimpleExpr};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::holds::HoldSet;
use datavern_store::SubjectId;
use datavern_store::schema::ColumnRole;
use datavern_store::table::Table;

/// The alias of the collection table in the statements.
const ROW: &str = "r";
/// The retention register.
pub(super) const REGISTER: &str = "dv_retention_register";

pub(super) fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn row_col(name: &str) -> SimpleExpr {
    Expr::col((col(ROW), col(name))).into()
}

/// One collection's retention rule turned into SQL conditions.
#[derive(Debug)]
pub(super) struct Rule<'c> {
    pub(super) collection: &'c Collection,
    pub(super) table: Table,
    pub(super) action: RetentionAction,
    pub(super) cutoff: OffsetDateTime,
}

impl Rule<'_> {
    /// The table's name.
    pub(super) fn table(&self) -> &str {
        self.table.table()
    }

    /// The columns holding subject ids (`id` for `subjects: self`).
    pub(super) fn subject_columns(&self) -> Vec<&str> {
        self.table.subject_columns()
    }

    /// The column the period counts from: a time column, or a date or timestamp field.
    pub(super) fn start_column(&self) -> &str {
        match self.collection.retention().map(|r| r.from()) {
            Some(RetentionStart::Created) => "created_at",
            Some(RetentionStart::Field(field)) => field.as_str(),
            Some(RetentionStart::Updated | RetentionStart::LastActivity) | None => "updated_at",
        }
    }

    /// Whether the start column is a date field (compared with the cutoff's date).
    fn start_is_date(&self) -> bool {
        matches!(
            self.collection.retention().map(|r| r.from()),
            Some(RetentionStart::Field(field))
                if self.collection.field(field.as_str())
                    .is_some_and(|f| f.field_type() == FieldType::Date)
        )
    }

    /// `r.tenant = ? AND <past the period> AND <not handled before>`.
    pub(super) fn due(&self, catalog: &Catalog, backend: Backend, tenant: Kommunenummer) -> Cond {
        let start = row_col(self.start_column());
        let past = if self.start_is_date() {
            let date = self.cutoff.date();
            Expr::expr(start).lte(backend.dialect().date(date))
        } else {
            Expr::expr(start).lte(At::from(self.cutoff).value(backend))
        };
        let mut cond = Cond::all()
            .add(Expr::expr(row_col("tenant")).eq(tenant.as_str()))
            .add(past);
        if matches!(
            self.collection.retention().map(|r| r.from()),
            Some(RetentionStart::LastActivity)
        ) && let Some(subject) = self.table.layout().primary_subject_column()
        {
            for (i, (table, column)) in activity_columns(catalog).into_iter().enumerate() {
                let alias = format!("a{i}");
                let later = Query::select()
                    .expr(Expr::val(1))
                    .from_as(col(&table), col(&alias))
                    .and_where(Expr::col((col(&alias), col("tenant"))).eq(tenant.as_str()))
                    .and_where(
                        Expr::col((col(&alias), col(&column))).equals((col(ROW), col(subject))),
                    )
                    .and_where(
                        Expr::col((col(&alias), col("updated_at")))
                            .gt(At::from(self.cutoff).value(backend)),
                    )
                    .to_owned();
                cond = cond.add(Expr::exists(later).not());
            }
        }
        if self.action != RetentionAction::Delete {
            let handled = Query::select()
                .expr(Expr::val(1))
                .from_as(col(REGISTER), col("g"))
                .and_where(Expr::col((col("g"), col("tenant"))).eq(tenant.as_str()))
                .and_where(
                    Expr::col((col("g"), col("collection"))).eq(self.collection.name().as_str()),
                )
                .and_where(Expr::col((col("g"), col("record_id"))).equals((col(ROW), col("id"))))
                .to_owned();
            cond = cond.add(Expr::exists(handled).not());
        }
        cond
    }

    /// What the active holds leave out: held records, and records of held subjects in any
    /// subject column. (A hold on the whole collection is checked before any statement.)
    pub(super) fn unheld(&self, holds: &HoldSet) -> Cond {
        let mut cond = Cond::all();
        let records = holds.records_of(self.collection.name().as_str());
        if !records.is_empty() {
            cond = cond.add(Expr::expr(row_col("id")).is_not_in(records));
        }
        let subjects: Vec<Uuid> = holds.subjects().iter().map(SubjectId::as_uuid).collect();
        if !subjects.is_empty() {
            for column in self.subject_columns() {
                let not_held = Expr::expr(row_col(column)).is_not_in(subjects.iter().copied());
                cond = cond.add(if column == "id" {
                    not_held.into_condition()
                } else {
                    Cond::any()
                        .add(Expr::expr(row_col(column)).is_null())
                        .add(not_held)
                });
            }
        }
        cond
    }

    /// `r.id > after`: the records after the last batch.
    pub(super) fn after(&self, after: Uuid) -> SimpleExpr {
        Expr::expr(row_col("id")).gt(after)
    }

    /// `SELECT COUNT(*) FROM table r WHERE cond`.
    pub(super) fn count(&self, cond: Cond) -> SelectStatement {
        Query::select()
            .expr(Func::count(Expr::col(sea_query::Asterisk)))
            .from_as(col(self.table()), col(ROW))
            .cond_where(cond)
            .to_owned()
    }

    /// `SELECT MIN(start) FROM table r WHERE cond`: the oldest start of a record due.
    pub(super) fn oldest(&self, cond: Cond) -> SelectStatement {
        Query::select()
            .expr(Func::min(row_col(self.start_column())))
            .from_as(col(self.table()), col(ROW))
            .cond_where(cond)
            .to_owned()
    }

    /// `SELECT r.id, r.version … ORDER BY r.id LIMIT n`: the next batch due.
    pub(super) fn batch(&self, backend: Backend, cond: Cond, limit: u64) -> SelectStatement {
        let mut select = Query::select()
            .expr(row_col("id"))
            .expr(row_col("version"))
            .from_as(col(self.table()), col(ROW))
            .cond_where(cond)
            .order_by((col(ROW), col("id")), sea_query::Order::Asc)
            .limit(limit)
            .to_owned();
        // Rows picked stay as they are until the batch commits.
        backend.dialect().lock_rows_for_update(&mut select);
        select
    }

    /// The columns anonymization clears: every subject column but `id`, every personal or
    /// encrypted field (ciphertext is bound to the subject, so it is unreadable without the
    /// link), and their blind indexes.
    pub(super) fn anonymized_columns(&self) -> (Vec<String>, Vec<String>) {
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for column in &self.table.layout().columns {
            match &column.role {
                ColumnRole::Subject { .. } => columns.push(column.name.clone()),
                ColumnRole::Field { field, .. } if self.clears(field) => {
                    columns.push(column.name.clone());
                    fields.push(field.clone());
                }
                ColumnRole::BlindIndex { field, .. } if self.clears(field) => {
                    columns.push(column.name.clone());
                }
                _ => {}
            }
        }
        (columns, fields)
    }

    fn clears(&self, field: &str) -> bool {
        self.collection
            .field(field)
            .is_some_and(|f| f.is_personal() || f.is_encrypted())
    }
}

/// Every (table, subject column) pair of the catalog: where a subject's activity shows.
pub(super) fn activity_columns(catalog: &Catalog) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for collection in catalog.collections() {
        let table = Table::new(collection);
        for column in table.subject_columns() {
            pairs.push((table.table().to_owned(), column.to_owned()));
        }
    }
    pairs
}
