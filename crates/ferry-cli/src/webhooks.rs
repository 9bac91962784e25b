//! `ferry webhook add|list|deliveries|redeliver`: outbound subscriptions to deployment events
//! and their delivery log (`/api/v1/webhooks`, admin token).

use crate::client::Conn;
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use ferry_api_types::native::{DeliveryInfo, WebhookInfo};
use reqwest::Method;
use serde_json::json;

#[derive(Args)]
pub struct WebhookArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: WebhookCommand,
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Subscribe a URL to deployment events (a `ping` is sent at once).
    Add {
        /// http:// or https:// URL deliveries are POSTed to.
        url: String,
        /// Secret that signs each delivery (X-Hub-Signature-256).
        #[arg(long, env = "FERRY_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// deployment, deployment_status (repeat or comma-separate; default both).
        #[arg(long = "event", value_delimiter = ',')]
        events: Vec<String>,
        /// owner/name to hear about (repeat; default every repository).
        #[arg(long = "repo")]
        repos: Vec<String>,
    },
    /// List subscriptions.
    List,
    /// The delivery log of a subscription, newest first.
    Deliveries {
        /// Subscription id.
        id: i64,
        /// Show one delivery with every attempt.
        #[arg(long)]
        delivery: Option<i64>,
    },
    /// Send a delivery again (same X-GitHub-Delivery guid).
    Redeliver {
        /// Subscription id.
        id: i64,
        /// Delivery id.
        delivery: i64,
    },
}

pub async fn webhook(a: WebhookArgs) -> anyhow::Result<()> {
    match a.command {
        WebhookCommand::Add {
            url,
            secret,
            events,
            repos,
        } => {
            let mut body = json!({"url": url, "secret": secret, "repositories": repos});
            if !events.is_empty() {
                body["events"] = json!(events);
            }
            let h: WebhookInfo = a
                .conn
                .call(Method::POST, "/api/v1/webhooks", Some(body))
                .await?;
            println!(
                "created webhook {} → {} ({})",
                h.id,
                h.url,
                h.events.join(", ")
            );
        }
        WebhookCommand::List => {
            let hooks: Vec<WebhookInfo> =
                a.conn.call(Method::GET, "/api/v1/webhooks", None).await?;
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "ID",
                "URL",
                "EVENTS",
                "REPOSITORIES",
                "ACTIVE",
            ]);
            for h in hooks {
                let repos = if h.repositories.is_empty() {
                    "all".to_owned()
                } else {
                    h.repositories.join(", ")
                };
                table.add_row(vec![
                    h.id.to_string(),
                    h.url,
                    h.events.join(", "),
                    repos,
                    if h.active { "yes" } else { "no" }.to_owned(),
                ]);
            }
            println!("{table}");
        }
        WebhookCommand::Deliveries { id, delivery } => {
            let list: Vec<DeliveryInfo> = match delivery {
                Some(d) => vec![
                    a.conn
                        .call(
                            Method::GET,
                            &format!("/api/v1/webhooks/{id}/deliveries/{d}"),
                            None,
                        )
                        .await?,
                ],
                None => {
                    a.conn
                        .call(
                            Method::GET,
                            &format!("/api/v1/webhooks/{id}/deliveries"),
                            None,
                        )
                        .await?
                }
            };
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "ID",
                "EVENT",
                "STATE",
                "ATTEMPTS",
                "LAST CODE",
                "CREATED",
                "GUID",
            ]);
            for d in &list {
                table.add_row(vec![
                    d.id.to_string(),
                    d.event.clone(),
                    d.state.clone(),
                    d.attempts.to_string(),
                    d.last_status_code.map_or("-".into(), |c| c.to_string()),
                    d.created_at.clone(),
                    d.guid.clone(),
                ]);
            }
            println!("{table}");
            for d in &list {
                for at in d.log.iter().flatten() {
                    println!(
                        "  {}  {}  {} ms{}",
                        at.at,
                        at.status_code.map_or("-".into(), |c| c.to_string()),
                        at.duration_ms,
                        at.error
                            .as_deref()
                            .map(|e| format!("  {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        WebhookCommand::Redeliver { id, delivery } => {
            let _: serde_json::Value = a
                .conn
                .call(
                    Method::POST,
                    &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
                    None,
                )
                .await?;
            println!("delivery {delivery} of webhook {id} queued for redelivery");
        }
    }
    Ok(())
}
