//! What every handler shares: the governed record operations and services (one
//! [`Governance`], with the store and the catalog they were built for), the authenticator and
//! the metrics.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_core::clock::Clock;
use datavern_governance::Governance;
use datavern_governance::requests::{Requests, SubjectResolver};
use datavern_governance::rights::Rights;
use datavern_store::{Records, Store};

use crate::auth::Authenticator;
use crate::metrics::Metrics;

/// The application state handed to every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    resolver: Arc<dyn SubjectResolver>,
}

struct Inner {
    governance: Governance,
    authenticator: Arc<dyn Authenticator>,
    metrics: Metrics,
}

impl AppState {
    /// State over `governance` (the record operations and the services, built once) and an
    /// authenticator.
    pub fn new(
        governance: Governance,
        authenticator: Arc<dyn Authenticator>,
        metrics: Metrics,
    ) -> Self {
        let resolver = Arc::new(governance.rights().clone());
        AppState {
            inner: Arc::new(Inner {
                governance,
                authenticator,
                metrics,
            }),
            resolver,
        }
    }

    /// The clock of the store every handler takes time from (tests give the composition
    /// root a [`ManualClock`](datavern_core::clock::ManualClock)).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.governance.clock()
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
        self.inner.governance.requests()
    }

    /// The resolver of data subject request identifiers.
    pub fn subject_resolver(&self) -> &dyn SubjectResolver {
        self.resolver.as_ref()
    }

    /// The executors of data subject requests.
    pub fn rights(&self) -> &Rights {
        self.inner.governance.rights()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.inner.governance.catalog()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.inner.governance.store()
    }

    /// The governed record operations.
    pub fn records(&self) -> &Records {
        self.inner.governance.records()
    }

    /// The record operations and every governance service.
    pub fn governance(&self) -> &Governance {
        &self.inner.governance
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
