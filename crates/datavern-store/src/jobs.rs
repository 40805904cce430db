//! Resumable jobs in `dv_jobs`: a job that works through its input in steps (an import of a
//! legacy system's rows) keeps how far it got in one row, keyed by a stable `unique_key`, and
//! moves it forward **in the transaction of each step** ([`Records::create_many_checkpointed`]
//! for a batch of records), so a run killed at any point resumes exactly after the last
//! step that committed and never does a step twice.
//!
//! A run claims the job ([`claim`]): it becomes the job's holder (`locked_by`, the run's id)
//! and reads the checkpoint left by the runs before. Every step afterwards moves the
//! checkpoint only while the run is still the holder; a second run of the same job started
//! meanwhile takes it over, and the first run's next step fails with
//! [`StoreError::JobSuperseded`] and is rolled back, so two runs never both write a step.
//!
//! The payload is the job's own JSON (positions and counts, never personal data).
//!
//! [`Records::create_many_checkpointed`]: crate::Records::create_many_checkpointed

use datavern_core::catalog::Kommunenummer;
use datavern_sql::{At, Conn, Json, Text, Tx, TxMode};
use sea_query::{Alias, Expr, Query};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::records::time_expr;
use crate::store::Store;

const JOBS: &str = "dv_jobs";

/// The state of a job, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// Claimed by a run, steps committed or in progress (`running`).
    Running,
    /// Every step done (`done`).
    Done,
}

impl JobState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
        }
    }

    fn parse(name: &str) -> JobState {
        match name {
            "done" => JobState::Done,
            _ => JobState::Running,
        }
    }
}

/// Which job: its kind (`name`, e.g. `import`), its stable key and its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKey {
    /// The kind of job.
    pub name: String,
    /// What makes two runs the same job (at most 255 characters; no personal data).
    pub unique_key: String,
    /// The tenant the job works for.
    pub tenant: Kommunenummer,
}

/// A job claimed by a run: what the runs before left.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The run now holding the job.
    pub run: Uuid,
    /// Whether the job was there before (a rerun) or made by this claim.
    pub resumed: bool,
    /// Its state before the claim.
    pub state: JobState,
    /// Its payload before the claim (`initial` for a new job).
    pub payload: serde_json::Value,
}

/// A step's move of a job's checkpoint: written in the step's transaction, only while `run`
/// holds the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The job.
    pub unique_key: String,
    /// The run that must still hold it.
    pub run: Uuid,
    /// The state after the step.
    pub state: JobState,
    /// The payload after the step.
    pub payload: serde_json::Value,
}

/// Claims the job `key` for run `run`: makes it with `initial` as its payload if it does not
/// exist, else takes it over (whatever run held it) and returns the payload the runs before
/// left. One transaction.
pub async fn claim(
    store: &Store,
    key: &JobKey,
    run: Uuid,
    initial: &serde_json::Value,
) -> Result<Claimed> {
    let now = store.now();
    let mut tx = Tx::begin(store.data(), key.tenant, TxMode::Write).await?;
    let taken = {
        let mut conn = tx.conn();
        let backend = conn.backend();
        let update = Query::update()
            .table(col(JOBS))
            .value(col("locked_by"), run.to_string())
            .value(col("updated_at"), time_expr(backend, now))
            .and_where(Expr::col(col("unique_key")).eq(key.unique_key.as_str()))
            .to_owned();
        conn.execute(&update).await?
    };
    let claimed = if taken == 0 {
        insert(&mut tx.conn(), key, run, initial, now).await?;
        Claimed {
            run,
            resumed: false,
            state: JobState::Running,
            payload: initial.clone(),
        }
    } else {
        let select = Query::select()
            .columns([col("state"), col("payload")])
            .from(col(JOBS))
            .and_where(Expr::col(col("unique_key")).eq(key.unique_key.as_str()))
            .to_owned();
        let rows: Vec<(Text, Json<serde_json::Value>)> = tx.conn().fetch_all(&select).await?;
        let (Text(state), Json(payload)) =
            rows.into_iter()
                .next()
                .ok_or_else(|| StoreError::JobSuperseded {
                    job: key.unique_key.clone(),
                })?;
        Claimed {
            run,
            resumed: true,
            state: JobState::parse(&state),
            payload,
        }
    };
    tx.commit().await?;
    Ok(claimed)
}

/// Moves the job's checkpoint in its own transaction (a step that writes nothing else, or
/// the job's end).
pub async fn advance(store: &Store, tenant: Kommunenummer, checkpoint: &Checkpoint) -> Result<()> {
    let mut tx = Tx::begin(store.data(), tenant, TxMode::Write).await?;
    advance_in(&mut tx.conn(), checkpoint, store.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves the job's checkpoint in the caller's transaction; fails with
/// [`StoreError::JobSuperseded`] if another run has taken the job over (the caller rolls
/// back).
pub(crate) async fn advance_in(
    conn: &mut Conn<'_>,
    checkpoint: &Checkpoint,
    now: At,
) -> Result<()> {
    let backend = conn.backend();
    let update = Query::update()
        .table(col(JOBS))
        .value(col("state"), checkpoint.state.as_str())
        .value(
            col("payload"),
            Expr::val(sea_query::Value::Json(Some(Box::new(
                checkpoint.payload.clone(),
            )))),
        )
        .value(col("updated_at"), time_expr(backend, now))
        .and_where(Expr::col(col("unique_key")).eq(checkpoint.unique_key.as_str()))
        .and_where(Expr::col(col("locked_by")).eq(checkpoint.run.to_string()))
        .to_owned();
    if conn.execute(&update).await? == 0 {
        return Err(StoreError::JobSuperseded {
            job: checkpoint.unique_key.clone(),
        });
    }
    Ok(())
}

async fn insert(
    conn: &mut Conn<'_>,
    key: &JobKey,
    run: Uuid,
    payload: &serde_json::Value,
    now: At,
) -> Result<()> {
    let backend = conn.backend();
    let insert = Query::insert()
        .into_table(col(JOBS))
        .columns(
            [
                "id",
                "name",
                "tenant",
                "unique_key",
                "state",
                "run_after",
                "payload",
                "locked_by",
                "created_at",
                "updated_at",
            ]
            .map(col),
        )
        .values_panic([
            Uuid::now_v7().into(),
            key.name.as_str().into(),
            key.tenant.as_str().into(),
            key.unique_key.as_str().into(),
            JobState::Running.as_str().into(),
            time_expr(backend, now),
            Expr::val(sea_query::Value::Json(Some(Box::new(payload.clone())))).into(),
            run.to_string().into(),
            time_expr(backend, now),
            time_expr(backend, now),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}
