//! Record validation over the example catalog: a table of bodies with the exact problems
//! (path and code) they yield, messages that say what to fix without repeating values,
//! canonical and blind-index forms, lookups, redacted `Debug`, and properties over arbitrary
//! JSON.

use std::sync::LazyLock;

use datavern_core::catalog::{Catalog, Collection};
use datavern_core::id::{IdentifierKind, synth};
use datavern_core::record::{
    self, FieldValue, MAX_DECIMAL_DIGITS, Mode, ProblemCode, RecordProblems, ValidatedRecord,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

static EXAMPLE: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap()
});

fn collection(name: &str) -> &'static Collection {
    EXAMPLE.collection(name).unwrap()
}

const FNR: &str = "15108695088";
const CHILD: &str = "0190c2a4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
const GUARDIAN: &str = "0190c2a4-6f70-7b8c-8d0e-2f3a4b5c6d7e";

fn object(body: Value) -> Map<String, Value> {
    match body {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn validate(
    collection_name: &str,
    body: Value,
    mode: Mode,
) -> Result<ValidatedRecord, RecordProblems> {
    record::validate(collection(collection_name), &object(body), mode)
}

/// Validates `body` and compares the problems as `(path, code)` pairs, in order.
#[track_caller]
fn check(collection_name: &str, body: Value, mode: Mode, expected: &[(&str, &str)]) {
    let actual: Vec<(String, &str)> = match validate(collection_name, body.clone(), mode) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| (p.path.clone(), p.code.as_str()))
            .collect(),
    };
    let expected: Vec<(String, &str)> = expected
        .iter()
        .map(|(path, code)| ((*path).to_owned(), *code))
        .collect();
    assert_eq!(actual, expected, "{collection_name} {mode:?} {body}");
}

/// A complete valid citizen.
fn citizen() -> Value {
    json!({
        "fodselsnummer": FNR,
        "fornavn": "Kari",
        "etternavn": "Nordmann",
        "fodselsdato": "1986-10-15",
        "adresse": "Kong Oscars gate 1",
        "postnummer": "5017",
        "telefon": "+47 912 34 567",
        "epost": "Kari.Nordmann@Example.no",
    })
}

/// A valid application.
fn application() -> Value {
    json!({
        "barn_id": CHILD,
        "foresatt1_id": GUARDIAN,
        "soknadsdato": "2024-02-29",
        "onsket_barnehage": "Solstrålen barnehage",
        "onsket_oppstart": "2024-08-15",
        "foresatt1_telefon": "91234567",
        "foresatt1_epost": "ola@example.no",
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    for (key, value) in object(changes) {
        base[key] = value;
    }
    base
}

/// A collection, a body, a mode and the expected `(path, code)` problems.
type Case = (&'static str, Value, Mode, Vec<(&'static str, &'static str)>);

#[test]
fn bodies_yield_exactly_the_expected_problems() {
    use Mode::{Create, Patch};
    let cases: Vec<Case> = vec![
        // 1. A complete citizen is valid; so is the minimum.
        ("innbyggere", citizen(), Create, vec![]),
        (
            "innbyggere",
            json!({"fodselsnummer": "151086 95088", "fornavn": "Kari", "etternavn": "Nordmann"}),
            Create,
            vec![],
        ),
        // 2. An empty create misses every required field, in catalog order.
        (
            "innbyggere",
            json!({}),
            Create,
            vec![
                ("/fodselsnummer", "missing_field"),
                ("/fornavn", "missing_field"),
                ("/etternavn", "missing_field"),
            ],
        ),
        // 3. An empty patch changes nothing, and is valid.
        ("innbyggere", json!({}), Patch, vec![]),
        // 4. Check digit.
        (
            "innbyggere",
            with(citizen(), json!({"fodselsnummer": "15108695077"})),
            Create,
            vec![("/fodselsnummer", "invalid_identifier")],
        ),
        // 5. Checksum right, date wrong.
        (
            "innbyggere",
            json!({"fodselsnummer": "19575770838"}),
            Patch,
            vec![("/fodselsnummer", "invalid_identifier")],
        ),
        // 6. A national id as a JSON number.
        (
            "innbyggere",
            json!({"fodselsnummer": 15108695088_u64}),
            Patch,
            vec![("/fodselsnummer", "wrong_type")],
        ),
        // 7. Unknown and reserved names, in body order (serde_json sorts keys).
        (
            "innbyggere",
            with(
                citizen(),
                json!({"_meta": 1, "created_at": "x", "fornavm": "Kari", "id": 7}),
            ),
            Create,
            vec![
                ("", "reserved_field"),
                ("", "reserved_field"),
                ("", "unknown_field"),
                ("", "reserved_field"),
            ],
        ),
        // 8. A required field cannot be cleared; an optional one can.
        (
            "innbyggere",
            json!({"etternavn": null, "adresse": null}),
            Patch,
            vec![("/etternavn", "null_not_allowed")],
        ),
        (
            "innbyggere",
            json!({"adresse": null, "telefon": null}),
            Patch,
            vec![],
        ),
        // 9. Dates: a day that does not exist, a Norwegian-style date, a timestamp.
        (
            "innbyggere",
            json!({"fodselsdato": "1986-02-30"}),
            Patch,
            vec![("/fodselsdato", "invalid_date")],
        ),
        (
            "innbyggere",
            json!({"fodselsdato": "15.10.1986"}),
            Patch,
            vec![("/fodselsdato", "invalid_date")],
        ),
        // 10. Identifiers other than fnr.
        (
            "innbyggere",
            json!({"telefon": "12345678", "epost": "kari@", "postnummer": "0000"}),
            Patch,
            vec![
                ("/postnummer", "invalid_identifier"),
                ("/telefon", "invalid_identifier"),
                ("/epost", "invalid_identifier"),
            ],
        ),
        // 11. Many problems at once: all reported, unknown names first, then catalog order.
        (
            "innbyggere",
            json!({
                "fodselsnummer": "15108695077",
                "fornavn": 42,
                "epost": ["kari@example.no"],
                "fodselsdato": true,
                "alder": 37,
            }),
            Create,
            vec![
                ("", "unknown_field"),
                ("/fodselsnummer", "invalid_identifier"),
                ("/fornavn", "wrong_type"),
                ("/etternavn", "missing_field"),
                ("/fodselsdato", "wrong_type"),
                ("/epost", "wrong_type"),
            ],
        ),
        // 12. A valid application, with the optional second guardian cleared.
        ("barnehagesoknader", application(), Create, vec![]),
        (
            "barnehagesoknader",
            with(
                application(),
                json!({"foresatt2_id": null, "foresatt2_epost": null}),
            ),
            Create,
            vec![],
        ),
        // 13. Subject references must be record ids.
        (
            "barnehagesoknader",
            with(application(), json!({"barn_id": FNR, "foresatt1_id": 17})),
            Create,
            vec![
                ("/barn_id", "invalid_reference"),
                ("/foresatt1_id", "wrong_type"),
            ],
        ),
        (
            "barnehagesoknader",
            json!({"foresatt2_id": "0190c2a45e6f7a8b9c0d1e2f3a4b5c6d"}),
            Patch,
            vec![("/foresatt2_id", "invalid_reference")],
        ),
        // 14. Missing references and dates on create; a primary subject cannot be cleared.
        (
            "barnehagesoknader",
            json!({"onsket_barnehage": "Solstrålen"}),
            Create,
            vec![
                ("/barn_id", "missing_field"),
                ("/foresatt1_id", "missing_field"),
                ("/soknadsdato", "missing_field"),
            ],
        ),
        (
            "barnehagesoknader",
            json!({"barn_id": null}),
            Patch,
            vec![("/barn_id", "null_not_allowed")],
        ),
        // 15. A timestamp where a date belongs; a date written as a number.
        (
            "barnehagesoknader",
            json!({"soknadsdato": "2024-08-15T00:00:00Z", "onsket_oppstart": 20240815}),
            Patch,
            vec![
                ("/soknadsdato", "invalid_date"),
                ("/onsket_oppstart", "wrong_type"),
            ],
        ),
        // 16. Guardians' contact identifiers, and a misspelt guardian field.
        (
            "barnehagesoknader",
            json!({"foresatt1_telefon": "+46 70 123 45 67", "foresatt2_epost": "ola@@example.no", "foresat2_telefon": "91234567"}),
            Patch,
            vec![
                ("", "unknown_field"),
                ("/foresatt1_telefon", "invalid_identifier"),
                ("/foresatt2_epost", "invalid_identifier"),
            ],
        ),
        // 17. Decimals: a comma, too many digits, a boolean; a string and a number are fine.
        (
            "ansatte",
            json!({"lonn": "612 000,50"}),
            Patch,
            vec![("/lonn", "invalid_decimal")],
        ),
        (
            "ansatte",
            json!({"lonn": "9".repeat(MAX_DECIMAL_DIGITS + 1)}),
            Patch,
            vec![("/lonn", "out_of_range")],
        ),
        (
            "ansatte",
            json!({"lonn": true}),
            Patch,
            vec![("/lonn", "wrong_type")],
        ),
        ("ansatte", json!({"lonn": 612000.5}), Patch, vec![]),
        ("ansatte", json!({"lonn": "612000.50"}), Patch, vec![]),
        // 18. JSON fields take anything; names needing escapes in the pointer.
        (
            "nyhetsbrev",
            json!({"emner": {"kultur": true, "tema": [1, "x"]}}),
            Patch,
            vec![],
        ),
        (
            "nyhetsbrev",
            json!({"a/b": 1, "c~d": 2}),
            Patch,
            vec![("", "unknown_field"), ("", "unknown_field")],
        ),
    ];
    assert!(cases.len() >= 15);
    for (collection_name, body, mode, expected) in cases {
        check(collection_name, body, mode, &expected);
    }
}

#[test]
fn messages_say_what_to_fix() {
    let problems = validate(
        "innbyggere",
        json!({
            "fodselsnummer": 15108695088_u64,
            "fornavm": "Kari",
            "fodselsdato": "1986-13-01",
            "epost": "kari@localhost",
            "id": "x",
            "_rev": 3,
        }),
        Mode::Create,
    )
    .unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            ": member 1 of the body (counting members in name order) has a reserved name: \
             names starting with `_` are reserved for datavern; remove it from the body",
            ": member 5 of the body (counting members in name order) is not a field of \
             collection `innbyggere`; did you mean `fornavn`?",
            ": member 6 of the body (counting members in name order) has a reserved name: \
             datavern assigns record ids (the id is in the URL and the response); remove it \
             from the body",
            "/fodselsnummer: expected a string, got an integer; send identifiers as strings (as \
             numbers they lose leading zeros)",
            "/fornavn: `fornavn` is required: give it a value",
            "/etternavn: `etternavn` is required: give it a value",
            "/fodselsdato: not a valid date: the month must be 01–12",
            "/epost: not a valid e-mail address: the domain needs at least two labels",
        ]
    );

    let message = |collection_name: &str, body: Value| {
        validate(collection_name, body, Mode::Patch)
            .unwrap_err()
            .as_slice()[0]
            .message
            .clone()
    };
    assert_eq!(
        message("innbyggere", json!({"fodselsnummer": "15108695077"})),
        "not a valid fødselsnummer: first check digit does not match"
    );
    assert_eq!(
        message("innbyggere", json!({"fodselsnummer": "19575770838"})),
        "not a valid fødselsnummer: not a valid date: month 57"
    );
    assert_eq!(
        message("innbyggere", json!({"fodselsnr": "x"})),
        "member 1 of the body (counting members in name order) is not a field of collection \
         `innbyggere`; did you mean `fodselsnummer`?"
    );
    assert_eq!(
        message("innbyggere", json!({"kjonn": "x"})),
        "member 1 of the body (counting members in name order) is not a field of collection \
         `innbyggere`; its fields are `fodselsnummer`, \
         `fornavn`, `etternavn`, `fodselsdato`, `adresse`, `postnummer`, `telefon`, `epost`"
    );
    assert_eq!(
        message("barnehagesoknader", json!({"barn_id": "barn-1"})),
        "not a record id: expected the id of a record in `innbyggere`, a UUID written as \
         8-4-4-4-12 hexadecimal digits"
    );
    assert_eq!(
        message("ansatte", json!({"lonn": "612000,50"})),
        "not a decimal number: write the decimal point as \".\" and no thousands separators, \
         e.g. \"1234.50\""
    );
    assert_eq!(
        message("ansatte", json!({"lonn": [1]})),
        "expected a decimal number (a JSON number, or a string such as \"1234.50\"), got an \
         array"
    );
    assert_eq!(
        message("ansatte", json!({"sluttdato": "2024-06-31"})),
        "not a valid date: that month has no such day (YYYY-MM-DD, e.g. 2024-02-29)"
    );
    assert_eq!(
        message("nyhetsbrev", json!({"epost": null})),
        "`epost` is required and cannot be null: give it a value"
    );
}

#[test]
fn messages_never_repeat_the_value() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..200 {
        let valid = synth::any_fodselsnummer(&mut rng);
        let near_miss = synth::with_one_digit_changed(&mut rng, &valid);
        let body = json!({"fodselsnummer": near_miss, "fornavn": 1, "fodselsdato": near_miss});
        if let Err(problems) = validate("innbyggere", body, Mode::Patch) {
            let text = problems.to_string();
            assert!(!text.contains(&near_miss), "{text}");
            assert!(!text.contains(&valid[..6]), "{text}");
        }
    }
}

#[test]
fn values_are_typed_and_canonical() {
    let record = validate("innbyggere", citizen(), Mode::Create).unwrap();
    let canonical = |field: &str| record.get(field).and_then(FieldValue::canonical);
    assert_eq!(canonical("fodselsnummer").as_deref(), Some(FNR));
    assert_eq!(canonical("telefon").as_deref(), Some("+4791234567"));
    // The stored address keeps its case; the blind index does not (below).
    assert_eq!(
        canonical("epost").as_deref(),
        Some("Kari.Nordmann@Example.no")
    );
    assert_eq!(
        record.get("fodselsdato"),
        Some(&FieldValue::Date(jiff::civil::date(1986, 10, 15)))
    );
    let names: Vec<&str> = record.field_names().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "fodselsnummer",
            "fornavn",
            "etternavn",
            "fodselsdato",
            "adresse",
            "postnummer",
            "telefon",
            "epost"
        ],
        "catalog order"
    );
    assert_eq!(record.mode(), Mode::Create);
    assert!(record.subjects().is_empty());

    let upper = CHILD.to_uppercase();
    let record = validate(
        "barnehagesoknader",
        with(
            application(),
            json!({"barn_id": upper, "foresatt2_id": null}),
        ),
        Mode::Create,
    )
    .unwrap();
    assert_eq!(
        record.get("barn_id"),
        Some(&FieldValue::String(CHILD.to_owned()))
    );
    assert_eq!(record.get("foresatt2_id"), Some(&FieldValue::Null));
    assert_eq!(
        record.primary_subject().map(|id| id.to_string()).as_deref(),
        Some(CHILD)
    );
    let subjects: Vec<(&str, String, bool)> = record
        .subjects()
        .iter()
        .map(|s| (s.subject.as_str(), s.record_id.to_string(), s.primary))
        .collect();
    assert_eq!(
        subjects,
        [
            ("barn", CHILD.to_owned(), true),
            ("foresatt1", GUARDIAN.to_owned(), false)
        ]
    );
    assert_eq!(
        record
            .get("foresatt1_telefon")
            .and_then(FieldValue::canonical)
            .as_deref(),
        Some("+4791234567")
    );

    for (input, expected) in [
        (json!(612000.5), "612000.5"),
        (json!("612000.50"), "612000.5"),
        (json!(1e20), "100000000000000000000"),
        (json!("-0.00"), "0"),
        (json!(42), "42"),
        (
            json!("123456789012345678901234567890.000000000000000000000000000001"),
            "123456789012345678901234567890.000000000000000000000000000001",
        ),
    ] {
        let record = validate("ansatte", json!({"lonn": input}), Mode::Patch).unwrap();
        assert_eq!(
            record.get("lonn"),
            Some(&FieldValue::Decimal(expected.to_owned())),
            "{input}"
        );
    }

    let record = validate(
        "nyhetsbrev",
        json!({"emner": {"b": 1, "a": [true]}}),
        Mode::Patch,
    )
    .unwrap();
    assert_eq!(
        record
            .get("emner")
            .and_then(FieldValue::canonical)
            .as_deref(),
        Some(r#"{"a":[true],"b":1}"#)
    );
    assert_eq!(FieldValue::Null.canonical(), None);
    assert_eq!(FieldValue::Integer(-3).canonical().as_deref(), Some("-3"));
    assert_eq!(
        FieldValue::Boolean(true).canonical().as_deref(),
        Some("true")
    );
    let instant: jiff::Timestamp = "2024-08-15T11:30:00+02:00".parse().unwrap();
    assert_eq!(
        FieldValue::Timestamp(instant).canonical().as_deref(),
        Some("2024-08-15T09:30:00Z")
    );
}

#[test]
fn blind_index_forms_and_lookups_meet() {
    let innbyggere = collection("innbyggere");
    let record = validate("innbyggere", citizen(), Mode::Create).unwrap();
    let index = |field: &str| {
        record
            .get(field)
            .unwrap()
            .index_form(innbyggere.field(field).unwrap())
            .unwrap()
    };
    assert_eq!(index("epost"), "kari.nordmann@example.no");
    assert_eq!(index("fodselsnummer"), FNR);
    assert_eq!(index("telefon"), "+4791234567");

    for (field, lookup) in [
        ("fodselsnummer", "151086 95088"),
        ("fodselsnummer", " 15108695088 "),
        ("epost", "KARI.NORDMANN@EXAMPLE.NO"),
        ("epost", "kari.nordmann@example.no"),
        ("telefon", "91234567"),
        ("telefon", "0047 91 23 45 67"),
    ] {
        assert_eq!(
            record::normalize_lookup(innbyggere, field, lookup).unwrap(),
            index(field),
            "{lookup}"
        );
    }

    let problem = record::normalize_lookup(innbyggere, "fodselsnummer", "15108695077").unwrap_err();
    assert_eq!(
        (problem.path.as_str(), problem.code),
        ("/fodselsnummer", ProblemCode::InvalidIdentifier)
    );
    assert!(!problem.message.contains("15108695077"));
    let problem = record::normalize_lookup(innbyggere, "fodselsnr", FNR).unwrap_err();
    assert_eq!(problem.code, ProblemCode::UnknownField);
    let problem =
        record::normalize_lookup(collection("nyhetsbrev"), "emner", "kultur").unwrap_err();
    assert_eq!(problem.code, ProblemCode::NotSearchableByValue);

    let soknader = collection("barnehagesoknader");
    assert_eq!(
        record::normalize_lookup(soknader, "barn_id", &CHILD.to_uppercase()).unwrap(),
        CHILD
    );
    assert_eq!(
        record::normalize_lookup(soknader, "soknadsdato", "2024-02-29").unwrap(),
        "2024-02-29"
    );
    assert_eq!(
        record::normalize_lookup(soknader, "soknadsdato", "2024-02-30")
            .unwrap_err()
            .code,
        ProblemCode::InvalidDate
    );
    let ansatte = collection("ansatte");
    assert_eq!(
        record::normalize_lookup(ansatte, "lonn", "612000.50").unwrap(),
        "612000.5"
    );
    assert_eq!(
        record::normalize_lookup(ansatte, "kontonummer", "8601.11.17947").unwrap(),
        "86011117947"
    );
}

#[test]
fn debug_of_a_record_shows_names_and_types_never_values() {
    let record = validate("innbyggere", citizen(), Mode::Create).unwrap();
    let debug = format!("{record:?}");
    assert_eq!(
        debug,
        "ValidatedRecord { mode: Create, fodselsnummer: string, fornavn: string, etternavn: \
         string, fodselsdato: date, adresse: string, postnummer: string, telefon: string, \
         epost: string }"
    );
    assert!(!debug.chars().any(|c| c.is_ascii_digit()), "{debug}");
    let pretty = format!("{record:#?}");
    assert!(!pretty.chars().any(|c| c.is_ascii_digit()), "{pretty}");
    for (_, value) in record.iter() {
        let debug = format!("{value:?}");
        assert!(!debug.chars().any(|c| c.is_ascii_digit()), "{debug}");
        assert!(!debug.contains("Kari"), "{debug}");
    }
    assert_eq!(
        format!("{:?}", FieldValue::Integer(15108695088)),
        "Integer(<redacted>)"
    );
}

/// The types the example catalog does not use: integer, boolean, timestamp.
const MEASUREMENTS_YAML: &str = r#"version: 1
deployment:
  tenants: [{ kommunenummer: "4601", name: Bergen kommune }]
  accreditation: ÅPEN
  storage: [{ name: primary, kind: database, location: "no" }]
purposes:
  - { id: drift, description: Drift, lawful_basis: 6(1)(e), legal_reference: kommuneloven § 1-1 }
collections:
  - name: maalinger
    description: Målinger
    classification: ÅPEN
    subjects: none
    purposes: [drift]
    fields:
      - { name: antall, type: integer, required: true, category: system.operations }
      - { name: aktiv, type: boolean, category: system.operations }
      - { name: malt, type: timestamp, category: system.operations }
      - { name: notat, type: text, category: system.operations }
"#;

static MEASUREMENTS: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::from_yaml(MEASUREMENTS_YAML).unwrap());

#[test]
fn integers_booleans_and_timestamps() {
    let maalinger = MEASUREMENTS.collection("maalinger").unwrap();
    let validate = |body: Value| record::validate(maalinger, &object(body), Mode::Patch);
    let problem = |body: Value| {
        let problems = validate(body).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems}");
        let problem = &problems.as_slice()[0];
        (problem.code.as_str(), problem.message.clone())
    };

    for n in [i64::MIN, -1, 0, i64::MAX] {
        assert_eq!(
            validate(json!({ "antall": n })).unwrap().get("antall"),
            Some(&FieldValue::Integer(n))
        );
    }
    let out_of_range = (
        "out_of_range",
        "the integer is out of range: integers are 64-bit, from -9223372036854775808 to \
         9223372036854775807; use a decimal field for larger numbers"
            .to_owned(),
    );
    assert_eq!(problem(json!({ "antall": u64::MAX })), out_of_range);
    assert_eq!(problem(json!({ "antall": 1e19 })), out_of_range);
    let fraction = (
        "wrong_type",
        "expected an integer, got a number with a fraction or exponent".to_owned(),
    );
    assert_eq!(problem(json!({ "antall": 1.5 })), fraction);
    // Within range, but written as a float.
    assert_eq!(problem(json!({ "antall": 9.1e18 })), fraction);
    assert_eq!(
        problem(json!({ "antall": "42" })),
        (
            "wrong_type",
            "expected an integer, got a string; send the number without quotes".to_owned()
        )
    );
    assert_eq!(
        problem(json!({ "aktiv": "true" })),
        (
            "wrong_type",
            "expected true or false, got a string; send true or false without quotes".to_owned()
        )
    );
    assert_eq!(
        validate(json!({ "aktiv": false })).unwrap().get("aktiv"),
        Some(&FieldValue::Boolean(false))
    );
    assert_eq!(
        problem(json!({ "malt": "2024-08-15T09:30:00" })),
        (
            "invalid_timestamp",
            "the timestamp has no UTC offset: add Z (UTC) or the offset, e.g. +02:00".to_owned()
        )
    );
    assert_eq!(problem(json!({ "malt": 1723714200 })).0, "wrong_type");
    let record = validate(json!({ "malt": "2024-08-15T11:30:00.250+02:00" })).unwrap();
    assert_eq!(
        record
            .get("malt")
            .and_then(FieldValue::canonical)
            .as_deref(),
        Some("2024-08-15T09:30:00.25Z")
    );
    assert_eq!(
        validate(json!({ "notat": "" })).unwrap().get("notat"),
        Some(&FieldValue::String(String::new()))
    );
    assert_eq!(problem(json!({ "notat": {"a": 1} })).0, "wrong_type");

    // Lookups read text the way bodies read JSON.
    for (text, expected) in [("42", "42"), ("-7", "-7"), ("007", "7")] {
        assert_eq!(
            record::normalize_lookup(maalinger, "antall", text).unwrap(),
            expected
        );
    }
    for (text, code) in [
        ("4x", ProblemCode::WrongType),
        ("+4", ProblemCode::WrongType),
        ("", ProblemCode::WrongType),
        ("99999999999999999999", ProblemCode::OutOfRange),
    ] {
        assert_eq!(
            record::normalize_lookup(maalinger, "antall", text)
                .unwrap_err()
                .code,
            code,
            "{text:?}"
        );
    }
    assert_eq!(
        record::normalize_lookup(maalinger, "aktiv", "true").unwrap(),
        "true"
    );
    assert_eq!(
        record::normalize_lookup(maalinger, "aktiv", "ja")
            .unwrap_err()
            .code,
        ProblemCode::WrongType
    );
    assert_eq!(
        record::normalize_lookup(maalinger, "malt", "2024-08-15T11:30:00+02:00").unwrap(),
        "2024-08-15T09:30:00Z"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "[0-9 .,eE+-]{0,24}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
            .prop_map(Value::String),
        "[0-9a-fA-F-]{30,40}".prop_map(Value::String),
        Just(Value::String(FNR.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value that fits `field` of `collection` most of the time (valid identifiers, record ids,
/// dates, timestamps, decimals in all their spellings), so that valid bodies are common.
fn fitting_value(
    collection: &Collection,
    field: &datavern_core::catalog::Field,
) -> BoxedStrategy<Value> {
    use datavern_core::catalog::{DataSubjects, FieldType};
    let is_reference = matches!(
        collection.subjects(),
        DataSubjects::References(refs) if refs.iter().any(|r| r.field() == field.name())
    );
    if is_reference {
        return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            .prop_map(Value::String)
            .boxed();
    }
    if let Some(kind) = field.identifier() {
        return any::<u64>()
            .prop_map(move |seed| {
                Value::String(synth::valid(&mut StdRng::seed_from_u64(seed), kind))
            })
            .boxed();
    }
    match field.field_type() {
        FieldType::String | FieldType::Text => ".{0,20}".prop_map(Value::String).boxed(),
        FieldType::Integer => any::<i64>().prop_map(Value::from).boxed(),
        FieldType::Decimal => prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-1.0e12..1.0e12f64).prop_map(Value::from),
            "[+-]?[0-9]{1,30}(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,2})?".prop_map(Value::String),
        ]
        .boxed(),
        FieldType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        FieldType::Date => (0u16..=9999, 1u8..=12, 1u8..=28)
            .prop_map(|(y, m, d)| Value::String(format!("{y:04}-{m:02}-{d:02}")))
            .boxed(),
        FieldType::Timestamp => (
            (1u16..=9998, 1u8..=12, 1u8..=28),
            (0u8..24, 0u8..60, 0u8..60),
            "(\\.[0-9]{1,9})?",
            "[Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9]",
        )
            .prop_map(|((y, mo, d), (h, mi, s), fraction, offset)| {
                Value::String(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}"
                ))
            })
            .boxed(),
        FieldType::Json => arbitrary_json().boxed(),
    }
}

/// A body for one of the example's collections: each field absent, null, a fitting value or
/// arbitrary JSON, plus now and then a name that is no field.
fn arbitrary_body() -> impl Strategy<Value = (usize, Map<String, Value>, bool)> {
    (0..EXAMPLE.collections().len(), any::<bool>()).prop_flat_map(|(index, create)| {
        let collection = &EXAMPLE.collections()[index];
        let fields: Vec<_> = collection
            .fields()
            .iter()
            .map(|field| {
                let name = field.name().to_string();
                prop_oneof![
                    3 => Just(None),
                    1 => Just(Some(Value::Null)),
                    6 => fitting_value(collection, field).prop_map(Some),
                    1 => arbitrary_json().prop_map(Some),
                ]
                .prop_map(move |value| value.map(|v| (name.clone(), v)))
            })
            .collect();
        let extra_key = prop_oneof![
            prop::sample::select(vec!["id", "_x", "dv_hash", "", "a/b~", "fodselsnr"])
                .prop_map(String::from),
            ".{0,12}",
        ];
        let extras = prop::collection::vec((extra_key, arbitrary_json()), 0..2);
        (fields, extras).prop_map(move |(fields, extras)| {
            let mut body: Map<String, Value> = fields.into_iter().flatten().collect();
            for (key, value) in extras {
                body.insert(key, value);
            }
            (index, body, create)
        })
    })
}

/// A validated value back as JSON, as a client would send it.
fn to_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Integer(i) => json!(i),
        FieldValue::Boolean(b) => json!(b),
        FieldValue::Json(v) => v.clone(),
        FieldValue::Null => Value::Null,
        other => Value::String(other.canonical().unwrap()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validate_never_panics_and_canonical_values_validate_to_themselves(
        (index, body, create) in arbitrary_body()
    ) {
        let collection = &EXAMPLE.collections()[index];
        let mode = if create { Mode::Create } else { Mode::Patch };
        match record::validate(collection, &body, mode) {
            Ok(record) => {
                // Every value came from the body, and the canonical form is a fixed point.
                let again: Map<String, Value> =
                    record.iter().map(|(name, value)| (name.to_string(), to_json(value))).collect();
                prop_assert_eq!(again.len(), body.len());
                let revalidated = record::validate(collection, &again, mode);
                prop_assert_eq!(revalidated.as_ref().ok(), Some(&record));
                let debug = format!("{record:?}");
                for value in body.values() {
                    if let Value::String(s) = value && s.len() >= 4 {
                        prop_assert!(!debug.contains(s.as_str()));
                    }
                }
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for problem in &problems {
                    // A member that is not a field is reported at the body (`""`): its name
                    // is the caller's input and is never repeated.
                    prop_assert!(problem.path.is_empty() || problem.path.starts_with('/'));
                    prop_assert!(!problem.message.is_empty());
                    for name in body.keys() {
                        let quoted = format!("`{name}`");
                        let repeated = problem.message.contains(&quoted);
                        if collection.field(name).is_none() && name.len() >= 3 {
                            prop_assert!(!repeated);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lookups_never_panic(text in ".{0,40}", field in 0usize..8) {
        for collection in EXAMPLE.collections() {
            let field = &collection.fields()[field % collection.fields().len()];
            let _ = record::normalize_lookup(collection, field.name().as_str(), &text);
        }
    }

    #[test]
    fn integers_are_exact_decimals(n in any::<i64>()) {
        let record = record::validate(collection("ansatte"), &object(json!({"lonn": n})), Mode::Patch).unwrap();
        prop_assert_eq!(record.get("lonn"), Some(&FieldValue::Decimal(n.to_string())));
    }

    #[test]
    fn generated_identifiers_validate_and_normalise_like_their_lookup(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let innbyggere = collection("innbyggere");
        for (field, kind) in [
            ("fodselsnummer", IdentifierKind::Fnr),
            ("telefon", IdentifierKind::Phone),
            ("epost", IdentifierKind::Email),
            ("postnummer", IdentifierKind::Postnummer),
        ] {
            let value = synth::valid(&mut rng, kind);
            let record = record::validate(innbyggere, &object(json!({ field: value })), Mode::Patch).unwrap();
            let indexed = record.get(field).unwrap().index_form(innbyggere.field(field).unwrap());
            prop_assert_eq!(indexed, record::normalize_lookup(innbyggere, field, &value).ok());
        }
    }
}

/// The example catalog with `telefon` renamed `mobil` and `epost` renamed `e_post`.
static RENAMED: LazyLock<Catalog> = LazyLock::new(|| {
    let yaml = include_str!("../../../../examples/kommune.yaml")
        .replacen(
            "      - name: telefon\n",
            "      - name: mobil\n        renamed_from: telefon\n",
            1,
        )
        .replacen(
            "      - name: epost\n",
            "      - name: e_post\n        renamed_from: epost\n",
            1,
        );
    Catalog::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"))
});

#[test]
fn renamed_field_is_accepted_under_its_old_name() {
    let innbyggere = RENAMED.collection("innbyggere").unwrap();
    let record = record::validate(innbyggere, &object(citizen()), Mode::Create)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        record
            .get("mobil")
            .and_then(FieldValue::canonical)
            .as_deref(),
        Some("+4791234567")
    );
    assert_eq!(record.get("telefon"), None, "values carry the new name");
    assert!(record.get("e_post").is_some());

    // A patch under the old name clears the renamed field.
    let patch = record::validate(innbyggere, &object(json!({"telefon": null})), Mode::Patch)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patch.get("mobil"), Some(&FieldValue::Null));

    // Problems point at the member the body gave.
    let problems =
        record::validate(innbyggere, &object(json!({"telefon": "12"})), Mode::Patch).unwrap_err();
    let problems: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.path.as_str(), p.code.as_str()))
        .collect();
    assert_eq!(problems, [("/telefon", "invalid_identifier")]);
}

#[test]
fn body_giving_both_names_of_a_renamed_field_is_a_problem() {
    let innbyggere = RENAMED.collection("innbyggere").unwrap();
    for mode in [Mode::Create, Mode::Patch] {
        let body = with(citizen(), json!({"mobil": "+47 912 34 567"}));
        let problems = record::validate(innbyggere, &object(body), mode).unwrap_err();
        let problems: Vec<&record::Problem> = problems.iter().collect();
        assert_eq!(problems.len(), 1, "{mode:?}: {problems:?}");
        assert_eq!(problems[0].path, "/telefon");
        assert_eq!(problems[0].code, ProblemCode::RenamedField);
        assert!(
            problems[0].message.contains("keep `mobil`")
                && problems[0].message.contains("remove `telefon`"),
            "{}",
            problems[0].message
        );
        assert!(!problems[0].message.contains("912"), "no value repeated");
    }
    // Without the rename, the old name is no field at all.
    let plain = collection("innbyggere");
    let problems =
        record::validate(plain, &object(json!({"mobil": "+4791234567"})), Mode::Patch).unwrap_err();
    assert_eq!(problems.as_slice()[0].code, ProblemCode::UnknownField);
}

#[test]
fn renamed_searchable_field_is_looked_up_under_either_name() {
    use datavern_core::access::{self, AccessRequest, Principal, PrincipalId};
    use datavern_core::catalog::Kommunenummer;
    use datavern_core::classification::Classification;

    let innbyggere = RENAMED.collection("innbyggere").unwrap();
    let tenant = Kommunenummer::parse("4601").unwrap();
    let principal = Principal::new(
        PrincipalId::parse("saksbehandler").unwrap(),
        tenant,
        Classification::Begrenset,
    )
    .with_purposes(RENAMED.purposes().iter().map(|p| p.id().clone()));
    for name in ["epost", "e_post"] {
        let grant = access::decide(
            &RENAMED,
            &principal,
            &AccessRequest::lookup("innbyggere", tenant, name)
                .with_purpose(Some("innbyggerregister")),
        )
        .unwrap_or_else(|denial| panic!("{name}: {denial}"));
        assert_eq!(
            grant.lookup_field().map(|f| f.as_str()),
            Some("e_post"),
            "{name}"
        );
        assert_eq!(
            record::normalize_lookup(innbyggere, name, "KARI.NORDMANN@EXAMPLE.NO").unwrap(),
            "kari.nordmann@example.no"
        );
    }
}
