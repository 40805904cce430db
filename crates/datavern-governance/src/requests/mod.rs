//! Data subject requests (GDPR Art. 15–22): their lifecycle, deadline and history.
//!
//! [`Requests`] records a request when it is received, then moves it through the states of
//! [`datavern_core::dsr::RequestState`]: verify, [`start`](Requests::start) and
//! [`finish`](Requests::finish) (the hook the executors of each right report through), or
//! reject; and extends its deadline with a reason. **Invariant:** every move is one
//! transaction on the data database holding the updated `dv_requests` row (changed only if
//! it is still in the state the move starts from, so two concurrent moves cannot both win),
//! a `dv_request_events` row (the append-only history) and an audit entry
//! (`request.received`, `request.verified`, …: ids and names, never reasons or personal
//! values).
//!
//! The subject is stored as subject ids: a fødselsnummer is resolved to subject ids (by a
//! [`SubjectResolver`]) before the request is created, and only the *kind* of identifier
//! used is kept. Times come from the store's [`Clock`]. See `docs/requests.md`.

mod error;
mod ops;
mod row;

use std::fmt;
use std::sync::Arc;

use datavern_core::clock::Clock;

use datavern_core::catalog::Kommunenummer;
use datavern_core::dsr::{
    Deadline, FourEyes, IdentifiedBy, Parameters, Reason, RequestState, RequestType,
    SubjectIdentifier, Verification, today_in_oslo,
};
use datavern_sql::Database;
use futures_util::future::BoxFuture;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use uuid::Uuid;

pub use self::error::RequestError;
use datavern_store::Store;
use datavern_store::SubjectId;
use datavern_store::records::{Cursor, Page};

/// The result of a request operation.
pub type Result<T, E = RequestError> = std::result::Result<T, E>;

/// Requests per page when the filter does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Most requests per page.
pub const MAX_PAGE_SIZE: u32 = 500;
/// The data subject request register of a store.
#[derive(Clone)]
pub struct Requests {
    db: Database,
    clock: Arc<dyn Clock>,
    four_eyes: FourEyes,
}

/// A data subject request as stored, with its deadline and (from [`Requests::get`]) its
/// history. `Debug` shows reasons by length only.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DsrRequest {
    /// The request's id (UUIDv7).
    pub id: Uuid,
    /// The tenant that received it.
    pub tenant: Kommunenummer,
    /// The right exercised.
    pub request_type: RequestType,
    /// The kind of identifier the requester gave (never the identifier itself).
    pub identified_by: IdentifiedBy,
    /// The data subjects the identifier resolved to.
    pub subjects: Vec<SubjectId>,
    /// The scope: field and purpose names.
    pub parameters: Parameters,
    /// Where it stands.
    pub state: RequestState,
    /// When it was received (the deadline runs from here).
    pub received_at: Timestamp,
    /// Who recorded it (principal id).
    pub received_by: String,
    /// Due date, extension.
    pub deadline: Deadline,
    /// Why the deadline was extended.
    pub extension_reason: Option<Reason>,
    /// When the requester's identity was verified.
    pub verified_at: Option<Timestamp>,
    /// Who verified it.
    pub verified_by: Option<String>,
    /// How it was verified: the method (`id_porten`, `in_person`, `bankid`, `letter`,
    /// `other`; older requests may hold free text).
    pub verification: Option<String>,
    /// Where the evidence of the verification is kept (a case or document number).
    pub verification_evidence: Option<String>,
    /// When it was started.
    pub started_at: Option<Timestamp>,
    /// When it ended (completed, partially completed or rejected).
    pub completed_at: Option<Timestamp>,
    /// The executor's summary (ids, counts, field names; never personal values).
    pub outcome: Option<Value>,
    /// Why it was rejected.
    pub rejection_reason: Option<Reason>,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Every transition, oldest first (empty in lists).
    pub history: Vec<RequestEvent>,
}

/// One transition in a request's history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestEvent {
    /// When.
    pub at: Timestamp,
    /// Who (principal id).
    pub actor: String,
    /// What: `received`, `verified`, `extended`, `started`, `completed`,
    /// `partially_completed`, `rejected`, `refused` (a run refused: four eyes, clearance),
    /// `four_eyes_overridden`.
    pub event: String,
    /// The state before (none for `received`).
    pub from: Option<RequestState>,
    /// The state after.
    pub to: RequestState,
    /// The reason given, for an extension, a rejection, a refusal or an override.
    pub note: Option<Reason>,
    /// For `verified`: the verification method.
    pub method: Option<String>,
    /// For `verified`: where the evidence is kept.
    pub evidence: Option<String>,
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The tenant receiving it.
    pub tenant: Kommunenummer,
    /// The right exercised.
    pub request_type: RequestType,
    /// The kind of identifier the requester gave.
    pub identified_by: IdentifiedBy,
    /// The subjects it resolved to (at least one).
    pub subjects: Vec<SubjectId>,
    /// The scope.
    pub parameters: Parameters,
}

/// Who does something to a request, for its history and the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The principal's id.
    pub principal: String,
    /// The HTTP request id (or CLI invocation id), to correlate with logs.
    pub request_id: Option<String>,
}

/// How an executor's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishStatus {
    /// Carried out in full.
    Completed,
    /// Carried out in part (say which part in the outcome and the note).
    PartiallyCompleted,
    /// Could not be carried out (say why in the note).
    Rejected,
}

/// What an executor reports when it has run a request: [`Requests::finish`].
#[derive(Debug, Clone)]
pub struct Finish {
    /// How it ended.
    pub status: FinishStatus,
    /// The executor's summary: ids, counts and field names, never personal values.
    pub outcome: Value,
    /// A reason (required for [`FinishStatus::Rejected`]).
    pub note: Option<Reason>,
}

/// Which requests to list. The tenant is mandatory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestFilter {
    /// The tenant whose requests are listed.
    pub tenant: Kommunenummer,
    /// Only requests in one of these states (any state when empty).
    pub states: Vec<RequestState>,
    /// Only requests of this type.
    pub request_type: Option<RequestType>,
    /// Only open requests past their effective due date on this date (Norway).
    pub overdue_on: Option<Date>,
    /// Only requests whose effective due date is before this date.
    pub due_before: Option<Date>,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// Requests per page, 1 to [`MAX_PAGE_SIZE`].
    pub limit: u32,
}

/// What [`SubjectResolver::resolve`] returns: a boxed future of the subject ids.
pub type ResolveFuture<'a> = BoxFuture<'a, Result<Vec<SubjectId>, ResolveError>>;

/// Resolves the identifier a requester gave to the subject ids datavern knows them by.
/// The lead's implementation finds the person through the catalog's identifying fields.
pub trait SubjectResolver: Send + Sync {
    /// The subjects `identifier` names in `tenant` (empty: nobody).
    fn resolve<'a>(
        &'a self,
        tenant: Kommunenummer,
        identifier: &'a SubjectIdentifier,
    ) -> ResolveFuture<'a>;
}

/// Why an identifier could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// This deployment cannot resolve this kind of identifier.
    #[error(
        "this server cannot resolve a {0} to a data subject; identify the subject by subject id"
    )]
    Unsupported(IdentifiedBy),
    /// The lookup failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

/// The resolver without a register of persons: a subject id names that subject; a national
/// id cannot be resolved ([`ResolveError::Unsupported`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SubjectIdsOnly;

impl SubjectResolver for SubjectIdsOnly {
    fn resolve<'a>(
        &'a self,
        _tenant: Kommunenummer,
        identifier: &'a SubjectIdentifier,
    ) -> ResolveFuture<'a> {
        let result = match identifier {
            SubjectIdentifier::SubjectId(id) => Ok(vec![SubjectId::from_uuid(*id)]),
            other => Err(ResolveError::Unsupported(other.identified_by())),
        };
        Box::pin(async move { result })
    }
}

impl RequestFilter {
    /// Every request of `tenant`, first page of [`DEFAULT_PAGE_SIZE`].
    pub fn new(tenant: Kommunenummer) -> Self {
        RequestFilter {
            tenant,
            states: Vec::new(),
            request_type: None,
            overdue_on: None,
            due_before: None,
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
    }

    /// Only requests in `state` (may be given several times).
    pub fn state(mut self, state: RequestState) -> Self {
        if !self.states.contains(&state) {
            self.states.push(state);
        }
        self
    }

    /// Only requests of `request_type`.
    pub fn request_type(mut self, request_type: RequestType) -> Self {
        self.request_type = Some(request_type);
        self
    }

    /// Only open requests overdue on `today` (a date in Norway).
    pub fn overdue_on(mut self, today: Date) -> Self {
        self.overdue_on = Some(today);
        self
    }

    /// Only requests whose effective due date is before `date`.
    pub fn due_before(mut self, date: Date) -> Self {
        self.due_before = Some(date);
        self
    }

    /// Continue after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// `limit` per page, bounded to 1..=[`MAX_PAGE_SIZE`].
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.clamp(1, MAX_PAGE_SIZE);
        self
    }
}

impl DsrRequest {
    /// Whether the request is open (not completed, partially completed or rejected) and past
    /// its effective due date on `today`.
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.state.is_final() && self.deadline.is_overdue(today)
    }

    /// Days to the effective due date on `today` (negative once past it), for open
    /// requests; `None` once the request has ended.
    pub fn days_left(&self, today: Date) -> Option<i64> {
        (!self.state.is_final()).then(|| self.deadline.days_left(today))
    }
}

impl Requests {
    /// The request register in `store`'s data database, with time from the store's clock.
    pub fn new(store: &Store) -> Self {
        Requests {
            db: store.data().clone(),
            clock: store.clock().clone(),
            four_eyes: FourEyes::default(),
        }
    }

    /// The same register with the four-eyes rule `four_eyes` (the default covers erasure and
    /// rectification).
    pub fn with_four_eyes(mut self, four_eyes: FourEyes) -> Self {
        self.four_eyes = four_eyes;
        self
    }

    /// The four-eyes rule in force: which request types a principal other than the verifier
    /// must run.
    pub fn four_eyes(&self) -> &FourEyes {
        &self.four_eyes
    }

    /// The clock the register uses (the store's).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Today's date in Norway by the register's clock.
    pub fn today(&self) -> Date {
        today_in_oslo(self.clock.now())
    }

    /// Records a request received now: state `received`, due one month from today.
    /// [`RequestError::UnknownSubject`] if `new` names no subject.
    #[tracing::instrument(skip_all, fields(tenant = %new.tenant, request_type = %new.request_type))]
    pub async fn create(&self, new: NewRequest, actor: &Actor) -> Result<DsrRequest> {
        ops::create(self, new, actor).await
    }

    /// The request `id` of `tenant`, with its history.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn get(&self, tenant: Kommunenummer, id: Uuid) -> Result<DsrRequest> {
        ops::get(self, tenant, id).await
    }

    /// One page of requests, oldest first (id order), without their histories.
    #[tracing::instrument(skip_all, fields(tenant = %filter.tenant))]
    pub async fn list(&self, filter: &RequestFilter) -> Result<Page<DsrRequest>> {
        ops::list(self, filter).await
    }

    /// received → verified: the requester's identity is established by `verification` (the
    /// method and, optionally, where the evidence is kept), recorded with the verifier in the
    /// request, its history and the audit entry.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn verify(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        verification: Verification,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::verify(self, tenant, id, verification, actor).await
    }

    /// Records that a run of request `id` was refused (`code`: `four_eyes_required`,
    /// `clearance_insufficient`) with `note` (what the DPO is to do; no personal values) and
    /// the field names concerned: a history row `refused` and an audit entry
    /// `request.refused` (outcome `denied`, the code as reason), in one transaction. The
    /// request's state does not change.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id, code))]
    pub async fn refuse_run(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        code: &'static str,
        note: Reason,
        fields: &[String],
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::note_event(
            self,
            tenant,
            id,
            ops::NoteEvent::Refused { code, fields },
            note,
            actor,
        )
        .await
    }

    /// Records that `actor` runs request `id` although they verified it themselves, for
    /// `reason` (the CLI's `--four-eyes-override`): a history row `four_eyes_overridden` and
    /// an audit entry `request.four_eyes_overridden`, in one transaction.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn override_four_eyes(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        reason: Reason,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::note_event(
            self,
            tenant,
            id,
            ops::NoteEvent::FourEyesOverridden,
            reason,
            actor,
        )
        .await
    }

    /// Extends the deadline by `months` (1 or 2, at most two in total) for `reason`; only
    /// before the original due date and while the request is open.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id, months))]
    pub async fn extend(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        months: u8,
        reason: Reason,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::extend(self, tenant, id, months, reason, actor).await
    }

    /// received, verified or in progress → rejected, for `reason`.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn reject(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        reason: Reason,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::reject(self, tenant, id, reason, actor).await
    }

    /// verified → in progress: an executor begins to carry the request out.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn start(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::start(self, tenant, id, actor).await
    }

    /// in progress → completed, partially completed or rejected, with the executor's outcome.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, request = %id))]
    pub async fn finish(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        finish: Finish,
        actor: &Actor,
    ) -> Result<DsrRequest> {
        ops::finish(self, tenant, id, finish, actor).await
    }

    /// Every open request of `tenant` past its effective due date at `now`, most overdue
    /// first (for the compliance report).
    pub async fn overdue(&self, tenant: Kommunenummer, now: Timestamp) -> Result<Vec<DsrRequest>> {
        ops::open_due_before(self, tenant, today_in_oslo(now), None).await
    }

    /// Every open request of `tenant` not yet overdue at `now` but due within `within_days`
    /// days, soonest first.
    pub async fn due_soon(
        &self,
        tenant: Kommunenummer,
        now: Timestamp,
        within_days: u16,
    ) -> Result<Vec<DsrRequest>> {
        let today = today_in_oslo(now);
        let limit = today
            .checked_add(jiff::Span::new().days(i64::from(within_days) + 1))
            .unwrap_or(today);
        ops::open_due_before(self, tenant, limit, Some(today)).await
    }
}

impl fmt::Debug for Requests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requests")
            .field("backend", &self.db.backend())
            .field("clock", &self.clock)
            .finish()
    }
}
