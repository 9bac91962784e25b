//! Fresh databases for tests, on both backends.
//!
//! - SQLite: a new file in a temporary directory.
//! - PostgreSQL: a new database `ferry_test_<random>` on the server named by
//!   `FERRY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped
//!   when the [`TestDb`] is dropped... or left behind if the process dies; names are unique.
//!
//! When PostgreSQL cannot be reached, [`postgres`] returns `None` and prints that the test
//! was skipped — unless `CI=true`, where a missing PostgreSQL is a failure (it panics).

use crate::{connect, migrate, SqlStore};
use std::path::PathBuf;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated store on a database that exists only for this test.
pub struct TestDb {
    pub store: SqlStore,
    /// The URL the store was opened with (for starting a server on the same database).
    pub url: String,
    _dir: Option<tempfile_dir::Dir>,
    pg_drop: Option<(String, String)>,
}

/// Minimal temp dir without pulling tempfile into the library's dependencies.
mod tempfile_dir {
    use std::path::PathBuf;

    pub struct Dir(pub PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// A new SQLite database in a fresh temporary directory.
pub async fn sqlite() -> TestDb {
    let dir: PathBuf = std::env::temp_dir().join(format!("ferry-test-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let url = format!("sqlite://{}", dir.join("ferry.db").display());
    let store = connect(&url).await.expect("open sqlite");
    migrate(&store).await.expect("migrate sqlite");
    TestDb {
        store,
        url,
        _dir: Some(tempfile_dir::Dir(dir)),
        pg_drop: None,
    }
}

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("FERRY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Is this a CI run, where skipping PostgreSQL is not allowed?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Creates an empty database on the test server; `None` (skipped) if it is unreachable
/// outside CI.
pub async fn postgres_url(test: &str) -> Option<(String, String)> {
    let admin = postgres_admin_url();
    let name = format!("ferry_test_{}", unique_suffix());
    let store = match connect(&admin).await {
        Ok(s) => s,
        Err(e) => {
            if in_ci() {
                panic!("PostgreSQL at {admin} is required in CI: {e}");
            }
            eprintln!("SKIPPED {test} on PostgreSQL: cannot reach {admin}: {e}");
            return None;
        }
    };
    store
        .execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    store.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some((format!("{base}/{name}"), name))
}

/// A new, migrated PostgreSQL database; `None` (skipped) when unreachable outside CI.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let (url, name) = postgres_url(test).await?;
    let store = connect(&url).await.expect("open postgres");
    migrate(&store).await.expect("migrate postgres");
    Some(TestDb {
        store,
        url,
        _dir: None,
        pg_drop: Some((postgres_admin_url(), name)),
    })
}

impl TestDb {
    /// Closes the store and drops a PostgreSQL database (SQLite files go with the temp dir).
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Some((admin, name)) = self.pg_drop.take() {
            if let Ok(s) = connect(&admin).await {
                let _ = s
                    .execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                s.close().await;
            }
        }
    }
}
