//! Access decisions over the example catalog and small inline catalogs: every denial reason
//! with its code, kind and message, withheld fields per purpose, clearance boundaries,
//! consent, tenant isolation, lookups, audit facts, and properties over random principals.

use std::sync::LazyLock;

use datavern_core::access::{
    self, AccessRequest, AuditFacts, ConsentCheck, ConsentState, Denial, DenialKind,
    InvalidPrincipal, Operation, Outcome, Principal, PrincipalId, Role, WithheldReason,
};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use proptest::prelude::*;

static EXAMPLE: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap()
});

/// Classified data and a purpose whose Art. 9(2) condition is explicit consent.
const GRADED_YAML: &str = r#"version: 1
deployment:
  tenants:
    - { kommunenummer: "4601", name: Bergen kommune }
    - { kommunenummer: "0301", name: Oslo kommune }
  accreditation: HEMMELIG
  storage:
    - { name: primary, kind: database, location: "no" }
purposes:
  - id: beredskap
    description: Kommunal beredskap
    lawful_basis: 6(1)(e)
    legal_reference: sivilbeskyttelsesloven § 15
  - id: undersokelse
    description: Helseundersøkelse for dem som samtykker
    lawful_basis: 6(1)(e)
    legal_reference: folkehelseloven § 5
    special_category_condition: 9(2)(a)
collections:
  - name: beredskapsplaner
    description: Beredskapsplaner
    classification: BEGRENSET
    subjects: none
    purposes: [beredskap]
    fields:
      - { name: tittel, type: string, category: system.operations }
      - { name: detaljer, type: text, category: system.operations, classification: KONFIDENSIELT }
      - name: kode
        type: string
        category: system.operations
        classification: HEMMELIG
        encrypted: true
        searchable: true
  - name: deltakere
    description: Deltakere i helseundersøkelsen
    classification: ÅPEN
    subjects: self
    purposes: [undersokelse]
    retention: { period: P1Y, from: created, then: delete }
    fields:
      - { name: navn, type: string, category: user.name }
      - { name: helse, type: text, category: user.health }
"#;

static GRADED: LazyLock<Catalog> = LazyLock::new(|| Catalog::from_yaml(GRADED_YAML).unwrap());

fn bergen() -> Kommunenummer {
    Kommunenummer::parse("4601").unwrap()
}

fn oslo() -> Kommunenummer {
    Kommunenummer::parse("0301").unwrap()
}

fn principal(clearance: Classification, purposes: &[&str]) -> Principal {
    Principal::new(PrincipalId::parse("app-1").unwrap(), bergen(), clearance)
        .with_purposes(purposes.iter().map(|p| PurposeId::parse(p).unwrap()))
}

/// Every purpose of the example, ÅPEN clearance (all example data is ÅPEN).
fn everything() -> Principal {
    let purposes: Vec<&str> = EXAMPLE.purposes().iter().map(|p| p.id().as_str()).collect();
    principal(Classification::Apen, &purposes)
}

// ---------------------------------------------------------------------------------------------
// Denials: code, kind and message

#[track_caller]
fn check_denied(
    catalog: &Catalog,
    principal: &Principal,
    request: AccessRequest<'_>,
    code: &str,
    kind: DenialKind,
    message: &str,
) {
    let denial = access::decide(catalog, principal, &request).unwrap_err();
    assert_eq!(denial.code(), code, "{denial}");
    assert_eq!(denial.kind(), kind, "{code}");
    assert_eq!(denial.to_string(), message, "{code}");
    assert!(Denial::CODES.contains(&denial.code()));
}

#[test]
fn every_denial_reason_has_its_code_kind_and_message() {
    let all = everything();
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("innbygere", bergen()).with_purpose(Some("kommunikasjon")),
        "collection_unknown",
        DenialKind::NotFound,
        "there is no collection `innbygere`; did you mean `innbyggere`?",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("Innbyggere!", bergen()).with_purpose(Some("kommunikasjon")),
        "collection_unknown",
        DenialKind::NotFound,
        "there is no such collection; did you mean `innbyggere`?",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("<script>", bergen()).with_purpose(Some("kommunikasjon")),
        "collection_unknown",
        DenialKind::NotFound,
        "there is no such collection; GET /v1/catalog lists the collections",
    );
    let oslo_app = Principal::new(
        PrincipalId::parse("oslo-app").unwrap(),
        oslo(),
        Classification::Apen,
    )
    .with_purposes([PurposeId::parse("kommunikasjon").unwrap()]);
    check_denied(
        &EXAMPLE,
        &oslo_app,
        AccessRequest::read("innbyggere", oslo()).with_purpose(Some("kommunikasjon")),
        "tenant_unknown",
        DenialKind::Forbidden,
        "your credentials act for tenant 0301, which this deployment does not serve; ask the \
         operator to add it to the catalog or to correct the credentials",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::list("barnehagesoknader", bergen()),
        "purpose_missing",
        DenialKind::InvalidRequest,
        "no purpose given: send the purpose of processing in the Datavern-Purpose header; \
         collection `barnehagesoknader` serves `barnehageopptak`",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::list("innbyggere", bergen()).with_purpose(Some("  ")),
        "purpose_missing",
        DenialKind::InvalidRequest,
        "no purpose given: send the purpose of processing in the Datavern-Purpose header; \
         collection `innbyggere` serves `innbyggerregister`, `kommunikasjon`, \
         `barnehageopptak` and `helse_omsorg`",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("innbyggere", bergen()).with_purpose(Some("kommunikasjn")),
        "purpose_unknown",
        DenialKind::InvalidRequest,
        "purpose `kommunikasjn` is not declared in the catalog; did you mean `kommunikasjon`?",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("innbyggere", bergen()).with_purpose(Some("1=1")),
        "purpose_unknown",
        DenialKind::InvalidRequest,
        "the Datavern-Purpose header is not a purpose id (lowercase letters, digits, `_` and \
         `-`); GET /v1/catalog lists the purposes",
    );
    check_denied(
        &EXAMPLE,
        &principal(Classification::Apen, &["kommunikasjon"]),
        AccessRequest::read("innbyggere", bergen()).with_purpose(Some("innbyggerregister")),
        "purpose_not_allowed",
        DenialKind::Forbidden,
        "your credentials do not allow purpose `innbyggerregister`; they allow `kommunikasjon` \
         (ask the administrator to grant the purpose if your task needs it)",
    );
    check_denied(
        &EXAMPLE,
        &principal(Classification::Apen, &[]),
        AccessRequest::read("innbyggere", bergen()).with_purpose(Some("kommunikasjon")),
        "purpose_not_allowed",
        DenialKind::Forbidden,
        "your credentials do not allow purpose `kommunikasjon`; they allow no purpose (ask \
         the administrator to grant the purpose if your task needs it)",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("innbyggere", bergen()).with_purpose(Some("nyhetsbrev")),
        "purpose_not_served",
        DenialKind::Forbidden,
        "collection `innbyggere` is not processed for purpose `nyhetsbrev`; it serves \
         `innbyggerregister`, `kommunikasjon`, `barnehageopptak` and `helse_omsorg`",
    );
    check_denied(
        &GRADED,
        &principal(Classification::Apen, &["beredskap"]),
        AccessRequest::read("beredskapsplaner", bergen()).with_purpose(Some("beredskap")),
        "clearance_insufficient",
        DenialKind::Forbidden,
        "collection `beredskapsplaner` is classified BEGRENSET, above your clearance ÅPEN; a \
         principal cleared for BEGRENSET is needed",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::lookup("innbyggere", bergen(), "fodselsnr")
            .with_purpose(Some("innbyggerregister")),
        "field_unknown",
        DenialKind::InvalidRequest,
        "collection `innbyggere` has no field `fodselsnr`",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::lookup("innbyggere", bergen(), "epots")
            .with_purpose(Some("innbyggerregister")),
        "field_unknown",
        DenialKind::InvalidRequest,
        "collection `innbyggere` has no field `epots`; did you mean `epost`?",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::lookup("innbyggere", bergen(), "etternavn")
            .with_purpose(Some("kommunikasjon")),
        "field_not_searchable",
        DenialKind::InvalidRequest,
        "field `etternavn` of collection `innbyggere` cannot be looked up (it has no blind \
         index); look up by `fodselsnummer` and `epost` instead",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::lookup("innbyggere", bergen(), "fodselsnummer")
            .with_purpose(Some("kommunikasjon")),
        "field_not_readable",
        DenialKind::Forbidden,
        "purpose `kommunikasjon` may not read field `fodselsnummer`, so it may not search by \
         it either; the field is readable for `innbyggerregister`, `barnehageopptak` and \
         `helse_omsorg`",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("innbyggere", oslo()).with_purpose(Some("kommunikasjon")),
        "tenant_mismatch",
        DenialKind::NotFound,
        "there is no record with this id in collection `innbyggere`",
    );
    check_denied(
        &EXAMPLE,
        &all,
        AccessRequest::read("nyhetsbrev", bergen()).with_purpose(Some("nyhetsbrev")),
        "consent_required",
        DenialKind::Forbidden,
        "purpose `nyhetsbrev` rests on the data subject's consent (GDPR Art. 6(1)(a) or \
         9(2)(a)), and no granted consent is recorded; record the consent first, or use a \
         purpose with another basis",
    );

    let grant = access::decide(
        &EXAMPLE,
        &principal(Classification::Apen, &["kommunikasjon"]),
        &AccessRequest::update("innbyggere", bergen()).with_purpose(Some("kommunikasjon")),
    )
    .unwrap();
    let denial = grant.check_write(["adresse", "fodselsnummer"]).unwrap_err();
    assert_eq!(denial.code(), "field_not_writable");
    assert_eq!(denial.kind(), DenialKind::Forbidden);
    assert_eq!(
        denial.to_string(),
        "purpose `kommunikasjon` may not write `fodselsnummer` (not among the field's \
         purposes); remove these fields from the body or use a purpose that may"
    );
}

#[test]
fn every_code_is_listed_once() {
    let mut codes = Denial::CODES.to_vec();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), Denial::CODES.len());
}

// ---------------------------------------------------------------------------------------------
// Fields: readable, withheld, writable

#[test]
fn withheld_fields_follow_the_purpose() {
    for (collection, purpose, withheld) in [
        ("innbyggere", "innbyggerregister", &[][..]),
        ("innbyggere", "helse_omsorg", &[]),
        ("innbyggere", "kommunikasjon", &["fodselsnummer"]),
        ("barnehagesoknader", "barnehageopptak", &[]),
        ("saker", "helse_omsorg", &[]),
        ("saker", "arkivering", &["diagnose"]),
        (
            "ansatte",
            "arbeidsforhold",
            &[
                "fodselsnummer",
                "kontonummer",
                "fagforening",
                "politiattest_kontrollert",
            ],
        ),
        ("ansatte", "lonn", &["politiattest_kontrollert"]),
        (
            "ansatte",
            "politiattest",
            &["fodselsnummer", "lonn", "kontonummer", "fagforening"],
        ),
    ] {
        let request = AccessRequest::read(collection, bergen()).with_purpose(Some(purpose));
        let grant = access::decide(&EXAMPLE, &everything(), &request).unwrap();
        let names: Vec<&str> = grant.withheld().iter().map(|w| w.field.as_str()).collect();
        assert_eq!(names, withheld, "{collection} for {purpose}");
        assert!(
            grant
                .withheld()
                .iter()
                .all(|w| w.reason == WithheldReason::Purpose)
        );
        // Readable and withheld partition the fields, in catalog order.
        let fields = EXAMPLE.collection(collection).unwrap().fields();
        assert_eq!(
            grant.readable().len() + grant.withheld().len(),
            fields.len()
        );
        for field in fields {
            let name = field.name().as_str();
            assert_eq!(grant.may_read(name), !withheld.contains(&name), "{name}");
            assert_eq!(grant.may_write(name), grant.may_read(name), "{name}");
        }
        assert_eq!(grant.writable(), grant.readable());
    }
}

#[test]
fn clearance_equal_to_the_classification_is_enough_one_below_is_not() {
    let plans = |clearance| {
        access::decide(
            &GRADED,
            &principal(clearance, &["beredskap"]),
            &AccessRequest::read("beredskapsplaner", bergen()).with_purpose(Some("beredskap")),
        )
    };
    // One below the collection's BEGRENSET: denied outright.
    assert_eq!(
        plans(Classification::Apen).unwrap_err().code(),
        "clearance_insufficient"
    );
    // Equal to the collection: granted, the fields classified above are withheld.
    let grant = plans(Classification::Begrenset).unwrap();
    assert_eq!(grant.readable(), ["tittel"]);
    let withheld: Vec<_> = grant
        .withheld()
        .iter()
        .map(|w| (w.field.as_str(), w.reason))
        .collect();
    assert_eq!(
        withheld,
        [
            ("detaljer", WithheldReason::Clearance),
            ("kode", WithheldReason::Clearance)
        ]
    );
    // Equal to `detaljer`, one below `kode`.
    let grant = plans(Classification::Konfidensielt).unwrap();
    assert_eq!(grant.readable(), ["tittel", "detaljer"]);
    assert_eq!(grant.withheld().len(), 1);
    // Equal to the highest field: everything.
    let grant = plans(Classification::Hemmelig).unwrap();
    assert_eq!(grant.readable(), ["tittel", "detaljer", "kode"]);
    assert!(grant.withheld().is_empty());
    assert_eq!(
        plans(Classification::StrengtHemmelig)
            .unwrap()
            .readable()
            .len(),
        3
    );
}

#[test]
fn fields_above_clearance_cannot_be_written_searched_or_deleted() {
    let cleared = principal(Classification::Konfidensielt, &["beredskap"]);
    let grant = access::decide(
        &GRADED,
        &cleared,
        &AccessRequest::create("beredskapsplaner", bergen()).with_purpose(Some("beredskap")),
    )
    .unwrap();
    assert!(grant.check_write(["tittel", "detaljer"]).is_ok());
    let denial = grant.check_write(["tittel", "kode"]).unwrap_err();
    assert_eq!(
        denial,
        Denial::FieldNotWritable {
            purpose: PurposeId::parse("beredskap").unwrap(),
            fields: vec![("kode".parse().unwrap(), WithheldReason::Clearance)],
        }
    );
    assert!(
        denial
            .to_string()
            .contains("`kode` (classified above your clearance)")
    );
    // Names that are no field are record validation's business.
    assert!(grant.check_write(["no_such_field"]).is_ok());

    let denial = access::decide(
        &GRADED,
        &cleared,
        &AccessRequest::delete("beredskapsplaner", bergen()).with_purpose(Some("beredskap")),
    )
    .unwrap_err();
    assert_eq!(
        denial.to_string(),
        "field `kode` of collection `beredskapsplaner` is classified HEMMELIG, above your \
         clearance KONFIDENSIELT; a principal cleared for HEMMELIG is needed"
    );
    let denial = access::decide(
        &GRADED,
        &cleared,
        &AccessRequest::lookup("beredskapsplaner", bergen(), "kode")
            .with_purpose(Some("beredskap")),
    )
    .unwrap_err();
    assert_eq!(denial.code(), "clearance_insufficient");

    let top = principal(Classification::Hemmelig, &["beredskap"]);
    for request in [
        AccessRequest::delete("beredskapsplaner", bergen()),
        AccessRequest::lookup("beredskapsplaner", bergen(), "kode"),
    ] {
        let grant =
            access::decide(&GRADED, &top, &request.with_purpose(Some("beredskap"))).unwrap();
        assert!(grant.withheld().is_empty());
    }
}

#[test]
fn lookup_grant_names_its_field() {
    let grant = access::decide(
        &EXAMPLE,
        &everything(),
        &AccessRequest::lookup("innbyggere", bergen(), "fodselsnummer")
            .with_purpose(Some("innbyggerregister")),
    )
    .unwrap();
    assert_eq!(grant.operation(), Operation::Lookup);
    assert_eq!(
        grant.lookup_field().map(|f| f.as_str()),
        Some("fodselsnummer")
    );
    let grant = access::decide(
        &EXAMPLE,
        &everything(),
        &AccessRequest::read("innbyggere", bergen()).with_purpose(Some("innbyggerregister")),
    )
    .unwrap();
    assert_eq!(grant.lookup_field(), None);
}

// ---------------------------------------------------------------------------------------------
// Consent

#[test]
fn consent_purpose_is_refused_unless_consent_is_granted() {
    let subscriber_app = principal(Classification::Apen, &["nyhetsbrev"]);
    for operation in [Operation::Create, Operation::Read, Operation::Update] {
        for (state, granted) in [
            (ConsentState::Granted, true),
            (ConsentState::NotGranted, false),
            (ConsentState::Unknown, false),
        ] {
            let request = match operation {
                Operation::Create => AccessRequest::create("nyhetsbrev", bergen()),
                Operation::Read => AccessRequest::read("nyhetsbrev", bergen()),
                _ => AccessRequest::update("nyhetsbrev", bergen()),
            }
            .with_purpose(Some("nyhetsbrev"))
            .with_consent(state);
            let decision = access::decide(&EXAMPLE, &subscriber_app, &request);
            match decision {
                Ok(grant) => {
                    assert!(granted, "{operation} {state:?}");
                    assert_eq!(grant.consent(), ConsentCheck::Granted);
                }
                Err(denial) => {
                    assert!(!granted, "{operation} {state:?}");
                    assert_eq!(
                        denial,
                        Denial::ConsentRequired {
                            purpose: PurposeId::parse("nyhetsbrev").unwrap(),
                            state,
                        }
                    );
                }
            }
        }
    }
    let withdrawn = access::decide(
        &EXAMPLE,
        &subscriber_app,
        &AccessRequest::read("nyhetsbrev", bergen())
            .with_purpose(Some("nyhetsbrev"))
            .with_consent(ConsentState::NotGranted),
    )
    .unwrap_err();
    assert!(
        withdrawn
            .to_string()
            .contains("consent has not been given or was withdrawn")
    );

    // A subscriber who withdrew must be deletable: that is what withdrawal asks for.
    for state in [ConsentState::NotGranted, ConsentState::Unknown] {
        let grant = access::decide(
            &EXAMPLE,
            &subscriber_app,
            &AccessRequest::delete("nyhetsbrev", bergen())
                .with_purpose(Some("nyhetsbrev"))
                .with_consent(state),
        )
        .unwrap();
        assert_eq!(grant.consent(), ConsentCheck::NotRequired);
    }
}

#[test]
fn explicit_consent_under_art_9_is_checked_like_consent() {
    let app = principal(Classification::Apen, &["undersokelse"]);
    let read = |state| {
        access::decide(
            &GRADED,
            &app,
            &AccessRequest::read("deltakere", bergen())
                .with_purpose(Some("undersokelse"))
                .with_consent(state),
        )
    };
    assert_eq!(
        read(ConsentState::Unknown).unwrap_err().code(),
        "consent_required"
    );
    assert_eq!(
        read(ConsentState::Granted).unwrap().readable(),
        ["navn", "helse"]
    );
}

#[test]
fn lists_and_lookups_of_consent_purposes_admit_records_one_by_one() {
    let app = principal(Classification::Apen, &["nyhetsbrev"]);
    let grant = access::decide(
        &EXAMPLE,
        &app,
        // The request's consent is ignored: the records' subjects are not known yet.
        &AccessRequest::list("nyhetsbrev", bergen())
            .with_purpose(Some("nyhetsbrev"))
            .with_consent(ConsentState::Granted),
    )
    .unwrap();
    assert_eq!(grant.consent(), ConsentCheck::PerRecord);
    assert!(grant.admits(ConsentState::Granted));
    assert!(!grant.admits(ConsentState::NotGranted));
    assert!(!grant.admits(ConsentState::Unknown));

    // Without a consent basis, every record is admitted and consent is never asked for.
    let grant = access::decide(
        &EXAMPLE,
        &everything(),
        &AccessRequest::list("innbyggere", bergen()).with_purpose(Some("kommunikasjon")),
    )
    .unwrap();
    assert_eq!(grant.consent(), ConsentCheck::NotRequired);
    assert!(grant.admits(ConsentState::NotGranted));
}

// ---------------------------------------------------------------------------------------------
// Tenants

#[test]
fn another_tenants_record_is_refused_like_a_missing_one() {
    let two_tenants = principal(Classification::Hemmelig, &["beredskap", "undersokelse"]);
    for operation in [Operation::Read, Operation::Update, Operation::Delete] {
        let request = match operation {
            Operation::Read => AccessRequest::read("deltakere", oslo()),
            Operation::Update => AccessRequest::update("deltakere", oslo()),
            _ => AccessRequest::delete("deltakere", oslo()),
        };
        // Not a consent denial: the other tenant's subject's consent is never consulted.
        let denial = access::decide(
            &GRADED,
            &two_tenants,
            &request
                .clone()
                .with_purpose(Some("undersokelse"))
                .with_consent(ConsentState::NotGranted),
        )
        .unwrap_err();
        assert_eq!(denial.code(), "tenant_mismatch");
        assert_eq!(denial.kind(), DenialKind::NotFound);
        // Every check that does not depend on the record comes first, so the answer for
        // another tenant's id equals the answer for an id that exists nowhere.
        let own = request.clone().with_purpose(Some("beredskap"));
        let mine = AccessRequest::read("deltakere", bergen()).with_purpose(Some("beredskap"));
        assert_eq!(
            access::decide(&GRADED, &two_tenants, &own)
                .unwrap_err()
                .code(),
            access::decide(&GRADED, &two_tenants, &mine)
                .unwrap_err()
                .code(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Principals and audit

#[test]
fn principal_ids_are_never_national_ids() {
    assert_eq!(
        PrincipalId::parse("15108695088"),
        Err(InvalidPrincipal::NationalId)
    );
    assert_eq!(
        PrincipalId::parse("151086 95088").unwrap_err(),
        InvalidPrincipal::Character {
            what: "principal id"
        }
    );
    assert_eq!(
        PrincipalId::parse(" ").unwrap_err(),
        InvalidPrincipal::Empty {
            what: "principal id"
        }
    );
    assert!(PrincipalId::parse(&"a".repeat(257)).is_err());
    assert!(PrincipalId::parse("0190c2a4-5e6f-7a8b-9c0d-1e2f3a4b5c6d").is_ok());
    let message = InvalidPrincipal::NationalId.to_string();
    assert!(!message.contains("15108695088"));

    let principal = principal(
        Classification::Begrenset,
        &["kommunikasjon", "kommunikasjon"],
    )
    .with_roles([Role::parse("saksbehandler").unwrap()]);
    assert_eq!(principal.purposes().len(), 1);
    assert!(principal.has_role("saksbehandler"));
    assert!(!principal.has_role("admin"));
    assert!(principal.may_use("kommunikasjon"));
    assert!(Role::parse("two words").is_err());
}

#[test]
fn audit_facts_name_fields_never_values() {
    let app = principal(Classification::Apen, &["kommunikasjon"]);
    let request = AccessRequest::read("innbyggere", bergen()).with_purpose(Some("kommunikasjon"));
    let grant = access::decide(&EXAMPLE, &app, &request).unwrap();
    let facts = grant.audit();
    assert_eq!(facts.outcome, Outcome::Granted);
    assert_eq!(facts.operation, Operation::Read);
    assert_eq!(
        facts.purpose.as_ref().map(|p| p.as_str()),
        Some("kommunikasjon")
    );
    assert_eq!(
        facts.collection.as_ref().map(|c| c.as_str()),
        Some("innbyggere")
    );
    assert_eq!(facts.fields, grant.readable());
    assert_eq!(facts.withheld, ["fodselsnummer"]);

    let written = ["adresse".parse().unwrap(), "telefon".parse().unwrap()];
    let facts = access::decide(
        &EXAMPLE,
        &app,
        &AccessRequest::update("innbyggere", bergen()).with_purpose(Some("kommunikasjon")),
    )
    .unwrap()
    .audit()
    .with_fields(&written);
    assert_eq!(facts.fields, written);

    let delete = access::decide(
        &EXAMPLE,
        &app,
        &AccessRequest::delete("innbyggere", bergen()).with_purpose(Some("kommunikasjon")),
    )
    .unwrap()
    .audit();
    assert_eq!(delete.fields.len(), 8, "a delete touches every field");

    let request = AccessRequest::lookup("innbyggere", bergen(), "fodselsnummer")
        .with_purpose(Some("kommunikasjon"));
    let denial = access::decide(&EXAMPLE, &app, &request).unwrap_err();
    let facts = AuditFacts::denied(&app, &request, &denial);
    assert_eq!(facts.outcome, Outcome::Denied("field_not_readable"));
    assert_eq!(facts.outcome.as_str(), "denied");
    assert_eq!(facts.outcome.denial_code(), Some("field_not_readable"));
    assert_eq!(facts.fields, ["fodselsnummer"]);
    assert_eq!(facts.tenant, bergen());

    // Garbage in the header or path is not copied into the audit log.
    let request = AccessRequest::read("inn byggere", bergen()).with_purpose(Some("x y"));
    let denial = access::decide(&EXAMPLE, &app, &request).unwrap_err();
    let facts = AuditFacts::denied(&app, &request, &denial);
    assert_eq!((facts.collection, facts.purpose), (None, None));
}

// ---------------------------------------------------------------------------------------------
// Properties

/// A random principal and request over one of the two catalogs.
fn scenario() -> impl Strategy<
    Value = (
        bool,
        Classification,
        Vec<bool>,
        usize,
        usize,
        usize,
        usize,
        ConsentState,
    ),
> {
    (
        any::<bool>(),
        prop::sample::select(Classification::ALL.to_vec()),
        prop::collection::vec(any::<bool>(), 16),
        0usize..8,
        0usize..16,
        0usize..6,
        0usize..16,
        prop::sample::select(vec![
            ConsentState::Granted,
            ConsentState::NotGranted,
            ConsentState::Unknown,
        ]),
    )
}

fn request_for<'a>(
    catalog: &'a Catalog,
    collection: usize,
    purpose: usize,
    operation: usize,
    field: usize,
    consent: ConsentState,
) -> AccessRequest<'a> {
    let collection = &catalog.collections()[collection % catalog.collections().len()];
    let name = collection.name().as_str();
    let field = collection.fields()[field % collection.fields().len()]
        .name()
        .as_str();
    let purpose = catalog.purposes()[purpose % catalog.purposes().len()]
        .id()
        .as_str();
    let request = match Operation::ALL[operation] {
        Operation::Create => AccessRequest::create(name, bergen()),
        Operation::Read => AccessRequest::read(name, bergen()),
        Operation::Update => AccessRequest::update(name, bergen()),
        Operation::Delete => AccessRequest::delete(name, bergen()),
        Operation::List => AccessRequest::list(name, bergen()),
        Operation::Lookup => AccessRequest::lookup(name, bergen(), field),
    };
    request.with_purpose(Some(purpose)).with_consent(consent)
}

proptest! {
    #[test]
    fn a_grant_never_exposes_a_field_above_clearance_or_outside_the_purpose(
        (graded, clearance, allowed, collection, purpose, operation, field, consent) in scenario()
    ) {
        let catalog: &Catalog = if graded { &GRADED } else { &EXAMPLE };
        let purposes: Vec<&str> = catalog
            .purposes()
            .iter()
            .zip(&allowed)
            .filter(|(_, allowed)| **allowed)
            .map(|(p, _)| p.id().as_str())
            .collect();
        let principal = principal(clearance, &purposes);
        let request = request_for(catalog, collection, purpose, operation, field, consent);
        if let Ok(grant) = access::decide(catalog, &principal, &request) {
            let collection = catalog.collection(grant.collection().as_str()).unwrap();
            prop_assert!(collection.classification() <= clearance);
            for name in grant.readable().iter().chain(grant.writable()) {
                let field = collection.field(name.as_str()).unwrap();
                prop_assert!(field.classification() <= clearance, "{name} exposed");
                prop_assert!(field.readable_for(grant.purpose().as_str()), "{name} exposed");
            }
            for withheld in grant.withheld() {
                prop_assert!(!grant.may_read(withheld.field.as_str()));
                prop_assert!(grant.check_write([withheld.field.as_str()]).is_err());
            }
            prop_assert!(principal.may_use(grant.purpose().as_str()));
        }
    }

    #[test]
    fn a_principal_without_the_purpose_is_always_denied(
        (graded, clearance, allowed, collection, purpose, operation, field, consent) in scenario()
    ) {
        let catalog: &Catalog = if graded { &GRADED } else { &EXAMPLE };
        let request = request_for(catalog, collection, purpose, operation, field, consent);
        let asked = request.purpose().unwrap();
        let purposes: Vec<&str> = catalog
            .purposes()
            .iter()
            .zip(&allowed)
            .filter(|(p, allowed)| **allowed && p.id().as_str() != asked)
            .map(|(p, _)| p.id().as_str())
            .collect();
        let principal = principal(clearance, &purposes);
        let denial = access::decide(catalog, &principal, &request).unwrap_err();
        prop_assert_eq!(denial.code(), "purpose_not_allowed");
    }
}
