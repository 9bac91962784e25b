//! The harness and builders of the store story tests.
//!
//! - [`on_both_backends!`] turns each story `async fn NAME(db: Arc<TestDb>)` into a module
//!   `NAME` holding two tests, `NAME::sqlite` and `NAME::postgres`.
//! - [`run`] runs one story on one fresh database and always cleans the database up, even
//!   when the story panics (the story runs in its own task; its panic is re-raised after).
//! - The builders make valid inputs with plain defaults; stories change what they test with
//!   struct update syntax (`NewDeployment { task: "migrate".into(), ..deploy(&repo, 1, "qa") }`).

use ferry_domain::deployment::RequiredContexts;
use ferry_domain::{
    CommitState, DeploymentId, DeploymentSource, EnvName, Page, Scope, Sha, StatusState,
};
use ferry_store::model::{
    Actor, EnvironmentSettings, NewCommitStatus, NewDeployment, NewRepo, NewStatus, NewToken, Repo,
};
use ferry_store::testing::TestDb;
use ferry_store::RepoStore;
use std::future::Future;
use std::sync::Arc;

/// Generates `mod NAME { sqlite(), postgres() }` for each story function `NAME`.
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = ferry_store::testing::sqlite().await;
                $crate::support::run(Some(db), super::$story).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let db = ferry_store::testing::postgres(stringify!($story)).await;
                $crate::support::run(db, super::$story).await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Runs `story` on `db` (`None`: PostgreSQL unreachable, already reported as skipped), then
/// cleans the database up and re-raises the story's panic, if any.
pub async fn run<F, Fut>(db: Option<TestDb>, story: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = db else { return };
    let db = Arc::new(db);
    let outcome = tokio::spawn(story(Arc::clone(&db))).await;
    match Arc::try_unwrap(db) {
        Ok(db) => db.cleanup().await,
        Err(_) => eprintln!("a task of the story still holds the database: not cleaned up"),
    }
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("story task failed: {e}");
    }
}

/// The backend a test database runs on, as `Store::backend` names it.
pub fn backend_of(db: &TestDb) -> &'static str {
    if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

pub fn bot() -> Actor {
    Actor {
        id: 7,
        login: "ci-bot".into(),
        bot: true,
    }
}

/// A distinct, valid commit id per `n`.
pub fn sha(n: u32) -> Sha {
    Sha::parse(&format!("{n:040x}")).expect("valid sha")
}

pub fn env(name: &str) -> EnvName {
    EnvName::parse(name).expect("valid environment name")
}

pub fn page(page: u32, per_page: u32) -> Page {
    Page { page, per_page }
}

pub async fn repo(db: &TestDb, full_name: &str) -> Repo {
    db.store
        .create_repo(NewRepo {
            slug: ferry_domain::RepoSlug::parse(full_name).expect("valid slug"),
            git_url: None,
            default_branch: "main".into(),
            github_webhook_secret: None,
        })
        .await
        .expect("create repo")
}

pub fn token(name: &str, scopes: &[Scope], hash: &str) -> NewToken {
    NewToken {
        name: name.into(),
        scopes: scopes.to_vec(),
        token_hash: hash.into(),
    }
}

/// A deployment of `sha(n)` to `environment`, without a required-contexts check.
pub fn deploy(repo: &Repo, n: u32, environment: &str) -> NewDeployment {
    NewDeployment {
        repo_id: repo.id,
        source: DeploymentSource::Api,
        sha: sha(n),
        git_ref: "main".into(),
        task: "deploy".into(),
        payload: "{}".into(),
        environment: env(environment),
        description: None,
        transient_environment: false,
        production_environment: false,
        creator: bot(),
        required_contexts: RequiredContexts::Skip,
    }
}

/// A status that inherits its environment, with `auto_inactive` on (the API's default).
pub fn status(deployment: DeploymentId, state: StatusState) -> NewStatus {
    NewStatus {
        deployment_id: deployment,
        state,
        description: String::new(),
        environment: None,
        target_url: String::new(),
        log_url: String::new(),
        environment_url: String::new(),
        auto_inactive: true,
        creator: bot(),
    }
}

pub fn commit_status(repo: &Repo, n: u32, context: &str, state: CommitState) -> NewCommitStatus {
    NewCommitStatus {
        repo_id: repo.id,
        sha: sha(n),
        context: context.into(),
        state,
        target_url: None,
        description: None,
        creator: bot(),
    }
}

pub fn settings(wait_timer: i64) -> EnvironmentSettings {
    EnvironmentSettings {
        wait_timer,
        prevent_self_review: false,
        reviewers: "[]".into(),
        branch_policy: None,
    }
}
