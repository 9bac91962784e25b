//! `ferry serve`, `ferry migrate`, `ferry admin …`: the commands that run on the database.

use anyhow::Context;
use clap::{Args, Subcommand};
use ferry_server::{Config, Overrides, Secret};
use std::path::PathBuf;

/// Flags shared by every command that opens the database.
#[derive(Args, Clone)]
pub struct DbArgs {
    /// Path of a ferry.toml.
    #[arg(long, env = "FERRY_CONFIG")]
    config: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…` [default: sqlite://./ferry-data/ferry.db]
    #[arg(long, env = "FERRY_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to bind; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "FERRY_LISTEN")]
    listen: Option<String>,
    /// Base of every absolute URL ferry returns [default: http://<listen>]
    #[arg(long, env = "FERRY_EXTERNAL_URL")]
    external_url: Option<String>,
    /// An admin API token to accept (stored hashed).
    #[arg(long, env = "FERRY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Git mirrors and other local state [default: ./ferry-data]
    #[arg(long, env = "FERRY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Installation-wide secret of inbound GitHub webhooks (besides each repository's).
    #[arg(long, env = "FERRY_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    github_webhook_secret: Option<String>,
    /// First retry of a failed webhook delivery, in ms; doubles per attempt [default: 1000]
    #[arg(long, env = "FERRY_WEBHOOK_RETRY_BASE_MS")]
    webhook_retry_base_ms: Option<u64>,
    /// Longest wait between two attempts of a delivery, in ms [default: 600000]
    #[arg(long, env = "FERRY_WEBHOOK_RETRY_CAP_MS")]
    webhook_retry_cap_ms: Option<u64>,
    /// Failed attempts after which a delivery is dead (redeliver by hand) [default: 10]
    #[arg(long, env = "FERRY_WEBHOOK_MAX_ATTEMPTS")]
    webhook_max_attempts: Option<u32>,
}

fn config(db: DbArgs, o: Overrides) -> anyhow::Result<Config> {
    Config::resolve(Overrides {
        config: db.config,
        database_url: db.database_url,
        ..o
    })
}

pub async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    ferry_server::telemetry::init_logs();
    let config = config(
        a.db,
        Overrides {
            listen: a.listen,
            external_url: a.external_url,
            admin_token: a.admin_token.map(Secret::new),
            data_dir: a.data_dir,
            github_webhook_secret: a.github_webhook_secret.map(Secret::new),
            webhook_retry_base_ms: a.webhook_retry_base_ms,
            webhook_retry_cap_ms: a.webhook_retry_cap_ms,
            webhook_max_attempts: a.webhook_max_attempts,
            ..Default::default()
        },
    )?;
    let app = ferry_server::App::build(config).await?;
    if let Some(token) = &app.new_admin_token {
        println!("admin token (shown once, keep it): {token}");
    }
    println!("ferry listening on http://{}", app.local_addr());
    eprintln!("external URL: {}", app.external_url());
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub async fn migrate(a: DbArgs) -> anyhow::Result<()> {
    let config = config(a, Overrides::default())?;
    ferry_server::open_store(&config).await?;
    println!("migrations applied");
    Ok(())
}

#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an API token directly in the database and print it once.
    CreateToken {
        #[arg(long)]
        name: String,
        /// Comma-separated: admin, write, read, ingest.
        #[arg(long, value_delimiter = ',', default_value = "admin")]
        scopes: Vec<String>,
    },
}

pub async fn admin(a: AdminArgs) -> anyhow::Result<()> {
    let config = config(a.db, Overrides::default())?;
    match a.command {
        AdminCommand::CreateToken { name, scopes } => {
            let secret = ferry_server::admin::create_token(&config, &name, &scopes)
                .await
                .context("creating the token")?;
            println!("{secret}");
        }
    }
    Ok(())
}
