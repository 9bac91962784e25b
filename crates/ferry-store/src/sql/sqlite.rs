//! SQLite specifics: file creation, WAL and durability settings, its migrations, and the
//! group-commit writer.
//!
//! SQLite has one writer at a time and `synchronous=FULL` pays one fsync per commit. Rather
//! than let concurrent transactions queue on SQLite's lock (and each pay an fsync),
//! every write is a *job* sent to one writer task ([`GroupCommit`]). The writer takes all
//! jobs waiting, runs them in one `BEGIN IMMEDIATE` transaction — each inside its own
//! `SAVEPOINT`, so a job that fails is rolled back alone — commits once, and only then answers
//! every job. Under load one fsync covers many requests; alone, a job commits at once.
//! Readers use the pool in parallel, thanks to WAL. The writer never checkpoints on its own
//! account: [`checkpointer`] copies the WAL back from a reader connection, and asks the writer
//! to start the WAL over once it is long. One `ferry serve` per SQLite file:
//! several instances need PostgreSQL.
//!
//! The writer holds two connections to the file: sqlx's, for most jobs, and a direct one
//! (`rusqlite`) for the jobs written against [`Exec`] (ingestion), where a statement is a
//! call on the writer's thread instead of two hand-offs to sqlx's worker thread (see
//! `sql/exec.rs`). Only the writer writes, one transaction at a time, so the two never
//! wait on each other: a batch mixing both kinds commits each run of one kind in turn, in
//! the order the jobs came.

use super::exec::{finish_now, Exec};
use super::BoxFuture;
use crate::{StoreError, StoreResult};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// `synchronous=FULL`: a commit is on disk before the client hears `2xx`. A 1 MiB page cache
/// per connection bounds memory (SQLite's default is 2 MiB each); the file stays in the OS
/// page cache anyway.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -1024;";

/// The writer does not checkpoint: SQLite's automatic checkpoint runs in the connection that
/// commits, and copying the WAL back into the database (with its fsync) would hold every
/// request waiting on the next batch. [`checkpointer`] does it beside the writer instead.
/// Sub-journals in memory: every job runs in a savepoint, and a savepoint copies each page
/// it changes; SQLite's default spills those copies to a temporary file past 64 KiB, which
/// was a third of the writer's time under load.
const WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY";

/// The direct writer touches a dozen tables and indexes per ingested deploy: a page cache
/// of 16 MiB keeps their hot pages (readers keep [`PRAGMAS`]'s 1 MiB).
const DIRECT_PRAGMAS: &str = "PRAGMA cache_size = -16384";

/// How often [`checkpointer`] copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A WAL longer than this (frames of 4 KiB pages: 16 MiB) is started over by the writer.
const RESTART_FRAMES: i64 = 4096;

/// Run by the writer between batches when asked: the passive checkpoints have copied nearly
/// everything, so this copies one batch's frames and lets the next transaction start the WAL
/// over. Under steady writes that never happens by itself (new frames always follow the last
/// checkpoint), and the WAL would grow without end. No waiting for readers: one still on an
/// old snapshot makes this a partial checkpoint, tried again later.
const RESTART_SQL: &str =
    "PRAGMA busy_timeout = 0; PRAGMA wal_checkpoint(RESTART); PRAGMA busy_timeout = 5000";

/// Most jobs in one transaction: bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 512;

/// The pool, and the file's path for the writer's direct connection (`None` for an
/// in-memory database, which a second connection would not see).
pub(crate) async fn connect(url: &str) -> StoreResult<(AnyPool, Option<String>)> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() {
        return Err(StoreError::Other("empty SQLite path".into()));
    }
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        // A ping per acquire is a wasted round trip to a local file.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(PRAGMAS).await?;
                Ok(())
            })
        })
        .connect(&format!("sqlite://{path}?mode=rwc"))
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let file = (path != ":memory:").then(|| path.to_owned());
    Ok((pool, file))
}

/// The writer's direct connection, set up as the pool's ([`PRAGMAS`]) and the writer's.
fn direct_connection(path: &str) -> StoreResult<rusqlite::Connection> {
    let open = || -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(PRAGMAS)?;
        conn.execute_batch(WRITER_PRAGMAS)?;
        conn.execute_batch(DIRECT_PRAGMAS)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    };
    open().map_err(|e| StoreError::Unavailable(format!("cannot open {path}: {e}")))
}

/// Called once the batch's fate is known: `None` if it committed, else why it did not.
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A type-erased sqlx job: runs, says whether it succeeded, and hands back how to answer.
type SqlxJob =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;
/// A type-erased job written against [`Exec`]: on the direct connection its future finishes
/// in one poll; without one (an in-memory database) it runs on sqlx's connection.
type DirectJob = Box<dyn for<'c> FnOnce(&'c mut dyn Exec) -> BoxFuture<'c, (bool, Finish)> + Send>;

enum Job {
    Sqlx(SqlxJob),
    Direct(DirectJob),
}

/// What a job's result becomes once its batch's fate is known.
fn answer<T: Send + 'static>(
    result: StoreResult<T>,
    reply: oneshot::Sender<StoreResult<T>>,
) -> (bool, Finish) {
    let ok = result.is_ok();
    let finish: Finish = Box::new(move |commit_error| {
        let outcome = match commit_error {
            Some(e) if ok => Err(StoreError::Unavailable(format!(
                "the transaction did not commit: {e}"
            ))),
            _ => result,
        };
        let _ = reply.send(outcome);
    });
    (ok, finish)
}

/// Handle to the writer task. Dropping the last handle stops the task.
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
    stop: Arc<Notify>,
}

impl GroupCommit {
    pub(crate) async fn start(pool: &AnyPool, file: Option<&str>) -> StoreResult<GroupCommit> {
        let conn = writer_connection(pool).await?;
        let direct = file.map(direct_connection).transpose()?;
        let (jobs, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let stop = Arc::new(Notify::new());
        let restart = Arc::new(AtomicBool::new(false));
        tokio::spawn(writer(
            conn,
            direct,
            pool.clone(),
            rx,
            Arc::clone(&stop),
            Arc::clone(&restart),
        ));
        tokio::spawn(checkpointer(pool.clone(), restart));
        Ok(GroupCommit { jobs, stop })
    }

    /// Ends the writer task, which gives its connection back: closing the pool waits for every
    /// connection, and the writer's would otherwise stay out as long as the store lives.
    pub(crate) fn stop(&self) {
        self.stop.notify_one();
    }

    /// Queues `job` and waits until its batch has committed (or failed).
    pub(crate) async fn run<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let (reply, answered) = oneshot::channel::<StoreResult<T>>();
        let erased: SqlxJob =
            Box::new(move |conn| Box::pin(async move { answer(job(conn).await, reply) }));
        self.queue(Job::Sqlx(erased), answered).await
    }

    /// [`run`](Self::run) for a job written against [`Exec`]: it runs on the writer's direct
    /// connection when there is one (else on sqlx's, as any job).
    pub(crate) async fn run_direct<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Exec) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let (reply, answered) = oneshot::channel::<StoreResult<T>>();
        let erased: DirectJob =
            Box::new(move |conn| Box::pin(async move { answer(job(conn).await, reply) }));
        self.queue(Job::Direct(erased), answered).await
    }

    async fn queue<T>(
        &self,
        job: Job,
        answered: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

/// A pool connection set up as the writer's ([`WRITER_PRAGMAS`]).
async fn writer_connection(pool: &AnyPool) -> StoreResult<PoolConnection<Any>> {
    let mut conn = pool.acquire().await?;
    exec(&mut conn, WRITER_PRAGMAS).await?;
    Ok(conn)
}

/// Checkpoints the WAL from a reader connection while the writer goes on: `PASSIVE` takes no
/// lock a writer waits for. A WAL that has grown past [`RESTART_FRAMES`] (steady writes never
/// let it start over by itself) is handed to the writer for [`RESTART_SQL`]. Ends when the
/// pool closes.
async fn checkpointer(pool: AnyPool, restart: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        let Ok(mut conn) = pool.acquire().await else {
            return;
        };
        // (busy, frames in the WAL, frames copied); -1s when not in WAL mode.
        let done: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&mut *conn)
                .await;
        match done {
            Ok((_, frames, _)) if frames > RESTART_FRAMES => restart.store(true, Ordering::Release),
            Ok(_) => {}
            Err(e) => tracing::warn!(error.cause = %e, "SQLite checkpoint failed"),
        }
    }
}

/// One statement on the writer's connection. Boxed with an explicit lifetime: spawning the
/// writer needs its futures to be `Send` for that exact borrow, which sqlx's generic
/// executor bounds cannot prove on their own.
fn exec<'c>(conn: &'c mut AnyConnection, sql: &'static str) -> BoxFuture<'c, StoreResult<()>> {
    let statement = conn.execute(sql);
    Box::pin(async move {
        statement.await?;
        Ok(())
    })
}

/// The writer loop: one batch per iteration, until every handle is dropped.
async fn writer(
    mut conn: PoolConnection<Any>,
    mut direct: Option<rusqlite::Connection>,
    pool: AnyPool,
    mut rx: mpsc::Receiver<Job>,
    stop: Arc<Notify>,
    restart: Arc<AtomicBool>,
) {
    loop {
        let first = tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job,
                None => break,
            },
            _ = stop.notified() => break,
        };
        if restart.swap(false, Ordering::AcqRel) {
            if let Err(e) = exec(&mut conn, RESTART_SQL).await {
                tracing::warn!(error.cause = %e, "SQLite WAL restart failed");
            }
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Runs of one kind, in order: each commits before the next starts.
        let mut jobs = batch.into_iter().peekable();
        while let Some(job) = jobs.next() {
            match (job, direct.take()) {
                (Job::Direct(first), Some(own)) => {
                    let mut run = vec![first];
                    while let Some(Job::Direct(_)) = jobs.peek() {
                        if let Some(Job::Direct(next)) = jobs.next() {
                            run.push(next);
                        }
                    }
                    direct = run_direct_batch(own, run).await;
                }
                (first, own) => {
                    direct = own;
                    let mut run = vec![first];
                    while jobs
                        .peek()
                        .is_some_and(|j| matches!(j, Job::Sqlx(_)) || direct.is_none())
                    {
                        run.extend(jobs.next());
                    }
                    if let Err(e) = run_batch(&mut conn, run).await {
                        // The connection may be broken: take a fresh one for the next batch.
                        tracing::error!(error.cause = %e, "SQLite batch failed");
                        let _ = exec(&mut conn, "ROLLBACK").await;
                        match writer_connection(&pool).await {
                            Ok(fresh) => conn = fresh,
                            Err(e) => {
                                tracing::error!(error.cause = %e, "cannot reconnect the SQLite writer")
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Runs one batch on sqlx's connection. Every job is answered, whatever happens; the error
/// returned is the batch's (begin or commit), after its jobs were told.
async fn run_batch(conn: &mut AnyConnection, batch: Vec<Job>) -> StoreResult<()> {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE").await {
        // Nothing ran. Dropping the jobs drops their reply channels: each caller hears
        // that the write did not happen.
        drop(batch);
        return Err(e);
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    // Each job's savepoint ends in the same round trip that opens the next one's. Savepoints
    // are released, not left open until COMMIT: open ones make SQLite copy every touched page
    // into its sub-journal.
    let last = batch.len().saturating_sub(1);
    if let Err(e) = exec(conn, "SAVEPOINT job").await {
        broken = Some(e);
    }
    for (i, job) in batch.into_iter().enumerate() {
        if broken.is_some() {
            drop(job); // its sender is dropped: the caller hears "writer stopped"
            continue;
        }
        let (ok, finish) = match job {
            Job::Sqlx(job) => job(conn).await,
            Job::Direct(job) => job(conn).await,
        };
        let end = exec(
            conn,
            match (ok, i == last) {
                (true, false) => "RELEASE job; SAVEPOINT job",
                (true, true) => "RELEASE job",
                (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                (false, true) => "ROLLBACK TO job; RELEASE job",
            },
        )
        .await;
        finishes.push(finish);
        if let Err(e) = end {
            broken = Some(e);
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => exec(conn, "COMMIT").await,
    };
    let err = outcome.as_ref().err();
    for finish in finishes {
        finish(err);
    }
    outcome
}

/// Runs one batch of direct jobs on a blocking thread (its commit waits for the disk), the
/// same way [`run_batch`] does; gives the connection back, or `None` if it could not be
/// moved back (the writer then runs every job on sqlx's connection).
async fn run_direct_batch(
    conn: rusqlite::Connection,
    batch: Vec<DirectJob>,
) -> Option<rusqlite::Connection> {
    let done = tokio::task::spawn_blocking(move || {
        let mut conn = conn;
        if let Err(e) = direct_batch(&mut conn, batch) {
            tracing::error!(error.cause = %e, "SQLite batch failed");
            let _ = conn.execute_batch("ROLLBACK");
        }
        conn
    })
    .await;
    match done {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::error!(error.cause = %e, "the SQLite direct writer stopped");
            None
        }
    }
}

fn direct_batch(conn: &mut rusqlite::Connection, batch: Vec<DirectJob>) -> StoreResult<()> {
    // Cached: parsing these again for every job was a tenth of the writer's time.
    let sql = |conn: &rusqlite::Connection, sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut st| st.raw_execute())
            .map(drop)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    };
    sql(conn, "BEGIN IMMEDIATE")?;
    let mut finishes = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if broken.is_some() {
            drop(job);
            continue;
        }
        if let Err(e) = sql(conn, "SAVEPOINT job") {
            broken = Some(e);
            drop(job);
            continue;
        }
        let done = finish_now(job(conn));
        let ok = match done {
            Some((ok, finish)) => {
                finishes.push(finish);
                ok
            }
            None => {
                tracing::error!("a direct SQLite job waited on something other than SQLite");
                false
            }
        };
        let end = if ok {
            sql(conn, "RELEASE job")
        } else {
            sql(conn, "ROLLBACK TO job").and_then(|()| sql(conn, "RELEASE job"))
        };
        if let Err(e) = end {
            broken = Some(e);
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => sql(conn, "COMMIT"),
    };
    let err = outcome.as_ref().err();
    for finish in finishes {
        finish(err);
    }
    outcome
}
