//! The states of a request and the moves between them.

use std::fmt;
use std::str::FromStr;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RequestState {
    /// Received and recorded; the deadline runs from here. The requester's identity is not
    /// yet verified.
    Received,
    /// The requester's identity is verified (Art. 12(6)); the request may be run.
    Verified,
    /// Being carried out.
    InProgress,
    /// Carried out in full.
    Completed,
    /// Carried out in part (e.g. erasure answered with restriction for records under an
    /// archival duty, Art. 17(3)(b)/(d)); the outcome says which part.
    PartiallyCompleted,
    /// Refused, with a recorded reason (Art. 12(4): the subject must be told why).
    Rejected,
}

/// A move from one state to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transition {
    /// received → verified: the requester's identity is established.
    Verify,
    /// verified → in progress: the request is being carried out.
    Start,
    /// in progress → completed.
    Complete,
    /// in progress → partially completed.
    CompletePartially,
    /// received, verified or in progress → rejected.
    Reject,
}

/// A move the current state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot be {}; {}", transition.past_tense(), from.allowed())]
pub struct IllegalTransition {
    /// The state the request is in.
    pub from: RequestState,
    /// The move asked for.
    pub transition: Transition,
}

/// Not a state's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown request state: use received, verified, in_progress, completed, \
     partially_completed or rejected"
)]
pub struct UnknownState;

impl RequestState {
    /// Every state, in lifecycle order.
    pub const ALL: [RequestState; 6] = [
        RequestState::Received,
        RequestState::Verified,
        RequestState::InProgress,
        RequestState::Completed,
        RequestState::PartiallyCompleted,
        RequestState::Rejected,
    ];

    /// The states a request ends in.
    pub const FINAL: [RequestState; 3] = [
        RequestState::Completed,
        RequestState::PartiallyCompleted,
        RequestState::Rejected,
    ];

    /// The stored name: `received`, `verified`, `in_progress`, `completed`,
    /// `partially_completed`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Verified => "verified",
            RequestState::InProgress => "in_progress",
            RequestState::Completed => "completed",
            RequestState::PartiallyCompleted => "partially_completed",
            RequestState::Rejected => "rejected",
        }
    }

    /// Whether the request has ended (completed, partially completed or rejected).
    pub fn is_final(self) -> bool {
        RequestState::FINAL.contains(&self)
    }

    /// The state `transition` leads to from this one, or why it may not be taken.
    pub fn apply(self, transition: Transition) -> Result<RequestState, IllegalTransition> {
        use RequestState as S;
        use Transition as T;
        let to = match (self, transition) {
            (S::Received, T::Verify) => S::Verified,
            (S::Verified, T::Start) => S::InProgress,
            (S::InProgress, T::Complete) => S::Completed,
            (S::InProgress, T::CompletePartially) => S::PartiallyCompleted,
            (S::Received | S::Verified | S::InProgress, T::Reject) => S::Rejected,
            (from, transition) => return Err(IllegalTransition { from, transition }),
        };
        Ok(to)
    }

    /// What may happen next, in words, for error messages.
    fn allowed(self) -> &'static str {
        match self {
            RequestState::Received => "verify the requester's identity first, or reject it",
            RequestState::Verified => "run it, or reject it",
            RequestState::InProgress => "finish it (completed or partially completed) or reject it",
            RequestState::Completed | RequestState::PartiallyCompleted | RequestState::Rejected => {
                "it has ended; create a new request if the subject asks again"
            }
        }
    }
}

/// What happened to a request, as its history and the audit log record it: a move between
/// states, or an event that leaves the state as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestEvent {
    /// The request was received (created).
    Received,
    /// The requester's identity was verified.
    Verified,
    /// The run began.
    Started,
    /// The run completed.
    Completed,
    /// The run completed in part (archive duty, a legal hold).
    PartiallyCompleted,
    /// The request was rejected.
    Rejected,
    /// The due date was extended.
    Extended,
    /// A run was refused (the state is unchanged).
    Refused,
    /// The four-eyes rule was overridden for a run (CLI).
    FourEyesOverridden,
}

impl RequestEvent {
    /// The stable name, as stored in the request history (`verified`, `four_eyes_overridden`…).
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestEvent::Received => "received",
            RequestEvent::Verified => "verified",
            RequestEvent::Started => "started",
            RequestEvent::Completed => "completed",
            RequestEvent::PartiallyCompleted => "partially_completed",
            RequestEvent::Rejected => "rejected",
            RequestEvent::Extended => "extended",
            RequestEvent::Refused => "refused",
            RequestEvent::FourEyesOverridden => "four_eyes_overridden",
        }
    }
}

impl fmt::Display for RequestEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Transition {
    /// The event the move records.
    pub fn event(self) -> RequestEvent {
        match self {
            Transition::Verify => RequestEvent::Verified,
            Transition::Start => RequestEvent::Started,
            Transition::Complete => RequestEvent::Completed,
            Transition::CompletePartially => RequestEvent::PartiallyCompleted,
            Transition::Reject => RequestEvent::Rejected,
        }
    }

    fn past_tense(self) -> &'static str {
        match self {
            Transition::Verify => "verified",
            Transition::Start => "started",
            Transition::Complete => "completed",
            Transition::CompletePartially => "partially completed",
            Transition::Reject => "rejected",
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or(UnknownState)
    }
}
