//! Harness of the HTTP integration tests: a real ferry server (`App::build` on `127.0.0.1:0`)
//! over a fresh SQLite file or PostgreSQL database, a real git repository made with the git
//! CLI, and a small HTTP client that checks what every answer must have (never a 500, always
//! an `x-request-id`).
//!
//! [`both_backends!`] turns `async fn name(srv: &Server)` into `name_sqlite` and
//! `name_postgres` tests. PostgreSQL comes from `FERRY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot be reached the PostgreSQL
//! variant prints SKIPPED, except under `CI=true` where it fails.

use ferry_server::{App, Config, Overrides, Secret};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token every test server accepts (`--admin-token`).
pub const ADMIN_TOKEN: &str = "ferry_integrationTestAdminToken0001";

/// The external URL test servers are given. It is deliberately not the address they listen
/// on, so tests see that absolute URLs come from the configuration, not from the request.
pub const EXTERNAL_URL: &str = "http://ferry.test:8443";

/// `{api}` of compat/github.md.
pub const API: &str = "http://ferry.test:8443/api/v3";

/// Produces `<name>_sqlite` and `<name>_postgres` tests from `async fn name(srv: &Server)`.
/// Attributes before an entry (e.g. `#[ignore = "…"]`) apply to both tests; attributes before
/// one test's name apply to that test only.
macro_rules! both_backends {
    ($(
        $(#[$meta:meta])*
        $name:ident => $(#[$sqlite_meta:meta])* $sqlite:ident, $(#[$postgres_meta:meta])* $postgres:ident;
    )*) => {$(
        $(#[$meta])*
        $(#[$sqlite_meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let srv = $crate::support::Server::start(
                $crate::support::Backend::Sqlite,
                stringify!($sqlite),
            )
            .await
            .expect("SQLite is always available");
            $name(&srv).await;
        }

        $(#[$meta])*
        $(#[$postgres_meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let Some(srv) = $crate::support::Server::start(
                $crate::support::Backend::Postgres,
                stringify!($postgres),
            )
            .await
            else {
                return;
            };
            $name(&srv).await;
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The name `/readyz` reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database that exists for one test. A PostgreSQL one is dropped with the value, even
/// when the test panics.
pub struct Db {
    pub url: String,
    pub backend: Backend,
    _dir: Option<TempDir>,
    pg_name: Option<String>,
}

impl Db {
    /// `None` when PostgreSQL is unreachable outside CI (the test is then skipped).
    pub async fn create(backend: Backend, test: &str) -> Option<Db> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir for SQLite");
                let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
                Some(Db {
                    url,
                    backend,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let (url, name) = ferry_store::testing::postgres_url(test).await?;
                Some(Db {
                    url,
                    backend,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = ferry_store::testing::postgres_admin_url();
        // Drop may run inside the test's runtime: do the async work on a runtime of its own.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(store) = ferry_store::connect(&admin).await {
                    let _ = store
                        .execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    store.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `Authorization: token <ADMIN_TOKEN>`.
    Admin,
    /// No `Authorization` header.
    Anonymous,
    /// `Authorization: token <T>`.
    Token(&'a str),
    /// This exact `Authorization` value.
    Header(&'a str),
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    }

    /// Asserts the status, showing the body when it differs, and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

/// A running server; stopped when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`: where requests go.
    pub base: String,
    pub backend: Backend,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _data_dir: TempDir,
    /// Last: the database outlives the server using it.
    db: Db,
}

/// Settings of a test server.
pub fn test_config(db_url: &str, data_dir: &Path, admin_token: Option<&str>) -> Config {
    Config::resolve(Overrides {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(db_url.to_owned()),
        external_url: Some(format!("{EXTERNAL_URL}/")),
        admin_token: admin_token.map(|t| Secret::new(t.to_owned())),
        data_dir: Some(data_dir.to_path_buf()),
        config: None,
        ..Default::default()
    })
    .expect("test config resolves")
}

impl Server {
    /// A server over a fresh database; `None` when that backend is unavailable (skipped).
    pub async fn start(backend: Backend, test: &str) -> Option<Server> {
        let db = Db::create(backend, test).await?;
        let data_dir = tempfile::tempdir().expect("data dir");
        let config = test_config(&db.url, data_dir.path(), Some(ADMIN_TOKEN));
        let app = App::build(config).await.expect("the server builds");
        assert!(
            app.new_admin_token.is_none(),
            "a configured admin token must not cause another one"
        );
        Some(Server::run(app, db, data_dir))
    }

    /// Serves `app` (built on `db`) on a task of the current runtime.
    pub fn run(app: App, db: Db, data_dir: TempDir) -> Server {
        let base = format!("http://{}", app.local_addr());
        assert_eq!(app.external_url(), EXTERNAL_URL);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Server {
            base,
            backend: db.backend,
            client,
            shutdown: Some(tx),
            task: Some(task),
            _data_dir: data_dir,
            db,
        }
    }

    pub fn db_url(&self) -> &str {
        &self.db.url
    }

    /// Sends one request. Panics on a 5xx or a missing `x-request-id`: no answer may have
    /// either (PRODUCT.md, "never a 500").
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        let authorization = match auth {
            Auth::Admin => Some(format!("token {ADMIN_TOKEN}")),
            Auth::Anonymous => None,
            Auth::Token(t) => Some(format!("token {t}")),
            Auth::Header(h) => Some(h.to_owned()),
        };
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("read the body");
        assert!(status < 500, "{method} {path} answered {status}: {text}");
        assert!(
            headers.get("x-request-id").is_some_and(|v| !v.is_empty()),
            "{method} {path} answered without x-request-id"
        );
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Auth::Admin, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(
            Method::POST,
            path,
            Auth::Admin,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// POSTs these exact bytes.
    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Resp {
        self.call(Method::POST, path, Auth::Admin, Some(body.to_vec()))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call(
            Method::PUT,
            path,
            Auth::Admin,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, Auth::Admin, None).await
    }

    /// Creates an API token with these scopes and returns its secret.
    pub async fn token(&self, name: &str, scopes: &[&str]) -> String {
        let created = self
            .post("/api/v1/tokens", &json!({"name": name, "scopes": scopes}))
            .await
            .expect(201);
        created["token"].as_str().expect("token secret").to_owned()
    }

    /// Registers `full_name` with `git` as its `git_url`.
    pub async fn register(&self, full_name: &str, git: &GitRepo) -> Value {
        self.post(
            "/api/v1/repos",
            &json!({"full_name": full_name, "git_url": git.path(), "default_branch": "main"}),
        )
        .await
        .expect(201)
    }

    /// A fresh git repository registered as `full_name`.
    pub async fn repo(&self, full_name: &str) -> GitRepo {
        let git = GitRepo::new();
        self.register(full_name, &git).await;
        git
    }

    /// Creates a deployment (201 expected) and returns it.
    pub async fn deploy(&self, repo: &str, body: Value) -> Value {
        self.post(&format!("/api/v3/repos/{repo}/deployments"), &body)
            .await
            .expect(201)
    }

    /// Adds a deployment status (201 expected) and returns it.
    pub async fn status(&self, repo: &str, deployment: &Value, body: Value) -> Value {
        let id = deployment["id"].as_i64().expect("deployment id");
        self.post(
            &format!("/api/v3/repos/{repo}/deployments/{id}/statuses"),
            &body,
        )
        .await
        .expect(201)
    }

    /// The states of a deployment's statuses, newest first.
    pub async fn states(&self, repo: &str, deployment: &Value) -> Vec<String> {
        let id = deployment["id"].as_i64().expect("deployment id");
        let list = self
            .get(&format!(
                "/api/v3/repos/{repo}/deployments/{id}/statuses?per_page=100"
            ))
            .await
            .expect(200);
        list.as_array()
            .expect("array")
            .iter()
            .map(|s| s["state"].as_str().expect("state").to_owned())
            .collect()
    }

    /// Ids of a list answer, in order.
    pub async fn ids(&self, path: &str) -> Vec<i64> {
        ids(&self.get(path).await.expect(200))
    }
}

/// The `id`s of a JSON array, in order.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {list}"))
        .iter()
        .map(|d| d["id"].as_i64().expect("id"))
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A git repository made with the git CLI:
/// - `first`: the root commit on `main`, tagged `v1` (annotated);
/// - `main`: a second commit, the head of `main`;
/// - `feature`: a commit on `feature/x`, branched from `first`.
pub struct GitRepo {
    dir: TempDir,
    pub first: String,
    pub main: String,
    pub feature: String,
    counter: AtomicU32,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let dir = tempfile::tempdir().expect("temp dir for git");
        let mut repo = GitRepo {
            dir,
            first: String::new(),
            main: String::new(),
            feature: String::new(),
            counter: AtomicU32::new(0),
        };
        repo.git(&["init", "--quiet", "-b", "main", "."]);
        repo.first = repo.commit("first");
        repo.git(&["tag", "-a", "v1", "-m", "release v1"]);
        repo.main = repo.commit("second");
        repo.git(&[
            "checkout",
            "--quiet",
            "-b",
            "feature/x",
            &repo.first.clone(),
        ]);
        repo.feature = repo.commit("feature work");
        repo.git(&["checkout", "--quiet", "main"]);
        repo
    }

    pub fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Runs git in the repository and returns its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.dir.path())
            .args([
                "-c",
                "user.name=Ferry Test",
                "-c",
                "user.email=test@ferry.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Commits a change on the checked-out branch and returns the new commit id.
    pub fn commit(&self, message: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        std::fs::write(self.dir.path().join("file.txt"), format!("{message} {n}\n"))
            .expect("write a file");
        self.git(&["add", "file.txt"]);
        self.git(&["commit", "--quiet", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}
