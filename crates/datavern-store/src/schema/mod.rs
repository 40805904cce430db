//! Collection tables generated from the catalog.
//!
//! Each catalog collection becomes one table, `c_<collection>`. [`describe`] turns a
//! collection into a [`TableDescription`]: the columns and what each holds. The description
//! is what the DDL is generated from ([`create_statements`], per dialect, with sea-query),
//! what the registry `dv_collections` stores, and what a later catalog is compared with
//! ([`differences`]): a change that would alter an existing table is refused at start-up,
//! with every difference in words, and made by a catalog migration (`datavern migrate`)
//! instead. [`versions`] records every catalog applied.
//!
//! Layout of a table (see `docs/storage.md` for the types per dialect):
//!
//! | column | holds |
//! |---|---|
//! | `id` | record id, UUIDv7, primary key |
//! | `tenant` | kommunenummer |
//! | `dv_subject` | primary subject's id (collections with subject references) |
//! | `dv_subject_<name>` | each secondary subject's id |
//! | `<field>` | each field: its typed value, or ciphertext bytes when encrypted |
//! | `dv_bidx_<field>` | blind index of each searchable field |
//! | `created_at`, `updated_at` | times of the change, UTC |
//! | `version` | optimistic concurrency counter, from 1 |
//! | `dv_restricted` | processing restricted (GDPR Art. 18) |

mod apply;
mod ddl;
mod diff;
pub(crate) mod names;
pub mod versions;

use datavern_core::catalog::{Collection, DEFAULT_BLIND_INDEX_LENGTH, DataSubjects, Field};
use serde::{Deserialize, Serialize};

pub use self::apply::ApplyReport;
pub(crate) use self::apply::apply_catalog;
pub use self::ddl::{
    DECIMAL_PRECISION, STRING_MAX_CHARS, TENANT_SETTING, add_column_statement, catalog_statements,
    create_statements, drop_column_statement, drop_table_statement, rename_column_statement,
};
pub use self::diff::{CollectionChanges, IncompatibleCatalog, differences};
pub use self::names::{
    BLIND_INDEX_PREFIX, MAX_IDENTIFIER_LEN, PRIMARY_SUBJECT_COLUMN, RESTRICTED_COLUMN,
    SUBJECT_COLUMN_PREFIX, TABLE_PREFIX, TENANT_POLICY, blind_index_column, checked, index_name,
    table_name,
};

/// The version of the [`TableDescription`] format; stored with every description.
pub const DESCRIPTION_FORMAT: u32 = 1;

/// The physical shape of one collection's table: what `dv_collections` records and the DDL is
/// generated from.
///
/// Only what determines the table is described (field names, types, encryption, search,
/// subject columns); classification, purposes, retention and other governance attributes can
/// change freely without touching the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDescription {
    /// [`DESCRIPTION_FORMAT`] when written.
    pub format: u32,
    /// The collection's name.
    pub collection: String,
    /// The table's name.
    pub table: String,
    /// How records relate to data subjects, and where each subject's id is.
    pub subjects: SubjectModel,
    /// The columns, in table order.
    pub columns: Vec<Column>,
}

/// How a table's records relate to data subjects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum SubjectModel {
    /// `subjects: self`: each record is a person, and its `id` is that subject's id.
    Record,
    /// `subjects: none`: records concern no one.
    None,
    /// Records concern the persons their reference fields point to.
    References {
        /// Each reference, in catalog order.
        references: Vec<SubjectColumn>,
    },
}

/// Where one subject reference's id is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectColumn {
    /// The reference's name in the catalog.
    pub name: String,
    /// The catalog field holding the referenced record's id.
    pub field: String,
    /// Whether it is the primary subject (whose key encrypts the record).
    pub primary: bool,
    /// The column datavern keeps the subject's id in (`dv_subject` or `dv_subject_<name>`).
    pub column: String,
}

/// One column of a collection table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// What it holds.
    #[serde(flatten)]
    pub role: ColumnRole,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ColumnRole {
    /// The record id (UUIDv7), primary key.
    Id,
    /// The tenant (kommunenummer).
    Tenant,
    /// A data subject's id (a record id of a person collection).
    Subject {
        /// The subject reference's name.
        subject: String,
        /// Whether it is the primary subject.
        primary: bool,
    },
    /// A catalog field.
    Field {
        /// The field's name.
        field: String,
        /// Its catalog type (`string`, `integer`, …).
        field_type: String,
        /// Whether the column holds ciphertext (a field envelope) instead of the value.
        encrypted: bool,
    },
    /// The blind index of a searchable field.
    BlindIndex {
        /// The field indexed.
        field: String,
        /// The index length in bytes (the catalog's `blind_index_length`). Descriptions
        /// written before the length was configurable have none: they were 3 bytes, and it
        /// is left out of the JSON when 3, so their fingerprints stay the same.
        #[serde(
            default = "default_index_length",
            skip_serializing_if = "is_default_index_length"
        )]
        length: usize,
    },
    /// When the record was created (UTC).
    CreatedAt,
    /// When the record was last changed (UTC).
    UpdatedAt,
    /// The optimistic-concurrency version, 1 on insert and incremented by every update.
    Version,
    /// Whether processing of the record is restricted (GDPR Art. 18).
    Restricted,
}

fn default_index_length() -> usize {
    DEFAULT_BLIND_INDEX_LENGTH
}

fn is_default_index_length(length: &usize) -> bool {
    *length == DEFAULT_BLIND_INDEX_LENGTH
}

impl TableDescription {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column holding the primary subject's id: `id` for `subjects: self`, `dv_subject`
    /// for subject references, none for `subjects: none`.
    pub fn primary_subject_column(&self) -> Option<&str> {
        match &self.subjects {
            SubjectModel::Record => Some("id"),
            SubjectModel::None => None,
            SubjectModel::References { references } => references
                .iter()
                .find(|r| r.primary)
                .map(|r| r.column.as_str()),
        }
    }

    /// Every column holding a data subject's id: `id` for `subjects: self`, each reference's
    /// column for subject references (the primary first, then the others in catalog order),
    /// none for `subjects: none`.
    pub fn subject_columns(&self) -> Vec<&str> {
        match &self.subjects {
            SubjectModel::Record => vec!["id"],
            SubjectModel::None => Vec::new(),
            SubjectModel::References { .. } => self
                .ordered_references()
                .map(|r| r.column.as_str())
                .collect(),
        }
    }

    /// The subject references, the primary first, then the others in catalog order (the
    /// order of their columns in the table).
    pub fn ordered_references(&self) -> impl Iterator<Item = &SubjectColumn> {
        let references = match &self.subjects {
            SubjectModel::References { references } => references.as_slice(),
            SubjectModel::Record | SubjectModel::None => &[],
        };
        let primary = references.iter().filter(|r| r.primary);
        primary.chain(references.iter().filter(|r| !r.primary))
    }

    /// The columns that get an index on `(tenant, column)`: `id`, every subject column and
    /// every blind index.
    pub fn indexed_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| {
            matches!(
                c.role,
                ColumnRole::Id | ColumnRole::Subject { .. } | ColumnRole::BlindIndex { .. }
            )
        })
    }

    /// A stable fingerprint of the description: `sha256:` and the hex SHA-256 of its JSON.
    pub fn fingerprint(&self) -> String {
        // Serializing plain strings, bools and numbers cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &json);
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// The table a collection gets.
pub fn describe(collection: &Collection) -> TableDescription {
    let name = collection.name().as_str();
    let mut columns = vec![
        Column {
            name: "id".to_owned(),
            role: ColumnRole::Id,
            nullable: false,
        },
        Column {
            name: "tenant".to_owned(),
            role: ColumnRole::Tenant,
            nullable: false,
        },
    ];
    let subjects = match collection.subjects() {
        DataSubjects::Record => SubjectModel::Record,
        DataSubjects::None => SubjectModel::None,
        DataSubjects::References(references) => {
            let references: Vec<SubjectColumn> = references
                .iter()
                .map(|r| SubjectColumn {
                    name: r.name().to_string(),
                    field: r.field().to_string(),
                    primary: r.is_primary(),
                    column: if r.is_primary() {
                        PRIMARY_SUBJECT_COLUMN.to_owned()
                    } else {
                        names::secondary_subject_column(r.name().as_str())
                    },
                })
                .collect();
            // Primary first, then the others in catalog order.
            let ordered = references
                .iter()
                .filter(|r| r.primary)
                .chain(references.iter().filter(|r| !r.primary));
            for reference in ordered {
                columns.push(Column {
                    name: reference.column.clone(),
                    role: ColumnRole::Subject {
                        subject: reference.name.clone(),
                        primary: reference.primary,
                    },
                    // Nullable even for the primary: anonymization removes the link to the
                    // person, and erasing a secondary party clears theirs.
                    nullable: true,
                });
            }
            SubjectModel::References { references }
        }
    };
    for field in collection.fields() {
        columns.extend(field_columns(field));
    }
    for (column, role) in [
        ("created_at", ColumnRole::CreatedAt),
        ("updated_at", ColumnRole::UpdatedAt),
        ("version", ColumnRole::Version),
        (RESTRICTED_COLUMN, ColumnRole::Restricted),
    ] {
        columns.push(Column {
            name: column.to_owned(),
            role,
            nullable: false,
        });
    }
    TableDescription {
        format: DESCRIPTION_FORMAT,
        collection: name.to_owned(),
        table: table_name(name),
        subjects,
        columns,
    }
}

/// A field's value column, and its blind-index column if it is searchable. Field columns are
/// nullable even when the field is required: the service enforces `required`, while erasure
/// of a secondary party and anonymization clear values of existing records.
fn field_columns(field: &Field) -> Vec<Column> {
    let name = field.name().as_str();
    let mut columns = vec![Column {
        name: name.to_owned(),
        role: ColumnRole::Field {
            field: name.to_owned(),
            field_type: field.field_type().as_str().to_owned(),
            encrypted: field.is_encrypted(),
        },
        nullable: true,
    }];
    if let Some(length) = field.blind_index_length() {
        columns.push(Column {
            name: names::blind_index_column(name),
            role: ColumnRole::BlindIndex {
                field: name.to_owned(),
                length,
            },
            nullable: true,
        });
    }
    columns
}
