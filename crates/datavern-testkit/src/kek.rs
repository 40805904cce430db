//! A local KEK for tests.

use datavern_core::catalog::Kommunenummer;
use datavern_crypto::{
    DataKey, IndexRootKey, KekProvider, KeyVersion, LocalKeyFile, UnwrapRequest, WrapRequest,
    WrappedKey,
};
use datavern_store::SubjectId;
use tempfile::TempDir;

/// A local KEK in a temporary directory, removed when dropped.
pub struct Kek {
    _dir: TempDir,
    /// The key file.
    pub file: LocalKeyFile,
}

impl Kek {
    /// A new KEK.
    ///
    /// # Panics
    ///
    /// If the temporary directory or the key file cannot be created.
    pub async fn new() -> Kek {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("temporary directory: {err}"));
        let file = LocalKeyFile::create(dir.path().join("kek"))
            .await
            .unwrap_or_else(|err| panic!("local KEK: {err}"));
        Kek { _dir: dir, file }
    }

    /// A new data key of `version` for the subject, wrapped.
    pub async fn data_key(
        &self,
        tenant: Kommunenummer,
        subject: SubjectId,
        version: KeyVersion,
    ) -> datavern_crypto::Result<WrappedKey> {
        let key = DataKey::generate(version)?;
        let subject = subject.to_string();
        self.file
            .wrap_one(WrapRequest::data_key(&key, tenant.as_str(), &subject))
            .await
    }

    /// A new index root key (version 1) for the tenant, wrapped.
    pub async fn index_root(&self, tenant: Kommunenummer) -> datavern_crypto::Result<WrappedKey> {
        let key = IndexRootKey::generate(KeyVersion::FIRST)?;
        self.file
            .wrap_one(WrapRequest::index_root(&key, tenant.as_str()))
            .await
    }

    /// Unwraps a subject's data key.
    ///
    /// # Panics
    ///
    /// If the key does not unwrap to a data key of the subject.
    pub async fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        tenant: Kommunenummer,
        subject: SubjectId,
    ) -> DataKey {
        let subject = subject.to_string();
        self.file
            .unwrap_one(UnwrapRequest::data_key(wrapped, tenant.as_str(), &subject))
            .await
            .and_then(|unwrapped| unwrapped.into_data_key())
            .unwrap_or_else(|err| panic!("unwrap data key: {err}"))
    }
}
