//! What is copied of one table: its columns with their meaning and each side's type, its
//! key, and whether the migrations seed it.

use super::rows::Side;
use super::schema::Shape;
use super::value::{Kind, Physical};
use crate::backend::Backend;
use crate::dump::SEEDED_TABLES;
use crate::error::{Result, SqlError};

/// One column as both sides have it.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    /// Its name, the same on both sides.
    pub(crate) name: String,
    /// What it means.
    pub(crate) kind: Kind,
    /// The source's type.
    pub(crate) source: Physical,
    /// The target's type.
    pub(crate) target: Physical,
}

impl ColumnPlan {
    /// The type on `side`.
    pub(crate) fn physical(&self, side: Side) -> &Physical {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }
}

/// One table as it is copied.
#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    /// Its name, the same on both sides.
    pub(crate) name: String,
    /// The source's columns, each of which the target has.
    pub(crate) columns: Vec<ColumnPlan>,
    /// The primary key, as indexes into `columns`.
    pub(crate) key: Vec<usize>,
    /// Whether the migrations create it with its row already in it (`dv_audit_head`): the
    /// row is updated instead of inserted.
    pub(crate) seeded: bool,
    /// The target's identity columns, moved past the copied ids at the end.
    pub(crate) identities: Vec<String>,
}

impl TablePlan {
    /// The plan of `name` from the source's and the target's shapes of it; every source
    /// column must exist on the target, and the table must have a primary key to read it in
    /// order and resume after.
    pub(crate) fn new(
        name: &str,
        source: (Backend, Shape),
        target: (Backend, Shape),
    ) -> Result<TablePlan> {
        let (source_backend, source) = source;
        let (target_backend, target) = target;
        let mut columns = Vec::with_capacity(source.columns.len());
        for (column, source_type) in &source.columns {
            let target_type = target
                .columns
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| {
                    SqlError::Copy(format!(
                        "column {column} of table {name} has no counterpart on the target: the \
                         two databases are not of the same datavern version or catalog"
                    ))
                })?;
            let kind = meaning(
                (source_backend, source_type),
                (target_backend, &target_type),
            );
            columns.push(ColumnPlan {
                name: column.clone(),
                kind,
                source: source_type.clone(),
                target: target_type,
            });
        }
        if source.key.is_empty() {
            return Err(SqlError::Copy(format!(
                "table {name} has no primary key: it cannot be copied in order and resumed"
            )));
        }
        let key = source
            .key
            .iter()
            .map(|k| {
                columns.iter().position(|c| &c.name == k).ok_or_else(|| {
                    SqlError::Copy(format!(
                        "the key column {k} of table {name} is not a column"
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(TablePlan {
            name: name.to_owned(),
            columns,
            key,
            seeded: SEEDED_TABLES.contains(&name),
            identities: target.identities,
        })
    }

    /// The key of `row`.
    pub(crate) fn key_of(&self, row: &[super::value::Value]) -> Vec<super::value::Value> {
        self.key.iter().map(|&i| row[i].clone()).collect()
    }
}

/// What a column means: PostgreSQL's declared type if either side is PostgreSQL (it says
/// most: booleans, UUIDs, JSON), else MariaDB/MySQL's, else (SQLite to SQLite) the values
/// as stored.
fn meaning(source: (Backend, &Physical), target: (Backend, &Physical)) -> Kind {
    let rank = |backend: Backend| match backend {
        Backend::Postgres => 0,
        Backend::MySql => 1,
        Backend::Sqlite => 2,
    };
    let mut sides = [source, target];
    sides.sort_by_key(|(backend, _)| rank(*backend));
    sides
        .iter()
        .find_map(|(_, physical)| physical.kind())
        .unwrap_or(Kind::Raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_side_that_says_most_decides_what_a_column_means() {
        let pg = |p: Physical| (Backend::Postgres, p);
        let my = |p: Physical| (Backend::MySql, p);
        let lite = (Backend::Sqlite, Physical::Sqlite);
        let kind =
            |a: (Backend, Physical), b: (Backend, Physical)| meaning((a.0, &a.1), (b.0, &b.1));
        assert_eq!(kind(lite.clone(), pg(Physical::Uuid)), Kind::Uuid);
        assert_eq!(kind(pg(Physical::Bool), lite.clone()), Kind::Bool);
        assert_eq!(kind(my(Physical::Int64), pg(Physical::Bool)), Kind::Bool);
        assert_eq!(kind(my(Physical::TimeUtc), lite.clone()), Kind::Time);
        assert_eq!(kind(lite.clone(), lite), Kind::Raw);
    }
}
