//! [`LocalKeyFile`]: KEK versions kept in a file on local disk.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use zeroize::Zeroizing;

use super::key_file::{self, KeyFileContents};
use super::{
    KekProvider, UnwrapRequest, UnwrappedKey, WrapMeta, WrapRequest, WrappedKey, wrap_aad,
};
use crate::encoding::hex_encode;
use crate::envelope::{NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::ids::{KekId, KekVersion};
use crate::private_file::{
    create_private, io_err, read_private, sync_parent_dir, write_and_sync, write_new_private,
};
use crate::secret::{KEY_LEN, KeyBytes};

/// Largest key file accepted; a file with thousands of versions is still far below this.
const MAX_FILE_LEN: u64 = 1024 * 1024;
/// Length of a local wrap's ciphertext: nonce, sealed key, tag.
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

/// A [`KekProvider`] whose KEK versions (32 random bytes each) live in a text file, for
/// development, tests and single-host installations.
///
/// The file is created with mode 0600 and refused when group or others can access it (on
/// Unix). Each wrap is AES-256-GCM under the current version with a random nonce; see
/// `docs/crypto.md`. [`rotate`](Self::rotate) adds a version and makes it current, keeping
/// the old ones for unwrapping.
pub struct LocalKeyFile {
    path: PathBuf,
    id: KekId,
    state: RwLock<Arc<KeySet>>,
    // Serializes rotations within this process; the `.rotate` file serializes across
    // processes.
    rotation: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct KeySet {
    current: KekVersion,
    keys: BTreeMap<KekVersion, Arc<Kek>>,
}

/// One KEK version: its bytes (kept to rewrite the file on rotation) and its AES context.
struct Kek {
    bytes: KeyBytes,
    aead: RandomizedNonceKey,
}

impl Kek {
    fn new(bytes: KeyBytes) -> Result<Arc<Self>> {
        let aead =
            RandomizedNonceKey::new(&AES_256_GCM, bytes.expose()).map_err(|_| Error::Crypto)?;
        Ok(Arc::new(Self { bytes, aead }))
    }
}

impl KeySet {
    fn from_contents(contents: KeyFileContents) -> Result<Self> {
        let keys = contents
            .keys
            .into_iter()
            .map(|(version, bytes)| Ok((version, Kek::new(bytes)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            current: contents.current,
            keys,
        })
    }

    fn render(&self, id: &KekId) -> Zeroizing<String> {
        key_file::render(
            id,
            self.current,
            self.keys.iter().map(|(v, k)| (*v, &k.bytes)),
        )
    }
}

impl LocalKeyFile {
    /// Creates a new key file at `path` with a random id and one random KEK version, mode 0600.
    /// Refuses to overwrite an existing file.
    pub async fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut suffix = [0u8; 8];
        aws_lc_rs::rand::fill(&mut suffix).map_err(|_| Error::Random)?;
        let id = KekId::new(format!("local:{}", hex_encode(&suffix)))?;
        let mut keys = BTreeMap::new();
        keys.insert(KekVersion::FIRST, Kek::new(KeyBytes::random()?)?);
        let set = KeySet {
            current: KekVersion::FIRST,
            keys,
        };
        write_new_private(&path, &set.render(&id)).await?;
        Ok(Self::from_parts(path, id, set))
    }

    /// Loads the key file at `path`, checking its permissions and format.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let contents = read_key_file(&path).await?;
        let id = contents.id.clone();
        let set = KeySet::from_contents(contents)?;
        Ok(Self::from_parts(path, id, set))
    }

    fn from_parts(path: PathBuf, id: KekId, set: KeySet) -> Self {
        Self {
            path,
            id,
            state: RwLock::new(Arc::new(set)),
            rotation: tokio::sync::Mutex::new(()),
        }
    }

    /// Adds a fresh random KEK version, makes it current and rewrites the file atomically
    /// (write a 0600 sibling `<file>.rotate`, fsync, rename). Old versions stay in the file and
    /// keep unwrapping. Versions another process added since loading are kept too.
    ///
    /// Returns the new current version. Fails with [`Error::KeyFileRotationPending`] while
    /// `<file>.rotate` exists (another rotation is running, or one was interrupted).
    pub async fn rotate(&self) -> Result<KekVersion> {
        let _guard = self.rotation.lock().await;
        let temp = sibling(&self.path, ".rotate");
        let mut file = match create_private(&temp).await {
            Ok(file) => file,
            Err(Error::KeyFileExists { path }) => {
                return Err(Error::KeyFileRotationPending { path });
            }
            Err(err) => return Err(err),
        };
        let result = self.rotate_into(&mut file, &temp).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        result
    }

    async fn rotate_into(&self, file: &mut tokio::fs::File, temp: &Path) -> Result<KekVersion> {
        // Start from the file on disk, not from memory, so a version another process added is
        // never dropped.
        let mut set = self.read_again().await?;
        let newest = set.keys.keys().next_back().copied().unwrap_or(set.current);
        let version = newest.next()?;
        set.keys.insert(version, Kek::new(KeyBytes::random()?)?);
        set.current = version;

        write_and_sync(file, &set.render(&self.id))
            .await
            .map_err(|e| io_err(temp, e))?;
        tokio::fs::rename(temp, &self.path)
            .await
            .map_err(|e| io_err(&self.path, e))?;
        sync_parent_dir(&self.path).await;
        self.replace(set);
        Ok(version)
    }

    /// Re-reads the file, picking up versions another process (e.g. `datavern keys rotate`)
    /// added. Refuses a file with a different id or fewer versions than are loaded.
    pub async fn reload(&self) -> Result<()> {
        let set = self.read_again().await?;
        self.replace(set);
        Ok(())
    }

    /// The key file as it is now, refused if its id changed or it lost a version that is
    /// loaded: a file that shrank or was swapped is never taken over the keys in memory.
    async fn read_again(&self) -> Result<KeySet> {
        let contents = read_key_file(&self.path).await?;
        if contents.id != self.id {
            return Err(Error::MalformedKeyFile {
                path: self.path.clone(),
                line: None,
                reason: "the file's kek id changed since it was loaded",
            });
        }
        let set = KeySet::from_contents(contents)?;
        if self
            .snapshot()
            .keys
            .keys()
            .any(|v| !set.keys.contains_key(v))
        {
            return Err(Error::MalformedKeyFile {
                path: self.path.clone(),
                line: None,
                reason: "the file lost a kek version since it was loaded",
            });
        }
        Ok(set)
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every KEK version held, oldest first.
    pub fn versions(&self) -> Vec<KekVersion> {
        self.snapshot().keys.keys().copied().collect()
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, set: KeySet) {
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }

    fn wrap_one(
        &self,
        kek: &Kek,
        version: KekVersion,
        request: &WrapRequest<'_>,
    ) -> Result<WrappedKey> {
        let meta = request.meta();
        let aad = wrap_aad(meta, &self.id, version, request.binding())?;
        let mut sealed = Zeroizing::new(Vec::with_capacity(KEY_LEN + TAG_LEN));
        sealed.extend_from_slice(request.secret().expose());
        let nonce = kek
            .aead
            .seal_in_place_append_tag(Aad::from(aad.as_slice()), &mut *sealed)
            .map_err(|_| Error::Crypto)?;
        let mut ciphertext = Vec::with_capacity(WRAPPED_LEN);
        ciphertext.extend_from_slice(nonce.as_ref());
        ciphertext.extend_from_slice(&sealed);
        Ok(WrappedKey::new(
            meta.kind,
            meta.key_id,
            meta.key_version,
            self.id.clone(),
            version,
            ciphertext,
        ))
    }

    fn unwrap_one(&self, set: &KeySet, request: &UnwrapRequest<'_>) -> Result<UnwrappedKey> {
        let wrapped = request.wrapped();
        if wrapped.kek_id() != &self.id {
            return Err(Error::KekMismatch {
                expected: self.id.clone(),
                found: wrapped.kek_id().clone(),
            });
        }
        request.check_kind()?;
        let kek = set
            .keys
            .get(&wrapped.kek_version())
            .ok_or_else(|| Error::UnknownKekVersion {
                kek: self.id.clone(),
                version: wrapped.kek_version(),
            })?;
        let meta = WrapMeta {
            kind: wrapped.kind(),
            key_id: wrapped.key_id(),
            key_version: wrapped.key_version(),
        };
        let aad = wrap_aad(meta, &self.id, wrapped.kek_version(), request.binding())?;
        let ciphertext = wrapped.ciphertext();
        if ciphertext.len() != WRAPPED_LEN {
            return Err(Error::UnwrapAuthentication);
        }
        let (nonce, sealed) = ciphertext.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::UnwrapAuthentication)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = kek
            .aead
            .open_in_place(nonce, Aad::from(aad.as_slice()), &mut buf)
            .map_err(|_| Error::UnwrapAuthentication)?;
        let bytes = KeyBytes::from_slice(plain).ok_or(Error::UnwrapAuthentication)?;
        request.build(bytes)
    }
}

#[async_trait]
impl KekProvider for LocalKeyFile {
    fn id(&self) -> &KekId {
        &self.id
    }

    fn description(&self) -> String {
        format!("local key file {}", self.path.display())
    }

    async fn current_version(&self) -> Result<KekVersion> {
        Ok(self.snapshot().current)
    }

    async fn wrap(&self, requests: &[WrapRequest<'_>]) -> Result<Vec<WrappedKey>> {
        let set = self.snapshot();
        let kek = set
            .keys
            .get(&set.current)
            .ok_or_else(|| Error::UnknownKekVersion {
                kek: self.id.clone(),
                version: set.current,
            })?;
        requests
            .iter()
            .map(|request| self.wrap_one(kek, set.current, request))
            .collect()
    }

    async fn unwrap(&self, requests: &[UnwrapRequest<'_>]) -> Result<Vec<Result<UnwrappedKey>>> {
        let set = self.snapshot();
        Ok(requests.iter().map(|r| self.unwrap_one(&set, r)).collect())
    }
}

impl fmt::Debug for LocalKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.snapshot();
        f.debug_struct("LocalKeyFile")
            .field("path", &self.path)
            .field("id", &self.id)
            .field("current", &set.current)
            .field("versions", &set.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads and parses the key file, refusing it when group or others can access it.
async fn read_key_file(path: &Path) -> Result<KeyFileContents> {
    let bytes = read_private(path, MAX_FILE_LEN, "file is larger than 1 MiB").await?;
    key_file::parse(path, &bytes)
}
