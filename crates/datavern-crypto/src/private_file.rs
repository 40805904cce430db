//! Files that hold key material: created exclusively with mode 0600, refused when group or
//! others can access them, read into zeroizing memory. Shared by the local KEK file and the
//! audit checkpoint signing key.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::KeyFileIo {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` exclusively, readable and writable by the owner only.
pub(crate) async fn create_private(path: &Path) -> Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await.map_err(|err| {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyFileExists {
                path: path.to_path_buf(),
            }
        } else {
            io_err(path, err)
        }
    })
}

pub(crate) async fn write_and_sync(file: &mut tokio::fs::File, text: &str) -> std::io::Result<()> {
    file.write_all(text.as_bytes()).await?;
    file.flush().await?;
    file.sync_all().await
}

/// Creates `path` exclusively with mode 0600 and writes `text` to it durably. A half-written
/// file is removed (best effort) so it is never mistaken for a good one.
pub(crate) async fn write_new_private(path: &Path, text: &str) -> Result<()> {
    let mut file = create_private(path).await?;
    if let Err(err) = write_and_sync(&mut file, text).await {
        let _ = tokio::fs::remove_file(path).await;
        return Err(io_err(path, err));
    }
    sync_parent_dir(path).await;
    Ok(())
}

/// Makes a rename or a new file durable. Best effort: not every platform can open a directory.
pub(crate) async fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = tokio::fs::File::open(dir).await {
            let _ = dir.sync_all().await;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads the whole file at `path` into zeroizing memory, refusing anything but a regular file
/// that only its owner can access and that is at most `max_len` bytes (`too_large` is the
/// reason given otherwise).
pub(crate) async fn read_private(
    path: &Path,
    max_len: u64,
    too_large: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_err(path, e))?;
    // Check the opened file, not the path, so the file checked is the file read.
    let meta = file.metadata().await.map_err(|e| io_err(path, e))?;
    if !meta.is_file() {
        return Err(Error::MalformedKeyFile {
            path: path.to_path_buf(),
            line: None,
            reason: "not a regular file",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyFilePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if meta.len() > max_len {
        return Err(Error::MalformedKeyFile {
            path: path.to_path_buf(),
            line: None,
            reason: too_large,
        });
    }
    // Sized up front (plus one byte to observe end of file) so reading does not reallocate
    // and leave copies of key material in freed memory.
    let capacity = usize::try_from(meta.len()).unwrap_or(0) + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    (&mut file)
        .take(max_len + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| io_err(path, e))?;
    // The file may have grown between the metadata check and the read.
    if bytes.len() as u64 > max_len {
        return Err(Error::MalformedKeyFile {
            path: path.to_path_buf(),
            line: None,
            reason: too_large,
        });
    }
    Ok(bytes)
}
