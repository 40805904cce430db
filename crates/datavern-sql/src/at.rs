//! The one time type at the storage boundary, and the one bridge between the two time
//! libraries.
//!
//! datavern-core speaks `jiff` (`Timestamp`, `civil::Date`); the drivers and the wire speak
//! `time` (`OffsetDateTime`, `Date`). Every instant the store binds or decodes is an
//! [`At`]: UTC, microsecond precision (what every backend keeps), within the range of
//! `time`. The conversions between the libraries are here and nowhere else; one that cannot
//! hold is a [`TimeError`], never a fallback to the epoch, to zero or to "now".

use std::fmt;

use sea_query::Value;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::backend::Backend;

/// An instant in UTC with microsecond precision, as the store keeps it on every backend.
///
/// Made from an `OffsetDateTime` or a `jiff::Timestamp` (both infallible: finer digits are
/// truncated towards the past, which is what the database would do); turned back into an
/// `OffsetDateTime` always, into a `jiff::Timestamp` when that library can hold it.
///
/// ```
/// use datavern_sql::At;
///
/// let at = At::from(time::macros::datetime!(2026-03-01 12:00:00.123456789 UTC));
/// assert_eq!(at.as_micros() % 1_000_000, 123_456);
/// let back = jiff::Timestamp::try_from(at)?;
/// assert_eq!(back.to_string(), "2026-03-01T12:00:00.123456Z");
/// # Ok::<(), datavern_sql::TimeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At {
    /// Microseconds since the Unix epoch, within [`At::MIN`]..=[`At::MAX`].
    micros: i64,
}

/// A time conversion that cannot hold. Never carries the value itself beyond its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The instant is outside the range the target type can hold.
    #[error("time {micros} µs from the Unix epoch is outside the range of {target}")]
    OutOfRange {
        /// Microseconds since the Unix epoch.
        micros: i64,
        /// The type that cannot hold it.
        target: &'static str,
    },
    /// The date is outside the range the target type can hold.
    #[error("date {date} is outside the range of {target}")]
    DateOutOfRange {
        /// The date, ISO 8601.
        date: String,
        /// The type that cannot hold it.
        target: &'static str,
    },
}

impl At {
    /// The earliest instant: the earliest `OffsetDateTime` (-9999-01-01T00:00:00Z).
    pub const MIN: At = At {
        micros: PrimitiveDateTime::MIN.assume_utc().unix_timestamp() * 1_000_000,
    };

    /// The latest instant: the latest `OffsetDateTime` truncated to the microsecond
    /// (9999-12-31T23:59:59.999999Z).
    pub const MAX: At = At {
        micros: PrimitiveDateTime::MAX.assume_utc().unix_timestamp() * 1_000_000 + 999_999,
    };

    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: At = At { micros: 0 };

    /// The instant `micros` microseconds from the Unix epoch, if within range.
    pub fn from_micros(micros: i64) -> Result<At, TimeError> {
        if (Self::MIN.micros..=Self::MAX.micros).contains(&micros) {
            Ok(At { micros })
        } else {
            Err(TimeError::OutOfRange {
                micros,
                target: "a stored time",
            })
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.micros
    }

    /// As an `OffsetDateTime` in UTC.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // In range by construction, so the addition cannot overflow.
        OffsetDateTime::UNIX_EPOCH + time::Duration::microseconds(self.micros)
    }

    /// As a `jiff::Timestamp`, whose range is a little narrower than `time`'s (two days at
    /// either end of years ±9999).
    pub fn to_timestamp(self) -> Result<jiff::Timestamp, TimeError> {
        // Whole seconds towards the past and a non-negative fraction: jiff takes mixed signs.
        let seconds = self.micros.div_euclid(1_000_000);
        let nanos = self.micros.rem_euclid(1_000_000) * 1000;
        i32::try_from(nanos)
            .ok()
            .and_then(|nanos| jiff::Timestamp::new(seconds, nanos).ok())
            .ok_or(TimeError::OutOfRange {
                micros: self.micros,
                target: "jiff::Timestamp",
            })
    }

    /// This instant moved by `micros` microseconds, if the result is within range.
    pub fn checked_add_micros(self, micros: i64) -> Result<At, TimeError> {
        let moved = self
            .micros
            .checked_add(micros)
            .ok_or(TimeError::OutOfRange {
                micros: self.micros,
                target: "a stored time moved by a duration",
            })?;
        At::from_micros(moved)
    }

    /// This instant as a statement value for `backend` ([`Dialect::time`](crate::Dialect::time)):
    /// native on PostgreSQL, a UTC `DATETIME` on MariaDB/MySQL, fixed-width RFC 3339 text in
    /// UTC on SQLite (six fractional digits and
    /// `Z`, so that text order is time order, which range queries on the audit log and on
    /// record fields rely on).
    pub fn value(self, backend: Backend) -> Value {
        backend.dialect().time(self.to_offset_date_time())
    }

    /// An optional instant as a statement value for `backend`: [`At::value`], or a NULL
    /// of the column's type (PostgreSQL refuses a text NULL for a `TIMESTAMPTZ` column).
    pub fn optional_value(backend: Backend, at: Option<At>) -> Value {
        backend
            .dialect()
            .optional_time(at.map(At::to_offset_date_time))
    }
}

/// How an instant prints: fixed-width RFC 3339 in UTC (six fractional digits and `Z`), the
/// form SQLite stores (`Dialect::time`).
const SQLITE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl fmt::Debug for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset_date_time().format(SQLITE_TIME) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{} µs from the Unix epoch", self.micros),
        }
    }
}

impl From<OffsetDateTime> for At {
    /// Truncates to the microsecond (towards the past); every `OffsetDateTime` fits.
    fn from(at: OffsetDateTime) -> At {
        // `unix_timestamp` is the whole seconds towards the past and `microsecond` the
        // (non-negative) fraction; ±10,000 years of microseconds is far inside `i64`.
        let micros = at.unix_timestamp() * 1_000_000 + i64::from(at.microsecond());
        At { micros }
    }
}

impl From<At> for OffsetDateTime {
    fn from(at: At) -> OffsetDateTime {
        at.to_offset_date_time()
    }
}

impl From<jiff::Timestamp> for At {
    /// Truncates to the microsecond (towards the past); `jiff`'s range is inside `time`'s.
    fn from(at: jiff::Timestamp) -> At {
        // Both parts carry the sign of the instant; flooring the fraction keeps earlier
        // instants earlier. jiff's range (±9999 years) is inside `At`'s.
        let micros =
            at.as_second() * 1_000_000 + i64::from(at.subsec_nanosecond()).div_euclid(1000);
        At { micros }
    }
}

impl TryFrom<At> for jiff::Timestamp {
    type Error = TimeError;

    fn try_from(at: At) -> Result<jiff::Timestamp, TimeError> {
        at.to_timestamp()
    }
}

/// A calendar date of `jiff` as a `time::Date`.
pub fn to_time_date(date: jiff::civil::Date) -> Result<time::Date, TimeError> {
    let month = u8::try_from(date.month())
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let day = u8::try_from(date.day()).ok();
    month
        .zip(day)
        .and_then(|(month, day)| {
            time::Date::from_calendar_date(i32::from(date.year()), month, day).ok()
        })
        .ok_or_else(|| TimeError::DateOutOfRange {
            date: date.to_string(),
            target: "time::Date",
        })
}

/// A `time::Date` as a calendar date of `jiff`.
pub fn to_civil_date(date: time::Date) -> Result<jiff::civil::Date, TimeError> {
    let out_of_range = || TimeError::DateOutOfRange {
        date: date.to_string(),
        target: "jiff::civil::Date",
    };
    let year = i16::try_from(date.year()).map_err(|_| out_of_range())?;
    let month = i8::try_from(u8::from(date.month())).map_err(|_| out_of_range())?;
    let day = i8::try_from(date.day()).map_err(|_| out_of_range())?;
    jiff::civil::Date::new(year, month, day).map_err(|_| out_of_range())
}

/// `At` decodes wherever `OffsetDateTime` does (RFC 3339 text on SQLite, `TIMESTAMPTZ`
/// on PostgreSQL, `DATETIME`/`TIMESTAMP` on MariaDB/MySQL).
macro_rules! instant_like_offset_date_time {
    ($($db:ty),*) => {$(
        impl sqlx::Type<$db> for At {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <OffsetDateTime as sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <OffsetDateTime as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for At {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <OffsetDateTime as sqlx::Decode<'r, $db>>::decode(value).map(At::from)
            }
        }
    )*};
}

instant_like_offset_date_time!(sqlx::Sqlite, sqlx::Postgres, sqlx::MySql);

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn sub_microsecond_digits_are_truncated_towards_the_past() {
        let after = At::from(datetime!(2026-03-01 12:00:00.123456999 UTC));
        assert_eq!(
            after.to_offset_date_time(),
            datetime!(2026-03-01 12:00:00.123456 UTC)
        );
        let before = At::from(datetime!(1969-12-31 23:59:59.999999999 UTC));
        assert_eq!(before.as_micros(), -1);
        let jiff_before: jiff::Timestamp = "1969-12-31T23:59:59.9999995Z".parse().unwrap();
        assert_eq!(At::from(jiff_before).as_micros(), -1);
        let jiff_after: jiff::Timestamp = "2026-03-01T12:00:00.1234569Z".parse().unwrap();
        assert_eq!(At::from(jiff_after), after);
    }

    #[test]
    fn an_offset_is_normalised_to_utc() {
        let oslo = At::from(datetime!(2026-03-01 13:00:00 +01:00));
        assert_eq!(oslo, At::from(datetime!(2026-03-01 12:00:00 UTC)));
        assert_eq!(oslo.to_string(), "2026-03-01T12:00:00.000000Z");
    }

    #[test]
    fn the_ends_of_the_range_round_trip_through_time() {
        for at in [At::MIN, At::MAX, At::UNIX_EPOCH] {
            assert_eq!(At::from(at.to_offset_date_time()), at);
        }
        assert_eq!(
            At::MIN.to_offset_date_time(),
            PrimitiveDateTime::MIN.assume_utc()
        );
    }

    #[test]
    fn outside_the_range_is_an_error() {
        assert!(At::from_micros(At::MAX.as_micros() + 1).is_err());
        assert!(At::from_micros(At::MIN.as_micros() - 1).is_err());
        assert!(At::from_micros(i64::MAX).is_err());
        assert!(At::MAX.checked_add_micros(1).is_err());
        assert!(At::MIN.checked_add_micros(i64::MIN).is_err());
        // jiff's range ends two days earlier than time's at either end.
        assert!(matches!(
            jiff::Timestamp::try_from(At::MAX),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(jiff::Timestamp::try_from(At::MIN).is_err());
    }

    #[test]
    fn every_jiff_timestamp_round_trips_at_microsecond_precision() {
        for at in [
            jiff::Timestamp::MIN,
            jiff::Timestamp::MAX,
            jiff::Timestamp::UNIX_EPOCH,
        ] {
            let instant = At::from(at);
            let back =
                jiff::Timestamp::try_from(instant).unwrap_or_else(|err| panic!("{at}: {err}"));
            assert!(back <= at);
            assert!(at.as_nanosecond() - back.as_nanosecond() < 1000);
            assert_eq!(At::from(back), instant);
        }
    }

    #[test]
    fn dates_cross_the_bridge_both_ways() {
        let leap: jiff::civil::Date = "2024-02-29".parse().unwrap();
        assert_eq!(to_time_date(leap).unwrap(), date!(2024 - 02 - 29));
        assert_eq!(to_civil_date(date!(2024 - 02 - 29)).unwrap(), leap);
        for civil in [jiff::civil::Date::MIN, jiff::civil::Date::MAX] {
            assert_eq!(to_civil_date(to_time_date(civil).unwrap()).unwrap(), civil);
        }
        assert_eq!(
            to_time_date(to_civil_date(time::Date::MIN).unwrap()).unwrap(),
            time::Date::MIN
        );
    }

    #[test]
    fn sqlite_text_is_fixed_width_so_text_order_is_time_order() {
        let early = At::from(datetime!(2026-03-01 12:00:00 UTC));
        let late = At::from(datetime!(2026-03-01 12:00:00.5 UTC));
        let text = |at: At| match at.value(Backend::Sqlite) {
            Value::String(Some(text)) => *text,
            other => panic!("expected text, got {other:?}"),
        };
        assert_eq!(text(early), "2026-03-01T12:00:00.000000Z");
        assert!(text(early) < text(late));
    }
}
