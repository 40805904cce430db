//! Consent events and the state folded from them.

use datavern_core::access::{ConsentState, Principal, PrincipalId, Role};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::consent::{
    self, ConsentAction, ConsentChannel, ConsentError, ConsentEvent, EvidenceRef, NoticeVersion,
};

fn kommune() -> Catalog {
    Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap()
}

/// The example catalog with grants to `nyhetsbrev` reserved to the role `consent_recorder`.
fn kommune_with_recorder_role() -> Catalog {
    let yaml = include_str!("../../../../examples/kommune.yaml").replacen(
        "    lawful_basis: 6(1)(a)\n",
        "    lawful_basis: 6(1)(a)\n    consent:\n      recorder_role: consent_recorder\n",
        1,
    );
    Catalog::from_yaml(&yaml).unwrap()
}

fn purpose(id: &str) -> PurposeId {
    PurposeId::parse(id).unwrap()
}

fn event(purpose_id: &str, action: ConsentAction, at: &str) -> ConsentEvent {
    let version = match action {
        ConsentAction::Grant => Some(NoticeVersion::parse("2026-01").unwrap()),
        ConsentAction::Withdraw => None,
    };
    ConsentEvent::new(
        purpose(purpose_id),
        action,
        version,
        ConsentChannel::Web,
        at.parse().unwrap(),
        "minside",
    )
    .unwrap()
}

#[test]
fn only_purposes_resting_on_consent_take_consent() {
    let catalog = kommune();
    assert!(consent::consent_purpose(&catalog, "nyhetsbrev").is_ok());
    let err = consent::consent_purpose(&catalog, "kommunikasjon").unwrap_err();
    assert_eq!(
        err.to_string(),
        "purpose `kommunikasjon` rests on 6(1)(e) (public task), not consent: consent is \
         recorded only for purposes whose lawful basis is 6(1)(a)"
    );
    assert_eq!(
        consent::consent_purpose(&catalog, "reklame").unwrap_err(),
        ConsentError::UnknownPurpose("reklame".to_owned())
    );
}

#[test]
fn the_latest_event_decides_and_no_event_is_not_granted() {
    let p = purpose("nyhetsbrev");
    let check = |history: &[ConsentEvent], expected| {
        assert_eq!(consent::state(history, &p), expected, "{history:?}");
    };
    check(&[], ConsentState::NotGranted);
    let grant = event("nyhetsbrev", ConsentAction::Grant, "2026-03-01T10:00:00Z");
    let withdraw = event(
        "nyhetsbrev",
        ConsentAction::Withdraw,
        "2026-04-01T10:00:00Z",
    );
    let regrant = event("nyhetsbrev", ConsentAction::Grant, "2026-05-01T10:00:00Z");
    check(std::slice::from_ref(&grant), ConsentState::Granted);
    check(&[grant.clone(), withdraw.clone()], ConsentState::NotGranted);
    // Order of the slice does not matter, time does.
    check(&[withdraw.clone(), grant.clone()], ConsentState::NotGranted);
    check(
        &[regrant, withdraw.clone(), grant.clone()],
        ConsentState::Granted,
    );
    // Another purpose's events do not count.
    let other = event(
        "arbeidsforhold",
        ConsentAction::Grant,
        "2026-06-01T10:00:00Z",
    );
    check(&[withdraw.clone(), other], ConsentState::NotGranted);
    // Same instant: the one recorded later (later in the history) wins.
    let same = event(
        "nyhetsbrev",
        ConsentAction::Withdraw,
        "2026-03-01T10:00:00Z",
    );
    check(&[grant.clone(), same.clone()], ConsentState::NotGranted);
    check(&[same, grant], ConsentState::Granted);
}

#[test]
fn a_grant_names_its_notice_and_every_event_its_recorder() {
    let at = "2026-03-01T10:00:00Z".parse().unwrap();
    let new = |action, version: Option<&str>, by: &str| {
        ConsentEvent::new(
            purpose("nyhetsbrev"),
            action,
            version.map(|v| NoticeVersion::parse(v).unwrap()),
            ConsentChannel::Paper,
            at,
            by,
        )
    };
    assert_eq!(
        new(ConsentAction::Grant, None, "saksbehandler-1").unwrap_err(),
        ConsentError::MissingNoticeVersion
    );
    assert!(new(ConsentAction::Withdraw, None, "saksbehandler-1").is_ok());
    assert_eq!(
        new(ConsentAction::Withdraw, None, "  ").unwrap_err(),
        ConsentError::InvalidRecorder
    );
    assert_eq!(
        new(ConsentAction::Withdraw, None, &"x".repeat(65)).unwrap_err(),
        ConsentError::InvalidRecorder
    );
    let event = new(ConsentAction::Grant, Some("v3.1"), " saksbehandler-1 ").unwrap();
    assert_eq!(event.recorded_by(), "saksbehandler-1");
    assert_eq!(event.notice_version().map(|v| v.as_str()), Some("v3.1"));
}

#[test]
fn notice_versions_channels_and_actions_parse_strictly() {
    for ok in ["2026-01", "v3.1", "A_b-9", &"9".repeat(64)] {
        assert!(NoticeVersion::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", "2026 01", "v3/1", "æ", &"9".repeat(65)] {
        assert_eq!(
            NoticeVersion::parse(bad).unwrap_err(),
            ConsentError::InvalidNoticeVersion,
            "{bad}"
        );
    }
    for channel in ConsentChannel::ALL {
        assert_eq!(channel.as_str().parse::<ConsentChannel>(), Ok(channel));
    }
    assert_eq!(
        "fax".parse::<ConsentChannel>(),
        Err(ConsentError::UnknownChannel("fax".to_owned()))
    );
    assert_eq!("grant".parse::<ConsentAction>(), Ok(ConsentAction::Grant));
    assert_eq!(
        "withdraw".parse::<ConsentAction>(),
        Ok(ConsentAction::Withdraw)
    );
    assert!(matches!(
        "revoke".parse::<ConsentAction>(),
        Err(ConsentError::UnknownAction(_))
    ));
}

#[test]
fn evidence_references_name_the_proof_and_never_hold_personal_data() {
    for good in [
        "skjema:2026/4711",
        "0190b5d2-7c1e-7000-8000-000000000001",
        "msg#42",
        "eByggesak.2026_17",
        "1234567890",
        "123456789012",
        &"a".repeat(consent::MAX_EVIDENCE_REF_LEN),
    ] {
        let parsed = EvidenceRef::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(parsed.as_str(), good);
    }
    assert_eq!(
        EvidenceRef::parse("  skjema:1 ").unwrap().as_str(),
        "skjema:1"
    );
    for bad in [
        "",
        "   ",
        "skjema 2026",
        "kari@example.no",
        "Kari Nordmann",
        "skjema:15108695088",
        "15108695088",
        "fnr-15108695088-x",
        "æøå",
        "line\nbreak",
        &"a".repeat(consent::MAX_EVIDENCE_REF_LEN + 1),
    ] {
        let err = EvidenceRef::parse(bad).unwrap_err();
        assert_eq!(err, ConsentError::InvalidEvidence, "{bad:?}");
        // The message names the form, never the value.
        assert!(bad.trim().is_empty() || !err.to_string().contains(bad.trim()));
    }
    let event = event("nyhetsbrev", ConsentAction::Grant, "2026-03-01T10:00:00Z");
    assert_eq!(event.evidence(), None);
    let event = event.with_evidence(EvidenceRef::parse("skjema:2026/4711").unwrap());
    assert_eq!(
        event.evidence().map(EvidenceRef::as_str),
        Some("skjema:2026/4711")
    );
}

#[test]
fn a_recorder_role_in_the_catalog_holds_back_grants_not_withdrawals() {
    let catalog = kommune_with_recorder_role();
    let nyhetsbrev = consent::consent_purpose(&catalog, "nyhetsbrev").unwrap();
    assert_eq!(
        nyhetsbrev.consent_recorder_role().map(Role::as_str),
        Some("consent_recorder")
    );
    let portal = Principal::new(
        PrincipalId::parse("minside").unwrap(),
        Kommunenummer::parse("4601").unwrap(),
        Classification::Apen,
    )
    .with_purposes([purpose("nyhetsbrev")]);
    let err = consent::check_recorder(nyhetsbrev, ConsentAction::Grant, &portal).unwrap_err();
    assert_eq!(
        err,
        ConsentError::RecorderRoleRequired {
            purpose: "nyhetsbrev".to_owned(),
            role: "consent_recorder".to_owned(),
        }
    );
    assert!(
        err.to_string()
            .contains("needs the role `consent_recorder`"),
        "{err}"
    );
    assert_eq!(
        consent::check_recorder(nyhetsbrev, ConsentAction::Withdraw, &portal),
        Ok(())
    );
    let recorder = portal.with_roles([Role::parse("consent_recorder").unwrap()]);
    assert_eq!(
        consent::check_recorder(nyhetsbrev, ConsentAction::Grant, &recorder),
        Ok(())
    );
    // Without the catalog rule, any principal of the purpose may record a grant.
    let open = kommune();
    let purpose = consent::consent_purpose(&open, "nyhetsbrev").unwrap();
    assert_eq!(purpose.consent_recorder_role(), None);
    let plain = Principal::new(
        PrincipalId::parse("minside").unwrap(),
        Kommunenummer::parse("4601").unwrap(),
        Classification::Apen,
    );
    assert_eq!(
        consent::check_recorder(purpose, ConsentAction::Grant, &plain),
        Ok(())
    );
}
