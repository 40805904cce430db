//! Paths into a catalog document, like `collections[2].fields[0].category`.

use std::fmt;

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Where a value sits in the document, from the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Path(Vec<Segment>);

impl Path {
    /// The document itself.
    pub(crate) fn root() -> Self {
        Path(Vec::new())
    }

    /// The value under `key` of this mapping.
    pub(crate) fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Path(segments)
    }

    /// The item at `index` of this sequence.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// The steps from the root.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_field_access() {
        let path = Path::root()
            .key("collections")
            .index(2)
            .key("fields")
            .index(0)
            .key("category");
        assert_eq!(path.to_string(), "collections[2].fields[0].category");
        assert_eq!(Path::root().to_string(), "");
    }
}
