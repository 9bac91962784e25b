//! [`Exec`]: the few statement calls the ingestion write path needs, over either of two
//! connections — sqlx's (`AnyConnection`, both engines) or a direct SQLite connection
//! (`rusqlite`), which the SQLite writer uses for ingestion.
//!
//! Why two: sqlx runs every SQLite statement on a worker thread of its own, so each
//! statement costs two thread hand-offs. An ingested deploy is a dozen small statements on
//! the single writer, and those hand-offs were half the server's CPU (docs/benchmarks.md).
//! Code written against [`Exec`] runs unchanged on PostgreSQL (through sqlx) and on the
//! SQLite writer's direct connection, where a statement is a call on the writer's thread.
//!
//! SQL is written once, with PostgreSQL's `$N` placeholders; the direct connection reads
//! them as SQLite's `?N` (same numbering, so a statement may use `$4` before `$1`).

use super::BoxFuture;
use crate::{StoreError, StoreResult};
use sqlx::{AnyConnection, Row as _, ValueRef as _};
use std::borrow::Cow;

/// A value bound to a placeholder. Typed even when null: PostgreSQL wants to know.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}

impl From<Option<i64>> for Val<'_> {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Val<'a> {
    fn from(v: &'a String) -> Self {
        Val::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Val<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Val::Text(v)
    }
}

/// One column of a result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// A result row: its columns in select order, read with typed accessors.
#[derive(Debug, Clone)]
pub(crate) struct Row(Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> StoreResult<&Cell> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("a row has no column {i}")))
    }

    pub(crate) fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            Cell::Text(_) => Err(StoreError::Corrupt(format!("column {i} is not an integer"))),
        }
    }

    pub(crate) fn int(&self, i: usize) -> StoreResult<i64> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is null")))
    }

    pub(crate) fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Text(v) => Ok(Some(v.clone())),
            Cell::Int(_) => Err(StoreError::Corrupt(format!("column {i} is not text"))),
        }
    }

    pub(crate) fn text(&self, i: usize) -> StoreResult<String> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is null")))
    }
}

/// A connection inside a transaction, as the ingestion write path uses it.
pub(crate) trait Exec: Send {
    /// Runs one statement; the number of rows it changed.
    fn run<'a>(&'a mut self, sql: &'a str, args: &'a [Val<'a>]) -> BoxFuture<'a, StoreResult<u64>>;

    /// Runs one statement; every row it returned.
    fn rows<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val<'a>],
    ) -> BoxFuture<'a, StoreResult<Vec<Row>>>;

    /// Whether this is PostgreSQL (several writers at once: some writes take locks first).
    fn is_postgres(&self) -> bool;
}

impl dyn Exec + '_ {
    /// The first row, if any.
    pub(crate) async fn row(&mut self, sql: &str, args: &[Val<'_>]) -> StoreResult<Option<Row>> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    /// The first column of the first row, if there is a row (a null reads as `None`).
    pub(crate) async fn opt_int(
        &mut self,
        sql: &str,
        args: &[Val<'_>],
    ) -> StoreResult<Option<i64>> {
        match self.row(sql, args).await? {
            Some(row) => row.opt_int(0),
            None => Ok(None),
        }
    }
}

impl Exec for AnyConnection {
    fn run<'a>(&'a mut self, sql: &'a str, args: &'a [Val<'a>]) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move { Ok(bound(sql, args).execute(self).await?.rows_affected()) })
    }

    fn rows<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val<'a>],
    ) -> BoxFuture<'a, StoreResult<Vec<Row>>> {
        Box::pin(async move {
            let found = bound(sql, args).fetch_all(self).await?;
            found.iter().map(any_row).collect()
        })
    }

    fn is_postgres(&self) -> bool {
        self.backend_name() == "PostgreSQL"
    }
}

/// `sql` with `args` bound, for sqlx.
fn bound<'a>(
    sql: &'a str,
    args: &'a [Val<'a>],
) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
    args.iter().fold(sqlx::query(sql), |q, a| match *a {
        Val::Int(v) => q.bind(v),
        Val::Text(v) => q.bind(v),
    })
}

fn any_row(row: &sqlx::any::AnyRow) -> StoreResult<Row> {
    use sqlx::any::AnyTypeInfoKind as K;
    let mut cells = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i)?;
        let kind = raw.type_info().kind();
        cells.push(if raw.is_null() {
            Cell::Null
        } else if kind.is_integer() {
            Cell::Int(row.try_get::<i64, _>(i)?)
        } else if kind == K::Bool {
            Cell::Int(i64::from(row.try_get::<bool, _>(i)?))
        } else if kind == K::Text {
            Cell::Text(row.try_get::<String, _>(i)?)
        } else {
            return Err(StoreError::Corrupt(format!(
                "column {i} has an unexpected type: {kind:?}"
            )));
        });
    }
    Ok(Row(cells))
}

/// `$N` placeholders as SQLite's `?N`. SQLite numbers `$N` names by first use, which is N
/// itself when they first appear in order (the common case, kept as is: no copy per
/// statement); otherwise every `$` becomes `?`.
fn numbered(sql: &str) -> Cow<'_, str> {
    let mut next = 1u32;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u32 = rest[..digits].parse().unwrap_or(0);
        if n == next {
            next += 1;
        } else if n == 0 || n > next {
            return Cow::Owned(sql.replace('$', "?"));
        }
    }
    Cow::Borrowed(sql)
}

fn direct_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy)
                || matches!(f.code, rusqlite::ErrorCode::SystemIoFailure) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
    args: &[Val<'_>],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut st = conn.prepare_cached(&numbered(sql))?;
    for (i, a) in args.iter().enumerate() {
        match *a {
            Val::Int(v) => st.raw_bind_parameter(i + 1, v)?,
            Val::Text(v) => st.raw_bind_parameter(i + 1, v)?,
        }
    }
    Ok(st)
}

fn direct_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Val<'_>],
) -> rusqlite::Result<Vec<Row>> {
    use rusqlite::types::ValueRef;
    let mut st = prepare(conn, sql, args)?;
    let width = st.column_count();
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Real(_) | ValueRef::Blob(_) => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        i,
                        String::new(),
                        row.get_ref(i)?.data_type(),
                    ))
                }
            });
        }
        out.push(Row(cells));
    }
    Ok(out)
}

impl Exec for rusqlite::Connection {
    fn run<'a>(&'a mut self, sql: &'a str, args: &'a [Val<'a>]) -> BoxFuture<'a, StoreResult<u64>> {
        let done = prepare(self, sql, args)
            .and_then(|mut st| st.raw_execute())
            .map(|n| n as u64)
            .map_err(direct_error);
        Box::pin(std::future::ready(done))
    }

    fn rows<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val<'a>],
    ) -> BoxFuture<'a, StoreResult<Vec<Row>>> {
        Box::pin(std::future::ready(
            direct_rows(self, sql, args).map_err(direct_error),
        ))
    }

    fn is_postgres(&self) -> bool {
        false
    }
}

/// Runs a future made only of direct-connection calls, which never wait: one poll finishes
/// it. `None` if it did wait (a programming error: the caller reports it, never spins).
pub(crate) fn finish_now<T>(mut future: BoxFuture<'_, T>) -> Option<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_keep_their_numbers() {
        let mut c = rusqlite::Connection::open_in_memory().expect("memory database");
        let rows = finish_now(Box::pin(async move {
            let c: &mut dyn Exec = &mut c;
            c.rows("SELECT $2, $1, $2", &[Val::from(1), Val::from("two")])
                .await
        }))
        .expect("finished")
        .expect("query");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].text(0).expect("text"), "two");
        assert_eq!(rows[0].int(1).expect("int"), 1);
    }

    #[test]
    fn placeholders_in_order_are_not_copied() {
        assert!(matches!(
            numbered("SELECT $1, $2, $1, $3"),
            Cow::Borrowed(_)
        ));
        assert_eq!(numbered("SELECT $2, $1"), "SELECT ?2, ?1");
        assert_eq!(numbered("SELECT $1, $3"), "SELECT ?1, ?3");
    }
}
