//! Catalog parsing and validation: the example passes, every broken catalog yields the
//! expected problems (path and message), positions are reported, nothing panics.

use datavern_core::catalog::{
    Attribution, Catalog, CatalogErrors, DataSubjects, EncryptionReason, ErasurePolicy, ErrorCode,
    LawfulBasis, RestrictionGround, RetentionAction, RetentionStart,
};
use datavern_core::classification::Classification;
use datavern_core::residency::Location;
use datavern_core::taxonomy;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../../examples/kommune.yaml");

/// A small valid catalog; each case below breaks it with a few edits.
const MINIMAL: &str = r#"version: 1
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
  - id: helse
    description: Helsetjenester
    lawful_basis: 6(1)(e)
    legal_reference: helse- og omsorgstjenesteloven § 3-1
    special_category_condition: 9(2)(h)
  - id: info
    description: Informasjon
    lawful_basis: 6(1)(a)
collections:
  - name: personer
    description: Personer
    classification: ÅPEN
    subjects: self
    purposes: [tjeneste]
    retention:
      period: P5Y
      from: created
      then: delete
    fields:
      - name: fnr
        type: string
        required: true
        category: user.national_id.fodselsnummer
        identifier: fnr
      - name: navn
        type: string
        category: user.name
      - name: epost
        type: string
        category: user.contact.email
        identifier: email
  - name: soknader
    description: Søknader
    classification: ÅPEN
    subjects:
      - name: barn
        role: child
        field: barn_id
        collection: personer
        primary: true
      - name: forelder
        role: guardian
        field: forelder_id
        collection: personer
    purposes: [tjeneste, helse]
    retention:
      period: P3Y
      from: { field: mottatt }
      then: delete
    fields:
      - name: barn_id
        type: string
        required: true
        category: user.unique_id.pseudonymous
      - name: forelder_id
        type: string
        category: user.unique_id.pseudonymous
      - name: mottatt
        type: date
        required: true
        category: system.operations
      - name: helse
        type: text
        category: user.health
        purposes: [helse]
      - name: forelder_telefon
        type: string
        category: user.contact.phone
        subject: forelder
"#;

/// MINIMAL with each `(from, to)` applied; `from` must occur exactly once.
fn edit(edits: &[(&str, &str)]) -> String {
    let mut yaml = MINIMAL.to_owned();
    for (from, to) in edits {
        assert_eq!(
            yaml.matches(from).count(),
            1,
            "edit target {from:?} must occur exactly once"
        );
        yaml = yaml.replacen(from, to, 1);
    }
    yaml
}

/// Validates `yaml` and compares every problem, rendered `path: message`, with `expected`.
#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let errors = match Catalog::from_yaml(yaml) {
        Ok(_) => panic!("catalog unexpectedly valid; expected {expected:#?}"),
        Err(errors) => errors,
    };
    let actual: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(actual, expected, "\nfull report:\n{errors}");
    for error in &errors {
        assert!(
            error.line.is_some() && error.column.is_some(),
            "{error} has no position"
        );
    }
}

fn errors_of(yaml: &str) -> CatalogErrors {
    Catalog::from_yaml(yaml).expect_err("catalog unexpectedly valid")
}

#[test]
fn minimal_catalog_is_valid() {
    let catalog = Catalog::from_yaml(MINIMAL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalog.collections().len(), 2);
}

#[test]
fn example_catalog_is_valid() {
    let catalog = Catalog::from_yaml(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    let deployment = catalog.deployment();
    assert_eq!(deployment.tenants()[0].kommunenummer().as_str(), "4601");
    assert_eq!(deployment.accreditation(), Classification::Begrenset);

    let innbyggere = catalog.collection("innbyggere").unwrap();
    let fnr = innbyggere.field("fodselsnummer").unwrap();
    assert!(fnr.is_national_id() && fnr.is_encrypted() && fnr.is_searchable());
    assert_eq!(fnr.encryption().reason, EncryptionReason::Mandatory);
    assert!(!fnr.readable_for("kommunikasjon"));
    assert!(
        innbyggere
            .field("fornavn")
            .unwrap()
            .readable_for("kommunikasjon")
    );
    assert_eq!(innbyggere.subjects(), &DataSubjects::Record);
    assert_eq!(innbyggere.erasure(), ErasurePolicy::CryptoShred);
    assert_eq!(
        innbyggere
            .searchable_fields()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        ["fodselsnummer", "epost"]
    );

    // The barnehagesøknad concerns the child (primary) and each guardian.
    let soknader = catalog.collection("barnehagesoknader").unwrap();
    assert_eq!(soknader.primary_subject().unwrap().name(), "barn");
    assert_eq!(soknader.subject("foresatt2").unwrap().role(), "guardian");
    let foresatt1: Vec<&str> = soknader
        .fields_of_subject("foresatt1")
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        foresatt1,
        ["foresatt1_id", "foresatt1_telefon", "foresatt1_epost"]
    );
    assert_eq!(
        soknader.field("onsket_barnehage").unwrap().attribution(),
        &Attribution::Subject("barn".parse().unwrap())
    );
    let retention = soknader.retention().unwrap();
    assert_eq!(retention.period().as_str(), "P3Y");
    assert_eq!(
        retention.from(),
        &RetentionStart::Field("soknadsdato".parse().unwrap())
    );

    let saker = catalog.collection("saker").unwrap();
    assert!(saker.archive().is_some());
    assert_eq!(saker.retention().unwrap().then(), RetentionAction::Archive);
    assert_eq!(
        saker.public_access().unwrap().hjemmel(),
        "offl. § 13 jf. fvl. § 13"
    );
    assert!(saker.field("diagnose").unwrap().is_special_category());

    let nyhetsbrev = catalog.purpose("nyhetsbrev").unwrap();
    assert_eq!(nyhetsbrev.lawful_basis(), LawfulBasis::Consent);
    assert!(nyhetsbrev.requires_consent());
    assert!(!catalog.purpose("helse_omsorg").unwrap().requires_consent());
    assert_eq!(
        catalog
            .purpose("klagebehandling")
            .unwrap()
            .allowed_under_restriction(),
        Some(RestrictionGround::LegalClaims)
    );

    let ansatte = catalog.collection("ansatte").unwrap();
    assert!(
        ansatte
            .field("politiattest_kontrollert")
            .unwrap()
            .is_criminal()
    );
    assert_eq!(
        ansatte.field("kontonummer").unwrap().encryption().reason,
        EncryptionReason::Category
    );

    // Health data may not go to the offsite backup in the EEA (the catalog's own rule).
    let offsite = deployment
        .storage()
        .iter()
        .find(|s| s.name() == "backup-offsite")
        .unwrap();
    assert_eq!(offsite.location(), Location::Eea);
    assert!(!offsite.holds("saker"));
    let diagnose = saker.field("diagnose").unwrap().data_class();
    assert_eq!(deployment.residency().limit(diagnose).within, Location::No);
}

#[test]
fn broken_catalogs_report_path_and_message() {
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "unknown category, with a suggestion",
            edit(&[("category: user.name\n", "category: user.nmae\n")]),
            vec![
                r#"collections[0].fields[1].category: unknown category "user.nmae"; did you mean "user.name"?"#,
            ],
        ),
        (
            "unknown purpose",
            edit(&[("purposes: [tjeneste]", "purposes: [tjenste]")]),
            vec![
                r#"collections[0].purposes[0]: unknown purpose "tjenste"; did you mean "tjeneste"?"#,
            ],
        ),
        (
            "national id read for a purpose without secure identification (pol. § 12)",
            edit(&[("purposes: [tjeneste]", "purposes: [tjeneste, info]")]),
            vec![
                r#"collections[0].fields[0]: the field holds national ids, which may only be used where secure identification is needed (personopplysningsloven § 12), but purpose "info" does not declare `secure_identification: true`; limit the field's `purposes` or declare the need"#,
            ],
        ),
        (
            "special category without an Art. 9(2) condition",
            edit(&[("purposes: [helse]", "purposes: [tjeneste]")]),
            vec![
                r#"collections[1].fields[3].purposes: the field holds health data (a special category, GDPR Art. 9), but purpose "tjeneste" declares no Art. 9(2) condition; add `special_category_condition` (e.g. 9(2)(h)) to the purpose or limit the field's `purposes`"#,
            ],
        ),
        (
            "criminal data without an Art. 10 basis",
            edit(&[(
                "category: user.health\n",
                "category: user.criminal.conviction\n",
            )]),
            vec![
                r#"collections[1].fields[3].purposes: the field holds criminal data (GDPR Art. 10), which needs a basis in law, but purpose "helse" has no `criminal_data_basis`; name the provision (e.g. "politiregisterloven § 39")"#,
            ],
        ),
        (
            "classification above the accreditation",
            edit(&[(
                "classification: ÅPEN\n    subjects: self",
                "classification: HEMMELIG\n    subjects: self",
            )]),
            vec![
                "collections[0].classification: HEMMELIG is above the deployment's accreditation (BEGRENSET): data classified HEMMELIG cannot be stored here; lower the classification or accredit the deployment for HEMMELIG",
            ],
        ),
        (
            "residency: KONFIDENSIELT field in a backup outside Norway",
            edit(&[
                ("accreditation: BEGRENSET", "accreditation: KONFIDENSIELT"),
                (
                    "      location: no\n",
                    "      location: no\n    - name: offsite\n      kind: backup\n      location: eea\n",
                ),
                (
                    "category: user.name\n",
                    "category: user.name\n        classification: KONFIDENSIELT\n",
                ),
            ]),
            vec![
                "deployment.storage[1].location: backup `offsite` is in `eea`, but collection `personer` must stay within `no`: field `navn` is KONFIDENSIELT user.name (rule: KONFIDENSIELT and above must stay within `no` (built-in)); move the target or limit it with `collections:`",
            ],
        ),
        (
            "residency: personal data in a third country, per collection",
            edit(&[("location: no", "location: third")]),
            vec![
                "deployment.storage[0].location: database `primary` is in `third`, but collection `personer` must stay within `eea`: field `fnr` is ÅPEN user.national_id.fodselsnummer (rule: national ids (personopplysningsloven § 12) must stay within `eea` (built-in)); move the target or limit it with `collections:`",
                "deployment.storage[0].location: database `primary` is in `third`, but collection `soknader` must stay within `eea`: field `helse` is ÅPEN user.health (rule: special categories (GDPR Art. 9) must stay within `eea` (built-in)); move the target or limit it with `collections:`",
            ],
        ),
        (
            "catalog residency rules are stricter still",
            edit(&[(
                "      location: no\n",
                "      location: no\n    - name: offsite\n      kind: backup\n      location: eea\n      collections: [personer]\n  residency:\n    - category: user.contact\n      within: no\n",
            )]),
            vec![
                "deployment.storage[1].location: backup `offsite` is in `eea`, but collection `personer` must stay within `no`: field `epost` is ÅPEN user.contact.email (rule: category user.contact must stay within `no` (catalog)); move the target or limit it with `collections:`",
            ],
        ),
        (
            "duplicate collection name",
            edit(&[("name: soknader", "name: personer")]),
            vec![
                r#"collections[1].name: duplicate collection name "personer"; collection names must be unique"#,
            ],
        ),
        (
            "duplicate field name",
            edit(&[("name: epost", "name: navn")]),
            vec![
                r#"collections[0].fields[2].name: duplicate field name "navn"; field names must be unique in a collection"#,
            ],
        ),
        (
            "duplicate purpose id",
            edit(&[("id: info", "id: helse")]),
            vec![r#"purposes[2].id: duplicate purpose id "helse"; purpose ids must be unique"#],
        ),
        (
            "duplicate tenant",
            edit(&[(
                "      name: Bergen kommune\n",
                "      name: Bergen kommune\n    - kommunenummer: \"4601\"\n      name: Bergen igjen\n",
            )]),
            vec![
                "deployment.tenants[1].kommunenummer: duplicate tenant 4601; each municipality is listed once",
            ],
        ),
        (
            "subject reference to a missing field",
            edit(&[("field: forelder_id", "field: forelder")]),
            vec![
                r#"collections[1].subjects[1].field: unknown field "forelder"; did you mean "forelder_id"?"#,
            ],
        ),
        (
            "subject reference to a missing collection",
            edit(&[(
                "collection: personer\n        primary: true",
                "collection: folk\n        primary: true",
            )]),
            vec![r#"collections[1].subjects[0].collection: unknown collection "folk""#],
        ),
        (
            "subject reference to a collection that does not hold persons",
            edit(&[(
                "collection: personer\n        primary: true",
                "collection: soknader\n        primary: true",
            )]),
            vec![
                r#"collections[1].subjects[0].collection: collection "soknader" does not hold persons: a subject reference points at a collection with `subjects: self`"#,
            ],
        ),
        (
            "two primary subjects",
            edit(&[(
                "collection: personer\n    purposes",
                "collection: personer\n        primary: true\n    purposes",
            )]),
            vec![
                r#"collections[1].subjects[1].primary: more than one primary subject ("barn" is already primary); exactly one reference may be primary"#,
            ],
        ),
        (
            "no primary subject",
            edit(&[("        primary: true\n", "")]),
            vec![
                "collections[1].subjects: no primary subject: mark exactly one reference `primary: true` (the person whose key encrypts the record)",
            ],
        ),
        (
            "encrypted: false on a national id",
            edit(&[(
                "identifier: fnr\n",
                "identifier: fnr\n        encrypted: false\n",
            )]),
            vec![
                "collections[0].fields[0].encrypted: national ids (personopplysningsloven § 12) are always encrypted; remove `encrypted: false`",
            ],
        ),
        (
            "encrypted: false on a special category",
            edit(&[(
                "category: user.health\n",
                "category: user.health\n        encrypted: false\n",
            )]),
            vec![
                "collections[1].fields[3].encrypted: special categories of personal data (GDPR Art. 9) are always encrypted; remove `encrypted: false`",
            ],
        ),
        (
            "bad kommunenummer",
            edit(&[(r#""4601""#, "301")]),
            vec![
                r#"deployment.tenants[0].kommunenummer: invalid kommunenummer "301": expected 4 digits, found 3 (quote it in YAML so leading zeros are kept: "0301")"#,
            ],
        ),
        (
            "kommunenummer outside any county",
            edit(&[(r#""4601""#, r#""9901""#)]),
            vec![
                r#"deployment.tenants[0].kommunenummer: invalid kommunenummer "9901": 99 is not a county number in force (since 2024: 03, 11, 15, 18, 21, 22, 31, 32, 33, 34, 39, 40, 42, 46, 50, 55, 56)"#,
            ],
        ),
        (
            "bad ISO 8601 period",
            edit(&[("period: P5Y", "period: 5 years")]),
            vec![
                r#"collections[0].retention.period: "5 years" is not an ISO 8601 duration (expected to find duration beginning with `P` or `p`, but found `5` instead); write e.g. P5Y, P18M or P30D"#,
            ],
        ),
        (
            "zero period",
            edit(&[("period: P5Y", "period: P0D")]),
            vec![
                r#"collections[0].retention.period: "P0D" is not a positive duration; write e.g. P5Y"#,
            ],
        ),
        (
            "retention counted from a missing field",
            edit(&[("from: { field: mottatt }", "from: { field: motatt }")]),
            vec![
                r#"collections[1].retention.from.field: retention counts from field "motatt", which the collection does not have; did you mean "mottatt"?"#,
            ],
        ),
        (
            "retention counted from a field that is not a date",
            edit(&[("type: date\n", "type: string\n")]),
            vec![
                r#"collections[1].retention.from.field: retention counts from field "mottatt" of type string; it must be a date or timestamp field"#,
            ],
        ),
        (
            "retention counted from an encrypted field",
            edit(&[(
                "category: system.operations\n",
                "category: system.operations\n        encrypted: true\n",
            )]),
            vec![
                r#"collections[1].retention.from.field: retention counts from field "mottatt", which is encrypted: the retention job selects due records in SQL, without keys; set `encrypted: false` on it or count from created or updated"#,
            ],
        ),
        (
            "identifier that does not fit the field type",
            edit(&[(
                "      - name: epost\n        type: string",
                "      - name: epost\n        type: integer",
            )]),
            vec![
                "collections[0].fields[2].identifier: identifier email needs a field of type string (identifiers keep leading zeros and formatting), not integer",
            ],
        ),
        (
            "identifier that does not fit the category",
            edit(&[(
                "category: user.contact.email\n        identifier: email",
                "category: user.contact.email\n        identifier: fnr",
            )]),
            vec![
                "collections[0].fields[2].identifier: identifier fnr does not fit category user.contact.email: fnr values belong under user.national_id",
            ],
        ),
        (
            "empty catalog",
            String::new(),
            vec![
                "the catalog is empty: declare version, deployment, purposes and collections (see docs/catalog.md)",
            ],
        ),
        (
            "unsupported version",
            edit(&[("version: 1", "version: 2")]),
            vec![r#"version: unsupported catalog version "2": this datavern reads version 1"#],
        ),
        (
            "unknown key, with a suggestion",
            edit(&[(
                "identifier: fnr\n",
                "identifier: fnr\n        encryptd: true\n",
            )]),
            vec![
                r#"collections[0].fields[0].encryptd: unknown key "encryptd" in a field; did you mean "encrypted"?"#,
            ],
        ),
        (
            "wrong YAML type",
            edit(&[(
                "required: true\n        category: user.national_id",
                "required: yes\n        category: user.national_id",
            )]),
            vec!["collections[0].fields[0].required: expected true or false, found a string"],
        ),
        (
            "searchable without encryption",
            edit(&[(
                "category: user.name\n",
                "category: user.name\n        searchable: true\n",
            )]),
            vec![
                "collections[0].fields[1].searchable: searchable adds a blind index, which only encrypted fields have (plaintext fields are searchable through SQL already); set `encrypted: true` or remove `searchable`",
            ],
        ),
        (
            "unique without a blind index",
            edit(&[(
                "category: user.name\n",
                "category: user.name\n        unique: true\n",
            )]),
            vec![
                "collections[0].fields[1].unique: a unique field is checked through its blind index, which only searchable fields have: add `searchable: true` or remove `unique`",
            ],
        ),
        (
            "searchable free text",
            edit(&[(
                "category: user.health\n",
                "category: user.health\n        searchable: true\n",
            )]),
            vec![
                "collections[1].fields[3].searchable: searchable means exact match through a blind index, which does not suit text values; use type string or remove `searchable`",
            ],
        ),
        (
            "personal data without retention",
            edit(&[(
                "    retention:\n      period: P5Y\n      from: created\n      then: delete\n",
                "",
            )]),
            vec![
                "collections[0].retention: missing: personal data must have a retention period (GDPR Art. 5(1)(e)); declare `retention: { period, from, then }`",
            ],
        ),
        (
            "public-access exemption that does not cite offentleglova",
            edit(&[(
                "    subjects: self\n",
                "    subjects: self\n    unntatt_offentlighet:\n      hjemmel: fvl. § 13\n",
            )]),
            vec![
                r#"collections[0].unntatt_offentlighet.hjemmel: hjemmel "fvl. § 13" does not cite offentleglova: exemptions are made under offl. §§ 13–26, e.g. "offl. § 13 jf. fvl. § 13""#,
            ],
        ),
        (
            "archive duty but retention deletes",
            edit(&[(
                "    subjects: self\n",
                "    subjects: self\n    archive:\n      legal_reason: GDPR art. 17(3)(b); arkivlova § 6\n",
            )]),
            vec![
                "collections[0].retention.then: records under archive duty (arkivplikt) are preserved, so retention must end in `archive` (transfer to the archive), not `delete`",
            ],
        ),
        (
            "field classified below its collection",
            edit(&[
                (
                    "classification: ÅPEN\n    subjects: self",
                    "classification: BEGRENSET\n    subjects: self",
                ),
                (
                    "category: user.name\n",
                    "category: user.name\n        classification: ÅPEN\n",
                ),
            ]),
            vec![
                "collections[0].fields[1].classification: ÅPEN is below the collection's BEGRENSET: a field is at least as classified as its record; raise it or remove it",
            ],
        ),
        (
            "public task without a legal reference (Art. 6(3))",
            edit(&[("    legal_reference: kommuneloven § 2-1\n", "")]),
            vec![
                r#"purposes[0].legal_reference: missing: lawful basis 6(1)(e) (public task) must be laid down in law (GDPR Art. 6(3)); name the provision, e.g. "barnehageloven § 17""#,
            ],
        ),
        (
            "unknown lawful basis",
            edit(&[("lawful_basis: 6(1)(a)", "lawful_basis: 6(1)(g)")]),
            vec![
                r#"purposes[2].lawful_basis: unknown lawful basis "6(1)(g)": expected one of 6(1)(a) consent, 6(1)(b) contract, 6(1)(c) legal obligation, 6(1)(d) vital interests, 6(1)(e) public task, 6(1)(f) legitimate interests"#,
            ],
        ),
        (
            "personal data in a collection about no one",
            edit(&[("    subjects: self\n", "    subjects: none\n")]),
            vec![
                "collections[0].fields[0].category: user.national_id.fodselsnummer is personal data, but the collection declares `subjects: none`; say who the records are about, or use an organization.* or system.* category",
                "collections[0].fields[1].category: user.name is personal data, but the collection declares `subjects: none`; say who the records are about, or use an organization.* or system.* category",
                "collections[0].fields[2].category: user.contact.email is personal data, but the collection declares `subjects: none`; say who the records are about, or use an organization.* or system.* category",
                r#"collections[1].subjects[0].collection: collection "personer" does not hold persons: a subject reference points at a collection with `subjects: self`"#,
                r#"collections[1].subjects[1].collection: collection "personer" does not hold persons: a subject reference points at a collection with `subjects: self`"#,
            ],
        ),
        (
            "crypto_shred without encrypted fields",
            edit(&[
                (
                    "    purposes: [tjeneste]\n",
                    "    purposes: [tjeneste]\n    erasure: crypto_shred\n",
                ),
                (
                    "      - name: fnr\n        type: string\n        required: true\n        category: user.national_id.fodselsnummer\n        identifier: fnr\n",
                    "",
                ),
            ]),
            vec![
                "collections[0].erasure: crypto_shred needs encrypted fields: none of this collection's fields is encrypted, so destroying the subject's key would leave their data readable in backups; encrypt the personal fields or use `erasure: delete`",
            ],
        ),
        (
            "field attributed to an unknown subject",
            edit(&[("subject: forelder", "subject: foreldre")]),
            vec![
                r#"collections[1].fields[4].subject: unknown subject "foreldre"; did you mean "forelder"?"#,
            ],
        ),
        (
            "field read for a purpose the collection does not serve",
            edit(&[("purposes: [helse]", "purposes: [helse, info]")]),
            vec![
                r#"collections[1].fields[3].purposes[1]: purpose "info" is not among the collection's purposes; add it there or remove it here"#,
            ],
        ),
        (
            "invalid field name, with a transliteration",
            edit(&[("name: mottatt\n", "name: Mottatt dato\n")]),
            vec![
                // Document order: retention comes before the fields in this collection.
                r#"collections[1].retention.from.field: retention counts from field "mottatt", which the collection does not have; did you mean "Mottatt dato"?"#,
                r#"collections[1].fields[2].name: invalid field name "Mottatt dato": use lowercase ASCII letters, digits and _, starting with a letter (e.g. "mottatt_dato")"#,
            ],
        ),
    ];
    assert!(cases.len() >= 20);
    let mut names = std::collections::HashSet::new();
    for (name, yaml, expected) in &cases {
        assert!(names.insert(*name), "duplicate case {name}");
        eprintln!("case: {name}");
        check(yaml, expected);
    }
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let yaml = "version: 1\ndeployment:\n  tenants:\n    - kommunenummer: \"4601\"\n   name: x\n";
    let errors = errors_of(yaml);
    assert_eq!(errors.len(), 1);
    let error = &errors.as_slice()[0];
    assert_eq!(error.code, ErrorCode::Syntax);
    assert_eq!((error.line, error.column), (Some(5), Some(4)));
    assert_eq!(error.path, "");
    assert!(
        error.message.starts_with("invalid YAML: "),
        "{}",
        error.message
    );
    assert!(
        !error.message.contains("line 5 column 4"),
        "position repeated: {}",
        error.message
    );
}

#[test]
fn repeated_keys_and_tabs_are_explained() {
    let errors = errors_of(&edit(&[(
        "    subjects: self\n",
        "    subjects: self\n    subjects: none\n",
    )]));
    let error = &errors.as_slice()[0];
    assert_eq!(error.code, ErrorCode::Duplicate);
    assert_eq!(
        error.to_string(),
        r#"collections[0]: duplicate key "subjects": a key may appear only once in a mapping"#
    );
    assert!(error.line.is_some());

    let errors = errors_of(&edit(&[(
        "      name: Bergen kommune\n",
        "\tname: Bergen kommune\n",
    )]));
    let error = &errors.as_slice()[0];
    assert_eq!(error.code, ErrorCode::Syntax);
    assert_eq!((error.line, error.column), (Some(5), Some(1)));
    assert!(
        error
            .message
            .ends_with("(YAML indents with spaces, not tabs)"),
        "{}",
        error.message
    );
}

#[test]
fn problems_carry_the_line_and_column_of_the_offending_value() {
    let errors = errors_of(&edit(&[("category: user.name\n", "category: user.nmae\n")]));
    let error = &errors.as_slice()[0];
    assert_eq!(error.code, ErrorCode::UnknownCategory);
    let line = MINIMAL
        .lines()
        .position(|l| l.contains("category: user.name"))
        .unwrap()
        + 1;
    assert_eq!((error.line, error.column), (Some(line), Some(19)));

    // A missing key is placed at the mapping that should hold it.
    let errors = errors_of(&edit(&[("    description: Informasjon\n", "")]));
    let error = &errors.as_slice()[0];
    assert_eq!(error.path, "purposes[2].description");
    assert_eq!(error.code, ErrorCode::Missing);
    let line = MINIMAL
        .lines()
        .position(|l| l.contains("- id: info"))
        .unwrap()
        + 1;
    assert_eq!((error.line, error.column), (Some(line), Some(5)));
}

#[test]
fn every_mistake_is_reported_in_document_order() {
    let yaml = edit(&[
        (r#""4601""#, r#""46""#),
        ("lawful_basis: 6(1)(a)", "lawful_basis: samtykke"),
        ("category: user.name\n", "category: user.nmae\n"),
        ("identifier: email", "identifier: e-mail"),
        ("period: P3Y", "period: three years"),
        ("subject: forelder", "subjekt: forelder"),
    ]);
    let errors = errors_of(&yaml);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "deployment.tenants[0].kommunenummer",
            "purposes[2].lawful_basis",
            "collections[0].fields[1].category",
            "collections[0].fields[2].identifier",
            "collections[1].retention.period",
            "collections[1].fields[4].subjekt",
        ]
    );
    let codes: Vec<ErrorCode> = errors.iter().map(|e| e.code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::InvalidKommunenummer,
            ErrorCode::InvalidValue,
            ErrorCode::UnknownCategory,
            ErrorCode::InvalidValue,
            ErrorCode::InvalidPeriod,
            ErrorCode::UnknownKey,
        ]
    );
    let lines: Vec<usize> = errors.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn structural_problems_do_not_hide_each_other() {
    let yaml = edit(&[
        ("accreditation: BEGRENSET", "accreditation: [BEGRENSET]"),
        ("  - id: helse\n", "  - id: helse\n    owner: kari\n"),
        ("subjects: self", "subjects: [self]"),
    ]);
    let rendered: Vec<String> = errors_of(&yaml).iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "deployment.accreditation: expected a string, found a list",
            "purposes[1].owner: unknown key \"owner\" in a purpose; a purpose has the keys id, description, lawful_basis, legal_reference, special_category_condition, criminal_data_basis, secure_identification, recipients, allowed_under_restriction, consent",
            "collections[0].subjects[0]: expected a subject reference (a mapping), found a string",
        ]
    );
}

#[test]
fn errors_serialize_with_stable_codes() {
    let errors = errors_of("version: 1\nextra: true\n");
    let json = serde_json::to_value(&errors).unwrap();
    let extra = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "extra")
        .unwrap();
    assert_eq!(extra["code"], "unknown_key");
    assert_eq!(extra["line"], 2);
    assert_eq!(extra["column"], 8);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "missing")
    );
}

#[test]
fn effective_values_are_resolved() {
    let yaml = edit(&[
        ("accreditation: BEGRENSET", "accreditation: KONFIDENSIELT"),
        (
            "category: user.name\n",
            "category: user.name\n        classification: KONFIDENSIELT\n",
        ),
    ]);
    let catalog = Catalog::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let personer = catalog.collection("personer").unwrap();
    let navn = personer.field("navn").unwrap();
    assert_eq!(navn.classification(), Classification::Konfidensielt);
    assert_eq!(navn.encryption().reason, EncryptionReason::Classification);
    assert_eq!(personer.max_classification(), Classification::Konfidensielt);
    let epost = personer.field("epost").unwrap();
    assert_eq!(epost.classification(), Classification::Apen);
    assert!(!epost.is_encrypted());
    assert_eq!(epost.purposes(), personer.purposes());
    assert!(!epost.declares_purposes());
    // Unattributed fields of a record with references belong to the primary subject;
    // reference fields to their own subject.
    let soknader = catalog.collection("soknader").unwrap();
    let subject = |f: &str| soknader.field(f).unwrap().attribution().clone();
    assert_eq!(
        subject("helse"),
        Attribution::Subject("barn".parse().unwrap())
    );
    assert_eq!(
        subject("forelder_id"),
        Attribution::Subject("forelder".parse().unwrap())
    );
    assert_eq!(
        subject("forelder_telefon"),
        Attribution::Subject("forelder".parse().unwrap())
    );
    assert_eq!(soknader.erasure(), ErasurePolicy::CryptoShred);
    assert!(catalog.purpose("info").unwrap().requires_consent());
    assert_eq!(
        soknader.field("helse").unwrap().category(),
        taxonomy::lookup("user.health").unwrap()
    );
}

#[test]
fn merge_keys_share_settings() {
    let yaml = MINIMAL.replace(
        "    retention:\n      period: P5Y\n      from: created\n      then: delete\n",
        "    retention: &standard\n      period: P5Y\n      from: created\n      then: delete\n",
    ) + "  - name: logg\n    description: Logg\n    classification: ÅPEN\n    subjects: self\n    purposes: [tjeneste]\n    retention:\n      <<: *standard\n      period: P1Y\n    fields:\n      - { name: hendelse, type: string, category: user.online.ip_address }\n";
    let catalog = Catalog::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let retention = catalog.collection("logg").unwrap().retention().unwrap();
    assert_eq!(retention.period().as_str(), "P1Y");
    assert_eq!(retention.then(), RetentionAction::Delete);
}

#[test]
fn docs_list_every_error_code_and_category() {
    let catalog_md = include_str!("../../../../docs/catalog.md");
    for code in ErrorCode::ALL {
        let serialized = serde_json::to_value(code).unwrap();
        assert_eq!(serialized, code.as_str());
        assert!(
            catalog_md.contains(&format!("| `{code}` |")),
            "docs/catalog.md lacks {code}"
        );
    }
    let taxonomy_md = include_str!("../../../../docs/taxonomy.md");
    for category in taxonomy::all() {
        let row = format!(
            "`{category}` | {} | {} |",
            category.name_nb(),
            category.name()
        );
        assert!(taxonomy_md.contains(&row), "docs/taxonomy.md lacks {row}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_input_never_panics(input in "\\PC{0,200}") {
        let _ = Catalog::from_yaml(&input);
    }

    /// Deleting or duplicating any line of the example yields a valid catalog or problems
    /// that each say where and what.
    #[test]
    fn damaged_example_reports_placed_problems(line in 0usize..400, duplicate in any::<bool>()) {
        let lines: Vec<&str> = EXAMPLE.lines().collect();
        let index = line % lines.len();
        let mut damaged: Vec<&str> = lines.clone();
        if duplicate {
            damaged.insert(index, lines[index]);
        } else {
            damaged.remove(index);
        }
        if let Err(errors) = Catalog::from_yaml(&damaged.join("\n")) {
            prop_assert!(!errors.is_empty());
            for error in &errors {
                prop_assert!(!error.message.is_empty());
                prop_assert!(error.line.is_some(), "{} has no line", error);
            }
        }
    }
}

const NAVN: &str = "      - name: navn\n        type: string\n";

#[test]
fn renamed_field_keeps_its_old_name_as_an_alias() {
    let yaml = edit(&[(
        NAVN,
        "      - name: fullt_navn\n        renamed_from: navn\n        type: string\n",
    )]);
    let catalog = Catalog::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let personer = catalog.collection("personer").unwrap();
    let field = personer.field("fullt_navn").unwrap();
    assert_eq!(field.renamed_from().map(|n| n.as_str()), Some("navn"));
    assert!(personer.field("navn").is_none(), "the old name is no field");
    assert_eq!(
        personer.resolve_field("navn").map(|f| f.name().as_str()),
        Some("fullt_navn")
    );
    assert_eq!(
        personer
            .resolve_field("fullt_navn")
            .map(|f| f.name().as_str()),
        Some("fullt_navn")
    );
    assert!(personer.field("fnr").unwrap().renamed_from().is_none());
}

#[test]
fn renamed_from_must_name_a_field_the_collection_no_longer_has() {
    let cases: [(&str, &str, ErrorCode, &str); 4] = [
        // Another field of the collection still has the old name.
        (
            "      - name: fullt_navn\n        renamed_from: epost\n        type: string\n",
            "collections[0].fields[1].renamed_from",
            ErrorCode::RenamedFrom,
            "still has a field named \"epost\"",
        ),
        // Its own name.
        (
            "      - name: navn\n        renamed_from: navn\n        type: string\n",
            "collections[0].fields[1].renamed_from",
            ErrorCode::RenamedFrom,
            "named \"navn\" already",
        ),
        // Not a field name.
        (
            "      - name: fullt_navn\n        renamed_from: Fullt Navn\n        type: string\n",
            "collections[0].fields[1].renamed_from",
            ErrorCode::InvalidName,
            "previous name",
        ),
        // Reserved.
        (
            "      - name: fullt_navn\n        renamed_from: dv_navn\n        type: string\n",
            "collections[0].fields[1].renamed_from",
            ErrorCode::InvalidName,
            "previous name",
        ),
    ];
    for (replacement, path, code, words) in cases {
        let errors = errors_of(&edit(&[(NAVN, replacement)]));
        let found: Vec<_> = errors.iter().collect();
        assert_eq!(found.len(), 1, "{replacement}: {errors}");
        assert_eq!(found[0].path, path, "{replacement}");
        assert_eq!(found[0].code, code, "{replacement}: {errors}");
        assert!(found[0].message.contains(words), "{errors}");
        assert!(found[0].line.is_some(), "{errors}");
    }

    // Two fields renamed from one name: the old values can go to one of them only.
    let errors = errors_of(&edit(&[
        (
            NAVN,
            "      - name: fornavn\n        renamed_from: gammelt_navn\n        type: string\n",
        ),
        (
            "      - name: epost\n",
            "      - name: e_post\n        renamed_from: gammelt_navn\n",
        ),
    ]));
    let found: Vec<_> = errors.iter().collect();
    assert_eq!(found.len(), 1, "{errors}");
    assert_eq!(found[0].path, "collections[0].fields[2].renamed_from");
    assert_eq!(found[0].code, ErrorCode::Duplicate);
}
