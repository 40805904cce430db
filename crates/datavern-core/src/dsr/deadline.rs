//! The deadline of a request (Art. 12(3)): one month after receipt, extendable by up to two
//! further months.
//!
//! Dates are calendar dates in Norway (Europe/Oslo). A request received on 15 January is due
//! on 15 February and overdue from 16 February. A month is a calendar month; where the target
//! month is shorter, the due date is its last day (received 31 January → due 28 February, or
//! 29 February in a leap year; received 31 March → due 30 April). An extension counts from
//! the receipt, not from the previous due date, so two one-month extensions of a request
//! received on 31 January end on 30 April, like one two-month extension.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

/// The most months a deadline can be extended by, in total (Art. 12(3): "by two further
/// months where necessary").
pub const MAX_EXTENSION_MONTHS: u8 = 2;

/// Norway's rules since 1996 (the EU's): CET, and CEST from the last Sunday of March at 02:00
/// to the last Sunday of October at 03:00. Fixed here rather than read from the system's time
/// zone database, so the core does no I/O and every host computes the same due dates.
const OSLO_POSIX: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

/// Norwegian time (Europe/Oslo), for the calendar date of an instant.
pub fn oslo() -> TimeZone {
    // The string is a constant that parses; UTC would be off by at most two hours.
    TimeZone::posix(OSLO_POSIX).unwrap_or(TimeZone::UTC)
}

/// The calendar date in Norway at `at`.
pub fn today_in_oslo(at: Timestamp) -> Date {
    at.to_zoned(oslo()).date()
}

/// When a request is due: the date it was received (in Norway) and the months it has been
/// extended by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    received_on: Date,
    extension_months: u8,
}

/// Why an extension is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionError {
    /// Months outside 1 to 2.
    #[error("an extension is 1 or 2 months (Art. 12(3) allows two further months)")]
    Months,
    /// The extension would make more than two months in total.
    #[error(
        "the deadline is already extended by {already} month(s); at most two further months \
         in total are allowed (Art. 12(3))"
    )]
    TooLong {
        /// Months already granted.
        already: u8,
    },
    /// The original due date has passed.
    #[error(
        "the original due date {due_on} has passed: Art. 12(3) requires the subject to be told \
         of an extension, with its reasons, within one month of receipt"
    )]
    TooLate {
        /// The original due date.
        due_on: Date,
    },
}

impl Deadline {
    /// The deadline of a request received at `received_at`, not extended.
    pub fn from_receipt(received_at: Timestamp) -> Self {
        Deadline {
            received_on: today_in_oslo(received_at),
            extension_months: 0,
        }
    }

    /// The deadline of a request received on `received_on` and extended by
    /// `extension_months` (capped at [`MAX_EXTENSION_MONTHS`]).
    pub fn new(received_on: Date, extension_months: u8) -> Self {
        Deadline {
            received_on,
            extension_months: extension_months.min(MAX_EXTENSION_MONTHS),
        }
    }

    /// The date the request was received, in Norway.
    pub fn received_on(&self) -> Date {
        self.received_on
    }

    /// The months the deadline is extended by (0 to 2).
    pub fn extension_months(&self) -> u8 {
        self.extension_months
    }

    /// The original due date: one calendar month after receipt.
    pub fn due_on(&self) -> Date {
        self.months_after_receipt(1)
    }

    /// The extended due date, if the deadline is extended.
    pub fn extended_due_on(&self) -> Option<Date> {
        (self.extension_months > 0).then(|| self.months_after_receipt(1 + self.extension_months))
    }

    /// The date that counts: the extended due date if any, else the original one.
    pub fn effective_due_on(&self) -> Date {
        self.extended_due_on().unwrap_or_else(|| self.due_on())
    }

    /// Whether, on `today`, the request is past its (effective) due date.
    pub fn is_overdue(&self, today: Date) -> bool {
        today > self.effective_due_on()
    }

    /// Days from `today` to the effective due date: 0 on the due date, negative once overdue.
    pub fn days_left(&self, today: Date) -> i64 {
        let due = self.effective_due_on();
        // Both dates are within jiff's range; the difference in days always exists.
        today
            .until((jiff::Unit::Day, due))
            .map(|span| i64::from(span.get_days()))
            .unwrap_or(0)
    }

    /// The deadline extended by `months` more, on `today`: 1 or 2 months, at most two in
    /// total, and only up to the original due date.
    pub fn extend(&self, months: u8, today: Date) -> Result<Deadline, ExtensionError> {
        if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
            return Err(ExtensionError::Months);
        }
        if self.extension_months + months > MAX_EXTENSION_MONTHS {
            return Err(ExtensionError::TooLong {
                already: self.extension_months,
            });
        }
        if today > self.due_on() {
            return Err(ExtensionError::TooLate {
                due_on: self.due_on(),
            });
        }
        Ok(Deadline {
            received_on: self.received_on,
            extension_months: self.extension_months + months,
        })
    }

    fn months_after_receipt(&self, months: u8) -> Date {
        // jiff clamps to the last day of a shorter month. Beyond jiff's year 9999 the date
        // stays the receipt date; no request is received then.
        self.received_on
            .checked_add(i64::from(months).months())
            .unwrap_or(self.received_on)
    }
}
