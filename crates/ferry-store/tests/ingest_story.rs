//! Story tests of ingestion (compat/ingest.md): integrations, the service catalog and its
//! suggestions, ingested deploys (dedup, generated numbers, DevLake upserts), the
//! all-sources listing and incidents — each on both backends, including the concurrency
//! cases of issue 3 (50 posts of one `dedup_id`; 50 posts to a new service).

#[allow(dead_code)]
mod support;

use ferry_domain::ingest::{
    DedupScope, DeployResult, DevLakeAuth, IntegrationKind, IssueStatus, ServiceAlias,
};
use ferry_domain::{DeploymentSource, IntegrationId, Timestamp};
use ferry_store::model::*;
use ferry_store::testing::TestDb;
use ferry_store::{DeploymentStore, DoraStore, IngestStore, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::*;

on_both_backends!(
    integrations,
    services_crud,
    opslevel_dedup_numbers_and_suggestions,
    devlake_upsert_and_repo_matching,
    concurrent_same_dedup_id,
    concurrent_numbers_of_a_new_service,
    all_sources_listing,
    issues_and_incidents,
    batch_ingest,
    batch_equals_one_by_one,
);

fn alias(s: &str) -> ServiceAlias {
    ServiceAlias::parse(s).expect("valid alias")
}

async fn opslevel(db: &TestDb, hash: &str) -> Integration {
    db.store
        .create_integration(NewIntegration {
            kind: IntegrationKind::OpsLevel,
            name: "jenkins".into(),
            auth: None,
            secret_hash: Some(hash.into()),
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await
        .expect("create integration")
}

async fn devlake(db: &TestDb) -> Integration {
    db.store
        .create_integration(NewIntegration {
            kind: IntegrationKind::DevLake,
            name: "circleci".into(),
            auth: Some(DevLakeAuth::None),
            secret_hash: None,
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await
        .expect("create integration")
}

fn commit(url: &str, sha: &str) -> IngestedCommit {
    IngestedCommit {
        repo_url: url.into(),
        sha: sha.into(),
        ref_name: None,
        message: None,
        name: None,
        authored_at: None,
        author: None,
        repo: None,
    }
}

/// An OpsLevel-style deploy of `service` with `dedup_id`.
fn ops_deploy(
    integration: IntegrationId,
    service: &str,
    dedup: Option<&str>,
) -> NewIngestedDeployment {
    NewIngestedDeployment {
        integration_id: integration,
        source: DeploymentSource::OpsLevel,
        external_key: dedup.map(str::to_owned),
        on_repeat: OnRepeat::KeepFirst,
        service_alias: Some(alias(service)),
        deploy_number: None,
        generate_number: true,
        environment: "Production".into(),
        name: None,
        description: Some("Deployed by CI".into()),
        result: DeployResult::Success,
        deployer_name: Some("Michael Scott".into()),
        deployer_email: None,
        deployer_id: None,
        deploy_url: None,
        started_at: Timestamp::from_unix(1_549_027_713),
        finished_at: Timestamp::from_unix(1_549_027_713),
        commits: vec![],
    }
}

fn devlake_deploy(
    integration: IntegrationId,
    key: &str,
    commits: Vec<IngestedCommit>,
) -> NewIngestedDeployment {
    NewIngestedDeployment {
        source: DeploymentSource::DevLake,
        external_key: Some(key.into()),
        on_repeat: OnRepeat::Update,
        service_alias: None,
        generate_number: false,
        environment: "PRODUCTION".into(),
        result: DeployResult::Failure,
        commits,
        ..ops_deploy(integration, "x", None)
    }
}

fn created(outcome: Ingested) -> (IngestedDeployment, bool) {
    match outcome {
        Ingested::Created {
            deployment,
            service_matched,
        } => (deployment, service_matched),
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn integrations(db: Arc<TestDb>) {
    let s = &db.store;
    let ops = opslevel(&db, "h1").await;
    assert_eq!(ops.kind, IntegrationKind::OpsLevel);
    assert_eq!(
        (ops.dedup_scope, ops.strict_deployer),
        (DedupScope::DedupId, false)
    );
    let orb = s
        .create_integration(NewIntegration {
            kind: IntegrationKind::OpsLevel,
            name: "orb".into(),
            auth: None,
            secret_hash: Some("h-orb".into()),
            dedup_scope: DedupScope::DedupIdAndNumber,
            strict_deployer: true,
        })
        .await
        .expect("create");
    let found = s.integration(orb.id).await.expect("get").expect("found");
    assert_eq!(
        (found.dedup_scope, found.strict_deployer),
        (DedupScope::DedupIdAndNumber, true)
    );
    s.revoke_integration(orb.id).await.expect("revoke");
    assert_eq!(ops.auth, None);
    let dl = devlake(&db).await;
    assert_eq!(dl.auth, Some(DevLakeAuth::None));
    let keyed = s
        .create_integration(NewIntegration {
            kind: IntegrationKind::DevLake,
            name: "gha".into(),
            auth: Some(DevLakeAuth::Bearer),
            secret_hash: Some("h2".into()),
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await
        .expect("create");
    // Schema rule: a DevLake connection has an auth mode, an OpsLevel endpoint none.
    assert!(s
        .create_integration(NewIntegration {
            kind: IntegrationKind::OpsLevel,
            name: "bad".into(),
            auth: Some(DevLakeAuth::Basic),
            secret_hash: Some("h3".into()),
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await
        .is_err());
    // Secrets are unique.
    assert!(matches!(
        s.create_integration(NewIntegration {
            kind: IntegrationKind::OpsLevel,
            name: "dup".into(),
            auth: None,
            secret_hash: Some("h1".into()),
            dedup_scope: DedupScope::DedupId,
            strict_deployer: false,
        })
        .await,
        Err(StoreError::Conflict(_))
    ));

    let found = s.integration_by_secret("h2").await.expect("lookup");
    assert_eq!(found.map(|i| i.id), Some(keyed.id));
    assert_eq!(
        s.integration(dl.id).await.expect("get").map(|i| i.name),
        Some("circleci".into())
    );
    assert_eq!(
        s.integrations_by_name("CIRCLECI")
            .await
            .expect("by name")
            .len(),
        1
    );
    let ids: Vec<_> = s
        .list_integrations()
        .await
        .expect("list")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, vec![ops.id, dl.id, keyed.id]);

    s.revoke_integration(ops.id).await.expect("revoke");
    assert!(matches!(
        s.revoke_integration(ops.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(s
        .integration_by_secret("h1")
        .await
        .expect("lookup")
        .is_none());
    assert!(s.integration(ops.id).await.expect("get").is_none());
    assert_eq!(s.list_integrations().await.expect("list").len(), 2);
}

async fn services_crud(db: Arc<TestDb>) {
    let s = &db.store;
    let shop = repo(&db, "acme/shop").await;
    let api = repo(&db, "acme/api").await;
    let cart = s
        .create_service(ServiceInput {
            name: Some("shopping_cart".into()),
            aliases: Some(vec![alias("cart"), alias("Jenkins:Cart")]),
            repos: Some(vec![shop.id]),
        })
        .await
        .expect("create service");
    let keys: Vec<String> = cart.aliases.iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(keys, vec!["cart", "Jenkins:Cart", "shopping_cart"]);
    assert_eq!(cart.repos.len(), 1);

    // Name and aliases are unique, case-insensitively.
    let dup_name = s
        .create_service(ServiceInput {
            name: Some("Shopping_Cart".into()),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(dup_name, Err(StoreError::Conflict(_))),
        "{dup_name:?}"
    );
    let dup_alias = s
        .create_service(ServiceInput {
            name: Some("other".into()),
            aliases: Some(vec![alias("CART")]),
            repos: None,
        })
        .await;
    assert!(
        matches!(dup_alias, Err(StoreError::Conflict(_))),
        "{dup_alias:?}"
    );
    // Nothing of the refused service was written.
    assert!(s.service_by_name("other").await.expect("lookup").is_none());

    let by_alias = s.service_by_name(" jenkins:cart ").await.expect("lookup");
    assert_eq!(by_alias.map(|x| x.id), Some(cart.id));

    let updated = s
        .update_service(
            cart.id,
            ServiceInput {
                name: Some("cart-svc".into()),
                aliases: Some(vec![alias("cart")]),
                repos: Some(vec![shop.id, api.id]),
            },
        )
        .await
        .expect("update");
    let keys: Vec<&str> = updated.aliases.iter().map(ServiceAlias::as_str).collect();
    assert_eq!(keys, vec!["cart", "cart-svc"]);
    assert_eq!(updated.repos.len(), 2);
    assert!(s
        .service_by_name("shopping_cart")
        .await
        .expect("lookup")
        .is_none());
    assert_eq!(s.list_services().await.expect("list").len(), 1);

    s.delete_service(cart.id).await.expect("delete");
    assert!(matches!(
        s.delete_service(cart.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.list_services().await.expect("list").is_empty());
}

async fn opslevel_dedup_numbers_and_suggestions(db: Arc<TestDb>) {
    let s = &db.store;
    let ops = opslevel(&db, "h").await;
    let cart = s
        .create_service(ServiceInput {
            name: Some("shopping_cart".into()),
            aliases: None,
            repos: None,
        })
        .await
        .expect("service");

    // Matched by alias, case-insensitively; numbers generated 1, 2, …
    let (d1, matched) = created(
        s.ingest_deployment(ops_deploy(ops.id, "Shopping_Cart ", Some("d1")))
            .await
            .expect("ingest"),
    );
    assert!(matched);
    assert_eq!(d1.service_id, Some(cart.id));
    assert_eq!(d1.service_name.as_deref(), Some("shopping_cart"));
    assert_eq!(d1.deploy_number.as_deref(), Some("1"));

    // Same dedup_id: nothing happens, even with other fields.
    let again = NewIngestedDeployment {
        deploy_number: Some("99".into()),
        ..ops_deploy(ops.id, "shopping_cart", Some("d1"))
    };
    assert!(matches!(
        s.ingest_deployment(again).await.expect("ingest"),
        Ingested::Duplicate
    ));

    // A provided number is stored verbatim and raises the sequence.
    let given = NewIngestedDeployment {
        deploy_number: Some("234".into()),
        ..ops_deploy(ops.id, "shopping_cart", None)
    };
    let (d2, _) = created(s.ingest_deployment(given).await.expect("ingest"));
    assert_eq!(d2.deploy_number.as_deref(), Some("234"));
    let odd = NewIngestedDeployment {
        deploy_number: Some("v1.2".into()),
        ..ops_deploy(ops.id, "shopping_cart", None)
    };
    let (d3, _) = created(s.ingest_deployment(odd).await.expect("ingest"));
    assert_eq!(d3.deploy_number.as_deref(), Some("v1.2"));
    let (d4, _) = created(
        s.ingest_deployment(ops_deploy(ops.id, "shopping_cart", None))
            .await
            .expect("ingest"),
    );
    assert_eq!(d4.deploy_number.as_deref(), Some("235"));

    // Unknown alias: recorded without service, numbered per alias, suggested.
    for (i, dedup) in ["u1", "u2"].iter().enumerate() {
        let (d, matched) = created(
            s.ingest_deployment(ops_deploy(ops.id, "not_found_alias", Some(dedup)))
                .await
                .expect("ingest"),
        );
        assert!(!matched);
        assert_eq!(d.service_id, None);
        assert_eq!(d.deploy_number, Some((i + 1).to_string()));
    }
    let suggestions = s.list_suggestions().await.expect("suggestions");
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].alias, "not_found_alias");
    assert_eq!(suggestions[0].deploy_count, 2);
    assert_eq!(suggestions[0].integration_id, ops.id);

    // Accepting into a new service re-links both deploys and continues their numbering.
    let svc = s
        .accept_suggestion(suggestions[0].id, AcceptInto::New("finder".into()))
        .await
        .expect("accept");
    let keys: Vec<&str> = svc.aliases.iter().map(ServiceAlias::as_str).collect();
    assert_eq!(keys, vec!["finder", "not_found_alias"]);
    assert!(s.list_suggestions().await.expect("suggestions").is_empty());
    let filter = AllDeploymentsFilter {
        service_id: Some(svc.id),
        ..Default::default()
    };
    let (items, total) = s
        .list_all_deployments(&filter, page(1, 30))
        .await
        .expect("list");
    assert_eq!(total, 2);
    assert_eq!(items.len(), 2);
    let (d, _) = created(
        s.ingest_deployment(ops_deploy(ops.id, "NOT_FOUND_ALIAS", None))
            .await
            .expect("ingest"),
    );
    assert_eq!(d.service_id, Some(svc.id));
    assert_eq!(d.deploy_number.as_deref(), Some("3"));

    // Dismissed suggestions stay dismissed; accepting into an existing service works too.
    s.ingest_deployment(ops_deploy(ops.id, "ghost", None))
        .await
        .expect("ingest");
    s.ingest_deployment(ops_deploy(ops.id, "jenkins:cart", None))
        .await
        .expect("ingest");
    let sug = s.list_suggestions().await.expect("suggestions");
    assert_eq!(sug.len(), 2);
    let ghost = sug.iter().find(|x| x.alias == "ghost").expect("ghost");
    s.dismiss_suggestion(ghost.id).await.expect("dismiss");
    assert!(matches!(
        s.dismiss_suggestion(ghost.id).await,
        Err(StoreError::NotFound)
    ));
    s.ingest_deployment(ops_deploy(ops.id, "ghost", None))
        .await
        .expect("ingest");
    let sug = s.list_suggestions().await.expect("suggestions");
    assert_eq!(sug.len(), 1);
    let svc = s
        .accept_suggestion(sug[0].id, AcceptInto::Existing(cart.id))
        .await
        .expect("accept");
    assert!(svc.aliases.iter().any(|a| a.as_str() == "jenkins:cart"));
    assert!(matches!(
        s.accept_suggestion(sug[0].id, AcceptInto::Existing(cart.id))
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn devlake_upsert_and_repo_matching(db: Arc<TestDb>) {
    let s = &db.store;
    let dl = devlake(&db).await;
    let shop = repo(&db, "acme/shop").await;
    let svc = s
        .create_service(ServiceInput {
            name: Some("shop".into()),
            aliases: None,
            repos: Some(vec![shop.id]),
        })
        .await
        .expect("service");

    let first = devlake_deploy(
        dl.id,
        "gha-run-4711",
        vec![
            commit("https://github.com/Acme/Shop.git", "c1"),
            commit("repo-2", "c2"),
        ],
    );
    let (d, _) = created(s.ingest_deployment(first).await.expect("ingest"));
    assert_eq!(d.service_id, Some(svc.id), "found through the repository");
    assert_eq!(d.deploy_number, None);
    assert_eq!(
        d.commits[0].repo.as_ref().map(|r| r.full_name()),
        Some("acme/shop".into())
    );
    assert_eq!(d.commits[1].repo, None);

    // Same key: overwritten (last write wins), commits upserted, absent ones kept.
    let mut c2 = commit("repo-2", "c2");
    c2.ref_name = Some("v2".into());
    let second = NewIngestedDeployment {
        result: DeployResult::Success,
        environment: "STAGING".into(),
        ..devlake_deploy(dl.id, "gha-run-4711", vec![c2, commit("repo-3", "c3")])
    };
    let updated = match s.ingest_deployment(second).await.expect("ingest") {
        Ingested::Updated { deployment } => deployment,
        other => panic!("expected Updated, got {other:?}"),
    };
    assert_eq!(updated.id, d.id);
    assert_eq!(updated.result, DeployResult::Success);
    assert_eq!(updated.environment, "STAGING");
    let shas: Vec<(&str, Option<&str>)> = updated
        .commits
        .iter()
        .map(|c| (c.sha.as_str(), c.ref_name.as_deref()))
        .collect();
    assert_eq!(shas.len(), 3);
    assert!(shas.contains(&("c2", Some("v2"))));

    // Keys are scoped per connection (DevLake defect D5).
    let other = devlake(&db).await;
    let (d2, _) = created(
        s.ingest_deployment(devlake_deploy(
            other.id,
            "gha-run-4711",
            vec![commit("r", "c9")],
        ))
        .await
        .expect("ingest"),
    );
    assert_ne!(d2.id, d.id);
    let (items, total) = s
        .list_all_deployments(&AllDeploymentsFilter::default(), page(1, 30))
        .await
        .expect("list");
    assert_eq!((items.len(), total), (2, 2));

    // The repository filter reaches ingested deploys through their commits.
    let (items, _) = s
        .list_all_deployments(
            &AllDeploymentsFilter {
                repo_id: Some(shop.id),
                ..Default::default()
            },
            page(1, 30),
        )
        .await
        .expect("list");
    assert_eq!(items.len(), 1);
}

async fn concurrent_same_dedup_id(db: Arc<TestDb>) {
    let ops = opslevel(&db, "h").await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = Arc::clone(&db);
        tasks.push(tokio::spawn(async move {
            db.store
                .ingest_deployment(ops_deploy(ops.id, "shopping_cart", Some("same")))
                .await
                .expect("ingest")
        }));
    }
    let (mut created_n, mut dup) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ingested::Created { .. } => created_n += 1,
            Ingested::Duplicate => dup += 1,
            Ingested::Updated { .. } => panic!("no updates for OpsLevel"),
        }
    }
    assert_eq!((created_n, dup), (1, 49));
    let (items, total) = db
        .store
        .list_all_deployments(&AllDeploymentsFilter::default(), page(1, 100))
        .await
        .expect("list");
    assert_eq!((items.len(), total), (1, 1));
    let sug = db.store.list_suggestions().await.expect("suggestions");
    assert_eq!(sug[0].deploy_count, 1);
}

async fn concurrent_numbers_of_a_new_service(db: Arc<TestDb>) {
    let ops = opslevel(&db, "h").await;
    db.store
        .create_service(ServiceInput {
            name: Some("fresh".into()),
            ..Default::default()
        })
        .await
        .expect("service");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let db = Arc::clone(&db);
        tasks.push(tokio::spawn(async move {
            let dedup = format!("run-{i}");
            created(
                db.store
                    .ingest_deployment(ops_deploy(ops.id, "fresh", Some(&dedup)))
                    .await
                    .expect("ingest"),
            )
            .0
            .deploy_number
        }));
    }
    let mut numbers = BTreeSet::new();
    for t in tasks {
        let n: i64 = t
            .await
            .expect("task")
            .expect("a number")
            .parse()
            .expect("an integer");
        assert!(numbers.insert(n), "{n} given twice");
    }
    assert_eq!(numbers, (1..=50).collect::<BTreeSet<i64>>());
}

async fn all_sources_listing(db: Arc<TestDb>) {
    let s = &db.store;
    let shop = repo(&db, "acme/shop").await;
    let ops = opslevel(&db, "h").await;
    let svc = s
        .create_service(ServiceInput {
            name: Some("shop".into()),
            aliases: None,
            repos: Some(vec![shop.id]),
        })
        .await
        .expect("service");
    let api = s
        .create_deployment(deploy(&shop, 1, "production"))
        .await
        .expect("api deploy");
    let now = Timestamp::now().unix();
    // An old (backfilled) deploy sorts after, a future-dated one before, the API deployment.
    let old = NewIngestedDeployment {
        finished_at: Timestamp::from_unix(now - 86_400),
        ..ops_deploy(ops.id, "shop", Some("old"))
    };
    let (old, _) = created(s.ingest_deployment(old).await.expect("ingest"));
    let new = NewIngestedDeployment {
        finished_at: Timestamp::from_unix(now + 3_600),
        environment: "staging".into(),
        ..ops_deploy(ops.id, "elsewhere", Some("new"))
    };
    let (new, _) = created(s.ingest_deployment(new).await.expect("ingest"));

    let order = |items: &[AnyDeployment]| -> Vec<String> {
        items
            .iter()
            .map(|d| match d {
                AnyDeployment::Api(d) => format!("api:{}", d.id),
                AnyDeployment::Ingested(d) => format!("ing:{}", d.id),
            })
            .collect()
    };
    let list = |f: AllDeploymentsFilter| async move {
        s.list_all_deployments(&f, page(1, 30)).await.expect("list")
    };
    let (items, total) = list(AllDeploymentsFilter::default()).await;
    assert_eq!(total, 3);
    assert_eq!(
        order(&items),
        vec![
            format!("ing:{}", new.id),
            format!("api:{}", api.id),
            format!("ing:{}", old.id)
        ]
    );
    let (items, total) = s
        .list_all_deployments(&AllDeploymentsFilter::default(), page(2, 2))
        .await
        .expect("page 2");
    assert_eq!((order(&items), total), (vec![format!("ing:{}", old.id)], 3));
    // A deep page takes the database's ordered UNION ALL instead of the in-memory merge.
    let (items, total) = s
        .list_all_deployments(&AllDeploymentsFilter::default(), page(200, 100))
        .await
        .expect("deep page");
    assert_eq!((items.len(), total), (0, 3));
    let (items, total) = s
        .list_all_deployments(
            &AllDeploymentsFilter {
                service_id: Some(svc.id),
                environment: Some("production".into()),
                repo_id: Some(shop.id),
                from: Some(Timestamp::from_unix(0)),
                ..Default::default()
            },
            page(200, 100),
        )
        .await
        .expect("deep page, every filter");
    assert_eq!((items.len(), total), (0, 1));
    // The repository scope's total comes from deployment_counts.
    let (items, total) = s
        .list_all_deployments(
            &AllDeploymentsFilter {
                repo_id: Some(shop.id),
                ..Default::default()
            },
            page(1, 30),
        )
        .await
        .expect("repository");
    assert_eq!((order(&items), total), (vec![format!("api:{}", api.id)], 1));

    let (items, _) = list(AllDeploymentsFilter {
        source: Some(DeploymentSource::Api),
        ..Default::default()
    })
    .await;
    assert_eq!(order(&items), vec![format!("api:{}", api.id)]);
    let (items, _) = list(AllDeploymentsFilter {
        source: Some(DeploymentSource::OpsLevel),
        ..Default::default()
    })
    .await;
    assert_eq!(items.len(), 2);
    let (items, _) = list(AllDeploymentsFilter {
        source: Some(DeploymentSource::DevLake),
        ..Default::default()
    })
    .await;
    assert!(items.is_empty());
    // The service filter: API deploys of its repositories, ingested deploys of the service.
    let (items, _) = list(AllDeploymentsFilter {
        service_id: Some(svc.id),
        ..Default::default()
    })
    .await;
    assert_eq!(
        order(&items),
        vec![format!("api:{}", api.id), format!("ing:{}", old.id)]
    );
    // Environments: exact for API deploys, case-insensitive for ingested ones.
    let (items, _) = list(AllDeploymentsFilter {
        environment: Some("production".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        order(&items),
        vec![format!("api:{}", api.id), format!("ing:{}", old.id)]
    );
    let (items, _) = list(AllDeploymentsFilter {
        from: Some(Timestamp::from_unix(now - 60)),
        to: Some(Timestamp::from_unix(now + 60)),
        ..Default::default()
    })
    .await;
    assert_eq!(order(&items), vec![format!("api:{}", api.id)]);
}

async fn issues_and_incidents(db: Arc<TestDb>) {
    let s = &db.store;
    let dl = devlake(&db).await;
    let svc = s
        .create_service(ServiceInput {
            name: Some("payments".into()),
            ..Default::default()
        })
        .await
        .expect("service");
    let created_at = Timestamp::from_unix(1_577_880_000);
    let incident = NewIssue {
        integration_id: dl.id,
        issue_key: "DLK-1234".into(),
        title: "a feature from DLK".into(),
        status: IssueStatus::Todo,
        original_status: "TODO".into(),
        issue_type: Some("INCIDENT".into()),
        incident: true,
        url: None,
        description: Some(String::new()),
        priority: None,
        severity: None,
        component: Some("Payments".into()),
        created_date: created_at,
        updated_date: Some(created_at),
        resolution_date: None,
        lead_time_minutes: None,
        fields: "{}".into(),
    };
    let i = s.upsert_issue(incident.clone()).await.expect("upsert");
    assert_eq!(i.service_id, Some(svc.id));
    assert_eq!(i.service_name.as_deref(), Some("payments"));
    // Re-posting replaces every column, on the same row.
    let again = s
        .upsert_issue(NewIssue {
            title: "renamed".into(),
            status: IssueStatus::InProgress,
            ..incident.clone()
        })
        .await
        .expect("upsert");
    assert_eq!((again.id, again.title.as_str()), (i.id, "renamed"));
    assert_eq!(again.status, IssueStatus::InProgress);
    // A bug is an issue, not an incident.
    s.upsert_issue(NewIssue {
        issue_key: "BUG-1".into(),
        issue_type: Some("BUG".into()),
        incident: false,
        ..incident.clone()
    })
    .await
    .expect("upsert");
    let (list, total) = s
        .list_incidents(&IncidentFilter::default(), page(1, 30))
        .await
        .expect("list");
    assert_eq!((list.len(), total), (1, 1));

    // Closing sets DONE, the resolution date, the lead time; closing again changes nothing.
    let closed_at = Timestamp::from_unix(created_at.unix() + 3_600 + 59);
    let closed = s
        .close_issue(dl.id, "DLK-1234", closed_at)
        .await
        .expect("close");
    assert_eq!(closed.status, IssueStatus::Done);
    assert_eq!(closed.resolution_date, Some(closed_at));
    assert_eq!(closed.lead_time_minutes, Some(60));
    let later = Timestamp::from_unix(closed_at.unix() + 999);
    let again = s
        .close_issue(dl.id, "DLK-1234", later)
        .await
        .expect("close");
    assert_eq!(again.resolution_date, Some(closed_at));
    assert!(matches!(
        s.close_issue(dl.id, "NOPE-1", later).await,
        Err(StoreError::NotFound)
    ));
    // Keys are per connection.
    let other = devlake(&db).await;
    assert!(matches!(
        s.close_issue(other.id, "DLK-1234", later).await,
        Err(StoreError::NotFound)
    ));

    let (list, _) = s
        .list_incidents(
            &IncidentFilter {
                status: Some(IssueStatus::Todo),
                ..Default::default()
            },
            page(1, 30),
        )
        .await
        .expect("list");
    assert!(list.is_empty());
    let (list, _) = s
        .list_incidents(
            &IncidentFilter {
                service_id: Some(svc.id),
                ..Default::default()
            },
            page(1, 30),
        )
        .await
        .expect("list");
    assert_eq!(list.len(), 1);
}

async fn batch_ingest(db: Arc<TestDb>) {
    let ops = opslevel(&db, "h").await;
    let batch = || {
        vec![
            ops_deploy(ops.id, "svc", Some("a")),
            ops_deploy(ops.id, "svc", Some("a")),
            ops_deploy(ops.id, "svc", Some("b")),
        ]
    };
    let kinds = |v: Vec<Ingested>| -> Vec<&'static str> {
        v.into_iter()
            .map(|i| match i {
                Ingested::Created { .. } => "created",
                Ingested::Updated { .. } => "updated",
                Ingested::Duplicate => "duplicate",
            })
            .collect()
    };
    let first = db.store.ingest_deployments(batch()).await.expect("batch");
    assert_eq!(kinds(first), vec!["created", "duplicate", "created"]);
    let again = db.store.ingest_deployments(batch()).await.expect("batch");
    assert_eq!(kinds(again), vec!["duplicate", "duplicate", "duplicate"]);
    let (items, _) = db
        .store
        .list_all_deployments(&AllDeploymentsFilter::default(), page(1, 30))
        .await
        .expect("list");
    let numbers: BTreeSet<String> = items
        .iter()
        .filter_map(|d| match d {
            AnyDeployment::Ingested(d) => d.deploy_number.clone(),
            AnyDeployment::Api(_) => None,
        })
        .collect();
    assert_eq!(numbers, BTreeSet::from(["1".to_owned(), "2".to_owned()]));
    assert_eq!(
        db.store.list_suggestions().await.expect("suggestions")[0].deploy_count,
        2
    );
}

/// The deploys of [`batch_equals_one_by_one`] for one side (`p`: its name prefix).
fn mixed_batch(integration: IntegrationId, p: &str) -> Vec<NewIngestedDeployment> {
    let web = format!("{p}-web");
    let api = format!("{p}-api");
    let at = |n: i64| Timestamp::from_unix(1_700_000_000 + n * 3600);
    let d = |n: i64, service: &str, key: Option<&str>| NewIngestedDeployment {
        finished_at: at(n),
        started_at: at(n),
        ..ops_deploy(integration, service, key)
    };
    let numbered = |n: i64, key: &str, number: &str| NewIngestedDeployment {
        deploy_number: Some(number.into()),
        ..d(n, &web, Some(key))
    };
    vec![
        d(1, &web, Some("k1")),
        numbered(2, "k2", "7"),
        d(3, &web, Some("k1")),
        d(4, &web, None),
        d(5, &api, Some("k3")),
        d(6, &api, Some("k4")),
        NewIngestedDeployment {
            commits: vec![commit("https://git.example/x/y", "c5")],
            ..d(7, &web, Some("k5"))
        },
        NewIngestedDeployment {
            result: DeployResult::Failure,
            ..d(8, &web, Some("k6"))
        },
        NewIngestedDeployment {
            environment: "Staging".into(),
            ..d(9, &web, Some("k7"))
        },
        numbered(10, "k8", "x12"),
        d(11, &web, Some("k9")),
        NewIngestedDeployment {
            service_alias: None,
            ..d(12, &web, Some("k10"))
        },
        numbered(13, "k11", "3"),
        d(14, &api, Some("k12")),
    ]
}

/// A side's outcomes, deploys, suggestions and DORA deployments, with its prefix removed.
async fn side_summary(
    db: &TestDb,
    integration: IntegrationId,
    p: &str,
    outcomes: Vec<Ingested>,
) -> Vec<String> {
    let strip = |s: &str| s.replacen(&format!("{p}-"), "", 1);
    let mut out: Vec<String> = outcomes
        .into_iter()
        .map(|o| match o {
            Ingested::Created {
                deployment: d,
                service_matched,
            } => format!(
                "created {:?} {:?} {:?} {service_matched} {} {}",
                d.deploy_number,
                d.service_name.as_deref().map(strip),
                d.external_key,
                d.environment,
                d.result.as_str(),
            ),
            Ingested::Updated { .. } => "updated".into(),
            Ingested::Duplicate => "duplicate".into(),
        })
        .collect();
    let (items, _) = db
        .store
        .list_all_deployments(&AllDeploymentsFilter::default(), page(1, 100))
        .await
        .expect("list");
    let mut services = BTreeSet::new();
    for item in items {
        if let AnyDeployment::Ingested(d) = item {
            if d.integration_id == integration {
                out.push(format!(
                    "listed {} {:?} {:?} {:?} {} {}",
                    d.finished_at.unix(),
                    d.deploy_number,
                    d.service_name.as_deref().map(strip),
                    d.service_alias.as_deref().map(strip),
                    d.commits.len(),
                    d.environment,
                ));
                services.extend(d.service_id);
            }
        }
    }
    for s in db.store.list_suggestions().await.expect("suggestions") {
        if s.integration_id == integration {
            out.push(format!("suggested {} {}", strip(&s.alias), s.deploy_count));
        }
    }
    let facts = db
        .store
        .dora_facts(&DoraQuery {
            from: Timestamp::from_unix(0),
            until: Timestamp::from_unix(2_000_000_000),
            services: services.into_iter().collect(),
            environment: None,
            extra_production: vec![],
            lead_tiles: None,
        })
        .await
        .expect("dora facts");
    let mut dora: Vec<i64> = facts
        .deployments
        .iter()
        .filter(|f| f.in_scope)
        .map(|f| f.finished_at.unix())
        .collect();
    dora.sort_unstable();
    out.push(format!("dora {dora:?}"));
    out
}

/// A batch (on SQLite: multi-row statements per run of deploys without commits, a deploy
/// with commits alone between runs) leaves exactly what posting the same deploys one by one
/// leaves: outcomes, generated and raised numbers, services, suggestions, DORA's rows; and
/// a second batch continues the counters the first left.
async fn batch_equals_one_by_one(db: Arc<TestDb>) {
    let s = &db.store;
    let one = opslevel(&db, "one").await;
    let many = opslevel(&db, "many").await;
    for p in ["one", "many"] {
        s.create_service(ServiceInput {
            name: Some(format!("{p}-web")),
            aliases: None,
            repos: None,
        })
        .await
        .expect("service");
    }
    let mut singly = Vec::new();
    let mut batched = Vec::new();
    for _round in 0..2 {
        for new in mixed_batch(one.id, "one") {
            singly.push(s.ingest_deployment(new).await.expect("one by one"));
        }
        batched.extend(
            s.ingest_deployments(mixed_batch(many.id, "many"))
                .await
                .expect("batch"),
        );
    }
    let singly = side_summary(&db, one.id, "one", singly).await;
    let batched = side_summary(&db, many.id, "many", batched).await;
    assert_eq!(batched, singly);
    // The second round created only the deploy without a key.
    assert_eq!(
        batched.iter().filter(|l| l.starts_with("created")).count(),
        14
    );
}
