//! `POST /integrations/deploy/<uuid>`: OpsLevel Custom Deploys (compat/ingest.md §1).
//!
//! The uuid is the secret: it is looked up by its hash, lower-cased, so any case works.
//! Answers are OpsLevel's, byte for byte: `202` with `{"result": "ok"}`, the
//! `no_service_found` and `duplicate_deploy` bodies, and errors as
//! `{"errors":[{status,title,detail}]}`.

use super::{body_bytes, hash_secret, json_object, scalar, text, BodyProblem, JsonProblem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_domain::ingest::{
    parse_ingest_time, DedupScope, DeployResult, IntegrationKind, ServiceAlias,
};
use ferry_domain::{DeploymentSource, Timestamp};
use ferry_store::model::{Ingested, IngestedCommit, Integration, NewIngestedDeployment, OnRepeat};
use serde::Serialize;
use serde_json::{Map, Value};

/// The environment of a deploy that names none: ferry has no per-service default
/// environment yet (decision D21).
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// One entry of OpsLevel's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpsError {
    pub status: u16,
    pub title: String,
    pub detail: String,
}

impl OpsError {
    fn bad(title: &str, detail: impl Into<String>) -> OpsError {
        OpsError {
            status: 400,
            title: title.to_owned(),
            detail: detail.into(),
        }
    }

    fn missing(key: &str) -> OpsError {
        OpsError::bad(
            &title_of(key),
            format!("param is missing or the value is empty: {key}"),
        )
    }
}

/// `deployed_at` → `Deployed at Error` (the doc's example), `service` → `Service Error`.
fn title_of(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => format!("{}{} Error", first.to_uppercase(), chars.as_str()),
        None => "Error".to_owned(),
    }
}

/// A parsed OpsLevel deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsDeploy {
    pub service: ServiceAlias,
    pub description: String,
    pub deployed_at: Timestamp,
    pub deploy_url: Option<String>,
    pub dedup_id: Option<String>,
    pub environment: Option<String>,
    pub deploy_number: Option<String>,
    pub deployer_email: Option<String>,
    pub deployer_name: Option<String>,
    pub deployer_id: Option<String>,
    pub commit: Option<IngestedCommit>,
}

/// Parses a request body. Errors are OpsLevel's, one per missing required field in the
/// doc's table order (`service`, `description`, `deployed_at`), then value errors.
pub fn parse(raw: &[u8]) -> Result<OpsDeploy, Vec<OpsError>> {
    let body = json_object(raw).map_err(|p| {
        vec![OpsError::bad(
            "Parse Error",
            match p {
                JsonProblem::Invalid => "the request body is not valid JSON",
                JsonProblem::NotAnObject => "the request body must be a JSON object",
                JsonProblem::Nul => "the request body contains a NUL character",
            },
        )]
    })?;
    parse_object(&body)
}

fn parse_object(body: &Map<String, Value>) -> Result<OpsDeploy, Vec<OpsError>> {
    let mut errors = Vec::new();
    let service = text(body.get("service"));
    let description = text(body.get("description"));
    let deployed_at = text(body.get("deployed_at"));
    for (key, value) in [
        ("service", &service),
        ("description", &description),
        ("deployed_at", &deployed_at),
    ] {
        if value.is_none() {
            errors.push(OpsError::missing(key));
        }
    }
    let service = service.and_then(|s| match ServiceAlias::parse(&s) {
        Ok(a) => Some(a),
        Err(_) => {
            errors.push(OpsError::bad(
                "Service Error",
                "invalid value: service (at most 255 characters, no control characters)",
            ));
            None
        }
    });
    let deployed_at = deployed_at.and_then(|s| match parse_ingest_time(&s) {
        Some(t) => Some(t),
        None => {
            errors.push(OpsError::bad(
                "Deployed at Error",
                "invalid datetime: deployed_at",
            ));
            None
        }
    });
    let deployer = body.get("deployer").and_then(Value::as_object);
    let commit = body.get("commit").and_then(Value::as_object).and_then(|c| {
        let sha = text(c.get("sha"));
        let message = text(c.get("message"));
        let branch = text(c.get("branch"));
        if sha.is_none() && message.is_none() && branch.is_none() {
            return None;
        }
        // Commit dates are informative: an unparseable one is dropped, not refused.
        let authored_at = text(c.get("authoring_date"))
            .or_else(|| text(c.get("date")))
            .and_then(|d| parse_ingest_time(&d));
        Some(IngestedCommit {
            repo_url: String::new(),
            sha: sha.unwrap_or_default(),
            ref_name: branch,
            message,
            name: None,
            authored_at,
            author: text(c.get("author_name")).or_else(|| text(c.get("author_email"))),
            repo: None,
        })
    });
    let (Some(service), Some(description), Some(deployed_at), true) =
        (service, description, deployed_at, errors.is_empty())
    else {
        return Err(errors);
    };
    Ok(OpsDeploy {
        service,
        description,
        deployed_at,
        deploy_url: text(body.get("deploy_url")),
        dedup_id: body
            .get("dedup_id")
            .and_then(|v| scalar(v).ok().flatten())
            .filter(|s| !s.is_empty()),
        environment: text(body.get("environment")),
        deploy_number: text(body.get("deploy_number")),
        deployer_email: deployer.and_then(|d| text(d.get("email"))),
        deployer_name: deployer.and_then(|d| text(d.get("name"))),
        deployer_id: deployer.and_then(|d| text(d.get("id"))),
        commit,
    })
}

/// What the store records for a parsed deploy: a successful, finished deploy at
/// `deployed_at` (OpsLevel has no result or duration).
///
/// The deploy's identity within its integration: the `dedup_id`, or with
/// `dedup_scope = dedup_id+deploy_number` the pair (`<dedup_id>#<deploy_number>`).
pub fn to_new(integration: &Integration, d: OpsDeploy) -> NewIngestedDeployment {
    let external_key = match (integration.dedup_scope, d.dedup_id, &d.deploy_number) {
        (DedupScope::DedupIdAndNumber, Some(id), Some(n)) => Some(format!("{id}#{n}")),
        (_, id, _) => id,
    };
    NewIngestedDeployment {
        integration_id: integration.id,
        source: DeploymentSource::OpsLevel,
        external_key,
        on_repeat: OnRepeat::KeepFirst,
        service_alias: Some(d.service),
        deploy_number: d.deploy_number,
        generate_number: true,
        environment: d
            .environment
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned()),
        name: None,
        description: Some(d.description),
        result: DeployResult::Success,
        deployer_name: d.deployer_name,
        deployer_email: d.deployer_email,
        deployer_id: d.deployer_id,
        deploy_url: d.deploy_url,
        started_at: d.deployed_at,
        finished_at: d.deployed_at,
        commits: d.commit.into_iter().collect(),
    }
}

/// With `strict_deployer`, a deploy needs a deployer e-mail or name (compat/ingest.md §1.6).
pub fn check_deployer(integration: &Integration, d: &OpsDeploy) -> Result<(), OpsError> {
    if integration.strict_deployer && d.deployer_email.is_none() && d.deployer_name.is_none() {
        return Err(OpsError::missing("deployer"));
    }
    Ok(())
}

/// A JSON answer with exactly these bytes.
fn exact(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn errors(status: StatusCode, errors: Vec<OpsError>) -> Response {
    #[derive(Serialize)]
    struct Body {
        errors: Vec<OpsError>,
    }
    let errors = errors
        .into_iter()
        .map(|e| OpsError {
            status: status.as_u16(),
            ..e
        })
        .collect();
    match serde_json::to_string(&Body { errors }) {
        Ok(text) => exact(status, text),
        Err(_) => status.into_response(),
    }
}

fn one_error(status: StatusCode, title: &str, detail: &str) -> Response {
    errors(status, vec![OpsError::bad(title, detail)])
}

/// The `202` bodies, as the OpsLevel doc prints them.
pub fn ok_body() -> String {
    r#"{"result": "ok"}"#.to_owned()
}

pub fn no_service_body(alias: &str) -> String {
    let quoted = |s: String| serde_json::to_string(&s).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        r#"{{"result": "no_service_found", "message": {}}}"#,
        quoted(format!(
            "No service found matching alias '{alias}'. Recording '{alias}' as a suggestion."
        ))
    )
}

pub fn duplicate_body() -> String {
    r#"{"result": "duplicate_deploy", "message":"Deploy not created due to existing deploy with identical dedup_id"}"#
        .to_owned()
}

/// `POST /integrations/deploy/{uuid}`.
pub async fn deploy(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let not_found = || one_error(StatusCode::NOT_FOUND, "Not Found", "integration not found");
    let Ok(Path(uuid)) = path else {
        return not_found();
    };
    let uuid = uuid.trim().to_lowercase();
    if uuid::Uuid::parse_str(&uuid).is_err() {
        return not_found();
    }
    let key = format!("s:{}", hash_secret(&uuid));
    let integration = match state.integrations.get(&key) {
        Some(i) => i,
        None => match state.store.integration_by_secret(&key[2..]).await {
            Ok(Some(i)) if i.kind == IntegrationKind::OpsLevel => {
                state.integrations.put(key, i.clone());
                i
            }
            Ok(_) => return not_found(),
            Err(e) => return store_failure(e),
        },
    };
    let raw = match body_bytes(body) {
        Ok(raw) => raw,
        Err(BodyProblem::TooLarge) => {
            return one_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                "the request body is larger than the limit",
            )
        }
        Err(BodyProblem::Unreadable) => {
            return one_error(
                StatusCode::BAD_REQUEST,
                "Parse Error",
                "the request body could not be read",
            )
        }
    };
    let d = match parse(&raw) {
        Ok(d) => d,
        Err(errs) => return errors(StatusCode::BAD_REQUEST, errs),
    };
    if let Err(e) = check_deployer(&integration, &d) {
        return errors(StatusCode::BAD_REQUEST, vec![e]);
    }
    let alias = d.service.as_str().to_owned();
    let new = to_new(&integration, d);
    match state.store.ingest_deployment(new).await {
        Ok(Ingested::Created {
            service_matched: true,
            ..
        })
        | Ok(Ingested::Updated { .. }) => exact(StatusCode::ACCEPTED, ok_body()),
        Ok(Ingested::Created {
            service_matched: false,
            ..
        }) => exact(StatusCode::ACCEPTED, no_service_body(&alias)),
        Ok(Ingested::Duplicate) => exact(StatusCode::ACCEPTED, duplicate_body()),
        Err(e) => store_failure(e),
    }
}

fn store_failure(e: ferry_store::StoreError) -> Response {
    tracing::error!(error.cause = %e, "OpsLevel ingestion failed");
    let status = match e {
        ferry_store::StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    one_error(status, "Server Error", "the deploy could not be recorded")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(v: Value) -> Vec<(String, String)> {
        parse(v.to_string().as_bytes())
            .expect_err("refused")
            .into_iter()
            .map(|e| (e.title, e.detail))
            .collect()
    }

    #[test]
    fn required_fields_in_table_order() {
        assert_eq!(
            errs(json!({"deployer": {}})),
            vec![
                (
                    "Service Error".into(),
                    "param is missing or the value is empty: service".into()
                ),
                (
                    "Description Error".into(),
                    "param is missing or the value is empty: description".into()
                ),
                (
                    "Deployed at Error".into(),
                    "param is missing or the value is empty: deployed_at".into()
                ),
            ]
        );
        assert_eq!(
            errs(json!({"service": "a", "description": "", "deployed_at": "2019-02-01 13:28:33"})),
            vec![(
                "Description Error".into(),
                "param is missing or the value is empty: description".into()
            )]
        );
        assert_eq!(
            errs(json!({"service": "a", "description": "d", "deployed_at": "soon"})),
            vec![(
                "Deployed at Error".into(),
                "invalid datetime: deployed_at".into()
            )]
        );
        assert_eq!(parse(b"{").expect_err("bad")[0].title, "Parse Error");
        assert_eq!(parse(b"[1]").expect_err("bad")[0].title, "Parse Error");
    }

    #[test]
    fn weak_types_and_optional_parts() {
        let d = parse(
            json!({"service": " jenkins:deploy-api ", "description": "d",
                   "deployed_at": "2019-02-01T13:28:33Z", "deploy_number": 234,
                   "dedup_id": 77, "environment": "Production"})
            .to_string()
            .as_bytes(),
        )
        .expect("valid");
        assert_eq!(d.service.as_str(), "jenkins:deploy-api");
        assert_eq!(d.deploy_number.as_deref(), Some("234"));
        assert_eq!(d.dedup_id.as_deref(), Some("77"));
        assert_eq!(d.deployer_name, None);
        assert_eq!(d.commit, None);
    }

    #[test]
    fn answers() {
        assert_eq!(
            no_service_body("not_found_alias"),
            r#"{"result": "no_service_found", "message": "No service found matching alias 'not_found_alias'. Recording 'not_found_alias' as a suggestion."}"#
        );
        assert_eq!(title_of("deployed_at"), "Deployed at Error");
    }
}
