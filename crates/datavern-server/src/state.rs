//! What every handler shares: the governed record operations (with the store and the
//! catalog they were built for), the authenticator and the metrics.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_store::{Records, Store};

use crate::auth::Authenticator;
use crate::metrics::Metrics;

/// The application state handed to every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    records: Records,
    authenticator: Arc<dyn Authenticator>,
    metrics: Metrics,
}

impl AppState {
    /// State over the record operations (built on a store the catalog was applied to) and an
    /// authenticator.
    pub fn new(records: Records, authenticator: Arc<dyn Authenticator>, metrics: Metrics) -> Self {
        AppState {
            inner: Arc::new(Inner {
                records,
                authenticator,
                metrics,
            }),
        }
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
