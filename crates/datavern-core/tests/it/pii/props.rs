//! Properties over arbitrary input: the detector never panics, spans are well-formed.

use datavern_core::pii::{Detector, Finding};
use proptest::prelude::*;

fn assert_well_formed(text: &str, findings: &[Finding]) {
    let mut previous_end = 0;
    for finding in findings {
        assert!(finding.start < finding.end, "{finding:?}");
        assert!(finding.end <= text.len());
        assert!(text.is_char_boundary(finding.start) && text.is_char_boundary(finding.end));
        assert!(finding.start >= previous_end, "overlap: {findings:?}");
        assert!((0.0..=1.0).contains(&finding.score));
        previous_end = finding.end;
    }
}

/// Text made of the pieces identifiers and their surroundings are made of, so the generator
/// reaches the interesting paths (separators, prefixes, multi-byte letters) often.
fn identifier_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,13}",
        Just(" ".to_owned()),
        Just(".".to_owned()),
        Just("-".to_owned()),
        Just("+47".to_owned()),
        Just("NO".to_owned()),
        Just("MVA".to_owned()),
        Just("@".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("ø".to_owned()),
        Just("Å".to_owned()),
        Just("fnr".to_owned()),
        Just("konto".to_owned()),
        Just("15108695088".to_owned()),
        Just("86011117947".to_owned()),
        Just("x.y".to_owned()),
        "[a-zæøå]{1,5}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_strings(text in any::<String>()) {
        let mut findings = Vec::new();
        Detector::new().detect(&text, &mut findings);
        assert_well_formed(&text, &findings);
    }

    #[test]
    fn spans_are_on_char_boundaries_in_identifier_like_text(text in identifier_soup()) {
        let mut findings = Vec::new();
        Detector::new().detect(&text, &mut findings);
        assert_well_formed(&text, &findings);
    }

    #[test]
    fn a_valid_fnr_with_its_label_is_found_wherever_it_stands(
        before in "[a-zæøå ,.]{0,20}",
        after in "[a-zæøå ,.]{0,20}",
    ) {
        let text = format!("{before} fødselsnummer 15108695088 {after}");
        let mut findings = Vec::new();
        Detector::new().detect(&text, &mut findings);
        let found = findings.iter().any(|f| f.text(&text) == Some("15108695088"));
        prop_assert!(found, "{text:?}: {findings:?}");
    }
}

proptest! {
    #[test]
    fn column_classification_never_panics_and_stays_in_range(
        name in any::<String>(),
        values in proptest::collection::vec(any::<String>(), 0..20),
    ) {
        let verdict = datavern_core::pii::classify_column(&name, values.iter().map(String::as_str));
        prop_assert!((0.0..=1.0).contains(&verdict.confidence));
        prop_assert!((0.0..=1.0).contains(&verdict.share_valid));
        prop_assert_eq!(verdict.sampled + verdict.empty, values.len());
    }
}
