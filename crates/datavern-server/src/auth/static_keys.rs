//! Static API keys: principals configured in a TOML file that holds only the keys' hashes.
//!
//! ```toml
//! [[principals]]
//! id = "dev"
//! tenant = "4601"
//! roles = ["developer"]
//! clearance = "BEGRENSET"
//! purposes = ["innbyggerregister", "kommunikasjon"]
//! key_hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datavern_core::access::{Principal, PrincipalId, Role};
use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_crypto::{ApiKeyHash, InvalidApiKeyHash};
use serde::{Deserialize, Serialize};

use super::{AuthError, Authenticator, BearerToken};

/// Authenticates API keys against a fixed list of principals, each with its key's hash.
///
/// Every configured hash is compared with the presented key's hash in constant time, all of
/// them, so neither the time taken nor anything else tells which principal came close.
pub struct StaticKeys {
    entries: Vec<(ApiKeyHash, Principal)>,
}

/// The principals file: `[[principals]]` tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalsFile {
    /// The principals.
    #[serde(default)]
    pub principals: Vec<PrincipalEntry>,
}

/// One principal in the principals file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalEntry {
    /// The principal id audit entries name, e.g. `saksbehandling-app`.
    pub id: String,
    /// The kommunenummer of the tenant it acts for.
    pub tenant: String,
    /// Its roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Its clearance: `ÅPEN`, `BEGRENSET`, `KONFIDENSIELT`, `HEMMELIG`, `STRENGT HEMMELIG`.
    pub clearance: String,
    /// The purposes it may invoke.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// The hash of its API key, `sha256:<64 hex digits>`.
    pub key_hash: String,
}

/// Why the principals file cannot be used. Messages name the file and the principal, never a
/// key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrincipalsError {
    /// The file could not be read.
    #[error("cannot read principals file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("principals file {path} is malformed: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser reported.
        message: String,
    },
    /// The file or its directory may be written by group or others, who could then add a
    /// principal with any tenant, roles and clearance.
    #[error(
        "{what} {path} is writable by {by} (mode {mode:04o}): whoever can write it can add a \
         principal; restrict it with `chmod {fix}`"
    )]
    Permissions {
        /// `principals file` or `directory of the principals file`.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// `group`, `others`, or `group and others`.
        by: &'static str,
        /// The `chmod` argument that fixes it (`go-w`).
        fix: &'static str,
    },
    /// One principal is invalid.
    #[error("principals file {path}, principal #{index}: {message}")]
    Principal {
        /// The file.
        path: PathBuf,
        /// The principal's position, from 1.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

impl StaticKeys {
    /// Principals with their key hashes.
    pub fn new(entries: Vec<(ApiKeyHash, Principal)>) -> Self {
        StaticKeys { entries }
    }

    /// Reads and checks the principals file at `path`.
    ///
    /// A file, or a directory holding it, that group or others may write is refused
    /// ([`PrincipalsError::Permissions`]): whoever can write it can make themselves any
    /// principal. Reading by others is allowed (the file holds hashes, not keys).
    pub async fn load(path: &Path) -> Result<StaticKeys, PrincipalsError> {
        let io = |source| PrincipalsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        // The opened file's mode, so the file checked is the file read.
        let meta = file.metadata().await.map_err(io)?;
        check_not_writable_by_others("principals file", path, &meta)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let dir_meta = tokio::fs::metadata(dir)
            .await
            .map_err(|source| PrincipalsError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        check_not_writable_by_others("directory of the principals file", dir, &dir_meta)?;
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut file, &mut text)
            .await
            .map_err(io)?;
        Self::from_toml(&text, path)
    }

    /// Parses and checks a principals file's text; `path` is for messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<StaticKeys, PrincipalsError> {
        let file: PrincipalsFile = toml::from_str(text).map_err(|err| PrincipalsError::Syntax {
            path: path.to_path_buf(),
            message: err.message().to_owned(),
        })?;
        let mut entries: Vec<(ApiKeyHash, Principal)> = Vec::new();
        for (i, entry) in file.principals.iter().enumerate() {
            let fail = |message: String| PrincipalsError::Principal {
                path: path.to_path_buf(),
                index: i + 1,
                message,
            };
            let (hash, principal) = entry.to_principal().map_err(fail)?;
            if entries.iter().any(|(_, p)| p.id() == principal.id()) {
                return Err(fail(format!("id `{}` appears twice", principal.id())));
            }
            if entries.iter().any(|(h, _)| h.ct_eq(&hash)) {
                return Err(fail(
                    "key_hash is the same as another principal's: every principal needs its own key"
                        .to_owned(),
                ));
            }
            entries.push((hash, principal));
        }
        Ok(StaticKeys { entries })
    }

    /// How many principals there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principals that act for a tenant `catalog` does not serve, each in a sentence
    /// that says what to fix. `datavern serve` refuses to start with any: such a principal
    /// would be refused on every route anyway (`tenant_unknown` at authentication).
    pub fn unserved_tenants(&self, catalog: &Catalog) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, p)| catalog.deployment().tenant(&p.tenant()).is_none())
            .map(|(_, p)| {
                format!(
                    "principal `{}` acts for tenant {}, which the catalog does not serve: \
                     remove it from the principals file, or add the tenant to the catalog",
                    p.id(),
                    p.tenant()
                )
            })
            .collect()
    }

    /// Warnings about principals that may invoke a purpose `catalog` does not declare. Such
    /// principals still load (the catalog may be about to change), but requests for that
    /// purpose are refused. (A tenant the catalog does not serve is an error:
    /// [`unserved_tenants`](Self::unserved_tenants).)
    pub fn check_against(&self, catalog: &Catalog) -> Vec<String> {
        let mut warnings = Vec::new();
        for (_, principal) in &self.entries {
            for purpose in principal.purposes() {
                if catalog.purpose(purpose.as_str()).is_none() {
                    warnings.push(format!(
                        "principal `{}` may invoke purpose `{purpose}`, which the catalog does \
                         not declare",
                        principal.id()
                    ));
                }
            }
        }
        warnings
    }
}

#[async_trait]
impl Authenticator for StaticKeys {
    async fn authenticate(&self, token: BearerToken<'_>) -> Result<Principal, AuthError> {
        let presented = ApiKeyHash::of(token.expose());
        // No early exit: every hash is compared.
        let mut found = None;
        for (hash, principal) in &self.entries {
            if hash.ct_eq(&presented) && found.is_none() {
                found = Some(principal);
            }
        }
        found.cloned().ok_or(AuthError::NotRecognised)
    }
}

/// Refuses a file or directory that group or others may write.
fn check_not_writable_by_others(
    what: &'static str,
    path: &Path,
    meta: &std::fs::Metadata,
) -> Result<(), PrincipalsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        let by = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (false, false) => return Ok(()),
            (true, false) => "group",
            (false, true) => "others",
            (true, true) => "group and others",
        };
        Err(PrincipalsError::Permissions {
            what,
            path: path.to_path_buf(),
            mode,
            by,
            fix: "go-w",
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (what, path, meta);
        Ok(())
    }
}

impl PrincipalEntry {
    /// An entry for `principal` with the hash of its key.
    pub fn new(principal: &Principal, key_hash: &ApiKeyHash) -> Self {
        PrincipalEntry {
            id: principal.id().to_string(),
            tenant: principal.tenant().to_string(),
            roles: principal.roles().iter().map(ToString::to_string).collect(),
            clearance: principal.clearance().to_string(),
            purposes: principal
                .purposes()
                .iter()
                .map(ToString::to_string)
                .collect(),
            key_hash: key_hash.to_string(),
        }
    }

    /// The typed principal and its key hash; the error says which value is wrong.
    pub fn to_principal(&self) -> Result<(ApiKeyHash, Principal), String> {
        let id = PrincipalId::parse(&self.id).map_err(|e| format!("id: {e}"))?;
        let tenant = Kommunenummer::parse(&self.tenant).map_err(|e| format!("tenant: {e}"))?;
        let clearance: Classification = self
            .clearance
            .parse()
            .map_err(|e| format!("clearance: {e}"))?;
        let roles = self
            .roles
            .iter()
            .map(|r| Role::parse(r).map_err(|e| format!("roles: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let purposes = self
            .purposes
            .iter()
            .map(|p| PurposeId::parse(p).map_err(|e| format!("purposes: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let hash: ApiKeyHash = self
            .key_hash
            .parse()
            .map_err(|e: InvalidApiKeyHash| format!("key_hash: {e}"))?;
        let principal = Principal::new(id, tenant, clearance)
            .with_roles(roles)
            .with_purposes(purposes);
        Ok((hash, principal))
    }
}

impl PrincipalsFile {
    /// The file as TOML, with a header saying what it is.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# datavern principals: who may call the API, with the SHA-256 hash of each API key.\n\
             # The keys themselves are not stored anywhere; a lost key is replaced, not recovered.\n\
             # Clearance: ÅPEN, BEGRENSET, KONFIDENSIELT, HEMMELIG or STRENGT HEMMELIG.\n",
        );
        for entry in &self.principals {
            out.push('\n');
            // A table of strings and string arrays: serialization cannot fail.
            let table = toml::to_string(&SingleEntry {
                principals: std::slice::from_ref(entry),
            })
            .unwrap_or_default();
            let _ = write!(out, "{table}");
        }
        out
    }
}

#[derive(Serialize)]
struct SingleEntry<'a> {
    principals: &'a [PrincipalEntry],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, hash: &ApiKeyHash) -> PrincipalEntry {
        PrincipalEntry {
            id: id.to_owned(),
            tenant: "4601".to_owned(),
            roles: vec!["developer".to_owned()],
            clearance: "BEGRENSET".to_owned(),
            purposes: vec!["innbyggerregister".to_owned()],
            key_hash: hash.to_string(),
        }
    }

    #[tokio::test]
    async fn rendered_file_loads_and_authenticates_its_key_only() {
        let key = datavern_crypto::ApiKey::generate().unwrap();
        let other = datavern_crypto::ApiKey::generate().unwrap();
        let file = PrincipalsFile {
            principals: vec![entry("dev", &key.hash()), entry("app", &other.hash())],
        };
        let text = file.to_toml();
        assert!(!text.contains(key.expose_secret()), "{text}");
        let keys = StaticKeys::from_toml(&text, Path::new("principals.toml")).unwrap();
        assert_eq!(keys.len(), 2);
        let principal = keys
            .authenticate(BearerToken::new(key.expose_secret()))
            .await
            .unwrap();
        assert_eq!(principal.id().as_str(), "dev");
        assert_eq!(principal.clearance(), Classification::Begrenset);
        assert!(principal.may_use("innbyggerregister"));
        assert!(matches!(
            keys.authenticate(BearerToken::new("dvk_nope")).await,
            Err(AuthError::NotRecognised)
        ));
    }

    #[test]
    fn invalid_principals_are_refused_with_their_position() {
        let hash = ApiKeyHash::of("k");
        let check = |file: PrincipalsFile, expected: &str| {
            let err = StaticKeys::from_toml(&file.to_toml(), Path::new("p.toml"))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(expected), "{err}");
        };
        let mut bad = entry("dev", &hash);
        bad.clearance = "TOPP HEMMELIG".to_owned();
        check(
            PrincipalsFile {
                principals: vec![bad],
            },
            "principal #1: clearance: unknown classification",
        );
        let mut bad = entry("dev", &hash);
        bad.key_hash = "dvk_secret".to_owned();
        check(
            PrincipalsFile {
                principals: vec![bad],
            },
            "principal #1: key_hash: invalid API key hash",
        );
        check(
            PrincipalsFile {
                principals: vec![entry("dev", &hash), entry("dev", &ApiKeyHash::of("j"))],
            },
            "principal #2: id `dev` appears twice",
        );
        check(
            PrincipalsFile {
                principals: vec![entry("a", &hash), entry("b", &hash)],
            },
            "principal #2: key_hash is the same",
        );
        let err = StaticKeys::from_toml("[[principals]]\nid = 1\n", Path::new("p.toml"))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("principals file p.toml is malformed")
        );
    }
}
