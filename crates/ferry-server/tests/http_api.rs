//! Black-box HTTP tests of `ferry serve`: the real server (`App::build`) on `127.0.0.1:0`,
//! a real git repository, `reqwest` over real HTTP, on SQLite and on PostgreSQL.
//!
//! Each `async fn x(srv: &Server)` below runs twice, as `x_sqlite` and `x_postgres`
//! (`cargo test -p ferry-server --test http_api sqlite` runs one backend). Norms:
//! `shared/spec/PRODUCT.md` and `shared/spec/compat/github.md` (§ numbers below).
//! Every request goes through `Server::call`, which fails the test on any 5xx or a missing
//! `x-request-id`.

#[macro_use]
mod support;

use ferry_server::App;
use reqwest::Method;
use serde_json::{json, Value};
use support::*;

both_backends! {
    oversized_bodies_get_413 => oversized_bodies_get_413_sqlite, oversized_bodies_get_413_postgres;
    malformed_bodies_get_400 => malformed_bodies_get_400_sqlite, malformed_bodies_get_400_postgres;
    authentication_and_scopes => authentication_and_scopes_sqlite, authentication_and_scopes_postgres;
    unknown_things_are_404 => unknown_things_are_404_sqlite, unknown_things_are_404_postgres;
    failed_creates_write_nothing => failed_creates_write_nothing_sqlite, failed_creates_write_nothing_postgres;
    deployment_defaults_and_echoes => deployment_defaults_and_echoes_sqlite, deployment_defaults_and_echoes_postgres;
    refs_resolve => refs_resolve_sqlite, refs_resolve_postgres;
    commits_pushed_after_registration_resolve => commits_pushed_after_registration_resolve_sqlite, commits_pushed_after_registration_resolve_postgres;
    commit_pushed_before_first_use_resolves => commit_pushed_before_first_use_resolves_sqlite, commit_pushed_before_first_use_resolves_postgres;
    moved_branch_resolves_to_its_new_head => moved_branch_resolves_to_its_new_head_sqlite, moved_branch_resolves_to_its_new_head_postgres;
    required_contexts => required_contexts_sqlite, required_contexts_postgres;
    status_lifecycle => status_lifecycle_sqlite, status_lifecycle_postgres;
    status_environment => status_environment_sqlite, status_environment_postgres;
    auto_inactive => auto_inactive_sqlite, auto_inactive_postgres;
    delete_rules => delete_rules_sqlite, delete_rules_postgres;
    pagination_links => pagination_links_sqlite, pagination_links_postgres;
    per_page_caps => per_page_caps_sqlite, per_page_caps_postgres;
    owner_and_repo_are_case_insensitive => owner_and_repo_are_case_insensitive_sqlite, owner_and_repo_are_case_insensitive_postgres;
    environments => environments_sqlite, environments_postgres;
    commit_statuses => commit_statuses_sqlite, commit_statuses_postgres;
    tokens_api => tokens_api_sqlite, tokens_api_postgres;
    repos_api => repos_api_sqlite, repos_api_postgres;
    native_deployments_list => native_deployments_list_sqlite, native_deployments_list_postgres;
    ops_endpoints => ops_endpoints_sqlite, ops_endpoints_postgres;
    nul_characters_never_500 => nul_characters_never_500_sqlite,
        nul_characters_never_500_postgres;
    undecodable_paths_answer_in_family_format => undecodable_paths_answer_in_family_format_sqlite, undecodable_paths_answer_in_family_format_postgres;
    unsupported_methods_answer_in_family_format => unsupported_methods_answer_in_family_format_sqlite, unsupported_methods_answer_in_family_format_postgres;
    extractor_errors_name_the_operation => extractor_errors_name_the_operation_sqlite, extractor_errors_name_the_operation_postgres;
}

const SHOP: &str = "acme/shop";
const DEPLOYMENTS: &str = "/api/v3/repos/acme/shop/deployments";

const DOC_ROOT: &str = "https://docs.github.com/rest";
const DOC_CREATE: &str = "https://docs.github.com/rest/deployments/deployments#create-a-deployment";
const DOC_LIST: &str = "https://docs.github.com/rest/deployments/deployments#list-deployments";
const DOC_GET: &str = "https://docs.github.com/rest/deployments/deployments#get-a-deployment";
const DOC_DELETE: &str = "https://docs.github.com/rest/deployments/deployments#delete-a-deployment";
const DOC_STATUS_CREATE: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";
const DOC_STATUS_GET: &str =
    "https://docs.github.com/rest/deployments/statuses#get-a-deployment-status";
const DOC_ENV_GET: &str =
    "https://docs.github.com/rest/deployments/environments#get-an-environment";
const DOC_ENV_PUT: &str =
    "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment";
const DOC_ENV_DELETE: &str =
    "https://docs.github.com/rest/deployments/environments#delete-an-environment";
const DOC_COMBINED: &str =
    "https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference";
const DOC_COMMIT_STATUS_CREATE: &str =
    "https://docs.github.com/rest/commits/statuses#create-a-commit-status";

const DELETE_ACTIVE: &str =
    "We cannot delete an active deployment unless it is the only deployment in a given environment.";

/// GitHub's error body without `errors` (§2.7).
fn gh_error(message: &str, doc: &str, status: u16) -> Value {
    json!({"message": message, "documentation_url": doc, "status": status.to_string()})
}

/// GitHub's `422 Validation Failed` with one field error (§2.7).
fn validation_failed(resource: &str, field: &str, code: &str, doc: &str) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": field, "code": code}],
        "documentation_url": doc,
        "status": "422",
    })
}

/// Asserts a GitHub-shaped error whose `documentation_url` is any GitHub REST docs link
/// (extractor failures happen before the operation is known).
#[track_caller]
fn assert_gh_error(body: &Value, message: &str, status: u16) {
    let obj = body.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["documentation_url", "message", "status"], "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    let doc = body["documentation_url"]
        .as_str()
        .expect("documentation_url");
    assert!(doc.starts_with(DOC_ROOT), "{body}");
}

/// Asserts ferry's own error body `{"error": {code, message}}` and returns the message.
#[track_caller]
fn assert_api_error(body: &Value, code: &str) -> String {
    let obj = body.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "{body}");
    let err = body["error"].as_object().expect("error object");
    assert_eq!(err.len(), 2, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(!message.is_empty(), "{body}");
    message.to_owned()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` (§3.9).
#[track_caller]
fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp expected, got {v}"));
    let b = s.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    assert!(
        b.len() == 20
            && digits.iter().all(|&i| b[i].is_ascii_digit())
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'Z',
        "not a GitHub timestamp: {s}"
    );
}

// ---------------------------------------------------------------------------------------
// Bad input (PRODUCT.md "Qualities", §2.7)
// ---------------------------------------------------------------------------------------

const BODY_LIMIT: usize = 1024 * 1024;

/// A create-deployment body of exactly `len` bytes.
fn deployment_body_of_len(len: usize) -> Vec<u8> {
    let head = r#"{"ref":"main","required_contexts":[],"payload":""#;
    let tail = r#""}"#;
    let pad = len - head.len() - tail.len();
    format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
}

async fn oversized_bodies_get_413(srv: &Server) {
    srv.repo(SHOP).await;

    let over = srv
        .post_raw(DEPLOYMENTS, &deployment_body_of_len(BODY_LIMIT + 1))
        .await;
    let body = over.expect(413);
    assert_eq!(body["status"], "413", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["documentation_url"]
        .as_str()
        .is_some_and(|d| d.starts_with(DOC_ROOT)));
    assert!(body.get("error").is_none());
    assert_eq!(srv.ids(DEPLOYMENTS).await, Vec::<i64>::new());

    // The limit itself is allowed.
    let at = srv
        .post_raw(DEPLOYMENTS, &deployment_body_of_len(BODY_LIMIT))
        .await
        .expect(201);
    assert_eq!(srv.ids(DEPLOYMENTS).await, vec![id(&at)]);

    // Other /api/v3 writes too, and nothing is written.
    let big_env = format!(r#"{{"wait_timer":1,"x":"{}"}}"#, "y".repeat(BODY_LIMIT));
    let put = srv
        .call(
            Method::PUT,
            "/api/v3/repos/acme/shop/environments/big",
            Auth::Admin,
            Some(big_env.into_bytes()),
        )
        .await;
    assert_eq!(put.expect(413)["status"], "413");
    srv.get("/api/v3/repos/acme/shop/environments/big")
        .await
        .expect(404);

    // /api/v1 answers in its own format.
    let big_repo = format!(
        r#"{{"full_name":"acme/big","git_url":"{}"}}"#,
        "z".repeat(BODY_LIMIT)
    );
    let v1 = srv.post_raw("/api/v1/repos", big_repo.as_bytes()).await;
    assert_api_error(&v1.expect(413), "payload_too_large");
    srv.get("/api/v1/repos/acme/big").await.expect(404);
}

async fn malformed_bodies_get_400(srv: &Server) {
    srv.repo(SHOP).await;
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "environment": "qa"}))
        .await;
    let statuses = format!("{DEPLOYMENTS}/{}/statuses", id(&d));
    let sha = srv
        .get(&format!("{DEPLOYMENTS}/{}", id(&d)))
        .await
        .expect(200)["sha"]
        .as_str()
        .expect("sha")
        .to_owned();
    let commit_statuses = format!("/api/v3/repos/acme/shop/statuses/{sha}");
    let env = "/api/v3/repos/acme/shop/environments/qa";

    for (method, path) in [
        (Method::POST, DEPLOYMENTS),
        (Method::POST, statuses.as_str()),
        (Method::POST, commit_statuses.as_str()),
        (Method::PUT, env),
    ] {
        for bad in [
            &b"{\"ref\":"[..],
            b"{'ref': 'main'}",
            b"{\"ref\":\"main\"}}",
            b"nul",
        ] {
            let r = srv
                .call(method.clone(), path, Auth::Admin, Some(bad.to_vec()))
                .await;
            assert_gh_error(&r.expect(400), "Problems parsing JSON", 400);
        }
        for not_object in [&b"[1,2]"[..], b"\"main\"", b"42", b"true"] {
            let r = srv
                .call(method.clone(), path, Auth::Admin, Some(not_object.to_vec()))
                .await;
            assert_gh_error(&r.expect(400), "Body should be a JSON object", 400);
        }
    }

    // An empty body or `null` is an empty object: the missing field is named.
    for empty in [&b""[..], b"null", b"  "] {
        let r = srv.post_raw(DEPLOYMENTS, empty).await;
        assert_eq!(
            r.expect(422),
            validation_failed("Deployment", "ref", "missing_field", DOC_CREATE)
        );
    }

    // Nothing was written by any of them.
    assert_eq!(srv.ids(DEPLOYMENTS).await, vec![id(&d)]);
    assert_eq!(srv.states(SHOP, &d).await, Vec::<String>::new());
    let combined = srv
        .get(&format!("/api/v3/repos/acme/shop/commits/{sha}/status"))
        .await
        .expect(200);
    assert_eq!(combined["total_count"], 0);

    // /api/v1: its own format.
    for bad in [&b"{\"name\":"[..], b"[]", b"\"x\"", b""] {
        let r = srv.post_raw("/api/v1/tokens", bad).await;
        assert_api_error(&r.expect(400), "invalid_json");
    }
    let r = srv.post_raw("/api/v1/repos", b"{\"full_name\": 5}").await;
    assert_api_error(&r.expect(400), "invalid_json");
}

async fn authentication_and_scopes(srv: &Server) {
    srv.repo(SHOP).await;
    let read = srv.token("reader", &["read"]).await;
    let write = srv.token("writer", &["write"]).await;
    let ingest = srv.token("pipeline", &["ingest"]).await;

    // No token, a wrong one, a malformed header (§2.7).
    let r = srv
        .call(Method::GET, DEPLOYMENTS, Auth::Anonymous, None)
        .await;
    assert_gh_error(&r.expect(401), "Requires authentication", 401);
    let body = br#"{"ref":"main"}"#.to_vec();
    let r = srv
        .call(
            Method::POST,
            DEPLOYMENTS,
            Auth::Anonymous,
            Some(body.clone()),
        )
        .await;
    assert_gh_error(&r.expect(401), "Requires authentication", 401);
    for header in [
        "token ferry_not_a_real_token",
        "Bearer ferry_not_a_real_token",
        "Basic YWRtaW46YWRtaW4=",
        "token",
        "nonsense",
    ] {
        let r = srv
            .call(Method::GET, DEPLOYMENTS, Auth::Header(header), None)
            .await;
        assert_gh_error(&r.expect(401), "Bad credentials", 401);
    }
    let r = srv
        .call(
            Method::POST,
            DEPLOYMENTS,
            Auth::Token("ferry_wrong"),
            Some(body.clone()),
        )
        .await;
    assert_gh_error(&r.expect(401), "Bad credentials", 401);

    // Both schemes, case-insensitively (§3.9).
    for header in [
        format!("token {ADMIN_TOKEN}"),
        format!("Bearer {ADMIN_TOKEN}"),
        format!("BEARER {ADMIN_TOKEN}"),
        format!("Token {ADMIN_TOKEN}"),
    ] {
        srv.call(Method::GET, DEPLOYMENTS, Auth::Header(&header), None)
            .await
            .expect(200);
    }

    // /api/v1 in its own format.
    let r = srv
        .call(Method::GET, "/api/v1/deployments", Auth::Anonymous, None)
        .await;
    assert_api_error(&r.expect(401), "unauthenticated");
    let r = srv
        .call(
            Method::GET,
            "/api/v1/deployments",
            Auth::Token("ferry_wrong"),
            None,
        )
        .await;
    assert_api_error(&r.expect(401), "unauthenticated");

    // read: reads, never writes.
    srv.call(Method::GET, DEPLOYMENTS, Auth::Token(&read), None)
        .await
        .expect(200);
    let r = srv
        .call(
            Method::POST,
            DEPLOYMENTS,
            Auth::Token(&read),
            Some(body.clone()),
        )
        .await;
    let forbidden = r.expect(403);
    assert_eq!(forbidden["status"], "403");
    assert_eq!(forbidden["documentation_url"], DOC_CREATE);
    assert!(forbidden["message"].as_str().is_some_and(|m| !m.is_empty()));
    let r = srv
        .call(
            Method::PUT,
            "/api/v3/repos/acme/shop/environments/qa",
            Auth::Token(&read),
            Some(b"{}".to_vec()),
        )
        .await;
    r.expect(403);
    let r = srv
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Token(&read),
            Some(br#"{"name":"x","scopes":["admin"]}"#.to_vec()),
        )
        .await;
    assert_api_error(&r.expect(403), "forbidden");
    srv.call(Method::GET, "/api/v1/deployments", Auth::Token(&read), None)
        .await
        .expect(200);

    // ingest: neither reads nor creates deployments.
    let r = srv
        .call(Method::GET, DEPLOYMENTS, Auth::Token(&ingest), None)
        .await;
    assert_eq!(r.expect(403)["status"], "403");
    let r = srv
        .call(
            Method::POST,
            DEPLOYMENTS,
            Auth::Token(&ingest),
            Some(body.clone()),
        )
        .await;
    r.expect(403);
    let r = srv
        .call(
            Method::GET,
            "/api/v1/deployments",
            Auth::Token(&ingest),
            None,
        )
        .await;
    assert_api_error(&r.expect(403), "forbidden");
    let r = srv
        .call(Method::GET, "/api/v1/repos", Auth::Token(&ingest), None)
        .await;
    assert_api_error(&r.expect(403), "forbidden");

    // Nothing was created by the refused requests.
    assert_eq!(srv.ids(DEPLOYMENTS).await, Vec::<i64>::new());
    srv.get("/api/v3/repos/acme/shop/environments/qa")
        .await
        .expect(404);

    // write: creates deployments, but is no admin.
    let r = srv
        .call(Method::POST, DEPLOYMENTS, Auth::Token(&write), Some(body))
        .await;
    let created = r.expect(201);
    assert_eq!(srv.ids(DEPLOYMENTS).await, vec![id(&created)]);
    let r = srv
        .call(Method::GET, "/api/v1/tokens", Auth::Token(&write), None)
        .await;
    assert_api_error(&r.expect(403), "forbidden");
    let r = srv
        .call(
            Method::POST,
            "/api/v1/repos",
            Auth::Token(&write),
            Some(br#"{"full_name":"acme/other"}"#.to_vec()),
        )
        .await;
    assert_api_error(&r.expect(403), "forbidden");
}

async fn unknown_things_are_404(srv: &Server) {
    srv.repo(SHOP).await;
    let _other = srv.repo("acme/other").await;
    let d = srv.deploy(SHOP, json!({"ref": "main"})).await;
    let s = srv.status(SHOP, &d, json!({"state": "success"})).await;

    let nf = |doc: &str| gh_error("Not Found", doc, 404);
    let unknown = "/api/v3/repos/acme/nope";
    assert_eq!(
        srv.get(&format!("{unknown}/deployments")).await.expect(404),
        nf(DOC_LIST)
    );
    assert_eq!(
        srv.post(&format!("{unknown}/deployments"), &json!({"ref": "main"}))
            .await
            .expect(404),
        nf(DOC_CREATE)
    );
    assert_eq!(
        srv.get("/api/v3/repos/nobody/shop/deployments/1")
            .await
            .expect(404),
        nf(DOC_GET)
    );
    srv.get(unknown).await.expect(404);
    srv.get(&format!("{unknown}/environments"))
        .await
        .expect(404);
    srv.get(&format!("{unknown}/commits/main/status"))
        .await
        .expect(404);
    srv.post(
        &format!("{unknown}/statuses/{}", "a".repeat(40)),
        &json!({"state": "success"}),
    )
    .await
    .expect(404);
    // Not even a valid name.
    srv.get("/api/v3/repos/acme/no%20pe/deployments")
        .await
        .expect(404);

    // Unknown deployments and statuses, including another repository's.
    let did = id(&d);
    for path in [
        format!("{DEPLOYMENTS}/999999"),
        format!("{DEPLOYMENTS}/abc"),
        format!("{DEPLOYMENTS}/-1"),
        format!("/api/v3/repos/acme/other/deployments/{did}"),
    ] {
        assert_eq!(srv.get(&path).await.expect(404), nf(DOC_GET), "{path}");
    }
    assert_eq!(
        srv.delete(&format!("/api/v3/repos/acme/other/deployments/{did}"))
            .await
            .expect(404),
        nf(DOC_DELETE)
    );
    srv.get(&format!(
        "/api/v3/repos/acme/other/deployments/{did}/statuses"
    ))
    .await
    .expect(404);
    assert_eq!(
        srv.post(
            &format!("{DEPLOYMENTS}/999999/statuses"),
            &json!({"state": "success"})
        )
        .await
        .expect(404),
        nf(DOC_STATUS_CREATE)
    );
    for path in [
        format!("{DEPLOYMENTS}/{did}/statuses/999999"),
        format!("{DEPLOYMENTS}/{did}/statuses/x"),
        format!(
            "/api/v3/repos/acme/other/deployments/{did}/statuses/{}",
            id(&s)
        ),
    ] {
        assert_eq!(
            srv.get(&path).await.expect(404),
            nf(DOC_STATUS_GET),
            "{path}"
        );
    }
    // The deployment still exists where it belongs.
    srv.get(&format!("{DEPLOYMENTS}/{did}")).await.expect(200);

    // Operations ferry does not serve (§1) and unknown routes.
    for path in [
        "/api/v3/repos/acme/shop/environments/production/deployment-branch-policies",
        "/api/v3/repos/acme/shop/actions/runs",
        "/api/v3/nothing",
    ] {
        assert_gh_error(&srv.get(path).await.expect(404), "Not Found", 404);
    }
    assert_api_error(&srv.get("/api/v1/nothing").await.expect(404), "not_found");
}

async fn failed_creates_write_nothing(srv: &Server) {
    let git = srv.repo(SHOP).await;
    srv.post(
        &format!("/api/v3/repos/acme/shop/statuses/{}", git.main),
        &json!({"state": "failure", "context": "ci/build"}),
    )
    .await
    .expect(201);
    let envs_before = srv
        .get("/api/v3/repos/acme/shop/environments")
        .await
        .expect(200);

    // Unknown ref → 422 (§3.1, D1).
    let r = srv
        .post(
            DEPLOYMENTS,
            &json!({"ref": "no-such-branch", "environment": "ghost"}),
        )
        .await;
    assert_eq!(
        r.expect(422),
        gh_error("No ref found for: no-such-branch", DOC_CREATE, 422)
    );

    // Failing required contexts → 409 (§3.7).
    let r = srv
        .post(DEPLOYMENTS, &json!({"ref": "main", "environment": "ghost"}))
        .await;
    assert_eq!(r.expect(409)["status"], "409");

    // Bad fields → 422 naming the field.
    let cases = [
        (json!({"ref": ""}), "ref", "invalid"),
        (json!({"ref": 5}), "ref", "invalid"),
        (json!({"ref": ["main"]}), "ref", "invalid"),
        (json!({"environment": "ghost"}), "ref", "missing_field"),
        (
            json!({"ref": "main", "environment": "ghost", "task": 5}),
            "task",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": ""}),
            "environment",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": 7}),
            "environment",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "payload": 5}),
            "payload",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "payload": [1]}),
            "payload",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "payload": true}),
            "payload",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "required_contexts": "ci"}),
            "required_contexts",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "required_contexts": [1]}),
            "required_contexts",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "auto_merge": "yes"}),
            "auto_merge",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "transient_environment": 1}),
            "transient_environment",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "production_environment": "no"}),
            "production_environment",
            "invalid",
        ),
        (
            json!({"ref": "main", "environment": "ghost", "description": 3}),
            "description",
            "invalid",
        ),
    ];
    for (body, field, code) in cases {
        let r = srv.post(DEPLOYMENTS, &body).await;
        assert_eq!(
            r.expect(422),
            validation_failed("Deployment", field, code, DOC_CREATE),
            "{body}"
        );
    }

    // Nothing was written: no deployment, no status, no environment.
    assert_eq!(srv.ids(DEPLOYMENTS).await, Vec::<i64>::new());
    assert_eq!(srv.ids("/api/v1/deployments").await, Vec::<i64>::new());
    assert_eq!(
        srv.get("/api/v3/repos/acme/shop/environments")
            .await
            .expect(200),
        envs_before
    );
    srv.get("/api/v3/repos/acme/shop/environments/ghost")
        .await
        .expect(404);

    // Failed status creations write nothing either.
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "main", "environment": "qa", "required_contexts": []}),
        )
        .await;
    let statuses = format!("{DEPLOYMENTS}/{}/statuses", id(&d));
    for body in [
        json!({"state": "done", "environment": "ghost"}),
        json!({"environment": "ghost"}),
        json!({"state": "success", "environment": "ghost", "description": "d".repeat(141)}),
        json!({"state": "success", "environment": "ghost", "auto_inactive": 3}),
        json!({"state": "success", "environment": 3}),
    ] {
        srv.post(&statuses, &body).await.expect(422);
    }
    assert_eq!(srv.states(SHOP, &d).await, Vec::<String>::new());
    let now = srv
        .get(&format!("{DEPLOYMENTS}/{}", id(&d)))
        .await
        .expect(200);
    assert_eq!(now["environment"], "qa");
    srv.get("/api/v3/repos/acme/shop/environments/ghost")
        .await
        .expect(404);
    assert_eq!(srv.ids(DEPLOYMENTS).await, vec![id(&d)]);
}

// ---------------------------------------------------------------------------------------
// Deployments (§2.1, §2.2, §3.1, §3.2, §3.6)
// ---------------------------------------------------------------------------------------

async fn deployment_defaults_and_echoes(srv: &Server) {
    let git = srv.repo(SHOP).await;

    let d = srv.deploy(SHOP, json!({"ref": "main"})).await;
    let did = id(&d);
    let url = format!("{API}/repos/acme/shop/deployments/{did}");
    assert_eq!(d["url"], url);
    assert_eq!(d["node_id"].as_str().map(str::is_empty), Some(false));
    assert_eq!(d["sha"], git.main);
    assert_eq!(d["ref"], "main");
    assert_eq!(d["task"], "deploy");
    assert_eq!(d["environment"], "production");
    assert_eq!(d["original_environment"], "production");
    assert_eq!(d["production_environment"], true);
    assert_eq!(d["transient_environment"], false);
    assert_eq!(d["description"], "");
    assert_eq!(d["payload"], json!({}));
    assert_eq!(d["performed_via_github_app"], Value::Null);
    assert_eq!(d["statuses_url"], format!("{url}/statuses"));
    assert_eq!(d["repository_url"], format!("{API}/repos/acme/shop"));
    assert_timestamp(&d["created_at"]);
    assert_timestamp(&d["updated_at"]);
    let creator = &d["creator"];
    assert_eq!(creator.as_object().map(|o| o.len()), Some(18), "{creator}");
    for field in [
        "avatar_url",
        "url",
        "html_url",
        "followers_url",
        "repos_url",
    ] {
        assert!(
            creator[field]
                .as_str()
                .is_some_and(|u| u.starts_with("http")),
            "{field}: {creator}"
        );
    }
    assert!(creator["url"]
        .as_str()
        .is_some_and(|u| u.starts_with(&format!("{API}/users/"))));
    // GET answers the same object.
    assert_eq!(
        srv.get(&format!("{DEPLOYMENTS}/{did}")).await.expect(200),
        d
    );

    // Explicit values, and an explicit null description echoed (§3.2).
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "main", "environment": "staging", "task": "deploy:migrate",
                   "description": null, "transient_environment": true}),
        )
        .await;
    assert_eq!(d["environment"], "staging");
    assert_eq!(d["production_environment"], false);
    assert_eq!(d["transient_environment"], true);
    assert_eq!(d["task"], "deploy:migrate");
    assert_eq!(d["description"], Value::Null);
    assert!(d.as_object().is_some_and(|o| o.contains_key("description")));
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "main", "environment": "production", "production_environment": false,
                   "description": "ship it"}),
        )
        .await;
    assert_eq!(d["production_environment"], false);
    assert_eq!(d["description"], "ship it");
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "environment": "Production"}))
        .await;
    assert_eq!(d["production_environment"], false);
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "main", "environment": "qa", "production_environment": true}),
        )
        .await;
    assert_eq!(d["production_environment"], true);

    // Payload: objects and strings echoed byte for byte, null → {} (§3.2).
    let raw = br#"{"ref":"main","payload":{"b":1, "a":[1.50]},"environment":"qa"}"#;
    let r = srv.post_raw(DEPLOYMENTS, raw).await;
    let created = r.expect(201);
    let echoed = r#""payload":{"b":1, "a":[1.50]}"#;
    assert!(r.text.contains(echoed), "{}", r.text);
    let pid = id(&created);
    let got = srv.get(&format!("{DEPLOYMENTS}/{pid}")).await;
    assert!(got.text.contains(echoed), "{}", got.text);
    let listed = srv.get(&format!("{DEPLOYMENTS}?environment=qa")).await;
    assert!(listed.text.contains(echoed), "{}", listed.text);

    let raw = br#"{"ref":"main","payload":"{\"x\": 1}"}"#;
    let r = srv.post_raw(DEPLOYMENTS, raw).await;
    assert_eq!(r.expect(201)["payload"], "{\"x\": 1}");
    assert!(r.text.contains(r#""payload":"{\"x\": 1}""#), "{}", r.text);
    let r = srv
        .post_raw(
            DEPLOYMENTS,
            br#"{"ref":"main","payload":"  spaced\u00e9 "}"#,
        )
        .await;
    r.expect(201);
    assert!(
        r.text.contains(r#""payload":"  spaced\u00e9 ""#),
        "{}",
        r.text
    );
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "payload": null}))
        .await;
    assert_eq!(d["payload"], json!({}));
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "payload": {}}))
        .await;
    assert_eq!(d["payload"], json!({}));

    // auto_merge is ignored: always 201, never 202 (§3.6, option A).
    for auto_merge in [json!(true), json!(false), json!("false"), Value::Null] {
        let r = srv
            .post(
                DEPLOYMENTS,
                &json!({"ref": "feature/x", "auto_merge": auto_merge}),
            )
            .await;
        assert_eq!(r.expect(201)["sha"], git.feature);
    }

    // Unknown fields are ignored; chrnorm's `sha` never overrides `ref` (§3.1).
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "main", "sha": git.first, "bogus": {"x": 1}, "required_contexts": []}),
        )
        .await;
    assert_eq!(d["sha"], git.main);

    // The exact body chrnorm/deployment-action sends (§4).
    let d = srv
        .deploy(
            SHOP,
            json!({"ref": "refs/heads/main", "sha": git.main, "task": "deploy",
                   "required_contexts": [], "environment": "production",
                   "transient_environment": false, "auto_merge": false, "description": ""}),
        )
        .await;
    assert_eq!(d["ref"], "refs/heads/main");
    assert_eq!(d["description"], "");

    // Responses are JSON with GitHub's content type (§3.9).
    let r = srv.get(DEPLOYMENTS).await;
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
}

async fn refs_resolve(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let short = &git.first[..7];
    let cases = [
        ("main", &git.main),
        ("refs/heads/main", &git.main),
        ("v1", &git.first),
        ("refs/tags/v1", &git.first),
        (short, &git.first),
        (git.first.as_str(), &git.first),
        ("feature/x", &git.feature),
        ("refs/heads/feature/x", &git.feature),
    ];
    let mut created = Vec::new();
    for (r, sha) in cases {
        let d = srv.deploy(SHOP, json!({"ref": r})).await;
        assert_eq!(d["ref"], r, "the ref is stored as given");
        assert_eq!(&d["sha"], sha.as_str(), "{r}");
        created.push((r, id(&d)));
    }
    // An upper-case full sha resolves, to the lower-case commit id.
    let upper = git.main.to_ascii_uppercase();
    let d = srv.deploy(SHOP, json!({"ref": upper})).await;
    assert_eq!(d["sha"], git.main);
    assert_eq!(d["ref"], upper);

    // Unresolvable: unknown names, too short or unknown shas (D9).
    let unknown_sha = "0123456789abcdef0123456789abcdef01234567";
    for r in [
        "nope",
        &git.first[..6],
        unknown_sha,
        "refs/heads/nope",
        "v2",
    ] {
        let res = srv.post(DEPLOYMENTS, &json!({"ref": r})).await;
        assert_eq!(
            res.expect(422),
            gh_error(&format!("No ref found for: {r}"), DOC_CREATE, 422)
        );
    }

    // List filters are exact (§2.2): `ref` as stored, `sha` the resolved commit.
    let with_ref = |r: &str| {
        created
            .iter()
            .rev()
            .filter(|(x, _)| *x == r)
            .map(|(_, i)| *i)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?ref=v1")).await,
        with_ref("v1")
    );
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?ref=refs%2Fheads%2Fmain"))
            .await,
        with_ref("refs/heads/main")
    );
    let first_ids: Vec<i64> = created
        .iter()
        .rev()
        .filter(|(r, _)| ["v1", "refs/tags/v1", short, git.first.as_str()].contains(r))
        .map(|(_, i)| *i)
        .collect();
    assert_eq!(first_ids.len(), 4);
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?sha={}", git.first)).await,
        first_ids
    );
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?sha={short}")).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?task=deploy&ref=feature%2Fx"))
            .await,
        with_ref("feature/x")
    );
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?task=other")).await,
        Vec::<i64>::new()
    );
}

/// A commit pushed after the repository was registered resolves: a miss refreshes the mirror.
async fn commits_pushed_after_registration_resolve(srv: &Server) {
    let git = srv.repo(SHOP).await;
    // Use the mirror once, then give the refresh interval time to pass.
    srv.deploy(SHOP, json!({"ref": "main"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let pushed = git.commit("pushed later");
    let d = srv.deploy(SHOP, json!({"ref": pushed})).await;
    assert_eq!(d["sha"], pushed);
    let d = srv.deploy(SHOP, json!({"ref": &pushed[..8]})).await;
    assert_eq!(d["sha"], pushed);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    git.git(&["branch", "hotfix/1"]);
    git.git(&["tag", "v2"]);
    let d = srv.deploy(SHOP, json!({"ref": "hotfix/1"})).await;
    assert_eq!(d["sha"], pushed);
    let d = srv.deploy(SHOP, json!({"ref": "v2"})).await;
    assert_eq!(d["sha"], pushed);

    // Commit statuses and combined statuses see new commits too.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let newer = git.commit("pushed even later");
    srv.post(
        &format!("/api/v3/repos/acme/shop/statuses/{newer}"),
        &json!({"state": "success"}),
    )
    .await
    .expect(201);
    let combined = srv
        .get(&format!("/api/v3/repos/acme/shop/commits/{newer}/status"))
        .await
        .expect(200);
    assert_eq!(combined["sha"], newer);
}

/// The first request after registration may come right after a push: the mirror was cloned
/// at registration, so a miss must fetch even though the mirror was only just opened.
async fn commit_pushed_before_first_use_resolves(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let pushed = git.commit("pushed right after registration");
    let r = srv.post(DEPLOYMENTS, &json!({"ref": pushed})).await;
    assert_eq!(r.expect(201)["sha"], pushed);
}

/// `main` names the branch's current head, as on GitHub, not the head the mirror saw last.
async fn moved_branch_resolves_to_its_new_head(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let d = srv.deploy(SHOP, json!({"ref": "main"})).await;
    assert_eq!(d["sha"], git.main);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let head = git.commit("merged");
    let d = srv.deploy(SHOP, json!({"ref": "main"})).await;
    assert_eq!(
        d["sha"], head,
        "deploying main after a push must deploy the new head"
    );
    let c = srv
        .get("/api/v3/repos/acme/shop/commits/main/status")
        .await
        .expect(200);
    assert_eq!(c["sha"], head);
}

async fn required_contexts(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let post_status = |state: &'static str, context: &'static str| {
        let path = format!("/api/v3/repos/acme/shop/statuses/{}", git.main);
        async move {
            srv.post(&path, &json!({"state": state, "context": context}))
                .await
                .expect(201);
        }
    };
    post_status("failure", "ci/build").await;
    post_status("success", "lint").await;

    // Omitted: every reported context must be success; 409 in GitHub's shape (§2.7).
    let r = srv
        .post(DEPLOYMENTS, &json!({"ref": "refs/heads/main"}))
        .await;
    let mut body = r.expect(409);
    sort_contexts(&mut body);
    assert_eq!(
        body,
        json!({
            "message": "Conflict: Commit status checks failed for refs/heads/main.",
            "errors": [{
                "contexts": [
                    {"context": "ci/build", "state": "failure"},
                    {"context": "lint", "state": "success"},
                ],
                "resource": "Deployment",
                "field": "required_contexts",
                "code": "invalid",
            }],
            "documentation_url": DOC_CREATE,
            "status": "409",
        })
    );
    let r = srv.post(DEPLOYMENTS, &json!({"ref": "main"})).await;
    assert_eq!(
        r.expect(409)["message"],
        "Conflict: Commit status checks failed for main."
    );

    // A list checks only those (case-insensitively); a never-reported one is pending (D6).
    srv.deploy(SHOP, json!({"ref": "main", "required_contexts": ["lint"]}))
        .await;
    srv.deploy(SHOP, json!({"ref": "main", "required_contexts": ["LINT"]}))
        .await;
    let r = srv
        .post(
            DEPLOYMENTS,
            &json!({"ref": "main", "required_contexts": ["lint", "deploy/check"]}),
        )
        .await;
    let mut body = r.expect(409);
    sort_contexts(&mut body);
    assert_eq!(
        body["errors"][0]["contexts"],
        json!([
            {"context": "deploy/check", "state": "pending"},
            {"context": "lint", "state": "success"},
        ])
    );
    assert_eq!(body["errors"][0]["field"], "required_contexts");
    assert_eq!(body["status"], "409");
    let r = srv
        .post(
            DEPLOYMENTS,
            &json!({"ref": "main", "required_contexts": ["ci/build"]}),
        )
        .await;
    assert_eq!(
        r.expect(409)["errors"][0]["contexts"],
        json!([{"context": "ci/build", "state": "failure"}])
    );

    // `[]` bypasses the check.
    srv.deploy(SHOP, json!({"ref": "main", "required_contexts": []}))
        .await;

    // Another commit has no contexts: passes.
    srv.deploy(SHOP, json!({"ref": "feature/x"})).await;

    // The latest status per context counts; pending fails.
    post_status("success", "ci/build").await;
    srv.deploy(SHOP, json!({"ref": "main"})).await;
    post_status("pending", "CI/Build").await;
    let r = srv.post(DEPLOYMENTS, &json!({"ref": "main"})).await;
    let mut body = r.expect(409);
    sort_contexts(&mut body);
    let contexts = body["errors"][0]["contexts"].as_array().expect("contexts");
    assert_eq!(contexts.len(), 2, "{body}");
    assert_eq!(contexts[0]["state"], "pending");
    assert_eq!(contexts[1], json!({"context": "lint", "state": "success"}));
    post_status("error", "lint").await;
    post_status("success", "ci/build").await;
    let r = srv.post(DEPLOYMENTS, &json!({"ref": "main"})).await;
    let mut body = r.expect(409);
    sort_contexts(&mut body);
    assert_eq!(
        body["errors"][0]["contexts"],
        json!([
            {"context": "ci/build", "state": "success"},
            {"context": "lint", "state": "error"},
        ])
    );
    assert_eq!(srv.ids(DEPLOYMENTS).await.len(), 5);
}

/// Sorts `errors[0].contexts` by lower-cased name (the order of contexts is not specified).
fn sort_contexts(body: &mut Value) {
    if let Some(list) = body["errors"][0]["contexts"].as_array_mut() {
        list.sort_by_key(|c| c["context"].as_str().unwrap_or("").to_ascii_lowercase());
    }
}

// ---------------------------------------------------------------------------------------
// Deployment statuses (§2.3, §3.3–§3.5)
// ---------------------------------------------------------------------------------------

async fn status_lifecycle(srv: &Server) {
    srv.repo(SHOP).await;
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "environment": "staging"}))
        .await;
    let did = id(&d);
    let statuses = format!("{DEPLOYMENTS}/{did}/statuses");
    let deployment_url = format!("{API}/repos/acme/shop/deployments/{did}");

    // log_url also sets target_url (§3.4).
    let r = srv
        .post(
            &statuses,
            &json!({"state": "in_progress", "log_url": "https://ci.example/log/1"}),
        )
        .await;
    let s1 = r.expect(201);
    let s1_url = format!("{deployment_url}/statuses/{}", id(&s1));
    assert_eq!(r.header("location").as_deref(), Some(s1_url.as_str()));
    assert_eq!(s1["url"], s1_url);
    assert_eq!(s1["state"], "in_progress");
    assert_eq!(s1["log_url"], "https://ci.example/log/1");
    assert_eq!(s1["target_url"], "https://ci.example/log/1");
    assert_eq!(s1["environment_url"], "");
    assert_eq!(s1["description"], "");
    assert_eq!(s1["environment"], "staging");
    assert_eq!(s1["deployment_url"], deployment_url);
    assert_eq!(s1["repository_url"], format!("{API}/repos/acme/shop"));
    assert_eq!(s1["performed_via_github_app"], Value::Null);
    assert_eq!(s1["node_id"].as_str().map(str::is_empty), Some(false));
    assert!(s1["creator"]["login"].is_string());
    assert_timestamp(&s1["created_at"]);
    assert_timestamp(&s1["updated_at"]);

    // Only target_url (PyGithub) → log_url = target_url.
    let s2 = srv
        .status(
            SHOP,
            &d,
            json!({"state": "success", "target_url": "https://ci.example/2",
                   "environment_url": "https://staging.example", "description": "done"}),
        )
        .await;
    assert_eq!(s2["log_url"], "https://ci.example/2");
    assert_eq!(s2["target_url"], "https://ci.example/2");
    assert_eq!(s2["environment_url"], "https://staging.example");
    assert_eq!(s2["description"], "done");
    // Both: log_url wins.
    let s3 = srv
        .status(
            SHOP,
            &d,
            json!({"state": "queued", "target_url": "https://t", "log_url": "https://l"}),
        )
        .await;
    assert_eq!(
        (&s3["target_url"], &s3["log_url"]),
        (&json!("https://l"), &json!("https://l"))
    );
    // Neither: both "".
    let s4 = srv.status(SHOP, &d, json!({"state": "pending"})).await;
    assert_eq!(
        (&s4["target_url"], &s4["log_url"]),
        (&json!(""), &json!(""))
    );

    // Every state of the enum is accepted.
    for state in [
        "error",
        "failure",
        "inactive",
        "queued",
        "pending",
        "in_progress",
    ] {
        let s = srv.status(SHOP, &d, json!({"state": state})).await;
        assert_eq!(s["state"], state);
    }
    let last = srv.status(SHOP, &d, json!({"state": "success"})).await;

    // Invalid input → 422 naming the field.
    assert_eq!(
        srv.post(&statuses, &json!({"state": "done"}))
            .await
            .expect(422),
        validation_failed("DeploymentStatus", "state", "invalid", DOC_STATUS_CREATE)
    );
    assert_eq!(
        srv.post(&statuses, &json!({"description": "x"}))
            .await
            .expect(422),
        validation_failed(
            "DeploymentStatus",
            "state",
            "missing_field",
            DOC_STATUS_CREATE
        )
    );
    assert_eq!(
        srv.post(&statuses, &json!({"state": "SUCCESS"}))
            .await
            .expect(422)["errors"][0]["field"],
        "state"
    );

    // Description: 140 characters at most, counted in characters (D7).
    let ok = "é".repeat(140);
    let s = srv
        .status(SHOP, &d, json!({"state": "in_progress", "description": ok}))
        .await;
    assert_eq!(s["description"], ok);
    let r = srv
        .post(
            &statuses,
            &json!({"state": "in_progress", "description": "x".repeat(141)}),
        )
        .await;
    let body = r.expect(422);
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(body["errors"][0]["field"], "description");
    assert_eq!(body["documentation_url"], DOC_STATUS_CREATE);

    // List: newest first; get: the same object.
    let list = srv.get(&statuses).await.expect(200);
    let listed = ids(&list);
    assert_eq!(listed.len(), 12);
    let mut sorted = listed.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, sorted, "newest first");
    assert_eq!(list[0]["state"], "in_progress");
    assert_eq!(list[1], last);
    assert_eq!(list[listed.len() - 1], s1);
    let got = srv
        .get(&format!("{statuses}/{}", id(&s2)))
        .await
        .expect(200);
    assert_eq!(got, s2);

    // Statuses page like everything else (§3.8).
    let r = srv.get(&format!("{statuses}?per_page=5")).await;
    assert_eq!(ids(&r.expect(200)).len(), 5);
    let base = format!("{API}/repos/acme/shop/deployments/{did}/statuses?per_page=5");
    assert_eq!(
        r.header("link").as_deref(),
        Some(format!("<{base}&page=2>; rel=\"next\", <{base}&page=3>; rel=\"last\"").as_str())
    );

    // /api/v1 shows the latest state.
    let v1 = srv.get("/api/v1/deployments").await.expect(200);
    assert_eq!(v1[0]["id"], did);
    assert_eq!(v1[0]["state"], "in_progress");
}

async fn status_environment(srv: &Server) {
    srv.repo(SHOP).await;
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "environment": "staging"}))
        .await;
    let did = id(&d);

    // No environment: the deployment's (§3.3).
    let s = srv.status(SHOP, &d, json!({"state": "queued"})).await;
    assert_eq!(s["environment"], "staging");

    // Another environment: the deployment moves, original_environment stays (D2).
    let s = srv
        .status(
            SHOP,
            &d,
            json!({"state": "in_progress", "environment": "qa"}),
        )
        .await;
    assert_eq!(s["environment"], "qa");
    let got = srv.get(&format!("{DEPLOYMENTS}/{did}")).await.expect(200);
    assert_eq!(got["environment"], "qa");
    assert_eq!(got["original_environment"], "staging");

    // Later statuses inherit the previous status's environment; "" counts as none.
    let s = srv.status(SHOP, &d, json!({"state": "success"})).await;
    assert_eq!(s["environment"], "qa");
    let s = srv
        .status(SHOP, &d, json!({"state": "success", "environment": ""}))
        .await;
    assert_eq!(s["environment"], "qa");
    let s = srv
        .status(SHOP, &d, json!({"state": "success", "environment": null}))
        .await;
    assert_eq!(s["environment"], "qa");

    // Filters and the other API follow.
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?environment=qa")).await,
        vec![did]
    );
    assert_eq!(
        srv.ids(&format!("{DEPLOYMENTS}?environment=staging")).await,
        Vec::<i64>::new()
    );
    let v1 = srv.get("/api/v1/deployments").await.expect(200);
    assert_eq!(v1[0]["environment"], "qa");
    assert_eq!(v1[0]["original_environment"], "staging");
    assert_eq!(v1[0]["state"], "success");

    // The status environment exists as an environment resource (D4).
    srv.get("/api/v3/repos/acme/shop/environments/qa")
        .await
        .expect(200);

    // Back to staging.
    let s = srv
        .status(
            SHOP,
            &d,
            json!({"state": "success", "environment": "staging"}),
        )
        .await;
    assert_eq!(s["environment"], "staging");
    let got = srv.get(&format!("{DEPLOYMENTS}/{did}")).await.expect(200);
    assert_eq!(got["environment"], "staging");
    assert_eq!(got["original_environment"], "staging");
}

async fn auto_inactive(srv: &Server) {
    srv.repo(SHOP).await;
    let deploy = |environment: &'static str, extra: Value| async move {
        let mut body = json!({"ref": "main", "environment": environment});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        srv.deploy(SHOP, body).await
    };
    let success = |d: Value, extra: Value| async move {
        let mut body = json!({"state": "success"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        srv.status(SHOP, &d, body).await
    };
    let states = |d: Value| async move { srv.states(SHOP, &d).await };
    let none = json!({});

    let a = deploy("qa", none.clone()).await;
    success(a.clone(), none.clone()).await;
    let prod1 = deploy("production", none.clone()).await;
    success(prod1.clone(), none.clone()).await;
    let qa_prod = deploy("qa", json!({"production_environment": true})).await;
    success(qa_prod.clone(), none.clone()).await;
    let transient = deploy("qa", json!({"transient_environment": true})).await;
    success(transient.clone(), none.clone()).await;
    let failed = deploy("qa", none.clone()).await;
    srv.status(SHOP, &failed, json!({"state": "failure"})).await;
    let no_status = deploy("qa", none.clone()).await;
    let other_env = deploy("other", none.clone()).await;
    success(other_env.clone(), none.clone()).await;

    // A new success in qa inactivates the prior, non-transient, non-production successes
    // in qa, and nothing else (§3.5).
    let b = deploy("qa", none.clone()).await;
    let s = success(b.clone(), none.clone()).await;
    assert_eq!(s["state"], "success");
    assert_eq!(states(a.clone()).await, ["inactive", "success"]);
    let inactive = srv
        .get(&format!("{DEPLOYMENTS}/{}/statuses", id(&a)))
        .await
        .expect(200)[0]
        .clone();
    assert_eq!(inactive["environment"], "qa");
    assert_eq!(inactive["description"], "");
    assert_eq!(states(qa_prod.clone()).await, ["success"]);
    assert_eq!(states(transient.clone()).await, ["success"]);
    assert_eq!(states(failed.clone()).await, ["failure"]);
    assert_eq!(states(no_status.clone()).await, Vec::<String>::new());
    assert_eq!(states(other_env.clone()).await, ["success"]);
    assert_eq!(states(prod1.clone()).await, ["success"]);

    // Production deployments are never inactivated (D3).
    let prod2 = deploy("production", none.clone()).await;
    success(prod2.clone(), none.clone()).await;
    assert_eq!(states(prod1.clone()).await, ["success"]);

    // auto_inactive:false keeps the others.
    let c = deploy("qa", none.clone()).await;
    success(c.clone(), json!({"auto_inactive": false})).await;
    assert_eq!(states(b.clone()).await, ["success"]);

    // Non-success states inactivate nothing.
    let e = deploy("qa", none.clone()).await;
    srv.status(SHOP, &e, json!({"state": "in_progress"})).await;
    assert_eq!(states(b.clone()).await, ["success"]);

    // Only deployments created before: a later one keeps its success.
    let later = deploy("qa", none.clone()).await;
    success(later.clone(), none.clone()).await;
    assert_eq!(states(b.clone()).await, ["inactive", "success"]);
    assert_eq!(states(c.clone()).await, ["inactive", "success"]);
    success(e.clone(), none.clone()).await;
    assert_eq!(states(later.clone()).await, ["success"]);

    // The environment that counts is the new status's (D2): a staging deployment reporting
    // success in "other" inactivates "other".
    let mover = deploy("staging", none.clone()).await;
    success(mover.clone(), json!({"environment": "other"})).await;
    assert_eq!(states(other_env.clone()).await, ["inactive", "success"]);

    // Another repository is untouched.
    srv.repo("acme/api").await;
    let elsewhere = srv
        .deploy("acme/api", json!({"ref": "main", "environment": "qa"}))
        .await;
    srv.status("acme/api", &elsewhere, json!({"state": "success"}))
        .await;
    assert_eq!(states(later.clone()).await, ["success"]);

    // /api/v1 shows the inactive state.
    let v1 = srv
        .get("/api/v1/deployments?repo=acme/shop&per_page=100")
        .await
        .expect(200);
    let a_row = v1
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["id"] == a["id"])
        .expect("a listed")
        .clone();
    assert_eq!(a_row["state"], "inactive");
}

async fn delete_rules(srv: &Server) {
    srv.repo(SHOP).await;
    let path = |d: &Value| format!("{DEPLOYMENTS}/{}", id(d));

    // The only deployment can always be deleted, even when active.
    let only = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.status(SHOP, &only, json!({"state": "success"})).await;
    let r = srv.delete(&path(&only)).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    srv.get(&path(&only)).await.expect(404);
    srv.get(&format!("{}/statuses", path(&only)))
        .await
        .expect(404);
    assert_eq!(
        srv.delete(&path(&only)).await.expect(404),
        gh_error("Not Found", DOC_DELETE, 404)
    );

    // Among several, an active one cannot be deleted (§2.2, D10).
    let active = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.status(SHOP, &active, json!({"state": "success"})).await;
    let newer = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.status(SHOP, &newer, json!({"state": "success"})).await;
    assert_eq!(
        srv.delete(&path(&active)).await.expect(422),
        gh_error(DELETE_ACTIVE, DOC_DELETE, 422)
    );
    assert_eq!(
        srv.delete(&path(&newer)).await.expect(422),
        gh_error(DELETE_ACTIVE, DOC_DELETE, 422)
    );
    srv.get(&path(&active)).await.expect(200);
    assert_eq!(srv.states(SHOP, &active).await, ["success"]);

    // Inactive ones can: no status, a non-success latest status, an inactive status.
    let fresh = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.delete(&path(&fresh)).await.expect(204);
    let failed = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.status(SHOP, &failed, json!({"state": "success"})).await;
    srv.status(SHOP, &failed, json!({"state": "failure"})).await;
    srv.delete(&path(&failed)).await.expect(204);
    srv.status(SHOP, &active, json!({"state": "inactive"}))
        .await;
    srv.delete(&path(&active)).await.expect(204);
    srv.get(&format!("{}/statuses", path(&active)))
        .await
        .expect(404);
    assert_eq!(srv.ids(DEPLOYMENTS).await, vec![id(&newer)]);

    // Now `newer` is the only one left: deletable although active.
    srv.delete(&path(&newer)).await.expect(204);
    assert_eq!(srv.ids(DEPLOYMENTS).await, Vec::<i64>::new());
    assert_eq!(srv.ids("/api/v1/deployments").await, Vec::<i64>::new());

    // Another repository's deployments do not count.
    srv.repo("acme/api").await;
    let mine = srv.deploy(SHOP, json!({"ref": "main"})).await;
    srv.status(SHOP, &mine, json!({"state": "success"})).await;
    let theirs = srv.deploy("acme/api", json!({"ref": "main"})).await;
    srv.status("acme/api", &theirs, json!({"state": "success"}))
        .await;
    srv.delete(&path(&mine)).await.expect(204);
}

// ---------------------------------------------------------------------------------------
// Pagination (§3.8)
// ---------------------------------------------------------------------------------------

async fn pagination_links(srv: &Server) {
    srv.repo(SHOP).await;
    let mut qa = Vec::new();
    for i in 0..5 {
        let d = srv
            .deploy(SHOP, json!({"ref": "main", "environment": "qa"}))
            .await;
        qa.push(id(&d));
        if i < 2 {
            srv.deploy(SHOP, json!({"ref": "main", "environment": "prod"}))
                .await;
        }
    }
    qa.reverse(); // newest first

    let base = format!("{API}/repos/acme/shop/deployments?environment=qa&per_page=2");
    let link = |page: u32| format!("<{base}&page={page}>");

    // Page 1 of 3: next, last.
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=2"))
        .await;
    assert_eq!(ids(&r.expect(200)), qa[0..2]);
    assert_eq!(
        r.header("link").expect("Link"),
        format!("{}; rel=\"next\", {}; rel=\"last\"", link(2), link(3))
    );
    // Page 2: all four rels, in GitHub's order.
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=2&page=2"))
        .await;
    assert_eq!(ids(&r.expect(200)), qa[2..4]);
    assert_eq!(
        r.header("link").expect("Link"),
        format!(
            "{}; rel=\"prev\", {}; rel=\"next\", {}; rel=\"last\", {}; rel=\"first\"",
            link(1),
            link(3),
            link(3),
            link(1)
        )
    );
    // Last page: prev, first.
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=2&page=3"))
        .await;
    assert_eq!(ids(&r.expect(200)), qa[4..5]);
    assert_eq!(
        r.header("link").expect("Link"),
        format!("{}; rel=\"prev\", {}; rel=\"first\"", link(2), link(1))
    );
    // Past the end: 200 [], no next.
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=2&page=4"))
        .await;
    assert_eq!(r.expect(200), json!([]));
    assert_eq!(r.text, "[]");
    let l = r.header("link").unwrap_or_default();
    assert!(!l.contains("rel=\"next\""), "{l}");
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=2&page=99"))
        .await;
    assert_eq!(r.expect(200), json!([]));
    assert!(!r
        .header("link")
        .unwrap_or_default()
        .contains("rel=\"next\""));

    // One page: no Link.
    let r = srv
        .get(&format!("{DEPLOYMENTS}?environment=qa&per_page=5"))
        .await;
    assert_eq!(ids(&r.expect(200)), qa);
    assert_eq!(r.header("link"), None);
    let r = srv.get(DEPLOYMENTS).await;
    assert_eq!(ids(&r.expect(200)).len(), 7);
    assert_eq!(r.header("link"), None);

    // Every parameter sent is kept as sent (unknown ones too); only `page` changes.
    let r = srv
        .get(&format!(
            "{DEPLOYMENTS}?per_page=3&task=deploy&foo=a%2Fb&page=2"
        ))
        .await;
    assert_eq!(ids(&r.expect(200)).len(), 3);
    let b = format!("{API}/repos/acme/shop/deployments?per_page=3&task=deploy&foo=a%2Fb");
    assert_eq!(
        r.header("link").expect("Link"),
        format!(
            "<{b}&page=1>; rel=\"prev\", <{b}&page=3>; rel=\"next\", <{b}&page=3>; rel=\"last\", <{b}&page=1>; rel=\"first\""
        )
    );

    // Following `next` from page 1 walks every deployment exactly once, newest first.
    let mut seen = Vec::new();
    let mut next = Some(format!("{API}/repos/acme/shop/deployments?per_page=2"));
    while let Some(url) = next {
        let path = url
            .strip_prefix(EXTERNAL_URL)
            .expect("absolute URL on ferry");
        let r = srv.get(path).await;
        seen.extend(ids(&r.expect(200)));
        next = r.header("link").and_then(|l| {
            l.split(", ")
                .find(|p| p.ends_with("rel=\"next\""))
                .and_then(|p| p.split('>').next())
                .map(|u| u.trim_start_matches('<').to_owned())
        });
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
}

async fn per_page_caps(srv: &Server) {
    let git = srv.repo(SHOP).await;
    // 101 commit statuses on one commit, and 101 deployments.
    let statuses = format!("/api/v3/repos/acme/shop/statuses/{}", git.main);
    for i in 0..101 {
        srv.post(
            &statuses,
            &json!({"state": "success", "context": format!("c{}", i % 3)}),
        )
        .await
        .expect(201);
        srv.deploy(SHOP, json!({"ref": "main", "required_contexts": []}))
            .await;
    }
    let cases = [
        ("", 30, 4),
        ("per_page=500", 100, 2),
        ("per_page=100", 100, 2),
        ("per_page=abc", 30, 4),
        ("per_page=0", 30, 4),
        ("per_page=-5", 30, 4),
        ("per_page=", 30, 4),
        ("per_page=7&page=abc", 7, 15),
    ];
    for (query, len, last) in cases {
        for list in [
            DEPLOYMENTS.to_owned(),
            format!("/api/v3/repos/acme/shop/commits/{}/statuses", git.main),
        ] {
            let r = srv.get(&format!("{list}?{query}")).await;
            assert_eq!(ids(&r.expect(200)).len(), len, "{list}?{query}");
            let link = r.header("link").expect("Link");
            assert!(
                link.ends_with(&format!("page={last}>; rel=\"last\"")),
                "{query}: {link}"
            );
        }
    }
    // The last page of 101 at 100 a page has one item.
    let r = srv.get(&format!("{DEPLOYMENTS}?per_page=500&page=2")).await;
    assert_eq!(ids(&r.expect(200)).len(), 1);

    // Environments page too (§2.4).
    for name in ["a", "b", "c"] {
        srv.put(
            &format!("/api/v3/repos/acme/shop/environments/{name}"),
            &json!({}),
        )
        .await
        .expect(200);
    }
    let envs = srv
        .get("/api/v3/repos/acme/shop/environments?per_page=2&page=2")
        .await
        .expect(200);
    assert_eq!(envs["total_count"], 4, "a, b, c and production: {envs}");
    assert_eq!(envs["environments"].as_array().map(Vec::len), Some(2));
}

// ---------------------------------------------------------------------------------------
// Repositories and environments
// ---------------------------------------------------------------------------------------

async fn owner_and_repo_are_case_insensitive(srv: &Server) {
    let git = GitRepo::new();
    srv.register("Acme/Shop", &git).await;

    let repo = srv.get("/api/v3/repos/acme/shop").await.expect(200);
    assert_eq!(repo["full_name"], "Acme/Shop");
    assert_eq!(repo["url"], format!("{API}/repos/Acme/Shop"));
    assert_eq!(
        repo["deployments_url"],
        format!("{API}/repos/Acme/Shop/deployments")
    );
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["owner"]["login"], "Acme");
    assert!(repo["pushed_at"].is_string());
    assert_eq!(srv.get("/api/v3/repos/ACME/SHOP").await.expect(200), repo);

    let d = srv
        .post(
            "/api/v3/repos/ACME/sHoP/deployments",
            &json!({"ref": "main"}),
        )
        .await
        .expect(201);
    assert_eq!(
        d["url"],
        format!("{API}/repos/Acme/Shop/deployments/{}", id(&d))
    );
    assert_eq!(
        srv.ids("/api/v3/repos/aCmE/ShOp/deployments").await,
        vec![id(&d)]
    );
    srv.get(&format!("/api/v3/repos/acme/SHOP/deployments/{}", id(&d)))
        .await
        .expect(200);
    srv.post(
        &format!("/api/v3/repos/ACME/shop/deployments/{}/statuses", id(&d)),
        &json!({"state": "success"}),
    )
    .await
    .expect(201);
    srv.get("/api/v3/repos/acme/shop/environments/production")
        .await
        .expect(200);
    srv.get("/api/v3/repos/ACME/Shop/commits/main/status")
        .await
        .expect(200);

    let v1 = srv.get("/api/v1/repos/acme/shop").await.expect(200);
    assert_eq!(v1["full_name"], "Acme/Shop");
    assert_eq!(
        srv.ids("/api/v1/deployments?repo=ACME/shop").await,
        vec![id(&d)]
    );
    let dup = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/SHOP", "git_url": git.path()}),
        )
        .await;
    assert_api_error(&dup.expect(409), "already_exists");
}

async fn environments(srv: &Server) {
    srv.repo(SHOP).await;
    let envs = "/api/v3/repos/acme/shop/environments";

    let empty = srv.get(envs).await.expect(200);
    assert_eq!(empty, json!({"total_count": 0, "environments": []}));

    let staging = srv
        .put(&format!("{envs}/staging"), &json!({}))
        .await
        .expect(200);
    assert_eq!(staging["name"], "staging");
    assert_eq!(
        staging["url"],
        format!("{API}/repos/acme/shop/environments/staging")
    );
    assert!(staging["html_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http")));
    assert_eq!(staging["protection_rules"], json!([]));
    assert_eq!(staging["deployment_branch_policy"], Value::Null);
    assert_eq!(staging["node_id"].as_str().map(str::is_empty), Some(false));
    assert!(staging["id"].as_i64().is_some_and(|i| i > 0));
    assert_timestamp(&staging["created_at"]);
    assert_timestamp(&staging["updated_at"]);

    // PUT again updates in place; an empty body is allowed.
    let again = srv
        .call(Method::PUT, &format!("{envs}/staging"), Auth::Admin, None)
        .await
        .expect(200);
    assert_eq!(again["id"], staging["id"]);
    let again = srv
        .put(
            &format!("{envs}/staging"),
            &json!({"wait_timer": 10, "reviewers": null}),
        )
        .await
        .expect(200);
    assert_eq!(again["id"], staging["id"]);

    // A name with a slash travels as %2F.
    let review = srv
        .put(
            &format!("{envs}/review%2Fpr-1"),
            &json!({
                "wait_timer": 43200,
                "prevent_self_review": true,
                "reviewers": [{"type": "User", "id": 1}, {"type": "Team", "id": 2}],
                "deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true},
            }),
        )
        .await
        .expect(200);
    assert_eq!(review["name"], "review/pr-1");
    assert_eq!(
        review["url"],
        format!("{API}/repos/acme/shop/environments/review%2Fpr-1")
    );
    assert_eq!(
        review["deployment_branch_policy"],
        json!({"protected_branches": false, "custom_branch_policies": true})
    );
    let got = srv.get(&format!("{envs}/review%2Fpr-1")).await.expect(200);
    assert_eq!(got, review);

    let list = srv.get(envs).await.expect(200);
    assert_eq!(list["total_count"], 2);
    let mut names: Vec<&str> = list["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["review/pr-1", "staging"]);

    // Bad settings → 422, nothing written.
    let bad_timer = |v: Value| json!({"wait_timer": v});
    for body in [
        bad_timer(json!(43201)),
        bad_timer(json!(-1)),
        bad_timer(json!("30")),
        bad_timer(json!(1.5)),
        json!({"reviewers": vec![json!({"type": "User", "id": 1}); 7]}),
        json!({"reviewers": [{"type": "Robot", "id": 1}]}),
        json!({"reviewers": "me"}),
        json!({"prevent_self_review": "yes"}),
        json!({"deployment_branch_policy": "main"}),
    ] {
        let r = srv.put(&format!("{envs}/broken"), &body).await;
        let b = r.expect(422);
        assert_eq!(b["message"], "Validation Failed", "{body}: {b}");
        assert_eq!(b["status"], "422");
        assert_eq!(b["documentation_url"], DOC_ENV_PUT);
    }
    let r = srv
        .put(&format!("{envs}/broken"), &json!({"wait_timer": 43201}))
        .await;
    assert_eq!(r.expect(422)["errors"][0]["field"], "wait_timer");
    for policy in [
        json!({"protected_branches": true, "custom_branch_policies": true}),
        json!({"protected_branches": false, "custom_branch_policies": false}),
        json!({"protected_branches": true}),
    ] {
        let r = srv
            .put(
                &format!("{envs}/broken"),
                &json!({"deployment_branch_policy": policy}),
            )
            .await;
        let b = r.expect(422);
        assert_eq!(b["status"], "422", "{b}");
        assert_eq!(b["documentation_url"], DOC_ENV_PUT);
        assert!(b.get("errors").is_none(), "basic-error: {b}");
        assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(
        srv.get(&format!("{envs}/broken")).await.expect(404),
        gh_error("Not Found", DOC_ENV_GET, 404)
    );
    // A bad name.
    srv.put(&format!("{envs}/%20%20"), &json!({}))
        .await
        .expect(422);
    // The failed updates did not touch the existing environment.
    assert_eq!(
        srv.get(&format!("{envs}/review%2Fpr-1")).await.expect(200),
        review
    );

    // Paging.
    let page = srv
        .get(&format!("{envs}?per_page=1&page=2"))
        .await
        .expect(200);
    assert_eq!(page["total_count"], 2);
    assert_eq!(page["environments"].as_array().map(Vec::len), Some(1));

    // DELETE → 204, then 404.
    let r = srv.delete(&format!("{envs}/review%2Fpr-1")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    srv.get(&format!("{envs}/review%2Fpr-1")).await.expect(404);
    assert_eq!(
        srv.delete(&format!("{envs}/review%2Fpr-1"))
            .await
            .expect(404),
        gh_error("Not Found", DOC_ENV_DELETE, 404)
    );
    assert_eq!(srv.get(envs).await.expect(200)["total_count"], 1);
}

// ---------------------------------------------------------------------------------------
// Commit statuses (§2.5)
// ---------------------------------------------------------------------------------------

async fn commit_statuses(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let create = format!("/api/v3/repos/acme/shop/statuses/{}", git.main);
    let location = format!("{API}/repos/acme/shop/statuses/{}", git.main);
    let combined = |r: &str| format!("/api/v3/repos/acme/shop/commits/{r}/status");
    let list = |r: &str| format!("/api/v3/repos/acme/shop/commits/{r}/statuses");

    // No statuses: pending, empty.
    let c = srv.get(&combined("main")).await.expect(200);
    assert_eq!(c["state"], "pending");
    assert_eq!(c["total_count"], 0);
    assert_eq!(c["statuses"], json!([]));
    assert_eq!(c["sha"], git.main);
    let commit_url = format!("{API}/repos/acme/shop/commits/{}", git.main);
    assert_eq!(c["commit_url"], commit_url);
    assert_eq!(c["url"], format!("{commit_url}/status"));
    assert_eq!(c["repository"]["full_name"], "acme/shop");

    let r = srv
        .post(
            &create,
            &json!({"state": "pending", "context": "ci/build",
                    "target_url": "https://ci.example/1", "description": "building"}),
        )
        .await;
    let s1 = r.expect(201);
    assert_eq!(r.header("location").as_deref(), Some(location.as_str()));
    assert_eq!(s1["url"], location);
    assert_eq!(s1["state"], "pending");
    assert_eq!(s1["context"], "ci/build");
    assert_eq!(s1["target_url"], "https://ci.example/1");
    assert_eq!(s1["description"], "building");
    assert!(s1["avatar_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http")));
    assert!(s1["creator"]["login"].is_string());
    assert_eq!(s1["node_id"].as_str().map(str::is_empty), Some(false));
    assert_timestamp(&s1["created_at"]);
    assert_timestamp(&s1["updated_at"]);
    assert_eq!(
        srv.get(&combined("main")).await.expect(200)["state"],
        "pending"
    );

    // Defaults: context "default", null description and target_url (never "").
    let s2 = srv
        .post(&create, &json!({"state": "success"}))
        .await
        .expect(201);
    assert_eq!(s2["context"], "default");
    assert_eq!(s2["target_url"], Value::Null);
    assert_eq!(s2["description"], Value::Null);
    let s3 = srv
        .post(
            &create,
            &json!({"state": "success", "context": "ci/build", "target_url": ""}),
        )
        .await
        .expect(201);
    assert_eq!(s3["target_url"], Value::Null);

    // Latest per context: ci/build and default both success → success.
    let c = srv.get(&combined("main")).await.expect(200);
    assert_eq!(c["state"], "success");
    assert_eq!(c["total_count"], 2);
    let statuses = c["statuses"].as_array().expect("statuses");
    assert!(statuses.iter().all(|s| s["state"] == "success"));
    assert!(statuses
        .iter()
        .all(|s| !s["target_url"].as_str().is_some_and(str::is_empty)));
    assert!(statuses.iter().all(|s| s["avatar_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http"))));

    // Contexts are case-insensitive; any error or failure makes the whole failure.
    srv.post(&create, &json!({"state": "failure", "context": "CI/BUILD"}))
        .await
        .expect(201);
    let c = srv.get(&combined("main")).await.expect(200);
    assert_eq!(c["state"], "failure");
    assert_eq!(c["total_count"], 2);
    srv.post(&create, &json!({"state": "success", "context": "ci/build"}))
        .await
        .expect(201);
    srv.post(&create, &json!({"state": "pending", "context": "lint"}))
        .await
        .expect(201);
    assert_eq!(
        srv.get(&combined("main")).await.expect(200)["state"],
        "pending"
    );
    srv.post(&create, &json!({"state": "error", "context": "lint"}))
        .await
        .expect(201);
    let c = srv.get(&combined("main")).await.expect(200);
    assert_eq!(c["state"], "failure");
    assert_eq!(c["total_count"], 3);

    // The list has every status, newest first.
    let all = srv.get(&list("main")).await.expect(200);
    let listed = ids(&all);
    assert_eq!(listed.len(), 7);
    let mut sorted = listed.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, sorted);
    assert_eq!(all[6], s1);

    // Every ref form reaches the same commit (§2.5).
    for r in [
        git.main.as_str(),
        &git.main[..7],
        "main",
        "heads/main",
        "refs/heads/main",
    ] {
        assert_eq!(
            srv.get(&combined(r)).await.expect(200)["sha"],
            git.main,
            "{r}"
        );
        assert_eq!(ids(&srv.get(&list(r)).await.expect(200)), listed, "{r}");
    }
    // Refs with slashes.
    srv.post(
        &format!("/api/v3/repos/acme/shop/statuses/{}", git.feature),
        &json!({"state": "success", "context": "ci/build"}),
    )
    .await
    .expect(201);
    for r in ["heads/feature/x", "feature/x", "refs/heads/feature/x"] {
        let c = srv.get(&combined(r)).await.expect(200);
        assert_eq!(c["sha"], git.feature, "{r}");
        assert_eq!(c["state"], "success");
        assert_eq!(c["total_count"], 1);
        assert_eq!(ids(&srv.get(&list(r)).await.expect(200)).len(), 1);
    }
    for r in ["v1", "tags/v1"] {
        let c = srv.get(&combined(r)).await.expect(200);
        assert_eq!(c["sha"], git.first, "{r}");
        assert_eq!(c["state"], "pending");
    }

    // Unknown refs → 404.
    for r in ["nope", "heads/nope/x", &"f".repeat(40)] {
        assert_eq!(
            srv.get(&combined(r)).await.expect(404),
            gh_error("Not Found", DOC_COMBINED, 404)
        );
        assert_gh_error(&srv.get(&list(r)).await.expect(404), "Not Found", 404);
    }
    srv.get("/api/v3/repos/acme/shop/commits/main")
        .await
        .expect(404);

    // Bad input → 422 naming the field; unknown commits → 422.
    assert_eq!(
        srv.post(&create, &json!({"state": "in_progress"}))
            .await
            .expect(422),
        validation_failed("Status", "state", "invalid", DOC_COMMIT_STATUS_CREATE)
    );
    assert_eq!(
        srv.post(&create, &json!({"context": "x"}))
            .await
            .expect(422),
        validation_failed("Status", "state", "missing_field", DOC_COMMIT_STATUS_CREATE)
    );
    srv.post(&create, &json!({"state": "success", "context": 5}))
        .await
        .expect(422);
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let r = srv
        .post(
            &format!("/api/v3/repos/acme/shop/statuses/{unknown}"),
            &json!({"state": "success"}),
        )
        .await;
    let b = r.expect(422);
    assert_eq!(b["status"], "422");
    assert!(
        b["message"].as_str().is_some_and(|m| m.contains(unknown)),
        "{b}"
    );
    assert_eq!(ids(&srv.get(&list("main")).await.expect(200)), listed);
}

// ---------------------------------------------------------------------------------------
// ferry's own API (/api/v1)
// ---------------------------------------------------------------------------------------

async fn tokens_api(srv: &Server) {
    let r = srv
        .post(
            "/api/v1/tokens",
            &json!({"name": "ci", "scopes": ["write", "read", "write"]}),
        )
        .await;
    let created = r.expect(201);
    let secret = created["token"].as_str().expect("token").to_owned();
    assert!(
        secret.starts_with("ferry_") && secret.len() > 20,
        "{secret}"
    );
    assert_eq!(created["name"], "ci");
    let mut scopes: Vec<&str> = created["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("scope"))
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["read", "write"]);
    assert_timestamp(&created["created_at"]);
    let tid = id(&created);

    // Listed without its secret, which is never shown again.
    let r = srv.get("/api/v1/tokens").await;
    let list = r.expect(200);
    assert!(!r.text.contains(&secret));
    assert!(!r.text.contains(ADMIN_TOKEN));
    let rows = list.as_array().expect("array");
    assert!(rows.iter().all(|t| t.get("token").is_none()), "{list}");
    let row = rows.iter().find(|t| t["id"] == tid).expect("listed");
    assert_eq!(row["name"], "ci");
    assert!(rows.iter().any(|t| t["name"] == "admin"));

    // The token works with its scopes.
    srv.call(
        Method::GET,
        "/api/v1/deployments",
        Auth::Token(&secret),
        None,
    )
    .await
    .expect(200);

    // Validation.
    let r = srv
        .post(
            "/api/v1/tokens",
            &json!({"name": "x", "scopes": ["read", "root"]}),
        )
        .await;
    let msg = assert_api_error(&r.expect(400), "invalid_request");
    assert!(msg.contains("root"), "{msg}");
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": " ", "scopes": ["read"]}),
        json!({"name": "x".repeat(101), "scopes": ["read"]}),
    ] {
        let r = srv.post("/api/v1/tokens", &body).await;
        assert_api_error(&r.expect(400), "invalid_request");
    }
    for body in [
        json!({"scopes": ["read"]}),
        json!({"name": "x"}),
        json!({"name": "x", "scopes": "read"}),
    ] {
        let r = srv.post("/api/v1/tokens", &body).await;
        let msg = assert_api_error(&r.expect(400), "invalid_json");
        assert!(!msg.is_empty());
    }
    let after = srv.get("/api/v1/tokens").await.expect(200);
    assert_eq!(after.as_array().map(Vec::len), Some(rows.len()));

    // Delete: 204, then the token is refused and a second delete is 404.
    let r = srv.delete(&format!("/api/v1/tokens/{tid}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    let r = srv
        .call(
            Method::GET,
            "/api/v1/deployments",
            Auth::Token(&secret),
            None,
        )
        .await;
    assert_api_error(&r.expect(401), "unauthenticated");
    let r = srv
        .call(Method::GET, DEPLOYMENTS, Auth::Token(&secret), None)
        .await;
    assert_gh_error(&r.expect(401), "Bad credentials", 401);
    assert_api_error(
        &srv.delete(&format!("/api/v1/tokens/{tid}"))
            .await
            .expect(404),
        "not_found",
    );
    assert_api_error(
        &srv.delete("/api/v1/tokens/abc").await.expect(404),
        "not_found",
    );
    let list = srv.get("/api/v1/tokens").await.expect(200);
    assert!(list
        .as_array()
        .expect("array")
        .iter()
        .all(|t| t["id"] != tid));
}

async fn repos_api(srv: &Server) {
    let git = GitRepo::new();
    let r = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/shop", "git_url": git.path(), "default_branch": "main"}),
        )
        .await;
    let shop = r.expect(201);
    assert_eq!(shop["full_name"], "acme/shop");
    assert_eq!(shop["owner"], "acme");
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["git_url"], git.path());
    assert_eq!(shop["default_branch"], "main");
    assert_eq!(shop["api_url"], format!("{API}/repos/acme/shop"));
    assert!(shop["id"].as_i64().is_some_and(|i| i > 0));
    assert_timestamp(&shop["created_at"]);
    assert_timestamp(&shop["updated_at"]);

    // default_branch defaults to main; git_url may be omitted (ingest-only).
    let api = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/api", "git_url": git.path()}),
        )
        .await
        .expect(201);
    assert_eq!(api["default_branch"], "main");
    let bare = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/ingested", "default_branch": "trunk"}),
        )
        .await
        .expect(201);
    assert_eq!(bare["git_url"], Value::Null);
    assert_eq!(bare["default_branch"], "trunk");
    // Without a mirror only full shas resolve (D13).
    srv.deploy("acme/ingested", json!({"ref": git.main})).await;
    srv.post(
        "/api/v3/repos/acme/ingested/deployments",
        &json!({"ref": "main"}),
    )
    .await
    .expect(422);

    let list = srv.get("/api/v1/repos").await.expect(200);
    let mut names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["full_name"].as_str().expect("full_name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["acme/api", "acme/ingested", "acme/shop"]);
    assert_eq!(srv.get("/api/v1/repos/acme/shop").await.expect(200), shop);
    assert_api_error(
        &srv.get("/api/v1/repos/acme/nope").await.expect(404),
        "not_found",
    );

    // Duplicates → 409.
    let r = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/shop", "git_url": git.path()}),
        )
        .await;
    assert_api_error(&r.expect(409), "already_exists");
    let r = srv
        .post("/api/v1/repos", &json!({"full_name": "acme/ingested"}))
        .await;
    assert_api_error(&r.expect(409), "already_exists");

    // Bad names → 400.
    for name in [
        "acme",
        "acme/",
        "/shop",
        "a/b/c",
        "a b/c",
        "acme/..",
        "",
        "acme/sh*p",
    ] {
        let r = srv
            .post(
                "/api/v1/repos",
                &json!({"full_name": name, "git_url": git.path()}),
            )
            .await;
        assert_api_error(&r.expect(400), "invalid_request");
    }
    let r = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/x", "git_url": "--upload-pack=evil"}),
        )
        .await;
    assert_api_error(&r.expect(400), "invalid_request");

    // An unreachable git_url → 422, and nothing is created.
    let missing = git.path() + "-missing";
    for url in [missing.as_str(), "http://127.0.0.1:1/acme/web.git"] {
        let r = srv
            .post(
                "/api/v1/repos",
                &json!({"full_name": "acme/web", "git_url": url}),
            )
            .await;
        assert_api_error(&r.expect(422), "git_unreachable");
        srv.get("/api/v1/repos/acme/web").await.expect(404);
        srv.get("/api/v3/repos/acme/web").await.expect(404);
    }
    assert_eq!(srv.get("/api/v1/repos").await.expect(200), list);
    // The name is still free.
    srv.post(
        "/api/v1/repos",
        &json!({"full_name": "acme/web", "git_url": git.path()}),
    )
    .await
    .expect(201);
    srv.deploy("acme/web", json!({"ref": "v1"})).await;
}

async fn native_deployments_list(srv: &Server) {
    let git = srv.repo(SHOP).await;
    srv.register("acme/api", &git).await;
    let p1 = srv.deploy(SHOP, json!({"ref": "main"})).await;
    let s1 = srv
        .deploy(
            SHOP,
            json!({"ref": "v1", "environment": "staging", "description": null}),
        )
        .await;
    let p2 = srv
        .deploy(SHOP, json!({"ref": "main", "task": "deploy:db"}))
        .await;
    let a1 = srv.deploy("acme/api", json!({"ref": "feature/x"})).await;
    srv.status("acme/api", &a1, json!({"state": "success"}))
        .await;
    let all = vec![id(&a1), id(&p2), id(&s1), id(&p1)];

    let r = srv.get("/api/v1/deployments").await;
    let list = r.expect(200);
    assert_eq!(ids(&list), all);
    assert_eq!(r.header("x-total-count").as_deref(), Some("4"));
    assert_eq!(r.header("link"), None);
    assert_eq!(
        list[0],
        json!({
            "id": id(&a1),
            "source": "api",
            "repository": "acme/api",
            "environment": "production",
            "original_environment": "production",
            "ref": "feature/x",
            "sha": git.feature,
            "task": "deploy",
            "description": "",
            "state": "success",
            "creator": a1["creator"]["login"],
            "created_at": a1["created_at"],
            "updated_at": list[0]["updated_at"],
            "url": format!("{API}/repos/acme/api/deployments/{}", id(&a1)),
        })
    );
    assert_timestamp(&list[0]["updated_at"]);
    assert_eq!(list[2]["description"], Value::Null);
    assert_eq!(list[2]["state"], Value::Null);
    assert_eq!(list[2]["sha"], git.first);

    // Filters.
    let q = |query: &str| format!("/api/v1/deployments?{query}");
    assert_eq!(
        srv.ids(&q("environment=production")).await,
        vec![id(&a1), id(&p2), id(&p1)]
    );
    assert_eq!(srv.ids(&q("environment=staging")).await, vec![id(&s1)]);
    assert_eq!(srv.ids(&q("environment=nowhere")).await, Vec::<i64>::new());
    assert_eq!(srv.ids(&q("repo=acme/api")).await, vec![id(&a1)]);
    assert_eq!(srv.ids(&q("repo=acme%2Fshop")).await, all[1..]);
    assert_eq!(
        srv.ids(&q("repo=acme/shop&environment=production")).await,
        vec![id(&p2), id(&p1)]
    );
    assert_eq!(srv.ids(&q("source=api")).await, all);
    let msg = assert_api_error(
        &srv.get(&q("source=carrier-pigeon")).await.expect(400),
        "invalid_request",
    );
    assert!(msg.contains("source"), "{msg}");
    let msg = assert_api_error(
        &srv.get(&q("repo=not-a-slug")).await.expect(400),
        "invalid_request",
    );
    assert!(msg.contains("repo"), "{msg}");

    // from/to: dates (midnight UTC) or RFC 3339 times; `to` is exclusive.
    let created = p1["created_at"].as_str().expect("created_at").to_owned();
    let day = &created[..10];
    assert_eq!(srv.ids(&q(&format!("from={day}"))).await, all);
    assert_eq!(srv.ids(&q(&format!("to={day}"))).await, Vec::<i64>::new());
    assert_eq!(srv.ids(&q(&format!("from={created}"))).await.len(), 4);
    assert_eq!(
        srv.ids(&q("from=2000-01-01&to=2000-01-02")).await,
        Vec::<i64>::new()
    );
    assert_eq!(srv.ids(&q("from=2000-01-01&to=2999-12-31")).await, all);
    assert_eq!(srv.ids(&q("to=2999-12-31T00:00:00Z")).await, all);
    for (query, param) in [
        ("from=yesterday", "from"),
        ("to=2024-13-01", "to"),
        ("from=2024-01-01&to=01/02/2024", "to"),
        ("from=2024-02-30", "from"),
    ] {
        let msg = assert_api_error(&srv.get(&q(query)).await.expect(400), "invalid_request");
        assert!(msg.contains(param), "{query}: {msg}");
    }
    let msg = assert_api_error(
        &srv.get(&q("from=2024-05-02&to=2024-05-01"))
            .await
            .expect(400),
        "invalid_request",
    );
    assert!(msg.contains("from") && msg.contains("to"), "{msg}");

    // Pagination, with absolute links from the external URL.
    let r = srv.get(&q("per_page=3")).await;
    assert_eq!(ids(&r.expect(200)), all[..3]);
    assert_eq!(r.header("x-total-count").as_deref(), Some("4"));
    let base = format!("{EXTERNAL_URL}/api/v1/deployments?per_page=3");
    assert_eq!(
        r.header("link").as_deref(),
        Some(format!("<{base}&page=2>; rel=\"next\", <{base}&page=2>; rel=\"last\"").as_str())
    );
    let r = srv.get(&q("per_page=3&page=2")).await;
    assert_eq!(ids(&r.expect(200)), all[3..]);
    let r = srv.get(&q("per_page=3&page=3")).await;
    assert_eq!(r.expect(200), json!([]));
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

async fn ops_endpoints(srv: &Server) {
    srv.repo(SHOP).await;
    srv.deploy(SHOP, json!({"ref": "main"})).await;

    let r = srv
        .call(Method::GET, "/healthz", Auth::Anonymous, None)
        .await;
    assert_eq!(r.expect(200), json!({"status": "ok"}));
    let r = srv
        .call(Method::GET, "/readyz", Auth::Anonymous, None)
        .await;
    assert_eq!(
        r.expect(200),
        json!({"status": "ready", "database": srv.backend.name()})
    );

    let r = srv
        .call(Method::GET, "/metrics", Auth::Anonymous, None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    let line = r
        .text
        .lines()
        .find(|l| {
            l.starts_with("ferry_http_requests_total{")
                && l.contains("route=\"/api/v3/repos/{owner}/{repo}/deployments\"")
                && l.contains("method=\"POST\"")
                && l.contains("status=\"201\"")
        })
        .unwrap_or_else(|| panic!("no request counter for the route template:\n{}", r.text));
    let count: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(count >= 1.0, "{line}");
    assert!(
        !r.text.contains("route=\"/api/v3/repos/acme/shop"),
        "routes are templates, not paths"
    );
    assert!(r.text.contains("ferry_http_request_duration_seconds"));

    let r = srv
        .call(Method::GET, "/api/openapi.json", Auth::Anonymous, None)
        .await;
    let doc = r.expect(200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{doc}"
    );
    for path in ["/api/v1/tokens", "/api/v1/repos", "/api/v1/deployments"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }

    // x-request-id: generated when absent (Server::call checks every answer has one),
    // echoed when sent.
    let a = srv.get("/healthz").await.header("x-request-id");
    let b = srv.get("/healthz").await.header("x-request-id");
    assert_ne!(a, b, "a fresh id per request");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for path in [
        "/healthz",
        "/api/v3/repos/acme/shop/deployments",
        "/api/v1/nothing",
    ] {
        let res = client
            .get(format!("{}{path}", srv.base))
            .header("x-request-id", "req-4242")
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some("req-4242"),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Odd input: never a 500, always the family's format (PRODUCT.md "Qualities")
// ---------------------------------------------------------------------------------------

/// JSON strings may hold any character, NUL included (which PostgreSQL's `text` cannot
/// store). Whatever the answer, it is not a 500, and what is accepted reads back as sent.
async fn nul_characters_never_500(srv: &Server) {
    let git = srv.repo(SHOP).await;
    let d = srv
        .deploy(SHOP, json!({"ref": "main", "environment": "qa"}))
        .await;
    let statuses = format!("{DEPLOYMENTS}/{}/statuses", id(&d));
    let commit = format!("/api/v3/repos/acme/shop/statuses/{}", git.main);
    let cases = [
        (
            DEPLOYMENTS,
            r#"{"ref":"main","description":"a\u0000b"}"#,
            "description",
        ),
        (
            DEPLOYMENTS,
            r#"{"ref":"main","task":"deploy\u0000"}"#,
            "task",
        ),
        (
            DEPLOYMENTS,
            r#"{"ref":"main","payload":{"k":"\u0000"}}"#,
            "payload",
        ),
        (
            DEPLOYMENTS,
            r#"{"ref":"main","payload":"\u0000"}"#,
            "payload",
        ),
        (
            &statuses,
            r#"{"state":"queued","description":"\u0000"}"#,
            "description",
        ),
        (
            &statuses,
            r#"{"state":"queued","log_url":"https://x/\u0000"}"#,
            "log_url",
        ),
        (
            &statuses,
            r#"{"state":"queued","environment_url":"https://x/\u0000"}"#,
            "environment_url",
        ),
        (
            &commit,
            r#"{"state":"success","context":"ci\u0000"}"#,
            "context",
        ),
        (
            &commit,
            r#"{"state":"success","description":"\u0000"}"#,
            "description",
        ),
        (
            &commit,
            r#"{"state":"success","target_url":"https://x/\u0000"}"#,
            "target_url",
        ),
    ];
    for (path, body, field) in cases {
        let r = srv.post_raw(path, body.as_bytes()).await;
        let answer = r.json();
        match r.status {
            201 => {
                let sent: Value = serde_json::from_str(body).expect("test body");
                assert_eq!(answer[field], sent[field], "{body}");
            }
            422 => assert_eq!(answer["status"], "422", "{body}"),
            other => panic!("{body}: {other} {answer}"),
        }
    }
    for (path, body) in [
        ("/api/v1/tokens", r#"{"name":"ci\u0000","scopes":["read"]}"#),
        (
            "/api/v1/repos",
            r#"{"full_name":"acme/nul","default_branch":"ma\u0000in"}"#,
        ),
    ] {
        let r = srv.post_raw(path, body.as_bytes()).await;
        if r.status != 201 {
            assert!(matches!(r.status, 400 | 422), "{body}: {}", r.status);
            assert_api_error(
                &r.json(),
                if r.status == 400 {
                    "invalid_request"
                } else {
                    "invalid"
                },
            );
        }
    }
    // A filter holding NUL matches nothing (no stored text holds it).
    for q in ["environment=a%00b", "ref=%00", "task=deploy%00", "sha=%00"] {
        let r = srv.get(&format!("{DEPLOYMENTS}?{q}")).await;
        assert_eq!(r.expect(200), json!([]), "{q}");
    }
    let r = srv.get("/api/v1/deployments?environment=qa%00").await;
    assert_eq!(r.expect(200), json!([]));
    // Everything still reads.
    srv.get(DEPLOYMENTS).await.expect(200);
    srv.get(&statuses).await.expect(200);
    srv.get(&format!(
        "/api/v3/repos/acme/shop/commits/{}/statuses",
        git.main
    ))
    .await
    .expect(200);
    srv.get(&format!(
        "/api/v3/repos/acme/shop/commits/{}/status",
        git.main
    ))
    .await
    .expect(200);
    srv.get("/api/v1/deployments").await.expect(200);
    srv.get("/api/v1/tokens").await.expect(200);
    srv.get("/api/v1/repos").await.expect(200);
}

/// A path segment that is not UTF-8 once decoded names nothing: 404 in the family's format
/// (as `acme/no%20pe` does), not a plain-text 400.
async fn undecodable_paths_answer_in_family_format(srv: &Server) {
    srv.repo(SHOP).await;
    let d = srv.deploy(SHOP, json!({"ref": "main"})).await;
    for path in [
        "/api/v3/repos/%FF/shop/deployments".to_owned(),
        "/api/v3/repos/acme/%FF".to_owned(),
        format!("{DEPLOYMENTS}/%FF"),
        format!("{DEPLOYMENTS}/{}/statuses/%FF", id(&d)),
        "/api/v3/repos/acme/shop/environments/%FF".to_owned(),
        "/api/v3/repos/acme/shop/commits/%FF/status".to_owned(),
    ] {
        let r = srv.get(&path).await;
        let body: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|_| panic!("{path}: {} not JSON: {:?}", r.status, r.text));
        assert_gh_error(&body, "Not Found", 404);
        assert_eq!(r.status, 404, "{path}");
    }
    for (method, path) in [
        (Method::GET, "/api/v1/repos/acme/%FF"),
        (Method::DELETE, "/api/v1/tokens/%FF"),
    ] {
        let r = srv.call(method, path, Auth::Admin, None).await;
        let body: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|_| panic!("{path}: {} not JSON: {:?}", r.status, r.text));
        assert_api_error(&body, "not_found");
        assert_eq!(r.status, 404, "{path}");
    }
}

/// A method a route does not serve is bad input too: answered in the family's format.
async fn unsupported_methods_answer_in_family_format(srv: &Server) {
    srv.repo(SHOP).await;
    for (method, path) in [
        (Method::PATCH, DEPLOYMENTS),
        (Method::PUT, DEPLOYMENTS),
        (Method::POST, "/api/v3/repos/acme/shop/environments/qa"),
        (Method::DELETE, "/api/v3/repos/acme/shop"),
    ] {
        let r = srv
            .call(method.clone(), path, Auth::Admin, Some(b"{}".to_vec()))
            .await;
        assert!(
            matches!(r.status, 404 | 405),
            "{method} {path}: {}",
            r.status
        );
        let body: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|_| panic!("{method} {path}: {} not JSON: {:?}", r.status, r.text));
        assert_eq!(body["status"], r.status.to_string(), "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(body["documentation_url"]
            .as_str()
            .is_some_and(|d| d.starts_with(DOC_ROOT)));
    }
    for (method, path) in [
        (Method::PUT, "/api/v1/tokens"),
        (Method::PATCH, "/api/v1/deployments"),
    ] {
        let r = srv
            .call(method.clone(), path, Auth::Admin, Some(b"{}".to_vec()))
            .await;
        assert!(
            matches!(r.status, 404 | 405),
            "{method} {path}: {}",
            r.status
        );
        let body: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|_| panic!("{method} {path}: {} not JSON: {:?}", r.status, r.text));
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}

/// §2.7: "For `documentation_url` ferry uses the operation's GitHub docs link", also when
/// the body is refused before the handler runs.
async fn extractor_errors_name_the_operation(srv: &Server) {
    srv.repo(SHOP).await;
    let r = srv.post_raw(DEPLOYMENTS, b"{\"ref\":").await;
    assert_eq!(
        r.expect(400),
        gh_error("Problems parsing JSON", DOC_CREATE, 400)
    );
    let r = srv.post_raw(DEPLOYMENTS, b"[]").await;
    assert_eq!(
        r.expect(400),
        gh_error("Body should be a JSON object", DOC_CREATE, 400)
    );
    let r = srv
        .call(
            Method::PUT,
            "/api/v3/repos/acme/shop/environments/qa",
            Auth::Admin,
            Some(b"42".to_vec()),
        )
        .await;
    assert_eq!(r.expect(400)["documentation_url"], DOC_ENV_PUT);
    let r = srv
        .post_raw(DEPLOYMENTS, &deployment_body_of_len(BODY_LIMIT + 1))
        .await;
    assert_eq!(r.expect(413)["documentation_url"], DOC_CREATE);
}

// ---------------------------------------------------------------------------------------
// Start-up (PRODUCT.md "The binary")
// ---------------------------------------------------------------------------------------

async fn startup_admin_token(backend: Backend, test: &str) {
    let Some(db) = Db::create(backend, test).await else {
        return;
    };
    let data = tempfile::tempdir().expect("data dir");

    // A fresh database and no configured token: one is created and shown once.
    let first = App::build(test_config(&db.url, data.path(), None))
        .await
        .expect("first start");
    let created = first.new_admin_token.clone().expect("a new admin token");
    assert!(created.starts_with("ferry_"), "{created}");
    drop(first);

    // Restarting on the same database creates no other one.
    let second = App::build(test_config(&db.url, data.path(), None))
        .await
        .expect("second start");
    assert_eq!(second.new_admin_token, None);
    drop(second);

    // A configured admin token is accepted without creating a bootstrap one.
    let third = App::build(test_config(&db.url, data.path(), Some(ADMIN_TOKEN)))
        .await
        .expect("third start");
    assert_eq!(third.new_admin_token, None);
    drop(third);
    let fourth = App::build(test_config(&db.url, data.path(), Some(ADMIN_TOKEN)))
        .await
        .expect("fourth start");
    assert_eq!(fourth.new_admin_token, None);

    let srv = Server::run(fourth, db, data);
    let r = srv
        .call(Method::GET, "/api/v1/tokens", Auth::Token(&created), None)
        .await;
    let tokens = r.expect(200);
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(2),
        "the bootstrap token and the configured one, each once: {tokens}"
    );
    assert!(!r.text.contains(&created));
    srv.get("/api/v1/tokens").await.expect(200);
}

/// The configured admin token alone: no bootstrap token (the harness asserts it too).
async fn startup_with_configured_token(backend: Backend, test: &str) {
    let Some(srv) = Server::start(backend, test).await else {
        return;
    };
    let tokens = srv.get("/api/v1/tokens").await.expect(200);
    assert_eq!(tokens.as_array().map(Vec::len), Some(1), "{tokens}");
    assert_eq!(tokens[0]["scopes"], json!(["admin"]));
    // Same database, restarted without the flag: still no new token.
    let url = srv.db_url().to_owned();
    let data = tempfile::tempdir().expect("data dir");
    let again = App::build(test_config(&url, data.path(), None))
        .await
        .expect("restart");
    assert_eq!(again.new_admin_token, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_admin_token_sqlite() {
    startup_admin_token(Backend::Sqlite, "startup_admin_token_sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_admin_token_postgres() {
    startup_admin_token(Backend::Postgres, "startup_admin_token_postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_with_configured_token_sqlite() {
    startup_with_configured_token(Backend::Sqlite, "startup_with_configured_token_sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_with_configured_token_postgres() {
    startup_with_configured_token(Backend::Postgres, "startup_with_configured_token_postgres")
        .await;
}
