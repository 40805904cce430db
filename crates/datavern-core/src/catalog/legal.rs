//! The legal vocabulary of a catalog: lawful bases (GDPR Art. 6(1)), conditions for special
//! categories (Art. 9(2)), grounds for processing under restriction (Art. 18(2)), public-access
//! exemptions (offentleglova) and archive duty (arkivlova).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The lawful basis of a purpose (GDPR Art. 6(1)(a)–(f)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum LawfulBasis {
    /// 6(1)(a): the data subject's consent. Reads are checked against recorded consents.
    Consent,
    /// 6(1)(b): performance of a contract with the data subject.
    Contract,
    /// 6(1)(c): a legal obligation (needs a basis in law, Art. 6(3)).
    LegalObligation,
    /// 6(1)(d): the vital interests of a person.
    VitalInterests,
    /// 6(1)(e): a task in the public interest or the exercise of official authority (needs a
    /// basis in law, Art. 6(3)). Most municipal processing.
    PublicTask,
    /// 6(1)(f): legitimate interests. Not available to public authorities for their tasks
    /// (Art. 6(1), second subparagraph).
    LegitimateInterests,
}

/// The condition that lifts the Art. 9(1) ban on special categories (GDPR Art. 9(2)(a)–(j)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum SpecialCategoryCondition {
    /// 9(2)(a): explicit consent.
    ExplicitConsent,
    /// 9(2)(b): employment, social security and social protection law.
    EmploymentAndSocialSecurity,
    /// 9(2)(c): vital interests where consent cannot be given.
    VitalInterests,
    /// 9(2)(d): a foundation, association or other not-for-profit body's members.
    NotForProfitBody,
    /// 9(2)(e): manifestly made public by the data subject.
    MadePublic,
    /// 9(2)(f): legal claims or courts acting in their judicial capacity.
    LegalClaims,
    /// 9(2)(g): substantial public interest, on the basis of law.
    SubstantialPublicInterest,
    /// 9(2)(h): preventive or occupational medicine, health or social care, on the basis of
    /// law (e.g. helse- og omsorgstjenesteloven).
    HealthOrSocialCare,
    /// 9(2)(i): public health, on the basis of law.
    PublicHealth,
    /// 9(2)(j): archiving in the public interest, research or statistics, on the basis of law.
    ArchivingResearchStatistics,
}

/// Why a purpose may still use restricted data (GDPR Art. 18(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionGround {
    /// The purpose only stores the data, which restriction always allows.
    Storage,
    /// The establishment, exercise or defence of legal claims.
    LegalClaims,
    /// The protection of the rights of another natural or legal person.
    ProtectionOfOthers,
    /// Important public interest of the Union or of Norway.
    PublicInterest,
}

/// A record or field is exempt from public access (*unntatt offentlighet*).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PublicAccessExemption {
    hjemmel: String,
}

/// Archive duty (arkivplikt): records are preserved, and an erasure request is answered by
/// restriction with a stated legal reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ArchiveDuty {
    legal_reason: String,
}

/// The input named no known legal provision of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{input}\": expected {expected}")]
pub struct UnknownProvision {
    /// What kind of provision was expected.
    pub what: &'static str,
    /// The rejected input.
    pub input: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

/// Reduces `Art. 6(1)(e)`, `art6-1-e`, `GDPR artikkel 6 nr. 1 bokstav e` to `61e`.
fn compact_article(input: &str) -> String {
    let lower = input.to_lowercase();
    let mut rest = lower.trim();
    for prefix in ["gdpr", "personvernforordningen", "artikkel", "art.", "art"] {
        rest = rest.trim_start_matches(prefix).trim_start();
    }
    let rest = rest
        .replace("nr.", "")
        .replace("bokstav", "")
        .replace("nr", "");
    rest.chars().filter(char::is_ascii_alphanumeric).collect()
}

impl LawfulBasis {
    /// Every basis, in the order of Art. 6(1).
    pub const ALL: [LawfulBasis; 6] = [
        LawfulBasis::Consent,
        LawfulBasis::Contract,
        LawfulBasis::LegalObligation,
        LawfulBasis::VitalInterests,
        LawfulBasis::PublicTask,
        LawfulBasis::LegitimateInterests,
    ];

    /// The article reference, e.g. `6(1)(e)`.
    pub fn article(self) -> &'static str {
        match self {
            LawfulBasis::Consent => "6(1)(a)",
            LawfulBasis::Contract => "6(1)(b)",
            LawfulBasis::LegalObligation => "6(1)(c)",
            LawfulBasis::VitalInterests => "6(1)(d)",
            LawfulBasis::PublicTask => "6(1)(e)",
            LawfulBasis::LegitimateInterests => "6(1)(f)",
        }
    }

    /// A short English name.
    pub fn name(self) -> &'static str {
        match self {
            LawfulBasis::Consent => "consent",
            LawfulBasis::Contract => "contract",
            LawfulBasis::LegalObligation => "legal obligation",
            LawfulBasis::VitalInterests => "vital interests",
            LawfulBasis::PublicTask => "public task",
            LawfulBasis::LegitimateInterests => "legitimate interests",
        }
    }

    /// Whether the basis is consent, so reads must be checked against recorded consents.
    pub fn is_consent(self) -> bool {
        self == LawfulBasis::Consent
    }

    /// Whether the basis must be laid down in law (Art. 6(3)), so the purpose must name it.
    pub fn needs_basis_in_law(self) -> bool {
        matches!(self, LawfulBasis::LegalObligation | LawfulBasis::PublicTask)
    }
}

impl fmt::Display for LawfulBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.article())
    }
}

impl From<LawfulBasis> for &'static str {
    fn from(value: LawfulBasis) -> Self {
        value.article()
    }
}

impl FromStr for LawfulBasis {
    type Err = UnknownProvision;

    /// Accepts `6(1)(e)` in the usual spellings (`Art. 6(1)(e)`, `art6-1-e`) or the snake_case
    /// name (`public_task`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let named = s.trim().to_lowercase().replace([' ', '-'], "_");
        let compact = compact_article(s);
        LawfulBasis::ALL
            .into_iter()
            .find(|basis| {
                named == basis.name().replace(' ', "_")
                    || compact == basis.article().replace(['(', ')'], "")
            })
            .ok_or_else(|| UnknownProvision {
                what: "lawful basis",
                input: s.to_owned(),
                expected: "one of 6(1)(a) consent, 6(1)(b) contract, 6(1)(c) legal obligation, \
                           6(1)(d) vital interests, 6(1)(e) public task, 6(1)(f) legitimate interests",
            })
    }
}

impl SpecialCategoryCondition {
    /// Every condition, in the order of Art. 9(2).
    pub const ALL: [SpecialCategoryCondition; 10] = [
        SpecialCategoryCondition::ExplicitConsent,
        SpecialCategoryCondition::EmploymentAndSocialSecurity,
        SpecialCategoryCondition::VitalInterests,
        SpecialCategoryCondition::NotForProfitBody,
        SpecialCategoryCondition::MadePublic,
        SpecialCategoryCondition::LegalClaims,
        SpecialCategoryCondition::SubstantialPublicInterest,
        SpecialCategoryCondition::HealthOrSocialCare,
        SpecialCategoryCondition::PublicHealth,
        SpecialCategoryCondition::ArchivingResearchStatistics,
    ];

    /// The article reference, e.g. `9(2)(h)`.
    pub fn article(self) -> &'static str {
        match self {
            SpecialCategoryCondition::ExplicitConsent => "9(2)(a)",
            SpecialCategoryCondition::EmploymentAndSocialSecurity => "9(2)(b)",
            SpecialCategoryCondition::VitalInterests => "9(2)(c)",
            SpecialCategoryCondition::NotForProfitBody => "9(2)(d)",
            SpecialCategoryCondition::MadePublic => "9(2)(e)",
            SpecialCategoryCondition::LegalClaims => "9(2)(f)",
            SpecialCategoryCondition::SubstantialPublicInterest => "9(2)(g)",
            SpecialCategoryCondition::HealthOrSocialCare => "9(2)(h)",
            SpecialCategoryCondition::PublicHealth => "9(2)(i)",
            SpecialCategoryCondition::ArchivingResearchStatistics => "9(2)(j)",
        }
    }

    /// A short English name.
    pub fn name(self) -> &'static str {
        match self {
            SpecialCategoryCondition::ExplicitConsent => "explicit consent",
            SpecialCategoryCondition::EmploymentAndSocialSecurity => {
                "employment and social security law"
            }
            SpecialCategoryCondition::VitalInterests => "vital interests",
            SpecialCategoryCondition::NotForProfitBody => "not-for-profit body",
            SpecialCategoryCondition::MadePublic => "made public by the data subject",
            SpecialCategoryCondition::LegalClaims => "legal claims",
            SpecialCategoryCondition::SubstantialPublicInterest => "substantial public interest",
            SpecialCategoryCondition::HealthOrSocialCare => "health or social care",
            SpecialCategoryCondition::PublicHealth => "public health",
            SpecialCategoryCondition::ArchivingResearchStatistics => {
                "archiving, research or statistics"
            }
        }
    }

    /// Whether the condition needs a basis in Union or Norwegian law (9(2)(b), (g), (h), (i),
    /// (j); in Norway personopplysningsloven §§ 6–9 and sector laws), so the purpose must
    /// name it.
    pub fn needs_basis_in_law(self) -> bool {
        matches!(
            self,
            SpecialCategoryCondition::EmploymentAndSocialSecurity
                | SpecialCategoryCondition::SubstantialPublicInterest
                | SpecialCategoryCondition::HealthOrSocialCare
                | SpecialCategoryCondition::PublicHealth
                | SpecialCategoryCondition::ArchivingResearchStatistics
        )
    }

    /// Whether the condition is explicit consent, checked like a consent basis.
    pub fn is_consent(self) -> bool {
        self == SpecialCategoryCondition::ExplicitConsent
    }
}

impl fmt::Display for SpecialCategoryCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.article())
    }
}

impl From<SpecialCategoryCondition> for &'static str {
    fn from(value: SpecialCategoryCondition) -> Self {
        value.article()
    }
}

impl FromStr for SpecialCategoryCondition {
    type Err = UnknownProvision;

    /// Accepts `9(2)(h)` in the usual spellings (`Art. 9(2)(h)`, `art9-2-h`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact = compact_article(s);
        SpecialCategoryCondition::ALL
            .into_iter()
            .find(|condition| compact == condition.article().replace(['(', ')'], ""))
            .ok_or_else(|| UnknownProvision {
                what: "Art. 9(2) condition",
                input: s.to_owned(),
                expected: "one of 9(2)(a) to 9(2)(j), e.g. 9(2)(h) for health or social care",
            })
    }
}

impl RestrictionGround {
    /// Every ground.
    pub const ALL: [RestrictionGround; 4] = [
        RestrictionGround::Storage,
        RestrictionGround::LegalClaims,
        RestrictionGround::ProtectionOfOthers,
        RestrictionGround::PublicInterest,
    ];

    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionGround::Storage => "storage",
            RestrictionGround::LegalClaims => "legal_claims",
            RestrictionGround::ProtectionOfOthers => "protection_of_others",
            RestrictionGround::PublicInterest => "public_interest",
        }
    }
}

impl fmt::Display for RestrictionGround {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RestrictionGround {
    type Err = UnknownProvision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RestrictionGround::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim())
            .ok_or_else(|| UnknownProvision {
                what: "Art. 18(2) ground",
                input: s.to_owned(),
                expected: "one of storage, legal_claims, protection_of_others, public_interest",
            })
    }
}

/// Why a hjemmel was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidHjemmel(String);

impl PublicAccessExemption {
    /// An exemption with its legal basis, which must cite offentleglova (the exemptions are
    /// in offl. §§ 13–26; a duty of confidentiality such as fvl. § 13 applies through
    /// offl. § 13).
    pub fn new(hjemmel: &str) -> Result<Self, InvalidHjemmel> {
        let hjemmel = hjemmel.trim();
        if hjemmel.is_empty() {
            return Err(InvalidHjemmel(
                "hjemmel is empty: state the legal basis, e.g. \"offl. § 13 jf. fvl. § 13\""
                    .to_owned(),
            ));
        }
        let lower = hjemmel.to_lowercase();
        if !["offl", "offentleglova", "offentlighetsloven"]
            .iter()
            .any(|name| lower.contains(name))
        {
            return Err(InvalidHjemmel(format!(
                "hjemmel \"{hjemmel}\" does not cite offentleglova: exemptions are made under \
                 offl. §§ 13–26, e.g. \"offl. § 13 jf. {hjemmel}\""
            )));
        }
        Ok(PublicAccessExemption {
            hjemmel: hjemmel.to_owned(),
        })
    }

    /// The legal basis, e.g. `offl. § 13 jf. fvl. § 13`.
    pub fn hjemmel(&self) -> &str {
        &self.hjemmel
    }
}

impl ArchiveDuty {
    /// An archive duty with the reason given to a data subject whose erasure request is
    /// answered with restriction.
    pub fn new(legal_reason: &str) -> Option<Self> {
        let legal_reason = legal_reason.trim();
        (!legal_reason.is_empty()).then(|| ArchiveDuty {
            legal_reason: legal_reason.to_owned(),
        })
    }

    /// The stated legal reason, e.g. `GDPR art. 17(3)(b) og (d); arkivlova § 6`.
    pub fn legal_reason(&self) -> &str {
        &self.legal_reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lawful_bases_parse_in_common_spellings() {
        for spelling in [
            "6(1)(e)",
            "Art. 6(1)(e)",
            "art6-1-e",
            "GDPR art. 6 (1) (e)",
            "public_task",
        ] {
            assert_eq!(spelling.parse(), Ok(LawfulBasis::PublicTask), "{spelling}");
        }
        assert_eq!("6(1)(a)".parse(), Ok(LawfulBasis::Consent));
        assert!("6(1)(g)".parse::<LawfulBasis>().is_err());
        assert!(LawfulBasis::PublicTask.needs_basis_in_law());
        assert!(!LawfulBasis::Consent.needs_basis_in_law());
    }

    #[test]
    fn art9_conditions_parse() {
        assert_eq!(
            "9(2)(h)".parse(),
            Ok(SpecialCategoryCondition::HealthOrSocialCare)
        );
        assert_eq!(
            "Art. 9(2)(j)".parse(),
            Ok(SpecialCategoryCondition::ArchivingResearchStatistics)
        );
        assert!("9(2)(k)".parse::<SpecialCategoryCondition>().is_err());
        assert!("6(1)(a)".parse::<SpecialCategoryCondition>().is_err());
    }

    #[test]
    fn hjemmel_must_cite_offentleglova() {
        assert!(PublicAccessExemption::new("offl. § 13 jf. fvl. § 13").is_ok());
        let err = PublicAccessExemption::new("fvl. § 13").unwrap_err();
        assert!(
            err.to_string().contains("offl. § 13 jf. fvl. § 13"),
            "{err}"
        );
        assert!(PublicAccessExemption::new("  ").is_err());
    }
}
