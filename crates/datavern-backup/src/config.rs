//! Where a backup repository is and how to reach it.

use std::fmt;
use std::path::PathBuf;

use datavern_core::residency::Location;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BackupError;

/// Where the repository lives: a local directory, or a prefix in an S3 bucket.
#[derive(Clone)]
pub enum RepositorySpec {
    /// A directory on this machine (or a mounted one).
    Local(PathBuf),
    /// A prefix in an S3-compatible bucket.
    S3(S3Target),
}

/// An S3-compatible object store target. `Debug` never shows the secret key.
#[derive(Clone)]
pub struct S3Target {
    /// The bucket.
    pub bucket: String,
    /// The prefix inside it (no leading or trailing slash; empty for the bucket's root).
    pub prefix: String,
    /// The endpoint URL (`https://s3.example.no`); path-style requests are used.
    pub endpoint: String,
    /// The region (`us-east-1` where the store ignores it).
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
}

impl RepositorySpec {
    /// Parses `--repo`: `s3://bucket/prefix` (the endpoint and credentials come from
    /// `s3`), or a local path.
    pub fn parse(text: &str, s3: Option<S3Settings>) -> Result<RepositorySpec, BackupError> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BackupError::Config(
                    "the repository s3:// URL names no bucket: write s3://bucket/prefix".into(),
                ));
            }
            let Some(s3) = s3 else {
                return Err(BackupError::Config(
                    "an s3:// repository needs backup.s3.endpoint, backup.s3.access_key_id and \
                     backup.s3.secret_access_key (or DATAVERN_BACKUP__S3__…)"
                        .into(),
                ));
            };
            return Ok(RepositorySpec::S3(S3Target {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                endpoint: s3.endpoint,
                region: s3.region.unwrap_or_else(|| "us-east-1".to_owned()),
                access_key_id: s3.access_key_id,
                secret_access_key: s3.secret_access_key,
            }));
        }
        if text.contains("://") {
            return Err(BackupError::Config(
                "the repository is a local path or s3://bucket/prefix; other schemes are not \
                 supported"
                    .into(),
            ));
        }
        if text.trim().is_empty() {
            return Err(BackupError::Config(
                "no repository: give --repo PATH|s3://bucket/prefix or backup.repository".into(),
            ));
        }
        Ok(RepositorySpec::Local(PathBuf::from(text)))
    }

    /// The repository as `restic -r` names it (no credentials).
    pub fn display(&self) -> String {
        match self {
            RepositorySpec::Local(path) => path.display().to_string(),
            RepositorySpec::S3(s3) => {
                let endpoint = s3.endpoint.trim_end_matches('/');
                if s3.prefix.is_empty() {
                    format!("s3:{endpoint}/{}", s3.bucket)
                } else {
                    format!("s3:{endpoint}/{}/{}", s3.bucket, s3.prefix)
                }
            }
        }
    }

    /// The options rustic's OpenDAL backend takes for this target.
    pub(crate) fn backend_options(&self) -> (String, Vec<(String, String)>) {
        match self {
            RepositorySpec::Local(path) => (path.display().to_string(), Vec::new()),
            RepositorySpec::S3(s3) => (
                "opendal:s3".to_owned(),
                vec![
                    ("bucket".into(), s3.bucket.clone()),
                    ("root".into(), format!("/{}", s3.prefix)),
                    ("endpoint".into(), s3.endpoint.clone()),
                    ("region".into(), s3.region.clone()),
                    ("access_key_id".into(), s3.access_key_id.clone()),
                    (
                        "secret_access_key".into(),
                        s3.secret_access_key.expose_secret().to_owned(),
                    ),
                    // Path-style requests, and no credentials from the environment or
                    // ~/.aws: only what the configuration gives.
                    ("enable_virtual_host_style".into(), "false".into()),
                    ("disable_config_load".into(), "true".into()),
                    ("disable_ec2_metadata".into(), "true".into()),
                ],
            ),
        }
    }
}

impl fmt::Debug for RepositorySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// S3 endpoint and credentials, from the configuration.
#[derive(Clone)]
pub struct S3Settings {
    /// The endpoint URL.
    pub endpoint: String,
    /// The region, if the store wants one.
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where the repository declares itself to be, for the residency check before a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A storage target of kind `backup` in the catalog: its location and its
    /// `collections:` govern.
    Target(String),
    /// A location given in the configuration.
    Location(Location),
}

/// A backup repository: where it is, the file that holds its wrapped password, and where it
/// declares itself to be.
#[derive(Debug, Clone)]
pub struct RepositoryConfig {
    /// The repository.
    pub spec: RepositorySpec,
    /// The file holding the password wrapped by the KEK (mode 0600).
    pub password_file: PathBuf,
    /// The name the password's wrap is bound to (`backup.name`, default `datavern`).
    pub name: String,
    /// Where the repository is, for the residency check; required to write a backup.
    pub placement: Option<Placement>,
    /// rustic's local cache directory; none means no cache (every read goes to the target).
    pub cache_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::{RepositorySpec, S3Settings};

    fn s3() -> S3Settings {
        S3Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            region: None,
            access_key_id: "key".into(),
            secret_access_key: "secret".to_owned().into(),
        }
    }

    #[test]
    fn repository_specs_parse_to_local_paths_or_s3_prefixes() {
        let local = RepositorySpec::parse("/var/backups/dv", None).expect("local");
        assert_eq!(local.display(), "/var/backups/dv");
        let remote = RepositorySpec::parse("s3://bucket/a/b/", Some(s3())).expect("s3");
        assert_eq!(remote.display(), "s3:http://127.0.0.1:9000/bucket/a/b");
        assert!(!format!("{remote:?}").contains("secret"));
        assert!(!format!("{:?}", s3()).contains("secret"));
        for bad in ["s3://", "", "ftp://host/x"] {
            assert!(RepositorySpec::parse(bad, Some(s3())).is_err(), "{bad}");
        }
        assert!(RepositorySpec::parse("s3://bucket/x", None).is_err());
    }
}
