//! Git mirrors: a bare `git clone --mirror` of each repository's `git_url` under
//! `<data-dir>/mirrors/`, used to resolve refs to commits.
//!
//! Resolution must be fast (it sits on the create-deployment path), so each mirror's refs and
//! commit ids are loaded into memory ([`RefIndex`]) after every clone or fetch, and lookups
//! never spawn `git`. Freshness policy (docs/API.md D13):
//! - a commit id (full or abbreviated) that is in the index is answered from it: commits never
//!   change;
//! - a branch or tag name is answered from the index only if its fetch started less than
//!   [`MIN_REFRESH_INTERVAL`] ago, so a branch that moved resolves to its new head — or less
//!   than [`STALE_WHILE_RENEWING`] ago while a background renewal (below) is running;
//! - anything else (a stale name, a miss) fetches first.
//!
//! Fetches are single-flight per mirror (a request waiting for a fetch that started after it
//! arrived uses that fetch's result) and start at most once per [`MIN_FETCH_GAP`], so under
//! load the hot path runs a few `git fetch` a second per repository, whatever the request
//! rate. A name answered from an index older than [`REFRESH_AHEAD`] also starts a fetch in
//! the background, so under steady use the index is renewed before it expires and requests
//! do not wait for git. A mirror opened from disk counts as never fetched: its first name
//! lookup or miss fetches.
//!
//! The git CLI does the git work: it is on every machine ferry targets and reads every
//! repository format; no git parsing is written here.

use ferry_domain::values::looks_like_sha_prefix;
use ferry_domain::{RepoId, Sha};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Fetches start at most this often per mirror, and a branch or tag name is answered from an
/// index at most this old. Short, so a push is seen almost at once; long enough that a busy
/// repository costs a few `git fetch` a second, not one per request.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(200);

/// A fresh name lookup on an index older than this renews it in the background.
pub const REFRESH_AHEAD: Duration = Duration::from_millis(120);

/// While a background renewal runs, names are still answered from an index up to this old:
/// on a machine busy enough that `git fetch` takes longer than the renewal's head start, the
/// requests of that moment would otherwise all wait for it.
pub const STALE_WHILE_RENEWING: Duration = Duration::from_secs(1);

/// Fetches of one mirror start at least this far apart (the rate limit).
pub const MIN_FETCH_GAP: Duration = REFRESH_AHEAD;

/// After a failed fetch (remote down), the next one waits this long: requests keep being
/// answered from the last index instead of each waiting for a failing fetch.
pub const FAILED_FETCH_BACKOFF: Duration = Duration::from_secs(2);

/// Longest a `git` command may run (a first clone may be large).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const CLONE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {0} failed: {1}")]
    Command(&'static str, String),
    #[error("git could not be run: {0}")]
    Spawn(#[from] std::io::Error),
}

/// How a ref was found: by name (may move) or by commit id (never does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    Name(Sha),
    Commit(Sha),
}

impl Hit {
    pub fn sha(self) -> Sha {
        match self {
            Hit::Name(s) | Hit::Commit(s) => s,
        }
    }
}

/// Refs and commits of one mirror, in memory.
#[derive(Debug, Default, PartialEq)]
pub struct RefIndex {
    /// Full ref name (`refs/heads/main`, `refs/tags/v1`) → commit (tags peeled).
    refs: HashMap<String, Sha>,
    /// Every commit id, sorted, for abbreviated-sha lookups.
    commits: Vec<String>,
}

impl RefIndex {
    /// Resolves a branch, tag, `refs/…`, `heads/…`, `tags/…`, or a full or abbreviated (≥ 7,
    /// unique) commit id.
    pub fn resolve(&self, r: &str) -> Option<Sha> {
        self.lookup(r).map(Hit::sha)
    }

    /// [`resolve`](Self::resolve), saying whether a name or a commit id matched. Names win,
    /// as in git: a branch called `deadbeef` shadows commits starting with it.
    pub fn lookup(&self, r: &str) -> Option<Hit> {
        let r = r.trim();
        if r.is_empty() {
            return None;
        }
        if let Some(sha) = self.refs.get(r) {
            return Some(Hit::Name(sha.clone()));
        }
        for prefix in ["refs/heads/", "refs/tags/", "refs/"] {
            if let Some(sha) = self.refs.get(&format!("{prefix}{r}")) {
                return Some(Hit::Name(sha.clone()));
            }
        }
        if looks_like_sha_prefix(r) {
            return self
                .commit_by_prefix(&r.to_ascii_lowercase())
                .map(Hit::Commit);
        }
        None
    }

    fn commit_by_prefix(&self, prefix: &str) -> Option<Sha> {
        let start = self.commits.partition_point(|c| c.as_str() < prefix);
        let mut hits = self.commits[start..]
            .iter()
            .take_while(|c| c.starts_with(prefix));
        let first = hits.next()?;
        if hits.next().is_some() {
            return None; // ambiguous
        }
        Sha::parse(first).ok()
    }

    pub fn has_commit(&self, sha: &Sha) -> bool {
        self.commits
            .binary_search_by(|c| c.as_str().cmp(sha.as_str()))
            .is_ok()
    }
}

/// An index and when the fetch it reflects started (`None`: loaded from disk as found, of
/// unknown age).
struct Snapshot {
    index: Arc<RefIndex>,
    fetched: Option<Instant>,
}

impl Snapshot {
    fn fresh(&self) -> bool {
        self.fetched
            .is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL)
    }

    fn usable_while_renewing(&self) -> bool {
        self.fetched
            .is_some_and(|t| t.elapsed() < STALE_WHILE_RENEWING)
    }

    fn aging(&self) -> bool {
        self.fetched.is_some_and(|t| t.elapsed() >= REFRESH_AHEAD)
    }
}

/// Fetch bookkeeping, behind the mutex that serialises fetches.
#[derive(Default)]
struct FetchState {
    /// When the last fetch attempt started.
    started: Option<Instant>,
    /// No attempt before this (the rate limit, longer after a failure).
    not_before: Option<Instant>,
}

/// One repository's mirror.
pub struct Mirror {
    path: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
    fetch: tokio::sync::Mutex<FetchState>,
    /// A background renewal is running (at most one).
    renewing: AtomicBool,
}

impl Mirror {
    fn new(path: PathBuf, index: RefIndex) -> Mirror {
        Mirror {
            path,
            snapshot: RwLock::new(Arc::new(Snapshot {
                index: Arc::new(index),
                fetched: None,
            })),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            renewing: AtomicBool::new(false),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn set_snapshot(&self, snapshot: Snapshot) {
        let mut g = match self.snapshot.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(snapshot);
    }

    /// Resolves `r` under the freshness policy of the module docs. When the fetch it needs
    /// fails, a name is answered from the last index (logged) and a miss is the error.
    pub async fn resolve(self: &Arc<Self>, r: &str) -> Result<Option<Sha>, GitError> {
        let snap = self.snapshot();
        match snap.index.lookup(r) {
            Some(Hit::Commit(sha)) => return Ok(Some(sha)),
            Some(Hit::Name(sha)) if snap.fresh() => {
                if snap.aging() {
                    self.renew_in_background();
                }
                return Ok(Some(sha));
            }
            Some(Hit::Name(sha))
                if snap.usable_while_renewing() && self.renewing.load(Ordering::Acquire) =>
            {
                return Ok(Some(sha));
            }
            _ => {}
        }
        match self.refresh_if_stale().await {
            Ok(()) => Ok(self.snapshot().index.resolve(r)),
            Err(e) => match self.snapshot().index.lookup(r) {
                Some(hit) => {
                    tracing::warn!(mirror = %self.path.display(), error.cause = %e,
                        "mirror fetch failed; answering from the last fetched refs");
                    Ok(Some(hit.sha()))
                }
                None => Err(e),
            },
        }
    }

    /// The commits reachable from `sha` and not from `prev` (`git log prev..sha`), newest
    /// first, with author times; just `sha` without `prev`. At most `cap` commits: a `prev`
    /// that is not an ancestor (a force-push) must not make one deployment carry all history.
    /// Fetches once when `sha` is not in the mirror yet.
    pub async fn walk(
        &self,
        prev: Option<&str>,
        sha: &str,
        cap: usize,
    ) -> Result<Vec<(Sha, i64)>, GitError> {
        let sha = Sha::parse(sha).map_err(|e| GitError::Command("log", e.to_string()))?;
        if !self.snapshot().index.has_commit(&sha) {
            self.refresh_if_stale().await?;
        }
        let prev = prev
            .and_then(|p| Sha::parse(p).ok())
            .filter(|p| self.snapshot().index.has_commit(p));
        let range = match &prev {
            Some(p) => format!("{}..{}", p.as_str(), sha.as_str()),
            None => sha.as_str().to_owned(),
        };
        let max = format!("--max-count={}", if prev.is_some() { cap } else { 1 });
        let out = git(
            "log",
            Some(&self.path),
            &["log", "--format=%H %at", &max, &range, "--"],
        )
        .await?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let (h, t) = line.split_once(' ')?;
                Some((Sha::parse(h).ok()?, t.trim().parse().ok()?))
            })
            .collect())
    }

    /// The content of `path` at commit `sha` (`git show sha:path`), `None` when the file is not
    /// there. Fetches once when `sha` is not in the mirror yet; an unknown commit is an error.
    pub async fn read_file(&self, sha: &Sha, path: &str) -> Result<Option<String>, GitError> {
        if !self.snapshot().index.has_commit(sha) {
            self.refresh_if_stale().await?;
            if !self.snapshot().index.has_commit(sha) {
                return Err(GitError::Command(
                    "show",
                    format!("commit {} is not in the repository", sha.as_str()),
                ));
            }
        }
        let spec = format!("{}:{path}", sha.as_str());
        match git("show", Some(&self.path), &["cat-file", "blob", &spec]).await {
            Ok(text) => Ok(Some(text)),
            // The commit is there (checked above): a failure here means no such file.
            Err(GitError::Command(..)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts [`refresh_if_stale`](Self::refresh_if_stale) on a task unless one is running.
    fn renew_in_background(self: &Arc<Self>) {
        if self
            .renewing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let mirror = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = mirror.refresh_if_stale().await {
                tracing::warn!(mirror = %mirror.path.display(), error.cause = %e,
                    "background mirror fetch failed");
            }
            mirror.renewing.store(false, Ordering::Release);
        });
    }

    /// Fetches unless a fetch that started after this call already finished (its result is
    /// as fresh as one of our own) or the rate limit says not yet.
    pub async fn refresh_if_stale(&self) -> Result<(), GitError> {
        let asked = Instant::now();
        let mut st = self.fetch.lock().await;
        if st.started.is_some_and(|s| s >= asked) {
            return Ok(());
        }
        let now = Instant::now();
        if st.not_before.is_some_and(|t| now < t) {
            return Ok(());
        }
        st.started = Some(now);
        match self.fetch_and_load(now).await {
            Ok(()) => {
                st.not_before = Some(now + MIN_FETCH_GAP);
                Ok(())
            }
            Err(e) => {
                st.not_before = Some(Instant::now() + FAILED_FETCH_BACKOFF);
                Err(e)
            }
        }
    }

    async fn fetch_and_load(&self, started: Instant) -> Result<(), GitError> {
        git(
            "fetch",
            Some(&self.path),
            &[
                "fetch",
                "--prune",
                "--force",
                "--quiet",
                "origin",
                "+refs/*:refs/*",
            ],
        )
        .await?;
        let refs = load_refs(&self.path).await?;
        let current = self.snapshot();
        // Usually nothing moved: keep the commit list rather than re-walk all history.
        let index = if refs == current.index.refs {
            Arc::clone(&current.index)
        } else {
            Arc::new(load_commits(&self.path, refs).await?)
        };
        self.set_snapshot(Snapshot {
            index,
            fetched: Some(started),
        });
        Ok(())
    }
}

/// All mirrors of this server, by repository.
pub struct Mirrors {
    root: PathBuf,
    open: Mutex<HashMap<RepoId, Arc<Mirror>>>,
}

impl Mirrors {
    pub fn new(data_dir: &Path) -> Mirrors {
        Mirrors {
            root: data_dir.join("mirrors"),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Where the mirror of a repository (by its case-insensitive key) lives.
    pub fn path_for(&self, repo_key: &str) -> PathBuf {
        self.root
            .join(format!("{}.git", repo_key.replace('/', "__")))
    }

    /// Clones `git_url` into the mirror location of `repo_key`, replacing nothing: the clone
    /// goes to a temporary directory first and is moved into place only when complete.
    pub async fn clone_new(&self, repo_key: &str, git_url: &str) -> Result<(), GitError> {
        let dest = self.path_for(repo_key);
        std::fs::create_dir_all(&self.root)?;
        let tmp = self
            .root
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let tmp_s = tmp.to_string_lossy().into_owned();
        let res = git(
            "clone",
            None,
            &["clone", "--mirror", "--quiet", "--", git_url, &tmp_s],
        )
        .await;
        if let Err(e) = res {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if dest.exists() {
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::rename(&tmp, &dest)?;
        Ok(())
    }

    /// Removes a mirror (when creating its repository failed after the clone).
    pub fn remove(&self, repo_key: &str) {
        let _ = std::fs::remove_dir_all(self.path_for(repo_key));
    }

    /// The open mirror of a repository, loading its index on first use. `git_url` re-creates
    /// a mirror that has gone missing from disk.
    pub async fn get(
        &self,
        repo: RepoId,
        repo_key: &str,
        git_url: &str,
    ) -> Result<Arc<Mirror>, GitError> {
        if let Some(m) = self.lock_open().get(&repo) {
            return Ok(Arc::clone(m));
        }
        let path = self.path_for(repo_key);
        if !path.exists() {
            self.clone_new(repo_key, git_url).await?;
        }
        let index = load_commits(&path, load_refs(&path).await?).await?;
        // Not marked as fetched: the mirror on disk may be any age (cloned at registration,
        // or before a restart), so its first name lookup or miss fetches.
        let mirror = Arc::new(Mirror::new(path, index));
        let mut open = self.lock_open();
        Ok(Arc::clone(open.entry(repo).or_insert(mirror)))
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, HashMap<RepoId, Arc<Mirror>>> {
        match self.open.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

async fn git(what: &'static str, dir: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    // Never prompt for credentials: a mirror that needs them fails instead of hanging.
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // A remote that hangs must not hold the requests waiting on this fetch forever; the child
    // is killed when the timed-out future drops it.
    let limit = if what == "clone" {
        CLONE_TIMEOUT
    } else {
        COMMAND_TIMEOUT
    };
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| GitError::Command(what, format!("timed out after {}s", limit.as_secs())))??;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(GitError::Command(what, err));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn load_refs(path: &Path) -> Result<HashMap<String, Sha>, GitError> {
    let refs_out = git(
        "for-each-ref",
        Some(path),
        &[
            "for-each-ref",
            "--format=%(objectname) %(*objectname) %(objecttype) %(refname)",
        ],
    )
    .await?;
    let mut refs = HashMap::new();
    for line in refs_out.lines() {
        let mut parts = line.splitn(4, ' ');
        let (Some(obj), Some(peeled), Some(kind), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let target = if kind == "tag" && !peeled.is_empty() {
            peeled
        } else {
            obj
        };
        if let Ok(sha) = Sha::parse(target) {
            refs.insert(name.to_owned(), sha);
        }
    }
    Ok(refs)
}

async fn load_commits(path: &Path, refs: HashMap<String, Sha>) -> Result<RefIndex, GitError> {
    // An empty repository has no commits: rev-list fails on it, which means "none".
    let commits_out = if refs.is_empty() {
        String::new()
    } else {
        git("rev-list", Some(path), &["rev-list", "--all"]).await?
    };
    let mut commits: Vec<String> = commits_out
        .lines()
        .filter(|l| l.len() == 40)
        .map(str::to_owned)
        .collect();
    commits.sort_unstable();
    commits.dedup();
    Ok(RefIndex { refs, commits })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("sha")
    }

    #[test]
    fn resolution_order_and_prefixes() {
        let mut refs = HashMap::new();
        refs.insert("refs/heads/main".to_owned(), sha('a'));
        refs.insert("refs/tags/v1".to_owned(), sha('b'));
        refs.insert("refs/heads/feature/x".to_owned(), sha('c'));
        let mut commits = vec![
            "a".repeat(40),
            "b".repeat(40),
            "c".repeat(40),
            format!("abcdef1{}", "0".repeat(33)),
            format!("abcdef1{}", "1".repeat(33)),
        ];
        commits.sort();
        let idx = RefIndex { refs, commits };
        assert_eq!(idx.resolve("main"), Some(sha('a')));
        assert_eq!(idx.resolve("refs/heads/main"), Some(sha('a')));
        assert_eq!(idx.resolve("heads/main"), Some(sha('a')));
        assert_eq!(idx.resolve("v1"), Some(sha('b')));
        assert_eq!(idx.resolve("tags/v1"), Some(sha('b')));
        assert_eq!(idx.resolve("feature/x"), Some(sha('c')));
        assert_eq!(idx.resolve("ccccccc"), Some(sha('c')));
        assert_eq!(idx.resolve("abcdef1"), None, "ambiguous prefix");
        assert_eq!(
            idx.resolve("abcdef10"),
            Sha::parse(&format!("abcdef1{}", "0".repeat(33))).ok()
        );
        assert_eq!(idx.resolve("dddddddd"), None);
        assert_eq!(idx.resolve("nope"), None);
        assert!(idx.has_commit(&sha('b')));
        // Names may move (checked for freshness); commit ids never do.
        assert_eq!(idx.lookup("main"), Some(Hit::Name(sha('a'))));
        assert_eq!(idx.lookup(&"a".repeat(40)), Some(Hit::Commit(sha('a'))));
        assert_eq!(idx.lookup("ccccccc"), Some(Hit::Commit(sha('c'))));
    }
}
