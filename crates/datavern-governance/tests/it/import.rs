//! Imports of legacy rows through the governed path: a CSV file's rows become encrypted,
//! audited records readable through `Records`; a dry run writes nothing; rejected rows are
//! reported by number, field, column and code, never by value; bad check digits and
//! duplicates by fødselsnummer have their own lists; an interrupted import resumes without
//! writing a row twice; a mapping naming an unknown field is refused with nothing written;
//! a table of another database is a source too.

use std::path::Path;

use datavern_core::access::{Principal, PrincipalId};
use datavern_core::classification::Classification;
use datavern_governance::import::{
    DuplicateOf, ImportError, ImportMode, ImportOptions, ImportReport, Importer, Source,
};
use datavern_testkit::fixtures::fnr;
use datavern_testkit::{Backend, Env};

use crate::support::{on_every_backend, scalar, strings, tenant};

/// The legacy system's columns, `;`-separated as Norwegian spreadsheets write them.
const HEADER: &str = "FNR;Fornavn;Etternavn;Født;Adresse;Postnr;Tlf";

const MAPPING: &str = "
columns:
  - { column: FNR, field: fodselsnummer }
  - { column: Fornavn, field: fornavn }
  - { column: Etternavn, field: etternavn }
  - { column: Født, field: fodselsdato, date_format: dd.mm.yyyy }
  - { column: Adresse, field: adresse }
  - { column: Postnr, field: postnummer }
  - { column: Tlf, field: telefon }
";

/// A valid row for resident `n` (see `fixtures::fnr`): born on day `n` of October 1986.
fn row(n: u32) -> String {
    format!(
        "{};Solveig{n};Brattebø-Lien;{n:02}.10.1986;Kalfarveien {n};5018;+47 412 34 5{n:02}",
        fnr(n)
    )
}

fn csv(dir: &Path, rows: &[String]) -> std::path::PathBuf {
    let path = dir.join("innbyggere.csv");
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn options(mode: ImportMode) -> ImportOptions {
    ImportOptions {
        collection: "innbyggere".to_owned(),
        tenant: tenant("4601"),
        purpose: "innbyggerregister".to_owned(),
        principal: Principal::new(
            PrincipalId::parse("drift-import").unwrap(),
            tenant("4601"),
            Classification::Begrenset,
        )
        .with_purposes([datavern_core::catalog::PurposeId::parse("innbyggerregister").unwrap()]),
        mode,
        batch_size: 500,
        max_batches: None,
    }
}

async fn import(
    env: &Env,
    options: &ImportOptions,
    mapping: &str,
    path: &Path,
) -> Result<ImportReport, ImportError> {
    let mut source = Source::csv(path, b';').unwrap();
    Importer::new(env.records.clone())
        .run(options, mapping, &mut source, |_| {})
        .await
}

/// The import audit entries' actions, in order.
async fn import_actions(env: &Env) -> Vec<String> {
    strings(
        env.data(),
        "SELECT action FROM dv_audit WHERE action LIKE 'import.%' ORDER BY id",
    )
    .await
}

#[on_every_backend]
async fn csv_rows_are_imported_encrypted_and_readable_through_records(backend: Backend) {
    let env = Env::kommune(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let path = csv(dir.path(), &(1..=5).map(row).collect::<Vec<_>>());
    let report = import(&env, &options(ImportMode::Apply), MAPPING, &path)
        .await
        .unwrap();
    assert_eq!(
        (report.rows_read, report.imported, report.rejected),
        (5, 5, 0)
    );
    assert!(report.complete && report.rejections.is_empty());
    assert_eq!(report.checked_against_stored, ["fodselsnummer"]);
    assert_eq!(env.count("c_innbyggere").await, 5);

    // Readable back, decrypted, through the governed lookup; the date was converted.
    let found = env
        .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(3))
        .await;
    assert_eq!(found.len(), 1);
    let view = format!("{:?}", found[0].fields);
    assert!(!view.contains("Solveig3"), "views redact: {view}");
    let value = |name: &str| {
        found[0]
            .fields
            .iter()
            .find(|(field, _)| field.as_str() == name)
            .and_then(|(_, value)| value.canonical())
            .unwrap()
    };
    assert_eq!(value("fornavn"), "Solveig3");
    assert_eq!(value("fodselsdato"), "1986-10-03");
    assert_eq!(value("telefon"), "+4741234503");

    // Each record has its create entry under the import's id, and the run is audited.
    let creates = scalar(
        env.data(),
        &format!(
            "SELECT COUNT(*) FROM dv_audit WHERE action = 'create' AND request_id = 'import:{}'",
            report.import_id
        ),
    )
    .await;
    assert_eq!(creates, 5);
    assert_eq!(
        import_actions(&env).await,
        ["import.started", "import.finished"]
    );
    env.finish().await;
}

#[on_every_backend]
async fn a_dry_run_checks_everything_and_writes_nothing(backend: Backend) {
    let env = Env::kommune(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (1..=4).map(row).collect();
    rows.push(row(2));
    let path = csv(dir.path(), &rows);
    let report = import(&env, &options(ImportMode::DryRun), MAPPING, &path)
        .await
        .unwrap();
    assert_eq!(report.mode, ImportMode::DryRun);
    assert_eq!(
        (report.rows_read, report.imported, report.rejected),
        (5, 4, 1)
    );
    assert_eq!(report.duplicates.len(), 1);
    assert_eq!(env.count("c_innbyggere").await, 0);
    assert_eq!(env.count("dv_jobs").await, 0);
    assert_eq!(env.count("dv_outbox").await, 0);

    // The real run afterwards imports what the dry run said it would.
    let applied = import(&env, &options(ImportMode::Apply), MAPPING, &path)
        .await
        .unwrap();
    assert_eq!((applied.imported, applied.rejected), (4, 1));
    env.finish().await;
}

#[on_every_backend]
async fn rejected_rows_name_field_column_and_code_but_never_a_value(backend: Backend) {
    let env = Env::kommune(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let good = fnr(5);
    // The last check digit changed: the checksum fails.
    let mut bad_fnr = good.clone();
    let last = bad_fnr.pop().unwrap();
    bad_fnr.push(if last == '9' { '0' } else { '9' });
    let rows = vec![
        row(1),
        format!("{bad_fnr};Torbjørg;Hekkelstrand;05.10.1986;Nattlandsveien 9;5094;"),
        format!("{};;Vindenes;06.10.1986;;5006;", fnr(6)),
        format!("{};Gunnvor;Ystebø;31.02.1986;;5006;", fnr(7)),
        "only;three;fields".to_owned(),
        row(8),
    ];
    let path = csv(dir.path(), &rows);
    let report = import(&env, &options(ImportMode::Apply), MAPPING, &path)
        .await
        .unwrap();
    assert_eq!(
        (report.rows_read, report.imported, report.rejected),
        (6, 2, 4)
    );
    let codes: Vec<(u64, &str, &str, Option<&str>)> = report
        .rejections
        .iter()
        .flat_map(|r| {
            r.problems.iter().map(move |p| {
                (
                    r.row,
                    p.pointer.as_str(),
                    p.code.as_str(),
                    p.column.as_deref(),
                )
            })
        })
        .collect();
    assert_eq!(
        codes,
        [
            (2, "/fodselsnummer", "invalid_identifier", Some("FNR")),
            (3, "/fornavn", "null_not_allowed", Some("Fornavn")),
            (4, "/fodselsdato", "invalid_date", Some("Født")),
            (5, "", "wrong_column_count", None),
        ]
    );
    assert_eq!(report.invalid_identifiers.len(), 1);
    assert_eq!(report.invalid_identifiers[0].row, 2);
    assert!(
        report.invalid_identifiers[0]
            .message
            .contains("check digit"),
        "{:?}",
        report.invalid_identifiers
    );

    // No value of the source anywhere in the report.
    let json = serde_json::to_string(&report).unwrap();
    for value in [
        bad_fnr.as_str(),
        good.as_str(),
        "Torbjørg",
        "Hekkelstrand",
        "Nattlandsveien",
        "Vindenes",
        "Gunnvor",
        "Ystebø",
        "31.02.1986",
        "only",
        "three",
        "Solveig",
    ] {
        assert!(!json.contains(value), "{value} in the report: {json}");
    }
    env.finish().await;
}

#[on_every_backend]
async fn duplicates_by_fodselsnummer_are_reported_within_the_file_and_against_stored(
    backend: Backend,
) {
    let env = Env::kommune(backend).await;
    // Resident 1 is stored already.
    env.create_resident(1).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![row(1), row(2), row(3), row(2), row(4)];
    let path = csv(dir.path(), &rows);
    let report = import(&env, &options(ImportMode::Apply), MAPPING, &path)
        .await
        .unwrap();
    assert_eq!((report.imported, report.rejected), (3, 2));
    let duplicates: Vec<(u64, DuplicateOf, Option<u64>)> = report
        .duplicates
        .iter()
        .map(|d| (d.row, d.of, d.first_row))
        .collect();
    assert_eq!(
        duplicates,
        [
            (1, DuplicateOf::Stored, None),
            (4, DuplicateOf::Source, Some(2))
        ]
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(&fnr(1)) && !json.contains(&fnr(2)), "{json}");
    // One record per person.
    assert_eq!(env.count("c_innbyggere").await, 4);
    env.finish().await;
}

#[on_every_backend]
async fn an_interrupted_import_resumes_after_the_last_batch_and_writes_no_row_twice(
    backend: Backend,
) {
    let env = Env::kommune(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (1..=7).map(row).collect();
    rows.insert(3, "broken;row".to_owned());
    let path = csv(dir.path(), &rows);
    let mut interrupted = options(ImportMode::Apply);
    interrupted.batch_size = 2;
    interrupted.max_batches = Some(2);
    // Two batches of two rows (one of them rejected), then the run stops, as if killed.
    let first = import(&env, &interrupted, MAPPING, &path).await.unwrap();
    assert!(!first.complete);
    assert_eq!(
        (
            first.rows_read,
            first.imported,
            first.rejected,
            first.batches
        ),
        (4, 3, 1, 2)
    );
    assert_eq!(env.count("c_innbyggere").await, 3);

    let mut rest = options(ImportMode::Apply);
    rest.batch_size = 2;
    let second = import(&env, &rest, MAPPING, &path).await.unwrap();
    assert_eq!(second.import_id, first.import_id);
    assert_eq!(second.resumed_after_row, Some(4));
    assert!(second.complete);
    assert_eq!(
        (second.rows_read, second.imported, second.rejected),
        (4, 4, 0)
    );
    assert!(second.duplicates.is_empty(), "{:?}", second.duplicates);
    assert_eq!(env.count("c_innbyggere").await, 7);
    for n in 1..=7 {
        let found = env
            .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(n))
            .await;
        assert_eq!(found.len(), 1, "resident {n}");
    }

    // A third run finds the import done and does nothing.
    let third = import(&env, &rest, MAPPING, &path).await.unwrap();
    assert!(third.already_done);
    assert_eq!((third.rows_read, third.imported), (0, 0));
    assert_eq!(env.count("c_innbyggere").await, 7);

    // A changed file is another import: its rows are checked against the stored ones.
    let mut more = rows.clone();
    more.push(row(9));
    let changed = csv(dir.path(), &more);
    let fourth = import(&env, &rest, MAPPING, &changed).await.unwrap();
    assert_ne!(fourth.import_id, first.import_id);
    assert_eq!((fourth.imported, fourth.duplicates.len()), (1, 7));
    assert_eq!(env.count("c_innbyggere").await, 8);
    env.finish().await;
}

#[on_every_backend]
async fn a_mapping_naming_an_unknown_field_is_refused_with_nothing_written(backend: Backend) {
    let env = Env::kommune(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let path = csv(dir.path(), &[row(1)]);
    let mapping = MAPPING
        .replace("field: fodselsnummer", "field: fodselsnr")
        .replace("column: Tlf", "column: Telefon");
    let err = import(&env, &options(ImportMode::Apply), &mapping, &path)
        .await
        .unwrap_err();
    let ImportError::Refused { code, problems } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(*code, "mapping_invalid");
    let text = problems.join("\n");
    assert!(
        text.contains("field `fodselsnr` is not a field of collection `innbyggere`: did you mean `fodselsnummer`?"),
        "{text}"
    );
    assert!(
        text.contains("column `Telefon` is not in the source"),
        "{text}"
    );
    // The required field is then mapped from nothing: said too.
    assert!(text.contains("field `fodselsnummer` of collection `innbyggere` is required"));

    let mut unknown = options(ImportMode::Apply);
    unknown.collection = "innbygere".to_owned();
    let err = import(&env, &unknown, MAPPING, &path).await.unwrap_err();
    assert_eq!(err.refusal_code(), Some("collection_unknown"));
    assert!(
        err.to_string().contains("did you mean `innbyggere`?"),
        "{err}"
    );

    let mut not_allowed = options(ImportMode::Apply);
    not_allowed.purpose = "kommunikasjon".to_owned();
    let err = import(&env, &not_allowed, MAPPING, &path)
        .await
        .unwrap_err();
    assert!(err.refusal_code().is_some(), "{err:?}");

    assert_eq!(env.count("c_innbyggere").await, 0);
    assert_eq!(env.count("dv_jobs").await, 0);
    assert_eq!(
        import_actions(&env).await,
        ["import.refused", "import.refused", "import.refused"]
    );
    env.finish().await;
}

#[on_every_backend]
async fn rows_of_a_database_table_are_imported(backend: Backend) {
    let env = Env::kommune(backend).await;
    // The legacy system's table, in a database the import reads through its URL.
    crate::support::execute(
        env.data(),
        "CREATE TABLE legacy_personer (pnr VARCHAR(11), fornavn VARCHAR(40), \
         etternavn VARCHAR(40), fodt DATE, postnr VARCHAR(4))",
    )
    .await;
    for n in 1..=3 {
        crate::support::execute(
            env.data(),
            &format!(
                "INSERT INTO legacy_personer VALUES ('{}', 'Aslaug{n}', 'Kvamme', \
                 '1986-10-{n:02}', '5003')",
                fnr(n)
            ),
        )
        .await;
    }
    crate::support::execute(
        env.data(),
        "INSERT INTO legacy_personer VALUES ('12345678901', 'Feil', 'Nummer', NULL, '5003')",
    )
    .await;
    let mapping = "
columns:
  - { column: pnr, field: fodselsnummer }
  - { column: fornavn, field: fornavn }
  - { column: etternavn, field: etternavn }
  - { column: fodt, field: fodselsdato }
  - { column: postnr, field: postnummer }
";
    let (url, _) = env.db.urls();
    let mut source = Source::table(&url, "legacy_personer", &["pnr".to_owned()])
        .await
        .unwrap();
    let report = Importer::new(env.records.clone())
        .run(&options(ImportMode::Apply), mapping, &mut source, |_| {})
        .await
        .unwrap();
    source.close().await;
    assert_eq!(
        (report.rows_read, report.imported, report.rejected),
        (4, 3, 1)
    );
    assert_eq!(report.invalid_identifiers.len(), 1);
    assert!(report.source.starts_with("table legacy_personer at "));
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("12345678901")
    );
    let found = env
        .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(2))
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(env.count("c_innbyggere").await, 3);

    let err = Source::table(&url, "no_such_table", &[]).await.unwrap_err();
    assert_eq!(err.refusal_code(), Some("source_unreadable"));
    env.finish().await;
}

/// An import into an empty table refreshes PostgreSQL's statistics as the table grows: with
/// the table still believed empty, the generic plan of the per-row duplicate lookup scanned
/// the whole table, and an import of 100,000 rows slowed to 82 rows/s by 40,000.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_keeps_the_planner_statistics_of_postgres_fresh() {
    let env = Env::kommune(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..1_100u64)
        .map(|i| {
            let p = datavern_core::demo::person(7, i);
            format!(
                "{};{};{};{};{};{};{}",
                p.fodselsnummer,
                p.fornavn,
                p.etternavn,
                p.fodselsdato.strftime("%d.%m.%Y"),
                p.adresse,
                p.postal.postnummer,
                p.telefon
            )
        })
        .collect();
    let path = csv(dir.path(), &rows);
    let report = import(&env, &options(ImportMode::Apply), MAPPING, &path)
        .await
        .unwrap();
    assert!(report.imported >= 1_000, "{}", report.imported);
    let estimated = scalar(
        env.data(),
        "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE relname = 'c_innbyggere'",
    )
    .await;
    assert!(
        estimated >= 1_000,
        "the table's statistics were not refreshed: reltuples {estimated}"
    );
}
