//! Deploy and incident ingestion over HTTP (issue 3, compat/ingest.md), on both backends:
//!
//! - every example of the two seed documents, replayed byte for byte — the OpsLevel request
//!   as printed, the DevLake `curl` commands run by the real `curl` through `sh` with only
//!   `<devlake-host>` replaced — with the exact answers;
//! - the real senders' variants (Jenkins plugin, CircleCI orb, GitHub Action, OpsLevel CLI);
//! - bad input in each family's format, writing nothing;
//! - 50 concurrent posts of one `dedup_id`, and 50 to a new service;
//! - the native API: integrations, services and suggestions, the all-sources listing,
//!   incidents.

#[allow(dead_code)]
#[macro_use]
mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;
use support::*;

both_backends! {
    opslevel_seed_examples => opslevel_seed_examples_sqlite, opslevel_seed_examples_postgres;
    opslevel_real_senders => opslevel_real_senders_sqlite, opslevel_real_senders_postgres;
    opslevel_bad_input => opslevel_bad_input_sqlite, opslevel_bad_input_postgres;
    opslevel_concurrency => opslevel_concurrency_sqlite, opslevel_concurrency_postgres;
    devlake_seed_examples => devlake_seed_examples_sqlite, devlake_seed_examples_postgres;
    devlake_generation_b_and_routes => devlake_generation_b_and_routes_sqlite, devlake_generation_b_and_routes_postgres;
    devlake_auth => devlake_auth_sqlite, devlake_auth_postgres;
    devlake_bad_input => devlake_bad_input_sqlite, devlake_bad_input_postgres;
    integrations_api => integrations_api_sqlite, integrations_api_postgres;
    services_and_suggestions_api => services_and_suggestions_api_sqlite, services_and_suggestions_api_postgres;
    deployments_across_sources => deployments_across_sources_sqlite, deployments_across_sources_postgres;
    bulk_import => bulk_import_sqlite, bulk_import_postgres;
    opslevel_integration_options => opslevel_integration_options_sqlite, opslevel_integration_options_postgres;
}

/// The OpsLevel doc's request body, exactly as the seed prints it (its e-mail addresses were
/// obfuscated to `[email protected]` by the page; the replay keeps that text).
const OPSLEVEL_SEED_BODY: &str = r#"{
"dedup_id": "9ae54794-dfc5-4ac8-b1b5-78789f20f3f8",
"service": "shopping_cart",
"deployer": {
"id": "1a9f841f-9a3d-4423-a05a-7e9c31a02b16",
"email": "[email protected]",
"name": "Michael Scott"
},
"deployed_at": "2019-02-01 13:28:33",
"environment": "Production",
"description": "Deployed by CI Pipeline: Deploy #234",
"deploy_url": "https://heroku.deploys.com",
"deploy_number": "234",
"commit": {
"sha": "38d02f1d7aab64678a7ad3eeb2ad2887ce7253f5",
"message": "Merge branch 'fix-tax-rate' into 'master'",
"branch": "master",
"date": "2019-02-01 09:23:43",
"committer_name": "Michael Scott",
"committer_email": "[email protected]",
"author_name": "Michael Scott",
"author_email": "[email protected]",
"authoring_date": "2019-02-01 09:23:43"
}
}"#;

const OK: &str = r#"{"result": "ok"}"#;
const DUPLICATE: &str = r#"{"result": "duplicate_deploy", "message":"Deploy not created due to existing deploy with identical dedup_id"}"#;
const NOT_FOUND_ALIAS: &str = r#"{"result": "no_service_found", "message": "No service found matching alias 'not_found_alias'. Recording 'not_found_alias' as a suggestion."}"#;
const NOT_FOUND_API: &str = r#"{"result": "no_service_found", "message": "No service found matching alias 'api'. Recording 'api' as a suggestion."}"#;
const DEVLAKE_OK: &str =
    r#"{"code":0,"success":true,"message":"success","causes":null,"data":null}"#;

/// The DevLake doc's `curl` commands, verbatim.
const DEVLAKE_SINGLE: &str = r#"curl <devlake-host>/api/rest/plugins/webhook/1/deployments -X 'POST' -d '{
"pipeline_id": "optional-pipeline-id",
"environment":"PRODUCTION",
"repo_url":"https://github.com/apache/incubator-devlake/",
"repo_id": "optional-repo-id",
"name": "optional-deployment-name. If you do not post a name, DevLake will generate one for you.",
"ref_name": "optional-release-v0.17",
"commit_sha":"015e3d3b480e417aede5a1293bd61de9b0fd051d",
"commit_msg":"optional-commit-message",
"create_time":"2020-01-01T11:00:00+00:00",
"start_time":"2020-01-01T12:00:00+00:00",
"end_time":"2020-01-02T13:00:00+00:00",
"result": "FAILURE"
}'"#;

const DEVLAKE_MULTI: &str = r#"curl <devlake-host>/api/rest/plugins/webhook/1/deployments -X 'POST' -d '{
"pipeline_id": "optional-pipeline-id",
"environment":"PRODUCTION",
"repo_id": "optional-repo-id",
"name": "optional-deployment-name. If you do not post a name, DevLake will generate one for you.",
"create_time":"2020-01-01T11:00:00+00:00",
"start_time":"2020-01-01T12:00:00+00:00",
"end_time":"2020-01-02T13:00:00+00:00",
"result": "FAILURE",
"deploymentCommits":[
{
"repo_url":"repo-1",
"name":"optional, if null, it will be deployment for {commit_sha}",
"ref_name": "optional-release-v0.17",
"commit_sha":"c1",
"commit_msg":"optional-msg-1"
},
{
"repo_url":"repo-2",
"name":"optional, if null, it will be deployment for {commit_sha}",
"ref_name": "optional-release-v0.17",
"commit_sha":"c2",
"commit_msg":"optional-msg-2"
}
]
}'"#;

const DEVLAKE_BASIC: &str = r#"curl <devlake-host>/api/rest/plugins/webhook/1/deployments -X 'POST' -u 'username:password' -d '{
"deploymentCommits":[
{
"commit_sha":"the sha of deployment commit1",
"repo_url":"the repo URL of the deployment commit"
}
],
"start_time":"2020-01-01T12:00:00+00:00",
"end_time":"2020-01-02T12:00:00+00:00"
}'"#;

/// The CircleCI job's `command`, verbatim (with CircleCI's variables set in the environment).
const DEVLAKE_CIRCLECI: &str = r#"# The time a deploy started
start_time=`date '+%Y-%m-%dT%H:%M:%S%z'`
# Some deployment tasks here ...
echo Hello, World!
# Send the request to DevLake after deploy
# The values start with a '$CIRCLE_' are CircleCI's built-in variables
curl <devlake-host>/api/rest/plugins/webhook/1/deployments -X 'POST' -d "{
\"commit_sha\":\"$CIRCLE_SHA1\",
\"repo_url\":\"$CIRCLE_REPOSITORY_URL\",
\"start_time\":\"$start_time\"
}""#;

const DEVLAKE_INCIDENT: &str = r#"curl <devlake-host>/api/rest/plugins/webhook/1/issues -X 'POST' -d '{
"issue_key":"DLK-1234",
"title":"a feature from DLK",
"description":"",
"url":"",
"type":"INCIDENT",
"status":"TODO",
"created_date":"2020-01-01T12:00:00+00:00",
"updated_date":"2020-01-01T12:00:00+00:00",
"priority":"",
"severity":"",
"creator_id":"user1131",
"creator_name":"Nick name 1",
"assignee_id":"user1132",
"assignee_name":"Nick name 2"
}'"#;

const DEVLAKE_CLOSE: &str =
    r#"curl <devlake-host>/api/rest/plugins/webhook/1/issue/DLK-1234/close -X 'POST'"#;

/// Runs a seed's shell snippet with `<devlake-host>` replaced by the server, through `sh`
/// and the real `curl`; returns the last answer's status and body.
fn run_curl(srv: &Server, script: &str, env: &[(&str, &str)]) -> (u16, String) {
    let script = script
        .replace("<devlake-host>", &srv.base)
        .replace(" -X 'POST'", " -X 'POST' -s -w '\\n%{http_code}'");
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .envs(env.iter().copied())
        .output()
        .expect("run sh and curl");
    assert!(out.status.success(), "{script}: {out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    let (body, status) = text.trim_end().rsplit_once('\n').expect("body and status");
    // Drop the snippet's own output (`echo Hello, World!`).
    let body = body.rsplit('\n').next().unwrap_or(body);
    (status.parse().expect("status code"), body.to_owned())
}

async fn opslevel_integration(srv: &Server) -> String {
    let created = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "opslevel", "name": "jenkins"}),
        )
        .await
        .expect(201);
    let url = created["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{EXTERNAL_URL}/integrations/deploy/")),
        "{url}"
    );
    url.trim_start_matches(EXTERNAL_URL).to_owned()
}

async fn devlake_integration(srv: &Server, auth: &str) -> Value {
    srv.post(
        "/api/v1/integrations",
        &json!({"kind": "devlake", "name": "circleci", "auth": auth}),
    )
    .await
    .expect(201)
}

async fn post_as(srv: &Server, path: &str, auth: Auth<'_>, body: &[u8]) -> Resp {
    srv.call(Method::POST, path, auth, Some(body.to_vec()))
        .await
}

fn content_type(r: &Resp) -> String {
    r.header("content-type").unwrap_or_default()
}

/// Every deployment the all-sources listing returns.
async fn all_deployments(srv: &Server, query: &str) -> Vec<Value> {
    srv.get(&format!("/api/v1/deployments?per_page=100&{query}"))
        .await
        .expect(200)
        .as_array()
        .expect("array")
        .clone()
}

async fn opslevel_seed_examples(srv: &Server) {
    let path = opslevel_integration(srv).await;
    srv.post(
        "/api/v1/services",
        &json!({"name": "shopping_cart", "aliases": ["shopping_cart", "cart"]}),
    )
    .await
    .expect(201);

    // Service matched.
    let r = post_as(srv, &path, Auth::Anonymous, OPSLEVEL_SEED_BODY.as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, OK));
    assert_eq!(content_type(&r), "application/json");
    // The same dedup_id again: nothing created.
    let r = post_as(srv, &path, Auth::Anonymous, OPSLEVEL_SEED_BODY.as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, DUPLICATE));
    // No service matches: recorded, and suggested.
    let unknown = OPSLEVEL_SEED_BODY
        .replace("\"shopping_cart\"", "\"not_found_alias\"")
        .replace("9ae54794", "00000000");
    let r = post_as(srv, &path, Auth::Anonymous, unknown.as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, NOT_FOUND_ALIAS));

    // The doc's error example and its "Common Errors" row.
    let no_description = OPSLEVEL_SEED_BODY.replace(
        "\"description\": \"Deployed by CI Pipeline: Deploy #234\",",
        "\"description\": \"\",",
    );
    let r = post_as(srv, &path, Auth::Anonymous, no_description.as_bytes()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": 400, "title": "Description Error",
                            "detail": "param is missing or the value is empty: description"}]})
    );
    let no_deployed_at =
        OPSLEVEL_SEED_BODY.replace("\"deployed_at\": \"2019-02-01 13:28:33\",", "");
    let r = post_as(srv, &path, Auth::Anonymous, no_deployed_at.as_bytes()).await;
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": 400, "title": "Deployed at Error",
                            "detail": "param is missing or the value is empty: deployed_at"}]})
    );

    // Two deploys were recorded, with every field of the document.
    let list = all_deployments(srv, "source=opslevel").await;
    assert_eq!(list.len(), 2);
    let d = list
        .iter()
        .find(|d| d["service"] == "shopping_cart")
        .expect("the matched deploy");
    assert_eq!(d["source"], "opslevel");
    assert_eq!(d["service_alias"], "shopping_cart");
    assert_eq!(d["environment"], "Production");
    assert_eq!(d["description"], "Deployed by CI Pipeline: Deploy #234");
    assert_eq!(d["url"], "https://heroku.deploys.com");
    assert_eq!(d["deploy_number"], "234");
    assert_eq!(d["external_id"], "9ae54794-dfc5-4ac8-b1b5-78789f20f3f8");
    assert_eq!(d["started_at"], "2019-02-01T13:28:33Z");
    assert_eq!(d["finished_at"], "2019-02-01T13:28:33Z");
    assert_eq!(d["result"], "SUCCESS");
    assert_eq!(d["state"], "success");
    assert_eq!(
        d["deployer"],
        json!({"name": "Michael Scott", "email": "[email protected]",
               "id": "1a9f841f-9a3d-4423-a05a-7e9c31a02b16"})
    );
    assert_eq!(d["sha"], "38d02f1d7aab64678a7ad3eeb2ad2887ce7253f5");
    assert_eq!(d["ref"], "master");
    assert_eq!(
        d["commits"][0]["message"],
        "Merge branch 'fix-tax-rate' into 'master'"
    );
    let other = list
        .iter()
        .find(|d| d["service_alias"] == "not_found_alias")
        .expect("the unmatched deploy");
    assert_eq!(other.get("service"), None);
    let sug = srv.get("/api/v1/services/suggestions").await.expect(200);
    assert_eq!(sug[0]["alias"], "not_found_alias");
    assert_eq!(sug[0]["deploy_count"], 1);
}

async fn opslevel_real_senders(srv: &Server) {
    let path = opslevel_integration(srv).await;
    srv.post(
        "/api/v1/services",
        &json!({"name": "api", "aliases": ["jenkins:deploy-api", "acme/api"]}),
    )
    .await
    .expect(201);

    // Jenkins plugin: ?agent=, no deployer, `Production`, `Z` times, origin/ branches,
    // a random dedup_id per build.
    let jenkins = json!({"service": "jenkins:deploy-api", "description": "Jenkins build #12",
        "deployed_at": "2024-05-01T10:00:00Z", "environment": "Production", "deploy_number": "12",
        "dedup_id": "6b0a2f3c-6c61-4b0e-9d59-2b7d3c1f9e01", "deploy_url": "https://ci/job/deploy-api/12/",
        "commit": {"sha": "0123456789abcdef0123456789abcdef01234567", "branch": "origin/master"}});
    let r = post_as(
        srv,
        &format!("{path}?agent=jenkins-2.1.0"),
        Auth::Anonymous,
        jenkins.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (202, OK));

    // CircleCI orb: the dedup_id is the job name, constant across runs → duplicates.
    let orb = |build: u32| {
        json!({"service": "acme/api", "description": "orb", "deployed_at": "2024-05-01 10:00:00",
            "environment": "production", "deploy_number": build.to_string(), "dedup_id": "deploy",
            "deployer": {"name": "circle-user", "email": ""}})
    };
    let r = post_as(srv, &path, Auth::Anonymous, orb(41).to_string().as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, OK));
    let r = post_as(srv, &path, Auth::Anonymous, orb(42).to_string().as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, DUPLICATE));

    // GitHub Action: numbers as JSON numbers, email "", the run id as dedup_id.
    let action = json!({"service": "ACME/API", "description": "action", "deployed_at": "2024-05-01T12:00:00+02:00",
        "environment": "production", "deploy_number": 77, "dedup_id": 9_876_543_210_u64,
        "deployer": {"name": "octocat", "email": ""}});
    // The uuid works in any case, with a trailing slash too.
    let upper = format!(
        "{}/",
        path.to_uppercase()
            .replace("/INTEGRATIONS/DEPLOY/", "/integrations/deploy/")
    );
    let r = post_as(srv, &upper, Auth::Anonymous, action.to_string().as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, OK));

    // OpsLevel CLI: no dedup_id, no deploy_number, no environment.
    let cli = json!({"service": "api", "description": "cli", "deployed_at": "2024-05-02T08:00:00.123Z",
        "deployer": {"email": "automation@opslevel.com"}});
    let r = post_as(srv, &path, Auth::Anonymous, cli.to_string().as_bytes()).await;
    assert_eq!((r.status, r.text.as_str()), (202, OK));

    let list = all_deployments(srv, "service=api").await;
    assert_eq!(list.len(), 4);
    let by_desc = |d: &str| {
        list.iter()
            .find(|x| x["description"] == d)
            .cloned()
            .expect(d)
    };
    assert_eq!(by_desc("Jenkins build #12").get("deployer"), None);
    assert_eq!(by_desc("Jenkins build #12")["ref"], "origin/master");
    assert_eq!(by_desc("action")["deploy_number"], "77");
    assert_eq!(by_desc("action")["external_id"], "9876543210");
    assert_eq!(by_desc("action")["finished_at"], "2024-05-01T10:00:00Z");
    // Generated: 1 + the highest integer number so far.
    assert_eq!(by_desc("cli")["deploy_number"], "78");
    assert_eq!(by_desc("cli")["environment"], "production");
    // Environments match case-insensitively in the listing.
    assert_eq!(
        all_deployments(srv, "environment=production&service=api")
            .await
            .len(),
        4
    );
}

async fn opslevel_bad_input(srv: &Server) {
    let path = opslevel_integration(srv).await;
    let err = |r: &Resp, status: u16, title: &str| {
        assert_eq!(r.status, status, "{}", r.text);
        let body = r.json();
        assert_eq!(body["errors"][0]["status"], status, "{body}");
        assert_eq!(body["errors"][0]["title"], title, "{body}");
    };
    for bad in [
        &b"{"[..],
        b"not json",
        b"[1,2]",
        b"",
        b"\"x\"",
        b"{\"service\":\"a\\u0000\"}",
    ] {
        let r = post_as(srv, &path, Auth::Anonymous, bad).await;
        err(&r, 400, "Parse Error");
    }
    let r = post_as(srv, &path, Auth::Anonymous, b"{}").await;
    let body = r.json();
    let titles: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["title"].as_str().expect("title"))
        .collect();
    assert_eq!(
        titles,
        vec!["Service Error", "Description Error", "Deployed at Error"]
    );
    let r = post_as(
        srv,
        &path,
        Auth::Anonymous,
        br#"{"service":"a","description":"d","deployed_at":"last tuesday"}"#,
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": 400, "title": "Deployed at Error", "detail": "invalid datetime: deployed_at"}]})
    );
    let r = post_as(
        srv,
        &path,
        Auth::Anonymous,
        br#"{"service":{"x":1},"description":[],"deployed_at":"2020-01-01"}"#,
    )
    .await;
    assert_eq!(r.json()["errors"].as_array().map(Vec::len), Some(2));

    // Unknown, malformed or revoked endpoints.
    let unknown = "/integrations/deploy/6b0a2f3c-6c61-4b0e-9d59-2b7d3c1f9e01";
    let r = post_as(srv, unknown, Auth::Anonymous, OPSLEVEL_SEED_BODY.as_bytes()).await;
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": 404, "title": "Not Found", "detail": "integration not found"}]})
    );
    let r = post_as(srv, "/integrations/deploy/nope", Auth::Anonymous, b"{}").await;
    err(&r, 404, "Not Found");
    let r = post_as(srv, "/integrations/deploy/%FF", Auth::Anonymous, b"{}").await;
    assert_eq!(r.status, 404);
    // Too large.
    let big = format!(
        r#"{{"service":"a","description":"{}","deployed_at":"2020-01-01"}}"#,
        "x".repeat(1_100_000)
    );
    let r = post_as(srv, &path, Auth::Anonymous, big.as_bytes()).await;
    err(&r, 413, "Payload Too Large");
    // Wrong method.
    let r = srv.call(Method::GET, &path, Auth::Anonymous, None).await;
    assert_eq!(r.status, 405);

    // None of it was written.
    assert!(all_deployments(srv, "").await.is_empty());
    assert_eq!(
        srv.get("/api/v1/services/suggestions").await.expect(200),
        json!([])
    );
}

async fn opslevel_concurrency(srv: &Server) {
    let path = opslevel_integration(srv).await;
    srv.post("/api/v1/services", &json!({"name": "fresh"}))
        .await
        .expect(201);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("{}{path}", srv.base);
    let post_all = |bodies: Vec<String>| {
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let r = client.post(&url).body(body).send().await.expect("post");
                    (r.status().as_u16(), r.text().await.expect("body"))
                })
            })
            .collect();
        async move {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("task"));
            }
            out
        }
    };

    // 50 clients, one dedup_id: exactly one deploy.
    let same = json!({"service": "fresh", "description": "d", "deployed_at": "2024-01-01 00:00:00", "dedup_id": "one"})
        .to_string();
    let answers = post_all(vec![same; 50]).await;
    assert!(answers.iter().all(|(s, _)| *s == 202), "{answers:?}");
    let ok = answers.iter().filter(|(_, b)| b == OK).count();
    let dup = answers.iter().filter(|(_, b)| b == DUPLICATE).count();
    assert_eq!((ok, dup), (1, 49));
    assert_eq!(all_deployments(srv, "service=fresh").await.len(), 1);

    // 50 clients, a new service: numbers 1..50, no gap, no repeat.
    srv.post("/api/v1/services", &json!({"name": "newer"}))
        .await
        .expect(201);
    let bodies = (0..50)
        .map(|i| {
            json!({"service": "newer", "description": "d", "deployed_at": "2024-01-01 00:00:00",
                   "dedup_id": format!("run-{i}")})
            .to_string()
        })
        .collect();
    let answers = post_all(bodies).await;
    assert!(
        answers.iter().all(|(s, b)| *s == 202 && b == OK),
        "{answers:?}"
    );
    let numbers: BTreeSet<i64> = all_deployments(srv, "service=newer")
        .await
        .iter()
        .map(|d| {
            d["deploy_number"]
                .as_str()
                .expect("number")
                .parse()
                .expect("integer")
        })
        .collect();
    assert_eq!(numbers, (1..=50).collect::<BTreeSet<i64>>());
}

async fn devlake_seed_examples(srv: &Server) {
    // Connection 1, open as in the doc's examples (the Basic example's credentials are
    // accepted because the connection authenticates nothing).
    let created = devlake_integration(srv, "none").await;
    assert_eq!(created["id"], 1);
    assert_eq!(
        created["url"],
        format!("{EXTERNAL_URL}/api/rest/plugins/webhook/1")
    );
    assert_eq!(created.get("secret"), None);
    // A registered repository of the first example's URL, linked to a service.
    srv.post(
        "/api/v1/repos",
        &json!({"full_name": "apache/incubator-devlake"}),
    )
    .await
    .expect(201);
    srv.post(
        "/api/v1/services",
        &json!({"name": "devlake", "repos": ["apache/incubator-devlake"]}),
    )
    .await
    .expect(201);

    for script in [DEVLAKE_SINGLE, DEVLAKE_MULTI, DEVLAKE_BASIC] {
        assert_eq!(
            run_curl(srv, script, &[]),
            (200, DEVLAKE_OK.to_owned()),
            "{script}"
        );
    }
    let circle_env = [
        ("CIRCLE_SHA1", "8f4c1f1e2d3c4b5a69788796a5b4c3d2e1f00112"),
        (
            "CIRCLE_REPOSITORY_URL",
            "git@github.com:apache/incubator-devlake.git",
        ),
    ];
    assert_eq!(
        run_curl(srv, DEVLAKE_CIRCLECI, &circle_env),
        (200, DEVLAKE_OK.to_owned())
    );
    assert_eq!(
        run_curl(srv, DEVLAKE_INCIDENT, &[]),
        (200, DEVLAKE_OK.to_owned())
    );
    assert_eq!(
        run_curl(srv, DEVLAKE_CLOSE, &[]),
        (200, DEVLAKE_OK.to_owned())
    );

    // The first two examples share `pipeline_id`: the second updated the first.
    let list = all_deployments(srv, "source=devlake").await;
    assert_eq!(list.len(), 3, "{list:?}");
    let pipeline = list
        .iter()
        .find(|d| d["external_id"] == "pipeline:optional-pipeline-id")
        .expect("the pipeline's deploy");
    assert_eq!(pipeline["result"], "FAILURE");
    assert_eq!(pipeline["state"], "failure");
    assert_eq!(pipeline["started_at"], "2020-01-01T12:00:00Z");
    assert_eq!(pipeline["finished_at"], "2020-01-02T13:00:00Z");
    let shas: BTreeSet<&str> = pipeline["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .map(|c| c["sha"].as_str().expect("sha"))
        .collect();
    // Commits absent from a re-post are kept.
    assert_eq!(
        shas,
        BTreeSet::from(["015e3d3b480e417aede5a1293bd61de9b0fd051d", "c1", "c2"])
    );
    assert_eq!(
        pipeline["service"], "devlake",
        "found through apache/incubator-devlake"
    );
    let circle = list
        .iter()
        .find(|d| d["sha"] == "8f4c1f1e2d3c4b5a69788796a5b4c3d2e1f00112")
        .expect("the CircleCI deploy");
    assert_eq!(circle["repository"], "apache/incubator-devlake");
    assert_eq!(circle["name"], Value::Null);
    assert_eq!(
        circle["description"],
        "deployment for 8f4c1f1e2d3c4b5a69788796a5b4c3d2e1f00112"
    );
    assert_eq!(circle["environment"], "PRODUCTION");
    assert_eq!(circle["result"], "SUCCESS");

    // The incident, closed: DONE with a resolution date and a lead time.
    let incidents = srv.get("/api/v1/incidents").await.expect(200);
    assert_eq!(incidents.as_array().map(Vec::len), Some(1));
    let i = &incidents[0];
    assert_eq!(
        (i["key"].as_str(), i["status"].as_str()),
        (Some("DLK-1234"), Some("DONE"))
    );
    assert_eq!(i["title"], "a feature from DLK");
    assert_eq!(i["created_at"], "2020-01-01T12:00:00Z");
    assert!(i["resolved_at"].is_string());
    assert!(i["lead_time_minutes"].as_i64().is_some_and(|m| m > 0));
    // Closing again is a no-op; an unknown key is 404.
    assert_eq!(
        run_curl(srv, DEVLAKE_CLOSE, &[]),
        (200, DEVLAKE_OK.to_owned())
    );
    let (status, body) = run_curl(srv, &DEVLAKE_CLOSE.replace("DLK-1234", "DLK-9"), &[]);
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(false), json!("issue not found"))
    );
}

async fn devlake_generation_b_and_routes(srv: &Server) {
    devlake_integration(srv, "none").await;
    let b = json!({"id":"gha-run-4711","displayTitle":"api v1.4.2","result":"FAILURE","environment":"PRODUCTION",
        "originalEnvironment":"prod-eu-1","startedDate":"2024-06-01T12:00:00+00:00","finishedDate":"2024-06-01T12:05:30Z",
        "deploymentCommits":[{"repoUrl":"https://github.com/acme/api","commitSha":"015e3d3b480e417aede5a1293bd61de9b0fd051d","refName":"v1.4.2"}]});
    // Every prefix and path form reaches connection 1; re-posting the same id updates.
    for (i, prefix) in [
        "/api/rest/plugins/webhook/1",
        "/api/plugins/webhook/1",
        "/rest/plugins/webhook/1",
        "/plugins/webhook/1",
        "/api/rest/plugins/webhook/connections/1",
        "/api/plugins/webhook/connections/by-name/CircleCI",
    ]
    .iter()
    .enumerate()
    {
        let mut body = b.clone();
        body["deploymentCommits"][0]["commitSha"] = json!(format!("{i:040x}"));
        let r = post_as(
            srv,
            &format!("{prefix}/deployments/"),
            Auth::Anonymous,
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!((r.status, r.text.as_str()), (200, DEVLAKE_OK), "{prefix}");
    }
    let list = all_deployments(srv, "source=devlake").await;
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d["environment"], "prod-eu-1");
    assert_eq!(d["description"], "api v1.4.2");
    assert_eq!(d["result"], "FAILURE");
    assert_eq!(d["commits"].as_array().map(Vec::len), Some(6));
    assert_eq!(d["finished_at"], "2024-06-01T12:05:30Z");

    // Generation B issues (camelCase), keys case-insensitive, weak types.
    let issue = json!({"issueKey": 42, "Title": "db down", "STATUS": "in_progress", "type": "Incident",
        "createdDate": "2024-06-01T12:00:00Z"});
    let r = post_as(
        srv,
        "/plugins/webhook/connections/1/issues",
        Auth::Anonymous,
        issue.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (200, DEVLAKE_OK));
    let r = post_as(
        srv,
        "/plugins/webhook/connections/1/issue/42/close",
        Auth::Anonymous,
        b"ignored",
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (200, DEVLAKE_OK));
    let incidents = srv.get("/api/v1/incidents?status=done").await.expect(200);
    assert_eq!(incidents[0]["key"], "42");
    // A bug is not an incident.
    let bug = json!({"issue_key": "B-1", "title": "t", "status": "TODO", "type": "BUG", "created_date": "2024-06-01"});
    post_as(
        srv,
        "/api/plugins/webhook/1/issues",
        Auth::Anonymous,
        bug.to_string().as_bytes(),
    )
    .await
    .expect(200);
    assert_eq!(
        srv.get("/api/v1/incidents")
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn devlake_auth(srv: &Server) {
    devlake_integration(srv, "none").await;
    let bearer = devlake_integration(srv, "bearer").await;
    let basic = devlake_integration(srv, "basic").await;
    let key = bearer["secret"].as_str().expect("key").to_owned();
    let basic_key = basic["secret"].as_str().expect("key").to_owned();
    let path = |c: &Value| format!("/api/rest/plugins/webhook/{}/deployments", c["id"]);
    let body = br#"{"repo_url":"r","commit_sha":"c","start_time":"2020-01-01"}"#;
    let auth_err = |r: &Resp, status: u16, message: &str| {
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.json(), json!({"success": false, "message": message}));
    };
    auth_err(
        &post_as(srv, &path(&bearer), Auth::Anonymous, body).await,
        401,
        "token is missing",
    );
    auth_err(
        &post_as(srv, &path(&bearer), Auth::Header("Bearer"), body).await,
        401,
        "token is not present or malformed",
    );
    auth_err(
        &post_as(srv, &path(&bearer), Auth::Header("Bearer wrong"), body).await,
        403,
        "api key is invalid",
    );
    auth_err(
        &post_as(
            srv,
            &path(&bearer),
            Auth::Header(&format!("Bearer {basic_key}")),
            body,
        )
        .await,
        403,
        "api key is invalid",
    );
    let ok = post_as(
        srv,
        &path(&bearer),
        Auth::Header(&format!("Bearer {key}")),
        body,
    )
    .await;
    assert_eq!((ok.status, ok.text.as_str()), (200, DEVLAKE_OK));
    // Basic auth: the password is the key, on every prefix.
    use base64::Engine;
    let basic_header = |user: &str, pw: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    };
    let ok = post_as(
        srv,
        &format!(
            "/api/plugins/webhook/connections/{}/deployments",
            basic["id"]
        ),
        Auth::Header(&basic_header("username", &basic_key)),
        body,
    )
    .await;
    assert_eq!((ok.status, ok.text.as_str()), (200, DEVLAKE_OK));
    auth_err(
        &post_as(
            srv,
            &path(&basic),
            Auth::Header(&basic_header("username", "password")),
            body,
        )
        .await,
        403,
        "api key is invalid",
    );
    auth_err(
        &post_as(srv, &path(&basic), Auth::Header("Basic !!!"), body).await,
        401,
        "token is not present or malformed",
    );
    // Revoked: 404.
    srv.delete(&format!("/api/v1/integrations/{}", bearer["id"]))
        .await
        .expect(204);
    let r = post_as(
        srv,
        &path(&bearer),
        Auth::Header(&format!("Bearer {key}")),
        body,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(all_deployments(srv, "source=devlake").await.len(), 2);
}

async fn devlake_bad_input(srv: &Server) {
    devlake_integration(srv, "none").await;
    let dl_err = |r: &Resp, status: u16, message: &str| {
        assert_eq!(r.status, status, "{}", r.text);
        let body = r.json();
        assert_eq!(body["success"], false, "{body}");
        assert_eq!(body["code"], 0, "{body}");
        assert_eq!(body["message"], message, "{body}");
        assert!(body["causes"].is_array(), "{body}");
    };
    let p = "/api/rest/plugins/webhook/1/deployments";
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/0/deployments",
            Auth::Anonymous,
            b"{}",
        )
        .await,
        400,
        "invalid connectionId",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/abc/deployments",
            Auth::Anonymous,
            b"{}",
        )
        .await,
        400,
        "invalid connectionId",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/99/deployments",
            Auth::Anonymous,
            b"{}",
        )
        .await,
        404,
        "connection not found",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/connections/by-name/nobody/issues",
            Auth::Anonymous,
            b"{}",
        )
        .await,
        404,
        "connection not found",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/1/nothing",
            Auth::Anonymous,
            b"{}",
        )
        .await,
        404,
        "not found",
    );
    // Defect D3: invalid JSON and arrays are 400, not 500.
    dl_err(
        &post_as(srv, p, Auth::Anonymous, b"{").await,
        400,
        "the request body is not valid JSON",
    );
    dl_err(
        &post_as(srv, p, Auth::Anonymous, b"[]").await,
        400,
        "the request body must be a JSON object",
    );
    dl_err(
        &post_as(srv, p, Auth::Anonymous, b"{}").await,
        400,
        "repo_url is required",
    );
    dl_err(
        &post_as(
            srv,
            p,
            Auth::Anonymous,
            br#"{"repo_url":"r","commit_sha":"c","start_time":"2020-13-01"}"#,
        )
        .await,
        400,
        "invalid time: start_time",
    );
    dl_err(
        &post_as(
            srv,
            p,
            Auth::Anonymous,
            br#"{"repo_url":"r","commit_sha":"c","start_time":"2020-01-01","result":"MAYBE"}"#,
        )
        .await,
        400,
        "result must be one of SUCCESS, FAILURE, ABORT, MANUAL",
    );
    dl_err(
        &post_as(srv, p, Auth::Anonymous, br#"{"id":"x","startedDate":"2020-01-01","finishedDate":"2020-01-01","deploymentCommits":[]}"#).await,
        400,
        "deployment_commits is empty",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/1/issues",
            Auth::Anonymous,
            br#"{"issue_key":"K","title":"t","status":"OPEN","created_date":"2020-01-01"}"#,
        )
        .await,
        400,
        "status must be one of TODO, DONE, IN_PROGRESS",
    );
    dl_err(
        &post_as(
            srv,
            "/api/rest/plugins/webhook/1/issues",
            Auth::Anonymous,
            b"\"str\"",
        )
        .await,
        400,
        "the request body must be a JSON object",
    );
    let big = vec![b' '; 1_100_000];
    dl_err(
        &post_as(srv, p, Auth::Anonymous, &big).await,
        413,
        "the request body is larger than the limit",
    );
    let r = srv.call(Method::GET, p, Auth::Anonymous, None).await;
    assert_eq!(r.status, 405);
    assert!(all_deployments(srv, "").await.is_empty());
    assert_eq!(srv.get("/api/v1/incidents").await.expect(200), json!([]));
}

async fn integrations_api(srv: &Server) {
    let ops = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "opslevel", "name": "jenkins"}),
        )
        .await
        .expect(201);
    let uuid = ops["url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("uuid")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&uuid).is_ok(), "{uuid}");
    assert_eq!(ops.get("secret"), None);
    let dl = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "devlake", "name": "circleci"}),
        )
        .await
        .expect(201);
    assert_eq!(dl["auth"], "bearer", "the default");
    assert!(dl["secret"].as_str().is_some_and(|s| s.len() > 20));

    // Listed without secrets; the OpsLevel URL is not shown again.
    let list = srv.get("/api/v1/integrations").await.expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(!list.to_string().contains(&uuid));
    assert!(!list
        .to_string()
        .contains(dl["secret"].as_str().expect("secret")));
    assert_eq!(list[1]["url"], dl["url"]);

    for (body, field) in [
        (json!({"kind": "jira", "name": "x"}), "kind"),
        (
            json!({"kind": "devlake", "name": "x", "auth": "oauth"}),
            "auth",
        ),
        (
            json!({"kind": "opslevel", "name": "x", "auth": "none"}),
            "auth",
        ),
        (json!({"kind": "opslevel", "name": " "}), "name"),
    ] {
        let r = srv.post("/api/v1/integrations", &body).await;
        let msg = r.expect(400)["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        assert!(msg.contains(field), "{msg}");
    }
    let read = srv.token("reader", &["read"]).await;
    let r = srv
        .call(
            Method::GET,
            "/api/v1/integrations",
            Auth::Token(&read),
            None,
        )
        .await;
    assert_eq!(r.status, 403);

    // Deleting revokes: the URL stops working.
    srv.delete(&format!("/api/v1/integrations/{}", ops["id"]))
        .await
        .expect(204);
    srv.delete(&format!("/api/v1/integrations/{}", ops["id"]))
        .await
        .expect(404);
    srv.delete("/api/v1/integrations/x").await.expect(404);
    let r = post_as(
        srv,
        &format!("/integrations/deploy/{uuid}"),
        Auth::Anonymous,
        OPSLEVEL_SEED_BODY.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        srv.get("/api/v1/integrations")
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn services_and_suggestions_api(srv: &Server) {
    srv.post("/api/v1/repos", &json!({"full_name": "acme/shop"}))
        .await
        .expect(201);
    let created = srv
        .post(
            "/api/v1/services",
            &json!({"name": "shopping_cart", "aliases": ["shopping_cart", "cart"], "repos": ["acme/shop"]}),
        )
        .await
        .expect(201);
    assert_eq!(created["aliases"], json!(["cart", "shopping_cart"]));
    assert_eq!(created["repos"], json!(["acme/shop"]));
    srv.post(
        "/api/v1/services",
        &json!({"name": "other", "aliases": ["CART"]}),
    )
    .await
    .expect(409);
    srv.post(
        "/api/v1/services",
        &json!({"name": "x", "repos": ["acme/nope"]}),
    )
    .await
    .expect(400);
    srv.post("/api/v1/services", &json!({"aliases": ["x"]}))
        .await
        .expect(400);
    assert_eq!(
        srv.get("/api/v1/services")
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        srv.get("/api/v1/services/Cart").await.expect(200)["name"],
        "shopping_cart"
    );
    srv.get("/api/v1/services/nothing").await.expect(404);
    let patched = srv
        .call(
            Method::PATCH,
            "/api/v1/services/cart",
            Auth::Admin,
            Some(
                json!({"aliases": ["cart", "basket"]})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["aliases"],
        json!(["basket", "cart", "shopping_cart"])
    );
    assert_eq!(patched["repos"], json!(["acme/shop"]), "kept");

    // Suggestions from unknown aliases; accept into a new service or an existing one; dismiss.
    let path = opslevel_integration(srv).await;
    for alias in ["finder", "finder", "jenkins:cart", "ghost"] {
        let body = json!({"service": alias, "description": "d", "deployed_at": "2024-01-01"});
        post_as(srv, &path, Auth::Anonymous, body.to_string().as_bytes())
            .await
            .expect(202);
    }
    let sug = srv.get("/api/v1/services/suggestions").await.expect(200);
    assert_eq!(sug[0]["alias"], "finder");
    assert_eq!(sug[0]["deploy_count"], 2);
    let id = |alias: &str| {
        sug.as_array()
            .expect("array")
            .iter()
            .find(|s| s["alias"] == alias)
            .map(|s| s["id"].clone())
            .expect(alias)
    };
    let finder = srv
        .call(
            Method::POST,
            &format!("/api/v1/services/suggestions/{}/accept", id("finder")),
            Auth::Admin,
            None,
        )
        .await
        .expect(200);
    assert_eq!(finder["name"], "finder");
    let cart = srv
        .post(
            &format!("/api/v1/services/suggestions/{}/accept", id("jenkins:cart")),
            &json!({"service": "cart"}),
        )
        .await
        .expect(200);
    assert_eq!(
        cart["aliases"],
        json!(["basket", "cart", "jenkins:cart", "shopping_cart"])
    );
    srv.post(
        &format!("/api/v1/services/suggestions/{}/dismiss", id("ghost")),
        &json!({}),
    )
    .await
    .expect(204);
    srv.post(
        &format!("/api/v1/services/suggestions/{}/dismiss", id("ghost")),
        &json!({}),
    )
    .await
    .expect(404);
    assert_eq!(
        srv.get("/api/v1/services/suggestions").await.expect(200),
        json!([])
    );
    // The deploys recorded under the accepted aliases now belong to the services.
    assert_eq!(all_deployments(srv, "service=finder").await.len(), 2);
    assert_eq!(
        all_deployments(srv, "service=shopping_cart&source=opslevel")
            .await
            .len(),
        1
    );

    let read = srv.token("reader", &["read"]).await;
    let r = srv
        .call(
            Method::POST,
            "/api/v1/services",
            Auth::Token(&read),
            Some(b"{\"name\":\"z\"}".to_vec()),
        )
        .await;
    assert_eq!(r.status, 403);
    srv.delete("/api/v1/services/finder").await.expect(204);
    srv.delete("/api/v1/services/finder").await.expect(404);
    // Its deploys stay, without a service.
    assert_eq!(all_deployments(srv, "source=opslevel").await.len(), 4);
}

async fn deployments_across_sources(srv: &Server) {
    let git = srv.repo("acme/shop").await;
    srv.post(
        "/api/v1/services",
        &json!({"name": "shop", "repos": ["acme/shop"]}),
    )
    .await
    .expect(201);
    let api = srv
        .deploy(
            "acme/shop",
            json!({"ref": git.first.clone(), "environment": "production", "required_contexts": []}),
        )
        .await;
    let path = opslevel_integration(srv).await;
    let body = json!({"service": "shop", "description": "d", "deployed_at": "2019-02-01 13:28:33", "environment": "Production"});
    post_as(srv, &path, Auth::Anonymous, body.to_string().as_bytes())
        .await
        .expect(202);

    let list = all_deployments(srv, "").await;
    assert_eq!(list.len(), 2);
    // Newest first: the API deployment now, the ingested one in 2019.
    assert_eq!(list[0]["id"], api["id"]);
    assert_eq!(list[0]["source"], "api");
    assert_eq!(list[0]["service"], "shop");
    assert_eq!(list[1]["source"], "opslevel");
    assert_eq!(all_deployments(srv, "service=shop").await.len(), 2);
    assert_eq!(all_deployments(srv, "source=api").await.len(), 1);
    assert_eq!(all_deployments(srv, "source=opslevel").await.len(), 1);
    assert_eq!(all_deployments(srv, "source=devlake").await.len(), 0);
    assert_eq!(
        all_deployments(srv, "environment=production").await.len(),
        2
    );
    assert_eq!(
        all_deployments(srv, "from=2019-01-01&to=2019-12-31")
            .await
            .len(),
        1
    );
    let r = srv.get("/api/v1/deployments?per_page=1&page=2").await;
    assert_eq!(r.header("x-total-count").as_deref(), Some("2"));
    assert_eq!(ids(&r.expect(200)).len(), 1);
    let msg = r#"unknown service \"nope\""#;
    let r = srv.get("/api/v1/deployments?service=nope").await;
    assert!(r.expect(400).to_string().contains(msg));
    srv.get("/api/v1/deployments?source=carrier-pigeon")
        .await
        .expect(400);
    // The GitHub-compatible API still lists API deployments only.
    let v3 = srv
        .get("/api/v3/repos/acme/shop/deployments")
        .await
        .expect(200);
    assert_eq!(v3.as_array().map(Vec::len), Some(1));
}

async fn bulk_import(srv: &Server) {
    let ops = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "opslevel", "name": "backfill"}),
        )
        .await
        .expect(201);
    srv.post("/api/v1/services", &json!({"name": "shop"}))
        .await
        .expect(201);
    let import = |id: &Value| format!("/api/v1/integrations/{id}/import");
    let line = |n: u32, dedup: Option<&str>| {
        let mut v = json!({"service": "shop", "description": format!("deploy {n}"),
            "deployed_at": format!("2023-01-{:02} 10:00:00", n % 28 + 1)});
        if let Some(d) = dedup {
            v["dedup_id"] = json!(d);
        }
        v.to_string()
    };
    // Lines with and without dedup_id, a blank line, a bad line; the same dedup_id twice.
    let file = [
        line(1, Some("a")),
        line(2, None),
        String::new(),
        "{not json".to_owned(),
        line(3, Some("a")),
        line(4, None),
        r#"{"service":"shop"}"#.to_owned(),
    ]
    .join("\n");
    let r = srv
        .call(
            Method::POST,
            &import(&ops["id"]),
            Auth::Admin,
            Some(file.clone().into_bytes()),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r["lines"].clone(),
            r["created"].clone(),
            r["duplicates"].clone()
        ),
        (json!(6), json!(3), json!(1))
    );
    let lines: Vec<i64> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(lines, vec![4, 7]);
    assert!(r["errors"][1]["message"]
        .as_str()
        .is_some_and(|m| m.contains("Description Error")));
    // Idempotent: the same file again creates nothing.
    let again = srv
        .call(
            Method::POST,
            &import(&ops["id"]),
            Auth::Admin,
            Some(file.into_bytes()),
        )
        .await
        .expect(200);
    assert_eq!(
        (again["created"].clone(), again["duplicates"].clone()),
        (json!(0), json!(4))
    );
    let list = all_deployments(srv, "service=shop").await;
    assert_eq!(list.len(), 3);
    let numbers: BTreeSet<&str> = list
        .iter()
        .map(|d| d["deploy_number"].as_str().expect("n"))
        .collect();
    assert_eq!(numbers, BTreeSet::from(["1", "2", "3"]));

    // A request of several chunks (and over the 1 MiB limit of other routes): written in
    // file order, so generated numbers follow the lines; a dedup_id repeated in a later
    // chunk is a duplicate; a bad line in the middle refuses only itself.
    srv.post("/api/v1/services", &json!({"name": "bulk"}))
        .await
        .expect(201);
    let lines = 12_000u32;
    let mut big = String::new();
    for n in 1..=lines {
        let v = json!({"service": "bulk", "dedup_id": format!("big-{}", n.min(11_999)),
            "description": format!("deploy {n} {}", "·".repeat(40)),
            "deployed_at": format!("2024-01-01T00:00:00Z"),
            "environment": if n % 2 == 0 { "production" } else { "staging" }});
        big.push_str(&if n == 6_000 {
            "{oops".to_owned()
        } else {
            v.to_string()
        });
        big.push('\n');
    }
    assert!(big.len() > 1024 * 1024);
    let r = srv
        .call(
            Method::POST,
            &import(&ops["id"]),
            Auth::Admin,
            Some(big.into_bytes()),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r["lines"].clone(),
            r["created"].clone(),
            r["duplicates"].clone(),
            r["errors"][0]["line"].clone()
        ),
        (json!(12_000), json!(11_998), json!(1), json!(6_000))
    );
    let newest = srv
        .get("/api/v1/deployments?service=bulk&per_page=1")
        .await
        .expect(200);
    let numbers: Vec<&str> = [&newest[0]]
        .iter()
        .map(|d| d["deploy_number"].as_str().expect("number"))
        .collect();
    // All finished at the same second: the newest is the last line written.
    assert_eq!(numbers, vec!["11998"]);
    assert_eq!(
        newest[0]["description"],
        format!("deploy 11999 {}", "·".repeat(40))
    );

    // Over this route's 64 MiB limit: 413 in the API's error format, nothing written.
    let mut huge = br#"{"service":"bulk","dedup_id":"huge"}"#.to_vec();
    huge.resize(64 * 1024 * 1024 + 1, b' ');
    let r = srv
        .call(Method::POST, &import(&ops["id"]), Auth::Admin, Some(huge))
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(r.text.contains("payload_too_large"), "{}", r.text);
    let still = srv
        .get("/api/v1/deployments?service=bulk&per_page=1")
        .await
        .expect(200);
    assert_eq!(still[0]["deploy_number"], "11998");

    // DevLake: deployments and issues, upserted.
    let dl = devlake_integration(srv, "none").await;
    let file = [
        json!({"pipeline_id": "p1", "repo_url": "r", "commit_sha": "c1", "start_time": "2023-02-01"}).to_string(),
        json!({"id": "run-2", "startedDate": "2023-02-02", "finishedDate": "2023-02-02",
               "deploymentCommits": [{"repoUrl": "r", "commitSha": "c2"}]}).to_string(),
        json!({"issue_key": "INC-1", "title": "down", "status": "TODO", "type": "INCIDENT",
               "created_date": "2023-02-03"}).to_string(),
    ]
    .join("\n");
    let r = srv
        .call(
            Method::POST,
            &import(&dl["id"]),
            Auth::Admin,
            Some(file.clone().into_bytes()),
        )
        .await
        .expect(200);
    assert_eq!(
        (r["created"].clone(), r["errors"].clone()),
        (json!(3), json!([]))
    );
    let r = srv
        .call(
            Method::POST,
            &import(&dl["id"]),
            Auth::Admin,
            Some(file.into_bytes()),
        )
        .await
        .expect(200);
    assert_eq!(r["updated"], 2);
    assert_eq!(all_deployments(srv, "source=devlake").await.len(), 2);
    assert_eq!(
        srv.get("/api/v1/incidents")
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The ingest scope (or admin); unknown integration 404.
    let ingest = srv.token("pipeline", &["ingest"]).await;
    srv.call(
        Method::POST,
        &import(&dl["id"]),
        Auth::Token(&ingest),
        Some(b"".to_vec()),
    )
    .await
    .expect(200);
    let write = srv.token("writer", &["write"]).await;
    let r = srv
        .call(
            Method::POST,
            &import(&dl["id"]),
            Auth::Token(&write),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(r.status, 403);
    srv.call(
        Method::POST,
        "/api/v1/integrations/999/import",
        Auth::Admin,
        Some(b"{}".to_vec()),
    )
    .await
    .expect(404);
}

async fn opslevel_integration_options(srv: &Server) {
    // The CircleCI orb's constant dedup_id: with dedup_scope dedup_id+deploy_number, each
    // build is its own deploy, and a retried build is still a duplicate.
    let orb = srv
        .post(
            "/api/v1/integrations",
            &json!({"kind": "opslevel", "name": "orb", "dedup_scope": "dedup_id+deploy_number",
                    "strict_deployer": true}),
        )
        .await
        .expect(201);
    assert_eq!(orb["dedup_scope"], "dedup_id+deploy_number");
    assert_eq!(orb["strict_deployer"], true);
    let path = orb["url"]
        .as_str()
        .expect("url")
        .trim_start_matches(EXTERNAL_URL)
        .to_owned();
    let body = |build: u32, deployer: Value| {
        json!({"service": "api", "description": "orb", "deployed_at": "2024-05-01 10:00:00",
               "deploy_number": build.to_string(), "dedup_id": "deploy", "deployer": deployer})
        .to_string()
    };
    let who = json!({"name": "circle-user", "email": ""});
    for (build, expected) in [(41, NOT_FOUND_API), (42, NOT_FOUND_API), (42, DUPLICATE)] {
        let r = post_as(
            srv,
            &path,
            Auth::Anonymous,
            body(build, who.clone()).as_bytes(),
        )
        .await;
        assert_eq!(
            (r.status, r.text.as_str()),
            (202, expected),
            "build {build}"
        );
    }
    // strict_deployer: a deploy without e-mail or name is refused, and writes nothing.
    let r = post_as(
        srv,
        &path,
        Auth::Anonymous,
        body(43, json!({"email": "", "name": " "})).as_bytes(),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": 400, "title": "Deployer Error",
                           "detail": "param is missing or the value is empty: deployer"}]})
    );
    assert_eq!(all_deployments(srv, "source=opslevel").await.len(), 2);
    // Listed with the options; refused where they do not apply.
    let list = srv.get("/api/v1/integrations").await.expect(200);
    assert_eq!(list[0]["dedup_scope"], "dedup_id+deploy_number");
    srv.post(
        "/api/v1/integrations",
        &json!({"kind": "opslevel", "name": "x", "dedup_scope": "everything"}),
    )
    .await
    .expect(400);
    srv.post(
        "/api/v1/integrations",
        &json!({"kind": "devlake", "name": "x", "strict_deployer": true}),
    )
    .await
    .expect(400);
}
