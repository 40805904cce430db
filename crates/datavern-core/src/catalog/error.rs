//! Catalog problems: every one carries the path of the offending value, a message that says
//! what to fix, a stable code, and where known the line and column in the YAML source.

use std::fmt;

use serde::Serialize;

/// One problem found in a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CatalogError {
    /// Where in the document: `collections[2].fields[0].category`; empty for the document
    /// itself (syntax errors, an empty file).
    pub path: String,
    /// What is wrong and what to do about it (lowercase, no trailing period).
    pub message: String,
    /// The kind of problem, a stable code for tools.
    pub code: ErrorCode,
    /// The 1-based line of the offending value (or of its nearest enclosing one), when known.
    pub line: Option<usize>,
    /// The 1-based column, when known.
    pub column: Option<usize>,
}

/// Every problem found in a catalog, in document order (syntax and structure first, then
/// the rules that need the whole catalog).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CatalogErrors(Vec<CatalogError>);

/// The kinds of catalog problem. Serialized as the snake_case codes shown by
/// `datavern catalog check --format json` and documented in `docs/catalog.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The text is not valid YAML.
    Syntax,
    /// The document is empty.
    Empty,
    /// A value has the wrong YAML type (a list where a mapping belongs, …).
    WrongType,
    /// A required key is missing or a required list is empty.
    Missing,
    /// A key that the format does not have (often a typo).
    UnknownKey,
    /// The `version` is not one this datavern reads.
    UnsupportedVersion,
    /// A name is not a valid identifier (collection, field, purpose, storage, subject).
    InvalidName,
    /// Two things share a name that must be unique.
    Duplicate,
    /// A value is not one of the allowed words (classification, type, location, …).
    InvalidValue,
    /// A kommunenummer is not four digits starting with a county number.
    InvalidKommunenummer,
    /// A retention period is not a positive ISO 8601 duration.
    InvalidPeriod,
    /// An unknown data category.
    UnknownCategory,
    /// A reference to an undeclared purpose.
    UnknownPurpose,
    /// A reference to an undeclared collection.
    UnknownCollection,
    /// A reference to an undeclared field.
    UnknownField,
    /// A reference to an undeclared subject reference.
    UnknownSubject,
    /// National ids read for a purpose that does not need secure identification
    /// (personopplysningsloven § 12).
    SecureIdentification,
    /// Special categories processed for a purpose without an Art. 9(2) condition.
    SpecialCategoryCondition,
    /// Criminal data processed for a purpose without an Art. 10 legal basis.
    CriminalDataBasis,
    /// A lawful basis that needs a legal reference (Art. 6(3), Art. 9(2)) has none.
    LegalReference,
    /// Data classified above the deployment's accreditation.
    AboveAccreditation,
    /// A storage location breaks a residency rule.
    Residency,
    /// An encryption setting the rules forbid.
    Encryption,
    /// A `searchable` setting that cannot work.
    Searchable,
    /// An inconsistent field classification.
    Classification,
    /// An identifier kind that does not fit the field's type or category.
    IdentifierMismatch,
    /// Inconsistent data-subject declarations.
    Subjects,
    /// An inconsistent retention declaration.
    Retention,
    /// An inconsistent archive duty or erasure policy.
    Archive,
    /// A public-access exemption without a valid hjemmel.
    PublicAccess,
    /// Consent rules (`consent:`) that cannot apply to the purpose.
    Consent,
    /// A `renamed_from` that names the field itself or another field of the collection.
    RenamedFrom,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 32] = [
        ErrorCode::Syntax,
        ErrorCode::Empty,
        ErrorCode::WrongType,
        ErrorCode::Missing,
        ErrorCode::UnknownKey,
        ErrorCode::UnsupportedVersion,
        ErrorCode::InvalidName,
        ErrorCode::Duplicate,
        ErrorCode::InvalidValue,
        ErrorCode::InvalidKommunenummer,
        ErrorCode::InvalidPeriod,
        ErrorCode::UnknownCategory,
        ErrorCode::UnknownPurpose,
        ErrorCode::UnknownCollection,
        ErrorCode::UnknownField,
        ErrorCode::UnknownSubject,
        ErrorCode::SecureIdentification,
        ErrorCode::SpecialCategoryCondition,
        ErrorCode::CriminalDataBasis,
        ErrorCode::LegalReference,
        ErrorCode::AboveAccreditation,
        ErrorCode::Residency,
        ErrorCode::Encryption,
        ErrorCode::Searchable,
        ErrorCode::Classification,
        ErrorCode::IdentifierMismatch,
        ErrorCode::Subjects,
        ErrorCode::Retention,
        ErrorCode::Archive,
        ErrorCode::PublicAccess,
        ErrorCode::Consent,
        ErrorCode::RenamedFrom,
    ];

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Syntax => "syntax",
            ErrorCode::Empty => "empty",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::Missing => "missing",
            ErrorCode::UnknownKey => "unknown_key",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidKommunenummer => "invalid_kommunenummer",
            ErrorCode::InvalidPeriod => "invalid_period",
            ErrorCode::UnknownCategory => "unknown_category",
            ErrorCode::UnknownPurpose => "unknown_purpose",
            ErrorCode::UnknownCollection => "unknown_collection",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::UnknownSubject => "unknown_subject",
            ErrorCode::SecureIdentification => "secure_identification",
            ErrorCode::SpecialCategoryCondition => "special_category_condition",
            ErrorCode::CriminalDataBasis => "criminal_data_basis",
            ErrorCode::LegalReference => "legal_reference",
            ErrorCode::AboveAccreditation => "above_accreditation",
            ErrorCode::Residency => "residency",
            ErrorCode::Encryption => "encryption",
            ErrorCode::Searchable => "searchable",
            ErrorCode::Classification => "classification",
            ErrorCode::IdentifierMismatch => "identifier_mismatch",
            ErrorCode::Subjects => "subjects",
            ErrorCode::Retention => "retention",
            ErrorCode::Archive => "archive",
            ErrorCode::PublicAccess => "public_access",
            ErrorCode::Consent => "consent",
            ErrorCode::RenamedFrom => "renamed_from",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CatalogError {
    /// A problem at `path` (already rendered) without a source position.
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        CatalogError {
            path: path.into(),
            message: message.into(),
            code,
            line: None,
            column: None,
        }
    }

    /// The same problem, placed at a 1-based line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for CatalogError {
    /// `path: message`, or just the message for problems with the whole document.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for CatalogError {}

impl CatalogErrors {
    /// Wraps a list of problems.
    pub fn new(errors: Vec<CatalogError>) -> Self {
        CatalogErrors(errors)
    }

    /// The problems, in document order.
    pub fn as_slice(&self) -> &[CatalogError] {
        &self.0
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, CatalogError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (a `CatalogErrors` returned by validation never is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems as a vector.
    pub fn into_vec(self) -> Vec<CatalogError> {
        self.0
    }
}

impl fmt::Display for CatalogErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogErrors {}

impl IntoIterator for CatalogErrors {
    type Item = CatalogError;
    type IntoIter = std::vec::IntoIter<CatalogError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a CatalogErrors {
    type Item = &'a CatalogError;
    type IntoIter = std::slice::Iter<'a, CatalogError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
