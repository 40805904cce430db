//! Dates (`YYYY-MM-DD`) and timestamps (RFC 3339), checked strictly by shape here and then
//! built with jiff. jiff's own error messages quote the input, so they are never passed on:
//! a date of birth is personal data.

use jiff::Timestamp;
use jiff::civil::Date;

/// Parses a calendar date written exactly `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    const SHAPE: &str = "not a date: write YYYY-MM-DD, e.g. 2024-08-15";
    let bytes = text.as_bytes();
    if bytes.len() != 10 {
        return Err(SHAPE.to_owned());
    }
    date_part(bytes).ok_or_else(|| SHAPE.to_owned())?
}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with `t` or a
/// space accepted for `T` and `z` for `Z` (RFC 3339 § 5.6 allows both).
pub(crate) fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    const SHAPE: &str = "not an RFC 3339 timestamp: write e.g. 2024-08-15T09:30:00Z or \
                         2024-08-15T11:30:00+02:00";
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !bytes.is_ascii() {
        if bytes.len() == 10 && date_part(bytes).is_some() {
            return Err(
                "a date, not a timestamp: add the time and UTC offset, e.g. \
                        2024-08-15T09:30:00Z"
                    .to_owned(),
            );
        }
        return Err(SHAPE.to_owned());
    }
    // Safe to slice: the text is ASCII.
    match date_part(&bytes[..10]) {
        Some(Ok(_)) => {}
        Some(Err(message)) => return Err(message),
        None => return Err(SHAPE.to_owned()),
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(SHAPE.to_owned());
    }
    let time = &bytes[11..];
    let (Some(hour), Some(minute), Some(second)) = (
        two_digits(time, 0),
        two_digits(time, 3),
        two_digits(time, 6),
    ) else {
        return Err(SHAPE.to_owned());
    };
    if time[2] != b':' || time[5] != b':' {
        return Err(SHAPE.to_owned());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(
            "not a valid time of day: hours run 00–23, minutes and seconds 00–59".to_owned(),
        );
    }
    let mut rest = &time[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(SHAPE.to_owned());
        }
        if digits > 9 {
            return Err(
                "too precise: a timestamp has at most 9 digits after the seconds \
                        (nanoseconds)"
                    .to_owned(),
            );
        }
        rest = &fraction[digits..];
    }
    match rest {
        [] => {
            return Err(
                "the timestamp has no UTC offset: add Z (UTC) or the offset, e.g. \
                        +02:00"
                    .to_owned(),
            );
        }
        [b'Z' | b'z'] => {}
        [b'+' | b'-', ..] if rest.len() == 6 && rest[3] == b':' => {
            let (Some(hours), Some(minutes)) = (two_digits(rest, 1), two_digits(rest, 4)) else {
                return Err(SHAPE.to_owned());
            };
            if hours > 23 || minutes > 59 {
                return Err("not a valid UTC offset: write ±HH:MM with hours 00–23".to_owned());
            }
        }
        _ => return Err(SHAPE.to_owned()),
    }
    text.parse::<Timestamp>()
        .map_err(|_| "not a valid timestamp: the instant cannot be represented".to_owned())
}

/// `Some(Ok(date))` for a valid `YYYY-MM-DD`, `Some(Err(why))` for that shape with a day or
/// month that does not exist, `None` for another shape.
fn date_part(bytes: &[u8]) -> Option<Result<Date, String>> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year =
        i16::try_from(u32::from(two_digits(bytes, 0)?) * 100 + u32::from(two_digits(bytes, 2)?))
            .ok()?;
    let month = two_digits(bytes, 5)?;
    let day = two_digits(bytes, 8)?;
    if !(1..=12).contains(&month) {
        return Some(Err("not a valid date: the month must be 01–12".to_owned()));
    }
    let month = i8::try_from(month).ok()?;
    let day = i8::try_from(day).ok()?;
    Some(Date::new(year, month, day).map_err(|_| {
        "not a valid date: that month has no such day (YYYY-MM-DD, e.g. 2024-02-29)".to_owned()
    }))
}

/// The two ASCII digits at `at`, as a number.
fn two_digits(bytes: &[u8], at: usize) -> Option<u8> {
    match bytes.get(at..at + 2)? {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_yyyy_mm_dd() {
        assert_eq!(
            parse_date("2024-02-29").map(|d| d.to_string()),
            Ok("2024-02-29".into())
        );
        assert_eq!(
            parse_date("0001-01-01").map(|d| d.to_string()),
            Ok("0001-01-01".into())
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-1-1",
            "20240101",
            "2024-01-01T00:00:00Z",
            " 2024-01-01",
            "2024/01/01",
            "١٢٣٤-٠١-٠١",
        ] {
            let err = parse_date(bad).unwrap_err();
            assert!(!err.contains(bad), "{bad}: {err}");
        }
        assert!(parse_date("2024-13-01").unwrap_err().contains("month"));
        assert!(
            parse_date("2023-02-29")
                .unwrap_err()
                .contains("no such day")
        );
    }

    #[test]
    fn timestamps_are_rfc3339_with_offset() {
        for (input, utc) in [
            ("2024-08-15T09:30:00Z", "2024-08-15T09:30:00Z"),
            ("2024-08-15t09:30:00z", "2024-08-15T09:30:00Z"),
            ("2024-08-15 11:30:00+02:00", "2024-08-15T09:30:00Z"),
            ("2024-08-15T09:30:00.5-01:00", "2024-08-15T10:30:00.5Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
        ] {
            assert_eq!(
                parse_timestamp(input).map(|t| t.to_string()),
                Ok(utc.into()),
                "{input}"
            );
        }
        for (bad, says) in [
            ("2024-08-15T09:30:00", "no UTC offset"),
            ("2024-08-15", "a date, not a timestamp"),
            ("2024-08-15T24:00:00Z", "time of day"),
            ("2024-08-15T09:30:00+24:00", "offset"),
            ("2024-08-15T09:30:00.1234567891Z", "nanoseconds"),
            ("2024-02-30T09:30:00Z", "no such day"),
            ("2024-08-15T09:30Z", "RFC 3339"),
            ("2024-08-15T09:30:00+0200", "RFC 3339"),
            ("2024-08-15T09:30:00Z[Europe/Oslo]", "RFC 3339"),
        ] {
            let err = parse_timestamp(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
