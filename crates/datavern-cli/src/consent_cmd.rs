//! `datavern consent grant|withdraw|show`: record a data subject's consent (given on paper,
//! by phone, at the service desk) and show their consent history, through the same register
//! the API uses (`datavern_governance::controls::Controls`), audited and announced in the outbox.
//!
//! The database is found as `serve` finds it (`--data-dir`, `--config`, `DATAVERN_`
//! environment). `--recorded-by` names the employee or system that recorded the consent: it
//! is the principal in the audit entry. `--evidence-ref` names where the proof is kept (the
//! signed form's id). Whoever runs the command holds the database and its key, so the command
//! records as the purpose's `consent.recorder_role` when the catalog names one: the role rule
//! is for the API's principals. Exit codes: 0 done, 2 refused or failed (the reason on
//! stderr).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use datavern_core::access::{ConsentState, Principal, PrincipalId};
use datavern_core::catalog::{Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::consent::{
    self, ConsentAction, ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion,
};
use datavern_store::{RequestMeta, SubjectId};

use crate::governed::{Governed, Missing};
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{Parser, from_str, typed};

/// `datavern consent …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ConsentCommand {
    /// Record that the subject gave consent to a purpose that rests on consent.
    Grant(RecordArgs),
    /// Record that the subject withdrew consent; the next request for the purpose is refused.
    Withdraw(RecordArgs),
    /// Print the subject's consent history and current state per purpose.
    Show(ShowArgs),
}

/// Arguments of `datavern consent grant` and `withdraw`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The data subject: the person's record id.
    #[arg(long, value_name = "ID", value_parser = typed(SubjectId::parse))]
    subject: SubjectId,
    /// The purpose (its lawful basis must be consent), e.g. `nyhetsbrev`.
    #[arg(long, value_name = "PURPOSE", value_parser = typed(PurposeId::parse))]
    purpose: PurposeId,
    /// The privacy notice version the person was shown (required for grant).
    #[arg(long, value_name = "VERSION", value_parser = typed(NoticeVersion::parse))]
    notice_version: Option<NoticeVersion>,
    /// How it was given.
    #[arg(long, value_name = "CHANNEL", value_parser = channel())]
    channel: ConsentChannel,
    /// When the person gave or withdrew it (RFC 3339) [default: now].
    #[arg(long, value_name = "TIME", value_parser = typed(consent::parse_time))]
    occurred_at: Option<jiff::Timestamp>,
    /// Who records it (an employee's or system's id, as in the audit log).
    #[arg(long, value_name = "ID", value_parser = typed(PrincipalId::parse))]
    recorded_by: PrincipalId,
    /// Where the evidence is kept: the id of the signed form or message (never personal
    /// data), e.g. `skjema:2026/4711`.
    #[arg(long, value_name = "REF", value_parser = typed(EvidenceRef::parse))]
    evidence_ref: Option<EvidenceRef>,
    /// The tenant (kommunenummer) [default: the catalog's only tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
}

/// `--channel`: how a consent was given or withdrawn.
fn channel() -> Parser<ConsentChannel, consent::ConsentError> {
    from_str::<ConsentChannel>().values(ConsentChannel::ALL.map(ConsentChannel::as_str))
}

/// Arguments of `datavern consent show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The data subject: the person's record id.
    #[arg(long, value_name = "ID", value_parser = typed(SubjectId::parse))]
    subject: SubjectId,
    /// Who asks (as in the audit log).
    #[arg(long, value_name = "ID", default_value = "cli", value_parser = typed(PrincipalId::parse))]
    recorded_by: PrincipalId,
    /// The tenant (kommunenummer) [default: the catalog's only tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
}

pub(crate) async fn run(command: ConsentCommand) -> anyhow::Result<ExitCode> {
    let settings_args = match &command {
        ConsentCommand::Grant(args) | ConsentCommand::Withdraw(args) => &args.settings,
        ConsentCommand::Show(args) => &args.settings,
    };
    let settings = Settings::load(settings_args, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    let opened = Opened::open(&settings).await?;
    let result = match command {
        ConsentCommand::Grant(args) => record(&opened, ConsentAction::Grant, args).await,
        ConsentCommand::Withdraw(args) => record(&opened, ConsentAction::Withdraw, args).await,
        ConsentCommand::Show(args) => show(&opened, args).await,
    };
    opened.close().await?;
    result
}

/// The store with the catalog applied and the audit log recording.
struct Opened {
    governed: Governed,
}

impl Opened {
    async fn open(settings: &Settings) -> anyhow::Result<Opened> {
        let governed = Governed::open(settings, Missing::Refuse).await?;
        Ok(Opened { governed })
    }

    /// Seals what was written into the audit chain and closes the store.
    async fn close(self) -> anyhow::Result<()> {
        self.governed.close().await
    }

    /// `recorded_by` acting for the tenant given, or the catalog's only one.
    fn principal(
        &self,
        tenant: Option<Kommunenummer>,
        recorded_by: &PrincipalId,
    ) -> anyhow::Result<Principal> {
        let tenant = match tenant {
            Some(tenant) => tenant,
            None => match self.governed.catalog().deployment().tenants() {
                [only] => only.kommunenummer(),
                _ => bail!("the catalog serves several tenants: give --tenant"),
            },
        };
        if self
            .governed
            .catalog()
            .deployment()
            .tenant(&tenant)
            .is_none()
        {
            bail!("--tenant {tenant}: the catalog does not serve this tenant");
        }
        Ok(Principal::new(
            recorded_by.clone(),
            tenant,
            Classification::Apen,
        ))
    }
}

async fn record(
    opened: &Opened,
    action: ConsentAction,
    args: RecordArgs,
) -> anyhow::Result<ExitCode> {
    let principal = opened.principal(args.tenant, &args.recorded_by)?;
    let subject = args.subject;
    let declared = consent::consent_purpose(opened.governed.catalog(), args.purpose.as_str())?;
    let principal = principal.with_roles(declared.consent_recorder_role().cloned());
    let purpose = declared.id().clone();
    let evidence = args.evidence_ref;
    let notice = args.notice_version;
    let channel = args.channel;
    let at = match args.occurred_at {
        Some(at) => at,
        None => consent::time_from_micros(opened.governed.store().now().as_micros())?,
    };
    let event = ConsentEvent::new(
        purpose,
        action,
        notice,
        channel,
        at,
        args.recorded_by.as_str(),
    )?;
    let event = match evidence {
        Some(evidence) => event.with_evidence(evidence),
        None => event,
    };
    let stored = opened
        .governed
        .governance
        .controls()
        .record_consent(&principal, subject, &event, &RequestMeta::new())
        .await
        .map_err(|err| anyhow!("{err}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "recorded {} of consent to `{}` for subject {} (event {})",
        action.as_str(),
        event.purpose(),
        subject,
        stored.id
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn show(opened: &Opened, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let principal = opened.principal(args.tenant, &args.recorded_by)?;
    let subject = args.subject;
    let register = opened
        .governed
        .governance
        .controls()
        .consents(&principal, subject, None, &RequestMeta::new())
        .await
        .map_err(|err| anyhow!("{err}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "subject {subject}")?;
    writeln!(out, "current:")?;
    if register.current.is_empty() {
        writeln!(out, "  (no consent recorded)")?;
    }
    for current in &register.current {
        let state = match current.state {
            ConsentState::Granted => "granted",
            _ => "not_granted",
        };
        writeln!(out, "  {:<24} {state}", current.purpose.as_str())?;
    }
    writeln!(out, "history:")?;
    for stored in &register.history {
        let event = &stored.event;
        writeln!(
            out,
            "  {}  {:<8} {:<24} notice {:<12} via {:<9} by {} evidence {}",
            event.at(),
            event.action().as_str(),
            event.purpose().as_str(),
            event.notice_version().map_or("-", |v| v.as_str()),
            event.channel().as_str(),
            event.recorded_by(),
            event.evidence().map_or("-", |e| e.as_str()),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
