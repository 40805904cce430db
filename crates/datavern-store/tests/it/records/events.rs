use super::*;

#[on_every_backend]
async fn each_write_leaves_one_audit_entry_and_one_outbox_row(backend: Backend) {
    let env = Env::kommune(backend).await;
    let (audit0, outbox0) = (env.count("dv_audit").await, env.count("dv_outbox").await);

    let created = env.create_resident(23).await;
    assert_eq!(env.count("dv_audit").await, audit0 + 1);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 1);
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "postnummer": "5003", "adresse": "Torgallmenningen 1" }),
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(env.count("dv_audit").await, audit0 + 2);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 2);
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records
        .delete(&grant, created.id, &meta())
        .await
        .unwrap();
    assert_eq!(env.count("dv_audit").await, audit0 + 3);
    assert_eq!(env.count("dv_outbox").await, outbox0 + 3);

    let id = created.id.simple().to_string();
    let audit = audit_rows(&env).await;
    let audit: Vec<_> = audit
        .iter()
        .map(|(a, o, r, f)| (a.as_str(), o.as_str(), r.as_str(), f.as_str()))
        .collect();
    let all = r#"["adresse","epost","etternavn","fodselsdato","fodselsnummer","fornavn","postnummer","telefon"]"#;
    assert_eq!(
        audit,
        [
            ("create", "granted", id.as_str(), all),
            (
                "update",
                "granted",
                id.as_str(),
                r#"["adresse","postnummer"]"#
            ),
            ("delete", "granted", id.as_str(), all),
        ]
    );

    let events = env.store.outbox().pending(10).await.unwrap();
    let shape: Vec<(&str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.source.as_str(),
                e.subject.as_deref(),
            )
        })
        .collect();
    let subject = created.id.to_string();
    assert_eq!(
        shape,
        [
            (
                "no.datavern.record.created",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
            (
                "no.datavern.record.updated",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
            (
                "no.datavern.record.deleted",
                "/datavern/4601/innbyggere",
                Some(subject.as_str())
            ),
        ]
    );
    assert_eq!(
        events[1].data,
        Some(json!({
            "record_id": subject, "collection": "innbyggere", "tenant": "4601", "version": 2,
            "fields": ["adresse", "postnummer"],
        }))
    );
    assert!(
        events
            .iter()
            .all(|e| e.specversion == "1.0" && e.id.get_version_num() == 7)
    );
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(
        env.store
            .outbox()
            .mark_published(&[events[0].id])
            .await
            .unwrap(),
        1
    );
    assert_eq!(env.store.outbox().pending(10).await.unwrap().len(), 2);
    env.finish().await;
}

#[on_every_backend]
async fn a_write_that_fails_midway_leaves_no_trace(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(24).await;
    // One event per record at most: a second write of the record fails at its outbox
    // insert, after its row change and audit entry, inside the same transaction.
    execute(
        env.data(),
        "CREATE UNIQUE INDEX test_one_event_per_record ON dv_outbox (subject)",
    )
    .await;
    let counts = || async { (env.count("dv_audit").await, env.count("dv_outbox").await) };
    let before = counts().await;

    let update = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Ny adresse 1" }),
            None,
        )
        .await;
    assert!(
        matches!(update, Err(StoreError::Sql(SqlError::Statement(_)))),
        "{update:?}"
    );
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    let delete = env.records.delete(&grant, created.id, &meta()).await;
    assert!(
        matches!(delete, Err(StoreError::Sql(SqlError::Statement(_)))),
        "{delete:?}"
    );
    assert_eq!(counts().await, before, "no audit entry, no outbox row");
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(
        (read.version, string(&read, "adresse").as_str()),
        (1, "Lønborglien 77")
    );
    let reads = counts().await;

    // A key store that cannot be reached: nothing is written at all.
    env.store.keys().database().close().await;
    let grant = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "4601");
    let record = env.body("innbyggere", resident(25), Mode::Create);
    let create = env.records.create(&grant, record, &meta()).await;
    assert!(create.is_err());
    assert_eq!(counts().await, reads);
    assert_eq!(env.count("c_innbyggere").await, 1);
    env.finish().await;
}

#[on_every_backend]
async fn reads_are_audited_per_record_and_sealed(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(env.create_resident(n).await.id);
    }
    env.get("innbyggere", "kommunikasjon", "4601", ids[0])
        .await
        .unwrap();
    env.list("innbyggere", "innbyggerregister", None, 10).await;
    env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(2))
        .await;
    env.store.audit().seal().await.unwrap();

    let rows = audit_rows(&env).await;
    let reads: Vec<(&str, &str)> = rows
        .iter()
        .filter(|(a, ..)| a != "create")
        .map(|(a, _, r, _)| (a.as_str(), r.as_str()))
        .collect();
    let hex = |i: usize| ids[i].simple().to_string();
    let (h0, h1, h2) = (hex(0), hex(1), hex(2));
    let mut expected = vec![
        ("read", h0.as_str()),
        ("list", h0.as_str()),
        ("list", h1.as_str()),
        ("list", h2.as_str()),
        ("lookup", h1.as_str()),
    ];
    // Group commit may write concurrent entries in any order.
    let mut reads = reads;
    reads.sort_unstable();
    expected.sort_unstable();
    assert_eq!(reads, expected);
    // The read under `kommunikasjon` names the fields it returned, not the withheld one.
    let read_fields = &rows.iter().find(|(a, ..)| a == "read").unwrap().3;
    assert!(
        !read_fields.contains("fodselsnummer") && read_fields.contains("adresse"),
        "{read_fields}"
    );
    assert_eq!(
        scalar(
            env.data(),
            "SELECT COUNT(*) FROM dv_audit WHERE sequence IS NULL"
        )
        .await,
        0,
        "every entry is sealed"
    );
    let request_ids = strings(env.data(), "SELECT DISTINCT request_id FROM dv_audit").await;
    assert_eq!(request_ids, ["test-request"]);
    env.finish().await;
}

#[on_every_backend]
async fn denials_are_audited(backend: Backend) {
    let env = Env::kommune(backend).await;
    let principal = env.principal("4601");
    let request =
        AccessRequest::read("innbyggere", tenant("4601")).with_purpose(Some("nyhetsbrev"));
    let denial = access::decide(&env.catalog, &principal, &request).unwrap_err();
    let facts = AuditFacts::denied(&principal, &request, &denial);
    env.records.audit_denial(&facts, &meta()).await.unwrap();
    let rows = audit_rows(&env).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("read", "denied"));
    let reasons = strings(env.data(), "SELECT reason FROM dv_audit").await;
    assert_eq!(reasons, [denial.code()]);
    env.finish().await;
}

#[on_every_backend]
async fn outbox_rows_hold_no_personal_values(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 26..=27 {
        ids.push(env.create_resident(n).await.id);
    }
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[0],
        json!({ "fornavn": "Ingeborg26", "epost": "Ingeborg.Skjaervik@example.no" }),
        None,
    )
    .await
    .unwrap();
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records.delete(&grant, ids[1], &meta()).await.unwrap();

    let events = env.store.outbox().pending(100).await.unwrap();
    assert_eq!(events.len(), 4);
    let sql = match backend {
        Backend::Postgres => "SELECT row_to_json(t)::text FROM dv_outbox t",
        Backend::MySql => {
            "SELECT CONCAT_WS(' ', source, type, subject, data, tenant) FROM dv_outbox"
        }
        _ => {
            "SELECT source || ' ' || type || ' ' || subject || ' ' || data || ' ' || tenant FROM dv_outbox"
        }
    };
    let text = strings(env.data(), sql).await.join("\n");
    assert!(
        text.contains("innbyggere"),
        "the scan reads the rows: {text}"
    );
    for secret in (26..=27)
        .flat_map(secret_values)
        .chain(["5039".to_owned(), "1986-10-26".to_owned()])
    {
        assert!(!text.contains(&secret), "{secret:?} in the outbox");
    }
    for event in &events {
        let data = event.data.as_ref().unwrap().as_object().unwrap();
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["collection", "fields", "record_id", "tenant", "version"]
        );
    }
    env.finish().await;
}

#[on_every_backend]
async fn reads_fail_closed_when_the_audit_log_cannot_record(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(1).await;
    env.store.audit().stop().await;
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await;
    assert!(matches!(read, Err(StoreError::Audit(_))), "{read:?}");
    let grant = env.grant(Operation::List, "innbyggere", "innbyggerregister", "4601");
    let list = env.records.list(&grant, None, 10, &meta()).await;
    assert!(matches!(list, Err(StoreError::Audit(_))), "{list:?}");
    // Writes carry their entry in their own transaction, so they go on.
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "adresse": "Ny vei 3" }),
        Some(1),
    )
    .await
    .unwrap();
    env.finish().await;
}
