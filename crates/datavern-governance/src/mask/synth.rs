//! The synthetic values of a masked copy: for each personal value, one of the same shape
//! that belongs to no one, the same for the same person everywhere.
//!
//! Every choice is drawn from a generator seeded by an HMAC, under a key made for this copy
//! and never stored, of what the choice must be consistent for: the person and the field
//! (names, addresses, the date shift), or the value itself (identifiers, so that one
//! fødselsnummer stored in two collections becomes one Tenor number in both, and lookups
//! and joins still find the same person). Identifiers are remembered once replaced, and two
//! different values never get the same replacement (unique fields stay unique).
//!
//! Before anything is written, [`Masker::learn`] sees every identifier and name of the
//! source; a candidate equal to one of them is drawn again, so no value of the source can
//! reappear in the copy by chance (the source may hold Tenor numbers too, e.g. demo data).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use datavern_core::catalog::{Field, FieldType};
use datavern_core::id::synth;
use datavern_core::id::{
    self, ChecksumRule, FnrVariant, Fodselsnummer, IdentifierKind, PhoneVariant,
};
use datavern_core::pii::{Detector, Finding};
use datavern_core::record::FieldValue;
use datavern_core::taxonomy;
use jiff::ToSpan as _;
use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng as _};
use serde_json::Value;
use uuid::Uuid;

/// The largest date shift, in days either way (never 0: every date moves).
pub const MAX_SHIFT_DAYS: i64 = 180;

/// The most distinct values a field may have in the source to be masked by drawing from
/// them (a choice among kindergartens, decisions, services); a field with more is masked by
/// shape.
pub const MAX_CATEGORIES: usize = 256;

/// Tries before a generator is given up as unable to find a fresh value (never seen in
/// practice: each kind has millions of values).
const MAX_DRAWS: usize = 10_000;

const ONSETS: &[&str] = &[
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "r", "s", "t", "v", "br", "dr", "fl", "gr", "kl",
    "sk", "st", "tr", "sv",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "y", "ø", "å", "ei", "au"];
const CODAS: &[&str] = &["", "", "", "n", "l", "r", "s", "nd", "rk", "lv"];
const FAMILY_ENDINGS: &[&str] = &["sen", "dal", "heim", "vik", "berg", "stad", "rud", "nes"];
const STREET_ENDINGS: &[&str] = &["veien", "gata", "vegen", "bakken", "lia", "stien"];

/// The values of a field that is a choice, each with how often the source holds it.
type Choices = Vec<(String, u64)>;

/// Why a value could not be masked.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// No random bytes for the copy's key.
    #[error("the system's random generator failed")]
    Random,
    /// A generator found no value that is neither in the source nor given already.
    #[error("no fresh synthetic {0} found after {MAX_DRAWS} draws")]
    Exhausted(&'static str),
}

/// The masking of one copy: its key, what the source holds, what was replaced.
pub struct Masker {
    key: hmac::Key,
    hasher: RandomState,
    /// Hashes of the source's identifiers (canonical) and name words (lowercase).
    source: HashSet<u64>,
    /// Hashes of the source's name words alone, for free text.
    names: HashSet<u64>,
    /// Each identifier replaced, by kind and canonical value.
    replaced: HashMap<(IdentifierKind, String), String>,
    /// Every identifier given out.
    issued: HashSet<String>,
    /// Per collection and field of short text that is neither identifier, name nor address:
    /// its values and how often each occurs, or `None` once there are too many to be a choice.
    categories: HashMap<(String, String), Option<Choices>>,
    detector: Detector,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("source_values", &self.source.len())
            .field("replaced", &self.replaced.len())
            .finish_non_exhaustive()
    }
}

impl Masker {
    /// A masker with a fresh random key.
    pub fn new() -> Result<Masker, SynthError> {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| SynthError::Random)?;
        Ok(Masker::with_key(&key))
    }

    /// A masker with `key` (tests: the same key gives the same copy).
    pub fn with_key(key: &[u8; 32]) -> Masker {
        Masker {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            hasher: RandomState::new(),
            source: HashSet::new(),
            names: HashSet::new(),
            replaced: HashMap::new(),
            issued: HashSet::new(),
            categories: HashMap::new(),
            // Every valid identifier in free text, however weak its context.
            detector: Detector::new().with_min_score(0.0),
        }
    }

    /// Notes a source value of `field` of `collection`, so that no replacement equals it
    /// (identifiers, names, addresses), or so that a replacement can be drawn from the
    /// field's values (a choice, such as a decision or a kindergarten).
    pub fn learn(&mut self, collection: &str, field: &Field, value: &FieldValue) {
        let FieldValue::String(text) = value else {
            return;
        };
        if is_choice(field) {
            let entry = self
                .categories
                .entry((collection.to_owned(), field.name().to_string()))
                .or_insert_with(|| Some(Vec::new()));
            if let Some(values) = entry {
                if let Some(position) = values.iter().position(|(v, _)| v == text) {
                    values[position].1 += 1;
                } else if values.len() < MAX_CATEGORIES {
                    values.push((text.clone(), 1));
                } else {
                    *entry = None;
                }
            }
        } else if field.identifier().is_some() {
            let hash = self.hash(text);
            self.source.insert(hash);
        } else if is_name(field) || is_address(field) {
            for word in words(text) {
                let hash = self.hash(&word.to_lowercase());
                self.source.insert(hash);
                if is_name(field) {
                    self.names.insert(hash);
                }
            }
        }
    }

    /// Whether `field`'s values are masked (personal), or copied as they are.
    pub fn masks(field: &Field) -> bool {
        field.is_personal()
    }

    /// The replacement of `value` of `field` of `collection`, which belongs to `subject`
    /// (the person the field is attributed to, by source record id).
    pub fn mask(
        &mut self,
        collection: &str,
        field: &Field,
        subject: Option<Uuid>,
        value: &FieldValue,
    ) -> Result<FieldValue, SynthError> {
        if !Self::masks(field) || *value == FieldValue::Null {
            return Ok(value.clone());
        }
        let seed = subject.map_or([0u8; 16], |s| *s.as_bytes());
        let name = field.name().as_str();
        let mut rng = self.rng(&[b"field", &seed, name.as_bytes()]);
        Ok(match value {
            FieldValue::String(text) => {
                if let Some(kind) = field.identifier() {
                    FieldValue::String(self.identifier(kind, text, subject)?)
                } else if is_name(field) {
                    FieldValue::String(self.name(&mut rng, field, text)?)
                } else if is_address(field) {
                    FieldValue::String(self.address(&mut rng, text)?)
                } else if field.field_type() == FieldType::Text {
                    FieldValue::String(self.scrub(text, subject)?)
                } else if let Some(choice) = self.choice(&mut rng, collection, name) {
                    FieldValue::String(choice)
                } else {
                    FieldValue::String(shape(&mut rng, text))
                }
            }
            FieldValue::Date(date) => FieldValue::Date(self.shifted(*date, subject)),
            FieldValue::Timestamp(at) => FieldValue::Timestamp(
                at.checked_add((self.shift(subject) * 24).hours())
                    .unwrap_or(*at),
            ),
            FieldValue::Integer(n) => FieldValue::Integer(integer(&mut rng, *n)),
            FieldValue::Decimal(text) => FieldValue::Decimal(shape(&mut rng, text)),
            FieldValue::Boolean(_) => FieldValue::Boolean(rng.random_bool(0.5)),
            FieldValue::Json(json) => FieldValue::Json(self.scrub_json(json, subject)?),
            FieldValue::Null => FieldValue::Null,
        })
    }

    /// One of the source's values of a field that is a choice, drawn as often as each occurs.
    fn choice(&self, rng: &mut StdRng, collection: &str, field: &str) -> Option<String> {
        let values = self
            .categories
            .get(&(collection.to_owned(), field.to_owned()))?
            .as_ref()?;
        let total: u64 = values.iter().map(|(_, n)| n).sum();
        let mut at = rng.random_range(0..total.max(1));
        for (value, count) in values {
            if at < *count {
                return Some(value.clone());
            }
            at -= count;
        }
        None
    }

    /// The days every date of `subject` moves by: in ±1–[`MAX_SHIFT_DAYS`], never 0.
    pub fn shift(&self, subject: Option<Uuid>) -> i64 {
        let seed = subject.map_or([0u8; 16], |s| *s.as_bytes());
        let mut rng = self.rng(&[b"shift", &seed]);
        let days = rng.random_range(1..=MAX_SHIFT_DAYS);
        if rng.random_bool(0.5) { days } else { -days }
    }

    fn shifted(&self, date: Date, subject: Option<Uuid>) -> Date {
        date.checked_add(self.shift(subject).days()).unwrap_or(date)
    }

    /// The replacement of identifier `original` (canonical) of `kind`: the same for the same
    /// value, never a value of the source, never one given to another value.
    fn identifier(
        &mut self,
        kind: IdentifierKind,
        original: &str,
        subject: Option<Uuid>,
    ) -> Result<String, SynthError> {
        if let Some(done) = self.replaced.get(&(kind, original.to_owned())) {
            return Ok(done.clone());
        }
        let mut rng = self.rng(&[b"identifier", kind.as_str().as_bytes(), original.as_bytes()]);
        let born = match kind {
            IdentifierKind::Fnr => Fodselsnummer::parse(original)
                .ok()
                .and_then(|fnr| fnr.birth_date())
                .map(|date| self.shifted(date, subject)),
            _ => None,
        };
        for _ in 0..MAX_DRAWS {
            let candidate = match kind {
                // Tenor numbers (month + 80) are synthetic by definition: never a person's.
                IdentifierKind::Fnr => born
                    .and_then(|date| {
                        synth::fodselsnummer_born_on(
                            &mut rng,
                            date,
                            FnrVariant::Tenor,
                            ChecksumRule::Classic,
                        )
                    })
                    .unwrap_or_else(|| {
                        synth::fodselsnummer(&mut rng, FnrVariant::Tenor, ChecksumRule::Classic)
                    }),
                IdentifierKind::Phone => synth::phone(&mut rng, PhoneVariant::Mobile),
                IdentifierKind::Email => format!(
                    "{}.{}{}@example.com",
                    ascii(&given_name(&mut rng)),
                    ascii(&family_name(&mut rng)),
                    rng.random_range(1..1000)
                ),
                IdentifierKind::Postnummer => {
                    let places = datavern_core::demo::POSTAL_PLACES;
                    places[rng.random_range(0..places.len())]
                        .postnummer
                        .to_owned()
                }
                other => synth::valid(&mut rng, other),
            };
            let Ok(checked) = id::check(kind, &candidate) else {
                continue;
            };
            let canonical = checked.as_str().to_owned();
            // A postnummer is shared by thousands: only identifiers of one person must be
            // fresh.
            if kind != IdentifierKind::Postnummer {
                if self.source.contains(&self.hash(&canonical)) || self.issued.contains(&canonical)
                {
                    continue;
                }
                self.issued.insert(canonical.clone());
            }
            self.replaced
                .insert((kind, original.to_owned()), canonical.clone());
            return Ok(canonical);
        }
        Err(SynthError::Exhausted(kind.as_str()))
    }

    /// A made-up name of the original's shape: given, family, or both (with as many words).
    fn name(&self, rng: &mut StdRng, field: &Field, original: &str) -> Result<String, SynthError> {
        let family = taxonomy::FAMILY_NAME.covers(field.category());
        let count = original.split_whitespace().count().max(1);
        let parts: Vec<String> = (0..count)
            .map(|i| {
                if family || (count > 1 && i == count - 1) {
                    self.fresh(rng, family_name)
                } else {
                    self.fresh(rng, given_name)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(parts.join(" "))
    }

    /// A made-up street and the original's house number, or a made-up place name.
    fn address(&self, rng: &mut StdRng, original: &str) -> Result<String, SynthError> {
        let number: String = original
            .split_whitespace()
            .last()
            .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .map(|_| rng.random_range(1..=150).to_string())
            .unwrap_or_default();
        if number.is_empty() {
            return self.fresh(rng, |rng| capitalised(&word(rng, 2)));
        }
        let street = self.fresh(rng, |rng| {
            let ending = STREET_ENDINGS[rng.random_range(0..STREET_ENDINGS.len())];
            capitalised(&format!("{}{ending}", word(rng, 2)))
        })?;
        Ok(format!("{street} {number}"))
    }

    /// A made-up word `make` draws that is no word of the source's names and addresses.
    fn fresh(
        &self,
        rng: &mut StdRng,
        make: impl Fn(&mut StdRng) -> String,
    ) -> Result<String, SynthError> {
        for _ in 0..MAX_DRAWS {
            let candidate = make(rng);
            if words(&candidate).all(|w| !self.source.contains(&self.hash(&w.to_lowercase()))) {
                return Ok(candidate);
            }
        }
        Err(SynthError::Exhausted("name"))
    }

    /// Free text with every identifier the detector finds replaced (as its own value would
    /// be anywhere) and every word that is a name of the source replaced by `[navn]`.
    fn scrub(&mut self, text: &str, subject: Option<Uuid>) -> Result<String, SynthError> {
        let mut findings: Vec<Finding> = Vec::new();
        self.detector.detect(text, &mut findings);
        findings.sort_by_key(|f| f.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for finding in findings {
            if finding.start < at {
                continue;
            }
            let Some(found) = finding.text(text) else {
                continue;
            };
            out.push_str(&self.scrub_names(&text[at..finding.start]));
            match id::check(finding.kind, found) {
                Ok(checked) => {
                    let canonical = checked.as_str().to_owned();
                    out.push_str(&self.identifier(finding.kind, &canonical, subject)?);
                }
                Err(_) => out.push_str(&format!("[{}]", finding.kind.as_str())),
            }
            at = finding.end;
        }
        out.push_str(&self.scrub_names(&text[at..]));
        Ok(out)
    }

    fn scrub_names(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if !word.is_empty() {
                if self.names.contains(&self.hash(&word.to_lowercase())) {
                    out.push_str("[navn]");
                } else {
                    out.push_str(word);
                }
                word.clear();
            }
        };
        for c in text.chars() {
            if c.is_alphabetic() || c == '-' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    fn scrub_json(&mut self, json: &Value, subject: Option<Uuid>) -> Result<Value, SynthError> {
        Ok(match json {
            Value::String(text) => Value::String(self.scrub(text, subject)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.scrub_json(item, subject))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.scrub_json(v, subject)?)))
                    .collect::<Result<_, SynthError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn rng(&self, parts: &[&[u8]]) -> StdRng {
        let mut context = hmac::Context::with_key(&self.key);
        for part in parts {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let tag = context.sign();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&tag.as_ref()[..32]);
        StdRng::from_seed(seed)
    }

    fn hash(&self, text: &str) -> u64 {
        self.hasher.hash_one(text)
    }
}

/// Short text that is no identifier, name, address or assigned id: masked by drawing from
/// the source's values while they are few.
fn is_choice(field: &Field) -> bool {
    field.field_type() == FieldType::String
        && field.identifier().is_none()
        && !is_name(field)
        && !is_address(field)
        && !taxonomy::UNIQUE_ID.covers(field.category())
}

fn is_name(field: &Field) -> bool {
    taxonomy::NAME.covers(field.category())
}

fn is_address(field: &Field) -> bool {
    taxonomy::ADDRESS.covers(field.category())
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphabetic() || c == '-'))
        .filter(|w| !w.is_empty())
}

fn word(rng: &mut StdRng, syllables: usize) -> String {
    let mut out = String::new();
    for _ in 0..syllables {
        out.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
        out.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
        out.push_str(CODAS[rng.random_range(0..CODAS.len())]);
    }
    out
}

fn given_name(rng: &mut StdRng) -> String {
    let syllables = rng.random_range(2..=3);
    let mut name = word(rng, syllables);
    name.push_str(["a", "e", "o", ""][rng.random_range(0..4)]);
    capitalised(&name)
}

fn family_name(rng: &mut StdRng) -> String {
    let stem = word(rng, 2);
    capitalised(&format!(
        "{stem}{}",
        FAMILY_ENDINGS[rng.random_range(0..FAMILY_ENDINGS.len())]
    ))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `name` in the letters an e-mail address takes.
fn ascii(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .flat_map(|c| match c {
            'æ' => "ae".chars().collect::<Vec<_>>(),
            'ø' => vec!['o'],
            'å' => "aa".chars().collect(),
            c if c.is_ascii_alphanumeric() => vec![c],
            _ => Vec::new(),
        })
        .collect()
}

/// `text` with each letter and digit replaced by a random one of its kind (case kept),
/// everything else as it was: a code, a reference or an amount of the same shape.
fn shape(rng: &mut StdRng, text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_digit() {
                // No leading zero where there was none (an amount stays an amount).
                let low = if i == 0 && c != '0' { 1 } else { 0 };
                char::from(b'0' + rng.random_range(low..=9u8))
            } else if c.is_uppercase() {
                char::from(b'A' + rng.random_range(0..26u8))
            } else if c.is_alphabetic() {
                char::from(b'a' + rng.random_range(0..26u8))
            } else {
                c
            }
        })
        .collect()
}

/// A random integer with as many digits as `n`, and its sign.
fn integer(rng: &mut StdRng, n: i64) -> i64 {
    let digits = n.unsigned_abs().checked_ilog10().unwrap_or(0);
    let low = if digits == 0 { 0 } else { 10i64.pow(digits) };
    let high = 10i64.saturating_pow(digits + 1) - 1;
    let value = rng.random_range(low..=high);
    if n < 0 { -value } else { value }
}
