//! `datavern consent grant|withdraw|show` as a service desk runs them, on an embedded data
//! directory (SQLite) and on fresh PostgreSQL and MariaDB databases.

use std::process::Output;

use datavern_sql::{Backend, Database, DatabaseConfig, DatabaseRole, testing};
use uuid::Uuid;

use crate::demo::{Site, exits, seed};
use datavern_testkit::on_every_backend;

/// The id of the first resident `demo seed` wrote.
async fn first_resident(site: &Site) -> Uuid {
    const SQL: &str = "SELECT id FROM c_innbyggere ORDER BY id LIMIT 1";
    let config = match &site.db {
        None => DatabaseConfig::sqlite_file(site.dir.path().join("data").join("data.db")),
        Some(db) => db.config().data.clone(),
    };
    let data = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap();
    let id = testing::fetch_one(&data, SQL, &[]).await;
    data.close().await;
    id
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[on_every_backend(multi_thread)]
async fn consent_is_granted_withdrawn_and_shown_from_the_command_line(backend: Backend) {
    let site = Site::new(backend).await;
    seed(&site, 2, 1);
    let subject = first_resident(&site).await.to_string();
    let record = |action: &str, extra: &[&str]| {
        let mut args = vec![
            "consent",
            action,
            "--subject",
            &subject,
            "--purpose",
            "nyhetsbrev",
            "--recorded-by",
            "servicetorget",
        ];
        args.extend_from_slice(extra);
        site.run(&args)
    };

    let out = exits(
        &record(
            "grant",
            &[
                "--notice-version",
                "2026-01",
                "--channel",
                "paper",
                "--occurred-at",
                "2026-03-01T10:00:00Z",
                "--evidence-ref",
                "skjema:2026/4711",
            ],
        ),
        0,
    );
    assert!(out.contains("recorded grant"), "{out}");
    exits(
        &record(
            "withdraw",
            &[
                "--channel",
                "phone",
                "--occurred-at",
                "2026-04-01T10:00:00Z",
            ],
        ),
        0,
    );
    let shown = exits(&site.run(&["consent", "show", "--subject", &subject]), 0);
    assert!(shown.contains("nyhetsbrev"), "{shown}");
    assert!(shown.contains("not_granted"), "{shown}");
    let history: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.starts_with("history:"))
        .skip(1)
        .collect();
    assert_eq!(history.len(), 2, "{shown}");
    assert!(
        history[0].contains("grant")
            && history[0].contains("paper")
            && history[0].contains("evidence skjema:2026/4711"),
        "{shown}"
    );
    assert!(
        history[1].contains("withdraw") && history[1].contains("phone"),
        "{shown}"
    );

    // Refusals: exit 2 with the reason, nothing recorded.
    let refused = record("grant", &["--channel", "paper"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("notice"), "{}", stderr(&refused));
    // An evidence reference is an id, never personal data (and never echoed).
    let refused = record(
        "grant",
        &[
            "--notice-version",
            "2026-01",
            "--channel",
            "paper",
            "--evidence-ref",
            "15108695088",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("evidence_ref"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("15108695088"),
        "{}",
        stderr(&refused)
    );
    let refused = site.run(&[
        "consent",
        "grant",
        "--subject",
        &subject,
        "--purpose",
        "innbyggerregister",
        "--notice-version",
        "1",
        "--channel",
        "paper",
        "--recorded-by",
        "servicetorget",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("not consent"),
        "{}",
        stderr(&refused)
    );
    let nobody = Uuid::now_v7().to_string();
    let refused = site.run(&[
        "consent",
        "withdraw",
        "--subject",
        &nobody,
        "--purpose",
        "nyhetsbrev",
        "--channel",
        "web",
        "--recorded-by",
        "servicetorget",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("no data subject"),
        "{}",
        stderr(&refused)
    );
    let shown = exits(&site.run(&["consent", "show", "--subject", &subject]), 0);
    assert_eq!(
        shown
            .lines()
            .skip_while(|l| !l.starts_with("history:"))
            .count(),
        3,
        "{shown}"
    );
    site.finish().await;
}
