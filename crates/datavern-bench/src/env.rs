//! One backend made ready: fresh databases, the store with the bench catalog, the HTTP API
//! in-process on `127.0.0.1:0` with an API key, the raw baseline's table, both tables seeded;
//! and taken down again (audit log sealed, pools closed, databases dropped).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datavern_core::access::{self, AccessRequest, Grant, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::record::{self, Mode};
use datavern_crypto::audit::{CheckpointSigner, KeyName};
use datavern_crypto::{ApiKey, LocalKeyFile};
use datavern_governance::Governance;
use datavern_server::auth::StaticKeys;
use datavern_server::metrics::Metrics;
use datavern_server::{AppState, Server, ServerConfig};
use datavern_sql::baseline::{RawBaseline, drop_database, recreate_database};
use datavern_sql::{DatabaseConfig, StoreConfig};
use datavern_store::{Records, RequestMeta, Store};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::config::{BenchConfig, DATA_DATABASE, KEYS_DATABASE, Target};
use crate::data::{CATALOG_YAML, COLLECTION, PURPOSE, Person, TENANT};
use crate::{BenchError, Observer, Side};

/// Records per `create_many` and per multi-row insert while seeding.
const SEED_CHUNK: u64 = 1_000;
/// Seeding chunks in flight at once.
const SEED_IN_FLIGHT: usize = 4;
/// The principal every governed request is made by (as the audit log shows it).
const PRINCIPAL: &str = "bench";
/// The audit log's origin in checkpoints.
const AUDIT_ORIGIN: &str = "datavern/bench";

/// A backend ready to measure.
pub(crate) struct Env {
    pub(crate) store: Store,
    pub(crate) records: Records,
    pub(crate) baseline: RawBaseline,
    pub(crate) addr: SocketAddr,
    pub(crate) api_key: ApiKey,
    pub(crate) server_version: String,
    /// Ids of the seeded governed records, by person index.
    pub(crate) governed_ids: Vec<Uuid>,
    /// Ids of the seeded raw rows, by person index.
    pub(crate) raw_ids: Vec<Uuid>,
    /// Seconds each side took to seed.
    pub(crate) seed_seconds: (f64, f64),
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    scratch: Option<String>,
    _dir: tempfile::TempDir,
}

impl Env {
    /// Creates the databases and the server for `target` and seeds both tables with
    /// `config.records` persons.
    pub(crate) async fn start(
        target: &Target,
        config: &BenchConfig,
        observer: &dyn Observer,
    ) -> Result<Env, BenchError> {
        let dir = tempfile::tempdir().map_err(|e| BenchError::io("a temporary directory", e))?;
        let pool = |url: String| -> Result<DatabaseConfig, BenchError> {
            Ok(DatabaseConfig::new(url)?.with_max_connections(config.max_connections))
        };
        let (store_config, scratch) = match target.admin_url() {
            None => {
                let embedded = StoreConfig::embedded(dir.path());
                let store_config = StoreConfig::new(
                    embedded.data.with_max_connections(config.max_connections),
                    embedded.keys.with_max_connections(config.max_connections),
                );
                (store_config, None)
            }
            Some(admin) => {
                let urls = async {
                    let data = recreate_database(admin, DATA_DATABASE).await?;
                    let keys = recreate_database(admin, KEYS_DATABASE).await?;
                    Ok::<_, BenchError>(StoreConfig::new(pool(data)?, pool(keys)?))
                }
                .await;
                match urls {
                    Ok(store_config) => (store_config, Some(admin.to_owned())),
                    Err(err) => {
                        drop_scratch(admin).await;
                        return Err(err);
                    }
                }
            }
        };
        let mut env = match Self::open(&store_config, dir).await {
            Ok(parts) => parts,
            Err(err) => {
                if let Some(admin) = &scratch {
                    drop_scratch(admin).await;
                }
                return Err(err);
            }
        };
        env.scratch = scratch;
        if let Err(err) = env.seed(config, target, observer).await {
            env.stop().await;
            return Err(err);
        }
        Ok(env)
    }

    async fn open(store_config: &StoreConfig, dir: tempfile::TempDir) -> Result<Env, BenchError> {
        let catalog = Arc::new(bench_catalog()?);
        let store = Store::open(store_config).await?;
        store.apply_catalog(&catalog).await?;
        let server_version = store.data().server_version().await?;

        let kek = LocalKeyFile::create(dir.path().join("kek.key"))
            .await
            .map_err(|e| BenchError::Setup(format!("cannot create the key file: {e}")))?;
        let name = KeyName::new(AUDIT_ORIGIN.replace('/', "-"))
            .map_err(|e| BenchError::Setup(format!("audit key name: {e}")))?;
        let signer = CheckpointSigner::generate(name)
            .map_err(|e| BenchError::Setup(format!("cannot make an audit signing key: {e}")))?;
        let governance = Governance::builder(store.clone(), catalog.clone(), Arc::new(kek))
            .signer(Arc::new(signer), AUDIT_ORIGIN, Duration::from_secs(60))
            .build();
        let records = governance.records().clone();

        let api_key = ApiKey::generate()
            .map_err(|e| BenchError::Setup(format!("cannot generate an API key: {e}")))?;
        let keys = StaticKeys::new(vec![(api_key.hash(), principal()?)]);
        let state = AppState::new(governance, Arc::new(keys), Metrics::global());
        // The benchmark measures the governed path at full speed from one address and one
        // principal: rate limits off (they would measure the limit), connection limits as
        // served.
        let server_config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate_limit_per_ip: None,
            rate_limit_per_principal: None,
            ..ServerConfig::default()
        };
        let server = Server::bind(&server_config, state)
            .await
            .map_err(|e| BenchError::io("127.0.0.1:0", e))?;
        let addr = server
            .local_addr()
            .map_err(|e| BenchError::io("the listening address", e))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let baseline = RawBaseline::new(store.data().clone(), store.clock().clone());
        baseline.create_table().await?;
        Ok(Env {
            store,
            records,
            baseline,
            addr,
            api_key,
            server_version,
            governed_ids: Vec::new(),
            raw_ids: Vec::new(),
            seed_seconds: (0.0, 0.0),
            stop: Some(stop),
            server: Some(server),
            scratch: None,
            _dir: dir,
        })
    }

    /// Seeds the governed table through `Records::create_many` and the raw table through
    /// its multi-row insert, with the same persons.
    async fn seed(
        &mut self,
        config: &BenchConfig,
        target: &Target,
        observer: &dyn Observer,
    ) -> Result<(), BenchError> {
        let count = usize::try_from(config.records)
            .map_err(|_| BenchError::Config("--records is too large".into()))?;
        let chunks = || {
            (0..config.records.div_ceil(SEED_CHUNK))
                .map(|i| i * SEED_CHUNK..((i + 1) * SEED_CHUNK).min(config.records))
        };

        observer.seeding(target.name(), Side::Governed, config.records);
        let started = Instant::now();
        let grant = create_grant(self.records.catalog())?;
        let meta = RequestMeta::new();
        let mut ids = vec![Uuid::nil(); count];
        let records = &self.records;
        let mut created = stream::iter(chunks())
            .map(|range| {
                let grant = &grant;
                let meta = &meta;
                async move {
                    let collection = records
                        .catalog()
                        .collection(COLLECTION)
                        .ok_or_else(|| BenchError::Setup("bench collection missing".into()))?;
                    let validated = range
                        .clone()
                        .map(|index| {
                            let body = Person::new(config.seed, index).body();
                            record::validate(collection, &body, Mode::Create).map_err(|e| {
                                BenchError::Setup(format!("a generated person is invalid: {e}"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let views = records.create_many(grant, validated, meta).await?;
                    Ok::<_, BenchError>((range.start, views))
                }
            })
            .buffer_unordered(SEED_IN_FLIGHT);
        while let Some((start, views)) = created.try_next().await? {
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            for (offset, view) in views.iter().enumerate() {
                if let Some(slot) = ids.get_mut(start + offset) {
                    *slot = view.id;
                }
            }
            observer.seeded(views.len() as u64);
        }
        drop(created);
        self.governed_ids = ids;
        let governed_seconds = started.elapsed().as_secs_f64();
        observer.seeding_finished(target.name(), Side::Governed, started.elapsed());

        observer.seeding(target.name(), Side::Raw, config.records);
        let started = Instant::now();
        let mut ids = vec![Uuid::nil(); count];
        let baseline = &self.baseline;
        let mut inserted = stream::iter(chunks())
            .map(|range| async move {
                let rows: Vec<_> = range
                    .clone()
                    .map(|index| Person::new(config.seed, index).row(Uuid::now_v7()))
                    .collect();
                baseline.insert_many(&rows).await?;
                Ok::<_, BenchError>((range.start, rows))
            })
            .buffer_unordered(SEED_IN_FLIGHT);
        while let Some((start, rows)) = inserted.try_next().await? {
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            for (offset, row) in rows.iter().enumerate() {
                if let Some(slot) = ids.get_mut(start + offset) {
                    *slot = row.id;
                }
            }
            observer.seeded(rows.len() as u64);
        }
        drop(inserted);
        self.raw_ids = ids;
        let raw_seconds = started.elapsed().as_secs_f64();
        observer.seeding_finished(target.name(), Side::Raw, started.elapsed());
        self.seed_seconds = (governed_seconds, raw_seconds);
        Ok(())
    }

    /// Seals every audit entry recorded so far, so that the next run does not share the
    /// database with the sealer working off an earlier run's backlog. Returns how long it
    /// took.
    pub(crate) async fn settle(&self) -> Result<Duration, BenchError> {
        let started = Instant::now();
        self.store.audit().seal().await?;
        Ok(started.elapsed())
    }

    /// Stops the server, seals the audit log, closes the pools and drops the databases.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take()
            && let Ok(Err(err)) = server.await
        {
            tracing::warn!(error = %err, "The bench server stopped with an error");
        }
        let _ = self.baseline.drop_table().await;
        if let Err(err) = self.store.audit().shutdown().await {
            tracing::warn!(error = %err, "Cannot seal the bench audit log");
        }
        self.store.close().await;
        if let Some(admin) = self.scratch.take() {
            drop_scratch(&admin).await;
        }
    }
}

/// The embedded bench catalog.
pub(crate) fn bench_catalog() -> Result<Catalog, BenchError> {
    Catalog::from_yaml(CATALOG_YAML)
        .map_err(|errors| BenchError::Setup(format!("the bench catalog is invalid: {errors}")))
}

/// The principal the API key stands for: the tenant's, with the bench purpose.
fn principal() -> Result<Principal, BenchError> {
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(format!("bench principal: {e}"));
    Ok(Principal::new(
        PrincipalId::parse(PRINCIPAL).map_err(|e| setup(&e))?,
        Kommunenummer::parse(TENANT).map_err(|e| setup(&e))?,
        Classification::Begrenset,
    )
    .with_purposes([PurposeId::parse(PURPOSE).map_err(|e| setup(&e))?]))
}

/// The access decision for creating persons, made once for the whole seed (it is the same
/// for every record).
fn create_grant(catalog: &Catalog) -> Result<Grant, BenchError> {
    let principal = principal()?;
    let request = AccessRequest::create(COLLECTION, principal.tenant()).with_purpose(Some(PURPOSE));
    access::decide(catalog, &principal, &request)
        .map_err(|denial| BenchError::Setup(format!("the bench principal is denied: {denial}")))
}

async fn drop_scratch(admin: &str) {
    for name in [DATA_DATABASE, KEYS_DATABASE] {
        if let Err(err) = drop_database(admin, name).await {
            tracing::warn!(database = name, error = %err, "Cannot drop a bench database");
        }
    }
}
