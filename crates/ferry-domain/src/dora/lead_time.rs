//! Lead time for changes (dora.md §2): deployment finish − change start, over the changes
//! whose deployment is a counted one of the range.

use super::level::{below, Benchmark, Level, DAY, HOUR};
use super::median::lower_median;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadTime {
    /// Changes in the median.
    pub changes: u64,
    /// Changes of the range left out because they started after their deployment finished
    /// (clock skew, rewritten author dates).
    pub dropped: u64,
    pub median_seconds: Option<i64>,
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(crate) const NO_CHANGE: &str =
    "no change with a non-negative lead time was deployed in the range";

/// `samples` are the non-negative durations in seconds (reordered by the median).
pub(crate) fn compute(samples: &mut [i64], dropped: u64, benchmark: Benchmark) -> LeadTime {
    let median = lower_median(samples);
    graded(samples.len() as u64, dropped, median, benchmark)
}

/// The section from its counts and median (`None` exactly when `changes` is 0).
pub(crate) fn graded(
    changes: u64,
    dropped: u64,
    median: Option<i64>,
    benchmark: Benchmark,
) -> LeadTime {
    LeadTime {
        changes,
        dropped,
        median_seconds: median,
        level: median.map(|m| level(benchmark, m)),
        reason: median.is_none().then(|| NO_CHANGE.to_owned()),
    }
}

pub(crate) fn level(benchmark: Benchmark, secs: i64) -> Level {
    match benchmark {
        Benchmark::B2023 => below(secs, DAY, 7 * DAY, 30 * DAY),
        Benchmark::B2021 => below(secs, HOUR, 7 * DAY, 180 * DAY),
    }
}
