//! SQL identifiers of generated tables, columns and indexes.
//!
//! Catalog names are already restricted to `[a-z][a-z0-9_]*` of at most 48 bytes
//! (`datavern_core::catalog::MAX_NAME_LEN`); every identifier datavern derives from them is
//! checked again here before it reaches SQL, so a name read back from the database (the
//! registry) cannot smuggle anything either. Identifiers are at most 63 bytes, PostgreSQL's
//! limit (MySQL allows 64).

use aws_lc_rs::digest::{SHA256, digest};

use crate::error::{Result, StoreError};

/// Collection tables are named this prefix followed by the collection name.
pub const TABLE_PREFIX: &str = "c_";
/// Column of the primary subject's id in collections with subject references.
pub const PRIMARY_SUBJECT_COLUMN: &str = "dv_subject";
/// Prefix of the columns of secondary subjects' ids (`dv_subject_<reference name>`).
pub const SUBJECT_COLUMN_PREFIX: &str = "dv_subject_";
/// Prefix of blind-index columns (`dv_bidx_<field>`).
pub const BLIND_INDEX_PREFIX: &str = "dv_bidx_";
/// Column flagging a restricted record (GDPR Art. 18).
pub const RESTRICTED_COLUMN: &str = "dv_restricted";
/// Name of the PostgreSQL row-level security policy on every collection table.
pub const TENANT_POLICY: &str = "dv_tenant_isolation";
/// The longest identifier datavern generates (PostgreSQL's limit).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// The table of collection `collection`.
pub fn table_name(collection: &str) -> String {
    format!("{TABLE_PREFIX}{collection}")
}

/// The blind-index column of `field`.
pub fn blind_index_column(field: &str) -> String {
    format!("{BLIND_INDEX_PREFIX}{field}")
}

/// The id column of the secondary subject reference `name`.
pub(crate) fn secondary_subject_column(name: &str) -> String {
    format!("{SUBJECT_COLUMN_PREFIX}{name}")
}

/// The name of the index on `table`'s `(tenant, column)`: `ix_<table>_<column>`, shortened
/// with a hash suffix when longer than [`MAX_IDENTIFIER_LEN`] (index names are unique per
/// schema on PostgreSQL, so they carry the table name).
pub fn index_name(table: &str, column: &str) -> String {
    let name = format!("ix_{table}_{column}");
    if name.len() <= MAX_IDENTIFIER_LEN {
        return name;
    }
    let hash = digest(&SHA256, name.as_bytes());
    let suffix: String = hash.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // ASCII only, so any byte offset is a char boundary.
    format!("{}_{suffix}", &name[..MAX_IDENTIFIER_LEN - 9])
}

/// Checks that `name` is a plain lowercase identifier that needs no quoting in any dialect
/// and fits every backend's length limit.
pub fn checked(name: &str) -> Result<&str> {
    let valid = name.len() <= MAX_IDENTIFIER_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(StoreError::Config(format!(
            "\"{}\" is not a valid SQL identifier: use at most {MAX_IDENTIFIER_LEN} lowercase \
             ASCII letters, digits and _, starting with a letter",
            name.escape_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_index_names_are_shortened_uniquely() {
        let field = "a".repeat(48);
        let table = table_name(&"b".repeat(48));
        let one = index_name(&table, &blind_index_column(&field));
        let two = index_name(&table, &blind_index_column(&format!("{}c", &field[1..])));
        assert_eq!(one.len(), MAX_IDENTIFIER_LEN);
        assert_ne!(one, two);
        assert!(checked(&one).is_ok());
        assert_eq!(index_name("c_x", "id"), "ix_c_x_id");
    }

    #[test]
    fn only_plain_identifiers_pass() {
        assert!(checked("c_innbyggere").is_ok());
        for bad in [
            "",
            "C_x",
            "1x",
            "x-y",
            "x\"; DROP TABLE y; --",
            &"x".repeat(64),
        ] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }
}
