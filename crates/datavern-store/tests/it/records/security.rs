use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

#[on_every_backend]
async fn database_never_holds_stored_plaintext(backend: Backend) {
    let env = Env::kommune(backend).await;
    let mut ids = Vec::new();
    for n in 15..=17 {
        ids.push(env.create_resident(n).await.id);
    }
    env.update(
        "innbyggere",
        "innbyggerregister",
        ids[0],
        json!({ "fornavn": "Ingeborg15" }),
        None,
    )
    .await
    .unwrap();
    env.get("innbyggere", "innbyggerregister", "4601", ids[1])
        .await
        .unwrap();
    env.lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr(17))
        .await;
    env.store.audit().seal().await.unwrap();

    let secrets: Vec<String> = (15..=17).flat_map(secret_values).collect();
    let dumps = dump_databases(&env).await;
    assert!(dumps.len() >= 2, "both databases were read");
    for (what, bytes) in &dumps {
        for secret in &secrets {
            let plain = secret.as_bytes();
            let upper = hex(plain).to_uppercase();
            let lower = hex(plain);
            assert!(!contains(bytes, plain), "{secret:?} in {what}");
            assert!(
                !contains(bytes, upper.as_bytes()),
                "{secret:?} as hex in {what}"
            );
            assert!(
                !contains(bytes, lower.as_bytes()),
                "{secret:?} as hex in {what}"
            );
        }
    }
    // The scan does see what is stored in the clear by design (postnummer, birth date).
    assert!(
        dumps
            .iter()
            .any(|(_, bytes)| contains(bytes, b"5039") || contains(bytes, hex(b"5039").as_bytes()))
    );
    env.finish().await;
}

/// Everything both databases hold: the SQLite files byte for byte (including the WAL and
/// free pages); on the servers every row of every table, each column as text and as hex.
async fn dump_databases(env: &Env) -> Vec<(String, Vec<u8>)> {
    let mut dumps = Vec::new();
    match env.db.backend() {
        Backend::Sqlite => {
            for config in [&env.db.config().data, &env.db.config().keys] {
                let path = config
                    .redacted_url()
                    .trim_start_matches("sqlite://")
                    .to_owned();
                for file in [path.clone(), format!("{path}-wal")] {
                    if let Ok(bytes) = std::fs::read(&file) {
                        dumps.push((file, bytes));
                    }
                }
            }
        }
        Backend::Postgres => {
            for db in [env.store.data(), env.store.keys().database()] {
                for table in crate::support::tables(db).await {
                    let rows = strings(
                        db,
                        &format!("SELECT row_to_json(t)::text FROM \"{table}\" t"),
                    )
                    .await;
                    dumps.push((table, rows.join("\n").into_bytes()));
                }
            }
        }
        Backend::MySql => {
            for db in [env.store.data(), env.store.keys().database()] {
                for table in crate::support::tables(db).await {
                    let columns = strings(
                        db,
                        &format!(
                            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                             WHERE table_schema = DATABASE() AND table_name = '{table}'"
                        ),
                    )
                    .await;
                    let select: Vec<String> = columns
                        .iter()
                        .map(|c| format!("COALESCE(HEX(`{c}`), '')"))
                        .collect();
                    let rows = strings(
                        db,
                        &format!(
                            "SELECT CONCAT_WS('|', {}) FROM `{table}`",
                            select.join(", ")
                        ),
                    )
                    .await;
                    dumps.push((table, rows.join("\n").into_bytes()));
                }
            }
        }
    }
    dumps
}

#[on_every_backend]
async fn moved_ciphertext_fails_to_decrypt(backend: Backend) {
    let env = Env::kommune(backend).await;
    let a = env.create_resident(18).await;
    let b = env.create_resident(19).await;
    let expect_failure = |result: Result<RecordView, StoreError>, field: &str, record: Uuid| {
        let err = record_error(result);
        match &err {
            RecordError::Decryption {
                field: f,
                record: r,
                collection,
            } => {
                assert_eq!(
                    (f.as_str(), *r, collection.as_str()),
                    (field, record, "innbyggere")
                );
            }
            other => panic!("expected a decryption error, got {other}"),
        }
        assert_eq!(err.code(), "field_decryption_failed");
        // The message names the place, never a value.
        assert!(!err.to_string().contains("Ingeborg"));
    };

    // To another row (another subject, so another key).
    let fornavn = read_bytes(env.data(), "c_innbyggere", "fornavn", a.id).await;
    write_bytes(env.data(), "c_innbyggere", "fornavn", b.id, &fornavn).await;
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", b.id)
            .await,
        "fornavn",
        b.id,
    );
    // To another field of the same row (same key).
    write_bytes(env.data(), "c_innbyggere", "etternavn", a.id, &fornavn).await;
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", a.id)
            .await,
        "etternavn",
        a.id,
    );
    // A withheld field is never decrypted: damage only it, and a purpose that may not read
    // it still reads the record, while one that may fails.
    let c = env.create_resident(20).await;
    let other_number = read_bytes(env.data(), "c_innbyggere", "fodselsnummer", b.id).await;
    write_bytes(
        env.data(),
        "c_innbyggere",
        "fodselsnummer",
        c.id,
        &other_number,
    )
    .await;
    let letters = env
        .get("innbyggere", "kommunikasjon", "4601", c.id)
        .await
        .unwrap();
    assert_eq!(string(&letters, "fornavn"), "Ingeborg20");
    expect_failure(
        env.get("innbyggere", "innbyggerregister", "4601", c.id)
            .await,
        "fodselsnummer",
        c.id,
    );

    // To another record of the same subject (same key, other record id): two applications
    // for one child.
    let child = env.create_resident(21).await;
    let guardian = env.create_resident(22).await;
    let first = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let second = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            soknad(child.id, guardian.id),
        )
        .await;
    let phone = read_bytes(
        env.data(),
        "c_barnehagesoknader",
        "foresatt1_telefon",
        first.id,
    )
    .await;
    write_bytes(
        env.data(),
        "c_barnehagesoknader",
        "foresatt1_telefon",
        second.id,
        &phone,
    )
    .await;
    let err = record_error(
        env.get("barnehagesoknader", "barnehageopptak", "4601", second.id)
            .await,
    );
    assert!(
        matches!(err, RecordError::Decryption { record, .. } if record == second.id),
        "{err}"
    );
    env.get("barnehagesoknader", "barnehageopptak", "4601", first.id)
        .await
        .unwrap();

    // Altered bytes fail the same way; a truncated envelope too.
    let mut altered = read_bytes(env.data(), "c_innbyggere", "adresse", b.id).await;
    let last = altered.len() - 1;
    altered[last] ^= 1;
    write_bytes(env.data(), "c_innbyggere", "adresse", b.id, &altered).await;
    write_bytes(env.data(), "c_innbyggere", "fornavn", b.id, &[1, 2, 3]).await;
    let err = record_error(
        env.get("innbyggere", "innbyggerregister", "4601", b.id)
            .await,
    );
    assert!(matches!(err, RecordError::Decryption { .. }));
    env.finish().await;
}

#[on_every_backend]
async fn evicted_destroyed_keys_are_not_served(backend: Backend) {
    let env = Env::kommune(backend).await;
    let person = env.create_resident(28).await;
    let subject = SubjectId::from_uuid(person.id);
    env.store
        .keys()
        .destroy_subject_keys(tenant("4601"), subject)
        .await
        .unwrap();
    env.records.evict(tenant("4601"), subject).await;
    let result = env
        .get("innbyggere", "innbyggerregister", "4601", person.id)
        .await;
    assert!(
        matches!(result, Err(StoreError::SubjectKeyDestroyed { .. })),
        "{result:?}"
    );
    // Nor is the erased subject given a fresh key for a new value.
    let update = env
        .update(
            "innbyggere",
            "innbyggerregister",
            person.id,
            json!({ "adresse": "x" }),
            None,
        )
        .await;
    assert!(
        matches!(update, Err(StoreError::SubjectKeyDestroyed { .. })),
        "{update:?}"
    );
    env.finish().await;
}

#[tokio::test]
async fn records_work_for_an_application_role_under_row_level_security() {
    let env = Env::kommune(Backend::Postgres).await;
    let bergen = env.create_resident(1).await;
    let role = env.db.create_app_role().await;
    execute(
        env.data(),
        &format!(
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{}\"",
            role.name
        ),
    )
    .await;
    let config = datavern_sql::StoreConfig::new(role.config.clone(), env.db.config().keys.clone());
    let store = Store::connect(&config).await.unwrap();
    // The same key store with a KEK of its own: it serves another tenant here.
    let kek: Arc<dyn KekProvider> = Arc::new(
        LocalKeyFile::create(env.kek_dir.path().join("kek2"))
            .await
            .unwrap(),
    );
    let app = Records::new(store.clone(), env.catalog.clone(), kek);
    let grant = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "0301");
    let record = env.body("innbyggere", resident(2), Mode::Create);
    let oslo = app.create(&grant, record, &meta()).await.unwrap();
    let grant = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "0301");
    let read = app.get(&grant, oslo.id, &meta()).await.unwrap();
    assert_eq!(read.tenant, tenant("0301"));
    let err = record_error(app.get(&grant, bergen.id, &meta()).await);
    assert!(matches!(err, RecordError::NotFound { .. }));
    let grant = env.grant(Operation::List, "innbyggere", "innbyggerregister", "0301");
    let page = app.list(&grant, None, 10, &meta()).await.unwrap();
    assert_eq!(
        page.items.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![oslo.id]
    );
    store.close().await;
    env.finish().await;
}

/// A KEK that counts its calls, around a local key file.
#[derive(Debug)]
struct CountingKek {
    inner: LocalKeyFile,
    wraps: AtomicUsize,
    unwrap_calls: AtomicUsize,
    unwrapped: AtomicUsize,
}

#[async_trait::async_trait]
impl KekProvider for CountingKek {
    fn id(&self) -> &datavern_crypto::KekId {
        self.inner.id()
    }

    fn description(&self) -> String {
        format!("counting {}", self.inner.description())
    }

    async fn current_version(&self) -> datavern_crypto::Result<datavern_crypto::KekVersion> {
        self.inner.current_version().await
    }

    async fn wrap(
        &self,
        requests: &[datavern_crypto::WrapRequest<'_>],
    ) -> datavern_crypto::Result<Vec<datavern_crypto::WrappedKey>> {
        self.wraps.fetch_add(requests.len(), Ordering::SeqCst);
        self.inner.wrap(requests).await
    }

    async fn unwrap(
        &self,
        requests: &[datavern_crypto::UnwrapRequest<'_>],
    ) -> datavern_crypto::Result<Vec<datavern_crypto::Result<datavern_crypto::UnwrappedKey>>> {
        self.unwrap_calls.fetch_add(1, Ordering::SeqCst);
        self.unwrapped.fetch_add(requests.len(), Ordering::SeqCst);
        self.inner.unwrap(requests).await
    }
}

impl CountingKek {
    fn counts(&self) -> (usize, usize, usize) {
        (
            self.wraps.load(Ordering::SeqCst),
            self.unwrap_calls.load(Ordering::SeqCst),
            self.unwrapped.load(Ordering::SeqCst),
        )
    }
}

#[on_every_backend]
async fn reads_use_the_key_cache_and_batch_unwraps(backend: Backend) {
    let env = Env::kommune(backend).await;
    let kek = Arc::new(CountingKek {
        inner: LocalKeyFile::create(env.kek_dir.path().join("counting"))
            .await
            .unwrap(),
        wraps: AtomicUsize::new(0),
        unwrap_calls: AtomicUsize::new(0),
        unwrapped: AtomicUsize::new(0),
    });
    let service = || Records::new(env.store.clone(), env.catalog.clone(), kek.clone());
    let records = service();
    let create = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "4601");
    let mut ids = Vec::new();
    for n in 1..=3 {
        let record = env.body("innbyggere", resident(n), Mode::Create);
        ids.push(records.create(&create, record, &meta()).await.unwrap().id);
    }
    // A data key per resident and the tenant's index root key; a new key is used as made.
    assert_eq!(kek.counts(), (4, 0, 0));

    let read = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    records.get(&read, ids[0], &meta()).await.unwrap();
    assert_eq!(kek.counts(), (4, 0, 0), "a cached key costs no KEK call");

    let cold = service();
    cold.get(&read, ids[0], &meta()).await.unwrap();
    cold.get(&read, ids[0], &meta()).await.unwrap();
    assert_eq!(kek.counts(), (4, 1, 1), "unwrapped once, then cached");

    let list = env.grant(Operation::List, "innbyggere", "innbyggerregister", "4601");
    let page = service().list(&list, None, 10, &meta()).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(
        kek.counts(),
        (4, 2, 4),
        "one KEK call for the page's three subjects"
    );

    let lookup = env.grant_lookup(
        Operation::Lookup,
        "innbyggere",
        "innbyggerregister",
        "4601",
        "fodselsnummer",
    );
    let found = service()
        .lookup(&lookup, "fodselsnummer", &fnr(2), &meta())
        .await
        .unwrap();
    assert_eq!(found[0].id, ids[1]);
    assert_eq!(
        kek.counts(),
        (4, 4, 6),
        "the index root key, then the candidate's key"
    );

    // Evicting drops the key: the next read unwraps it again.
    cold.evict(tenant("4601"), SubjectId::from_uuid(ids[0]))
        .await;
    cold.get(&read, ids[0], &meta()).await.unwrap();
    assert_eq!(kek.counts(), (4, 5, 7));
    env.finish().await;
}
