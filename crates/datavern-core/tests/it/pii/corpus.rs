//! Precision and recall on the labelled synthetic corpus.

use datavern_core::id::IdentifierKind;
use datavern_core::pii::{Detector, corpus};
use rand::SeedableRng;
use rand::rngs::StdRng;

const SEED: u64 = 0x0da7_a7e2;
const RECORDS: usize = 20_000;

#[test]
fn detector_finds_every_valid_identifier_with_precision_above_99_percent() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let records = corpus::generate(&mut rng, RECORDS, 0.6);
    let detector = Detector::new();
    let evaluation = corpus::evaluate(&detector, &records);
    println!("\nPII detection on {RECORDS} synthetic records (seed {SEED:#x}):\n\n{evaluation}");
    print_mistakes(&detector, &records);

    let overall = evaluation.overall();
    assert!(
        overall.labels > 10_000,
        "the corpus is large enough: {}",
        overall.labels
    );
    for kind in IdentifierKind::ALL {
        let counts = evaluation.kind(kind);
        assert!(
            counts.labels >= 100,
            "{kind}: only {} labels",
            counts.labels
        );
        assert_eq!(counts.recall(), 1.0, "{kind} recall: {counts:?}");
        assert!(counts.precision() >= 0.99, "{kind} precision: {counts:?}");
    }
    assert_eq!(overall.recall(), 1.0);
    assert!(overall.precision() >= 0.99);
    assert_eq!(evaluation.wrong_variant, 0);
}

#[test]
fn corpus_is_deterministic_for_a_seed() {
    let a = corpus::generate(&mut StdRng::seed_from_u64(7), 200, 0.5);
    let b = corpus::generate(&mut StdRng::seed_from_u64(7), 200, 0.5);
    assert_eq!(a, b);
    let labelled = a.iter().filter(|r| !r.labels.is_empty()).count();
    assert!((50..150).contains(&labelled), "{labelled}");
}

#[test]
fn corpus_labels_point_at_valid_identifiers() {
    let records = corpus::generate(&mut StdRng::seed_from_u64(11), 2_000, 1.0);
    for record in &records {
        for label in &record.labels {
            let value = &record.text[label.start..label.end];
            // `(+47) 22 33 44 55` is how people write it; the validator takes `+47 22 33 44 55`.
            let value = value.replace(['(', ')'], "");
            let valid = datavern_core::id::check(label.kind, &value).is_ok();
            assert!(valid, "{:?} in {:?}", label.kind, record.text);
        }
    }
}

/// Prints the first mistakes, so a failing run says what went wrong.
#[allow(clippy::print_stdout)]
fn print_mistakes(detector: &Detector, records: &[corpus::Record]) {
    let mut findings = Vec::new();
    let mut shown = 0;
    for record in records {
        detector.detect(&record.text, &mut findings);
        let found: Vec<_> = findings.iter().map(|f| (f.kind, f.start, f.end)).collect();
        let expected: Vec<_> = record
            .labels
            .iter()
            .map(|l| (l.kind, l.start, l.end))
            .collect();
        let accepted = |f: &datavern_core::pii::Finding| {
            record.labels.iter().any(|l| {
                l.start == f.start
                    && l.end == f.end
                    && (l.kind == f.kind || l.also_accepted == Some(f.kind))
            })
        };
        let all_found = record.labels.iter().all(|l| {
            findings.iter().any(|f| {
                l.start == f.start
                    && l.end == f.end
                    && (l.kind == f.kind || l.also_accepted == Some(f.kind))
            })
        });
        if (!all_found || !findings.iter().all(accepted)) && shown < 20 {
            shown += 1;
            println!(
                "mistake: {:?}\n  expected {expected:?}\n  found    {found:?}",
                record.text
            );
        }
    }
}
