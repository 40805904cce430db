//! Resolving, access, rectification and portability.

use std::io::Read;

use datavern_governance::Error;
use datavern_governance::rights::{
    Correction, PORTABILITY_JSON, RightsError, SubjectIdentifier, SubjectRole,
};
use datavern_sql::Backend;
use datavern_store::SubjectId;
use serde_json::json;

use super::{Env, fnr};
use crate::support::{on_every_backend, report, strings, tenant};

#[on_every_backend]
async fn fodselsnummer_resolves_to_every_subject_id_of_the_person(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let mut expected = vec![
        SubjectId::from_uuid(family.a),
        SubjectId::from_uuid(family.a_employee),
    ];
    expected.sort();
    assert_eq!(env.resolve_fnr(1).await, expected);
    assert_eq!(
        env.resolve_fnr(4).await,
        vec![SubjectId::from_uuid(family.d)]
    );
    let by_id = env
        .rights
        .resolve(tenant("4601"), &SubjectIdentifier::SubjectId(family.c))
        .await
        .unwrap();
    assert_eq!(by_id, vec![SubjectId::from_uuid(family.c)]);
    env.finish().await;
}

#[on_every_backend]
async fn unknown_subject_is_not_found(backend: Backend) {
    let env = Env::new(backend).await;
    env.family().await;
    let fnr = datavern_core::id::Fodselsnummer::parse(&fnr(9)).unwrap();
    let err = env
        .rights
        .resolve(tenant("4601"), &SubjectIdentifier::NationalId(fnr))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rights(RightsError::SubjectNotFound { .. })),
        "{}",
        report(&err)
    );
    assert!(!err.to_string().contains(&super::fnr(9)));
    // The application is a record, not a person.
    let family = env.family().await;
    let err = env
        .rights
        .resolve(tenant("4601"), &SubjectIdentifier::SubjectId(family.soknad))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Rights(RightsError::SubjectNotFound { .. })
    ));
    env.finish().await;
}

#[on_every_backend]
async fn access_returns_every_record_with_its_processing_context(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let report = env.rights.access(&env.actor(), &subjects).await.unwrap();

    let names: Vec<&str> = report
        .collections
        .iter()
        .map(|c| c.collection.as_str())
        .collect();
    assert_eq!(
        names,
        ["innbyggere", "barnehagesoknader", "saker", "ansatte"]
    );

    let innbyggere = report.collection("innbyggere").unwrap();
    assert_eq!(innbyggere.records.len(), 1);
    let me = &innbyggere.records[0];
    assert_eq!(me.id, family.a);
    assert_eq!(me.role, SubjectRole::Itself);
    assert_eq!(me.get("fornavn"), Some(&json!("Ingeborg1")));
    assert_eq!(me.get("fodselsnummer"), Some(&json!(fnr(1))));
    assert_eq!(me.get("epost"), Some(&json!("person1@example.no")));
    let context = &innbyggere.context;
    assert_eq!(
        context.source.as_deref(),
        Some("Folkeregisteret (Skatteetaten)")
    );
    assert_eq!(context.erasure, "crypto_shred");
    assert_eq!(context.retention.as_ref().unwrap().period, "P2Y");
    let helse = context
        .purposes
        .iter()
        .find(|p| p.id == "helse_omsorg")
        .unwrap();
    assert_eq!(helse.lawful_basis, "6(1)(e)");
    assert_eq!(helse.special_category_condition, Some("9(2)(h)"));
    assert!(
        helse
            .legal_reference
            .as_deref()
            .unwrap()
            .contains("helse- og omsorgstjenesteloven")
    );
    assert!(context.recipients.iter().any(|r| r == "fastlege"));

    let saker = report.collection("saker").unwrap();
    assert_eq!(saker.records[0].id, family.sak);
    assert_eq!(
        saker.records[0].role,
        SubjectRole::Primary {
            reference: "bruker".to_owned()
        }
    );
    assert_eq!(saker.records[0].get("diagnose"), Some(&json!("Diagnose-A")));
    assert!(
        saker
            .context
            .archive_duty
            .as_deref()
            .unwrap()
            .contains("17(3)")
    );
    assert_eq!(
        saker.context.public_access_exemption.as_deref(),
        Some("offl. § 13 jf. fvl. § 13")
    );
    let ansatte = report.collection("ansatte").unwrap();
    assert_eq!(ansatte.records[0].id, family.a_employee);
    assert_eq!(ansatte.records[0].get("lonn"), Some(&json!("612000")));

    // Serializable, and Debug shows no value.
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("Ingeborg1"));
    let debug = format!("{report:?}");
    assert!(
        !debug.contains("Ingeborg1") && !debug.contains(&fnr(1)),
        "{debug}"
    );

    // Every record shown is audited as a read of the request.
    let audited = strings(
        env.data(),
        "SELECT collection FROM dv_audit WHERE action = 'dsr.access' AND request_id = 'dsr-1' \
         ORDER BY collection",
    )
    .await;
    assert_eq!(
        audited,
        ["ansatte", "barnehagesoknader", "innbyggere", "saker"]
    );
    env.finish().await;
}

#[on_every_backend]
async fn guardian_sees_only_their_part_of_a_childs_application(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let report = env
        .rights
        .access(&env.actor(), &[SubjectId::from_uuid(family.b)])
        .await
        .unwrap();
    let soknader = report.collection("barnehagesoknader").unwrap();
    assert_eq!(soknader.records.len(), 1);
    let part = &soknader.records[0];
    assert_eq!(part.id, family.soknad);
    assert_eq!(
        part.role,
        SubjectRole::Secondary {
            reference: "foresatt2".to_owned()
        }
    );
    let fields: Vec<&str> = part.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        fields,
        ["foresatt2_id", "foresatt2_telefon", "foresatt2_epost"]
    );
    assert_eq!(
        part.get("foresatt2_epost"),
        Some(&json!("forelder.b@example.no"))
    );

    // The child, as primary subject, sees the application without the guardians' fields.
    let report = env
        .rights
        .access(&env.actor(), &[SubjectId::from_uuid(family.c)])
        .await
        .unwrap();
    let child = &report.collection("barnehagesoknader").unwrap().records[0];
    assert_eq!(
        child.get("onsket_barnehage"),
        Some(&json!("Solstrålen barnehage"))
    );
    assert!(child.get("foresatt1_telefon").is_none());
    assert!(child.get("foresatt2_id").is_none());
    assert!(child.get("barn_id").is_some());
    env.finish().await;
}

#[on_every_backend]
async fn rectification_changes_fields_and_audits_names_only(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let corrections = [
        Correction::new(
            "innbyggere",
            family.a,
            json!({ "telefon": "+47 455 55 555", "epost": "ny.adresse@example.no" })
                .as_object()
                .unwrap()
                .clone(),
        ),
        Correction::new(
            "barnehagesoknader",
            family.soknad,
            json!({ "foresatt1_telefon": "+47 466 66 666" })
                .as_object()
                .unwrap()
                .clone(),
        ),
    ];
    let outcome = env
        .rights
        .rectify(&env.actor(), &subjects, &corrections)
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert_eq!(outcome.corrections.len(), 2);
    assert_eq!(outcome.corrections[0].fields, ["telefon", "epost"]);
    assert_eq!(outcome.corrections[0].version, 2);

    let report = env.rights.access(&env.actor(), &subjects).await.unwrap();
    let me = &report.collection("innbyggere").unwrap().records[0];
    assert_eq!(me.get("telefon"), Some(&json!("+4745555555")));
    assert_eq!(me.get("epost"), Some(&json!("ny.adresse@example.no")));
    assert_eq!(me.version, 2);
    let part = &report.collection("barnehagesoknader").unwrap().records[0];
    assert_eq!(part.get("foresatt1_telefon"), Some(&json!("+4746666666")));

    // The corrected e-mail is found by its new blind index.
    let fields = strings(
        env.data(),
        &format!(
            "SELECT {} FROM dv_audit WHERE action = 'dsr.rectify' ORDER BY collection DESC",
            super::fields_text(backend)
        ),
    )
    .await;
    assert_eq!(fields.len(), 2);
    assert!(fields[0].contains("telefon") && fields[0].contains("epost"));
    let everything = strings(
        env.data(),
        &format!(
            "SELECT {} FROM dv_audit UNION ALL SELECT COALESCE(reason, '') FROM dv_audit",
            super::fields_text(backend)
        ),
    )
    .await
    .join(" ");
    assert!(!everything.contains("455") && !everything.contains("ny.adresse"));
    let outbox = strings(env.data(), "SELECT type FROM dv_outbox ORDER BY position").await;
    assert!(outbox.iter().filter(|t| t.ends_with("updated")).count() >= 2);
    env.finish().await;
}

#[on_every_backend]
async fn rectification_refuses_records_and_fields_not_the_subjects(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let b = [SubjectId::from_uuid(family.b)];
    let attempt = |collection: &str, record, body: serde_json::Value| {
        vec![Correction::new(
            collection,
            record,
            body.as_object().unwrap().clone(),
        )]
    };
    // A's record is not B's.
    let err = env
        .rights
        .rectify(
            &env.actor(),
            &b,
            &attempt("innbyggere", family.a, json!({ "fornavn": "X" })),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Rights(RightsError::NotSubjectsRecord { .. })
    ));
    // A guardian may not correct the child's fields, nor the other guardian's.
    for field in ["onsket_barnehage", "foresatt1_telefon"] {
        let mut body = serde_json::Map::new();
        body.insert(field.to_owned(), json!("+47 400 00 000"));
        let err = env
            .rights
            .rectify(
                &env.actor(),
                &b,
                &attempt("barnehagesoknader", family.soknad, body.into()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Rights(RightsError::FieldNotCorrectable { .. })),
            "{field}: {}",
            report(&err)
        );
    }
    // Invalid values are refused before anything is written; the message has no value.
    let err = env
        .rights
        .rectify(
            &env.actor(),
            &b,
            &attempt(
                "innbyggere",
                family.b,
                json!({ "fodselsnummer": "12345678901" }),
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Rights(RightsError::InvalidCorrection { .. })
    ));
    assert!(!err.to_string().contains("12345678901"));
    let report = env.rights.access(&env.actor(), &b).await.unwrap();
    assert_eq!(
        report.collection("innbyggere").unwrap().records[0].version,
        1
    );
    env.finish().await;
}

#[on_every_backend]
async fn portability_exports_provided_data_as_json_and_csv(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let export = env
        .rights
        .portability(&env.actor(), &subjects)
        .await
        .unwrap();
    // Only the employment (contract) is data the person provided; the register copy, the
    // application and the case rest on public tasks or come from a register.
    assert_eq!(export.included, ["ansatte"]);
    let excluded: Vec<&str> = export
        .excluded
        .iter()
        .map(|e| e.collection.as_str())
        .collect();
    assert_eq!(excluded, ["innbyggere", "barnehagesoknader", "saker"]);
    assert!(export.excluded[0].reason.contains("Folkeregisteret"));
    assert_eq!(
        export.json["collections"]["ansatte"][0]["fields"]["fornavn"],
        json!("Ingeborg1")
    );
    assert_eq!(
        export.json["collections"]["ansatte"][0]["id"],
        json!(family.a_employee)
    );

    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(export.zip.clone())).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, ["ansatte.csv", PORTABILITY_JSON]);
    let mut csv = String::new();
    zip.by_name("ansatte.csv")
        .unwrap()
        .read_to_string(&mut csv)
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..3], ["id", "role", "ansattnummer"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], family.a_employee.to_string());
    assert_eq!(&rows[0][1], "self");
    let fornavn = header.iter().position(|h| h == "fornavn").unwrap();
    assert_eq!(&rows[0][fornavn], "Ingeborg1");
    let debug = format!("{export:?}");
    assert!(!debug.contains("Ingeborg1"));
    env.finish().await;
}
