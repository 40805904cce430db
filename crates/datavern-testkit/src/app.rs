//! `TestApp`: the server on a free loopback port, over fresh databases.

use std::net::SocketAddr;
use std::sync::Arc;

use datavern_core::access::{Principal, PrincipalId, Role};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_crypto::{ApiKey, LocalKeyFile};
use datavern_governance::{Governance, GovernanceBuilder};
use datavern_server::auth::StaticKeys;
use datavern_server::metrics::Metrics;
use datavern_server::{AppState, Server, ServerConfig};
use datavern_sql::Backend;
use datavern_sql::testing::TestDb;
use datavern_store::Store;
use datavern_store::testing::OpenStore as _;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The example catalog (Bergen kommune, tenant 4601).
pub const CATALOG: &str = crate::fixtures::KOMMUNE;

/// The example catalog with a second tenant (Oslo, 0301) and collection `saker` classified
/// BEGRENSET, so that tenant isolation and clearance can be tested.
pub fn test_catalog() -> Catalog {
    let with_oslo = CATALOG.replacen(
        "      name: Bergen kommune\n",
        "      name: Bergen kommune\n    - kommunenummer: \"0301\"\n      name: Oslo kommune\n",
        1,
    );
    let saker = with_oslo.find("  - name: saker").unwrap();
    let (head, tail) = with_oslo.split_at(saker);
    let tail = tail.replacen("classification: ÅPEN", "classification: BEGRENSET", 1);
    Catalog::from_yaml(&format!("{head}{tail}")).unwrap()
}

/// The composition root over `store` (the catalog applied) with a fresh local KEK in a
/// temporary directory (keep it as long as the services); `build` it, with a clock or a
/// four-eyes rule first if the test needs one.
pub async fn with_local_kek(store: &Store, catalog: Catalog) -> (GovernanceBuilder, TempDir) {
    let keys_dir = tempfile::tempdir().unwrap();
    let kek = LocalKeyFile::create(keys_dir.path().join("kek.key"))
        .await
        .unwrap();
    let builder = Governance::builder(store.clone(), Arc::new(catalog), Arc::new(kek));
    (builder, keys_dir)
}

/// A server task: its address, the sender that stops it, and the task to await.
pub type Serving = (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
);

/// Serves `state` with `config` on a free loopback port (its listen address is replaced by
/// `127.0.0.1:0`) until the returned sender fires. The rate limits are turned off: tests
/// send requests as fast as they can, and whether a limit was reached would depend on the
/// machine's speed; `flood.rs` tests the limits with [`serve_as_configured`].
pub async fn serve(state: AppState, config: ServerConfig) -> Serving {
    serve_as_configured(
        state,
        ServerConfig {
            rate_limit_per_ip: None,
            rate_limit_per_principal: None,
            ..config
        },
    )
    .await
}

/// [`serve`] with `config`'s rate limits as they are.
pub async fn serve_as_configured(state: AppState, config: ServerConfig) -> Serving {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    let server = Server::bind(&config, state).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Whether a test server keeps its configuration's rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimiting {
    /// No rate limits (see [`serve`]).
    Off,
    /// The configuration's rate limits.
    AsConfigured,
}

/// A running server and what a test needs to call it.
pub struct TestApp {
    /// The server's address.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// A key of principal `dev`: tenant 4601, clearance BEGRENSET, every purpose, role
    /// `auditor`.
    pub key: ApiKey,
    /// A key of principal `limited`: tenant 4601, clearance ÅPEN, purposes `kommunikasjon`
    /// and `helse_omsorg`.
    pub limited_key: ApiKey,
    /// A key of principal `oslo`: tenant 0301, clearance BEGRENSET, every purpose.
    pub oslo_key: ApiKey,
    /// A key of principal `dpo`: tenant 4601, clearance BEGRENSET, no purpose, role `dpo`.
    pub dpo_key: ApiKey,
    /// The store the server runs on.
    pub store: Store,
    _keys_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    db: Option<TestDb>,
}

impl TestApp {
    /// The server over SQLite, with the default configuration.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Backend::Sqlite, ServerConfig::default()).await
    }

    /// The server over `backend`, with `config` (its listen address is replaced by
    /// `127.0.0.1:0`).
    pub async fn spawn_with(backend: Backend, config: ServerConfig) -> TestApp {
        Self::spawn_limited(backend, config, RateLimiting::Off).await
    }

    /// The server over `backend`, with `config` and its rate limits as `limiting` says.
    pub async fn spawn_limited(
        backend: Backend,
        config: ServerConfig,
        limiting: RateLimiting,
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        let catalog = test_catalog();
        store.apply_catalog(&catalog).await.unwrap();

        let tenant = Kommunenummer::parse("4601").unwrap();
        let key = ApiKey::generate().unwrap();
        let dev = Principal::new(
            PrincipalId::parse("dev").unwrap(),
            tenant,
            Classification::Begrenset,
        )
        .with_roles([Role::parse("auditor").unwrap()])
        .with_purposes(catalog.purposes().iter().map(|p| p.id().clone()));
        let limited_key = ApiKey::generate().unwrap();
        let limited = Principal::new(
            PrincipalId::parse("limited").unwrap(),
            tenant,
            Classification::Apen,
        )
        .with_purposes([
            PurposeId::parse("kommunikasjon").unwrap(),
            PurposeId::parse("helse_omsorg").unwrap(),
        ]);
        let oslo_key = ApiKey::generate().unwrap();
        let oslo = Principal::new(
            PrincipalId::parse("oslo").unwrap(),
            Kommunenummer::parse("0301").unwrap(),
            Classification::Begrenset,
        )
        .with_purposes(catalog.purposes().iter().map(|p| p.id().clone()));
        let dpo_key = ApiKey::generate().unwrap();
        let dpo = Principal::new(
            PrincipalId::parse("dpo").unwrap(),
            tenant,
            Classification::Begrenset,
        )
        .with_roles([Role::parse("dpo").unwrap()]);
        let keys = StaticKeys::new(vec![
            (key.hash(), dev),
            (limited_key.hash(), limited),
            (oslo_key.hash(), oslo),
            (dpo_key.hash(), dpo),
        ]);

        let (governance, keys_dir) = with_local_kek(&store, catalog).await;
        let state = AppState::new(governance.build(), Arc::new(keys), Metrics::global());
        let (addr, stop, task) = match limiting {
            RateLimiting::Off => serve(state, config).await,
            RateLimiting::AsConfigured => serve_as_configured(state, config).await,
        };
        TestApp {
            addr,
            client: reqwest::Client::new(),
            key,
            limited_key,
            oslo_key,
            dpo_key,
            store,
            _keys_dir: keys_dir,
            stop: Some(stop),
            task: Some(task),
            db: Some(db),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// A request as principal `dev` for `purpose`.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        purpose: &str,
    ) -> reqwest::RequestBuilder {
        self.as_principal(&self.key, method, path, purpose)
    }

    /// A request with `key` for `purpose`.
    pub fn as_principal(
        &self,
        key: &ApiKey,
        method: reqwest::Method,
        path: &str,
        purpose: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(key.expose_secret())
            .header("datavern-purpose", purpose)
    }

    /// `GET path` as principal `dev`.
    pub async fn get_authed(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.key.expose_secret())
            .send()
            .await
            .unwrap()
    }

    /// Signals shutdown without waiting: the server stops accepting connections and finishes
    /// the requests in flight.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for the server to finish; then drops the databases.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        // A test that closed the pools on purpose has nothing left to seal.
        if !self.store.data().is_closed() {
            self.store.audit().shutdown().await.unwrap();
        }
        self.store.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// A problem response's status, content type and JSON body; panics if it is not problem JSON.
pub async fn problem(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    assert_eq!(
        content_type, "application/problem+json",
        "status {status}, body {body}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], status, "{json}");
    let code = json["code"].as_str().unwrap();
    assert_eq!(
        json["type"],
        format!("https://datavern.no/problems/{code}"),
        "{json}"
    );
    assert!(
        json["title"].is_string() && json["detail"].is_string(),
        "{json}"
    );
    (status, json)
}
