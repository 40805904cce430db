//! The built-in taxonomy of personal-data categories, extended for Norway.
//!
//! Categories form a hierarchy of dotted ids in the style of fideslang's `user.*`:
//! `user.health.diagnosis` is a kind of `user.health`, which is a kind of `user`. A catalog
//! field names one node; a parent covers its children, so `user.contact` may hold an
//! address, a phone number or an e-mail address.
//!
//! Each category knows its legal traits, inherited by its descendants:
//!
//! - **special** (GDPR Art. 9): racial or ethnic origin, political opinions, religious or
//!   philosophical beliefs, trade union membership, genetic, biometric, health, sex life or
//!   sexual orientation. Processing needs an Art. 9(2) condition.
//! - **criminal** (GDPR Art. 10): convictions and offences. Processing needs a legal basis.
//! - **national id** (personopplysningsloven § 12): fødselsnummer, D-nummer, H-nummer,
//!   DUF-nummer. Use only where secure identification is needed.
//! - **child**: data about a child's care and upbringing (GDPR recital 38).
//! - **personal**: everything under `user`; `organization` and `system` are not personal data.
//!
//! and its default protection ([`Protection`]): whether fields of the category are
//! encrypted unless the catalog says otherwise. The full tree is documented in
//! `docs/taxonomy.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::IdentifierKind;

/// One node of the taxonomy: a built-in category of data.
///
/// Categories are statics (see [`all`] and the `pub static` items of this module), so a
/// `&'static Category` can be held and compared by reference or by [`Category::id`].
#[derive(Debug)]
pub struct Category {
    id: &'static str,
    parent: Option<&'static Category>,
    name: &'static str,
    name_nb: &'static str,
    description: &'static str,
    traits: u8,
}

/// The default protection of a category's fields when the catalog does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Stored as plaintext so SQL indexes and analytics work (the catalog may still force
    /// encryption).
    Plain,
    /// Stored encrypted under the data subject's key.
    Encrypt,
}

/// The id of a built-in category, such as `user.health`: a validated, copyable handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(&'static str);

/// The input named no built-in category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category \"{name}\"{}", suggestion_text(.suggestion))]
pub struct UnknownCategory {
    /// What was asked for.
    pub name: String,
    /// The closest known category id, when one is close enough to be a likely typo.
    pub suggestion: Option<&'static str>,
}

fn suggestion_text(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(id) => format!("; did you mean \"{id}\"?"),
        None => String::new(),
    }
}

const F_PERSONAL: u8 = 1;
const F_SPECIAL: u8 = 1 << 1;
const F_CRIMINAL: u8 = 1 << 2;
const F_NATIONAL_ID: u8 = 1 << 3;
const F_CHILD: u8 = 1 << 4;
const F_ENCRYPT: u8 = 1 << 5;

impl Category {
    /// The dotted id, e.g. `user.national_id.fodselsnummer`.
    pub fn id(&'static self) -> CategoryId {
        CategoryId(self.id)
    }

    /// The dotted id as a string.
    pub fn as_str(&self) -> &'static str {
        self.id
    }

    /// The parent category; `None` for the roots `user`, `organization` and `system`.
    pub fn parent(&self) -> Option<&'static Category> {
        self.parent
    }

    /// The direct children, in taxonomy order.
    pub fn children(&'static self) -> impl Iterator<Item = &'static Category> {
        all()
            .iter()
            .copied()
            .filter(move |c| c.parent.is_some_and(|p| std::ptr::eq(p, self)))
    }

    /// This category and its ancestors, nearest first.
    pub fn ancestors_and_self(&'static self) -> impl Iterator<Item = &'static Category> {
        std::iter::successors(Some(self), |c| c.parent)
    }

    /// The English name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Norwegian (bokmål) name.
    pub fn name_nb(&self) -> &'static str {
        self.name_nb
    }

    /// What the category holds.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// Whether `other` is this category or one of its descendants (a parent covers its
    /// children).
    pub fn covers(&'static self, other: &'static Category) -> bool {
        other.ancestors_and_self().any(|c| std::ptr::eq(c, self))
    }

    /// Whether `self` and `other` lie on one line of descent (either covers the other).
    pub fn is_related_to(&'static self, other: &'static Category) -> bool {
        self.covers(other) || other.covers(self)
    }

    fn has(&'static self, flag: u8) -> bool {
        self.ancestors_and_self().any(|c| c.traits & flag != 0)
    }

    /// Whether this is personal data at all (anything under `user`).
    pub fn is_personal(&'static self) -> bool {
        self.has(F_PERSONAL)
    }

    /// Whether this is a special category of personal data (GDPR Art. 9(1)).
    pub fn is_special(&'static self) -> bool {
        self.has(F_SPECIAL)
    }

    /// Whether this is personal data relating to criminal convictions and offences
    /// (GDPR Art. 10).
    pub fn is_criminal(&'static self) -> bool {
        self.has(F_CRIMINAL)
    }

    /// Whether this is a national identity number (personopplysningsloven § 12).
    pub fn is_national_id(&'static self) -> bool {
        self.has(F_NATIONAL_ID)
    }

    /// Whether this is data about a child's care and upbringing (GDPR recital 38).
    pub fn is_child_data(&'static self) -> bool {
        self.has(F_CHILD)
    }

    /// Whether fields of this category must be encrypted whatever the catalog says: national
    /// ids, special categories and criminal data.
    pub fn requires_encryption(&'static self) -> bool {
        self.is_national_id() || self.is_special() || self.is_criminal()
    }

    /// The default protection of fields of this category.
    pub fn protection(&'static self) -> Protection {
        if self.requires_encryption() || self.has(F_ENCRYPT) {
            Protection::Encrypt
        } else {
            Protection::Plain
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl PartialEq for Category {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Category {}

impl CategoryId {
    /// The dotted id.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The category this id names.
    pub fn category(self) -> &'static Category {
        // Every CategoryId is made from a static Category, so the lookup cannot miss; fall
        // back to the root rather than panic.
        lookup(self.0).unwrap_or(&USER)
    }
}

impl fmt::Display for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CategoryId({:?})", self.0)
    }
}

impl FromStr for CategoryId {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s).map(Category::id)
    }
}

impl Serialize for CategoryId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CategoryId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every built-in category, parents before children, in documentation order.
pub fn all() -> &'static [&'static Category] {
    ALL
}

/// The category with this exact id.
pub fn lookup(id: &str) -> Option<&'static Category> {
    ALL.iter().copied().find(|c| c.id == id)
}

/// The category with this id, or an error suggesting the closest id.
pub fn parse(id: &str) -> Result<&'static Category, UnknownCategory> {
    lookup(id.trim()).ok_or_else(|| UnknownCategory {
        name: id.to_owned(),
        suggestion: crate::catalog::suggest(id.trim(), ALL.iter().map(|c| c.id)),
    })
}

/// The category of values of an identifier kind: the PII detector labels its findings with it.
pub fn category_for_identifier(kind: IdentifierKind) -> &'static Category {
    match kind {
        IdentifierKind::Fnr => &FODSELSNUMMER,
        IdentifierKind::Duf => &DUF_NUMMER,
        IdentifierKind::Orgnr | IdentifierKind::Mva => &ORGANIZATION_IDENTIFIER,
        IdentifierKind::Kontonr | IdentifierKind::Iban => &BANK_ACCOUNT,
        IdentifierKind::Phone => &PHONE,
        IdentifierKind::Postnummer => &POSTAL_CODE,
        IdentifierKind::Email => &EMAIL,
    }
}

/// The categories a field validated as `kind` may be declared with: a field's category must
/// lie on one line of descent with one of these (so `user.contact` or
/// `user.contact.email` for `email`, but not `user.health`).
pub fn categories_for_identifier(kind: IdentifierKind) -> &'static [&'static Category] {
    static NATIONAL: [&Category; 1] = [&NATIONAL_ID];
    static ORGNR: [&Category; 1] = [&ORGANIZATION_IDENTIFIER];
    static ACCOUNT: [&Category; 2] = [&BANK_ACCOUNT, &ORGANIZATION_FINANCIAL];
    static PHONE_CATS: [&Category; 2] = [&PHONE, &ORGANIZATION_CONTACT];
    static POSTAL: [&Category; 2] = [&ADDRESS, &ORGANIZATION_CONTACT];
    static EMAIL_CATS: [&Category; 2] = [&EMAIL, &ORGANIZATION_CONTACT];
    match kind {
        IdentifierKind::Fnr | IdentifierKind::Duf => &NATIONAL,
        IdentifierKind::Orgnr | IdentifierKind::Mva => &ORGNR,
        IdentifierKind::Kontonr | IdentifierKind::Iban => &ACCOUNT,
        IdentifierKind::Phone => &PHONE_CATS,
        IdentifierKind::Postnummer => &POSTAL,
        IdentifierKind::Email => &EMAIL_CATS,
    }
}

macro_rules! categories {
    ($(
        $(#[doc = $doc:literal])+
        $konst:ident $(< $parent:ident)? = $id:literal, $en:literal, $nb:literal $(, $flag:ident)*;
    )*) => {
        $(
            $(#[doc = $doc])+
            pub static $konst: Category = Category {
                id: $id,
                parent: categories!(@parent $($parent)?),
                name: $en,
                name_nb: $nb,
                description: concat!($($doc),+),
                traits: 0 $(| $flag)*,
            };
        )*
        static ALL: &[&Category] = &[$(&$konst),*];
    };
    (@parent) => { None };
    (@parent $parent:ident) => { Some(&$parent) };
}

categories! {
    /// Personal data: any information relating to an identified or identifiable natural
    /// person (GDPR Art. 4(1)).
    USER = "user", "Personal data", "Personopplysninger", F_PERSONAL;
    /// Identifiers an organisation assigns to a person: customer, client or case numbers.
    UNIQUE_ID < USER = "user.unique_id", "Assigned identifier", "Tildelt identifikator";
    /// An internal record id that points at a person (pseudonymous: identifies them only
    /// together with the record).
    PSEUDONYMOUS_ID < UNIQUE_ID = "user.unique_id.pseudonymous", "Pseudonymous identifier",
        "Pseudonym identifikator";
    /// Norwegian national identity numbers (personopplysningsloven § 12: only where secure
    /// identification is needed).
    NATIONAL_ID < USER = "user.national_id", "National identity number",
        "Nasjonalt identitetsnummer", F_NATIONAL_ID, F_ENCRYPT;
    /// Fødselsnummer (11 digits, Folkeregisteret), including Tenor synthetic test numbers.
    FODSELSNUMMER < NATIONAL_ID = "user.national_id.fodselsnummer", "Birth number",
        "Fødselsnummer";
    /// D-nummer: temporary number for people not resident in Norway (day + 40).
    D_NUMMER < NATIONAL_ID = "user.national_id.d_nummer", "D number", "D-nummer";
    /// H-nummer: auxiliary number used in health services (month + 40).
    H_NUMMER < NATIONAL_ID = "user.national_id.h_nummer", "H number", "H-nummer";
    /// DUF-nummer: the immigration authorities' 12-digit case number for a person.
    DUF_NUMMER < NATIONAL_ID = "user.national_id.duf_nummer", "DUF number", "DUF-nummer";
    /// Other government-issued identity documents.
    GOVERNMENT_ID < USER = "user.government_id", "Government-issued identifier",
        "Offentlig utstedt identifikator", F_ENCRYPT;
    /// Passport number.
    PASSPORT < GOVERNMENT_ID = "user.government_id.passport", "Passport number", "Passnummer";
    /// Driving licence number.
    DRIVING_LICENCE < GOVERNMENT_ID = "user.government_id.driving_licence",
        "Driving licence number", "Førerkortnummer";
    /// A person's name.
    NAME < USER = "user.name", "Name", "Navn";
    /// Given and middle names.
    GIVEN_NAME < NAME = "user.name.given", "Given name", "Fornavn";
    /// Family name.
    FAMILY_NAME < NAME = "user.name.family", "Family name", "Etternavn";
    /// Ways to reach a person.
    CONTACT < USER = "user.contact", "Contact information", "Kontaktinformasjon";
    /// Postal or residential address.
    ADDRESS < CONTACT = "user.contact.address", "Address", "Adresse";
    /// Postnummer and poststed.
    POSTAL_CODE < ADDRESS = "user.contact.address.postal_code", "Postal code", "Postnummer";
    /// Telephone number.
    PHONE < CONTACT = "user.contact.phone", "Phone number", "Telefonnummer";
    /// E-mail address.
    EMAIL < CONTACT = "user.contact.email", "E-mail address", "E-postadresse";
    /// Demographic facts about a person.
    DEMOGRAPHIC < USER = "user.demographic", "Demographic data", "Demografiske opplysninger";
    /// Date of birth.
    DATE_OF_BIRTH < DEMOGRAPHIC = "user.demographic.date_of_birth", "Date of birth",
        "Fødselsdato";
    /// Age or age group.
    AGE < DEMOGRAPHIC = "user.demographic.age", "Age", "Alder";
    /// Legal gender (kjønn as registered).
    GENDER < DEMOGRAPHIC = "user.demographic.gender", "Gender", "Kjønn";
    /// Marital status (sivilstand).
    MARITAL_STATUS < DEMOGRAPHIC = "user.demographic.marital_status", "Marital status",
        "Sivilstand";
    /// Citizenship (statsborgerskap). Not in itself ethnic origin.
    CITIZENSHIP < DEMOGRAPHIC = "user.demographic.citizenship", "Citizenship",
        "Statsborgerskap";
    /// Preferred or spoken language (including målform).
    LANGUAGE < DEMOGRAPHIC = "user.demographic.language", "Language", "Språk";
    /// Family relations: parents, guardians, spouse, household.
    FAMILY < USER = "user.family", "Family relations", "Familieforhold";
    /// Parental responsibility and guardianship (foreldreansvar, vergemål).
    GUARDIANSHIP < FAMILY = "user.family.guardianship", "Guardianship",
        "Foreldreansvar og vergemål";
    /// Household composition.
    HOUSEHOLD < FAMILY = "user.family.household", "Household", "Husstand";
    /// Financial information about a person.
    FINANCIAL < USER = "user.financial", "Financial data", "Økonomiske opplysninger";
    /// Kontonummer or IBAN of a person.
    BANK_ACCOUNT < FINANCIAL = "user.financial.bank_account", "Bank account number",
        "Kontonummer", F_ENCRYPT;
    /// Income and wealth (inntekt og formue).
    INCOME < FINANCIAL = "user.financial.income", "Income", "Inntekt og formue", F_ENCRYPT;
    /// Tax information (skatteopplysninger, taushetsbelagt etter skatteforvaltningsloven).
    TAX < FINANCIAL = "user.financial.tax", "Tax information", "Skatteopplysninger", F_ENCRYPT;
    /// Debt, collection and enforcement (gjeld, inkasso, utlegg).
    DEBT < FINANCIAL = "user.financial.debt", "Debt", "Gjeld", F_ENCRYPT;
    /// Invoices, payments and fees (e.g. foreldrebetaling, kommunale avgifter).
    PAYMENT < FINANCIAL = "user.financial.payment", "Payments", "Betalinger";
    /// Employment: the person as an employee.
    EMPLOYMENT < USER = "user.employment", "Employment", "Arbeidsforhold";
    /// Position, title, department, employment percentage.
    POSITION < EMPLOYMENT = "user.employment.position", "Position", "Stilling";
    /// Salary and pay grade.
    SALARY < EMPLOYMENT = "user.employment.salary", "Salary", "Lønn", F_ENCRYPT;
    /// Employment history and references.
    EMPLOYMENT_HISTORY < EMPLOYMENT = "user.employment.history", "Employment history",
        "Arbeidserfaring";
    /// Appraisals, warnings and personnel cases (personalsaker).
    PERFORMANCE < EMPLOYMENT = "user.employment.performance", "Performance and personnel cases",
        "Medarbeideroppfølging og personalsaker", F_ENCRYPT;
    /// Education and schooling.
    EDUCATION < USER = "user.education", "Education", "Utdanning";
    /// School or institution attended, class, level.
    SCHOOL < EDUCATION = "user.education.school", "School", "Skole";
    /// Grades and assessments.
    GRADES < EDUCATION = "user.education.grades", "Grades", "Karakterer og vurderinger";
    /// Special educational needs (spesialundervisning, individuell tilrettelegging).
    SPECIAL_NEEDS < EDUCATION = "user.education.special_needs", "Special educational needs",
        "Spesialundervisning og tilrettelegging", F_ENCRYPT;
    /// Data about a child's care and upbringing, which merits specific protection (GDPR
    /// recital 38).
    CHILD < USER = "user.child", "Child data", "Opplysninger om barn", F_CHILD, F_ENCRYPT;
    /// Kindergarten place, attendance and admission (barnehageloven).
    KINDERGARTEN < CHILD = "user.child.kindergarten", "Kindergarten", "Barnehage";
    /// A child's development, observations and follow-up (e.g. helsestasjon outside
    /// health records, PPT referrals).
    CHILD_DEVELOPMENT < CHILD = "user.child.development", "Child development",
        "Barnets utvikling";
    /// Social services: NAV-kontoret's municipal services and child welfare.
    SOCIAL_SERVICES < USER = "user.social_services", "Social services", "Sosiale tjenester",
        F_ENCRYPT;
    /// Financial assistance (økonomisk stønad, sosialhjelp) under sosialtjenesteloven.
    FINANCIAL_ASSISTANCE < SOCIAL_SERVICES = "user.social_services.financial_assistance",
        "Financial assistance", "Økonomisk stønad";
    /// Municipal housing and housing assistance (kommunal bolig, bostøtte).
    HOUSING_ASSISTANCE < SOCIAL_SERVICES = "user.social_services.housing",
        "Housing assistance", "Boligtjenester";
    /// Benefits and follow-up through NAV (kvalifiseringsprogram, arbeidsrettet oppfølging).
    NAV < SOCIAL_SERVICES = "user.social_services.nav", "NAV services", "NAV-tjenester";
    /// Child welfare (barnevern) under barnevernsloven.
    CHILD_WELFARE < SOCIAL_SERVICES = "user.social_services.child_welfare", "Child welfare",
        "Barnevern", F_CHILD;
    /// Where a person is or has been.
    LOCATION < USER = "user.location", "Location", "Lokasjon";
    /// Precise location (GPS position, check-ins).
    PRECISE_LOCATION < LOCATION = "user.location.precise", "Precise location",
        "Presis lokasjon", F_ENCRYPT;
    /// Approximate location (municipality, district, city).
    APPROXIMATE_LOCATION < LOCATION = "user.location.approximate", "Approximate location",
        "Omtrentlig lokasjon";
    /// Online identifiers (GDPR recital 30).
    ONLINE < USER = "user.online", "Online identifiers", "Nettidentifikatorer";
    /// IP address.
    IP_ADDRESS < ONLINE = "user.online.ip_address", "IP address", "IP-adresse";
    /// Device identifiers.
    DEVICE_ID < ONLINE = "user.online.device_id", "Device identifier", "Enhetsidentifikator";
    /// Cookie and session identifiers.
    COOKIE_ID < ONLINE = "user.online.cookie_id", "Cookie identifier", "Informasjonskapsel-id";
    /// Passwords, password hashes, tokens and security questions.
    CREDENTIALS < USER = "user.credentials", "Credentials", "Påloggingsinformasjon", F_ENCRYPT;
    /// Correspondence, messages and free text written by or about the person (case notes).
    COMMUNICATION < USER = "user.communication", "Communication", "Korrespondanse og notater",
        F_ENCRYPT;
    /// Photos, video and voice recordings (biometric only when processed to uniquely
    /// identify someone).
    IMAGE < USER = "user.image", "Images and recordings", "Bilder og opptak";
    /// Property and housing (matrikkel, eiendom, bolig).
    PROPERTY < USER = "user.property", "Property", "Eiendom";
    /// Preferences and choices the person has made (e.g. newsletter topics).
    PREFERENCES < USER = "user.preferences", "Preferences", "Preferanser";
    /// Racial or ethnic origin (GDPR Art. 9).
    ETHNIC_ORIGIN < USER = "user.ethnic_origin", "Racial or ethnic origin",
        "Rasemessig eller etnisk opprinnelse", F_SPECIAL;
    /// Political opinions (GDPR Art. 9).
    POLITICAL_OPINION < USER = "user.political_opinion", "Political opinions",
        "Politisk oppfatning", F_SPECIAL;
    /// Religious or philosophical beliefs (GDPR Art. 9), e.g. membership of a trus- eller
    /// livssynssamfunn.
    RELIGIOUS_BELIEF < USER = "user.religious_belief", "Religious or philosophical beliefs",
        "Religion eller livssyn", F_SPECIAL;
    /// Trade union membership (GDPR Art. 9).
    TRADE_UNION < USER = "user.trade_union", "Trade union membership",
        "Fagforeningsmedlemskap", F_SPECIAL;
    /// Genetic data (GDPR Art. 4(13), Art. 9).
    GENETIC < USER = "user.genetic", "Genetic data", "Genetiske opplysninger", F_SPECIAL;
    /// Biometric data processed to uniquely identify a person (GDPR Art. 4(14), Art. 9).
    BIOMETRIC < USER = "user.biometric", "Biometric data", "Biometriske opplysninger", F_SPECIAL;
    /// Data concerning health (GDPR Art. 4(15), Art. 9).
    HEALTH < USER = "user.health", "Health data", "Helseopplysninger", F_SPECIAL;
    /// Diagnoses and medical assessments.
    DIAGNOSIS < HEALTH = "user.health.diagnosis", "Diagnosis", "Diagnose";
    /// Medication.
    MEDICATION < HEALTH = "user.health.medication", "Medication", "Legemidler";
    /// Disability and functional impairment (funksjonsnedsettelse).
    DISABILITY < HEALTH = "user.health.disability", "Disability", "Funksjonsnedsettelse";
    /// Health and care services received (hjemmetjeneste, sykehjem, helsestasjon) under
    /// helse- og omsorgstjenesteloven.
    CARE_SERVICES < HEALTH = "user.health.care_services", "Health and care services",
        "Helse- og omsorgstjenester";
    /// Sick leave and its reasons.
    SICK_LEAVE < HEALTH = "user.health.sick_leave", "Sick leave", "Sykefravær";
    /// Sex life or sexual orientation (GDPR Art. 9).
    SEXUAL < USER = "user.sexual", "Sex life or sexual orientation",
        "Seksuelle forhold eller seksuell orientering", F_SPECIAL;
    /// Sex life.
    SEX_LIFE < SEXUAL = "user.sexual.life", "Sex life", "Seksuelle forhold";
    /// Sexual orientation.
    SEXUAL_ORIENTATION < SEXUAL = "user.sexual.orientation", "Sexual orientation",
        "Seksuell orientering";
    /// Criminal convictions and offences (GDPR Art. 10).
    CRIMINAL < USER = "user.criminal", "Criminal convictions and offences",
        "Straffedommer og lovovertredelser", F_CRIMINAL;
    /// Convictions and sentences.
    CONVICTION < CRIMINAL = "user.criminal.conviction", "Conviction", "Straffedom";
    /// Offences, suspicions and charges.
    OFFENCE < CRIMINAL = "user.criminal.offence", "Offence", "Lovovertredelse";
    /// Police certificates (politiattest, barneomsorgsattest) required for work with
    /// children or vulnerable people.
    POLICE_CERTIFICATE < CRIMINAL = "user.criminal.police_certificate",
        "Police certificate", "Politiattest";
    /// Data about organisations, not about persons (but an enkeltpersonforetak's data is
    /// personal data: categorise it under `user`).
    ORGANIZATION = "organization", "Organisation data", "Virksomhetsopplysninger";
    /// Organisasjonsnummer and MVA-nummer.
    ORGANIZATION_IDENTIFIER < ORGANIZATION = "organization.identifier",
        "Organisation number", "Organisasjonsnummer";
    /// An organisation's name.
    ORGANIZATION_NAME < ORGANIZATION = "organization.name", "Organisation name",
        "Virksomhetsnavn";
    /// An organisation's address, phone and e-mail (not an employee's).
    ORGANIZATION_CONTACT < ORGANIZATION = "organization.contact", "Organisation contact",
        "Virksomhetens kontaktinformasjon";
    /// An organisation's bank account and finances.
    ORGANIZATION_FINANCIAL < ORGANIZATION = "organization.financial",
        "Organisation finances", "Virksomhetens økonomi";
    /// Data about no one: how the system runs.
    SYSTEM = "system", "System data", "Systemdata";
    /// Statuses, timestamps, settings and other operational values.
    OPERATIONS < SYSTEM = "system.operations", "Operational data", "Driftsdata";
    /// Ids of records that are not about a person (case types, document ids).
    SYSTEM_REFERENCE < SYSTEM = "system.reference", "Record reference", "Referanse";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_extends_its_parents_id_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for category in all() {
            assert!(seen.insert(category.id), "duplicate {}", category.id);
            match category.parent {
                Some(parent) => {
                    let leaf = category
                        .id
                        .strip_prefix(parent.id)
                        .and_then(|r| r.strip_prefix('.'));
                    assert!(
                        leaf.is_some_and(|l| !l.contains('.')),
                        "{} is not a child of {}",
                        category.id,
                        parent.id
                    );
                    let parent_index = all().iter().position(|c| c.id == parent.id);
                    let index = all().iter().position(|c| c.id == category.id);
                    assert!(
                        parent_index < index,
                        "{} listed before its parent",
                        category.id
                    );
                }
                None => assert!(!category.id.contains('.'), "{} has no parent", category.id),
            }
            assert!(
                category
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'),
                "{} is not lowercase ascii",
                category.id
            );
        }
    }

    #[test]
    fn art9_categories_are_exactly_the_eight_of_the_regulation() {
        let roots: Vec<&str> = all()
            .iter()
            .filter(|c| c.is_special() && !c.parent.is_some_and(|p| p.is_special()))
            .map(|c| c.id)
            .collect();
        assert_eq!(
            roots,
            [
                "user.ethnic_origin",
                "user.political_opinion",
                "user.religious_belief",
                "user.trade_union",
                "user.genetic",
                "user.biometric",
                "user.health",
                "user.sexual"
            ]
        );
    }

    #[test]
    fn traits_are_inherited() {
        assert!(DIAGNOSIS.is_special());
        assert!(FODSELSNUMMER.is_national_id());
        assert!(POLICE_CERTIFICATE.is_criminal());
        assert!(CHILD_WELFARE.is_child_data());
        assert!(EMAIL.is_personal());
        assert!(!OPERATIONS.is_personal());
        assert!(!ORGANIZATION_IDENTIFIER.is_personal());
        assert_eq!(DIAGNOSIS.protection(), Protection::Encrypt);
        assert_eq!(EMAIL.protection(), Protection::Plain);
        assert_eq!(FINANCIAL_ASSISTANCE.protection(), Protection::Encrypt);
    }

    #[test]
    fn parents_cover_children() {
        assert!(CONTACT.covers(&EMAIL));
        assert!(EMAIL.covers(&EMAIL));
        assert!(!EMAIL.covers(&CONTACT));
        assert!(EMAIL.is_related_to(&CONTACT));
        assert!(!HEALTH.is_related_to(&CONTACT));
        assert_eq!(CONTACT.children().count(), 3);
    }

    #[test]
    fn every_identifier_kind_maps_to_a_compatible_category() {
        for kind in IdentifierKind::ALL {
            let category = category_for_identifier(kind);
            assert!(
                categories_for_identifier(kind)
                    .iter()
                    .any(|c| c.is_related_to(category)),
                "{kind}"
            );
            assert_eq!(category.is_national_id(), kind.is_national_id(), "{kind}");
        }
    }

    #[test]
    fn unknown_ids_suggest_the_closest() {
        let err = parse("user.helth").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown category \"user.helth\"; did you mean \"user.health\"?"
        );
        assert_eq!(parse("nonsense.entirely").unwrap_err().suggestion, None);
        assert_eq!(
            "user.health".parse::<CategoryId>().map(CategoryId::as_str),
            Ok("user.health")
        );
    }
}
