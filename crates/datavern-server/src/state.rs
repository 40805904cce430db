//! What every handler shares: the governed record operations (with the store and the
//! catalog they were built for), the authenticator and the metrics.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_core::clock::Clock;
use datavern_core::dsr::FourEyes;
use datavern_store::requests::{Requests, SubjectResolver};
use datavern_store::rights::Rights;
use datavern_store::{Records, Store};

use crate::auth::Authenticator;
use crate::metrics::Metrics;

/// The application state handed to every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    requests: Requests,
    resolver: Arc<dyn SubjectResolver>,
}

struct Inner {
    records: Records,
    rights: Rights,
    authenticator: Arc<dyn Authenticator>,
    metrics: Metrics,
}

impl AppState {
    /// State over the record operations (built on a store the catalog was applied to) and an
    /// authenticator.
    pub fn new(records: Records, authenticator: Arc<dyn Authenticator>, metrics: Metrics) -> Self {
        let requests = Requests::new(records.store());
        let rights = Rights::new(records.clone());
        AppState {
            inner: Arc::new(Inner {
                records,
                rights: rights.clone(),
                authenticator,
                metrics,
            }),
            requests,
            resolver: Arc::new(rights),
        }
    }

    /// The clock of the store every handler takes time from (tests give the store a
    /// [`ManualClock`](datavern_core::clock::ManualClock) with `Store::with_clock`).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.records.store().clock()
    }

    /// The same state with the four-eyes rule `four_eyes` for data subject requests (the
    /// default covers erasure and rectification).
    pub fn with_four_eyes(mut self, four_eyes: FourEyes) -> Self {
        self.requests = self.requests.with_four_eyes(four_eyes);
        self
    }

    /// The same state resolving the identifiers of data subject requests (a fødselsnummer
    /// to subject ids) with `resolver` instead of the catalog's person collections
    /// ([`Rights`]).
    pub fn with_subject_resolver(mut self, resolver: Arc<dyn SubjectResolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// The data subject request register.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// The resolver of data subject request identifiers.
    pub fn subject_resolver(&self) -> &dyn SubjectResolver {
        self.resolver.as_ref()
    }

    /// The executors of data subject requests.
    pub fn rights(&self) -> &Rights {
        &self.inner.rights
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.inner.records.catalog()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.inner.records.store()
    }

    /// The governed record operations.
    pub fn records(&self) -> &Records {
        &self.inner.records
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &dyn Authenticator {
        self.inner.authenticator.as_ref()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store's pools are left out: driver options can hold connection passwords.
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}
