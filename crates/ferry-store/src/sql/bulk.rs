//! Bulk import on SQLite: a batch of new deploys written with a few multi-row statements
//! instead of a handful of statements per deploy.
//!
//! [`IngestStore::ingest_deployments`](crate::traits::IngestStore::ingest_deployments) gives
//! its batch to [`ingest_batch`]. Deploys that carry no commits (OpsLevel lines without a
//! `commit`, the common backfill) are written together, per run of consecutive such deploys:
//! their services looked up once per alias, their duplicates found by one indexed probe per
//! 128 keys, their deploy numbers counted in memory and each counter written once, the deploy
//! rows and DORA's deployment rows inserted 128 at a time (triggers still run per row), one
//! suggestion upsert per unknown alias. A deploy with commits is written alone by
//! [`ingest_new`], between the runs, so the batch stays in file order.
//!
//! The outcome is the one the per-deploy path gives for the same batch in the same order
//! (same rows, numbers, suggestions and answers); the store stories check it. PostgreSQL
//! writes per deploy: there, several writers run at once and the per-deploy path is what
//! orders their locks (see the `ingest` module doc).

use super::exec::{Exec, Val};
use super::ingest::{counter_scope, deployment_vals, ingest_new, service_of_alias};
use crate::model::*;
use crate::{StoreError, StoreResult};
use ferry_domain::ingest::{deploy_number_value, DeployResult, ServiceAlias};
use ferry_domain::{IngestedDeploymentId, ServiceId, Timestamp};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Rows per multi-row statement; the remainder goes in statements of the smaller sizes, so
/// each statement has few shapes for the statement cache.
const CHUNKS: [usize; 4] = [128, 32, 8, 1];

/// Records each deploy of `batch` in order, as [`ingest_new`] would one by one.
pub(super) async fn ingest_batch(
    c: &mut dyn Exec,
    batch: Vec<NewIngestedDeployment>,
) -> StoreResult<Vec<Ingested>> {
    let mut out = Vec::with_capacity(batch.len());
    if c.is_postgres() {
        for new in batch {
            out.push(ingest_new(c, new).await?);
        }
        return Ok(out);
    }
    let mut run = Vec::new();
    for new in batch {
        if new.commits.is_empty() && new.on_repeat == OnRepeat::KeepFirst {
            run.push(new);
            continue;
        }
        out.extend(write_run(c, std::mem::take(&mut run)).await?);
        out.push(ingest_new(c, new).await?);
    }
    out.extend(write_run(c, run).await?);
    Ok(out)
}

/// A deploy of a run once its service, duplicate status and number are known.
struct Planned {
    new: NewIngestedDeployment,
    alias_key: Option<String>,
    service: Option<(i64, String)>,
}

/// A number counter (`deploy_counters`) as the run leaves it, against the value it had: the
/// rules of `ingest::next_number` and `ingest::raise_counter`, applied in memory.
struct Counter {
    stored: Option<i64>,
    n: Option<i64>,
}

impl Counter {
    /// Numbers `new` as one by one would: generated if absent (and asked for), else a given
    /// integer number raises the counter.
    fn number(&mut self, new: &mut NewIngestedDeployment) {
        match new.deploy_number.as_deref() {
            None if new.generate_number => {
                let n = self.n.unwrap_or(0) + 1;
                self.n = Some(n);
                new.deploy_number = Some(n.to_string());
            }
            Some(given) => {
                if let Some(v) = deploy_number_value(given) {
                    self.n = Some(self.n.map_or(v, |n| n.max(v)));
                }
            }
            None => {}
        }
    }
}

/// Writes a run of commit-less deploys that are never updated in place.
async fn write_run(
    c: &mut dyn Exec,
    run: Vec<NewIngestedDeployment>,
) -> StoreResult<Vec<Ingested>> {
    if run.is_empty() {
        return Ok(Vec::new());
    }
    let now = Timestamp::now().unix();
    // Keys already recorded; a key seen earlier in the run is a duplicate too (the first one
    // wins, as one by one).
    let mut taken = known_keys(c, &run).await?;
    let mut services: HashMap<String, Option<(i64, String)>> = HashMap::new();
    let mut counters: HashMap<String, Counter> = HashMap::new();
    let mut planned: Vec<Option<Planned>> = Vec::with_capacity(run.len());
    for mut new in run {
        if let Some(key) = &new.external_key {
            if !taken.insert((new.integration_id.get(), key.clone())) {
                planned.push(None);
                continue;
            }
        }
        let alias_key = new.service_alias.as_ref().map(ServiceAlias::key);
        let service = match &alias_key {
            Some(key) => match services.get(key) {
                Some(found) => found.clone(),
                None => {
                    let found = service_of_alias(c, key).await?;
                    services.insert(key.clone(), found.clone());
                    found
                }
            },
            None => None,
        };
        if let Some(scope) = counter_scope(service.as_ref().map(|s| s.0), alias_key.as_deref()) {
            if !counters.contains_key(&scope) {
                let stored = c
                    .opt_int(
                        "SELECT n FROM deploy_counters WHERE scope = $1",
                        &[scope.as_str().into()],
                    )
                    .await?;
                counters.insert(scope.clone(), Counter { stored, n: stored });
            }
            if let Some(counter) = counters.get_mut(&scope) {
                counter.number(&mut new);
            }
        }
        planned.push(Some(Planned {
            new,
            alias_key,
            service,
        }));
    }

    let fresh: Vec<&Planned> = planned.iter().flatten().collect();
    let ids = insert_deployments(c, &fresh, now).await?;
    insert_dora(c, &fresh, &ids).await?;
    upsert_suggestions(c, &fresh, now).await?;
    for (scope, counter) in &counters {
        if let (Some(n), true) = (counter.n, counter.n != counter.stored) {
            c.run(
                "INSERT INTO deploy_counters (scope, n) VALUES ($1, $2) \
                 ON CONFLICT (scope) DO UPDATE SET n = excluded.n",
                &[scope.as_str().into(), n.into()],
            )
            .await?;
        }
    }

    let mut ids = ids.into_iter();
    let mut out = Vec::with_capacity(planned.len());
    for plan in planned {
        let Some(Planned {
            new,
            alias_key,
            service,
        }) = plan
        else {
            out.push(Ingested::Duplicate);
            continue;
        };
        let id = ids
            .next()
            .ok_or_else(|| StoreError::Other("a bulk insert returned too few ids".into()))?;
        let service_matched = service.is_some() || alias_key.is_none();
        let (service_id, service_name) = match service {
            Some((id, name)) => (Some(ServiceId(id)), Some(name)),
            None => (None, None),
        };
        out.push(Ingested::Created {
            deployment: new.recorded(
                IngestedDeploymentId(id),
                service_id,
                service_name,
                Timestamp::from_unix(now),
            ),
            service_matched,
        });
    }
    Ok(out)
}

/// The run's `(integration, external key)` pairs already recorded.
async fn known_keys(
    c: &mut dyn Exec,
    run: &[NewIngestedDeployment],
) -> StoreResult<HashSet<(i64, String)>> {
    let mut by_integration: HashMap<i64, Vec<&str>> = HashMap::new();
    for new in run {
        if let Some(key) = &new.external_key {
            by_integration
                .entry(new.integration_id.get())
                .or_default()
                .push(key);
        }
    }
    let mut known = HashSet::new();
    for (integration, keys) in by_integration {
        for (at, shape) in chunks(keys.len()) {
            let (sql, size) = (&KNOWN_KEYS[shape], CHUNKS[shape]);
            let mut args: Vec<Val> = Vec::with_capacity(size + 1);
            args.push(integration.into());
            args.extend(keys[at..at + size].iter().map(|k| Val::from(*k)));
            for row in c.rows(sql, &args).await? {
                known.insert((integration, row.text(0)?));
            }
        }
    }
    Ok(known)
}

/// Inserts the deploy rows; their ids, in order.
async fn insert_deployments(
    c: &mut dyn Exec,
    fresh: &[&Planned],
    now: i64,
) -> StoreResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(fresh.len());
    for (at, shape) in chunks(fresh.len()) {
        let (sql, size) = (&INSERT_DEPLOYMENTS[shape], CHUNKS[shape]);
        let mut args: Vec<Val> = Vec::with_capacity(size * DEPLOYMENT_WIDTH);
        for p in &fresh[at..at + size] {
            let service = p.service.as_ref().map(|s| s.0);
            args.extend(deployment_vals(
                &p.new,
                service,
                p.alias_key.as_deref(),
                now,
            ));
            args.push(now.into()); // updated_at
        }
        // One writer and no conflict (duplicates were left out): the rows take increasing
        // ids in VALUES order, whatever order RETURNING gives them in.
        let mut got = c
            .rows(sql, &args)
            .await?
            .iter()
            .map(|r| r.int(0))
            .collect::<StoreResult<Vec<i64>>>()?;
        if got.len() != size {
            return Err(StoreError::Other(format!(
                "a bulk insert of {size} deploys returned {} ids",
                got.len()
            )));
        }
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// DORA's deployment rows of the successful deploys (with no commits, they have no heads:
/// see `dora::insert` for the general case).
async fn insert_dora(c: &mut dyn Exec, fresh: &[&Planned], ids: &[i64]) -> StoreResult<()> {
    let rows: Vec<(&Planned, i64, String)> = fresh
        .iter()
        .zip(ids)
        .filter(|(p, _)| p.new.result == DeployResult::Success)
        .map(|(p, id)| (*p, *id, p.new.environment.trim().to_lowercase()))
        .collect();
    for (at, shape) in chunks(rows.len()) {
        let (sql, size) = (&INSERT_DORA[shape], CHUNKS[shape]);
        let mut args: Vec<Val> = Vec::with_capacity(size * DORA_WIDTH);
        for (p, id, environment) in &rows[at..at + size] {
            args.extend::<[Val; DORA_WIDTH]>([
                (*id).into(),
                p.service.as_ref().map(|s| s.0).into(),
                p.new.integration_id.get().into(),
                environment.into(),
                super::b(super::dora::is_production_name(&p.new.environment)).into(),
                p.new.finished_at.unix().into(),
            ]);
        }
        c.run(sql, &args).await?;
    }
    Ok(())
}

/// One suggestion upsert per alias no service has, counting the run's deploys under it.
async fn upsert_suggestions(c: &mut dyn Exec, fresh: &[&Planned], now: i64) -> StoreResult<()> {
    let mut unknown: Vec<(&str, &str, i64, i64)> = Vec::new();
    for p in fresh {
        if let (None, Some(key), Some(alias)) = (&p.service, &p.alias_key, &p.new.service_alias) {
            match unknown.iter_mut().find(|u| u.0 == key) {
                Some(u) => u.3 += 1,
                None => unknown.push((key, alias.as_str(), p.new.integration_id.get(), 1)),
            }
        }
    }
    for (key, alias, integration, count) in unknown {
        c.run(
            "INSERT INTO service_suggestions (alias_key, alias, integration_id, deploy_count, \
                 dismissed, first_seen, last_seen) VALUES ($1, $2, $3, $4, 0, $5, $5) \
             ON CONFLICT (alias_key) DO UPDATE SET \
                 deploy_count = service_suggestions.deploy_count + excluded.deploy_count, \
                 last_seen = excluded.last_seen",
            &[
                key.into(),
                alias.into(),
                integration.into(),
                count.into(),
                now.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// `(start, i)` of each statement for `n` rows: it takes `CHUNKS[i]` rows.
fn chunks(n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, size) in CHUNKS.iter().enumerate() {
        while n - at >= *size {
            out.push((at, i));
            at += size;
        }
    }
    out
}

/// The statements of every size in [`CHUNKS`], built once.
type Shapes = LazyLock<[String; CHUNKS.len()]>;

static KNOWN_KEYS: Shapes = LazyLock::new(|| {
    CHUNKS.map(|size| {
        let keys: Vec<String> = (2..size + 2).map(|i| format!("${i}")).collect();
        format!(
            "SELECT external_key FROM ingested_deployments \
             WHERE integration_id = $1 AND external_key IN ({})",
            keys.join(", ")
        )
    })
});

/// Columns of [`INSERT_DEPLOYMENTS`]: `deployment_vals`' and `updated_at`.
const DEPLOYMENT_WIDTH: usize = 19;

static INSERT_DEPLOYMENTS: Shapes = LazyLock::new(|| {
    CHUNKS.map(|size| {
        values_sql(
            "INSERT INTO ingested_deployments (integration_id, source, external_key, \
                 service_id, service_alias, service_alias_key, deploy_number, environment, \
                 name, description, result, deployer_name, deployer_email, deployer_id, \
                 deploy_url, started_at, finished_at, created_at, updated_at)",
            DEPLOYMENT_WIDTH,
            size,
            "RETURNING id",
        )
    })
});

const DORA_WIDTH: usize = 6;

static INSERT_DORA: Shapes = LazyLock::new(|| {
    CHUNKS.map(|size| {
        values_sql(
            "INSERT INTO dora_deployments (ingested_deployment_id, service_id, integration_id, \
                 environment_key, production, finished_at)",
            DORA_WIDTH,
            size,
            "",
        )
    })
});

/// `head VALUES ($1, …, $width), (…), … tail` for `rows` rows.
fn values_sql(head: &str, width: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 6 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * width + col + 1).to_string());
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_once_in_few_shapes() {
        for n in 0..600 {
            let cs = chunks(n);
            let mut at = 0;
            for (start, shape) in &cs {
                assert_eq!(*start, at);
                at += CHUNKS[*shape];
            }
            assert_eq!(at, n);
            assert!(cs.iter().filter(|(_, shape)| *shape != 0).count() <= 3 + 3 + 7);
        }
    }

    #[test]
    fn values_are_numbered_in_order() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 2, "RETURNING id"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING id"
        );
    }
}
