//! The data subject's controls at the decision point: restriction, objection and consent,
//! checked with `controls::check` in that order.

use datavern_core::access::{
    self, AccessRequest, ConsentCheck, ConsentState, Grant, Principal, PrincipalId,
};
use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::classification::Classification;
use datavern_core::controls::{self, ControlNeeds, RestrictionReason, SubjectControls};

const EXAMPLE: &str = include_str!("../../../../examples/kommune.yaml");

fn catalog() -> Catalog {
    Catalog::from_yaml(EXAMPLE).unwrap()
}

fn grant(catalog: &Catalog, operation: &str, collection: &str, purpose: &str) -> Grant {
    let bergen = Kommunenummer::parse("4601").unwrap();
    let principal = Principal::new(
        PrincipalId::parse("saksbehandler").unwrap(),
        bergen,
        Classification::Begrenset,
    )
    .with_purposes(catalog.purposes().iter().map(|p| p.id().clone()));
    let request = match operation {
        "create" => AccessRequest::create(collection, bergen),
        "read" => AccessRequest::read(collection, bergen),
        "update" => AccessRequest::update(collection, bergen),
        "delete" => AccessRequest::delete(collection, bergen),
        _ => AccessRequest::list(collection, bergen),
    }
    .with_purpose(Some(purpose))
    .with_consent(ConsentState::Deferred);
    access::decide(catalog, &principal, &request).unwrap()
}

/// `check` for `operation` on `collection` for `purpose` with `controls`: `Ok` or the code.
#[track_caller]
fn check(
    operation: &str,
    collection: &str,
    purpose: &str,
    controls: SubjectControls,
    expected: Result<(), &str>,
) {
    let catalog = catalog();
    let grant = grant(&catalog, operation, collection, purpose);
    let got = controls::check(&catalog, &grant, &controls).map_err(|d| d.code());
    assert_eq!(got, expected, "{operation} {collection} for {purpose}");
}

const RESTRICTED: SubjectControls = SubjectControls {
    consent: ConsentState::Unknown,
    restricted: true,
    objected: false,
};
const OBJECTED: SubjectControls = SubjectControls {
    consent: ConsentState::Unknown,
    restricted: false,
    objected: true,
};
const NOTHING: SubjectControls = SubjectControls {
    consent: ConsentState::Unknown,
    restricted: false,
    objected: false,
};

#[test]
fn restriction_allows_only_reads_for_purposes_allowed_under_restriction() {
    check("read", "saker", "klagebehandling", RESTRICTED, Ok(()));
    check("read", "saker", "arkivering", RESTRICTED, Ok(()));
    check("list", "saker", "arkivering", RESTRICTED, Ok(()));
    check(
        "read",
        "saker",
        "helse_omsorg",
        RESTRICTED,
        Err("processing_restricted"),
    );
    check(
        "list",
        "saker",
        "helse_omsorg",
        RESTRICTED,
        Err("processing_restricted"),
    );
    for write in ["create", "update", "delete"] {
        check(
            write,
            "saker",
            "klagebehandling",
            RESTRICTED,
            Err("processing_restricted"),
        );
        check(
            write,
            "saker",
            "arkivering",
            RESTRICTED,
            Err("processing_restricted"),
        );
    }
    check("update", "saker", "helse_omsorg", NOTHING, Ok(()));
}

#[test]
fn objection_stops_public_task_and_legitimate_interest_purposes_only() {
    check(
        "read",
        "saker",
        "helse_omsorg",
        OBJECTED,
        Err("objection_upheld"),
    );
    check(
        "update",
        "saker",
        "klagebehandling",
        OBJECTED,
        Err("objection_upheld"),
    );
    check(
        "read",
        "innbyggere",
        "kommunikasjon",
        OBJECTED,
        Err("objection_upheld"),
    );
    // 6(1)(c): a legal obligation is not open to objection.
    check("read", "saker", "arkivering", OBJECTED, Ok(()));
    check("update", "saker", "arkivering", OBJECTED, Ok(()));
}

#[test]
fn restriction_is_checked_before_objection_and_consent() {
    let both = SubjectControls {
        objected: true,
        ..RESTRICTED
    };
    check(
        "read",
        "saker",
        "helse_omsorg",
        both,
        Err("processing_restricted"),
    );
    let catalog = catalog();
    let update = grant(&catalog, "update", "saker", "klagebehandling");
    let denial = controls::check(&catalog, &update, &RESTRICTED).unwrap_err();
    assert!(denial.to_string().contains("Art. 18"), "{denial}");
    assert!(
        denial
            .to_string()
            .contains("cannot be created, changed or deleted")
    );
    let read = grant(&catalog, "read", "saker", "helse_omsorg");
    let denial = controls::check(&catalog, &read, &OBJECTED).unwrap_err();
    assert!(denial.to_string().contains("`helse_omsorg`"), "{denial}");
    assert!(denial.to_string().contains("Art. 21"), "{denial}");
}

#[test]
fn deferred_consent_is_checked_per_record_and_delete_needs_none() {
    let catalog = catalog();
    for operation in ["create", "read", "update", "list"] {
        let grant = grant(&catalog, operation, "nyhetsbrev", "nyhetsbrev");
        assert_eq!(grant.consent(), ConsentCheck::PerRecord, "{operation}");
    }
    let granted = SubjectControls {
        consent: ConsentState::Granted,
        ..NOTHING
    };
    let withdrawn = SubjectControls {
        consent: ConsentState::NotGranted,
        ..NOTHING
    };
    check("read", "nyhetsbrev", "nyhetsbrev", granted, Ok(()));
    check(
        "read",
        "nyhetsbrev",
        "nyhetsbrev",
        withdrawn,
        Err("consent_required"),
    );
    check(
        "update",
        "nyhetsbrev",
        "nyhetsbrev",
        NOTHING,
        Err("consent_required"),
    );
    check("delete", "nyhetsbrev", "nyhetsbrev", withdrawn, Ok(()));
    // Consent never matters for a purpose with another basis.
    check("read", "innbyggere", "innbyggerregister", withdrawn, Ok(()));
}

#[test]
fn needs_only_what_the_purpose_calls_for() {
    let catalog = catalog();
    let needs = |collection, purpose| {
        controls::needs(&catalog, &grant(&catalog, "read", collection, purpose))
    };
    assert_eq!(
        needs("innbyggere", "innbyggerregister"),
        ControlNeeds {
            consent: false,
            objection: true
        }
    );
    assert_eq!(needs("saker", "arkivering"), ControlNeeds::default());
    assert_eq!(
        needs("nyhetsbrev", "nyhetsbrev"),
        ControlNeeds {
            consent: true,
            objection: false
        }
    );
}

#[test]
fn restriction_reasons_round_trip_and_unknown_ones_are_named() {
    for reason in RestrictionReason::ALL {
        assert_eq!(reason.as_str().parse::<RestrictionReason>(), Ok(reason));
    }
    let err = "because".parse::<RestrictionReason>().unwrap_err();
    assert!(err.to_string().contains("accuracy_contested"), "{err}");
}
