//! Running a data subject request: the request register's lifecycle around the right it
//! asks for.
//!
//! ```text
//! verified ──start──▶ in_progress ──execute──▶ completed | partially_completed
//! ```
//!
//! [`Rights::run`] moves a verified request to `in_progress`, carries out its right on the
//! request's subject ids, and finishes it with an outcome that holds **no personal data**
//! (collections, record counts, field names, reasons): the request table keeps the outcome
//! for the DPO's record, so it may not become a second copy of what was erased. What the
//! subject is to receive (the access report, the portability export) is returned once, as a
//! [`Delivery`], and not stored.
//!
//! A request left `in_progress` (the process stopped between the steps) is run again from
//! where it stands: every right is idempotent (erasure runs twice without harm, restriction
//! and objection are already in place, rectification sets the same values again).

use datavern_core::access::Principal;
use datavern_core::catalog::PurposeId;
use datavern_core::dsr::{MAX_REASON_LEN, Reason, RequestState, RequestType};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{check_cap, rows_of};
use super::clearance::{Reach, Shortfall, cap};
use super::{AccessReport, Actor, Correction, Portability, Rights, RightsError};
use crate::controls::Controls;
use datavern_store::StoreError;

use crate::error::Error;
use crate::requests::{self, DsrRequest, Finish, FinishStatus, RequestError, Requests};

/// Why a request could not be run: the register refused a step (unknown request, illegal
/// transition), or the right could not be carried out. A failure after the start leaves the
/// request `in_progress`; running it again resumes it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The register refused a step.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The right could not be carried out.
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<RightsError> for RunError {
    fn from(err: RightsError) -> Self {
        RunError::Store(err.into())
    }
}

impl From<StoreError> for RunError {
    fn from(err: StoreError) -> Self {
        RunError::Store(err.into())
    }
}

type Result<T, E = RunError> = std::result::Result<T, E>;

/// What a run needs besides the request: a rectification's corrected values, which are
/// personal data and so never part of the stored request.
#[derive(Debug, Clone, Default)]
pub struct RunInput {
    /// The corrections of a rectification request (none for the other types).
    pub corrections: Vec<Correction>,
    /// Run even though the runner verified the request themselves, for this reason: the
    /// CLI's `--four-eyes-override`, recorded in the request's history and the audit log
    /// (`request.four_eyes_overridden`). The HTTP API never sets it.
    pub four_eyes_override: Option<Reason>,
}

/// What a run delivers to the data subject, once; never stored.
#[derive(Clone)]
#[non_exhaustive]
pub enum Delivery {
    /// Nothing to deliver (rectification, erasure, restriction, objection).
    Nothing,
    /// The access report (Art. 15).
    Access(Box<AccessReport>),
    /// The portability export (Art. 20).
    Portability(Box<Portability>),
}

/// A request after its run, and what it delivers.
#[non_exhaustive]
pub struct Executed {
    /// The request as it now is (`completed` or `partially_completed`).
    pub request: DsrRequest,
    /// What the data subject receives.
    pub delivery: Delivery,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the data itself.
        f.write_str(match self {
            Delivery::Nothing => "Nothing",
            Delivery::Access(_) => "Access(..)",
            Delivery::Portability(_) => "Portability(..)",
        })
    }
}

impl std::fmt::Debug for Executed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executed")
            .field("request", &self.request.id)
            .field("state", &self.request.state)
            .field("delivery", &self.delivery)
            .finish()
    }
}

impl Rights {
    /// Runs request `id` of `tenant` on behalf of `principal` (who must belong to the
    /// tenant): `verified` → `in_progress` → the right → `completed`, or
    /// `partially_completed` when part of an erasure was refused (a legal hold) or answered
    /// with restriction (archive duty). Each step is audited by the register, and the right's
    /// own audit entries carry the request's id.
    ///
    /// A rectification without corrections is refused before anything changes
    /// ([`RightsError::NothingToCorrect`]); so is a request in another state than
    /// `verified` or `in_progress` (the register's illegal-transition error). Legal holds are
    /// judged at the register's clock.
    pub async fn run(
        &self,
        requests: &Requests,
        principal: &Principal,
        id: Uuid,
        input: RunInput,
    ) -> Result<Executed> {
        let tenant = principal.tenant();
        // Legal holds are judged on the store's clock, which tests move.
        let now = OffsetDateTime::from(self.records.store().now());
        let register_actor = requests::Actor {
            principal: principal.id().as_str().to_owned(),
            request_id: Some(format!("dsr:{id}")),
        };
        let mut request = requests.get(tenant, id).await?;
        if request.request_type == RequestType::Rectification && input.corrections.is_empty() {
            return Err(RightsError::NothingToCorrect.into());
        }
        let actor = Actor::new(principal.id().as_str(), tenant)
            .with_clearance(principal.clearance())
            .with_request_id(format!("dsr:{id}"));
        // Only a request that may run is checked: another state is the register's refusal.
        if matches!(
            request.state,
            RequestState::Verified | RequestState::InProgress
        ) {
            self.admit(requests, &request, &actor, &register_actor, &input)
                .await?;
        }
        if request.state != RequestState::InProgress {
            request = requests.start(tenant, id, &register_actor).await?;
        }
        let executed = self.execute(&request, principal, &actor, input, now).await;
        let (status, outcome, delivery) = match executed {
            // The data changed since `admit` read it: refused all the same, and recorded.
            Err(RunError::Store(Error::Rights(
                err @ RightsError::ClearanceInsufficient { .. },
            ))) => {
                return Err(self.refused(requests, &request, &register_actor, err).await);
            }
            other => other?,
        };
        let request = requests
            .finish(
                tenant,
                id,
                Finish {
                    status,
                    outcome,
                    note: None,
                },
                &register_actor,
            )
            .await?;
        Ok(Executed { request, delivery })
    }

    /// The checks before a run changes anything: the four-eyes rule (the runner is not the
    /// verifier, for the types it covers, unless overridden with a reason) and the runner's
    /// clearance against what the right returns or changes (`clearance.rs`). A refusal is
    /// recorded in the request's history and the audit log (`request.refused`, the code as
    /// reason) and leaves the request's state as it was.
    async fn admit(
        &self,
        requests: &Requests,
        request: &DsrRequest,
        actor: &Actor,
        register_actor: &requests::Actor,
        input: &RunInput,
    ) -> Result<()> {
        let tenant = actor.tenant;
        let runner = actor.principal.as_str();
        if !requests.four_eyes().allows(
            request.request_type,
            request.verified_by.as_deref(),
            runner,
        ) {
            if let Some(reason) = &input.four_eyes_override {
                requests
                    .override_four_eyes(tenant, request.id, reason.clone(), register_actor)
                    .await?;
            } else {
                let err = RightsError::FourEyesRequired {
                    request_type: request.request_type.as_str(),
                    runner: runner.to_owned(),
                };
                return Err(self.refused(requests, request, register_actor, err).await);
            }
        }
        let checked = match request.request_type {
            RequestType::Access | RequestType::Portability | RequestType::Erasure => {
                let reach = match request.request_type {
                    RequestType::Access => Reach::Access,
                    RequestType::Portability => Reach::Portability,
                    _ => Reach::Erasure,
                };
                let ids = super::uuids(&request.subjects);
                let fetched = rows_of(&self.records, actor, &ids).await?;
                check_cap(self.records.catalog(), actor, reach, &fetched, &ids)
            }
            RequestType::Rectification => {
                let catalog = self.records.catalog();
                let mut shortfall = Shortfall::new(cap(catalog, actor));
                for correction in &input.corrections {
                    if let Some(collection) = catalog.collection(&correction.collection) {
                        for name in correction.fields.keys() {
                            shortfall.field(collection, name);
                        }
                    }
                }
                shortfall.into_result().map_err(Error::from)
            }
            _ => Ok(()),
        };
        match checked {
            Err(Error::Rights(err @ RightsError::ClearanceInsufficient { .. })) => {
                Err(self.refused(requests, request, register_actor, err).await)
            }
            other => Ok(other?),
        }
    }

    /// Records the refusal `err` of a run in the register (with the field names a clearance
    /// refusal concerns) and returns it, or the register's error if recording failed.
    async fn refused(
        &self,
        requests: &Requests,
        request: &DsrRequest,
        register_actor: &requests::Actor,
        err: RightsError,
    ) -> RunError {
        let fields = match &err {
            RightsError::ClearanceInsufficient { fields, .. } => fields.clone(),
            _ => Vec::new(),
        };
        // The message names levels, principals and field names, never values.
        let text: String = err.to_string().chars().take(MAX_REASON_LEN).collect();
        let Ok(note) = Reason::parse(&text) else {
            return RunError::from(err);
        };
        match requests
            .refuse_run(
                request.tenant,
                request.id,
                err.code(),
                note,
                &fields,
                register_actor,
            )
            .await
        {
            Ok(_) => RunError::from(err),
            Err(register) => RunError::Request(register),
        }
    }

    /// Carries out the request's right; returns how it ended, its outcome (no personal
    /// values) and what to deliver.
    async fn execute(
        &self,
        request: &DsrRequest,
        principal: &Principal,
        actor: &Actor,
        input: RunInput,
        now: OffsetDateTime,
    ) -> Result<(FinishStatus, Value, Delivery)> {
        let subjects = &request.subjects;
        let request_id = actor.request_id.as_deref();
        let controls = Controls::new(self.records.clone());
        let done = FinishStatus::Completed;
        Ok(match request.request_type {
            RequestType::Access => {
                let report = self.access(actor, subjects).await?;
                let outcome = json!({
                    "records": report.record_count(),
                    "collections": report.collections.iter().map(|c| json!({
                        "collection": c.collection,
                        "records": c.records.len(),
                    })).collect::<Vec<_>>(),
                });
                (done, outcome, Delivery::Access(Box::new(report)))
            }
            RequestType::Portability => {
                let export = self.portability(actor, subjects).await?;
                let outcome = json!({
                    "included": export.included,
                    "excluded": export.excluded,
                });
                (done, outcome, Delivery::Portability(Box::new(export)))
            }
            RequestType::Rectification => {
                let outcome = self.rectify(actor, subjects, &input.corrections).await?;
                (done, outcome_json(&outcome)?, Delivery::Nothing)
            }
            RequestType::Erasure => {
                let outcome = self.erase(actor, subjects, now).await?;
                // What archive duty keeps stays restricted in the register too, so the
                // restriction shows on the subject and lifts only by a request. The person's
                // own record may just have been erased: the register takes them anyway.
                let kept = !outcome.archived.is_empty();
                if kept {
                    controls
                        .restrict_archived(principal, &outcome.archived, request_id)
                        .await?;
                }
                let status = if outcome.complete && !kept {
                    done
                } else {
                    FinishStatus::PartiallyCompleted
                };
                (status, outcome_json(&outcome)?, Delivery::Nothing)
            }
            RequestType::Restriction => {
                let params = &request.parameters;
                let (action, records) = if params.lift {
                    let records = controls
                        .lift_restriction(principal, subjects, request_id)
                        .await?;
                    ("lifted", records)
                } else {
                    let ground = params.ground.ok_or(RightsError::NoGround)?;
                    let records = controls
                        .restrict(principal, subjects, ground, request_id)
                        .await?;
                    ("restricted", records)
                };
                let outcome =
                    json!({ "action": action, "records": records, "ground": params.ground });
                (done, outcome, Delivery::Nothing)
            }
            RequestType::Objection => {
                let params = &request.parameters;
                let purposes = purposes(&params.purposes)?;
                let purposes = (!purposes.is_empty()).then_some(purposes.as_slice());
                let (action, changed) = if params.lift {
                    let n = controls
                        .lift_objection(principal, subjects, purposes, request_id)
                        .await?;
                    ("lifted", n)
                } else {
                    let n = controls
                        .object(principal, subjects, purposes, request_id)
                        .await?;
                    ("upheld", n)
                };
                let outcome = json!({
                    "action": action,
                    "objections": changed,
                    "purposes": if params.purposes.is_empty() {
                        json!("every purpose based on Art. 6(1)(e) or (f)")
                    } else {
                        json!(params.purposes)
                    },
                });
                (done, outcome, Delivery::Nothing)
            }
            other => return Err(RightsError::NotExecutable(other.as_str()).into()),
        })
    }
}

/// The objection's purposes as ids.
fn purposes(names: &[String]) -> Result<Vec<PurposeId>> {
    names
        .iter()
        .map(|name| {
            PurposeId::parse(name).map_err(|_| RightsError::UnknownPurpose(name.clone()).into())
        })
        .collect()
}

/// An outcome as the JSON the register stores.
fn outcome_json(outcome: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(outcome).map_err(|err| RightsError::Export(err.to_string()).into())
}
