//! [`AuditEntry`]: what one audit entry records, and its canonical encoding (what the chain
//! hashes).

use std::fmt;

use datavern_core::access::{AuditFacts, Outcome};
use datavern_core::catalog::Kommunenummer;
use datavern_crypto::audit::CanonicalWriter;
use datavern_sql::At;
use uuid::Uuid;

use super::action::{AuditAction, AuditOutcome};
use super::error::AuditLogError;

/// The first field of every entry's canonical bytes: the entry format, version 1.
pub(crate) const FORMAT_V1_TAG: &str = "datavern audit entry v1";
/// The value of the `format` column for entries encoded as [`FORMAT_V1_TAG`].
pub(crate) const FORMAT_V1: i16 = 1;

/// Longest stored value of each text column, in bytes (the columns' sizes).
pub(crate) const MAX_PRINCIPAL: usize = 256;
pub(crate) const MAX_PURPOSE: usize = 64;
#[cfg(test)]
pub(crate) const MAX_ACTION: usize = 32;
pub(crate) const MAX_COLLECTION: usize = 64;
#[cfg(test)]
pub(crate) const MAX_OUTCOME: usize = 16;
pub(crate) const MAX_REASON: usize = 64;
/// Longest request id kept; longer ones are cut at a character boundary.
pub const MAX_REQUEST_ID: usize = 128;
/// Most fields or subjects one entry lists.
pub(crate) const MAX_LIST: usize = 1024;
/// Longest field name listed.
pub(crate) const MAX_FIELD: usize = 64;

/// One audit entry: who did what, where, for which purpose, to which record and subjects,
/// touching which fields, with which outcome, when.
///
/// It holds ids, names and codes, never personal values: field *names*, record and subject
/// *ids*. An entry is written unsealed ([`AuditLog::record`](super::AuditLog::record), or
/// `append` inside a change's transaction) and later sealed into the hash chain.
///
/// ```
/// use datavern_store::audit::AuditEntry;
/// # fn demo(
/// #     store: &datavern_store::Store,
/// #     facts: &datavern_core::access::AuditFacts,
/// #     record: uuid::Uuid,
/// #     child: uuid::Uuid,
/// # ) {
/// let entry = AuditEntry::from_facts(store.now(), facts)
///     .with_record(record)
///     .with_subject(child)
///     .with_request_id("req-1");
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened, UTC, truncated to microseconds (what every backend stores).
    pub occurred_at: At,
    /// The tenant (kommunenummer) whose log the entry belongs to.
    pub tenant: Option<Kommunenummer>,
    /// Who: the principal's id.
    pub principal: String,
    /// The purpose given, if any.
    pub purpose: Option<String>,
    /// What happened.
    pub action: AuditAction,
    /// The collection, if any.
    pub collection: Option<String>,
    /// The record, if one.
    pub record_id: Option<Uuid>,
    /// The primary data subject, if known.
    pub subject_id: Option<Uuid>,
    /// The other data subjects the entry concerns (e.g. the guardians on a child's
    /// application), sorted, without duplicates.
    pub subjects: Vec<Uuid>,
    /// Names of the fields touched, sorted, without duplicates.
    pub fields: Vec<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why, for a denial: its stable code.
    pub reason: Option<String>,
    /// The request id, to correlate with logs.
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// An entry for `action` by `principal` in `tenant` with `outcome` at `at` (the time of
    /// the store's clock, [`Store::now`](crate::Store::now)), with no purpose, collection,
    /// record, subjects or fields yet.
    pub fn new(
        at: At,
        tenant: Option<Kommunenummer>,
        principal: impl Into<String>,
        action: AuditAction,
        outcome: AuditOutcome,
    ) -> Self {
        AuditEntry {
            occurred_at: at,
            tenant,
            principal: principal.into(),
            purpose: None,
            action,
            collection: None,
            record_id: None,
            subject_id: None,
            subjects: Vec::new(),
            fields: Vec::new(),
            outcome,
            reason: None,
            request_id: None,
        }
    }

    /// The entry for an access decision at `at`: principal, tenant, operation, collection,
    /// purpose, outcome (with the denial code as the reason) and the fields touched.
    pub fn from_facts(at: At, facts: &AuditFacts) -> Self {
        let mut entry = AuditEntry::new(
            at,
            Some(facts.tenant),
            facts.principal.as_str(),
            AuditAction::Record(facts.operation),
            AuditOutcome::from(&facts.outcome),
        );
        entry.purpose = facts.purpose.as_ref().map(|p| p.as_str().to_owned());
        entry.collection = facts.collection.as_ref().map(|c| c.as_str().to_owned());
        entry.reason = match facts.outcome {
            Outcome::Granted => None,
            Outcome::Denied(code) => Some(code.to_owned()),
        };
        entry.with_fields(facts.fields.iter().map(|f| f.as_str().to_owned()))
    }

    /// The same entry about record `id`.
    pub fn with_record(mut self, id: Uuid) -> Self {
        self.record_id = Some(id);
        self
    }

    /// The same entry about data subject `id`: the first subject given is the primary one
    /// ([`subject_id`](Self::subject_id)), later ones are added to
    /// [`subjects`](Self::subjects), so every person concerned finds the entry.
    pub fn with_subject(mut self, id: Uuid) -> Self {
        match self.subject_id {
            None => self.subject_id = Some(id),
            Some(primary) if primary == id => {}
            Some(_) => {
                if let Err(at) = self.subjects.binary_search(&id) {
                    self.subjects.insert(at, id);
                }
            }
        }
        self
    }

    /// The same entry about each subject of `ids` too (see [`with_subject`](Self::with_subject)).
    pub fn with_subjects(self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        ids.into_iter().fold(self, Self::with_subject)
    }

    /// The same entry with `fields` as the names of the fields touched (sorted and
    /// deduplicated; names only, never values).
    pub fn with_fields(mut self, fields: impl IntoIterator<Item = String>) -> Self {
        self.fields = fields.into_iter().collect();
        self.fields.sort_unstable();
        self.fields.dedup();
        self
    }

    /// The same entry with the request id, cut to [`MAX_REQUEST_ID`] bytes.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        let mut id = id.into();
        truncate_at_char(&mut id, MAX_REQUEST_ID);
        self.request_id = Some(id);
        self
    }

    /// The same entry with the time it happened.
    pub fn with_time(mut self, at: At) -> Self {
        self.occurred_at = at;
        self
    }

    /// The entry's canonical bytes (format v1, `docs/audit.md`), built with
    /// [`CanonicalWriter`]: what the hash chain hashes. The same entry always encodes to the
    /// same bytes, and two different entries never do.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let record = self.record_id.map(|id| id.into_bytes());
        let subject = self.subject_id.map(|id| id.into_bytes());
        let subjects: Vec<String> = self.subjects.iter().map(Uuid::to_string).collect();
        encode_v1(&CanonicalFields {
            occurred_at_us: self.occurred_at.as_micros(),
            tenant: self.tenant.as_ref().map(Kommunenummer::as_str),
            principal: &self.principal,
            purpose: self.purpose.as_deref(),
            action: self.action.as_str(),
            collection: self.collection.as_deref(),
            record_id: record.as_ref().map(|b| b.as_slice()),
            subject_id: subject.as_ref().map(|b| b.as_slice()),
            subjects: subjects.iter().map(String::as_str).collect(),
            fields: self.fields.iter().map(String::as_str).collect(),
            outcome: self.outcome.as_str(),
            reason: self.reason.as_deref(),
            request_id: self.request_id.as_deref(),
        })
    }

    /// Checks that every value fits its column, so that no backend truncates it silently.
    pub(crate) fn check(&self) -> Result<(), AuditLogError> {
        let too_long = |what: &'static str, max: usize| {
            AuditLogError::InvalidEntry(format!("{what} is longer than {max} bytes"))
        };
        let checks: [(&'static str, Option<&str>, usize); 5] = [
            ("principal", Some(&self.principal), MAX_PRINCIPAL),
            ("purpose", self.purpose.as_deref(), MAX_PURPOSE),
            ("collection", self.collection.as_deref(), MAX_COLLECTION),
            ("reason", self.reason.as_deref(), MAX_REASON),
            ("request id", self.request_id.as_deref(), MAX_REQUEST_ID),
        ];
        for (what, value, max) in checks {
            if value.is_some_and(|v| v.len() > max) {
                return Err(too_long(what, max));
            }
        }
        if self.principal.is_empty() {
            return Err(AuditLogError::InvalidEntry(
                "the principal must not be empty".to_owned(),
            ));
        }
        if self.fields.len() > MAX_LIST || self.subjects.len() > MAX_LIST {
            return Err(AuditLogError::InvalidEntry(format!(
                "an entry lists at most {MAX_LIST} fields and {MAX_LIST} subjects"
            )));
        }
        if self.fields.iter().any(|f| f.len() > MAX_FIELD) {
            return Err(too_long("a field name", MAX_FIELD));
        }
        Ok(())
    }
}

/// Field names and ids only, so the derived `Debug` would be safe; written out to keep the
/// order of the canonical encoding visible.
impl fmt::Debug for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditEntry")
            .field("occurred_at", &self.occurred_at)
            .field("tenant", &self.tenant)
            .field("principal", &self.principal)
            .field("purpose", &self.purpose)
            .field("action", &self.action)
            .field("collection", &self.collection)
            .field("record_id", &self.record_id)
            .field("subject_id", &self.subject_id)
            .field("subjects", &self.subjects)
            .field("fields", &self.fields)
            .field("outcome", &self.outcome)
            .field("reason", &self.reason)
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// The columns of an entry as they are hashed, borrowed either from an [`AuditEntry`] or from
/// a stored row (whose text need not parse as a kommunenummer or id: a tampered row must still
/// encode, and then fail to match its hash).
pub(crate) struct CanonicalFields<'a> {
    pub(crate) occurred_at_us: i64,
    pub(crate) tenant: Option<&'a str>,
    pub(crate) principal: &'a str,
    pub(crate) purpose: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) collection: Option<&'a str>,
    pub(crate) record_id: Option<&'a [u8]>,
    pub(crate) subject_id: Option<&'a [u8]>,
    pub(crate) subjects: Vec<&'a str>,
    pub(crate) fields: Vec<&'a str>,
    pub(crate) outcome: &'a str,
    pub(crate) reason: Option<&'a str>,
    pub(crate) request_id: Option<&'a str>,
}

/// Entry format v1: the fields in this fixed order, lists sorted (their order carries no
/// meaning; duplicates are kept, so a duplicated name changes the bytes).
pub(crate) fn encode_v1(fields: &CanonicalFields<'_>) -> Vec<u8> {
    let mut subjects = fields.subjects.clone();
    subjects.sort_unstable();
    let mut names = fields.fields.clone();
    names.sort_unstable();
    CanonicalWriter::with_capacity(256)
        .str(FORMAT_V1_TAG)
        .i64(fields.occurred_at_us)
        .opt_str(fields.tenant)
        .str(fields.principal)
        .opt_str(fields.purpose)
        .str(fields.action)
        .opt_str(fields.collection)
        .opt_bytes(fields.record_id)
        .opt_bytes(fields.subject_id)
        .str_list(subjects)
        .str_list(names)
        .str(fields.outcome)
        .opt_str(fields.reason)
        .opt_str(fields.request_id)
        .finish()
}

fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use datavern_core::access::Operation;

    use time::OffsetDateTime;

    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry::new(
            At::UNIX_EPOCH,
            Some(Kommunenummer::parse("0301").unwrap()),
            "saksbehandler",
            AuditAction::Record(Operation::Read),
            AuditOutcome::Granted,
        )
    }

    #[test]
    fn subjects_after_the_first_are_secondary_and_sorted() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let e = entry()
            .with_subject(a)
            .with_subject(c)
            .with_subject(b)
            .with_subject(c);
        assert_eq!(e.subject_id, Some(a));
        assert_eq!(e.subjects, vec![b, c]);
    }

    #[test]
    fn fields_are_sorted_and_deduplicated_so_order_does_not_change_the_hash() {
        let one = entry().with_fields(["b".to_owned(), "a".to_owned(), "b".to_owned()]);
        let two = entry().with_fields(["a".to_owned(), "b".to_owned()]);
        assert_eq!(one.fields, ["a", "b"]);
        assert_eq!(one.canonical_bytes(), two.canonical_bytes());
    }

    #[test]
    fn every_column_changes_the_bytes() {
        let base = entry().canonical_bytes();
        let variants = [
            entry().with_time(At::from_micros(1).unwrap()),
            AuditEntry {
                tenant: None,
                ..entry()
            },
            AuditEntry {
                principal: "x".into(),
                ..entry()
            },
            AuditEntry {
                purpose: Some(String::new()),
                ..entry()
            },
            AuditEntry {
                action: AuditAction::Record(Operation::Update),
                ..entry()
            },
            AuditEntry {
                collection: Some("c".into()),
                ..entry()
            },
            entry().with_record(Uuid::nil()),
            entry().with_subject(Uuid::nil()),
            entry().with_subject(Uuid::nil()).with_subject(Uuid::max()),
            entry().with_fields(["f".to_owned()]),
            AuditEntry {
                outcome: AuditOutcome::Denied,
                ..entry()
            },
            AuditEntry {
                reason: Some("r".into()),
                ..entry()
            },
            entry().with_request_id(""),
        ];
        for variant in variants {
            assert_ne!(variant.canonical_bytes(), base, "{variant:?}");
        }
    }

    #[test]
    fn times_are_truncated_to_microseconds() {
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::nanoseconds(1_999);
        assert_eq!(entry().with_time(at.into()).occurred_at.as_micros(), 1);
    }

    #[test]
    fn long_request_ids_are_cut_at_a_character_boundary() {
        let id = "ø".repeat(100);
        let entry = entry().with_request_id(id);
        let kept = entry.request_id.unwrap();
        assert!(kept.len() <= MAX_REQUEST_ID);
        assert!(kept.chars().all(|c| c == 'ø'));
    }

    #[test]
    fn values_that_do_not_fit_their_column_are_refused() {
        assert!(entry().check().is_ok());
        let long = AuditEntry {
            principal: "p".repeat(MAX_PRINCIPAL + 1),
            ..entry()
        };
        assert!(long.check().is_err());
        let empty = AuditEntry {
            principal: String::new(),
            ..entry()
        };
        assert!(empty.check().is_err());
    }
}
