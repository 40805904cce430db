//! Validation of a whole record body against a collection.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Collection, DataSubjects, RESERVED_FIELD_NAMES, RESERVED_FIELD_PREFIX};

use super::parse::{self, Target};
use super::problem::{Problem, ProblemCode, RecordProblems};
use super::value::{FieldValue, SubjectRecordId, ValidatedRecord};

/// What the body is for: a new record, or a partial update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A new record (`POST`): every required field must be present and not `null`.
    Create,
    /// A partial update (`PATCH`): only the fields given change; `null` clears an optional
    /// field, and a required field cannot be cleared.
    Patch,
}

/// The prefix of names reserved for datavern's own members in records (in addition to
/// [`RESERVED_FIELD_NAMES`] and the `dv_` column prefix).
pub const RESERVED_INPUT_PREFIX: &str = "_";

/// Validates a record body for `collection` and returns typed, canonical values, or every
/// problem found.
///
/// A renamed field (`renamed_from`) is accepted under its old name as well; the values carry
/// the new name, and a body giving both names is a problem.
///
/// Checked, each with a [`ProblemCode`]: names that are not fields (with a "did you mean"
/// when one is close) or that datavern reserves; a renamed field given under both names; JSON types; required fields (absent on
/// create, `null` ever); identifiers by their kind; subject references as record ids (UUIDs);
/// dates (`YYYY-MM-DD`), RFC 3339 timestamps, exact decimals, 64-bit integers. Messages never
/// repeat a submitted value.
///
/// Problems come in a stable order: names that are not fields first (in the body's order),
/// then the collection's fields in catalog order.
pub fn validate(
    collection: &Collection,
    body: &Map<String, Value>,
    mode: Mode,
) -> Result<ValidatedRecord, RecordProblems> {
    let mut problems = Vec::new();
    for (position, name) in body.keys().enumerate() {
        if collection.resolve_field(name).is_none() {
            problems.push(not_a_field(collection, name, position + 1));
        }
    }

    let references = match collection.subjects() {
        DataSubjects::References(references) => references.as_slice(),
        DataSubjects::Record | DataSubjects::None => &[],
    };
    let mut values = Vec::new();
    let mut subjects = Vec::new();
    for field in collection.fields() {
        let name = field.name();
        // A renamed field may be given under its old name while the catalog declares the
        // rename; problems point at the member the body has.
        let alias = field
            .renamed_from()
            .filter(|old| body.contains_key(old.as_str()));
        if let (Some(old), true) = (alias, body.contains_key(name.as_str())) {
            problems.push(Problem::new(
                old.as_str(),
                ProblemCode::RenamedField,
                format!(
                    "`{old}` is the old name of `{name}`, which the body gives as well: keep \
                     `{name}` and remove `{old}`"
                ),
            ));
            continue;
        }
        let member = alias.unwrap_or(name);
        let Some(value) = body.get(member.as_str()) else {
            if mode == Mode::Create && field.is_required() {
                problems.push(Problem::new(
                    name.as_str(),
                    ProblemCode::MissingField,
                    format!("`{name}` is required: give it a value"),
                ));
            }
            continue;
        };
        if value.is_null() {
            if field.is_required() {
                problems.push(Problem::new(
                    member.as_str(),
                    ProblemCode::NullNotAllowed,
                    format!("`{name}` is required and cannot be null: give it a value"),
                ));
            } else {
                values.push((name.clone(), FieldValue::Null));
            }
            continue;
        }
        let reference = references.iter().find(|r| r.field() == name);
        match parse::from_json(Target { field, reference }, value) {
            Ok(parsed) => {
                if let (Some(reference), FieldValue::String(text)) = (reference, &parsed)
                    && let Some(record_id) = parse::record_id(text)
                {
                    subjects.push(SubjectRecordId {
                        subject: reference.name().clone(),
                        record_id,
                        primary: reference.is_primary(),
                    });
                }
                values.push((name.clone(), parsed));
            }
            Err((code, message)) => problems.push(Problem::new(member.as_str(), code, message)),
        }
    }

    match RecordProblems::from_vec(problems) {
        Some(problems) => Err(problems),
        None => Ok(ValidatedRecord {
            mode,
            values,
            subjects,
        }),
    }
}

/// The problem with a body member that is not a field of the collection. The name is the
/// caller's input and is never repeated (it could be a value sent as a name): the problem
/// names the member's `position` among the body's members in name order, its pointer is the
/// body's, and a suggestion names a field of the catalog.
fn not_a_field(collection: &Collection, name: &str, position: usize) -> Problem {
    let member = format!("member {position} of the body (counting members in name order)");
    if let Some(why) = reserved(name) {
        return Problem::at_body(
            ProblemCode::ReservedField,
            format!("{member} has a reserved name: {why}; remove it from the body"),
        );
    }
    let names = || collection.fields().iter().map(|f| f.name().as_str());
    let tail = match crate::catalog::suggest(name, names()).or_else(|| abbreviated(name, names())) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => format!(
            "; its fields are {}",
            names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Problem::at_body(
        ProblemCode::UnknownField,
        format!(
            "{member} is not a field of collection `{}`{tail}",
            collection.name()
        ),
    )
}

/// The field `name` abbreviates, if one shares a long prefix with it (`fodselsnr` for
/// `fodselsnummer`), which edit distance misses; `None` if two fields share as much.
fn abbreviated<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    const MIN_SHARED: usize = 5;
    names
        .map(|candidate| {
            let shared = candidate
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            (shared, candidate)
        })
        .filter(|(shared, _)| *shared >= MIN_SHARED)
        .fold(
            None,
            |best: Option<(usize, Option<&str>)>, (shared, candidate)| match best {
                Some((top, _)) if top > shared => best,
                // Two fields share as much: the abbreviation is ambiguous.
                Some((top, _)) if top == shared => Some((top, None)),
                _ => Some((shared, Some(candidate))),
            },
        )
        .and_then(|(_, candidate)| candidate)
}

/// Why `name` is reserved, if it is.
fn reserved(name: &str) -> Option<&'static str> {
    Some(match name {
        "id" => "datavern assigns record ids (the id is in the URL and the response)",
        "tenant" => "the tenant is taken from your credentials",
        "created_at" | "updated_at" => "datavern keeps the record's timestamps",
        "version" => "datavern keeps the record's version",
        _ if name.starts_with(RESERVED_INPUT_PREFIX) => {
            "names starting with `_` are reserved for datavern"
        }
        _ if name.starts_with(RESERVED_FIELD_PREFIX) => {
            "names starting with `dv_` are reserved for datavern's own columns"
        }
        _ if RESERVED_FIELD_NAMES.contains(&name) => "datavern keeps this member itself",
        _ => return None,
    })
}
