//! Column classification from sampled values and the column name.

use datavern_core::id::IdentifierKind;
use datavern_core::id::synth;
use datavern_core::pii::{ColumnKind, classify_column, column_name_signal};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn values(count: usize, mut make: impl FnMut(&mut StdRng) -> String) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(42);
    (0..count).map(|_| make(&mut rng)).collect()
}

fn id(kind: IdentifierKind) -> Option<ColumnKind> {
    Some(ColumnKind::Identifier(kind))
}

#[test]
fn fnr_column_is_recognised_from_values_alone() {
    let samples = values(200, synth::any_fodselsnummer);
    let verdict = classify_column("c1", samples.iter().map(String::as_str));
    assert_eq!(verdict.kind, id(IdentifierKind::Fnr));
    assert_eq!(verdict.share_valid, 1.0);
    assert!(verdict.confidence > 0.9, "{verdict:?}");
    assert_eq!(verdict.sampled, 200);
}

#[test]
fn kontonr_column_is_not_mistaken_for_fnr() {
    let samples = values(200, synth::kontonummer);
    let verdict = classify_column("c2", samples.iter().map(String::as_str));
    assert_eq!(verdict.kind, id(IdentifierKind::Kontonr), "{verdict:?}");
    assert_eq!(verdict.share_valid, 1.0);
}

#[test]
fn kontonr_name_wins_over_date_like_values() {
    let samples = ["15108695088", "26111593816"];
    let verdict = classify_column("kontonummer", samples);
    assert_eq!(verdict.kind, id(IdentifierKind::Kontonr));
}

#[test]
fn name_and_values_agree_for_high_confidence() {
    let samples = values(100, synth::orgnr);
    let named = classify_column("org_nr", samples.iter().map(String::as_str));
    let unnamed = classify_column("x", samples.iter().map(String::as_str));
    assert_eq!(named.kind, id(IdentifierKind::Orgnr));
    assert!(named.confidence > unnamed.confidence);
}

#[test]
fn empty_and_null_values_are_skipped() {
    let verdict = classify_column(
        "epost",
        ["", "NULL", "  ", "ola@nav.no", "N/A", "kari@x.no"],
    );
    assert_eq!(verdict.kind, id(IdentifierKind::Email));
    assert_eq!((verdict.sampled, verdict.empty), (2, 4));
    let verdict = classify_column("notes", std::iter::empty::<&str>());
    assert_eq!(verdict.kind, None);
    assert_eq!(verdict.sampled, 0);
}

#[test]
fn a_named_column_whose_values_do_not_validate_keeps_a_weak_name_verdict() {
    let verdict = classify_column("fnr", ["a1b2c3", "d4e5f6"]);
    assert_eq!(verdict.kind, id(IdentifierKind::Fnr));
    assert!(verdict.confidence < 0.5);
    assert_eq!(verdict.share_valid, 0.0);
}

#[test]
fn identifiers_in_free_text_columns_are_found() {
    let samples = [
        "Ringte bruker, avtalt nytt møte",
        "Bruker oppga fnr 15108695088 ved oppmøte",
        "Ingen merknader til saken denne gang",
    ];
    let verdict = classify_column("merknad", samples);
    assert_eq!(verdict.kind, id(IdentifierKind::Fnr));
    assert!(verdict.in_free_text);
}

#[test]
fn spreadsheet_fnr_without_leading_zero_counts() {
    // 01010050053 with its leading zero lost.
    let verdict = classify_column("fnr", ["1010050053"]);
    assert_eq!(verdict.share_valid, 1.0, "{verdict:?}");
}

#[test]
fn column_names_are_read_in_norwegian_and_english() {
    let kind = |name: &str| column_name_signal(name).map(|e| e.kind);
    assert_eq!(kind("fnr"), id(IdentifierKind::Fnr));
    assert_eq!(kind("Fødselsnummer"), id(IdentifierKind::Fnr));
    assert_eq!(kind("kunde_fodselsnr"), id(IdentifierKind::Fnr));
    assert_eq!(kind("personnr"), id(IdentifierKind::Fnr));
    assert_eq!(kind("KontoNr"), id(IdentifierKind::Kontonr));
    assert_eq!(kind("bank_account_number"), id(IdentifierKind::Kontonr));
    assert_eq!(kind("e-post"), id(IdentifierKind::Email));
    assert_eq!(kind("EPOST"), id(IdentifierKind::Email));
    assert_eq!(kind("tlf"), id(IdentifierKind::Phone));
    assert_eq!(kind("mobilnummer"), id(IdentifierKind::Phone));
    assert_eq!(kind("org.nr"), id(IdentifierKind::Orgnr));
    assert_eq!(kind("postnr"), id(IdentifierKind::Postnummer));
    assert_eq!(kind("fornavn"), Some(ColumnKind::GivenName));
    assert_eq!(kind("Etternavn"), Some(ColumnKind::FamilyName));
    assert_eq!(kind("navn"), Some(ColumnKind::FullName));
    assert_eq!(kind("gateadresse"), Some(ColumnKind::Address));
    assert_eq!(kind("poststed"), Some(ColumnKind::PostalPlace));
    assert_eq!(kind("fødselsdato"), Some(ColumnKind::BirthDate));
    assert_eq!(kind("firma_navn"), None);
    assert_eq!(kind("brukernavn"), None);
    assert_eq!(kind("id"), None);
    assert_eq!(kind("beløp"), None);
}

#[test]
fn name_only_columns_are_classified_from_the_name() {
    let verdict = classify_column("etternavn", ["Hansen", "Ødegård"]);
    assert_eq!(verdict.kind, Some(ColumnKind::FamilyName));
    assert!(verdict.confidence > 0.5);
}
