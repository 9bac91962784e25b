//! GitHub mirror mode end to end, on both backends, against a local fake GitHub that speaks
//! the REST formats of compat/github.md §2 (`POST /repos/{o}/{r}/deployments`, `…/statuses`):
//!
//! - a deployment and its statuses made in ferry are created on GitHub too, in order, with the
//!   pinned sha as `ref`, GitHub's bearer token and API version headers, `auto_merge: false`,
//!   `required_contexts: []` and `auto_inactive: false`;
//! - GitHub answering 500 is retried; GitHub refusing (422) makes the delivery dead and the
//!   deployment's statuses are not sent (nothing to attach them to);
//! - a signed `deployment_status` event from GitHub for a mirrored deployment becomes a ferry
//!   status; an echo of a status ferry created there, or a redelivery, does not.

#[allow(dead_code)]
#[macro_use]
mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::Server;

both_backends! {
    mirror_mode => mirror_mode_sqlite, mirror_mode_postgres;
}

const TOKEN: &str = "ghp_fakeMirrorToken";
const SECRET: &str = "mirror-secret";

#[derive(Default)]
struct FakeGithub {
    /// (path, body, authorization, api version) of every request, in arrival order.
    requests: Vec<(String, Value, String, String)>,
    next_id: i64,
    /// Answer 500 to the next this-many requests.
    fail_next: u32,
    /// Answer 422 to deployments with this environment.
    refuse_env: Option<String>,
}

type Fake = Arc<Mutex<FakeGithub>>;

fn lock(f: &Fake) -> std::sync::MutexGuard<'_, FakeGithub> {
    f.lock().unwrap_or_else(|p| p.into_inner())
}

async fn create(
    State(fake): State<Fake>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut f = lock(&fake);
    f.requests.push((
        format!("/repos/{rest}"),
        body.clone(),
        h("authorization"),
        h("x-github-api-version"),
    ));
    if f.fail_next > 0 {
        f.fail_next -= 1;
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"message": "Server Error"})),
        );
    }
    if f.refuse_env.as_deref() == body["environment"].as_str() && !rest.ends_with("statuses") {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "No ref found for: x"})),
        );
    }
    f.next_id += 1;
    (StatusCode::CREATED, Json(json!({"id": 1000 + f.next_id})))
}

const APP_KEY: &str = include_str!("fixtures/github-app-test-key.pem");
const APP_PUBLIC_KEY: &str = include_str!("fixtures/github-app-test-key.pub.pem");
const INSTALLATION_TOKEN: &str = "ghs_fakeInstallationToken";

/// `POST /app/installations/{id}/access_tokens`: checks the app JWT like GitHub (RS256, the
/// app id as issuer, at most 10 minutes) and hands out an installation token.
async fn access_token(
    State(fake): State<Fake>,
    Path(installation): Path<i64>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let key =
        jsonwebtoken::DecodingKey::from_rsa_pem(APP_PUBLIC_KEY.as_bytes()).expect("public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&["4242"]);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation);
    let mut f = lock(&fake);
    f.requests.push((
        format!("/app/installations/{installation}/access_tokens"),
        Value::Null,
        String::new(),
        String::new(),
    ));
    match claims {
        Ok(c) if installation == 77 => {
            let (iat, exp) = (
                c.claims["iat"].as_i64().unwrap_or(0),
                c.claims["exp"].as_i64().unwrap_or(0),
            );
            assert!(exp - iat <= 600, "GitHub refuses JWTs over 10 minutes");
            (
                StatusCode::CREATED,
                Json(json!({"token": INSTALLATION_TOKEN, "expires_at": "2099-01-01T00:00:00Z"})),
            )
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "A JSON web token could not be decoded"})),
        ),
    }
}

async fn start_fake() -> (Fake, String) {
    let fake: Fake = Arc::default();
    let app = Router::new()
        .route("/api/v3/repos/{*rest}", post(create))
        .route(
            "/api/v3/app/installations/{id}/access_tokens",
            post(access_token),
        )
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake GitHub");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, format!("http://{addr}/api/v3"))
}

/// Waits until the fake GitHub has `n` requests (or 15 s) and returns them.
async fn requests(fake: &Fake, n: usize) -> Vec<(String, Value, String, String)> {
    for _ in 0..150 {
        if lock(fake).requests.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lock(fake).requests.clone()
}

async fn github_event(srv: &Server, event: &str, guid: &str, body: &Value) -> (u16, Value) {
    let bytes = body.to_string().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(&bytes);
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let res = reqwest::Client::new()
        .post(format!("{}/webhooks/github", srv.base))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", guid)
        .header("x-hub-signature-256", sig)
        .body(bytes)
        .send()
        .await
        .expect("deliver");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn mirror_mode(srv: &Server) {
    let (fake, api) = start_fake().await;
    let git = support::GitRepo::new();
    let head = git.commit("one");
    // Mirror mode needs a token.
    srv.post(
        "/api/v1/repos",
        &json!({"full_name": "acme/no-token", "github": {"mirror": true}}),
    )
    .await
    .expect(422);
    let repo = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/shop", "git_url": git.path(), "default_branch": "main",
                    "github": {"mirror": true, "api_url": api, "token": TOKEN,
                               "webhook_secret": SECRET}}),
        )
        .await
        .expect(201);
    assert_eq!(repo["github"]["mirror"], true);
    assert_eq!(repo["github"]["api_url"], api.as_str());
    assert!(!repo.to_string().contains(TOKEN), "the token is write-only");

    // A deployment and two statuses, the first GitHub call failing once (retried).
    lock(&fake).fail_next = 1;
    let d = srv
        .deploy(
            "acme/shop",
            json!({"ref": "main", "environment": "staging", "payload": {"k": 1}, "required_contexts": []}),
        )
        .await;
    srv.status(
        "acme/shop",
        &d,
        json!({"state": "in_progress", "log_url": "https://ci/1"}),
    )
    .await;
    srv.status("acme/shop", &d, json!({"state": "success"}))
        .await;
    let got = requests(&fake, 4).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let (path, body, auth, version) = &got[1];
    assert_eq!(path, "/repos/acme/shop/deployments");
    assert_eq!(auth, &format!("Bearer {TOKEN}"));
    assert_eq!(version, "2022-11-28");
    assert_eq!(body["ref"], head.as_str());
    assert_eq!(body["environment"], "staging");
    assert_eq!(body["payload"], json!({"k": 1}));
    assert_eq!(body["auto_merge"], false);
    assert_eq!(body["required_contexts"], json!([]));
    assert_eq!(got[0].0, got[1].0, "the 500 was retried");
    // GitHub gave the deployment id 1001: statuses go under it, in order.
    assert_eq!(got[2].0, "/repos/acme/shop/deployments/1001/statuses");
    assert_eq!(got[2].1["state"], "in_progress");
    assert_eq!(got[2].1["log_url"], "https://ci/1");
    assert_eq!(got[2].1["auto_inactive"], false);
    assert_eq!(got[3].1["state"], "success");

    // GitHub refuses a deployment: dead, and its statuses are not sent.
    lock(&fake).refuse_env = Some("qa".into());
    let refused = srv
        .deploy(
            "acme/shop",
            json!({"ref": "main", "environment": "qa", "required_contexts": []}),
        )
        .await;
    srv.status("acme/shop", &refused, json!({"state": "success"}))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = lock(&fake).requests.clone();
    assert_eq!(got.len(), 5, "one refused create, no status: {got:?}");

    // GitHub reports a status of the mirrored deployment: taken in, once.
    let event = json!({
        "action": "created",
        "deployment_status": {"id": 555, "state": "failure", "description": "smoke tests failed",
                              "environment": "staging", "target_url": "https://gh/run/1",
                              "creator": {"login": "octocat", "id": 1, "type": "User"}},
        "deployment": {"id": 1001, "sha": head, "environment": "staging"},
        "repository": {"full_name": "acme/shop"},
    });
    let (code, answer) = github_event(srv, "deployment_status", "g-1", &event).await;
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (202, Some("processed")),
        "{answer}"
    );
    let states = srv.states("acme/shop", &d).await;
    assert_eq!(states, ["failure", "success", "in_progress"]);
    // The same status again under another delivery id: nothing new.
    let (code, answer) = github_event(srv, "deployment_status", "g-2", &event).await;
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (202, Some("ignored")),
        "{answer}"
    );
    // The echo of a status ferry created there (GitHub id 1002: the in_progress one).
    let mut echo = event.clone();
    echo["deployment_status"]["id"] = json!(1002);
    echo["deployment_status"]["state"] = json!("in_progress");
    let (_, answer) = github_event(srv, "deployment_status", "g-3", &echo).await;
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(srv.states("acme/shop", &d).await.len(), 3);
    // A GitHub deployment ferry does not know.
    let mut unknown = event.clone();
    unknown["deployment"]["id"] = json!(9999);
    let (_, answer) = github_event(srv, "deployment_status", "g-4", &unknown).await;
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    // The status taken in from GitHub is not sent back.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(lock(&fake).requests.len(), 5);

    // Mirror mode off: nothing more goes to GitHub.
    let off = srv
        .call(
            reqwest::Method::PATCH,
            "/api/v1/repos/acme/shop",
            support::Auth::Admin,
            Some(
                json!({"github": {"mirror": false}})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .expect(200);
    assert_eq!(off["github"]["mirror"], false);
    srv.deploy(
        "acme/shop",
        json!({"ref": "main", "environment": "prod2", "required_contexts": []}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(lock(&fake).requests.len(), 5);

    // The same as a GitHub App: a JWT buys an installation token, used for the REST calls.
    srv.post(
        "/api/v1/repos",
        &json!({"full_name": "acme/bad-key",
                "github": {"mirror": true, "api_url": api, "app_id": 4242,
                           "installation_id": 77, "private_key": "not a key"}}),
    )
    .await
    .expect(422);
    let app_repo = srv
        .post(
            "/api/v1/repos",
            &json!({"full_name": "acme/app", "git_url": git.path(), "default_branch": "main",
                    "github": {"mirror": true, "api_url": api, "app_id": 4242,
                               "installation_id": 77, "private_key": APP_KEY}}),
        )
        .await
        .expect(201);
    assert_eq!(app_repo["github"]["auth"], "app");
    assert_eq!(app_repo["github"]["app_id"], 4242);
    assert!(
        !app_repo.to_string().contains("PRIVATE KEY"),
        "the key is write-only"
    );
    let before = lock(&fake).requests.len();
    let d = srv
        .deploy(
            "acme/app",
            json!({"ref": "main", "environment": "staging", "required_contexts": []}),
        )
        .await;
    srv.status("acme/app", &d, json!({"state": "success"}))
        .await;
    let got = requests(&fake, before + 3).await;
    let got = &got[before..];
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, "/app/installations/77/access_tokens");
    assert_eq!(got[1].0, "/repos/acme/app/deployments");
    assert_eq!(got[1].2, format!("Bearer {INSTALLATION_TOKEN}"));
    assert!(got[2].0.ends_with("/statuses"));
    assert_eq!(
        got[2].2,
        format!("Bearer {INSTALLATION_TOKEN}"),
        "the token is reused"
    );
}
