//! Consent for the purposes that rest on it (GDPR Art. 6(1)(a), and Art. 9(2)(a) for special
//! categories): what one grant or withdrawal records, and a subject's current state, folded
//! from the history of those events.
//!
//! The history is append-only (Art. 7(1): the controller must be able to *demonstrate*
//! consent, so a withdrawal is a new event, never an edit). Each event names the version of
//! the privacy notice the person was shown, the channel, the time, who recorded it and,
//! where there is one, a reference to the evidence (the id of the signed form or message,
//! never its content). A catalog can require that grants are recorded only by principals
//! with a role ([`check_recorder`]). The
//! state of a (subject, purpose) pair is its latest event: granted after a grant, not granted
//! after a withdrawal or with no event at all. Withdrawal takes effect from the next request
//! (Art. 7(3)); it does not make earlier processing unlawful.
//!
//! ```
//! use datavern_core::catalog::Catalog;
//! use datavern_core::consent::{self, ConsentAction, ConsentChannel, ConsentEvent, NoticeVersion};
//! use datavern_core::access::ConsentState;
//!
//! let catalog = Catalog::from_yaml(include_str!("../../../examples/kommune.yaml"))?;
//! let purpose = consent::consent_purpose(&catalog, "nyhetsbrev")?.id().clone();
//! let at = "2026-03-01T10:00:00Z".parse()?;
//! let granted = ConsentEvent::new(
//!     purpose.clone(),
//!     ConsentAction::Grant,
//!     Some(NoticeVersion::parse("2026-01")?),
//!     ConsentChannel::Web,
//!     at,
//!     "minside",
//! )?;
//! let history = [granted];
//! assert_eq!(consent::state(&history, &purpose), ConsentState::Granted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::Serialize;

use crate::access::{ConsentState, Principal};
use crate::catalog::{Catalog, Purpose, PurposeId};

/// The longest notice version, recorder and channel name accepted.
const MAX_LABEL_LEN: usize = 64;
/// The longest evidence reference accepted, in bytes.
pub const MAX_EVIDENCE_REF_LEN: usize = 128;

/// Whether an event gives or takes back consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// The subject consents to the purpose.
    Grant,
    /// The subject withdraws an earlier consent.
    Withdraw,
}

/// How the subject gave or withdrew consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentChannel {
    /// A web form (e.g. the municipality's self-service pages).
    Web,
    /// A mobile app.
    App,
    /// A signed paper form.
    Paper,
    /// By telephone, recorded by an employee.
    Phone,
    /// In person at a service desk, recorded by an employee.
    InPerson,
    /// By e-mail.
    Email,
    /// Another system, through the API.
    Api,
}

/// The version of the privacy notice the subject was shown: 1 to 64 characters of letters,
/// digits, `.`, `-` and `_` (e.g. `2026-01`, `v3.1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NoticeVersion(String);

/// Where the proof of a consent is kept: the id of the signed form, the message or the
/// recording in the system that keeps it (`skjema:2026/4711`, a UUID), 1 to 128 ASCII
/// letters, digits and `.` `-` `_` `:` `/` `#`, with no run of exactly 11 digits (the shape
/// of a fødselsnummer). It points at the evidence; it never holds personal data itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EvidenceRef(String);

/// One grant or withdrawal, as recorded: immutable once stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    purpose: PurposeId,
    action: ConsentAction,
    notice_version: Option<NoticeVersion>,
    channel: ConsentChannel,
    at: Timestamp,
    recorded_by: String,
    evidence: Option<EvidenceRef>,
}

/// Why a consent event or purpose was refused. Messages name purposes and versions, never a
/// subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// The catalog has no such purpose.
    #[error("unknown purpose `{0}`")]
    UnknownPurpose(String),
    /// The purpose rests on another lawful basis: consent is neither needed nor recorded.
    #[error(
        "purpose `{purpose}` rests on {basis}, not consent: consent is recorded only for purposes \
         whose lawful basis is 6(1)(a)"
    )]
    NotConsentBased {
        /// The purpose.
        purpose: String,
        /// Its lawful basis, e.g. `6(1)(e) (public task)`.
        basis: String,
    },
    /// A grant must say which privacy notice the subject was shown (Art. 7(1), 13).
    #[error("a grant must name the version of the privacy notice the subject was shown")]
    MissingNoticeVersion,
    /// A notice version outside the accepted form.
    #[error(
        "notice version must be 1 to {MAX_LABEL_LEN} letters, digits, `.`, `-` or `_` \
         (e.g. `2026-01`)"
    )]
    InvalidNoticeVersion,
    /// A channel name that is not one of the known channels.
    #[error("unknown channel `{0}`: use web, app, paper, phone, in_person, email or api")]
    UnknownChannel(String),
    /// An action other than `grant` or `withdraw`.
    #[error("unknown action `{0}`: use grant or withdraw")]
    UnknownAction(String),
    /// Who recorded the event must be named (a principal id, 1 to 64 characters).
    #[error("recorded_by must name who recorded the event (1 to {MAX_LABEL_LEN} characters)")]
    InvalidRecorder,
    /// A time that is not RFC 3339, or out of range.
    #[error("the time must be RFC 3339 with an offset, e.g. 2026-03-01T10:00:00Z")]
    InvalidTime,
    /// An evidence reference outside the accepted form.
    #[error(
        "evidence_ref must be 1 to {MAX_EVIDENCE_REF_LEN} ASCII letters, digits, `.`, `-`, `_`, \
         `:`, `/` or `#`, naming the signed form or message (e.g. skjema:2026/4711), never \
         personal data such as a fødselsnummer"
    )]
    InvalidEvidence,
    /// The catalog requires a role to record grants for the purpose, and the recorder lacks
    /// it.
    #[error(
        "recording a grant of consent to purpose `{purpose}` needs the role `{role}` (the \
         catalog's consent.recorder_role): consents are recorded by those who collected them"
    )]
    RecorderRoleRequired {
        /// The purpose.
        purpose: String,
        /// The role the catalog requires.
        role: String,
    },
}

/// Checks that `principal` may record `action` for `purpose`: a grant needs the purpose's
/// `consent.recorder_role` if the catalog names one. Withdrawals are never held back by
/// role: withdrawing must be as easy as giving consent (Art. 7(3)), and a withdrawal
/// recorded in error stops processing rather than starting it.
pub fn check_recorder(
    purpose: &Purpose,
    action: ConsentAction,
    principal: &Principal,
) -> Result<(), ConsentError> {
    match (action, purpose.consent_recorder_role()) {
        (ConsentAction::Grant, Some(role)) if !principal.has_role(role.as_str()) => {
            Err(ConsentError::RecorderRoleRequired {
                purpose: purpose.id().to_string(),
                role: role.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// Parses the time of an event: RFC 3339 with an offset (`2026-03-01T10:00:00Z`), kept to
/// the microsecond (what every backend stores).
pub fn parse_time(text: &str) -> Result<Timestamp, ConsentError> {
    let at: Timestamp = text.trim().parse().map_err(|_| ConsentError::InvalidTime)?;
    time_from_micros(at.as_microsecond())
}

/// The instant `micros` microseconds after the Unix epoch.
pub fn time_from_micros(micros: i64) -> Result<Timestamp, ConsentError> {
    Timestamp::from_microsecond(micros).map_err(|_| ConsentError::InvalidTime)
}

/// The catalog's purpose `id`, if its lawful basis is consent: the only purposes for which
/// consent is recorded and checked.
pub fn consent_purpose<'c>(catalog: &'c Catalog, id: &str) -> Result<&'c Purpose, ConsentError> {
    let purpose = catalog
        .purpose(id)
        .ok_or_else(|| ConsentError::UnknownPurpose(id.to_owned()))?;
    let basis = purpose.lawful_basis();
    if !basis.is_consent() {
        return Err(ConsentError::NotConsentBased {
            purpose: id.to_owned(),
            basis: format!("{} ({})", basis.article(), basis.name()),
        });
    }
    Ok(purpose)
}

/// The current state of consent to `purpose` given a subject's history (any order): the
/// latest event decides; with none, consent was never given. Of two events at the same
/// instant the later one in `history` wins, so a store that returns its rows in insertion
/// order gets the right answer for a grant and a withdrawal recorded in the same microsecond.
pub fn state(history: &[ConsentEvent], purpose: &PurposeId) -> ConsentState {
    let latest = history
        .iter()
        .enumerate()
        .filter(|(_, event)| &event.purpose == purpose)
        .max_by_key(|(position, event)| (event.at, *position));
    match latest {
        Some((_, event)) if event.action == ConsentAction::Grant => ConsentState::Granted,
        _ => ConsentState::NotGranted,
    }
}

impl ConsentEvent {
    /// An event: a grant must name the notice version; `recorded_by` is the principal who
    /// recorded it (1 to 64 characters).
    pub fn new(
        purpose: PurposeId,
        action: ConsentAction,
        notice_version: Option<NoticeVersion>,
        channel: ConsentChannel,
        at: Timestamp,
        recorded_by: &str,
    ) -> Result<ConsentEvent, ConsentError> {
        if action == ConsentAction::Grant && notice_version.is_none() {
            return Err(ConsentError::MissingNoticeVersion);
        }
        let recorded_by = recorded_by.trim();
        if recorded_by.is_empty()
            || recorded_by.chars().count() > MAX_LABEL_LEN
            || recorded_by.chars().any(char::is_control)
        {
            return Err(ConsentError::InvalidRecorder);
        }
        Ok(ConsentEvent {
            purpose,
            action,
            notice_version,
            channel,
            at,
            recorded_by: recorded_by.to_owned(),
            evidence: None,
        })
    }

    /// The same event with a reference to its evidence.
    pub fn with_evidence(mut self, evidence: EvidenceRef) -> ConsentEvent {
        self.evidence = Some(evidence);
        self
    }

    /// Where the evidence of the consent is kept, if recorded.
    pub fn evidence(&self) -> Option<&EvidenceRef> {
        self.evidence.as_ref()
    }

    /// The purpose consented to.
    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }

    /// Grant or withdrawal.
    pub fn action(&self) -> ConsentAction {
        self.action
    }

    /// The privacy notice version shown (always present on a grant).
    pub fn notice_version(&self) -> Option<&NoticeVersion> {
        self.notice_version.as_ref()
    }

    /// How it was given or withdrawn.
    pub fn channel(&self) -> ConsentChannel {
        self.channel
    }

    /// When.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// Who recorded it.
    pub fn recorded_by(&self) -> &str {
        &self.recorded_by
    }
}

impl NoticeVersion {
    /// Checks the form: 1 to 64 characters of ASCII letters, digits, `.`, `-` and `_`.
    pub fn parse(input: &str) -> Result<NoticeVersion, ConsentError> {
        let ok = !input.is_empty()
            && input.len() <= MAX_LABEL_LEN
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if ok {
            Ok(NoticeVersion(input.to_owned()))
        } else {
            Err(ConsentError::InvalidNoticeVersion)
        }
    }

    /// The version as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl EvidenceRef {
    /// Checks the form (see [`EvidenceRef`]); surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<EvidenceRef, ConsentError> {
        let input = input.trim();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b".-_:/#".contains(&b);
        let ok = !input.is_empty()
            && input.len() <= MAX_EVIDENCE_REF_LEN
            && input.bytes().all(allowed)
            && !input
                .split(|c: char| !c.is_ascii_digit())
                .any(|run| run.len() == 11);
        if ok {
            Ok(EvidenceRef(input.to_owned()))
        } else {
            Err(ConsentError::InvalidEvidence)
        }
    }

    /// The reference as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NoticeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConsentAction {
    /// The stored and wire name: `grant` or `withdraw`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::Grant => "grant",
            ConsentAction::Withdraw => "withdraw",
        }
    }
}

impl ConsentChannel {
    /// Every channel.
    pub const ALL: [ConsentChannel; 7] = [
        ConsentChannel::Web,
        ConsentChannel::App,
        ConsentChannel::Paper,
        ConsentChannel::Phone,
        ConsentChannel::InPerson,
        ConsentChannel::Email,
        ConsentChannel::Api,
    ];

    /// The stored and wire name, e.g. `in_person`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentChannel::Web => "web",
            ConsentChannel::App => "app",
            ConsentChannel::Paper => "paper",
            ConsentChannel::Phone => "phone",
            ConsentChannel::InPerson => "in_person",
            ConsentChannel::Email => "email",
            ConsentChannel::Api => "api",
        }
    }
}

impl FromStr for ConsentChannel {
    type Err = ConsentError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        ConsentChannel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == input)
            .ok_or_else(|| {
                let shown: String = input.chars().take(MAX_LABEL_LEN).collect();
                ConsentError::UnknownChannel(shown)
            })
    }
}

impl FromStr for ConsentAction {
    type Err = ConsentError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "grant" => Ok(ConsentAction::Grant),
            "withdraw" => Ok(ConsentAction::Withdraw),
            _ => Err(ConsentError::UnknownAction(
                input.chars().take(MAX_LABEL_LEN).collect(),
            )),
        }
    }
}
