//! Client commands: HTTP calls to a running ferry (`--server`/`FERRY_SERVER`,
//! `--token`/`FERRY_TOKEN`). They use the same public APIs as any other client: `/api/v3`
//! for deployments and statuses, `/api/v1` for listings and administration.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use ferry_api_types::native::{CreatedToken, DeploymentInfo, RepoInfo};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

#[derive(Args, Clone)]
pub struct Conn {
    /// Base URL of the ferry server.
    #[arg(
        long,
        env = "FERRY_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub(crate) server: String,
    /// API token.
    #[arg(long, env = "FERRY_TOKEN", hide_env_values = true, global = true)]
    pub(crate) token: Option<String>,
}

impl Conn {
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<T> {
        let token = self
            .token
            .as_deref()
            .context("no token: pass --token or set FERRY_TOKEN")?;
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let mut req = self
            .client()
            .request(method, &url)
            .header("Authorization", format!("token {token}"))
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.answer(req).await
    }

    /// POSTs `body` as it is, with this content type.
    pub(crate) async fn post_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<T> {
        let token = self
            .token
            .as_deref()
            .context("no token: pass --token or set FERRY_TOKEN")?;
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let req = self
            .client()
            .post(&url)
            .header("Authorization", format!("token {token}"))
            .header("Accept", "application/json")
            .header("Content-Type", content_type)
            .body(body);
        self.answer(req).await
    }

    fn client(&self) -> reqwest::Client {
        static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        CLIENT.get_or_init(reqwest::Client::new).clone()
    }

    async fn answer<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let res = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        let status = res.status();
        let text = res.text().await.context("reading the answer")?;
        if !status.is_success() {
            bail!("{} {}", status.as_u16(), error_message(status, &text));
        }
        let text = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        serde_json::from_str(text).with_context(|| format!("unexpected answer: {text}"))
    }
}

/// The message of an error body of either family, else the raw text.
fn error_message(status: StatusCode, text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return status.canonical_reason().unwrap_or("error").to_owned();
    };
    let msg = v["error"]["message"]
        .as_str()
        .or_else(|| v["message"].as_str())
        .unwrap_or(text)
        .to_owned();
    match v.get("errors") {
        Some(errors) => format!("{msg}: {errors}"),
        None => msg,
    }
}

fn split_repo(repo: &str) -> anyhow::Result<(&str, &str)> {
    match repo.split_once('/') {
        Some((o, r)) if !o.is_empty() && !r.is_empty() && !r.contains('/') => Ok((o, r)),
        _ => bail!("repository must be owner/name, got {repo:?}"),
    }
}

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    conn: Conn,
    /// owner/name
    repo: String,
    /// Branch, tag or commit to deploy.
    #[arg(long = "ref")]
    git_ref: String,
    /// Target environment.
    #[arg(long, default_value = "production")]
    env: String,
    /// JSON payload handed to the deploying system.
    #[arg(long)]
    payload: Option<String>,
    #[arg(long, default_value = "deploy")]
    task: String,
    #[arg(long)]
    description: Option<String>,
    /// Contexts that must be green; repeat the flag. Default: all reported contexts.
    #[arg(long = "require")]
    required_contexts: Vec<String>,
    /// Skip the required-contexts check.
    #[arg(long, conflicts_with = "required_contexts")]
    no_checks: bool,
}

pub async fn deploy(a: DeployArgs) -> anyhow::Result<()> {
    let (owner, name) = split_repo(&a.repo)?;
    let mut body = json!({"ref": a.git_ref, "environment": a.env, "task": a.task});
    if let Some(p) = &a.payload {
        body["payload"] =
            serde_json::from_str(p).context("--payload must be JSON (an object or a string)")?;
    }
    if let Some(d) = a.description {
        body["description"] = json!(d);
    }
    if a.no_checks {
        body["required_contexts"] = json!([]);
    } else if !a.required_contexts.is_empty() {
        body["required_contexts"] = json!(a.required_contexts);
    }
    let d: Value = a
        .conn
        .call(
            Method::POST,
            &format!("/api/v3/repos/{owner}/{name}/deployments"),
            Some(body),
        )
        .await?;
    println!(
        "created deployment {} of {} ({}) to {}",
        d["id"],
        d["ref"].as_str().unwrap_or(""),
        short(d["sha"].as_str().unwrap_or("")),
        d["environment"].as_str().unwrap_or("")
    );
    Ok(())
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    conn: Conn,
    /// owner/name
    repo: String,
    /// Deployment id.
    id: i64,
    /// error, failure, inactive, in_progress, queued, pending or success.
    #[arg(long)]
    state: String,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    log_url: Option<String>,
    #[arg(long)]
    environment_url: Option<String>,
    /// Move the deployment to another environment.
    #[arg(long)]
    environment: Option<String>,
}

pub async fn status(a: StatusArgs) -> anyhow::Result<()> {
    let (owner, name) = split_repo(&a.repo)?;
    let mut body = json!({"state": a.state});
    for (k, v) in [
        ("description", a.description),
        ("log_url", a.log_url),
        ("environment_url", a.environment_url),
        ("environment", a.environment),
    ] {
        if let Some(v) = v {
            body[k] = json!(v);
        }
    }
    let s: Value = a
        .conn
        .call(
            Method::POST,
            &format!("/api/v3/repos/{owner}/{name}/deployments/{}/statuses", a.id),
            Some(body),
        )
        .await?;
    println!(
        "deployment {} is now {} in {}",
        a.id,
        s["state"].as_str().unwrap_or(""),
        s["environment"].as_str().unwrap_or("")
    );
    Ok(())
}

#[derive(Args)]
pub struct DeploymentsArgs {
    #[command(flatten)]
    conn: Conn,
    /// owner/name; omit for every repository and ingested deploy.
    repo: Option<String>,
    #[arg(long)]
    env: Option<String>,
    /// A service name or alias.
    #[arg(long)]
    service: Option<String>,
    /// api, opslevel or devlake.
    #[arg(long)]
    source: Option<String>,
    /// At or after: YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    from: Option<String>,
    /// Before: YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    to: Option<String>,
    /// How many, newest first (at most 100).
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

pub async fn deployments(a: DeploymentsArgs) -> anyhow::Result<()> {
    let mut path = format!("/api/v1/deployments?per_page={}", a.limit.clamp(1, 100));
    if let Some(repo) = &a.repo {
        split_repo(repo)?;
        path.push_str(&format!("&repo={}", urlencode(repo)));
    }
    for (key, value) in [
        ("environment", &a.env),
        ("service", &a.service),
        ("source", &a.source),
        ("from", &a.from),
        ("to", &a.to),
    ] {
        if let Some(v) = value {
            path.push_str(&format!("&{key}={}", urlencode(v)));
        }
    }
    let items: Vec<DeploymentInfo> = a.conn.call(Method::GET, &path, None).await?;
    if items.is_empty() {
        println!("no deployments");
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
        "SOURCE",
        "ID",
        "SERVICE",
        "ENVIRONMENT",
        "REF",
        "SHA",
        "STATE",
        "TASK",
        "CREATOR",
        "CREATED",
    ]);
    for d in &items {
        table.add_row(vec![
            d.source.clone(),
            d.id.to_string(),
            d.service.clone().unwrap_or_else(|| "-".into()),
            d.environment.clone(),
            d.git_ref.clone(),
            short(&d.sha).to_owned(),
            d.state.clone().unwrap_or_else(|| "-".into()),
            d.task.clone(),
            d.creator.clone(),
            d.created_at.clone(),
        ]);
    }
    println!("{table}");
    Ok(())
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Args)]
pub struct RepoArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: RepoCommand,
}

#[derive(Subcommand)]
enum RepoCommand {
    /// Register a repository (admin).
    Create {
        /// owner/name
        full_name: String,
        /// Local path or URL of the git repository to mirror.
        #[arg(long)]
        git_url: Option<String>,
        #[arg(long, default_value = "main")]
        default_branch: String,
    },
    /// List repositories.
    List,
}

pub async fn repo(a: RepoArgs) -> anyhow::Result<()> {
    match a.command {
        RepoCommand::Create {
            full_name,
            git_url,
            default_branch,
        } => {
            let r: RepoInfo = a
                .conn
                .call(
                    Method::POST,
                    "/api/v1/repos",
                    Some(json!({"full_name": full_name, "git_url": git_url, "default_branch": default_branch})),
                )
                .await?;
            println!("created repository {} ({})", r.full_name, r.api_url);
        }
        RepoCommand::List => {
            let repos: Vec<RepoInfo> = a.conn.call(Method::GET, "/api/v1/repos", None).await?;
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "REPOSITORY",
                "DEFAULT BRANCH",
                "GIT URL",
            ]);
            for r in repos {
                table.add_row(vec![
                    r.full_name,
                    r.default_branch,
                    r.git_url.unwrap_or_else(|| "-".into()),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct TokenArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token (admin); its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: admin, write, read, ingest.
        #[arg(long, value_delimiter = ',', default_value = "write")]
        scopes: Vec<String>,
    },
}

pub async fn token(a: TokenArgs) -> anyhow::Result<()> {
    match a.command {
        TokenCommand::Create { name, scopes } => {
            let t: CreatedToken = a
                .conn
                .call(
                    Method::POST,
                    "/api/v1/tokens",
                    Some(json!({"name": name, "scopes": scopes})),
                )
                .await?;
            println!("{}", t.token);
        }
    }
    Ok(())
}
