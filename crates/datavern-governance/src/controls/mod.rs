//! The registers of the data subject's controls over processing: consent (GDPR Art. 7),
//! restriction (Art. 18) and objection (Art. 21). The decision point reads them in the same
//! statement as each record (`records`); this module writes them and answers what they hold.
//!
//! ```text
//! record_consent ── one transaction: dv_consent_events (append-only) + dv_consent_state
//!                   (current state per subject and purpose) + audit entry + outbox event
//! restrict       ── dv_restrictions + dv_restricted = TRUE on every record of the subject,
//!                   one UPDATE per collection + audit entry + outbox event
//! object         ── dv_objections (one row per purpose, or one for every 6(1)(e)/(f)
//!                   purpose) + audit entry + outbox event
//! ```
//!
//! Every change names the principal who made it and, for restrictions and objections, the
//! data subject request that asked for it. Audit entries and events hold ids, purpose and
//! reason codes only. See `docs/consent.md`.
//!
//! ```no_run
//! # async fn demo(
//! #     records: datavern_store::Records,
//! #     principal: datavern_core::access::Principal,
//! #     event: datavern_core::consent::ConsentEvent,
//! #     subject: datavern_store::SubjectId,
//! # ) -> datavern_governance::Result<()> {
//! use datavern_governance::controls::Controls;
//! use datavern_store::RequestMeta;
//!
//! let controls = Controls::new(records);
//! let meta = RequestMeta::new();
//! controls.record_consent(&principal, subject, &event, &meta).await?;
//! let register = controls.consents(&principal, subject, None, &meta).await?;
//! println!("{} events", register.history.len());
//! # Ok(()) }
//! ```

pub(crate) mod sql;

use datavern_core::access::{ConsentState, Principal};
use datavern_core::catalog::{Kommunenummer, PurposeId};
use datavern_core::consent::{self, ConsentEvent};
use datavern_core::controls::{RestrictionReason, objectionable};
use datavern_sql::{Tx, TxMode};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::error::Result;
use datavern_store::SubjectId;
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome};
use datavern_store::records::{RecordError, Records, RequestMeta};

pub use self::sql::MAX_SUBJECTS;
use datavern_store::consent::Actor;
pub use datavern_store::consent::StoredConsent;

/// The consent, restriction and objection registers of one store and catalog. Cheap to
/// clone; built from the [`Records`] service it shares the catalog and store with.
#[derive(Debug, Clone)]
pub struct Controls {
    records: Records,
}

/// The current consent of a subject to one purpose: what the decision point reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurrentConsent {
    /// The purpose.
    pub purpose: PurposeId,
    /// Granted, or not granted (withdrawn).
    pub state: ConsentState,
    /// The time of the event that decided it.
    pub since: OffsetDateTime,
    /// That event's id.
    pub event_id: Uuid,
}

/// A subject's consent history (oldest first, in the order recorded) and current state per
/// purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentRegister {
    /// Every grant and withdrawal, in the order recorded.
    pub history: Vec<StoredConsent>,
    /// The current state per purpose with at least one event, by purpose.
    pub current: Vec<CurrentConsent>,
}

/// A restriction of processing (Art. 18), active while `lifted_at` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restriction {
    /// Its id.
    pub id: Uuid,
    /// Why.
    pub reason: RestrictionReason,
    /// Since when.
    pub since: OffsetDateTime,
    /// Who recorded it.
    pub recorded_by: String,
    /// The data subject request that asked for it, if any.
    pub request_id: Option<String>,
    /// When it was lifted, if it was.
    pub lifted_at: Option<OffsetDateTime>,
}

/// An objection (Art. 21), active while `lifted_at` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Objection {
    /// Its id.
    pub id: Uuid,
    /// The purpose objected to, or `None` for every purpose based on 6(1)(e) or 6(1)(f).
    pub purpose: Option<PurposeId>,
    /// Since when.
    pub since: OffsetDateTime,
    /// Who recorded it.
    pub recorded_by: String,
    /// The data subject request that asked for it, if any.
    pub request_id: Option<String>,
    /// When it was lifted, if it was.
    pub lifted_at: Option<OffsetDateTime>,
}

/// Everything the registers hold about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubjectControlsView {
    /// The subject.
    pub subject: SubjectId,
    /// Consent history and current state.
    pub consents: ConsentRegister,
    /// Every restriction, active or lifted, oldest first.
    pub restrictions: Vec<Restriction>,
    /// Every objection, active or lifted, oldest first.
    pub objections: Vec<Objection>,
}

impl SubjectControlsView {
    /// Whether processing of the subject is restricted now.
    pub fn is_restricted(&self) -> bool {
        self.restrictions.iter().any(|r| r.lifted_at.is_none())
    }
}

impl Controls {
    /// The registers of `records`' store, for its catalog.
    pub fn new(records: Records) -> Self {
        Controls { records }
    }

    /// The records service the registers belong to.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Records a grant or withdrawal of `subject`'s consent to the event's purpose, by
    /// `principal` in its tenant: the event (append-only), the current state (unless an
    /// event with a later time is already recorded: the latest event decides), the audit
    /// entry and the outbox event `no.datavern.consent.granted` / `.withdrawn`, in one
    /// transaction. The next request for the purpose sees it.
    ///
    /// Fails with [`RecordError::Consent`] if the purpose does not rest on consent or the
    /// catalog requires a role to record grants for it that `principal` lacks
    /// ([`consent::check_recorder`]), and [`RecordError::SubjectNotFound`] if the subject is
    /// not a person of the tenant.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subject = %subject, purpose = %event.purpose()))]
    pub async fn record_consent(
        &self,
        principal: &Principal,
        subject: SubjectId,
        event: &ConsentEvent,
        meta: &RequestMeta,
    ) -> Result<StoredConsent> {
        let purpose = consent::consent_purpose(self.records.catalog(), event.purpose().as_str())
            .map_err(RecordError::from)?;
        consent::check_recorder(purpose, event.action(), principal).map_err(RecordError::from)?;
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        if !self
            .records
            .subject_exists(&mut tx.conn(), tenant, subject.as_uuid())
            .await?
        {
            return Err(RecordError::SubjectNotFound.into());
        }
        let stored = datavern_store::consent::append_consent(
            &mut tx.conn(),
            Actor::of(principal, self.records.store().now()),
            subject.as_uuid(),
            event,
            meta.request_id.as_deref(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(action = event.action().as_str(), "Recorded consent");
        Ok(stored)
    }

    /// `subject`'s consent history and current state per purpose in `principal`'s tenant,
    /// read for `purpose` (the purpose the caller reads under, recorded in the entry; `None`
    /// for an auditor reading every purpose). [`RecordError::SubjectNotFound`] if the subject
    /// is not a person of the tenant and has no history.
    ///
    /// Reading a person's consents is reading their data: the read is audited here
    /// (`consent_read`, with the subject and the purpose), so every front end leaves the same
    /// entry. A refusal before the read is the caller's to audit.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subject = %subject))]
    pub async fn consents(
        &self,
        principal: &Principal,
        subject: SubjectId,
        purpose: Option<&PurposeId>,
        meta: &RequestMeta,
    ) -> Result<ConsentRegister> {
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Read).await?;
        let register = sql::consents(&mut tx.conn(), tenant, subject).await?;
        if register.history.is_empty()
            && !self
                .records
                .subject_exists(&mut tx.conn(), tenant, subject.as_uuid())
                .await?
        {
            return Err(RecordError::SubjectNotFound.into());
        }
        tx.commit().await?;
        self.audit_read(AuditAction::ConsentRead, principal, subject, purpose, meta)
            .await?;
        Ok(register)
    }

    /// Records that `principal` read `subject`'s `action` register under `purpose`.
    async fn audit_read(
        &self,
        action: AuditAction,
        principal: &Principal,
        subject: SubjectId,
        purpose: Option<&PurposeId>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut entry = AuditEntry::new(
            self.records.store().now(),
            Some(principal.tenant()),
            principal.id().as_str(),
            action,
            AuditOutcome::Granted,
        )
        .with_subject(subject.as_uuid());
        entry.purpose = purpose.map(|p| p.as_str().to_owned());
        if let Some(id) = &meta.request_id {
            entry = entry.with_request_id(id.as_str());
        }
        self.records.store().audit().record(entry).await?;
        Ok(())
    }

    /// Everything the registers hold about `subject` in `principal`'s tenant: consents,
    /// restrictions, objections. [`RecordError::SubjectNotFound`] as for
    /// [`consents`](Self::consents). The read is audited here (`controls_read`).
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subject = %subject))]
    pub async fn subject(
        &self,
        principal: &Principal,
        subject: SubjectId,
        meta: &RequestMeta,
    ) -> Result<SubjectControlsView> {
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Read).await?;
        let consents = sql::consents(&mut tx.conn(), tenant, subject).await?;
        let restrictions = sql::restrictions(&mut tx.conn(), tenant, subject).await?;
        let objections = sql::objections(&mut tx.conn(), tenant, subject).await?;
        let known = !consents.history.is_empty()
            || !restrictions.is_empty()
            || !objections.is_empty()
            || self
                .records
                .subject_exists(&mut tx.conn(), tenant, subject.as_uuid())
                .await?;
        tx.commit().await?;
        if !known {
            return Err(RecordError::SubjectNotFound.into());
        }
        self.audit_read(AuditAction::ControlsRead, principal, subject, None, meta)
            .await?;
        Ok(SubjectControlsView {
            subject,
            consents,
            restrictions,
            objections,
        })
    }

    /// Restricts processing of `subjects` (Art. 18) in `principal`'s tenant, as the data
    /// subject request `request_id` asks: a restriction each (a subject already restricted
    /// keeps its restriction and gets no second one) and `dv_restricted` set on every record
    /// that concerns them, as the record itself, primary or secondary subject, in every
    /// collection, with an audit entry and the outbox event `no.datavern.subject.restricted`
    /// each; one transaction. Returns how many records were newly marked.
    ///
    /// From then on their records are not written, and read only for purposes the catalog
    /// marks `allowed_under_restriction`. Fails with [`RecordError::SubjectNotFound`] (and
    /// changes nothing) if one of them is not a person of the tenant.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subjects = subjects.len(), reason = %reason))]
    pub async fn restrict(
        &self,
        principal: &Principal,
        subjects: &[SubjectId],
        reason: RestrictionReason,
        request_id: Option<&str>,
    ) -> Result<u64> {
        sql::check_count(subjects)?;
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        self.check_subjects(&mut tx, tenant, subjects).await?;
        let ids: Vec<Uuid> = subjects.iter().map(SubjectId::as_uuid).collect();
        for subject in &ids {
            sql::insert_restriction(
                &mut tx.conn(),
                self.records.store().now(),
                principal,
                *subject,
                reason,
                request_id,
            )
            .await?;
        }
        let marked = self
            .records
            .mark_restricted(&mut tx.conn(), tenant, &ids)
            .await?;
        tx.commit().await?;
        tracing::info!(marked, "Restricted processing");
        Ok(marked)
    }

    /// Records the archive-duty restriction of `subjects` whose records an erasure kept
    /// (Art. 17(3)): a restriction each, as [`restrict`](Self::restrict) records one, and
    /// `dv_restricted` on their records. Unlike `restrict` it does not require the person's
    /// own record, which the erasure may just have deleted: the erasure found the subjects
    /// in the records it kept. One transaction; returns how many records were newly marked.
    pub(crate) async fn restrict_archived(
        &self,
        principal: &Principal,
        subjects: &[SubjectId],
        request_id: Option<&str>,
    ) -> Result<u64> {
        sql::check_count(subjects)?;
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        let ids: Vec<Uuid> = subjects.iter().map(SubjectId::as_uuid).collect();
        for subject in &ids {
            sql::insert_restriction(
                &mut tx.conn(),
                self.records.store().now(),
                principal,
                *subject,
                RestrictionReason::ArchiveDuty,
                request_id,
            )
            .await?;
        }
        let marked = self
            .records
            .mark_restricted(&mut tx.conn(), tenant, &ids)
            .await?;
        tx.commit().await?;
        tracing::info!(marked, "Restricted processing under archive duty");
        Ok(marked)
    }

    /// Lifts the active restrictions of `subjects` (a request too: `request_id`), clears
    /// `dv_restricted` on their records (except records that also concern a subject still
    /// restricted), with an audit entry and the outbox event `no.datavern.subject.unrestricted`
    /// for each subject that had one; one transaction. Returns how many records were cleared.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subjects = subjects.len()))]
    pub async fn lift_restriction(
        &self,
        principal: &Principal,
        subjects: &[SubjectId],
        request_id: Option<&str>,
    ) -> Result<u64> {
        sql::check_count(subjects)?;
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        self.check_subjects(&mut tx, tenant, subjects).await?;
        let ids: Vec<Uuid> = subjects.iter().map(SubjectId::as_uuid).collect();
        for subject in &ids {
            sql::lift(
                &mut tx.conn(),
                self.records.store().now(),
                sql::Register::Restrictions,
                principal,
                *subject,
                None,
                request_id,
            )
            .await?;
        }
        let cleared = self
            .records
            .unmark_restricted(&mut tx.conn(), tenant, &ids)
            .await?;
        tx.commit().await?;
        tracing::info!(cleared, "Lifted restriction");
        Ok(cleared)
    }

    /// Records the objection (Art. 21) of `subjects` to `purposes` (each must rest on
    /// 6(1)(e) or 6(1)(f)), or with `None` to every such purpose, as the data subject request
    /// `request_id` asks, with an audit entry and the outbox event
    /// `no.datavern.subject.objected` per objection; one transaction. From the next request
    /// their records are not read or written for those purposes. An objection already
    /// active is not recorded twice. Returns how many objections were recorded.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subjects = subjects.len()))]
    pub async fn object(
        &self,
        principal: &Principal,
        subjects: &[SubjectId],
        purposes: Option<&[PurposeId]>,
        request_id: Option<&str>,
    ) -> Result<u64> {
        sql::check_count(subjects)?;
        if let Some(purposes) = purposes {
            for purpose in purposes {
                self.check_objectionable(purpose)?;
            }
        }
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        self.check_subjects(&mut tx, tenant, subjects).await?;
        let mut recorded = 0;
        for subject in subjects {
            let targets: Vec<Option<&PurposeId>> = match purposes {
                Some(purposes) => purposes.iter().map(Some).collect(),
                None => vec![None],
            };
            for purpose in targets {
                recorded += sql::insert_objection(
                    &mut tx.conn(),
                    self.records.store().now(),
                    principal,
                    subject.as_uuid(),
                    purpose,
                    request_id,
                )
                .await?;
            }
        }
        tx.commit().await?;
        tracing::info!(recorded, "Recorded objection");
        Ok(recorded)
    }

    /// Lifts the active objections of `subjects` to `purposes` (`None`: every active
    /// objection of theirs), e.g. when the controller shows compelling legitimate grounds
    /// (Art. 21(1)); a request too (`request_id`), audited, with the outbox event
    /// `no.datavern.subject.objection_lifted` each. Returns how many were lifted.
    #[instrument(skip_all, fields(tenant = %principal.tenant(), subjects = subjects.len()))]
    pub async fn lift_objection(
        &self,
        principal: &Principal,
        subjects: &[SubjectId],
        purposes: Option<&[PurposeId]>,
        request_id: Option<&str>,
    ) -> Result<u64> {
        sql::check_count(subjects)?;
        let tenant = principal.tenant();
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Write).await?;
        self.check_subjects(&mut tx, tenant, subjects).await?;
        let mut lifted = 0;
        for subject in subjects {
            lifted += sql::lift(
                &mut tx.conn(),
                self.records.store().now(),
                sql::Register::Objections,
                principal,
                subject.as_uuid(),
                purposes,
                request_id,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(lifted)
    }

    /// Whether processing of `subject` is restricted now in `tenant`.
    pub async fn is_restricted(&self, tenant: Kommunenummer, subject: SubjectId) -> Result<bool> {
        Ok(self
            .restrictions(tenant, subject)
            .await?
            .iter()
            .any(|r| r.lifted_at.is_none()))
    }

    /// Every restriction of `subject` in `tenant`, active or lifted, oldest first.
    pub async fn restrictions(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> Result<Vec<Restriction>> {
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Read).await?;
        let restrictions = sql::restrictions(&mut tx.conn(), tenant, subject).await?;
        tx.commit().await?;
        Ok(restrictions)
    }

    /// Every objection of `subject` in `tenant`, active or lifted, oldest first.
    pub async fn objections(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> Result<Vec<Objection>> {
        let mut tx = Tx::begin(self.records.store().data(), tenant, TxMode::Read).await?;
        let objections = sql::objections(&mut tx.conn(), tenant, subject).await?;
        tx.commit().await?;
        Ok(objections)
    }

    async fn check_subjects(
        &self,
        tx: &mut Tx,
        tenant: Kommunenummer,
        subjects: &[SubjectId],
    ) -> Result<()> {
        for subject in subjects {
            if !self
                .records
                .subject_exists(&mut tx.conn(), tenant, subject.as_uuid())
                .await?
            {
                return Err(RecordError::SubjectNotFound.into());
            }
        }
        Ok(())
    }

    fn check_objectionable(&self, purpose: &PurposeId) -> Result<()> {
        let Some(declared) = self.records.catalog().purpose(purpose.as_str()) else {
            return Err(RecordError::NotObjectionable {
                purpose: purpose.to_string(),
                reason: "it is not declared in the catalog".to_owned(),
            }
            .into());
        };
        let basis = declared.lawful_basis();
        if !objectionable(basis) {
            return Err(RecordError::NotObjectionable {
                purpose: purpose.to_string(),
                reason: format!("it rests on {} ({})", basis.article(), basis.name()),
            }
            .into());
        }
        Ok(())
    }
}
