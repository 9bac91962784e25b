//! Story tests of DORA change data (spec/dora.md; `sql/dora.rs`): which deployments count,
//! which commits and changes each carried whatever the arrival order, pull requests re-keying
//! changes, the git-walk hand-off, incidents of ferry's API and the facts a report reads —
//! each on both backends.

#[allow(dead_code)]
mod support;

use ferry_domain::dora::{
    self as dora, tally, Benchmark, DeployKey, DeploymentFact, DoraInput, DoraRange,
};
use ferry_domain::ingest::{DedupScope, DeployResult, DevLakeAuth, IntegrationKind, ServiceAlias};
use ferry_domain::{DeploymentSource, IntegrationId, ServiceId, StatusState, Timestamp};
use ferry_store::model::*;
use ferry_store::testing::TestDb;
use ferry_store::{DeploymentStore, DoraStore, IngestStore, RepoStore, StoreError};
use std::sync::Arc;
use support::*;

on_both_backends!(
    payload_commits_and_arrival_order,
    failures_and_reposts,
    pull_requests_rekey_changes,
    api_success_and_git_walk,
    incidents_of_the_api,
    facts_for_scopes_and_attribution,
    attribution_follows_the_catalog,
    concurrent_walks_and_statuses,
);

const DAY: i64 = 86_400;
/// 2026-01-05 00:00:00 UTC, a Monday.
const T0: i64 = 1_767_571_200;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix(secs)
}

async fn integration(db: &TestDb, kind: IntegrationKind, hash: &str) -> Integration {
    db.store
        .create_integration(NewIntegration {
            kind,
            name: "ci".into(),
            auth: (kind == IntegrationKind::DevLake).then_some(DevLakeAuth::None),
            secret_hash: (kind == IntegrationKind::OpsLevel).then(|| hash.to_owned()),
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await
        .expect("integration")
}

async fn service(db: &TestDb, name: &str, repos: Vec<ferry_domain::RepoId>) -> Service {
    db.store
        .create_service(ServiceInput {
            name: Some(name.into()),
            aliases: None,
            repos: Some(repos),
        })
        .await
        .expect("service")
}

fn commit(url: &str, sha: &str, authored: Option<i64>) -> IngestedCommit {
    IngestedCommit {
        repo_url: url.into(),
        sha: sha.into(),
        ref_name: None,
        message: None,
        name: None,
        authored_at: authored.map(at),
        author: None,
        repo: None,
    }
}

/// A successful deploy finishing at `finished`, of `alias` (OpsLevel) or of the commits'
/// repositories (DevLake, when `alias` is `None`).
fn ingest(
    integration: IntegrationId,
    key: &str,
    alias: Option<&str>,
    finished: i64,
    commits: Vec<IngestedCommit>,
) -> NewIngestedDeployment {
    NewIngestedDeployment {
        integration_id: integration,
        source: if alias.is_some() {
            DeploymentSource::OpsLevel
        } else {
            DeploymentSource::DevLake
        },
        external_key: Some(key.into()),
        on_repeat: if alias.is_some() {
            OnRepeat::KeepFirst
        } else {
            OnRepeat::Update
        },
        service_alias: alias.map(|a| ServiceAlias::parse(a).expect("alias")),
        deploy_number: None,
        generate_number: alias.is_some(),
        environment: "Production".into(),
        name: None,
        description: None,
        result: DeployResult::Success,
        deployer_name: None,
        deployer_email: None,
        deployer_id: None,
        deploy_url: None,
        started_at: at(finished - 60),
        finished_at: at(finished),
        commits,
    }
}

/// An open DevLake incident (`type: INCIDENT`) of `component` created at `created`.
fn incident(
    integration: IntegrationId,
    key: &str,
    component: Option<&str>,
    created: i64,
) -> NewIssue {
    NewIssue {
        integration_id: integration,
        issue_key: key.into(),
        title: key.into(),
        status: ferry_domain::ingest::IssueStatus::Todo,
        original_status: "open".into(),
        issue_type: Some("INCIDENT".into()),
        incident: true,
        url: None,
        description: None,
        priority: None,
        severity: None,
        component: component.map(str::to_owned),
        created_date: at(created),
        updated_date: None,
        resolution_date: None,
        lead_time_minutes: None,
        fields: "{}".into(),
    }
}

fn query(from: i64, until: i64) -> DoraQuery {
    DoraQuery {
        from: at(from),
        until: at(until),
        services: vec![],
        environment: None,
        extra_production: vec![],
        lead_tiles: None,
    }
}

/// (deployment finish, change start) pairs of a report's changes, sorted.
async fn lead_pairs(db: &TestDb, q: &DoraQuery) -> Vec<(i64, i64)> {
    let facts = db.store.dora_facts(q).await.expect("facts");
    let finish = |k: DeployKey| {
        facts
            .deployments
            .iter()
            .find(|d| d.key == k)
            .map(|d| d.finished_at.unix())
            .expect("a change's deployment is among the facts")
    };
    let mut out: Vec<(i64, i64)> = facts
        .changes
        .iter()
        .map(|c| (finish(c.deployment), c.started_at.unix()))
        .collect();
    out.sort_unstable();
    check_counted_facts(db, q).await;
    out
}

/// The counted path (migrations 0014–0015: per-day counts kept by triggers through every write
/// path, incidents attributed by index) gives the report the listed facts give, for the
/// query's days as one range, asked with no service selected; both benchmarks.
async fn check_counted_facts(db: &TestDb, q: &DoraQuery) {
    let (from, until) = (q.from.unix(), q.until.unix());
    if !q.services.is_empty() || from % DAY != 0 || until % DAY != 0 {
        return;
    }
    let date = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .expect("a test time")
            .date()
    };
    let range = DoraRange::new(date(from), date(until - 1)).expect("range");
    let tiled = DoraQuery {
        lead_tiles: Some(tally::tiles(range, None)),
        ..q.clone()
    };
    let listed = db.store.dora_facts(q).await.expect("facts");
    // Before and after the background fold (PostgreSQL: counts read with the unfolded log,
    // then from the folded counts).
    for fold in [false, true] {
        if fold {
            db.store.fold_dora_counts().await.expect("fold");
        }
        let counted = db.store.dora_facts(&tiled).await.expect("facts");
        assert!(counted.tally.is_some(), "no service selected: a tally");
        for benchmark in [Benchmark::B2023, Benchmark::B2021] {
            let input = |f: DoraFacts| DoraInput {
                range,
                benchmark,
                deployments: f.deployments,
                changes: f.changes,
                incidents: f.incidents,
                tally: f.tally,
                any_deployment_ever: f.any_deployment_ever,
            };
            assert_eq!(
                dora::report(&input(counted.clone())),
                dora::report(&input(listed.clone())),
                "the counted facts disagree with the listed ones"
            );
        }
    }
}

async fn payload_commits_and_arrival_order(db: Arc<TestDb>) {
    let s = &db.store;
    let ops = integration(&db, IntegrationKind::OpsLevel, "h1").await;
    service(&db, "cart", vec![]).await;

    // The later deploy arrives first; both name commit `a`: it belongs to the earlier one.
    s.ingest_deployment(ingest(
        ops.id,
        "2",
        Some("cart"),
        T0 + 2 * DAY,
        vec![
            commit("", "a", Some(T0 - DAY)),
            commit("", "b", Some(T0 + DAY)),
        ],
    ))
    .await
    .expect("ingest");
    s.ingest_deployment(ingest(
        ops.id,
        "1",
        Some("cart"),
        T0 + DAY,
        vec![commit("", "a", Some(T0 - DAY))],
    ))
    .await
    .expect("ingest");
    // A commit without an author time has no start: it never enters the lead time.
    s.ingest_deployment(ingest(
        ops.id,
        "3",
        Some("cart"),
        T0 + 3 * DAY,
        vec![commit("", "c", None)],
    ))
    .await
    .expect("ingest");

    let pairs = lead_pairs(&db, &query(T0, T0 + 7 * DAY)).await;
    assert_eq!(
        pairs,
        vec![(T0 + DAY, T0 - DAY), (T0 + 2 * DAY, T0 + DAY)],
        "a → first deploy (earliest carrier), b → second"
    );
    let facts = s.dora_facts(&query(T0, T0 + 7 * DAY)).await.expect("facts");
    assert_eq!(facts.deployments.len(), 3);
    assert!(facts.any_deployment_ever);

    // The range bounds are [from, until).
    let facts = s
        .dora_facts(&query(T0 + DAY, T0 + 2 * DAY))
        .await
        .expect("facts");
    assert_eq!(facts.deployments.len(), 1);
}

async fn failures_and_reposts(db: Arc<TestDb>) {
    let s = &db.store;
    let dl = integration(&db, IntegrationKind::DevLake, "").await;
    let url = "https://github.com/acme/shop";

    let mut failed = ingest(
        dl.id,
        "run-1",
        None,
        T0 + DAY,
        vec![commit(url, "a", Some(T0))],
    );
    failed.result = DeployResult::Failure;
    s.ingest_deployment(failed).await.expect("ingest");
    let q = query(T0, T0 + 7 * DAY);
    check_counted_facts(&db, &q).await;
    let facts = s.dora_facts(&q).await.expect("facts");
    assert!(facts.deployments.is_empty(), "a failed deploy never counts");
    assert!(!facts.any_deployment_ever);

    // Re-posted as a success: it counts, with its commits (old and new).
    s.ingest_deployment(ingest(
        dl.id,
        "run-1",
        None,
        T0 + DAY,
        vec![commit(url, "b", Some(T0 + 60))],
    ))
    .await
    .expect("repost");
    assert_eq!(
        lead_pairs(&db, &q).await,
        vec![(T0 + DAY, T0), (T0 + DAY, T0 + 60)]
    );

    // A multi-repository deploy is one deployment.
    s.ingest_deployment(ingest(
        dl.id,
        "run-2",
        None,
        T0 + 2 * DAY,
        vec![
            commit(url, "c", Some(T0)),
            commit("https://github.com/acme/api", "d", Some(T0)),
        ],
    ))
    .await
    .expect("ingest");
    assert_eq!(s.dora_facts(&q).await.expect("facts").deployments.len(), 2);

    // Re-posted as a failure: gone, and its changes with it.
    let mut failed = ingest(dl.id, "run-1", None, T0 + DAY, vec![]);
    failed.result = DeployResult::Failure;
    s.ingest_deployment(failed).await.expect("repost");
    let facts = s.dora_facts(&q).await.expect("facts");
    assert_eq!(facts.deployments.len(), 1);
    assert_eq!(lead_pairs(&db, &q).await.len(), 2, "run-2's two commits");

    // A non-production environment is out of the default scope, in when asked for.
    let mut staging = ingest(dl.id, "run-3", None, T0 + 3 * DAY, vec![]);
    staging.environment = "Staging".into();
    s.ingest_deployment(staging).await.expect("ingest");
    assert_eq!(s.dora_facts(&q).await.expect("facts").deployments.len(), 1);
    let q_staging = DoraQuery {
        environment: Some("staging".into()),
        ..query(T0, T0 + 7 * DAY)
    };
    // Counted: the staging deploy; the production one comes along, not counted, because
    // incidents are attributed among production-class deployments whatever is selected.
    check_counted_facts(&db, &q_staging).await;
    let facts = s.dora_facts(&q_staging).await.expect("facts");
    let counted: Vec<bool> = facts.deployments.iter().map(|d| d.in_scope).collect();
    assert_eq!(counted.iter().filter(|c| **c).count(), 1);
    assert_eq!(counted.len(), 2);
    let q_extra = DoraQuery {
        extra_production: vec!["staging".into()],
        ..query(T0, T0 + 7 * DAY)
    };
    check_counted_facts(&db, &q_extra).await;
    assert_eq!(
        s.dora_facts(&q_extra)
            .await
            .expect("facts")
            .deployments
            .len(),
        2
    );
}

async fn pull_requests_rekey_changes(db: Arc<TestDb>) {
    let s = &db.store;
    let shop = repo(&db, "acme/shop").await;
    let dl = integration(&db, IntegrationKind::DevLake, "").await;
    let url = "https://github.com/acme/shop";
    let c1 = "1".repeat(40);
    let c2 = "2".repeat(40);
    let m = "3".repeat(40);
    // c1 and c2 ship in two deploys; the PR that brought both is known only afterwards.
    s.ingest_deployment(ingest(
        dl.id,
        "r1",
        None,
        T0 + DAY,
        vec![commit(url, &c1, Some(T0 + 100))],
    ))
    .await
    .expect("ingest");
    s.ingest_deployment(ingest(
        dl.id,
        "r2",
        None,
        T0 + 2 * DAY,
        vec![commit(url, &c2, Some(T0 + 200))],
    ))
    .await
    .expect("ingest");
    let q = query(T0, T0 + 7 * DAY);
    assert_eq!(lead_pairs(&db, &q).await.len(), 2, "two commit changes");

    let pr = s
        .upsert_pull_request(NewPullRequest {
            repo_id: shop.id,
            number: 7,
            title: "Add cart".into(),
            created_at: at(T0 + 300),
            merged_at: Some(at(T0 + 400)),
            merge_commit_sha: Some(m.clone()),
            commits: vec![
                WalkedCommit {
                    sha: c2.clone(),
                    authored_at: Some(at(T0 + 200)),
                },
                WalkedCommit {
                    sha: c1.clone(),
                    authored_at: Some(at(T0 + 50)),
                },
            ],
        })
        .await
        .expect("pull request");
    assert_eq!(pr.started_at, at(T0 + 50), "its first commit's author time");
    assert_eq!(pr.commits.len(), 2, "the merge commit is not listed");
    assert_eq!(
        lead_pairs(&db, &q).await,
        vec![(T0 + DAY, T0 + 50)],
        "one change: the PR, shipped by the first deploy that carried any of its commits"
    );

    // The merge commit deployed later adds nothing new: the PR is already shipped.
    s.ingest_deployment(ingest(
        dl.id,
        "r3",
        None,
        T0 + 3 * DAY,
        vec![commit(url, &m, Some(T0 + 400))],
    ))
    .await
    .expect("ingest");
    assert_eq!(lead_pairs(&db, &q).await, vec![(T0 + DAY, T0 + 50)]);

    // Posting the PR again (now without an author time) keeps one change.
    s.upsert_pull_request(NewPullRequest {
        repo_id: shop.id,
        number: 7,
        title: "Add cart".into(),
        created_at: at(T0 + 300),
        merged_at: None,
        merge_commit_sha: None,
        commits: vec![WalkedCommit {
            sha: c1.clone(),
            authored_at: None,
        }],
    })
    .await
    .expect("again");
    assert_eq!(lead_pairs(&db, &q).await, vec![(T0 + DAY, T0 + 300)]);
}

async fn api_success_and_git_walk(db: Arc<TestDb>) {
    let s = &db.store;
    let shop = s
        .create_repo(NewRepo {
            slug: ferry_domain::RepoSlug::parse("acme/shop").expect("slug"),
            git_url: Some("/nonexistent/shop.git".into()),
            default_branch: "main".into(),
            github_webhook_secret: None,
        })
        .await
        .expect("repo");
    let cart = service(&db, "cart", vec![shop.id]).await;
    let prod = |n| NewDeployment {
        production_environment: true,
        ..deploy(&shop, n, "production")
    };
    let d1 = s.create_deployment(prod(1)).await.expect("deploy");
    s.create_status(shop.id, status(d1.id, StatusState::InProgress))
        .await
        .expect("status");
    assert!(s.pending_dora(10).await.expect("pending").is_empty());
    s.create_status(shop.id, status(d1.id, StatusState::Success))
        .await
        .expect("status");
    // A second success changes nothing.
    s.create_status(shop.id, status(d1.id, StatusState::Success))
        .await
        .expect("status");
    let pending = s.pending_dora(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    let head = &pending[0].heads[0];
    assert_eq!(head.sha, sha(1).as_str());
    assert_eq!(
        head.prev, None,
        "the first deployment walks only its own commit"
    );
    assert_eq!(head.slug.full_name(), "acme/shop");
    s.complete_dora(
        pending[0].dora_id,
        vec![(
            head.repo_key.clone(),
            vec![WalkedCommit {
                sha: sha(1).as_str().to_owned(),
                authored_at: Some(at(T0)),
            }],
        )],
    )
    .await
    .expect("complete");
    assert!(s.pending_dora(10).await.expect("pending").is_empty());

    let d2 = s.create_deployment(prod(2)).await.expect("deploy");
    s.create_status(shop.id, status(d2.id, StatusState::Success))
        .await
        .expect("status");
    let pending = s.pending_dora(10).await.expect("pending");
    assert_eq!(pending[0].heads[0].prev.as_deref(), Some(sha(1).as_str()));
    let walked: Vec<WalkedCommit> = [(2, T0 + 10), (3, T0 + 20)]
        .iter()
        .map(|(n, t)| WalkedCommit {
            sha: sha(*n).as_str().to_owned(),
            authored_at: Some(at(*t)),
        })
        .collect();
    let key = pending[0].heads[0].repo_key.clone();
    // Walking twice records nothing twice.
    s.complete_dora(pending[0].dora_id, vec![(key.clone(), walked.clone())])
        .await
        .expect("complete");
    s.complete_dora(pending[0].dora_id, vec![(key, walked)])
        .await
        .expect("complete again");

    let now = Timestamp::now().unix();
    let q = DoraQuery {
        services: vec![cart.id],
        ..query(now - DAY, now + DAY)
    };
    let facts = s.dora_facts(&q).await.expect("facts");
    assert_eq!(facts.deployments.len(), 2);
    assert!(facts.deployments.iter().all(|d| d.service == Some(cart.id)));
    let mut starts: Vec<i64> = facts.changes.iter().map(|c| c.started_at.unix()).collect();
    starts.sort_unstable();
    assert_eq!(starts, vec![T0, T0 + 10, T0 + 20]);

    // A failure after the success takes the deployment out.
    s.create_status(shop.id, status(d2.id, StatusState::Failure))
        .await
        .expect("status");
    let facts = s.dora_facts(&q).await.expect("facts");
    assert_eq!(facts.deployments.len(), 1);
    assert_eq!(facts.changes.len(), 1);

    // Unlinking the repository from the service follows into DORA.
    s.update_service(
        cart.id,
        ServiceInput {
            name: None,
            aliases: None,
            repos: Some(vec![]),
        },
    )
    .await
    .expect("unlink");
    assert!(s
        .dora_facts(&q)
        .await
        .expect("facts")
        .deployments
        .is_empty());
}

async fn incidents_of_the_api(db: Arc<TestDb>) {
    let s = &db.store;
    let ops = integration(&db, IntegrationKind::OpsLevel, "h2").await;
    let cart = service(&db, "cart", vec![]).await;
    let d = match s
        .ingest_deployment(ingest(ops.id, "1", Some("cart"), T0, vec![]))
        .await
        .expect("ingest")
    {
        Ingested::Created { deployment, .. } => deployment,
        other => panic!("expected Created, got {other:?}"),
    };
    let new = |deployment| NewIncident {
        service_id: cart.id,
        title: "checkout down".into(),
        created_at: at(T0 + 3600),
        resolved_at: None,
        deployment,
        url: None,
        description: None,
    };
    let i = s
        .create_incident(new(Some(DeploymentRef::Ingested(d.id))))
        .await
        .expect("incident");
    assert_eq!(i.integration_id, None);
    assert_eq!(i.issue_key, format!("INC-{}", i.id.get()));
    assert_eq!(i.deployment, Some(DeploymentRef::Ingested(d.id)));
    assert_eq!(i.service_id, Some(cart.id));
    assert!(matches!(
        s.create_incident(new(Some(DeploymentRef::Api(ferry_domain::DeploymentId(
            999
        )))))
        .await,
        Err(StoreError::NotFound)
    ));

    let resolved = s
        .resolve_incident(i.id, at(T0 + 7200))
        .await
        .expect("resolve");
    assert_eq!(resolved.resolution_date, Some(at(T0 + 7200)));
    assert_eq!(resolved.lead_time_minutes, Some(60));

    let (listed, total) = s
        .list_incidents(&IncidentFilter::default(), page(1, 30))
        .await
        .expect("list");
    assert_eq!(total, 1);
    assert_eq!(listed[0].id, i.id);

    check_counted_facts(&db, &query(T0, T0 + DAY)).await;
    let facts = s.dora_facts(&query(T0, T0 + DAY)).await.expect("facts");
    assert_eq!(facts.incidents.len(), 1);
    let key = facts.deployments[0].key;
    assert_eq!(
        facts.incidents[0].deployment,
        Some(key),
        "explicit attribution"
    );
    assert_eq!(facts.incidents[0].resolved_at, Some(at(T0 + 7200)));
}

async fn facts_for_scopes_and_attribution(db: Arc<TestDb>) {
    let s = &db.store;
    let dl = integration(&db, IntegrationKind::DevLake, "").await;
    let shop = repo(&db, "acme/shop").await;
    let api = repo(&db, "acme/api").await;
    let cart = service(&db, "cart", vec![shop.id]).await;
    let gateway = service(&db, "gateway", vec![api.id]).await;
    for (key, url, t) in [
        ("s1", "https://github.com/acme/shop", T0 + DAY),
        ("a1", "https://github.com/acme/api", T0 + 2 * DAY),
        ("a2", "https://github.com/acme/api", T0 + 10 * DAY),
    ] {
        s.ingest_deployment(ingest(dl.id, key, None, t, vec![commit(url, key, None)]))
            .await
            .expect("ingest");
    }
    let issue =
        |key: &str, component: Option<&str>, created: i64| incident(dl.id, key, component, created);
    // In the range, with and without a service; after the range, with a deploy of its
    // service in between (cannot blame the range) and without (can).
    s.upsert_issue(issue("I-1", Some("cart"), T0 + 3 * DAY))
        .await
        .expect("issue");
    s.upsert_issue(issue("I-2", None, T0 + 3 * DAY))
        .await
        .expect("issue");
    s.upsert_issue(issue("I-3", Some("gateway"), T0 + 11 * DAY))
        .await
        .expect("issue");
    s.upsert_issue(issue("I-4", Some("cart"), T0 + 12 * DAY))
        .await
        .expect("issue");

    let week = query(T0, T0 + 7 * DAY);
    check_counted_facts(&db, &week).await;
    check_counted_facts(&db, &query(T0 + DAY, T0 + 3 * DAY)).await;
    let facts = s.dora_facts(&week).await.expect("facts");
    let mut created: Vec<i64> = facts
        .incidents
        .iter()
        .map(|i| i.created_at.unix())
        .collect();
    created.sort_unstable();
    assert_eq!(
        created,
        vec![T0 + 3 * DAY, T0 + 3 * DAY, T0 + 12 * DAY],
        "I-3 has a gateway deploy (a2) between the range and it"
    );
    assert!(facts.incidents.iter().all(|i| i.in_scope));

    // Only cart: gateway's incident is out; the service-less one stays (it may blame a cart
    // deploy), and gateway's deploy of the range comes along, out of scope, so the
    // attribution across the integration is exact.
    let cart_week = DoraQuery {
        services: vec![cart.id],
        ..query(T0, T0 + 7 * DAY)
    };
    let facts = s.dora_facts(&cart_week).await.expect("facts");
    let scoped: Vec<&DeploymentFact> = facts.deployments.iter().filter(|d| d.in_scope).collect();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].service, Some(cart.id));
    let others: Vec<Option<ServiceId>> = facts
        .deployments
        .iter()
        .filter(|d| !d.in_scope)
        .map(|d| d.service)
        .collect();
    assert_eq!(others, vec![Some(gateway.id)]);
    let orphan = facts
        .incidents
        .iter()
        .find(|i| i.service.is_none())
        .expect("the service-less incident");
    assert!(!orphan.in_scope, "not cart's for the 2021 rule");
    assert_eq!(orphan.integration, Some(dl.id));

    // A staging deploy of shop between s1 and I-1: counted by `environment=staging`, never
    // blamed (attribution looks at production-class deployments, API.md D40), on either path.
    let mut staging = ingest(
        dl.id,
        "s2",
        None,
        T0 + 2 * DAY,
        vec![commit("https://github.com/acme/shop", "s2", None)],
    );
    staging.environment = "Staging".into();
    s.ingest_deployment(staging).await.expect("ingest");
    let staging_week = DoraQuery {
        environment: Some("staging".into()),
        ..query(T0, T0 + 7 * DAY)
    };
    check_counted_facts(&db, &staging_week).await;
    check_counted_facts(&db, &week).await;
    let facts = s.dora_facts(&staging_week).await.expect("facts");
    let staged = facts
        .deployments
        .iter()
        .find(|d| d.in_scope)
        .expect("the staging deploy is counted");
    assert_eq!((staged.service, staged.integration), (None, None));

    // A production deploy of shop arriving late, between s1 and I-1: I-1 (cart) and I-2 (no
    // service: the integration's latest) now blame it; a re-post as a failure hands them back.
    // The stored attribution (0016) follows both, as the listed facts do.
    let late = |result| {
        let mut d = ingest(
            dl.id,
            "s3",
            None,
            T0 + 2 * DAY + DAY / 2,
            vec![commit("https://github.com/acme/shop", "s3", None)],
        );
        d.result = result;
        d
    };
    s.ingest_deployment(late(DeployResult::Success))
        .await
        .expect("ingest");
    check_counted_facts(&db, &week).await;
    // Distinct deployments blamed: s1 and a1 before, s3 alone while it stands.
    let counted = |facts: DoraFacts| {
        let tally = facts.tally.expect("a tally");
        let mut keys: Vec<_> = tally.incidents.iter().filter_map(|i| i.counted).collect();
        keys.sort();
        keys.dedup();
        keys.len()
    };
    let tiled = DoraQuery {
        lead_tiles: Some(vec![(T0 / DAY, T0 / DAY + 6)]),
        ..week.clone()
    };
    assert_eq!(counted(s.dora_facts(&tiled).await.expect("facts")), 1);
    s.ingest_deployment(late(DeployResult::Failure))
        .await
        .expect("re-post");
    check_counted_facts(&db, &week).await;
    assert_eq!(counted(s.dora_facts(&tiled).await.expect("facts")), 2);
}

/// A deploy recorded under an unknown alias gets its service when the suggestion is accepted
/// (the catalog re-links it): the incidents of that service created after it then blame it,
/// on the counted path (stored attribution, migration 0016) as on the listed one.
async fn attribution_follows_the_catalog(db: Arc<TestDb>) {
    let s = &db.store;
    let ops = integration(&db, IntegrationKind::OpsLevel, "h1").await;
    let dl = integration(&db, IntegrationKind::DevLake, "").await;
    let cart = service(&db, "cart", vec![]).await;
    s.ingest_deployment(ingest(ops.id, "k1", Some("cart"), T0 + DAY, vec![]))
        .await
        .expect("ingest");
    s.ingest_deployment(ingest(
        ops.id,
        "k2",
        Some("finder-api"),
        T0 + 2 * DAY,
        vec![],
    ))
    .await
    .expect("ingest");
    s.upsert_issue(incident(dl.id, "I-1", Some("cart"), T0 + 3 * DAY))
        .await
        .expect("issue");
    let week = query(T0, T0 + 7 * DAY);
    let blamed = |facts: DoraFacts| {
        let tally = facts.tally.expect("a tally");
        tally.incidents.iter().find_map(|i| i.counted.map(|c| c.1))
    };
    let tiled = DoraQuery {
        lead_tiles: Some(vec![(T0 / DAY, T0 / DAY + 6)]),
        ..week.clone()
    };
    check_counted_facts(&db, &week).await;
    assert_eq!(
        blamed(s.dora_facts(&tiled).await.expect("facts")),
        Some(at(T0 + DAY)),
        "cart's own deploy, k1"
    );
    let suggestion = s.list_suggestions().await.expect("suggestions")[0].id;
    s.accept_suggestion(suggestion, AcceptInto::Existing(cart.id))
        .await
        .expect("accept");
    check_counted_facts(&db, &week).await;
    assert_eq!(
        blamed(s.dora_facts(&tiled).await.expect("facts")),
        Some(at(T0 + 2 * DAY)),
        "k2, now cart's and later"
    );
}

/// Statuses that make deployments succeed and fail again, walks recorded by a concurrent
/// "keeper", and deletes, all on one repository at once: no write fails (on PostgreSQL the
/// DORA rows of a repository are written under one advisory lock, so nothing deadlocks).
async fn concurrent_walks_and_statuses(db: Arc<TestDb>) {
    let s = &db.store;
    let shop = s
        .create_repo(NewRepo {
            slug: ferry_domain::RepoSlug::parse("acme/shop").expect("slug"),
            git_url: Some("/nonexistent/shop.git".into()),
            default_branch: "main".into(),
            github_webhook_secret: None,
        })
        .await
        .expect("repo");
    let prod = |n| NewDeployment {
        production_environment: true,
        ..deploy(&shop, n, "production")
    };
    let mut ids = Vec::new();
    for n in 1..=12 {
        ids.push(s.create_deployment(prod(n)).await.expect("deploy").id);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let keeper = {
        let db = Arc::clone(&db);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for p in db.store.pending_dora(16).await.expect("pending") {
                    let walked = p
                        .heads
                        .iter()
                        .map(|h| {
                            let commits = (1..=12)
                                .map(|n| WalkedCommit {
                                    sha: sha(n).as_str().to_owned(),
                                    authored_at: Some(at(T0 + i64::from(n))),
                                })
                                .collect();
                            (h.repo_key.clone(), commits)
                        })
                        .collect();
                    db.store
                        .complete_dora(p.dora_id, walked)
                        .await
                        .expect("walk recorded");
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writers = Vec::new();
    for (i, id) in ids.iter().copied().enumerate() {
        let db = Arc::clone(&db);
        let repo = shop.id;
        writers.push(tokio::spawn(async move {
            for state in [
                StatusState::Success,
                StatusState::Failure,
                StatusState::Success,
            ] {
                db.store
                    .create_status(repo, status(id, state))
                    .await
                    .expect("status");
            }
            if i % 3 == 0 {
                db.store
                    .create_status(repo, status(id, StatusState::Inactive))
                    .await
                    .expect("inactive");
                db.store.delete_deployment(repo, id).await.expect("delete");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    keeper.await.expect("keeper");
    let now = Timestamp::now().unix();
    let facts = s
        .dora_facts(&query(now - DAY, now + DAY))
        .await
        .expect("facts");
    assert_eq!(facts.deployments.len(), 8, "12 succeeded, 4 deleted");
}
