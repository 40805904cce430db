//! `datavern hold place|release|list`: the legal hold register from the command line, for
//! the DPO (`docs/retention.md`). Placing and releasing are audited under the principal id
//! given with `--by`.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use datavern_core::access::PrincipalId;
use datavern_core::catalog::{CollectionName, Kommunenummer};
use datavern_governance::{HoldScope, LegalHold, NewHold};
use datavern_store::SubjectId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::report_cmd::tenant;
use crate::retention_cmd::open;
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{from_str, typed};

/// `datavern hold …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum HoldCommand {
    /// Place a legal hold on a collection, a record (--collection and --record) or a data
    /// subject (--subject).
    Place(PlaceArgs),
    /// Release a legal hold.
    Release(ReleaseArgs),
    /// List every legal hold of the tenant, newest first (JSON).
    List(ListArgs),
}

/// Arguments every hold command shares.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant (kommunenummer) [default: the catalog's first].
    #[arg(long, value_name = "KOMMUNENR", value_parser = from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
}

/// Arguments of `datavern hold place`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlaceArgs {
    #[command(flatten)]
    common: Common,
    /// The collection held (whole, or with --record one record of it).
    #[arg(long, conflicts_with = "subject", value_parser = typed(CollectionName::parse))]
    collection: Option<CollectionName>,
    /// The record held.
    #[arg(long, requires = "collection", value_parser = crate::typed::uuid())]
    record: Option<Uuid>,
    /// The data subject held, in every collection.
    #[arg(long, value_parser = crate::typed::uuid())]
    subject: Option<Uuid>,
    /// Why: a case reference or provision.
    #[arg(long)]
    reason: String,
    /// When it lapses by itself (RFC 3339) [default: until released].
    #[arg(long, value_name = "TIME", value_parser = crate::typed::rfc3339())]
    expires: Option<OffsetDateTime>,
    /// Who places it, as the audit log names them (e.g. dpo@bergen).
    #[arg(long, value_name = "PRINCIPAL", value_parser = typed(PrincipalId::parse))]
    by: PrincipalId,
}

/// Arguments of `datavern hold release`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReleaseArgs {
    #[command(flatten)]
    common: Common,
    /// The hold's id.
    #[arg(value_parser = crate::typed::uuid())]
    id: Uuid,
    /// Why it is released.
    #[arg(long)]
    reason: String,
    /// Who releases it, as the audit log names them.
    #[arg(long, value_name = "PRINCIPAL", value_parser = typed(PrincipalId::parse))]
    by: PrincipalId,
}

/// Arguments of `datavern hold list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run(command: HoldCommand) -> anyhow::Result<ExitCode> {
    let common = match &command {
        HoldCommand::Place(args) => &args.common,
        HoldCommand::Release(args) => &args.common,
        HoldCommand::List(args) => &args.common,
    };
    let settings = Settings::load(&common.settings, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    hold(settings, command).await
}

async fn hold(settings: Settings, command: HoldCommand) -> anyhow::Result<ExitCode> {
    let catalog = Arc::new(settings.catalog()?);
    let governed = open(&settings).await?;
    let holds = governed.governance.holds().clone();
    let result: anyhow::Result<Vec<LegalHold>> = async {
        match command {
            HoldCommand::Place(args) => {
                let tenant = tenant(&catalog, args.common.tenant)?;
                let by = args.by;
                let scope = match (args.collection, args.record, args.subject) {
                    (Some(c), None, None) => HoldScope::Collection { collection: c },
                    (Some(c), Some(record), None) => HoldScope::Record {
                        collection: c,
                        record,
                    },
                    (None, None, Some(subject)) => HoldScope::Subject {
                        subject: SubjectId::from_uuid(subject),
                    },
                    _ => bail!("give --collection (and --record), or --subject"),
                };
                let expires_at = args.expires;
                let hold = NewHold {
                    scope,
                    reason: args.reason,
                    expires_at,
                };
                Ok(vec![holds.place(&catalog, tenant, &by, hold).await?])
            }
            HoldCommand::Release(args) => {
                let tenant = tenant(&catalog, args.common.tenant)?;
                let by = args.by;
                Ok(vec![
                    holds.release(tenant, args.id, &by, &args.reason).await?,
                ])
            }
            HoldCommand::List(args) => {
                let tenant = tenant(&catalog, args.common.tenant)?;
                Ok(holds.list(tenant).await?)
            }
        }
    }
    .await;
    let closed = governed.close().await;
    let holds = result?;
    closed?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &holds)?;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
