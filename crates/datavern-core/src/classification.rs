//! Security classification (sikkerhetsloven § 5-3) and clearance.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A security classification level, ordered from unclassified to the highest.
///
/// `ÅPEN` is unclassified; the four NSM levels follow in increasing order
/// (`BEGRENSET < KONFIDENSIELT < HEMMELIG < STRENGT HEMMELIG`). The same scale describes a
/// principal's clearance and a deployment's accreditation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Classification {
    /// ÅPEN: unclassified.
    Apen,
    /// BEGRENSET.
    Begrenset,
    /// KONFIDENSIELT.
    Konfidensielt,
    /// HEMMELIG.
    Hemmelig,
    /// STRENGT HEMMELIG.
    StrengtHemmelig,
}

impl Classification {
    /// Every level, lowest first.
    pub const ALL: [Classification; 5] = [
        Classification::Apen,
        Classification::Begrenset,
        Classification::Konfidensielt,
        Classification::Hemmelig,
        Classification::StrengtHemmelig,
    ];

    /// The level's official Norwegian name, as written in catalogs and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Apen => "ÅPEN",
            Classification::Begrenset => "BEGRENSET",
            Classification::Konfidensielt => "KONFIDENSIELT",
            Classification::Hemmelig => "HEMMELIG",
            Classification::StrengtHemmelig => "STRENGT HEMMELIG",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no known classification level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown classification `{0}`: expected one of ÅPEN, BEGRENSET, KONFIDENSIELT, HEMMELIG, STRENGT HEMMELIG"
)]
pub struct UnknownClassification(pub String);

impl FromStr for Classification {
    type Err = UnknownClassification;

    /// Accepts the official names case-insensitively, with `APEN` for `ÅPEN` and `_` or `-`
    /// for the space in `STRENGT HEMMELIG`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '_' | '-' => ' ',
                c => c,
            })
            .collect::<String>()
            .to_uppercase();
        match normalized.as_str() {
            "ÅPEN" | "APEN" | "AAPEN" | "UGRADERT" => Ok(Classification::Apen),
            "BEGRENSET" => Ok(Classification::Begrenset),
            "KONFIDENSIELT" => Ok(Classification::Konfidensielt),
            "HEMMELIG" => Ok(Classification::Hemmelig),
            "STRENGT HEMMELIG" => Ok(Classification::StrengtHemmelig),
            _ => Err(UnknownClassification(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Classification {
    type Error = UnknownClassification;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Classification> for String {
    fn from(value: Classification) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_as_in_sikkerhetsloven() {
        let mut sorted = Classification::ALL;
        sorted.sort();
        assert_eq!(sorted, Classification::ALL);
        assert!(Classification::Begrenset < Classification::Konfidensielt);
        assert!(Classification::Hemmelig < Classification::StrengtHemmelig);
    }

    #[test]
    fn names_round_trip_and_accept_common_spellings() {
        for level in Classification::ALL {
            assert_eq!(level.as_str().parse::<Classification>(), Ok(level));
        }
        assert_eq!("apen".parse(), Ok(Classification::Apen));
        assert_eq!(
            "strengt_hemmelig".parse(),
            Ok(Classification::StrengtHemmelig)
        );
        assert!("SECRET".parse::<Classification>().is_err());
    }
}
