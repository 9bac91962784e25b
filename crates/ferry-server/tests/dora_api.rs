//! DORA metrics end to end (spec/dora.md), on both backends: deploys and incidents go in
//! through the real HTTP surfaces (OpsLevel and DevLake webhooks, the GitHub-compatible
//! deployments API with a real git mirror, ferry's incident and pull-request API), and
//! `GET /api/v1/dora` / `GET /api/v1/dora/series` are checked number by number. Every
//! expectation is computed by hand in the comments next to it.
//!
//! - `ingested_metrics`: OpsLevel + DevLake + API incidents over January 2026: the whole
//!   range, `service=` (alias, repeated), `environment=`, `benchmark=2021`, weekly and monthly
//!   series, and the close endpoint's "now" resolution.
//! - `environment_filter_attribution`, `explicit_attribution_after_range`: the same data, on
//!   the incident attribution rules of dora.md §3.
//! - `git_mirror_lead_time`: `git log prev..sha` change data, a pull request, an explicit
//!   API-deployment incident.
//! - `api_finish_is_first_success`: success, failure, success again: the first success is
//!   the finish time.
//! - `ingest_edge_cases`: UTC days and Monday weeks with offsets, re-posts that change a
//!   DevLake result, generation-B FAILURE, duplicates, "strictly before", incidents without a
//!   service, the 2021 one-hour boundary.
//! - `incident_alias_added_later`, `repo_linked_after_ingest`: the catalog changes after the
//!   data arrived.
//! - `bad_parameters`, `empty_scope`: 400s naming the parameter; nulls with reasons.
//! - `incidents_api`: `POST`/`GET`/`PATCH /api/v1/incidents` and their refusals.

#[allow(dead_code)]
#[macro_use]
mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::*;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

both_backends! {
    ingested_metrics => ingested_metrics_sqlite, ingested_metrics_postgres;
    environment_filter_attribution => environment_filter_attribution_sqlite, environment_filter_attribution_postgres;
    explicit_attribution_after_range => explicit_attribution_after_range_sqlite, explicit_attribution_after_range_postgres;
    explicit_attribution_before_range => explicit_attribution_before_range_sqlite, explicit_attribution_before_range_postgres;
    git_mirror_lead_time => git_mirror_lead_time_sqlite, git_mirror_lead_time_postgres;
    github_pull_request_lead_time => github_pull_request_lead_time_sqlite, github_pull_request_lead_time_postgres;
    api_finish_is_first_success => api_finish_is_first_success_sqlite, api_finish_is_first_success_postgres;
    ingest_edge_cases => ingest_edge_cases_sqlite, ingest_edge_cases_postgres;
    incident_alias_added_later => incident_alias_added_later_sqlite, incident_alias_added_later_postgres;
    repo_linked_after_ingest => repo_linked_after_ingest_sqlite, repo_linked_after_ingest_postgres;
    bad_parameters => bad_parameters_sqlite, bad_parameters_postgres;
    empty_scope => empty_scope_sqlite, empty_scope_postgres;
    incidents_api => incidents_api_sqlite, incidents_api_postgres;
}

const DEVLAKE_OK: &str =
    r#"{"code":0,"success":true,"message":"success","causes":null,"data":null}"#;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A full (40 hex) commit id made from a number.
fn sha(n: u32) -> String {
    format!("{n:040x}")
}

fn unix(rfc3339: &str) -> i64 {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339:?} is not RFC 3339: {e}"))
        .unix_timestamp()
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .expect("a valid time")
        .format(&Rfc3339)
        .expect("formats")
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn today() -> String {
    OffsetDateTime::now_utc().date().to_string()
}

/// Creates an OpsLevel integration and returns its deploy path.
async fn opslevel_integration(srv: &Server) -> String {
    let created = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "opslevel", "name": "ops"}),
        )
        .await
        .expect(201);
    let url = created["url"].as_str().expect("url");
    url.trim_start_matches(EXTERNAL_URL).to_owned()
}

/// Creates a DevLake connection accepting unauthenticated posts; returns its id.
async fn devlake_integration(srv: &Server) -> i64 {
    srv.post(
        "/api/v1/integrations",
        &json!({"kind": "devlake", "name": "dl", "auth": "none"}),
    )
    .await
    .expect(201)["id"]
        .as_i64()
        .expect("integration id")
}

/// One OpsLevel deploy (202 `ok`: the alias is a service's).
async fn ops_deploy(
    srv: &Server,
    path: &str,
    alias: &str,
    deployed_at: &str,
    environment: &str,
    commit: &str,
    authored: &str,
) {
    let body = json!({
        "service": alias,
        "deployer": {"email": "ci@example.com"},
        "deployed_at": deployed_at,
        "environment": environment,
        "description": format!("deploy {commit}"),
        "dedup_id": format!("dedup-{commit}"),
        "commit": {"sha": commit, "authoring_date": authored},
    });
    let r = srv
        .call(
            Method::POST,
            path,
            Auth::Anonymous,
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 202, "{body}: {}", r.text);
    assert_eq!(r.json(), json!({"result": "ok"}), "{body}");
}

/// POSTs to a DevLake webhook route (`deployments`, `issues`, `issue/<key>/close`).
async fn devlake_post(srv: &Server, connection: i64, route: &str, body: Value) {
    let path = format!("/api/rest/plugins/webhook/{connection}/{route}");
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let r = srv
        .call(Method::POST, &path, Auth::Anonymous, Some(bytes))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (200, DEVLAKE_OK),
        "{path} {body}"
    );
}

/// `GET /api/v1/dora?<query>`, expecting 200.
async fn dora(srv: &Server, query: &str) -> Value {
    srv.get(&format!("/api/v1/dora?{query}")).await.expect(200)
}

/// `GET /api/v1/dora/series?<query>`, expecting 200.
async fn series(srv: &Server, query: &str) -> Value {
    srv.get(&format!("/api/v1/dora/series?{query}"))
        .await
        .expect(200)
}

/// Asserts one metric object of a report: every key of `expected`, and nothing else except a
/// non-empty `reason`, present exactly when `level` is null.
#[track_caller]
fn assert_metric(report: &Value, key: &str, expected: Value) {
    let mut got = report
        .get(key)
        .unwrap_or_else(|| panic!("no {key:?} in {report}"))
        .clone();
    let obj = got.as_object_mut().expect("a metric is an object");
    let reason = obj.remove("reason");
    if obj.get("level").is_some_and(Value::is_null) {
        assert!(
            reason
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|r| !r.trim().is_empty()),
            "{key}: a null level needs a reason: {report}"
        );
    } else {
        assert!(
            reason.is_none(),
            "{key}: a reason without a null level: {report}"
        );
    }
    assert_eq!(got, expected, "{key} of {report}");
}

/// Asserts a report's four metrics (2023 key for the fourth).
#[track_caller]
fn assert_report(report: &Value, f: Value, l: Value, c: Value, r: Value, recovery_key: &str) {
    assert_metric(report, "deployment_frequency", f);
    assert_metric(report, "lead_time_for_changes", l);
    assert_metric(report, "change_failure_rate", c);
    assert_metric(report, recovery_key, r);
}

const FDRT: &str = "failed_deployment_recovery_time";
const TTR: &str = "time_to_restore_service";

/// The keys of a report, in order.
fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

#[track_caller]
fn assert_error(r: &Resp, status: u16, param: &str) {
    let body = r.expect(status);
    let err = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("error object expected: {body}"));
    assert_eq!(err.len(), 2, "{body}");
    assert_eq!(err["code"], "invalid_request", "{body}");
    let message = err["message"].as_str().expect("message");
    assert!(
        message.contains(param),
        "the message must name {param:?}: {message:?}"
    );
}

fn environments(report: &Value) -> BTreeSet<String> {
    report["scope"]["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e.as_str().expect("string").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: ingested deploys and incidents over January 2026
// ---------------------------------------------------------------------------------------------
//
// Services: shopping_cart (aliases shopping_cart, cart; repo acme/shop) and payments
// (aliases payments, pay; repo acme/pay). No repository has a git mirror, so the commits a
// payload names are the changes.
//
// OpsLevel deploys (success, finish = deployed_at; change start = commit.authoring_date):
//   O7 cart  2025-12-30T10:00 Production  A0 authored 2025-12-29T10:00   (before the range)
//   O1 cart  2026-01-05T10:00 Production  A1 authored 2026-01-04T10:00   lead 86400
//   O2 cart  2026-01-05T15:00 prod        A2 authored 2026-01-05T13:00   lead 7200
//   O5 pay   2026-01-06T08:00 production  B1 authored 2026-01-06T06:00   lead 7200
//   O3 cart  2026-01-07T09:00 staging     A3 authored 2026-01-06T09:00   (not production)
//   O4 cart  2026-01-14T12:00 PRD         A4 authored 2026-01-12T12:00   lead 172800
//   O8 pay   2026-01-27T10:00 production  B2 authored 2026-01-27T11:00   lead -3600: dropped
//   O6 cart  2026-02-03T10:00 production  A5 authored 2026-02-02T10:00   (after the range)
// DevLake deploys (repo acme/pay → payments; no author times → no lead-time sample):
//   D1 SUCCESS PRODUCTION end 2026-01-08T11:00, acme/pay P1
//   D2 FAILURE PRODUCTION end 2026-01-09T11:00, acme/pay P2              (never counted)
//   D3 (default SUCCESS, default PRODUCTION) end 2026-01-20T16:00, acme/pay P3 +
//      acme/pay-infra P4                                                  (one deployment)
// Incidents:
//   I1 DevLake INC-1 component cart, created 2026-01-05T16:00, closed by the close endpoint
//      (resolution = now, after January)                                  → O2
//   I8 DevLake INC-2 component pay, DONE, created 2026-01-06T09:00, resolved 09:45 → O5
//   I7 DevLake INC-3 no component, created 2026-01-25T00:00 (unresolved) → latest deploy of
//      the DevLake connection before it: D3
//   I2 API payments, deployment D1 (ingested), created 2026-01-21T00:00, resolved 03:00
//      (implicitly it would be D3; the explicit id wins)                  → D1
//   I3 API shopping_cart, created 2026-01-14T13:00, resolved 13:30         → O4
//   I4 API cart, created 2026-01-15T00:00 (unresolved)                     → O4
//   I5 API payments, created 2026-01-02T00:00 (unresolved): no payments deploy before → none
//   I6 API cart, created 2026-01-02T12:00, resolved 14:00                  → O7 (not counted)

struct Scenario {
    /// Connection id of the DevLake integration.
    devlake: i64,
}

const JAN: &str = "from=2026-01-01&to=2026-01-31";

async fn ingested_scenario(srv: &Server) -> Scenario {
    for repo in ["acme/shop", "acme/pay"] {
        srv.post("/api/v1/repos", &json!({"full_name": repo}))
            .await
            .expect(201);
    }
    srv.post(
        "/api/v1/services",
        &json!({"name": "shopping_cart", "aliases": ["shopping_cart", "cart"], "repos": ["acme/shop"]}),
    )
    .await
    .expect(201);
    srv.post(
        "/api/v1/services",
        &json!({"name": "payments", "aliases": ["payments", "pay"], "repos": ["acme/pay"]}),
    )
    .await
    .expect(201);
    let ops = opslevel_integration(srv).await;
    let dl = devlake_integration(srv).await;

    // OpsLevel (O8 and O6 come later, after the incidents: order must not matter).
    for (alias, at, env, commit, authored) in [
        (
            "cart",
            "2025-12-30T10:00:00Z",
            "Production",
            0xa0,
            "2025-12-29T10:00:00Z",
        ),
        (
            "cart",
            "2026-01-05T10:00:00Z",
            "Production",
            0xa1,
            "2026-01-04T10:00:00Z",
        ),
        (
            "cart",
            "2026-01-05T15:00:00Z",
            "prod",
            0xa2,
            "2026-01-05T13:00:00Z",
        ),
        (
            "pay",
            "2026-01-06T08:00:00Z",
            "production",
            0xb1,
            "2026-01-06T06:00:00Z",
        ),
        (
            "cart",
            "2026-01-07T09:00:00Z",
            "staging",
            0xa3,
            "2026-01-06T09:00:00Z",
        ),
        (
            "cart",
            "2026-01-14T12:00:00Z",
            "PRD",
            0xa4,
            "2026-01-12T12:00:00Z",
        ),
    ] {
        ops_deploy(srv, &ops, alias, at, env, &sha(commit), authored).await;
    }

    // DevLake deployments (generation A, snake_case).
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "dl-1", "environment": "PRODUCTION", "result": "SUCCESS",
            "start_time": "2026-01-08T10:30:00+00:00", "end_time": "2026-01-08T11:00:00+00:00",
            "deploymentCommits": [{"repo_url": "https://github.com/acme/pay", "commit_sha": sha(0xd1)}]}),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "dl-2", "environment": "PRODUCTION", "result": "FAILURE",
            "start_time": "2026-01-09T10:30:00+00:00", "end_time": "2026-01-09T11:00:00+00:00",
            "deploymentCommits": [{"repo_url": "https://github.com/acme/pay", "commit_sha": sha(0xd2)}]}),
    )
    .await;

    // Incidents.
    devlake_post(
        srv,
        dl,
        "issues",
        json!({"issue_key": "INC-1", "title": "cart 500s", "type": "INCIDENT", "status": "TODO",
            "created_date": "2026-01-05T16:00:00+00:00", "component": "cart"}),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "issues",
        json!({"issue_key": "INC-2", "title": "payments slow", "type": "INCIDENT", "status": "DONE",
            "created_date": "2026-01-06T09:00:00+00:00",
            "resolution_date": "2026-01-06T09:45:00+00:00", "component": "pay"}),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "issues",
        json!({"issue_key": "INC-3", "title": "something broke", "type": "INCIDENT", "status": "TODO",
            "created_date": "2026-01-25T00:00:00+00:00", "component": ""}),
    )
    .await;

    // D3 after the incident that follows it (attribution is computed at report time).
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "dl-3",
            "start_time": "2026-01-20T15:30:00+00:00", "end_time": "2026-01-20T16:00:00+00:00",
            "deploymentCommits": [
                {"repo_url": "https://github.com/acme/pay", "commit_sha": sha(0xd3)},
                {"repo_url": "https://github.com/acme/pay-infra", "commit_sha": sha(0xd4)}]}),
    )
    .await;

    // The ingested id of D1, for the explicit attribution.
    let listed = srv
        .get("/api/v1/deployments?source=devlake&per_page=100")
        .await
        .expect(200);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 3, "{listed:?}");
    let d1 = listed
        .iter()
        .find(|d| d["sha"] == sha(0xd1))
        .expect("D1 is listed");
    assert_eq!(d1["service"], "payments", "found through acme/pay");
    let d1 = d1["id"].as_i64().expect("id");

    for body in [
        json!({"service": "payments", "title": "I2", "created_at": "2026-01-21T00:00:00Z",
            "resolved_at": "2026-01-21T03:00:00Z", "deployment_id": d1, "deployment_source": "ingested"}),
        json!({"service": "shopping_cart", "title": "I3", "created_at": "2026-01-14T13:00:00Z",
            "resolved_at": "2026-01-14T13:30:00Z"}),
        json!({"service": "cart", "title": "I4", "created_at": "2026-01-15T00:00:00Z"}),
        json!({"service": "payments", "title": "I5", "created_at": "2026-01-02T00:00:00Z"}),
        json!({"service": "cart", "title": "I6", "created_at": "2026-01-02T12:00:00Z",
            "resolved_at": "2026-01-02T14:00:00Z"}),
    ] {
        let created = srv.post("/api/v1/incidents", &body).await.expect(201);
        if body["title"] == "I2" {
            assert_eq!(created["deployment_id"], d1);
            assert_eq!(created["deployment_source"], "ingested");
            assert_eq!(created["status"], "DONE");
            assert_eq!(created["resolved_at"], "2026-01-21T03:00:00Z");
        }
    }

    for (alias, at, env, commit, authored) in [
        (
            "pay",
            "2026-01-27T10:00:00Z",
            "production",
            0xb2,
            "2026-01-27T11:00:00Z",
        ),
        (
            "cart",
            "2026-02-03T10:00:00Z",
            "production",
            0xa5,
            "2026-02-02T10:00:00Z",
        ),
    ] {
        ops_deploy(srv, &ops, alias, at, env, &sha(commit), authored).await;
    }
    Scenario { devlake: dl }
}

async fn ingested_metrics(srv: &Server) {
    let sc = ingested_scenario(srv).await;

    // ---- The whole of January, default scope (production-class), 2023 benchmark.
    let r = dora(srv, JAN).await;
    assert_eq!(
        keys(&r),
        [
            "from",
            "to",
            "benchmark",
            "scope",
            "deployment_frequency",
            "lead_time_for_changes",
            "change_failure_rate",
            FDRT
        ],
        "{r}"
    );
    assert_eq!(
        (&r["from"], &r["to"], &r["benchmark"]),
        (&json!("2026-01-01"), &json!("2026-01-31"), &json!("2023"))
    );
    assert_eq!(r["scope"]["services"], json!([]));
    assert_eq!(
        environments(&r),
        BTreeSet::from(["prd".to_owned(), "prod".to_owned(), "production".to_owned()])
    );
    // Counted: O1, O2 (Jan 5), O5 (Jan 6), D1 (Jan 8), O4 (Jan 14), D3 (Jan 20), O8 (Jan 27)
    // = 7; not O3 (staging), D2 (failure), O7/O6 (outside). Days: 5, 6, 8, 14, 20, 27 = 6.
    // Weeks (Monday start): Jan 1-4: 0; 5-11: 3 (5, 6, 8); 12-18: 1; 19-25: 1; 26-31: 1.
    // Sorted [0,1,1,1,3], lower median index (5-1)/2 = 2 → 1. Month: 6. 2023: week ≥ 1 → high.
    // Lead: O1 86400, O2 7200, O5 7200, O4 172800 (DevLake commits have no start; O8 is
    // negative → dropped 1). Sorted [7200,7200,86400,172800], index (4-1)/2 = 1 → 7200 < 1 day
    // → elite.
    // Failure: I1→O2, I8→O5, I7→D3, I2→D1, I3/I4→O4; I5 none, I6→O7 (not counted): 5 failed of
    // 7 → 0.714285… → 0.7143, > 15 % → low.
    // Recovery (attributed to a counted deployment and resolved in the range): I8 09:45-08:00
    // = 6300; I2 Jan 21 03:00 - Jan 8 11:00 = 12 d 16 h = 1094400; I3 13:30-12:00 = 5400. I1
    // was resolved "now" (after January). Sorted [5400,6300,1094400], index 1 → 6300: ≥ 1 h,
    // < 1 day → high.
    let whole_f = json!({"deployments": 7, "deployment_days": 6, "median_deployment_days_per_week": 1,
        "median_deployment_days_per_month": 6, "level": "high"});
    let whole_l = json!({"changes": 4, "dropped": 1, "median_seconds": 7200, "level": "elite"});
    let whole_c =
        json!({"deployments": 7, "failed_deployments": 5, "rate": 0.7143, "level": "low"});
    let whole_r = json!({"incidents": 3, "median_seconds": 6300, "level": "high"});
    assert_report(
        &r,
        whole_f.clone(),
        whole_l.clone(),
        whole_c.clone(),
        whole_r.clone(),
        FDRT,
    );
    // `benchmark=2023` explicitly is the default.
    let explicit = dora(srv, &format!("{JAN}&benchmark=2023")).await;
    assert_eq!(explicit, r);

    // ---- benchmark=2021 over the same range.
    // Frequency: week median 1 < 5, month median 6 ≥ 1 → high. Lead 7200 ≥ 1 h, < 7 d → high.
    // Failure 5/7 > 30 % → low. Time to restore: every incident resolved in the range, resolved
    // - created: I8 2700, I2 10800, I3 1800, I6 7200 → sorted [1800,2700,7200,10800], index 1
    // → 2700 < 1 h → elite.
    let r21 = dora(srv, &format!("{JAN}&benchmark=2021")).await;
    assert_eq!(r21["benchmark"], "2021");
    assert!(r21.get(FDRT).is_none(), "{r21}");
    assert_eq!(keys(&r21).last().map(String::as_str), Some(TTR));
    assert_report(
        &r21,
        json!({"deployments": 7, "deployment_days": 6, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 6, "level": "high"}),
        json!({"changes": 4, "dropped": 1, "median_seconds": 7200, "level": "high"}),
        json!({"deployments": 7, "failed_deployments": 5, "rate": 0.7143, "level": "low"}),
        json!({"incidents": 4, "median_seconds": 2700, "level": "elite"}),
        TTR,
    );

    // ---- service=cart (an alias of shopping_cart).
    // Counted: O1, O2 (Jan 5), O4 (Jan 14) = 3, days 2. Weeks [0,1,1,0,0] → sorted
    // [0,0,0,1,1], index 2 → 0; month 2 → medium. Lead [7200,86400,172800], index 1 → 86400,
    // not < 1 day, < 7 days → high. Failure: I1→O2, I3/I4→O4 (I6→O7 uncounted; I7 has no
    // service and goes to D3 of its connection, another service): 2/3 = 0.6667 → low.
    // Recovery: I3 only, 5400 → high.
    let cart = dora(srv, &format!("{JAN}&service=cart")).await;
    assert_eq!(cart["scope"]["services"], json!(["shopping_cart"]));
    assert_report(
        &cart,
        json!({"deployments": 3, "deployment_days": 2, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 2, "level": "medium"}),
        json!({"changes": 3, "dropped": 0, "median_seconds": 86400, "level": "high"}),
        json!({"deployments": 3, "failed_deployments": 2, "rate": 0.6667, "level": "low"}),
        json!({"incidents": 1, "median_seconds": 5400, "level": "high"}),
        FDRT,
    );
    // By name, the same.
    let by_name = dora(srv, &format!("{JAN}&service=shopping_cart")).await;
    assert_eq!(by_name, cart);

    // ---- service=cart, benchmark=2021: time to restore over the service's incidents
    // resolved in the range: I3 1800, I6 7200 → index 0 → 1800 → elite. Frequency: month
    // median 2 ≥ 1 → high. Lead 86400 → high. Failure 2/3 → low.
    let cart21 = dora(srv, &format!("{JAN}&service=cart&benchmark=2021")).await;
    assert_report(
        &cart21,
        json!({"deployments": 3, "deployment_days": 2, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 2, "level": "high"}),
        json!({"changes": 3, "dropped": 0, "median_seconds": 86400, "level": "high"}),
        json!({"deployments": 3, "failed_deployments": 2, "rate": 0.6667, "level": "low"}),
        json!({"incidents": 2, "median_seconds": 1800, "level": "elite"}),
        TTR,
    );

    // ---- service=pay: O5 (Jan 6), D1 (Jan 8), D3 (Jan 20), O8 (Jan 27) = 4, days 4.
    // Weeks: [0, 2, 0, 1, 1] → sorted [0,0,1,1,2] → 1; month 4 → high. Lead: O5 7200 only (O8
    // dropped) → elite. Failure: I8→O5, I2→D1, I7 (no service, DevLake connection) → D3:
    // 3/4 = 0.75 → low. Recovery: I8 6300, I2 1094400 → index 0 → 6300 → high.
    let pay = dora(srv, &format!("{JAN}&service=pay")).await;
    assert_eq!(pay["scope"]["services"], json!(["payments"]));
    assert_report(
        &pay,
        json!({"deployments": 4, "deployment_days": 4, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 4, "level": "high"}),
        json!({"changes": 1, "dropped": 1, "median_seconds": 7200, "level": "elite"}),
        json!({"deployments": 4, "failed_deployments": 3, "rate": 0.75, "level": "low"}),
        json!({"incidents": 2, "median_seconds": 6300, "level": "high"}),
        FDRT,
    );

    // ---- Both services (repeated parameter): every deployment of the range is theirs, so the
    // numbers are those of the whole range; the scope lists them in the order asked.
    let both = dora(srv, &format!("{JAN}&service=payments&service=cart")).await;
    assert_eq!(
        both["scope"]["services"],
        json!(["payments", "shopping_cart"])
    );
    assert_report(
        &both,
        whole_f.clone(),
        whole_l.clone(),
        whole_c.clone(),
        whole_r.clone(),
        FDRT,
    );

    // ---- environment=Production (matched case-insensitively): deployments whose environment
    // is `production` only: O1 (Jan 5), O5 (Jan 6), D1 (Jan 8), D3 (Jan 20, DevLake default
    // PRODUCTION), O8 (Jan 27) = 5, days 5. Weeks [0,3,0,1,1] → sorted [0,0,1,1,3] → 1;
    // month 5 → high. Lead: O1 86400, O5 7200 (O8 dropped) → [7200, 86400] index 0 → 7200 →
    // elite. (Failure and recovery under an environment filter: see
    // `environment_filter_attribution`.)
    let prod = dora(srv, &format!("{JAN}&environment=Production")).await;
    assert_eq!(prod["scope"]["environments"], json!(["production"]));
    assert_metric(
        &prod,
        "deployment_frequency",
        json!({"deployments": 5, "deployment_days": 5, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 5, "level": "high"}),
    );
    assert_metric(
        &prod,
        "lead_time_for_changes",
        json!({"changes": 2, "dropped": 1, "median_seconds": 7200, "level": "elite"}),
    );
    // environment=staging: O3 alone (Jan 7), its change A3 authored a day before → 86400.
    // Weeks [0,1,0,0,0] → 0; month 1 → medium.
    let staging = dora(srv, &format!("{JAN}&environment=staging")).await;
    assert_eq!(staging["scope"]["environments"], json!(["staging"]));
    assert_metric(
        &staging,
        "deployment_frequency",
        json!({"deployments": 1, "deployment_days": 1, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 1, "level": "medium"}),
    );
    assert_metric(
        &staging,
        "lead_time_for_changes",
        json!({"changes": 1, "dropped": 0, "median_seconds": 86400, "level": "high"}),
    );
    // An environment nobody deploys to: an empty scope that never deployed.
    let nowhere = dora(srv, &format!("{JAN}&environment=qa")).await;
    assert_metric(
        &nowhere,
        "deployment_frequency",
        json!({"deployments": 0, "deployment_days": 0, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 0, "level": null}),
    );

    // ---- Weekly series over January: Jan 1-4, 5-11, 12-18, 19-25, 26-31.
    let weeks = series(srv, &format!("{JAN}&bucket=week")).await;
    assert_eq!(
        keys(&weeks),
        ["from", "to", "benchmark", "scope", "bucket", "buckets"]
    );
    assert_eq!(
        (
            &weeks["from"],
            &weeks["to"],
            &weeks["benchmark"],
            &weeks["bucket"]
        ),
        (
            &json!("2026-01-01"),
            &json!("2026-01-31"),
            &json!("2023"),
            &json!("week")
        )
    );
    assert_eq!(weeks["scope"], r["scope"]);
    let buckets = weeks["buckets"].as_array().expect("buckets");
    let bounds: Vec<(&str, &str)> = buckets
        .iter()
        .map(|b| {
            (
                b["start"].as_str().expect("start"),
                b["end"].as_str().expect("end"),
            )
        })
        .collect();
    assert_eq!(
        bounds,
        [
            ("2026-01-01", "2026-01-04"),
            ("2026-01-05", "2026-01-11"),
            ("2026-01-12", "2026-01-18"),
            ("2026-01-19", "2026-01-25"),
            ("2026-01-26", "2026-01-31"),
        ]
    );
    assert_eq!(
        keys(&buckets[1]),
        [
            "start",
            "end",
            "deployment_frequency",
            "lead_time_for_changes",
            "change_failure_rate",
            FDRT
        ]
    );
    // Jan 1-4: nothing counted; the scope has deployed, so frequency is low, not null.
    assert_report(
        &buckets[0],
        json!({"deployments": 0, "deployment_days": 0, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 0, "level": "low"}),
        json!({"changes": 0, "dropped": 0, "median_seconds": null, "level": null}),
        json!({"deployments": 0, "failed_deployments": 0, "rate": null, "level": null}),
        json!({"incidents": 0, "median_seconds": null, "level": null}),
        FDRT,
    );
    // Jan 5-11: O1, O2, O5, D1 = 4 on 3 days (one week, one month → medians 3) → high. Lead:
    // O1 86400, O2 7200, O5 7200 → index 1 → 7200 → elite. Failed: O2 (I1), O5 (I8), D1 (I2,
    // created later in January but naming D1) = 3/4 = 0.75 → low. Recovery: I8 (O5 and its
    // resolution both in the week) 6300 → high; I2 is resolved in another week.
    assert_report(
        &buckets[1],
        json!({"deployments": 4, "deployment_days": 3, "median_deployment_days_per_week": 3,
            "median_deployment_days_per_month": 3, "level": "high"}),
        json!({"changes": 3, "dropped": 0, "median_seconds": 7200, "level": "elite"}),
        json!({"deployments": 4, "failed_deployments": 3, "rate": 0.75, "level": "low"}),
        json!({"incidents": 1, "median_seconds": 6300, "level": "high"}),
        FDRT,
    );
    // Jan 12-18: O4 (failed: I3, I4); lead 172800 (2 days) → high; recovery I3 5400 → high.
    assert_report(
        &buckets[2],
        json!({"deployments": 1, "deployment_days": 1, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 1, "level": "high"}),
        json!({"changes": 1, "dropped": 0, "median_seconds": 172800, "level": "high"}),
        json!({"deployments": 1, "failed_deployments": 1, "rate": 1.0, "level": "low"}),
        json!({"incidents": 1, "median_seconds": 5400, "level": "high"}),
        FDRT,
    );
    // Jan 26-31: O8 only, whose change is dropped; no incident → rate 0 → elite.
    assert_report(
        &buckets[4],
        json!({"deployments": 1, "deployment_days": 1, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 1, "level": "high"}),
        json!({"changes": 0, "dropped": 1, "median_seconds": null, "level": null}),
        json!({"deployments": 1, "failed_deployments": 0, "rate": 0.0, "level": "elite"}),
        json!({"incidents": 0, "median_seconds": null, "level": null}),
        FDRT,
    );
    // The weeks add up to the range's counts.
    let sum = |metric: &str, field: &str| -> i64 {
        buckets
            .iter()
            .map(|b| b[metric][field].as_i64().expect("count"))
            .sum()
    };
    assert_eq!(sum("deployment_frequency", "deployments"), 7);
    assert_eq!(sum("deployment_frequency", "deployment_days"), 6);
    assert_eq!(sum("change_failure_rate", "failed_deployments"), 5);
    assert_eq!(sum("lead_time_for_changes", "changes"), 4);
    assert_eq!(sum("lead_time_for_changes", "dropped"), 1);

    // ---- Monthly series over January: one bucket, the range's report.
    let months = series(srv, &format!("{JAN}&bucket=month")).await;
    let months = months["buckets"].as_array().expect("buckets");
    assert_eq!(months.len(), 1);
    assert_eq!(
        (&months[0]["start"], &months[0]["end"]),
        (&json!("2026-01-01"), &json!("2026-01-31"))
    );
    assert_report(&months[0], whole_f, whole_l, whole_c, whole_r, FDRT);
    // Two months (January and February): Feb has O6 (Feb 3; A5 authored a day before).
    let two = series(
        srv,
        "from=2026-01-01&to=2026-02-28&bucket=month&benchmark=2021",
    )
    .await;
    let two = two["buckets"].as_array().expect("buckets");
    assert_eq!(two.len(), 2);
    assert!(two[1].get(TTR).is_some(), "{}", two[1]);
    assert_metric(
        &two[1],
        "lead_time_for_changes",
        json!({"changes": 1, "dropped": 0, "median_seconds": 86400, "level": "high"}),
    );
    assert_metric(
        &two[1],
        "change_failure_rate",
        json!({"deployments": 1, "failed_deployments": 0, "rate": 0.0, "level": "elite"}),
    );

    // ---- The close endpoint resolves INC-1 now (dora.md §4: resolution = time of the call).
    let before = now_unix();
    devlake_post(srv, sc.devlake, "issue/INC-1/close", Value::Null).await;
    let after = now_unix();
    let incidents = srv.get("/api/v1/incidents?per_page=100").await.expect(200);
    let inc1 = incidents
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["key"] == "INC-1")
        .expect("INC-1 is listed");
    assert_eq!(inc1["status"], "DONE");
    assert_eq!(inc1["service"], "shopping_cart", "component cart");
    let resolved = unix(
        inc1["resolved_at"]
            .as_str()
            .expect("resolved_at set by close"),
    );
    assert!(
        (before..=after).contains(&resolved),
        "{before} <= {resolved} <= {after}"
    );
    // January is unchanged (resolved after it).
    assert_eq!(dora(srv, JAN).await, r);
    // From January to today: + O6 (Feb 3) = 8 counted, still 5 failed → 0.625 → low.
    // Recovery gains I1 (resolved now - O2 finished Jan 5 15:00, months): samples
    // [5400, 6300, 1094400, months] → 4 incidents, index 1 → 6300.
    let to_today = dora(srv, &format!("from=2026-01-01&to={}", today())).await;
    assert_metric(
        &to_today,
        "change_failure_rate",
        json!({"deployments": 8, "failed_deployments": 5, "rate": 0.625, "level": "low"}),
    );
    assert_metric(
        &to_today,
        FDRT,
        json!({"incidents": 4, "median_seconds": 6300, "level": "high"}),
    );
    // 2021 to today: I8 2700, I2 10800, I3 1800, I6 7200, I1 (months) → index 2 → 7200.
    let to_today21 = dora(
        srv,
        &format!("from=2026-01-01&to={}&benchmark=2021", today()),
    )
    .await;
    assert_metric(
        &to_today21,
        TTR,
        json!({"incidents": 5, "median_seconds": 7200, "level": "high"}),
    );
}

/// dora.md §3: an incident is attributed to "the latest counted-kind deployment (success,
/// production-class) of the incident's service that finished strictly before" it. The
/// `environment=` filter narrows which deployments are *counted* in the report, not which
/// deployment an incident belongs to.
async fn environment_filter_attribution(srv: &Server) {
    ingested_scenario(srv).await;
    // environment=production counts O1, O5, D1, D3, O8 (see `ingested_metrics`).
    // Attribution as dora.md defines it: I1 (cart, Jan 5 16:00) → O2 (`prod`, production-class,
    // 15:00), not O1; I3/I4 → O4 (`PRD`); I8 → O5; I2 → D1; I7 → D3. Failed among the counted:
    // O5, D1, D3 = 3/5 = 0.6 → low. Recovery: I8 6300 (O5), I2 1094400 (D1) → index 0 → 6300
    // → high.
    let prod = dora(srv, &format!("{JAN}&environment=production")).await;
    assert_report(
        &prod,
        json!({"deployments": 5, "deployment_days": 5, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 5, "level": "high"}),
        json!({"changes": 2, "dropped": 1, "median_seconds": 7200, "level": "elite"}),
        json!({"deployments": 5, "failed_deployments": 3, "rate": 0.6, "level": "low"}),
        json!({"incidents": 2, "median_seconds": 6300, "level": "high"}),
        FDRT,
    );
}

/// dora.md §3: an incident naming its deployment (`deployment_id`) is attributed to it,
/// whenever the incident was created.
async fn explicit_attribution_after_range(srv: &Server) {
    ingested_scenario(srv).await;
    // Range Jan 1-10: counted O1, O2 (Jan 5), O5 (Jan 6), D1 (Jan 8) = 4 on 3 days. Weeks:
    // Jan 1-4: 0, Jan 5-10: 3 → sorted [0,3], index 0 → 0; month 3 → medium. Lead: 86400, 7200,
    // 7200 → 7200 → elite. Failed: O2 (I1), O5 (I8) and D1, named by I2 — created Jan 21,
    // after the range and after D3 (Jan 20), which is irrelevant for an explicit attribution:
    // 3/4 = 0.75 → low. Recovery: I8 6300 (I2 is resolved after the range) → high.
    let r = dora(srv, "from=2026-01-01&to=2026-01-10").await;
    assert_report(
        &r,
        json!({"deployments": 4, "deployment_days": 3, "median_deployment_days_per_week": 0,
            "median_deployment_days_per_month": 3, "level": "medium"}),
        json!({"changes": 3, "dropped": 0, "median_seconds": 7200, "level": "elite"}),
        json!({"deployments": 4, "failed_deployments": 3, "rate": 0.75, "level": "low"}),
        json!({"incidents": 1, "median_seconds": 6300, "level": "high"}),
        FDRT,
    );
}

/// The same rule with the incident created before the range (opened during a long rollout
/// that finished on the first day of the range) and naming that deployment.
async fn explicit_attribution_before_range(srv: &Server) {
    srv.post(
        "/api/v1/services",
        &json!({"name": "slow", "aliases": ["slow"]}),
    )
    .await
    .expect(201);
    let ops = opslevel_integration(srv).await;
    ops_deploy(
        srv,
        &ops,
        "slow",
        "2026-01-05T00:10:00Z",
        "production",
        &sha(0x5e),
        "2026-01-04T20:00:00Z",
    )
    .await;
    let listed = srv
        .get("/api/v1/deployments?source=opslevel")
        .await
        .expect(200);
    let id = listed[0]["id"].as_i64().expect("id");
    srv.post(
        "/api/v1/incidents",
        &json!({"service": "slow", "title": "rollout broke it", "created_at": "2026-01-04T23:50:00Z",
            "deployment_id": id, "deployment_source": "ingested"}),
    )
    .await
    .expect(201);
    // Range Jan 5: the deploy (00:10) is counted and named by the incident: 1/1 → low.
    let r = dora(srv, "from=2026-01-05&to=2026-01-05").await;
    assert_metric(
        &r,
        "change_failure_rate",
        json!({"deployments": 1, "failed_deployments": 1, "rate": 1.0, "level": "low"}),
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: API deployments over a git mirror
// ---------------------------------------------------------------------------------------------

/// An empty commit on the checked-out branch authored at `at` (Unix seconds); its sha.
fn commit_at(git: &GitRepo, message: &str, at: i64) -> String {
    git.git(&[
        "commit",
        "--allow-empty",
        "--quiet",
        "-m",
        message,
        "--date",
        &format!("{at} +0000"),
    ]);
    let sha = git.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        git.git(&["log", "-1", "--format=%at", &sha]),
        at.to_string(),
        "the author time is the one asked for"
    );
    sha
}

/// Waits out the last minute of a UTC day, so a test that compares "now" with "today"
/// does not straddle midnight.
async fn away_from_midnight() {
    let secs_into_day = now_unix().rem_euclid(86_400);
    if secs_into_day > 86_400 - 90 {
        let wait = 86_400 - secs_into_day + 2;
        tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
    }
}

async fn git_mirror_lead_time(srv: &Server) {
    away_from_midnight().await;
    const REPO: &str = "acme/app";
    // The repository: GitRepo's `first` and `main` (authored now), then c1, c2, c3 authored
    // 10, 5 and 2 days ago — all before registration, so the mirror's clone has them.
    let t0 = now_unix();
    let (a1, a2, a3) = (t0 - 10 * 86_400, t0 - 5 * 86_400, t0 - 2 * 86_400);
    let git = GitRepo::new();
    let c1 = commit_at(&git, "c1", a1);
    let c2 = commit_at(&git, "c2", a2);
    let c3 = commit_at(&git, "c3", a3);
    srv.register(REPO, &git).await;
    srv.post(
        "/api/v1/services",
        &json!({"name": "app", "aliases": ["app"], "repos": [REPO]}),
    )
    .await
    .expect(201);

    // First successful production deployment, at c1: only c1 is a change (never `first` or
    // `main`, its history).
    let d1 = srv
        .deploy(
            REPO,
            json!({"ref": c1, "environment": "production", "required_contexts": [], "auto_merge": false}),
        )
        .await;
    assert_eq!(d1["sha"], c1);
    let s1 = srv.status(REPO, &d1, json!({"state": "success"})).await;
    let f1 = unix(s1["created_at"].as_str().expect("created_at"));

    // Second, at c3: `git log c1..c3` = c3, c2.
    let d2 = srv
        .deploy(
            REPO,
            json!({"ref": c3, "environment": "production", "required_contexts": [], "auto_merge": false}),
        )
        .await;
    srv.status(REPO, &d2, json!({"state": "in_progress"})).await;
    let s2 = srv.status(REPO, &d2, json!({"state": "success"})).await;
    let f2 = unix(s2["created_at"].as_str().expect("created_at"));
    // A later success of d1 changes nothing (the first success is its finish).
    srv.status(REPO, &d1, json!({"state": "success"})).await;

    // PR #7 brought c2 (its author time comes from the mirror, the body names only the sha).
    let pr = srv
        .post(
            &format!("/api/v1/repos/{REPO}/pulls"),
            &json!({"number": 7, "title": "feature", "created_at": rfc3339(a2 + 60),
                "merged_at": rfc3339(a2 + 120), "commits": [c2]}),
        )
        .await
        .expect(201);
    assert_eq!(pr["number"], 7);
    assert_eq!(
        unix(pr["started_at"].as_str().expect("started_at")),
        a2,
        "{pr}"
    );

    // Changes: c1 (d1), PR #7 = c2 (d2), c3 (d2). Lead: c1 f1 - a1 (≈ 10 days), PR #7 f2 - a2
    // (≈ 5 days), c3 f2 - a3 (≈ 2 days). Sorted [c3, PR, c1], index (3-1)/2 = 1 → f2 - a2,
    // < 7 days → high.
    let today = today();
    let range = format!("from={today}&to={today}");
    let r = dora(srv, &range).await;
    let lead_pr = f2 - a2;
    assert!((5 * 86_400..6 * 86_400).contains(&lead_pr), "{lead_pr}");
    assert_metric(
        &r,
        "lead_time_for_changes",
        json!({"changes": 3, "dropped": 0, "median_seconds": lead_pr, "level": "high"}),
    );
    // Two deployments today: one day, one week, one month → medians 1 → high.
    assert_metric(
        &r,
        "deployment_frequency",
        json!({"deployments": 2, "deployment_days": 1, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 1, "level": "high"}),
    );
    // The service filter sees the API deployments of the service's repository.
    let by_service = dora(srv, &format!("{range}&service=app")).await;
    assert_eq!(
        by_service["lead_time_for_changes"],
        r["lead_time_for_changes"]
    );
    assert_eq!(
        by_service["deployment_frequency"],
        r["deployment_frequency"]
    );

    // An incident naming d1 explicitly (API deployment id), created at f2 and resolved 30 s
    // later: d1 failed → 1/2 = 0.5 → low; recovery = (f2 + 30) - f1 → elite when < 1 h.
    let created = srv
        .post(
            "/api/v1/incidents",
            &json!({"service": "app", "title": "regression", "created_at": rfc3339(f2),
                "resolved_at": rfc3339(f2 + 30), "deployment_id": d1["id"]}),
        )
        .await
        .expect(201);
    assert_eq!(created["deployment_id"], d1["id"]);
    assert_eq!(created["deployment_source"], "api");
    let r = dora(srv, &range).await;
    assert_metric(
        &r,
        "change_failure_rate",
        json!({"deployments": 2, "failed_deployments": 1, "rate": 0.5, "level": "low"}),
    );
    let recovery = f2 + 30 - f1;
    assert_metric(
        &r,
        FDRT,
        json!({"incidents": 1, "median_seconds": recovery,
            "level": if recovery < 3600 { "elite" } else { "high" }}),
    );
}

/// A pull request told by GitHub instead of the pulls API: a signed `pull_request`
/// closed+merged event (base c1, head c3) records PR #7 with the commits of `git log c1..c3`
/// (c3, c2) and their author times from the mirror, so c2 and c3 become one change.
async fn github_pull_request_lead_time(srv: &Server) {
    use hmac::Mac;
    away_from_midnight().await;
    const REPO: &str = "acme/app";
    const SECRET: &str = "pr-secret";
    let t0 = now_unix();
    let (a1, a2, a3) = (t0 - 10 * 86_400, t0 - 5 * 86_400, t0 - 2 * 86_400);
    let git = GitRepo::new();
    let c1 = commit_at(&git, "c1", a1);
    commit_at(&git, "c2", a2);
    let c3 = commit_at(&git, "c3", a3);
    srv.post(
        "/api/v1/repos",
        &json!({"full_name": REPO, "git_url": git.path(), "default_branch": "main",
                "github": {"webhook_secret": SECRET}}),
    )
    .await
    .expect(201);
    let mut finished = Vec::new();
    for sha in [&c1, &c3] {
        let d = srv
            .deploy(
                REPO,
                json!({"ref": sha, "environment": "production", "required_contexts": []}),
            )
            .await;
        let s = srv.status(REPO, &d, json!({"state": "success"})).await;
        finished.push(unix(s["created_at"].as_str().expect("created_at")));
    }
    let event = json!({
        "action": "closed",
        "number": 7,
        "pull_request": {
            "number": 7, "title": "feature", "merged": true,
            "created_at": rfc3339(a2 + 60), "merged_at": rfc3339(a2 + 120),
            "merge_commit_sha": c3,
            "head": {"sha": c3, "ref": "feature"},
            "base": {"sha": c1, "ref": "main"},
        },
        "repository": {"full_name": REPO},
    });
    let body = event.to_string().into_bytes();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(&body);
    let res = reqwest::Client::new()
        .post(format!("{}/webhooks/github", srv.base))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "pr-7-merged")
        .header(
            "x-hub-signature-256",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        )
        .body(body)
        .send()
        .await
        .expect("deliver");
    assert_eq!(res.status().as_u16(), 202);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["outcome"], "processed", "{answer}");
    let today = today();
    let r = dora(srv, &format!("from={today}&to={today}")).await;
    // Changes: c1 (f1 - a1 ≈ 10 days) and PR #7 = {c2, c3}, started at c2 (f2 - a2 ≈ 5
    // days); without the PR they would be three. Lower median of two → the PR's.
    let lead_pr = finished[1] - a2;
    assert_metric(
        &r,
        "lead_time_for_changes",
        json!({"changes": 2, "dropped": 0, "median_seconds": lead_pr, "level": "high"}),
    );
}

/// dora.md: the finish time of an API deployment is the time of its *first* `success`
/// status; its final state decides whether it counts.
async fn api_finish_is_first_success(srv: &Server) {
    away_from_midnight().await;
    const REPO: &str = "acme/flaky";
    let git = GitRepo::new();
    let a1 = now_unix() - 86_400;
    let c1 = commit_at(&git, "c1", a1);
    srv.register(REPO, &git).await;
    let d = srv
        .deploy(
            REPO,
            json!({"ref": c1, "environment": "production", "required_contexts": []}),
        )
        .await;
    let s1 = srv.status(REPO, &d, json!({"state": "success"})).await;
    let f1 = unix(s1["created_at"].as_str().expect("created_at"));
    srv.status(REPO, &d, json!({"state": "failure"})).await;
    // After the failure it does not count.
    let today = today();
    let range = format!("from={today}&to={today}");
    let r = dora(srv, &range).await;
    assert_eq!(r["deployment_frequency"]["deployments"], 0, "{r}");
    // A later second success: it counts again (final state success), finished at f1.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let s3 = srv.status(REPO, &d, json!({"state": "success"})).await;
    let f3 = unix(s3["created_at"].as_str().expect("created_at"));
    assert!(f3 >= f1 + 2, "the second success is later: {f1} {f3}");
    // One change, c1, lead = f1 - a1 (≈ 1 day, ≥ 1 day → high).
    let r = dora(srv, &range).await;
    assert_eq!(r["deployment_frequency"]["deployments"], 1, "{r}");
    assert_metric(
        &r,
        "lead_time_for_changes",
        json!({"changes": 1, "dropped": 0, "median_seconds": f1 - a1,
            "level": if f1 - a1 < 86_400 { "elite" } else { "high" }}),
    );
}

/// Boundaries and re-posts, on a fresh server. Range Mon 2026-01-05 .. Sun 2026-01-18 (two
/// weeks). Service web (repo acme/web, no mirror).
///
/// OpsLevel:
///   E1 `2026-01-11 23:59:59` (no zone: UTC, Sunday)          authored 23:00:00 → lead 3599
///   E2 `2026-01-11T23:30:00-05:00` = Mon 2026-01-12T04:30Z   authored 03:30Z → lead 3600
///   E2 again (same dedup_id): duplicate, nothing counted
/// DevLake:
///   F1 pipeline f-1 SUCCESS end 2026-01-13T10:00; re-posted FAILURE (not counted); re-posted
///      SUCCESS end 2026-01-13T11:00 (counted, finish 11:00)
///   F2 generation B, result FAILURE, commit without `result` (never counted)
///   F3 STAGING, Jan 15 (not production-class)
///   F4 environment `prd`, Jan 16 10:00, repository unknown to ferry (no service)
/// Incidents:
///   J1 API web created 2026-01-13T11:00:00Z — exactly F1's finish, so not "strictly before"
///      it — → E2; resolved 12:00 → recovery Jan 13 12:00 - Jan 12 04:30 = 113400
///   J2 DevLake no component, created Jan 16 12:00 → latest counted deploy of the connection
///      before it: F4 (F3 is staging, F2 failed); resolved 12:30 → 9000
async fn ingest_edge_cases(srv: &Server) {
    srv.post("/api/v1/repos", &json!({"full_name": "acme/web"}))
        .await
        .expect(201);
    srv.post(
        "/api/v1/services",
        &json!({"name": "web", "aliases": ["web"], "repos": ["acme/web"]}),
    )
    .await
    .expect(201);
    let ops = opslevel_integration(srv).await;
    let dl = devlake_integration(srv).await;
    ops_deploy(
        srv,
        &ops,
        "web",
        "2026-01-11 23:59:59",
        "production",
        &sha(0xe1),
        "2026-01-11 23:00:00",
    )
    .await;
    ops_deploy(
        srv,
        &ops,
        "web",
        "2026-01-11T23:30:00-05:00",
        "Production",
        &sha(0xe2),
        "2026-01-12T03:30:00Z",
    )
    .await;
    // The same dedup_id again (another time and commit): a duplicate, not a deploy.
    let dup = json!({"service": "web", "deployer": {"email": "ci@example.com"},
        "deployed_at": "2026-01-14T10:00:00Z", "environment": "production",
        "description": "again", "dedup_id": format!("dedup-{}", sha(0xe2)),
        "commit": {"sha": sha(0xe9), "authoring_date": "2026-01-14T09:00:00Z"}});
    let r = srv
        .call(
            Method::POST,
            &ops,
            Auth::Anonymous,
            Some(dup.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.expect(202)["result"], "duplicate_deploy");

    let f1 = |result: &str, end: &str| {
        json!({"pipeline_id": "f-1", "environment": "PRODUCTION", "result": result,
            "start_time": "2026-01-13T09:00:00+00:00", "end_time": end,
            "deploymentCommits": [{"repo_url": "https://github.com/acme/web", "commit_sha": sha(0xf1)}]})
    };
    devlake_post(
        srv,
        dl,
        "deployments",
        f1("SUCCESS", "2026-01-13T10:00:00+00:00"),
    )
    .await;
    let range = "from=2026-01-05&to=2026-01-18";
    // E1, E2, F1 counted so far.
    assert_eq!(
        dora(srv, range).await["deployment_frequency"]["deployments"],
        3
    );
    devlake_post(
        srv,
        dl,
        "deployments",
        f1("FAILURE", "2026-01-13T10:00:00+00:00"),
    )
    .await;
    assert_eq!(
        dora(srv, range).await["deployment_frequency"]["deployments"],
        2,
        "a re-post as FAILURE is no longer counted"
    );
    devlake_post(
        srv,
        dl,
        "deployments",
        f1("SUCCESS", "2026-01-13T11:00:00+00:00"),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"id": "run-9", "result": "FAILURE", "environment": "PRODUCTION",
            "startedDate": "2026-01-14T10:00:00Z", "finishedDate": "2026-01-14T10:05:00Z",
            "deploymentCommits": [{"repoUrl": "https://github.com/acme/web", "commitSha": sha(0xf2)}]}),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "f-3", "environment": "STAGING", "result": "SUCCESS",
            "start_time": "2026-01-15T09:00:00+00:00", "end_time": "2026-01-15T10:00:00+00:00",
            "deploymentCommits": [{"repo_url": "https://github.com/acme/web", "commit_sha": sha(0xf3)}]}),
    )
    .await;
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "f-4", "environment": "prd", "result": "SUCCESS",
            "start_time": "2026-01-16T09:00:00+00:00", "end_time": "2026-01-16T10:00:00+00:00",
            "deploymentCommits": [{"repo_url": "https://github.com/other/thing", "commit_sha": sha(0xf4)}]}),
    )
    .await;
    srv.post(
        "/api/v1/incidents",
        &json!({"service": "web", "title": "J1", "created_at": "2026-01-13T11:00:00Z",
            "resolved_at": "2026-01-13T12:00:00Z"}),
    )
    .await
    .expect(201);
    devlake_post(
        srv,
        dl,
        "issues",
        json!({"issue_key": "J2", "title": "J2", "type": "incident", "status": "TODO",
            "created_date": "2026-01-16T12:00:00+00:00",
            "resolution_date": "2026-01-16T12:30:00+00:00"}),
    )
    .await;

    // Counted: E1 (Sun Jan 11), E2 (Mon Jan 12), F1 (Jan 13), F4 (Jan 16) = 4 on 4 days.
    // Weeks: Jan 5-11: 1, Jan 12-18: 3 → sorted [1,3], index 0 → 1; month 4 → high.
    // Lead: E1 3599, E2 3600 → index 0 → 3599 → elite. Failed: E2 (J1), F4 (J2) = 2/4 = 0.5 →
    // low. Recovery: [9000, 113400] → 9000 → high.
    let r = dora(srv, range).await;
    assert_report(
        &r,
        json!({"deployments": 4, "deployment_days": 4, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 4, "level": "high"}),
        json!({"changes": 2, "dropped": 0, "median_seconds": 3599, "level": "elite"}),
        json!({"deployments": 4, "failed_deployments": 2, "rate": 0.5, "level": "low"}),
        json!({"incidents": 2, "median_seconds": 9000, "level": "high"}),
        FDRT,
    );
    // Week by week. Jan 5-11: E1 alone, no incident → rate 0 → elite.
    // Jan 12-18: E2, F1, F4 = 3 on 3 days → high; lead E2 3600 → elite (2023: < 1 day);
    // failed E2, F4 → 2/3 = 0.6667 → low; recovery J1 (E2 Jan 12, resolved Jan 13) 113400 and
    // J2 9000, both inside the week → index 0 → 9000 → high.
    let weeks = series(srv, &format!("{range}&bucket=week")).await;
    let b = weeks["buckets"].as_array().expect("buckets");
    assert_eq!(b.len(), 2);
    assert_eq!(
        (&b[0]["start"], &b[0]["end"]),
        (&json!("2026-01-05"), &json!("2026-01-11"))
    );
    assert_report(
        &b[0],
        json!({"deployments": 1, "deployment_days": 1, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 1, "level": "high"}),
        json!({"changes": 1, "dropped": 0, "median_seconds": 3599, "level": "elite"}),
        json!({"deployments": 1, "failed_deployments": 0, "rate": 0.0, "level": "elite"}),
        json!({"incidents": 0, "median_seconds": null, "level": null}),
        FDRT,
    );
    assert_report(
        &b[1],
        json!({"deployments": 3, "deployment_days": 3, "median_deployment_days_per_week": 3,
            "median_deployment_days_per_month": 3, "level": "high"}),
        json!({"changes": 1, "dropped": 0, "median_seconds": 3600, "level": "elite"}),
        json!({"deployments": 3, "failed_deployments": 2, "rate": 0.6667, "level": "low"}),
        json!({"incidents": 2, "median_seconds": 9000, "level": "high"}),
        FDRT,
    );
    // 2021 lead-time boundary: < 1 hour is elite, so 3599 s is elite and 3600 s is high.
    let weeks21 = series(srv, &format!("{range}&bucket=week&benchmark=2021")).await;
    let b21 = weeks21["buckets"].as_array().expect("buckets");
    assert_eq!(b21[0]["lead_time_for_changes"]["level"], "elite");
    assert_eq!(b21[1]["lead_time_for_changes"]["level"], "high");
    // 2021 time to restore in week 2: J1 1 h = 3600 (not < 1 h), J2 30 min = 1800 → sorted
    // [1800, 3600], index 0 → 1800 → elite.
    assert_metric(
        &b21[1],
        TTR,
        json!({"incidents": 2, "median_seconds": 1800, "level": "elite"}),
    );
    // service=web: F4 (no service) is not the service's: 3 deployments; J2 (no service) is
    // attributed to F4 through the connection, which is outside the scope → failed 1/3.
    let web = dora(srv, &format!("{range}&service=web")).await;
    assert_metric(
        &web,
        "change_failure_rate",
        json!({"deployments": 3, "failed_deployments": 1, "rate": 0.3333, "level": "low"}),
    );
    // environment=staging: F3 alone.
    let staging = dora(srv, &format!("{range}&environment=STAGING")).await;
    assert_eq!(staging["deployment_frequency"]["deployments"], 1);
}

/// A DevLake incident whose `component` is an alias no service has yet; the alias is then
/// given to a service. The incident is that service's from then on, like the deploys recorded
/// under the alias (the alias is how a component names a service).
async fn incident_alias_added_later(srv: &Server) {
    srv.post(
        "/api/v1/services",
        &json!({"name": "shop", "aliases": ["shop"]}),
    )
    .await
    .expect(201);
    let ops = opslevel_integration(srv).await;
    let dl = devlake_integration(srv).await;
    // A deploy of shop at 10:00, an incident "checkout" at 12:00, resolved at 13:00.
    ops_deploy(
        srv,
        &ops,
        "shop",
        "2026-01-05T10:00:00Z",
        "production",
        &sha(0x51),
        "2026-01-05T09:00:00Z",
    )
    .await;
    devlake_post(
        srv,
        dl,
        "issues",
        json!({"issue_key": "K-1", "title": "checkout down", "type": "INCIDENT", "status": "DONE",
            "created_date": "2026-01-05T12:00:00+00:00",
            "resolution_date": "2026-01-05T13:00:00+00:00", "component": "checkout"}),
    )
    .await;
    srv.call(
        Method::PATCH,
        "/api/v1/services/shop",
        Auth::Admin,
        Some(
            json!({"aliases": ["shop", "checkout"]})
                .to_string()
                .into_bytes(),
        ),
    )
    .await
    .expect(200);

    // Attributed to the shop deploy (10:00 < 12:00): 1 failed of 1 → rate 1 → low; recovery
    // 13:00 - 10:00 = 10800 → high.
    let r = dora(srv, "from=2026-01-05&to=2026-01-05&service=shop").await;
    assert_metric(
        &r,
        "change_failure_rate",
        json!({"deployments": 1, "failed_deployments": 1, "rate": 1.0, "level": "low"}),
    );
    assert_metric(
        &r,
        FDRT,
        json!({"incidents": 1, "median_seconds": 10800, "level": "high"}),
    );
    let list = srv.get("/api/v1/incidents").await.expect(200);
    assert_eq!(list[0]["key"], "K-1");
    assert_eq!(list[0]["service"], "shop", "{list}");
}

/// DevLake deploys find their service through their commits' repositories. A repository
/// linked to a service after the deploys arrived makes them that service's — as it does for
/// the API deployments of the repository.
async fn repo_linked_after_ingest(srv: &Server) {
    srv.post("/api/v1/repos", &json!({"full_name": "acme/late"}))
        .await
        .expect(201);
    let dl = devlake_integration(srv).await;
    devlake_post(
        srv,
        dl,
        "deployments",
        json!({"pipeline_id": "late-1", "environment": "PRODUCTION", "result": "SUCCESS",
            "start_time": "2026-01-05T09:00:00+00:00", "end_time": "2026-01-05T10:00:00+00:00",
            "deploymentCommits": [{"repo_url": "https://github.com/acme/late", "commit_sha": sha(0x1a7e)}]}),
    )
    .await;
    srv.post(
        "/api/v1/services",
        &json!({"name": "late", "aliases": ["late"], "repos": ["acme/late"]}),
    )
    .await
    .expect(201);
    // The whole range sees it either way.
    let all = dora(srv, "from=2026-01-05&to=2026-01-05").await;
    assert_eq!(all["deployment_frequency"]["deployments"], 1);
    // The service's report: one deployment, one day → medians 1 → high.
    let r = dora(srv, "from=2026-01-05&to=2026-01-05&service=late").await;
    assert_metric(
        &r,
        "deployment_frequency",
        json!({"deployments": 1, "deployment_days": 1, "median_deployment_days_per_week": 1,
            "median_deployment_days_per_month": 1, "level": "high"}),
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: bad parameters, empty scope
// ---------------------------------------------------------------------------------------------

async fn bad_parameters(srv: &Server) {
    for path in ["/api/v1/dora?", "/api/v1/dora/series?bucket=week&"] {
        for (query, param) in [
            ("from=2026-02-01&to=2026-01-01", "from"),
            ("from=2026-13-01&to=2026-12-31", "from"),
            ("from=2026/01/01&to=2026-01-31", "from"),
            ("from=2026-01-01T00:00:00Z&to=2026-01-31", "from"),
            ("from=2026-01-01&to=2026-02-30", "to"),
            ("from=2026-01-01&to=tomorrow", "to"),
            ("from=2026-01-01&to=2026-01-31&service=nope", "service"),
            ("from=2026-01-01&to=2026-01-31&service=", "service"),
            ("from=2026-01-01&to=2026-01-31&benchmark=2022", "benchmark"),
            ("from=2026-01-01&to=2026-01-31&benchmark=", "benchmark"),
            ("from=2026-01-01&to=2026-01-31&environment=", "environment"),
            // 2021-01-01..2026-01-02 is 1828 days: over five years (1827 days).
            ("from=2021-01-01&to=2026-01-02", "to"),
            ("from=2000-01-01&to=2026-01-31", "to"),
        ] {
            let r = srv.get(&format!("{path}{query}")).await;
            assert_error(&r, 400, param);
        }
    }
    // Exactly five years (2021-01-01..2026-01-01 = 365·3 + 366 + 365 + 1 = 1827 days) is fine.
    dora(srv, "from=2021-01-01&to=2026-01-01").await;
    series(srv, "from=2021-01-01&to=2026-01-01&bucket=month").await;
    // The series' bucket: missing or unknown.
    for query in [
        "from=2026-01-01&to=2026-01-31",
        "from=2026-01-01&to=2026-01-31&bucket=",
        "from=2026-01-01&to=2026-01-31&bucket=day",
        "from=2026-01-01&to=2026-01-31&bucket=quarter",
    ] {
        let r = srv.get(&format!("/api/v1/dora/series?{query}")).await;
        assert_error(&r, 400, "bucket");
    }
}

async fn empty_scope(srv: &Server) {
    // No deployment at all: counts 0, medians of weeks/months 0, every level null with a
    // reason (the frequency one too: the scope never deployed).
    let r = dora(srv, "from=2026-01-01&to=2026-03-31").await;
    assert_eq!(
        (&r["from"], &r["to"], &r["benchmark"]),
        (&json!("2026-01-01"), &json!("2026-03-31"), &json!("2023"))
    );
    let empty_f = json!({"deployments": 0, "deployment_days": 0, "median_deployment_days_per_week": 0,
        "median_deployment_days_per_month": 0, "level": null});
    let empty_l = json!({"changes": 0, "dropped": 0, "median_seconds": null, "level": null});
    let empty_c = json!({"deployments": 0, "failed_deployments": 0, "rate": null, "level": null});
    let empty_r = json!({"incidents": 0, "median_seconds": null, "level": null});
    assert_report(
        &r,
        empty_f.clone(),
        empty_l.clone(),
        empty_c.clone(),
        empty_r.clone(),
        FDRT,
    );
    let r21 = dora(srv, "from=2026-01-01&to=2026-03-31&benchmark=2021").await;
    assert_report(
        &r21,
        empty_f.clone(),
        empty_l.clone(),
        empty_c.clone(),
        empty_r.clone(),
        TTR,
    );

    // Defaults: to = today, from = 89 days before it (90 days).
    let d = dora(srv, "").await;
    let today = OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(89);
    assert_eq!(
        (&d["from"], &d["to"], &d["benchmark"]),
        (
            &json!(from.to_string()),
            &json!(today.to_string()),
            &json!("2023")
        )
    );

    // Series: one bucket per month (January to March), each empty.
    let s = series(srv, "from=2026-01-01&to=2026-03-31&bucket=month").await;
    let buckets = s["buckets"].as_array().expect("buckets");
    let bounds: Vec<(&str, &str)> = buckets
        .iter()
        .map(|b| {
            (
                b["start"].as_str().expect("start"),
                b["end"].as_str().expect("end"),
            )
        })
        .collect();
    assert_eq!(
        bounds,
        [
            ("2026-01-01", "2026-01-31"),
            ("2026-02-01", "2026-02-28"),
            ("2026-03-01", "2026-03-31"),
        ]
    );
    for b in buckets {
        assert_report(
            b,
            empty_f.clone(),
            empty_l.clone(),
            empty_c.clone(),
            empty_r.clone(),
            FDRT,
        );
    }
    // Weeks of Q1 2026: Thu Jan 1 .. Tue Mar 31 → Jan 1-4, then 12 whole weeks (Jan 5 ..
    // Mar 29), then Mar 30-31: 14 buckets.
    let w = series(srv, "from=2026-01-01&to=2026-03-31&bucket=week").await;
    let w = w["buckets"].as_array().expect("buckets");
    assert_eq!(w.len(), 14);
    assert_eq!(
        (&w[13]["start"], &w[13]["end"]),
        (&json!("2026-03-30"), &json!("2026-03-31"))
    );

    // A service that exists but never deployed is an empty scope too.
    srv.post(
        "/api/v1/services",
        &json!({"name": "idle", "aliases": ["idle"]}),
    )
    .await
    .expect(201);
    let idle = dora(srv, "from=2026-01-01&to=2026-03-31&service=idle").await;
    assert_eq!(idle["scope"]["services"], json!(["idle"]));
    assert_report(&idle, empty_f, empty_l, empty_c, empty_r, FDRT);
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: the incidents API
// ---------------------------------------------------------------------------------------------

async fn incidents_api(srv: &Server) {
    srv.post(
        "/api/v1/services",
        &json!({"name": "api", "aliases": ["api", "backend"]}),
    )
    .await
    .expect(201);

    // Create (the service by alias), unresolved.
    let created = srv
        .post(
            "/api/v1/incidents",
            &json!({"service": "backend", "title": "db down", "created_at": "2026-01-10T10:00:00Z"}),
        )
        .await
        .expect(201);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["status"], "TODO");
    assert_eq!(created["service"], "api");
    assert_eq!(created["title"], "db down");
    assert_eq!(created["created_at"], "2026-01-10T10:00:00Z");
    assert_eq!(created["resolved_at"], Value::Null);
    assert_eq!(created["integration_id"], Value::Null);
    assert!(
        created.get("deployment_id").is_none_or(Value::is_null),
        "{created}"
    );

    // Listed.
    let list = srv.get("/api/v1/incidents").await.expect(200);
    assert_eq!(ids(&list), vec![id]);
    assert_eq!(list[0]["title"], "db down");
    assert_eq!(
        ids(&srv.get("/api/v1/incidents?status=TODO").await.expect(200)),
        vec![id]
    );
    assert_eq!(
        ids(&srv.get("/api/v1/incidents?service=api").await.expect(200)),
        vec![id]
    );

    // Resolve.
    let resolved = srv
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Auth::Admin,
            Some(
                json!({"resolved_at": "2026-01-10T11:30:00Z"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .expect(200);
    assert_eq!(resolved["id"], id);
    assert_eq!(resolved["status"], "DONE");
    assert_eq!(resolved["resolved_at"], "2026-01-10T11:30:00Z");
    assert_eq!(resolved["lead_time_minutes"], 90);
    let done = srv.get("/api/v1/incidents?status=DONE").await.expect(200);
    assert_eq!(ids(&done), vec![id]);
    assert_eq!(done[0]["resolved_at"], "2026-01-10T11:30:00Z");
    assert_eq!(
        ids(&srv.get("/api/v1/incidents?status=TODO").await.expect(200)),
        Vec::<i64>::new()
    );

    // Created already resolved; a time without a zone is UTC.
    let second = srv
        .post(
            "/api/v1/incidents",
            &json!({"service": "api", "title": "latency", "created_at": "2026-01-11T08:00:00",
                "resolved_at": "2026-01-11T08:20:00Z"}),
        )
        .await
        .expect(201);
    assert_eq!(second["status"], "DONE");
    assert_eq!(second["created_at"], "2026-01-11T08:00:00Z");
    let list = srv.get("/api/v1/incidents").await.expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(2));

    // They are DORA incidents: 2021 time to restore over January = median(5400, 1200) with
    // the lower median of [1200, 5400] → 1200 < 1 h → elite. (No deployment: nothing else.)
    let r = dora(srv, "from=2026-01-01&to=2026-01-31&benchmark=2021").await;
    assert_metric(
        &r,
        TTR,
        json!({"incidents": 2, "median_seconds": 1200, "level": "elite"}),
    );

    // Naming a deployment: unknown ids are 404 (both id spaces).
    for body in [
        json!({"service": "api", "title": "t", "deployment_id": 999_999}),
        json!({"service": "api", "title": "t", "deployment_id": 999_999, "deployment_source": "api"}),
        json!({"service": "api", "title": "t", "deployment_id": 999_999, "deployment_source": "ingested"}),
    ] {
        let r = srv.post("/api/v1/incidents", &body).await;
        let b = r.expect(404);
        assert!(b["error"]["code"].is_string(), "{b}");
    }
    // An existing API deployment is accepted.
    let git = srv.repo("acme/api").await;
    let d = srv
        .deploy(
            "acme/api",
            json!({"ref": git.main, "environment": "production", "required_contexts": []}),
        )
        .await;
    let named = srv
        .post(
            "/api/v1/incidents",
            &json!({"service": "api", "title": "bad deploy", "deployment_id": d["id"]}),
        )
        .await
        .expect(201);
    assert_eq!(
        (&named["deployment_id"], &named["deployment_source"]),
        (&d["id"], &json!("api"))
    );

    // Missing or bad fields: 400 naming them, nothing created.
    for (body, field) in [
        (json!({"title": "no service"}), "service"),
        (json!({"service": "", "title": "empty service"}), "service"),
        (json!({"service": "api"}), "title"),
        (json!({"service": "api", "title": "  "}), "title"),
        (
            json!({"service": "nope", "title": "unknown service"}),
            "service",
        ),
        (
            json!({"service": "api", "title": "t", "created_at": "yesterday"}),
            "created_at",
        ),
        (
            json!({"service": "api", "title": "t", "created_at": "2026-01-10T10:00:00Z",
                "resolved_at": "2026-01-10T09:00:00Z"}),
            "resolved_at",
        ),
        (
            json!({"service": "api", "title": "t", "deployment_source": "ingested"}),
            "deployment_source",
        ),
        (
            json!({"service": "api", "title": "t", "deployment_id": 1, "deployment_source": "github"}),
            "deployment_source",
        ),
    ] {
        let r = srv.post("/api/v1/incidents", &body).await;
        assert_error(&r, 400, field);
    }
    let r = srv.post_raw("/api/v1/incidents", b"{not json").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        srv.get("/api/v1/incidents")
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // PATCH: unknown id → 404; before the creation → 400; a bad time → 400.
    let patch = |path: String, body: Value| async move {
        srv.call(
            Method::PATCH,
            &path,
            Auth::Admin,
            Some(body.to_string().into_bytes()),
        )
        .await
    };
    patch(
        "/api/v1/incidents/999999".into(),
        json!({"resolved_at": "2026-01-10T11:30:00Z"}),
    )
    .await
    .expect(404);
    patch(
        "/api/v1/incidents/abc".into(),
        json!({"resolved_at": "2026-01-10T11:30:00Z"}),
    )
    .await
    .expect(404);
    let r = patch(
        format!("/api/v1/incidents/{id}"),
        json!({"resolved_at": "2026-01-09T00:00:00Z"}),
    )
    .await;
    assert_error(&r, 400, "resolved_at");
    let r = patch(
        format!("/api/v1/incidents/{id}"),
        json!({"resolved_at": "soon"}),
    )
    .await;
    assert_error(&r, 400, "resolved_at");
    // Unchanged by the refusals.
    let done = srv.get("/api/v1/incidents?status=DONE").await.expect(200);
    let first = done
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["id"] == id)
        .expect("still listed");
    assert_eq!(first["resolved_at"], "2026-01-10T11:30:00Z");
}
