//! Client commands of ingestion: `ferry integration …`, `ferry service …`, `ferry incidents`
//! and `ferry import` (bulk backfill from NDJSON), over `/api/v1`.

use crate::client::{urlencode, Conn};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use ferry_api_types::native::{
    CreatedIntegration, ImportResult, IncidentInfo, IntegrationInfo, ServiceInfo, SuggestionInfo,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct IntegrationArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: IntegrationCommand,
}

#[derive(Subcommand)]
enum IntegrationCommand {
    /// Create an OpsLevel endpoint or a DevLake connection (admin); its URL and secret are
    /// printed once.
    Create {
        /// opslevel or devlake.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        /// DevLake only: bearer (default), basic or none.
        #[arg(long)]
        auth: Option<String>,
        /// OpsLevel only: dedup_id (default) or dedup_id+deploy_number (for senders whose
        /// dedup_id is the same every run, such as the CircleCI orb).
        #[arg(long)]
        dedup_scope: Option<String>,
        /// OpsLevel only: refuse deploys without deployer e-mail or name.
        #[arg(long)]
        strict_deployer: bool,
    },
    /// List integrations (admin).
    List,
    /// Revoke an integration (admin): its URL stops accepting posts; its deploys stay.
    Delete { id: i64 },
}

pub async fn integration(a: IntegrationArgs) -> anyhow::Result<()> {
    match a.command {
        IntegrationCommand::Create {
            kind,
            name,
            auth,
            dedup_scope,
            strict_deployer,
        } => {
            let mut body = json!({"kind": kind, "name": name});
            if let Some(auth) = auth {
                body["auth"] = json!(auth);
            }
            if let Some(scope) = dedup_scope {
                body["dedup_scope"] = json!(scope);
            }
            if strict_deployer {
                body["strict_deployer"] = json!(true);
            }
            let i: CreatedIntegration = a
                .conn
                .call(Method::POST, "/api/v1/integrations", Some(body))
                .await?;
            println!("created {} integration {} ({})", i.kind, i.id, i.name);
            println!("url:    {}", i.url);
            if let Some(secret) = &i.secret {
                println!(
                    "secret: {secret}   (shown once; send it as `Authorization: Bearer <secret>` \
                     or as the Basic auth password)"
                );
            } else if i.kind == "opslevel" {
                println!("        (shown once: the uuid in the URL is the secret)");
            }
        }
        IntegrationCommand::List => {
            let list: Vec<IntegrationInfo> = a
                .conn
                .call(Method::GET, "/api/v1/integrations", None)
                .await?;
            let mut table = Table::new();
            table
                .load_preset(UTF8_BORDERS_ONLY)
                .set_header(vec!["ID", "KIND", "NAME", "AUTH", "URL", "CREATED"]);
            for i in list {
                table.add_row(vec![
                    i.id.to_string(),
                    i.kind,
                    i.name,
                    i.auth.unwrap_or_else(|| "-".into()),
                    i.url.unwrap_or_else(|| "(secret)".into()),
                    i.created_at,
                ]);
            }
            println!("{table}");
        }
        IntegrationCommand::Delete { id } => {
            let _: Value = a
                .conn
                .call(Method::DELETE, &format!("/api/v1/integrations/{id}"), None)
                .await?;
            println!("revoked integration {id}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Create a service.
    Create {
        name: String,
        /// An alias ingested deploys may name it by; repeat the flag.
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// A repository (owner/name) of the service; repeat the flag.
        #[arg(long = "repo")]
        repos: Vec<String>,
    },
    /// List services.
    List,
    /// Show one service, by name or alias.
    Show { name: String },
    /// Change a service; given lists replace the current ones.
    Update {
        name: String,
        #[arg(long)]
        rename: Option<String>,
        #[arg(long = "alias")]
        aliases: Vec<String>,
        #[arg(long = "repo")]
        repos: Vec<String>,
    },
    /// Delete a service; its deploys and incidents stay.
    Delete { name: String },
    /// Aliases deploys arrived with that no service has.
    Suggestions,
    /// Accept a suggestion: into an existing service, or a new one.
    Accept {
        id: i64,
        /// Add the alias to this existing service.
        #[arg(long, conflicts_with = "name")]
        into: Option<String>,
        /// Name of the new service (default: the alias).
        #[arg(long)]
        name: Option<String>,
    },
    /// Dismiss a suggestion.
    Dismiss { id: i64 },
}

fn print_service(s: &ServiceInfo) {
    println!("{} (id {})", s.name, s.id);
    println!("  aliases: {}", s.aliases.join(", "));
    println!(
        "  repos:   {}",
        if s.repos.is_empty() {
            "-".to_owned()
        } else {
            s.repos.join(", ")
        }
    );
}

pub async fn service(a: ServiceArgs) -> anyhow::Result<()> {
    let conn = &a.conn;
    match a.command {
        ServiceCommand::Create {
            name,
            aliases,
            repos,
        } => {
            let s: ServiceInfo = conn
                .call(
                    Method::POST,
                    "/api/v1/services",
                    Some(json!({"name": name, "aliases": aliases, "repos": repos})),
                )
                .await?;
            print_service(&s);
        }
        ServiceCommand::List => {
            let list: Vec<ServiceInfo> = conn.call(Method::GET, "/api/v1/services", None).await?;
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "NAME",
                "ALIASES",
                "REPOSITORIES",
            ]);
            for s in list {
                table.add_row(vec![s.name, s.aliases.join(", "), s.repos.join(", ")]);
            }
            println!("{table}");
        }
        ServiceCommand::Show { name } => {
            let s: ServiceInfo = conn
                .call(
                    Method::GET,
                    &format!("/api/v1/services/{}", urlencode(&name)),
                    None,
                )
                .await?;
            print_service(&s);
        }
        ServiceCommand::Update {
            name,
            rename,
            aliases,
            repos,
        } => {
            let mut body = json!({});
            if let Some(n) = rename {
                body["name"] = json!(n);
            }
            if !aliases.is_empty() {
                body["aliases"] = json!(aliases);
            }
            if !repos.is_empty() {
                body["repos"] = json!(repos);
            }
            let s: ServiceInfo = conn
                .call(
                    Method::PATCH,
                    &format!("/api/v1/services/{}", urlencode(&name)),
                    Some(body),
                )
                .await?;
            print_service(&s);
        }
        ServiceCommand::Delete { name } => {
            let _: Value = conn
                .call(
                    Method::DELETE,
                    &format!("/api/v1/services/{}", urlencode(&name)),
                    None,
                )
                .await?;
            println!("deleted service {name}");
        }
        ServiceCommand::Suggestions => {
            let list: Vec<SuggestionInfo> = conn
                .call(Method::GET, "/api/v1/services/suggestions", None)
                .await?;
            if list.is_empty() {
                println!("no suggestions");
                return Ok(());
            }
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "ID",
                "ALIAS",
                "DEPLOYS",
                "INTEGRATION",
                "FIRST SEEN",
                "LAST SEEN",
            ]);
            for s in list {
                table.add_row(vec![
                    s.id.to_string(),
                    s.alias,
                    s.deploy_count.to_string(),
                    s.integration_id.to_string(),
                    s.first_seen,
                    s.last_seen,
                ]);
            }
            println!("{table}");
        }
        ServiceCommand::Accept { id, into, name } => {
            let mut body = json!({});
            if let Some(s) = into {
                body["service"] = json!(s);
            }
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            let s: ServiceInfo = conn
                .call(
                    Method::POST,
                    &format!("/api/v1/services/suggestions/{id}/accept"),
                    Some(body),
                )
                .await?;
            print_service(&s);
        }
        ServiceCommand::Dismiss { id } => {
            let _: Value = conn
                .call(
                    Method::POST,
                    &format!("/api/v1/services/suggestions/{id}/dismiss"),
                    None,
                )
                .await?;
            println!("dismissed suggestion {id}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct IncidentsArgs {
    #[command(flatten)]
    conn: Conn,
    /// A service name or alias.
    #[arg(long)]
    service: Option<String>,
    /// TODO, IN_PROGRESS or DONE.
    #[arg(long)]
    status: Option<String>,
    /// How many, newest first (at most 100).
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

pub async fn incidents(a: IncidentsArgs) -> anyhow::Result<()> {
    let mut path = format!("/api/v1/incidents?per_page={}", a.limit.clamp(1, 100));
    for (key, value) in [("service", &a.service), ("status", &a.status)] {
        if let Some(v) = value {
            path.push_str(&format!("&{key}={}", urlencode(v)));
        }
    }
    let list: Vec<IncidentInfo> = a.conn.call(Method::GET, &path, None).await?;
    if list.is_empty() {
        println!("no incidents");
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
        "KEY", "TITLE", "STATUS", "SERVICE", "CREATED", "RESOLVED",
    ]);
    for i in list {
        table.add_row(vec![
            i.key,
            i.title,
            i.status,
            i.service.unwrap_or_else(|| "-".into()),
            i.created_at,
            i.resolved_at.unwrap_or_else(|| "-".into()),
        ]);
    }
    println!("{table}");
    Ok(())
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    conn: Conn,
    /// The integration whose format the file holds (its id, as `ferry integration list`
    /// shows it).
    #[arg(long)]
    integration: i64,
    /// Lines per request (the server writes them in order, in transactions of up to 50,000).
    #[arg(long, default_value_t = 100_000)]
    batch: usize,
    /// NDJSON: one OpsLevel or DevLake payload per line; `-` reads standard input.
    file: String,
}

/// Requests stay under the server's 64 MiB limit on import bodies.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// One request's worth of lines, with their line numbers in the file.
struct Batch {
    body: Vec<u8>,
    lines: Vec<u64>,
}

/// A progress bar on standard error, redrawn at most every 100 ms when it is a terminal.
struct Progress {
    total_bytes: Option<u64>,
    started: Instant,
    drawn: Instant,
    tty: bool,
}

impl Progress {
    fn new(total_bytes: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            total_bytes,
            started: now,
            drawn: now - Duration::from_secs(1),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn draw(&mut self, bytes: u64, lines: u64, force: bool) {
        if !self.tty || (!force && self.drawn.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.drawn = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (lines as f64 / secs) as u64;
        let bar = match self.total_bytes.filter(|t| *t > 0) {
            Some(total) => {
                let done = (bytes.min(total) as f64 / total as f64 * 30.0) as usize;
                format!(
                    "[{}{}] {:>3}% ",
                    "#".repeat(done),
                    ".".repeat(30 - done),
                    bytes.min(total) * 100 / total
                )
            }
            None => String::new(),
        };
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{bar}{lines} lines, {rate} lines/s ");
        let _ = err.flush();
    }

    fn finish(&mut self, bytes: u64, lines: u64) {
        self.draw(bytes, lines, true);
        if self.tty {
            eprintln!();
        }
    }
}

pub async fn import(a: ImportArgs) -> anyhow::Result<()> {
    let batch_lines = a.batch.clamp(1, 1_000_000);
    let (reader, total): (Box<dyn Read>, Option<u64>) = if a.file == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(&a.file).with_context(|| format!("cannot open {}", a.file))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let path = format!("/api/v1/integrations/{}/import", a.integration);
    let mut progress = Progress::new(total);
    let mut sum = ImportResult::default();
    let mut errors: Vec<(u64, String)> = Vec::new();
    let (mut bytes, mut line_no) = (0u64, 0u64);
    let mut line = Vec::new();
    let mut eof = false;
    let mut oversized = 0u64;
    while !eof {
        let mut batch = Batch {
            body: Vec::new(),
            lines: Vec::new(),
        };
        while batch.lines.len() < batch_lines {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("reading {}", a.file))?;
            if n == 0 {
                eof = true;
                break;
            }
            bytes += n as u64;
            line_no += 1;
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.len() > MAX_REQUEST_BYTES {
                errors.push((line_no, "line longer than the request limit".into()));
                oversized += 1;
                continue;
            }
            if batch.body.len() + trimmed.len() + 1 > MAX_REQUEST_BYTES {
                // This line starts the next request.
                send(&a.conn, &path, &mut batch, &mut sum, &mut errors).await?;
            }
            batch.body.extend_from_slice(trimmed);
            batch.body.push(b'\n');
            batch.lines.push(line_no);
        }
        send(&a.conn, &path, &mut batch, &mut sum, &mut errors).await?;
        progress.draw(bytes, sum.lines, false);
    }
    progress.finish(bytes, sum.lines);
    println!(
        "{} lines: {} created, {} updated, {} already there, {} refused",
        sum.lines + oversized,
        sum.created,
        sum.updated,
        sum.duplicates,
        errors.len()
    );
    if !errors.is_empty() {
        errors.sort();
        for (line, message) in errors.iter().take(20) {
            eprintln!("line {line}: {message}");
        }
        if errors.len() > 20 {
            eprintln!("… and {} more", errors.len() - 20);
        }
        bail!("{} lines were refused", errors.len());
    }
    Ok(())
}

async fn send(
    conn: &Conn,
    path: &str,
    batch: &mut Batch,
    sum: &mut ImportResult,
    errors: &mut Vec<(u64, String)>,
) -> anyhow::Result<()> {
    if batch.lines.is_empty() {
        return Ok(());
    }
    let body = std::mem::take(&mut batch.body);
    let lines = std::mem::take(&mut batch.lines);
    let r: ImportResult = conn
        .post_raw(path, "application/x-ndjson", body)
        .await
        .with_context(|| {
            format!(
                "importing lines {}..{}",
                lines.first().copied().unwrap_or(0),
                lines.last().copied().unwrap_or(0)
            )
        })?;
    sum.lines += r.lines;
    sum.created += r.created;
    sum.updated += r.updated;
    sum.duplicates += r.duplicates;
    for e in r.errors {
        let file_line = usize::try_from(e.line)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| lines.get(i))
            .copied()
            .unwrap_or(0);
        errors.push((file_line, e.message));
    }
    Ok(())
}
