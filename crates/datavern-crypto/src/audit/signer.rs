//! Ed25519 signing and verification of checkpoints as C2SP signed notes, and the key strings
//! of Go's `golang.org/x/mod/sumdb/note`:
//!
//! ```text
//! verifier key:  <name>+<key id, 8 hex digits>+base64(0x01 ‖ 32-byte public key)
//! signer key:    PRIVATE+KEY+<name>+<key id, 8 hex digits>+base64(0x01 ‖ 32-byte seed)
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::checkpoint::Checkpoint;
use super::error::AuditError;
use super::note::{self, KeyName, NoteText, SignedNote};
use crate::error::{Error, Result};
use crate::private_file::{read_private, write_new_private};
use crate::secret::{KEY_LEN, KeyBytes};

/// Signature type byte of Ed25519 in the signed-note format.
const ALG_ED25519: u8 = 0x01;
/// Prefix of a signer key string.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Length of an encoded key: the algorithm byte and 32 key bytes.
const ENCODED_KEY_LEN: usize = 1 + KEY_LEN;
/// Base64 length of an encoded key (33 bytes, so no padding).
const ENCODED_KEY_B64_LEN: usize = ENCODED_KEY_LEN / 3 * 4;
/// Largest signing key file accepted: one key line and some comments.
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

/// Signs audit checkpoints with an Ed25519 key, producing C2SP signed notes.
///
/// The key is identified by a [`KeyName`] and a key id derived from the name and public key.
/// Its seed lives only inside aws-lc (cleansed when freed) and, while loading or creating, in
/// zeroizing memory; there is no accessor for it, no `Display`, and `Debug` shows the name
/// and key id only.
///
/// On disk the key is one line, the signer key string that Go's `note.GenerateKey` produces,
/// in a file only its owner may read (mode 0600), like [`LocalKeyFile`](crate::LocalKeyFile).
pub struct CheckpointSigner {
    pair: Ed25519KeyPair,
    verifier: CheckpointVerifier,
}

impl CheckpointSigner {
    /// A signer with a fresh random key.
    pub fn generate(name: KeyName) -> Result<Self> {
        let seed = KeyBytes::random()?;
        Self::from_seed(name, &seed).map_err(|_| Error::Crypto)
    }

    /// A signer from a signer key string, `PRIVATE+KEY+<name>+<key id>+<base64 key>`, as made
    /// by Go's `note.GenerateKey` or found in a key file. Checks that the key id matches.
    pub fn from_signer_key(signer_key: &SecretString) -> Result<Self, AuditError> {
        Self::parse_signer_key(signer_key.expose_secret())
    }

    /// Creates a signing key file at `path` with a fresh random key named `name`, mode 0600.
    /// Refuses to overwrite an existing file.
    pub async fn create(path: impl AsRef<Path>, name: KeyName) -> Result<Self> {
        let path = path.as_ref();
        let seed = KeyBytes::random()?;
        let signer = Self::from_seed(name, &seed).map_err(|_| Error::Crypto)?;
        write_new_private(path, &signer.render_key_file(&seed)).await?;
        Ok(signer)
    }

    /// Loads the signing key file at `path`, refusing it when group or others can access it,
    /// when it is malformed, or when its key id does not match its key.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_private(path, MAX_KEY_FILE_LEN, "file is larger than 64 KiB").await?;
        parse_key_file(path, &bytes)
    }

    /// The key's name, which appears in every signature line.
    pub fn name(&self) -> &KeyName {
        &self.verifier.name
    }

    /// The key id: the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
    pub fn key_id(&self) -> u32 {
        self.verifier.key_id
    }

    /// The public verifier key string, `<name>+<key id>+<base64(0x01 ‖ public key)>`, to give
    /// to whoever verifies checkpoints.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_string()
    }

    /// The verifier for this signer's checkpoints.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.verifier.clone()
    }

    /// Signs a checkpoint.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<SignedNote, AuditError> {
        self.sign_text(&checkpoint.to_note_text())
    }

    /// Signs any note text. Ed25519 is deterministic: the same key and text give the same
    /// note.
    pub fn sign_text(&self, text: &NoteText) -> Result<SignedNote, AuditError> {
        let signature = self
            .pair
            .try_sign(text.as_str().as_bytes())
            .map_err(|_| AuditError::Signing)?;
        Ok(SignedNote::new(
            text,
            self.name(),
            self.key_id(),
            signature.as_ref(),
        ))
    }

    fn from_seed(name: KeyName, seed: &KeyBytes) -> Result<Self, AuditError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.expose())
            .map_err(|_| AuditError::MalformedSignerKey("not a valid ed25519 seed"))?;
        let public_key: [u8; KEY_LEN] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| AuditError::MalformedSignerKey("not a valid ed25519 seed"))?;
        let key_id = note::key_id(name.as_str(), ALG_ED25519, &public_key);
        let verifier = CheckpointVerifier::from_parts(name, key_id, public_key)
            .map_err(|_| AuditError::MalformedSignerKey("not a valid ed25519 seed"))?;
        Ok(Self { pair, verifier })
    }

    fn parse_signer_key(text: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedSignerKey;
        let rest = text
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(malformed("must start with PRIVATE+KEY+"))?;
        let (name, key_id, encoded) = split_key_string(rest).ok_or(malformed(
            "expected PRIVATE+KEY+<name>+<key id>+<base64 key>",
        ))?;
        let name = KeyName::new(name)?;
        let key_id = parse_key_id(key_id).ok_or(malformed("key id must be 8 hex digits"))?;
        // Decoded in place into zeroizing memory: this is the private key.
        let mut raw = Zeroizing::new([0u8; ENCODED_KEY_LEN]);
        let len = STANDARD
            .decode_slice(encoded, raw.as_mut_slice())
            .map_err(|_| malformed("key is not base64 of 33 bytes"))?;
        if len == 0 {
            return Err(malformed("key is empty"));
        }
        if raw[0] != ALG_ED25519 {
            return Err(AuditError::UnsupportedAlgorithm(raw[0]));
        }
        if len != ENCODED_KEY_LEN {
            return Err(malformed("key is not base64 of 33 bytes"));
        }
        let seed = KeyBytes::from_slice(&raw[1..]).ok_or(malformed("key is not 32 bytes"))?;
        let signer = Self::from_seed(name, &seed)?;
        // The id is the hash of the public key, so it is checked after deriving that.
        if signer.key_id() != key_id {
            return Err(AuditError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The key file's text; it holds the private key, so it is zeroized on drop and sized up
    /// front so no reallocation leaves a copy behind.
    fn render_key_file(&self, seed: &KeyBytes) -> Zeroizing<String> {
        const HEADER: &str = "# datavern audit checkpoint signing key (ed25519, c2sp signed-note \
            signer key).\n\
            # Keep it secret and readable by the owner only (mode 0600). Anyone holding it can \
            sign checkpoints.\n\
            # The public verifier key, to give to auditors:\n# ";
        let verifier_key = self.verifier_key();
        let mut raw = Zeroizing::new([0u8; ENCODED_KEY_LEN]);
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(seed.expose());
        let mut encoded = Zeroizing::new([0u8; ENCODED_KEY_B64_LEN]);
        let written = STANDARD
            .encode_slice(raw.as_slice(), encoded.as_mut_slice())
            .unwrap_or(0);
        let capacity = HEADER.len()
            + verifier_key.len()
            + 1
            + SIGNER_KEY_PREFIX.len()
            + self.name().as_str().len()
            + 1
            + 8
            + 1
            + ENCODED_KEY_B64_LEN
            + 1;
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str(HEADER);
        out.push_str(&verifier_key);
        out.push('\n');
        out.push_str(SIGNER_KEY_PREFIX);
        out.push_str(self.name().as_str());
        out.push('+');
        out.push_str(&format!("{:08x}", self.key_id()));
        out.push('+');
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(&encoded[..written]).unwrap_or_default());
        out.push('\n');
        out
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("name", self.name())
            .field("key_id", &format_args!("{:08x}", self.key_id()))
            .finish_non_exhaustive()
    }
}

/// Verifies signed checkpoints with an Ed25519 public key, from its verifier key string
/// `<name>+<key id>+<base64(0x01 ‖ public key)>`. Needs nothing else, so an exported log can
/// be checked offline.
///
/// Following the signed-note spec, signature lines by other keys (another name or key id:
/// witnesses' cosignatures, a rotated key) are ignored; every line by this key must verify,
/// and at least one must be present.
#[derive(Clone)]
pub struct CheckpointVerifier {
    name: KeyName,
    key_id: u32,
    public_key: [u8; KEY_LEN],
    // Parsed once: verification then costs only the signature check.
    parsed: ParsedPublicKey,
}

impl CheckpointVerifier {
    /// Parses a verifier key string and checks that its key id matches its name and key.
    pub fn new(verifier_key: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedVerifierKey;
        let (name, key_id, encoded) = split_key_string(verifier_key)
            .ok_or(malformed("expected <name>+<key id>+<base64 key>"))?;
        let name = KeyName::new(name)?;
        let key_id = parse_key_id(key_id).ok_or(malformed("key id must be 8 hex digits"))?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| malformed("key is not valid base64"))?;
        let Some((&algorithm, public_key)) = key.split_first() else {
            return Err(malformed("key is empty"));
        };
        if note::key_id(name.as_str(), algorithm, public_key) != key_id {
            return Err(AuditError::KeyIdMismatch);
        }
        if algorithm != ALG_ED25519 {
            return Err(AuditError::UnsupportedAlgorithm(algorithm));
        }
        let public_key = public_key
            .try_into()
            .map_err(|_| malformed("ed25519 public key must be 32 bytes"))?;
        Self::from_parts(name, key_id, public_key)
    }

    fn from_parts(
        name: KeyName,
        key_id: u32,
        public_key: [u8; KEY_LEN],
    ) -> Result<Self, AuditError> {
        let parsed = ParsedPublicKey::new(&ED25519, public_key)
            .map_err(|_| AuditError::MalformedVerifierKey("not a valid ed25519 public key"))?;
        Ok(Self {
            name,
            key_id,
            public_key,
            parsed,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Verifies a signed checkpoint and returns it. Fails if the note is malformed, carries no
    /// signature by this key, has a signature by this key that does not verify (any change to
    /// the text or signature), or its text is not a checkpoint.
    ///
    /// The checkpoint's origin is not checked; compare it with the log you expect, or use
    /// [`verify_for_origin`](Self::verify_for_origin).
    pub fn verify(&self, signed_note: &str) -> Result<Checkpoint, AuditError> {
        Checkpoint::parse(self.open(signed_note)?)
    }

    /// [`verify`](Self::verify), then checks that the checkpoint is for the log `origin`.
    pub fn verify_for_origin(
        &self,
        signed_note: &str,
        origin: &str,
    ) -> Result<Checkpoint, AuditError> {
        let checkpoint = self.verify(signed_note)?;
        if checkpoint.origin() != origin {
            return Err(AuditError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin().to_owned(),
            });
        }
        Ok(checkpoint)
    }

    /// Verifies any signed note by this key and returns its text.
    pub fn verify_text(&self, signed_note: &str) -> Result<NoteText, AuditError> {
        self.open(signed_note)
            .map(|text| NoteText::from_checked(text.to_owned()))
    }

    fn open<'a>(&self, signed_note: &'a str) -> Result<&'a str, AuditError> {
        let (text, lines) = note::parse(signed_note)?;
        let mut verified = false;
        for line in lines {
            if line.name != self.name.as_str() || line.key_id != self.key_id {
                continue;
            }
            if self
                .parsed
                .verify_sig(text.as_bytes(), &line.signature)
                .is_err()
            {
                return Err(AuditError::InvalidSignature {
                    name: self.name.to_string(),
                    key_id: self.key_id,
                });
            }
            verified = true;
        }
        if !verified {
            return Err(AuditError::NoSignature {
                name: self.name.to_string(),
                key_id: self.key_id,
            });
        }
        Ok(text)
    }
}

impl PartialEq for CheckpointVerifier {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.key_id == other.key_id
            && self.public_key == other.public_key
    }
}

impl Eq for CheckpointVerifier {}

impl fmt::Display for CheckpointVerifier {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = [0u8; ENCODED_KEY_LEN];
        key[0] = ALG_ED25519;
        key[1..].copy_from_slice(&self.public_key);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(key)
        )
    }
}

impl fmt::Debug for CheckpointVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointVerifier({self})")
    }
}

impl FromStr for CheckpointVerifier {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, AuditError> {
        Self::new(s)
    }
}

/// Splits `<name>+<key id>+<key>`; the key (base64) may itself contain `+`.
fn split_key_string(s: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = s.split_once('+')?;
    let (key_id, key) = rest.split_once('+')?;
    Some((name, key_id, key))
}

/// Eight hex digits, either case, as Go's parser accepts.
fn parse_key_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Parses a signing key file: `#` comments and blank lines, and exactly one signer key line.
/// Errors name the line, never its content.
fn parse_key_file(path: &Path, bytes: &[u8]) -> Result<CheckpointSigner> {
    let err = |line: Option<usize>, reason: &'static str| Error::MalformedKeyFile {
        path: PathBuf::from(path),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| err(None, "file is not valid utf-8"))?;
    let mut signer = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = Some(index + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if signer.is_some() {
            return Err(err(line_no, "more than one key line"));
        }
        let parsed = CheckpointSigner::parse_signer_key(line).map_err(|e| {
            err(
                line_no,
                match e {
                    AuditError::MalformedSignerKey(reason) => reason,
                    AuditError::InvalidName(_) => "invalid key name",
                    AuditError::UnsupportedAlgorithm(_) => {
                        "unsupported signature algorithm; only ed25519 is supported"
                    }
                    AuditError::KeyIdMismatch => {
                        "key id does not match the key name and public key"
                    }
                    _ => "not a signer key",
                },
            )
        })?;
        signer = Some(parsed);
    }
    signer.ok_or_else(|| {
        err(
            None,
            "no key line; is this a datavern audit signing key file?",
        )
    })
}
