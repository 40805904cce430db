//! The plan: what changes from the catalog in force to a new one, change by change, each
//! classed, with its DDL per dialect in the phases that run it (expand, unhook, contract,
//! abort) and the rows each backfill or deletion touches.

use std::collections::BTreeMap;

use datavern_core::catalog::{Catalog, Collection};
use datavern_sql::Backend;
use datavern_store::schema::{
    self, Column, ColumnRole, TableDescription, add_column_statement, blind_index_column,
    create_statements, drop_column_statement, drop_table_statement, index_name,
    rename_column_statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;

/// The version of the plan format; a plan file of another format is refused.
pub const PLAN_FORMAT: u32 = 1;

/// The prefix of the column that holds a field's next shape during a migration window.
pub const NEXT_PREFIX: &str = "dv_next_";

/// What a migration does, from the catalog version it was made against to a new catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    /// The catalog version in force when the plan was made.
    pub from_version: i64,
    /// Its checksum: `apply` refuses the plan if another catalog is in force by then.
    pub from_checksum: String,
    /// The checksum of the new catalog.
    pub to_checksum: String,
    /// Each change, collections in the new catalog's order, then removed ones.
    pub changes: Vec<Change>,
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The collection it concerns (`*` for the deployment and the purposes).
    pub collection: String,
    /// Its table.
    pub table: String,
    /// What changes.
    #[serde(flatten)]
    pub kind: ChangeKind,
    /// How it is made.
    pub class: ChangeClass,
    /// In words.
    pub summary: String,
    /// The statements per dialect, by the backend's name (`sqlite`, `postgres`, `mysql`).
    pub ddl: BTreeMap<String, Phases>,
    /// The rows a backfill rewrites or a deletion removes (counted on this database when
    /// the plan was made), if the change touches rows.
    pub rows: Option<u64>,
}

/// What changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeKind {
    /// Purposes, retention, classification, descriptions, the deployment: no DDL.
    Governance {
        /// Each difference in words.
        details: Vec<String>,
    },
    /// A new collection: its table.
    CollectionAdded,
    /// A collection removed: its table and records are dropped at `complete`.
    CollectionRemoved,
    /// A new field: its column (and blind index), empty in existing records.
    FieldAdded {
        /// The field.
        field: String,
    },
    /// A field removed: its column's values are deleted at `complete`.
    FieldRemoved {
        /// The field.
        field: String,
        /// Whether its column held ciphertext.
        encrypted: bool,
    },
    /// A field's stored shape changes (encrypted, or its type): the next shape is written
    /// beside the current one and swapped in at `complete`.
    FieldReshaped {
        /// The field.
        field: String,
        /// The shape now.
        from: Shape,
        /// The shape wanted.
        to: Shape,
    },
    /// A field is renamed (`renamed_from`): the new field's column (and blind index) is
    /// filled from the old field's values, sealed and indexed again under the new name; the
    /// old column is dropped at `complete`.
    FieldRenamed {
        /// The field's new name.
        field: String,
        /// Its name in the catalog in force.
        from: String,
        /// Its stored shape (the same under both names).
        shape: Shape,
        /// Whether the renamed field is searchable (its blind index is built too).
        searchable: bool,
    },
    /// A field becomes searchable: its blind index is built from the stored values.
    FieldSearchable {
        /// The field.
        field: String,
    },
    /// A field is no longer searchable: its blind index is dropped at `complete`.
    FieldNotSearchable {
        /// The field.
        field: String,
    },
    /// A change the migrations cannot make yet; `apply` refuses the plan.
    Unsupported {
        /// Why, and what to do instead.
        reason: String,
    },
}

/// A field's stored shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// The catalog type.
    #[serde(rename = "type")]
    pub field_type: String,
    /// Whether its column holds ciphertext.
    pub encrypted: bool,
}

/// How a change is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// Recorded, nothing in the database changes.
    NoDdl,
    /// New tables or columns; existing rows are untouched.
    Additive,
    /// New columns filled from the stored values by a backfill.
    Backfill,
    /// Built beside the old shape, swapped in or dropped at `complete`.
    ExpandContract,
    /// Data is deleted at `complete`.
    Destructive,
    /// Not possible yet.
    Unsupported,
}

impl ChangeClass {
    /// The class in words, as the plan prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::NoDdl => "no DDL",
            ChangeClass::Additive => "additive",
            ChangeClass::Backfill => "needs backfill",
            ChangeClass::ExpandContract => "expand-contract",
            ChangeClass::Destructive => "destructive",
            ChangeClass::Unsupported => "unsupported",
        }
    }
}

/// A change's statements on one dialect, by phase. Each statement is idempotent or guarded,
/// so a phase interrupted at any point is completed by running it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// `apply`, before any backfill: new tables, columns, indexes, sync triggers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<Statement>,
    /// `complete` and `abort`, first: the sync triggers dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unhook: Vec<Statement>,
    /// `complete`: what the old catalog needed dropped, the next shapes swapped in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contract: Vec<Statement>,
    /// `abort`: what `expand` added dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abort: Vec<Statement>,
}

/// One DDL statement, run only when its guard holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// When it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
}

/// The condition under which a statement that is not idempotent by itself runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Guard {
    /// The column does not exist yet.
    ColumnAbsent {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// The column exists.
    ColumnPresent {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
}

impl Statement {
    fn plain(sql: String) -> Statement {
        Statement { sql, guard: None }
    }

    fn guarded(sql: String, guard: Guard) -> Statement {
        Statement {
            sql,
            guard: Some(guard),
        }
    }
}

/// A backfill the plan needs: the column it fills and the column it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    /// Its position among the plan's backfills (the checkpoint's step).
    pub step: i32,
    /// The collection.
    pub collection: String,
    /// Its table.
    pub table: String,
    /// The field it fills, as the new catalog names it.
    pub field: String,
    /// The field whose stored values it reads, as the catalog in force names it (its
    /// column): the same field, or the old name of a renamed one.
    pub source: String,
    /// The column it writes.
    pub target: String,
    /// What it writes.
    pub kind: BackfillKind,
}

/// What a backfill writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackfillKind {
    /// The value in the field's next shape (converted, sealed or opened).
    Reshape {
        /// The shape wanted.
        to: Shape,
    },
    /// The blind index of the value.
    BlindIndex,
}

impl Plan {
    /// The changes `apply` cannot make.
    pub fn unsupported(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::Unsupported { .. }))
    }

    /// Whether the plan is done at `apply`: no backfill and nothing to contract (no DDL,
    /// additive changes only).
    pub fn is_one_step(&self) -> bool {
        self.changes
            .iter()
            .all(|c| matches!(c.class, ChangeClass::NoDdl | ChangeClass::Additive))
    }

    /// The backfills, in plan order.
    pub fn backfills(&self) -> Vec<Backfill> {
        let mut backfills = Vec::new();
        for change in &self.changes {
            // (field, source, target, kind) of each backfill of the change.
            let fills = match &change.kind {
                ChangeKind::FieldReshaped { field, to, .. } => vec![(
                    field,
                    field,
                    next_column(field),
                    BackfillKind::Reshape { to: to.clone() },
                )],
                ChangeKind::FieldSearchable { field } => vec![(
                    field,
                    field,
                    blind_index_column(field),
                    BackfillKind::BlindIndex,
                )],
                // The new name's own column is the target: nothing is swapped at complete.
                ChangeKind::FieldRenamed {
                    field,
                    from,
                    shape,
                    searchable,
                } => {
                    let mut fills = vec![(
                        field,
                        from,
                        field.clone(),
                        BackfillKind::Reshape { to: shape.clone() },
                    )];
                    if *searchable {
                        fills.push((
                            field,
                            from,
                            blind_index_column(field),
                            BackfillKind::BlindIndex,
                        ));
                    }
                    fills
                }
                _ => continue,
            };
            for (field, source, target, kind) in fills {
                backfills.push(Backfill {
                    step: i32::try_from(backfills.len()).unwrap_or(i32::MAX),
                    collection: change.collection.clone(),
                    table: change.table.clone(),
                    field: field.clone(),
                    source: source.clone(),
                    target,
                    kind,
                });
            }
        }
        backfills
    }

    /// The collections whose tables change (the registry is rewritten for them at
    /// `complete`).
    pub fn changed_collections(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.class != ChangeClass::NoDdl)
            .map(|c| c.collection.as_str())
            .collect();
        names.dedup();
        names
    }

    /// The columns `expand` adds to existing tables, `(table, column)`.
    pub fn window_columns(&self) -> Vec<(String, String)> {
        let mut columns = Vec::new();
        for change in &self.changes {
            match &change.kind {
                ChangeKind::FieldAdded { field } => {
                    columns.push((change.table.clone(), field.clone()));
                    columns.push((change.table.clone(), blind_index_column(field)));
                }
                ChangeKind::FieldReshaped { field, .. } => {
                    columns.push((change.table.clone(), next_column(field)));
                }
                ChangeKind::FieldSearchable { field } => {
                    columns.push((change.table.clone(), blind_index_column(field)));
                }
                ChangeKind::FieldRenamed {
                    field, searchable, ..
                } => {
                    columns.push((change.table.clone(), field.clone()));
                    if *searchable {
                        columns.push((change.table.clone(), blind_index_column(field)));
                    }
                }
                _ => {}
            }
        }
        columns
    }
}

/// The column holding `field`'s next shape during a window.
pub fn next_column(field: &str) -> String {
    format!("{NEXT_PREFIX}{field}")
}

/// The name of the sync trigger that keeps `target` of `table` consistent with its source.
pub fn trigger_name(table: &str, target: &str) -> String {
    // index_name keeps it within every backend's identifier limit, hashed when long.
    index_name(table, target).replacen("ix_", "dv_sync_", 1)
}

/// The rows a change touches, counted by the caller: `(table, column)` of the non-null
/// values counted, or the table alone for all its rows.
pub(crate) fn counted(change: &Change) -> Option<(String, Option<String>)> {
    match &change.kind {
        ChangeKind::FieldReshaped { field, .. }
        | ChangeKind::FieldSearchable { field }
        | ChangeKind::FieldRemoved { field, .. }
        | ChangeKind::FieldRenamed { from: field, .. } => {
            Some((change.table.clone(), Some(field.clone())))
        }
        ChangeKind::CollectionRemoved => Some((change.table.clone(), None)),
        _ => None,
    }
}

/// The changes from `from` to `to`, without row counts (see [`crate::Migrator::plan`]).
pub fn changes(from: &Catalog, to: &Catalog) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let deployment = governance_details(&deployment_json(from), &deployment_json(to), "");
    if !deployment.is_empty() {
        changes.push(governance("*", "", deployment));
    }
    for collection in to.collections() {
        let name = collection.name().as_str();
        match from.collection(name) {
            None => changes.push(collection_added(collection)?),
            Some(old) => changes.extend(collection_changes(old, collection)?),
        }
    }
    for old in from.collections() {
        if to.collection(old.name().as_str()).is_none() {
            changes.push(collection_removed(old)?);
        }
    }
    Ok(changes)
}

fn governance(collection: &str, table: &str, details: Vec<String>) -> Change {
    Change {
        collection: collection.to_owned(),
        table: table.to_owned(),
        summary: if collection == "*" {
            "the deployment or the purposes change".to_owned()
        } else {
            format!("the governance of collection \"{collection}\" changes")
        },
        kind: ChangeKind::Governance { details },
        class: ChangeClass::NoDdl,
        ddl: BTreeMap::new(),
        rows: None,
    }
}

fn per_dialect(
    mut make: impl FnMut(Backend) -> Result<Phases>,
) -> Result<BTreeMap<String, Phases>> {
    let mut ddl = BTreeMap::new();
    for backend in Backend::ALL {
        ddl.insert(backend.as_str().to_owned(), make(backend)?);
    }
    Ok(ddl)
}

fn collection_added(collection: &Collection) -> Result<Change> {
    let layout = schema::describe(collection);
    let table = layout.table.clone();
    let ddl = per_dialect(|backend| {
        Ok(Phases {
            expand: create_statements(&layout, backend)?
                .into_iter()
                .map(Statement::plain)
                .collect(),
            abort: vec![Statement::plain(drop_table_statement(&table, backend)?)],
            ..Phases::default()
        })
    })?;
    Ok(Change {
        collection: layout.collection.clone(),
        summary: format!(
            "collection \"{}\" is added (table {table})",
            layout.collection
        ),
        table,
        kind: ChangeKind::CollectionAdded,
        class: ChangeClass::Additive,
        ddl,
        rows: None,
    })
}

fn collection_removed(collection: &Collection) -> Result<Change> {
    let layout = schema::describe(collection);
    let table = layout.table.clone();
    let ddl = per_dialect(|backend| {
        Ok(Phases {
            contract: vec![Statement::plain(drop_table_statement(&table, backend)?)],
            ..Phases::default()
        })
    })?;
    Ok(Change {
        collection: layout.collection.clone(),
        summary: format!(
            "collection \"{}\" is removed: its table {table} and every record in it are \
             deleted at complete",
            layout.collection
        ),
        table,
        kind: ChangeKind::CollectionRemoved,
        class: ChangeClass::Destructive,
        ddl,
        rows: None,
    })
}

/// A field's columns in a layout: its own and its blind index's.
struct FieldColumns<'a> {
    column: &'a Column,
    field_type: &'a str,
    encrypted: bool,
    index: Option<&'a Column>,
}

fn field_columns<'a>(layout: &'a TableDescription, field: &str) -> Option<FieldColumns<'a>> {
    let column = layout
        .columns
        .iter()
        .find(|c| matches!(&c.role, ColumnRole::Field { field: f, .. } if f == field))?;
    let ColumnRole::Field {
        field_type,
        encrypted,
        ..
    } = &column.role
    else {
        return None;
    };
    let index = layout
        .columns
        .iter()
        .find(|c| matches!(&c.role, ColumnRole::BlindIndex { field: f, .. } if f == field));
    Some(FieldColumns {
        column,
        field_type,
        encrypted: *encrypted,
        index,
    })
}

fn field_names(layout: &TableDescription) -> Vec<&str> {
    layout
        .columns
        .iter()
        .filter_map(|c| match &c.role {
            ColumnRole::Field { field, .. } => Some(field.as_str()),
            _ => None,
        })
        .collect()
}

fn collection_changes(old: &Collection, new: &Collection) -> Result<Vec<Change>> {
    let (before, after) = (schema::describe(old), schema::describe(new));
    let table = after.table.clone();
    let name = after.collection.clone();
    let change = |kind: ChangeKind, class: ChangeClass, summary: String, ddl| Change {
        collection: name.clone(),
        table: table.clone(),
        kind,
        class,
        summary,
        ddl,
        rows: None,
    };
    let mut changes = Vec::new();
    // Each field of the new catalog renamed from one the catalog in force has (new, old).
    // A `renamed_from` naming a field the catalog in force no longer has is a rename done
    // already: no change.
    let renames: Vec<(&str, &str)> = new
        .fields()
        .iter()
        .filter_map(|f| Some((f.name().as_str(), f.renamed_from()?.as_str())))
        .filter(|(field, from)| {
            field_columns(&before, field).is_none() && field_columns(&before, from).is_some()
        })
        .collect();

    let details = governance_details(
        &collection_json(old, &renames),
        &collection_json(new, &[]),
        "",
    );
    if !details.is_empty() {
        changes.push(governance(&name, &table, details));
    }
    if before.subjects != after.subjects {
        changes.push(change(
            ChangeKind::Unsupported {
                reason: format!(
                    "the data subjects of collection \"{name}\" change; existing records are \
                     sealed under their subjects' keys, so a collection's subjects cannot \
                     change in place: add a new collection and move the records"
                ),
            },
            ChangeClass::Unsupported,
            format!("the data subjects of collection \"{name}\" change"),
            BTreeMap::new(),
        ));
    }

    for field in field_names(&after) {
        let Some(now) = field_columns(&after, field) else {
            continue;
        };
        if let Some((_, from)) = renames.iter().find(|(f, _)| *f == field) {
            let Some(was) = field_columns(&before, from) else {
                continue;
            };
            let (kind, class, summary, ddl) = renamed(&table, field, from, &was, &now)?;
            changes.push(change(kind, class, summary, ddl));
            continue;
        }
        let Some(was) = field_columns(&before, field) else {
            let ddl = per_dialect(|backend| field_added(&table, &now, backend))?;
            changes.push(change(
                ChangeKind::FieldAdded {
                    field: field.to_owned(),
                },
                ChangeClass::Additive,
                format!(
                    "field \"{field}\" is added ({}{}{}); existing records have no value",
                    if now.encrypted { "encrypted " } else { "" },
                    if now.index.is_some() {
                        "searchable "
                    } else {
                        ""
                    },
                    now.field_type
                ),
                ddl,
            ));
            continue;
        };
        let reshaped = was.field_type != now.field_type || was.encrypted != now.encrypted;
        let was_searchable = was.index.is_some();
        if reshaped && was_searchable && was.field_type != now.field_type {
            changes.push(change(
                ChangeKind::Unsupported {
                    reason: format!(
                        "field \"{field}\" is searchable and changes type; its blind index \
                         would change meaning: make it not searchable first, change the \
                         type, then make it searchable again"
                    ),
                },
                ChangeClass::Unsupported,
                format!("field \"{field}\" changes type while searchable"),
                BTreeMap::new(),
            ));
            continue;
        }
        if reshaped {
            let from = Shape {
                field_type: was.field_type.to_owned(),
                encrypted: was.encrypted,
            };
            let to = Shape {
                field_type: now.field_type.to_owned(),
                encrypted: now.encrypted,
            };
            let ddl = per_dialect(|backend| field_reshaped(&table, field, now.column, backend))?;
            changes.push(change(
                ChangeKind::FieldReshaped {
                    field: field.to_owned(),
                    from: from.clone(),
                    to: to.clone(),
                },
                ChangeClass::ExpandContract,
                reshape_words(field, &from, &to),
                ddl,
            ));
        }
        match (was.index, now.index) {
            (None, Some(index)) => {
                let ddl = per_dialect(|backend| field_searchable(&table, field, index, backend))?;
                changes.push(change(
                    ChangeKind::FieldSearchable {
                        field: field.to_owned(),
                    },
                    ChangeClass::Backfill,
                    format!(
                        "field \"{field}\" becomes searchable: its blind index is built from \
                         the stored values"
                    ),
                    ddl,
                ));
            }
            (Some(_), None) => {
                let ddl = per_dialect(|backend| index_dropped(&table, field, backend))?;
                changes.push(change(
                    ChangeKind::FieldNotSearchable {
                        field: field.to_owned(),
                    },
                    ChangeClass::ExpandContract,
                    format!(
                        "field \"{field}\" is no longer searchable: its blind index is dropped"
                    ),
                    ddl,
                ));
            }
            (Some(a), Some(b)) if a.role != b.role => changes.push(change(
                ChangeKind::Unsupported {
                    reason: format!(
                        "field \"{field}\" changes its blind_index_length; make it not \
                         searchable, then searchable again with the new length"
                    ),
                },
                ChangeClass::Unsupported,
                format!("field \"{field}\" changes its blind-index length"),
                BTreeMap::new(),
            )),
            _ => {}
        }
    }
    for field in field_names(&before) {
        if field_columns(&after, field).is_some() || renames.iter().any(|(_, from)| *from == field)
        {
            continue;
        }
        let Some(was) = field_columns(&before, field) else {
            continue;
        };
        let ddl =
            per_dialect(|backend| field_removed(&table, field, was.index.is_some(), backend))?;
        changes.push(change(
            ChangeKind::FieldRemoved {
                field: field.to_owned(),
                encrypted: was.encrypted,
            },
            ChangeClass::Destructive,
            format!(
                "field \"{field}\" is removed: its {} values are deleted at complete",
                if was.encrypted {
                    "encrypted"
                } else {
                    "plaintext"
                }
            ),
            ddl,
        ));
    }
    Ok(changes)
}

/// The change of a field renamed from `from`: its values carried over to the new name, or
/// unsupported when its type or encryption changes as well.
fn renamed(
    table: &str,
    field: &str,
    from: &str,
    was: &FieldColumns<'_>,
    now: &FieldColumns<'_>,
) -> Result<(ChangeKind, ChangeClass, String, BTreeMap<String, Phases>)> {
    if was.field_type != now.field_type || was.encrypted != now.encrypted {
        return Ok((
            ChangeKind::Unsupported {
                reason: format!(
                    "field \"{from}\" is renamed \"{field}\" and changes its type or \
                     encryption in the same migration: rename it first (keeping its type and \
                     encryption), complete that migration, then change it"
                ),
            },
            ChangeClass::Unsupported,
            format!("field \"{from}\" is renamed \"{field}\" and changes its shape"),
            BTreeMap::new(),
        ));
    }
    let ddl = per_dialect(|backend| {
        field_renamed(
            table,
            (from, was.index.is_some()),
            (now.column, now.index),
            backend,
        )
    })?;
    let summary = if now.encrypted {
        format!(
            "field \"{from}\" is renamed \"{field}\": each stored value is sealed again under \
             the new name{}; \"{from}\" is dropped at complete",
            if now.index.is_some() {
                " and its blind index computed with the new name's key"
            } else {
                ""
            }
        )
    } else {
        format!(
            "field \"{from}\" is renamed \"{field}\": each stored value is copied to the new \
             name; \"{from}\" is dropped at complete"
        )
    };
    Ok((
        ChangeKind::FieldRenamed {
            field: field.to_owned(),
            from: from.to_owned(),
            shape: Shape {
                field_type: now.field_type.to_owned(),
                encrypted: now.encrypted,
            },
            searchable: now.index.is_some(),
        },
        ChangeClass::ExpandContract,
        summary,
        ddl,
    ))
}

fn reshape_words(field: &str, from: &Shape, to: &Shape) -> String {
    match (
        from.encrypted,
        to.encrypted,
        from.field_type == to.field_type,
    ) {
        (false, true, true) => format!(
            "field \"{field}\" becomes encrypted: each stored value is sealed under its \
             subject's key"
        ),
        (true, false, true) => format!(
            "field \"{field}\" is no longer encrypted: each stored value is opened and stored \
             in plaintext"
        ),
        _ => format!(
            "field \"{field}\" changes from {}{} to {}{}: each stored value is converted",
            if from.encrypted { "encrypted " } else { "" },
            from.field_type,
            if to.encrypted { "encrypted " } else { "" },
            to.field_type
        ),
    }
}

fn add_column(table: &str, column: &Column, backend: Backend) -> Result<Statement> {
    Ok(Statement::guarded(
        add_column_statement(table, column, backend)?,
        Guard::ColumnAbsent {
            table: table.to_owned(),
            column: column.name.clone(),
        },
    ))
}

fn drop_column(table: &str, column: &str, backend: Backend) -> Result<Statement> {
    Ok(Statement::guarded(
        drop_column_statement(table, column, backend)?,
        Guard::ColumnPresent {
            table: table.to_owned(),
            column: column.to_owned(),
        },
    ))
}

fn create_index(table: &str, column: &str, backend: Backend) -> Statement {
    Statement::plain(backend.dialect().create_index_online(
        &index_name(table, column),
        table,
        &["tenant", column],
    ))
}

fn drop_index(table: &str, column: &str, backend: Backend) -> Statement {
    Statement::plain(
        backend
            .dialect()
            .drop_index(&index_name(table, column), table),
    )
}

fn sync(table: &str, source: &str, target: &str, backend: Backend) -> Vec<Statement> {
    backend
        .dialect()
        .sync_trigger(&trigger_name(table, target), table, source, target)
        .into_iter()
        .map(Statement::plain)
        .collect()
}

fn unsync(table: &str, target: &str, backend: Backend) -> Vec<Statement> {
    backend
        .dialect()
        .drop_sync_trigger(&trigger_name(table, target), table)
        .into_iter()
        .map(Statement::plain)
        .collect()
}

fn field_added(table: &str, now: &FieldColumns<'_>, backend: Backend) -> Result<Phases> {
    let mut phases = Phases::default();
    phases.expand.push(add_column(table, now.column, backend)?);
    phases
        .abort
        .push(drop_column(table, &now.column.name, backend)?);
    if let Some(index) = now.index {
        phases.expand.push(add_column(table, index, backend)?);
        phases
            .expand
            .push(create_index(table, &index.name, backend));
        phases
            .abort
            .insert(0, drop_column(table, &index.name, backend)?);
        phases
            .abort
            .insert(0, drop_index(table, &index.name, backend));
    }
    Ok(phases)
}

fn field_reshaped(table: &str, field: &str, now: &Column, backend: Backend) -> Result<Phases> {
    let next = Column {
        name: next_column(field),
        ..now.clone()
    };
    let mut phases = Phases::default();
    phases.expand.push(add_column(table, &next, backend)?);
    phases
        .expand
        .extend(sync(table, field, &next.name, backend));
    phases.unhook.extend(unsync(table, &next.name, backend));
    phases.contract.push(drop_column(table, field, backend)?);
    phases.contract.push(Statement::guarded(
        rename_column_statement(table, &next.name, field, backend)?,
        Guard::ColumnPresent {
            table: table.to_owned(),
            column: next.name.clone(),
        },
    ));
    phases.abort.push(drop_column(table, &next.name, backend)?);
    Ok(phases)
}

/// A rename: the new name's column (and blind index) added beside the old one and kept in
/// step with it by sync triggers from the old column; the old column (and its blind index)
/// dropped at complete, the new ones at abort.
fn field_renamed(
    table: &str,
    (from, from_searchable): (&str, bool),
    (column, index): (&Column, Option<&Column>),
    backend: Backend,
) -> Result<Phases> {
    let mut phases = Phases::default();
    phases.expand.push(add_column(table, column, backend)?);
    phases
        .expand
        .extend(sync(table, from, &column.name, backend));
    phases.unhook.extend(unsync(table, &column.name, backend));
    if let Some(index) = index {
        // The new name's blind index, filled from the old field as making it searchable is.
        let searchable = field_searchable(table, from, index, backend)?;
        phases.expand.extend(searchable.expand);
        phases.unhook.extend(searchable.unhook);
        phases.abort.extend(searchable.abort);
    }
    phases
        .abort
        .push(drop_column(table, &column.name, backend)?);
    phases.contract = field_removed(table, from, from_searchable, backend)?.contract;
    Ok(phases)
}

fn field_searchable(table: &str, field: &str, index: &Column, backend: Backend) -> Result<Phases> {
    let mut phases = Phases::default();
    phases.expand.push(add_column(table, index, backend)?);
    phases
        .expand
        .push(create_index(table, &index.name, backend));
    phases
        .expand
        .extend(sync(table, field, &index.name, backend));
    phases.unhook.extend(unsync(table, &index.name, backend));
    phases.abort.push(drop_index(table, &index.name, backend));
    phases.abort.push(drop_column(table, &index.name, backend)?);
    Ok(phases)
}

fn index_dropped(table: &str, field: &str, backend: Backend) -> Result<Phases> {
    let column = blind_index_column(field);
    Ok(Phases {
        contract: vec![
            drop_index(table, &column, backend),
            drop_column(table, &column, backend)?,
        ],
        ..Phases::default()
    })
}

fn field_removed(table: &str, field: &str, searchable: bool, backend: Backend) -> Result<Phases> {
    let mut contract = Vec::new();
    if searchable {
        let column = blind_index_column(field);
        contract.push(drop_index(table, &column, backend));
        contract.push(drop_column(table, &column, backend)?);
    }
    contract.push(drop_column(table, field, backend)?);
    Ok(Phases {
        contract,
        ..Phases::default()
    })
}

/// The deployment and purposes of a catalog as JSON, to compare.
fn deployment_json(catalog: &Catalog) -> Value {
    let summary = catalog.summary();
    serde_json::json!({
        "deployment": summary.deployment,
        "purposes": summary.purposes,
    })
}

/// A collection's governance as JSON, to compare: everything but what its layout already
/// compares (field types, encryption, search). Fields are keyed by name, a renamed field
/// (`renames`: new, old) by its new name, so that its governance is compared across the
/// rename.
fn collection_json(collection: &Collection, renames: &[(&str, &str)]) -> Value {
    let summary = collection.summary();
    let mut value = serde_json::to_value(&summary).unwrap_or(Value::Null);
    if let Some(fields) = value.get_mut("fields").and_then(Value::as_array_mut) {
        for field in fields {
            if let Some(field) = field.as_object_mut() {
                for key in ["type", "encrypted", "searchable", "encryption_reason"] {
                    field.remove(key);
                }
            }
        }
        // Fields keyed by name, so that an added or removed field is not read as a change
        // of every field after it.
        let keyed: serde_json::Map<String, Value> = value["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let name = f.get("name")?.as_str()?;
                let name = renames
                    .iter()
                    .find(|(_, old)| *old == name)
                    .map_or(name, |(new, _)| new);
                let mut f = f.clone();
                if let Some(f) = f.as_object_mut() {
                    // The key names the field; a rename is its own change.
                    f.remove("name");
                }
                Some((name.to_owned(), f))
            })
            .collect();
        value["fields"] = Value::Object(keyed);
    }
    value
}

/// Each difference between two JSON trees, in words (`fields.fnr.classification:
/// "BEGRENSET" → "KONFIDENSIELT"`); members only one side has are differences of their own,
/// except fields, whose addition and removal the layout reports.
fn governance_details(before: &Value, after: &Value, path: &str) -> Vec<String> {
    let mut details = Vec::new();
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, new) in b {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match a.get(key) {
                    Some(old) => details.extend(governance_details(old, new, &at)),
                    None if path == "fields" => {}
                    None => details.push(format!("{at}: added {new}")),
                }
            }
            for key in a.keys() {
                if !b.contains_key(key) && path != "fields" {
                    let at = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    details.push(format!("{at}: removed"));
                }
            }
        }
        (a, b) if a != b => details.push(format!("{path}: {a} → {b}")),
        _ => {}
    }
    details
}
