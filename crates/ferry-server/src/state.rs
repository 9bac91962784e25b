//! [`AppState`]: everything a handler may use, built once in `startup` and cloned per request
//! (all fields are shared pointers). No globals.

use crate::cache::Recent;
use crate::dora::DoraKeeper;
use crate::git::Mirrors;
use crate::secret::Secret;
use crate::urls::Urls;
use ferry_domain::RepoSlug;
use ferry_store::model::{Integration, Repo, Token};
use ferry_store::{Store, StoreResult};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub mirrors: Arc<Mirrors>,
    pub urls: Arc<Urls>,
    pub metrics: PrometheusHandle,
    /// Tokens by hash.
    pub tokens: Arc<Recent<String, Token>>,
    /// Repositories by lower-cased `owner/name`.
    pub repos: Arc<Recent<String, Repo>>,
    /// Ingestion integrations every post looks up: `s:<secret hash>` (OpsLevel uuid) or
    /// `c:<connection id>` (DevLake).
    pub integrations: Arc<Recent<String, Integration>>,
    /// DORA change data upkeep and report inputs.
    pub dora: Arc<DoraKeeper>,
    /// Installation-wide secret of inbound GitHub webhooks.
    pub github_webhook_secret: Option<Arc<Secret>>,
}

impl AppState {
    /// A repository by name, from the one-second cache every request path shares (a change
    /// through this instance clears its entry at once).
    pub async fn cached_repo(&self, slug: &RepoSlug) -> StoreResult<Option<Repo>> {
        let key = slug.key();
        if let Some(repo) = self.repos.get(&key) {
            return Ok(Some(repo));
        }
        let repo = self.store.repo_by_slug(slug).await?;
        if let Some(r) = &repo {
            self.repos.put(key, r.clone());
        }
        Ok(repo)
    }
}
