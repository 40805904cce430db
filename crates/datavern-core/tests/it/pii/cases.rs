//! Tricky cases for the detector, one behaviour per test.

use datavern_core::id::{ChecksumRule, FnrVariant, IdentifierKind, PhoneVariant};
use datavern_core::pii::{Detector, Finding, Variant};
use rand::SeedableRng;

use IdentifierKind::{Duf, Email, Fnr, Iban, Kontonr, Mva, Orgnr, Phone, Postnummer};

fn detect(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    Detector::new().detect(text, &mut findings);
    findings
}

/// Asserts the kinds and exact texts of the findings in `text`.
#[track_caller]
fn check(text: &str, expected: &[(IdentifierKind, &str)]) {
    let findings = detect(text);
    let got: Vec<(IdentifierKind, &str)> = findings
        .iter()
        .map(|f| (f.kind, f.text(text).unwrap()))
        .collect();
    assert_eq!(got, expected, "in {text:?}: {findings:?}");
}

fn fnr_variant(text: &str) -> Option<Variant> {
    let findings = detect(text);
    assert_eq!(findings.len(), 1, "{text:?}: {findings:?}");
    findings[0].variant
}

#[test]
fn bare_fodselsnummer_is_fnr_and_also_a_valid_kontonummer() {
    let findings = detect("15108695088");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, Fnr);
    assert_eq!(findings[0].also_valid_as, Some(Kontonr));
    assert_eq!(findings[0].range(), 0..11);
    check("Gjelder 26111593816.", &[(Fnr, "26111593816")]);
}

#[test]
fn account_context_turns_a_date_like_number_into_a_kontonummer() {
    check("Kontonummer: 15108695088", &[(Kontonr, "15108695088")]);
    check(
        "Utbetales til konto 15108695088.",
        &[(Kontonr, "15108695088")],
    );
    check("account number 15108695088", &[(Kontonr, "15108695088")]);
    check("15108695088 er kontoen hans", &[(Kontonr, "15108695088")]);
}

#[test]
fn national_id_context_keeps_fnr() {
    check("Fødselsnummer: 15108695088", &[(Fnr, "15108695088")]);
    check("FØDSELSNUMMER 15108695088", &[(Fnr, "15108695088")]);
    check("fnr. 15108695088", &[(Fnr, "15108695088")]);
    check("f.nr 15108695088", &[(Fnr, "15108695088")]);
    check("D-nummer 53097248016", &[(Fnr, "53097248016")]);
    check("personnummer: 15108695088", &[(Fnr, "15108695088")]);
}

#[test]
fn a_kontonummer_that_is_no_fodselsnummer_stays_a_kontonummer() {
    // 86011117947 passes K1 only as an FH-nummer under the 2032 rule: without context the
    // account reading wins.
    check("86011117947", &[(Kontonr, "86011117947")]);
    check("Betal til 86011117947", &[(Kontonr, "86011117947")]);
    // With a national-id label it is read as the FH-nummer it validates as.
    let findings = detect("FH-nummer 86011117947");
    assert_eq!(findings[0].kind, Fnr);
    assert_eq!(
        findings[0].variant,
        Some(Variant::Fnr {
            variant: FnrVariant::FhNummer,
            rule: ChecksumRule::Rule2032
        })
    );
}

#[test]
fn formatting_tells_fnr_from_kontonr() {
    check("151086 95088", &[(Fnr, "151086 95088")]);
    check("8601.11.17947", &[(Kontonr, "8601.11.17947")]);
    check("8601 11 17947", &[(Kontonr, "8601 11 17947")]);
    // A fødselsnummer-valid number printed like an account is an account.
    check("1510.86.95088", &[(Kontonr, "1510.86.95088")]);
}

#[test]
fn every_fnr_variant_is_labelled() {
    let variant = |text| match fnr_variant(text) {
        Some(Variant::Fnr { variant, .. }) => variant,
        other => panic!("{other:?}"),
    };
    assert_eq!(variant("fnr 15108695088"), FnrVariant::Fodselsnummer);
    assert_eq!(variant("fnr 53097248016"), FnrVariant::DNummer);
    assert_eq!(variant("fnr 13527248013"), FnrVariant::HNummer);
    assert_eq!(variant("fnr 10915596784"), FnrVariant::Tenor);
}

#[test]
fn invalid_numbers_are_not_reported() {
    check("fnr 15108695077", &[]);
    check("15108695077", &[]);
    check("org.nr. 988077918", &[]);
    // Check digits fine, date impossible: not a fødselsnummer, and the fnr label says it is
    // not an account either.
    check("fnr 19575770838", &[]);
    // Without context it is a valid kontonummer.
    check("19575770838", &[(Kontonr, "19575770838")]);
}

#[test]
fn other_numbers_are_not_identifiers() {
    check("Fakturanr 86011117947", &[]);
    check("KID 15108695088", &[]);
    check("Beløp kr 15108695088", &[]);
    check("Saksnummer 988077917", &[]);
    check("Møte 15.10.2024 kl. 14.30, sak 2024/01234", &[]);
    check("Frist 20240517", &[]);
    check("Det kom 1500 deltakere i 2024.", &[]);
}

#[test]
fn formatted_identifiers() {
    check("Ring +47 912 34 567", &[(Phone, "+47 912 34 567")]);
    check("+4791234567", &[(Phone, "+4791234567")]);
    check("0047 91234567", &[(Phone, "0047 91234567")]);
    check("tlf (+47) 22 33 44 55", &[(Phone, "(+47) 22 33 44 55")]);
    check("mobil 912 34 567", &[(Phone, "912 34 567")]);
    check("91234567", &[(Phone, "91234567")]);
    check("IBAN NO93 8601 1117 947", &[(Iban, "NO93 8601 1117 947")]);
    check("NO9386011117947", &[(Iban, "NO9386011117947")]);
    check("988 077 917", &[(Orgnr, "988 077 917")]);
    check("Org.nr.: 988077917", &[(Orgnr, "988077917")]);
    check("NO 988 077 917 MVA", &[(Mva, "NO 988 077 917 MVA")]);
    check("NO988077917MVA", &[(Mva, "NO988077917MVA")]);
}

#[test]
fn phone_variants_are_labelled() {
    let findings = detect("tlf 22 33 44 55");
    assert_eq!(
        findings[0].variant,
        Some(Variant::Phone(PhoneVariant::Landline))
    );
    let findings = detect("91234567");
    assert_eq!(
        findings[0].variant,
        Some(Variant::Phone(PhoneVariant::Mobile))
    );
    // A bare landline number is one 8-digit number among many: not reported without context.
    check("22334455", &[]);
    check("telefon 22334455", &[(Phone, "22334455")]);
}

#[test]
fn an_iban_wins_over_the_kontonummer_inside_it() {
    let findings = detect("NO93 8601 1117 947");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, Iban);
}

#[test]
fn identifiers_glued_to_letters() {
    // A label glued to the number still counts.
    check("fnr15108695088", &[(Fnr, "15108695088")]);
    check("Kontonr:86011117947", &[(Kontonr, "86011117947")]);
    // Inside an alphanumeric code it is not an identifier.
    check("XK15108695088", &[]);
    check("15108695088abc", &[]);
    check("ola15108695088@", &[]);
}

#[test]
fn numbers_inside_longer_digit_runs_do_not_match() {
    check("1510869508812", &[]);
    check("Ref 2215108695088", &[]);
    check("15108695088-1", &[]);
    check("2024-15108695088", &[]);
    check("3.15108695088", &[]);
    check("NO93 8601 1117 9471", &[]);
}

#[test]
fn neighbouring_numbers_are_read_apart() {
    check(
        "Fnr 15108695088, konto 86011117947",
        &[(Fnr, "15108695088"), (Kontonr, "86011117947")],
    );
    check("15.10.1986 15108695088", &[(Fnr, "15108695088")]);
    check(
        "tlf 91234567/41234567",
        &[(Phone, "91234567"), (Phone, "41234567")],
    );
}

#[test]
fn utf8_boundaries_with_norwegian_letters() {
    let text = "Å Ø Æ: fødselsnummeret åø15108695088øå er registrert";
    let findings = detect(text);
    for finding in &findings {
        assert!(text.is_char_boundary(finding.start) && text.is_char_boundary(finding.end));
    }
    check(
        "Søkers fødselsnummer er 15108695088 og bor på Ås",
        &[(Fnr, "15108695088")],
    );
    check("æøå 15108695088 æøå", &[(Fnr, "15108695088")]);
    check("«15108695088»", &[(Fnr, "15108695088")]);
    check("912\u{a0}34\u{a0}567", &[(Phone, "912\u{a0}34\u{a0}567")]);
}

#[test]
fn empty_and_blank_text() {
    check("", &[]);
    check("   \n\t", &[]);
    check("@", &[]);
    check("+", &[]);
}

#[test]
fn email_addresses() {
    check(
        "Kontakt: ola.nordmann@nav.no.",
        &[(Email, "ola.nordmann@nav.no")],
    );
    check(
        "<kari_hansen@bergen.kommune.no>",
        &[(Email, "kari_hansen@bergen.kommune.no")],
    );
    check("Møte @ 14", &[]);
    // Digits inside an address are part of it.
    check("91234567@sms.no", &[(Email, "91234567@sms.no")]);
}

#[test]
fn postnummer_needs_context() {
    check("Storgata 1, 0150 Oslo", &[(Postnummer, "0150")]);
    check("Postnr. 5003", &[(Postnummer, "5003")]);
    check("i 2024 Oslo", &[]);
    check("0150", &[]);
}

#[test]
fn duf_numbers() {
    let duf = datavern_core::id::synth::duf(&mut rand::rngs::StdRng::from_seed([7; 32]));
    let text = format!("DUF-nummer {duf}");
    check(&text, &[(Duf, duf.as_str())]);
}

#[test]
fn scores_are_in_range_and_context_raises_them() {
    let bare = detect("15108695088")[0].score;
    let labelled = detect("fødselsnummer 15108695088")[0].score;
    assert!(labelled > bare, "{labelled} > {bare}");
    assert!((0.0..=1.0).contains(&bare) && (0.0..=1.0).contains(&labelled));
    let strict = Detector::new().with_min_score(0.8);
    let mut findings = Vec::new();
    strict.detect("15108695088", &mut findings);
    assert!(findings.is_empty());
    strict.detect("fødselsnummer 15108695088", &mut findings);
    assert_eq!(findings.len(), 1);
}

#[test]
fn output_buffer_is_reused() {
    let detector = Detector::new();
    let mut findings = Vec::new();
    detector.detect("fnr 15108695088", &mut findings);
    assert_eq!(findings.len(), 1);
    detector.detect("ingenting her", &mut findings);
    assert!(findings.is_empty());
}

#[test]
fn findings_map_to_taxonomy_categories() {
    let category = |text: &str| detect(text)[0].category().as_str();
    assert_eq!(
        category("fnr 15108695088"),
        "user.national_id.fodselsnummer"
    );
    assert_eq!(category("fnr 53097248016"), "user.national_id.d_nummer");
    assert_eq!(category("fnr 13527248013"), "user.national_id.h_nummer");
    assert_eq!(category("konto 86011117947"), "user.financial.bank_account");
    assert_eq!(category("ola@nav.no"), "user.contact.email");
}
