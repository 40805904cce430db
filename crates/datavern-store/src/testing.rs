//! Test support (feature `test-support`): a store on a test's fresh databases.
//!
//! The databases themselves come from `datavern_sql::testing::TestDb`, one pair per test on
//! any backend; [`OpenStore::open`] opens and migrates a [`Store`] on them.
//!
//! ```no_run
//! use datavern_sql::Backend;
//! use datavern_sql::testing::TestDb;
//! use datavern_store::testing::OpenStore as _;
//!
//! # async fn demo() {
//! for backend in Backend::ALL {
//!     let db = TestDb::new(backend).await; // fresh data + key store databases
//!     let store = db.open().await; // migrated
//!     // ... the test ...
//!     store.close().await;
//!     db.cleanup().await; // drops the databases
//! }
//! # }
//! ```

use datavern_sql::testing::TestDb;
use std::future::Future;

use crate::store::Store;

/// Opens a [`Store`] on a test's databases.
pub trait OpenStore {
    /// Opens (and migrates) a store on the two databases.
    ///
    /// # Panics
    ///
    /// If opening fails.
    fn open(&self) -> impl Future<Output = Store> + Send;
}

impl OpenStore for TestDb {
    async fn open(&self) -> Store {
        match Store::open(self.config()).await {
            Ok(store) => store,
            Err(err) => panic!(
                "cannot open the {} test store: {}",
                self.backend().product(),
                crate::error::report(&err)
            ),
        }
    }
}
