//! Synthetic municipal data for `datavern demo seed`: residents, kindergarten applications and
//! care cases for the example catalog (`examples/kommune.yaml`).
//!
//! Every record is a pure function of `(seed, index)`: [`person`], [`application`] and
//! [`case`] each seed their own random number generator from the pair, so a record does not
//! depend on how many were made before it or in which order they were stored. Residents
//! come in households of seven (index / 7): the first of each is a child of 0–5 years, the
//! next two its parents, and the household shares a family name and an address. An
//! application's child and guardians, and a case's client, are person indexes; the caller
//! maps them to record ids.
//!
//! Fødselsnumre are Tenor numbers (month + 80), which can never belong to a real person;
//! e-mail addresses use the domains reserved for examples (RFC 2606); postnummer and
//! poststed are real pairs from [`POSTAL_PLACES`]. Reproducible for one build: the generator
//! is `rand`'s `StdRng`, whose stream may change between `rand` versions.

mod data;

use jiff::ToSpan as _;
use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng as _};
use serde_json::{Map, Value};

use crate::id::synth;
use crate::id::{ChecksumRule, FnrVariant, PhoneVariant};

pub use data::{POSTAL_PLACES, PostalPlace};

/// The day ages and application dates are reckoned from (fixed, so the data does not change
/// with the day it is generated).
const REFERENCE_DATE: Date = Date::constant(2025, 6, 1);

/// Residents per household.
const HOUSEHOLD: u64 = 7;

/// How many records of each collection a seed of `total` records makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Residents (`innbyggere`).
    pub persons: u64,
    /// Kindergarten applications (`barnehagesoknader`).
    pub applications: u64,
    /// Care cases (`saker`).
    pub cases: u64,
}

impl Plan {
    /// Of every ten records, seven residents, two applications and one case. Every person
    /// index an application or case refers to is below `persons`.
    pub fn for_records(total: u64) -> Plan {
        let applications = total / 5;
        let cases = total / 10;
        Plan {
            persons: total - applications - cases,
            applications,
            cases,
        }
    }

    /// All records.
    pub fn total(&self) -> u64 {
        self.persons + self.applications + self.cases
    }
}

/// A resident (`innbyggere`). Synthetic, but shaped like personal data: no `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    /// Tenor fødselsnummer (11 digits).
    pub fodselsnummer: String,
    /// Given name.
    pub fornavn: String,
    /// Family name (shared by the household).
    pub etternavn: String,
    /// Birth date (the one in the fødselsnummer).
    pub fodselsdato: Date,
    /// Street address, e.g. `Storgata 12`.
    pub adresse: String,
    /// The postal place of the household.
    pub postal: PostalPlace,
    /// Mobile number, 8 digits.
    pub telefon: String,
    /// E-mail address at an example domain.
    pub epost: String,
}

/// A kindergarten application (`barnehagesoknader`). No `Debug`, like [`Person`].
#[derive(Clone, PartialEq, Eq)]
pub struct Application {
    /// Person index of the child.
    pub barn: u64,
    /// Person index of the first guardian.
    pub foresatt1: u64,
    /// Person index of the second guardian, if there is one.
    pub foresatt2: Option<u64>,
    /// Date applied.
    pub soknadsdato: Date,
    /// Kindergarten applied for.
    pub onsket_barnehage: &'static str,
    /// Wished start.
    pub onsket_oppstart: Date,
    /// The decision, if made.
    pub vedtak: Option<&'static str>,
}

/// A care case (`saker`). No `Debug`, like [`Person`].
#[derive(Clone, PartialEq, Eq)]
pub struct Case {
    /// Person index of the client.
    pub bruker: u64,
    /// Case number, `YEAR/NUMBER`.
    pub saksnummer: String,
    /// The service applied for.
    pub tjeneste: &'static str,
    /// A diagnosis, on some cases.
    pub diagnose: Option<&'static str>,
    /// The assessment.
    pub vurdering: String,
    /// The decision.
    pub vedtak: String,
    /// Closing date of closed cases.
    pub avsluttet: Option<Date>,
}

/// Resident `index` of the data seeded with `seed`.
pub fn person(seed: u64, index: u64) -> Person {
    let household = index / HOUSEHOLD;
    let role = index % HOUSEHOLD;
    let mut home = rng(seed, Stream::Household, household);
    let etternavn = pick(&mut home, data::FAMILY_NAMES);
    let street = pick(&mut home, data::STREETS);
    let number = home.random_range(1..=120);
    let postal = pick(&mut home, data::POSTAL_PLACES);

    let mut rng = rng(seed, Stream::Person, index);
    let age_days = match role {
        0 => rng.random_range(0..=5 * 365),
        1 | 2 => rng.random_range(25 * 365..=45 * 365),
        _ => rng.random_range(18 * 365..=90 * 365),
    };
    let fodselsdato = days_before(REFERENCE_DATE, age_days);
    let fodselsnummer = synth::fodselsnummer_born_on(
        &mut rng,
        fodselsdato,
        FnrVariant::Tenor,
        ChecksumRule::Classic,
    )
    // Unreachable for dates in 1854–2039, but never a panic in a generator.
    .unwrap_or_else(|| synth::fodselsnummer(&mut rng, FnrVariant::Tenor, ChecksumRule::Classic));
    let fornavn = pick(&mut rng, data::GIVEN_NAMES);
    let telefon = synth::phone(&mut rng, PhoneVariant::Mobile);
    let domain = pick(&mut rng, &["example.com", "example.org", "example.net"]);
    let epost = format!(
        "{}.{}{}@{domain}",
        ascii_fold(fornavn),
        ascii_fold(etternavn),
        rng.random_range(1..1000)
    );
    Person {
        fodselsnummer,
        fornavn: fornavn.to_owned(),
        etternavn: etternavn.to_owned(),
        fodselsdato,
        adresse: format!("{street} {number}"),
        postal,
        telefon,
        epost,
    }
}

/// Application `index`: two per household, for its child, by one or both parents.
pub fn application(seed: u64, index: u64) -> Application {
    let mut rng = rng(seed, Stream::Application, index);
    let barn = (index / 2) * HOUSEHOLD;
    let foresatt2 = rng.random_bool(0.7).then_some(barn + 2);
    let soknadsdato = days_before(Date::constant(2025, 3, 1), rng.random_range(0..60));
    let onsket_oppstart = if rng.random_bool(0.8) {
        Date::constant(2025, 8, 15)
    } else {
        Date::constant(2026, 1, 5)
    };
    let vedtak = match rng.random_range(0..4) {
        0 => None,
        1 => Some("Venteliste"),
        _ => Some("Tilbud om plass"),
    };
    Application {
        barn,
        foresatt1: barn + 1,
        foresatt2,
        soknadsdato,
        onsket_barnehage: pick(&mut rng, data::KINDERGARTENS),
        onsket_oppstart,
        vedtak,
    }
}

/// Case `index`: about an adult of household `index`.
pub fn case(seed: u64, index: u64) -> Case {
    let mut rng = rng(seed, Stream::Case, index);
    let bruker = index * HOUSEHOLD + rng.random_range(1..HOUSEHOLD);
    let tjeneste = pick(&mut rng, data::SERVICES);
    let diagnose = rng
        .random_bool(0.6)
        .then(|| pick(&mut rng, data::DIAGNOSES));
    let granted = rng.random_bool(0.8);
    let hours = rng.random_range(2..=20);
    let avsluttet = rng
        .random_bool(0.4)
        .then(|| days_before(REFERENCE_DATE, rng.random_range(0..365)));
    Case {
        bruker,
        saksnummer: format!("2025/{}", 1000 + index),
        tjeneste,
        diagnose,
        vurdering: format!(
            "Bruker har behov for bistand i dagliglivet. Kartlagt ved hjemmebesøk; behovet er \
             vurdert til om lag {hours} timer i uken."
        ),
        vedtak: if granted {
            format!("Innvilget: {tjeneste}, {hours} timer i uken.")
        } else {
            format!("Avslag: {tjeneste}. Behovet dekkes av andre tjenester.")
        },
        avsluttet,
    }
}

impl Person {
    /// The record body for `innbyggere`.
    pub fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        put(&mut body, "fodselsnummer", &self.fodselsnummer);
        put(&mut body, "fornavn", &self.fornavn);
        put(&mut body, "etternavn", &self.etternavn);
        put(&mut body, "fodselsdato", &self.fodselsdato.to_string());
        put(&mut body, "adresse", &self.adresse);
        put(&mut body, "postnummer", self.postal.postnummer);
        put(&mut body, "telefon", &self.telefon);
        put(&mut body, "epost", &self.epost);
        body
    }
}

impl Application {
    /// The record body for `barnehagesoknader`, given the record ids of the child and the
    /// guardians (as [`person`]s `barn`, `foresatt1`, `foresatt2`) and the guardians' data.
    pub fn body(
        &self,
        barn_id: &str,
        foresatt1: (&str, &Person),
        foresatt2: Option<(&str, &Person)>,
    ) -> Map<String, Value> {
        let mut body = Map::new();
        put(&mut body, "barn_id", barn_id);
        put(&mut body, "foresatt1_id", foresatt1.0);
        put(&mut body, "foresatt1_telefon", &foresatt1.1.telefon);
        put(&mut body, "foresatt1_epost", &foresatt1.1.epost);
        if let Some((id, person)) = foresatt2 {
            put(&mut body, "foresatt2_id", id);
            put(&mut body, "foresatt2_telefon", &person.telefon);
            put(&mut body, "foresatt2_epost", &person.epost);
        }
        put(&mut body, "soknadsdato", &self.soknadsdato.to_string());
        put(&mut body, "onsket_barnehage", self.onsket_barnehage);
        put(
            &mut body,
            "onsket_oppstart",
            &self.onsket_oppstart.to_string(),
        );
        if let Some(vedtak) = self.vedtak {
            put(&mut body, "vedtak", vedtak);
        }
        body
    }
}

impl Case {
    /// The record body for `saker`, given the client's record id.
    pub fn body(&self, bruker_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        put(&mut body, "bruker_id", bruker_id);
        put(&mut body, "saksnummer", &self.saksnummer);
        put(&mut body, "tjeneste", self.tjeneste);
        if let Some(diagnose) = self.diagnose {
            put(&mut body, "diagnose", diagnose);
        }
        put(&mut body, "vurdering", &self.vurdering);
        put(&mut body, "vedtak", &self.vedtak);
        if let Some(avsluttet) = self.avsluttet {
            put(&mut body, "avsluttet", &avsluttet.to_string());
        }
        body
    }
}

/// Independent random streams, so that adding a field to one kind of record does not change
/// the others.
#[derive(Clone, Copy)]
enum Stream {
    Household = 1,
    Person = 2,
    Application = 3,
    Case = 4,
}

fn rng(seed: u64, stream: Stream, index: u64) -> StdRng {
    StdRng::seed_from_u64(splitmix(seed ^ splitmix(((stream as u64) << 56) ^ index)))
}

/// SplitMix64's finaliser: nearby inputs give unrelated outputs.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pick<T: Copy, R: Rng>(rng: &mut R, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn days_before(date: Date, days: i64) -> Date {
    // Within jiff's range for every age this module asks for.
    date.checked_sub(days.days()).unwrap_or(date)
}

fn put(body: &mut Map<String, Value>, field: &str, value: &str) {
    body.insert(field.to_owned(), Value::String(value.to_owned()));
}

/// `Bjørg Ødegård` → `bjorg`, `odegard`: e-mail local parts in plain ASCII.
fn ascii_fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'å' => out.push_str("aa"),
            'é' | 'è' => out.push('e'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}
