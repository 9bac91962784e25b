//! ferry's own API (`/api/v1`). Each handler is annotated for the OpenAPI document served at
//! `/api/openapi.json` (see [`ApiDoc`]).

pub mod deployments;
pub mod repos;
pub mod tokens;

use ferry_api_types::native as api;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "ferry API", description = "ferry's own API. The GitHub-compatible API under /api/v3 is described by GitHub's OpenAPI description."),
    paths(
        tokens::create, tokens::list, tokens::delete,
        repos::create, repos::list, repos::get,
        deployments::list,
    ),
    components(schemas(
        api::ErrorBody, api::ErrorDetail, api::CreateToken, api::TokenInfo, api::CreatedToken,
        api::CreateRepo, api::RepoInfo, api::DeploymentInfo,
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
