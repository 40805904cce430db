//! The six workloads: insert one, read by id, lookup by fødselsnummer, each through the HTTP
//! API (as an application calls datavern) and as plain SQL on the raw table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datavern_sql::baseline::RawBaseline;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use uuid::Uuid;

use crate::data::{COLLECTION, LOOKUP_FIELD, PURPOSE, Person, TENANT, pick};
use crate::env::Env;
use crate::load::{OP_TIMEOUT, Workload};
use crate::{BenchError, Scenario};

/// What every workload of one backend shares.
pub(crate) struct Shared {
    seed: u64,
    records: u64,
    /// The next person index an insert writes (after the seeded ones), per side.
    next_governed: AtomicU64,
    next_raw: AtomicU64,
    governed_ids: Vec<Uuid>,
    raw_ids: Vec<Uuid>,
    http: reqwest::Client,
    base: String,
    baseline: RawBaseline,
}

impl Shared {
    /// The workloads' view of `env`, with an HTTP client that keeps connections alive and
    /// sends the API key and the purpose with every request.
    pub(crate) fn new(env: &Env, seed: u64, records: u64) -> Result<Arc<Shared>, BenchError> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", env.api_key.expose_secret()))
            .map_err(|_| BenchError::Setup("the API key is not a valid header value".into()))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert("datavern-purpose", HeaderValue::from_static(PURPOSE));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(OP_TIMEOUT)
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| BenchError::Setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Arc::new(Shared {
            seed,
            records,
            next_governed: AtomicU64::new(records),
            next_raw: AtomicU64::new(records),
            governed_ids: env.governed_ids.clone(),
            raw_ids: env.raw_ids.clone(),
            http,
            base: format!("http://{}/v1/collections/{COLLECTION}/records", env.addr),
            baseline: env.baseline.clone(),
        }))
    }

    fn person_to_read(&self, client: usize, iteration: u64) -> u64 {
        pick(self.seed, client, iteration, self.records)
    }
}

/// A scenario through the HTTP API.
pub(crate) struct Governed {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scenario: Scenario,
}

/// A scenario as plain SQL on the raw table.
pub(crate) struct Raw {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scenario: Scenario,
}

/// One operation's input.
pub(crate) enum Input {
    /// A governed record body (JSON) to insert.
    Insert(Vec<u8>),
    /// A row to insert.
    InsertRow(Box<datavern_sql::baseline::RawPerson>),
    /// A record id to read.
    Get(Uuid),
    /// A fødselsnummer to look up.
    Lookup(String),
}

#[derive(Deserialize)]
struct Created {
    id: Uuid,
}

#[derive(Deserialize)]
struct Record {
    id: Uuid,
    fields: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Record>,
}

impl Workload for Governed {
    type Input = Input;

    fn prepare(&self, client: usize, iteration: u64) -> Input {
        let shared = &self.shared;
        match self.scenario {
            Scenario::Insert => {
                let index = shared.next_governed.fetch_add(1, Ordering::Relaxed);
                let body = Person::new(shared.seed, index).body();
                // A map of strings always serializes.
                Input::Insert(serde_json::to_vec(&body).unwrap_or_default())
            }
            Scenario::Read => {
                let index = shared.person_to_read(client, iteration);
                Input::Get(id_at(&shared.governed_ids, index))
            }
            Scenario::Lookup => {
                let index = shared.person_to_read(client, iteration);
                Input::Lookup(Person::new(shared.seed, index).fodselsnummer().to_owned())
            }
        }
    }

    async fn run(&self, input: Input) -> Result<(), String> {
        let http = &self.shared.http;
        let base = &self.shared.base;
        match input {
            Input::Insert(body) => {
                let response = http
                    .post(base)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await;
                let created: Created = answer(response, 201).await?;
                nonzero(created.id)
            }
            Input::Get(id) => {
                let response = http.get(format!("{base}/{id}")).send().await;
                let record: Record = answer(response, 200).await?;
                if record.id != id || record.fields.is_empty() {
                    return Err("the record read is not the one asked for".into());
                }
                Ok(())
            }
            Input::Lookup(fodselsnummer) => {
                let response = http
                    .get(base)
                    .query(&[(LOOKUP_FIELD, fodselsnummer.as_str())])
                    .send()
                    .await;
                let page: Page = answer(response, 200).await?;
                if page.items.is_empty() {
                    return Err("a lookup of a seeded fødselsnummer found nothing".into());
                }
                Ok(())
            }
            Input::InsertRow(_) => Err("a raw row given to the governed side".into()),
        }
    }
}

impl Workload for Raw {
    type Input = Input;

    fn prepare(&self, client: usize, iteration: u64) -> Input {
        let shared = &self.shared;
        match self.scenario {
            Scenario::Insert => {
                let index = shared.next_raw.fetch_add(1, Ordering::Relaxed);
                Input::InsertRow(Box::new(
                    Person::new(shared.seed, index).row(Uuid::now_v7()),
                ))
            }
            Scenario::Read => {
                let index = shared.person_to_read(client, iteration);
                Input::Get(id_at(&shared.raw_ids, index))
            }
            Scenario::Lookup => {
                let index = shared.person_to_read(client, iteration);
                Input::Lookup(Person::new(shared.seed, index).fodselsnummer().to_owned())
            }
        }
    }

    async fn run(&self, input: Input) -> Result<(), String> {
        let baseline = &self.shared.baseline;
        match input {
            Input::InsertRow(row) => baseline.insert(&row).await.map_err(|e| e.to_string()),
            Input::Get(id) => match baseline.get(TENANT, id).await {
                Ok(Some(row)) if row.id == id => Ok(()),
                Ok(_) => Err("a seeded row was not found by id".into()),
                Err(err) => Err(err.to_string()),
            },
            Input::Lookup(fodselsnummer) => match baseline.lookup(TENANT, &fodselsnummer).await {
                Ok(rows) if !rows.is_empty() => Ok(()),
                Ok(_) => Err("a lookup of a seeded fødselsnummer found nothing".into()),
                Err(err) => Err(err.to_string()),
            },
            Input::Insert(_) => Err("a JSON body given to the raw side".into()),
        }
    }
}

fn id_at(ids: &[Uuid], index: u64) -> Uuid {
    usize::try_from(index)
        .ok()
        .and_then(|i| ids.get(i))
        .copied()
        .unwrap_or_else(Uuid::nil)
}

fn nonzero(id: Uuid) -> Result<(), String> {
    if id.is_nil() {
        Err("the created record has no id".into())
    } else {
        Ok(())
    }
}

/// The body of a response with `status`, decoded; otherwise the status and the problem's
/// code (problem details name no personal data).
async fn answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
    status: u16,
) -> Result<T, String> {
    let response = response.map_err(|e| format!("request failed: {e}"))?;
    let actual = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?;
    if actual != status {
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|problem| problem.get("code")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(format!("HTTP {actual} {code}").trim_end().to_owned());
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("unexpected response body: {e}"))
}
