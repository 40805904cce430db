//! The synthetic persons both sides store: [`datavern_core::demo::person`] (Tenor
//! fødselsnumre, a pure function of seed and index) cut down to the bench catalog's fields,
//! as a governed record body and as a raw row. Index `i` is the same person on both sides, so
//! a lookup of person `i`'s fødselsnummer finds a record in either table.

use datavern_core::demo;
use datavern_sql::baseline::RawPerson;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The tenant every record belongs to (the bench catalog's only one).
pub const TENANT: &str = "4601";
/// The bench catalog's collection.
pub const COLLECTION: &str = "personer";
/// The purpose every request is made for.
pub const PURPOSE: &str = "folkeregister";
/// The searchable field lookups go by.
pub const LOOKUP_FIELD: &str = "fodselsnummer";

/// The bench catalog (YAML), embedded.
pub const CATALOG_YAML: &str = include_str!("catalog.yaml");

/// Person `index` of the data seeded with `seed`.
pub(crate) struct Person(demo::Person);

impl Person {
    pub(crate) fn new(seed: u64, index: u64) -> Self {
        Person(demo::person(seed, index))
    }

    pub(crate) fn fodselsnummer(&self) -> &str {
        &self.0.fodselsnummer
    }

    /// The governed record body: the bench collection's five fields.
    pub(crate) fn body(&self) -> Map<String, Value> {
        let person = &self.0;
        let mut body = Map::new();
        let mut put = |name: &str, value: &str| {
            body.insert(name.to_owned(), Value::String(value.to_owned()));
        };
        put("fodselsnummer", &person.fodselsnummer);
        put("fornavn", &person.fornavn);
        put("etternavn", &person.etternavn);
        put("fodselsdato", &person.fodselsdato.to_string());
        put("postnummer", person.postal.postnummer);
        body
    }

    /// The raw row, with its id.
    pub(crate) fn row(&self, id: Uuid) -> RawPerson {
        let person = &self.0;
        let date = person.fodselsdato;
        let fodselsdato = time::Month::try_from(u8::try_from(date.month()).unwrap_or(0))
            .ok()
            .and_then(|month| {
                time::Date::from_calendar_date(
                    i32::from(date.year()),
                    month,
                    u8::try_from(date.day()).unwrap_or(0),
                )
                .ok()
            });
        RawPerson {
            id,
            tenant: TENANT.to_owned(),
            fodselsnummer: person.fodselsnummer.clone(),
            fornavn: person.fornavn.clone(),
            etternavn: person.etternavn.clone(),
            fodselsdato,
            postnummer: Some(person.postal.postnummer.to_owned()),
        }
    }
}

/// A well-mixed 64-bit function (SplitMix64's finalizer): which record client `client` reads
/// in its `iteration`th operation, reproducibly for a seed, without a shared generator.
pub(crate) fn pick(seed: u64, client: usize, iteration: u64, records: u64) -> u64 {
    let mut z = seed
        .wrapping_add((client as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(iteration.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z % records.max(1)
}

#[cfg(test)]
mod tests {
    use datavern_core::catalog::Catalog;
    use datavern_core::record::{self, Mode};

    use super::*;

    #[test]
    fn bench_catalog_is_valid_and_a_body_validates_against_it() {
        let catalog = Catalog::from_yaml(CATALOG_YAML).unwrap_or_else(|e| panic!("{e}"));
        let collection = catalog.collection(COLLECTION).expect("collection");
        let person = Person::new(7, 12);
        let validated = record::validate(collection, &person.body(), Mode::Create);
        assert!(validated.is_ok());
    }

    #[test]
    fn body_and_row_are_the_same_person() {
        let person = Person::new(7, 12);
        let body = person.body();
        let row = person.row(Uuid::nil());
        assert_eq!(body["fodselsnummer"], row.fodselsnummer.as_str());
        assert_eq!(body["fornavn"], row.fornavn.as_str());
        assert_eq!(body["etternavn"], row.etternavn.as_str());
        let date = row.fodselsdato.expect("a birth date");
        assert_eq!(body["fodselsdato"], date.to_string().as_str());
        assert_eq!(
            body["postnummer"],
            row.postnummer.as_deref().unwrap_or_default()
        );
        assert_eq!(row.fodselsnummer.len(), 11);
        // Deterministic per (seed, index).
        assert_eq!(Person::new(7, 12).fodselsnummer(), person.fodselsnummer());
    }

    #[test]
    fn picks_stay_in_range_and_spread() {
        let picks: Vec<u64> = (0..1000).map(|i| pick(1, 3, i, 100)).collect();
        assert!(picks.iter().all(|&p| p < 100));
        let distinct: std::collections::BTreeSet<_> = picks.iter().collect();
        assert!(distinct.len() > 90, "{}", distinct.len());
        assert_eq!(pick(1, 3, 5, 100), pick(1, 3, 5, 100));
        assert_ne!(
            (0..10).map(|i| pick(1, 0, i, 1 << 40)).collect::<Vec<_>>(),
            (0..10).map(|i| pick(1, 1, i, 1 << 40)).collect::<Vec<_>>()
        );
    }
}
