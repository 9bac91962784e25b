//! Deployment frequency (dora.md §1): deployment days (distinct UTC dates with a counted
//! deployment) per week, per month and, for the 2021 grade, per six-month window.

use super::level::{Benchmark, Level};
use super::median::lower_median;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frequency {
    /// Counted deployments finishing in the range.
    pub deployments: u64,
    /// Distinct UTC dates of the range with at least one counted deployment.
    pub deployment_days: u32,
    /// Lower median over the weeks overlapping the range (a week without deployment is 0).
    pub median_deployment_days_per_week: u32,
    /// Lower median over the months overlapping the range.
    pub median_deployment_days_per_month: u32,
    /// `None` only when the scope never had a counted-kind deployment.
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(crate) const NEVER_DEPLOYED: &str =
    "the scope has no successful production deployment at any time";

/// The days of one range (or series bucket), parallel slices indexed by day: counted
/// deployments that day, and the day's week and month numbers (non-decreasing). Non-empty.
pub(crate) struct Days<'a> {
    pub deploys: &'a [u32],
    pub week: &'a [i64],
    pub month: &'a [i64],
}

pub(crate) fn compute(days: Days<'_>, benchmark: Benchmark, ever_deployed: bool) -> Frequency {
    let n = days.deploys.len();
    let (w0, m0) = (days.week[0], days.month[0]);
    let (w_last, m_last) = (days.week[n - 1], days.month[n - 1]);
    let mut per_week = vec![0u32; (w_last - w0 + 1) as usize];
    let mut per_month = vec![0u32; (m_last - m0 + 1) as usize];
    // 2021: windows of six months counted back from the range's last month; the oldest one
    // may be shorter, and every window only holds days of the range.
    let mut per_half_year = vec![0u32; ((m_last - m0) / 6 + 1) as usize];
    let mut deployments = 0u64;
    let mut deployment_days = 0u32;
    for i in 0..n {
        if days.deploys[i] == 0 {
            continue;
        }
        deployments += u64::from(days.deploys[i]);
        deployment_days += 1;
        per_week[(days.week[i] - w0) as usize] += 1;
        per_month[(days.month[i] - m0) as usize] += 1;
        per_half_year[((m_last - days.month[i]) / 6) as usize] += 1;
    }
    // The vectors are never empty: the range has at least one day.
    let week = lower_median(&mut per_week).unwrap_or(0);
    let month = lower_median(&mut per_month).unwrap_or(0);
    let half_year = lower_median(&mut per_half_year).unwrap_or(0);
    let (level, reason) = if ever_deployed {
        (Some(level(benchmark, week, month, half_year)), None)
    } else {
        (None, Some(NEVER_DEPLOYED.to_owned()))
    };
    Frequency {
        deployments,
        deployment_days,
        median_deployment_days_per_week: week,
        median_deployment_days_per_month: month,
        level,
        reason,
    }
}

/// The grade from the medians of deployment days per week, per month and per six months.
pub(crate) fn level(benchmark: Benchmark, week: u32, month: u32, half_year: u32) -> Level {
    match benchmark {
        Benchmark::B2023 if week >= 5 => Level::Elite,
        Benchmark::B2023 if week >= 1 => Level::High,
        Benchmark::B2023 if month >= 1 => Level::Medium,
        Benchmark::B2021 if week >= 5 => Level::Elite,
        Benchmark::B2021 if month >= 1 => Level::High,
        Benchmark::B2021 if half_year >= 1 => Level::Medium,
        _ => Level::Low,
    }
}
