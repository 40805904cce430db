//! `datavern request create|list|show|verify|extend|reject|run`: data subject requests from
//! the command line, for the data protection officer.
//!
//! Thin: each command opens the governed store as `demo digest` does (`--data-dir`,
//! `--config`, `DATAVERN_` environment; the data directory's key file must exist), calls
//! `datavern_governance::requests::Requests` (and, for `run`, `datavern_server::run_request`, the
//! entry point the HTTP route runs a request through), and prints a table or, with `--json`,
//! the API's JSON. Every step is audited with `--actor` as the principal, and so is every
//! refusal the API would audit (`request.refused`, through `datavern_server::audit_refusal`). The four-eyes rule
//! holds here too: `run` by the actor who verified an erasure or rectification is refused
//! unless `--four-eyes-override REASON` is given, which the request's history and the audit
//! log record (the CLI's actor names are asserted, not authenticated: whoever runs it holds
//! the database and the key file). Exit codes: 0 done (also a request only partially
//! completed: its outcome says why), 1 refused (unknown request or subject, a step the state
//! does not allow, a refused extension, a right that could not be carried out), 2 usage or
//! I/O error (a value clap refuses included), or the database unavailable. A refusal and a
//! failure are told apart as the API tells them: what it answers with a 4xx exits 1, a 5xx
//! exits 2.
//!
//! A fødselsnummer is read from standard input (`--fodselsnummer-stdin`), never from the
//! command line, where process lists and shell history would keep it.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use datavern_core::access::{Principal, PrincipalId};
use datavern_core::catalog::{FieldName, Kommunenummer, PurposeId};
use datavern_core::clock::{Clock, ManualClock, SystemClock};
use datavern_core::controls::{RestrictionReason, UnknownRestrictionReason};
use datavern_core::dsr::{
    EvidenceRef, Parameters, Reason, RequestState, RequestType, SubjectIdentifier,
    UnknownRequestType, UnknownState, UnknownVerificationMethod, Verification, VerificationMethod,
};
use datavern_governance::requests::{
    Actor, DsrRequest, NewRequest, RequestError, RequestFilter, Requests, ResolveError,
    SubjectResolver,
};
use datavern_governance::rights::{
    Correction, Delivery, Executed, Rights, RightsError, RunError, RunInput,
};
use datavern_server::error::{ApiError, Code};
use datavern_server::wire::request::{RequestJson, RequestPage};
use datavern_store::RequestMeta;
use datavern_store::records::Cursor;
use uuid::Uuid;

use crate::governed::{Governed, Missing};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{Parser, from_str, typed};

/// `datavern request …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RequestCommand {
    /// Record a data subject request received now (due one calendar month from today).
    Create(CreateArgs),
    /// List the tenant's requests, oldest first.
    List(ListArgs),
    /// Show one request with its deadline and history.
    Show(IdArgs),
    /// Record that the requester's identity is verified.
    Verify(VerifyArgs),
    /// Extend the deadline by 1 or 2 months, with a reason (before the original due date).
    Extend(ExtendArgs),
    /// Reject the request, with a reason.
    Reject(RejectArgs),
    /// Run a verified request: carry out the right and finish the request.
    Run(RunArgs),
}

/// What every request command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant (kommunenummer) whose requests these are.
    #[arg(long, value_name = "KOMMUNENUMMER", value_parser = from_str::<Kommunenummer>())]
    tenant: Kommunenummer,
    /// Who does this, for the request's history and the audit log.
    #[arg(
        long,
        value_name = "PRINCIPAL",
        default_value = "cli",
        value_parser = typed(PrincipalId::parse),
    )]
    actor: PrincipalId,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Take this instant (RFC 3339) as now, for deadlines and the history (tests).
    #[arg(long, value_name = "TIME", hide = true, value_parser = timestamp())]
    now: Option<jiff::Timestamp>,
}

/// Arguments of `datavern request create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    common: Common,
    /// access, portability, rectification, erasure, restriction or objection.
    #[arg(long = "type", value_name = "TYPE", value_parser = request_type())]
    request_type: RequestType,
    /// The subject's id.
    #[arg(
        long,
        value_name = "UUID",
        conflicts_with = "fodselsnummer_stdin",
        value_parser = crate::typed::uuid(),
    )]
    subject_id: Option<Uuid>,
    /// Read the subject's fødselsnummer from the first line of standard input.
    #[arg(long)]
    fodselsnummer_stdin: bool,
    /// A field the request concerns (repeatable).
    #[arg(long = "field", value_name = "NAME", value_parser = typed(FieldName::parse))]
    fields: Vec<FieldName>,
    /// A purpose the request concerns, for an objection or a restriction (repeatable).
    #[arg(long = "purpose", value_name = "ID", value_parser = typed(PurposeId::parse))]
    purposes: Vec<PurposeId>,
    /// A restriction's ground of Art. 18(1): accuracy_contested, unlawful_processing,
    /// legal_claims or objection_pending.
    #[arg(long, value_name = "GROUND", conflicts_with = "lift", value_parser = ground())]
    ground: Option<RestrictionReason>,
    /// Lift the subject's restriction or objection instead of placing one.
    #[arg(long)]
    lift: bool,
}

/// Arguments of `datavern request list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Only requests in this state (repeatable).
    #[arg(long, value_name = "STATE", value_parser = state())]
    state: Vec<RequestState>,
    /// Only requests of this type.
    #[arg(long = "type", value_name = "TYPE", value_parser = request_type())]
    request_type: Option<RequestType>,
    /// Only open requests past their due date today.
    #[arg(long)]
    overdue: bool,
    /// Only requests due before this date (YYYY-MM-DD).
    #[arg(
        long,
        value_name = "DATE",
        value_parser = from_str::<jiff::civil::Date>().expected("must be a date, e.g. 2026-12-31"),
    )]
    due_before: Option<jiff::civil::Date>,
    /// Continue after this cursor (the `next_cursor` of the previous page).
    #[arg(long, value_parser = typed(Cursor::parse).expected("pass the next_cursor printed"))]
    cursor: Option<Cursor>,
    /// Requests per page (1 to 500).
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

/// A command on one request.
#[derive(Debug, clap::Args)]
pub(crate) struct IdArgs {
    #[command(flatten)]
    common: Common,
    /// The request's id.
    #[arg(
        value_parser = request_id(),
    )]
    id: Uuid,
}

/// Arguments of `datavern request run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    one: IdArgs,
    /// For a rectification: a JSON file with the corrections, `[{"collection": …,
    /// "record": …, "fields": {…}}]` (personal data: it is applied, not stored).
    #[arg(long, value_name = "FILE")]
    corrections: Option<std::path::PathBuf>,
    /// Where to write what the subject receives: the access report (JSON) or the
    /// portability export (a zip); required for those two types, refused for the others.
    /// Created (owner-only permissions) before the request runs; must not exist.
    #[arg(long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// Run an erasure or rectification that `--actor` verified themselves (the four-eyes
    /// rule refuses it otherwise), for this reason: recorded in the request's history and
    /// the audit log. For an operator alone at the console in an emergency; a second
    /// principal's `verify` is the normal way.
    #[arg(long, value_name = "REASON", value_parser = typed(Reason::parse))]
    four_eyes_override: Option<Reason>,
}

/// Arguments of `datavern request verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    one: IdArgs,
    /// How the identity was verified: id_porten, in_person, bankid, letter or other.
    #[arg(
        long,
        value_name = "METHOD",
        value_parser = method(),
    )]
    method: VerificationMethod,
    /// Where the evidence is kept: a case or document number (never personal data).
    #[arg(long, value_name = "REFERENCE", value_parser = typed(EvidenceRef::parse))]
    evidence: Option<EvidenceRef>,
}

/// Arguments of `datavern request extend`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExtendArgs {
    #[command(flatten)]
    one: IdArgs,
    /// 1 or 2.
    #[arg(long)]
    months: u8,
    /// Why (the subject must be told).
    #[arg(long, value_parser = typed(Reason::parse))]
    reason: Reason,
}

/// Arguments of `datavern request reject`.
#[derive(Debug, clap::Args)]
pub(crate) struct RejectArgs {
    #[command(flatten)]
    one: IdArgs,
    /// Why (the subject must be told).
    #[arg(long, value_parser = typed(Reason::parse))]
    reason: Reason,
}

/// `--type`: a request type, by its name.
fn request_type() -> Parser<RequestType, UnknownRequestType> {
    from_str::<RequestType>().values(RequestType::ALL.map(RequestType::as_str))
}

/// `--state`: a request's state, by its name.
fn state() -> Parser<RequestState, UnknownState> {
    from_str::<RequestState>().values(RequestState::ALL.map(RequestState::as_str))
}

/// `--ground`: a restriction's ground of Art. 18(1).
fn ground() -> Parser<RestrictionReason, UnknownRestrictionReason> {
    // `archive_duty` is the register's own, for an erasure answered with restriction.
    from_str::<RestrictionReason>().values(
        RestrictionReason::ALL
            .into_iter()
            .filter(|ground| *ground != RestrictionReason::ArchiveDuty)
            .map(RestrictionReason::as_str),
    )
}

/// A request's id.
fn request_id() -> Parser<Uuid, uuid::Error> {
    crate::typed::uuid().expected("must be a UUID, as `request create` printed it")
}

/// `--method`: how an identity was verified.
fn method() -> Parser<VerificationMethod, UnknownVerificationMethod> {
    from_str::<VerificationMethod>().values(VerificationMethod::ALL.map(VerificationMethod::as_str))
}

/// `--now`: an instant, RFC 3339.
fn timestamp() -> Parser<jiff::Timestamp, jiff::Error> {
    from_str::<jiff::Timestamp>().expected("must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z")
}

pub(crate) async fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    let common = match &command {
        RequestCommand::Create(args) => &args.common,
        RequestCommand::List(args) => &args.common,
        RequestCommand::Show(args) => &args.common,
        RequestCommand::Run(args) => &args.one.common,
        RequestCommand::Verify(args) => &args.one.common,
        RequestCommand::Extend(args) => &args.one.common,
        RequestCommand::Reject(args) => &args.one.common,
    };
    let tenant = common.tenant;
    let clock: Arc<dyn Clock> = match common.now {
        Some(now) => Arc::new(ManualClock::new(now)),
        None => Arc::new(SystemClock),
    };
    let actor = Actor {
        principal: common.actor.as_str().to_owned(),
        request_id: Some(format!("cli-{}", Uuid::now_v7())),
    };
    let json = common.json;
    let common_actor = common.actor.clone();
    let settings = SettingsArgs {
        config: common.settings.config.clone(),
        data_dir: common.settings.data_dir.clone(),
    };
    // Parse everything before the store is opened: a usage error touches nothing.
    let step = Step::parse(command, tenant)?;
    let settings = Settings::load(&settings, &Overrides::default())?;
    let governed = Governed::open_at(&settings, Missing::Refuse, clock).await?;
    let requests = governed.governance.requests().clone();
    let principal = Principal::new(
        common_actor,
        tenant,
        governed.catalog().deployment().accreditation(),
    );
    let opened = Opened {
        requests: &requests,
        rights: governed.governance.rights().clone(),
        principal,
    };
    let record = step.record();
    let outcome = step.run(&opened, tenant, &actor).await;
    // A refusal is audited as the API audits it, before the audit log is sealed.
    let audited = match &outcome {
        Err(Stopped::Refused(_, Some(answer))) => {
            let mut meta = RequestMeta::new();
            meta.request_id = actor.request_id.clone();
            datavern_server::audit_refusal(
                governed.store(),
                &requests,
                &opened.principal,
                &meta,
                record,
                answer,
            )
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "cannot record the refusal in the audit log: {}",
                    datavern_sql::report(&err)
                )
            })
        }
        _ => Ok(()),
    };
    governed.close().await?;
    audited?;
    match outcome {
        Ok(Shown::One(request)) => print_one(*request, requests.today(), json)?,
        Ok(Shown::Page(page)) => print_page(page, requests.today(), json)?,
        Ok(Shown::Ran(executed, output)) => {
            let delivered = match output {
                Some(output) => Some(output.deliver(&executed.delivery)?),
                None => None,
            };
            print_one(executed.request, requests.today(), json)?;
            if let (Some(path), false) = (delivered, json) {
                let mut out = std::io::stdout().lock();
                writeln!(out, "delivered {}", path.display())?;
                out.flush()?;
            }
        }
        Err(Stopped::Refused(message, _)) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("refused: {message}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(Stopped::Failed(err)) => return Err(err),
    }
    Ok(ExitCode::SUCCESS)
}

/// A parsed command, ready to run against the store.
enum Step {
    Create(NewRequestParts),
    /// The filter, and whether to list only requests overdue today (by the clock).
    List(RequestFilter, bool),
    Show(Uuid),
    Verify(Uuid, Verification),
    Extend(Uuid, u8, Reason),
    Reject(Uuid, Reason),
    Run(Uuid, RunInput, Option<Output>),
}

struct NewRequestParts {
    request_type: RequestType,
    identifier: SubjectIdentifier,
    parameters: Parameters,
}

enum Shown {
    One(Box<DsrRequest>),
    Page(datavern_store::records::Page<DsrRequest>),
    /// A request run, and the file to write what it delivers to.
    Ran(Box<Executed>, Option<Output>),
}

/// Why a step did not do what it was asked, judged as the API judges the same error
/// ([`ApiError`]): what the API answers with a 4xx is a refusal, exit 1; what it answers with
/// a 5xx (the database unavailable, an internal error) is a failure, exit 2.
enum Stopped {
    /// Refused: what to say, and the API's answer, by which the refusal is audited as the
    /// API audits it (none for this command's own refusals, such as a missing `--output`).
    Refused(String, Option<ApiError>),
    Failed(anyhow::Error),
}

impl Stopped {
    fn judged<E>(err: E) -> Stopped
    where
        E: std::error::Error + 'static,
        ApiError: From<E>,
    {
        // The register's and the executors' messages name ids, states, fields and levels,
        // never values.
        let refusal = err.to_string();
        let cause = datavern_sql::report(&err);
        let answer = ApiError::from(err);
        if answer.code().status().is_server_error() {
            Stopped::Failed(anyhow::anyhow!(cause))
        } else {
            Stopped::Refused(refusal, Some(answer))
        }
    }
}

impl From<RequestError> for Stopped {
    fn from(err: RequestError) -> Self {
        Stopped::judged(err)
    }
}

impl From<RunError> for Stopped {
    fn from(err: RunError) -> Self {
        Stopped::judged(err)
    }
}

impl From<ResolveError> for Stopped {
    fn from(err: ResolveError) -> Self {
        match err {
            ResolveError::Store(err) => Stopped::judged(err),
            other => {
                let refusal = other.to_string();
                let answer = ApiError::new(Code::SubjectNotResolvable, refusal.clone());
                Stopped::Refused(refusal, Some(answer))
            }
        }
    }
}

impl Step {
    /// The request this step is about, if it names one.
    fn record(&self) -> Option<Uuid> {
        match self {
            Step::Show(id)
            | Step::Verify(id, _)
            | Step::Extend(id, ..)
            | Step::Reject(id, _)
            | Step::Run(id, ..) => Some(*id),
            Step::Create(_) | Step::List(..) => None,
        }
    }

    fn parse(command: RequestCommand, tenant: Kommunenummer) -> anyhow::Result<Step> {
        Ok(match command {
            RequestCommand::Create(args) => {
                let request_type = args.request_type;
                let identifier = match (args.subject_id, args.fodselsnummer_stdin) {
                    (Some(id), false) => SubjectIdentifier::SubjectId(id),
                    (None, true) => {
                        let mut line = String::new();
                        std::io::stdin()
                            .lock()
                            .read_line(&mut line)
                            .context("cannot read the fødselsnummer from standard input")?;
                        SubjectIdentifier::national_id(line.trim())?
                    }
                    _ => bail!("name the subject with --subject-id or --fodselsnummer-stdin"),
                };
                let mut scope = serde_json::Map::new();
                if !args.fields.is_empty() {
                    scope.insert(
                        "fields".to_owned(),
                        serde_json::json!(
                            args.fields
                                .iter()
                                .map(FieldName::as_str)
                                .collect::<Vec<_>>()
                        ),
                    );
                }
                if !args.purposes.is_empty() {
                    scope.insert(
                        "purposes".to_owned(),
                        serde_json::json!(
                            args.purposes
                                .iter()
                                .map(PurposeId::as_str)
                                .collect::<Vec<_>>()
                        ),
                    );
                }
                if let Some(ground) = args.ground {
                    scope.insert("ground".to_owned(), serde_json::json!(ground.as_str()));
                }
                if args.lift {
                    scope.insert("lift".to_owned(), serde_json::json!(true));
                }
                let parameters =
                    Parameters::from_json(request_type, &serde_json::Value::Object(scope))
                        .map_err(|err| {
                            let flag = match err.pointer.split('/').nth(1) {
                                Some("fields") => "--field",
                                Some("purposes") => "--purpose",
                                Some("ground") => "--ground",
                                Some("lift") => "--lift",
                                _ => "parameters",
                            };
                            anyhow::anyhow!("{flag}: {}", err.problem)
                        })?;
                Step::Create(NewRequestParts {
                    request_type,
                    identifier,
                    parameters,
                })
            }
            RequestCommand::List(args) => {
                let mut filter = RequestFilter::new(tenant).limit(args.limit);
                for state in args.state {
                    filter = filter.state(state);
                }
                if let Some(t) = args.request_type {
                    filter = filter.request_type(t);
                }
                if let Some(date) = args.due_before {
                    filter = filter.due_before(date);
                }
                if let Some(cursor) = args.cursor {
                    filter = filter.after(cursor);
                }
                Step::List(filter, args.overdue)
            }
            RequestCommand::Show(args) => Step::Show(args.id),
            RequestCommand::Run(args) => {
                let corrections = match &args.corrections {
                    Some(path) => read_corrections(path)?,
                    None => Vec::new(),
                };
                let id = args.one.id;
                let four_eyes_override = args.four_eyes_override;
                // Created now, so a path that cannot be written is refused before the
                // request runs: what it delivers is given once.
                let output = args.output.map(Output::create).transpose()?;
                let input = RunInput {
                    corrections,
                    four_eyes_override,
                };
                Step::Run(id, input, output)
            }
            RequestCommand::Verify(args) => {
                let mut verification = Verification::new(args.method);
                if let Some(evidence) = args.evidence {
                    verification = verification.with_evidence(evidence);
                }
                Step::Verify(args.one.id, verification)
            }
            RequestCommand::Extend(args) => Step::Extend(args.one.id, args.months, args.reason),
            RequestCommand::Reject(args) => Step::Reject(args.one.id, args.reason),
        })
    }

    async fn run(
        self,
        opened: &Opened<'_>,
        tenant: Kommunenummer,
        actor: &Actor,
    ) -> Result<Shown, Stopped> {
        let requests = opened.requests;
        Ok(match self {
            Step::Create(parts) => {
                let subjects =
                    SubjectResolver::resolve(&opened.rights, tenant, &parts.identifier).await?;
                let new = NewRequest {
                    tenant,
                    request_type: parts.request_type,
                    identified_by: parts.identifier.identified_by(),
                    subjects,
                    parameters: parts.parameters,
                };
                Shown::One(Box::new(requests.create(new, actor).await?))
            }
            Step::List(filter, overdue) => {
                let filter = if overdue {
                    filter.overdue_on(requests.today())
                } else {
                    filter
                };
                Shown::Page(requests.list(&filter).await?)
            }
            Step::Show(id) => Shown::One(Box::new(requests.get(tenant, id).await?)),
            Step::Verify(id, verification) => Shown::One(Box::new(
                requests.verify(tenant, id, verification, actor).await?,
            )),
            Step::Extend(id, months, reason) => Shown::One(Box::new(
                requests.extend(tenant, id, months, reason, actor).await?,
            )),
            Step::Reject(id, reason) => {
                Shown::One(Box::new(requests.reject(tenant, id, reason, actor).await?))
            }
            Step::Run(id, input, output) => {
                let ran = run_request(opened, tenant, id, input, output.is_some()).await;
                match (ran, output) {
                    (Ok(executed), output) => Shown::Ran(Box::new(executed), output),
                    // The file, still empty, is removed as `output` drops.
                    (Err(refused), _) => return Err(refused),
                }
            }
        })
    }
}

/// Runs request `id` through the entry point the API runs it through, after checking that
/// what it delivers has somewhere to go: an access or portability request needs `--output`,
/// the others deliver nothing.
async fn run_request(
    opened: &Opened<'_>,
    tenant: Kommunenummer,
    id: Uuid,
    input: RunInput,
    has_output: bool,
) -> Result<Executed, Stopped> {
    let request = opened.requests.get(tenant, id).await?;
    let delivers = matches!(
        request.request_type,
        RequestType::Access | RequestType::Portability
    );
    match (delivers, has_output) {
        (true, false) => {
            return Err(Stopped::Refused(
                format!(
                    "this {} request delivers what the subject receives, once: give --output \
                     FILE",
                    request.request_type.as_str()
                ),
                None,
            ));
        }
        (false, true) => {
            return Err(Stopped::Refused(
                format!(
                    "this {} request delivers nothing to write: leave out --output",
                    request.request_type.as_str()
                ),
                None,
            ));
        }
        _ => {}
    }
    match datavern_server::run_request(
        &opened.rights,
        opened.requests,
        &opened.principal,
        id,
        input,
    )
    .await
    {
        Ok(executed) => Ok(executed),
        // Refused before anything changed; said in this command's flags.
        Err(RunError::Store(datavern_governance::Error::Rights(RightsError::NothingToCorrect))) => {
            Err(Stopped::Refused(
                "a rectification is run with its corrections: give --corrections FILE, a JSON \
                 list of {\"collection\", \"record\", \"fields\"}"
                    .to_owned(),
                Some(ApiError::new(
                    Code::CorrectionInvalid,
                    RightsError::NothingToCorrect.to_string(),
                )),
            ))
        }
        Err(err) => Err(err.into()),
    }
}

/// The file `--output` names, created (owner-only) before the request runs and removed
/// again, still empty, unless the run delivered into it.
struct Output {
    path: std::path::PathBuf,
    file: std::fs::File,
    delivered: bool,
}

impl Output {
    /// Creates `path`, which must not exist, readable by the owner only.
    fn create(path: std::path::PathBuf) -> anyhow::Result<Output> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .with_context(|| format!("--output: cannot create {}", path.display()))?;
        Ok(Output {
            path,
            file,
            delivered: false,
        })
    }

    /// Writes what a run delivers: the access report (JSON) or the portability zip.
    fn deliver(mut self, delivery: &Delivery) -> anyhow::Result<std::path::PathBuf> {
        let bytes = match delivery {
            Delivery::Access(report) => serde_json::to_vec_pretty(&**report)?,
            Delivery::Portability(export) => export.zip.clone(),
            _ => bail!("the request delivered nothing to write"),
        };
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_all())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.delivered = true;
        Ok(self.path.clone())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.delivered {
            // Best effort: an empty file left behind holds nothing.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What a command works with: the register, the executors and who acts.
struct Opened<'a> {
    requests: &'a Requests,
    rights: Rights,
    principal: Principal,
}

/// Reads a rectification's corrections from `path`.
fn read_corrections(path: &std::path::Path) -> anyhow::Result<Vec<Correction>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct One {
        collection: String,
        record: Uuid,
        fields: serde_json::Map<String, serde_json::Value>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --corrections {}", path.display()))?;
    // serde's message may quote a value: give the position only.
    let all: Vec<One> = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "--corrections {}: not a list of {{\"collection\", \"record\", \"fields\"}} \
             (line {}, column {})",
            path.display(),
            err.line(),
            err.column()
        )
    })?;
    Ok(all
        .into_iter()
        .map(|c| Correction::new(c.collection, c.record, c.fields))
        .collect())
}

fn print_one(request: DsrRequest, today: jiff::civil::Date, json: bool) -> anyhow::Result<()> {
    let view = RequestJson::new(request, today);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &view)?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    let due = match &view.extended_due_on {
        Some(extended) => format!("{extended} (extended from {})", view.due_on),
        None => view.due_on.clone(),
    };
    let status = match (view.overdue, view.days_left) {
        (true, Some(days)) => format!("OVERDUE by {} day(s)", -days),
        (false, Some(days)) => format!("{days} day(s) left"),
        _ => "ended".to_owned(),
    };
    writeln!(out, "request   {}", view.id)?;
    writeln!(out, "type      {} ({})", view.request_type, view.article)?;
    writeln!(out, "state     {}", view.state)?;
    writeln!(out, "subjects  {}", join(view.subjects.iter()))?;
    writeln!(
        out,
        "received  {} by {}",
        view.received_at, view.received_by
    )?;
    writeln!(out, "due       {due}: {status}")?;
    if let (Some(by), Some(method)) = (&view.verified_by, &view.verification) {
        let evidence = view
            .verification_evidence
            .as_deref()
            .map(|e| format!(", evidence {e}"))
            .unwrap_or_default();
        writeln!(out, "verified  by {by} ({method}{evidence})")?;
    }
    if let Some(reason) = &view.extension_reason {
        writeln!(out, "extended  {reason}")?;
    }
    if let Some(reason) = &view.rejection_reason {
        writeln!(out, "rejected  {reason}")?;
    }
    if let Some(outcome) = &view.outcome {
        // Ids, counts, field names and reasons only: the register stores no personal value.
        writeln!(out, "outcome   {outcome}")?;
    }
    if !view.history.is_empty() {
        writeln!(out, "history")?;
        for event in &view.history {
            writeln!(out, "  {}  {:<20} {}", event.at, event.event, event.actor)?;
        }
    }
    Ok(out.flush()?)
}

fn print_page(
    page: datavern_store::records::Page<DsrRequest>,
    today: jiff::civil::Date,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let items: Vec<RequestJson> = page
        .items
        .into_iter()
        .map(|r| RequestJson::new(r, today))
        .collect();
    if json {
        let page = RequestPage {
            items,
            next_cursor: page.next.map(|c| c.to_string()),
        };
        serde_json::to_writer_pretty(&mut out, &page)?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:<36}  {:<13}  {:<19}  {:<10}  DAYS LEFT",
        "ID", "TYPE", "STATE", "DUE"
    )?;
    for r in &items {
        let days = match (r.overdue, r.days_left) {
            (true, Some(d)) => format!("{d} OVERDUE"),
            (false, Some(d)) => d.to_string(),
            _ => "-".to_owned(),
        };
        writeln!(
            out,
            "{:<36}  {:<13}  {:<19}  {:<10}  {days}",
            r.id, r.request_type, r.state, r.effective_due_on
        )?;
    }
    if let Some(cursor) = page.next {
        writeln!(out, "more: --cursor {cursor}")?;
    }
    Ok(out.flush()?)
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use datavern_sql::testing;
    use datavern_store::StoreError;

    use super::*;

    /// The database going away in the middle of a run (after the store opened) is a failure,
    /// exit 2, as the API answers it with a 503; the register's answers are refusals.
    #[test]
    fn an_outage_is_a_failure_and_a_refusal_is_not() {
        let outages = [
            RunError::from(StoreError::Sql(testing::pool_timed_out())),
            RunError::Request(RequestError::Store(StoreError::Sql(testing::pool_closed()))),
        ];
        for outage in outages {
            assert!(matches!(Stopped::from(outage), Stopped::Failed(_)));
        }
        let unknown = RunError::Request(RequestError::NotFound(Uuid::nil()));
        assert!(matches!(Stopped::from(unknown), Stopped::Refused(..)));
        let resolve = ResolveError::Store(StoreError::Sql(testing::pool_timed_out()).into());
        assert!(matches!(Stopped::from(resolve), Stopped::Failed(_)));
    }
}
