//! Retention: records past each kind of period are deleted, anonymized or archived; legal
//! holds keep exactly what they cover; a dry run changes nothing; a second run finds
//! nothing left; every batch is audited.

use std::sync::Arc;

use datavern_core::access::PrincipalId;
use datavern_core::catalog::{Catalog, CollectionName};
use datavern_governance::retention::{Retention, RetentionReport, RunMode};
use datavern_governance::{HoldScope, LegalHolds, NewHold};
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database};
use datavern_store::testing::OpenStore as _;
use datavern_store::{Store, SubjectId};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::support::{catalog, execute, on_every_backend, scalar, tenant};

/// Four collections, one per kind of start and action.
pub(crate) const RETENTION: &str = r#"
version: 1
deployment:
  name: Testkommune
  tenants:
    - kommunenummer: "4601"
      name: Bergen kommune
  accreditation: BEGRENSET
  storage:
    - name: primary
      kind: database
      location: no
    - name: keys
      kind: key_store
      location: no
purposes:
  - id: register
    description: Holde register
    lawful_basis: 6(1)(e)
    legal_reference: kommuneloven § 2-1
collections:
  - name: personer
    description: Personer
    classification: ÅPEN
    subjects: self
    purposes: [register]
    retention: { period: P2Y, from: last_activity, then: delete }
    fields:
      - { name: kallenavn, type: string, category: user.name.given }
  - name: saker
    description: Saker
    classification: ÅPEN
    subjects:
      - { name: part, role: party, field: part_id, collection: personer, primary: true }
    purposes: [register]
    retention: { period: P1Y, from: created, then: delete }
    fields:
      - { name: part_id, type: string, required: true, category: user.unique_id.pseudonymous }
  - name: notater
    description: Notater
    classification: ÅPEN
    subjects:
      - { name: part, role: party, field: part_id, collection: personer, primary: true }
    purposes: [register]
    retention: { period: P1Y, from: updated, then: anonymize }
    fields:
      - { name: part_id, type: string, required: true, category: user.unique_id.pseudonymous }
      - { name: tekst, type: text, category: user.contact }
      - { name: antall, type: integer, category: system.operations }
  - name: vedtak
    description: Vedtak
    classification: ÅPEN
    subjects:
      - { name: part, role: party, field: part_id, collection: personer, primary: true }
    purposes: [register]
    retention: { period: P5Y, from: { field: vedtaksdato }, then: archive }
    fields:
      - { name: part_id, type: string, required: true, category: user.unique_id.pseudonymous }
      - { name: vedtaksdato, type: date, category: system.operations }
"#;

const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
const OLD: OffsetDateTime = datetime!(2020-01-01 00:00 UTC);
const RECENT: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);

struct Env {
    db: TestDb,
    store: Store,
    catalog: Arc<Catalog>,
}

impl Env {
    async fn new(backend: Backend) -> Env {
        Env::with(backend, RETENTION).await
    }

    async fn with(backend: Backend, yaml: &str) -> Env {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        let catalog = Arc::new(catalog(yaml));
        store.apply_catalog(&catalog).await.unwrap();
        Env { db, store, catalog }
    }

    fn data(&self) -> &Database {
        self.store.data()
    }

    fn backend(&self) -> Backend {
        self.db.backend()
    }

    fn uuid(&self, id: Uuid) -> String {
        uuid_literal(self.backend(), id)
    }

    fn time(&self, at: OffsetDateTime) -> String {
        match self.backend() {
            Backend::Sqlite => format!(
                "'{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z'",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            ),
            _ => format!(
                "'{:04}-{:02}-{:02} {:02}:{:02}:{:02}'",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            ),
        }
    }

    async fn person(&self, updated: OffsetDateTime) -> Uuid {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO c_personer (id, tenant, kallenavn, created_at, updated_at, version, \
             dv_restricted) VALUES ({}, '4601', 'Kari', {}, {}, 1, FALSE)",
            self.uuid(id),
            self.time(OLD),
            self.time(updated)
        );
        execute(self.data(), &sql).await;
        id
    }

    /// A record of `table` (`saker`, `notater` or `vedtak`) of `person`, with `extra`
    /// columns and values.
    async fn record(
        &self,
        table: &str,
        person: Uuid,
        created: OffsetDateTime,
        updated: OffsetDateTime,
        extra: &[(&str, String)],
    ) -> Uuid {
        let id = Uuid::now_v7();
        let mut columns = "id, tenant, dv_subject, part_id, created_at, updated_at, version, \
                           dv_restricted"
            .to_owned();
        let mut values = format!(
            "{}, '4601', {}, '{person}', {}, {}, 1, FALSE",
            self.uuid(id),
            self.uuid(person),
            self.time(created),
            self.time(updated)
        );
        for (column, value) in extra {
            columns.push_str(&format!(", {column}"));
            values.push_str(&format!(", {value}"));
        }
        execute(
            self.data(),
            &format!("INSERT INTO c_{table} ({columns}) VALUES ({values})"),
        )
        .await;
        id
    }

    async fn exists(&self, table: &str, id: Uuid) -> bool {
        let sql = format!(
            "SELECT COUNT(*) FROM c_{table} WHERE id = {}",
            self.uuid(id)
        );
        scalar(self.data(), &sql).await == 1
    }

    async fn count(&self, sql: &str) -> i64 {
        scalar(self.data(), sql).await
    }

    async fn run(&self, mode: RunMode) -> RetentionReport {
        Retention::new(self.store.clone(), self.catalog.clone())
            .run(NOW, mode, |_| {})
            .await
            .unwrap()
    }
}

fn uuid_literal(backend: Backend, id: Uuid) -> String {
    let hex = id.simple().to_string();
    match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'{id}'::uuid"),
        Backend::MySql => format!("UNHEX('{hex}')"),
    }
}

fn outcome<'r>(
    report: &'r RetentionReport,
    collection: &str,
) -> &'r datavern_governance::retention::CollectionOutcome {
    report
        .collections
        .iter()
        .find(|c| c.collection == collection)
        .unwrap()
}

/// The fixture of the first two tests: per collection one record due and one not.
struct Seeded {
    idle: Uuid,
    active: Uuid,
    old_case: Uuid,
    new_case: Uuid,
    old_note: Uuid,
    new_note: Uuid,
    old_decision: Uuid,
    new_decision: Uuid,
    undated_decision: Uuid,
}

async fn seed(env: &Env) -> Seeded {
    // Idle: nothing about them since 2023; active: a case updated last month.
    let idle = env.person(datetime!(2023-01-01 00:00 UTC)).await;
    let active = env.person(datetime!(2023-01-01 00:00 UTC)).await;
    let old_case = env
        .record("saker", idle, datetime!(2024-01-01 00:00 UTC), OLD, &[])
        .await;
    let new_case = env.record("saker", active, RECENT, RECENT, &[]).await;
    let old_note = env
        .record(
            "notater",
            idle,
            OLD,
            datetime!(2024-01-01 00:00 UTC),
            &[("tekst", "'ring tilbake'".into()), ("antall", "3".into())],
        )
        .await;
    let new_note = env
        .record(
            "notater",
            active,
            OLD,
            RECENT,
            &[("tekst", "'ny'".into()), ("antall", "1".into())],
        )
        .await;
    let old_decision = env
        .record(
            "vedtak",
            idle,
            OLD,
            OLD,
            &[("vedtaksdato", "'2021-05-31'".into())],
        )
        .await;
    let new_decision = env
        .record(
            "vedtak",
            active,
            RECENT,
            RECENT,
            &[("vedtaksdato", "'2021-06-02'".into())],
        )
        .await;
    let undated_decision = env.record("vedtak", active, OLD, OLD, &[]).await;
    Seeded {
        idle,
        active,
        old_case,
        new_case,
        old_note,
        new_note,
        old_decision,
        new_decision,
        undated_decision,
    }
}

#[on_every_backend]
async fn records_past_each_kind_of_period_are_handled_once(backend: Backend) {
    let env = Env::new(backend).await;
    let s = seed(&env).await;

    let plan = Retention::new(env.store.clone(), env.catalog.clone())
        .plan(NOW)
        .await
        .unwrap();
    let due: Vec<(&str, u64, u64)> = plan
        .collections
        .iter()
        .map(|c| (c.collection.as_str(), c.due, c.held))
        .collect();
    assert_eq!(
        due,
        [
            ("personer", 1, 0),
            ("saker", 1, 0),
            ("notater", 1, 0),
            ("vedtak", 1, 0)
        ]
    );
    let saker = plan
        .collections
        .iter()
        .find(|c| c.collection == "saker")
        .unwrap();
    assert_eq!(saker.oldest_due_at, Some(datetime!(2025-01-01 00:00 UTC)));

    let report = env.run(RunMode::Apply).await;
    assert_eq!(report.handled, 4);
    assert_eq!(outcome(&report, "personer").deleted, 1);
    assert_eq!(outcome(&report, "saker").deleted, 1);
    assert_eq!(outcome(&report, "notater").anonymized, 1);
    assert_eq!(outcome(&report, "vedtak").archived, 1);

    // Last activity: the idle person goes, the one with a recent case stays.
    assert!(!env.exists("personer", s.idle).await);
    assert!(env.exists("personer", s.active).await);
    // Created: the old case goes even though a newer record of the same person exists.
    assert!(!env.exists("saker", s.old_case).await);
    assert!(env.exists("saker", s.new_case).await);
    // Updated, anonymize: links and personal fields cleared, the rest kept, version bumped.
    let note = |id: Uuid, what: &str| {
        format!(
            "SELECT COUNT(*) FROM c_notater WHERE id = {} AND {what}",
            env.uuid(id)
        )
    };
    assert_eq!(
        env.count(&note(
            s.old_note,
            "dv_subject IS NULL AND part_id IS NULL AND tekst IS NULL AND antall = 3 \
             AND version = 2"
        ))
        .await,
        1
    );
    assert_eq!(
        env.count(&note(
            s.new_note,
            "dv_subject IS NOT NULL AND tekst IS NOT NULL AND version = 1"
        ))
        .await,
        1
    );
    // A date field, archive: restricted and registered, still there; undated never due.
    let restricted = |id: Uuid| {
        format!(
            "SELECT COUNT(*) FROM c_vedtak WHERE id = {} AND dv_restricted = TRUE",
            env.uuid(id)
        )
    };
    assert_eq!(env.count(&restricted(s.old_decision)).await, 1);
    assert_eq!(env.count(&restricted(s.new_decision)).await, 0);
    assert_eq!(env.count(&restricted(s.undated_decision)).await, 0);
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM dv_retention_register WHERE collection = 'vedtak' \
             AND action = 'archive'"
        )
        .await,
        1
    );

    // One audit entry per collection and batch, outbox events for deletes and anonymizing.
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM dv_audit WHERE action IN ('retention.delete', \
             'retention.anonymize', 'retention.archive') AND principal = 'system:retention'"
        )
        .await,
        4
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM dv_outbox WHERE type = 'no.datavern.record.deleted'")
            .await,
        2
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM dv_outbox WHERE type = 'no.datavern.record.updated'")
            .await,
        1
    );

    // Idempotent: nothing is left to do, nothing more is audited.
    let again = env.run(RunMode::Apply).await;
    assert_eq!(again.handled, 0);
    assert!(
        again
            .collections
            .iter()
            .all(|c| c.due == 0 && c.batches == 0)
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM dv_audit WHERE action LIKE 'retention.%'")
            .await,
        4
    );
    env.db.cleanup().await;
}

#[on_every_backend]
async fn holds_keep_exactly_what_they_cover(backend: Backend) {
    let env = Env::new(backend).await;
    let s = seed(&env).await;
    // A second person whose old note is not held.
    let other = env.person(RECENT).await;
    let other_note = env
        .record("notater", other, OLD, OLD, &[("tekst", "'x'".into())])
        .await;
    let holds = LegalHolds::new(env.store.clone());
    let dpo = PrincipalId::parse("dpo@bergen").unwrap();
    let place = |scope| NewHold {
        scope,
        reason: "Rettssak".to_owned(),
        expires_at: None,
    };
    for scope in [
        HoldScope::Collection {
            collection: CollectionName::parse("saker").unwrap(),
        },
        HoldScope::Record {
            collection: CollectionName::parse("notater").unwrap(),
            record: s.old_note,
        },
        HoldScope::Subject {
            subject: SubjectId::from_uuid(s.idle),
        },
    ] {
        holds
            .place(&env.catalog, tenant("4601"), &dpo, place(scope))
            .await
            .unwrap();
    }

    let report = env.run(RunMode::Apply).await;
    // The subject hold keeps the idle person and their decision; the collection hold every
    // case; the record hold one note, not the other person's.
    assert_eq!(outcome(&report, "personer").held, 1);
    assert_eq!(outcome(&report, "personer").deleted, 0);
    assert!(env.exists("personer", s.idle).await);
    assert_eq!(outcome(&report, "saker").held, 1);
    assert!(env.exists("saker", s.old_case).await);
    assert_eq!(outcome(&report, "notater").held, 1);
    assert_eq!(outcome(&report, "notater").anonymized, 1);
    let anonymized = |id: Uuid| {
        format!(
            "SELECT COUNT(*) FROM c_notater WHERE id = {} AND dv_subject IS NULL",
            env.uuid(id)
        )
    };
    assert_eq!(env.count(&anonymized(s.old_note)).await, 0);
    assert_eq!(env.count(&anonymized(other_note)).await, 1);
    assert_eq!(outcome(&report, "vedtak").held, 1);
    assert_eq!(outcome(&report, "vedtak").archived, 0);
    assert_eq!(report.handled, 1);
    let _ = (
        s.active,
        s.new_case,
        s.new_note,
        s.new_decision,
        s.undated_decision,
    );
    env.db.cleanup().await;
}

#[on_every_backend]
async fn dry_run_changes_nothing_and_batches_are_audited(backend: Backend) {
    let env = Env::new(backend).await;
    let person = env.person(RECENT).await;
    for _ in 0..5 {
        env.record("saker", person, OLD, OLD, &[]).await;
    }
    for _ in 0..3 {
        env.record("notater", person, OLD, OLD, &[("tekst", "'x'".into())])
            .await;
    }
    let dry = env.run(RunMode::DryRun).await;
    assert_eq!(outcome(&dry, "saker").due, 5);
    assert_eq!(dry.handled, 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM c_saker").await, 5);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM dv_audit WHERE action LIKE 'retention.%'")
            .await,
        0
    );

    let mut seen = Vec::new();
    let report = Retention::new(env.store.clone(), env.catalog.clone())
        .with_batch_size(2)
        .run(NOW, RunMode::Apply, |p| seen.push((p.done, p.total)))
        .await
        .unwrap();
    assert_eq!(outcome(&report, "saker").deleted, 5);
    assert_eq!(outcome(&report, "saker").batches, 3);
    // Batches continue after the last id: anonymized rows stay but are not picked again.
    assert_eq!(outcome(&report, "notater").anonymized, 3);
    assert_eq!(outcome(&report, "notater").batches, 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM c_notater WHERE dv_subject IS NULL")
            .await,
        3
    );
    assert_eq!(
        seen,
        [(2, 8), (4, 8), (5, 8), (7, 8), (8, 8)],
        "saker first, then notater"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM c_saker").await, 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM dv_audit WHERE action = 'retention.delete'")
            .await,
        3
    );
    env.db.cleanup().await;
}

/// Persons deleted by retention from a `crypto_shred` collection lose their data keys
/// (crypto-shredding reaches old backups), unless a record still sealed with the key
/// remains elsewhere.
#[on_every_backend]
async fn deleted_persons_lose_their_keys_once_nothing_else_holds_their_data(backend: Backend) {
    use datavern_crypto::KeyVersion;
    use datavern_store::KeyState;

    // Persons with an encrypted field, erased by crypto-shredding.
    let shredding = RETENTION.replace(
        "      - { name: kallenavn, type: string, category: user.name.given }",
        "      - { name: kallenavn, type: string, category: user.name.given }\n      \
         - { name: hemmelig, type: string, category: user.name.family, encrypted: true }\n    \
         erasure: crypto_shred",
    );
    assert_ne!(shredding, RETENTION);
    let env = Env::with(backend, &shredding).await;
    let kek = crate::support::Kek::new().await;
    let bergen = tenant("4601");
    // Both past their period (no activity since 2020); one still has a decision, kept for
    // the archive until 2026-06-02 + 5 years.
    let lone = env.person(OLD).await;
    let with_decision = env.person(OLD).await;
    env.record(
        "vedtak",
        with_decision,
        OLD,
        OLD,
        &[("vedtaksdato", "'2026-05-31'".into())],
    )
    .await;
    let mut wrapped = Vec::new();
    for person in [lone, with_decision] {
        let subject = SubjectId::from_uuid(person);
        wrapped.push((
            subject,
            kek.data_key(bergen, subject, KeyVersion::FIRST)
                .await
                .unwrap(),
        ));
    }
    let keys: Vec<_> = wrapped.iter().map(|(s, k)| (*s, k)).collect();
    assert!(
        env.store
            .keys()
            .create_subject_keys(bergen, &keys)
            .await
            .unwrap()
    );

    let report = env.run(RunMode::Apply).await;
    let personer = outcome(&report, "personer");
    assert_eq!(personer.deleted, 2, "{report:?}");
    assert_eq!(personer.keys_destroyed, 1, "{report:?}");
    let state = |person: Uuid| {
        let store = env.store.clone();
        async move {
            store
                .keys()
                .subject_keys(bergen, &[SubjectId::from_uuid(person)])
                .await
                .unwrap()
                .into_iter()
                .map(|k| matches!(k.state, KeyState::Destroyed { .. }))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        state(lone).await,
        vec![true],
        "the lone person's key is destroyed"
    );
    assert_eq!(
        state(with_decision).await,
        vec![false],
        "a decision still needs the key"
    );
    env.db.cleanup().await;
}
