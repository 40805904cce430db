//! Catalogs, tenants, subject ids and synthetic people.

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::id::synth;
use datavern_core::id::{ChecksumRule, FnrVariant};
use datavern_store::SubjectId;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// The example catalog of the repository (Bergen kommune, tenant 4601).
pub const KOMMUNE: &str = include_str!("../../../examples/kommune.yaml");

/// A valid catalog from `yaml`.
///
/// # Panics
///
/// If the catalog is invalid, with every problem.
pub fn catalog(yaml: &str) -> Catalog {
    Catalog::from_yaml(yaml).unwrap_or_else(|errors| panic!("test catalog is invalid:\n{errors}"))
}

/// The example catalog with Oslo (0301) as a second tenant.
pub fn kommune_two_tenants() -> String {
    KOMMUNE.replacen(
        "      name: Bergen kommune\n",
        "      name: Bergen kommune\n    - kommunenummer: \"0301\"\n      name: Oslo kommune\n",
        1,
    )
}

/// The tenant `number`.
///
/// # Panics
///
/// If `number` is not a kommunenummer.
pub fn tenant(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).unwrap_or_else(|_| panic!("not a kommunenummer: {number}"))
}

/// A new subject id.
pub fn subject() -> SubjectId {
    SubjectId::from_uuid(uuid::Uuid::now_v7())
}

/// A valid ordinary fødselsnummer (classic check digits) of someone born on day `n` (1–28)
/// of October 1986: the same number for the same `n`, a different one for another.
///
/// # Panics
///
/// If `n` is not a day of October.
pub fn fnr(n: u32) -> String {
    let day = i8::try_from(n).unwrap_or(0);
    let born = jiff::civil::Date::new(1986, 10, day)
        .unwrap_or_else(|_| panic!("day {n} of October 1986 is not a date"));
    let mut rng = StdRng::seed_from_u64(u64::from(n));
    synth::fodselsnummer_born_on(
        &mut rng,
        born,
        FnrVariant::Fodselsnummer,
        ChecksumRule::Classic,
    )
    .unwrap_or_else(|| panic!("no fødselsnummer for {born}"))
}

/// Resident `n` of the example catalog's `innbyggere`, with distinctive values (born on day
/// `n` of October 1986; see [`fnr`]).
pub fn resident(n: u32) -> Value {
    json!({
        "fodselsnummer": fnr(n),
        "fornavn": format!("Ingeborg{n}"),
        "etternavn": "Skjærvik-Fjellheim",
        "fodselsdato": format!("1986-10-{n:02}"),
        "adresse": "Lønborglien 77",
        "postnummer": "5039",
        "telefon": "+47 912 34 567",
        "epost": "Ingeborg.Skjaervik@example.no",
    })
}
