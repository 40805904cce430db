//! Data subject requests: deadlines, the state machine, identifiers and parameters.

use datavern_core::clock::{Clock, ManualClock};
use datavern_core::dsr::{
    Deadline, ExtensionError, IdentifiedBy, Parameters, Reason, RequestState, RequestType,
    SubjectIdentifier, Transition, today_in_oslo,
};
use jiff::civil::Date;
use serde_json::json;

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

#[track_caller]
fn check_due(received_at: &str, due_on: &str) {
    let deadline = Deadline::from_receipt(received_at.parse().unwrap());
    assert_eq!(deadline.due_on(), date(due_on), "received {received_at}");
}

#[test]
fn due_date_is_one_calendar_month_after_receipt_in_norway() {
    check_due("2026-01-15T10:00:00Z", "2026-02-15");
    // End of month: the last day of the shorter month.
    check_due("2026-01-31T10:00:00Z", "2026-02-28");
    check_due("2028-01-31T10:00:00Z", "2028-02-29");
    check_due("2026-03-31T10:00:00Z", "2026-04-30");
    check_due("2026-12-31T10:00:00Z", "2027-01-31");
    // 23:30 UTC on 31 January is 00:30 on 1 February in Oslo (CET).
    check_due("2026-01-31T23:30:00Z", "2026-03-01");
    // Summer time: 22:30 UTC on 30 June is 00:30 on 1 July in Oslo (CEST).
    check_due("2026-06-30T22:30:00Z", "2026-08-01");
    check_due("2026-06-30T21:30:00Z", "2026-07-30");
}

#[test]
fn extension_counts_from_receipt_and_is_at_most_two_months() {
    let deadline = Deadline::new(date("2026-01-31"), 0);
    let today = date("2026-02-10");
    let once = deadline.extend(1, today).unwrap();
    assert_eq!(once.extended_due_on(), Some(date("2026-03-31")));
    let twice = once.extend(1, today).unwrap();
    assert_eq!(twice.extended_due_on(), Some(date("2026-04-30")));
    assert_eq!(deadline.extend(2, today).unwrap(), twice);
    assert_eq!(twice.due_on(), date("2026-02-28"), "the original stays");
    assert_eq!(twice.effective_due_on(), date("2026-04-30"));
    assert_eq!(
        twice.extend(1, today),
        Err(ExtensionError::TooLong { already: 2 })
    );
    assert_eq!(deadline.extend(3, today), Err(ExtensionError::Months));
    assert_eq!(deadline.extend(0, today), Err(ExtensionError::Months));
}

#[test]
fn extension_is_refused_after_the_original_due_date() {
    let deadline = Deadline::new(date("2026-01-15"), 0);
    assert!(
        deadline.extend(1, date("2026-02-15")).is_ok(),
        "on the due date"
    );
    let err = deadline.extend(1, date("2026-02-16")).unwrap_err();
    assert_eq!(
        err,
        ExtensionError::TooLate {
            due_on: date("2026-02-15")
        }
    );
    assert!(err.to_string().contains("within one month of receipt"));
}

#[test]
fn overdue_and_days_left_follow_the_clock() {
    let clock = ManualClock::new("2026-01-15T08:00:00Z".parse().unwrap());
    let deadline = Deadline::from_receipt(clock.now());
    let today = || today_in_oslo(clock.now());
    assert_eq!(deadline.days_left(today()), 31);
    assert!(!deadline.is_overdue(today()));
    clock.set("2026-02-15T22:59:00Z".parse().unwrap()); // 23:59 in Oslo on the due date
    assert_eq!(deadline.days_left(today()), 0);
    assert!(!deadline.is_overdue(today()));
    clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(deadline.days_left(today()), -1);
    assert!(deadline.is_overdue(today()));
}

#[test]
fn every_transition_follows_the_state_machine() {
    use RequestState as S;
    use Transition as T;
    let legal = [
        (S::Received, T::Verify, S::Verified),
        (S::Received, T::Reject, S::Rejected),
        (S::Verified, T::Start, S::InProgress),
        (S::Verified, T::Reject, S::Rejected),
        (S::InProgress, T::Complete, S::Completed),
        (S::InProgress, T::CompletePartially, S::PartiallyCompleted),
        (S::InProgress, T::Reject, S::Rejected),
    ];
    let transitions = [
        T::Verify,
        T::Start,
        T::Complete,
        T::CompletePartially,
        T::Reject,
    ];
    for from in RequestState::ALL {
        for transition in transitions {
            let expected = legal
                .iter()
                .find(|(f, t, _)| *f == from && *t == transition)
                .map(|(_, _, to)| *to);
            match (from.apply(transition), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want),
                (Err(err), None) => {
                    assert_eq!(err.from, from);
                    assert!(err.to_string().starts_with("a request that is"));
                }
                (got, want) => panic!("{from} + {transition:?}: got {got:?}, want {want:?}"),
            }
        }
    }
    for state in RequestState::ALL {
        assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
    }
    assert!(S::Completed.is_final() && !S::InProgress.is_final());
}

#[test]
fn request_types_parse_by_name() {
    for t in RequestType::ALL {
        assert_eq!(t.as_str().parse::<RequestType>(), Ok(t));
    }
    assert!("delete".parse::<RequestType>().is_err());
}

#[test]
fn national_ids_never_show_in_debug() {
    for (text, kind) in [
        ("15108695088", IdentifiedBy::Fodselsnummer),
        ("53097248016", IdentifiedBy::DNummer),
        ("13527248013", IdentifiedBy::HNummer),
        ("10915596784", IdentifiedBy::Synthetic),
    ] {
        let id = SubjectIdentifier::national_id(text).unwrap();
        assert_eq!(id.identified_by(), kind);
        let debug = format!("{id:?}");
        assert!(!debug.contains(text), "{debug}");
    }
    let err = SubjectIdentifier::national_id("15108695077").unwrap_err();
    assert!(!err.to_string().contains("15108695077"));
    assert!(SubjectIdentifier::subject_id("15108695088").is_err());
    let uuid = "0190b5d2-7c1e-7000-8000-000000000001";
    assert_eq!(
        SubjectIdentifier::subject_id(uuid).unwrap().identified_by(),
        IdentifiedBy::SubjectId
    );
}

#[test]
fn parameters_hold_names_only() {
    let params = Parameters::from_json(
        RequestType::Objection,
        &json!({"purposes": ["nyhetsbrev", "nyhetsbrev"], "fields": ["epost"]}),
    )
    .unwrap();
    assert_eq!(params.purposes, ["nyhetsbrev"]);
    assert_eq!(params.fields, ["epost"]);
    let values = Parameters::from_json(
        RequestType::Rectification,
        &json!({"corrections": {"etternavn": "Hansen"}}),
    )
    .unwrap_err();
    assert_eq!(values.pointer, "/corrections");
    assert!(!values.to_string().contains("Hansen"));
    let not_a_name =
        Parameters::from_json(RequestType::Erasure, &json!({"fields": ["Kari Hansen"]}))
            .unwrap_err();
    assert_eq!(not_a_name.pointer, "/fields/0");
    assert!(!not_a_name.to_string().contains("Kari"));
    assert!(
        Parameters::from_json(RequestType::Access, &json!({"purposes": ["x"]})).is_err(),
        "purposes belong to objections and restrictions"
    );
    assert!(
        Parameters::from_json(RequestType::Access, &json!(null))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn reasons_are_required_and_hidden_from_debug() {
    assert!(Reason::parse("  ").is_err());
    let reason = Reason::parse(" Complex case: records in three archives ").unwrap();
    assert_eq!(reason.as_str(), "Complex case: records in three archives");
    assert!(!format!("{reason:?}").contains("archives"));
    assert!(Reason::parse(&"x".repeat(2001)).is_err());
}
