//! datavern-backup's integration tests: snapshots, restore and crypto-shredding on every
//! backend, the repository's refusals, retention tiers and legal holds, and the S3 target.

mod support;

mod pitr;
mod refusals;
mod restic;
mod restore;
mod retention;
mod s3;
