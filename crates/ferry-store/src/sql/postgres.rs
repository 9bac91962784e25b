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

/// Forwards `NOTIFY ferry_outbox` to `signal` for as long as the process runs. A lost
/// connection is retried every second; each (re)connect wakes the worker once, since
/// notifications sent while disconnected are gone.
pub(crate) async fn listen_outbox(url: String, signal: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen("ferry_outbox").await {
                    tracing::warn!(error = %e, "LISTEN ferry_outbox failed");
                } else {
                    signal.notify_one();
                    loop {
                        match listener.recv().await {
                            Ok(_) => signal.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "LISTEN ferry_outbox connection lost");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "LISTEN ferry_outbox: cannot connect"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
