//! Typed command-line values: a clap value parser from a core type's own parser, so a bad
//! value is refused by clap (exit 2, with the usage) before anything is opened.
//!
//! Unlike clap's parsers, [`Typed`] never repeats the value in its error: a subject id, an
//! evidence reference or a reason may hold a fødselsnummer typed in the wrong place, and an
//! error message ends up in terminals, logs and tickets. The error names the flag and what
//! it takes instead (where a core type's message quotes the value, the value is cut out).

use std::ffi::OsStr;
use std::fmt::Display;
use std::str::FromStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;

/// A value parser from `parse`; see the module docs.
#[derive(Clone)]
pub(crate) struct Typed<F> {
    parse: F,
    /// Said instead of the parser's own error, for a parser whose message may quote the
    /// value (a UUID's names the character it stopped at).
    expected: Option<&'static str>,
    /// The names of a closed set, for `--help` and completion.
    values: Vec<&'static str>,
}

/// A value parser from `parse`, whose errors must not quote the value.
pub(crate) fn typed<F, T, E>(parse: F) -> Typed<F>
where
    F: Fn(&str) -> Result<T, E>,
{
    Typed {
        parse,
        expected: None,
        values: Vec::new(),
    }
}

/// [`Typed`] over a plain function.
pub(crate) type Parser<T, E> = Typed<fn(&str) -> Result<T, E>>;

/// A value parser from `T`'s `FromStr`, whose errors must not quote the value.
pub(crate) fn from_str<T: FromStr>() -> Parser<T, T::Err> {
    typed(str::parse::<T> as fn(&str) -> _)
}

/// A UUID (a subject's or a request's id).
pub(crate) fn uuid() -> Parser<uuid::Uuid, uuid::Error> {
    Typed {
        parse: |text| uuid::Uuid::parse_str(text.trim()),
        expected: Some("must be a UUID, e.g. 0190d5a2-7c1e-7b3a-9f00-3c5e2a1b4d6f"),
        values: Vec::new(),
    }
}

/// An instant in RFC 3339, as the store's `time` type.
pub(crate) fn rfc3339() -> Parser<time::OffsetDateTime, time::error::Parse> {
    Typed {
        parse: |text| {
            time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        },
        expected: Some("must be an RFC 3339 time, e.g. 2030-01-01T00:00:00Z"),
        values: Vec::new(),
    }
}

impl<F> Typed<F> {
    /// Lists `values` in `--help` and in the error (the parser still decides what it
    /// accepts).
    pub(crate) fn values(mut self, values: impl IntoIterator<Item = &'static str>) -> Self {
        self.values = values.into_iter().collect();
        self
    }

    /// Says `expected` when the value is refused, instead of the parser's error.
    pub(crate) fn expected(mut self, expected: &'static str) -> Self {
        self.expected = Some(expected);
        self
    }
}

impl<F, T, E> TypedValueParser for Typed<F>
where
    F: Fn(&str) -> Result<T, E> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    E: Display,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let problem = match value.to_str().map(|text| (text, (self.parse)(text))) {
            Some((_, Ok(parsed))) => return Ok(parsed),
            Some((text, Err(err))) => match self.expected {
                Some(expected) => expected.to_owned(),
                None if !self.values.is_empty() => {
                    format!("must be one of {}", self.values.join(", "))
                }
                // A core type's message may quote what it refused: cut out.
                None if !text.trim().is_empty() => err.to_string().replace(text.trim(), "…"),
                None => err.to_string(),
            },
            None => "must be valid UTF-8".to_owned(),
        };
        let flag = arg.map_or_else(|| "the value".to_owned(), ToString::to_string);
        let message = format!("invalid value for '{flag}': {problem}\n");
        Err(clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        if self.values.is_empty() {
            return None;
        }
        Some(Box::new(self.values.iter().map(PossibleValue::new)))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use datavern_core::catalog::Kommunenummer;

    use super::*;

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long, value_parser = from_str::<Kommunenummer>())]
        tenant: Kommunenummer,
        #[arg(long, value_parser = uuid())]
        subject: Option<uuid::Uuid>,
    }

    #[test]
    fn a_bad_value_is_refused_by_name_without_repeating_it() {
        let parsed = Args::try_parse_from(["x", "--tenant", "4601"]);
        assert!(parsed.is_ok_and(|args| args.tenant.as_str() == "4601"));
        for args in [
            ["x", "--tenant", "15108695088", "--subject", "0"],
            ["x", "--tenant", "4601", "--subject", "15108695088"],
        ] {
            let Err(err) = Args::try_parse_from(args) else {
                panic!("{args:?} parsed");
            };
            let text = err.to_string();
            assert!(text.contains("invalid value for '--"), "{text}");
            assert!(!text.contains("15108695088"), "{text}");
            assert_eq!(err.exit_code(), 2);
        }
    }
}
