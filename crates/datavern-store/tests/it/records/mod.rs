//! Governed record operations on every backend: round trips of every field type, partial
//! updates and optimistic concurrency, delete, cursor pagination, blind-index lookup,
//! withheld fields, tenant isolation, and the security properties: no plaintext in the
//! database, moved ciphertext fails to decrypt, one audit entry and one outbox row per write
//! in the write's transaction (none when it fails), reads audited.

use std::sync::Arc;

use datavern_core::access::{self, AccessRequest, AuditFacts, Operation, WithheldReason};
use datavern_core::record::{self, FieldValue, Mode, ValidatedRecord};
use datavern_crypto::{KekProvider, LocalKeyFile};
use datavern_sql::{Backend, SqlError};
use datavern_store::records::{Cursor, KeyCacheConfig, MAX_PAGE_LIMIT, RecordView};
use datavern_store::{RecordError, Records, Store, StoreError, SubjectId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{execute, on_every_backend, report, scalar, strings, tenant};
pub(crate) use datavern_testkit::fixtures::{catalog, fnr, kommune_two_tenants, resident};
pub(crate) use datavern_testkit::sql::{read_bytes, write_bytes};
pub(crate) use datavern_testkit::{Env, meta, record_error};

mod batch;
mod events;
mod operations;
mod sealing;
mod security;
mod serving_role;

/// Every field type, plain and encrypted, in a person collection with two tenants.
pub(crate) const TYPES: &str = r#"
version: 1
deployment:
  tenants:
    - kommunenummer: "4601"
      name: Bergen kommune
    - kommunenummer: "0301"
      name: Oslo kommune
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
  - name: typer
    description: Every field type
    classification: ÅPEN
    subjects: self
    purposes: [register]
    retention:
      period: P1Y
      from: created
      then: delete
    fields:
      - { name: s, type: string, required: true, category: system.operations }
      - { name: t, type: text, category: system.operations }
      - { name: i, type: integer, category: system.operations }
      - { name: d, type: decimal, category: system.operations }
      - { name: b, type: boolean, category: system.operations }
      - { name: dt, type: date, category: system.operations }
      - { name: ts, type: timestamp, category: system.operations }
      - { name: j, type: json, category: system.operations }
      - { name: es, type: string, category: system.operations, encrypted: true }
      - { name: et, type: text, category: system.operations, encrypted: true }
      - { name: ei, type: integer, category: system.operations, encrypted: true }
      - { name: ed, type: decimal, category: system.operations, encrypted: true }
      - { name: eb, type: boolean, category: system.operations, encrypted: true }
      - { name: edt, type: date, category: system.operations, encrypted: true }
      - { name: ets, type: timestamp, category: system.operations, encrypted: true }
      - { name: ej, type: json, category: system.operations, encrypted: true }
"#;

fn string(view: &RecordView, field: &str) -> String {
    match view.get(field) {
        Some(FieldValue::String(s)) => s.clone(),
        other => panic!("{field}: expected a string, got {other:?}"),
    }
}

pub(crate) fn soknad(child: Uuid, guardian: Uuid) -> Value {
    json!({
        "barn_id": child.to_string(),
        "foresatt1_id": guardian.to_string(),
        "soknadsdato": "2025-02-01",
        "onsket_barnehage": "Solstrålen barnehage",
        "onsket_oppstart": "2025-08-15",
        "foresatt1_telefon": "912 34 567",
        "foresatt1_epost": "forelder@example.no",
    })
}

/// Values of `resident(n)` that are stored encrypted and must never appear in the clear.
fn secret_values(n: u32) -> Vec<String> {
    vec![
        fnr(n),
        format!("Ingeborg{n}"),
        "Skjærvik-Fjellheim".to_owned(),
        "Lønborglien 77".to_owned(),
        "+4791234567".to_owned(),
        "Ingeborg.Skjaervik@example.no".to_owned(),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(action, outcome, record id as 32 lowercase hex digits, fields as stored)` of every audit
/// entry, in insertion order.
async fn audit_rows(env: &Env) -> Vec<(String, String, String, String)> {
    let (record, fields) = match env.db.backend() {
        Backend::Sqlite => ("lower(hex(record_id))", "fields"),
        Backend::Postgres => ("replace(record_id::text, '-', '')", "fields::text"),
        Backend::MySql => ("lower(hex(record_id))", "CAST(fields AS CHAR)"),
    };
    let column = |c: String| {
        let sql = format!("SELECT COALESCE({c}, '') FROM dv_audit ORDER BY id");
        async move { strings(env.data(), &sql).await }
    };
    let actions = column("action".to_owned()).await;
    let outcomes = column("outcome".to_owned()).await;
    let records = column(record.to_owned()).await;
    let fields = column(fields.to_owned()).await;
    actions
        .into_iter()
        .zip(outcomes)
        .zip(records)
        .zip(fields)
        .map(|(((a, o), r), f)| (a, o, r, f.replace(' ', "")))
        .collect()
}
