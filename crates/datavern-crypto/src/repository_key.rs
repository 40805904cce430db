//! The password of a backup repository: 256 random bits, kept only wrapped by the KEK.
//!
//! A restic repository is opened with a password. datavern generates it once, when the
//! repository is created, wraps it with the KEK provider exactly as it wraps a subject's
//! data key (bound to the tenant label [`REPOSITORY_KEY_TENANT`] and the repository's name,
//! so the wrap cannot be passed off as a subject's key or another repository's), and stores
//! only the wrap, in a file readable by its owner alone. Whoever holds the file but not the
//! KEK cannot open the repository; an operator with both can print the password for stock
//! `restic` (`datavern backup password`).

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::data_key::DataKey;
use crate::error::{Error, Result};
use crate::ids::KeyVersion;
use crate::kek::{KekProvider, UnwrapRequest, WrapRequest, WrappedKey};
use crate::private_file::{read_private, write_new_private};

/// The tenant label a repository password's wrap is bound to; never a kommunenummer.
pub const REPOSITORY_KEY_TENANT: &str = "backup-repository";

/// The first line of a wrapped-password file.
const HEADER: &str = "datavern backup repository password v1";

/// A repository's password, unwrapped. `Debug` prints nothing of it; [`expose`](Self::expose)
/// is the one way to the text, for opening the repository.
pub struct RepositoryPassword {
    key: DataKey,
    text: Zeroizing<String>,
}

impl RepositoryPassword {
    /// A fresh random password.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_key(DataKey::generate(KeyVersion::FIRST)?))
    }

    fn from_key(key: DataKey) -> Self {
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(key.bytes().expose()));
        RepositoryPassword { key, text }
    }

    /// The password's text (43 base64url characters).
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// Wraps the password with `kek` for the repository named `repository`.
    pub async fn wrap(&self, kek: &dyn KekProvider, repository: &str) -> Result<WrappedKey> {
        kek.wrap_one(WrapRequest::data_key(
            &self.key,
            REPOSITORY_KEY_TENANT,
            repository,
        ))
        .await
    }

    /// Unwraps the password of the repository named `repository` with `kek`; fails if the
    /// wrap belongs to another repository or another KEK.
    pub async fn unwrap(
        kek: &dyn KekProvider,
        wrapped: &WrappedKey,
        repository: &str,
    ) -> Result<Self> {
        let key = kek
            .unwrap_one(UnwrapRequest::data_key(
                wrapped,
                REPOSITORY_KEY_TENANT,
                repository,
            ))
            .await?
            .into_data_key()?;
        Ok(Self::from_key(key))
    }

    /// Writes a new file at `path` (mode 0600, never over an existing one) holding the wrap.
    pub async fn write_wrapped(path: &Path, wrapped: &WrappedKey) -> Result<()> {
        let text = format!("{HEADER}\n{}\n", URL_SAFE_NO_PAD.encode(wrapped.to_bytes()));
        write_new_private(path, &text).await
    }

    /// Reads the wrap from a file written by [`write_wrapped`](Self::write_wrapped).
    pub async fn read_wrapped(path: &Path) -> Result<WrappedKey> {
        let bytes = read_private(path, 4096, "a wrapped password file is under 4 KiB").await?;
        let malformed = |reason| Error::MalformedKeyFile {
            path: path.to_path_buf(),
            line: None,
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not UTF-8 text"))?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(malformed(
                "not a datavern wrapped repository password (first line)",
            ));
        }
        let encoded = lines
            .next()
            .ok_or_else(|| malformed("the wrapped password is missing"))?;
        let raw = URL_SAFE_NO_PAD
            .decode(encoded.trim())
            .map_err(|_| malformed("the wrapped password is not base64url"))?;
        WrappedKey::from_bytes(&raw)
    }
}

impl fmt::Debug for RepositoryPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RepositoryPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::RepositoryPassword;
    use crate::LocalKeyFile;

    #[tokio::test]
    async fn password_survives_the_wrap_only_for_its_repository() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kek = LocalKeyFile::create(dir.path().join("kek"))
            .await
            .expect("kek");
        let password = RepositoryPassword::generate().expect("password");
        let wrapped = password.wrap(&kek, "repo-a").await.expect("wrap");
        let path = dir.path().join("repo-a.wrapped");
        RepositoryPassword::write_wrapped(&path, &wrapped)
            .await
            .expect("write");
        let read = RepositoryPassword::read_wrapped(&path).await.expect("read");
        let unwrapped = RepositoryPassword::unwrap(&kek, &read, "repo-a")
            .await
            .expect("unwrap");
        assert_eq!(unwrapped.expose(), password.expose());
        assert_eq!(password.expose().len(), 43);
        assert!(
            RepositoryPassword::unwrap(&kek, &read, "repo-b")
                .await
                .is_err()
        );
        assert_eq!(format!("{password:?}"), "RepositoryPassword(***)");
        assert!(
            RepositoryPassword::write_wrapped(&path, &wrapped)
                .await
                .is_err(),
            "an existing password file is never overwritten"
        );
    }
}
