//! The catalog attributes that limit what a copy of the database reveals and who may record
//! consent: `blind_index_length`, `padding` and a consent purpose's `consent.recorder_role`,
//! with their defaults and every refusal (path, code, message).

use datavern_core::catalog::{
    Catalog, DEFAULT_BLIND_INDEX_LENGTH, DEFAULT_PADDING, ErrorCode, MAX_BLIND_INDEX_LENGTH,
};

const BASE: &str = r#"version: 1
deployment:
  tenants:
    - kommunenummer: "4601"
      name: Bergen kommune
  accreditation: BEGRENSET
  storage:
    - name: primary
      kind: database
      location: no
purposes:
  - id: tjeneste
    description: Yte tjenesten
    lawful_basis: 6(1)(e)
    legal_reference: kommuneloven § 2-1
    secure_identification: true
  - id: info
    description: Informasjon
    lawful_basis: 6(1)(a)
    # CONSENT
collections:
  - name: personer
    description: Personer
    classification: ÅPEN
    subjects: self
    purposes: [tjeneste, info]
    retention:
      period: P5Y
      from: created
      then: delete
    fields:
      - name: fnr
        type: string
        category: user.national_id.fodselsnummer
        identifier: fnr
        searchable: true
        purposes: [tjeneste]
        # FNR
      - name: epost
        type: string
        category: user.contact.email
        encrypted: true
        searchable: true
        # EPOST
      - name: fornavn
        type: string
        category: user.name.given
        encrypted: true
        # FORNAVN
      - name: etternavn
        type: string
        category: user.name.family
        # ETTERNAVN
      - name: merknad
        type: text
        category: user.preferences
        encrypted: true
        # MERKNAD
"#;

/// BASE with the marker comment `# {marker}` replaced by `text` (indented as the marker).
fn with(edits: &[(&str, &str)]) -> String {
    let mut yaml = BASE.to_owned();
    for (marker, text) in edits {
        let tag = format!("# {marker}");
        assert_eq!(yaml.matches(&tag).count(), 1, "{tag}");
        yaml = yaml.replacen(&tag, text, 1);
    }
    yaml
}

/// The problems of `yaml` as `(path, code, message)`.
fn problems(yaml: &str) -> Vec<(String, ErrorCode, String)> {
    match Catalog::from_yaml(yaml) {
        Ok(_) => panic!("catalog unexpectedly valid"),
        Err(errors) => errors
            .iter()
            .map(|e| {
                assert!(e.line.is_some(), "{e} has no position");
                (e.path.clone(), e.code, e.message.clone())
            })
            .collect(),
    }
}

#[track_caller]
fn check(edits: &[(&str, &str)], path: &str, code: ErrorCode, message_part: &str) {
    let found = problems(&with(edits));
    assert_eq!(found.len(), 1, "{found:#?}");
    let (got_path, got_code, message) = &found[0];
    assert_eq!((got_path.as_str(), *got_code), (path, code), "{message}");
    assert!(message.contains(message_part), "{message}");
}

#[test]
fn defaults_pad_names_and_contact_details_and_keep_three_byte_indexes() {
    let catalog = Catalog::from_yaml(BASE).unwrap_or_else(|e| panic!("{e}"));
    let personer = catalog.collection("personer").unwrap();
    let field = |name: &str| personer.field(name).unwrap();
    assert_eq!(
        field("fnr").blind_index_length(),
        Some(DEFAULT_BLIND_INDEX_LENGTH)
    );
    assert_eq!(field("epost").blind_index_length(), Some(3));
    assert_eq!(field("fornavn").blind_index_length(), None);
    // Encrypted names and contact details are padded; a national id (fixed length), free
    // text of another category and plaintext fields are not.
    assert_eq!(field("fornavn").padding(), Some(DEFAULT_PADDING));
    assert_eq!(field("epost").padding(), Some(32));
    assert_eq!(field("etternavn").padding(), None, "plaintext");
    assert_eq!(field("fnr").padding(), None);
    assert_eq!(field("merknad").padding(), None);
    assert_eq!(
        catalog.purpose("info").unwrap().consent_recorder_role(),
        None
    );
}

#[test]
fn declared_lengths_and_buckets_are_kept() {
    let yaml = with(&[
        ("FNR", "blind_index_length: 2"),
        ("EPOST", "blind_index_length: 16\n        padding: none"),
        ("FORNAVN", "padding: 64"),
        ("MERKNAD", "padding: 256"),
        ("CONSENT", "consent:\n      recorder_role: consent_recorder"),
    ]);
    let catalog = Catalog::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let personer = catalog.collection("personer").unwrap();
    let field = |name: &str| personer.field(name).unwrap();
    assert_eq!(field("fnr").blind_index_length(), Some(2));
    assert_eq!(
        field("epost").blind_index_length(),
        Some(MAX_BLIND_INDEX_LENGTH)
    );
    assert_eq!(field("epost").padding(), None);
    assert_eq!(field("fornavn").padding(), Some(64));
    assert_eq!(field("merknad").padding(), Some(256));
    let role = catalog.purpose("info").unwrap().consent_recorder_role();
    assert_eq!(role.map(|r| r.as_str()), Some("consent_recorder"));
}

#[test]
fn bad_blind_index_lengths_are_refused_with_path_and_code() {
    let at = "collections[0].fields[0].blind_index_length";
    for bad in ["1", "17", "0", "-3", "2.5", "three", "300"] {
        check(
            &[("FNR", &format!("blind_index_length: {bad}"))],
            at,
            ErrorCode::InvalidValue,
            "from 2 to 16",
        );
    }
    check(
        &[("FNR", "blind_index_length: [3]")],
        at,
        ErrorCode::WrongType,
        "expected a string",
    );
    check(
        &[("FORNAVN", "blind_index_length: 4")],
        "collections[0].fields[2].blind_index_length",
        ErrorCode::Searchable,
        "not searchable",
    );
}

#[test]
fn bad_padding_is_refused_with_path_and_code() {
    let at = "collections[0].fields[2].padding";
    for bad in ["0", "4097", "-1", "lots", "32.5"] {
        check(
            &[("FORNAVN", &format!("padding: {bad}"))],
            at,
            ErrorCode::InvalidValue,
            "from 1 to 4096",
        );
    }
    check(
        &[("ETTERNAVN", "padding: 32")],
        "collections[0].fields[3].padding",
        ErrorCode::Encryption,
        "plaintext",
    );
}

#[test]
fn consent_rules_only_fit_consent_purposes() {
    // On a purpose that rests on a public task.
    let yaml = with(&[]).replacen(
        "    secure_identification: true\n",
        "    secure_identification: true\n    consent:\n      recorder_role: consent_recorder\n",
        1,
    );
    let found = problems(&yaml);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1),
        ("purposes[0].consent", ErrorCode::Consent)
    );
    assert!(found[0].2.contains("rest on consent"), "{}", found[0].2);
    check(
        &[("CONSENT", "consent:\n      recorder_role: consent recorder")],
        "purposes[1].consent.recorder_role",
        ErrorCode::InvalidName,
        "whitespace",
    );
    check(
        &[("CONSENT", "consent:\n      recorder: consent_recorder")],
        "purposes[1].consent.recorder",
        ErrorCode::UnknownKey,
        "recorder_role",
    );
    check(
        &[("CONSENT", "consent: consent_recorder")],
        "purposes[1].consent",
        ErrorCode::WrongType,
        "a mapping",
    );
}
