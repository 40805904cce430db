//! Benchmarks of datavern-crypto's hot paths: field encryption and decryption, blind index
//! computation, data-key generation, local wrap/unwrap of one key and of a batch of 100, and
//! the audit log's chain hash, checkpoint signing and checkpoint verification.
//!
//! Run with `cargo bench -p datavern-crypto`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use datavern_crypto::audit::{
    CanonicalWriter, ChainHead, Checkpoint, CheckpointSigner, CheckpointVerifier, GENESIS, KeyName,
    chain_next,
};
use datavern_crypto::{
    BlindIndexLength, DataKey, FieldContext, IndexContext, IndexRootKey, KekProvider, KeyVersion,
    LocalKeyFile, Normalizer, UnwrapRequest, WrapRequest, WrappedKey, decrypt_field, encrypt_field,
};
use divan::{Bencher, black_box};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

const CONTEXT: FieldContext<'static> = FieldContext {
    tenant: "0301",
    collection: "persons",
    field: "name",
    record_id: "0190b5d2-7c1e-7000-8000-000000000001",
    subject_id: "0190b5d2-7c1e-7000-8000-0000000000ff",
};

/// Field sizes: a short field (a name, an identifier) and a 1 KiB note.
const FIELD_LENS: [usize; 2] = [32, 1024];

fn key() -> DataKey {
    DataKey::generate(KeyVersion::FIRST).unwrap()
}

#[divan::bench(args = FIELD_LENS)]
fn encrypt(bencher: Bencher<'_, '_>, len: usize) {
    let key = key();
    let plaintext = vec![0x5a; len];
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| encrypt_field(&key, &CONTEXT, black_box(&plaintext)).unwrap());
}

#[divan::bench(args = FIELD_LENS)]
fn decrypt(bencher: Bencher<'_, '_>, len: usize) {
    let key = key();
    let envelope = encrypt_field(&key, &CONTEXT, &vec![0x5a; len]).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| decrypt_field(&key, &CONTEXT, black_box(&envelope)).unwrap());
}

#[divan::bench]
fn blind_index_compute(bencher: Bencher<'_, '_>) {
    let root = IndexRootKey::generate(KeyVersion::FIRST).unwrap();
    let context = IndexContext {
        tenant: "0301",
        collection: "persons",
        field: "fnr",
    };
    let key = root
        .derive(&context, BlindIndexLength::new(16).unwrap())
        .unwrap();
    bencher.bench(|| key.compute(black_box(b"15108695088")));
}

/// Derivation happens once per (tenant, collection, field) and can be cached; measured to know
/// whether it must be.
#[divan::bench]
fn blind_index_derive_key(bencher: Bencher<'_, '_>) {
    let root = IndexRootKey::generate(KeyVersion::FIRST).unwrap();
    let context = IndexContext {
        tenant: "0301",
        collection: "persons",
        field: "fnr",
    };
    let length = BlindIndexLength::new(16).unwrap();
    bencher.bench(|| root.derive(black_box(&context), length).unwrap());
}

#[divan::bench]
fn normalize_digits(bencher: Bencher<'_, '_>) {
    bencher.bench(|| Normalizer::Digits.normalize(black_box("151086 95088")));
}

#[divan::bench]
fn data_key_generate(bencher: Bencher<'_, '_>) {
    bencher.bench(|| DataKey::generate(KeyVersion::FIRST).unwrap());
}

struct Local {
    _dir: tempfile::TempDir,
    kek: LocalKeyFile,
    runtime: Runtime,
}

fn local() -> Local {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kek = runtime
        .block_on(LocalKeyFile::create(dir.path().join("kek")))
        .unwrap();
    Local {
        _dir: dir,
        kek,
        runtime,
    }
}

const BATCH_SIZES: [usize; 2] = [1, 100];

#[divan::bench(args = BATCH_SIZES)]
fn local_wrap(bencher: Bencher<'_, '_>, n: usize) {
    let l = local();
    let keys: Vec<DataKey> = (0..n).map(|_| key()).collect();
    let subjects: Vec<String> = (0..n).map(|i| format!("subject-{i}")).collect();
    let requests: Vec<_> = keys
        .iter()
        .zip(&subjects)
        .map(|(k, s)| WrapRequest::data_key(k, "0301", s))
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            l.runtime
                .block_on(l.kek.wrap(black_box(&requests)))
                .unwrap()
        });
}

#[divan::bench(args = BATCH_SIZES)]
fn local_unwrap(bencher: Bencher<'_, '_>, n: usize) {
    let l = local();
    let keys: Vec<DataKey> = (0..n).map(|_| key()).collect();
    let subjects: Vec<String> = (0..n).map(|i| format!("subject-{i}")).collect();
    let requests: Vec<_> = keys
        .iter()
        .zip(&subjects)
        .map(|(k, s)| WrapRequest::data_key(k, "0301", s))
        .collect();
    let wrapped: Vec<WrappedKey> = l.runtime.block_on(l.kek.wrap(&requests)).unwrap();
    let unwrap_requests: Vec<_> = wrapped
        .iter()
        .zip(&subjects)
        .map(|(w, s)| UnwrapRequest::data_key(w, "0301", s))
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            let results = l
                .runtime
                .block_on(l.kek.unwrap(black_box(&unwrap_requests)))
                .unwrap();
            assert!(results.iter().all(Result::is_ok));
            results
        });
}

/// A typical audit entry (format, tenant, actor, purpose, action, collection, record, fields,
/// outcome, time): about 200 canonical bytes.
fn audit_entry() -> Vec<u8> {
    CanonicalWriter::new()
        .str("audit/1")
        .str("0301")
        .str("svc:barnehage-opptak")
        .str("case-handling")
        .str("read")
        .str("persons")
        .str("0190b5d2-7c1e-7000-8000-000000000001")
        .str_list(["address", "name"])
        .str("allowed")
        .i64(1_735_689_600_000_000)
        .finish()
}

#[divan::bench]
fn audit_chain_next(bencher: Bencher<'_, '_>) {
    let entry = audit_entry();
    assert!((180..=220).contains(&entry.len()), "{} bytes", entry.len());
    let prev = chain_next(&GENESIS, 1, b"previous");
    bencher
        .counter(divan::counter::BytesCount::new(entry.len()))
        .bench(|| chain_next(black_box(&prev), black_box(2), black_box(&entry)));
}

fn audit_checkpoint() -> (CheckpointSigner, Checkpoint) {
    let signer =
        CheckpointSigner::generate(KeyName::new("datavern.example/audit").unwrap()).unwrap();
    let head = ChainHead {
        size: 1_000_000,
        hash: chain_next(&GENESIS, 1_000_000, &audit_entry()),
    };
    let checkpoint = Checkpoint::new("datavern.example/audit", head)
        .unwrap()
        .with_extension("timestamp 2025-01-01T00:00:00Z")
        .unwrap();
    (signer, checkpoint)
}

#[divan::bench]
fn audit_checkpoint_sign(bencher: Bencher<'_, '_>) {
    let (signer, checkpoint) = audit_checkpoint();
    bencher.bench(|| signer.sign(black_box(&checkpoint)).unwrap());
}

#[divan::bench]
fn audit_checkpoint_verify(bencher: Bencher<'_, '_>) {
    let (signer, checkpoint) = audit_checkpoint();
    let note = signer.sign(&checkpoint).unwrap();
    let verifier = CheckpointVerifier::new(&signer.verifier_key()).unwrap();
    bencher.bench(|| verifier.verify(black_box(note.as_str())).unwrap());
}
