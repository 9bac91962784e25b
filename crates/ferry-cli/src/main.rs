//! The `ferry` binary.
//!
//! - Client commands (`deploy`, `status`, `deployments`, `repo`, `token`) talk to a server over
//!   HTTP only ([`client`]); so do the ingestion ones (`integration`, `service`, `incidents`,
//!   `import`, [`ingest`]), `dora` and `webhook` ([`webhooks`]). They work in a build without the `server` feature.
//! - `serve`, `migrate` and `admin` need the database and exist with the `server` feature
//!   (on by default) ([`server`]).

/// mimalloc for every allocation of the process, the bundled SQLite's included (the
/// `override` feature replaces `malloc`/`free`): glibc's allocator was a quarter of the SQLite
/// writer's time under ingestion load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod dora;
mod ingest;
#[cfg(feature = "server")]
mod server;
mod webhooks;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "ferry: a self-hosted deployment control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    #[cfg(feature = "server")]
    Serve(server::ServeArgs),
    /// Apply pending database migrations and exit.
    #[cfg(feature = "server")]
    Migrate(server::DbArgs),
    /// Administration on the database directly (no server needed).
    #[cfg(feature = "server")]
    Admin(server::AdminArgs),
    /// Create a deployment.
    Deploy(client::DeployArgs),
    /// Add a status to a deployment.
    Status(client::StatusArgs),
    /// List deployments of every source (API, OpsLevel, DevLake), newest first.
    Deployments(client::DeploymentsArgs),
    /// Manage repositories.
    Repo(client::RepoArgs),
    /// Manage API tokens.
    Token(client::TokenArgs),
    /// Manage ingestion integrations (OpsLevel endpoints, DevLake connections).
    Integration(ingest::IntegrationArgs),
    /// Manage the service catalog and its suggestions.
    Service(ingest::ServiceArgs),
    /// List incidents.
    Incidents(ingest::IncidentsArgs),
    /// Backfill deploys from an NDJSON file of an integration's payloads (idempotent).
    Import(ingest::ImportArgs),
    /// The four DORA metrics and their levels.
    Dora(dora::DoraArgs),
    /// Manage outbound webhook subscriptions and their deliveries.
    Webhook(webhooks::WebhookArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            #[cfg(feature = "server")]
            Command::Serve(a) => server::serve(a).await,
            #[cfg(feature = "server")]
            Command::Migrate(a) => server::migrate(a).await,
            #[cfg(feature = "server")]
            Command::Admin(a) => server::admin(a).await,
            Command::Deploy(a) => client::deploy(a).await,
            Command::Status(a) => client::status(a).await,
            Command::Deployments(a) => client::deployments(a).await,
            Command::Repo(a) => client::repo(a).await,
            Command::Token(a) => client::token(a).await,
            Command::Integration(a) => ingest::integration(a).await,
            Command::Service(a) => ingest::service(a).await,
            Command::Incidents(a) => ingest::incidents(a).await,
            Command::Import(a) => ingest::import(a).await,
            Command::Dora(a) => dora::dora(a).await,
            Command::Webhook(a) => webhooks::webhook(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
