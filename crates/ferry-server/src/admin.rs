//! Administration on the database directly, for `ferry admin …` (no server running needed).

use crate::config::Config;
use crate::extract::auth::{generate_token, hash_token};
use crate::startup::open_store;
use anyhow::Context;
use ferry_domain::Scope;
use ferry_store::model::NewToken;
use ferry_store::TokenStore;

/// Creates a token with the given scopes and returns its secret (shown once).
pub async fn create_token(
    config: &Config,
    name: &str,
    scopes: &[String],
) -> anyhow::Result<String> {
    let scopes = scopes
        .iter()
        .map(|s| s.trim().parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .context("parsing scopes")?;
    if name.trim().is_empty() || scopes.is_empty() {
        anyhow::bail!("a token needs a name and at least one scope");
    }
    let store = open_store(config).await?;
    let secret = generate_token();
    store
        .create_token(NewToken {
            name: name.trim().to_owned(),
            scopes,
            token_hash: hash_token(&secret),
        })
        .await?;
    store.close().await;
    Ok(secret)
}
