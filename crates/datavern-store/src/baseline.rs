//! The raw counterpart of a data subject's access and erasure: plain statements on the
//! collection tables, by subject column, with no decryption, keys, audit or outbox.

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_sql::{Conn, Database, Tx, TxMode};
use sea_query::{Alias, Cond, DeleteStatement, Expr, Query, SelectStatement};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::schema::{TableDescription, describe};

/// Plain SQL over every collection table for one subject: what reading or deleting a
/// subject's rows costs without governance.
#[derive(Debug, Clone)]
pub struct SubjectBaseline {
    db: Database,
    tables: Vec<TableDescription>,
}

impl SubjectBaseline {
    /// The baseline over the tables of `catalog`'s collections in `db` (the store's data
    /// database, with the catalog applied).
    pub fn new(db: Database, catalog: &Catalog) -> Self {
        let tables = catalog
            .collections()
            .iter()
            .map(describe)
            .filter(|table| table.primary_subject_column().is_some())
            .collect();
        SubjectBaseline { db, tables }
    }

    /// Every row of `tenant` that concerns `subject` (as the record, or in any subject
    /// column), whole: one `SELECT` per table. Returns the number of rows.
    pub async fn rows(&self, tenant: &str, subject: Uuid) -> Result<u64> {
        let mut tx = Tx::begin(&self.db, parse_tenant(tenant)?, TxMode::Read).await?;
        let mut rows = 0;
        for table in &self.tables {
            let select = Query::select()
                .column(sea_query::Asterisk)
                .from(Alias::new(table.table.as_str()))
                .and_where(Expr::col(Alias::new("tenant")).eq(tenant))
                .cond_where(concerns(table, subject))
                .to_owned();
            rows += fetch_count(&mut tx.conn(), &select).await?;
        }
        Ok(rows)
    }

    /// Deletes every row of `tenant` that concerns `subject`: one `DELETE` per table, all in
    /// one transaction. Returns the number of rows deleted.
    pub async fn delete(&self, tenant: &str, subject: Uuid) -> Result<u64> {
        let mut tx = Tx::begin(&self.db, parse_tenant(tenant)?, TxMode::Write).await?;
        let mut deleted = 0;
        for table in &self.tables {
            let delete: DeleteStatement = Query::delete()
                .from_table(Alias::new(table.table.as_str()))
                .and_where(Expr::col(Alias::new("tenant")).eq(tenant))
                .cond_where(concerns(table, subject))
                .to_owned();
            deleted += tx.conn().execute(&delete).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

/// `id = subject` for a person table, `dv_subject = subject OR dv_subject_<name> = subject`
/// for a table of references.
fn concerns(table: &TableDescription, subject: Uuid) -> Cond {
    table
        .subject_columns()
        .into_iter()
        .fold(Cond::any(), |any, column| {
            any.add(Expr::col(Alias::new(column)).eq(subject))
        })
}

/// The tenant, which must be a kommunenummer.
fn parse_tenant(tenant: &str) -> Result<Kommunenummer> {
    Kommunenummer::parse(tenant).map_err(|err| StoreError::Config(err.to_string()))
}

/// Runs `select` and counts the rows it returns (each fetched whole).
async fn fetch_count(conn: &mut Conn<'_>, select: &SelectStatement) -> Result<u64> {
    Ok(conn.count_rows(select).await?)
}
