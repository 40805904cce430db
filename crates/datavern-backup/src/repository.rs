//! The restic repository through rustic: created with a random password that only the KEK
//! unwraps, opened, and every blocking rustic call run off the async runtime.

use std::sync::Arc;

use datavern_crypto::{KekProvider, RepositoryPassword};
use rustic_backend::BackendOptions;
use rustic_core::{
    ConfigOptions, Credentials, KeyOptions, OpenStatus, Repository as RusticRepository,
    RepositoryOptions,
};

use crate::config::{RepositoryConfig, RepositorySpec};
use crate::error::{BackupError, Refusal, Result};
use crate::progress::{Bars, ProgressMode};

/// A repository that opens: every operation opens it anew on the blocking pool (rustic's
/// open repository is consumed by indexing).
#[derive(Clone)]
pub(crate) struct Repository {
    unopened: RusticRepository<()>,
    password: Arc<RepositoryPassword>,
}

impl Repository {
    /// Creates the repository: a random password, its wrap written to the password file
    /// (never over an existing one), then the repository itself (repository format 2, which
    /// restic 0.14 and later read).
    pub(crate) async fn init(
        config: &RepositoryConfig,
        kek: &dyn KekProvider,
        progress: ProgressMode,
    ) -> Result<Repository> {
        if tokio::fs::try_exists(&config.password_file)
            .await
            .map_err(|err| BackupError::io("cannot read the password file's directory", err))?
        {
            return Err(BackupError::refused(
                Refusal::AlreadyInitialized,
                format!(
                    "the password file {} exists already: the repository was initialized; \
                     remove the file only if its repository is gone",
                    config.password_file.display()
                ),
            ));
        }
        let password = RepositoryPassword::generate()?;
        let wrapped = password.wrap(kek, &config.name).await?;
        let unopened = unopened(&config.spec, config, progress)?;
        let credentials = Credentials::password(password.expose());
        let password = Arc::new(password);
        let repository = Repository {
            unopened: unopened.clone(),
            password,
        };
        blocking(move || {
            if unopened
                .config_id()
                .map_err(|e| BackupError::rustic(&e))?
                .is_some()
            {
                return Err(BackupError::refused(
                    Refusal::AlreadyInitialized,
                    "the repository exists already; give its password file, or choose an \
                     empty location",
                ));
            }
            let config_opts = ConfigOptions::default().set_version(Some(2));
            unopened
                .init(&credentials, &KeyOptions::default(), &config_opts)
                .map_err(|e| BackupError::rustic(&e))?;
            Ok(())
        })
        .await?;
        if let Some(parent) = config.password_file.parent()
            && !parent.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(parent).await.map_err(|err| {
                BackupError::io("cannot create the password file's directory", err)
            })?;
        }
        RepositoryPassword::write_wrapped(&config.password_file, &wrapped).await?;
        Ok(repository)
    }

    /// Opens the repository with the password the KEK unwraps.
    pub(crate) async fn open(
        config: &RepositoryConfig,
        kek: &dyn KekProvider,
        progress: ProgressMode,
    ) -> Result<Repository> {
        let password = password(config, kek).await?;
        let unopened = unopened(&config.spec, config, progress)?;
        let repository = Repository {
            unopened: unopened.clone(),
            password: Arc::new(password),
        };
        let credentials = Credentials::password(repository.password.expose());
        blocking(move || {
            if unopened
                .config_id()
                .map_err(|e| BackupError::rustic(&e))?
                .is_none()
            {
                return Err(BackupError::refused(
                    Refusal::NotInitialized,
                    "the repository holds no restic repository: run `datavern backup init`",
                ));
            }
            unopened
                .open(&credentials)
                .map_err(|e| BackupError::rustic(&e))?;
            Ok(())
        })
        .await?;
        Ok(repository)
    }

    /// Runs `f` on the open repository off the async runtime.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(RusticRepository<OpenStatus>) -> Result<T> + Send + 'static,
    {
        let unopened = self.unopened.clone();
        let password = self.password.clone();
        blocking(move || {
            let credentials = Credentials::password(password.expose());
            let repo = unopened
                .open(&credentials)
                .map_err(|e| BackupError::rustic(&e))?;
            f(repo)
        })
        .await
    }
}

/// The repository's password, unwrapped from its file by the KEK.
pub(crate) async fn password(
    config: &RepositoryConfig,
    kek: &dyn KekProvider,
) -> Result<RepositoryPassword> {
    if !tokio::fs::try_exists(&config.password_file)
        .await
        .map_err(|err| BackupError::io("cannot read the password file", err))?
    {
        return Err(BackupError::refused(
            Refusal::NotInitialized,
            format!(
                "no password file at {}: run `datavern backup init` to create the repository, \
                 or set backup.password_file to the file it wrote",
                config.password_file.display()
            ),
        ));
    }
    let wrapped = RepositoryPassword::read_wrapped(&config.password_file).await?;
    Ok(RepositoryPassword::unwrap(kek, &wrapped, &config.name).await?)
}

fn unopened(
    spec: &RepositorySpec,
    config: &RepositoryConfig,
    progress: ProgressMode,
) -> Result<RusticRepository<()>> {
    let (repository, options) = spec.backend_options();
    let backend = BackendOptions::default().repository(repository).options(
        options
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
    );
    let backends = backend.to_backends().map_err(|e| BackupError::rustic(&e))?;
    let options = match &config.cache_dir {
        Some(dir) => RepositoryOptions::default().cache_dir(dir.clone()),
        None => RepositoryOptions::default().no_cache(true),
    };
    RusticRepository::new_with_progress(&options, &backends, Bars(progress))
        .map_err(|e| BackupError::rustic(&e))
}

/// Runs blocking rustic work on tokio's blocking pool (rustic blocks, and its OpenDAL
/// backend runs a runtime of its own, which may not start inside an async task).
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| BackupError::Repository(format!("a repository task failed: {err}")))?
}
