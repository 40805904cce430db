//! A lenient reader over a parsed YAML tree that records every structural problem (wrong
//! type, unknown key) with its path and carries on, so one run reports them all.
//!
//! serde's derive stops at the first error; a compliance catalog with three typos should show
//! three problems. The reader only checks YAML shapes; what the strings mean is checked by
//! validation, which also reports missing keys (whether a key is required can depend on the
//! rest of the catalog).

use serde_norway::Value;

use super::error::ErrorCode;
use super::path::Path;
use super::suggest::did_you_mean;

/// A problem found before the catalog is assembled, placed by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) path: Path,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, path: &Path, code: ErrorCode, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.clone(),
            code,
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A value as read: absent, present but already reported as malformed, or present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Slot<T> {
    #[default]
    Absent,
    Invalid,
    Present(T),
}

impl<T> Slot<T> {
    pub(crate) fn get(&self) -> Option<&T> {
        match self {
            Slot::Present(value) => Some(value),
            Slot::Absent | Slot::Invalid => None,
        }
    }

    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, Slot::Absent)
    }
}

/// A scalar list item with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item<T> {
    pub(crate) path: Path,
    pub(crate) value: T,
}

/// A mapping whose keys have been checked against the allowed ones.
pub(crate) struct Obj<'v> {
    entries: Vec<(&'v str, &'v Value)>,
    pub(crate) path: Path,
}

/// How a YAML value is described in messages.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Reads `value` as a mapping of `what` with the given keys, reporting any other key.
/// `null` reads as an empty mapping, so its required keys are reported as missing.
pub(crate) fn object<'v>(
    problems: &mut Problems,
    value: &'v Value,
    path: &Path,
    what: &str,
    keys: &[&str],
) -> Option<Obj<'v>> {
    let mapping = match value {
        Value::Mapping(mapping) => mapping,
        Value::Null => {
            return Some(Obj {
                entries: Vec::new(),
                path: path.clone(),
            });
        }
        other => {
            problems.push(
                path,
                ErrorCode::WrongType,
                format!("expected {what} (a mapping), found {}", describe(other)),
            );
            return None;
        }
    };
    let mut entries = Vec::with_capacity(mapping.len());
    for (key, value) in mapping {
        let Some(key) = key.as_str() else {
            problems.push(
                path,
                ErrorCode::WrongType,
                format!(
                    "keys must be strings, found {} as a key in {what}",
                    describe(key)
                ),
            );
            continue;
        };
        if keys.contains(&key) {
            entries.push((key, value));
        } else {
            let hint = match did_you_mean(key, keys.iter().copied()) {
                hint if !hint.is_empty() => hint,
                _ => format!("; {what} has the keys {}", keys.join(", ")),
            };
            problems.push(
                &path.key(key),
                ErrorCode::UnknownKey,
                format!("unknown key \"{key}\" in {what}{hint}"),
            );
        }
    }
    Some(Obj {
        entries,
        path: path.clone(),
    })
}

impl<'v> Obj<'v> {
    /// The value under `key`, unless absent or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'v Value> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_null())
    }

    /// The path of the value under `key`.
    pub(crate) fn at(&self, key: &str) -> Path {
        self.path.key(key)
    }

    /// A string (numbers are taken as their text, so `version: 1` and `kommunenummer: 4601`
    /// read as strings).
    pub(crate) fn string(&self, problems: &mut Problems, key: &str) -> Slot<String> {
        match self.get(key) {
            None => Slot::Absent,
            Some(value) => match scalar_text(value) {
                Some(text) => Slot::Present(text),
                None => {
                    problems.push(
                        &self.at(key),
                        ErrorCode::WrongType,
                        format!("expected a string, found {}", describe(value)),
                    );
                    Slot::Invalid
                }
            },
        }
    }

    /// `true` or `false`.
    pub(crate) fn boolean(&self, problems: &mut Problems, key: &str) -> Slot<bool> {
        match self.get(key) {
            None => Slot::Absent,
            Some(Value::Bool(b)) => Slot::Present(*b),
            Some(value) => {
                problems.push(
                    &self.at(key),
                    ErrorCode::WrongType,
                    format!("expected true or false, found {}", describe(value)),
                );
                Slot::Invalid
            }
        }
    }

    /// A list whose items are read by `item`; items it cannot read are left out (their
    /// problems are reported by `item`), and a list of nothing but such items is invalid.
    pub(crate) fn list<T>(
        &self,
        problems: &mut Problems,
        key: &str,
        mut item: impl FnMut(&mut Problems, &'v Value, Path) -> Option<T>,
    ) -> Slot<Vec<T>> {
        match self.get(key) {
            None => Slot::Absent,
            Some(Value::Sequence(items)) => {
                let read: Vec<T> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, value)| item(problems, value, self.at(key).index(i)))
                    .collect();
                // A list whose every item was malformed is not "empty": its problems are
                // reported already.
                if read.is_empty() && !items.is_empty() {
                    Slot::Invalid
                } else {
                    Slot::Present(read)
                }
            }
            Some(value) => {
                problems.push(
                    &self.at(key),
                    ErrorCode::WrongType,
                    format!("expected a list, found {}", describe(value)),
                );
                Slot::Invalid
            }
        }
    }

    /// A list of strings.
    pub(crate) fn strings(&self, problems: &mut Problems, key: &str) -> Slot<Vec<Item<String>>> {
        self.list(problems, key, |problems, value, path| {
            match scalar_text(value) {
                Some(text) => Some(Item { path, value: text }),
                None => {
                    problems.push(
                        &path,
                        ErrorCode::WrongType,
                        format!("expected a string, found {}", describe(value)),
                    );
                    None
                }
            }
        })
    }

    /// A nested mapping read by `read`.
    pub(crate) fn nested<T>(
        &self,
        problems: &mut Problems,
        key: &str,
        read: impl FnOnce(&mut Problems, &'v Value, Path) -> Option<T>,
    ) -> Slot<T> {
        match self.get(key) {
            None => Slot::Absent,
            Some(value) => match read(problems, value, self.at(key)) {
                Some(v) => Slot::Present(v),
                None => Slot::Invalid,
            },
        }
    }
}

/// The text of a string or number scalar.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
