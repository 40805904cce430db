//! Key-encryption keys: the [`KekProvider`] trait, the requests it serves and the
//! [`WrappedKey`] it produces.

mod key_file;
mod local;
mod wrapped;

use std::fmt;

use async_trait::async_trait;

pub use self::local::LocalKeyFile;
pub use self::wrapped::WrappedKey;
use crate::blind_index::IndexRootKey;
use crate::data_key::DataKey;
use crate::encoding::put_lp;
use crate::error::{Error, Result};
use crate::ids::{KekId, KekVersion, KeyId, KeyKind, KeyVersion};
use crate::secret::KeyBytes;

/// A source of key-encryption keys that wraps (encrypts) and unwraps data keys and index root
/// keys: a local key file in development, a remote KMS such as OpenBao transit in production.
///
/// Object safe, so a server holds an `Arc<dyn KekProvider>`. Every operation takes a batch,
/// because a remote KMS charges a round trip per call; order is preserved.
///
/// Each wrap binds the key to what it belongs to (tenant and subject, or tenant and "index
/// root") plus its kind, id and version, as associated data. A wrapped key copied to another
/// subject or tenant therefore fails to unwrap.
///
/// Only this crate can see the key bytes inside [`WrapRequest`] and build keys from unwrapped
/// bytes, so implementations live here; other crates use the trait, they do not implement it.
#[async_trait]
pub trait KekProvider: Send + Sync + fmt::Debug {
    /// The KEK's stable id, recorded in every [`WrappedKey`] it makes.
    fn id(&self) -> &KekId;

    /// A one-line human description (kind and location), free of secrets.
    fn description(&self) -> String;

    /// The version new wraps use.
    async fn current_version(&self) -> Result<KekVersion>;

    /// Wraps every key under the current KEK version, in order. Fails as a whole if the
    /// provider cannot be reached.
    async fn wrap(&self, requests: &[WrapRequest<'_>]) -> Result<Vec<WrappedKey>>;

    /// Unwraps every key, in order. The outer error means the provider failed as a whole; an
    /// inner error concerns one key (wrong associated data, unknown KEK version, altered
    /// bytes) and leaves the others usable.
    async fn unwrap(&self, requests: &[UnwrapRequest<'_>]) -> Result<Vec<Result<UnwrappedKey>>>;

    /// Wraps one key: [`wrap`](Self::wrap) of a single request.
    async fn wrap_one(&self, request: WrapRequest<'_>) -> Result<WrappedKey> {
        self.wrap(&[request]).await?.pop().ok_or(Error::Crypto)
    }

    /// Unwraps one key: [`unwrap`](Self::unwrap) of a single request, the provider's error
    /// and the key's own alike.
    async fn unwrap_one(&self, request: UnwrapRequest<'_>) -> Result<UnwrappedKey> {
        self.unwrap(&[request]).await?.pop().ok_or(Error::Crypto)?
    }

    /// Unwraps and wraps again under the current KEK version, keeping each key's binding, in
    /// order; used after a KEK rotation. A remote KMS may override this with a rewrap that
    /// never releases the plaintext key.
    async fn rewrap(&self, requests: &[UnwrapRequest<'_>]) -> Result<Vec<Result<WrappedKey>>> {
        let unwrapped = self.unwrap(requests).await?;
        let mut keys = Vec::new();
        let mut slots = Vec::with_capacity(requests.len());
        for (request, result) in requests.iter().zip(unwrapped) {
            match result {
                Ok(key) => {
                    slots.push(Ok(()));
                    keys.push((key, request.binding));
                }
                Err(err) => slots.push(Err(err)),
            }
        }
        let wrap_requests: Vec<WrapRequest<'_>> = keys
            .iter()
            .map(|(key, binding)| WrapRequest::for_unwrapped(key, *binding))
            .collect();
        let mut wrapped = self.wrap(&wrap_requests).await?.into_iter();
        Ok(slots
            .into_iter()
            .map(|slot| slot.and_then(|()| wrapped.next().ok_or(Error::Crypto)))
            .collect())
    }
}

/// What a wrapped key belongs to; part of the wrap's associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyBinding<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) owner: KeyOwner<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyOwner<'a> {
    Subject(&'a str),
    IndexRoot,
}

impl KeyBinding<'_> {
    fn kind(&self) -> KeyKind {
        match self.owner {
            KeyOwner::Subject(_) => KeyKind::DataKey,
            KeyOwner::IndexRoot => KeyKind::IndexRoot,
        }
    }
}

/// Domain label at the start of every wrap's associated data.
const WRAP_AAD_LABEL: &[u8] = b"datavern key wrap v1";

/// Metadata of the key being wrapped, as bound into the associated data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WrapMeta {
    pub(crate) kind: KeyKind,
    pub(crate) key_id: KeyId,
    pub(crate) key_version: KeyVersion,
}

/// The associated data of a wrap (see `docs/crypto.md`):
/// `lp(label) ‖ kind ‖ key id ‖ key version ‖ lp(kek id) ‖ kek version ‖ lp(tenant)
/// [‖ lp(subject id) for a data key]`, integers big-endian.
pub(crate) fn wrap_aad(
    meta: WrapMeta,
    kek_id: &KekId,
    kek_version: KekVersion,
    binding: KeyBinding<'_>,
) -> Result<Vec<u8>> {
    let mut aad = Vec::with_capacity(96 + binding.tenant.len());
    put_lp(&mut aad, WRAP_AAD_LABEL)?;
    aad.push(meta.kind.code());
    aad.extend_from_slice(meta.key_id.as_bytes());
    aad.extend_from_slice(&meta.key_version.get().to_be_bytes());
    put_lp(&mut aad, kek_id.as_str().as_bytes())?;
    aad.extend_from_slice(&kek_version.get().to_be_bytes());
    put_lp(&mut aad, binding.tenant.as_bytes())?;
    if let KeyOwner::Subject(subject) = binding.owner {
        put_lp(&mut aad, subject.as_bytes())?;
    }
    Ok(aad)
}

/// One key to wrap, with what it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct WrapRequest<'a> {
    key: KeyRef<'a>,
    binding: KeyBinding<'a>,
}

#[derive(Debug, Clone, Copy)]
enum KeyRef<'a> {
    Data(&'a DataKey),
    IndexRoot(&'a IndexRootKey),
}

impl<'a> WrapRequest<'a> {
    /// Wrap `key`, the data key of `subject_id` in `tenant`.
    pub fn data_key(key: &'a DataKey, tenant: &'a str, subject_id: &'a str) -> Self {
        Self {
            key: KeyRef::Data(key),
            binding: KeyBinding {
                tenant,
                owner: KeyOwner::Subject(subject_id),
            },
        }
    }

    /// Wrap `key`, the blind-index root key of `tenant`.
    pub fn index_root(key: &'a IndexRootKey, tenant: &'a str) -> Self {
        Self {
            key: KeyRef::IndexRoot(key),
            binding: KeyBinding {
                tenant,
                owner: KeyOwner::IndexRoot,
            },
        }
    }

    fn for_unwrapped(key: &'a UnwrappedKey, binding: KeyBinding<'a>) -> Self {
        let key = match key {
            UnwrappedKey::Data(k) => KeyRef::Data(k),
            UnwrappedKey::IndexRoot(k) => KeyRef::IndexRoot(k),
        };
        Self { key, binding }
    }

    pub(crate) fn meta(&self) -> WrapMeta {
        match self.key {
            KeyRef::Data(k) => WrapMeta {
                kind: KeyKind::DataKey,
                key_id: k.id(),
                key_version: k.version(),
            },
            KeyRef::IndexRoot(k) => WrapMeta {
                kind: KeyKind::IndexRoot,
                key_id: k.id(),
                key_version: k.version(),
            },
        }
    }

    pub(crate) fn binding(&self) -> KeyBinding<'a> {
        self.binding
    }

    pub(crate) fn secret(&self) -> &KeyBytes {
        match self.key {
            KeyRef::Data(k) => k.bytes(),
            KeyRef::IndexRoot(k) => k.bytes(),
        }
    }
}

/// One wrapped key to unwrap, with what the caller expects it to belong to.
#[derive(Debug, Clone, Copy)]
pub struct UnwrapRequest<'a> {
    wrapped: &'a WrappedKey,
    binding: KeyBinding<'a>,
}

impl<'a> UnwrapRequest<'a> {
    /// Unwrap the data key of `subject_id` in `tenant`.
    pub fn data_key(wrapped: &'a WrappedKey, tenant: &'a str, subject_id: &'a str) -> Self {
        Self {
            wrapped,
            binding: KeyBinding {
                tenant,
                owner: KeyOwner::Subject(subject_id),
            },
        }
    }

    /// Unwrap the blind-index root key of `tenant`.
    pub fn index_root(wrapped: &'a WrappedKey, tenant: &'a str) -> Self {
        Self {
            wrapped,
            binding: KeyBinding {
                tenant,
                owner: KeyOwner::IndexRoot,
            },
        }
    }

    /// The wrapped key this request is about.
    pub fn wrapped(&self) -> &'a WrappedKey {
        self.wrapped
    }

    pub(crate) fn binding(&self) -> KeyBinding<'a> {
        self.binding
    }

    /// Checks that the wrapped key is of the kind the caller expects.
    pub(crate) fn check_kind(&self) -> Result<()> {
        let expected = self.binding.kind();
        let found = self.wrapped.kind();
        if expected != found {
            return Err(Error::WrongKeyKind { expected, found });
        }
        Ok(())
    }

    /// Builds the key from unwrapped bytes, with the id and version the wrap authenticated.
    pub(crate) fn build(&self, bytes: KeyBytes) -> Result<UnwrappedKey> {
        let w = self.wrapped;
        Ok(match w.kind() {
            KeyKind::DataKey => {
                UnwrappedKey::Data(DataKey::from_parts(w.key_id(), w.key_version(), bytes)?)
            }
            KeyKind::IndexRoot => UnwrappedKey::IndexRoot(IndexRootKey::from_parts(
                w.key_id(),
                w.key_version(),
                bytes,
            )),
        })
    }
}

/// A key recovered by [`KekProvider::unwrap`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UnwrappedKey {
    /// A subject's data key.
    Data(DataKey),
    /// A tenant's blind-index root key.
    IndexRoot(IndexRootKey),
}

impl UnwrappedKey {
    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Data(_) => KeyKind::DataKey,
            Self::IndexRoot(_) => KeyKind::IndexRoot,
        }
    }

    /// The data key, or [`Error::WrongKeyKind`].
    pub fn into_data_key(self) -> Result<DataKey> {
        match self {
            Self::Data(k) => Ok(k),
            other => Err(Error::WrongKeyKind {
                expected: KeyKind::DataKey,
                found: other.kind(),
            }),
        }
    }

    /// The index root key, or [`Error::WrongKeyKind`].
    pub fn into_index_root(self) -> Result<IndexRootKey> {
        match self {
            Self::IndexRoot(k) => Ok(k),
            other => Err(Error::WrongKeyKind {
                expected: KeyKind::IndexRoot,
                found: other.kind(),
            }),
        }
    }
}
