//! Shared helpers, from `datavern-testkit`.

pub(crate) use datavern_testkit::Kek;
pub(crate) use datavern_testkit::fixtures::{KOMMUNE, catalog, subject, tenant};
pub(crate) use datavern_testkit::on_every_backend;
pub(crate) use datavern_testkit::report;
pub(crate) use datavern_testkit::sql::{execute, scalar, strings};

/// The record error a governance service failed with.
pub(crate) fn record_error<T: std::fmt::Debug, E: Into<datavern_governance::Error>>(
    result: Result<T, E>,
) -> datavern_store::RecordError {
    match result.map_err(Into::into) {
        Err(datavern_governance::Error::Store(datavern_store::StoreError::Record(err))) => err,
        other => panic!("expected a record error, got {other:?}"),
    }
}
