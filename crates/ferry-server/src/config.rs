//! Settings of `ferry serve`, resolved once at start-up.
//!
//! Precedence, highest first: command-line flags, `FERRY_*` environment variables (both
//! collected by the CLI into [`Overrides`]), `ferry.toml` (path from `--config`/`FERRY_CONFIG`),
//! built-in defaults (PRODUCT.md, "The binary").

use crate::events::outbox::OutboxSettings;
use crate::secret::Secret;
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./ferry-data/ferry.db";
pub const DEFAULT_DATA_DIR: &str = "./ferry-data";
/// Request bodies above this size get `413`.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// What flags and environment variables said; `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub external_url: Option<String>,
    pub admin_token: Option<Secret>,
    pub data_dir: Option<PathBuf>,
    pub github_webhook_secret: Option<Secret>,
    pub webhook_retry_base_ms: Option<u64>,
    pub webhook_retry_cap_ms: Option<u64>,
    pub webhook_max_attempts: Option<u32>,
}

/// `ferry.toml`: the same settings, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    external_url: Option<String>,
    admin_token: Option<Secret>,
    data_dir: Option<PathBuf>,
    dora: Option<DoraFileConfig>,
    github: Option<GithubFileConfig>,
    webhooks: Option<WebhooksFileConfig>,
}

/// `[github]` of `ferry.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GithubFileConfig {
    webhook_secret: Option<Secret>,
}

/// `[webhooks]` of `ferry.toml`: outbound delivery.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksFileConfig {
    retry_base_ms: Option<u64>,
    retry_cap_ms: Option<u64>,
    max_attempts: Option<u32>,
    timeout_ms: Option<u64>,
}

/// `[dora]` of `ferry.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoraFileConfig {
    /// Environment names (any case) that make an ingested deploy production-class besides
    /// production, prod and prd.
    production_environments: Option<Vec<String>>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// Redacted in `Debug`: it may carry a password.
    pub database_url: Secret,
    /// `None` until bound: then `http://<bound address>`.
    pub external_url: Option<String>,
    pub admin_token: Option<Secret>,
    pub data_dir: PathBuf,
    pub body_limit: usize,
    /// `dora.production_environments`, lower-cased.
    pub dora_production_environments: Vec<String>,
    /// Installation-wide secret of `POST /webhooks/github`.
    pub github_webhook_secret: Option<Secret>,
    pub outbox: OutboxSettings,
}

impl Config {
    /// Merges overrides over the config file over defaults.
    pub fn resolve(o: Overrides) -> anyhow::Result<Config> {
        let file = match &o.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let external_url = o
            .external_url
            .or(file.external_url)
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &external_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                anyhow::bail!("external URL must start with http:// or https://, got {u:?}");
            }
        }
        let hooks = file.webhooks.clone().unwrap_or_default();
        let defaults = OutboxSettings::default();
        let ms = Duration::from_millis;
        let outbox = OutboxSettings {
            retry_base: o
                .webhook_retry_base_ms
                .or(hooks.retry_base_ms)
                .map_or(defaults.retry_base, ms),
            retry_cap: o
                .webhook_retry_cap_ms
                .or(hooks.retry_cap_ms)
                .map_or(defaults.retry_cap, ms),
            max_attempts: o
                .webhook_max_attempts
                .or(hooks.max_attempts)
                .map_or(defaults.max_attempts, i64::from)
                .max(1),
            timeout: hooks.timeout_ms.map_or(defaults.timeout, ms),
        };
        Ok(Config {
            github_webhook_secret: o
                .github_webhook_secret
                .or(file.github.and_then(|g| g.webhook_secret))
                .filter(|s| !s.expose().is_empty()),
            outbox,
            listen: o
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.into()),
            database_url: o
                .database_url
                .map(Secret::new)
                .or(file.database_url.map(Secret::new))
                .unwrap_or_else(|| Secret::new(DEFAULT_DATABASE_URL.to_owned())),
            external_url,
            admin_token: o.admin_token.or(file.admin_token),
            data_dir: o
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            body_limit: DEFAULT_BODY_LIMIT,
            dora_production_environments: file
                .dora
                .and_then(|d| d.production_environments)
                .unwrap_or_default()
                .iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let dir = std::env::temp_dir().join(format!("ferry-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("ferry.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/tmp/x\"\nexternal_url = \"https://f.example/\"\n",
        )
        .expect("write");
        let c = Config::resolve(Overrides {
            config: Some(file),
            listen: Some("127.0.0.1:1".into()),
            ..Default::default()
        })
        .expect("resolve");
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.external_url.as_deref(), Some("https://f.example"));
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn dora_production_environments() {
        let dir = std::env::temp_dir().join(format!("ferry-cfg3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("ferry.toml");
        std::fs::write(
            &file,
            "[dora]\nproduction_environments = [\" Live \", \"\", \"EU-Prod\"]\n",
        )
        .expect("write");
        let c = Config::resolve(Overrides {
            config: Some(file),
            ..Default::default()
        })
        .expect("resolve");
        assert_eq!(c.dora_production_environments, vec!["live", "eu-prod"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn unknown_keys_and_bad_urls_fail() {
        let dir = std::env::temp_dir().join(format!("ferry-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("ferry.toml");
        std::fs::write(&file, "lisen = \"x\"\n").expect("write");
        assert!(Config::resolve(Overrides {
            config: Some(file),
            ..Default::default()
        })
        .is_err());
        assert!(Config::resolve(Overrides {
            external_url: Some("ftp://x".into()),
            ..Default::default()
        })
        .is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
