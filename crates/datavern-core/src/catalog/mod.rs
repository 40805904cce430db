//! The catalog: one YAML file that declares what a deployment governs.
//!
//! It names the deployment (tenants, accreditation, storage locations and residency rules),
//! the purposes of processing with their lawful bases, and the collections with their fields,
//! data categories, classification, encryption, data subjects, retention, erasure policy and
//! archive duty. The format is documented in `docs/catalog.md`.
//!
//! [`Catalog::from_yaml`] parses and validates in one step ("parse, don't validate"): the
//! YAML is read leniently into a raw model of strings (every structural problem recorded
//! with its path), then checked against the rules, and only a catalog without a single
//! problem becomes a [`Catalog`]. Otherwise the result is every problem found, each with a
//! path such as `collections[2].fields[0].category`, a message saying what to fix, a stable
//! [`ErrorCode`], and the line and column in the source.
//!
//! ```
//! use datavern_core::catalog::Catalog;
//!
//! let errors = Catalog::from_yaml("version: 2\n").unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "version: unsupported catalog version \"2\": this datavern reads version 1"
//! );
//! ```
//!
//! The core does no I/O: reading the file is the caller's job.

mod error;
mod field;
mod legal;
mod locate;
mod model;
mod names;
mod path;
mod raw;
mod read;
mod retention;
mod suggest;
mod summary;
mod validate;

use std::collections::HashSet;

use serde_norway::Value;

pub use error::{CatalogError, CatalogErrors, ErrorCode};
pub use field::{
    Attribution, DEFAULT_BLIND_INDEX_LENGTH, DEFAULT_PADDING, Encryption, EncryptionReason, Field,
    FieldType, MAX_BLIND_INDEX_LENGTH, MAX_PADDING, MIN_BLIND_INDEX_LENGTH,
};
pub use legal::{
    ArchiveDuty, InvalidHjemmel, LawfulBasis, PublicAccessExemption, RestrictionGround,
    SpecialCategoryCondition, UnknownProvision,
};
pub use model::{
    Catalog, Collection, DataSubjects, Deployment, Purpose, StorageKind, StorageTarget,
    SubjectReference, Tenant,
};
pub use names::{
    COUNTY_NUMBERS, CollectionName, FieldName, InvalidKommunenummer, InvalidName, Kommunenummer,
    MAX_NAME_LEN, PurposeId, RESERVED_FIELD_NAMES, RESERVED_FIELD_PREFIX, StorageName, SubjectName,
    SubjectRole,
};
pub use retention::{ErasurePolicy, Retention, RetentionAction, RetentionPeriod, RetentionStart};
pub use summary::{
    CollectionSummary, DeploymentSummary, FieldSummary, PurposeSummary, StorageSummary,
    SubjectSummary, Summary,
};
pub use validate::SUPPORTED_VERSION;

pub use suggest::suggest;

/// Problems beyond this many are still reported, but without a line and column (placing a
/// problem re-reads the source).
const MAX_LOCATED: usize = 500;

impl Catalog {
    /// Parses and validates a catalog. On failure, returns every problem found, in document
    /// order.
    pub fn from_yaml(source: &str) -> Result<Catalog, CatalogErrors> {
        let mut value: Value = match serde_norway::from_str(source) {
            Ok(value) => value,
            Err(err) => return Err(CatalogErrors::new(vec![syntax_error(&err, source)])),
        };
        // YAML merge keys (`<<: *defaults`) let a catalog share settings between items.
        if let Err(err) = value.apply_merge() {
            return Err(CatalogErrors::new(vec![syntax_error(&err, source)]));
        }
        let is_empty = match &value {
            Value::Null => true,
            Value::Mapping(mapping) => mapping.is_empty(),
            _ => false,
        };
        if is_empty {
            return Err(CatalogErrors::new(vec![
                CatalogError::new(
                    "",
                    ErrorCode::Empty,
                    "the catalog is empty: declare version, deployment, purposes and collections \
                 (see docs/catalog.md)",
                )
                .at(1, 1),
            ]));
        }

        let mut problems = read::Problems::default();
        let catalog = raw::read_catalog(&mut problems, &value)
            .and_then(|raw| validate::validate(&raw, &mut problems));
        match catalog {
            Some(catalog) if problems.is_empty() => Ok(Catalog {
                source: std::sync::Arc::from(source),
                ..catalog
            }),
            _ => Err(place(source, problems)),
        }
    }
}

/// A syntax error, placed where the parser stopped.
fn syntax_error(err: &serde_norway::Error, source: &str) -> CatalogError {
    let mut message = err.to_string();
    let mut error = CatalogError::new("", ErrorCode::Syntax, String::new());
    if let Some(location) = err.location() {
        // The parser repeats the position in its message; it is in line/column already.
        let at = format!(" at line {} column {}", location.line(), location.column());
        message = message.replacen(&at, "", 1);
        error = error.at(location.line(), location.column());
        let offending = source
            .lines()
            .nth(location.line().saturating_sub(1))
            .and_then(|line| line.chars().nth(location.column().saturating_sub(1)));
        if offending == Some('\t') {
            message.push_str(" (YAML indents with spaces, not tabs)");
        }
    }
    // The loader reports a repeated key as `path: duplicate entry with key "k"`.
    if let Some((path, key)) = message.split_once(": duplicate entry with key ") {
        error.path = path.to_owned();
        error.code = ErrorCode::Duplicate;
        error.message = format!("duplicate key {key}: a key may appear only once in a mapping");
        return error;
    }
    error.message = format!("invalid YAML: {message}");
    error
}

/// Turns problems into errors with line and column, sorted in document order, without
/// duplicates.
fn place(source: &str, problems: read::Problems) -> CatalogErrors {
    let mut seen = HashSet::new();
    let mut errors: Vec<CatalogError> = problems
        .into_vec()
        .into_iter()
        .filter(|p| seen.insert((p.path.clone(), p.message.clone())))
        .enumerate()
        .map(|(i, problem)| {
            let error = CatalogError::new(problem.path.to_string(), problem.code, problem.message);
            match (i < MAX_LOCATED)
                .then(|| locate::locate(source, &problem.path))
                .flatten()
            {
                Some((line, column)) => error.at(line, column),
                None => error,
            }
        })
        .collect();
    // Stable: problems at one place keep the order they were found in.
    errors.sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
    CatalogErrors::new(errors)
}
