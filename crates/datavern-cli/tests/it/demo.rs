//! `datavern demo seed` and `datavern demo digest` as a user runs them: on an embedded data
//! directory (development mode, SQLite), read back through the governed store as the API
//! would read it, and on fresh PostgreSQL and MariaDB databases configured as `datavern
//! init` and `DATAVERN_DATABASE__*` configure them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use datavern_core::access::{self, AccessRequest, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_core::demo::{self, POSTAL_PLACES, Plan};
use datavern_core::id::{ChecksumRule, FnrVariant, Fodselsnummer};
use datavern_crypto::LocalKeyFile;
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, StoreConfig};
use datavern_sql::{Database, DatabaseConfig, DatabaseRole, testing};
use datavern_store::records::Cursor;
use datavern_store::{RecordView, Records, RequestMeta, Store};
use tempfile::TempDir;

const CATALOG: &str = include_str!("../../../../examples/kommune.yaml");

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Where `datavern` finds its databases for one test: a data directory in development mode
/// (SQLite), or a configuration written by `datavern init` with fresh test databases given
/// through the environment (PostgreSQL, MariaDB).
pub(crate) struct Site {
    pub(crate) dir: TempDir,
    pub(crate) db: Option<TestDb>,
}

impl Site {
    pub(crate) async fn new(backend: Backend) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => None,
            _ => {
                exits(&datavern(dir.path(), &["init", "--dir", "site"]), 0);
                Some(TestDb::new(backend).await)
            }
        };
        Site { dir, db }
    }

    /// Runs `datavern ARGS` with this site's settings appended.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_datavern"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG");
        match &self.db {
            None => {
                command.args(["--data-dir", "data"]);
            }
            Some(db) => {
                let (data, keys) = db.urls();
                command
                    .args(["--config", "site/datavern.toml"])
                    .env("DATAVERN_DATABASE__URL", data)
                    .env("DATAVERN_DATABASE__KEYS_URL", keys);
            }
        }
        command.output().unwrap()
    }

    /// `demo digest` of what the site holds, as `(exit code, stdout, stderr)`.
    fn digest(&self, seed: u64, records: u64) -> (i32, String, String) {
        let output = self.run(&[
            "demo",
            "digest",
            "--seed",
            &seed.to_string(),
            "--records",
            &records.to_string(),
        ]);
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub(crate) async fn finish(self) {
        if let Some(db) = self.db {
            db.cleanup().await;
        }
    }
}

/// `demo seed --records N --seed S` on `site`, which must succeed.
#[track_caller]
pub(crate) fn seed(site: &Site, records: u64, seed: u64) -> String {
    exits(
        &site.run(&[
            "demo",
            "seed",
            "--records",
            &records.to_string(),
            "--seed",
            &seed.to_string(),
        ]),
        0,
    )
}

/// The `sha256:…` digest a successful `demo digest` printed.
#[track_caller]
fn printed_digest(backend: Backend, (code, stdout, stderr): (i32, String, String)) -> String {
    assert_eq!(code, 0, "{backend}: stdout:\n{stdout}\nstderr:\n{stderr}");
    let digest = stdout
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("{backend}: no digest in {stdout}"));
    assert_eq!(digest.len(), "sha256:".len() + 64, "{digest}");
    digest.to_owned()
}

#[track_caller]
pub(crate) fn exits(output: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn count(data_dir: &Path, table: &str) -> i64 {
    let config = DatabaseConfig::sqlite_file(data_dir.join("data.db"));
    let db = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap();
    let n = testing::fetch_one(&db, &format!("SELECT COUNT(*) FROM {table}"), &[]).await;
    db.close().await;
    n
}

/// Every record of `collection`, decrypted for `purpose`, as (field, canonical value) pairs.
async fn read_all(
    records: &Records,
    catalog: &Catalog,
    collection: &str,
    purpose: &str,
) -> Vec<(String, Vec<(String, String)>)> {
    let tenant = Kommunenummer::parse("4601").unwrap();
    let principal = Principal::new(
        PrincipalId::parse("demo-test").unwrap(),
        tenant,
        Classification::Begrenset,
    )
    .with_purposes([PurposeId::parse(purpose).unwrap()]);
    let request = AccessRequest::list(collection, tenant).with_purpose(Some(purpose));
    let grant = access::decide(catalog, &principal, &request).unwrap();
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = records
            .list(&grant, cursor, 500, &RequestMeta::new())
            .await
            .unwrap();
        out.extend(page.items.iter().map(fields));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn fields(view: &RecordView) -> (String, Vec<(String, String)>) {
    assert!(view.withheld.is_empty(), "{view:?}");
    let fields = view
        .fields
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.canonical()?)))
        .collect();
    (view.id.to_string(), fields)
}

/// The seeded data of a directory with record ids replaced by the referenced resident's
/// fødselsnummer: residents by fødselsnummer, applications and cases sorted.
type Content = (
    BTreeMap<String, Vec<(String, String)>>,
    Vec<Vec<(String, String)>>,
    Vec<Vec<(String, String)>>,
);

async fn decrypted_content(data_dir: &Path) -> Content {
    let catalog = Arc::new(Catalog::from_yaml(CATALOG).unwrap());
    let store = Store::open(&StoreConfig::embedded(data_dir)).await.unwrap();
    store.apply_catalog(&catalog).await.unwrap();
    let kek = LocalKeyFile::open(data_dir.join("kek.key")).await.unwrap();
    let records = Records::new(store.clone(), catalog.clone(), Arc::new(kek));

    let persons = read_all(&records, &catalog, "innbyggere", "innbyggerregister").await;
    let fnr_of: BTreeMap<String, String> = persons
        .iter()
        .map(|(id, fields)| {
            let fnr = fields.iter().find(|(f, _)| f == "fodselsnummer").unwrap();
            (id.clone(), fnr.1.clone())
        })
        .collect();
    let by_fnr = persons
        .into_iter()
        .map(|(id, fields)| (fnr_of[&id].clone(), fields))
        .collect();
    let dereference = |rows: Vec<(String, Vec<(String, String)>)>| {
        let mut rows: Vec<_> = rows
            .into_iter()
            .map(|(_, fields)| {
                fields
                    .into_iter()
                    .map(|(field, value)| match fnr_of.get(&value) {
                        Some(fnr) if field.ends_with("_id") => (field, fnr.clone()),
                        _ => (field, value),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort();
        rows
    };
    let applications =
        dereference(read_all(&records, &catalog, "barnehagesoknader", "barnehageopptak").await);
    let cases = dereference(read_all(&records, &catalog, "saker", "helse_omsorg").await);
    store.close().await;
    (by_fnr, applications, cases)
}

#[tokio::test]
async fn seed_writes_the_planned_records_through_the_audited_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = exits(
        &datavern(
            dir.path(),
            &["demo", "seed", "--records", "200", "--data-dir", "data"],
        ),
        0,
    );
    assert!(out.contains("seeded 200 records for tenant 4601"), "{out}");
    assert!(out.contains("records/s"), "{out}");

    let data = dir.path().join("data");
    let plan = Plan::for_records(200);
    assert_eq!((plan.persons, plan.applications, plan.cases), (140, 40, 20));
    assert_eq!(count(&data, "c_innbyggere").await, 140);
    assert_eq!(count(&data, "c_barnehagesoknader").await, 40);
    assert_eq!(count(&data, "c_saker").await, 20);
    assert_eq!(count(&data, "c_nyhetsbrev").await, 0);
    assert_eq!(count(&data, "dv_outbox").await, 200);

    // One audit entry per record, sealed and checkpointed when the command ended.
    let out = exits(
        &datavern(dir.path(), &["audit", "verify", "--data-dir", "data"]),
        0,
    );
    assert!(
        out.contains("audit log intact: 200 entries checked"),
        "{out}"
    );

    // Encrypted like real data: no generated name or fødselsnummer in the data file.
    let bytes = std::fs::read(data.join("data.db")).unwrap();
    let person = demo::person(1, 3);
    for value in [&person.fodselsnummer, &person.fornavn, &person.epost] {
        assert!(
            !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "a plaintext value is in data.db"
        );
    }
}

#[tokio::test]
async fn same_seed_gives_the_same_decrypted_data() {
    let dir = tempfile::tempdir().unwrap();
    for data in ["a", "b"] {
        exits(
            &datavern(
                dir.path(),
                &[
                    "demo",
                    "seed",
                    "--records",
                    "60",
                    "--seed",
                    "42",
                    "--data-dir",
                    data,
                    "--concurrency",
                    "8",
                ],
            ),
            0,
        );
    }
    let a = decrypted_content(&dir.path().join("a")).await;
    let b = decrypted_content(&dir.path().join("b")).await;
    assert_eq!(a, b);

    let plan = Plan::for_records(60);
    let (persons, applications, cases) = a;
    assert_eq!(persons.len() as u64, plan.persons);
    assert_eq!(applications.len() as u64, plan.applications);
    assert_eq!(cases.len() as u64, plan.cases);
    // Resident k is the generator's resident k, field for field.
    for k in 0..plan.persons {
        let expected = demo::person(42, k);
        let stored = &persons[&expected.fodselsnummer];
        let value = |field: &str| stored.iter().find(|(f, _)| f == field).unwrap().1.clone();
        assert_eq!(value("fornavn"), expected.fornavn);
        assert_eq!(value("etternavn"), expected.etternavn);
        assert_eq!(value("adresse"), expected.adresse);
        assert_eq!(value("postnummer"), expected.postal.postnummer);
        assert_eq!(value("epost"), expected.epost);
        assert_eq!(value("fodselsdato"), expected.fodselsdato.to_string());
    }
    // Applications name the child and its guardians by their own records.
    let children: HashSet<String> = (0..plan.applications)
        .map(|j| demo::person(42, demo::application(42, j).barn).fodselsnummer)
        .collect();
    for application in &applications {
        let barn = &application.iter().find(|(f, _)| f == "barn_id").unwrap().1;
        assert!(children.contains(barn), "barn_id is not a seeded child");
    }
}

#[tokio::test]
async fn demo_rights_measures_access_erasure_and_retention_on_every_backend() {
    for backend in Backend::ALL {
        let site = Site::new(backend).await;
        seed(&site, 300, 7);
        let out = exits(
            &site.run(&[
                "demo",
                "rights",
                "--records",
                "300",
                "--seed",
                "7",
                "--samples",
                "10",
                "--retention",
                "--json",
            ]),
            0,
        );
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let skipped = report["skipped"].as_u64().unwrap();
        for (i, operation) in ["access", "erasure"].into_iter().enumerate() {
            let measured = &report["measurements"][i];
            assert_eq!(measured["operation"], operation, "{backend}");
            let governed = measured["governed"]["count"].as_u64().unwrap();
            let raw = measured["raw"]["count"].as_u64().unwrap();
            assert!(governed + raw + skipped >= 18, "{backend}: {measured}");
            assert!(governed > 0 && raw > 0, "{backend}: {measured}");
            assert!(
                measured["governed"]["rows_per_op"].as_f64().unwrap() >= 1.0,
                "{backend}: every sampled resident has at least their own record: {measured}"
            );
        }
        // Retention as of 30 years ahead: every resident and application is due.
        let retention = &report["retention"];
        assert!(
            retention["handled"].as_u64().unwrap() >= 200,
            "{backend}: {retention}"
        );
        // Everything it did is in an intact audit chain.
        let out = exits(&site.run(&["audit", "verify"]), 0);
        assert!(out.contains("audit log intact"), "{backend}: {out}");
        site.finish().await;
    }
}

#[tokio::test]
async fn seed_writes_the_planned_records_on_every_backend() {
    for backend in Backend::ALL {
        let site = Site::new(backend).await;
        let out = seed(&site, 200, 7);
        assert!(
            out.contains("seeded 200 records for tenant 4601"),
            "{backend}: {out}"
        );

        // One audit entry per record, sealed and checkpointed when the command ended.
        let out = exits(&site.run(&["audit", "verify"]), 0);
        assert!(
            out.contains("audit log intact: 200 entries checked"),
            "{backend}: {out}"
        );

        // One created event per record, of each collection as planned.
        let (data, keys) = match &site.db {
            Some(db) => (db.config().data.clone(), db.config().keys.clone()),
            None => {
                let embedded = StoreConfig::embedded(site.dir.path().join("data"));
                (embedded.data, embedded.keys)
            }
        };
        let store = Store::open(&StoreConfig::new(data, keys)).await.unwrap();
        let events = store.outbox().pending(1000).await.unwrap();
        store.close().await;
        assert_eq!(events.len(), 200, "{backend}");
        let of = |collection: &str| {
            let source = format!("/datavern/4601/{collection}");
            events.iter().filter(|e| e.source == source).count()
        };
        assert_eq!(
            (of("innbyggere"), of("barnehagesoknader"), of("saker")),
            (140, 40, 20),
            "{backend}"
        );
        site.finish().await;
    }
}

#[tokio::test]
async fn same_seed_gives_the_same_digest_on_every_backend() {
    for backend in Backend::ALL {
        let (a, b, other) = (
            Site::new(backend).await,
            Site::new(backend).await,
            Site::new(backend).await,
        );
        seed(&a, 300, 42);
        seed(&b, 300, 42);
        seed(&other, 300, 43);

        let digest = printed_digest(backend, a.digest(42, 300));
        assert_eq!(printed_digest(backend, b.digest(42, 300)), digest);
        let (_, stdout, _) = a.digest(42, 300);
        assert!(
            stdout.contains("over 100 sampled residents (seed 42, 300 records)"),
            "{backend}: {stdout}"
        );
        // Digests do not change what they read: a second digest is the same.
        assert_eq!(printed_digest(backend, a.digest(42, 300)), digest);

        // Another seed's data has another digest, and none of the residents of this one.
        assert_ne!(printed_digest(backend, other.digest(43, 300)), digest);
        let (code, stdout, stderr) = other.digest(42, 300);
        assert_eq!(code, 1, "{backend}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{backend}: {stdout}");
        assert!(
            stderr.contains("100 of 100 sampled residents are missing"),
            "{backend}: {stderr}"
        );
        // No personal value reaches the output.
        let person = demo::person(42, 0);
        assert!(!stderr.contains(&person.fodselsnummer) && !stderr.contains(&person.fornavn));

        for site in [a, b, other] {
            site.finish().await;
        }
    }
}

#[tokio::test]
async fn digest_changes_when_a_sampled_resident_changes() {
    let site = Site::new(Backend::Sqlite).await;
    seed(&site, 70, 5);
    let before = printed_digest(Backend::Sqlite, site.digest(5, 70));

    // Change resident 0 (always sampled) through the governed path.
    let data_dir = site.dir.path().join("data");
    let catalog = Arc::new(Catalog::from_yaml(CATALOG).unwrap());
    let store = Store::open(&StoreConfig::embedded(&data_dir))
        .await
        .unwrap();
    store.apply_catalog(&catalog).await.unwrap();
    let kek = LocalKeyFile::open(data_dir.join("kek.key")).await.unwrap();
    let records = Records::new(store.clone(), catalog.clone(), Arc::new(kek));
    let tenant = Kommunenummer::parse("4601").unwrap();
    let principal = Principal::new(
        PrincipalId::parse("demo-test").unwrap(),
        tenant,
        Classification::Begrenset,
    )
    .with_purposes([PurposeId::parse("innbyggerregister").unwrap()]);
    let decide = |request: AccessRequest<'_>| {
        access::decide(
            &catalog,
            &principal,
            &request.with_purpose(Some("innbyggerregister")),
        )
        .unwrap()
    };
    let lookup = decide(AccessRequest::lookup("innbyggere", tenant, "fodselsnummer"));
    let update = decide(AccessRequest::update("innbyggere", tenant));
    let found = records
        .lookup(
            &lookup,
            "fodselsnummer",
            &demo::person(5, 0).fodselsnummer,
            &RequestMeta::new(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let mut body = serde_json::Map::new();
    body.insert("fornavn".to_owned(), "Endret".into());
    let patch = datavern_core::record::validate(
        catalog.collection("innbyggere").unwrap(),
        &body,
        datavern_core::record::Mode::Patch,
    )
    .unwrap();
    records
        .update(&update, found[0].id, patch, None, &RequestMeta::new())
        .await
        .unwrap();
    store.audit().shutdown().await.unwrap();
    store.close().await;

    let after = printed_digest(Backend::Sqlite, site.digest(5, 70));
    assert_ne!(after, before);
    site.finish().await;
}

#[test]
fn generated_people_have_tenor_numbers_and_real_postal_places() {
    let table: HashSet<(&str, &str)> = POSTAL_PLACES
        .iter()
        .map(|p| (p.postnummer, p.poststed))
        .collect();
    assert_eq!(table.len(), POSTAL_PLACES.len());
    for seed in [0, 1, 42] {
        for index in 0..2_000 {
            let person = demo::person(seed, index);
            let fnr = Fodselsnummer::parse(&person.fodselsnummer).unwrap();
            assert_eq!(fnr.variant(), FnrVariant::Tenor);
            assert!(fnr.variant().is_synthetic());
            assert_eq!(fnr.checksum_rule(), ChecksumRule::Classic);
            assert_eq!(fnr.birth_date(), Some(person.fodselsdato));
            assert!(
                table.contains(&(person.postal.postnummer, person.postal.poststed)),
                "{} {} is not in the table",
                person.postal.postnummer,
                person.postal.poststed
            );
            assert!(person.epost.is_ascii() && person.epost.contains("@example."));
            assert!(demo::person(seed, index) == person, "not a pure function");
        }
    }
    assert!(demo::person(1, 0) != demo::person(2, 0));
}

#[test]
fn plan_refers_only_to_residents_it_makes() {
    for total in [0, 1, 5, 9, 10, 13, 59, 60, 200, 1_001, 99_999] {
        let plan = Plan::for_records(total);
        assert_eq!(plan.total(), total);
        for j in 0..plan.applications {
            let a = demo::application(7, j);
            assert_eq!(a.barn % 7, 0, "the child is a household's first member");
            assert!(a.foresatt1 < plan.persons && a.foresatt2.unwrap_or(0) < plan.persons);
        }
        for i in 0..plan.cases {
            assert!(demo::case(7, i).bruker < plan.persons);
        }
    }
}
