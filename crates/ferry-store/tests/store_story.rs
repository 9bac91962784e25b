//! Story tests of the store: each story walks one aggregate through the rules of
//! compat/github.md §2–§3 and runs on both backends (`STORY::sqlite`, `STORY::postgres`).
//!
//! PostgreSQL comes from `FERRY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`);
//! when it is unreachable the PostgreSQL half prints SKIPPED, except under `CI=true` where it
//! fails. Run one backend with `cargo test -p ferry-store --test store_story sqlite`.

mod support;

use ferry_domain::deployment::{combined_state, RequiredContexts};
use ferry_domain::{CommitState, DeploymentId, Scope, StatusId, StatusState, Timestamp, TokenId};
use ferry_store::model::{
    Deployment, DeploymentFilter, EnvironmentSettings, NewDeployment, NewRepo, NewStatus,
    MAX_STATUSES_PER_CONTEXT,
};
use ferry_store::testing::TestDb;
use ferry_store::{
    CommitStatusStore, DeploymentStore, EnvironmentStore, RepoStore, Store, StoreError, TokenStore,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::*;

on_both_backends!(
    health,
    tokens,
    repos,
    deployment_create_and_get,
    deployment_list_filters_and_pages,
    deployment_delete_rule,
    statuses_and_environment_inheritance,
    auto_inactivation,
    required_contexts,
    environments,
    commit_statuses,
    commit_status_cap,
    concurrent_deployments,
    deployment_counts_follow_every_change,
);

fn ids(deployments: &[Deployment]) -> Vec<DeploymentId> {
    deployments.iter().map(|d| d.id).collect()
}

async fn list(
    db: &TestDb,
    filter: DeploymentFilter,
    page: ferry_domain::Page,
) -> (Vec<DeploymentId>, u64) {
    let (items, total) = db
        .store
        .list_deployments(&filter, page)
        .await
        .expect("list deployments");
    (ids(&items), total)
}

async fn get(db: &TestDb, d: &Deployment) -> Deployment {
    db.store
        .deployment(d.repo_id, d.id)
        .await
        .expect("get deployment")
        .expect("deployment exists")
}

async fn create(db: &TestDb, new: NewDeployment) -> Deployment {
    db.store
        .create_deployment(new)
        .await
        .expect("create deployment")
}

async fn post(db: &TestDb, d: &Deployment, new: NewStatus) -> ferry_store::model::StatusCreated {
    db.store
        .create_status(d.repo_id, new)
        .await
        .expect("create status")
}

/// A `success` status that inactivates nothing (for setting the scene).
fn quiet_success(d: &Deployment) -> NewStatus {
    NewStatus {
        auto_inactive: false,
        ..status(d.id, StatusState::Success)
    }
}

async fn health(db: Arc<TestDb>) {
    db.store.ping().await.expect("ping");
    assert_eq!(db.store.backend(), backend_of(&db));
}

async fn tokens(db: Arc<TestDb>) {
    let s = &db.store;
    assert_eq!(s.count_admin_tokens().await.expect("count"), 0);
    assert!(s.list_tokens().await.expect("list").is_empty());

    let before = Timestamp::now();
    let admin = s
        .create_token(token("root", &[Scope::Admin], "hash-admin"))
        .await
        .expect("create admin token");
    let ci = s
        .create_token(token("ci", &[Scope::Write, Scope::Ingest], "hash-ci"))
        .await
        .expect("create ci token");
    assert_eq!(admin.name, "root");
    assert_eq!(admin.scopes, vec![Scope::Admin]);
    assert_eq!(ci.scopes, vec![Scope::Write, Scope::Ingest]);
    assert!(admin.created_at >= before);
    assert!(!admin.actor().bot, "admin tokens act as users");
    assert!(ci.actor().bot, "service tokens act as bots");

    // Lookup by hash.
    let found = s
        .token_by_hash("hash-ci")
        .await
        .expect("lookup")
        .expect("ci token found");
    assert_eq!((found.id, found.name.as_str()), (ci.id, "ci"));
    assert_eq!(found.scopes, ci.scopes);
    assert!(s
        .token_by_hash("hash-nope")
        .await
        .expect("lookup")
        .is_none());

    // The hash is unique.
    let dup = s
        .create_token(token("again", &[Scope::Read], "hash-ci"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    // Listed in creation order.
    let listed = s.list_tokens().await.expect("list");
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![admin.id, ci.id]
    );
    assert_eq!(s.count_admin_tokens().await.expect("count"), 1);

    // ensure_token is idempotent on the hash and creates otherwise.
    let again = s
        .ensure_token(token("root", &[Scope::Admin], "hash-admin"))
        .await
        .expect("ensure existing");
    assert_eq!(again.id, admin.id);
    let second_admin = s
        .ensure_token(token("ops", &[Scope::Admin], "hash-ops"))
        .await
        .expect("ensure new");
    assert_ne!(second_admin.id, admin.id);
    let third = s
        .ensure_token(token("ops", &[Scope::Admin], "hash-ops"))
        .await
        .expect("ensure again");
    assert_eq!(third.id, second_admin.id);
    assert_eq!(s.list_tokens().await.expect("list").len(), 3);
    assert_eq!(s.count_admin_tokens().await.expect("count"), 2);

    // Delete.
    s.delete_token(admin.id).await.expect("delete");
    assert!(s
        .token_by_hash("hash-admin")
        .await
        .expect("lookup")
        .is_none());
    assert_eq!(s.count_admin_tokens().await.expect("count"), 1);
    assert!(matches!(
        s.delete_token(admin.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_token(TokenId(999_999)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.list_tokens().await.expect("list").len(), 2);
}

async fn repos(db: Arc<TestDb>) {
    let s = &db.store;
    let web = s
        .create_repo(NewRepo {
            slug: ferry_domain::RepoSlug::parse("Acme/Web").expect("slug"),
            git_url: Some("https://git.example/acme/web.git".into()),
            default_branch: "trunk".into(),
            github_webhook_secret: None,
        })
        .await
        .expect("create");
    assert_eq!(
        web.slug.full_name(),
        "Acme/Web",
        "the case it was created with"
    );
    assert_eq!(
        web.git_url.as_deref(),
        Some("https://git.example/acme/web.git")
    );
    assert_eq!(web.default_branch, "trunk");

    // Case-insensitive lookup.
    for spelling in ["Acme/Web", "acme/web", "ACME/WEB"] {
        let slug = ferry_domain::RepoSlug::parse(spelling).expect("slug");
        let found = s.repo_by_slug(&slug).await.expect("lookup").expect("found");
        assert_eq!(found.id, web.id, "{spelling}");
        assert_eq!(found.slug.full_name(), "Acme/Web");
    }
    let unknown = ferry_domain::RepoSlug::parse("acme/api").expect("slug");
    assert!(s.repo_by_slug(&unknown).await.expect("lookup").is_none());

    // A name taken in another case is a conflict.
    let dup = s
        .create_repo(NewRepo {
            slug: ferry_domain::RepoSlug::parse("acme/WEB").expect("slug"),
            git_url: None,
            default_branch: "main".into(),
            github_webhook_secret: None,
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let api = repo(&db, "acme/api").await;
    let zed = repo(&db, "Zed/tools").await;
    assert!(api.git_url.is_none());
    let listed = s.list_repos().await.expect("list");
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![api.id, web.id, zed.id],
        "ordered by full name, case-insensitively"
    );
}

async fn deployment_create_and_get(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let other = repo(&db, "acme/other").await;
    assert!(s
        .environment(web.id, &env("staging"))
        .await
        .expect("get")
        .is_none());

    let before = Timestamp::now();
    let d = create(
        &db,
        NewDeployment {
            git_ref: "refs/heads/feature/x".into(),
            task: "deploy:migrate".into(),
            payload: r#""a string payload""#.into(),
            description: Some("first".into()),
            transient_environment: true,
            ..deploy(&web, 1, "staging")
        },
    )
    .await;
    assert_eq!(d.repo_id, web.id);
    assert_eq!(d.sha, sha(1));
    assert_eq!(d.git_ref, "refs/heads/feature/x");
    assert_eq!(d.task, "deploy:migrate");
    assert_eq!(d.payload, r#""a string payload""#, "payload kept verbatim");
    assert_eq!(d.environment, env("staging"));
    assert_eq!(d.original_environment, env("staging"));
    assert_eq!(d.description.as_deref(), Some("first"));
    assert!(d.transient_environment);
    assert!(!d.production_environment);
    assert_eq!(d.creator, bot());
    assert_eq!(d.latest_state, None);
    assert!(d.created_at >= before);
    assert_eq!(d.created_at, d.updated_at);

    // Its environment now exists (decision D4), once.
    let staging = s
        .environment(web.id, &env("staging"))
        .await
        .expect("get")
        .expect("environment auto-created");
    assert_eq!(staging.repo_id, web.id);
    let d2 = create(
        &db,
        NewDeployment {
            payload: r#"{"k":[1,2]}"#.into(),
            production_environment: true,
            ..deploy(&web, 2, "staging")
        },
    )
    .await;
    assert!(d2.id > d.id);
    assert_eq!(d2.payload, r#"{"k":[1,2]}"#);
    assert!(d2.description.is_none());
    assert!(d2.production_environment);
    let (envs, total) = s
        .list_environments(web.id, page(1, 30))
        .await
        .expect("list environments");
    assert_eq!(total, 1);
    assert_eq!(envs[0].id, staging.id);
    // ...and only in its own repository.
    assert!(s
        .environment(other.id, &env("staging"))
        .await
        .expect("get")
        .is_none());

    // Get is scoped by repository.
    let got = get(&db, &d).await;
    assert_eq!(
        (got.id, got.sha.clone(), got.payload.clone()),
        (d.id, d.sha, d.payload)
    );
    assert!(s.deployment(other.id, d.id).await.expect("get").is_none());
    assert!(s
        .deployment(web.id, DeploymentId(999_999))
        .await
        .expect("get")
        .is_none());
}

async fn deployment_list_filters_and_pages(db: Arc<TestDb>) {
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;
    let d1 = create(&db, deploy(&web, 1, "staging")).await;
    let d2 = create(
        &db,
        NewDeployment {
            git_ref: "v1.0".into(),
            ..deploy(&web, 1, "production")
        },
    )
    .await;
    let d3 = create(
        &db,
        NewDeployment {
            task: "deploy:migrate".into(),
            ..deploy(&web, 2, "staging")
        },
    )
    .await;
    let d4 = create(&db, deploy(&web, 2, "qa")).await;
    let d5 = create(&db, deploy(&web, 3, "staging")).await;
    let elsewhere = create(&db, deploy(&api, 1, "staging")).await;

    let in_web = |f: DeploymentFilter| DeploymentFilter {
        repo_id: Some(web.id),
        ..f
    };
    let all = page(1, 30);

    // Newest first.
    assert_eq!(
        list(&db, in_web(DeploymentFilter::default()), all).await,
        (vec![d5.id, d4.id, d3.id, d2.id, d1.id], 5)
    );
    assert_eq!(
        list(&db, DeploymentFilter::default(), all).await,
        (vec![elsewhere.id, d5.id, d4.id, d3.id, d2.id, d1.id], 6),
        "no repository filter: every repository"
    );

    // Each filter alone.
    let by_sha = DeploymentFilter {
        sha: Some(sha(1).as_str().to_owned()),
        ..Default::default()
    };
    assert_eq!(
        list(&db, in_web(by_sha), all).await,
        (vec![d2.id, d1.id], 2)
    );
    let by_ref = DeploymentFilter {
        git_ref: Some("v1.0".into()),
        ..Default::default()
    };
    assert_eq!(list(&db, in_web(by_ref), all).await, (vec![d2.id], 1));
    let by_task = DeploymentFilter {
        task: Some("deploy".into()),
        ..Default::default()
    };
    assert_eq!(
        list(&db, in_web(by_task), all).await,
        (vec![d5.id, d4.id, d2.id, d1.id], 4),
        "exact match: deploy:migrate is another task"
    );
    let staging = DeploymentFilter {
        environment: Some("staging".into()),
        ..Default::default()
    };
    assert_eq!(
        list(&db, in_web(staging.clone()), all).await,
        (vec![d5.id, d3.id, d1.id], 3)
    );
    let nothing = DeploymentFilter {
        git_ref: Some("no-such-ref".into()),
        ..Default::default()
    };
    assert_eq!(list(&db, in_web(nothing), all).await, (vec![], 0));

    // Filters combine.
    let combined = DeploymentFilter {
        sha: Some(sha(2).as_str().to_owned()),
        environment: Some("staging".into()),
        ..Default::default()
    };
    assert_eq!(list(&db, in_web(combined), all).await, (vec![d3.id], 1));

    // Pages of 2: the total is that of the whole listing.
    let filter = in_web(DeploymentFilter::default());
    assert_eq!(
        list(&db, filter.clone(), page(1, 2)).await,
        (vec![d5.id, d4.id], 5)
    );
    assert_eq!(
        list(&db, filter.clone(), page(2, 2)).await,
        (vec![d3.id, d2.id], 5)
    );
    assert_eq!(
        list(&db, filter.clone(), page(3, 2)).await,
        (vec![d1.id], 5)
    );
    assert_eq!(list(&db, filter, page(4, 2)).await, (vec![], 5));
    assert_eq!(
        list(&db, in_web(staging.clone()), page(2, 2)).await,
        (vec![d1.id], 3)
    );

    // The environment filter follows the current environment (decision D2).
    post(
        &db,
        &d4,
        NewStatus {
            environment: Some(env("staging")),
            ..status(d4.id, StatusState::InProgress)
        },
    )
    .await;
    assert_eq!(
        list(&db, in_web(staging), all).await,
        (vec![d5.id, d4.id, d3.id, d1.id], 4)
    );

    // Time window: everything was created at or after `from`, nothing before it.
    let from = DeploymentFilter {
        from: Some(d1.created_at),
        ..Default::default()
    };
    assert_eq!(list(&db, in_web(from), all).await.1, 5);
    let to = DeploymentFilter {
        to: Some(d1.created_at),
        ..Default::default()
    };
    assert_eq!(list(&db, in_web(to), all).await, (vec![], 0));
}

async fn deployment_delete_rule(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;

    // Unknown, or in another repository: NotFound.
    assert!(matches!(
        s.delete_deployment(web.id, DeploymentId(999_999)).await,
        Err(StoreError::NotFound)
    ));
    let lone = create(&db, deploy(&api, 1, "staging")).await;
    assert!(matches!(
        s.delete_deployment(web.id, lone.id).await,
        Err(StoreError::NotFound)
    ));

    // Two active deployments in different environments of one repository.
    let d1 = create(&db, deploy(&web, 1, "staging")).await;
    let d2 = create(&db, deploy(&web, 2, "qa")).await;
    let d1_first = post(&db, &d1, status(d1.id, StatusState::Success))
        .await
        .status;
    post(&db, &d2, status(d2.id, StatusState::Success)).await;

    // The active one among several may not go.
    assert!(matches!(
        s.delete_deployment(web.id, d1.id).await,
        Err(StoreError::DeploymentActive)
    ));
    assert!(get(&db, &d1).await.latest_state == Some(StatusState::Success));

    // Any non-successful status deactivates it; then it goes, with its statuses.
    post(&db, &d1, status(d1.id, StatusState::Failure)).await;
    s.delete_deployment(web.id, d1.id)
        .await
        .expect("delete inactive");
    assert!(s.deployment(web.id, d1.id).await.expect("get").is_none());
    let (left, total) = s.list_statuses(d1.id, page(1, 30)).await.expect("list");
    assert!(left.is_empty());
    assert_eq!(total, 0);
    assert!(s.status(d1.id, d1_first.id).await.expect("get").is_none());
    assert!(matches!(
        s.delete_deployment(web.id, d1.id).await,
        Err(StoreError::NotFound)
    ));

    // A deployment without any status is inactive too.
    let fresh = create(&db, deploy(&web, 3, "staging")).await;
    s.delete_deployment(web.id, fresh.id)
        .await
        .expect("delete status-less");

    // The only deployment of a repository always goes, active or not; the scope is the
    // repository (decision D10), so `acme/api`'s lone deployment does not count here.
    post(&db, &lone, status(lone.id, StatusState::Success)).await;
    assert_eq!(get(&db, &d2).await.latest_state, Some(StatusState::Success));
    s.delete_deployment(web.id, d2.id)
        .await
        .expect("delete the only one");
    assert!(s.deployment(web.id, d2.id).await.expect("get").is_none());
    s.delete_deployment(api.id, lone.id)
        .await
        .expect("delete the only one");
    assert_eq!(
        list(&db, DeploymentFilter::default(), page(1, 30)).await.1,
        0
    );
}

async fn statuses_and_environment_inheritance(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let other = repo(&db, "acme/other").await;
    let d = create(&db, deploy(&web, 1, "staging")).await;

    // No environment: the deployment's.
    let before = Timestamp::now();
    let queued = post(
        &db,
        &d,
        NewStatus {
            description: "queued up".into(),
            target_url: "https://ci.example/1".into(),
            log_url: "https://ci.example/1/log".into(),
            environment_url: "https://staging.example".into(),
            ..status(d.id, StatusState::Queued)
        },
    )
    .await;
    assert!(queued.inactivated.is_empty());
    let queued = queued.status;
    assert_eq!(queued.deployment_id, d.id);
    assert_eq!(queued.state, StatusState::Queued);
    assert_eq!(queued.environment, env("staging"));
    assert_eq!(queued.description, "queued up");
    assert_eq!(queued.target_url, "https://ci.example/1");
    assert_eq!(queued.log_url, "https://ci.example/1/log");
    assert_eq!(queued.environment_url, "https://staging.example");
    assert_eq!(queued.creator, bot());
    assert!(queued.created_at >= before);
    let now = get(&db, &d).await;
    assert_eq!(now.latest_state, Some(StatusState::Queued));
    assert_eq!(now.environment, env("staging"));

    // An explicit environment moves the deployment there, keeping the original (D2); the
    // new environment exists from then on.
    let moved = post(
        &db,
        &d,
        NewStatus {
            environment: Some(env("qa")),
            ..status(d.id, StatusState::InProgress)
        },
    )
    .await
    .status;
    assert_eq!(moved.environment, env("qa"));
    let now = get(&db, &d).await;
    assert_eq!(now.environment, env("qa"));
    assert_eq!(now.original_environment, env("staging"));
    assert_eq!(now.latest_state, Some(StatusState::InProgress));
    assert!(s
        .environment(web.id, &env("qa"))
        .await
        .expect("get")
        .is_some());

    // Next status without one: the previous status's (§3.3).
    let done = post(&db, &d, status(d.id, StatusState::Failure))
        .await
        .status;
    assert_eq!(done.environment, env("qa"));
    let now = get(&db, &d).await;
    assert_eq!(now.environment, env("qa"));
    assert_eq!(now.latest_state, Some(StatusState::Failure));

    // Listed newest first, paged, with the total.
    let (items, total) = s.list_statuses(d.id, page(1, 30)).await.expect("list");
    assert_eq!(
        items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![done.id, moved.id, queued.id]
    );
    assert_eq!(total, 3);
    let (items, total) = s.list_statuses(d.id, page(2, 2)).await.expect("list");
    assert_eq!(
        items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![queued.id]
    );
    assert_eq!(total, 3);

    // Get, scoped by deployment.
    let got = s.status(d.id, moved.id).await.expect("get").expect("found");
    assert_eq!(
        (got.id, got.state, got.environment),
        (moved.id, StatusState::InProgress, env("qa"))
    );
    let d_other = create(&db, deploy(&web, 2, "staging")).await;
    assert!(s.status(d_other.id, moved.id).await.expect("get").is_none());
    assert!(s
        .status(d.id, StatusId(999_999))
        .await
        .expect("get")
        .is_none());
    let (none, total) = s
        .list_statuses(d_other.id, page(1, 30))
        .await
        .expect("list");
    assert!(none.is_empty());
    assert_eq!(total, 0);

    // Unknown deployment, or one of another repository: NotFound, nothing written.
    let unknown = s
        .create_status(web.id, status(DeploymentId(999_999), StatusState::Success))
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    let wrong_repo = s
        .create_status(other.id, status(d.id, StatusState::Success))
        .await;
    assert!(
        matches!(wrong_repo, Err(StoreError::NotFound)),
        "{wrong_repo:?}"
    );
    assert_eq!(s.list_statuses(d.id, page(1, 30)).await.expect("list").1, 3);
    assert_eq!(get(&db, &d).await.latest_state, Some(StatusState::Failure));
}

async fn auto_inactivation(db: Arc<TestDb>) {
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;

    // The scene: deployments that are all `success` (set without auto-inactivation).
    let prev = create(&db, deploy(&web, 1, "staging")).await;
    let production = create(
        &db,
        NewDeployment {
            production_environment: true,
            ..deploy(&web, 2, "staging")
        },
    )
    .await;
    let transient = create(
        &db,
        NewDeployment {
            transient_environment: true,
            ..deploy(&web, 3, "staging")
        },
    )
    .await;
    let other_env = create(&db, deploy(&web, 4, "qa")).await;
    let failed = create(&db, deploy(&web, 5, "staging")).await;
    let other_repo = create(&db, deploy(&api, 6, "staging")).await;
    // Created in qa, moved to staging by its status: counts as staging now (D2).
    let moved = create(&db, deploy(&web, 7, "qa")).await;
    for d in [&prev, &production, &transient, &other_env, &other_repo] {
        let created = post(&db, d, quiet_success(d)).await;
        assert!(created.inactivated.is_empty());
    }
    post(&db, &failed, status(failed.id, StatusState::Failure)).await;
    post(
        &db,
        &moved,
        NewStatus {
            environment: Some(env("staging")),
            ..quiet_success(&moved)
        },
    )
    .await;

    let new = create(&db, deploy(&web, 8, "staging")).await;
    let later = create(&db, deploy(&web, 9, "staging")).await;
    post(&db, &later, quiet_success(&later)).await;

    // Non-success statuses inactivate nothing.
    let progress = post(&db, &new, status(new.id, StatusState::InProgress)).await;
    assert!(progress.inactivated.is_empty());

    // `success` with auto_inactive: earlier, same repository and environment,
    // non-transient, non-production, currently success.
    let created = post(&db, &new, status(new.id, StatusState::Success)).await;
    assert_eq!(created.status.state, StatusState::Success);
    let hit: BTreeSet<DeploymentId> = created
        .inactivated
        .iter()
        .map(|s| s.deployment_id)
        .collect();
    assert_eq!(hit, BTreeSet::from([prev.id, moved.id]));
    for s in &created.inactivated {
        assert_eq!(s.state, StatusState::Inactive);
        assert_eq!(s.environment, env("staging"));
        let listed = db
            .store
            .list_statuses(s.deployment_id, page(1, 1))
            .await
            .expect("list");
        assert_eq!(listed.0[0].id, s.id, "the inactive status is the latest");
    }
    assert_eq!(
        get(&db, &prev).await.latest_state,
        Some(StatusState::Inactive)
    );
    assert_eq!(
        get(&db, &moved).await.latest_state,
        Some(StatusState::Inactive)
    );
    assert_eq!(get(&db, &moved).await.environment, env("staging"));
    for (d, state) in [
        (&production, StatusState::Success),
        (&transient, StatusState::Success),
        (&other_env, StatusState::Success),
        (&failed, StatusState::Failure),
        (&other_repo, StatusState::Success),
        (&later, StatusState::Success),
        (&new, StatusState::Success),
    ] {
        assert_eq!(get(&db, d).await.latest_state, Some(state), "{}", d.id);
    }

    // auto_inactive=false spares them...
    let quiet = create(&db, deploy(&web, 10, "staging")).await;
    let created = post(&db, &quiet, quiet_success(&quiet)).await;
    assert!(created.inactivated.is_empty());
    assert_eq!(
        get(&db, &new).await.latest_state,
        Some(StatusState::Success)
    );

    // ...and the next success with it on takes every earlier active one in staging.
    let last = create(&db, deploy(&web, 11, "staging")).await;
    let created = post(&db, &last, status(last.id, StatusState::Success)).await;
    let hit: BTreeSet<DeploymentId> = created
        .inactivated
        .iter()
        .map(|s| s.deployment_id)
        .collect();
    assert_eq!(hit, BTreeSet::from([new.id, later.id, quiet.id]));
    assert_eq!(
        get(&db, &production).await.latest_state,
        Some(StatusState::Success)
    );
}

async fn required_contexts(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;
    for (ctx, state) in [
        ("lint", CommitState::Success),
        ("ci/build", CommitState::Pending),
        ("ci/build", CommitState::Failure),
    ] {
        s.create_commit_status(commit_status(&web, 1, ctx, state))
            .await
            .expect("commit status");
    }
    // Another repository's statuses on the same commit do not count.
    s.create_commit_status(commit_status(&api, 1, "security", CommitState::Error))
        .await
        .expect("commit status");

    let failing = |required| NewDeployment {
        required_contexts: required,
        ..deploy(&web, 1, "doomed")
    };
    let assert_failed = |r: Result<Deployment, StoreError>, want: Vec<(&str, CommitState)>| {
        let want: Vec<(String, CommitState)> =
            want.into_iter().map(|(c, s)| (c.to_owned(), s)).collect();
        match r {
            Err(StoreError::ContextsFailed(got)) => assert_eq!(got, want),
            other => panic!("expected ContextsFailed, got {other:?}"),
        }
    };

    // Omitted: every reported context, at its latest state.
    let r = s
        .create_deployment(failing(RequiredContexts::AllReported))
        .await;
    match r {
        Err(StoreError::ContextsFailed(mut got)) => {
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                got,
                vec![
                    ("ci/build".to_owned(), CommitState::Failure),
                    ("lint".to_owned(), CommitState::Success)
                ]
            );
        }
        other => panic!("expected ContextsFailed, got {other:?}"),
    }
    // A list: only those, in the order given; one that never reported is pending (D6).
    assert_failed(
        s.create_deployment(failing(RequiredContexts::Listed(vec![
            "lint".into(),
            "deploy/e2e".into(),
        ])))
        .await,
        vec![
            ("lint", CommitState::Success),
            ("deploy/e2e", CommitState::Pending),
        ],
    );
    assert_failed(
        s.create_deployment(failing(RequiredContexts::Listed(vec!["CI/Build".into()])))
            .await,
        vec![("CI/Build", CommitState::Failure)],
    );

    // Nothing was written by the refusals.
    assert_eq!(
        list(&db, DeploymentFilter::default(), page(1, 30)).await.1,
        0
    );
    assert!(s
        .environment(web.id, &env("doomed"))
        .await
        .expect("get")
        .is_none());

    // `[]` skips the check; a listed green context passes, case-insensitively.
    create(&db, failing(RequiredContexts::Skip)).await;
    create(&db, failing(RequiredContexts::Listed(vec!["LINT".into()]))).await;
    // A commit nobody reported on passes the default check.
    create(
        &db,
        NewDeployment {
            required_contexts: RequiredContexts::AllReported,
            ..deploy(&web, 2, "staging")
        },
    )
    .await;

    // Once the failing context turns green (in any case), the default check passes.
    s.create_commit_status(commit_status(&web, 1, "CI/Build", CommitState::Success))
        .await
        .expect("commit status");
    let ok = create(&db, failing(RequiredContexts::AllReported)).await;
    assert_eq!(ok.environment, env("doomed"));
    assert_eq!(
        list(&db, DeploymentFilter::default(), page(1, 30)).await.1,
        4
    );
}

async fn environments(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;

    // Create.
    let created = s
        .upsert_environment(
            web.id,
            &env("qa"),
            EnvironmentSettings {
                wait_timer: 30,
                prevent_self_review: true,
                reviewers: r#"[{"type":"User","id":1}]"#.into(),
                branch_policy: Some(
                    r#"{"protected_branches":true,"custom_branch_policies":false}"#.into(),
                ),
            },
        )
        .await
        .expect("create");
    assert_eq!(created.repo_id, web.id);
    assert_eq!(created.name, env("qa"));
    assert_eq!(created.wait_timer, 30);
    assert!(created.prevent_self_review);
    assert_eq!(created.reviewers, r#"[{"type":"User","id":1}]"#);
    assert!(created.branch_policy.is_some());
    let got = s
        .environment(web.id, &env("qa"))
        .await
        .expect("get")
        .expect("found");
    assert_eq!((got.id, got.wait_timer), (created.id, 30));
    assert!(s
        .environment(api.id, &env("qa"))
        .await
        .expect("get")
        .is_none());

    // Update in place: same id and creation time, new settings.
    let updated = s
        .upsert_environment(web.id, &env("qa"), settings(0))
        .await
        .expect("update");
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.wait_timer, 0);
    assert!(!updated.prevent_self_review);
    assert_eq!(updated.reviewers, "[]");
    assert!(updated.branch_policy.is_none());

    // An environment created by a deployment gets the defaults, and can be configured.
    create(&db, deploy(&web, 1, "review/pr-1")).await;
    let auto = s
        .environment(web.id, &env("review/pr-1"))
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        (
            auto.wait_timer,
            auto.prevent_self_review,
            auto.reviewers.as_str()
        ),
        (0, false, "[]")
    );
    assert!(auto.branch_policy.is_none());
    let configured = s
        .upsert_environment(web.id, &env("review/pr-1"), settings(60))
        .await
        .expect("configure");
    assert_eq!((configured.id, configured.wait_timer), (auto.id, 60));

    // Listed by name, paged, with the total of the repository.
    for name in ["production", "alpha", "staging"] {
        s.upsert_environment(web.id, &env(name), settings(0))
            .await
            .expect("create");
    }
    s.upsert_environment(api.id, &env("beta"), settings(0))
        .await
        .expect("create");
    let names = |items: Vec<ferry_store::model::Environment>| {
        items
            .into_iter()
            .map(|e| e.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let (first, total) = s.list_environments(web.id, page(1, 3)).await.expect("list");
    assert_eq!(total, 5);
    assert_eq!(names(first), vec!["alpha", "production", "qa"]);
    let (second, total) = s.list_environments(web.id, page(2, 3)).await.expect("list");
    assert_eq!(total, 5);
    assert_eq!(names(second), vec!["review/pr-1", "staging"]);
    let (past, total) = s.list_environments(web.id, page(3, 3)).await.expect("list");
    assert!(past.is_empty());
    assert_eq!(total, 5);

    // Delete.
    s.delete_environment(web.id, &env("qa"))
        .await
        .expect("delete");
    assert!(s
        .environment(web.id, &env("qa"))
        .await
        .expect("get")
        .is_none());
    assert_eq!(
        s.list_environments(web.id, page(1, 30))
            .await
            .expect("list")
            .1,
        4
    );
    assert!(matches!(
        s.delete_environment(web.id, &env("qa")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_environment(web.id, &env("beta")).await,
        Err(StoreError::NotFound)
    ));
    assert!(s
        .environment(api.id, &env("beta"))
        .await
        .expect("get")
        .is_some());
}

async fn commit_statuses(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;

    assert!(s
        .latest_commit_statuses(web.id, &sha(1))
        .await
        .expect("latest")
        .is_empty());
    assert_eq!(combined_state(&[]), CommitState::Pending);

    let before = Timestamp::now();
    let first = s
        .create_commit_status(ferry_store::model::NewCommitStatus {
            target_url: Some("https://ci.example/1".into()),
            description: Some("building".into()),
            ..commit_status(&web, 1, "CI", CommitState::Pending)
        })
        .await
        .expect("create");
    assert_eq!(first.repo_id, web.id);
    assert_eq!(first.sha, sha(1));
    assert_eq!(first.context, "CI");
    assert_eq!(first.state, CommitState::Pending);
    assert_eq!(first.target_url.as_deref(), Some("https://ci.example/1"));
    assert_eq!(first.description.as_deref(), Some("building"));
    assert_eq!(first.creator, bot());
    assert!(first.created_at >= before);

    let mut made = vec![first.id];
    for (ctx, state) in [
        ("lint", CommitState::Success),
        ("ci", CommitState::Success),
        ("security", CommitState::Pending),
        ("Security", CommitState::Error),
    ] {
        let c = s
            .create_commit_status(commit_status(&web, 1, ctx, state))
            .await
            .expect("create");
        assert!(c.target_url.is_none() && c.description.is_none());
        made.push(c.id);
    }
    // Noise: another commit, another repository.
    s.create_commit_status(commit_status(&web, 2, "ci", CommitState::Failure))
        .await
        .expect("create");
    s.create_commit_status(commit_status(&api, 1, "ci", CommitState::Failure))
        .await
        .expect("create");

    // Latest per context, contexts compared case-insensitively, newest first.
    let latest = s
        .latest_commit_statuses(web.id, &sha(1))
        .await
        .expect("latest");
    let view: Vec<(&str, CommitState)> = latest
        .iter()
        .map(|c| (c.context.as_str(), c.state))
        .collect();
    assert_eq!(
        view,
        vec![
            ("Security", CommitState::Error),
            ("ci", CommitState::Success),
            ("lint", CommitState::Success),
        ]
    );
    let states: Vec<CommitState> = latest.iter().map(|c| c.state).collect();
    assert_eq!(combined_state(&states), CommitState::Failure);

    // All of them, newest first, paged.
    made.reverse();
    let (all, total) = s
        .list_commit_statuses(web.id, &sha(1), page(1, 30))
        .await
        .expect("list");
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), made);
    assert_eq!(total, 5);
    let (second, total) = s
        .list_commit_statuses(web.id, &sha(1), page(2, 2))
        .await
        .expect("list");
    assert_eq!(
        second.iter().map(|c| c.id).collect::<Vec<_>>(),
        made[2..4].to_vec()
    );
    assert_eq!(total, 5);
    let (other, total) = s
        .list_commit_statuses(api.id, &sha(1), page(1, 30))
        .await
        .expect("list");
    assert_eq!((other.len(), total), (1, 1));
    let (none, total) = s
        .list_commit_statuses(web.id, &sha(3), page(1, 30))
        .await
        .expect("list");
    assert_eq!((none.len(), total), (0, 0));

    // Once everything is green, so is the combined state.
    s.create_commit_status(commit_status(&web, 1, "SECURITY", CommitState::Success))
        .await
        .expect("create");
    let latest = s
        .latest_commit_statuses(web.id, &sha(1))
        .await
        .expect("latest");
    assert_eq!(latest.len(), 3);
    assert_eq!(latest[0].context, "SECURITY");
    let states: Vec<CommitState> = latest.iter().map(|c| c.state).collect();
    assert_eq!(combined_state(&states), CommitState::Success);
}

async fn commit_status_cap(db: Arc<TestDb>) {
    let s = &db.store;
    let web = repo(&db, "acme/web").await;
    let started = std::time::Instant::now();
    for i in 0..MAX_STATUSES_PER_CONTEXT {
        // Alternate the case: the cap counts the context case-insensitively.
        let ctx = if i % 2 == 0 { "ci/build" } else { "CI/Build" };
        s.create_commit_status(commit_status(&web, 1, ctx, CommitState::Pending))
            .await
            .expect("under the cap");
    }
    eprintln!(
        "{} commit statuses on {} in {:?}",
        MAX_STATUSES_PER_CONTEXT,
        backend_of(&db),
        started.elapsed()
    );
    for ctx in ["ci/build", "CI/BUILD"] {
        let r = s
            .create_commit_status(commit_status(&web, 1, ctx, CommitState::Success))
            .await;
        assert!(matches!(r, Err(StoreError::LimitReached(_))), "{r:?}");
    }
    let (_, total) = s
        .list_commit_statuses(web.id, &sha(1), page(1, 1))
        .await
        .expect("list");
    assert_eq!(
        total, MAX_STATUSES_PER_CONTEXT as u64,
        "nothing written past the cap"
    );

    // The cap is per sha and context.
    s.create_commit_status(commit_status(&web, 1, "lint", CommitState::Success))
        .await
        .expect("another context");
    s.create_commit_status(commit_status(&web, 2, "ci/build", CommitState::Success))
        .await
        .expect("another commit");
}

async fn concurrent_deployments(db: Arc<TestDb>) {
    let web = repo(&db, "acme/web").await;
    let mut tasks = Vec::new();
    for i in 0..20u32 {
        let db = Arc::clone(&db);
        let new = deploy(&web, i + 1, "staging");
        tasks.push(tokio::spawn(async move {
            db.store.create_deployment(new).await
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        let d = t.await.expect("task").expect("create deployment");
        assert!(seen.insert(d.id), "duplicate id {}", d.id);
    }
    assert_eq!(seen.len(), 20);
    let (items, total) = db
        .store
        .list_deployments(&DeploymentFilter::default(), page(1, 100))
        .await
        .expect("list");
    assert_eq!(total, 20);
    assert_eq!(ids(&items).into_iter().collect::<BTreeSet<_>>(), seen);
    let (envs, total) = db
        .store
        .list_environments(web.id, page(1, 30))
        .await
        .expect("list environments");
    assert_eq!((total, envs[0].name.as_str()), (1, "staging"));
}

/// Listing totals come from trigger-kept counts when the filter is only repository and
/// environment: they must equal a real count after creates, failed creates, moves and deletes.
async fn deployment_counts_follow_every_change(db: Arc<TestDb>) {
    let web = repo(&db, "acme/web").await;
    let api = repo(&db, "acme/api").await;
    let envs = ["staging", "production", "qa"];
    let mut made = Vec::new();
    for i in 0..36u32 {
        made.push(create(&db, deploy(&web, i + 1, envs[i as usize % 3])).await);
    }
    for i in 0..5u32 {
        create(&db, deploy(&api, i + 1, "staging")).await;
    }
    // A create refused by required contexts is rolled back with its count.
    let refused = db
        .store
        .create_deployment(NewDeployment {
            required_contexts: RequiredContexts::Listed(vec!["ci".into()]),
            ..deploy(&web, 99, "staging")
        })
        .await;
    assert!(matches!(refused, Err(StoreError::ContextsFailed(_))));
    // Moves: a status naming another environment moves the deployment there.
    for d in made.iter().take(6) {
        post(
            &db,
            d,
            NewStatus {
                environment: Some(env("review/pr-1")),
                ..quiet_success(d)
            },
        )
        .await;
    }
    // Deletes: inactive deployments may go.
    for d in made.iter().skip(30) {
        post(&db, d, status(d.id, StatusState::Inactive)).await;
        db.store
            .delete_deployment(web.id, d.id)
            .await
            .expect("delete inactive deployment");
    }
    for environment in [
        None,
        Some("staging"),
        Some("production"),
        Some("qa"),
        Some("review/pr-1"),
    ] {
        let scoped = DeploymentFilter {
            repo_id: Some(web.id),
            environment: environment.map(str::to_owned),
            ..DeploymentFilter::default()
        };
        let (items, counted) = list(&db, scoped.clone(), page(1, 100)).await;
        // A date filter takes the COUNT(*) path: the reference.
        let (_, reference) = list(
            &db,
            DeploymentFilter {
                from: Some(Timestamp::from_unix(0)),
                ..scoped
            },
            page(1, 100),
        )
        .await;
        assert_eq!(counted, items.len() as u64, "{environment:?}");
        assert_eq!(counted, reference, "{environment:?}");
    }
    let (_, all) = list(&db, DeploymentFilter::default(), page(1, 1)).await;
    assert_eq!(all, 30 + 5);
}
