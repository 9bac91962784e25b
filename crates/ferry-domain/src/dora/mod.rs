//! The DORA metric engine (contract: `dora.md`): pure functions from the facts the store
//! gathered for one scope and range to the four metrics and their grades.
//!
//! Map:
//! - [`range`]: [`DoraRange`] (whole UTC days, inclusive, at most 5 years) and [`Bucket`].
//! - [`level`]: [`Benchmark`] (2023 default, 2021) and [`Level`].
//! - [`frequency`], [`lead_time`], [`failure`], [`recovery`]: one metric each — its report
//!   section and its thresholds.
//! - `attribution`: which deployment an incident is blamed on.
//! - `engine`: the input reduced once to per-day counts and dated samples, graded per bucket.
//! - `counted`: the counted deployments of the range, indexed by key; `id_map`: the hash
//!   map for integer ids.
//! - `median`: the lower median; [`tally`]: lead time from per-day bucket counts (the store's
//!   shortcut for reports over every service).
//!
//! Entry points: [`report`] for a range, [`series`] for its weeks or months.
//!
//! Decisions dora.md leaves open, taken here:
//! - Keys are opaque; a key given twice is one deployment (its earliest counted finish).
//! - A scope "has deployed ever" when `any_deployment_ever` says so *or* an in-scope fact is
//!   in the input (in-scope facts are counted-kind deployments of the scope).
//! - Attribution ties (two facts of a group finishing at the same second): the larger key.
//! - Negative durations: lead time counts them in `dropped`; recovery leaves them out silently
//!   (resolved before the blamed deployment finished, or before the incident was created).
//! - Change failure rate counts every attributed incident, in scope or not: the deployment
//!   decides whether it is the scope's failure. The incident's `in_scope` matters only for the
//!   2021 time to restore.
//! - A series bucket is graded as if the range were the bucket clipped to the range, so a
//!   2023 recovery (deployment in one bucket, resolution in the next) counts in the range's
//!   report but in neither bucket.

mod attribution;
mod counted;
mod engine;
pub mod failure;
pub mod frequency;
mod id_map;
pub mod lead_time;
pub mod level;
mod median;
pub mod range;
pub mod recovery;
pub mod tally;

pub use failure::FailureRate;
pub use frequency::Frequency;
pub use lead_time::LeadTime;
pub use level::{Benchmark, Level};
pub use range::{Bucket, DoraRange};
pub use recovery::Recovery;
pub use tally::{BlamedIncident, LeadTally, Tallied};

use crate::ids::{IntegrationId, ServiceId};
use crate::values::Timestamp;
use engine::Prepared;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::Date;

/// Opaque key of a deployment in the engine's input (the store encodes API vs ingested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeployKey(pub i64);

/// A counted-kind deployment (success, production-class environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploymentFact {
    pub key: DeployKey,
    pub service: Option<ServiceId>,
    /// The integration that ingested it (`None` for API deployments).
    pub integration: Option<IntegrationId>,
    pub finished_at: Timestamp,
    /// `false`: given only so incident attribution sees it (another service of the same
    /// integration); never counted.
    pub in_scope: bool,
}

/// One change (pull request or commit); its deployment's finish time comes from the
/// [`DeploymentFact`] with that key, and it counts only if that fact is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeFact {
    pub deployment: DeployKey,
    pub started_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentFact {
    pub service: Option<ServiceId>,
    pub integration: Option<IntegrationId>,
    /// Explicit attribution (ferry incident API `deployment_id`).
    pub deployment: Option<DeployKey>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Belongs to the report's scope (for the 2021 time-to-restore rule).
    pub in_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoraInput {
    pub range: DoraRange,
    pub benchmark: Benchmark,
    /// Counted-kind deployments (success, selected/production-class environments). The store
    /// passes every in-scope one finishing in the range, plus per service / per integration the
    /// last one finishing before the range and the first one finishing after it (so incident
    /// attribution is exact). Any superset must give the same answer.
    pub deployments: Vec<DeploymentFact>,
    pub changes: Vec<ChangeFact>,
    /// The same facts already counted by the store (reports over every service, see
    /// [`tally`]); then `deployments`, `changes` and `incidents` are not read.
    pub tally: Option<Tallied>,
    pub incidents: Vec<IncidentFact>,
    /// Whether the scope has any counted-kind deployment at any time (frequency level is null
    /// otherwise).
    pub any_deployment_ever: bool,
}

/// The four metrics of one range. Serializes as dora.md's "Response" (without `scope`, which
/// the HTTP layer adds); the fourth metric's key depends on the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct DoraReport {
    pub from: Date,
    pub to: Date,
    pub benchmark: Benchmark,
    pub deployment_frequency: Frequency,
    pub lead_time_for_changes: LeadTime,
    pub change_failure_rate: FailureRate,
    /// `failed_deployment_recovery_time` (2023) or `time_to_restore_service` (2021).
    pub recovery: Recovery,
}

impl Serialize for DoraReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("DoraReport", 7)?;
        m.serialize_field("from", &range::day_text(self.from))?;
        m.serialize_field("to", &range::day_text(self.to))?;
        m.serialize_field("benchmark", &self.benchmark)?;
        m.serialize_field("deployment_frequency", &self.deployment_frequency)?;
        m.serialize_field("lead_time_for_changes", &self.lead_time_for_changes)?;
        m.serialize_field("change_failure_rate", &self.change_failure_rate)?;
        m.serialize_field(self.benchmark.recovery_key(), &self.recovery)?;
        m.end()
    }
}

/// One week or month of a series: `start..=end` is the unit clipped to the range, and `report`
/// is the report of exactly that range (`report.from == start`, `report.to == end`).
#[derive(Debug, Clone, PartialEq)]
pub struct DoraBucket {
    pub start: Date,
    pub end: Date,
    pub report: DoraReport,
}

/// Serializes as `{"start", "end", <the report's four metric keys>}`: `from`/`to` would repeat
/// `start`/`end` and the benchmark is the series'.
impl Serialize for DoraBucket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.report;
        let mut m = s.serialize_struct("DoraBucket", 6)?;
        m.serialize_field("start", &range::day_text(self.start))?;
        m.serialize_field("end", &range::day_text(self.end))?;
        m.serialize_field("deployment_frequency", &r.deployment_frequency)?;
        m.serialize_field("lead_time_for_changes", &r.lead_time_for_changes)?;
        m.serialize_field("change_failure_rate", &r.change_failure_rate)?;
        m.serialize_field(r.benchmark.recovery_key(), &r.recovery)?;
        m.end()
    }
}

/// The report of `input.range`.
pub fn report(input: &DoraInput) -> DoraReport {
    let prepared = Prepared::new(input);
    let whole = prepared.tiles(input.range, None);
    prepared
        .reports(&whole)
        .pop()
        .expect("one bucket gives one report")
}

/// One report per UTC week (Monday to Sunday) or calendar month overlapping the range, in
/// order, each computed as [`report`] would for the unit clipped to the range.
pub fn series(input: &DoraInput, bucket: Bucket) -> Vec<DoraBucket> {
    let prepared = Prepared::new(input);
    let tiles = prepared.tiles(input.range, Some(bucket));
    prepared
        .reports(&tiles)
        .into_iter()
        .map(|report| DoraBucket {
            start: report.from,
            end: report.to,
            report,
        })
        .collect()
}
