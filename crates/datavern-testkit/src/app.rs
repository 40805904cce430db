//! `TestApp`: the server on a free loopback port, over fresh databases.

use std::net::SocketAddr;
use std::sync::Arc;

use datavern_core::access::{Principal, PrincipalId, Role};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::clock::Clock;
use datavern_crypto::{ApiKey, LocalKeyFile};
use datavern_governance::requests::SubjectResolver;
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

/// A running server and what a test needs to call it: its address, a client, the API key of
/// each principal it was given, and the store and services it runs on.
pub struct TestApp {
    /// The server's address.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The store the server runs on.
    pub store: Store,
    /// The record operations and services the server runs (the same as the server's).
    pub governance: Governance,
    keys: Vec<(String, ApiKey)>,
    _keys_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    db: Option<TestDb>,
}

/// Builds a [`TestApp`]: by default over [`test_catalog`] with the principals of
/// [`default_principals`], the system clock, the catalog's own subject resolver and the rate
/// limits off.
#[must_use = "a builder does nothing until `spawn`"]
pub struct TestAppBuilder {
    backend: Backend,
    catalog: Option<Catalog>,
    principals: Option<Vec<Principal>>,
    clock: Option<Arc<dyn Clock>>,
    resolver: Option<Arc<dyn SubjectResolver>>,
    config: ServerConfig,
    limiting: RateLimiting,
}

/// The principals of a default [`TestApp`], all of tenant 4601 but `oslo`:
/// - `dev`: clearance BEGRENSET, every purpose, role `auditor`;
/// - `limited`: clearance ÅPEN, purposes `kommunikasjon` and `helse_omsorg`;
/// - `oslo`: tenant 0301, clearance BEGRENSET, every purpose;
/// - `dpo`: clearance BEGRENSET, no purpose, role `dpo`.
pub fn default_principals(catalog: &Catalog) -> Vec<Principal> {
    vec![
        principal("dev", "4601", Classification::Begrenset)
            .with_roles(roles(&["auditor"]))
            .with_purposes(all_purposes(catalog)),
        principal("limited", "4601", Classification::Apen)
            .with_purposes(purposes(&["kommunikasjon", "helse_omsorg"])),
        principal("oslo", "0301", Classification::Begrenset).with_purposes(all_purposes(catalog)),
        principal("dpo", "4601", Classification::Begrenset).with_roles(roles(&["dpo"])),
    ]
}

/// Principal `id` of tenant `tenant` with `clearance`, no purpose and no role.
pub fn principal(id: &str, tenant: &str, clearance: Classification) -> Principal {
    Principal::new(
        PrincipalId::parse(id).unwrap(),
        Kommunenummer::parse(tenant).unwrap(),
        clearance,
    )
}

/// The roles named.
pub fn roles(names: &[&str]) -> Vec<Role> {
    names
        .iter()
        .map(|name| Role::parse(name).unwrap())
        .collect()
}

/// The purposes named.
pub fn purposes(names: &[&str]) -> Vec<PurposeId> {
    names
        .iter()
        .map(|name| PurposeId::parse(name).unwrap())
        .collect()
}

/// Every purpose of `catalog`.
pub fn all_purposes(catalog: &Catalog) -> Vec<PurposeId> {
    catalog.purposes().iter().map(|p| p.id().clone()).collect()
}

impl TestApp {
    /// The server over SQLite, with the default configuration.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Backend::Sqlite, ServerConfig::default()).await
    }

    /// The server over `backend`, with `config` (its listen address is replaced by
    /// `127.0.0.1:0`).
    pub async fn spawn_with(backend: Backend, config: ServerConfig) -> TestApp {
        Self::builder(backend).config(config).spawn().await
    }

    /// The server over `backend`, with `config` and its rate limits as `limiting` says.
    pub async fn spawn_limited(
        backend: Backend,
        config: ServerConfig,
        limiting: RateLimiting,
    ) -> TestApp {
        Self::builder(backend)
            .config(config)
            .rate_limits(limiting)
            .spawn()
            .await
    }

    /// A builder of a server over `backend`.
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            catalog: None,
            principals: None,
            clock: None,
            resolver: None,
            config: ServerConfig::default(),
            limiting: RateLimiting::Off,
        }
    }

    /// The API key of principal `id`.
    ///
    /// # Panics
    ///
    /// If the app has no such principal.
    pub fn key_of(&self, id: &str) -> &ApiKey {
        self.keys
            .iter()
            .find(|(principal, _)| principal == id)
            .map(|(_, key)| key)
            .unwrap_or_else(|| panic!("the test app has no principal `{id}`"))
    }

    /// The key of the default principal `dev` (see [`default_principals`]).
    pub fn key(&self) -> &ApiKey {
        self.key_of("dev")
    }

    /// The key of the default principal `limited`.
    pub fn limited_key(&self) -> &ApiKey {
        self.key_of("limited")
    }

    /// The key of the default principal `oslo`.
    pub fn oslo_key(&self) -> &ApiKey {
        self.key_of("oslo")
    }

    /// The key of the default principal `dpo`.
    pub fn dpo_key(&self) -> &ApiKey {
        self.key_of("dpo")
    }

    /// A request with `key` (no purpose).
    pub fn call(
        &self,
        key: &ApiKey,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(key.expose_secret())
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
        self.as_principal(self.key(), method, path, purpose)
    }

    /// A request with `key` for `purpose`.
    pub fn as_principal(
        &self,
        key: &ApiKey,
        method: reqwest::Method,
        path: &str,
        purpose: &str,
    ) -> reqwest::RequestBuilder {
        self.call(key, method, path)
            .header("datavern-purpose", purpose)
    }

    /// `GET path` as principal `dev`.
    pub async fn get_authed(&self, path: &str) -> reqwest::Response {
        self.call(self.key(), reqwest::Method::GET, path)
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

impl TestAppBuilder {
    /// Serves `catalog` instead of [`test_catalog`].
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// These principals, each with an API key of its own ([`TestApp::key_of`]), instead of
    /// [`default_principals`].
    pub fn principals(mut self, principals: impl IntoIterator<Item = Principal>) -> Self {
        self.principals = Some(principals.into_iter().collect());
        self
    }

    /// Reads time from `clock` (a `ManualClock` the test moves).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Resolves request identifiers with `resolver` instead of the catalog's person
    /// collections.
    pub fn resolver(mut self, resolver: Arc<dyn SubjectResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Serves with `config` (its listen address is replaced by `127.0.0.1:0`).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps or drops the configuration's rate limits.
    pub fn rate_limits(mut self, limiting: RateLimiting) -> Self {
        self.limiting = limiting;
        self
    }

    /// Fresh databases, the catalog applied, and the server running on them.
    pub async fn spawn(self) -> TestApp {
        let db = TestDb::new(self.backend).await;
        let store = db.open().await;
        let catalog = self.catalog.unwrap_or_else(test_catalog);
        store.apply_catalog(&catalog).await.unwrap();
        let principals = self
            .principals
            .unwrap_or_else(|| default_principals(&catalog));
        let keys: Vec<(String, ApiKey)> = principals
            .iter()
            .map(|p| (p.id().as_str().to_owned(), ApiKey::generate().unwrap()))
            .collect();
        let authenticator = StaticKeys::new(
            keys.iter()
                .map(|(_, key)| key.hash())
                .zip(principals)
                .collect(),
        );
        let (builder, keys_dir) = with_local_kek(&store, catalog).await;
        let builder = match self.clock {
            Some(clock) => builder.clock(clock),
            None => builder,
        };
        let governance = builder.build();
        let mut state = AppState::new(
            governance.clone(),
            Arc::new(authenticator),
            Metrics::global(),
        );
        if let Some(resolver) = self.resolver {
            state = state.with_subject_resolver(resolver);
        }
        let (addr, stop, task) = match self.limiting {
            RateLimiting::Off => serve(state, self.config).await,
            RateLimiting::AsConfigured => serve_as_configured(state, self.config).await,
        };
        TestApp {
            addr,
            client: reqwest::Client::new(),
            store,
            governance,
            keys,
            _keys_dir: keys_dir,
            stop: Some(stop),
            task: Some(task),
            db: Some(db),
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
