//! Fields: type, category, identifier, classification, encryption, search, purposes and
//! attribution to data subjects, with the legal rules that depend on them.

use crate::classification::Classification;
use crate::id::IdentifierKind;
use crate::taxonomy::{self, Category};

use super::super::error::ErrorCode;
use super::super::field::{
    Attribution, DEFAULT_BLIND_INDEX_LENGTH, DEFAULT_PADDING, Encryption, EncryptionReason, Field,
    FieldType, MAX_BLIND_INDEX_LENGTH, MAX_PADDING, MIN_BLIND_INDEX_LENGTH,
};
use super::super::model::DataSubjects;
use super::super::names::{FieldName, PurposeId, SubjectName};
use super::super::path::Path;
use super::super::raw::RawField;
use super::super::read::Slot;
use super::super::suggest::{did_you_mean, did_you_mean_or};
use super::Context;
use super::collection::{CollectionShape, exemption};

pub(super) fn validate_field(
    cx: &mut Context<'_>,
    raw: &RawField,
    shape: &CollectionShape<'_>,
) -> Option<Field> {
    let at = |key: &str| raw.path.key(key);
    let name = cx
        .required_text(
            &raw.name,
            &at("name"),
            "name the field, e.g. `fodselsnummer`",
        )
        .and_then(|text| match FieldName::parse(&text) {
            Ok(name) => Some(name),
            Err(err) => {
                cx.push(&at("name"), ErrorCode::InvalidName, err.to_string());
                None
            }
        });
    let description = cx.optional_text(&raw.description, &at("description"));
    let types = FieldType::ALL.map(FieldType::as_str);
    let field_type = cx
        .required_text(
            &raw.field_type,
            &at("type"),
            &format!("give the type ({})", types.join(", ")),
        )
        .and_then(|text| match text.parse::<FieldType>() {
            Ok(ty) => Some(ty),
            Err(()) => {
                let hint = did_you_mean(&text, types);
                cx.push(
                    &at("type"),
                    ErrorCode::InvalidValue,
                    format!(
                        "unknown type \"{text}\"{hint} (expected {})",
                        types.join(", ")
                    ),
                );
                None
            }
        });
    let category = cx
        .required_text(
            &raw.category,
            &at("category"),
            "give the data category (docs/taxonomy.md), e.g. user.contact.email, or \
             system.operations for data about no one",
        )
        .and_then(|text| match taxonomy::parse(&text) {
            Ok(category) => Some(category),
            Err(err) => {
                cx.push(&at("category"), ErrorCode::UnknownCategory, err.to_string());
                None
            }
        });
    if let (Some(category), Some(DataSubjects::None)) = (category, shape.subjects)
        && category.is_personal()
    {
        cx.push(
            &at("category"),
            ErrorCode::Subjects,
            format!(
                "{category} is personal data, but the collection declares `subjects: none`; \
                 say who the records are about, or use an organization.* or system.* category"
            ),
        );
    }

    let identifier = cx
        .optional_text(&raw.identifier, &at("identifier"))
        .and_then(|text| match text.parse::<IdentifierKind>() {
            Ok(kind) => Some(kind),
            Err(err) => {
                let hint = did_you_mean(&text, IdentifierKind::ALL.map(IdentifierKind::as_str));
                let message = if hint.is_empty() {
                    err.to_string()
                } else {
                    format!("unknown identifier kind \"{text}\"{hint}")
                };
                cx.push(&at("identifier"), ErrorCode::InvalidValue, message);
                None
            }
        });
    let identifier_ok = identifier
        .is_none_or(|kind| check_identifier(cx, kind, field_type, category, &at("identifier")));

    // Classification: the field's own may raise the collection's, never lower it.
    let declared_classification = cx
        .optional_text(&raw.classification, &at("classification"))
        .and_then(|text| cx.classification(&text, &at("classification")));
    if let Some(level) = declared_classification {
        cx.check_accreditation(level, &at("classification"));
        if let Some(collection_level) = shape.classification.filter(|c| level < *c) {
            cx.push(
                &at("classification"),
                ErrorCode::Classification,
                format!(
                    "{level} is below the collection's {collection_level}: a field is at least as \
                     classified as its record; raise it or remove it"
                ),
            );
        }
    }
    let classification = match (declared_classification, shape.classification) {
        (Some(own), Some(collection)) => Some(own.max(collection)),
        (None, collection) => collection,
        (Some(_), None) => None,
    };

    let national_id = identifier.is_some_and(IdentifierKind::is_national_id)
        || category.is_some_and(|c| c.is_national_id());
    let encryption = match (category, classification) {
        (Some(category), Some(classification)) => {
            encryption(cx, raw, category, classification, national_id)
        }
        _ => None,
    };
    let searchable = raw.searchable.get().copied().unwrap_or(false);
    let searchable_ok =
        !searchable || check_searchable(cx, field_type, encryption, &at("searchable"));
    let blind_index_length = blind_index_length(cx, raw, searchable);
    let padding = category
        .zip(encryption)
        .map(|(c, e)| padding(cx, raw, c, e));
    let unique = raw.unique.get().copied().unwrap_or(false);
    let unique_ok = !unique || searchable || {
        cx.push(
            &at("unique"),
            ErrorCode::Searchable,
            "a unique field is checked through its blind index, which only searchable fields \
             have: add `searchable: true` or remove `unique`",
        );
        false
    };

    let (purposes, purposes_declared) = field_purposes(cx, raw, shape);
    if let (Some(purposes), Some(category)) = (&purposes, category) {
        let where_ = if purposes_declared {
            at("purposes")
        } else {
            raw.path.clone()
        };
        check_purpose_bases(cx, purposes, category, national_id, &where_);
    }

    let attribution = attribution(cx, raw, name.as_ref(), shape);
    let public_access = match &raw.unntatt_offentlighet {
        Slot::Present(raw) => exemption(cx, raw).map(Some),
        Slot::Absent => Some(None),
        Slot::Invalid => None,
    };
    let source = cx.optional_text(&raw.source, &at("source"));
    let renamed_from = renamed_from(cx, raw, name.as_ref());

    if !identifier_ok || !searchable_ok || !unique_ok {
        return None;
    }
    Some(Field {
        name: name?,
        description,
        field_type: field_type?,
        required: raw.required.get().copied().unwrap_or(false),
        category: category?,
        identifier,
        classification: classification?,
        declared_classification,
        encryption: encryption?,
        searchable,
        blind_index_length: blind_index_length?,
        padding: padding??,
        unique,
        purposes: purposes?,
        purposes_declared,
        attribution: attribution?,
        public_access: public_access?,
        source,
        renamed_from: renamed_from?,
    })
}

/// The field's name in the previous catalog version (`renamed_from`): a valid field name
/// other than its own. Whether another field of the collection has it is checked with the
/// collection.
fn renamed_from(
    cx: &mut Context<'_>,
    raw: &RawField,
    name: Option<&FieldName>,
) -> Option<Option<FieldName>> {
    let path = raw.path.key("renamed_from");
    let text = match &raw.renamed_from {
        Slot::Absent => return Some(None),
        Slot::Invalid => return None,
        Slot::Present(_) => cx.optional_text(&raw.renamed_from, &path)?,
    };
    let old = match FieldName::parse(&text) {
        Ok(old) => old,
        Err(err) => {
            cx.push(
                &path,
                ErrorCode::InvalidName,
                format!("renamed_from must be the field's previous name: {err}"),
            );
            return None;
        }
    };
    if name == Some(&old) {
        cx.push(
            &path,
            ErrorCode::RenamedFrom,
            format!(
                "the field is named \"{old}\" already: renamed_from gives the name it had in \
                 the previous catalog version; remove it or give the old name"
            ),
        );
        return None;
    }
    Some(Some(old))
}

/// An identifier kind must fit the field's type (string) and category.
fn check_identifier(
    cx: &mut Context<'_>,
    kind: IdentifierKind,
    field_type: Option<FieldType>,
    category: Option<&'static Category>,
    path: &Path,
) -> bool {
    if let Some(ty) = field_type.filter(|t| *t != FieldType::String) {
        cx.push(
            path,
            ErrorCode::IdentifierMismatch,
            format!(
                "identifier {kind} needs a field of type string (identifiers keep leading zeros \
                 and formatting), not {ty}"
            ),
        );
        return false;
    }
    let Some(category) = category else {
        return true;
    };
    let fitting = taxonomy::categories_for_identifier(kind);
    if fitting.iter().any(|c| c.is_related_to(category)) {
        return true;
    }
    let names: Vec<&str> = fitting.iter().map(|c| c.as_str()).collect();
    cx.push(
        path,
        ErrorCode::IdentifierMismatch,
        format!(
            "identifier {kind} does not fit category {category}: {kind} values belong under {}",
            names.join(" or ")
        ),
    );
    false
}

/// The effective encryption: mandatory for national ids, special categories and criminal data;
/// else as declared; else the category's default, or on from KONFIDENSIELT.
fn encryption(
    cx: &mut Context<'_>,
    raw: &RawField,
    category: &'static Category,
    classification: Classification,
    national_id: bool,
) -> Option<Encryption> {
    let why_mandatory = if national_id {
        Some("national ids (personopplysningsloven § 12)")
    } else if category.is_special() {
        Some("special categories of personal data (GDPR Art. 9)")
    } else if category.is_criminal() {
        Some("criminal data (GDPR Art. 10)")
    } else {
        None
    };
    let declared = raw.encrypted.get().copied();
    if let Some(why) = why_mandatory {
        if declared == Some(false) {
            cx.push(
                &raw.path.key("encrypted"),
                ErrorCode::Encryption,
                format!("{why} are always encrypted; remove `encrypted: false`"),
            );
            return None;
        }
        return Some(Encryption {
            encrypted: true,
            reason: EncryptionReason::Mandatory,
        });
    }
    Some(match declared {
        Some(encrypted) => Encryption {
            encrypted,
            reason: EncryptionReason::Declared,
        },
        None if category.protection() == taxonomy::Protection::Encrypt => Encryption {
            encrypted: true,
            reason: EncryptionReason::Category,
        },
        None if classification >= Classification::Konfidensielt => Encryption {
            encrypted: true,
            reason: EncryptionReason::Classification,
        },
        None => Encryption {
            encrypted: false,
            reason: EncryptionReason::Default,
        },
    })
}

/// `searchable` means a blind index, which only encrypted fields have, and which only makes
/// sense for short exact-match values.
fn check_searchable(
    cx: &mut Context<'_>,
    field_type: Option<FieldType>,
    encryption: Option<Encryption>,
    path: &Path,
) -> bool {
    match field_type {
        Some(FieldType::Boolean) => {
            cx.push(
                path,
                ErrorCode::Searchable,
                "a blind index over true/false values would reveal them (two values, two \
                 index entries); remove `searchable`",
            );
            return false;
        }
        Some(ty @ (FieldType::Text | FieldType::Json)) => {
            cx.push(
                path,
                ErrorCode::Searchable,
                format!(
                    "searchable means exact match through a blind index, which does not suit {ty} \
                     values; use type string or remove `searchable`"
                ),
            );
            return false;
        }
        _ => {}
    }
    if encryption.is_some_and(|e| !e.encrypted) {
        cx.push(
            path,
            ErrorCode::Searchable,
            "searchable adds a blind index, which only encrypted fields have (plaintext fields \
             are searchable through SQL already); set `encrypted: true` or remove `searchable`",
        );
        return false;
    }
    true
}

/// The length of a searchable field's blind index: `blind_index_length` (a whole number of
/// bytes, [`MIN_BLIND_INDEX_LENGTH`] to [`MAX_BLIND_INDEX_LENGTH`]), else the default; only
/// searchable fields may declare one. `None` once reported; `Some(None)` for fields without
/// an index.
fn blind_index_length(
    cx: &mut Context<'_>,
    raw: &RawField,
    searchable: bool,
) -> Option<Option<u8>> {
    let path = raw.path.key("blind_index_length");
    let declared = match &raw.blind_index_length {
        Slot::Absent => None,
        Slot::Invalid => return None,
        Slot::Present(text) => Some(text.trim()),
    };
    if !searchable {
        if declared.is_some() {
            cx.push(
                &path,
                ErrorCode::Searchable,
                "blind_index_length sets the length of a searchable field's blind index; this \
                 field is not searchable: remove it or add `searchable: true`",
            );
            return None;
        }
        return Some(None);
    }
    let Some(text) = declared else {
        return u8::try_from(DEFAULT_BLIND_INDEX_LENGTH).ok().map(Some);
    };
    match text.parse::<u8>() {
        Ok(n) if (MIN_BLIND_INDEX_LENGTH..=MAX_BLIND_INDEX_LENGTH).contains(&usize::from(n)) => {
            Some(Some(n))
        }
        _ => {
            cx.push(
                &path,
                ErrorCode::InvalidValue,
                format!(
                    "blind_index_length must be a whole number of bytes from \
                     {MIN_BLIND_INDEX_LENGTH} to {MAX_BLIND_INDEX_LENGTH} (default \
                     {DEFAULT_BLIND_INDEX_LENGTH}); shorter indexes reveal less and cost more \
                     decryptions per lookup (docs/crypto.md)"
                ),
            );
            None
        }
    }
}

/// The padding bucket of an encrypted field: `padding` (a whole number of bytes, 1 to
/// [`MAX_PADDING`], or `none`), else [`DEFAULT_PADDING`] for names and contact details, else
/// none. Plaintext fields may not declare one. `None` once reported.
fn padding(
    cx: &mut Context<'_>,
    raw: &RawField,
    category: &'static Category,
    encryption: Encryption,
) -> Option<Option<u16>> {
    let path = raw.path.key("padding");
    let declared = match &raw.padding {
        Slot::Absent => None,
        Slot::Invalid => return None,
        Slot::Present(text) => Some(text.trim()),
    };
    if !encryption.encrypted {
        if declared.is_some() {
            cx.push(
                &path,
                ErrorCode::Encryption,
                "padding hides the length of encrypted values; this field is stored in \
                 plaintext: remove `padding` or set `encrypted: true`",
            );
            return None;
        }
        return Some(None);
    }
    match declared {
        None if pads_by_default(category) => Some(u16::try_from(DEFAULT_PADDING).ok()),
        None => Some(None),
        Some("none") => Some(None),
        Some(text) => match text.parse::<u16>() {
            Ok(n) if n >= 1 && usize::from(n) <= MAX_PADDING => Some(Some(n)),
            _ => {
                cx.push(
                    &path,
                    ErrorCode::InvalidValue,
                    format!(
                        "padding must be a bucket size in bytes from 1 to {MAX_PADDING} (values \
                         are padded to its next multiple), or `none`"
                    ),
                );
                None
            }
        },
    }
}

/// Whether encrypted values of `category` are padded without being asked: names and contact
/// details, short personal text whose length alone can single a person out.
fn pads_by_default(category: &'static Category) -> bool {
    ["user.name", "user.contact"]
        .iter()
        .filter_map(|id| taxonomy::lookup(id))
        .any(|parent| parent.covers(category))
}

/// The field's read purposes: its own list (each served by the collection), else the
/// collection's.
fn field_purposes(
    cx: &mut Context<'_>,
    raw: &RawField,
    shape: &CollectionShape<'_>,
) -> (Option<Vec<PurposeId>>, bool) {
    let path = raw.path.key("purposes");
    match &raw.purposes {
        Slot::Absent => (shape.purposes.map(<[PurposeId]>::to_vec), false),
        Slot::Invalid => (None, true),
        Slot::Present(items) if items.is_empty() => {
            cx.push(
                &path,
                ErrorCode::Missing,
                "empty: no purpose could read the field; list its purposes or remove the key to \
                 inherit the collection's",
            );
            (None, true)
        }
        Slot::Present(items) => {
            let ids = cx.purpose_refs(items);
            let mut all_ok = ids.len() == items.len();
            if let Some(served) = shape.purposes {
                for (id, item) in ids.iter().zip(items) {
                    if !served.contains(id) {
                        cx.push(
                            &item.path,
                            ErrorCode::UnknownPurpose,
                            format!(
                                "purpose \"{id}\" is not among the collection's purposes; add it \
                                 there or remove it here"
                            ),
                        );
                        all_ok = false;
                    }
                }
            }
            (all_ok.then_some(ids), true)
        }
    }
}

/// National ids need purposes that need secure identification (pol. § 12); special categories
/// need an Art. 9(2) condition; criminal data needs an Art. 10 basis.
fn check_purpose_bases(
    cx: &mut Context<'_>,
    purposes: &[PurposeId],
    category: &'static Category,
    national_id: bool,
    path: &Path,
) {
    let lacking = |test: &dyn Fn(&super::Purpose) -> bool| -> Vec<String> {
        purposes
            .iter()
            .filter_map(|id| cx.purposes.get(id.as_str()))
            .filter(|p| !test(p))
            .map(|p| format!("\"{}\"", p.id))
            .collect()
    };
    let missing_secure = if national_id {
        lacking(&|p| p.secure_identification)
    } else {
        Vec::new()
    };
    let missing_art9 = if category.is_special() {
        lacking(&|p| p.special_category_condition.is_some())
    } else {
        Vec::new()
    };
    let missing_art10 = if category.is_criminal() {
        lacking(&|p| p.criminal_data_basis.is_some())
    } else {
        Vec::new()
    };
    if !missing_secure.is_empty() {
        cx.push(
            path,
            ErrorCode::SecureIdentification,
            format!(
                "the field holds national ids, which may only be used where secure identification \
                 is needed (personopplysningsloven § 12), but purpose {} does not declare \
                 `secure_identification: true`; limit the field's `purposes` or declare the need",
                missing_secure.join(", ")
            ),
        );
    }
    if !missing_art9.is_empty() {
        cx.push(
            path,
            ErrorCode::SpecialCategoryCondition,
            format!(
                "the field holds {} (a special category, GDPR Art. 9), but purpose {} declares no \
                 Art. 9(2) condition; add `special_category_condition` (e.g. 9(2)(h)) to the \
                 purpose or limit the field's `purposes`",
                category.name().to_lowercase(),
                missing_art9.join(", ")
            ),
        );
    }
    if !missing_art10.is_empty() {
        cx.push(
            path,
            ErrorCode::CriminalDataBasis,
            format!(
                "the field holds criminal data (GDPR Art. 10), which needs a basis in law, but \
                 purpose {} has no `criminal_data_basis`; name the provision (e.g. \
                 \"politiregisterloven § 39\")",
                missing_art10.join(", ")
            ),
        );
    }
}

/// Which subject the value belongs to: reference fields to their own subject, others to
/// `subject:` or the primary subject.
fn attribution(
    cx: &mut Context<'_>,
    raw: &RawField,
    name: Option<&FieldName>,
    shape: &CollectionShape<'_>,
) -> Option<Attribution> {
    let path = raw.path.key("subject");
    let declared = raw.subject.get().map(|s| s.trim().to_owned());
    let subjects = shape.subjects?;
    let refs = match subjects {
        DataSubjects::References(refs) => refs,
        DataSubjects::Record | DataSubjects::None => {
            if declared.is_some() {
                let kind = if matches!(subjects, DataSubjects::Record) {
                    "self"
                } else {
                    "none"
                };
                cx.push(
                    &path,
                    ErrorCode::Subjects,
                    format!(
                        "the collection declares `subjects: {kind}`, so fields are not attributed \
                         to subjects; remove `subject` or declare subject references"
                    ),
                );
                return None;
            }
            return Some(match subjects {
                DataSubjects::Record => Attribution::Record,
                _ => Attribution::Nobody,
            });
        }
    };
    let own_reference = name.and_then(|name| refs.iter().find(|r| &r.field == name));
    match (declared, own_reference) {
        (Some(declared), _) if !refs.iter().any(|r| r.name == declared.as_str()) => {
            let hint = did_you_mean_or(
                &declared,
                refs.iter().map(|r| r.name.as_str()),
                "name one of the collection's subject references",
            );
            cx.push(
                &path,
                ErrorCode::UnknownSubject,
                format!("unknown subject \"{declared}\"{hint}"),
            );
            None
        }
        (Some(declared), Some(own)) if own.name != declared.as_str() => {
            cx.push(
                &path,
                ErrorCode::Subjects,
                format!(
                    "this field references subject \"{}\", so it belongs to them, not to \"{declared}\"",
                    own.name
                ),
            );
            None
        }
        (Some(declared), _) => SubjectName::parse(&declared).ok().map(Attribution::Subject),
        (None, Some(own)) => Some(Attribution::Subject(own.name.clone())),
        (None, None) => refs
            .iter()
            .find(|r| r.primary)
            .map(|r| Attribution::Subject(r.name.clone())),
    }
}
