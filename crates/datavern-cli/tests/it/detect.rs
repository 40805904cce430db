//! `datavern detect`: JSON lines of findings or column verdicts; exit 0, or 2 on usage and
//! I/O errors.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

struct Run {
    code: i32,
    lines: Vec<Value>,
    stderr: String,
}

fn datavern(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run datavern");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait for datavern");
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

fn file_with(contents: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    file.write_all(contents.as_bytes())
        .expect("write temp file");
    file
}

#[test]
fn findings_are_json_lines_with_masked_values() {
    let text = "Søkers fnr er 151086 95088, kontonr. 8601.11.17947.\n";
    let run = datavern(&["detect", "-"], text);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines.len(), 2, "{:?}", run.lines);
    let fnr = &run.lines[0];
    assert_eq!(fnr["kind"], "fnr");
    assert_eq!(fnr["variant"], "fodselsnummer");
    assert_eq!(fnr["rule"], "classic");
    assert_eq!(fnr["line"], 1);
    assert_eq!(fnr["category"], "user.national_id.fodselsnummer");
    // Byte offsets: "Søkers" has a two-byte ø.
    let (start, end) = (fnr["start"].as_u64().unwrap(), fnr["end"].as_u64().unwrap());
    assert_eq!(&text[start as usize..end as usize], "151086 95088");
    assert_eq!(fnr["value"], "****** *****");
    assert_eq!(run.lines[1]["kind"], "kontonr");
    assert_eq!(run.lines[1]["value"], "****.**.*****");
    for line in &run.lines {
        let value = line["value"].as_str().unwrap();
        assert!(!value.chars().any(|c| c.is_ascii_digit()), "{value}");
        let score = line["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
    }
}

#[test]
fn show_values_prints_the_value() {
    let run = datavern(&["detect", "--show-values"], "Ring +47 912 34 567 i dag");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines.len(), 1);
    assert_eq!(run.lines[0]["kind"], "phone");
    assert_eq!(run.lines[0]["variant"], "mobile");
    assert_eq!(run.lines[0]["value"], "+47 912 34 567");
}

#[test]
fn line_numbers_and_offsets_are_per_line() {
    let text = "Første linje uten noe.\nFødselsnummer:\n15108695088\nOrg.nr. 988 077 917\n";
    let file = file_with(text, ".txt");
    let run = datavern(&["detect", file.path().to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Vec<Value> = run
        .lines
        .iter()
        .map(|l| json!([l["line"], l["start"], l["end"], l["kind"]]))
        .collect();
    // The label on line 2 counts for the number on line 3.
    assert_eq!(got, [json!([3, 0, 11, "fnr"]), json!([4, 8, 19, "orgnr"])]);
}

#[test]
fn text_without_findings_prints_nothing_and_succeeds() {
    let run = datavern(
        &["detect"],
        "Vi viser til søknad om barnehageplass mottatt 15.10.2024.",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.lines.is_empty());
    let run = datavern(&["detect"], "");
    assert_eq!(run.code, 0);
    assert!(run.lines.is_empty());
}

#[test]
fn invalid_utf8_is_skipped_and_offsets_stay_byte_offsets() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut bytes = b"\xff\xfe fnr 15108695088".to_vec();
    bytes.push(b'\n');
    std::fs::write(file.path(), &bytes).unwrap();
    let run = datavern(&["detect", file.path().to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines.len(), 1);
    assert_eq!(run.lines[0]["start"], 7);
    assert_eq!(run.lines[0]["end"], 18);
}

#[test]
fn missing_file_is_an_error() {
    let run = datavern(&["detect", "/no/such/file.txt"], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/file.txt"), "{}", run.stderr);
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(datavern(&["detect", "--min-score", "2"], "").code, 2);
    assert_eq!(datavern(&["detect", "--no-such-flag"], "").code, 2);
}

#[test]
fn columns_are_classified() {
    let csv = "\
id,fnr,kontonr,epost,etternavn,notat
1,15108695088,86011117947,ola@nav.no,Hansen,ringte i dag
2,26111593816,8601.11.17947,kari@x.no,Ødegård,
3,53097248016,15038012343,NULL,Berg,oppga fnr 15108695088
";
    let file = file_with(csv, ".csv");
    let run = datavern(&["detect", "--columns", file.path().to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let by_column = |name: &str| {
        run.lines
            .iter()
            .find(|l| l["column"] == name)
            .unwrap_or_else(|| panic!("no line for {name}: {:?}", run.lines))
            .clone()
    };
    assert_eq!(run.lines.len(), 6);
    assert_eq!(by_column("id")["kind"], Value::Null);
    let fnr = by_column("fnr");
    assert_eq!(fnr["kind"], "fnr");
    assert_eq!(fnr["category"], "user.national_id.fodselsnummer");
    assert_eq!(fnr["share_valid"], 1.0);
    assert_eq!(fnr["sampled"], 3);
    assert_eq!(by_column("kontonr")["kind"], "kontonr");
    let epost = by_column("epost");
    assert_eq!(epost["kind"], "email");
    assert_eq!(
        (epost["sampled"].clone(), epost["empty"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(by_column("etternavn")["kind"], "family_name");
    assert_eq!(by_column("etternavn")["category"], "user.name.family");
    let notat = by_column("notat");
    assert_eq!(notat["kind"], "fnr");
    assert_eq!(notat["in_free_text"], true);
    for line in &run.lines {
        let confidence = line["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence), "{line}");
    }
}

#[test]
fn sample_limits_the_rows_read() {
    let csv = "fnr\n15108695088\n26111593816\n53097248016\n";
    let file = file_with(csv, ".csv");
    let run = datavern(
        &[
            "detect",
            "--columns",
            "--sample",
            "2",
            file.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines[0]["sampled"], 2);
}
