//! What an audit entry says happened ([`AuditAction`]) and how it ended ([`AuditOutcome`]):
//! closed sets with stable names. The names are what `dv_audit` stores and the hash chain
//! covers, so a name never changes once released; a new happening gets a new variant.

use std::fmt;
use std::str::FromStr;

use datavern_core::access::{Operation, Outcome};
use datavern_core::catalog::RetentionAction;
use datavern_core::dsr::RequestEvent;

/// What happened: every action datavern audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// An operation on a collection's records: `create`, `read`, `update`, `delete`, `list`,
    /// `lookup`.
    Record(Operation),
    /// A credential refused after it named a principal (`authenticate`).
    Authenticate,
    /// A principal over its request rate (`http.rate_limited`).
    RateLimited,
    /// A route refused for want of a role, outside the areas below (`role.refused`).
    RoleRefused,
    /// The audit log read (`audit_read`).
    AuditRead,
    /// A subject's consents read (`consent_read`).
    ConsentRead,
    /// A consent granted (`consent_grant`).
    ConsentGrant,
    /// A consent withdrawn (`consent_withdraw`).
    ConsentWithdraw,
    /// A subject's controls read (`controls_read`).
    ControlsRead,
    /// Processing of a subject restricted, Art. 18 (`restrict`).
    Restrict,
    /// An objection registered, Art. 21 (`object`).
    Object,
    /// A restriction lifted (`restriction_lift`).
    RestrictionLift,
    /// An objection lifted (`objection_lift`).
    ObjectionLift,
    /// A step of a data subject request (`request.verified`, `request.refused`…).
    Request(RequestEvent),
    /// Data subject requests listed (`request.listed`).
    RequestListed,
    /// One data subject request read (`request.read`).
    RequestRead,
    /// An access request's report of one record (`dsr.access`).
    DsrAccess,
    /// A portability export of one record (`dsr.portability`).
    DsrPortability,
    /// A rectification of one record (`dsr.rectify`).
    DsrRectify,
    /// An erasure of one collection's part (`dsr.erase`).
    DsrErase,
    /// A legal hold placed (`hold.placed`).
    HoldPlaced,
    /// A legal hold released (`hold.released`).
    HoldReleased,
    /// Legal holds listed (`hold.listed`).
    HoldListed,
    /// Placing a legal hold refused (`hold.place`).
    HoldPlace,
    /// Releasing a legal hold refused (`hold.release`).
    HoldRelease,
    /// A legal-hold route refused for want of the role (`hold.refused`).
    HoldRefused,
    /// The compliance report read (`report.compliance`).
    ReportCompliance,
    /// A report route refused for want of the role (`report.refused`).
    ReportRefused,
    /// A retention run's action on a batch of records (`retention.delete`…).
    Retention(RetentionAction),
    /// A backup operation (`backup.created`, `backup.restored`…).
    Backup(BackupEvent),
    /// A step of a catalog migration (`migration.started`, `migration.completed`…).
    Migration(MigrationEvent),
    /// An import of a legacy system's rows (`import.started`, `import.finished`,
    /// `import.refused`).
    Import(ImportEvent),
}

/// A step of a catalog migration or of a copy of the installation, as audited (the migration id is the entry's correlation
/// id; the collections it changes are the entry's fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationEvent {
    /// A migration started: its plan recorded, before any DDL (`migration.started`).
    Started,
    /// The expand phase done: new tables, columns, indexes and sync triggers
    /// (`migration.expanded`).
    Expanded,
    /// A backfill finished (`migration.backfilled`).
    Backfilled,
    /// The contract phase done and the new catalog version in force (`migration.completed`).
    Completed,
    /// The migration rolled back before its contract phase (`migration.aborted`).
    Aborted,
    /// A migration step refused: a changed database, an invalid or unsupported change, a
    /// migration already open (`migration.refused`).
    Refused,
    /// The installation copied to another database and verified (`migration.copied`).
    Copied,
    /// A copy refused before anything was written: residency, a target not empty
    /// (`migration.copy_refused`).
    CopyRefused,
    /// A copy that failed or did not verify (`migration.copy_failed`).
    CopyFailed,
    /// A masked copy written into a new installation (`migration.masked`): every personal
    /// value replaced by a synthetic one, under new keys. A masked copy refused or failed is
    /// `migration.copy_refused` or `migration.copy_failed`.
    Masked,
}

impl MigrationEvent {
    /// Every migration event.
    pub const ALL: [MigrationEvent; 10] = [
        MigrationEvent::Started,
        MigrationEvent::Expanded,
        MigrationEvent::Backfilled,
        MigrationEvent::Completed,
        MigrationEvent::Aborted,
        MigrationEvent::Refused,
        MigrationEvent::Copied,
        MigrationEvent::CopyRefused,
        MigrationEvent::CopyFailed,
        MigrationEvent::Masked,
    ];
}

/// A step of an import (`datavern import`), as audited; the records it writes have their own
/// `create` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportEvent {
    /// A run began (`import.started`).
    Started,
    /// A run ended, with its counts (`import.finished`).
    Finished,
    /// An import refused before any row was written (`import.refused`).
    Refused,
}

impl ImportEvent {
    /// Every import event.
    pub const ALL: [ImportEvent; 3] = [
        ImportEvent::Started,
        ImportEvent::Finished,
        ImportEvent::Refused,
    ];
}

/// A backup operation, as audited: what was done to a snapshot or a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackupEvent {
    /// A snapshot written (`backup.created`).
    Created,
    /// A repository checked (`backup.verified`).
    Verified,
    /// A snapshot restored into a database (`backup.restored`).
    Restored,
    /// Snapshots forgotten by the retention tiers, and the repository pruned
    /// (`backup.forgotten`).
    Forgotten,
    /// A legal hold placed on a snapshot (`backup.held`).
    Held,
    /// A snapshot's legal hold released (`backup.released`).
    Released,
    /// A restore drill run (`backup.drill`).
    Drill,
}

impl BackupEvent {
    /// Every backup event.
    pub const ALL: [BackupEvent; 7] = [
        BackupEvent::Created,
        BackupEvent::Verified,
        BackupEvent::Restored,
        BackupEvent::Forgotten,
        BackupEvent::Held,
        BackupEvent::Released,
        BackupEvent::Drill,
    ];
}

impl AuditAction {
    /// Every action, for parsing stored names and for tests.
    pub const ALL: [AuditAction; 64] = [
        AuditAction::Record(Operation::Create),
        AuditAction::Record(Operation::Read),
        AuditAction::Record(Operation::Update),
        AuditAction::Record(Operation::Delete),
        AuditAction::Record(Operation::List),
        AuditAction::Record(Operation::Lookup),
        AuditAction::Authenticate,
        AuditAction::RateLimited,
        AuditAction::RoleRefused,
        AuditAction::AuditRead,
        AuditAction::ConsentRead,
        AuditAction::ConsentGrant,
        AuditAction::ConsentWithdraw,
        AuditAction::ControlsRead,
        AuditAction::Restrict,
        AuditAction::Object,
        AuditAction::RestrictionLift,
        AuditAction::ObjectionLift,
        AuditAction::RequestListed,
        AuditAction::RequestRead,
        AuditAction::DsrAccess,
        AuditAction::DsrPortability,
        AuditAction::DsrRectify,
        AuditAction::DsrErase,
        AuditAction::HoldPlaced,
        AuditAction::HoldReleased,
        AuditAction::HoldListed,
        AuditAction::HoldPlace,
        AuditAction::HoldRelease,
        AuditAction::HoldRefused,
        AuditAction::ReportCompliance,
        AuditAction::ReportRefused,
        AuditAction::Request(RequestEvent::Received),
        AuditAction::Request(RequestEvent::Verified),
        AuditAction::Request(RequestEvent::Started),
        AuditAction::Request(RequestEvent::Completed),
        AuditAction::Request(RequestEvent::PartiallyCompleted),
        AuditAction::Request(RequestEvent::Rejected),
        AuditAction::Request(RequestEvent::Extended),
        AuditAction::Request(RequestEvent::Refused),
        AuditAction::Request(RequestEvent::FourEyesOverridden),
        AuditAction::Retention(RetentionAction::Delete),
        AuditAction::Retention(RetentionAction::Anonymize),
        AuditAction::Retention(RetentionAction::Archive),
        AuditAction::Backup(BackupEvent::Created),
        AuditAction::Backup(BackupEvent::Verified),
        AuditAction::Backup(BackupEvent::Restored),
        AuditAction::Backup(BackupEvent::Forgotten),
        AuditAction::Backup(BackupEvent::Held),
        AuditAction::Backup(BackupEvent::Released),
        AuditAction::Backup(BackupEvent::Drill),
        AuditAction::Migration(MigrationEvent::Started),
        AuditAction::Migration(MigrationEvent::Expanded),
        AuditAction::Migration(MigrationEvent::Backfilled),
        AuditAction::Migration(MigrationEvent::Completed),
        AuditAction::Migration(MigrationEvent::Aborted),
        AuditAction::Migration(MigrationEvent::Refused),
        AuditAction::Migration(MigrationEvent::Copied),
        AuditAction::Migration(MigrationEvent::CopyRefused),
        AuditAction::Migration(MigrationEvent::CopyFailed),
        AuditAction::Migration(MigrationEvent::Masked),
        AuditAction::Import(ImportEvent::Started),
        AuditAction::Import(ImportEvent::Finished),
        AuditAction::Import(ImportEvent::Refused),
    ];

    /// The stable name, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::Record(operation) => operation.as_str(),
            AuditAction::Authenticate => "authenticate",
            AuditAction::RateLimited => "http.rate_limited",
            AuditAction::RoleRefused => "role.refused",
            AuditAction::AuditRead => "audit_read",
            AuditAction::ConsentRead => "consent_read",
            AuditAction::ConsentGrant => "consent_grant",
            AuditAction::ConsentWithdraw => "consent_withdraw",
            AuditAction::ControlsRead => "controls_read",
            AuditAction::Restrict => "restrict",
            AuditAction::Object => "object",
            AuditAction::RestrictionLift => "restriction_lift",
            AuditAction::ObjectionLift => "objection_lift",
            AuditAction::Request(event) => match event {
                RequestEvent::Received => "request.received",
                RequestEvent::Verified => "request.verified",
                RequestEvent::Started => "request.started",
                RequestEvent::Completed => "request.completed",
                RequestEvent::PartiallyCompleted => "request.partially_completed",
                RequestEvent::Rejected => "request.rejected",
                RequestEvent::Extended => "request.extended",
                RequestEvent::Refused => "request.refused",
                RequestEvent::FourEyesOverridden => "request.four_eyes_overridden",
            },
            AuditAction::RequestListed => "request.listed",
            AuditAction::RequestRead => "request.read",
            AuditAction::DsrAccess => "dsr.access",
            AuditAction::DsrPortability => "dsr.portability",
            AuditAction::DsrRectify => "dsr.rectify",
            AuditAction::DsrErase => "dsr.erase",
            AuditAction::HoldPlaced => "hold.placed",
            AuditAction::HoldReleased => "hold.released",
            AuditAction::HoldListed => "hold.listed",
            AuditAction::HoldPlace => "hold.place",
            AuditAction::HoldRelease => "hold.release",
            AuditAction::HoldRefused => "hold.refused",
            AuditAction::ReportCompliance => "report.compliance",
            AuditAction::ReportRefused => "report.refused",
            AuditAction::Retention(action) => match action {
                RetentionAction::Delete => "retention.delete",
                RetentionAction::Anonymize => "retention.anonymize",
                RetentionAction::Archive => "retention.archive",
            },
            AuditAction::Backup(event) => match event {
                BackupEvent::Created => "backup.created",
                BackupEvent::Verified => "backup.verified",
                BackupEvent::Restored => "backup.restored",
                BackupEvent::Forgotten => "backup.forgotten",
                BackupEvent::Held => "backup.held",
                BackupEvent::Released => "backup.released",
                BackupEvent::Drill => "backup.drill",
            },
            AuditAction::Migration(event) => match event {
                MigrationEvent::Started => "migration.started",
                MigrationEvent::Expanded => "migration.expanded",
                MigrationEvent::Backfilled => "migration.backfilled",
                MigrationEvent::Completed => "migration.completed",
                MigrationEvent::Aborted => "migration.aborted",
                MigrationEvent::Refused => "migration.refused",
                MigrationEvent::Copied => "migration.copied",
                MigrationEvent::CopyRefused => "migration.copy_refused",
                MigrationEvent::CopyFailed => "migration.copy_failed",
                MigrationEvent::Masked => "migration.masked",
            },
            AuditAction::Import(event) => match event {
                ImportEvent::Started => "import.started",
                ImportEvent::Finished => "import.finished",
                ImportEvent::Refused => "import.refused",
            },
        }
    }
}

impl FromStr for AuditAction {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
            .ok_or(UnknownName)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored action or outcome name this version does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action or outcome name")]
pub struct UnknownName;

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditOutcome {
    /// Allowed and done (`granted`).
    Granted,
    /// Refused by an access rule or a validation; the entry's reason holds the code
    /// (`denied`).
    Denied,
    /// An erasure part refused by a legal hold (`refused`).
    Refused,
    /// An erasure part done by destroying the keys (`crypto_shred`).
    CryptoShred,
    /// An erasure part done by deleting rows (`delete`).
    Delete,
    /// An erasure part done by nulling personal fields (`anonymize`).
    Anonymize,
    /// An erasure part kept and restricted under archive duty (`restrict`).
    Restrict,
}

impl AuditOutcome {
    /// Every outcome.
    pub const ALL: [AuditOutcome; 7] = [
        AuditOutcome::Granted,
        AuditOutcome::Denied,
        AuditOutcome::Refused,
        AuditOutcome::CryptoShred,
        AuditOutcome::Delete,
        AuditOutcome::Anonymize,
        AuditOutcome::Restrict,
    ];

    /// The stable name, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Granted => "granted",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Refused => "refused",
            AuditOutcome::CryptoShred => "crypto_shred",
            AuditOutcome::Delete => "delete",
            AuditOutcome::Anonymize => "anonymize",
            AuditOutcome::Restrict => "restrict",
        }
    }

    /// `denied` when `refusal` holds one, otherwise `granted`.
    pub fn of_refusal<T>(refusal: Option<T>) -> AuditOutcome {
        match refusal {
            Some(_) => AuditOutcome::Denied,
            None => AuditOutcome::Granted,
        }
    }
}

impl From<&Outcome> for AuditOutcome {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Granted => AuditOutcome::Granted,
            Outcome::Denied(_) => AuditOutcome::Denied,
        }
    }
}

impl FromStr for AuditOutcome {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        AuditOutcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
            .ok_or(UnknownName)
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::{MAX_ACTION, MAX_OUTCOME};

    #[test]
    fn every_name_fits_its_column() {
        let mut names = std::collections::BTreeSet::new();
        for action in AuditAction::ALL {
            let name = action.as_str();
            assert!(!name.is_empty() && name.len() <= MAX_ACTION, "{name}");
            assert!(names.insert(name), "{name} twice");
            assert_eq!(name.parse::<AuditAction>(), Ok(action));
        }
        assert_eq!("request.refusd".parse::<AuditAction>(), Err(UnknownName));
        assert_eq!(
            AuditAction::Request(RequestEvent::FourEyesOverridden).as_str(),
            format!("request.{}", RequestEvent::FourEyesOverridden.as_str())
        );
        for outcome in AuditOutcome::ALL {
            assert!(outcome.as_str().len() <= MAX_OUTCOME);
            assert_eq!(outcome.as_str().parse::<AuditOutcome>(), Ok(outcome));
        }
    }
}
