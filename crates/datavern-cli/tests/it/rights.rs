//! Every right of a data subject end to end through the `datavern` binary, on a site seeded
//! with `datavern demo seed` (SQLite, PostgreSQL, MariaDB): the DPO receives the request
//! with the resident's fødselsnummer on standard input, verifies it and runs it, and the
//! outcome, the delivered file and later requests show what the right did: access (the
//! records with the Art. 15 context), portability (a zip), rectification (the corrected
//! value in the next access report), erasure (crypto-shredded resident, case records kept
//! restricted under archive duty with its legal reason), erasure refused by a legal hold
//! with the hold's reason, restriction and objection placed and lifted. The audit log stays
//! intact and no fødselsnummer reaches the commands' output.

use std::cell::RefCell;
use std::io::Read as _;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use datavern_core::access::{self, AccessRequest, ConsentState, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::consent::{ConsentAction, ConsentChannel, ConsentEvent, NoticeVersion};
use datavern_core::demo::{self, Plan};
use datavern_core::record::{self, Mode};
use datavern_crypto::LocalKeyFile;
use datavern_governance::rights::PORTABILITY_JSON;
use datavern_sql::{Backend, StoreConfig};
use datavern_store::{Records, RequestMeta, Store};
use serde_json::{Value, json};

use crate::demo::{Site, exits, seed};
use crate::requests::{request, request_as};
use datavern_testkit::on_every_backend;

const CATALOG: &str = include_str!("../../../../examples/kommune.yaml");
const SEED: u64 = 23;
const RECORDS: u64 = 100;

/// The DPO at the command line: every command's output is kept, to check at the end that
/// no fødselsnummer was printed.
struct Dpo<'s> {
    site: &'s Site,
    printed: RefCell<Vec<String>>,
}

impl Dpo<'_> {
    fn keep(&self, output: &Output) {
        let mut printed = self.printed.borrow_mut();
        printed.push(String::from_utf8_lossy(&output.stdout).into_owned());
        printed.push(String::from_utf8_lossy(&output.stderr).into_owned());
    }

    /// `datavern request ARGS` with `stdin`.
    fn request(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let output = request(self.site, args, None, stdin);
        self.keep(&output);
        output
    }

    /// `datavern ARGS` (another command) on the site.
    fn datavern(&self, args: &[&str]) -> Output {
        let output = self.site.run(args);
        self.keep(&output);
        output
    }

    /// The JSON of `datavern request ARGS --json`, which must exit 0.
    #[track_caller]
    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&exits(&self.request(&all, stdin), 0)).unwrap()
    }

    /// A request of `kind` (with `extra` flags) for the resident with `fnr`, received and
    /// verified; its id.
    #[track_caller]
    fn received(&self, kind: &str, fnr: &str, extra: &[&str]) -> String {
        let mut args = vec!["create", "--type", kind, "--fodselsnummer-stdin"];
        args.extend_from_slice(extra);
        let created = self.json(&args, Some(&format!("{fnr}\n")));
        assert_eq!(created["state"], "received", "{created}");
        assert_eq!(created["identified_by"], "synthetic", "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        self.verify(&id);
        id
    }

    /// Verifies request `id` as a second DPO (`personvernombud-2`), so that the four-eyes
    /// rule lets `personvernombud` run an erasure or a rectification.
    #[track_caller]
    fn verify(&self, id: &str) {
        let output = request_as(
            self.site,
            "personvernombud-2",
            &["verify", id, "--method", "id-porten", "--json"],
            None,
            None,
        );
        self.keep(&output);
        let verified: Value = serde_json::from_str(&exits(&output, 0)).unwrap();
        assert_eq!(verified["state"], "verified", "{verified}");
        assert_eq!(verified["verified_by"], "personvernombud-2", "{verified}");
    }

    /// `request run ID EXTRA --json`, which must exit 0: the request after its run.
    #[track_caller]
    fn run(&self, id: &str, extra: &[&str]) -> Value {
        let mut args = vec!["run", id];
        args.extend_from_slice(extra);
        self.json(&args, None)
    }

    /// The subject id of the resident with `fnr` (from an access request's subjects), and
    /// that resident's access report.
    #[track_caller]
    fn access(&self, fnr: &str, output: &Path) -> (String, Value) {
        let id = self.received("access", fnr, &[]);
        let ran = self.run(&id, &["--output", output.to_str().unwrap()]);
        assert_eq!(ran["state"], "completed", "{ran}");
        let subject = ran["subjects"][0].as_str().unwrap().to_owned();
        let report = serde_json::from_slice(&std::fs::read(output).unwrap()).unwrap();
        (subject, report)
    }
}

/// The part about `name` of a report's or outcome's `collections`.
#[track_caller]
fn part<'v>(value: &'v Value, name: &str) -> &'v Value {
    value["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == name)
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

/// The value of field `field` of the first record of `collection` in an access report.
#[track_caller]
fn field<'v>(report: &'v Value, collection: &str, field: &str) -> &'v Value {
    part(report, collection)["records"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == field)
        .map(|f| &f["value"])
        .unwrap_or_else(|| panic!("no {collection}.{field} in the report"))
}

/// A newsletter subscriber, who signed up with consent (Art. 6(1)(a)): data the subject
/// provided, so their portability export holds a CSV. `demo seed` writes none; the
/// subscriber is created on the governed store as the API creates one (consent recorded in
/// the same transaction, audited). Returns the subscriber's subject id.
async fn subscribe(site: &Site) -> String {
    let catalog = Arc::new(Catalog::from_yaml(CATALOG).unwrap());
    let (config, kek) = match &site.db {
        Some(db) => (
            db.config().clone(),
            site.dir.path().join("site/datavern-data/kek.key"),
        ),
        None => (
            StoreConfig::embedded(site.dir.path().join("data")),
            site.dir.path().join("data/kek.key"),
        ),
    };
    let store = Store::open(&config).await.unwrap();
    store.apply_catalog(&catalog).await.unwrap();
    let kek = LocalKeyFile::open(kek).await.unwrap();
    let records = Records::new(store.clone(), catalog.clone(), Arc::new(kek));
    let tenant = Kommunenummer::parse("4601").unwrap();
    let purpose = PurposeId::parse("nyhetsbrev").unwrap();
    let principal = Principal::new(
        PrincipalId::parse("minside").unwrap(),
        tenant,
        Classification::Begrenset,
    )
    .with_purposes([purpose.clone()]);
    let request = AccessRequest::create("nyhetsbrev", tenant)
        .with_purpose(Some("nyhetsbrev"))
        .with_consent(ConsentState::Deferred);
    let grant = access::decide(&catalog, &principal, &request).unwrap();
    let body = json!({"epost": "abonnent@example.no", "navn": "Abonnent", "emner": ["kultur"]});
    let subscriber = record::validate(
        catalog.collection("nyhetsbrev").unwrap(),
        body.as_object().unwrap(),
        Mode::Create,
    )
    .unwrap();
    let consent = ConsentEvent::new(
        purpose,
        ConsentAction::Grant,
        Some(NoticeVersion::parse("2026-01").unwrap()),
        ConsentChannel::Web,
        "2026-03-01T10:00:00Z".parse().unwrap(),
        "minside",
    )
    .unwrap();
    let view = records
        .create_with_consent(&grant, subscriber, &consent, &RequestMeta::new())
        .await
        .unwrap();
    store.audit().shutdown().await.unwrap();
    store.close().await;
    view.id.to_string()
}

#[track_caller]
fn refused(output: &Output, says: &str) {
    exits(output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(says), "{stderr}");
}

#[on_every_backend(multi_thread)]
async fn every_right_runs_end_to_end_through_the_cli(backend: Backend) {
    let site = Site::new(backend).await;
    seed(&site, RECORDS, SEED);
    let plan = Plan::for_records(RECORDS);
    assert!(plan.cases >= 2);
    let dpo = Dpo {
        site: &site,
        printed: RefCell::new(Vec::new()),
    };
    let files = site.dir.path();
    // Two residents with a case (sak, under archive duty) and one without.
    let with_case = demo::person(SEED, demo::case(SEED, 0).bruker).fodselsnummer;
    let held = demo::person(SEED, demo::case(SEED, 1).bruker).fodselsnummer;
    let other = demo::person(SEED, 0).fodselsnummer;
    assert!(with_case != held && held != other && other != with_case);

    // Access (Art. 15): the records, decrypted, with the processing context; the report is
    // written once, owner-only, and the request then is completed.
    let id = dpo.received("access", &with_case, &[]);
    refused(&dpo.request(&["run", &id], None), "--output");
    let unrun = dpo.json(&["show", &id], None);
    assert_eq!(unrun["state"], "verified", "{unrun}");
    let report_file = files.join("innsyn.json");
    let ran = dpo.run(&id, &["--output", report_file.to_str().unwrap()]);
    assert_eq!(ran["state"], "completed", "{ran}");
    let subject = ran["subjects"][0].as_str().unwrap().to_owned();
    assert!(ran["outcome"]["records"].as_u64().unwrap() >= 2, "{ran}");
    assert_eq!(part(&ran["outcome"], "saker")["records"], 1, "{ran}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&report_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert_eq!(report["subjects"], json!([subject]));
    assert_eq!(
        field(&report, "innbyggere", "fodselsnummer"),
        &json!(with_case)
    );
    let residents = &part(&report, "innbyggere")["context"];
    assert_eq!(residents["source"], "Folkeregisteret (Skatteetaten)");
    assert_eq!(residents["erasure"], "crypto_shred");
    assert!(residents["retention"]["period"].is_string(), "{residents}");
    let purposes = residents["purposes"].as_array().unwrap();
    assert!(
        purposes
            .iter()
            .all(|p| p["lawful_basis"] == "6(1)(e)" && p["legal_reference"].is_string()),
        "{residents}"
    );
    let cases = &part(&report, "saker")["context"];
    assert!(
        cases["archive_duty"]
            .as_str()
            .unwrap()
            .contains("arkivlova"),
        "{cases}"
    );
    assert!(cases["purposes"][0]["special_category_condition"].is_string());
    // Delivered once: the request has ended, and an existing file is never overwritten.
    refused(
        &dpo.request(&["run", &id, "--output", "again.json"], None),
        "completed",
    );
    assert!(!files.join("again.json").exists());
    let output = dpo.request(&["run", &id, "--output", "innsyn.json"], None);
    exits(&output, 2);

    // Portability (Art. 20): a zip of what the resident provided; the register data
    // (Folkeregisteret) and public-task collections are listed as excluded, with reasons.
    let id = dpo.received("portability", &with_case, &[]);
    let ran = dpo.run(&id, &["--output", "export.zip"]);
    assert_eq!(ran["state"], "completed", "{ran}");
    let excluded = ran["outcome"]["excluded"].as_array().unwrap();
    let reason_of = |name: &str| {
        excluded
            .iter()
            .find(|e| e["collection"] == name)
            .unwrap_or_else(|| panic!("{name} not excluded: {ran}"))["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason_of("innbyggere").contains("Folkeregisteret"));
    assert!(reason_of("saker").contains("Art. 20(1)"));
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(files.join("export.zip")).unwrap()).unwrap();
    let mut document = String::new();
    zip.by_name(PORTABILITY_JSON)
        .unwrap()
        .read_to_string(&mut document)
        .unwrap();
    let document: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(document["subjects"], json!([subject]), "{document}");
    // A subscriber's export holds what they provided, as CSV.
    let subscriber = subscribe(&site).await;
    let created = dpo.json(
        &[
            "create",
            "--type",
            "portability",
            "--subject-id",
            &subscriber,
        ],
        None,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    dpo.verify(&id);
    let ran = dpo.run(&id, &["--output", "abonnent.zip"]);
    assert_eq!(ran["state"], "completed", "{ran}");
    assert_eq!(ran["outcome"]["included"], json!(["nyhetsbrev"]), "{ran}");
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(files.join("abonnent.zip")).unwrap()).unwrap();
    let mut csv = String::new();
    zip.by_name("nyhetsbrev.csv")
        .unwrap()
        .read_to_string(&mut csv)
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,role,epost,navn,emner"), "{csv}");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("{subscriber},self,abonnent@example.no,Abonnent,")),
        "{csv}"
    );
    assert_eq!(lines.next(), None, "{csv}");

    // Rectification (Art. 16): the corrected address, read back by the next access request.
    let id = dpo.received("rectification", &with_case, &["--field", "adresse"]);
    refused(&dpo.request(&["run", &id], None), "--corrections");
    let corrections = files.join("rettelse.json");
    std::fs::write(
        &corrections,
        json!([{
            "collection": "innbyggere",
            "record": subject,
            "fields": {"adresse": "Rettet gate 1"},
        }])
        .to_string(),
    )
    .unwrap();
    let ran = dpo.run(&id, &["--corrections", corrections.to_str().unwrap()]);
    assert_eq!(ran["state"], "completed", "{ran}");
    assert_eq!(
        ran["outcome"]["corrections"][0]["fields"],
        json!(["adresse"]),
        "{ran}"
    );
    let (_, report) = dpo.access(&with_case, &files.join("etter-rettelse.json"));
    assert_eq!(
        field(&report, "innbyggere", "adresse"),
        &json!("Rettet gate 1")
    );

    // Erasure (Art. 17): the resident is crypto-shredded; the case, under archive duty, is
    // kept and restricted with the legal reason; the request is partially completed.
    let id = dpo.received("erasure", &with_case, &[]);
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["state"], "partially_completed", "{ran}");
    let outcome = &ran["outcome"];
    let residents = part(outcome, "innbyggere");
    assert_eq!(residents["method"], "crypto_shred", "{outcome}");
    assert_eq!(residents["records"], 1, "{outcome}");
    let cases = part(outcome, "saker");
    assert_eq!(cases["method"], "restrict", "{outcome}");
    assert_eq!(cases["records"], 1, "{outcome}");
    assert!(
        cases["legal_reason"]
            .as_str()
            .unwrap()
            .contains("GDPR art. 17(3)"),
        "{outcome}"
    );
    // …and the restriction register holds the archive-duty restriction of the subject.
    assert_eq!(outcome["archived"], json!([subject]), "{outcome}");
    let shown = exits(&dpo.request(&["show", &id], None), 0);
    assert!(
        shown.contains("partially_completed") && shown.contains("arkivlova"),
        "{shown}"
    );
    // The resident is gone: the fødselsnummer names nobody any more.
    let output = dpo.request(
        &["create", "--type", "access", "--fodselsnummer-stdin"],
        Some(&format!("{with_case}\n")),
    );
    refused(&output, "no data subject");

    // A legal hold on a subject refuses their erasure, with the hold's reason, and keeps
    // their data readable.
    let (held_subject, _) = dpo.access(&held, &files.join("holdt.json"));
    let placed: Value = serde_json::from_str(&exits(
        &dpo.datavern(&[
            "hold",
            "place",
            "--subject",
            &held_subject,
            "--reason",
            "Tilsynssak 2026/4",
            "--by",
            "personvernombud",
        ]),
        0,
    ))
    .unwrap();
    assert_eq!(placed[0]["reason"], "Tilsynssak 2026/4", "{placed}");
    let id = dpo.received("erasure", &held, &[]);
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["state"], "partially_completed", "{ran}");
    let outcome = &ran["outcome"];
    assert_eq!(outcome["complete"], false, "{outcome}");
    assert_eq!(outcome["archived"], json!([]), "{outcome}");
    for name in ["innbyggere", "saker"] {
        let kept = part(outcome, name);
        assert_eq!(kept["records"], 0, "{outcome}");
        assert_eq!(kept["refused_records"], 1, "{outcome}");
        assert_eq!(kept["refusal_reason"], "Tilsynssak 2026/4", "{outcome}");
    }
    let (_, report) = dpo.access(&held, &files.join("holdt-etter.json"));
    assert_eq!(field(&report, "innbyggere", "fodselsnummer"), &json!(held));

    // Restriction (Art. 18) on a ground, then lifted; objection (Art. 21), then lifted.
    let id = dpo.received("restriction", &other, &["--ground", "accuracy_contested"]);
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["state"], "completed", "{ran}");
    assert_eq!(ran["outcome"]["action"], "restricted", "{ran}");
    assert_eq!(ran["outcome"]["ground"], "accuracy_contested", "{ran}");
    let restricted = ran["outcome"]["records"].as_u64().unwrap();
    assert!(restricted >= 1, "{ran}");
    let (_, report) = dpo.access(&other, &files.join("begrenset.json"));
    assert_eq!(
        part(&report, "innbyggere")["records"][0]["restricted"],
        true
    );
    let id = dpo.received("restriction", &other, &["--lift"]);
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["outcome"]["action"], "lifted", "{ran}");
    assert_eq!(
        ran["outcome"]["records"].as_u64(),
        Some(restricted),
        "{ran}"
    );
    let (_, report) = dpo.access(&other, &files.join("opphevet.json"));
    assert_eq!(
        part(&report, "innbyggere")["records"][0]["restricted"],
        false
    );

    let id = dpo.received("objection", &other, &["--purpose", "kommunikasjon"]);
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["state"], "completed", "{ran}");
    assert_eq!(ran["outcome"]["action"], "upheld", "{ran}");
    assert_eq!(
        ran["outcome"]["purposes"],
        json!(["kommunikasjon"]),
        "{ran}"
    );
    assert!(ran["outcome"]["objections"].as_u64().unwrap() >= 1, "{ran}");
    let id = dpo.received(
        "objection",
        &other,
        &["--lift", "--purpose", "kommunikasjon"],
    );
    let ran = dpo.run(&id, &[]);
    assert_eq!(ran["outcome"]["action"], "lifted", "{ran}");
    assert!(ran["outcome"]["objections"].as_u64().unwrap() >= 1, "{ran}");

    // Every step audited into an intact chain; no fødselsnummer printed anywhere.
    let out = exits(&dpo.datavern(&["audit", "verify"]), 0);
    assert!(out.contains("audit log intact"), "{out}");
    for printed in dpo.printed.borrow().iter() {
        for fnr in [&with_case, &held, &other] {
            assert!(
                !printed.contains(fnr.as_str()),
                "a fødselsnummer was printed"
            );
        }
    }
    drop(dpo);
    site.finish().await;
}
