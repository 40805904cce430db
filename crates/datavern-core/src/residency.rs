//! Data residency: where each storage backend, cache, backup target and event sink is, and
//! which data may be stored there.
//!
//! A [`ResidencyPolicy`] is a set of [`ResidencyRule`]s. Each rule says that data in its
//! [`Scope`] must stay within a [`Location`]; locations nest (`no` ⊂ `eea` ⊂ `adequate` ⊂
//! `third`), so the rules that apply to a piece of data combine to the strictest of them.
//! A catalog adds rules to the built-in ones and can therefore only make the policy
//! stricter, never looser.
//!
//! The built-in rules ([`ResidencyPolicy::builtin`]) are datavern's defaults, not a
//! statement of what the law requires in every case:
//!
//! | scope | within | why |
//! |---|---|---|
//! | personal data | `adequate` | GDPR Chapter V: no transfer to a third country without an adequacy decision, unless a DPO has assessed Art. 46 safeguards (which a catalog cannot express) |
//! | BEGRENSET and above | `eea` | classified information (sikkerhetsloven) stays in accredited systems under European jurisdiction |
//! | KONFIDENSIELT and above | `no` | classified information at this level stays in Norway |
//! | special categories (Art. 9) | `eea` | adequacy decisions can fall (Schrems II); the most sensitive data should not depend on one |
//! | criminal data (Art. 10) | `eea` | as for special categories |
//! | national ids (pol. § 12) | `eea` | as for special categories |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::classification::Classification;
use crate::taxonomy::Category;

/// Where a storage target keeps its data, from nearest to farthest.
///
/// The order is containment: data allowed `within` a location may be stored at that location
/// or any nearer one (Norway is in the EEA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// In Norway.
    No,
    /// In the European Economic Area (EU + Norway, Iceland, Liechtenstein).
    Eea,
    /// In a third country with an adequacy decision (GDPR Art. 45).
    Adequate,
    /// In any other third country.
    Third,
}

/// The input named no known location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown location `{0}`: expected one of no, eea, adequate, third")]
pub struct UnknownLocation(pub String);

/// What a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// All personal data (any category under `user`).
    PersonalData,
    /// Data classified at this level or above.
    ClassifiedAtLeast(Classification),
    /// Data of this category or any of its descendants.
    Category(&'static Category),
    /// Special categories of personal data (GDPR Art. 9).
    SpecialCategories,
    /// Personal data relating to criminal convictions and offences (GDPR Art. 10).
    CriminalData,
    /// National identity numbers (personopplysningsloven § 12).
    NationalIds,
}

/// Who made a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// One of datavern's built-in rules.
    BuiltIn,
    /// Declared by the catalog (`deployment.residency`).
    Catalog,
}

/// Data in `scope` must be stored within `within`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidencyRule {
    scope: Scope,
    within: Location,
    origin: Origin,
}

/// What a piece of stored data is, as far as residency is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataClass {
    /// The data's effective classification.
    pub classification: Classification,
    /// The data's category.
    pub category: &'static Category,
}

/// The farthest location some data may be stored, and the rule that set the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<'a> {
    /// The farthest allowed location.
    pub within: Location,
    /// The strictest applicable rule; `None` when no rule applies (anywhere is allowed).
    pub rule: Option<&'a ResidencyRule>,
}

/// Data would be stored farther away than a rule allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("location `{location}` is outside `{within}`, required by the rule: {rule}")]
pub struct Violation {
    /// Where the data would go.
    pub location: Location,
    /// Where it must stay.
    pub within: Location,
    /// The rule that requires it.
    pub rule: ResidencyRule,
}

/// The residency rules in force: the built-in rules plus the catalog's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidencyPolicy {
    rules: Vec<ResidencyRule>,
}

impl Location {
    /// Every location, nearest first.
    pub const ALL: [Location; 4] = [
        Location::No,
        Location::Eea,
        Location::Adequate,
        Location::Third,
    ];

    /// The catalog name (`no`, `eea`, `adequate`, `third`).
    pub fn as_str(self) -> &'static str {
        match self {
            Location::No => "no",
            Location::Eea => "eea",
            Location::Adequate => "adequate",
            Location::Third => "third",
        }
    }

    /// Whether data allowed within `limit` may be stored here.
    pub fn is_within(self, limit: Location) -> bool {
        self <= limit
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Location {
    type Err = UnknownLocation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Location::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownLocation(s.to_owned()))
    }
}

impl Scope {
    /// Whether data of this class is in scope.
    pub fn contains(self, data: DataClass) -> bool {
        match self {
            Scope::PersonalData => data.category.is_personal(),
            Scope::ClassifiedAtLeast(level) => data.classification >= level,
            Scope::Category(category) => category.covers(data.category),
            Scope::SpecialCategories => data.category.is_special(),
            Scope::CriminalData => data.category.is_criminal(),
            Scope::NationalIds => data.category.is_national_id(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::PersonalData => f.write_str("personal data"),
            Scope::ClassifiedAtLeast(Classification::StrengtHemmelig) => {
                f.write_str("STRENGT HEMMELIG")
            }
            Scope::ClassifiedAtLeast(level) => write!(f, "{level} and above"),
            Scope::Category(category) => write!(f, "category {category}"),
            Scope::SpecialCategories => f.write_str("special categories (GDPR Art. 9)"),
            Scope::CriminalData => f.write_str("criminal data (GDPR Art. 10)"),
            Scope::NationalIds => f.write_str("national ids (personopplysningsloven § 12)"),
        }
    }
}

impl ResidencyRule {
    /// A rule declared by a catalog.
    pub fn new(scope: Scope, within: Location) -> Self {
        ResidencyRule {
            scope,
            within,
            origin: Origin::Catalog,
        }
    }

    const fn builtin(scope: Scope, within: Location) -> Self {
        ResidencyRule {
            scope,
            within,
            origin: Origin::BuiltIn,
        }
    }

    /// What the rule applies to.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The farthest location it allows.
    pub fn within(&self) -> Location {
        self.within
    }

    /// Whether it is built in or from the catalog.
    pub fn origin(&self) -> Origin {
        self.origin
    }
}

impl fmt::Display for ResidencyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::BuiltIn => "built-in",
            Origin::Catalog => "catalog",
        };
        write!(
            f,
            "{} must stay within `{}` ({origin})",
            self.scope, self.within
        )
    }
}

const BUILTIN: [ResidencyRule; 6] = [
    ResidencyRule::builtin(Scope::PersonalData, Location::Adequate),
    ResidencyRule::builtin(
        Scope::ClassifiedAtLeast(Classification::Begrenset),
        Location::Eea,
    ),
    ResidencyRule::builtin(
        Scope::ClassifiedAtLeast(Classification::Konfidensielt),
        Location::No,
    ),
    ResidencyRule::builtin(Scope::SpecialCategories, Location::Eea),
    ResidencyRule::builtin(Scope::CriminalData, Location::Eea),
    ResidencyRule::builtin(Scope::NationalIds, Location::Eea),
];

impl ResidencyPolicy {
    /// The built-in rules only (see the module documentation).
    pub fn builtin() -> Self {
        ResidencyPolicy {
            rules: BUILTIN.to_vec(),
        }
    }

    /// The built-in rules plus `extra`. Rules combine to the strictest, so extra rules can
    /// only narrow where data may go.
    pub fn with_rules(extra: impl IntoIterator<Item = ResidencyRule>) -> Self {
        let mut policy = Self::builtin();
        policy.rules.extend(extra);
        policy
    }

    /// Every rule in force, built-in ones first.
    pub fn rules(&self) -> &[ResidencyRule] {
        &self.rules
    }

    /// The farthest location `data` may be stored, and the strictest rule that says so (the
    /// first one, on ties).
    pub fn limit(&self, data: DataClass) -> Limit<'_> {
        self.rules
            .iter()
            .filter(|rule| rule.scope.contains(data))
            .fold(
                Limit {
                    within: Location::Third,
                    rule: None,
                },
                |limit, rule| {
                    if limit.rule.is_none() || rule.within < limit.within {
                        Limit {
                            within: rule.within,
                            rule: Some(rule),
                        }
                    } else {
                        limit
                    }
                },
            )
    }

    /// Whether `data` may be stored at `location`.
    pub fn check(&self, location: Location, data: DataClass) -> Result<(), Violation> {
        let limit = self.limit(data);
        match limit.rule {
            Some(rule) if !location.is_within(limit.within) => Err(Violation {
                location,
                within: limit.within,
                rule: rule.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl Default for ResidencyPolicy {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy;

    fn data(classification: Classification, category: &'static Category) -> DataClass {
        DataClass {
            classification,
            category,
        }
    }

    #[test]
    fn locations_nest_from_norway_outwards() {
        assert!(Location::No.is_within(Location::Eea));
        assert!(!Location::Third.is_within(Location::Adequate));
        assert_eq!("EEA".parse(), Ok(Location::Eea));
        assert!("us".parse::<Location>().is_err());
    }

    #[test]
    fn builtin_rules() {
        let policy = ResidencyPolicy::builtin();
        let open = |c| data(Classification::Apen, c);
        assert_eq!(
            policy.limit(open(&taxonomy::OPERATIONS)).within,
            Location::Third
        );
        assert_eq!(
            policy.limit(open(&taxonomy::EMAIL)).within,
            Location::Adequate
        );
        assert_eq!(
            policy.limit(open(&taxonomy::DIAGNOSIS)).within,
            Location::Eea
        );
        assert_eq!(
            policy.limit(open(&taxonomy::FODSELSNUMMER)).within,
            Location::Eea
        );
        assert_eq!(
            policy.limit(open(&taxonomy::CONVICTION)).within,
            Location::Eea
        );
        let begrenset = data(Classification::Begrenset, &taxonomy::OPERATIONS);
        assert_eq!(policy.limit(begrenset).within, Location::Eea);
        let konfidensielt = data(Classification::Konfidensielt, &taxonomy::EMAIL);
        assert_eq!(policy.limit(konfidensielt).within, Location::No);
        assert!(policy.check(Location::No, konfidensielt).is_ok());
        let violation = policy.check(Location::Eea, konfidensielt).unwrap_err();
        assert_eq!(
            violation.to_string(),
            "location `eea` is outside `no`, required by the rule: KONFIDENSIELT and above must \
             stay within `no` (built-in)"
        );
    }

    #[test]
    fn catalog_rules_only_narrow() {
        let policy = ResidencyPolicy::with_rules([
            ResidencyRule::new(Scope::Category(&taxonomy::HEALTH), Location::No),
            ResidencyRule::new(Scope::PersonalData, Location::Third),
        ]);
        let health = data(Classification::Apen, &taxonomy::MEDICATION);
        assert_eq!(policy.limit(health).within, Location::No);
        let email = data(Classification::Apen, &taxonomy::EMAIL);
        assert_eq!(policy.limit(email).within, Location::Adequate);
    }
}
