//! Start-up: open and migrate the store, make sure an admin token exists, bind, serve.
//!
//! [`App::build`] binds before returning so callers (tests, the CLI) learn the real address
//! when they asked for port 0, and print it only once connections are accepted.

use crate::config::Config;
use crate::dora::DoraKeeper;
use crate::events::outbox::Outbox;
use crate::extract::auth::{generate_token, hash_token};
use crate::git::Mirrors;
use crate::router;
use crate::state::AppState;
use crate::telemetry;
use crate::urls::Urls;
use anyhow::Context;
use axum::Router;
use ferry_domain::Scope;
use ferry_store::model::NewToken;
use ferry_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    external_url: String,
    /// Set when this start created the first admin token: shown once, never stored.
    pub new_admin_token: Option<String>,
}

/// Opens the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<ferry_store::SqlStore> {
    let store = ferry_store::connect(config.database_url.expose())
        .await
        .context("opening the database")?;
    ferry_store::migrate(&store)
        .await
        .context("migrating the database")?;
    Ok(store)
}

/// Accepts `--admin-token`, and creates an admin token when the database has none.
async fn bootstrap_tokens(store: &dyn Store, config: &Config) -> anyhow::Result<Option<String>> {
    if let Some(t) = &config.admin_token {
        store
            .ensure_token(NewToken {
                name: "admin".into(),
                scopes: vec![Scope::Admin],
                token_hash: hash_token(t.expose()),
            })
            .await
            .context("registering the configured admin token")?;
    }
    if store.count_admin_tokens().await? > 0 {
        return Ok(None);
    }
    let secret = generate_token();
    store
        .create_token(NewToken {
            name: "admin".into(),
            scopes: vec![Scope::Admin],
            token_hash: hash_token(&secret),
        })
        .await?;
    Ok(Some(secret))
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let store: Arc<dyn Store> = Arc::new(open_store(&config).await?);
        let new_admin_token = bootstrap_tokens(store.as_ref(), &config).await?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let external_url = config
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let mirrors = Arc::new(Mirrors::new(&config.data_dir));
        let dora = DoraKeeper::new(
            Arc::clone(&store),
            Arc::clone(&mirrors),
            config.dora_production_environments.clone(),
        );
        dora.spawn();
        let urls = Arc::new(Urls::new(&external_url));
        Outbox::new(Arc::clone(&store), Arc::clone(&urls), config.outbox.clone()).spawn();
        let state = AppState {
            store,
            mirrors,
            dora,
            urls,
            github_webhook_secret: config.github_webhook_secret.clone().map(Arc::new),
            metrics: telemetry::metrics_handle(),
            tokens: Default::default(),
            repos: Default::default(),
            integrations: Default::default(),
        };
        Ok(App {
            listener,
            router: router::build(state, config.body_limit),
            addr,
            external_url,
            new_admin_token,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn external_url(&self) -> &str {
        &self.external_url
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")
    }
}
