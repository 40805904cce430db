//! What a request carries besides its type and subject: the scope (field names, purposes)
//! and the free-text reasons of an extension or a rejection.
//!
//! Parameters hold **names only**. A rectification's corrected values are personal data and
//! are not part of the request: they are given to the executor when the request is run, so
//! the request table never holds them in any form.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::RequestType;
use crate::controls::RestrictionReason;

/// The longest reason accepted, in characters.
pub const MAX_REASON_LEN: usize = 2000;
/// The most names one parameter list holds.
const MAX_NAMES: usize = 256;
/// The longest name (a field or purpose id).
const MAX_NAME_LEN: usize = 64;

/// The scope of a request: which fields (rectification, restriction, or a narrower access or
/// erasure) and which purposes (objection, restriction). Empty means "everything".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parameters {
    /// Field names the request concerns, sorted, without duplicates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Purpose ids the request concerns (objection: the processing objected to), sorted,
    /// without duplicates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// Restriction and objection: lift the subject's restriction or objection instead of
    /// imposing one (Art. 18(3): lifting is a request of its own).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lift: bool,
    /// Restriction: the ground of Art. 18(1) it is imposed on; required unless lifting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground: Option<RestrictionReason>,
}

/// A parameters object that cannot be accepted. Messages name members, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameters{pointer}: {problem}")]
pub struct InvalidParameters {
    /// A JSON pointer into the parameters object, e.g. `/fields/2` (empty for the object).
    pub pointer: String,
    /// What is wrong and what to send.
    pub problem: String,
}

impl Parameters {
    /// Reads `{"fields": [...], "purposes": [...]}` (both optional) for a request of type
    /// `request_type`. `null` is no parameters.
    pub fn from_json(request_type: RequestType, value: &Value) -> Result<Self, InvalidParameters> {
        let object = match value {
            Value::Null => return Ok(Parameters::default()),
            Value::Object(object) => object,
            _ => {
                return Err(invalid(
                    "",
                    "expected an object with `fields` and/or `purposes`",
                ));
            }
        };
        let mut params = Parameters::default();
        for (key, value) in object {
            match key.as_str() {
                "fields" => params.fields = names("/fields", value)?,
                "purposes" => {
                    if !matches!(
                        request_type,
                        RequestType::Objection | RequestType::Restriction
                    ) {
                        return Err(invalid(
                            "/purposes",
                            "purposes are given only for an objection or a restriction",
                        ));
                    }
                    params.purposes = names("/purposes", value)?;
                }
                "lift" => {
                    if !matches!(
                        request_type,
                        RequestType::Objection | RequestType::Restriction
                    ) {
                        return Err(invalid(
                            "/lift",
                            "lift is given only for a restriction or an objection",
                        ));
                    }
                    params.lift = value
                        .as_bool()
                        .ok_or_else(|| invalid("/lift", "expected true or false"))?;
                }
                "ground" => {
                    if request_type != RequestType::Restriction {
                        return Err(invalid("/ground", "ground is given only for a restriction"));
                    }
                    let ground = value
                        .as_str()
                        .and_then(|text| text.parse::<RestrictionReason>().ok())
                        .filter(|ground| *ground != RestrictionReason::ArchiveDuty)
                        .ok_or_else(|| {
                            invalid(
                                "/ground",
                                "expected the ground of Art. 18(1): accuracy_contested, \
                                 unlawful_processing, legal_claims or objection_pending",
                            )
                        })?;
                    params.ground = Some(ground);
                }
                _ => {
                    return Err(invalid(
                        &format!("/{}", escape_pointer(key)),
                        "unknown member: give `fields`, `purposes`, `lift` or `ground` (names \
                         only; a rectification's corrected values are given when it is run)",
                    ));
                }
            }
        }
        if request_type == RequestType::Restriction && !params.lift && params.ground.is_none() {
            return Err(invalid(
                "/ground",
                "a restriction needs its ground of Art. 18(1): accuracy_contested, \
                 unlawful_processing, legal_claims or objection_pending (or `lift: true` to \
                 lift one)",
            ));
        }
        if params.lift && params.ground.is_some() {
            return Err(invalid("/ground", "lifting a restriction takes no ground"));
        }
        Ok(params)
    }

    /// Whether the request names no fields and no purposes.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.purposes.is_empty()
    }
}

/// A free-text reason (for an extension or a rejection), 1 to [`MAX_REASON_LEN`] characters,
/// trimmed. It may mention the case, so `Debug` shows only its length; it is stored with the
/// request and never written to the audit log.
#[derive(Clone, PartialEq, Eq)]
pub struct Reason(String);

/// A reason that is empty or too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReasonError {
    /// Missing or blank.
    #[error("a reason is required: say why, in words the data subject can be told")]
    Empty,
    /// Longer than [`MAX_REASON_LEN`] characters.
    #[error("the reason is longer than {MAX_REASON_LEN} characters")]
    TooLong,
}

impl Reason {
    /// A reason from `text`, trimmed.
    pub fn parse(text: &str) -> Result<Self, ReasonError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ReasonError::Empty);
        }
        if text.chars().count() > MAX_REASON_LEN {
            return Err(ReasonError::TooLong);
        }
        Ok(Reason(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reason({} chars)", self.0.chars().count())
    }
}

fn names(pointer: &str, value: &Value) -> Result<Vec<String>, InvalidParameters> {
    let Value::Array(items) = value else {
        return Err(invalid(pointer, "expected an array of names"));
    };
    if items.len() > MAX_NAMES {
        return Err(invalid(pointer, &format!("at most {MAX_NAMES} names")));
    }
    let mut names = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(name) if is_name(name) => names.push(name.to_owned()),
            _ => {
                return Err(invalid(
                    &format!("{pointer}/{i}"),
                    &format!(
                        "expected a name of lowercase letters, digits and `_`, at most \
                         {MAX_NAME_LEN} characters"
                    ),
                ));
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn escape_pointer(key: &str) -> String {
    // Member names are the caller's keys, not values; cut them so a huge key is not echoed.
    key.chars()
        .take(MAX_NAME_LEN)
        .collect::<String>()
        .replace('~', "~0")
        .replace('/', "~1")
}

fn invalid(pointer: &str, problem: &str) -> InvalidParameters {
    InvalidParameters {
        pointer: pointer.to_owned(),
        problem: problem.to_owned(),
    }
}
