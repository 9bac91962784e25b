//! Git mirrors: a bare `git clone --mirror` of each repository's `git_url` under
//! `<data-dir>/mirrors/`, used to resolve refs to commits.
//!
//! Resolution must be fast (it sits on the create-deployment path), so each mirror's refs and
//! commit ids are loaded into memory ([`RefIndex`]) after every clone or fetch, and lookups
//! never spawn `git`. A ref that is not found triggers one fetch (coalesced between
//! concurrent requests and spaced by [`MIN_REFRESH_INTERVAL`]) before the answer is "unknown".
//!
//! The git CLI does the git work: it is on every machine ferry targets and reads every
//! repository format; no git parsing is written here.

use ferry_domain::values::looks_like_sha_prefix;
use ferry_domain::{RepoId, Sha};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// An unknown ref does not fetch again sooner than this after the previous fetch.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {0} failed: {1}")]
    Command(&'static str, String),
    #[error("git could not be run: {0}")]
    Spawn(#[from] std::io::Error),
}

/// Refs and commits of one mirror, in memory.
#[derive(Debug, Default)]
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
        let r = r.trim();
        if r.is_empty() {
            return None;
        }
        if let Some(sha) = self.refs.get(r) {
            return Some(sha.clone());
        }
        for prefix in ["refs/heads/", "refs/tags/", "refs/"] {
            if let Some(sha) = self.refs.get(&format!("{prefix}{r}")) {
                return Some(sha.clone());
            }
        }
        if looks_like_sha_prefix(r) {
            return self.commit_by_prefix(&r.to_ascii_lowercase());
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

/// One repository's mirror.
pub struct Mirror {
    path: PathBuf,
    index: RwLock<Arc<RefIndex>>,
    /// When the last fetch finished; also serialises fetches.
    last_refresh: tokio::sync::Mutex<Instant>,
}

impl Mirror {
    fn index(&self) -> Arc<RefIndex> {
        match self.index.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn set_index(&self, index: RefIndex) {
        let mut g = match self.index.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(index);
    }

    /// Resolves `r`, fetching once if it is unknown.
    pub async fn resolve(&self, r: &str) -> Result<Option<Sha>, GitError> {
        if let Some(sha) = self.index().resolve(r) {
            return Ok(Some(sha));
        }
        self.refresh_if_stale().await?;
        Ok(self.index().resolve(r))
    }

    /// Fetches unless another request fetched very recently (then uses its result).
    pub async fn refresh_if_stale(&self) -> Result<(), GitError> {
        let asked = Instant::now();
        let mut last = self.last_refresh.lock().await;
        if *last > asked || last.elapsed() < MIN_REFRESH_INTERVAL {
            return Ok(());
        }
        self.refresh_locked().await?;
        *last = Instant::now();
        Ok(())
    }

    async fn refresh_locked(&self) -> Result<(), GitError> {
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
        self.set_index(load_index(&self.path).await?);
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
        let index = load_index(&path).await?;
        let mirror = Arc::new(Mirror {
            path,
            index: RwLock::new(Arc::new(index)),
            last_refresh: tokio::sync::Mutex::new(Instant::now()),
        });
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
    let out = cmd.output().await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(GitError::Command(what, err));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn load_index(path: &Path) -> Result<RefIndex, GitError> {
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
    }
}
