//! Story tests of the webhook outbox and GitHub deliveries (issue 5), on both backends:
//! deliveries enqueued by the transactions that make events, claimed in creation order per
//! deployment, retried, dead-lettered, redelivered; leases handed back; two claimers never
//! sharing a delivery; inbound delivery idempotency; auto-deploys gated by CI, never doubled.

#[allow(dead_code)]
mod support;

use ferry_domain::deployment::RequiredContexts;
use ferry_domain::{CommitState, StatusState, Timestamp};
use ferry_store::model::*;
use ferry_store::testing::TestDb;
use ferry_store::{CommitStatusStore, DeploymentStore, GithubStore, RepoStore, WebhookStore};
use std::collections::HashSet;
use std::sync::Arc;
use support::*;

on_both_backends!(
    fan_out_and_order,
    retries_dead_letter_and_redeliver,
    leases_and_concurrent_claims,
    github_deliveries_are_idempotent,
    auto_deploys_wait_for_ci,
    targets_come_and_go,
);

fn hook(url: &str, repos: Vec<ferry_domain::RepoId>) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        secret: "s".into(),
        events: vec![HookEvent::Deployment, HookEvent::DeploymentStatus],
        repos,
        active: true,
    }
}

fn far_future() -> i64 {
    Timestamp::now_millis() + 3_600_000
}

fn delivered(d: &ClaimedDelivery) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: d.id,
        at_ms: Timestamp::now_millis(),
        status_code: Some(200),
        duration_ms: 1,
        error: None,
        retry_at_ms: None,
        dead: false,
        github_id: None,
    }
}

fn failed(d: &ClaimedDelivery, retry_at_ms: i64, dead: bool) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: d.id,
        at_ms: Timestamp::now_millis(),
        status_code: Some(500),
        duration_ms: 1,
        error: None,
        retry_at_ms: (!dead).then_some(retry_at_ms),
        dead,
        github_id: None,
    }
}

async fn claim_all(db: &TestDb) -> Vec<ClaimedDelivery> {
    db.store
        .claim_deliveries(far_future(), 1000, 60_000)
        .await
        .expect("claim")
}

async fn fan_out_and_order(db: Arc<TestDb>) {
    let a = repo(&db, "o/a").await;
    let b = repo(&db, "o/b").await;
    let all = db
        .store
        .create_webhook(hook("http://x/all", vec![]))
        .await
        .expect("hook");
    let only_b = db
        .store
        .create_webhook(hook("http://x/b", vec![b.id]))
        .await
        .expect("hook");
    assert_eq!(only_b.repos.len(), 1);
    // Each subscription starts with its ping.
    let pings = claim_all(&db).await;
    assert_eq!(pings.len(), 2);
    assert!(pings.iter().all(|d| d.event == HookEvent::Ping));
    db.store
        .finish_deliveries(pings.iter().map(delivered).collect())
        .await
        .expect("finish");

    let d = db
        .store
        .create_deployment(deploy(&a, 1, "qa"))
        .await
        .expect("deploy");
    db.store
        .create_status(a.id, status(d.id, StatusState::InProgress))
        .await
        .expect("status");
    db.store
        .create_status(a.id, status(d.id, StatusState::Success))
        .await
        .expect("status");
    // Only the subscription to every repository hears about o/a; of its three events only the
    // oldest is claimable until it is delivered.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let claimed = claim_all(&db).await;
        assert_eq!(
            claimed.len(),
            1,
            "one at a time per deployment: {claimed:?}"
        );
        assert_eq!(claimed[0].webhook_id, all.id);
        seen.push(claimed[0].event);
        db.store
            .finish_deliveries(claimed.iter().map(delivered).collect())
            .await
            .expect("finish");
    }
    assert_eq!(
        seen,
        [
            HookEvent::Deployment,
            HookEvent::DeploymentStatus,
            HookEvent::DeploymentStatus
        ]
    );
    assert!(claim_all(&db).await.is_empty());

    // An inactive subscription gets nothing; a rolled-back deployment enqueues nothing.
    db.store
        .update_webhook(
            all.id,
            WebhookPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("patch");
    db.store
        .create_deployment(deploy(&a, 2, "qa"))
        .await
        .expect("deploy");
    let refused = db
        .store
        .create_deployment(NewDeployment {
            required_contexts: RequiredContexts::Listed(vec!["ci".into()]),
            ..deploy(&b, 3, "qa")
        })
        .await;
    assert!(refused.is_err());
    assert!(claim_all(&db).await.is_empty());
    let log = db.store.list_deliveries(all.id, 100).await.expect("list");
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d.state == DeliveryState::Delivered));
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
}

async fn retries_dead_letter_and_redeliver(db: Arc<TestDb>) {
    let a = repo(&db, "o/a").await;
    let h = db
        .store
        .create_webhook(NewWebhook {
            events: vec![HookEvent::Deployment],
            ..hook("http://x", vec![a.id])
        })
        .await
        .expect("hook");
    let ping = claim_all(&db).await;
    db.store
        .finish_deliveries(ping.iter().map(delivered).collect())
        .await
        .expect("finish");
    db.store
        .create_deployment(deploy(&a, 1, "qa"))
        .await
        .expect("deploy");
    let now = Timestamp::now_millis();
    // Fail once with a retry in the future: not claimable before then.
    let c = db
        .store
        .claim_deliveries(now, 10, 60_000)
        .await
        .expect("claim");
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].attempts, c[0].round_attempts), (1, 1));
    db.store
        .finish_deliveries(vec![failed(&c[0], now + 10_000, false)])
        .await
        .expect("finish");
    assert!(db
        .store
        .claim_deliveries(now, 10, 60_000)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(
        db.store.next_delivery_due().await.expect("due"),
        Some(now + 10_000)
    );
    // Due: claimed again with the same guid, then dead.
    let again = db
        .store
        .claim_deliveries(now + 10_000, 10, 60_000)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].guid, c[0].guid);
    assert_eq!(again[0].attempts, 2);
    db.store
        .finish_deliveries(vec![failed(&again[0], 0, true)])
        .await
        .expect("finish");
    assert!(claim_all(&db).await.is_empty());
    let (d, log) = db
        .store
        .delivery(h.id, c[0].id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status_code, Some(500));
    // Redelivery: pending again with a fresh budget, the same guid.
    db.store
        .redeliver(h.id, d.id, Timestamp::now_millis())
        .await
        .expect("redeliver");
    let r = claim_all(&db).await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].guid.as_str(), r[0].attempts, r[0].round_attempts),
        (c[0].guid.as_str(), 3, 1)
    );
    db.store
        .finish_deliveries(r.iter().map(delivered).collect())
        .await
        .expect("finish");
    let (d, log) = db
        .store
        .delivery(h.id, d.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.last_status_code, Some(200));
    assert_eq!(log.len(), 3);
    assert!(matches!(
        db.store.redeliver(h.id, 999_999, 0).await,
        Err(ferry_store::StoreError::NotFound)
    ));
    db.store.delete_webhook(h.id).await.expect("delete");
    assert!(db.store.webhook(h.id).await.expect("get").is_none());
    assert!(db
        .store
        .list_deliveries(h.id, 10)
        .await
        .expect("list")
        .is_empty());
}

async fn leases_and_concurrent_claims(db: Arc<TestDb>) {
    let a = repo(&db, "o/a").await;
    db.store
        .create_webhook(hook("http://x", vec![a.id]))
        .await
        .expect("hook");
    for n in 0..200 {
        db.store
            .create_deployment(deploy(&a, n, "qa"))
            .await
            .expect("deploy");
    }
    let now = Timestamp::now_millis();
    // Eight claimers at once: every delivery claimed exactly once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = Arc::clone(&db);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let c = db
                    .store
                    .claim_deliveries(now, 16, 60_000)
                    .await
                    .expect("claim");
                if c.is_empty() {
                    break;
                }
                mine.extend(c.into_iter().map(|d| d.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 201, "200 deployments and a ping");
    assert_eq!(unique.len(), 201, "no delivery claimed twice");
    // Nothing finished: once the leases end, every one is claimable again (a dead worker).
    assert!(db
        .store
        .claim_deliveries(now, 1000, 60_000)
        .await
        .expect("claim")
        .is_empty());
    let after = db
        .store
        .claim_deliveries(now + 60_001, 1000, 60_000)
        .await
        .expect("claim");
    assert_eq!(after.len(), 201);
    assert!(after.iter().all(|d| d.attempts == 2));
}

async fn github_deliveries_are_idempotent(db: Arc<TestDb>) {
    let rec = |guid: &str| GithubDelivery {
        guid: guid.into(),
        event: "push".into(),
        action: None,
        repository: Some("o/a".into()),
        outcome: "received".into(),
        detail: String::new(),
        received_at_ms: Timestamp::now_millis(),
    };
    assert!(db
        .store
        .record_github_delivery(rec("g1"))
        .await
        .expect("record"));
    assert!(!db
        .store
        .record_github_delivery(rec("g1"))
        .await
        .expect("record"));
    db.store
        .finish_github_delivery("g1", "processed", "ok")
        .await
        .expect("finish");
    assert!(db
        .store
        .record_github_delivery(rec("g2"))
        .await
        .expect("record"));
    db.store.forget_github_delivery("g2").await.expect("forget");
    assert!(db
        .store
        .record_github_delivery(rec("g2"))
        .await
        .expect("record"));
    // Recorded long ago and never finished (a process died): a redelivery takes it over, once.
    let mut old = rec("g3");
    old.received_at_ms -= 120_000;
    assert!(db.store.record_github_delivery(old).await.expect("record"));
    assert!(db
        .store
        .record_github_delivery(rec("g3"))
        .await
        .expect("record"));
    assert!(!db
        .store
        .record_github_delivery(rec("g3"))
        .await
        .expect("record"));
    db.store.forget_github_delivery("g3").await.expect("forget");
    // Concurrent deliveries (batched into shared transactions on PostgreSQL): 20 copies of
    // one guid → one fresh; 50 distinct guids → all fresh.
    let mut tasks = Vec::new();
    for i in 0..70 {
        let db = Arc::clone(&db);
        let guid = if i < 20 {
            "g4".to_owned()
        } else {
            format!("d{i}")
        };
        tasks.push(tokio::spawn(async move {
            let d = GithubDelivery {
                guid,
                event: "push".into(),
                action: None,
                repository: None,
                outcome: "ignored".into(),
                detail: String::new(),
                received_at_ms: Timestamp::now_millis(),
            };
            db.store.record_github_delivery(d).await.expect("record")
        }));
    }
    let mut fresh = Vec::new();
    for t in tasks {
        fresh.push(t.await.expect("task"));
    }
    assert_eq!(fresh[..20].iter().filter(|f| **f).count(), 1, "one g4");
    assert!(fresh[20..].iter().all(|f| *f), "every distinct guid");
    let list = db.store.list_github_deliveries(100).await.expect("list");
    assert_eq!(list.len(), 53);
    let list: Vec<_> = list
        .into_iter()
        .filter(|d| d.guid.starts_with('g'))
        .collect();
    assert_eq!(list.len(), 3);
    let g1 = list.iter().find(|d| d.guid == "g1").expect("g1");
    assert!(list.iter().any(|d| d.guid == "g4"));
    assert_eq!(
        (g1.outcome.as_str(), g1.detail.as_str()),
        ("processed", "ok")
    );
}

/// CI reports `state` for `context` on commit `sha(n)` of `repo`.
async fn report(db: &TestDb, repo: &Repo, n: u32, context: &str, state: CommitState) {
    db.store
        .create_commit_status(NewCommitStatus {
            repo_id: repo.id,
            sha: sha(n),
            context: context.into(),
            state,
            target_url: None,
            description: None,
            creator: bot(),
        })
        .await
        .expect("status");
}

async fn auto_deploys_wait_for_ci(db: Arc<TestDb>) {
    let a = repo(&db, "o/a").await;
    let new_auto = |n: u32, env_name: &str, contexts: RequiredContexts| NewAutoDeploy {
        repo_id: a.id,
        environment: env(env_name),
        sha: sha(n),
        git_ref: "main".into(),
        trigger: AutoTrigger::Merge,
        required_contexts: contexts,
        production: false,
    };
    let required = |auto: &AutoDeploy| auto.required_contexts.clone();
    let auto = db
        .store
        .add_auto_deploy(new_auto(
            1,
            "preview",
            RequiredContexts::Listed(vec!["ci/test".into()]),
        ))
        .await
        .expect("add");
    // Recorded twice (a redelivery, a push of the same commit): one row.
    let same = db
        .store
        .add_auto_deploy(new_auto(
            1,
            "preview",
            RequiredContexts::Listed(vec!["ci/test".into()]),
        ))
        .await
        .expect("add");
    assert_eq!(auto.id, same.id);
    let to_deploy = |auto: &AutoDeploy| NewDeployment {
        required_contexts: required(auto),
        ..deploy(&a, 1, "preview")
    };
    let waiting = db
        .store
        .advance_auto_deploy(auto.id, to_deploy(&auto))
        .await
        .expect("advance");
    assert_eq!(waiting.state, AutoDeployState::Waiting);
    assert!(waiting.detail.contains("ci/test"), "{}", waiting.detail);
    assert_eq!(
        db.store
            .waiting_auto_deploys(a.id, &sha(1))
            .await
            .expect("w")
            .len(),
        1
    );
    report(&db, &a, 1, "ci/test", CommitState::Success).await;
    // Two advances at once: one deployment.
    let (x, y) = tokio::join!(
        db.store.advance_auto_deploy(auto.id, to_deploy(&auto)),
        db.store.advance_auto_deploy(auto.id, to_deploy(&auto)),
    );
    let (x, y) = (x.expect("advance"), y.expect("advance"));
    assert_eq!(x.state, AutoDeployState::Created);
    assert_eq!(x.deployment_id, y.deployment_id);
    let (list, total) = db
        .store
        .list_deployments(
            &DeploymentFilter {
                repo_id: Some(a.id),
                ..Default::default()
            },
            page(1, 10),
        )
        .await
        .expect("list");
    assert_eq!((list.len(), total), (1, 1));
    assert!(db
        .store
        .waiting_auto_deploys(a.id, &sha(1))
        .await
        .expect("w")
        .is_empty());

    // A failed context fails the auto-deploy with the 409 reason.
    let bad = db
        .store
        .add_auto_deploy(new_auto(
            2,
            "preview",
            RequiredContexts::Listed(vec!["ci/test".into()]),
        ))
        .await
        .expect("add");
    report(&db, &a, 2, "ci/test", CommitState::Failure).await;
    let failed = db
        .store
        .advance_auto_deploy(
            bad.id,
            NewDeployment {
                required_contexts: required(&bad),
                ..deploy(&a, 2, "preview")
            },
        )
        .await
        .expect("advance");
    assert_eq!(failed.state, AutoDeployState::Failed);
    assert!(
        failed.detail.starts_with("required_contexts_failed"),
        "{}",
        failed.detail
    );

    // `wait_for_ci` without a list: nothing reported yet is not green yet.
    let all = db
        .store
        .add_auto_deploy(new_auto(3, "staging", RequiredContexts::AllReported))
        .await
        .expect("add");
    let to3 = |auto: &AutoDeploy| NewDeployment {
        required_contexts: required(auto),
        ..deploy(&a, 3, "staging")
    };
    let w = db
        .store
        .advance_auto_deploy(all.id, to3(&all))
        .await
        .expect("advance");
    assert_eq!(w.state, AutoDeployState::Waiting, "{}", w.detail);
    report(&db, &a, 3, "build", CommitState::Success).await;
    let done = db
        .store
        .advance_auto_deploy(all.id, to3(&all))
        .await
        .expect("advance");
    assert_eq!(done.state, AutoDeployState::Created);
    let listed = db.store.list_auto_deploys(a.id, 10).await.expect("list");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].id, all.id, "newest first");
}

/// Events reach exactly the targets that exist when they are made, however subscriptions and
/// mirror mode come and go between creates (SQLite remembers whether any target exists).
async fn targets_come_and_go(db: Arc<TestDb>) {
    let a = repo(&db, "o/a").await;
    let mut n = 0;
    let mut create = || {
        n += 1;
        deploy(&a, n, "qa")
    };
    let events_now = |db: Arc<TestDb>| async move {
        let claimed = claim_all(&db).await;
        db.store
            .finish_deliveries(claimed.iter().map(delivered).collect())
            .await
            .expect("finish");
        claimed
            .iter()
            .map(|d| (d.event, matches!(d.target, DeliveryTarget::Github { .. })))
            .collect::<Vec<_>>()
    };
    db.store.create_deployment(create()).await.expect("deploy");
    assert!(
        events_now(Arc::clone(&db)).await.is_empty(),
        "no target yet"
    );

    let hook = db
        .store
        .create_webhook(hook("http://x/all", vec![]))
        .await
        .expect("hook");
    db.store.create_deployment(create()).await.expect("deploy");
    assert_eq!(
        events_now(Arc::clone(&db)).await,
        [(HookEvent::Ping, false), (HookEvent::Deployment, false)]
    );

    let off = WebhookPatch {
        active: Some(false),
        ..Default::default()
    };
    db.store.update_webhook(hook.id, off).await.expect("patch");
    db.store.create_deployment(create()).await.expect("deploy");
    assert!(events_now(Arc::clone(&db)).await.is_empty(), "inactive");

    let on = WebhookPatch {
        active: Some(true),
        ..Default::default()
    };
    db.store.update_webhook(hook.id, on).await.expect("patch");
    let d = db.store.create_deployment(create()).await.expect("deploy");
    db.store
        .create_status(a.id, status(d.id, StatusState::Success))
        .await
        .expect("status");
    let got = events_now(Arc::clone(&db)).await;
    assert_eq!(got, [(HookEvent::Deployment, false)], "one per deployment");
    assert_eq!(
        events_now(Arc::clone(&db)).await,
        [(HookEvent::DeploymentStatus, false)]
    );

    db.store.delete_webhook(hook.id).await.expect("delete");
    db.store.create_deployment(create()).await.expect("deploy");
    assert!(events_now(Arc::clone(&db)).await.is_empty(), "deleted");

    let mirror = RepoPatch {
        github_mirror: Some(Some(GithubMirror {
            api_url: "http://127.0.0.1:9".into(),
            auth: GithubAuth::Token("t".into()),
        })),
        ..Default::default()
    };
    db.store.update_repo(&a.slug, mirror).await.expect("mirror");
    db.store.create_deployment(create()).await.expect("deploy");
    assert_eq!(
        events_now(Arc::clone(&db)).await,
        [(HookEvent::Deployment, true)],
        "mirror mode"
    );

    let unmirror = RepoPatch {
        github_mirror: Some(None),
        ..Default::default()
    };
    db.store
        .update_repo(&a.slug, unmirror)
        .await
        .expect("unmirror");
    db.store.create_deployment(create()).await.expect("deploy");
    assert!(events_now(Arc::clone(&db)).await.is_empty(), "mirror off");
}
