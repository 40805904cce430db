//! A restore drill: the latest data snapshot restored into a scratch database, checked
//! against the live one, timed, and the scratch database emptied again.
//!
//! The drill proves what an operator needs to know before a real disaster: the newest
//! snapshot restores, the restored records decrypt with the live key store and equal the
//! live records that have not changed since, the restored audit chain verifies, and how long
//! it took (the recovery time).

use std::time::Instant;

use aws_lc_rs::digest::{Context as Sha256, SHA256};
use datavern_core::catalog::Kommunenummer;
use datavern_sql::{Database, DatabaseConfig, DatabaseRole, Tx, TxMode};
use datavern_store::audit::BackupEvent;
use datavern_store::records::raw::RawRow;
use datavern_store::{Records, Store};
use sea_query::{Alias, Expr, Order, Query};
use serde::Serialize;
use uuid::Uuid;

use crate::backups::Backups;
use crate::error::{BackupError, Result};
use crate::restore::RestoreReport;
use crate::snapshot::SnapshotKind;

/// Records sampled per collection and tenant.
pub const DRILL_SAMPLE: u64 = 50;

/// What a drill found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    /// The restore it ran (the snapshot, rows, recovery time).
    pub restore: RestoreReport,
    /// Per collection: rows restored, rows live now.
    pub collections: Vec<CollectionCount>,
    /// Records sampled from the restored data.
    pub sampled: u64,
    /// Sampled records equal, decrypted, to the live record of the same version.
    pub matched: u64,
    /// Sampled records changed or gone in the live database since the snapshot (not
    /// compared).
    pub changed_since: u64,
    /// Sampled records that do not decrypt: their subject was erased after the snapshot.
    pub unreadable: u64,
    /// Sampled records that differ from the live record of the same version: must be 0.
    pub mismatched: u64,
    /// SHA-256 over the sampled records' decrypted values, as restored (hex).
    pub digest: String,
    /// Whether the restored audit chain verified.
    pub audit_chain_intact: bool,
    /// The seconds from start to a verified, usable database.
    pub seconds: f64,
}

/// One collection's row counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionCount {
    /// The collection.
    pub collection: String,
    /// Rows in the restored snapshot.
    pub restored: u64,
    /// Rows in the live database now.
    pub live: u64,
}

impl DrillReport {
    /// Whether the drill passed: the chain verifies and no sampled record differs.
    pub fn passed(&self) -> bool {
        self.audit_chain_intact && self.mismatched == 0
    }
}

impl Backups {
    /// Restores the latest data snapshot into `scratch` (an empty database), compares it with
    /// the live database, verifies its audit chain, reports the recovery time, and drops the
    /// scratch database's tables again. Audited as `backup.drill`.
    pub async fn drill(&self, scratch: &DatabaseConfig) -> Result<DrillReport> {
        let started = Instant::now();
        let restore = self.restore("latest", SnapshotKind::Data, scratch).await?;
        let result = self.compare(scratch, restore, started).await;
        let emptied = empty(scratch).await;
        let report = result?;
        emptied?;
        let refused = if report.passed() {
            Ok(())
        } else {
            Err(crate::error::Refusal::Damaged)
        };
        self.audit(BackupEvent::Drill, Some(&report.restore.snapshot), refused)
            .await?;
        Ok(report)
    }

    async fn compare(
        &self,
        scratch: &DatabaseConfig,
        restore: RestoreReport,
        started: Instant,
    ) -> Result<DrillReport> {
        let keys = self.store.keys().database().clone();
        let data = Database::connect(scratch, DatabaseRole::Data).await?;
        let restored = match Store::with_databases(data.clone(), keys).await {
            Ok(store) => store.with_clock(self.store.clock().clone()),
            Err(err) => {
                data.close().await;
                return Err(err.into());
            }
        };
        let result = async {
            restored.apply_catalog(&self.catalog).await?;
            let verified = restored.audit().verify(None).await?;
            let live = Records::new(self.store.clone(), self.catalog.clone(), self.kek.clone());
            let copy = Records::new(restored.clone(), self.catalog.clone(), self.kek.clone());
            let mut report = DrillReport {
                restore: restore.clone(),
                collections: Vec::new(),
                sampled: 0,
                matched: 0,
                changed_since: 0,
                unreadable: 0,
                mismatched: 0,
                digest: String::new(),
                audit_chain_intact: verified.is_intact(),
                seconds: 0.0,
            };
            let mut digest = Sha256::new(&SHA256);
            for collection in self.catalog.collections() {
                let name = collection.name().as_str();
                let mut counted = CollectionCount {
                    collection: name.to_owned(),
                    restored: 0,
                    live: 0,
                };
                for tenant in self.catalog.deployment().tenants() {
                    let tenant = tenant.kommunenummer();
                    counted.restored += count(&restored, &copy, tenant, name).await?;
                    counted.live += count(&self.store, &live, tenant, name).await?;
                    let ids = sample(&restored, &copy, name, tenant).await?;
                    let restored_rows = rows(&restored, &copy, tenant, name, &ids).await?;
                    let live_rows = rows(&self.store, &live, tenant, name, &ids).await?;
                    for row in &restored_rows {
                        report.sampled += 1;
                        let Ok(values) = copy.decrypt(tenant, name, row, |_| true).await else {
                            report.unreadable += 1;
                            continue;
                        };
                        digest.update(row.id.as_bytes());
                        for (field, value) in &values {
                            digest.update(field.as_bytes());
                            digest.update(value.canonical().unwrap_or_default().as_bytes());
                        }
                        let Some(now) = live_rows
                            .iter()
                            .find(|l| l.id == row.id && l.version == row.version)
                        else {
                            report.changed_since += 1;
                            continue;
                        };
                        let live_values = live.decrypt(tenant, name, now, |_| true).await?;
                        if live_values == values {
                            report.matched += 1;
                        } else {
                            report.mismatched += 1;
                        }
                    }
                }
                report.collections.push(counted);
            }
            report.digest = digest
                .finish()
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            report.seconds = started.elapsed().as_secs_f64();
            Ok::<_, BackupError>(report)
        }
        .await;
        // The restored store's own pool only: the key store's is the live one.
        if let Err(err) = restored.audit().shutdown().await {
            tracing::warn!(error = %err, "Cannot stop the drill's audit log");
        }
        data.close().await;
        result
    }
}

/// The rows of `collection` in `tenant` (in the tenant's transaction: row-level security on
/// PostgreSQL shows only its rows).
async fn count(
    store: &Store,
    records: &Records,
    tenant: Kommunenummer,
    collection: &str,
) -> Result<u64> {
    let table = table_name(records, collection)?;
    let query = Query::select()
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .to_owned();
    let mut tx = Tx::begin(store.data(), tenant, TxMode::Read).await?;
    let counted: Vec<(i64,)> = tx.conn().fetch_all(&query).await?;
    tx.commit().await?;
    Ok(counted
        .first()
        .map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0)))
}

/// The first ids of `collection` in `tenant`, by id (time order).
async fn sample(
    store: &Store,
    records: &Records,
    collection: &str,
    tenant: Kommunenummer,
) -> Result<Vec<Uuid>> {
    let table = table_name(records, collection)?;
    let query = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .order_by(Alias::new("id"), Order::Asc)
        .limit(DRILL_SAMPLE)
        .to_owned();
    let mut tx = Tx::begin(store.data(), tenant, TxMode::Read).await?;
    let rows: Vec<(Uuid,)> = tx.conn().fetch_all(&query).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

async fn rows(
    store: &Store,
    records: &Records,
    tenant: Kommunenummer,
    collection: &str,
    ids: &[Uuid],
) -> Result<Vec<RawRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = Tx::begin(store.data(), tenant, TxMode::Read).await?;
    let filter = Expr::col(Alias::new("id")).is_in(ids.iter().copied());
    let rows = records
        .raw_rows(&mut tx.conn(), tenant, collection, filter, false)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

fn table_name(records: &Records, collection: &str) -> Result<String> {
    records
        .table(collection)
        .map(|t| t.table().to_owned())
        .ok_or_else(|| BackupError::Config(format!("no table for collection {collection}")))
}

/// Drops every table of the scratch database, which the drill found empty.
async fn empty(scratch: &DatabaseConfig) -> Result<()> {
    let db = Database::connect(scratch, DatabaseRole::Data).await?;
    let tables = db.table_names().await?;
    let dropped = db.drop_tables(&tables).await;
    db.close().await;
    Ok(dropped?)
}
