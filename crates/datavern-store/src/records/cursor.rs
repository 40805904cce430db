//! Cursor pagination: pages of records in id order.

use std::fmt;

use uuid::Uuid;

use super::error::RecordError;

/// How many records a page holds when the caller does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The most records a page holds; larger limits are lowered to it.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// Where the next page starts: after the record with this id.
///
/// Record ids are UUIDv7, which sort by creation time on every backend (bytes compared
/// in order), so pages come in creation order, are stable under concurrent inserts (new
/// records appear on later pages) and never repeat a record. The text form is opaque to
/// clients: `r1.` and the id's 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    after: Uuid,
}

/// One page of results and the cursor of the next, if there are more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results, in id order.
    pub items: Vec<T>,
    /// Pass it to get the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

const PREFIX: &str = "r1.";

impl Cursor {
    /// The cursor that continues after record `id`.
    pub fn after(id: Uuid) -> Self {
        Cursor { after: id }
    }

    /// The id the next page starts after.
    pub fn after_id(&self) -> Uuid {
        self.after
    }

    /// Reads a cursor's text form, as [`Display`](fmt::Display) writes it.
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        let hex = text
            .strip_prefix(PREFIX)
            .ok_or(RecordError::InvalidCursor)?;
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RecordError::InvalidCursor);
        }
        Uuid::try_parse(hex)
            .map(Cursor::after)
            .map_err(|_| RecordError::InvalidCursor)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.after.simple())
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({self})")
    }
}

impl std::str::FromStr for Cursor {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cursor::parse(s)
    }
}

/// The page size for a requested `limit`: at least 1, at most [`MAX_PAGE_LIMIT`].
pub fn page_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_text_round_trips_and_refuses_anything_else() {
        let cursor = Cursor::after(Uuid::now_v7());
        assert_eq!(Cursor::parse(&cursor.to_string()).unwrap(), cursor);
        assert!(cursor.to_string().starts_with("r1."));
        for bad in [
            "",
            "r1.",
            "r2.0190b5d27c1e70008000000000000001",
            "r1.0190b5d2-7c1e-7000-8000-000000000001",
            "r1.0190b5d27c1e7000800000000000000g",
            "0190b5d27c1e70008000000000000001",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_limit_is_bounded() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(1), 1);
        assert_eq!(page_limit(DEFAULT_PAGE_LIMIT), DEFAULT_PAGE_LIMIT);
        assert_eq!(page_limit(MAX_PAGE_LIMIT + 1), MAX_PAGE_LIMIT);
        assert_eq!(page_limit(u32::MAX), MAX_PAGE_LIMIT);
    }
}
