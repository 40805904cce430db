//! A live store with residents, a local repository, and erasure through a request.

use std::path::PathBuf;
use std::sync::Arc;

use datavern_backup::{Backups, Placement, RepositoryConfig, RepositorySpec};
use datavern_core::access::{Principal, PrincipalId};
use datavern_core::classification::Classification;
use datavern_core::dsr::{IdentifiedBy, Parameters, RequestType, Verification, VerificationMethod};
use datavern_core::residency::Location;
use datavern_governance::Governance;
use datavern_governance::requests::{Actor, NewRequest};
use datavern_governance::rights::RunInput;
use datavern_sql::Backend;
use datavern_store::SubjectId;
use datavern_testkit::Env;
use datavern_testkit::fixtures::tenant;
use tempfile::TempDir;
use uuid::Uuid;

pub(crate) use datavern_testkit::on_every_backend;

/// A live store (the example catalog, two tenants) and a repository in a temporary
/// directory, declared to be in Norway.
pub(crate) struct Setup {
    pub(crate) env: Env,
    pub(crate) governance: Governance,
    pub(crate) dir: TempDir,
    pub(crate) backups: Backups,
}

impl Setup {
    pub(crate) async fn new(backend: Backend) -> Setup {
        let env = Env::kommune(backend).await;
        let governance =
            Governance::builder(env.store.clone(), env.catalog.clone(), env.kek.clone()).build();
        let dir = tempfile::tempdir().expect("temp dir");
        let backups = backups(
            &env,
            local_config(&dir, Some(Placement::Location(Location::No))),
        );
        backups.init().await.expect("init");
        Setup {
            env,
            governance,
            dir,
            backups,
        }
    }

    /// Erases `subject` through a data subject request: received and verified by one DPO,
    /// run by another (four eyes).
    pub(crate) async fn erase(&self, subject: Uuid) {
        let requests = self.governance.requests();
        let dpo = |id: &str| Actor {
            principal: id.to_owned(),
            request_id: None,
        };
        let request = requests
            .create(
                NewRequest {
                    tenant: tenant("4601"),
                    request_type: RequestType::Erasure,
                    identified_by: IdentifiedBy::SubjectId,
                    subjects: vec![SubjectId::from_uuid(subject)],
                    parameters: Parameters::default(),
                },
                &dpo("personvernombud-1"),
            )
            .await
            .expect("create request");
        requests
            .verify(
                tenant("4601"),
                request.id,
                Verification::new(VerificationMethod::Letter),
                &dpo("personvernombud-1"),
            )
            .await
            .expect("verify request");
        let runner = Principal::new(
            PrincipalId::parse("personvernombud-2").expect("id"),
            tenant("4601"),
            Classification::StrengtHemmelig,
        );
        self.governance
            .rights()
            .run(requests, &runner, request.id, RunInput::default())
            .await
            .unwrap_or_else(|err| panic!("erasure: {}", datavern_sql::report(&err)));
    }

    pub(crate) async fn finish(self) {
        self.env.finish().await;
    }
}

/// A local repository in `dir/repo`, its password file beside it.
pub(crate) fn local_config(dir: &TempDir, placement: Option<Placement>) -> RepositoryConfig {
    RepositoryConfig {
        spec: RepositorySpec::Local(dir.path().join("repo")),
        password_file: dir.path().join("repo.password"),
        name: "datavern".to_owned(),
        placement,
        cache_dir: None,
    }
}

/// The backup service of `env`'s store on `config`.
pub(crate) fn backups(env: &Env, config: RepositoryConfig) -> Backups {
    let text = datavern_testkit::fixtures::kommune_two_tenants();
    Backups::new(
        env.store.clone(),
        env.catalog.clone(),
        text,
        Arc::clone(&env.kek),
        config,
    )
}

/// The files under `dir`, recursively.
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
