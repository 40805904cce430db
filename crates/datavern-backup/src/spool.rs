//! The spool directory as rustic's source, file by file as each is complete: the archiver
//! chunks, compresses and encrypts one table while the database dumps the next, so a backup
//! takes about as long as the slower of the two, not their sum.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{ErrorKind, ReadSource, ReadSourceEntry, RusticError, RusticResult};

/// Permissions as restic records them (Go's `os.FileMode`): the directory bit, then the Unix
/// permission bits. The spool's files are the owner's only.
const GO_MODE_DIR: u32 = 1 << 31;
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

type Entry = RusticResult<ReadSourceEntry<File>>;

/// The sending half: the dump hands each finished file (or directory) over, in path order.
pub(crate) struct Spool {
    root: PathBuf,
    root_name: String,
    sender: Sender<Entry>,
}

/// The receiving half, which rustic archives.
pub(crate) struct SpoolSource {
    entries: Mutex<Option<Receiver<Entry>>>,
}

/// A spool rooted at `root`, archived as a directory named `root_name` (the last part of the
/// snapshot's path: rustic names the root node after the entry's own name), and the source
/// that reads it.
pub(crate) fn spool(root: &Path, root_name: &str) -> (Spool, SpoolSource) {
    let (sender, receiver) = channel();
    (
        Spool {
            root: root.to_path_buf(),
            root_name: root_name.to_owned(),
            sender,
        },
        SpoolSource {
            entries: Mutex::new(Some(receiver)),
        },
    )
}

impl Spool {
    /// Hands over the directory `relative` (empty for the root). Its files follow.
    pub(crate) fn dir(&self, relative: &str) {
        let path = self.root.join(relative);
        let name = if relative.is_empty() {
            std::ffi::OsString::from(&self.root_name)
        } else {
            path.file_name().map(ToOwned::to_owned).unwrap_or_default()
        };
        let node = Node::new_node(
            &name,
            NodeType::Dir,
            Metadata {
                mode: Some(GO_MODE_DIR | DIR_MODE),
                ..Metadata::default()
            },
        );
        self.send(Ok(ReadSourceEntry {
            path,
            node,
            open: None,
        }));
    }

    /// Hands over the complete file `relative`, with its size and time.
    pub(crate) fn file(&self, relative: &str) {
        let path = self.root.join(relative);
        let entry = (|| {
            let file = File::open(&path)?;
            let meta = file.metadata()?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| rustic_core::jiff::Timestamp::try_from(t).ok());
            let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
            let node = Node::new_node(
                &name,
                NodeType::File,
                Metadata {
                    mode: Some(FILE_MODE),
                    mtime,
                    atime: mtime,
                    ctime: mtime,
                    size: meta.len(),
                    ..Metadata::default()
                },
            );
            Ok::<_, std::io::Error>(ReadSourceEntry {
                path: path.clone(),
                node,
                open: Some(file),
            })
        })()
        .map_err(|err| {
            RusticError::with_source(ErrorKind::Backend, "cannot open a spooled file", err)
        });
        self.send(entry);
    }

    fn send(&self, entry: Entry) {
        // The archive may have stopped already (its own error is reported when it is
        // awaited); nothing more to hand over then.
        let _ = self.sender.send(entry);
    }
}

impl ReadSource for SpoolSource {
    type Open = File;
    type Iter = Entries;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }

    fn entries(&self) -> Entries {
        let receiver = self
            .entries
            .lock()
            .ok()
            .and_then(|mut entries| entries.take());
        Entries(receiver)
    }
}

/// The entries, as the dump hands them over; ends when the spool is dropped.
pub(crate) struct Entries(Option<Receiver<Entry>>);

impl Iterator for Entries {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        self.0.as_ref()?.recv().ok()
    }
}
