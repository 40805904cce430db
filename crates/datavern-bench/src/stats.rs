//! Latency histograms and what a run's report says about them: throughput, percentiles,
//! errors, and the governed/raw ratios.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The slowest latency recorded exactly; slower operations are recorded as this (an operation
/// is abandoned long before, see [`crate::OP_TIMEOUT`]).
const HIGHEST_MICROS: u64 = 120_000_000;

/// Latencies of one client or of a whole run, in microseconds, with three significant digits.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
            .expect("1 µs to two minutes at three significant digits are valid bounds");
        Latencies { histogram }
    }

    /// Records one operation's latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, HIGHEST_MICROS);
        self.histogram.saturating_record(micros);
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides: `add` cannot fail; were it to, the figures would be
        // short, not wrong, and the count shows it.
        let _ = self.histogram.add(&other.histogram);
    }

    /// The number of latencies recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The latency at `quantile` (0.0–1.0) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest latency in milliseconds; 0 when empty.
    pub fn max_ms(&self) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        self.histogram.max() as f64 / 1000.0
    }
}

/// What one side of one scenario did in the measured window (after warm-up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Operations that succeeded.
    pub ops: u64,
    /// Operations that failed (an error, an unexpected answer, or a timeout).
    pub errors: u64,
    /// The length of the measured window, in seconds.
    pub seconds: f64,
    /// Successful operations per second.
    pub throughput: f64,
    /// Median latency of successful operations, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// Slowest, in milliseconds.
    pub max_ms: f64,
    /// What the first error was (status and code, or the database's message), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Summary {
    /// The summary of `latencies` (successful operations), `errors` failed ones, over a window
    /// of `window`.
    pub fn new(
        latencies: &Latencies,
        errors: u64,
        window: Duration,
        first_error: Option<String>,
    ) -> Self {
        let seconds = window.as_secs_f64();
        let ops = latencies.len();
        Summary {
            ops,
            errors,
            seconds,
            throughput: if seconds > 0.0 {
                ops as f64 / seconds
            } else {
                0.0
            },
            p50_ms: latencies.quantile_ms(0.50),
            p95_ms: latencies.quantile_ms(0.95),
            p99_ms: latencies.quantile_ms(0.99),
            max_ms: latencies.max_ms(),
            first_error,
        }
    }

    /// Why this run does not count as completed: errors, or no operation at all.
    pub fn problem(&self) -> Option<String> {
        if self.errors > 0 {
            let first = self.first_error.as_deref().unwrap_or("no message");
            return Some(format!("{} errors (first: {first})", self.errors));
        }
        if self.ops == 0 {
            return Some("no operation completed".to_owned());
        }
        None
    }
}

/// `governed / raw`, when both are positive (a ratio with zero is meaningless).
pub fn ratio(governed: f64, raw: f64) -> Option<f64> {
    (governed > 0.0 && raw > 0.0 && governed.is_finite() && raw.is_finite()).then(|| governed / raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_milliseconds() {
        let mut latencies = Latencies::new();
        for ms in 1..=100 {
            latencies.record(millis(ms));
        }
        let summary = Summary::new(&latencies, 0, Duration::from_secs(4), None);
        assert_eq!(summary.ops, 100);
        assert_eq!(summary.throughput, 25.0);
        // Three significant digits: within 0.1 %.
        let close = |actual: f64, expected: f64| (actual - expected).abs() <= expected * 0.001;
        assert!(close(summary.p50_ms, 50.0), "{summary:?}");
        assert!(close(summary.p95_ms, 95.0), "{summary:?}");
        assert!(close(summary.p99_ms, 99.0), "{summary:?}");
        assert!(close(summary.max_ms, 100.0), "{summary:?}");
        assert_eq!(summary.problem(), None);
    }

    #[test]
    fn merged_histograms_hold_every_client() {
        let mut fast = Latencies::new();
        let mut slow = Latencies::new();
        for _ in 0..90 {
            fast.record(Duration::from_micros(500));
        }
        for _ in 0..10 {
            slow.record(millis(20));
        }
        let mut all = Latencies::new();
        all.merge(&fast);
        all.merge(&slow);
        assert_eq!(all.len(), 100);
        assert!((all.quantile_ms(0.5) - 0.5).abs() < 0.001);
        assert!((all.quantile_ms(0.95) - 20.0).abs() < 0.02);
    }

    #[test]
    fn sub_microsecond_and_huge_latencies_are_clamped_not_lost() {
        let mut latencies = Latencies::new();
        latencies.record(Duration::from_nanos(10));
        latencies.record(Duration::from_secs(3600));
        assert_eq!(latencies.len(), 2);
        assert!((latencies.quantile_ms(0.0) - 0.001).abs() < 1e-9);
        assert!(latencies.max_ms() >= 119_000.0);
    }

    #[test]
    fn errors_and_empty_runs_are_problems() {
        let empty = Summary::new(&Latencies::new(), 0, Duration::from_secs(1), None);
        assert_eq!(empty.throughput, 0.0);
        assert_eq!(empty.p99_ms, 0.0);
        assert_eq!(empty.problem().as_deref(), Some("no operation completed"));

        let mut latencies = Latencies::new();
        latencies.record(millis(1));
        let failed = Summary::new(
            &latencies,
            3,
            Duration::from_secs(1),
            Some("HTTP 500 internal".into()),
        );
        assert_eq!(
            failed.problem().as_deref(),
            Some("3 errors (first: HTTP 500 internal)")
        );
        let zero_window = Summary::new(&latencies, 0, Duration::ZERO, None);
        assert_eq!(zero_window.throughput, 0.0);
    }

    #[test]
    fn ratios_need_two_positive_figures() {
        assert_eq!(ratio(500.0, 1000.0), Some(0.5));
        assert_eq!(ratio(3.0, 1.5), Some(2.0));
        assert_eq!(ratio(0.0, 1000.0), None);
        assert_eq!(ratio(500.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }
}
