//! Fault tests of outbound webhooks (the transactional outbox), each against real
//! `ferry serve` child processes and a signature-checking receiver in this process:
//!
//! - `retry_500_then_200`: the receiver fails the first attempt of every delivery; each event is
//!   accepted exactly once, after exactly two attempts, in creation order per deployment.
//! - `receiver_down_across_sigkill` (SQLite): events enqueued while the receiver is down,
//!   ferry killed with SIGKILL and restarted on the same database; the receiver then comes up
//!   and accepts every event exactly once.
//! - `killed_mid_send_resent_after_lease` (SQLite): while the ping hangs at the receiver the
//!   other events still go out at once; ferry is SIGKILLed with the ping in flight, and after
//!   a restart the ping is sent again only when its lease (HTTP timeout + 30 s) ends; each
//!   accepted exactly once.
//! - `two_instances_on_postgres_10000_events`: two instances on one PostgreSQL database,
//!   10,000 events enqueued through both concurrently; every event accepted exactly once (no
//!   delivery by both instances, none missed). Skipped (and passing) when PostgreSQL is
//!   unreachable, unless `CI=true`.
//!
//! "Accepted" is a 2xx answer of the receiver: ferry's delivery is at-least-once, so the
//! receiver counts its 2xx answers per `X-GitHub-Delivery` guid and every count must be 1.

#![cfg(feature = "server")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "ferry_webhookFaultsAdminToken00001";
const SECRET: &str = "faults-secret";

// ---------------------------------------------------------------------------------------------
// ferry serve as a child process
// ---------------------------------------------------------------------------------------------

/// A running `ferry serve`, killed (SIGKILL) and reaped on drop.
struct Ferry {
    child: Option<Child>,
    base: String,
    stderr: PathBuf,
}

impl Ferry {
    fn start(database_url: &str, data_dir: &Path, log_dir: &Path, tag: &str) -> Ferry {
        Ferry::start_with(database_url, data_dir, log_dir, tag, &[])
    }

    fn start_with(
        database_url: &str,
        data_dir: &Path,
        log_dir: &Path,
        tag: &str,
        extra: &[&str],
    ) -> Ferry {
        std::fs::create_dir_all(log_dir).expect("log dir");
        let stderr = log_dir.join(format!("ferry-{tag}.stderr"));
        let err_file = std::fs::File::create(&stderr).expect("stderr file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--data-dir",
                &data_dir.display().to_string(),
                "--admin-token",
                ADMIN,
                "--webhook-retry-base-ms",
                "100",
                "--webhook-retry-cap-ms",
                "500",
                // Deliveries must outlive a receiver that is down for a while.
                "--webhook-max-attempts",
                "100000",
            ])
            .args(extra)
            .env("FERRY_LOG", "warn")
            .env_remove("FERRY_CONFIG")
            .env_remove("FERRY_WEBHOOK_RETRY_BASE_MS")
            .env_remove("FERRY_WEBHOOK_RETRY_CAP_MS")
            .env_remove("FERRY_WEBHOOK_MAX_ATTEMPTS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err_file))
            .spawn()
            .expect("spawn ferry serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("ferry listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_owned());
                    }
                }
            }
        });
        let mut me = Ferry {
            child: Some(child),
            base: String::new(),
            stderr,
        };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => me.base = base,
            Err(_) => panic!(
                "ferry serve ({tag}) did not print its address; stderr:\n{}",
                me.stderr_text()
            ),
        }
        me
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL: no shutdown work at all.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Ferry {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------------

/// One request the receiver answered.
#[derive(Clone, Debug)]
struct Hit {
    at: Instant,
    status: u16,
}

#[derive(Debug)]
struct GuidLog {
    event: String,
    body: Value,
    hits: Vec<Hit>,
}

impl GuidLog {
    fn accepted(&self) -> usize {
        self.hits
            .iter()
            .filter(|h| (200..300).contains(&h.status))
            .count()
    }

    fn accepted_at(&self) -> Option<Instant> {
        self.hits
            .iter()
            .find(|h| (200..300).contains(&h.status))
            .map(|h| h.at)
    }

    fn first_at(&self) -> Instant {
        self.hits[0].at
    }

    /// The deployment id a `deployment` or `deployment_status` body is about.
    fn deployment_id(&self) -> Option<i64> {
        self.body.pointer("/deployment/id").and_then(Value::as_i64)
    }
}

#[derive(Default)]
struct Seen {
    guids: HashMap<String, GuidLog>,
    /// Requests refused: bad or missing signature, wrong headers, guid reused for another event.
    rejected: Vec<String>,
    accepted_total: usize,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    fail_first: bool,
    /// While set, requests are recorded (status 0) and never answered.
    hang: Arc<std::sync::atomic::AtomicBool>,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn signature_ok(body: &[u8], header_value: Option<&str>) -> bool {
    let Some(hex_sig) = header_value.and_then(|v| v.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    match record(&r, &headers, &body) {
        Some(status) => status,
        None => std::future::pending().await,
    }
}

/// Records one request and picks its answer; `None`: never answer (hang mode).
fn record(r: &Receiver, headers: &HeaderMap, body: &[u8]) -> Option<StatusCode> {
    let at = Instant::now();
    let guid = header(headers, "x-github-delivery")
        .unwrap_or("")
        .to_owned();
    let event = header(headers, "x-github-event").unwrap_or("").to_owned();
    let mut seen = r.seen.lock().expect("lock");
    if guid.is_empty() || event.is_empty() {
        seen.rejected
            .push(format!("missing guid or event: {headers:?}"));
        return Some(StatusCode::BAD_REQUEST);
    }
    if !signature_ok(body, header(headers, "x-hub-signature-256")) {
        seen.rejected
            .push(format!("bad signature on {guid} ({event})"));
        return Some(StatusCode::UNAUTHORIZED);
    }
    if header(headers, "user-agent") != Some("GitHub-Hookshot/ferry")
        || header(headers, "x-github-hook-id").is_none()
    {
        seen.rejected
            .push(format!("unexpected headers on {guid}: {headers:?}"));
        return Some(StatusCode::BAD_REQUEST);
    }
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            seen.rejected
                .push(format!("body of {guid} is not JSON: {e}"));
            return Some(StatusCode::BAD_REQUEST);
        }
    };
    let log = seen.guids.entry(guid.clone()).or_insert_with(|| GuidLog {
        event: event.clone(),
        body: parsed,
        hits: Vec::new(),
    });
    if log.event != event {
        let msg = format!("guid {guid} reused: {} then {event}", log.event);
        seen.rejected.push(msg);
        return Some(StatusCode::BAD_REQUEST);
    }
    if r.hang.load(Ordering::SeqCst) {
        log.hits.push(Hit { at, status: 0 });
        return None;
    }
    let status = if r.fail_first && log.hits.is_empty() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    log.hits.push(Hit {
        at,
        status: status.as_u16(),
    });
    if status.is_success() {
        seen.accepted_total += 1;
    }
    Some(status)
}

/// A receiver serving on `listener` until dropped.
struct RunningReceiver {
    seen: Arc<Mutex<Seen>>,
    hang: Arc<std::sync::atomic::AtomicBool>,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RunningReceiver {
    async fn start(listener: tokio::net::TcpListener, fail_first: bool) -> RunningReceiver {
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(Receiver {
                seen: Arc::clone(&seen),
                fail_first,
                hang: Arc::clone(&hang),
            });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RunningReceiver {
            seen,
            hang,
            url: format!("http://{addr}/hook"),
            task,
        }
    }

    fn accepted_total(&self) -> usize {
        self.seen.lock().expect("lock").accepted_total
    }

    fn rejected(&self) -> Vec<String> {
        self.seen.lock().expect("lock").rejected.clone()
    }
}

async fn bind_any() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver")
}

/// The accepted-once checks: every guid accepted exactly once, `expected` events of each kind,
/// no request refused; per deployment, no event sent before the previous one was accepted.
fn check_exactly_once(seen: &Seen, expected: &[(&str, usize)]) {
    assert!(
        seen.rejected.is_empty(),
        "the receiver refused requests: {:?}",
        &seen.rejected[..seen.rejected.len().min(10)]
    );
    let twice: Vec<(&String, usize)> = seen
        .guids
        .iter()
        .map(|(g, l)| (g, l.accepted()))
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "{} guids not accepted exactly once (guid, 2xx answers): {:?}",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
    let mut by_event: HashMap<&str, usize> = HashMap::new();
    for l in seen.guids.values() {
        *by_event.entry(l.event.as_str()).or_default() += 1;
    }
    for (event, n) in expected {
        assert_eq!(
            by_event.get(event).copied().unwrap_or(0),
            *n,
            "distinct {event} deliveries; all: {by_event:?}"
        );
    }
    assert_eq!(
        seen.guids.len(),
        expected.iter().map(|(_, n)| n).sum::<usize>(),
        "distinct guids; by event: {by_event:?}"
    );
    // Creation order per deployment: a deployment's events arrive one at a time, in order.
    let mut per_dep: HashMap<i64, Vec<&GuidLog>> = HashMap::new();
    for l in seen.guids.values() {
        if l.event == "ping" {
            continue;
        }
        let dep = l
            .deployment_id()
            .unwrap_or_else(|| panic!("{} body without deployment.id: {}", l.event, l.body));
        per_dep.entry(dep).or_default().push(l);
    }
    for (dep, mut logs) in per_dep {
        // The payload ids give the creation order: the deployment event, then statuses by id.
        logs.sort_by_key(|l| {
            (
                l.event != "deployment",
                l.body
                    .pointer("/deployment_status/id")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            )
        });
        for w in logs.windows(2) {
            let prev = w[0].accepted_at().expect("accepted");
            assert!(
                w[1].first_at() >= prev,
                "deployment {dep}: a {} event was sent before the previous {} event was accepted",
                w[1].event,
                w[0].event
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
}

impl Api {
    fn new() -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
        }
    }

    async fn call(&self, method: &str, url: String, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().expect("method"), &url)
            .header("authorization", format!("token {ADMIN}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = res.status().as_u16();
        let bytes = res.bytes().await.expect("body");
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    async fn expect(&self, method: &str, url: String, body: Option<Value>, want: u16) -> Value {
        let (s, v) = self.call(method, url.clone(), body).await;
        assert_eq!(s, want, "{method} {url}: {v}");
        v
    }

    async fn setup(&self, base: &str, hook_url: &str) -> i64 {
        self.expect(
            "POST",
            format!("{base}/api/v1/repos"),
            Some(json!({"full_name": "o/r"})),
            201,
        )
        .await;
        let hook = self
            .expect(
                "POST",
                format!("{base}/api/v1/webhooks"),
                Some(json!({
                    "url": hook_url,
                    "secret": SECRET,
                    "events": ["deployment", "deployment_status"],
                    "repositories": ["o/r"],
                })),
                201,
            )
            .await;
        hook["id"].as_i64().expect("webhook id")
    }

    async fn deployment(&self, base: &str, n: usize) -> i64 {
        let v = self
            .expect(
                "POST",
                format!("{base}/api/v3/repos/o/r/deployments"),
                Some(json!({
                    "ref": format!("{:040x}", n + 1),
                    "environment": "qa",
                    "required_contexts": [],
                })),
                201,
            )
            .await;
        v["id"].as_i64().expect("deployment id")
    }

    async fn status(&self, base: &str, deployment: i64, state: &str) -> i64 {
        let v = self
            .expect(
                "POST",
                format!("{base}/api/v3/repos/o/r/deployments/{deployment}/statuses"),
                Some(json!({"state": state, "auto_inactive": false})),
                201,
            )
            .await;
        v["id"].as_i64().expect("status id")
    }

    async fn deliveries(&self, base: &str, hook: i64) -> Vec<Value> {
        let v = self
            .expect(
                "GET",
                format!("{base}/api/v1/webhooks/{hook}/deliveries"),
                None,
                200,
            )
            .await;
        v.as_array().expect("deliveries array").clone()
    }
}

/// Polls `done` every 50 ms until it holds or `limit` passes; false on timeout.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_500_then_200() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = RunningReceiver::start(bind_any().await, true).await;
    let db = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let ferry = Ferry::start(&db, &dir.path().join("data"), dir.path(), "retry");
    let api = Api::new();
    let base = ferry.base.clone();

    let hook = api.setup(&base, &receiver.url).await;
    let dep = api.deployment(&base, 0).await;
    api.status(&base, dep, "in_progress").await;
    api.status(&base, dep, "success").await;

    let all = wait_until(Duration::from_secs(60), || receiver.accepted_total() >= 4).await;
    // Anything extra (a third attempt, a duplicate) would show up shortly after.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        all,
        "only {} of 4 events accepted in 60 s; ferry stderr:\n{}",
        receiver.accepted_total(),
        ferry.stderr_text()
    );
    {
        let seen = receiver.seen.lock().expect("lock");
        check_exactly_once(
            &seen,
            &[("ping", 1), ("deployment", 1), ("deployment_status", 2)],
        );
        for (guid, l) in &seen.guids {
            let codes: Vec<u16> = l.hits.iter().map(|h| h.status).collect();
            assert_eq!(codes, vec![500, 200], "{} {guid}", l.event);
            // The backoff (100 ms base) is respected between the two attempts.
            let gap = l.hits[1].at.duration_since(l.hits[0].at);
            assert!(
                gap >= Duration::from_millis(80),
                "{} retried after {gap:?}",
                l.event
            );
        }
    }

    // The delivery log agrees: delivered after 2 attempts, 500 then 200.
    let deliveries = api.deliveries(&base, hook).await;
    assert_eq!(deliveries.len(), 4, "{deliveries:?}");
    for d in &deliveries {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(d["last_status_code"], 200, "{d}");
        assert!(d["delivered_at"].is_string(), "{d}");
        let id = d["id"].as_i64().expect("delivery id");
        let one = api
            .expect(
                "GET",
                format!("{base}/api/v1/webhooks/{hook}/deliveries/{id}"),
                None,
                200,
            )
            .await;
        let codes: Vec<Value> = one["log"]
            .as_array()
            .expect("log")
            .iter()
            .map(|a| a["status_code"].clone())
            .collect();
        assert_eq!(codes, vec![json!(500), json!(200)], "{one}");
    }
    let guids: std::collections::HashSet<String> = deliveries
        .iter()
        .map(|d| d["guid"].as_str().expect("guid").to_owned())
        .collect();
    let seen_guids: std::collections::HashSet<String> = receiver
        .seen
        .lock()
        .expect("lock")
        .guids
        .keys()
        .cloned()
        .collect();
    assert_eq!(guids, seen_guids, "the API's guids are the ones received");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_across_sigkill() {
    const N: usize = 20;
    let total = 2 * N + 1;
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nobody listens on (for now).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("reserve a port");
        l.local_addr().expect("addr").port()
    };
    let hook_url = format!("http://127.0.0.1:{port}/hook");
    let db = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let data = dir.path().join("data");
    let api = Api::new();

    let mut first = Ferry::start(&db, &data, dir.path(), "before-kill");
    let base = first.base.clone();
    let hook = api.setup(&base, &hook_url).await;
    for i in 0..N {
        let dep = api.deployment(&base, i).await;
        api.status(&base, dep, "success").await;
    }
    // Let the worker fail a few rounds against the closed port, then kill it mid-flight.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = api.deliveries(&base, hook).await;
    assert_eq!(before.len(), total, "{before:?}");
    assert!(
        before.iter().all(|d| d["state"] != "delivered"),
        "nothing can be delivered to a closed port: {before:?}"
    );
    assert!(
        before.iter().any(|d| d["attempts"].as_i64() > Some(0)),
        "the worker tried while the receiver was down"
    );
    first.kill();
    let first_stderr = first.stderr_text();
    drop(first);

    let second = Ferry::start(&db, &data, dir.path(), "after-kill");
    let base = second.base.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the reserved port");
    let receiver = RunningReceiver::start(listener, false).await;
    let started = Instant::now();

    // Deliveries claimed at the moment of the kill stay leased (HTTP timeout + 30 s) before
    // they are sent again: allow for that.
    let all = wait_until(Duration::from_secs(120), || {
        receiver.accepted_total() >= total
    })
    .await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        all,
        "only {} of {} events accepted in 120 s after the restart; stderr before the kill:\n{}\nafter:\n{}",
        receiver.accepted_total(),
        total,
        first_stderr,
        second.stderr_text()
    );
    eprintln!(
        "receiver_down_across_sigkill: all {} events accepted {took:?} after the receiver came up",
        total
    );
    {
        let seen = receiver.seen.lock().expect("lock");
        check_exactly_once(
            &seen,
            &[("ping", 1), ("deployment", N), ("deployment_status", N)],
        );
    }
    let after = api.deliveries(&base, hook).await;
    assert_eq!(after.len(), total);
    let undelivered: Vec<&Value> = after.iter().filter(|d| d["state"] != "delivered").collect();
    assert!(
        undelivered.is_empty(),
        "not delivered per the API: {undelivered:?}"
    );
    let ids_before: Vec<&Value> = before.iter().map(|d| &d["guid"]).collect();
    let ids_after: Vec<&Value> = after.iter().map(|d| &d["guid"]).collect();
    assert_eq!(
        ids_before, ids_after,
        "the restart kept the same deliveries and guids"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_send_resent_after_lease() {
    // A delivery being sent when ferry dies stays claimed until its lease ends (the HTTP
    // timeout + 30 s), then it is sent again; everything else is delivered right away, even
    // while it hangs.
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("ferry.toml");
    std::fs::write(&conf, "[webhooks]\ntimeout_ms = 5000\n").expect("ferry.toml");
    let conf = conf.display().to_string();
    let extra = ["--config", conf.as_str()];
    let receiver = RunningReceiver::start(bind_any().await, false).await;
    receiver.hang.store(true, Ordering::SeqCst);
    let db = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let data = dir.path().join("data");
    let api = Api::new();

    let mut first = Ferry::start_with(&db, &data, dir.path(), "mid-send", &extra);
    let base = first.base.clone();
    // The subscription's ping arrives while the receiver hangs: it stays in flight.
    let hook = api.setup(&base, &receiver.url).await;
    let held = wait_until(Duration::from_secs(10), || {
        receiver.seen.lock().expect("lock").guids.len() == 1
    })
    .await;
    assert!(held, "the ping never reached the receiver");
    let held_guid = receiver
        .seen
        .lock()
        .expect("lock")
        .guids
        .keys()
        .next()
        .cloned();
    // Later requests are answered; the hanging ping must not hold them up.
    receiver.hang.store(false, Ordering::SeqCst);
    let dep = api.deployment(&base, 0).await;
    api.status(&base, dep, "success").await;
    let others = wait_until(Duration::from_secs(5), || receiver.accepted_total() >= 2).await;
    assert!(
        others,
        "the deployment and its status waited behind the hanging ping"
    );
    first.kill();
    let killed = Instant::now();
    drop(first);

    let second = Ferry::start_with(&db, &data, dir.path(), "mid-send-restarted", &extra);
    let base = second.base.clone();
    let all = wait_until(Duration::from_secs(90), || receiver.accepted_total() >= 3).await;
    let resent_after = killed.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        all,
        "the leased ping was never sent again; stderr:\n{}",
        second.stderr_text()
    );
    eprintln!("killed_mid_send: the leased delivery was accepted {resent_after:?} after the kill");
    {
        let seen = receiver.seen.lock().expect("lock");
        check_exactly_once(
            &seen,
            &[("ping", 1), ("deployment", 1), ("deployment_status", 1)],
        );
        let ping = &seen.guids[held_guid.as_deref().expect("guid")];
        assert_eq!(ping.event, "ping");
        let codes: Vec<u16> = ping.hits.iter().map(|h| h.status).collect();
        assert_eq!(codes, vec![0, 200], "held once, then accepted");
        // Not before its lease (5 s timeout + 30 s from the claim) ended.
        assert!(
            resent_after >= Duration::from_secs(25),
            "the leased delivery was sent again after only {resent_after:?}"
        );
    }
    let deliveries = api.deliveries(&base, hook).await;
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    for d in &deliveries {
        assert_eq!(d["state"], "delivered", "{d}");
    }
    let ping = deliveries
        .iter()
        .find(|d| d["event"] == "ping")
        .expect("ping delivery");
    let id = ping["id"].as_i64().expect("id");
    let one = api
        .expect(
            "GET",
            format!("{base}/api/v1/webhooks/{hook}/deliveries/{id}"),
            None,
            200,
        )
        .await;
    eprintln!("killed_mid_send: the ping delivery after the restart: {one}");
    assert_eq!(one["attempts"], 2, "the killed attempt counts: {one}");
}

/// Drops a PostgreSQL test database (after the servers using it are gone).
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(s) = ferry_store::connect(&admin).await {
                    let _ = s
                        .execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    s.close().await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_10000_events() {
    const DEPLOYMENTS: usize = 5_000;
    const IN_FLIGHT: usize = 32;
    let Some((url, name)) =
        ferry_store::testing::postgres_url("two_instances_on_postgres_10000_events").await
    else {
        return;
    };
    let pg = PgDb {
        admin: ferry_store::testing::postgres_admin_url(),
        name,
        url,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = RunningReceiver::start(bind_any().await, false).await;
    // The first migrates; the second finds the schema up to date.
    let a = Ferry::start(&pg.url, &dir.path().join("data-a"), dir.path(), "a");
    let b = Ferry::start(&pg.url, &dir.path().join("data-b"), dir.path(), "b");
    let api = Api::new();
    let bases = [a.base.clone(), b.base.clone()];
    api.setup(&bases[0], &receiver.url).await;

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (api, next, bases) = (api.clone(), Arc::clone(&next), bases.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= DEPLOYMENTS {
                    break;
                }
                // The deployment through one instance, its status through the other.
                let dep = api.deployment(&bases[i % 2], i).await;
                api.status(&bases[(i + 1) % 2], dep, "success").await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("a client task failed");
    }
    let created = started.elapsed();
    let total = 2 * DEPLOYMENTS + 1;
    eprintln!(
        "two_instances_on_postgres: {} events enqueued in {created:?} ({:.0} requests/s); {} accepted so far",
        total,
        (2 * DEPLOYMENTS) as f64 / created.as_secs_f64(),
        receiver.accepted_total()
    );
    let all = wait_until(Duration::from_secs(180), || {
        receiver.accepted_total() >= total
    })
    .await;
    let drained = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        all,
        "only {} of {total} events accepted 180 s after the last was enqueued; refused: {:?}\nstderr a:\n{}\nstderr b:\n{}",
        receiver.accepted_total(),
        receiver.rejected(),
        a.stderr_text(),
        b.stderr_text()
    );
    eprintln!(
        "two_instances_on_postgres: all {total} events accepted {drained:?} after the first was created"
    );
    {
        let seen = receiver.seen.lock().expect("lock");
        check_exactly_once(
            &seen,
            &[
                ("ping", 1),
                ("deployment", DEPLOYMENTS),
                ("deployment_status", DEPLOYMENTS),
            ],
        );
    }
    drop(a);
    drop(b);
    drop(pg);
}
