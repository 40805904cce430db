//! Differences between a collection's applied table and what the catalog now asks for.

use std::fmt;

use super::{ColumnRole, SubjectColumn, SubjectModel, TableDescription};

/// The catalog changes existing collections in ways the store cannot apply yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct IncompatibleCatalog {
    /// Each collection that changed, with its differences.
    pub collections: Vec<CollectionChanges>,
}

/// The differences of one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionChanges {
    /// The collection.
    pub collection: String,
    /// Its table.
    pub table: String,
    /// Each difference, in words (e.g. `field "telefon" was added`).
    pub changes: Vec<String>,
}

impl fmt::Display for IncompatibleCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the catalog changes the tables of existing collections, which needs a catalog \
             migration: see the plan with `datavern migrate plan --catalog FILE`, run it with \
             `datavern migrate apply --catalog FILE`; nothing was applied"
        )?;
        for collection in &self.collections {
            write!(
                f,
                "\n  collection \"{}\" (table {}):",
                collection.collection, collection.table
            )?;
            for change in &collection.changes {
                write!(f, "\n    - {change}")?;
            }
        }
        Ok(())
    }
}

/// What changes from the `applied` table to the `wanted` one, in words; empty when the table
/// can stay as it is (a different column order alone is no change).
pub fn differences(applied: &TableDescription, wanted: &TableDescription) -> Vec<String> {
    let mut changes = Vec::new();
    if applied.format != wanted.format {
        changes.push(format!(
            "the description format changed from {} to {}",
            applied.format, wanted.format
        ));
    }
    if applied.table != wanted.table {
        changes.push(format!(
            "the table name changed from {} to {}",
            applied.table, wanted.table
        ));
    }
    subject_differences(&applied.subjects, &wanted.subjects, &mut changes);
    field_differences(applied, wanted, &mut changes);
    system_column_differences(applied, wanted, &mut changes);
    changes
}

/// A field's physical shape.
#[derive(PartialEq)]
struct Shape<'a> {
    field_type: &'a str,
    encrypted: bool,
    /// The blind-index length in bytes, for searchable fields.
    index_length: Option<usize>,
    nullable: bool,
}

fn shapes(table: &TableDescription) -> Vec<(&str, Shape<'_>)> {
    table
        .columns
        .iter()
        .filter_map(|column| match &column.role {
            ColumnRole::Field {
                field,
                field_type,
                encrypted,
            } => Some((
                field.as_str(),
                Shape {
                    field_type,
                    encrypted: *encrypted,
                    index_length: table.columns.iter().find_map(|c| match &c.role {
                        ColumnRole::BlindIndex { field: f, length } if f == field => Some(*length),
                        _ => None,
                    }),
                    nullable: column.nullable,
                },
            )),
            _ => None,
        })
        .collect()
}

fn field_differences(
    applied: &TableDescription,
    wanted: &TableDescription,
    changes: &mut Vec<String>,
) {
    let before = shapes(applied);
    let after = shapes(wanted);
    let find = |list: &[(&str, Shape<'_>)], name: &str| -> Option<usize> {
        list.iter().position(|(n, _)| *n == name)
    };
    for (name, new) in &after {
        let Some(index) = find(&before, name) else {
            changes.push(format!(
                "field \"{name}\" was added ({})",
                describe_shape(new)
            ));
            continue;
        };
        let old = &before[index].1;
        if old.field_type != new.field_type {
            changes.push(format!(
                "field \"{name}\" changed type from {} to {}",
                old.field_type, new.field_type
            ));
        }
        match (old.encrypted, new.encrypted) {
            (false, true) => changes.push(format!(
                "field \"{name}\" is now encrypted (its column would hold ciphertext instead of \
                 plaintext values)"
            )),
            (true, false) => changes.push(format!(
                "field \"{name}\" is no longer encrypted (its column would hold plaintext instead \
                 of ciphertext)"
            )),
            _ => {}
        }
        match (old.index_length, new.index_length) {
            (None, Some(_)) => changes.push(format!(
                "field \"{name}\" is now searchable (a blind-index column would be added)"
            )),
            (Some(_), None) => changes.push(format!(
                "field \"{name}\" is no longer searchable (its blind-index column would be \
                 dropped)"
            )),
            (Some(before), Some(after)) if before != after => changes.push(format!(
                "field \"{name}\" changed its blind_index_length from {before} to {after} bytes \
                 (every stored index would have to be recomputed from the decrypted values, \
                 which datavern does not do yet; keep {before})"
            )),
            _ => {}
        }
        if old.nullable != new.nullable {
            changes.push(format!("field \"{name}\" changed whether it may be empty"));
        }
    }
    for (name, old) in &before {
        if find(&after, name).is_none() {
            changes.push(format!(
                "field \"{name}\" was removed (its column holds {})",
                describe_shape(old)
            ));
        }
    }
}

fn describe_shape(shape: &Shape<'_>) -> String {
    let mut words = String::new();
    if shape.encrypted {
        words.push_str("encrypted ");
    }
    if shape.index_length.is_some() {
        words.push_str("searchable ");
    }
    words.push_str(shape.field_type);
    words
}

fn model_word(model: &SubjectModel) -> String {
    match model {
        SubjectModel::Record => "self".to_owned(),
        SubjectModel::None => "none".to_owned(),
        SubjectModel::References { references } => {
            let names: Vec<&str> = references.iter().map(|r| r.name.as_str()).collect();
            format!("references ({})", names.join(", "))
        }
    }
}

fn subject_differences(applied: &SubjectModel, wanted: &SubjectModel, changes: &mut Vec<String>) {
    let (
        SubjectModel::References { references: before },
        SubjectModel::References { references: after },
    ) = (applied, wanted)
    else {
        if applied != wanted {
            changes.push(format!(
                "subjects changed from {} to {}",
                model_word(applied),
                model_word(wanted)
            ));
        }
        return;
    };
    let primary = |refs: &[SubjectColumn]| {
        refs.iter()
            .find(|r| r.primary)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    let (old_primary, new_primary) = (primary(before), primary(after));
    if old_primary != new_primary {
        changes.push(format!(
            "the primary subject changed from \"{old_primary}\" to \"{new_primary}\" (existing \
             records are encrypted under the old primary subject's keys)"
        ));
    }
    for new in after {
        match before.iter().find(|old| old.name == new.name) {
            None => changes.push(format!(
                "subject reference \"{}\" was added (column {})",
                new.name, new.column
            )),
            Some(old) if old.field != new.field => changes.push(format!(
                "subject reference \"{}\" now reads field \"{}\" instead of \"{}\"",
                new.name, new.field, old.field
            )),
            Some(_) => {}
        }
    }
    for old in before {
        if !after.iter().any(|new| new.name == old.name) {
            changes.push(format!(
                "subject reference \"{}\" was removed (column {})",
                old.name, old.column
            ));
        }
    }
}

/// Differences in datavern's own columns (a description written by another version).
fn system_column_differences(
    applied: &TableDescription,
    wanted: &TableDescription,
    changes: &mut Vec<String>,
) {
    let own = |table: &TableDescription| {
        table
            .columns
            .iter()
            .filter(|c| {
                !matches!(
                    c.role,
                    ColumnRole::Field { .. }
                        | ColumnRole::BlindIndex { .. }
                        | ColumnRole::Subject { .. }
                )
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let (before, after) = (own(applied), own(wanted));
    for column in &after {
        if !before.contains(column) {
            changes.push(format!(
                "datavern column {} was added or changed",
                column.name
            ));
        }
    }
    for column in &before {
        if !after.iter().any(|c| c.name == column.name) {
            changes.push(format!("datavern column {} was removed", column.name));
        }
    }
}
