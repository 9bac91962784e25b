//! SQLite specifics: file creation, WAL and durability settings, its migrations, and the
//! group-commit writer.
//!
//! SQLite has one writer at a time and a durable commit pays one fsync. Rather than let
//! concurrent transactions queue on SQLite's lock (and each pay an fsync), every write is a
//! *job* sent to one writer thread ([`GroupCommit`]). The writer takes all jobs waiting, runs
//! them in one `BEGIN IMMEDIATE` transaction — each inside its own `SAVEPOINT` (unless it is
//! alone), so a job that fails is rolled back alone — commits once, and answers every job once
//! the commit is on disk. Under load one fsync covers many requests; alone, a job commits at
//! once. Readers use the pool in parallel, thanks to WAL. The writer never checkpoints on its
//! own account: [`checkpointer`] copies the WAL back from a reader connection, and asks the
//! writer to start the WAL over once it is long. One `ferry serve` per SQLite file: several
//! instances need PostgreSQL.
//!
//! The writer holds two connections to the file: sqlx's, for most jobs, and a direct one
//! (`rusqlite`) for the jobs written against [`Exec`] (ingestion), where a statement is a
//! call on the writer's thread instead of two hand-offs to sqlx's worker thread (see
//! `sql/exec.rs`). Only the writer writes, one transaction at a time, so the two never
//! wait on each other: a batch mixing both kinds commits each run of one kind in turn, in
//! the order the jobs came.
//!
//! Durability is pipelined: the writer commits with `synchronous=NORMAL` (the WAL is written
//! but not flushed) and goes on with the next batch at once, while [`Syncer`] flushes the WAL
//! file and only then answers the batches it covers. A `2xx` still means the data is on
//! disk; the writer no longer sits idle through every flush. Readers may see a commit a
//! moment before its flush ends.

use super::exec::{finish_now, Exec};
use super::BoxFuture;
use crate::traits::Queued;
use crate::{StoreError, StoreResult};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// `synchronous=FULL` for every connection but the writer's ([`PIPELINED_PRAGMAS`]), which
/// commits every write once serving. A 1 MiB page cache
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

/// Writer connections of a file database: commits write the WAL without flushing it;
/// [`Syncer`] flushes before anyone is answered. (Checkpoints still flush: SQLite syncs the
/// WAL before one and the database after it.)
const PIPELINED_PRAGMAS: &str = "PRAGMA synchronous = NORMAL";

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

/// Read-only connections outside sqlx, for reads that return many rows (a DORA report over
/// every service): sqlx's SQLite driver hands each statement to a worker thread and converts
/// each row to its `Any` form, which there cost more than SQLite's own work. Opened on
/// demand, a few kept idle between reads.
pub(crate) struct Readers {
    path: String,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle [`Readers`] kept: a burst of reports opens more, and they close when done.
const MAX_IDLE_READERS: usize = 4;

/// A read written against [`Exec`]; on a direct connection its future finishes in one poll.
pub(crate) type ReadJob<T> =
    Box<dyn for<'c> FnOnce(&'c mut dyn Exec) -> BoxFuture<'c, StoreResult<T>> + Send>;

impl Readers {
    pub(crate) fn new(path: &str) -> Arc<Readers> {
        Arc::new(Readers {
            path: path.to_owned(),
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn open(&self) -> StoreResult<rusqlite::Connection> {
        use rusqlite::OpenFlags as F;
        let open = || -> rusqlite::Result<rusqlite::Connection> {
            let conn = rusqlite::Connection::open_with_flags(
                &self.path,
                F::SQLITE_OPEN_READ_ONLY | F::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -8192")?;
            conn.set_prepared_statement_cache_capacity(64);
            Ok(conn)
        };
        open().map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", self.path)))
    }

    /// Runs `job` on a blocking thread, on an idle connection (or a new one), inside one read
    /// transaction: every statement of the job sees the same snapshot.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        job: ReadJob<T>,
    ) -> StoreResult<T> {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = readers.idle.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match idle {
                Some(c) => c,
                None => readers.open()?,
            };
            conn.execute_batch("BEGIN")
                .map_err(|e| StoreError::Other(format!("read transaction: {e}")))?;
            let out = finish_now(job(&mut conn))
                .unwrap_or_else(|| Err(StoreError::Other("a direct read waited".into())));
            // A read transaction: ending it cannot lose anything; a connection that cannot
            // end it is not kept.
            if conn.execute_batch("COMMIT").is_ok() {
                if let Ok(mut v) = readers.idle.lock() {
                    if v.len() < MAX_IDLE_READERS {
                        v.push(conn);
                    }
                }
            }
            out
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task: {e}")))?
    }
}

/// The writer's direct connection, set up as the pool's ([`PRAGMAS`]) and the writer's.
fn direct_connection(path: &str) -> StoreResult<rusqlite::Connection> {
    let open = || -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(PRAGMAS)?;
        conn.execute_batch(WRITER_PRAGMAS)?;
        conn.execute_batch(DIRECT_PRAGMAS)?;
        conn.execute_batch(PIPELINED_PRAGMAS)?;
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
    Write(Write),
    /// Ends the writer once the jobs queued before it are done.
    Stop,
}

enum Write {
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

/// Handle to the writer thread. Dropping the last handle stops the thread.
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    pub(crate) async fn start(pool: &AnyPool, file: Option<&str>) -> StoreResult<GroupCommit> {
        let conn = writer_connection(pool, file.is_some()).await?;
        let direct = file.map(direct_connection).transpose()?;
        let syncer = file.map(Syncer::start).transpose()?;
        let (jobs, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let restart = Arc::new(AtomicBool::new(false));
        let (runtime, pool_of_writer, restart_of_writer) =
            (Handle::current(), pool.clone(), Arc::clone(&restart));
        std::thread::Builder::new()
            .name("ferry-sqlite-writer".into())
            .spawn(move || {
                writer(
                    runtime,
                    conn,
                    direct,
                    syncer,
                    pool_of_writer,
                    rx,
                    restart_of_writer,
                )
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer: {e}")))?;
        tokio::spawn(checkpointer(pool.clone(), restart));
        Ok(GroupCommit { jobs })
    }

    /// Ends the writer once the jobs already queued are done; it gives its connection back:
    /// closing the pool waits for every connection, and the writer's would otherwise stay out
    /// as long as the store lives.
    pub(crate) async fn stop(&self) {
        let _ = self.jobs.send(Job::Stop).await;
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
        self.queue(Job::Write(Write::Sqlx(erased)), answered).await
    }

    /// [`run`](Self::run) for a job written against [`Exec`]: it runs on the writer's direct
    /// connection when there is one (else on sqlx's, as any job).
    pub(crate) async fn run_direct<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Exec) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        self.queue_direct(job).await?.await
    }

    /// [`run_direct`](Self::run_direct) in two steps: returns once `job` is queued (behind
    /// every job queued before it); the future it gives resolves once its batch committed.
    pub(crate) async fn queue_direct<T, F>(&self, job: F) -> StoreResult<Queued<T>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Exec) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let (reply, answered) = oneshot::channel::<StoreResult<T>>();
        let erased: DirectJob =
            Box::new(move |conn| Box::pin(async move { answer(job(conn).await, reply) }));
        self.send(Job::Write(Write::Direct(erased))).await?;
        Ok(Box::pin(
            async move { answered.await.map_err(|_| stopped())? },
        ))
    }

    async fn queue<T>(
        &self,
        job: Job,
        answered: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T> {
        self.send(job).await?;
        answered.await.map_err(|_| stopped())?
    }

    async fn send(&self, job: Job) -> StoreResult<()> {
        self.jobs.send(job).await.map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".into())
}

/// Flushes the WAL of committed batches, then answers them: one flush covers every batch
/// committed before it began. Its thread ends when the writer drops it.
struct Syncer {
    batches: std::sync::mpsc::Sender<Vec<Finish>>,
}

impl Syncer {
    fn start(path: &str) -> StoreResult<Syncer> {
        // The writer connections have the database open in WAL mode: the file exists, and
        // SQLite neither deletes nor replaces it while they are open (a restarted WAL is
        // rewritten in place), so this handle flushes the very file commits go to.
        let wal_path = format!("{path}-wal");
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&wal_path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {wal_path}: {e}")))?;
        let (batches, rx) = std::sync::mpsc::channel::<Vec<Finish>>();
        std::thread::Builder::new()
            .name("ferry-sqlite-sync".into())
            .spawn(move || {
                while let Ok(mut all) = rx.recv() {
                    while let Ok(more) = rx.try_recv() {
                        all.extend(more);
                    }
                    let flushed = wal.sync_data().map_err(|e| {
                        StoreError::Unavailable(format!("cannot flush the WAL to disk: {e}"))
                    });
                    let err = flushed.as_ref().err();
                    for finish in all {
                        finish(err);
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the WAL flusher: {e}")))?;
        Ok(Syncer { batches })
    }
}

/// Answers a batch's jobs: through `syncer` once the WAL is on disk when it committed,
/// at once otherwise (it failed, or there is no file to flush).
fn settle(outcome: &StoreResult<()>, finishes: Vec<Finish>, syncer: Option<&Syncer>) {
    let finishes = match (outcome, syncer) {
        (Ok(()), Some(syncer)) => match syncer.batches.send(finishes) {
            Ok(()) => return,
            Err(unsent) => {
                let e = StoreError::Unavailable("the WAL flusher has stopped".into());
                for finish in unsent.0 {
                    finish(Some(&e));
                }
                return;
            }
        },
        _ => finishes,
    };
    let err = outcome.as_ref().err();
    for finish in finishes {
        finish(err);
    }
}

/// A pool connection set up as the writer's ([`WRITER_PRAGMAS`]; [`PIPELINED_PRAGMAS`] when
/// a [`Syncer`] flushes its commits).
async fn writer_connection(pool: &AnyPool, pipelined: bool) -> StoreResult<PoolConnection<Any>> {
    let mut conn = pool.acquire().await?;
    exec(&mut conn, WRITER_PRAGMAS).await?;
    if pipelined {
        exec(&mut conn, PIPELINED_PRAGMAS).await?;
    }
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

/// One statement on the writer's connection. Boxed with an explicit lifetime so that the
/// futures holding it are `Send` for that exact borrow (jobs are), which sqlx's generic
/// executor bounds cannot prove on their own.
fn exec<'c>(conn: &'c mut AnyConnection, sql: &'static str) -> BoxFuture<'c, StoreResult<()>> {
    let statement = conn.execute(sql);
    Box::pin(async move {
        statement.await?;
        Ok(())
    })
}

/// The writer loop, on a thread of its own: one batch per iteration, until asked to stop or
/// every handle is dropped. A thread rather than a task: the direct connection's work is
/// blocking, and a task would wait behind request handlers for a worker and hand every batch
/// to a blocking thread and back. sqlx's jobs run on the runtime through `block_on`.
fn writer(
    runtime: Handle,
    mut conn: PoolConnection<Any>,
    mut direct: Option<rusqlite::Connection>,
    syncer: Option<Syncer>,
    pool: AnyPool,
    mut rx: mpsc::Receiver<Job>,
    restart: Arc<AtomicBool>,
) {
    // sqlx spawns onto the runtime (a pool connection goes back to its pool that way).
    let _context = runtime.enter();
    while let Some(first) = rx.blocking_recv() {
        if restart.swap(false, Ordering::AcqRel) {
            if let Err(e) = runtime.block_on(exec(&mut conn, RESTART_SQL)) {
                tracing::warn!(error.cause = %e, "SQLite WAL restart failed");
            }
        }
        let (mut batch, mut stop, mut next) = (Vec::new(), false, Some(first));
        while let Some(job) = next.take() {
            match job {
                Job::Write(w) => batch.push(w),
                Job::Stop => {
                    stop = true;
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        // Runs of one kind, in order: each commits before the next starts.
        for run in runs(batch, direct.is_some()) {
            let (outcome, finishes) = match (run, direct.as_mut()) {
                (Run::Direct(jobs), Some(own)) => {
                    let done = finish_now(Box::pin(run_batch(own, jobs, direct_sql, |c, j| j(c))));
                    let (outcome, finishes) = done.unwrap_or_else(|| {
                        // Its jobs are dropped unanswered: their callers hear that the write
                        // did not happen.
                        let e = "a direct SQLite job waited on something other than SQLite";
                        (Err(StoreError::Other(e.into())), Vec::new())
                    });
                    if let Err(e) = &outcome {
                        tracing::error!(error.cause = %e, "SQLite batch failed");
                        let _ = own.execute_batch("ROLLBACK");
                    }
                    (outcome, finishes)
                }
                (run, _) => {
                    let writes = match run {
                        Run::Sqlx(writes) => writes,
                        Run::Direct(jobs) => jobs.into_iter().map(Write::Direct).collect(),
                    };
                    let done = runtime.block_on(run_batch(&mut *conn, writes, exec, run_write));
                    if let Err(e) = &done.0 {
                        // The connection may be broken: take a fresh one for the next batch.
                        tracing::error!(error.cause = %e, "SQLite batch failed");
                        let _ = runtime.block_on(exec(&mut conn, "ROLLBACK"));
                        match runtime.block_on(writer_connection(&pool, syncer.is_some())) {
                            Ok(fresh) => conn = fresh,
                            Err(e) => {
                                tracing::error!(error.cause = %e, "cannot reconnect the SQLite writer")
                            }
                        }
                    }
                    done
                }
            };
            settle(&outcome, finishes, syncer.as_ref());
        }
        if stop {
            break;
        }
    }
    // While `_context` still stands: the connection returns to its pool through the runtime
    // (parameters would be dropped after the guard, and sqlx panics without a context).
    drop(conn);
}

/// Consecutive writes of one kind. Direct jobs form runs of their own only when the writer
/// has its direct connection (a file database); otherwise they run on sqlx's like any job.
enum Run {
    Sqlx(Vec<Write>),
    Direct(Vec<DirectJob>),
}

fn runs(batch: Vec<Write>, direct: bool) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for w in batch {
        match w {
            Write::Direct(job) if direct => match out.last_mut() {
                Some(Run::Direct(run)) => run.push(job),
                _ => out.push(Run::Direct(vec![job])),
            },
            w => match out.last_mut() {
                Some(Run::Sqlx(run)) => run.push(w),
                _ => out.push(Run::Sqlx(vec![w])),
            },
        }
    }
    out
}

/// A job of a sqlx run.
fn run_write(conn: &mut AnyConnection, w: Write) -> BoxFuture<'_, (bool, Finish)> {
    match w {
        Write::Sqlx(job) => job(conn),
        Write::Direct(job) => job(conn),
    }
}

/// Statements on the direct connection, one at a time (`;`-separated), each cached:
/// parsing them again for every job was a tenth of the writer's time. Never waits.
fn direct_sql<'c>(
    conn: &'c mut rusqlite::Connection,
    sql: &'static str,
) -> BoxFuture<'c, StoreResult<()>> {
    let done = sql
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .try_for_each(|s| {
            conn.prepare_cached(s)
                .and_then(|mut st| st.raw_execute())
                .map(drop)
        })
        .map_err(|e| StoreError::Unavailable(e.to_string()));
    Box::pin(std::future::ready(done))
}

/// Runs one batch of jobs on `conn` (sqlx's connection, or the direct one through
/// [`finish_now`]), `sql` running its transaction statements and `call` a job: the batch's
/// outcome (begin or commit) and how to answer each job that ran ([`settle`]). A job that
/// did not run is dropped, and with it its reply channel: its caller hears that the write did
/// not happen.
///
/// Each job runs in a savepoint, so that one failing is rolled back alone, except a job
/// alone in its batch: its transaction is its own. That matters for long jobs (a bulk
/// import): with the sub-journal in memory, every statement under a savepoint pays for all
/// the pages the savepoint has touched so far (81 % of an import's time in SQLite's
/// savepoint code).
async fn run_batch<C: ?Sized, J>(
    conn: &mut C,
    batch: Vec<J>,
    sql: for<'c> fn(&'c mut C, &'static str) -> BoxFuture<'c, StoreResult<()>>,
    call: for<'c> fn(&'c mut C, J) -> BoxFuture<'c, (bool, Finish)>,
) -> (StoreResult<()>, Vec<Finish>) {
    if let Err(e) = sql(conn, "BEGIN IMMEDIATE").await {
        drop(batch);
        return (Err(e), Vec::new());
    }
    if batch.len() == 1 {
        let Some(job) = batch.into_iter().next() else {
            return (sql(conn, "ROLLBACK").await, Vec::new());
        };
        let (ok, finish) = call(conn, job).await;
        let end = sql(conn, if ok { "COMMIT" } else { "ROLLBACK" }).await;
        return (end, vec![finish]);
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    // Each job's savepoint ends in the same call that opens the next one's (one round trip
    // on sqlx's connection). Savepoints are released, not left open until COMMIT: open ones
    // make SQLite copy every touched page into its sub-journal.
    let last = batch.len().saturating_sub(1);
    if let Err(e) = sql(conn, "SAVEPOINT job").await {
        broken = Some(e);
    }
    for (i, job) in batch.into_iter().enumerate() {
        if broken.is_some() {
            drop(job); // its sender is dropped: the caller hears "writer stopped"
            continue;
        }
        let (ok, finish) = call(conn, job).await;
        let end = sql(
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
        None => sql(conn, "COMMIT").await,
    };
    (outcome, finishes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A direct job that inserts `n` and reports `ok`, recording what its batch told it.
    fn job(n: i64, ok: bool, told: &Arc<Mutex<Vec<(i64, bool)>>>) -> DirectJob {
        let told = Arc::clone(told);
        Box::new(move |c| {
            Box::pin(async move {
                let inserted = c.run("INSERT INTO t (n) VALUES ($1)", &[n.into()]).await;
                let finish: Finish = Box::new(move |err| {
                    if let Ok(mut v) = told.lock() {
                        v.push((n, err.is_none()));
                    }
                });
                (ok && inserted.is_ok(), finish)
            })
        })
    }

    /// Three jobs in one batch, the middle one failing after it wrote: it alone is rolled
    /// back, the others commit, and every job that ran is answered with the commit.
    #[test]
    fn a_failing_job_in_a_batch_is_rolled_back_alone() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("memory database");
        conn.execute_batch("CREATE TABLE t (n INTEGER)")
            .expect("table");
        let told = Arc::new(Mutex::new(Vec::new()));
        let batch = vec![
            job(1, true, &told),
            job(2, false, &told),
            job(3, true, &told),
        ];
        let (outcome, finishes) =
            finish_now(Box::pin(run_batch(&mut conn, batch, direct_sql, |c, j| {
                j(c)
            })))
            .expect("direct jobs never wait");
        assert!(outcome.is_ok());
        for finish in finishes {
            finish(outcome.as_ref().err());
        }
        let kept: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY n")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(kept, vec![1, 3]);
        let told = told.lock().expect("told").clone();
        assert_eq!(told, vec![(1, true), (2, true), (3, true)]);
    }
}
