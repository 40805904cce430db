//! Retention tiers and legal holds on snapshots.
