//! The local key file's text format.
//!
//! ```text
//! # datavern local key-encryption key file ...comments...
//! format = datavern-local-kek/1
//! id = local:8f3a51c09d2e4b17
//! current = 2
//! key.1 = <64 hex digits>
//! key.2 = <64 hex digits>
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; every other line is `name = value`.
//! Parse errors name the line and what is wrong, never the line's content.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::Path;

use zeroize::Zeroizing;

use crate::encoding::{hex_decode_into, push_hex};
use crate::error::{Error, Result};
use crate::ids::{KekId, KekVersion};
use crate::secret::{KEY_LEN, KeyBytes};

/// Value of the `format` line.
pub(crate) const FORMAT: &str = "datavern-local-kek/1";

/// The parsed contents of a key file.
pub(crate) struct KeyFileContents {
    pub(crate) id: KekId,
    pub(crate) current: KekVersion,
    pub(crate) keys: BTreeMap<KekVersion, KeyBytes>,
}

/// Parses `bytes`, the whole key file at `path` (used only in error messages).
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<KeyFileContents> {
    let err = |line: Option<usize>, reason: &'static str| Error::MalformedKeyFile {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| err(None, "file is not valid utf-8"))?;

    let mut format_seen = false;
    let mut id = None;
    let mut current = None;
    let mut keys = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = Some(index + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(err(line_no, "expected `name = value`"));
        };
        let (name, value) = (name.trim(), value.trim());
        match name {
            "format" => {
                if format_seen {
                    return Err(err(line_no, "duplicate `format`"));
                }
                if value != FORMAT {
                    return Err(err(
                        line_no,
                        "unsupported format; expected datavern-local-kek/1",
                    ));
                }
                format_seen = true;
            }
            "id" => {
                if id.is_some() {
                    return Err(err(line_no, "duplicate `id`"));
                }
                id = Some(KekId::new(value).map_err(|_| err(line_no, "invalid kek id"))?);
            }
            "current" => {
                if current.is_some() {
                    return Err(err(line_no, "duplicate `current`"));
                }
                current =
                    Some(parse_version(value).ok_or_else(|| {
                        err(line_no, "`current` must be a version number from 1")
                    })?);
            }
            _ => {
                let Some(version) = name.strip_prefix("key.") else {
                    return Err(err(line_no, "unknown setting"));
                };
                let version = parse_version(version).ok_or_else(|| {
                    err(
                        line_no,
                        "key name must be `key.N` with N a version number from 1",
                    )
                })?;
                let key = KeyBytes::try_fill(|out| hex_decode_into(value, out))
                    .map_err(|()| err(line_no, "key must be 64 hex digits"))?;
                match keys.entry(version) {
                    Entry::Occupied(_) => return Err(err(line_no, "duplicate key version")),
                    Entry::Vacant(slot) => {
                        slot.insert(key);
                    }
                }
            }
        }
    }

    if !format_seen {
        return Err(err(
            None,
            "missing `format` line; is this a datavern key file?",
        ));
    }
    let id = id.ok_or_else(|| err(None, "missing `id`"))?;
    let current = current.ok_or_else(|| err(None, "missing `current`"))?;
    if keys.is_empty() {
        return Err(err(None, "no `key.N` lines"));
    }
    if !keys.contains_key(&current) {
        return Err(err(None, "`current` names a version with no key"));
    }
    Ok(KeyFileContents { id, current, keys })
}

fn parse_version(s: &str) -> Option<KekVersion> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().and_then(|n| KekVersion::new(n).ok())
}

/// Renders a key file. The text holds key material, so it is zeroized on drop, and capacity
/// is reserved up front so no reallocation leaves a copy behind.
pub(crate) fn render<'a>(
    id: &KekId,
    current: KekVersion,
    keys: impl ExactSizeIterator<Item = (KekVersion, &'a KeyBytes)>,
) -> Zeroizing<String> {
    const HEADER: &str = "# datavern local key-encryption key file.\n\
        # Keep it secret and readable by the owner only (mode 0600); back it up apart from\n\
        # the data. Losing it makes every key it wrapped, and so all encrypted data, unreadable.\n\
        # Old versions are kept so keys wrapped by them still unwrap.\n";
    // "key.4294967295 = " (17) + 64 hex + newline, rounded up.
    let capacity = HEADER.len() + 64 + 160 + keys.len() * (24 + KEY_LEN * 2);
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(HEADER);
    out.push_str("format = ");
    out.push_str(FORMAT);
    out.push_str("\nid = ");
    out.push_str(id.as_str());
    out.push_str("\ncurrent = ");
    out.push_str(&current.to_string());
    out.push('\n');
    for (version, key) in keys {
        out.push_str("key.");
        out.push_str(&version.to_string());
        out.push_str(" = ");
        push_hex(&mut out, key.expose());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_one() -> (Zeroizing<String>, KeyBytes) {
        let key = KeyBytes::random().unwrap();
        let text = render(
            &KekId::new("local:test").unwrap(),
            KekVersion::FIRST,
            [(KekVersion::FIRST, &key)].into_iter(),
        );
        (text, key)
    }

    #[test]
    fn render_then_parse_round_trips() {
        let (text, key) = render_one();
        let parsed = parse(Path::new("k"), text.as_bytes()).unwrap();
        assert_eq!(parsed.id.as_str(), "local:test");
        assert_eq!(parsed.current, KekVersion::FIRST);
        assert_eq!(parsed.keys[&KekVersion::FIRST].expose(), key.expose());
    }

    #[test]
    fn render_never_reallocates() {
        let (text, _) = render_one();
        assert!(text.len() <= text.capacity());
        let reserved = text.capacity();
        assert!(text.len() < reserved, "capacity estimate is too tight");
    }

    #[test]
    fn errors_name_the_line() {
        let (text, _) = render_one();
        let broken = text.replace("current = 1", "current = one");
        let err = parse(Path::new("k"), broken.as_bytes())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("line 7"), "{err}");
    }
}
