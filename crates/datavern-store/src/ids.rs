//! Ids the store hands out and takes.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The id of a data subject: the record id (a UUID) of the person in a collection with
/// `subjects: self`, which other collections' subject references hold.
///
/// Its text form, lowercase hyphenated, is the `subject_id` bound into field envelopes and
/// wrapped keys. An id is a pseudonym, not personal data in itself, so `Debug` shows it.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SubjectId(Uuid);

/// Not a subject id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subject id: expected a UUID such as 0190b5d2-7c1e-7000-8000-000000000001")]
pub struct InvalidSubjectId;

impl SubjectId {
    /// The subject with this UUID.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// Parses the text form (any form `uuid` accepts; stored and printed lowercase
    /// hyphenated).
    pub fn parse(text: &str) -> Result<Self, InvalidSubjectId> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| InvalidSubjectId)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectId({self})")
    }
}

impl FromStr for SubjectId {
    type Err = InvalidSubjectId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Uuid> for SubjectId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_lowercase_hyphenated() {
        let id = SubjectId::parse("0190B5D2-7C1E-7000-8000-000000000001").unwrap();
        assert_eq!(id.to_string(), "0190b5d2-7c1e-7000-8000-000000000001");
        assert_eq!(
            format!("{id:?}"),
            "SubjectId(0190b5d2-7c1e-7000-8000-000000000001)"
        );
        assert!(SubjectId::parse("15108695088").is_err());
    }
}
