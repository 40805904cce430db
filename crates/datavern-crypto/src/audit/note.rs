//! The C2SP signed-note format (<https://c2sp.org/signed-note>): key names, note text, and the
//! parsing and rendering of signature lines. Signing and verifying are in `signer.rs`.
//!
//! ```text
//! <text, ending in a newline>
//! <blank line>
//! — <key name> base64(key id (4 bytes, big-endian) ‖ signature)
//! ```

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{Context, SHA256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::AuditError;

/// Start of a signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Most signature lines a note may carry; the spec asks verifiers to accept at least 16, and
/// Go's reference implementation stops at 100.
pub(crate) const MAX_SIGNATURES: usize = 100;

/// The name of a signing key, which identifies it together with its key id; by convention a
/// schema-less URL such as `datavern.oslo.kommune.no/audit`.
///
/// Non-empty, without Unicode white space, plus signs (`+`) or control characters, as the
/// signed-note format requires. The same rules apply to a checkpoint's origin.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Checks `name` against the signed-note rules.
    pub fn new(name: impl Into<String>) -> Result<Self, AuditError> {
        let name = name.into();
        check_name(&name)?;
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyName({:?})", self.0)
    }
}

impl FromStr for KeyName {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, AuditError> {
        Self::new(s)
    }
}

/// Checks a key name or checkpoint origin: non-empty, no Unicode white space, no `+`, no
/// control characters.
pub(crate) fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty() {
        return Err(AuditError::InvalidName("empty"));
    }
    if name.contains('+') {
        return Err(AuditError::InvalidName("contains `+`"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(AuditError::InvalidName("contains white space"));
    }
    if name.chars().any(char::is_control) {
        return Err(AuditError::InvalidName("contains a control character"));
    }
    Ok(())
}

/// Text that can be signed as a note: non-empty, ending in a newline, and without control
/// characters other than newline.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteText(String);

impl NoteText {
    /// Checks `text` against the signed-note rules.
    pub fn new(text: impl Into<String>) -> Result<Self, AuditError> {
        let text = text.into();
        if !text.ends_with('\n') {
            return Err(AuditError::InvalidNoteText("must end with a newline"));
        }
        if has_forbidden_control(&text) {
            return Err(AuditError::InvalidNoteText(
                "contains a control character other than newline",
            ));
        }
        Ok(Self(text))
    }

    /// Text already known to follow the rules (a rendered checkpoint).
    pub(crate) fn from_checked(text: String) -> Self {
        debug_assert!(Self::new(text.clone()).is_ok());
        Self(text)
    }

    /// The text, including its final newline.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for NoteText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteText({:?})", self.0)
    }
}

/// A signed note as text: the note text, a blank line and signature lines. Write it out as is
/// (`Display` or [`as_str`](Self::as_str)); any change, even of white space, breaks the
/// signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedNote(String);

impl SignedNote {
    pub(crate) fn new(text: &NoteText, name: &KeyName, key_id: u32, signature: &[u8]) -> Self {
        let mut raw = Vec::with_capacity(4 + signature.len());
        raw.extend_from_slice(&key_id.to_be_bytes());
        raw.extend_from_slice(signature);
        let encoded = STANDARD.encode(&raw);
        let mut note = String::with_capacity(
            text.0.len() + 1 + SIGNATURE_PREFIX.len() + name.0.len() + 1 + encoded.len() + 1,
        );
        note.push_str(&text.0);
        note.push('\n');
        note.push_str(SIGNATURE_PREFIX);
        note.push_str(&name.0);
        note.push(' ');
        note.push_str(&encoded);
        note.push('\n');
        Self(note)
    }

    /// The signed note.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The signed note as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedNote({:?})", self.0)
    }
}

/// The recommended key id: the first four bytes, big-endian, of
/// SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key).
pub(crate) fn key_id(name: &str, algorithm: u8, public_key: &[u8]) -> u32 {
    let mut ctx = Context::new(&SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[algorithm]);
    ctx.update(public_key);
    let digest = ctx.finish();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.as_ref()[..4]);
    u32::from_be_bytes(id)
}

/// One signature line of a note, parsed but not verified.
pub(crate) struct SignatureLine<'a> {
    pub(crate) name: &'a str,
    pub(crate) key_id: u32,
    /// The signature proper, without the key id.
    pub(crate) signature: Vec<u8>,
}

/// Splits a signed note into its text (with the final newline) and its signature lines,
/// checking the format but no signature.
pub(crate) fn parse(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), AuditError> {
    if has_forbidden_control(note) {
        return Err(AuditError::MalformedNote(
            "contains a control character other than newline",
        ));
    }
    // The text may contain blank lines itself: the last one separates the signatures.
    let split = note.rfind("\n\n").ok_or(AuditError::MalformedNote(
        "no blank line before the signatures",
    ))?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(AuditError::MalformedNote(
            "no signature lines, or no newline after the last one",
        ));
    };
    if signatures.is_empty() {
        return Err(AuditError::MalformedNote("no signature lines"));
    }
    let mut lines = Vec::new();
    for line in signatures.split('\n') {
        if lines.len() == MAX_SIGNATURES {
            return Err(AuditError::MalformedNote("more than 100 signatures"));
        }
        lines.push(parse_signature_line(line)?);
    }
    Ok((text, lines))
}

fn parse_signature_line(line: &str) -> Result<SignatureLine<'_>, AuditError> {
    let line = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(AuditError::MalformedNote(
            "a line after the blank line is not a signature line (`— <name> <signature>`)",
        ))?;
    let (name, encoded) = line.split_once(' ').ok_or(AuditError::MalformedNote(
        "signature line has no space between name and signature",
    ))?;
    check_name(name).map_err(|_| AuditError::MalformedNote("invalid key name in a signature"))?;
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| AuditError::MalformedNote("signature is not valid base64"))?;
    if raw.len() < 5 {
        return Err(AuditError::MalformedNote("signature is too short"));
    }
    let (id, signature) = raw.split_at(4);
    let mut id_bytes = [0u8; 4];
    id_bytes.copy_from_slice(id);
    Ok(SignatureLine {
        name,
        key_id: u32::from_be_bytes(id_bytes),
        signature: signature.to_vec(),
    })
}

/// Whether `text` has an ASCII control character other than newline. Checking bytes is exact:
/// every byte of a multi-byte UTF-8 sequence is 0x80 or above.
fn has_forbidden_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        assert!(KeyName::new("datavern.example/audit").is_ok());
        assert!(KeyName::new("Ørsta-kommune").is_ok());
        for bad in [
            "",
            "a+b",
            "a b",
            "a\tb",
            "a\u{a0}b",
            "a\u{2003}b",
            "a\u{1}b",
        ] {
            assert!(KeyName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn note_text_must_end_in_newline_without_control_characters() {
        assert!(NoteText::new("a\n\nb\n").is_ok());
        assert!(NoteText::new("").is_err());
        assert!(NoteText::new("a").is_err());
        assert!(NoteText::new("a\r\n").is_err());
        assert!(NoteText::new("a\u{7}\n").is_err());
    }

    #[test]
    fn text_is_split_at_the_last_blank_line() {
        let note = "a\n\nb\n\n\u{2014} k AAAAAAE=\n";
        let (text, lines) = parse(note).unwrap();
        assert_eq!(text, "a\n\nb\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "k");
        assert_eq!(lines[0].key_id, 0);
        assert_eq!(lines[0].signature, [1]);
    }
}
