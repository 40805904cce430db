//! Consent events and the state folded from them.

use datavern_core::access::ConsentState;
use datavern_core::catalog::{Catalog, PurposeId};
use datavern_core::consent::{
    self, ConsentAction, ConsentChannel, ConsentError, ConsentEvent, NoticeVersion,
};

fn kommune() -> Catalog {
    Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap()
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
