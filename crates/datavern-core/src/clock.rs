//! Where "now" comes from: the system clock in production, a clock a test sets and moves.
//!
//! **Invariant:** the one place datavern reads the system time. Everything that stamps or
//! judges a time (audit entries, record versions, keys, consents, holds, requests, retention,
//! reports) takes it from the one [`Clock`] its store or process was given; `.ci/check-clock`
//! fails CI on a direct read of the system time anywhere else.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

/// The source of the current time. Injected once (into the store, the server's state and the
/// CLI's process), so that a test moves time instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is set or advanced; clones share one time.
///
/// ```
/// use datavern_core::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new("2026-03-01T12:00:00Z".parse()?);
/// clock.advance(jiff::SignedDuration::from_hours(24 * 40));
/// assert_eq!(clock.now().to_string(), "2026-04-10T12:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the time to `now`.
    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time by `by` (negative moves it back). Saturates at the ends of the range.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
