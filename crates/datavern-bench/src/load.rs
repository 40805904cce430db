//! The load driver: `clients` concurrent loops, each preparing an operation (not timed) and
//! running it (timed), for a warm-up and then a measured window; bounded in time and in
//! count, with a timeout on every operation.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stats::{Latencies, Summary};

/// The longest one operation may take; it then counts as an error.
pub const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long and how hard one scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadSpec {
    pub(crate) clients: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// The most operations started, warm-up included, across all clients.
    pub(crate) max_ops: u64,
}

/// One kind of operation: what to do next (chosen outside the timed part), and doing it.
pub(crate) trait Workload: Send + Sync + 'static {
    /// What one operation needs: a body, an id, a fødselsnummer.
    type Input: Send;

    /// The input of client `client`'s `iteration`th operation.
    fn prepare(&self, client: usize, iteration: u64) -> Self::Input;

    /// Runs one operation; an error says what went wrong, without personal data.
    fn run(&self, input: Self::Input) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one client saw in the measured window.
struct ClientOutcome {
    latencies: Latencies,
    errors: u64,
    first_error: Option<String>,
    finished: Instant,
}

/// Runs `workload` as `spec` says and summarizes the measured window.
pub(crate) async fn drive<W: Workload>(workload: Arc<W>, spec: LoadSpec) -> Summary {
    let clients = spec.clients.max(1);
    let per_client = spec.max_ops.div_ceil(clients as u64).max(1);
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let end = measure_from + spec.duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let workload = workload.clone();
            tokio::spawn(async move {
                let mut outcome = ClientOutcome {
                    latencies: Latencies::new(),
                    errors: 0,
                    first_error: None,
                    finished: measure_from,
                };
                for iteration in 0..per_client {
                    if Instant::now() >= end {
                        break;
                    }
                    let input = workload.prepare(client, iteration);
                    let begun = Instant::now();
                    let result = tokio::time::timeout(OP_TIMEOUT, workload.run(input)).await;
                    let done = Instant::now();
                    outcome.finished = done;
                    if begun < measure_from {
                        continue;
                    }
                    match result {
                        Ok(Ok(())) => outcome.latencies.record(done - begun),
                        Ok(Err(error)) => outcome.error(error),
                        Err(_) => {
                            outcome.error(format!("no answer within {} s", OP_TIMEOUT.as_secs()))
                        }
                    }
                }
                outcome
            })
        })
        .collect();

    let mut latencies = Latencies::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut finished = measure_from;
    for task in tasks {
        match task.await {
            Ok(outcome) => {
                latencies.merge(&outcome.latencies);
                errors += outcome.errors;
                first_error = first_error.or(outcome.first_error);
                finished = finished.max(outcome.finished);
            }
            Err(join) => {
                errors += 1;
                first_error = first_error.or(Some(format!("a client task failed: {join}")));
            }
        }
    }
    let window = finished.saturating_duration_since(measure_from);
    Summary::new(&latencies, errors, window, first_error)
}

impl ClientOutcome {
    fn error(&mut self, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Fails every `fail_every`th operation; counts what it was asked to do.
    struct Counting {
        started: AtomicU64,
        fail_every: u64,
    }

    impl Workload for Counting {
        type Input = u64;

        fn prepare(&self, _client: usize, _iteration: u64) -> u64 {
            self.started.fetch_add(1, Ordering::Relaxed) + 1
        }

        async fn run(&self, n: u64) -> Result<(), String> {
            tokio::task::yield_now().await;
            if self.fail_every > 0 && n.is_multiple_of(self.fail_every) {
                Err(format!("operation {n} failed"))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn the_count_bound_stops_a_long_run() {
        let workload = Arc::new(Counting {
            started: AtomicU64::new(0),
            fail_every: 0,
        });
        let spec = LoadSpec {
            clients: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(3600),
            max_ops: 1000,
        };
        let summary = drive(workload.clone(), spec).await;
        assert_eq!(workload.started.load(Ordering::Relaxed), 1000);
        assert_eq!(summary.ops, 1000);
        assert_eq!(summary.errors, 0);
        assert!(summary.seconds < 3600.0);
    }

    #[tokio::test]
    async fn errors_are_counted_and_the_first_is_kept() {
        let workload = Arc::new(Counting {
            started: AtomicU64::new(0),
            fail_every: 10,
        });
        let spec = LoadSpec {
            clients: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(3600),
            max_ops: 100,
        };
        let summary = drive(workload, spec).await;
        assert_eq!(summary.ops, 90);
        assert_eq!(summary.errors, 10);
        assert_eq!(summary.first_error.as_deref(), Some("operation 10 failed"));
        assert!(summary.problem().is_some());
    }

    #[tokio::test]
    async fn the_time_bound_stops_an_unbounded_count() {
        let workload = Arc::new(Counting {
            started: AtomicU64::new(0),
            fail_every: 0,
        });
        let spec = LoadSpec {
            clients: 2,
            warmup: Duration::from_millis(20),
            duration: Duration::from_millis(50),
            max_ops: u64::MAX,
        };
        let summary = drive(workload.clone(), spec).await;
        // It stopped (this test would hang otherwise) and measured after the warm-up only.
        assert!(summary.ops > 0);
        assert!(summary.ops < workload.started.load(Ordering::Relaxed));
    }
}
