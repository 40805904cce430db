//! Finding the line and column of a path in the YAML source.
//!
//! `serde_norway::Value` keeps no positions, but the deserializer stamps every error raised
//! inside a `Deserialize` impl with the position of the node being read. So to place a
//! problem, the source is read once more by a seed that walks down the path, skipping
//! everything else, and fails on purpose at the target: the error's location is the node's.
//! A key that is not in the source (a missing key, or one brought in by a merge) yields the
//! position of the nearest enclosing node. Catalogs are small and problems few, so the
//! extra reads cost little.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::path::{Path, Segment};

/// The 1-based (line, column) of the node at `path`, or of its nearest enclosing node.
pub(crate) fn locate(source: &str, path: &Path) -> Option<(usize, usize)> {
    let deserializer = serde_norway::Deserializer::from_str(source);
    let error = match (Seek {
        path: path.segments(),
    })
    .deserialize(deserializer)
    {
        Ok(()) => return None,
        Err(error) => error,
    };
    error.location().map(|l| (l.line(), l.column()))
}

/// Walks to `path`, then fails.
struct Seek<'p> {
    path: &'p [Segment],
}

const HERE: &str = "located";

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(wanted), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        while let Some(key) = map.next_key::<serde_norway::Value>()? {
            if key.as_str() == Some(wanted.as_str()) {
                return map.next_value_seed(Seek { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom(HERE))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(wanted), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        let mut index = 0;
        while index < *wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom(HERE));
            }
            index += 1;
        }
        match seq.next_element_seed(Seek { path: rest })? {
            Some(()) | None => Err(de::Error::custom(HERE)),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
version: 1
collections:
  - name: a
    fields:
      - name: x
        category: user.helth
  - name: b
";

    #[test]
    fn finds_values_and_falls_back_to_the_enclosing_node() {
        let fields = Path::root()
            .key("collections")
            .index(0)
            .key("fields")
            .index(0);
        assert_eq!(locate(DOC, &fields.key("category")), Some((6, 19)));
        assert_eq!(locate(DOC, &fields), Some((5, 9)));
        // A missing key points at the mapping that should hold it.
        assert_eq!(locate(DOC, &fields.key("type")), Some((5, 9)));
        assert_eq!(
            locate(DOC, &Path::root().key("collections").index(1).key("name")),
            Some((7, 11))
        );
        assert_eq!(locate(DOC, &Path::root().key("version")), Some((1, 10)));
    }
}
