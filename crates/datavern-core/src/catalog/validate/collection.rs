//! Collections: names, subjects, purposes, retention, erasure and archive duty.

use std::collections::HashSet;

use super::super::error::ErrorCode;
use super::super::field::{Field, FieldType};
use super::super::legal::{ArchiveDuty, PublicAccessExemption};
use super::super::model::{Collection, DataSubjects, SubjectReference};
use super::super::names::{CollectionName, FieldName, SubjectName, SubjectRole};
use super::super::path::Path;
use super::super::raw::{
    RawCollection, RawExemption, RawField, RawRetention, RawRetentionFrom, RawSubjectRef,
    RawSubjects,
};
use super::super::read::Slot;
use super::super::retention::{
    ErasurePolicy, Retention, RetentionAction, RetentionPeriod, RetentionStart,
};
use super::super::suggest::{did_you_mean, did_you_mean_or};
use super::Context;
use super::field::validate_field;

/// The declared collection names, with whether each one's records are persons.
pub(super) fn declared_names(raw: &[RawCollection]) -> Vec<(String, Option<bool>)> {
    raw.iter()
        .filter_map(|c| {
            let name = c.name.get()?.trim().to_owned();
            let person = match c.subjects.get() {
                Some(RawSubjects::Keyword(word)) => Some(word.trim() == "self"),
                Some(RawSubjects::References(_)) => Some(false),
                None => None,
            };
            Some((name, person))
        })
        .collect()
}

/// A reference to a declared collection by name.
pub(super) fn collection_ref(
    cx: &mut Context<'_>,
    name: &str,
    path: &Path,
) -> Option<CollectionName> {
    let name = name.trim();
    if !cx.collections.iter().any(|(n, _)| n == name) {
        let hint = did_you_mean(name, cx.collections.iter().map(|(n, _)| n.as_str()));
        cx.push(
            path,
            ErrorCode::UnknownCollection,
            format!("unknown collection \"{name}\"{hint}"),
        );
        return None;
    }
    CollectionName::parse(name).ok()
}

/// A public-access exemption (unntatt offentlighet) with its hjemmel.
pub(super) fn exemption(cx: &mut Context<'_>, raw: &RawExemption) -> Option<PublicAccessExemption> {
    let path = raw.path.key("hjemmel");
    let hint = "give the legal basis for the exemption, e.g. \"offl. § 13 jf. fvl. § 13\"";
    let text = cx.required(&raw.hjemmel, &path, hint)?;
    match PublicAccessExemption::new(text) {
        Ok(exemption) => Some(exemption),
        Err(err) => {
            cx.push(&path, ErrorCode::PublicAccess, err.to_string());
            None
        }
    }
}

pub(super) fn validate_collection(
    cx: &mut Context<'_>,
    raw: &RawCollection,
    all: &[RawCollection],
) -> Option<Collection> {
    let at = |key: &str| raw.path.key(key);
    let name = cx
        .required_text(
            &raw.name,
            &at("name"),
            "name the collection, e.g. `innbyggere`",
        )
        .and_then(|text| match CollectionName::parse(&text) {
            Ok(name) => Some(name),
            Err(err) => {
                cx.push(&at("name"), ErrorCode::InvalidName, err.to_string());
                None
            }
        });
    let duplicate = name.as_ref().is_some_and(|name| {
        all.iter()
            .take_while(|other| !std::ptr::eq(*other, raw))
            .any(|other| other.name.get().is_some_and(|n| n.trim() == name.as_str()))
    });
    if let Some(name) = name.as_ref().filter(|_| duplicate) {
        cx.push(
            &at("name"),
            ErrorCode::Duplicate,
            format!("duplicate collection name \"{name}\"; collection names must be unique"),
        );
    }
    let description = cx.required_text(
        &raw.description,
        &at("description"),
        "describe what the records are (shown in access requests and the Art. 30 record)",
    );
    let classification = cx
        .required_text(
            &raw.classification,
            &at("classification"),
            "give the records' classification (ÅPEN unless sikkerhetsloven applies)",
        )
        .and_then(|text| cx.classification(&text, &at("classification")));
    if let Some(level) = classification {
        cx.check_accreditation(level, &at("classification"));
    }
    let public_access = match &raw.unntatt_offentlighet {
        Slot::Present(raw) => exemption(cx, raw).map(Some),
        Slot::Absent => Some(None),
        Slot::Invalid => None,
    };

    let purposes = match cx.required(
        &raw.purposes,
        &at("purposes"),
        "list the purposes the collection serves",
    ) {
        Some(items) if items.is_empty() => {
            cx.push(
                &at("purposes"),
                ErrorCode::Missing,
                "empty: a collection serves at least one purpose (GDPR Art. 5(1)(b))",
            );
            None
        }
        Some(items) => {
            let ids = cx.purpose_refs(items);
            (ids.len() == items.len()).then_some(ids)
        }
        None => None,
    };

    // Fields before subjects and retention, which refer to them.
    let raw_fields: &[RawField] = match cx.required(&raw.fields, &at("fields"), "list the fields") {
        Some(fields) if fields.is_empty() => {
            cx.push(
                &at("fields"),
                ErrorCode::Missing,
                "empty: a collection has at least one field",
            );
            &[]
        }
        Some(fields) => fields,
        None => &[],
    };
    let subjects = validate_subjects(cx, raw, raw_fields);
    let shape = CollectionShape {
        classification,
        purposes: purposes.as_deref(),
        subjects: subjects.as_ref(),
    };
    let mut fields: Vec<Field> = Vec::new();
    let mut fields_ok = !raw_fields.is_empty();
    let mut renames: Vec<(&RawField, FieldName)> = Vec::new();
    for raw_field in raw_fields {
        let field = validate_field(cx, raw_field, &shape);
        if let Some(old) = field.as_ref().and_then(Field::renamed_from) {
            renames.push((raw_field, old.clone()));
        }
        match field {
            Some(field) if fields.iter().any(|f| f.name == field.name) => {
                cx.push(
                    &raw_field.path.key("name"),
                    ErrorCode::Duplicate,
                    format!(
                        "duplicate field name \"{}\"; field names must be unique in a collection",
                        field.name
                    ),
                );
                fields_ok = false;
            }
            Some(field) => fields.push(field),
            None => fields_ok = false,
        }
    }
    fields_ok &= check_renames(cx, &renames, &fields);

    let has_subjects = subjects.as_ref().map(|s| !matches!(s, DataSubjects::None));
    let retention = match &raw.retention {
        Slot::Present(retention) => validate_retention(cx, retention, raw_fields).map(Some),
        Slot::Absent if has_subjects == Some(true) => {
            cx.push(
                &at("retention"),
                ErrorCode::Missing,
                "missing: personal data must have a retention period (GDPR Art. 5(1)(e)); \
                 declare `retention: { period, from, then }`",
            );
            None
        }
        Slot::Absent => Some(None),
        Slot::Invalid => None,
    };

    let archive = match &raw.archive {
        Slot::Present(archive) => {
            let path = archive.path.key("legal_reason");
            let hint = "state why erasure is answered with restriction, e.g. \"GDPR art. \
                        17(3)(b) og (d); arkivlova § 6\"";
            cx.required(&archive.legal_reason, &path, hint)
                .and_then(|text| {
                    let duty = ArchiveDuty::new(text);
                    if duty.is_none() {
                        cx.push(&path, ErrorCode::Archive, format!("empty: {hint}"));
                    }
                    duty
                })
                .map(Some)
        }
        Slot::Absent => Some(None),
        Slot::Invalid => None,
    };
    if let (Some(Some(_)), Some(Some(retention))) = (&archive, &retention)
        && retention.then != RetentionAction::Archive
    {
        cx.push(
            &at("retention").key("then"),
            ErrorCode::Archive,
            format!(
                "records under archive duty (arkivplikt) are preserved, so retention must end \
                 in `archive` (transfer to the archive), not `{}`",
                retention.then
            ),
        );
    }

    if let Some(Some(Retention {
        from: RetentionStart::Field(start),
        ..
    })) = &retention
        && fields
            .iter()
            .any(|f| &f.name == start && f.encryption.encrypted)
    {
        cx.push(
            &at("retention").key("from").key("field"),
            ErrorCode::Retention,
            format!(
                "retention counts from field \"{start}\", which is encrypted: the retention \
                 job selects due records in SQL, without keys; set `encrypted: false` on it \
                 or count from created or updated"
            ),
        );
    }

    let any_encrypted = fields.iter().any(|f| f.encryption.encrypted);
    let erasure = match raw.erasure.get() {
        None => Some(if any_encrypted {
            ErasurePolicy::CryptoShred
        } else {
            ErasurePolicy::Delete
        }),
        Some(text) => match text.parse::<ErasurePolicy>() {
            Ok(ErasurePolicy::CryptoShred)
                if fields_ok && !any_encrypted && has_subjects == Some(true) =>
            {
                cx.push(
                    &at("erasure"),
                    ErrorCode::Encryption,
                    "crypto_shred needs encrypted fields: none of this collection's fields is \
                     encrypted, so destroying the subject's key would leave their data readable \
                     in backups; encrypt the personal fields or use `erasure: delete`",
                );
                None
            }
            Ok(policy) => Some(policy),
            Err(()) => {
                let words = ErasurePolicy::ALL.map(ErasurePolicy::as_str);
                let hint = did_you_mean(text.trim(), words);
                cx.push(
                    &at("erasure"),
                    ErrorCode::InvalidValue,
                    format!("unknown erasure policy \"{text}\"{hint} (expected crypto_shred, delete or anonymize)"),
                );
                None
            }
        },
    };
    let source = cx.optional_text(&raw.source, &at("source"));

    if duplicate || !fields_ok {
        return None;
    }
    Some(Collection {
        name: name?,
        description: description?,
        classification: classification?,
        public_access: public_access?,
        subjects: subjects?,
        purposes: purposes?,
        retention: retention?,
        erasure: erasure?,
        archive: archive?,
        source,
        fields,
    })
}

/// What a field's validation needs to know about its collection (`None` where the
/// collection's own declaration failed, so dependent checks are skipped).
pub(super) struct CollectionShape<'a> {
    pub(super) classification: Option<crate::classification::Classification>,
    pub(super) purposes: Option<&'a [crate::catalog::PurposeId]>,
    pub(super) subjects: Option<&'a DataSubjects>,
}

fn validate_subjects(
    cx: &mut Context<'_>,
    raw: &RawCollection,
    fields: &[RawField],
) -> Option<DataSubjects> {
    let path = raw.path.key("subjects");
    let hint = "say who the records are about: `self` (each record is a person), a list of \
                references to person collections, or `none`";
    match cx.required(&raw.subjects, &path, hint)? {
        RawSubjects::Keyword(word) => match word.trim() {
            "self" => Some(DataSubjects::Record),
            "none" => Some(DataSubjects::None),
            other => {
                cx.push(
                    &path,
                    ErrorCode::InvalidValue,
                    format!(
                        "unknown subjects \"{other}\"{}: {hint}",
                        did_you_mean(other, ["self", "none"])
                    ),
                );
                None
            }
        },
        RawSubjects::References(refs) if refs.is_empty() => {
            cx.push(&path, ErrorCode::Missing, format!("empty: {hint}"));
            None
        }
        RawSubjects::References(refs) => {
            let mut resolved: Vec<SubjectReference> = Vec::new();
            let mut all_ok = true;
            for raw_ref in refs {
                match subject_reference(cx, raw_ref, fields) {
                    Some(reference) => {
                        if resolved.iter().any(|r| r.name == reference.name) {
                            let message = format!(
                                "duplicate subject name \"{}\"; give each reference its own \
                                 `name` (e.g. foresatt1, foresatt2)",
                                reference.name
                            );
                            let key = if raw_ref.name.is_absent() {
                                "role"
                            } else {
                                "name"
                            };
                            cx.push(&raw_ref.path.key(key), ErrorCode::Duplicate, message);
                            all_ok = false;
                        } else if resolved.iter().any(|r| r.field == reference.field) {
                            let message = format!(
                                "field \"{}\" already references another subject",
                                reference.field
                            );
                            cx.push(&raw_ref.path.key("field"), ErrorCode::Duplicate, message);
                            all_ok = false;
                        } else {
                            resolved.push(reference);
                        }
                    }
                    None => all_ok = false,
                }
            }
            if !all_ok {
                return None;
            }
            let primaries: Vec<usize> = resolved
                .iter()
                .enumerate()
                .filter(|(_, r)| r.primary)
                .map(|(i, _)| i)
                .collect();
            match primaries.as_slice() {
                [] => {
                    cx.push(
                        &path,
                        ErrorCode::Subjects,
                        "no primary subject: mark exactly one reference `primary: true` (the \
                         person whose key encrypts the record)",
                    );
                    None
                }
                [first, rest @ ..] if !rest.is_empty() => {
                    for &i in rest {
                        cx.push(
                            &refs[i].path.key("primary"),
                            ErrorCode::Subjects,
                            format!(
                                "more than one primary subject (\"{}\" is already primary); \
                                 exactly one reference may be primary",
                                resolved[*first].name
                            ),
                        );
                    }
                    None
                }
                [primary] => {
                    let reference = &resolved[*primary];
                    let required = fields
                        .iter()
                        .find(|f| {
                            f.name
                                .get()
                                .is_some_and(|n| n.trim() == reference.field.as_str())
                        })
                        .map(|f| f.required.get().copied().unwrap_or(false));
                    if required == Some(false) {
                        cx.push(
                            &refs[*primary].path.key("field"),
                            ErrorCode::Subjects,
                            format!(
                                "the primary subject's field \"{}\" must be `required: true`: \
                                 every record needs its primary subject",
                                reference.field
                            ),
                        );
                        return None;
                    }
                    Some(DataSubjects::References(resolved))
                }
                _ => None,
            }
        }
    }
}

fn subject_reference(
    cx: &mut Context<'_>,
    raw: &RawSubjectRef,
    fields: &[RawField],
) -> Option<SubjectReference> {
    let at = |key: &str| raw.path.key(key);
    let role = cx
        .required_text(
            &raw.role,
            &at("role"),
            "give the person's role in the record, e.g. `child` or `guardian`",
        )
        .and_then(|text| match SubjectRole::parse(&text) {
            Ok(role) => Some(role),
            Err(err) => {
                cx.push(&at("role"), ErrorCode::InvalidName, err.to_string());
                None
            }
        });
    let name = match raw.name.get() {
        Some(text) => match SubjectName::parse(text.trim()) {
            Ok(name) => Some(name),
            Err(err) => {
                cx.push(&at("name"), ErrorCode::InvalidName, err.to_string());
                None
            }
        },
        // The role names the reference when there is one person per role.
        None => role
            .as_ref()
            .and_then(|role| SubjectName::parse(role.as_str()).ok()),
    };
    let field = cx
        .required_text(
            &raw.field,
            &at("field"),
            "name the field holding the person's record id",
        )
        .and_then(|text| {
            let Some(raw_field) = fields
                .iter()
                .find(|f| f.name.get().is_some_and(|n| n.trim() == text))
            else {
                let names = fields
                    .iter()
                    .filter_map(|f| f.name.get())
                    .map(String::as_str);
                let hint = did_you_mean_or(
                    &text,
                    names,
                    "the reference needs a field of this collection",
                );
                cx.push(
                    &at("field"),
                    ErrorCode::UnknownField,
                    format!("unknown field \"{text}\"{hint}"),
                );
                return None;
            };
            if let Some(ty) = raw_field
                .field_type
                .get()
                .filter(|t| t.trim() != FieldType::String.as_str())
            {
                cx.push(
                    &at("field"),
                    ErrorCode::Subjects,
                    format!(
                        "field \"{text}\" holds a record id and must have type string, not {}",
                        ty.trim()
                    ),
                );
                return None;
            }
            FieldName::parse(&text).ok()
        });
    let collection = cx
        .required_text(
            &raw.collection,
            &at("collection"),
            "name the person collection referenced, e.g. `innbyggere`",
        )
        .and_then(|text| {
            let target = collection_ref(cx, &text, &at("collection"))?;
            let person = cx
                .collections
                .iter()
                .find(|(n, _)| n == target.as_str())
                .and_then(|(_, p)| *p);
            if person == Some(false) {
                cx.push(
                    &at("collection"),
                    ErrorCode::Subjects,
                    format!(
                        "collection \"{target}\" does not hold persons: a subject reference points \
                         at a collection with `subjects: self`"
                    ),
                );
                return None;
            }
            Some(target)
        });
    Some(SubjectReference {
        name: name?,
        role: role?,
        field: field?,
        collection: collection?,
        primary: raw.primary.get().copied().unwrap_or(false),
    })
}

fn validate_retention(
    cx: &mut Context<'_>,
    raw: &RawRetention,
    fields: &[RawField],
) -> Option<Retention> {
    let at = |key: &str| raw.path.key(key);
    let period = cx
        .required_text(
            &raw.period,
            &at("period"),
            "give an ISO 8601 duration, e.g. P5Y",
        )
        .and_then(|text| match RetentionPeriod::parse(&text) {
            Ok(period) => Some(period),
            Err(message) => {
                cx.push(&at("period"), ErrorCode::InvalidPeriod, message);
                None
            }
        });
    let from_hint =
        "say what the period counts from: created, updated, last_activity or { field: NAME }";
    let from = match cx.required(&raw.from, &at("from"), from_hint) {
        None => None,
        Some(RawRetentionFrom::Event(word)) => match word.trim() {
            "created" => Some(RetentionStart::Created),
            "updated" => Some(RetentionStart::Updated),
            "last_activity" => Some(RetentionStart::LastActivity),
            other => {
                let hint = did_you_mean(other, ["created", "updated", "last_activity"]);
                cx.push(
                    &at("from"),
                    ErrorCode::InvalidValue,
                    format!("unknown retention start \"{other}\"{hint}: {from_hint}"),
                );
                None
            }
        },
        Some(RawRetentionFrom::Field(slot)) => {
            let path = at("from").key("field");
            cx.required_text(slot, &path, "name a date or timestamp field")
                .and_then(|text| {
                    retention_field(cx, &text, &path, fields).map(RetentionStart::Field)
                })
        }
    };
    let then = cx
        .required_text(&raw.then, &at("then"), "say what happens at the end: delete, anonymize or archive")
        .and_then(|text| match text.parse::<RetentionAction>() {
            Ok(action) => Some(action),
            Err(()) => {
                let hint = did_you_mean(text.trim(), RetentionAction::ALL.map(RetentionAction::as_str));
                cx.push(
                    &at("then"),
                    ErrorCode::InvalidValue,
                    format!("unknown retention action \"{text}\"{hint} (expected delete, anonymize or archive)"),
                );
                None
            }
        });
    Some(Retention {
        period: period?,
        from: from?,
        then: then?,
    })
}

fn retention_field(
    cx: &mut Context<'_>,
    name: &str,
    path: &Path,
    fields: &[RawField],
) -> Option<FieldName> {
    let Some(field) = fields
        .iter()
        .find(|f| f.name.get().is_some_and(|n| n.trim() == name))
    else {
        let temporal: HashSet<&str> = fields
            .iter()
            .filter(|f| {
                f.field_type
                    .get()
                    .is_some_and(|t| matches!(t.trim(), "date" | "timestamp"))
            })
            .filter_map(|f| f.name.get().map(String::as_str))
            .collect();
        let hint = did_you_mean(name, temporal.iter().copied());
        cx.push(
            path,
            ErrorCode::Retention,
            format!(
                "retention counts from field \"{name}\", which the collection does not have{hint}"
            ),
        );
        return None;
    };
    let ty = field.field_type.get()?.trim();
    if !matches!(ty, "date" | "timestamp") {
        cx.push(
            path,
            ErrorCode::Retention,
            format!("retention counts from field \"{name}\" of type {ty}; it must be a date or timestamp field"),
        );
        return None;
    }
    FieldName::parse(name).ok()
}

/// Each `renamed_from` names a field the collection no longer has, and no two fields name
/// the same one (the old field's values go to one field).
fn check_renames(
    cx: &mut Context<'_>,
    renames: &[(&RawField, FieldName)],
    fields: &[Field],
) -> bool {
    let mut ok = true;
    for (i, (raw, old)) in renames.iter().enumerate() {
        let path = raw.path.key("renamed_from");
        if fields.iter().any(|f| &f.name == old) {
            cx.push(
                &path,
                ErrorCode::RenamedFrom,
                format!(
                    "the collection still has a field named \"{old}\": renamed_from gives the \
                     name this field had in the previous catalog version, which no other field \
                     may have; remove renamed_from, or rename or remove the other field"
                ),
            );
            ok = false;
        }
        if renames[..i].iter().any(|(_, earlier)| earlier == old) {
            cx.push(
                &path,
                ErrorCode::Duplicate,
                format!(
                    "another field is renamed from \"{old}\" already: the old field's values \
                     can go to one field only"
                ),
            );
            ok = false;
        }
    }
    ok
}
