//! GitHub mirror mode: an outbox delivery with target `github` becomes the REST call that
//! creates the same deployment or status on the repository's GitHub (compat/github.md §2), so
//! GitHub's UI and `on: deployment` workflows see it.
//!
//! - `deployment` → `POST {api}/repos/{owner}/{repo}/deployments` with the pinned sha as `ref`,
//!   `auto_merge: false` and `required_contexts: []` (ferry already decided), its task,
//!   payload, environment and flags; GitHub's id is remembered.
//! - `deployment_status` → `POST …/deployments/{github id}/statuses`, `auto_inactive: false`
//!   (ferry sends the inactive statuses it made itself).
//!
//! Authentication: the repository's token, or a GitHub App: a JWT (RS256, signed with the
//! app's key) buys an installation token, reused for 50 minutes.
//!
//! 5xx, 429 and transport errors are retried; other answers (401, 404, 409, 422, GitHub's 202
//! "auto-merged") cannot get better by retrying: the delivery is dead with GitHub's message.

use crate::events::outbox::describe;
use ferry_domain::{RepoSlug, Timestamp};
use ferry_store::model::{ClaimedDelivery, GithubAuth, GithubMirror, HookEvent};
use ferry_store::Store;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one attempt came to.
pub struct Sent {
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub github_id: Option<i64>,
    pub retryable: bool,
}

fn failed(error: impl Into<String>, retryable: bool) -> Sent {
    Sent {
        status_code: None,
        error: Some(error.into()),
        github_id: None,
        retryable,
    }
}

/// Whether `pem` is an RSA private key a GitHub App JWT can be signed with.
pub fn valid_app_key(pem: &str) -> bool {
    EncodingKey::from_rsa_pem(pem.as_bytes()).is_ok()
}

/// Installation tokens of GitHub Apps, by (API, installation), until shortly before they
/// expire (GitHub gives them an hour).
#[derive(Default)]
pub struct InstallationTokens {
    cache: Mutex<HashMap<(String, i64), (String, Instant)>>,
}

/// How long an installation token is used: GitHub's hour, less a margin.
const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

#[derive(Serialize)]
struct AppClaims {
    iat: i64,
    exp: i64,
    iss: String,
}

impl InstallationTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64), (String, Instant)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a token GitHub refused (revoked, or the app's permissions changed).
    fn forget(&self, api_url: &str, installation_id: i64) {
        self.lock().remove(&(api_url.to_owned(), installation_id));
    }

    /// The `Authorization` value for `mirror`: its token, or an installation token (cached,
    /// else made from a JWT signed with the app's key).
    async fn authorization(
        &self,
        client: &reqwest::Client,
        mirror: &GithubMirror,
    ) -> Result<String, Sent> {
        let (app_id, installation_id, key) = match &mirror.auth {
            GithubAuth::Token(t) => return Ok(format!("Bearer {t}")),
            GithubAuth::App {
                app_id,
                installation_id,
                private_key,
            } => (*app_id, *installation_id, private_key),
        };
        let slot = (mirror.api_url.clone(), installation_id);
        if let Some((token, until)) = self.lock().get(&slot) {
            if Instant::now() < *until {
                return Ok(format!("Bearer {token}"));
            }
        }
        let now = Timestamp::now().unix();
        // GitHub: issued up to 60 s in the past (clock drift), at most 10 minutes long.
        let claims = AppClaims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: app_id.to_string(),
        };
        let key = EncodingKey::from_rsa_pem(key.as_bytes()).map_err(|_| {
            failed(
                "the GitHub App private key is not a valid RSA PEM key",
                false,
            )
        })?;
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
            .map_err(|e| failed(format!("could not sign the GitHub App JWT: {e}"), false))?;
        let url = format!(
            "{}/app/installations/{installation_id}/access_tokens",
            mirror.api_url.trim_end_matches('/')
        );
        let res = client
            .post(&url)
            .header("authorization", format!("Bearer {jwt}"))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", "ferry")
            .send()
            .await
            .map_err(|e| failed(describe(&e), true))?;
        let code = res.status().as_u16();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        let Some(token) = answer
            .get("token")
            .and_then(Value::as_str)
            .filter(|_| code == 201)
        else {
            let message = answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unexpected answer");
            return Err(Sent {
                status_code: Some(i64::from(code)),
                error: Some(format!(
                    "GitHub refused an installation token ({code}): {message}"
                )),
                github_id: None,
                retryable: code >= 500 || code == 429,
            });
        };
        self.lock()
            .insert(slot, (token.to_owned(), Instant::now() + TOKEN_REUSE));
        Ok(format!("Bearer {token}"))
    }
}

pub async fn send(
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    tokens: &InstallationTokens,
    mirror: &GithubMirror,
    repo: &RepoSlug,
    d: &ClaimedDelivery,
) -> Sent {
    let authorization = match tokens.authorization(client, mirror).await {
        Ok(a) => a,
        Err(sent) => return sent,
    };
    match build(store, mirror, repo, d).await {
        Ok(Some((url, body))) => {
            let sent = post(client, &authorization, &url, &body).await;
            if sent.status_code == Some(401) {
                // A revoked installation token: the next attempt makes a new one.
                if let GithubAuth::App {
                    installation_id, ..
                } = &mirror.auth
                {
                    tokens.forget(&mirror.api_url, *installation_id);
                    return Sent {
                        retryable: true,
                        ..sent
                    };
                }
            }
            sent
        }
        Ok(None) => failed(
            "the deployment or status no longer exists, or was not created on GitHub",
            false,
        ),
        Err(e) => failed(format!("could not build the request: {e}"), true),
    }
}

async fn build(
    store: &Arc<dyn Store>,
    mirror: &GithubMirror,
    slug: &RepoSlug,
    d: &ClaimedDelivery,
) -> anyhow::Result<Option<(String, Value)>> {
    let (Some(repo_id), Some(dep_id)) = (d.repo_id, d.deployment_id) else {
        return Ok(None);
    };
    let Some(dep) = store.deployment(repo_id, dep_id).await? else {
        return Ok(None);
    };
    let base = format!(
        "{}/repos/{}/{}/deployments",
        mirror.api_url.trim_end_matches('/'),
        urlencoding::encode(slug.owner()),
        urlencoding::encode(slug.name())
    );
    match d.event {
        HookEvent::Deployment => {
            let payload: Value =
                serde_json::from_str(&dep.payload).unwrap_or(Value::String(dep.payload.clone()));
            let mut body = json!({
                "ref": dep.sha.as_str(),
                "task": dep.task,
                "auto_merge": false,
                "required_contexts": [],
                "payload": payload,
                "environment": dep.original_environment.as_str(),
                "transient_environment": dep.transient_environment,
                "production_environment": dep.production_environment,
            });
            if let Some(desc) = &dep.description {
                body["description"] = Value::String(desc.clone());
            }
            Ok(Some((base, body)))
        }
        HookEvent::DeploymentStatus => {
            let Some(status_id) = d.status_id else {
                return Ok(None);
            };
            let Some(status) = store.status(dep.id, status_id).await? else {
                return Ok(None);
            };
            let Some(github_id) = store.github_deployment_id(dep.id).await? else {
                return Ok(None);
            };
            let mut body = json!({
                "state": status.state.as_str(),
                "description": status.description,
                "environment": status.environment.as_str(),
                "auto_inactive": false,
            });
            for (key, value) in [
                ("log_url", &status.log_url),
                ("environment_url", &status.environment_url),
            ] {
                if !value.is_empty() {
                    body[key] = Value::String(value.clone());
                }
            }
            if !status.target_url.is_empty() && status.log_url.is_empty() {
                body["log_url"] = Value::String(status.target_url.clone());
            }
            Ok(Some((format!("{base}/{github_id}/statuses"), body)))
        }
        HookEvent::Ping => Ok(None),
    }
}

async fn post(client: &reqwest::Client, authorization: &str, url: &str, body: &Value) -> Sent {
    let res = client
        .post(url)
        .header("authorization", authorization)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "ferry")
        .json(body)
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return failed(describe(&e), true),
    };
    let code = res.status().as_u16();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    let github_id = answer.get("id").and_then(Value::as_i64);
    match code {
        201 if github_id.is_some() => Sent {
            status_code: Some(i64::from(code)),
            error: None,
            github_id,
            retryable: false,
        },
        _ => {
            let message = answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unexpected answer")
                .to_owned();
            Sent {
                status_code: Some(i64::from(code)),
                error: Some(format!("GitHub answered {code}: {message}")),
                github_id: None,
                retryable: code >= 500 || code == 429,
            }
        }
    }
}
