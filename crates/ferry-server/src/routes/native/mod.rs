//! ferry's own API (`/api/v1`). Each handler is annotated for the OpenAPI document served at
//! `/api/openapi.json` (see [`ApiDoc`]).

pub mod deployments;
pub mod dora;
pub mod imports;
pub mod incidents;
pub mod integrations;
pub mod pulls;
pub mod repos;
pub mod services;
pub mod tokens;
pub mod webhooks;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use ferry_api_types::native as api;
use ferry_domain::RepoSlug;
use ferry_store::model::Repo;
use utoipa::OpenApi;

/// The repository of a `/api/v1/repos/{owner}/{repo}/…` path, read fresh from the store;
/// `404 not_found` when the name is invalid or unknown.
pub async fn path_repo(state: &AppState, owner: &str, name: &str) -> ApiResult<Repo> {
    let slug = RepoSlug::new(owner, name).map_err(|_| ApiError::not_found("repository"))?;
    state
        .store
        .repo_by_slug(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "ferry API", description = "ferry's own API. The GitHub-compatible API under /api/v3 is described by GitHub's OpenAPI description."),
    paths(
        tokens::create, tokens::list, tokens::delete,
        repos::create, repos::list, repos::get, repos::update,
        deployments::list,
        integrations::create, integrations::list, integrations::delete, imports::import,
        services::create, services::list, services::get, services::update, services::delete,
        services::suggestions, services::accept, services::dismiss,
        incidents::list, incidents::create, incidents::resolve,
        pulls::create, dora::report, dora::series,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::deliveries, webhooks::delivery, webhooks::redeliver, webhooks::github_deliveries, webhooks::auto_deploys,
    ),
    components(schemas(
        api::ErrorBody, api::ErrorDetail, api::CreateToken, api::TokenInfo, api::CreatedToken,
        api::CreateRepo, api::RepoInfo, api::DeploymentInfo, api::DeployerInfo, api::CommitInfo,
        api::CreateIntegration, api::IntegrationInfo, api::CreatedIntegration,
        api::ServiceBody, api::ServiceInfo, api::SuggestionInfo, api::AcceptSuggestion,
        api::IncidentInfo, api::ImportResult, api::ImportError,
        api::CreateIncident, api::ResolveIncident, api::CreatePull, api::PullCommit, api::PullInfo,
        api::GithubSettings, api::PatchRepo, api::GithubInfo, api::CreateWebhook, api::PatchWebhook,
        api::WebhookInfo, api::DeliveryInfo, api::AttemptInfo, api::GithubDeliveryInfo,
        api::AutoDeployInfo,
    )),
    modifiers(&TokenAuth),
    security(("token" = []))
)]
pub struct ApiDoc;

struct TokenAuth;

impl utoipa::Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
