//! Column classification: what a table column holds, from the share of sampled values that
//! validate as an identifier and from what its name says.

use std::fmt;
use std::sync::OnceLock;

use crate::id::{
    DufNummer, EmailAddress, Fodselsnummer, Iban, IdentifierKind, Kontonummer, MvaNummer,
    Organisasjonsnummer, PhoneNumber, Postnummer,
};

use crate::taxonomy::{self, Category};

use super::context::kind_index;
use super::detector::Detector;
use super::finding::Finding;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnKind {
    /// Identifiers of one kind (fødselsnummer, kontonummer, e-mail, …).
    Identifier(IdentifierKind),
    /// Given names (fornavn, mellomnavn).
    GivenName,
    /// Family names (etternavn).
    FamilyName,
    /// Full names, or names of unspecified kind (navn).
    FullName,
    /// Street or postal addresses (adresse, gateadresse, postadresse).
    Address,
    /// Place names of postal addresses (poststed).
    PostalPlace,
    /// Dates of birth (fødselsdato).
    BirthDate,
}

impl ColumnKind {
    /// A stable lowercase label: the identifier kind's name (`fnr`, `kontonr`, …) or
    /// `given_name`, `family_name`, `full_name`, `address`, `postal_place`, `birth_date`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ColumnKind::Identifier(kind) => kind.as_str(),
            ColumnKind::GivenName => "given_name",
            ColumnKind::FamilyName => "family_name",
            ColumnKind::FullName => "full_name",
            ColumnKind::Address => "address",
            ColumnKind::PostalPlace => "postal_place",
            ColumnKind::BirthDate => "birth_date",
        }
    }

    /// The personal-data category of the column's content (`None` only if the taxonomy lacks
    /// it).
    pub fn category(&self) -> Option<&'static Category> {
        let id = match self {
            ColumnKind::Identifier(kind) => return Some(taxonomy::category_for_identifier(*kind)),
            ColumnKind::GivenName => "user.name.given",
            ColumnKind::FamilyName => "user.name.family",
            ColumnKind::FullName => "user.name",
            ColumnKind::Address | ColumnKind::PostalPlace => "user.contact.address",
            ColumnKind::BirthDate => "user.demographic.date_of_birth",
        };
        taxonomy::lookup(id)
    }

    /// The identifier kind, if this is one.
    pub fn identifier(&self) -> Option<IdentifierKind> {
        match self {
            ColumnKind::Identifier(kind) => Some(*kind),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a column's name says, and how strongly (in (0, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameEvidence {
    /// The kind the name points to.
    pub kind: ColumnKind,
    /// 1.0 for an unambiguous name (`fodselsnummer`), less for a weaker hint (`pnr`, `mail`).
    pub strength: f32,
}

/// The verdict on one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnClassification {
    /// The most likely content, or `None` when neither values nor name point anywhere.
    pub kind: Option<ColumnKind>,
    /// Confidence in [0, 1] that the column holds `kind`.
    pub confidence: f32,
    /// Share of the non-empty sampled values that validate as `kind` in full (for an
    /// identifier kind found inside free text: the share of values that contain one). 0 for
    /// kinds values cannot show (names, addresses).
    pub share_valid: f32,
    /// Whether `kind` was found inside longer free-text values rather than as whole values.
    pub in_free_text: bool,
    /// What the column's name says, if anything.
    pub name_evidence: Option<NameEvidence>,
    /// Non-empty values looked at.
    pub sampled: usize,
    /// Empty and null-like values (`""`, `NULL`, `N/A`, `-`, `\N`, …), not counted in
    /// `sampled`.
    pub empty: usize,
}

/// Classifies columns; build once, reuse for every column (it holds a [`Detector`] for values
/// that are free text).
#[derive(Debug, Clone, Default)]
pub struct ColumnClassifier {
    detector: Detector,
}

/// Classifies one column from its name and a sample of its values, with a shared
/// [`ColumnClassifier`].
///
/// ```
/// use datavern_core::pii::{classify_column, ColumnKind};
/// use datavern_core::id::IdentifierKind;
///
/// let verdict = classify_column("kunde_fnr", ["15108695088", "", "26111593816"].into_iter());
/// assert_eq!(verdict.kind, Some(ColumnKind::Identifier(IdentifierKind::Fnr)));
/// assert_eq!(verdict.share_valid, 1.0);
/// assert_eq!((verdict.sampled, verdict.empty), (2, 1));
/// ```
pub fn classify_column<'v>(
    name: &str,
    samples: impl IntoIterator<Item = &'v str>,
) -> ColumnClassification {
    static SHARED: OnceLock<ColumnClassifier> = OnceLock::new();
    SHARED
        .get_or_init(ColumnClassifier::new)
        .classify(name, samples)
}

/// The kind a column's name alone points to (`fnr`, `Kontonummer`, `e_post`, `fornavn`,
/// `gateAdresse`, …), Norwegian or English, ignoring case, æøå spellings, underscores and
/// camel case.
pub fn column_name_signal(name: &str) -> Option<NameEvidence> {
    let normalized = normalize_name(name);
    let tokens: Vec<&str> = normalized.split(' ').filter(|t| !t.is_empty()).collect();
    let joined: String = tokens.concat();
    if joined.is_empty() {
        return None;
    }
    let not_a_person = tokens.iter().any(|t| NOT_A_PERSON.contains(t));
    let mut best: Option<(NameEvidence, usize)> = None;
    for entry in NAME_WORDS {
        let hit = match entry.matching {
            NameMatch::Token => tokens.contains(&entry.word) || joined == entry.word,
            NameMatch::Contains => joined.contains(entry.word),
        };
        if !hit || (not_a_person && entry.person_only) {
            continue;
        }
        let better = best.is_none_or(|(evidence, len)| {
            (entry.strength, entry.word.len()) > (evidence.strength, len)
        });
        if better {
            best = Some((
                NameEvidence {
                    kind: entry.kind,
                    strength: entry.strength,
                },
                entry.word.len(),
            ));
        }
    }
    best.map(|(evidence, _)| evidence)
}

impl ColumnClassifier {
    /// A classifier with a default [`Detector`] for free-text values.
    pub fn new() -> Self {
        ColumnClassifier {
            detector: Detector::new(),
        }
    }

    /// Classifies one column from its name and a sample of its values (use a few hundred
    /// values: the verdict's confidence grows with the sample).
    pub fn classify<'v>(
        &self,
        name: &str,
        samples: impl IntoIterator<Item = &'v str>,
    ) -> ColumnClassification {
        let name_evidence = column_name_signal(name);
        let mut whole = [0usize; 9];
        let mut embedded = [0usize; 9];
        let mut sampled = 0usize;
        let mut empty = 0usize;
        let mut findings: Vec<Finding> = Vec::new();
        for value in samples {
            let value = value.trim();
            if is_null(value) {
                empty += 1;
                continue;
            }
            sampled += 1;
            let mut any_whole = false;
            for kind in IdentifierKind::ALL {
                if validates_as(kind, value) {
                    whole[kind_index(kind)] += 1;
                    any_whole = true;
                }
            }
            if !any_whole && value.len() > 15 {
                self.detector.detect(value, &mut findings);
                let mut seen = [false; 9];
                for finding in &findings {
                    seen[kind_index(finding.kind)] = true;
                }
                for (count, seen) in embedded.iter_mut().zip(seen) {
                    *count += usize::from(seen);
                }
            }
        }
        decide(name_evidence, &whole, &embedded, sampled, empty)
    }
}

/// How specific a value match is: the share of random strings of the right shape that would
/// validate, turned around. A column of 8-digit numbers is "phone numbers" far less surely
/// than a column of valid fødselsnumre is "fødselsnumre".
fn specificity(kind: IdentifierKind) -> f32 {
    match kind {
        IdentifierKind::Fnr | IdentifierKind::Iban | IdentifierKind::Mva => 1.0,
        IdentifierKind::Email => 1.0,
        IdentifierKind::Kontonr | IdentifierKind::Orgnr | IdentifierKind::Duf => 0.9,
        IdentifierKind::Phone => 0.7,
        // Any four digits (years, codes) pass.
        IdentifierKind::Postnummer => 0.4,
    }
}

/// Ties between kinds go to the more specific one (an IBAN column also "contains" nothing
/// else, but a fødselsnummer column is also a kontonummer column).
const PRIORITY: [IdentifierKind; 9] = [
    IdentifierKind::Iban,
    IdentifierKind::Mva,
    IdentifierKind::Email,
    IdentifierKind::Fnr,
    IdentifierKind::Duf,
    IdentifierKind::Orgnr,
    IdentifierKind::Kontonr,
    IdentifierKind::Phone,
    IdentifierKind::Postnummer,
];

/// A value share at or above this makes the values the main evidence.
const VALUES_DECIDE: f32 = 0.5;

fn decide(
    name: Option<NameEvidence>,
    whole: &[usize; 9],
    embedded: &[usize; 9],
    sampled: usize,
    empty: usize,
) -> ColumnClassification {
    let share = |counts: &[usize; 9], kind: IdentifierKind| {
        if sampled == 0 {
            0.0
        } else {
            counts[kind_index(kind)] as f32 / sampled as f32
        }
    };
    let name_kind = name.map(|n| n.kind);
    let name_strength = name.map_or(0.0, |n| n.strength);
    // Small samples prove less: 1 value → ×0.5, 10 → ×0.91, 100 → ×0.99.
    let sample_factor = sampled as f32 / (sampled as f32 + 1.0);
    let mut verdict = ColumnClassification {
        kind: None,
        confidence: 0.0,
        share_valid: 0.0,
        in_free_text: false,
        name_evidence: name,
        sampled,
        empty,
    };

    // The best whole-value kind: highest share, ties to the more specific kind; a fødselsnummer
    // column is also a kontonummer column, so kontonummer wins only where clearly more values
    // validate as kontonummer than as fødselsnummer, or the name says so.
    let mut best: Option<(IdentifierKind, f32)> = None;
    for kind in PRIORITY {
        let s = share(whole, kind);
        if s > best.map_or(0.0, |(_, b)| b) {
            best = Some((kind, s));
        }
    }
    if let Some((IdentifierKind::Kontonr, konto_share)) = best {
        let fnr_share = share(whole, IdentifierKind::Fnr);
        let name_says_konto = name_kind == Some(ColumnKind::Identifier(IdentifierKind::Kontonr));
        if fnr_share >= 0.9 * konto_share && !name_says_konto {
            best = Some((IdentifierKind::Fnr, fnr_share));
        }
    }
    if let Some((IdentifierKind::Fnr, _)) = best {
        let name_says_konto = name_kind == Some(ColumnKind::Identifier(IdentifierKind::Kontonr));
        if name_says_konto {
            best = Some((
                IdentifierKind::Kontonr,
                share(whole, IdentifierKind::Kontonr),
            ));
        }
    }

    if let Some((kind, s)) = best.filter(|&(_, s)| s >= VALUES_DECIDE) {
        let column_kind = ColumnKind::Identifier(kind);
        let mut confidence = s * specificity(kind);
        match name_kind {
            Some(k) if k == column_kind => confidence += 0.3 * name_strength,
            Some(_) => confidence -= 0.2 * name_strength,
            None => {}
        }
        verdict.kind = Some(column_kind);
        verdict.share_valid = s;
        verdict.confidence = (confidence * sample_factor).clamp(0.0, 1.0);
        return verdict;
    }

    if let Some(name) = name {
        verdict.kind = Some(name.kind);
        verdict.share_valid = name.kind.identifier().map_or(0.0, |k| share(whole, k));
        let confidence = match name.kind.identifier() {
            // The name says identifier but the values mostly do not validate (hashed,
            // encrypted, or mistyped): the name alone carries it, weakly.
            Some(_) if sampled > 0 => 0.4 * name.strength,
            // Names and addresses cannot be validated: the name is all there is.
            _ => 0.6 * name.strength,
        };
        verdict.confidence = confidence.clamp(0.0, 1.0);
        return verdict;
    }

    // Free text: the kind found in the most values, whatever the share (one fødselsnummer in
    // a comment column is one too many).
    let mut best_embedded: Option<(IdentifierKind, f32)> = None;
    for kind in PRIORITY {
        let s = share(embedded, kind);
        if s > best_embedded.map_or(0.0, |(_, b)| b) {
            best_embedded = Some((kind, s));
        }
    }
    if let Some((kind, s)) = best_embedded {
        verdict.kind = Some(ColumnKind::Identifier(kind));
        verdict.share_valid = s;
        verdict.in_free_text = true;
        verdict.confidence = ((0.5 + s) * specificity(kind) * sample_factor).clamp(0.0, 0.9);
    }
    verdict
}

/// Whether the whole value validates as `kind`. Fødselsnummer and kontonummer values that lost
/// their leading zero (spreadsheets do that) count too.
fn validates_as(kind: IdentifierKind, value: &str) -> bool {
    let first = value.as_bytes().first().copied().unwrap_or(b' ');
    // Cheap shape filters first: most kinds start with a digit, IBAN/MVA with a letter.
    match kind {
        IdentifierKind::Fnr => {
            Fodselsnummer::parse(value).is_ok()
                || padded(value).is_some_and(|d| Fodselsnummer::from_digits(&d).is_ok())
        }
        IdentifierKind::Kontonr => {
            Kontonummer::parse(value).is_ok()
                || padded(value).is_some_and(|d| Kontonummer::from_digits(&d).is_ok())
        }
        IdentifierKind::Orgnr => {
            first.is_ascii_digit() && Organisasjonsnummer::parse(value).is_ok()
        }
        IdentifierKind::Duf => first.is_ascii_digit() && DufNummer::parse(value).is_ok(),
        IdentifierKind::Postnummer => first.is_ascii_digit() && Postnummer::parse(value).is_ok(),
        IdentifierKind::Phone => {
            (first.is_ascii_digit() || first == b'+') && PhoneNumber::parse(value).is_ok()
        }
        IdentifierKind::Mva => first.is_ascii_alphabetic() && MvaNummer::parse(value).is_ok(),
        IdentifierKind::Iban => first.is_ascii_alphabetic() && Iban::parse(value).is_ok(),
        IdentifierKind::Email => value.contains('@') && EmailAddress::parse(value).is_ok(),
    }
}

/// Ten plain digits with the leading zero put back.
fn padded(value: &str) -> Option<[u8; 11]> {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut digits = [b'0'; 11];
    digits[1..].copy_from_slice(bytes);
    Some(digits)
}

/// Values that mean "nothing here".
fn is_null(value: &str) -> bool {
    const NULLS: [&str; 11] = [
        "null",
        "none",
        "nil",
        "n/a",
        "na",
        "-",
        "\\n",
        "#n/a",
        "undefined",
        "nan",
        "(null)",
    ];
    value.is_empty() || NULLS.iter().any(|null| value.eq_ignore_ascii_case(null))
}

/// How a column-name word must appear.
#[derive(Clone, Copy)]
enum NameMatch {
    /// As a whole token (`fnr` in `kunde_fnr`), or as the whole name.
    Token,
    /// Anywhere in the name with separators removed (`kontonummer` in `bankkontonummer`).
    Contains,
}

/// One column-name word, normalised (lower case, ASCII: æ→ae, ø→o, å→a).
struct NameWord {
    word: &'static str,
    kind: ColumnKind,
    strength: f32,
    matching: NameMatch,
    /// Only about people: `navn` in `firma_navn` is not a person's name.
    person_only: bool,
}

const fn id(
    word: &'static str,
    kind: IdentifierKind,
    strength: f32,
    matching: NameMatch,
) -> NameWord {
    NameWord {
        word,
        kind: ColumnKind::Identifier(kind),
        strength,
        matching,
        person_only: false,
    }
}

const fn person(
    word: &'static str,
    kind: ColumnKind,
    strength: f32,
    matching: NameMatch,
) -> NameWord {
    NameWord {
        word,
        kind,
        strength,
        matching,
        person_only: true,
    }
}

/// Tokens that make a name column about something other than a person.
const NOT_A_PERSON: &[&str] = &[
    "firma",
    "bedrift",
    "company",
    "org",
    "organisasjon",
    "bruker",
    "user",
    "fil",
    "file",
    "produkt",
    "product",
    "vare",
    "host",
    "server",
    "kolonne",
    "column",
    "tabell",
    "table",
];

const NAME_WORDS: &[NameWord] = {
    use ColumnKind::{Address, BirthDate, FamilyName, FullName, GivenName, PostalPlace};
    use IdentifierKind::{Duf, Email, Fnr, Iban, Kontonr, Mva, Orgnr, Phone, Postnummer};
    use NameMatch::{Contains, Token};
    &[
        id("fodselsnummer", Fnr, 1.0, Contains),
        id("foedselsnummer", Fnr, 1.0, Contains),
        id("fodselsnr", Fnr, 1.0, Contains),
        id("fnr", Fnr, 1.0, Token),
        id("personnummer", Fnr, 1.0, Contains),
        id("personnr", Fnr, 1.0, Contains),
        id("persnr", Fnr, 1.0, Token),
        id("pnr", Fnr, 0.5, Token),
        id("dnummer", Fnr, 1.0, Contains),
        id("dnr", Fnr, 0.6, Token),
        id("ssn", Fnr, 0.8, Token),
        id("nin", Fnr, 0.7, Token),
        id("nationalid", Fnr, 1.0, Contains),
        id("personalid", Fnr, 0.8, Contains),
        id("personid", Fnr, 0.6, Contains),
        id("fodselsid", Fnr, 0.8, Contains),
        id("duf", Duf, 1.0, Token),
        id("dufnummer", Duf, 1.0, Contains),
        id("dufnr", Duf, 1.0, Contains),
        id("orgnr", Orgnr, 1.0, Contains),
        id("orgnummer", Orgnr, 1.0, Contains),
        id("organisasjonsnummer", Orgnr, 1.0, Contains),
        id("organisasjonsnr", Orgnr, 1.0, Contains),
        id("foretaksnummer", Orgnr, 1.0, Contains),
        id("orgno", Orgnr, 0.9, Token),
        id("organizationnumber", Orgnr, 1.0, Contains),
        id("organisationnumber", Orgnr, 1.0, Contains),
        id("mva", Mva, 0.9, Token),
        id("mvanr", Mva, 1.0, Contains),
        id("mvanummer", Mva, 1.0, Contains),
        id("vat", Mva, 0.8, Token),
        id("vatnumber", Mva, 1.0, Contains),
        id("kontonummer", Kontonr, 1.0, Contains),
        id("kontonr", Kontonr, 1.0, Contains),
        id("konto", Kontonr, 0.9, Token),
        id("bankkonto", Kontonr, 1.0, Contains),
        id("kto", Kontonr, 0.8, Token),
        id("ktonr", Kontonr, 1.0, Token),
        id("account", Kontonr, 0.8, Token),
        id("accountnumber", Kontonr, 1.0, Contains),
        id("accountno", Kontonr, 1.0, Contains),
        id("bankaccount", Kontonr, 1.0, Contains),
        id("iban", Iban, 1.0, Contains),
        id("telefon", Phone, 1.0, Contains),
        id("telefonnr", Phone, 1.0, Contains),
        id("tlf", Phone, 1.0, Token),
        id("tlfnr", Phone, 1.0, Contains),
        id("mobil", Phone, 1.0, Contains),
        id("mob", Phone, 0.8, Token),
        id("phone", Phone, 1.0, Contains),
        id("tel", Phone, 0.8, Token),
        id("mobile", Phone, 1.0, Token),
        id("msisdn", Phone, 1.0, Token),
        id("epost", Email, 1.0, Contains),
        id("email", Email, 1.0, Contains),
        id("mail", Email, 0.8, Token),
        id("emailadresse", Email, 1.0, Contains),
        id("epostadresse", Email, 1.0, Contains),
        id("postnummer", Postnummer, 1.0, Contains),
        id("postnr", Postnummer, 1.0, Contains),
        id("postkode", Postnummer, 1.0, Contains),
        id("zip", Postnummer, 1.0, Token),
        id("zipcode", Postnummer, 1.0, Contains),
        id("postcode", Postnummer, 1.0, Contains),
        id("postalcode", Postnummer, 1.0, Contains),
        person("fornavn", GivenName, 1.0, Contains),
        person("mellomnavn", GivenName, 1.0, Contains),
        person("firstname", GivenName, 1.0, Contains),
        person("givenname", GivenName, 1.0, Contains),
        person("middlename", GivenName, 1.0, Contains),
        person("etternavn", FamilyName, 1.0, Contains),
        person("slektsnavn", FamilyName, 1.0, Contains),
        person("lastname", FamilyName, 1.0, Contains),
        person("surname", FamilyName, 1.0, Contains),
        person("familyname", FamilyName, 1.0, Contains),
        person("navn", FullName, 0.9, Token),
        person("fulltnavn", FullName, 1.0, Contains),
        person("name", FullName, 0.8, Token),
        person("fullname", FullName, 1.0, Contains),
        person("adresse", Address, 1.0, Contains),
        person("address", Address, 1.0, Contains),
        person("gate", Address, 0.8, Token),
        person("gatenavn", Address, 0.9, Contains),
        person("street", Address, 0.9, Contains),
        person("bosted", Address, 0.8, Contains),
        person("poststed", PostalPlace, 1.0, Contains),
        person("city", PostalPlace, 0.7, Token),
        person("by", PostalPlace, 0.5, Token),
        person("fodselsdato", BirthDate, 1.0, Contains),
        person("fdato", BirthDate, 1.0, Token),
        person("birthdate", BirthDate, 1.0, Contains),
        person("dateofbirth", BirthDate, 1.0, Contains),
        person("dob", BirthDate, 1.0, Token),
        person("fodt", BirthDate, 0.8, Token),
    ]
};

/// Lower case, æøå folded to ASCII (`ø`→`o`, `æ`→`ae`, `å`→`a`), camel case and separators
/// (`_`, `-`, `.`, spaces, digits) turned into single spaces.
fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.trim().chars() {
        if c.is_uppercase() && previous_lower {
            out.push(' ');
        }
        previous_lower = c.is_lowercase();
        for lower in c.to_lowercase() {
            match lower {
                'æ' | 'ä' => out.push_str("ae"),
                'ø' | 'ö' => out.push('o'),
                'å' | 'á' | 'à' => out.push('a'),
                'é' | 'è' | 'ê' => out.push('e'),
                c if c.is_alphanumeric() && !c.is_ascii_digit() => out.push(c),
                _ => out.push(' '),
            }
        }
    }
    // "aa" for å and "oe" for ø in older ASCII spellings: `foedselsnummer` is listed.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_name("Kunde_FødselsNr"), "kunde fodsels nr");
        assert_eq!(normalize_name("e-post"), "e post");
        assert_eq!(normalize_name("gateAdresse1"), "gate adresse ");
    }
}
