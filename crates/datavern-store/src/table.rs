//! The one model of a collection's table, built once per catalog.
//!
//! A [`Table`] owns everything the store knows about one collection's table: its names, its
//! physical layout (the [`TableDescription`] the DDL is generated from and `dv_collections`
//! records), whose key seals its records ([`KeyOwner`]), its data subjects and the columns
//! holding their ids, its fields with their blind indexes and padding, and the one routine
//! that seals a field value ([`Table::seal`]) and the one that opens it ([`Table::open`]).
//! `Tables` holds the table of every collection of a catalog; `Records` builds it once
//! and every service (records, rights, retention, controls) reads it from there.

use std::collections::HashMap;

use datavern_core::catalog::{
    Catalog, Collection, DEFAULT_BLIND_INDEX_LENGTH, DataSubjects, FieldName, FieldType,
    Kommunenummer,
};
use datavern_core::record::FieldValue;
use datavern_crypto::{
    DataKey, FieldContext, Padding, PaddingBucket, Zeroizing, decrypt_field, encrypt_field_padded,
};
use uuid::Uuid;

use crate::error::Result;
use crate::records::{RecordError, codec};
use crate::schema::{self, BLIND_INDEX_PREFIX, ColumnRole, TableDescription};

/// One collection's table.
#[derive(Debug)]
pub struct Table {
    /// The physical layout: what the DDL is made from and `dv_collections` records.
    layout: TableDescription,
    /// Whose key seals the record's encrypted fields.
    key_owner: KeyOwner,
    /// The subject references, primary first, then in catalog order.
    pub references: Vec<Reference>,
    /// The fields, in catalog order.
    pub fields: Vec<TableField>,
}

/// Whose data key seals a record's encrypted fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
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
pub struct Reference {
    /// The reference's name (`barn`).
    pub name: String,
    /// The reference field (`barn_id`).
    pub field: String,
    /// `dv_subject` or `dv_subject_<name>`.
    pub column: String,
    /// Whether it is the primary subject.
    pub primary: bool,
    /// The table of the person collection it refers to.
    pub target_table: String,
    /// That collection's name.
    pub target_collection: String,
}

/// One field's column (and blind-index column).
#[derive(Debug)]
pub struct TableField {
    /// The field's name, also its column's.
    pub name: String,
    /// The same, as the catalog's name type.
    pub field_name: FieldName,
    /// Its catalog type.
    pub field_type: FieldType,
    /// Whether the column holds a field envelope.
    pub encrypted: bool,
    /// The blind-index column, for searchable fields.
    pub blind_index: Option<String>,
    /// The blind-index length in bytes (the catalog's; unused without an index).
    pub index_length: usize,
    /// The padding bucket of its envelopes in bytes, if padded (encrypted fields only).
    pub padding: Option<usize>,
    /// The catalog field, for the normalised (blind-index) form of its values.
    catalog: datavern_core::catalog::Field,
}

impl TableField {
    /// How the field's values are padded before sealing.
    pub fn padding(&self) -> datavern_crypto::Result<Padding> {
        self.padding
            .map(|bytes| PaddingBucket::new(bytes).map(Padding::Bucket))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Whether its values must be unique in the tenant.
    pub fn is_unique(&self) -> bool {
        self.catalog.is_unique()
    }

    /// The normalised form of `value` its blind index is computed from, if it has one.
    pub fn index_form(&self, value: &FieldValue) -> Option<String> {
        value.index_form(&self.catalog)
    }
}

impl Table {
    /// The table of `collection`.
    pub fn new(collection: &Collection) -> Table {
        let layout = schema::describe(collection);
        let key_owner = match collection.subjects() {
            DataSubjects::Record => KeyOwner::Record,
            DataSubjects::References(_) => KeyOwner::PrimaryReference,
            DataSubjects::None => KeyOwner::OwnKey,
        };
        let references = layout
            .ordered_references()
            .map(|r| {
                let target = collection
                    .subject(&r.name)
                    .map(|s| s.collection().as_str().to_owned())
                    .unwrap_or_default();
                Reference {
                    name: r.name.clone(),
                    field: r.field.clone(),
                    column: r.column.clone(),
                    primary: r.primary,
                    target_table: schema::table_name(&target),
                    target_collection: target,
                }
            })
            .collect();
        let fields = layout
            .columns
            .iter()
            .filter_map(|column| match &column.role {
                ColumnRole::Field {
                    field, encrypted, ..
                } => {
                    let catalog_field = collection.field(field)?;
                    Some(TableField {
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
                        catalog: catalog_field.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        Table {
            layout,
            key_owner,
            references,
            fields,
        }
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.layout.collection
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.layout.table
    }

    /// The physical layout (columns and their roles).
    pub fn layout(&self) -> &TableDescription {
        &self.layout
    }

    /// Whose key seals the records' encrypted fields.
    pub fn key_owner(&self) -> KeyOwner {
        self.key_owner
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&TableField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every column holding a data subject's id, primary first (see
    /// [`TableDescription::subject_columns`]).
    pub fn subject_columns(&self) -> Vec<&str> {
        self.layout.subject_columns()
    }

    /// Whose key seals the fields of record `id` with these subject references (per
    /// [`Table::references`]): the record's own id for `subjects: self` and `subjects: none`,
    /// else the primary subject, `None` when that link is cleared. Every "whose key" question
    /// of the store is answered here.
    pub fn owner_of(&self, id: Uuid, references: &[Option<Uuid>]) -> Option<Uuid> {
        match self.key_owner {
            KeyOwner::Record | KeyOwner::OwnKey => Some(id),
            KeyOwner::PrimaryReference => references.first().copied().flatten(),
        }
    }

    /// [`Table::owner_of`] for a write, where the owner must be known.
    pub fn write_owner(&self, id: Uuid, references: &[Option<Uuid>]) -> Result<Uuid> {
        self.owner_of(id, references).ok_or_else(|| {
            RecordError::MissingSubject {
                collection: self.name().to_owned(),
                record: id,
            }
            .into()
        })
    }

    /// The primary data subject of record `id` (for audit entries), if it concerns a person.
    pub fn primary_subject(&self, id: Uuid, references: &[Option<Uuid>]) -> Option<Uuid> {
        match self.key_owner {
            KeyOwner::Record => Some(id),
            KeyOwner::PrimaryReference => references.first().copied().flatten(),
            KeyOwner::OwnKey => None,
        }
    }

    /// The secondary data subjects among these references (for audit entries).
    pub fn secondary_subjects(&self, references: &[Option<Uuid>]) -> Vec<Uuid> {
        self.references
            .iter()
            .zip(references)
            .filter(|(reference, _)| !reference.primary)
            .filter_map(|(_, id)| *id)
            .collect()
    }

    /// The data subjects of record `id` with these references, primary last (the subjects a
    /// legal hold may name).
    pub fn all_subjects(&self, id: Uuid, references: &[Option<Uuid>]) -> Vec<Uuid> {
        let mut subjects = self.secondary_subjects(references);
        subjects.extend(self.primary_subject(id, references));
        subjects
    }

    /// Seals `value` of `field` of record `record` with `owner`'s data key `key`: the
    /// envelope is bound to tenant, collection, field, record and owner, and padded as the
    /// field says. `None` for a null value. The one sealing routine of the store.
    pub fn seal(
        &self,
        key: &DataKey,
        tenant: Kommunenummer,
        field: &TableField,
        record: Uuid,
        owner: Uuid,
        value: &FieldValue,
    ) -> Result<Option<Vec<u8>>> {
        let Some(text) = value.canonical() else {
            return Ok(None);
        };
        let text = Zeroizing::new(text);
        let (record_text, owner_text) = (
            record.hyphenated().to_string(),
            owner.hyphenated().to_string(),
        );
        let context = self.context(&tenant, field, &record_text, &owner_text);
        Ok(Some(encrypt_field_padded(
            key,
            &context,
            text.as_bytes(),
            field.padding()?,
        )?))
    }

    /// Opens the envelope of `field` of record `record`, sealed with `owner`'s data key
    /// `key`: the value, or an error naming collection, field and record (never the value)
    /// when it does not open or does not decode. The one opening routine of the store.
    pub fn open(
        &self,
        key: &DataKey,
        tenant: Kommunenummer,
        field: &TableField,
        record: Uuid,
        owner: Uuid,
        envelope: &[u8],
    ) -> Result<FieldValue> {
        let (record_text, owner_text) = (
            record.hyphenated().to_string(),
            owner.hyphenated().to_string(),
        );
        let context = self.context(&tenant, field, &record_text, &owner_text);
        let plaintext =
            decrypt_field(key, &context, envelope).map_err(|_| RecordError::Decryption {
                collection: self.name().to_owned(),
                field: field.name.clone(),
                record,
            })?;
        let bad = || RecordError::CorruptValue {
            collection: self.name().to_owned(),
            field: field.name.clone(),
            record,
            field_type: field.field_type.as_str(),
        };
        let text = std::str::from_utf8(&plaintext).map_err(|_| bad())?;
        Ok(codec::from_canonical(field.field_type, text).map_err(|_| bad())?)
    }

    fn context<'a>(
        &'a self,
        tenant: &'a Kommunenummer,
        field: &'a TableField,
        record: &'a str,
        owner: &'a str,
    ) -> FieldContext<'a> {
        FieldContext {
            tenant: tenant.as_str(),
            collection: self.name(),
            field: &field.name,
            record_id: record,
            subject_id: owner,
        }
    }
}

/// The table of every collection of a catalog, in catalog order; built once.
#[derive(Debug)]
pub(crate) struct Tables {
    tables: Vec<Table>,
    by_name: HashMap<String, usize>,
}

impl Tables {
    /// The tables of `catalog`'s collections.
    pub(crate) fn new(catalog: &Catalog) -> Tables {
        let tables: Vec<Table> = catalog.collections().iter().map(Table::new).collect();
        let by_name = tables
            .iter()
            .enumerate()
            .map(|(position, table)| (table.name().to_owned(), position))
            .collect();
        Tables { tables, by_name }
    }

    /// The table of `collection`.
    pub(crate) fn get(&self, collection: &str) -> Option<&Table> {
        self.by_name
            .get(collection)
            .and_then(|&i| self.tables.get(i))
    }

    /// Every table, in catalog order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Table> {
        self.tables.iter()
    }

    /// How many tables.
    pub(crate) fn len(&self) -> usize {
        self.tables.len()
    }
}
