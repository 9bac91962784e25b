//! Failed deployment recovery time (2023) / time to restore service (2021), dora.md §4.
//!
//! Which incidents and which start time depend on the edition: 2023 takes the incidents
//! attributed to a counted deployment of the range and resolved in it, from the deployment's
//! finish; 2021 the scope's incidents resolved in the range, from their creation. The median
//! and the grade are the same for both.

use super::level::{below, Benchmark, Level, DAY, HOUR};
use super::median::lower_median;
use serde::Serialize;

/// Serialized under [`Benchmark::recovery_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Incidents in the median.
    pub incidents: u64,
    pub median_seconds: Option<i64>,
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(crate) const NO_FAILED_DEPLOYMENT_RECOVERED: &str =
    "no incident attributed to a deployment of the range was resolved in the range";
pub(crate) const NO_INCIDENT_RESOLVED: &str = "no incident of the scope was resolved in the range";

/// `samples` are the non-negative durations in seconds (reordered by the median).
pub(crate) fn compute(samples: &mut [i64], benchmark: Benchmark) -> Recovery {
    let median = lower_median(samples);
    let reason = match benchmark {
        Benchmark::B2023 => NO_FAILED_DEPLOYMENT_RECOVERED,
        Benchmark::B2021 => NO_INCIDENT_RESOLVED,
    };
    Recovery {
        incidents: samples.len() as u64,
        median_seconds: median,
        level: median.map(level),
        reason: median.is_none().then(|| reason.to_owned()),
    }
}

/// Same thresholds in both editions.
pub(crate) fn level(secs: i64) -> Level {
    below(secs, HOUR, DAY, 7 * DAY)
}
