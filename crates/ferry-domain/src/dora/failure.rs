//! Change failure rate (dora.md §3): the share of the range's counted deployments with at
//! least one attributed incident (attribution itself is in the private `attribution` module).

use super::level::{Benchmark, Level};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureRate {
    pub deployments: u64,
    pub failed_deployments: u64,
    /// `failed_deployments / deployments` rounded half up to 4 decimals; `None` without
    /// deployments.
    pub rate: Option<f64>,
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(crate) const NO_DEPLOYMENT: &str = "no counted deployment in the range";

pub(crate) fn compute(deployments: u64, failed: u64, benchmark: Benchmark) -> FailureRate {
    if deployments == 0 {
        return FailureRate {
            deployments,
            failed_deployments: failed,
            rate: None,
            level: None,
            reason: Some(NO_DEPLOYMENT.to_owned()),
        };
    }
    // Rounded in integers so a tie (e.g. 1/32 = 0.03125) always goes up, then converted once:
    // the f64 is the closest to the 4-decimal value and prints as it.
    let ten_thousandths = (failed * 20_000 + deployments) / (2 * deployments);
    FailureRate {
        deployments,
        failed_deployments: failed,
        rate: Some(ten_thousandths as f64 / 10_000.0),
        level: Some(level(benchmark, failed, deployments)),
        reason: None,
    }
}

/// Grades the exact ratio, in integers (`failed * 100 <= pct * deployments`), so 1 in 20 is
/// exactly 5 % whatever floating point would say. `deployments > 0`.
pub(crate) fn level(benchmark: Benchmark, failed: u64, deployments: u64) -> Level {
    let (elite, high, medium) = match benchmark {
        Benchmark::B2023 => (5, 10, 15),
        Benchmark::B2021 => (15, 20, 30),
    };
    let at_most = |pct: u64| failed * 100 <= pct * deployments;
    if at_most(elite) {
        Level::Elite
    } else if at_most(high) {
        Level::High
    } else if at_most(medium) {
        Level::Medium
    } else {
        Level::Low
    }
}
