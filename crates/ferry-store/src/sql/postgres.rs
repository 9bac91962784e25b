//! PostgreSQL specifics: pool sizing and its migrations. Several `ferry serve` instances may
//! share one database; write transactions rely on PostgreSQL's own locking.

use crate::{StoreError, StoreResult};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use std::time::Duration;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) async fn connect(url: &str) -> StoreResult<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(16)
        // Broken connections surface as query errors anyway; a ping per acquire is a round trip.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}
