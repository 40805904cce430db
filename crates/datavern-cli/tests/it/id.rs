//! `datavern id check`: one JSON line per value, exit 0/1/2.

use std::process::Command;

use serde_json::{Value, json};

struct Run {
    code: i32,
    lines: Vec<Value>,
    stderr: String,
}

fn datavern(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .output()
        .expect("run datavern");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    Run {
        code: output.status.code().expect("exit code"),
        lines: stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
            .collect(),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Checks one value of `kind` and compares the single output line and the exit code.
#[track_caller]
fn check(kind: &str, input: &str, expected: Value) {
    let run = datavern(&["id", "check", kind, input]);
    assert_eq!(
        run.lines,
        vec![expected],
        "{kind} {input:?}: {}",
        run.stderr
    );
    let valid = run.lines[0]["valid"].as_bool().expect("valid is a bool");
    assert_eq!(run.code, if valid { 0 } else { 1 }, "{kind} {input:?}");
}

fn fnr_valid(input: &str, variant: &str, rule: &str) -> Value {
    json!({"input": input, "valid": true, "variant": variant, "error": null, "rule": rule})
}

fn fnr_invalid(input: &str, error: &str) -> Value {
    json!({"input": input, "valid": false, "variant": null, "error": error, "rule": null})
}

fn valid(input: &str, variant: Option<&str>) -> Value {
    json!({"input": input, "valid": true, "variant": variant, "error": null})
}

fn invalid(input: &str, error: &str) -> Value {
    json!({"input": input, "valid": false, "variant": null, "error": error})
}

#[test]
fn brief_fnr_examples() {
    check(
        "fnr",
        "15108695088",
        fnr_valid("15108695088", "fodselsnummer", "classic"),
    );
    check(
        "fnr",
        "26111593816",
        fnr_valid("26111593816", "fodselsnummer", "classic"),
    );
    check(
        "fnr",
        "53097248016",
        fnr_valid("53097248016", "d-nummer", "classic"),
    );
    check(
        "fnr",
        "13527248013",
        fnr_valid("13527248013", "h-nummer", "classic"),
    );
    check(
        "fnr",
        "10915596784",
        fnr_valid("10915596784", "tenor", "classic"),
    );
    check(
        "fnr",
        "15108695077",
        fnr_invalid("15108695077", "first check digit does not match"),
    );
    check(
        "fnr",
        "19575770838",
        fnr_invalid("19575770838", "not a valid date: month 57"),
    );
}

#[test]
fn fnr_2032_rule_and_spaced_input() {
    check(
        "fnr",
        "15108695096",
        fnr_valid("15108695096", "fodselsnummer", "2032"),
    );
    check(
        "fnr",
        "151086 95088",
        fnr_valid("151086 95088", "fodselsnummer", "classic"),
    );
}

#[test]
fn brief_orgnr_and_kontonr_examples() {
    check("orgnr", "988077917", valid("988077917", None));
    check("orgnr", "988 077 917", valid("988 077 917", None));
    check(
        "orgnr",
        "988077918",
        invalid("988077918", "check digit does not match"),
    );
    check("kontonr", "86011117947", valid("86011117947", None));
    check("kontonr", "8601.11.17947", valid("8601.11.17947", None));
}

#[test]
fn other_kinds() {
    check("mva", "NO988077917MVA", valid("NO988077917MVA", None));
    check(
        "iban",
        "NO93 8601 1117 947",
        valid("NO93 8601 1117 947", None),
    );
    check(
        "iban",
        "NO9486011117947",
        invalid("NO9486011117947", "check digits do not match"),
    );
    check("duf", "201212345603", valid("201212345603", None));
    check(
        "phone",
        "+47 912 34 567",
        valid("+47 912 34 567", Some("mobile")),
    );
    check(
        "phone",
        "22 22 22 22",
        valid("22 22 22 22", Some("landline")),
    );
    check(
        "phone",
        "12345678",
        invalid(
            "12345678",
            "not a possible number: 8-digit numbers never start with 1",
        ),
    );
    check("postnummer", "0150", valid("0150", None));
    check(
        "email",
        "ola.nordmann@example.com",
        valid("ola.nordmann@example.com", None),
    );
    check(
        "email",
        "ola@localhost",
        invalid(
            "ola@localhost",
            "not a valid e-mail address: the domain needs at least two labels",
        ),
    );
}

#[test]
fn all_valid_exits_0_with_one_line_per_value_in_order() {
    let values = ["15108695088", "53097248016", "10915596784"];
    let run = datavern(&["id", "check", "fnr", values[0], values[1], values[2]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inputs: Vec<&str> = run
        .lines
        .iter()
        .map(|line| line["input"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, values);
}

#[test]
fn any_invalid_exits_1_and_still_reports_every_value() {
    let run = datavern(&[
        "id",
        "check",
        "orgnr",
        "988077917",
        "988077918",
        "988077917",
    ]);
    assert_eq!(run.code, 1);
    let valid: Vec<bool> = run
        .lines
        .iter()
        .map(|line| line["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(valid, [true, false, true]);
}

#[test]
fn unknown_kind_is_a_usage_error_listing_the_kinds() {
    let run = datavern(&["id", "check", "personnummer", "15108695088"]);
    assert_eq!(run.code, 2);
    assert!(run.lines.is_empty());
    for kind in [
        "fnr",
        "duf",
        "orgnr",
        "mva",
        "kontonr",
        "iban",
        "phone",
        "postnummer",
        "email",
    ] {
        assert!(
            run.stderr.contains(kind),
            "{kind} missing from {}",
            run.stderr
        );
    }
}

#[test]
fn missing_values_is_a_usage_error() {
    let run = datavern(&["id", "check", "fnr"]);
    assert_eq!(run.code, 2);
    assert!(run.lines.is_empty());
    assert!(run.stderr.contains("VALUES"), "{}", run.stderr);
}

#[test]
fn kind_is_case_insensitive() {
    let run = datavern(&["id", "check", "FNR", "15108695088"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines,
        [fnr_valid("15108695088", "fodselsnummer", "classic")]
    );
}
