//! Validated names: the newtypes a catalog's strings become.
//!
//! Collection, field and subject names become SQL identifiers, so they are lowercase ASCII
//! (`[a-z][a-z0-9_]*`, at most 48 bytes: room for datavern's column suffixes inside
//! PostgreSQL's 63-byte limit). Purpose ids and storage names may also use `-`.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest name, in bytes.
pub const MAX_NAME_LEN: usize = 48;

/// Field names datavern keeps for its own columns.
pub const RESERVED_FIELD_NAMES: [&str; 5] = ["id", "tenant", "created_at", "updated_at", "version"];

/// Field names may not start with this (datavern's generated columns do).
pub const RESERVED_FIELD_PREFIX: &str = "dv_";

/// A name that breaks the naming rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} \"{name}\": {reason}")]
pub struct InvalidName {
    /// What kind of name (`collection name`, `field name`, …).
    pub what: &'static str,
    /// The rejected input.
    pub name: String,
    /// Why, and what to write instead.
    pub reason: String,
}

#[derive(Clone, Copy)]
enum Dash {
    Allowed,
    Forbidden,
}

fn check(
    name: &str,
    what: &'static str,
    dash: Dash,
    (reserved, reserved_prefix): (&[&str], Option<&str>),
) -> Result<(), InvalidName> {
    let invalid = |reason: String| InvalidName {
        what,
        name: name.to_owned(),
        reason,
    };
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || (c == '-' && matches!(dash, Dash::Allowed))
    };
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if name.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    if !first_ok || !name.chars().all(allowed) {
        let extra = match dash {
            Dash::Allowed => ", digits, _ and -",
            Dash::Forbidden => ", digits and _",
        };
        let mut reason = format!("use lowercase ASCII letters{extra}, starting with a letter");
        let fixed = transliterate(name, dash);
        if !fixed.is_empty() && fixed != name {
            reason.push_str(&format!(" (e.g. \"{fixed}\")"));
        }
        return Err(invalid(reason));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!("it is longer than {MAX_NAME_LEN} bytes")));
    }
    if reserved.contains(&name) {
        return Err(invalid(
            "the name is reserved for datavern's own columns".to_owned(),
        ));
    }
    if let Some(prefix) = reserved_prefix.filter(|p| name.starts_with(p)) {
        return Err(invalid(format!(
            "the prefix `{prefix}` is reserved for datavern's own columns"
        )));
    }
    Ok(())
}

/// A best-effort valid spelling of `name`: lowercase, æ→ae, ø→o, å→aa, other separators → `_`.
fn transliterate(name: &str, dash: Dash) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' | '_' => out.push(c),
            '-' if matches!(dash, Dash::Allowed) => out.push(c),
            'æ' | 'ä' => out.push_str("ae"),
            'ø' | 'ö' => out.push('o'),
            'å' => out.push_str("aa"),
            'é' | 'è' => out.push('e'),
            'ü' => out.push('u'),
            ' ' | '-' | '.' | '/' => out.push('_'),
            _ => {}
        }
    }
    out.trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .to_owned()
}

macro_rules! name_type {
    ($(#[doc = $doc:literal])+ $ty:ident, $what:literal, $dash:expr, $reserved:expr) => {
        $(#[doc = $doc])+
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Checks the naming rules.
            pub fn parse(name: &str) -> Result<Self, InvalidName> {
                check(name, $what, $dash, $reserved).map(|()| $ty(name.to_owned()))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl FromStr for $ty {
            type Err = InvalidName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = InvalidName;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                check(&value, $what, $dash, $reserved).map(|()| $ty(value))
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_type! {
    /// The id of a purpose of processing, e.g. `barnehageopptak`; what callers send in the
    /// `Datavern-Purpose` header.
    PurposeId, "purpose id", Dash::Allowed, (&[], None)
}

name_type! {
    /// The name of a collection (and of its SQL table), e.g. `barnehagesoknader`.
    CollectionName, "collection name", Dash::Forbidden, (&[], None)
}

name_type! {
    /// The name of a field (and of its SQL column), e.g. `fodselsnummer`.
    FieldName, "field name", Dash::Forbidden, (&RESERVED_FIELD_NAMES, Some(RESERVED_FIELD_PREFIX))
}

name_type! {
    /// The name of one data-subject reference of a collection, e.g. `foresatt1`; fields are
    /// attributed to it.
    SubjectName, "subject name", Dash::Forbidden, (&[], None)
}

name_type! {
    /// The role a referenced data subject plays in a record, e.g. `child` or `guardian`.
    SubjectRole, "subject role", Dash::Forbidden, (&[], None)
}

name_type! {
    /// The name of a storage target (database, cache, backup, event sink, key store).
    StorageName, "storage name", Dash::Allowed, (&[], None)
}

/// A kommunenummer: four digits, the first two the county (fylke) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Kommunenummer([u8; 4]);

/// County numbers in force from 1 January 2024, plus Svalbard (21) and Jan Mayen (22).
pub const COUNTY_NUMBERS: [&str; 17] = [
    "03", "11", "15", "18", "21", "22", "31", "32", "33", "34", "39", "40", "42", "46", "50", "55",
    "56",
];

/// Not a valid kommunenummer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid kommunenummer \"{input}\": {reason}")]
pub struct InvalidKommunenummer {
    /// The rejected input.
    pub input: String,
    /// Why.
    pub reason: String,
}

impl Kommunenummer {
    /// Parses four ASCII digits whose first two are a county number in force.
    pub fn parse(input: &str) -> Result<Self, InvalidKommunenummer> {
        let invalid = |reason: String| InvalidKommunenummer {
            input: input.to_owned(),
            reason,
        };
        let bytes = input.as_bytes();
        if !bytes.iter().all(u8::is_ascii_digit) || bytes.is_empty() {
            return Err(invalid("expected 4 digits, e.g. \"4601\"".to_owned()));
        }
        let Ok(digits) = <[u8; 4]>::try_from(bytes) else {
            let mut reason = format!("expected 4 digits, found {}", bytes.len());
            if bytes.len() < 4 {
                reason.push_str(" (quote it in YAML so leading zeros are kept: \"0301\")");
            }
            return Err(invalid(reason));
        };
        let county = &input[..2];
        if !COUNTY_NUMBERS.contains(&county) {
            return Err(invalid(format!(
                "{county} is not a county number in force (since 2024: {})",
                COUNTY_NUMBERS.join(", ")
            )));
        }
        Ok(Kommunenummer(digits))
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("0000")
    }

    /// The county (fylke) number: the first two digits.
    pub fn county(&self) -> &str {
        &self.as_str()[..2]
    }
}

impl fmt::Display for Kommunenummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Kommunenummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kommunenummer({})", self.as_str())
    }
}

impl FromStr for Kommunenummer {
    type Err = InvalidKommunenummer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Kommunenummer {
    type Error = InvalidKommunenummer;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Kommunenummer> for String {
    fn from(value: Kommunenummer) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_sql_identifier_rules() {
        assert!(CollectionName::parse("barnehagesoknader").is_ok());
        assert!(PurposeId::parse("barnehage-opptak").is_ok());
        assert!(CollectionName::parse("barnehage-opptak").is_err());
        let err = FieldName::parse("Søknadsdato").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid field name \"Søknadsdato\": use lowercase ASCII letters, digits and _, \
             starting with a letter (e.g. \"soknadsdato\")"
        );
        assert!(FieldName::parse("id").is_err());
        assert!(FieldName::parse("dv_hash").is_err());
        assert!(FieldName::parse(&"a".repeat(49)).is_err());
        assert_eq!(FieldName::parse("navn").unwrap(), "navn");
    }

    #[test]
    fn kommunenummer_is_four_digits_in_a_county() {
        assert_eq!(Kommunenummer::parse("4601").unwrap().county(), "46");
        assert_eq!(Kommunenummer::parse("0301").unwrap().as_str(), "0301");
        assert!(
            Kommunenummer::parse("301")
                .unwrap_err()
                .reason
                .contains("quote it")
        );
        assert!(Kommunenummer::parse("9999").is_err());
        assert!(Kommunenummer::parse("46O1").is_err());
        assert!(Kommunenummer::parse("46011").is_err());
    }
}
