//! The key cache: unwrapped subject data keys and derived blind-index keys, kept briefly in
//! memory so that a read does not pay a key store query and a KEK round trip.
//!
//! Bounded in size and time (moka, time-to-live from insertion). Keys are zeroized by their
//! own types when the last clone drops, which is when an entry is evicted and no operation
//! holds it any more. [`KeyCache::evict`] removes a subject's keys at once; an erasure must
//! call it after destroying the keys, and because a load that read the key store before the
//! destruction could otherwise put a destroyed key back, every eviction also bumps an epoch
//! that in-flight loads check before they insert.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datavern_core::catalog::Kommunenummer;
use datavern_crypto::{
    BlindIndexKey, BlindIndexLength, DataKey, IndexContext, IndexRootKey, KekProvider, KeyId,
    KeyVersion, UnwrapRequest, WrapRequest,
};
use moka::future::Cache;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::ids::SubjectId;
use crate::keys::{KeyState, KeyStore};

/// The blind-index length of a searchable field that declares none, in bytes: 24 bits. Each
/// field's length is the catalog's `blind_index_length`
/// ([`Field::blind_index_length`](datavern_core::catalog::Field::blind_index_length)).
///
/// With N distinct values in a field, about N / 2²⁴ other values share each index value:
/// ≈ 0.02 false positives per lookup among Bergen's ~290 000 residents, ≈ 0.3 among all
/// of Norway's. See `docs/crypto.md`, "Choosing the length". Fixed once indexes exist:
/// changing it means recomputing them, so the store refuses the change.
pub const BLIND_INDEX_LEN: usize = datavern_core::catalog::DEFAULT_BLIND_INDEX_LENGTH;

/// How long and how many keys the cache keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCacheConfig {
    /// How long an unwrapped key is kept after it was loaded (time to live, not idle).
    pub ttl: Duration,
    /// The most subjects whose keys are kept.
    pub max_subjects: u64,
    /// The most blind-index keys (tenant, collection, field) kept.
    pub max_index_keys: u64,
}

impl Default for KeyCacheConfig {
    /// 60 s, 10 000 subjects, 1 000 blind-index keys.
    fn default() -> Self {
        KeyCacheConfig {
            ttl: Duration::from_secs(60),
            max_subjects: 10_000,
            max_index_keys: 1_000,
        }
    }
}

/// A subject's unwrapped data keys (live versions), newest last.
struct KeyRing {
    keys: Vec<DataKey>,
}

/// What [`KeyCache::load_subjects`] read from the key store: the live keys it unwrapped, per
/// subject, and the destroyed versions.
///
/// Callers take the keys from here, not from the cache: the cache may not keep what it was
/// just given (moka admits by frequency and evicts by size), and a read that relied on it
/// failed with a decryption error when reads spread over more subjects than it holds.
#[derive(Default)]
struct Loaded {
    rings: HashMap<Uuid, Arc<KeyRing>>,
    destroyed: HashSet<(Uuid, KeyId)>,
}

type IndexKeyId = (Kommunenummer, String, String, usize);

/// Unwrapped keys, loaded through the key store and the KEK provider.
pub(crate) struct KeyCache {
    kek: Arc<dyn KekProvider>,
    store: KeyStore,
    subjects: Cache<(Kommunenummer, Uuid), Arc<KeyRing>>,
    roots: Cache<Kommunenummer, IndexRootKey>,
    index: Cache<IndexKeyId, BlindIndexKey>,
    epoch: AtomicU64,
}

impl KeyCache {
    pub(crate) fn new(kek: Arc<dyn KekProvider>, store: KeyStore, config: KeyCacheConfig) -> Self {
        KeyCache {
            kek,
            store,
            subjects: Cache::builder()
                .max_capacity(config.max_subjects)
                .time_to_live(config.ttl)
                .build(),
            roots: Cache::builder()
                .max_capacity(config.max_index_keys)
                .time_to_live(config.ttl)
                .build(),
            index: Cache::builder()
                .max_capacity(config.max_index_keys)
                .time_to_live(config.ttl)
                .build(),
            epoch: AtomicU64::new(0),
        }
    }

    /// Removes the subject's keys from the cache, so that keys destroyed in the key store are
    /// not served from memory.
    pub(crate) async fn evict(&self, tenant: Kommunenummer, subject: Uuid) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.subjects.invalidate(&(tenant, subject)).await;
    }

    /// The key new values of the subject are sealed with (its newest), made and stored
    /// first if the subject has none.
    pub(crate) async fn write_key(&self, tenant: Kommunenummer, subject: Uuid) -> Result<DataKey> {
        if let Some(ring) = self.subjects.get(&(tenant, subject)).await
            && let Some(key) = ring.keys.last()
        {
            return Ok(key.clone());
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let fresh = DataKey::generate(KeyVersion::FIRST)?;
        let subject_text = subject.hyphenated().to_string();
        let stored = self
            .store
            .get_or_create_subject_key(tenant, SubjectId::from_uuid(subject), || {
                self.kek.wrap_one(WrapRequest::data_key(
                    &fresh,
                    tenant.as_str(),
                    &subject_text,
                ))
            })
            .await?;
        let key = if stored.key_id() == fresh.id() {
            fresh
        } else {
            // An existing key (or another caller's, after a race): unwrap it.
            self.kek
                .unwrap_one(UnwrapRequest::data_key(
                    &stored,
                    tenant.as_str(),
                    &subject_text,
                ))
                .await?
                .into_data_key()?
        };
        if stored.key_version() != KeyVersion::FIRST {
            // The subject has several versions: cache them all, so reads of older values
            // find their key too.
            self.load_subjects(tenant, &[subject]).await?;
            return Ok(key);
        }
        self.insert(
            epoch,
            tenant,
            subject,
            Arc::new(KeyRing {
                keys: vec![key.clone()],
            }),
        )
        .await;
        Ok(key)
    }

    /// The write keys of several subjects at once (see [`write_key`](Self::write_key)): the
    /// cached ones, the stored ones loaded with one key store query and one KEK call, and
    /// the missing ones made, wrapped in one KEK call and stored in one key store
    /// transaction. If another writer stored a key for one of them meanwhile, that
    /// transaction is rolled back and each new subject goes through `write_key`, which is
    /// race-safe on its own.
    pub(crate) async fn write_keys(
        &self,
        tenant: Kommunenummer,
        subjects: &[Uuid],
    ) -> Result<HashMap<Uuid, DataKey>> {
        let mut keys = HashMap::with_capacity(subjects.len());
        let mut missing = Vec::new();
        for subject in subjects {
            if keys.contains_key(subject) || missing.contains(subject) {
                continue;
            }
            match self.newest_cached(tenant, *subject).await {
                Some(key) => {
                    keys.insert(*subject, key);
                }
                None => missing.push(*subject),
            }
        }
        if missing.is_empty() {
            return Ok(keys);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let loaded = self.load_subjects(tenant, &missing).await?;
        let mut new = Vec::new();
        for subject in missing {
            if loaded.destroyed.iter().any(|(s, _)| *s == subject) {
                return Err(StoreError::SubjectKeyDestroyed {
                    tenant: tenant.to_string(),
                    subject: subject.hyphenated().to_string(),
                });
            }
            match loaded
                .rings
                .get(&subject)
                .and_then(|ring| ring.keys.last().cloned())
            {
                Some(key) => {
                    keys.insert(subject, key);
                }
                None => new.push(subject),
            }
        }
        self.create_keys(tenant, epoch, new, &mut keys).await?;
        Ok(keys)
    }

    /// The first keys of subjects whose ids were made by the caller just now (the records a
    /// batch creates, each its own subject), so they cannot have keys yet: made, wrapped in
    /// one KEK call and stored in one key store transaction without reading the key store
    /// first. Should one of them have a key after all, the store refuses the batch and each
    /// subject goes through the race-safe [`write_key`](Self::write_key).
    pub(crate) async fn new_subject_keys(
        &self,
        tenant: Kommunenummer,
        subjects: Vec<Uuid>,
    ) -> Result<HashMap<Uuid, DataKey>> {
        let mut keys = HashMap::with_capacity(subjects.len());
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.create_keys(tenant, epoch, subjects, &mut keys).await?;
        Ok(keys)
    }

    /// Makes, wraps and stores first keys for `new` (no duplicates) and puts them in `keys`.
    async fn create_keys(
        &self,
        tenant: Kommunenummer,
        epoch: u64,
        new: Vec<Uuid>,
        keys: &mut HashMap<Uuid, DataKey>,
    ) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let fresh = new
            .iter()
            .map(|_| DataKey::generate(KeyVersion::FIRST))
            .collect::<datavern_crypto::Result<Vec<_>>>()?;
        let texts: Vec<String> = new.iter().map(|s| s.hyphenated().to_string()).collect();
        let requests: Vec<WrapRequest<'_>> = fresh
            .iter()
            .zip(&texts)
            .map(|(key, subject)| WrapRequest::data_key(key, tenant.as_str(), subject))
            .collect();
        let wrapped = self.kek.wrap(&requests).await?;
        if wrapped.len() != new.len() {
            return Err(datavern_crypto::Error::Crypto.into());
        }
        let rows: Vec<(SubjectId, &_)> = new
            .iter()
            .map(|s| SubjectId::from_uuid(*s))
            .zip(&wrapped)
            .collect();
        if self.store.create_subject_keys(tenant, &rows).await? {
            for (subject, key) in new.into_iter().zip(fresh) {
                self.insert(
                    epoch,
                    tenant,
                    subject,
                    Arc::new(KeyRing {
                        keys: vec![key.clone()],
                    }),
                )
                .await;
                keys.insert(subject, key);
            }
        } else {
            // Lost a race for at least one subject: settle each one on its own.
            for subject in new {
                keys.insert(subject, self.write_key(tenant, subject).await?);
            }
        }
        Ok(())
    }

    async fn newest_cached(&self, tenant: Kommunenummer, subject: Uuid) -> Option<DataKey> {
        let ring = self.subjects.get(&(tenant, subject)).await?;
        ring.keys.last().cloned()
    }

    /// The subject's key with id `key_id` (the one a field envelope names), or `None` if the
    /// subject has no live key with that id.
    pub(crate) async fn read_key(
        &self,
        tenant: Kommunenummer,
        subject: Uuid,
        key_id: KeyId,
    ) -> Result<Option<DataKey>> {
        if let Some(key) = self.cached(tenant, subject, key_id).await {
            return Ok(Some(key));
        }
        // Not cached, or cached without this version (a newer key made elsewhere): reload.
        let loaded = self.load_subjects(tenant, &[subject]).await?;
        if loaded.destroyed.contains(&(subject, key_id)) {
            return Err(StoreError::SubjectKeyDestroyed {
                tenant: tenant.to_string(),
                subject: subject.hyphenated().to_string(),
            });
        }
        Ok(loaded
            .rings
            .get(&subject)
            .and_then(|ring| ring.keys.iter().find(|k| k.id() == key_id).cloned()))
    }

    /// Loads the keys of every subject in `subjects` that is not cached yet, with one key
    /// store query and one KEK call, so that a page of records from many subjects costs one
    /// round trip each. Subjects without keys are skipped; destroyed keys are not loaded.
    pub(crate) async fn preload(&self, tenant: Kommunenummer, subjects: &[Uuid]) -> Result<()> {
        let mut missing = Vec::new();
        let mut seen = HashSet::new();
        for subject in subjects {
            if seen.insert(*subject) && !self.subjects.contains_key(&(tenant, *subject)) {
                missing.push(*subject);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        self.load_subjects(tenant, &missing).await.map(drop)
    }

    /// The blind-index key of `collection`.`field` in the tenant, computing indexes of
    /// `length` bytes (the field's `blind_index_length`), deriving it from the tenant's root
    /// key (made and stored first if the tenant has none).
    pub(crate) async fn index_key(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        field: &str,
        length: usize,
    ) -> Result<BlindIndexKey> {
        let id = (tenant, collection.to_owned(), field.to_owned(), length);
        if let Some(key) = self.index.get(&id).await {
            return Ok(key);
        }
        let root = self.index_root(tenant).await?;
        let key = root.derive(
            &IndexContext {
                tenant: tenant.as_str(),
                collection,
                field,
            },
            BlindIndexLength::new(length)?,
        )?;
        self.index.insert(id, key.clone()).await;
        Ok(key)
    }

    async fn index_root(&self, tenant: Kommunenummer) -> Result<IndexRootKey> {
        if let Some(root) = self.roots.get(&tenant).await {
            return Ok(root);
        }
        let fresh = IndexRootKey::generate(KeyVersion::FIRST)?;
        let stored = self
            .store
            .get_or_create_index_root_key(tenant, || {
                self.kek
                    .wrap_one(WrapRequest::index_root(&fresh, tenant.as_str()))
            })
            .await?;
        let root = if stored.key_id() == fresh.id() {
            fresh
        } else {
            self.kek
                .unwrap_one(UnwrapRequest::index_root(&stored, tenant.as_str()))
                .await?
                .into_index_root()?
        };
        self.roots.insert(tenant, root.clone()).await;
        Ok(root)
    }

    async fn cached(&self, tenant: Kommunenummer, subject: Uuid, key_id: KeyId) -> Option<DataKey> {
        let ring = self.subjects.get(&(tenant, subject)).await?;
        ring.keys.iter().find(|k| k.id() == key_id).cloned()
    }

    /// Reads every key version of `subjects` from the key store, unwraps the live ones in one
    /// KEK call, caches them and returns them, with the destroyed versions (subject and key
    /// id): what those sealed cannot be decrypted any more. A key that fails to unwrap is an
    /// error.
    async fn load_subjects(&self, tenant: Kommunenummer, subjects: &[Uuid]) -> Result<Loaded> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let ids: Vec<SubjectId> = subjects.iter().copied().map(SubjectId::from_uuid).collect();
        let stored = self.store.subject_keys(tenant, &ids).await?;
        let mut destroyed = HashSet::new();
        let mut live = Vec::new();
        for key in stored {
            match key.state {
                KeyState::Live(wrapped) => live.push((key.subject.to_string(), wrapped)),
                KeyState::Destroyed { .. } => {
                    destroyed.insert((key.subject.as_uuid(), key.key_id));
                }
            }
        }
        if live.is_empty() {
            return Ok(Loaded {
                destroyed,
                ..Loaded::default()
            });
        }
        let requests: Vec<UnwrapRequest<'_>> = live
            .iter()
            .map(|(subject, wrapped)| UnwrapRequest::data_key(wrapped, tenant.as_str(), subject))
            .collect();
        let unwrapped = self.kek.unwrap(&requests).await?;
        let mut rings: HashMap<Uuid, Vec<DataKey>> = HashMap::new();
        for ((subject, _), key) in live.iter().zip(unwrapped) {
            let key = key?.into_data_key()?;
            let subject = SubjectId::parse(subject)
                .map_err(|err| StoreError::InvalidKey(err.to_string()))?
                .as_uuid();
            // subject_keys orders by subject and version: the newest is pushed last.
            rings.entry(subject).or_default().push(key);
        }
        let mut loaded = Loaded {
            destroyed,
            ..Loaded::default()
        };
        for (subject, keys) in rings {
            let ring = Arc::new(KeyRing { keys });
            self.insert(epoch, tenant, subject, Arc::clone(&ring)).await;
            loaded.rings.insert(subject, ring);
        }
        Ok(loaded)
    }

    /// Caches a ring unless a subject was evicted since `epoch` (the load may predate a
    /// destruction). An eviction between the check and the insert is caught by checking
    /// again afterwards.
    async fn insert(&self, epoch: u64, tenant: Kommunenummer, subject: Uuid, ring: Arc<KeyRing>) {
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        self.subjects.insert((tenant, subject), ring).await;
        if self.epoch.load(Ordering::SeqCst) != epoch {
            self.subjects.invalidate(&(tenant, subject)).await;
        }
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("kek", &self.kek.description())
            .field("subjects", &self.subjects.entry_count())
            .field("index_keys", &self.index.entry_count())
            .finish_non_exhaustive()
    }
}
