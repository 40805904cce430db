use super::*;

#[on_every_backend]
async fn create_then_get_round_trips_every_field_type(backend: Backend) {
    let env = Env::new(backend, TYPES).await;
    let body = json!({
        "s": "Åse Ødegård", "es": "Åse Ødegård",
        "t": "lang\ntekst med æøå", "et": "lang\ntekst med æøå",
        "i": -9_007_199_254_740_993_i64, "ei": i64::MAX,
        "d": "-12345678901234567890.0123456789", "ed": "1234567890123456789012345678901234567890.5",
        "b": true, "eb": false,
        "dt": "1905-06-07", "edt": "2024-02-29",
        "ts": "2024-02-29T23:59:59.123456+01:00", "ets": "1969-07-20T20:17:40.123456789Z",
        "j": { "a": [1, 2, { "b": null }], "c": "x" }, "ej": ["x", { "y": true }],
    });
    let created = env.create("typer", "register", "4601", body.clone()).await;
    let expected = env.body("typer", body, Mode::Create);
    assert_eq!(created.version, 1);
    assert_eq!(created.subjects.len(), 1);
    assert_eq!(
        created.primary_subject(),
        Some(SubjectId::from_uuid(created.id))
    );
    assert_eq!(created.id.get_version_num(), 7, "record ids are UUIDv7");

    let read = env
        .get("typer", "register", "4601", created.id)
        .await
        .unwrap();
    for (name, value) in expected.iter() {
        assert_eq!(read.get(name.as_str()), Some(value), "{name} after get");
        assert_eq!(
            created.get(name.as_str()),
            Some(value),
            "{name} after create"
        );
    }
    assert_eq!(read.version, 1);
    assert_eq!(read.created_at, created.created_at);
    assert_eq!(read.updated_at, created.updated_at);
    assert!(read.withheld.is_empty());

    // Absent optional fields read back as null, plain or encrypted.
    let sparse = env
        .create("typer", "register", "4601", json!({ "s": "bare" }))
        .await;
    let read = env
        .get("typer", "register", "4601", sparse.id)
        .await
        .unwrap();
    assert_eq!(read.fields.len(), 16);
    for (name, value) in &read.fields {
        if name != "s" {
            assert_eq!(value, &FieldValue::Null, "{name}");
        }
    }
    // Debug shows names and types, never values.
    let debug = format!("{read:?} {created:?}");
    assert!(
        !debug.contains("Ødegård") && !debug.contains("bare"),
        "{debug}"
    );
    env.finish().await;
}

#[on_every_backend]
async fn values_a_column_would_change_are_refused(backend: Backend) {
    let env = Env::new(backend, TYPES).await;
    let grant = env.grant(Operation::Create, "typer", "register", "4601");
    for (body, field) in [
        (json!({ "s": "x".repeat(256) }), "s"),
        (json!({ "s": "x", "es": "y".repeat(256) }), "es"),
        (json!({ "s": "x", "d": "1.12345678901" }), "d"),
        (
            json!({ "s": "x", "ts": "2024-01-01T00:00:00.0000001Z" }),
            "ts",
        ),
    ] {
        let record = env.body("typer", body, Mode::Create);
        let err = record_error(env.records.create(&grant, record, &meta()).await);
        assert!(
            matches!(&err, RecordError::Unstorable { field: f, .. } if f == field),
            "{err}"
        );
        assert_eq!(err.code(), "value_not_storable");
    }
    // Encrypted values keep what their plain columns cannot.
    let ok = env
        .create(
            "typer",
            "register",
            "4601",
            json!({ "s": "x", "ed": "1.12345678901", "ets": "2024-01-01T00:00:00.0000001Z" }),
        )
        .await;
    let read = env.get("typer", "register", "4601", ok.id).await.unwrap();
    assert_eq!(
        read.get("ed"),
        Some(&FieldValue::Decimal("1.12345678901".to_owned()))
    );
    assert_eq!(env.count("c_typer").await, 1);
    env.finish().await;
}

#[on_every_backend]
async fn partial_update_keeps_other_fields_and_bumps_version(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(1).await;
    let updated = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Strandkaien 2", "telefon": null }),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(string(&updated, "adresse"), "Strandkaien 2");
    assert_eq!(updated.get("telefon"), Some(&FieldValue::Null));

    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(read, updated, "the update's answer is what a read returns");
    for field in [
        "fodselsnummer",
        "fornavn",
        "etternavn",
        "fodselsdato",
        "postnummer",
        "epost",
    ] {
        assert_eq!(read.get(field), created.get(field), "{field} is kept");
    }
    // The blind index follows the value: the old e-mail no longer finds the record.
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "epost": "ny@example.no" }),
        None,
    )
    .await
    .unwrap();
    assert!(
        env.lookup(
            "innbyggere",
            "innbyggerregister",
            "epost",
            "Ingeborg.Skjaervik@example.no"
        )
        .await
        .is_empty()
    );
    assert_eq!(
        env.lookup("innbyggere", "innbyggerregister", "epost", "NY@example.no")
            .await
            .len(),
        1
    );

    let empty = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({}),
            None,
        )
        .await;
    assert!(matches!(record_error(empty), RecordError::EmptyUpdate));
    env.finish().await;
}

#[on_every_backend]
async fn stale_version_is_a_conflict(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(2).await;
    env.update(
        "innbyggere",
        "innbyggerregister",
        created.id,
        json!({ "adresse": "Første vei 1" }),
        Some(1),
    )
    .await
    .unwrap();
    let stale = env
        .update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": "Andre vei 2" }),
            Some(1),
        )
        .await;
    let err = record_error(stale);
    assert!(
        matches!(
            err,
            RecordError::VersionConflict {
                expected: 1,
                current: 2
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), "version_conflict");
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "adresse"), "Første vei 1");
    assert_eq!(read.version, 2);
    env.finish().await;
}

#[on_every_backend]
async fn delete_removes_the_record_and_its_blind_indexes(backend: Backend) {
    let env = Env::kommune(backend).await;
    let kept = env.create_resident(3).await;
    let gone = env.create_resident(4).await;
    let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "4601");
    env.records.delete(&grant, gone.id, &meta()).await.unwrap();

    let err = record_error(
        env.get("innbyggere", "innbyggerregister", "4601", gone.id)
            .await,
    );
    assert!(matches!(err, RecordError::NotFound { .. }), "{err}");
    let again = record_error(env.records.delete(&grant, gone.id, &meta()).await);
    assert!(matches!(again, RecordError::NotFound { .. }));
    assert_eq!(env.count("c_innbyggere").await, 1);
    assert!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(4))
            .await
            .is_empty()
    );
    assert_eq!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(3))
            .await[0]
            .id,
        kept.id
    );
    // The subject's key stays: erasure is a request of its own.
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(gone.id)])
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    env.finish().await;
}

#[on_every_backend]
async fn list_pages_in_id_order_without_duplicates(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 1..=7 {
        ids.push(env.create_resident(n).await.id);
    }
    // Another tenant's records never appear.
    env.create("innbyggere", "innbyggerregister", "0301", resident(20))
        .await;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = env.list("innbyggere", "innbyggerregister", cursor, 3).await;
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|v| v.id));
        match page.next {
            Some(next) => cursor = Some(Cursor::parse(&next.to_string()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every record once, in creation order");

    assert_eq!(
        env.list("innbyggere", "innbyggerregister", None, 0)
            .await
            .items
            .len(),
        1
    );
    let all = env
        .list("innbyggere", "innbyggerregister", None, MAX_PAGE_LIMIT + 1)
        .await;
    assert_eq!(all.items.len(), 7);
    assert!(all.next.is_none());
    // The list shows fields like a read, decrypted.
    assert_eq!(string(&all.items[0], "fornavn"), "Ingeborg1");
    env.finish().await;
}

#[on_every_backend]
async fn lookup_by_fodselsnummer_finds_formatted_and_unformatted_input(backend: Backend) {
    let env = Env::kommune(backend).await;
    let kari = env
        .create(
            "innbyggere",
            "innbyggerregister",
            "4601",
            json!({
                "fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann",
                "epost": "Kari@Example.no",
            }),
        )
        .await;
    env.create_resident(5).await;

    for input in ["15108695088", "151086 95088", " 151086 95088 "] {
        let found = env
            .lookup("innbyggere", "innbyggerregister", "fodselsnummer", input)
            .await;
        assert_eq!(found.len(), 1, "{input}");
        assert_eq!(found[0].id, kari.id);
        assert_eq!(string(&found[0], "fornavn"), "Kari");
    }
    let by_mail = env
        .lookup("innbyggere", "kommunikasjon", "epost", "KARI@EXAMPLE.NO")
        .await;
    assert_eq!(by_mail.len(), 1);
    assert_eq!(
        string(&by_mail[0], "epost"),
        "Kari@Example.no",
        "stored as given"
    );
    assert!(
        env.lookup(
            "innbyggere",
            "innbyggerregister",
            "fodselsnummer",
            "26111593816"
        )
        .await
        .is_empty()
    );

    // The employees' fødselsnummer is encrypted (a national id) and searchable too.
    let employee = env
        .create(
            "ansatte",
            "lonn",
            "4601",
            json!({
                "ansattnummer": "A-1", "fodselsnummer": "26111593816",
                "fornavn": "Ola", "etternavn": "Nordmann", "lonn": "650000.50",
            }),
        )
        .await;
    let found = env
        .lookup("ansatte", "lonn", "fodselsnummer", "261115 93816")
        .await;
    assert_eq!(
        found.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![employee.id]
    );
    assert_eq!(
        found[0].get("lonn"),
        Some(&FieldValue::Decimal("650000.5".to_owned()))
    );
    env.finish().await;
}

#[on_every_backend]
async fn lookup_drops_blind_index_false_positives(backend: Backend) {
    let env = Env::kommune(backend).await;
    let a = env.create_resident(6).await;
    let b = env.create_resident(7).await;
    // Give b the index value of a's number: a collision, as a truncated index has now and
    // then. b is a candidate, but its number differs.
    let index = read_bytes(env.data(), "c_innbyggere", "dv_bidx_fodselsnummer", a.id).await;
    write_bytes(
        env.data(),
        "c_innbyggere",
        "dv_bidx_fodselsnummer",
        b.id,
        &index,
    )
    .await;
    let found = env
        .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(6))
        .await;
    assert_eq!(found.iter().map(|v| v.id).collect::<Vec<_>>(), vec![a.id]);
    // b's own number no longer finds it (its index was overwritten).
    assert!(
        env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(7))
            .await
            .is_empty()
    );
    env.finish().await;
}

#[on_every_backend]
async fn withheld_fields_follow_the_purpose(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(8).await;
    let letters = env
        .get("innbyggere", "kommunikasjon", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(letters.get("fodselsnummer"), None);
    assert_eq!(letters.withheld.len(), 1);
    assert_eq!(letters.withheld[0].field, "fodselsnummer");
    assert_eq!(letters.withheld[0].reason, WithheldReason::Purpose);
    assert_eq!(string(&letters, "adresse"), "Lønborglien 77");

    let employee = env
        .create("ansatte", "lonn", "4601", json!({
            "ansattnummer": "A-2", "fodselsnummer": "15108695088", "fornavn": "Kari",
            "etternavn": "Nordmann", "kontonummer": "8601.11.17947", "fagforening": "Fagforbundet",
        }))
        .await;
    let hr = env
        .get("ansatte", "arbeidsforhold", "4601", employee.id)
        .await
        .unwrap();
    let withheld: Vec<&str> = hr.withheld.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        withheld,
        [
            "fodselsnummer",
            "kontonummer",
            "fagforening",
            "politiattest_kontrollert"
        ]
    );
    for field in withheld {
        assert_eq!(hr.get(field), None, "{field}");
    }
    assert_eq!(string(&hr, "fornavn"), "Kari");
    let payroll = env
        .get("ansatte", "lonn", "4601", employee.id)
        .await
        .unwrap();
    assert_eq!(string(&payroll, "kontonummer"), "86011117947");

    // A write of a withheld field is refused, and nothing is written.
    let grant = env.grant(Operation::Update, "innbyggere", "kommunikasjon", "4601");
    let patch = env.body(
        "innbyggere",
        json!({ "fodselsnummer": "26111593816" }),
        Mode::Patch,
    );
    let err = record_error(
        env.records
            .update(&grant, created.id, patch, None, &meta())
            .await,
    );
    assert_eq!(err.code(), "field_not_writable");
    env.finish().await;
}

#[on_every_backend]
async fn another_tenants_record_is_not_found(backend: Backend) {
    let env = Env::kommune(backend).await;
    let bergen = env.create_resident(9).await;
    let missing = Uuid::now_v7();
    for id in [bergen.id, missing] {
        let err = record_error(env.get("innbyggere", "innbyggerregister", "0301", id).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
        assert_eq!(
            err.to_string(),
            "there is no record with this id in collection `innbyggere`"
        );
        let grant = env.grant(Operation::Update, "innbyggere", "innbyggerregister", "0301");
        let patch = env.body("innbyggere", json!({ "adresse": "Oslo" }), Mode::Patch);
        let err = record_error(env.records.update(&grant, id, patch, None, &meta()).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
        let grant = env.grant(Operation::Delete, "innbyggere", "innbyggerregister", "0301");
        let err = record_error(env.records.delete(&grant, id, &meta()).await);
        assert!(matches!(err, RecordError::NotFound { .. }));
    }
    let grant = env.grant(Operation::List, "innbyggere", "innbyggerregister", "0301");
    assert!(
        env.records
            .list(&grant, None, 10, &meta())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let grant = env.grant_lookup(
        Operation::Lookup,
        "innbyggere",
        "innbyggerregister",
        "0301",
        "fodselsnummer",
    );
    assert!(
        env.records
            .lookup(&grant, "fodselsnummer", &fnr(9), &meta())
            .await
            .unwrap()
            .is_empty()
    );
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", bergen.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "adresse"), "Lønborglien 77", "untouched");

    // A Bergen application cannot name an Oslo resident.
    let oslo_child = env
        .create("innbyggere", "innbyggerregister", "0301", resident(10))
        .await;
    let guardian = env.create_resident(11).await;
    let grant = env.grant(
        Operation::Create,
        "barnehagesoknader",
        "barnehageopptak",
        "4601",
    );
    let body = env.body(
        "barnehagesoknader",
        soknad(oslo_child.id, guardian.id),
        Mode::Create,
    );
    let err = record_error(env.records.create(&grant, body, &meta()).await);
    assert!(
        matches!(&err, RecordError::ReferenceNotFound { field, .. } if field == "barn_id"),
        "{err}"
    );
    env.finish().await;
}

#[on_every_backend]
async fn references_must_exist_and_a_new_primary_subject_reencrypts(backend: Backend) {
    let env = Env::kommune(backend).await;
    let child = env.create_resident(12).await;
    let sibling = env.create_resident(13).await;
    let guardian = env.create_resident(14).await;

    let grant = env.grant(
        Operation::Create,
        "barnehagesoknader",
        "barnehageopptak",
        "4601",
    );
    let nobody = Uuid::now_v7();
    let body = env.body(
        "barnehagesoknader",
        soknad(nobody, guardian.id),
        Mode::Create,
    );
    let err = record_error(env.records.create(&grant, body, &meta()).await);
    assert!(
        matches!(&err, RecordError::ReferenceNotFound { collection, .. } if collection == "innbyggere")
    );
    assert_eq!(env.count("c_barnehagesoknader").await, 0);
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(nobody)])
        .await
        .unwrap();
    assert!(
        keys.is_empty(),
        "no key is made for a subject that does not exist"
    );

    let created = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let subjects: Vec<(Option<&str>, Uuid, bool)> = created
        .subjects
        .iter()
        .map(|s| (s.reference.as_deref(), s.id.as_uuid(), s.primary))
        .collect();
    assert_eq!(
        subjects,
        [
            (Some("barn"), child.id, true),
            (Some("foresatt1"), guardian.id, false)
        ]
    );

    let moved = env
        .update(
            "barnehagesoknader",
            "barnehageopptak",
            created.id,
            json!({ "barn_id": sibling.id.to_string() }),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(
        moved.primary_subject(),
        Some(SubjectId::from_uuid(sibling.id))
    );
    let read = env
        .get("barnehagesoknader", "barnehageopptak", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(string(&read, "onsket_barnehage"), "Solstrålen barnehage");
    assert_eq!(string(&read, "foresatt1_telefon"), "+4791234567");
    assert_eq!(read, moved);
    // The record is now sealed with the sibling's key: destroying the first child's key
    // leaves it readable.
    env.store
        .keys()
        .destroy_subject_keys(tenant("4601"), SubjectId::from_uuid(child.id))
        .await
        .unwrap();
    env.records
        .evict(tenant("4601"), SubjectId::from_uuid(child.id))
        .await;
    env.get("barnehagesoknader", "barnehageopptak", "4601", created.id)
        .await
        .unwrap();

    let to_nowhere = env
        .update(
            "barnehagesoknader",
            "barnehageopptak",
            created.id,
            json!({ "foresatt2_id": Uuid::now_v7().to_string() }),
            None,
        )
        .await;
    assert!(matches!(
        record_error(to_nowhere),
        RecordError::ReferenceNotFound { .. }
    ));
    env.finish().await;
}

#[on_every_backend]
async fn concurrent_updates_of_one_version_let_exactly_one_win(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = env.create_resident(1).await;
    let attempt = |n: u32| {
        env.update(
            "innbyggere",
            "innbyggerregister",
            created.id,
            json!({ "adresse": format!("Vei {n}") }),
            Some(1),
        )
    };
    let results =
        futures_util::future::join_all(vec![attempt(1), attempt(2), attempt(3), attempt(4)]).await;
    let won: Vec<&RecordView> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for result in &results {
        if let Err(err) = result {
            assert!(
                matches!(
                    err,
                    StoreError::Record(RecordError::VersionConflict {
                        expected: 1,
                        current: 2
                    })
                ),
                "{err}"
            );
        }
    }
    // Without an expected version every update applies, one after the other.
    let blind: Vec<_> = (5..9)
        .map(|n| {
            env.update(
                "innbyggere",
                "innbyggerregister",
                created.id,
                json!({ "adresse": format!("Vei {n}") }),
                None,
            )
        })
        .collect();
    for result in futures_util::future::join_all(blind).await {
        result.unwrap();
    }
    let read = env
        .get("innbyggere", "innbyggerregister", "4601", created.id)
        .await
        .unwrap();
    assert_eq!(read.version, 6);
    assert_eq!(
        env.count("dv_outbox").await,
        6,
        "one event per applied write"
    );
    env.finish().await;
}

/// SQLite's planner prefers an index that also yields `ORDER BY id` over the blind index, and
/// then walks every row of the tenant: the lookup must seek the blind index instead, and sort
/// the candidates it finds.
#[tokio::test]
async fn sqlite_lookup_seeks_the_blind_index() {
    let env = Env::kommune(Backend::Sqlite).await;
    env.create_resident(3).await;
    let tenant = "4601".parse().unwrap();
    let plan = env
        .records
        .sqlite_lookup_plan(tenant, "innbyggere", "fodselsnummer")
        .await
        .unwrap()
        .expect("a SQLite plan for a searchable field");
    assert_eq!(
        plan,
        vec![
            "SEARCH c_innbyggere USING INDEX ix_c_innbyggere_dv_bidx_fodselsnummer \
             (tenant=? AND dv_bidx_fodselsnummer=?)"
                .to_owned(),
            // The few candidates are put in id order for paging (`ORDER BY +id`).
            "USE TEMP B-TREE FOR ORDER BY".to_owned(),
        ],
    );
    env.finish().await;
}

/// The key cache may drop what it was just given (moka admits by frequency and evicts by
/// size): a read must use the key it loaded, not look it up in the cache again.
#[on_every_backend]
async fn reads_work_when_the_key_cache_keeps_nothing(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut created = Vec::new();
    for n in 1..=5 {
        created.push(env.create_resident(n).await);
    }
    let env = env.with_key_cache(KeyCacheConfig {
        max_subjects: 0,
        ..KeyCacheConfig::default()
    });
    for (n, record) in (1..).zip(&created) {
        let read = env
            .get("innbyggere", "innbyggerregister", "4601", record.id)
            .await
            .unwrap();
        assert_eq!(
            string(&read, "fornavn"),
            string(record, "fornavn"),
            "resident {n}"
        );
        let found = env
            .lookup(
                "innbyggere",
                "innbyggerregister",
                "fodselsnummer",
                &string(record, "fodselsnummer"),
            )
            .await;
        assert_eq!(found.len(), 1, "resident {n}");
    }
    // Writes for a new subject and for an existing one too.
    env.create_resident(9).await;
    env.finish().await;
}
