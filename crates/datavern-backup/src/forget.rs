//! Retention tiers: which snapshots to keep (the last n daily, weekly, monthly and yearly
//! ones of each kind), forgetting the rest, never a held one, and pruning the data no
//! snapshot needs any more.

use datavern_store::audit::BackupEvent;
use rustic_core::repofile::SnapshotFile;
use rustic_core::{ForgetGroups, Grouped, KeepOptions, PruneOptions, SnapshotGroupCriterion};
use serde::Serialize;

use crate::backups::{Backups, datavern_snapshots};
use crate::error::{BackupError, Refusal, Result};
use crate::snapshot::{HOLD_TAG, SnapshotInfo, SnapshotKind, hold_tag};

/// How many snapshots of each tier to keep, per kind (data, keys). A snapshot is kept when
/// any tier keeps it, and always when it is held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    /// The newest n, whatever their age.
    pub last: Option<u32>,
    /// The newest of each of the last n days that have one.
    pub daily: Option<u32>,
    /// … of each of the last n weeks.
    pub weekly: Option<u32>,
    /// … of each of the last n months.
    pub monthly: Option<u32>,
    /// … of each of the last n years.
    pub yearly: Option<u32>,
}

impl KeepPolicy {
    fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

/// Whether to prune after forgetting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Remove the packs only forgotten snapshots used.
    Yes,
    /// Forget the snapshots only; their data stays until a later prune.
    No,
}

/// What `forget` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForgetReport {
    /// The snapshots kept.
    pub kept: Vec<SnapshotInfo>,
    /// The snapshots forgotten.
    pub forgotten: Vec<SnapshotInfo>,
    /// Whether the repository was pruned.
    pub pruned: bool,
}

impl Backups {
    /// Applies `policy` to the datavern snapshots of `kind` (the key store's are kept for a
    /// shorter time than the data's, so each kind has its own policy): the snapshots no tier
    /// keeps are forgotten, except those under legal hold, which are always kept; with
    /// [`Prune::Yes`] the data only they used is removed. A policy that keeps nothing is
    /// refused (give at least one tier).
    pub async fn forget(
        &self,
        kind: SnapshotKind,
        policy: KeepPolicy,
        prune: Prune,
    ) -> Result<ForgetReport> {
        let result = self.forget_unaudited(kind, policy, prune).await;
        match &result {
            Ok(report) => {
                for snapshot in &report.forgotten {
                    self.audit(BackupEvent::Forgotten, Some(&snapshot.id), Ok(()))
                        .await?;
                }
            }
            Err(err) => self.audit_failure(BackupEvent::Forgotten, None, err).await,
        }
        result
    }

    async fn forget_unaudited(
        &self,
        kind: SnapshotKind,
        policy: KeepPolicy,
        prune: Prune,
    ) -> Result<ForgetReport> {
        if policy.is_empty() {
            return Err(BackupError::Config(
                "forget needs at least one tier to keep: --keep-last, --keep-daily, \
                 --keep-weekly, --keep-monthly or --keep-yearly"
                    .into(),
            ));
        }
        let repo = self.open().await?;
        let snapshots: Vec<SnapshotFile> = datavern_snapshots(&repo)
            .await?
            .into_iter()
            .filter(|s| SnapshotInfo::of(s).kind == Some(kind))
            .collect();
        let now = rustic_core::jiff::Timestamp::try_from(self.store.now())
            .map_err(|err| BackupError::Repository(format!("the time: {err}")))?
            .to_zoned(rustic_core::jiff::tz::TimeZone::UTC);
        let keep = keep_options(policy);
        let (kept, forgotten) = repo
            .run(move |repo| {
                let rustic = |e: Box<rustic_core::RusticError>| BackupError::rustic(&e);
                // One group per kind and backend: the snapshots' tags, without the hold tag
                // (a held snapshot stays in its group, and is kept by `keep_tags`).
                let grouped = group_by_kind(snapshots);
                let groups =
                    ForgetGroups::from_grouped_snapshots_with_retention(grouped, &keep, &now)
                        .map_err(rustic)?;
                let mut kept = Vec::new();
                let mut forgotten = Vec::new();
                for group in groups.0 {
                    for item in group.items {
                        if item.keep || item.snapshot.tags.contains(HOLD_TAG) {
                            kept.push(item.snapshot);
                        } else {
                            forgotten.push(item.snapshot);
                        }
                    }
                }
                if forgotten.iter().any(|s| s.tags.contains(HOLD_TAG)) {
                    return Err(BackupError::refused(
                        Refusal::SnapshotHeld,
                        "a held snapshot would be forgotten; nothing was forgotten",
                    ));
                }
                let ids: Vec<_> = forgotten.iter().map(|s| s.id).collect();
                repo.delete_snapshots(&ids).map_err(rustic)?;
                if prune == Prune::Yes {
                    let options = PruneOptions::default();
                    let plan = repo.prune_plan(&options).map_err(rustic)?;
                    repo.prune(&options, plan).map_err(rustic)?;
                }
                Ok((kept, forgotten))
            })
            .await?;
        Ok(ForgetReport {
            kept: kept.iter().map(SnapshotInfo::of).collect(),
            forgotten: forgotten.iter().map(SnapshotInfo::of).collect(),
            pruned: prune == Prune::Yes,
        })
    }
}

fn keep_options(policy: KeepPolicy) -> KeepOptions {
    let tier = |n: Option<u32>| n.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    KeepOptions::default()
        .keep_tags(vec![hold_tag()])
        .keep_last(tier(policy.last))
        .keep_daily(tier(policy.daily))
        .keep_weekly(tier(policy.weekly))
        .keep_monthly(tier(policy.monthly))
        .keep_yearly(tier(policy.yearly))
}

/// Groups the snapshots by kind: each kind has its own path in the repository
/// (`/datavern/data`, `/datavern/keys`), and rustic's default grouping is by host, label and
/// paths. The hold tag does not split a group (tags are not grouped on).
fn group_by_kind(snapshots: Vec<SnapshotFile>) -> Grouped<SnapshotFile> {
    Grouped::from_items(snapshots, SnapshotGroupCriterion::default())
}
