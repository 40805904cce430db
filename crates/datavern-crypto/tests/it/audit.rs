//! The audit chain and signed checkpoints: known answers computed independently (Python's
//! hashlib and `cryptography` from docs/crypto.md), the Go reference implementation's published
//! signed-note vectors, tamper detection at the right position, and key handling.

use datavern_crypto::Error;
use datavern_crypto::audit::{
    AuditError, CanonicalWriter, ChainError, ChainHash, ChainHead, ChainVerifier, Checkpoint,
    CheckpointSigner, CheckpointVerifier, GENESIS, KeyName, NoteText, chain_next,
};
use secrecy::SecretString;

use crate::{assert_no_key, hex_decode};

// ---------------------------------------------------------------------------------------------
// Hash chain

/// The three entries of the independent vector, encoded with `CanonicalWriter`.
fn kat_entries() -> Vec<Vec<u8>> {
    let entry = |action: &str, record: &str| {
        CanonicalWriter::new()
            .str("datavern audit entry v1")
            .str("0301")
            .str(action)
            .str("persons")
            .str(record)
    };
    vec![
        entry("write", "0190b5d2-7c1e-7000-8000-000000000001")
            .str_list(["address", "name"])
            .i64(1_735_689_600_000_000)
            .opt_str(None)
            .finish(),
        entry("read", "0190b5d2-7c1e-7000-8000-000000000001")
            .str_list(["name"])
            .i64(1_735_689_600_000_001)
            .opt_str(Some("case-handling"))
            .finish(),
        entry("denied", "0190b5d2-7c1e-7000-8000-000000000002")
            .str_list::<[&str; 0], &str>([])
            .i64(-1)
            .opt_bytes(Some(&[0x00, 0xff]))
            .opt_u64(Some(7))
            .finish(),
    ]
}

/// Entry bytes and chain hashes computed by Python from the layout in docs/crypto.md.
const KAT_ENTRIES: [&str; 3] = [
    "020000000000000017646174617665726e20617564697420656e747279207631020000000000000004303330310200\
     000000000000057772697465020000000000000007706572736f6e7302000000000000002430313930623564322d37\
     6331652d373030302d383030302d303030303030303030303031050000000000000002020000000000000007616464\
     726573730200000000000000046e616d650400062a99ba0c600000",
    "020000000000000017646174617665726e20617564697420656e747279207631020000000000000004303330310200\
     0000000000000472656164020000000000000007706572736f6e7302000000000000002430313930623564322d3763\
     31652d373030302d383030302d3030303030303030303030310500000000000000010200000000000000046e616d65\
     0400062a99ba0c600102000000000000000d636173652d68616e646c696e67",
    "020000000000000017646174617665726e20617564697420656e747279207631020000000000000004303330310200\
     0000000000000664656e696564020000000000000007706572736f6e7302000000000000002430313930623564322d\
     376331652d373030302d383030302d30303030303030303030303205000000000000000004ffffffffffffffff0100\
     0000000000000200ff030000000000000007",
];
const KAT_GENESIS: &str = "3da6001d476965304959dd22b00633179cf337fb5554a588957df45c332f8b18";
const KAT_HASHES: [&str; 3] = [
    "6a57956c12ae10c5929c642bde21938b81628b07703f4508b9204f64a48ac2f1",
    "176faaf2fa09602ee14f6396a91dc121b1f23dc66c68a4af1bbb6a43ef1b9698",
    "294fad0530b6d1758c6f36b9bdbc4ea3773ff5b1a6e25e05a0a793fa830b4c35",
];

#[test]
fn chain_matches_independently_computed_vector() {
    assert_eq!(GENESIS.to_string(), KAT_GENESIS);
    let mut prev = GENESIS;
    for (i, entry) in kat_entries().iter().enumerate() {
        assert_eq!(*entry, hex_decode(KAT_ENTRIES[i]), "entry {}", i + 1);
        let sequence = i as u64 + 1;
        prev = chain_next(&prev, sequence, entry);
        assert_eq!(prev.to_string(), KAT_HASHES[i], "hash {sequence}");
    }
}

#[test]
fn chain_is_deterministic_and_binds_every_input() {
    let entry = b"entry";
    let base = chain_next(&GENESIS, 1, entry);
    assert_eq!(base, chain_next(&GENESIS, 1, entry));
    assert_ne!(base, chain_next(&base, 1, entry), "previous hash");
    assert_ne!(base, chain_next(&GENESIS, 2, entry), "sequence");
    assert_ne!(base, chain_next(&GENESIS, 1, b"entrY"), "entry");
    assert_ne!(base, chain_next(&GENESIS, 1, b""), "empty entry");
}

/// A stored log row: sequence number, canonical entry bytes, stored chain hash.
type Row = (u64, Vec<u8>, ChainHash);

/// A log of `n` entries, chained from genesis.
fn log(n: u64) -> Vec<Row> {
    let mut prev = GENESIS;
    (1..=n)
        .map(|sequence| {
            let entry = CanonicalWriter::new()
                .str("entry v1")
                .u64(sequence)
                .str("read")
                .finish();
            prev = chain_next(&prev, sequence, &entry);
            (sequence, entry, prev)
        })
        .collect()
}

fn head_at(rows: &[Row], size: u64) -> ChainHead {
    let hash = rows
        .iter()
        .find(|(s, _, _)| *s == size)
        .map_or(GENESIS, |r| r.2);
    ChainHead { size, hash }
}

/// Runs `rows` through a verifier that knows the given checkpoints.
fn verify(rows: &[Row], checkpoints: &[ChainHead]) -> Result<ChainHead, ChainError> {
    let mut verifier = ChainVerifier::new();
    for checkpoint in checkpoints {
        verifier.expect(*checkpoint)?;
    }
    for (sequence, entry, stored) in rows {
        verifier.push(*sequence, entry, stored)?;
    }
    verifier.finish()
}

#[test]
fn intact_log_verifies_against_its_checkpoints() {
    let rows = log(10);
    let checkpoints = [head_at(&rows, 0), head_at(&rows, 4), head_at(&rows, 10)];
    assert_eq!(verify(&rows, &checkpoints), Ok(head_at(&rows, 10)));
    assert_eq!(verify(&[], &[ChainHead::EMPTY]), Ok(ChainHead::EMPTY));
}

fn check(rows: &[Row], expected: ChainError, position: Option<u64>) {
    let err = verify(rows, &[]).unwrap_err();
    assert_eq!(err, expected);
    assert_eq!(err.position(), position);
}

#[test]
fn altered_entry_is_found_at_its_position() {
    let mut rows = log(10);
    rows[6].1.push(b'!');
    check(&rows, ChainError::HashMismatch { sequence: 7 }, Some(7));
    assert_eq!(
        ChainError::HashMismatch { sequence: 7 }.to_string(),
        "hash mismatch at 7"
    );
}

#[test]
fn altered_stored_hash_is_found_at_its_position() {
    let mut rows = log(10);
    rows[2].2 = chain_next(&GENESIS, 3, b"forged");
    check(&rows, ChainError::HashMismatch { sequence: 3 }, Some(3));
}

#[test]
fn altered_entry_with_recomputed_hash_is_found_at_the_next_entry() {
    let mut rows = log(10);
    rows[4].1 = b"forged".to_vec();
    rows[4].2 = chain_next(&rows[3].2, 5, b"forged");
    check(&rows, ChainError::HashMismatch { sequence: 6 }, Some(6));
}

#[test]
fn deleted_entry_leaves_a_sequence_gap() {
    let mut rows = log(10);
    rows.remove(2);
    let expected = ChainError::SequenceGap {
        expected: 3,
        found: 4,
    };
    assert_eq!(expected.to_string(), "sequence gap: expected 3, found 4");
    check(&rows, expected, Some(3));
}

#[test]
fn deleted_entry_with_renumbering_breaks_the_hash() {
    let mut rows = log(10);
    rows.remove(2);
    for row in &mut rows[2..] {
        row.0 -= 1;
    }
    check(&rows, ChainError::HashMismatch { sequence: 3 }, Some(3));
}

#[test]
fn inserted_entry_is_found() {
    let rows = log(10);
    // With a duplicate sequence number.
    let mut dup = rows.clone();
    dup.insert(3, (3, b"inserted".to_vec(), rows[2].2));
    check(
        &dup,
        ChainError::SequenceOutOfOrder {
            expected: 4,
            found: 3,
        },
        Some(4),
    );
    // Renumbered, without a valid hash: found at the inserted entry.
    let mut naive = rows.clone();
    naive.insert(3, (4, b"inserted".to_vec(), rows[3].2));
    for row in &mut naive[4..] {
        row.0 += 1;
    }
    check(&naive, ChainError::HashMismatch { sequence: 4 }, Some(4));
    // Renumbered with a correctly chained hash for the inserted entry (the chain has no
    // secret): found at the first original entry after it.
    let mut forged = rows.clone();
    forged.insert(
        3,
        (
            4,
            b"inserted".to_vec(),
            chain_next(&rows[2].2, 4, b"inserted"),
        ),
    );
    for row in &mut forged[4..] {
        row.0 += 1;
    }
    check(&forged, ChainError::HashMismatch { sequence: 5 }, Some(5));
}

#[test]
fn reordered_entries_are_found() {
    let rows = log(10);
    // Rows swapped in storage order.
    let mut swapped = rows.clone();
    swapped.swap(4, 5);
    check(
        &swapped,
        ChainError::SequenceGap {
            expected: 5,
            found: 6,
        },
        Some(5),
    );
    // Contents swapped under the original sequence numbers and hashes.
    let mut contents = rows.clone();
    let (a, b) = (contents[4].1.clone(), contents[5].1.clone());
    contents[4].1 = b;
    contents[5].1 = a;
    check(&contents, ChainError::HashMismatch { sequence: 5 }, Some(5));
    // A later entry moved to the front.
    let mut back = rows.clone();
    let first = back.remove(0);
    back.push(first);
    check(
        &back,
        ChainError::SequenceGap {
            expected: 1,
            found: 2,
        },
        Some(1),
    );
}

#[test]
fn recomputed_chain_is_caught_by_the_signed_checkpoint() {
    let rows = log(10);
    let signed = head_at(&rows, 8);
    // Entry 5 altered and every later hash recomputed: the chain is self-consistent again.
    let mut rewritten = rows[..4].to_vec();
    let mut prev = rows[3].2;
    for (sequence, entry, _) in &rows[4..] {
        let entry = if *sequence == 5 {
            b"forged".to_vec()
        } else {
            entry.clone()
        };
        prev = chain_next(&prev, *sequence, &entry);
        rewritten.push((*sequence, entry, prev));
    }
    assert!(verify(&rewritten, &[]).is_ok());
    let err = verify(&rewritten, &[signed]).unwrap_err();
    assert_eq!(err, ChainError::CheckpointMismatch { size: 8 });
}

#[test]
fn truncated_log_is_caught_by_the_signed_checkpoint() {
    let rows = log(10);
    let err = verify(&rows[..7], &[head_at(&rows, 10)]).unwrap_err();
    assert_eq!(
        err,
        ChainError::Truncated {
            size: 7,
            checkpoint: 10
        }
    );
    assert_eq!(err.position(), Some(8));
}

#[test]
fn checkpoints_that_disagree_are_refused() {
    let rows = log(10);
    let mut verifier = ChainVerifier::new();
    verifier.expect(head_at(&rows, 5)).unwrap();
    let other = ChainHead {
        size: 5,
        hash: GENESIS,
    };
    assert_eq!(
        verifier.expect(other),
        Err(ChainError::ConflictingCheckpoints { size: 5 })
    );

    let mut late = ChainVerifier::new();
    for (sequence, entry, stored) in &rows[..6] {
        late.push(*sequence, entry, stored).unwrap();
    }
    assert_eq!(
        late.expect(head_at(&rows, 5)),
        Err(ChainError::CheckpointBehind {
            size: 5,
            verified: 6
        })
    );
}

#[test]
fn verifier_stays_failed_after_the_first_error() {
    let mut rows = log(5);
    rows[1].1.push(b'!');
    let mut verifier = ChainVerifier::new();
    verifier.push(1, &rows[0].1, &rows[0].2).unwrap();
    let first = verifier.push(2, &rows[1].1, &rows[1].2).unwrap_err();
    assert_eq!(first, ChainError::HashMismatch { sequence: 2 });
    // Even a correct continuation reports the first error.
    assert_eq!(verifier.push(3, &rows[2].1, &rows[2].2), Err(first.clone()));
    assert_eq!(verifier.finish(), Err(first));
}

#[test]
fn verification_resumes_from_a_checkpoint() {
    let rows = log(10);
    let mut verifier = ChainVerifier::resume(head_at(&rows, 6));
    for (sequence, entry, stored) in &rows[6..] {
        verifier.push(*sequence, entry, stored).unwrap();
    }
    assert_eq!(verifier.finish(), Ok(head_at(&rows, 10)));

    let mut wrong = ChainVerifier::resume(head_at(&rows, 6));
    assert_eq!(
        wrong.push(8, &rows[7].1, &rows[7].2),
        Err(ChainError::SequenceGap {
            expected: 7,
            found: 8
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Signed checkpoints: independent vector (Python `cryptography`, seed 01 02 .. 20)

const KAT_SEED_HEX: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const KAT_VKEY: &str =
    "datavern.example/audit+3222d98b+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";
const KAT_SKEY: &str =
    "PRIVATE+KEY+datavern.example/audit+3222d98b+AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
/// The checkpoint at the head of the chain vector above, with a timestamp extension.
const KAT_NOTE: &str = "datavern.example/audit\n3\nKU+tBTC20XWMbza5vbxOo3c/9bGm4l4FoKeT+oMLTDU=\n\
    timestamp 2025-01-01T00:00:00Z\n\
    \n\
    \u{2014} datavern.example/audit MiLZixaPmMDo/c9Sjnos54kzknTu5Wj4h4YulQg0sTEGoHnDnsn7bzuG+2qcOC6FCDrYfk2uSwDi8yz5DgauQohOkgM=\n";
const ORIGIN: &str = "datavern.example/audit";

fn kat_signer() -> CheckpointSigner {
    CheckpointSigner::from_signer_key(&SecretString::from(KAT_SKEY)).unwrap()
}

fn kat_checkpoint() -> Checkpoint {
    let head = ChainHead {
        size: 3,
        hash: KAT_HASHES[2].parse().unwrap(),
    };
    Checkpoint::new(ORIGIN, head)
        .unwrap()
        .with_extension("timestamp 2025-01-01T00:00:00Z")
        .unwrap()
}

#[test]
fn signer_reproduces_the_independent_vector() {
    let signer = kat_signer();
    assert_eq!(signer.verifier_key(), KAT_VKEY);
    assert_eq!(signer.key_id(), 0x3222_d98b);
    assert_eq!(signer.sign(&kat_checkpoint()).unwrap().as_str(), KAT_NOTE);
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    assert_eq!(verifier.verify(KAT_NOTE).unwrap(), kat_checkpoint());
    assert_eq!(verifier.to_string(), KAT_VKEY);
}

#[test]
fn signed_checkpoint_round_trips() {
    let signer = CheckpointSigner::generate(KeyName::new(ORIGIN).unwrap()).unwrap();
    let verifier: CheckpointVerifier = signer.verifier_key().parse().unwrap();
    for checkpoint in [
        Checkpoint::new(ORIGIN, ChainHead::EMPTY).unwrap(),
        kat_checkpoint(),
        kat_checkpoint().with_extension("x").unwrap(),
    ] {
        let note = signer.sign(&checkpoint).unwrap();
        assert_eq!(verifier.verify(note.as_str()).unwrap(), checkpoint);
        assert_eq!(
            verifier.verify_for_origin(note.as_str(), ORIGIN).unwrap(),
            checkpoint
        );
        // Deterministic.
        assert_eq!(signer.sign(&checkpoint).unwrap(), note);
    }
}

#[test]
fn checkpoint_for_another_origin_is_refused() {
    let signer = kat_signer();
    let other = Checkpoint::new("datavern.example/other", ChainHead::EMPTY).unwrap();
    let note = signer.sign(&other).unwrap();
    assert!(signer.verifier().verify(note.as_str()).is_ok());
    assert_eq!(
        signer
            .verifier()
            .verify_for_origin(note.as_str(), ORIGIN)
            .unwrap_err(),
        AuditError::OriginMismatch {
            expected: ORIGIN.to_owned(),
            found: "datavern.example/other".to_owned()
        }
    );
}

/// The KAT note with its signature line replaced.
fn with_signature_line(line: &str) -> String {
    let (text, _) = KAT_NOTE.rsplit_once("\n\n").unwrap();
    format!("{text}\n\n{line}\n")
}

fn kat_signature_line() -> &'static str {
    KAT_NOTE.rsplit_once("\n\n").unwrap().1.trim_end()
}

#[test]
fn any_change_to_the_signed_text_fails() {
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    let text_len = KAT_NOTE.find("\n\n").unwrap() + 1;
    let invalid = AuditError::InvalidSignature {
        name: ORIGIN.to_owned(),
        key_id: 0x3222_d98b,
    };
    // Every single-byte change to the text that keeps it a well-formed note is caught by the
    // signature; the rest are refused as malformed.
    let bytes = KAT_NOTE.as_bytes();
    for i in 0..text_len {
        for replacement in [b'0', b'A', b'x', b'/', b'\n', b' '] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let changed = String::from_utf8(changed).unwrap();
            let err = verifier.verify(&changed).unwrap_err();
            assert!(
                err == invalid || matches!(err, AuditError::MalformedNote(_)),
                "byte {i} -> {replacement}: {err:?}"
            );
        }
    }
    // The changes an attacker would want, spelled out.
    for (from, to) in [
        ("\n3\n", "\n4\n"),
        ("KU+tBTC20", "KU+tBTC21"),
        ("datavern.example/audit\n3", "datavern.example/other\n3"),
        ("2025-01-01", "2025-01-02"),
        ("timestamp 2025-01-01T00:00:00Z\n", ""),
        (
            "timestamp 2025-01-01T00:00:00Z\n",
            "timestamp 2025-01-01T00:00:00Z\nextra\n",
        ),
    ] {
        let changed = KAT_NOTE.replacen(from, to, 1);
        assert_ne!(changed, KAT_NOTE);
        assert_eq!(verifier.verify(&changed).unwrap_err(), invalid, "{from:?}");
    }
}

#[test]
fn altered_signature_fails() {
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    let line = kat_signature_line();
    let prefix = "\u{2014} datavern.example/audit ".len();
    let b64 = &line[prefix..];
    let raw = base64_decode(b64);
    // Every bit of the signature proper (after the 4-byte key id).
    for byte in 4..raw.len() {
        for bit in 0..8 {
            let mut changed = raw.clone();
            changed[byte] ^= 1 << bit;
            let note =
                with_signature_line(&format!("{}{}", &line[..prefix], base64_encode(&changed)));
            assert!(
                matches!(
                    verifier.verify(&note),
                    Err(AuditError::InvalidSignature { .. })
                ),
                "byte {byte} bit {bit}"
            );
        }
    }
    // A changed key id makes it another key's signature, which is ignored: none is left.
    let mut changed = raw.clone();
    changed[0] ^= 1;
    let note = with_signature_line(&format!("{}{}", &line[..prefix], base64_encode(&changed)));
    assert!(matches!(
        verifier.verify(&note),
        Err(AuditError::NoSignature { .. })
    ));
}

#[test]
fn malleated_signature_fails() {
    // Ed25519's S plus the group order L verifies under a lax implementation; the note must
    // not, or a changed note would be accepted.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let line = kat_signature_line();
    let prefix = "\u{2014} datavern.example/audit ".len();
    let mut raw = base64_decode(&line[prefix..]);
    let s = &mut raw[4 + 32..4 + 64];
    let mut carry = 0u16;
    for (byte, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let note = with_signature_line(&format!("{}{}", &line[..prefix], base64_encode(&raw)));
    assert!(matches!(
        CheckpointVerifier::new(KAT_VKEY).unwrap().verify(&note),
        Err(AuditError::InvalidSignature { .. })
    ));
}

#[test]
fn missing_or_foreign_signature_fails() {
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    let none = AuditError::NoSignature {
        name: ORIGIN.to_owned(),
        key_id: 0x3222_d98b,
    };
    // Signature line renamed: now another key's, ignored.
    let renamed = KAT_NOTE.replacen(
        "\u{2014} datavern.example/audit ",
        "\u{2014} datavern.example/audit2 ",
        1,
    );
    assert_eq!(verifier.verify(&renamed).unwrap_err(), none);
    // Signed by another key of the same name.
    let other = CheckpointSigner::generate(KeyName::new(ORIGIN).unwrap()).unwrap();
    let note = other.sign(&kat_checkpoint()).unwrap();
    assert_eq!(verifier.verify(note.as_str()).unwrap_err(), none);
    assert_eq!(
        none.to_string(),
        "note has no signature by key datavern.example/audit+3222d98b"
    );
    // Signature removed entirely.
    let (text, _) = KAT_NOTE.rsplit_once("\n\n").unwrap();
    assert!(matches!(
        verifier.verify(&format!("{text}\n\n")),
        Err(AuditError::MalformedNote(_))
    ));
    assert!(matches!(
        verifier.verify(&format!("{text}\n")),
        Err(AuditError::MalformedNote(_))
    ));
}

#[test]
fn other_keys_signatures_are_ignored_but_ours_must_all_verify() {
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    let witness = CheckpointSigner::generate(KeyName::new("witness.example").unwrap()).unwrap();
    let cosigned = witness.sign(&kat_checkpoint()).unwrap();
    let witness_line = cosigned.as_str().rsplit_once("\n\n").unwrap().1;
    let note = format!("{KAT_NOTE}{witness_line}");
    assert_eq!(verifier.verify(&note).unwrap(), kat_checkpoint());
    assert_eq!(witness.verifier().verify(&note).unwrap(), kat_checkpoint());

    // A second, bad line by our key is not skipped.
    let line = kat_signature_line();
    let bad = line.replacen("MiLZixa", "MiLZixb", 1);
    let note = format!("{KAT_NOTE}{bad}\n");
    assert!(matches!(
        verifier.verify(&note),
        Err(AuditError::InvalidSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_refused() {
    let verifier = CheckpointVerifier::new(KAT_VKEY).unwrap();
    let line = kat_signature_line();
    let (text, _) = KAT_NOTE.rsplit_once("\n\n").unwrap();
    let cases = [
        String::new(),
        text.to_owned(),
        KAT_NOTE.trim_end().to_owned(),
        KAT_NOTE.replace('\n', "\r\n"),
        format!("\u{1}{KAT_NOTE}"),
        format!("{KAT_NOTE}Unexpected line.\n"),
        with_signature_line(&line.replacen('\u{2014}', "--", 1)),
        with_signature_line(&line.replacen("audit ", "audit  ", 1)),
        with_signature_line(&line.replacen("datavern.example/audit", "data vern", 1)),
        with_signature_line(&line.replacen("gM=", "gN=", 1)),
        with_signature_line(&line.replacen("gM=", "gM", 1)),
        with_signature_line("\u{2014} datavern.example/audit AAAA"),
        format!("{KAT_NOTE}{}", format!("{line}\n").repeat(100)),
    ];
    for note in cases {
        assert!(
            matches!(verifier.verify(&note), Err(AuditError::MalformedNote(_))),
            "{note:?}"
        );
    }
    // A validly signed note whose text is not a checkpoint.
    let note = kat_signer()
        .sign_text(&NoteText::new("hello\n").unwrap())
        .unwrap();
    assert!(matches!(
        verifier.verify(note.as_str()),
        Err(AuditError::MalformedCheckpoint(_))
    ));
    assert_eq!(
        verifier.verify_text(note.as_str()).unwrap().as_str(),
        "hello\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Interop: the published vectors of Go's golang.org/x/mod/sumdb/note (note_test.go)

const GO_PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
    then you don't know what your problem is.\n";
const GO_PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const GO_ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

#[test]
fn go_reference_signer_key_reproduces_its_signature() {
    let signer = CheckpointSigner::from_signer_key(&SecretString::from(GO_PETER_SKEY)).unwrap();
    assert_eq!(signer.name().as_str(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f_20a3);
    assert_eq!(signer.verifier_key(), GO_PETER_VKEY);
    let note = signer.sign_text(&NoteText::new(GO_TEXT).unwrap()).unwrap();
    assert_eq!(note.as_str(), format!("{GO_TEXT}\n{GO_PETER_SIG}"));
}

#[test]
fn go_reference_notes_verify() {
    let peter = CheckpointVerifier::new(GO_PETER_VKEY).unwrap();
    let enoch = CheckpointVerifier::new(GO_ENOCH_VKEY).unwrap();
    assert_eq!(enoch.key_id(), 0xaf0c_fe78);
    let single = format!("{GO_TEXT}\n{GO_PETER_SIG}");
    assert_eq!(peter.verify_text(&single).unwrap().as_str(), GO_TEXT);
    assert!(matches!(
        enoch.verify_text(&single),
        Err(AuditError::NoSignature { .. })
    ));
    let double = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
    assert_eq!(peter.verify_text(&double).unwrap().as_str(), GO_TEXT);
    assert_eq!(enoch.verify_text(&double).unwrap().as_str(), GO_TEXT);
    // Go's "invalid signature" case: four characters spliced into the signature.
    let spliced = format!(
        "{GO_TEXT}\n{}ABCD{}",
        &GO_PETER_SIG[..60],
        &GO_PETER_SIG[60..]
    );
    assert!(matches!(
        peter.verify_text(&spliced),
        Err(AuditError::InvalidSignature { .. })
    ));
    // Go's malformed messages.
    for bad in [
        GO_TEXT.to_owned(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{}", &GO_PETER_SIG[..GO_PETER_SIG.len() - 1]),
        format!("\u{1}{GO_TEXT}\n{GO_PETER_SIG}"),
        format!(
            "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{GO_PETER_SIG}Unexpected line.\n"),
        format!("{GO_TEXT}\n{}", GO_PETER_SIG.repeat(101)),
    ] {
        assert!(
            matches!(peter.verify_text(&bad), Err(AuditError::MalformedNote(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn mangled_key_strings_are_refused() {
    // As Go's TestNewVerifier and TestNewSigner: every proper substring, and every string with
    // one byte incremented, is refused.
    let mangled = |key: &str| {
        let bytes = key.as_bytes();
        let mut out = Vec::new();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if i != 0 || j != bytes.len() {
                    out.push(bytes[i..j].to_vec());
                }
            }
        }
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] += 1;
            out.push(b);
        }
        out.into_iter().filter_map(|b| String::from_utf8(b).ok())
    };
    for key in mangled(GO_PETER_VKEY) {
        assert!(CheckpointVerifier::new(&key).is_err(), "{key}");
    }
    for key in mangled(GO_PETER_SKEY) {
        assert!(
            CheckpointSigner::from_signer_key(&SecretString::from(key.as_str())).is_err(),
            "{key}"
        );
    }
    // Go's wrong-length key with adjusted key hash, and unknown algorithm with adjusted hash.
    assert!(
        CheckpointVerifier::new(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert_eq!(
        CheckpointVerifier::new(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        .unwrap_err(),
        AuditError::UnsupportedAlgorithm(0x65)
    );
}

// ---------------------------------------------------------------------------------------------
// Signing key handling

#[test]
fn signer_debug_shows_no_seed() {
    let signer = kat_signer();
    let shown = format!("{signer:?}");
    assert_eq!(
        shown,
        r#"CheckpointSigner { name: KeyName("datavern.example/audit"), key_id: 3222d98b, .. }"#
    );
    assert_no_key(&shown, KAT_SEED_HEX);
    assert!(!shown.contains("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"));
    // The errors of a malformed signer key do not repeat it either.
    let broken = KAT_SKEY.replacen("+3222d98b+", "+3222d98c+", 1);
    let err = CheckpointSigner::from_signer_key(&SecretString::from(broken.as_str()))
        .unwrap_err()
        .to_string();
    assert!(
        !err.contains("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"),
        "{err}"
    );
}

#[tokio::test]
async fn key_file_round_trips_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    let signer = CheckpointSigner::create(&path, KeyName::new(ORIGIN).unwrap())
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("# {}\n", signer.verifier_key())),
        "{text}"
    );
    let key_line = text
        .lines()
        .find(|l| l.starts_with("PRIVATE+KEY+"))
        .unwrap();
    let loaded = CheckpointSigner::open(&path).await.unwrap();
    assert_eq!(loaded.verifier_key(), signer.verifier_key());
    let note = loaded.sign(&kat_checkpoint()).unwrap();
    assert_eq!(
        signer.verifier().verify(note.as_str()).unwrap(),
        kat_checkpoint()
    );
    // The file's key line is a Go-compatible signer key.
    let from_line = CheckpointSigner::from_signer_key(&SecretString::from(key_line)).unwrap();
    assert_eq!(from_line.verifier_key(), signer.verifier_key());

    assert!(matches!(
        CheckpointSigner::create(&path, KeyName::new(ORIGIN).unwrap()).await,
        Err(Error::KeyFileExists { .. })
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    CheckpointSigner::create(&path, KeyName::new(ORIGIN).unwrap())
        .await
        .unwrap();
    for mode in [0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = CheckpointSigner::open(&path).await.unwrap_err();
        assert!(
            matches!(err, Error::KeyFilePermissions { mode: m, .. } if m == mode),
            "{err}"
        );
    }
}

#[tokio::test]
async fn malformed_key_file_names_the_line_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    let write = |text: &str| {
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    };
    write(&format!("# comment\n\n{KAT_SKEY}\n"));
    let signer = CheckpointSigner::open(&path).await.unwrap();
    assert_eq!(signer.verifier_key(), KAT_VKEY);

    let wrong_id = KAT_SKEY.replacen("+3222d98b+", "+3222d98c+", 1);
    for (text, line, reason) in [
        (
            format!("# comment\n{wrong_id}\n"),
            "line 2",
            "key id does not match",
        ),
        (
            format!("{KAT_SKEY}\n{KAT_SKEY}\n"),
            "line 2",
            "more than one key line",
        ),
        (
            format!("{KAT_VKEY}\n"),
            "line 1",
            "must start with PRIVATE+KEY+",
        ),
        ("# only a comment\n".to_owned(), "", "no key line"),
    ] {
        write(&text);
        let err = CheckpointSigner::open(&path).await.unwrap_err().to_string();
        assert!(err.contains(line) && err.contains(reason), "{err}");
        assert!(
            !err.contains("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"),
            "{err}"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
