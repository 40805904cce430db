//! Masked copies (`datavern migrate copy --mask`): every personal value of the source is
//! replaced in the target by a synthetic one of the same shape, consistently per person, with
//! dates shifted and free text scrubbed, under the target's own keys; a scan of the copy finds
//! no identifier and no name of the source; refusals write nothing.

use std::collections::{BTreeMap, HashMap};

use datavern_core::access::{self, AccessRequest, ConsentState, Operation, PrincipalId};
use datavern_core::catalog::PurposeId;
use datavern_core::consent::{ConsentAction, ConsentChannel, ConsentEvent, NoticeVersion};
use datavern_core::demo;
use datavern_core::id::{FnrVariant, Fodselsnummer};
use datavern_core::record::{FieldValue, Mode};
use datavern_core::residency::Location;
use datavern_governance::mask::{MaskError, MaskOptions, MaskReport, mark_masked, masked_copy};
use datavern_sql::{Tx, TxMode};
use datavern_store::Records;
use datavern_testkit::fixtures::kommune_two_tenants;
use datavern_testkit::{Backend, Env, meta};
use jiff::civil::Date;
use sea_query::Expr;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{on_every_backend, scalar, strings, tenant};

const SEED: u64 = 2026;

/// What the source holds that must not reach the copy.
#[derive(Default)]
struct Secrets {
    identifiers: Vec<String>,
    names: Vec<String>,
}

/// Residents (12 in Bergen, 4 in Oslo), kindergarten applications by two guardians and
/// cases whose free text names the person and gives their fødselsnummer and phone.
async fn seed(source: &Env) -> (Secrets, Vec<(Uuid, demo::Person)>) {
    let mut secrets = Secrets::default();
    let mut people = Vec::new();
    for i in 0..16u64 {
        let person = demo::person(SEED, i);
        let tenant = if i < 12 { "4601" } else { "0301" };
        let view = source
            .create(
                "innbyggere",
                "innbyggerregister",
                tenant,
                Value::Object(person.body()),
            )
            .await;
        secrets.identifiers.extend([
            person.fodselsnummer.clone(),
            person.telefon.clone(),
            person.epost.clone(),
        ]);
        secrets.names.extend([
            person.fornavn.clone(),
            person.etternavn.clone(),
            person
                .adresse
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned(),
        ]);
        people.push((view.id, person));
    }
    for a in 0..4usize {
        let (barn, f1, f2) = (&people[a * 3], &people[a * 3 + 1], &people[a * 3 + 2]);
        let body = demo::application(SEED, a as u64).body(
            &barn.0.to_string(),
            (&f1.0.to_string(), &f1.1),
            Some((&f2.0.to_string(), &f2.1)),
        );
        source
            .create(
                "barnehagesoknader",
                "barnehageopptak",
                "4601",
                Value::Object(body),
            )
            .await;
    }
    for (c, (id, person)) in people.iter().take(12).enumerate() {
        let mut body = demo::case(SEED, c as u64).body(&id.to_string());
        body.insert(
            "vurdering".into(),
            json!(format!(
                "Samtale med {} {} ({}), ring {} eller skriv til {}.",
                person.fornavn,
                person.etternavn,
                person.fodselsnummer,
                person.telefon,
                person.epost
            )),
        );
        source
            .create("saker", "helse_omsorg", "4601", Value::Object(body))
            .await;
    }
    // A newsletter subscriber with consent: the copy carries the consent over.
    let subscriber = json!({"epost": "abonnent.bratland@example.no", "navn": "Torvald Bratland"});
    secrets
        .identifiers
        .push("abonnent.bratland@example.no".to_owned());
    secrets
        .names
        .extend(["Torvald".to_owned(), "Bratland".to_owned()]);
    let grant = access::decide(
        &source.catalog,
        &source.principal("4601"),
        &AccessRequest::create("nyhetsbrev", tenant("4601"))
            .with_purpose(Some("nyhetsbrev"))
            .with_consent(ConsentState::Deferred),
    )
    .unwrap();
    let consent = ConsentEvent::new(
        PurposeId::parse("nyhetsbrev").unwrap(),
        ConsentAction::Grant,
        Some(NoticeVersion::parse("2026-01").unwrap()),
        ConsentChannel::Web,
        "2026-03-01T10:00:00Z".parse().unwrap(),
        "minside",
    )
    .unwrap();
    source
        .records
        .create_with_consent(
            &grant,
            source.body("nyhetsbrev", subscriber, Mode::Create),
            &consent,
            &meta(),
        )
        .await
        .unwrap();
    (secrets, people)
}

fn options(location: Location) -> MaskOptions {
    MaskOptions {
        principal: PrincipalId::parse("drift-testmiljo").unwrap(),
        location,
        // Small pages: every collection takes several.
        batch_size: 5,
    }
}

async fn copy(source: &Env, target: &Env, location: Location) -> Result<MaskReport, MaskError> {
    masked_copy(
        &source.records,
        &target.records,
        &options(location),
        &mut |_| {},
    )
    .await
}

async fn masked_target(backend: Backend) -> Env {
    Env::new(backend, &mark_masked(&kommune_two_tenants()).unwrap()).await
}

/// A record: (collection, tenant, id).
type Key = (String, String, Uuid);
/// A record's values by field.
type Fields = BTreeMap<String, FieldValue>;

/// Every record of `records`, decrypted.
async fn everything(records: &Records) -> BTreeMap<Key, Fields> {
    let mut all = BTreeMap::new();
    for collection in records.catalog().collections() {
        let name = collection.name().as_str();
        for t in ["4601", "0301"] {
            let tenant = tenant(t);
            let mut tx = Tx::begin(records.store().data(), tenant, TxMode::Read)
                .await
                .unwrap();
            let rows = records
                .raw_scan(
                    &mut tx.conn(),
                    tenant,
                    name,
                    Expr::value(true),
                    None,
                    10_000,
                )
                .await
                .unwrap();
            tx.commit().await.unwrap();
            for row in rows {
                let values = records.decrypt(tenant, name, &row, |_| true).await.unwrap();
                all.insert(
                    (name.to_owned(), t.to_owned(), row.id),
                    values.into_iter().collect(),
                );
            }
        }
    }
    all
}

fn text(value: &FieldValue) -> String {
    match value {
        FieldValue::Json(json) => json.to_string(),
        other => other.canonical().unwrap_or_default(),
    }
}

#[on_every_backend]
async fn a_masked_copy_holds_no_identifier_or_name_of_the_source(backend: Backend) {
    let source = Env::kommune(backend).await;
    let target = masked_target(backend).await;
    let (secrets, people) = seed(&source).await;

    let report = copy(&source, &target, Location::No).await.unwrap();
    let counts: HashMap<&str, u64> = report
        .collections
        .iter()
        .map(|c| (c.collection.as_str(), c.records))
        .collect();
    assert_eq!(counts["innbyggere"], 16);
    assert_eq!(counts["barnehagesoknader"], 4);
    assert_eq!(counts["saker"], 12);
    assert_eq!(counts["nyhetsbrev"], 1);
    assert_eq!(report.records, 33);
    assert_eq!(report.consents, 1);

    // The scan: every value of every record of the copy, decrypted, and everything the
    // target's databases hold as text besides (audit log, outbox, catalog versions).
    let copied = everything(&target.records).await;
    assert_eq!(copied.len(), 33);
    let mut haystack: Vec<String> = copied
        .values()
        .flat_map(|fields| fields.values().map(text))
        .collect();
    let json_text = |column: &str| match backend {
        Backend::Postgres => format!("CAST({column} AS TEXT)"),
        _ => column.to_owned(),
    };
    for sql in [
        format!("SELECT {} FROM dv_audit", json_text("fields")),
        format!("SELECT {} FROM dv_audit", json_text("subjects")),
        "SELECT COALESCE(request_id, '') FROM dv_audit".to_owned(),
        format!("SELECT COALESCE({}, '') FROM dv_outbox", json_text("data")),
        "SELECT catalog FROM dv_catalog_versions".to_owned(),
    ] {
        haystack.extend(strings(target.data(), &sql).await);
    }
    // Whole words and numbers: a made-up name may contain a short real one ("Liv" in
    // "Oliva") without anything leaking, and an 8-digit phone number may by chance be part of
    // a longer number.
    let haystack = haystack.join("\n").to_lowercase();
    let words: std::collections::HashSet<&str> = haystack
        .split(|c: char| !(c.is_alphanumeric() || c == '@' || c == '.' || c == '-'))
        .flat_map(|w| [w, w.trim_matches('.')])
        .collect();
    for secret in secrets.identifiers.iter().chain(&secrets.names) {
        assert!(
            !words.contains(secret.to_lowercase().as_str()),
            "a value of the source is in the masked copy"
        );
    }

    // Persons: a Tenor fødselsnummer born within the shift of the source's birth date, the
    // birth date field shifted by as much, every date moved.
    let residents: Vec<(&Key, &Fields)> = copied
        .iter()
        .filter(|(key, _)| key.0 == "innbyggere")
        .collect();
    assert_eq!(residents.len(), 16);
    let mut shifts = Vec::new();
    for (_, fields) in &residents {
        let FieldValue::String(fnr) = &fields["fodselsnummer"] else {
            panic!("a fødselsnummer is not a string");
        };
        let fnr = Fodselsnummer::parse(fnr).unwrap();
        assert_eq!(fnr.variant(), FnrVariant::Tenor);
        let FieldValue::Date(born) = fields["fodselsdato"] else {
            panic!("a birth date is not a date");
        };
        assert_eq!(fnr.birth_date(), Some(born), "fnr and birth date agree");
        shifts.push(born);
    }
    let mut source_births: Vec<Date> = people.iter().map(|(_, p)| p.fodselsdato).collect();
    let mut copied_births = shifts.clone();
    source_births.sort();
    copied_births.sort();
    assert_ne!(source_births, copied_births, "dates are shifted");

    // References: each application's child and guardians are persons of the copy, and one
    // person is the same record wherever referred to; their contact details in the
    // application are the person's masked ones (the same replacement everywhere).
    let by_id: HashMap<Uuid, &Fields> = residents
        .iter()
        .map(|(key, fields)| (key.2, *fields))
        .collect();
    for (key, fields) in copied.iter().filter(|(k, _)| k.0 == "barnehagesoknader") {
        for (reference, phone, email) in [
            ("foresatt1_id", "foresatt1_telefon", "foresatt1_epost"),
            ("foresatt2_id", "foresatt2_telefon", "foresatt2_epost"),
        ] {
            let id: Uuid = text(&fields[reference]).parse().unwrap();
            let person = by_id
                .get(&id)
                .unwrap_or_else(|| panic!("{key:?} refers to nobody"));
            assert_eq!(fields[phone], person["telefon"]);
            assert_eq!(fields[email], person["epost"]);
        }
        assert!(by_id.contains_key(&text(&fields["barn_id"]).parse().unwrap()));
    }

    // Free text: the person's identifiers replaced by their masked ones, the name gone.
    for (_, fields) in copied.iter().filter(|(k, _)| k.0 == "saker") {
        let bruker: Uuid = text(&fields["bruker_id"]).parse().unwrap();
        let person = by_id[&bruker];
        let vurdering = text(&fields["vurdering"]);
        assert!(
            vurdering.starts_with("Samtale med [navn] [navn] ("),
            "names redacted"
        );
        assert!(vurdering.contains(&text(&person["fodselsnummer"])));
        assert!(vurdering.contains(&text(&person["epost"])));
    }
    // Not personal (`system.operations`): copied as it was.
    let mut closed_source: Vec<Option<Date>> =
        (0..12).map(|c| demo::case(SEED, c).avsluttet).collect();
    let mut closed_copy: Vec<Option<Date>> = copied
        .iter()
        .filter(|(k, _)| k.0 == "saker")
        .map(|(_, fields)| match fields.get("avsluttet") {
            Some(FieldValue::Date(date)) => Some(*date),
            _ => None,
        })
        .collect();
    closed_source.sort();
    closed_copy.sort();
    assert_eq!(closed_source, closed_copy);

    // The subscriber's consent is in force in the copy, for the copy's subscriber, granted
    // at a shifted time: the copy reads its consent-based collection as the source does.
    let (subscriber, _) = copied.iter().find(|(k, _)| k.0 == "nyhetsbrev").unwrap();
    let consented = strings(
        target.data(),
        "SELECT purpose FROM dv_consent_state WHERE state = 'granted'",
    )
    .await;
    assert_eq!(consented, ["nyhetsbrev"]);
    let read_grant = access::decide(
        &target.catalog,
        &target.principal("4601"),
        &AccessRequest::read("nyhetsbrev", tenant("4601"))
            .with_purpose(Some("nyhetsbrev"))
            .with_consent(ConsentState::Deferred),
    )
    .unwrap();
    target
        .records
        .get(&read_grant, subscriber.2, &meta())
        .await
        .unwrap();

    // Lookups work on the copy: by the masked fødselsnummer, through the new blind index.
    let (bergen, first) = residents.iter().find(|(key, _)| key.1 == "4601").unwrap();
    let masked_fnr = text(&first["fodselsnummer"]);
    let found = target
        .lookup(
            "innbyggere",
            "innbyggerregister",
            "fodselsnummer",
            &masked_fnr,
        )
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, bergen.2);

    // New keys: the source's KEK opens nothing of the copy.
    let foreign = Records::new(
        target.store.clone(),
        target.catalog.clone(),
        source.kek.clone(),
    );
    let read = foreign
        .get(
            &target.grant(Operation::Read, "innbyggere", "innbyggerregister", "4601"),
            bergen.2,
            &meta(),
        )
        .await;
    assert!(
        read.is_err(),
        "the source's KEK must not open the copy's keys"
    );

    // Recorded in both logs; the copy's catalog says masked; its audit chain verifies.
    target.store.audit().seal().await.unwrap();
    let masked = "SELECT action FROM dv_audit WHERE action LIKE 'migration.%'";
    assert_eq!(strings(source.data(), masked).await, ["migration.masked"]);
    assert_eq!(strings(target.data(), masked).await, ["migration.masked"]);
    assert!(target.catalog.deployment().is_masked());
    let verified = target.store.audit().verify(None).await.unwrap();
    assert!(verified.failure.is_none());
    // Each record of the copy was created through the governed path, with its audit entry.
    assert_eq!(
        scalar(
            target.data(),
            "SELECT COUNT(*) FROM dv_audit WHERE action = 'create'"
        )
        .await,
        33
    );
}

#[on_every_backend]
async fn a_masked_copy_is_refused_before_anything_is_written(backend: Backend) {
    let source = Env::kommune(backend).await;
    seed(&source).await;

    // A target catalog that does not say masked.
    let unmarked = Env::kommune(backend).await;
    let err = copy(&source, &unmarked, Location::No).await.unwrap_err();
    assert_eq!(err.refusal_code(), Some("target_catalog"), "{err}");

    // A location the health data may not go to.
    let target = masked_target(backend).await;
    let err = copy(&source, &target, Location::Third).await.unwrap_err();
    assert_eq!(err.refusal_code(), Some("residency"), "{err}");
    assert!(err.to_string().contains("--location"));

    // A target that already holds records.
    target
        .create(
            "innbyggere",
            "innbyggerregister",
            "4601",
            Value::Object(demo::person(SEED + 1, 0).body()),
        )
        .await;
    let err = copy(&source, &target, Location::No).await.unwrap_err();
    assert_eq!(err.refusal_code(), Some("target_not_empty"), "{err}");
    assert_eq!(
        scalar(target.data(), "SELECT COUNT(*) FROM c_innbyggere").await,
        1,
        "nothing written"
    );
    for env in [&unmarked, &target] {
        assert_eq!(
            scalar(env.data(), "SELECT COUNT(*) FROM c_saker").await,
            0,
            "nothing written"
        );
    }
    let refused = strings(
        source.data(),
        "SELECT reason FROM dv_audit WHERE action = 'migration.copy_refused' ORDER BY id",
    )
    .await;
    assert_eq!(refused, ["target_catalog", "residency", "target_not_empty"]);
}

#[test]
fn the_catalog_of_a_masked_copy_keeps_the_source_text_and_says_masked() {
    let source = kommune_two_tenants();
    let masked = mark_masked(&source).unwrap();
    assert!(masked.contains("\n  masked: true\n"));
    assert_eq!(
        masked.lines().filter(|l| !l.contains("masked")).count(),
        source.lines().count()
    );
    // Marking twice changes nothing.
    assert_eq!(mark_masked(&masked).unwrap(), masked);
    assert!(mark_masked("not: [a catalog").is_none());
}
