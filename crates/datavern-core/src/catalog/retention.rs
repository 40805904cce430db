//! Retention and erasure: how long records are kept, and how erasure is carried out.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::model::catalog_words;
use super::names::FieldName;

/// How long records are kept, from when, and what happens then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub(super) period: RetentionPeriod,
    pub(super) from: RetentionStart,
    pub(super) then: RetentionAction,
}

/// A positive ISO 8601 duration, e.g. `P5Y` or `P18M`.
#[derive(Clone)]
pub struct RetentionPeriod {
    pub(super) span: jiff::Span,
    pub(super) text: String,
}

/// The event a retention period is counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionStart {
    /// When the record was created.
    Created,
    /// When the record was last changed.
    Updated,
    /// The data subject's last activity (any write concerning them).
    LastActivity,
    /// A date or timestamp field of the record (e.g. `vedtaksdato`).
    Field(FieldName),
}

/// What happens to a record when its retention period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// Delete it (crypto-shredding as per the erasure policy).
    Delete,
    /// Remove what identifies the subjects, keep the rest.
    Anonymize,
    /// Transfer it to the archive (deponering), then remove it here.
    Archive,
}

/// How a data subject's erasure request (Art. 17) is carried out for a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasurePolicy {
    /// Destroy the subject's data key, then delete rows and blind indexes: reaches backups.
    CryptoShred,
    /// Delete the rows and blind indexes.
    Delete,
    /// Remove or generalise identifying fields, keep the record for statistics.
    Anonymize,
}

impl Retention {
    /// How long.
    pub fn period(&self) -> &RetentionPeriod {
        &self.period
    }

    /// Counted from.
    pub fn from(&self) -> &RetentionStart {
        &self.from
    }

    /// Then what.
    pub fn then(&self) -> RetentionAction {
        self.then
    }
}

impl RetentionPeriod {
    /// Parses a positive ISO 8601 duration (`P5Y`, `P18M`, `P1Y6M`, `P30D`).
    pub fn parse(text: &str) -> Result<Self, String> {
        static PARSER: jiff::fmt::temporal::SpanParser = jiff::fmt::temporal::SpanParser::new();
        let span = PARSER.parse_span(text.trim()).map_err(|err| {
            format!("\"{text}\" is not an ISO 8601 duration ({err}); write e.g. P5Y, P18M or P30D")
        })?;
        if span.is_negative() || span.is_zero() {
            return Err(format!(
                "\"{text}\" is not a positive duration; write e.g. P5Y"
            ));
        }
        Ok(RetentionPeriod {
            span,
            text: text.trim().to_uppercase(),
        })
    }

    /// The period as a calendar span, to add to the start date.
    pub fn span(&self) -> jiff::Span {
        self.span
    }

    /// The ISO 8601 text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for RetentionPeriod {
    fn eq(&self, other: &Self) -> bool {
        self.span.fieldwise() == other.span.fieldwise()
    }
}

impl Eq for RetentionPeriod {}

impl fmt::Debug for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RetentionPeriod({})", self.text)
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for RetentionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionStart::Created => f.write_str("created"),
            RetentionStart::Updated => f.write_str("updated"),
            RetentionStart::LastActivity => f.write_str("last_activity"),
            RetentionStart::Field(name) => write!(f, "field {name}"),
        }
    }
}

impl RetentionAction {
    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionAction::Delete => "delete",
            RetentionAction::Anonymize => "anonymize",
            RetentionAction::Archive => "archive",
        }
    }
}

impl ErasurePolicy {
    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasurePolicy::CryptoShred => "crypto_shred",
            ErasurePolicy::Delete => "delete",
            ErasurePolicy::Anonymize => "anonymize",
        }
    }
}

impl RetentionAction {
    /// Every action.
    pub const ALL: [RetentionAction; 3] = [
        RetentionAction::Delete,
        RetentionAction::Anonymize,
        RetentionAction::Archive,
    ];
}

impl ErasurePolicy {
    /// Every policy.
    pub const ALL: [ErasurePolicy; 3] = [
        ErasurePolicy::CryptoShred,
        ErasurePolicy::Delete,
        ErasurePolicy::Anonymize,
    ];
}

catalog_words!(RetentionAction, ErasurePolicy);
