//! What the record operations need to know about each collection's table, worked out once
//! from the catalog when the service is built.

use std::collections::HashMap;

use datavern_core::catalog::{
    Catalog, Collection, DEFAULT_BLIND_INDEX_LENGTH, DataSubjects, Field, FieldName, FieldType,
};
use datavern_crypto::{Padding, PaddingBucket};

use crate::schema::{self, BLIND_INDEX_PREFIX, ColumnRole, SubjectModel, TableDescription};

/// One collection's table, as the record operations use it.
#[derive(Debug)]
pub(super) struct CollectionPlan {
    /// The collection's name.
    pub(super) name: String,
    /// Its table.
    pub(super) table: String,
    /// Whose key seals the record's encrypted fields.
    pub(super) key_owner: KeyOwner,
    /// The subject references, primary first, then in catalog order.
    pub(super) references: Vec<ReferencePlan>,
    /// The fields, in catalog order.
    pub(super) fields: Vec<FieldPlan>,
}

/// Whose data key seals a record's encrypted fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyOwner {
    /// `subjects: self`: the person the record is; the subject id is the record id.
    Record,
    /// Subject references: the primary subject (the first reference).
    PrimaryReference,
    /// `subjects: none`: no person, so the record gets a key of its own, owned by its id
    /// (destroying it crypto-shreds the record alone).
    OwnKey,
}

/// A subject reference: the field holding the referenced record's id and the column
/// datavern keeps that id in.
#[derive(Debug)]
pub(super) struct ReferencePlan {
    /// The reference's name (`barn`).
    pub(super) name: String,
    /// The reference field (`barn_id`).
    pub(super) field: String,
    /// `dv_subject` or `dv_subject_<name>`.
    pub(super) column: String,
    /// Whether it is the primary subject.
    pub(super) primary: bool,
    /// The table of the person collection it refers to.
    pub(super) target_table: String,
    /// That collection's name.
    pub(super) target_collection: String,
}

/// One field's column (and blind-index column).
#[derive(Debug)]
pub(super) struct FieldPlan {
    /// The field's name, also its column's.
    pub(super) name: String,
    /// The same, as the catalog's name type.
    pub(super) field_name: FieldName,
    /// Its catalog type.
    pub(super) field_type: FieldType,
    /// Whether the column holds a field envelope.
    pub(super) encrypted: bool,
    /// The blind-index column, for searchable fields.
    pub(super) blind_index: Option<String>,
    /// The blind-index length in bytes (the catalog's; unused without an index).
    pub(super) index_length: usize,
    /// The padding bucket of its envelopes in bytes, if padded (encrypted fields only).
    pub(super) padding: Option<usize>,
}

impl FieldPlan {
    /// How the field's values are padded before sealing.
    pub(super) fn padding(&self) -> datavern_crypto::Result<Padding> {
        self.padding
            .map(|bytes| PaddingBucket::new(bytes).map(Padding::Bucket))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

impl CollectionPlan {
    /// The plan of every collection in `catalog`, by name.
    pub(super) fn for_catalog(catalog: &Catalog) -> HashMap<String, CollectionPlan> {
        catalog
            .collections()
            .iter()
            .map(|c| (c.name().as_str().to_owned(), CollectionPlan::new(c)))
            .collect()
    }

    fn new(collection: &Collection) -> CollectionPlan {
        let description: TableDescription = schema::describe(collection);
        let key_owner = match collection.subjects() {
            DataSubjects::Record => KeyOwner::Record,
            DataSubjects::References(_) => KeyOwner::PrimaryReference,
            DataSubjects::None => KeyOwner::OwnKey,
        };
        let references = match &description.subjects {
            SubjectModel::References { references } => {
                let primary = references.iter().filter(|r| r.primary);
                let others = references.iter().filter(|r| !r.primary);
                primary
                    .chain(others)
                    .map(|r| {
                        let target = collection
                            .subject(&r.name)
                            .map(|s| s.collection().as_str().to_owned())
                            .unwrap_or_default();
                        ReferencePlan {
                            name: r.name.clone(),
                            field: r.field.clone(),
                            column: r.column.clone(),
                            primary: r.primary,
                            target_table: schema::table_name(&target),
                            target_collection: target,
                        }
                    })
                    .collect()
            }
            SubjectModel::Record | SubjectModel::None => Vec::new(),
        };
        let fields = description
            .columns
            .iter()
            .filter_map(|column| match &column.role {
                ColumnRole::Field {
                    field, encrypted, ..
                } => {
                    let catalog_field = collection.field(field)?;
                    Some(FieldPlan {
                        name: field.clone(),
                        field_name: catalog_field.name().clone(),
                        field_type: catalog_field.field_type(),
                        encrypted: *encrypted,
                        blind_index: catalog_field
                            .is_searchable()
                            .then(|| format!("{BLIND_INDEX_PREFIX}{field}")),
                        index_length: catalog_field
                            .blind_index_length()
                            .unwrap_or(DEFAULT_BLIND_INDEX_LENGTH),
                        padding: catalog_field.padding().filter(|_| *encrypted),
                    })
                }
                _ => None,
            })
            .collect();
        CollectionPlan {
            name: description.collection.clone(),
            table: description.table.clone(),
            key_owner,
            references,
            fields,
        }
    }

    /// The field with this name.
    pub(super) fn field(&self, name: &str) -> Option<&FieldPlan> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The catalog field of `plan`'s field `name` (always present: plans are made from the
/// catalog).
pub(super) fn catalog_field<'c>(
    catalog: &'c Catalog,
    collection: &str,
    name: &str,
) -> Option<&'c Field> {
    catalog.collection(collection)?.field(name)
}
