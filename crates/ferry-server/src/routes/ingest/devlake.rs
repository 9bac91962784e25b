//! Apache DevLake incoming webhooks (compat/ingest.md §2): deployments (both payload
//! generations), issues, issue close.
//!
//! Served under the four prefixes DevLake answers on (`/api/rest/plugins/webhook`,
//! `/api/plugins/webhook`, `/rest/plugins/webhook`, `/plugins/webhook`), each with the path
//! forms `<id>/…`, `connections/<id>/…` and `connections/by-name/<name>/…`; [`route`] reads
//! the rest of the path. Bodies are JSON whatever the `Content-Type`; keys match
//! case-insensitively (and `repo_url` = `repoUrl`); scalars are weakly typed. Answers are
//! DevLake's: `200 {"code":0,"success":true,"message":"success","causes":null,"data":null}`,
//! errors `{"code":0,"success":false,"message":…,"causes":[…],"data":null}`, auth failures
//! `{"success":false,"message":…}`.

use super::{body_bytes, hash_secret, json_object, scalar, text, BodyProblem, JsonProblem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ferry_domain::ingest::{
    lead_time_minutes, parse_ingest_time, DeployResult, DevLakeAuth, IntegrationKind, IssueStatus,
};
use ferry_domain::{DeploymentSource, IntegrationId, Timestamp};
use ferry_store::model::{IngestedCommit, Integration, NewIngestedDeployment, NewIssue, OnRepeat};
use ferry_store::StoreError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// A DevLake-style failure: status and message (plus the per-field causes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlError {
    pub status: StatusCode,
    pub message: String,
    pub causes: Vec<String>,
    /// Auth failures have DevLake's middleware body, `{success, message}`.
    pub auth: bool,
}

impl DlError {
    fn new(status: StatusCode, message: impl Into<String>) -> DlError {
        DlError {
            status,
            message: message.into(),
            causes: Vec::new(),
            auth: false,
        }
    }

    fn bad(message: impl Into<String>) -> DlError {
        DlError::new(StatusCode::BAD_REQUEST, message)
    }

    fn fields(causes: Vec<String>) -> DlError {
        DlError {
            status: StatusCode::BAD_REQUEST,
            message: causes.first().cloned().unwrap_or_default(),
            causes,
            auth: false,
        }
    }

    fn auth(status: StatusCode, message: &str) -> DlError {
        DlError {
            status,
            message: message.to_owned(),
            causes: Vec::new(),
            auth: true,
        }
    }
}

impl IntoResponse for DlError {
    fn into_response(self) -> Response {
        let body = if self.auth {
            json!({"success": false, "message": self.message})
        } else {
            json!({"code": 0, "success": false, "message": self.message,
                   "causes": self.causes, "data": null})
        };
        (self.status, axum::Json(body)).into_response()
    }
}

fn success() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":0,"success":true,"message":"success","causes":null,"data":null}"#,
    )
        .into_response()
}

// ---- payloads ----------------------------------------------------------------------------

/// A body with its keys lower-cased (`Environment` = `environment`) — `lower` — and also
/// without underscores (`repo_url` = `repoUrl`) — `flat`.
struct Fields {
    lower: HashMap<String, Value>,
    flat: HashMap<String, Value>,
}

impl Fields {
    fn new(map: &Map<String, Value>) -> Fields {
        let mut lower = HashMap::new();
        let mut flat = HashMap::new();
        for (k, v) in map {
            let l = k.to_lowercase();
            flat.insert(l.replace('_', ""), v.clone());
            lower.insert(l, v.clone());
        }
        Fields { lower, flat }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.flat.get(&key.to_lowercase().replace('_', ""))
    }

    fn text(&self, key: &str) -> Option<String> {
        text(self.get(key))
    }

    /// A time field: `Ok(None)` when absent or blank.
    fn time(&self, key: &str, errors: &mut Vec<String>) -> Option<Timestamp> {
        let s = self.text(key)?;
        let t = parse_ingest_time(&s);
        if t.is_none() {
            errors.push(format!("invalid time: {key}"));
        }
        t
    }

    fn required_time(&self, key: &str, errors: &mut Vec<String>) -> Option<Timestamp> {
        if self.text(key).is_none() {
            errors.push(format!("{key} is required"));
            return None;
        }
        self.time(key, errors)
    }

    fn required(&self, key: &str, errors: &mut Vec<String>) -> Option<String> {
        let v = self.text(key);
        if v.is_none() {
            errors.push(format!("{key} is required"));
        }
        v
    }

    /// A scalar that is not blank, untrimmed (issue keys and ids are used raw).
    fn raw(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|v| scalar(v).ok().flatten())
            .filter(|s| !s.trim().is_empty())
    }
}

const GENERATION_B_KEYS: [&str; 6] = [
    "id",
    "starteddate",
    "finisheddate",
    "repourl",
    "commitsha",
    "issuekey",
];

/// DevLake 1.x (camelCase) rather than the plugin doc's snake_case: any key among `id`,
/// `startedDate`, `finishedDate`, `repoUrl`, `commitSha`, `issueKey`, at the top or inside
/// `deploymentCommits[]` (compat/ingest.md §2.3).
fn is_generation_b(f: &Fields) -> bool {
    let has = |m: &HashMap<String, Value>| GENERATION_B_KEYS.iter().any(|k| m.contains_key(*k));
    if has(&f.lower) {
        return true;
    }
    commits_value(f)
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items
                .iter()
                .filter_map(Value::as_object)
                .any(|o| has(&Fields::new(o).lower))
        })
}

fn commits_value(f: &Fields) -> Option<&Value> {
    f.get("deploymentCommits").filter(|v| !v.is_null())
}

/// A parsed deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlDeploy {
    /// The identity re-posts update: `pipeline:<id>`, `id:<id>` or `commit:<url>@<sha>`.
    pub key: String,
    pub environment: String,
    pub name: String,
    pub description: Option<String>,
    pub result: DeployResult,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub commits: Vec<IngestedCommit>,
}

/// What the store records for a parsed deployment: upserted on its identity.
pub fn to_new(integration: IntegrationId, d: DlDeploy) -> NewIngestedDeployment {
    NewIngestedDeployment {
        integration_id: integration,
        source: DeploymentSource::DevLake,
        external_key: Some(d.key),
        on_repeat: OnRepeat::Update,
        service_alias: None,
        deploy_number: None,
        generate_number: false,
        environment: d.environment,
        name: Some(d.name),
        description: d.description,
        result: d.result,
        deployer_name: None,
        deployer_email: None,
        deployer_id: None,
        deploy_url: None,
        started_at: d.started_at,
        finished_at: d.finished_at,
        commits: d.commits,
    }
}

/// Whether an NDJSON line of a bulk import is an issue rather than a deployment.
pub fn is_issue(raw: &[u8]) -> bool {
    json_object(raw).is_ok_and(|map| {
        map.keys()
            .any(|k| k.eq_ignore_ascii_case("issue_key") || k.eq_ignore_ascii_case("issueKey"))
    })
}

fn parse_result(f: &Fields, errors: &mut Vec<String>) -> DeployResult {
    match f.text("result") {
        None => DeployResult::Success,
        Some(r) => DeployResult::parse_loose(&r).unwrap_or_else(|| {
            errors.push(format!("result must be one of {}", DeployResult::choices()));
            DeployResult::Success
        }),
    }
}

/// Parses a deployment body of either generation; `now` is the receipt time (generation A's
/// default `end_time`).
pub fn parse_deployment(raw: &[u8], now: Timestamp) -> Result<DlDeploy, DlError> {
    let map = json_object(raw).map_err(json_problem)?;
    let f = Fields::new(&map);
    let b = is_generation_b(&f);
    let mut errors = Vec::new();
    // Field names as each generation spells them.
    let (k_repo, k_sha, k_msg, k_ref) = if b {
        ("repoUrl", "commitSha", "commitMsg", "refName")
    } else {
        ("repo_url", "commit_sha", "commit_msg", "ref_name")
    };
    let commit_of = |c: &Fields, prefix: &str, errors: &mut Vec<String>| {
        let repo = c.text(k_repo);
        let sha = c.text(k_sha);
        if repo.is_none() {
            errors.push(format!("{prefix}{k_repo} is required"));
        }
        if sha.is_none() {
            errors.push(format!("{prefix}{k_sha} is required"));
        }
        Some(IngestedCommit {
            repo_url: repo?,
            sha: sha?,
            ref_name: c.text(k_ref),
            message: c.text(k_msg),
            name: c.text("name"),
            authored_at: None,
            author: None,
            repo: None,
        })
    };
    let mut commits = Vec::new();
    match commits_value(&f) {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let prefix = format!("deploymentCommits[{i}].");
                match item.as_object() {
                    Some(o) => {
                        if let Some(c) = commit_of(&Fields::new(o), &prefix, &mut errors) {
                            commits.push(c);
                        }
                    }
                    None => errors.push(format!("deploymentCommits[{i}] must be an object")),
                }
            }
        }
        Some(Value::Array(_)) | None => {
            if b {
                errors.push("deployment_commits is empty".to_owned());
            } else if let Some(c) = commit_of(&f, "", &mut errors) {
                commits.push(c);
            }
        }
        Some(_) => errors.push("deploymentCommits must be an array".to_owned()),
    }
    let result = parse_result(&f, &mut errors);
    let (key, started_at, finished_at, environment, description) = if b {
        let id = f.raw("id");
        if id.is_none() {
            errors.push("id is required".to_owned());
        }
        let started = f.required_time("startedDate", &mut errors);
        let finished = f.required_time("finishedDate", &mut errors);
        f.time("createdDate", &mut errors);
        let env = f
            .text("originalEnvironment")
            .or_else(|| f.text("environment"))
            .unwrap_or_else(|| "PRODUCTION".to_owned());
        (
            id.map(|i| format!("id:{i}")),
            started,
            finished,
            env,
            f.text("displayTitle"),
        )
    } else {
        let started = f.required_time("start_time", &mut errors);
        let finished = f.time("end_time", &mut errors).or(Some(now));
        f.time("create_time", &mut errors);
        let key = match f.raw("pipeline_id") {
            Some(p) => Some(format!("pipeline:{p}")),
            None => commits
                .first()
                .map(|c| format!("commit:{}@{}", c.repo_url, c.sha)),
        };
        let env = f
            .text("environment")
            .unwrap_or_else(|| "PRODUCTION".to_owned());
        (key, started, finished, env, None)
    };
    if !errors.is_empty() {
        return Err(DlError::fields(errors));
    }
    let (Some(key), Some(started_at), Some(finished_at)) = (key, started_at, finished_at) else {
        return Err(DlError::bad("the deployment is incomplete"));
    };
    let shas: Vec<&str> = commits.iter().map(|c| c.sha.as_str()).collect();
    let name = f.text("name").unwrap_or_else(|| {
        if b {
            format!("deploy {} to {}", shas.join(","), environment)
        } else {
            format!("deployment for {}", shas.join(","))
        }
    });
    Ok(DlDeploy {
        key,
        environment,
        name,
        description,
        result,
        started_at,
        finished_at,
        commits,
    })
}

/// Parses an issue body of either generation (snake_case or camelCase keys); `now` is the
/// receipt time.
pub fn parse_issue(
    raw: &[u8],
    integration: IntegrationId,
    now: Timestamp,
) -> Result<NewIssue, DlError> {
    let map = json_object(raw).map_err(json_problem)?;
    let f = Fields::new(&map);
    let b = is_generation_b(&f);
    let name = |a: &'static str, camel: &'static str| if b { camel } else { a };
    let mut errors = Vec::new();
    let key = f.raw("issue_key");
    if key.is_none() {
        errors.push(format!("{} is required", name("issue_key", "issueKey")));
    }
    let title = f.required("title", &mut errors);
    let status = match f.text("status") {
        None => {
            errors.push("status is required".to_owned());
            None
        }
        Some(s) => {
            let parsed = IssueStatus::parse_loose(&s);
            if parsed.is_none() {
                errors.push(format!("status must be one of {}", IssueStatus::choices()));
            }
            parsed
        }
    };
    let created = f.required_time(name("created_date", "createdDate"), &mut errors);
    let updated = f.time(name("updated_date", "updatedDate"), &mut errors);
    let mut resolved = f.time(name("resolution_date", "resolutionDate"), &mut errors);
    let lead_key = name("lead_time_minutes", "leadTimeMinutes");
    let mut lead = match f.get(lead_key).map(scalar) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(s))) if s.trim().is_empty() => None,
        Some(Ok(Some(s))) => match s.trim().parse::<f64>() {
            Ok(x) if (0.0..1e15).contains(&x) => Some(x.floor() as i64),
            _ => {
                errors.push(format!("{lead_key} must be a non-negative number"));
                None
            }
        },
        Some(Err(_)) => {
            errors.push(format!("{lead_key} must be a non-negative number"));
            None
        }
    };
    if !errors.is_empty() {
        return Err(DlError::fields(errors));
    }
    let (Some(key), Some(title), Some(status), Some(created)) = (key, title, status, created)
    else {
        return Err(DlError::bad("the issue is incomplete"));
    };
    // An incident reported as done gets a resolution date (compat/ingest.md §2.6).
    if status == IssueStatus::Done && resolved.is_none() {
        resolved = Some(updated.unwrap_or(now));
    }
    if lead.unwrap_or(0) == 0 {
        if let Some(r) = resolved {
            lead = Some(lead_time_minutes(created, r));
        }
    }
    let issue_type = f.text("type");
    let incident = issue_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("INCIDENT"));
    Ok(NewIssue {
        integration_id: integration,
        issue_key: key,
        title,
        status,
        original_status: f
            .text("original_status")
            .unwrap_or_else(|| status.as_str().to_owned()),
        issue_type,
        incident,
        url: f.text("url"),
        description: f.text("description"),
        priority: f.text("priority"),
        severity: f.text("severity"),
        component: f.text("component"),
        created_date: created,
        updated_date: updated,
        resolution_date: resolved,
        lead_time_minutes: lead,
        fields: Value::Object(map).to_string(),
    })
}

fn json_problem(p: JsonProblem) -> DlError {
    DlError::bad(match p {
        JsonProblem::Invalid => "the request body is not valid JSON",
        JsonProblem::NotAnObject => "the request body must be a JSON object",
        JsonProblem::Nul => "the request body contains a NUL character",
    })
}

// ---- routing and auth ---------------------------------------------------------------------

/// Which connection a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Conn {
    Id(i64),
    Name(String),
}

/// What a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Deployments,
    Issues,
    Close(String),
}

/// Reads the path after `…/plugins/webhook/`. `Err` is the answer (`400 invalid
/// connectionId`, `404`).
fn read_path(rest: &str) -> Result<(Conn, Op), DlError> {
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let not_found = || DlError::new(StatusCode::NOT_FOUND, "not found");
    let (conn, tail) = match parts.as_slice() {
        ["connections", "by-name", name, tail @ ..] => {
            if name.is_empty() || name.chars().count() > 100 {
                return Err(not_found());
            }
            (Conn::Name((*name).to_owned()), tail)
        }
        ["connections", id, tail @ ..] | [id, tail @ ..] => {
            if *id == "projects" {
                return Err(DlError::new(
                    StatusCode::NOT_FOUND,
                    "project webhooks are not served by ferry",
                ));
            }
            match id.parse::<i64>() {
                Ok(n) if n >= 1 => (Conn::Id(n), tail),
                _ => return Err(DlError::bad("invalid connectionId")),
            }
        }
        _ => return Err(not_found()),
    };
    let op = match tail {
        ["deployments"] => Op::Deployments,
        ["issues"] => Op::Issues,
        ["issue", key @ .., "close"] if !key.is_empty() && key.iter().all(|k| !k.is_empty()) => {
            Op::Close(key.join("/"))
        }
        ["pull_requests"] => {
            return Err(DlError::new(
                StatusCode::NOT_FOUND,
                "pull requests are not ingested by ferry",
            ))
        }
        _ => return Err(not_found()),
    };
    Ok((conn, op))
}

/// Checks the request's credentials against the connection (compat/ingest.md §2.2): a
/// Bearer key, or Basic auth whose password is the key; `none` accepts anything.
fn authorize(integration: &Integration, headers: &HeaderMap) -> Result<(), DlError> {
    if integration.auth == Some(DevLakeAuth::None) {
        return Ok(());
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(DlError::auth(StatusCode::UNAUTHORIZED, "token is missing"));
    };
    let malformed = || {
        DlError::auth(
            StatusCode::UNAUTHORIZED,
            "token is not present or malformed",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or_else(malformed)?;
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (_, password) = decoded.split_once(':').ok_or_else(malformed)?;
        password.to_owned()
    } else {
        return Err(malformed());
    };
    if key.is_empty() {
        return Err(malformed());
    }
    let given = hash_secret(&key);
    let stored = integration.secret_hash.as_deref().unwrap_or("");
    if given.len() == stored.len() && bool::from(given.as_bytes().ct_eq(stored.as_bytes())) {
        Ok(())
    } else {
        Err(DlError::auth(StatusCode::FORBIDDEN, "api key is invalid"))
    }
}

fn store_error(e: StoreError) -> DlError {
    tracing::error!(error.cause = %e, "DevLake ingestion failed");
    match e {
        StoreError::Unavailable(_) => DlError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable",
        ),
        _ => DlError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
    }
}

async fn connection(state: &AppState, conn: &Conn) -> Result<Integration, DlError> {
    let not_found = || DlError::new(StatusCode::NOT_FOUND, "connection not found");
    let found = match conn {
        Conn::Id(id) => {
            let key = format!("c:{id}");
            match state.integrations.get(&key) {
                Some(i) => Some(i),
                None => {
                    let found = state
                        .store
                        .integration(IntegrationId(*id))
                        .await
                        .map_err(store_error)?;
                    if let Some(i) = &found {
                        state.integrations.put(key, i.clone());
                    }
                    found
                }
            }
        }
        Conn::Name(name) => state
            .store
            .integrations_by_name(name)
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|i| i.kind == IntegrationKind::DevLake),
    };
    found
        .filter(|i| i.kind == IntegrationKind::DevLake)
        .ok_or_else(not_found)
}

/// `POST {prefix}/{*rest}`: every DevLake route form.
pub async fn route(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, path, &headers, body).await {
        Ok(()) => success(),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), DlError> {
    let Ok(Path(rest)) = path else {
        return Err(DlError::new(StatusCode::NOT_FOUND, "not found"));
    };
    let (conn, op) = read_path(&rest)?;
    let integration = connection(state, &conn).await?;
    authorize(&integration, headers)?;
    let raw = match body_bytes(body) {
        Ok(raw) => raw,
        Err(BodyProblem::TooLarge) => {
            return Err(DlError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than the limit",
            ))
        }
        Err(BodyProblem::Unreadable) => {
            return Err(DlError::bad("the request body could not be read"))
        }
    };
    let now = Timestamp::now();
    match op {
        Op::Deployments => {
            let d = parse_deployment(&raw, now)?;
            let new = to_new(integration.id, d);
            state
                .store
                .ingest_deployment(new)
                .await
                .map_err(store_error)?;
        }
        Op::Issues => {
            let issue = parse_issue(&raw, integration.id, now)?;
            state.store.upsert_issue(issue).await.map_err(store_error)?;
        }
        Op::Close(key) => match state.store.close_issue(integration.id, &key, now).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(DlError::new(StatusCode::NOT_FOUND, "issue not found"))
            }
            Err(e) => return Err(store_error(e)),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn deploy(v: Value) -> Result<DlDeploy, DlError> {
        parse_deployment(v.to_string().as_bytes(), Timestamp::from_unix(NOW))
    }

    #[test]
    fn paths() {
        assert_eq!(
            read_path("1/deployments"),
            Ok((Conn::Id(1), Op::Deployments))
        );
        assert_eq!(
            read_path("connections/2/issues/"),
            Ok((Conn::Id(2), Op::Issues))
        );
        assert_eq!(
            read_path("1/issue/DLK-1234/close"),
            Ok((Conn::Id(1), Op::Close("DLK-1234".into())))
        );
        assert_eq!(
            read_path("connections/by-name/ci/deployments"),
            Ok((Conn::Name("ci".into()), Op::Deployments))
        );
        for bad in [
            "0/deployments",
            "x/deployments",
            "-1/issues",
            "connections/x/issues",
        ] {
            let e = read_path(bad).expect_err(bad);
            assert_eq!(
                (e.status, e.message.as_str()),
                (StatusCode::BAD_REQUEST, "invalid connectionId")
            );
        }
        assert_eq!(
            read_path("1/nothing").expect_err("404").status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            read_path("1/issue//close").expect_err("404").status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn generation_a_single_and_multi() {
        let d = deploy(
            json!({"repo_url": "https://github.com/a/b", "commit_sha": "c1",
                              "start_time": "2020-01-01T12:00:00+00:00"}),
        )
        .expect("valid");
        assert_eq!(d.key, "commit:https://github.com/a/b@c1");
        assert_eq!(d.finished_at.unix(), NOW);
        assert_eq!(d.result, DeployResult::Success);
        assert_eq!(d.environment, "PRODUCTION");
        assert_eq!(d.name, "deployment for c1");
        let d = deploy(json!({"pipeline_id": 5, "start_time": "2020-01-01", "result": "failure",
            "deploymentCommits": [{"repo_url": "r1", "commit_sha": "c1"}, {"repo_url": "r2", "commit_sha": "c2"}]}))
        .expect("valid");
        assert_eq!(
            (d.key.as_str(), d.name.as_str()),
            ("pipeline:5", "deployment for c1,c2")
        );
        assert_eq!(d.result, DeployResult::Failure);
        let e = deploy(json!({"start_time": "x"})).expect_err("invalid");
        assert_eq!(
            e.causes,
            vec![
                "repo_url is required",
                "commit_sha is required",
                "invalid time: start_time"
            ]
        );
    }

    #[test]
    fn generation_b() {
        let d = deploy(json!({"id": "gha-run-4711", "result": "FAILURE", "environment": "PRODUCTION",
            "originalEnvironment": "prod-eu-1", "startedDate": "2024-06-01T12:00:00+00:00",
            "finishedDate": "2024-06-01T12:05:30Z",
            "deploymentCommits": [{"repoUrl": "https://github.com/acme/api", "commitSha": "015e"}]}))
        .expect("valid");
        assert_eq!(d.key, "id:gha-run-4711");
        assert_eq!(d.environment, "prod-eu-1");
        assert_eq!(d.name, "deploy 015e to prod-eu-1");
        let e = deploy(json!({"id": 1, "startedDate": "2024-06-01", "finishedDate": "2024-06-01"}))
            .expect_err("no commits");
        assert_eq!(e.message, "deployment_commits is empty");
        let e = deploy(
            json!({"ID": 1, "STARTEDDATE": "2024-06-01", "finishedDate": "2024-06-01",
            "result": "meh", "deploymentCommits": [{"repoUrl": "r"}]}),
        )
        .expect_err("invalid");
        assert_eq!(
            e.causes,
            vec![
                "deploymentCommits[0].commitSha is required",
                "result must be one of SUCCESS, FAILURE, ABORT, MANUAL"
            ]
        );
    }

    #[test]
    fn issues() {
        let i = parse_issue(
            json!({"issue_key": "DLK-1", "title": "t", "type": "incident", "status": "DONE",
                   "created_date": "2020-01-01T12:00:00+00:00", "updated_date": "2020-01-01T13:30:00+00:00"})
            .to_string()
            .as_bytes(),
            IntegrationId(1),
            Timestamp::from_unix(NOW),
        )
        .expect("valid");
        assert!(i.incident);
        assert_eq!(i.original_status, "DONE");
        assert_eq!(i.lead_time_minutes, Some(90));
        let e = parse_issue(
            b"{\"issueKey\": \"K\"}",
            IntegrationId(1),
            Timestamp::from_unix(NOW),
        )
        .expect_err("invalid");
        assert_eq!(
            e.causes,
            vec![
                "title is required",
                "status is required",
                "createdDate is required"
            ]
        );
        let e = parse_issue(b"[]", IntegrationId(1), Timestamp::from_unix(NOW)).expect_err("array");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
