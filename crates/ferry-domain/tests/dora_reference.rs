//! The engine against a deliberately naive reference written straight from dora.md: calendars
//! walked date by date with `time`, every deployment scanned for every day, every incident
//! attributed by scanning every deployment, medians by full sort, a series as one reference
//! report per clipped bucket. Random datasets: a few services and integrations, ties and
//! creations exactly at finish times, incidents without service, with explicit (sometimes
//! unknown) deployments, unresolved, resolved before created.

use ferry_domain::dora::{
    report, series, tally, Benchmark, BlamedIncident, Bucket, ChangeFact, DeployKey,
    DeploymentFact, DoraInput, DoraRange, DoraReport, FailureRate, Frequency, IncidentFact,
    LeadTally, LeadTime, Level, Recovery, Tallied,
};
use ferry_domain::{IntegrationId, ServiceId, Timestamp};
use proptest::prelude::*;
use time::{Date, Duration, Month, OffsetDateTime};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

// ---- The reference ----------------------------------------------------------------------

fn utc_date(t: Timestamp) -> Date {
    OffsetDateTime::from_unix_timestamp(t.unix())
        .expect("test timestamps are representable")
        .date()
}

fn in_range(r: DoraRange, t: Timestamp) -> bool {
    let d = utc_date(t);
    r.from() <= d && d <= r.to()
}

fn all_dates(r: DoraRange) -> Vec<Date> {
    let mut out = vec![r.from()];
    while *out.last().expect("non-empty") < r.to() {
        let next = out.last().expect("non-empty").next_day().expect("valid");
        out.push(next);
    }
    out
}

fn monday_of(d: Date) -> Date {
    d - Duration::days(i64::from(d.weekday().number_days_from_monday()))
}

fn naive_median<T: Ord + Copy>(mut v: Vec<T>) -> Option<T> {
    v.sort();
    if v.is_empty() {
        None
    } else {
        Some(v[(v.len() - 1) / 2])
    }
}

fn naive_attribution(input: &DoraInput, inc: &IncidentFact) -> Option<DeployKey> {
    if inc.deployment.is_some() {
        return inc.deployment;
    }
    let mut best: Option<&DeploymentFact> = None;
    for f in &input.deployments {
        let same_group = match inc.service {
            Some(s) => f.service == Some(s),
            None => inc.integration.is_some() && f.integration == inc.integration,
        };
        if !same_group || f.finished_at >= inc.created_at {
            continue;
        }
        let better = match best {
            None => true,
            Some(b) => (f.finished_at, f.key) > (b.finished_at, b.key),
        };
        if better {
            best = Some(f);
        }
    }
    best.map(|f| f.key)
}

fn naive_report(input: &DoraInput) -> DoraReport {
    let r = input.range;
    let b = input.benchmark;
    let dates = all_dates(r);
    let counted: Vec<&DeploymentFact> = input
        .deployments
        .iter()
        .filter(|f| f.in_scope && in_range(r, f.finished_at))
        .collect();
    let find_counted = |key: DeployKey| counted.iter().find(|f| f.key == key).copied();

    // 1. Frequency.
    let deploy_day = |d: Date| counted.iter().any(|f| utc_date(f.finished_at) == d);
    let mut weeks: Vec<Date> = dates.iter().map(|&d| monday_of(d)).collect();
    weeks.dedup();
    let per_week: Vec<u32> = weeks
        .iter()
        .map(|&w| {
            dates
                .iter()
                .filter(|&&d| monday_of(d) == w && deploy_day(d))
                .count() as u32
        })
        .collect();
    let mut months: Vec<(i32, Month)> = dates.iter().map(|d| (d.year(), d.month())).collect();
    months.dedup();
    let per_month: Vec<u32> = months
        .iter()
        .map(|&m| {
            dates
                .iter()
                .filter(|&&d| (d.year(), d.month()) == m && deploy_day(d))
                .count() as u32
        })
        .collect();
    let newest_first: Vec<u32> = per_month.iter().rev().copied().collect();
    let windows: Vec<u32> = newest_first.chunks(6).map(|c| c.iter().sum()).collect();
    let week = naive_median(per_week).expect("a week");
    let month = naive_median(per_month).expect("a month");
    let half_year = naive_median(windows).expect("a window");
    let ever = input.any_deployment_ever || input.deployments.iter().any(|f| f.in_scope);
    let freq_level = match b {
        Benchmark::B2023 if week >= 5 => Level::Elite,
        Benchmark::B2023 if week >= 1 => Level::High,
        Benchmark::B2023 if month >= 1 => Level::Medium,
        Benchmark::B2023 => Level::Low,
        Benchmark::B2021 if week >= 5 => Level::Elite,
        Benchmark::B2021 if month >= 1 => Level::High,
        Benchmark::B2021 if half_year >= 1 => Level::Medium,
        Benchmark::B2021 => Level::Low,
    };
    let deployment_frequency = Frequency {
        deployments: counted.len() as u64,
        deployment_days: dates.iter().filter(|&&d| deploy_day(d)).count() as u32,
        median_deployment_days_per_week: week,
        median_deployment_days_per_month: month,
        level: ever.then_some(freq_level),
        reason: (!ever).then(String::new),
    };

    // 2. Lead time.
    let mut lead = Vec::new();
    let mut dropped = 0;
    for c in &input.changes {
        if let Some(f) = find_counted(c.deployment) {
            let secs = f.finished_at.unix() - c.started_at.unix();
            if secs < 0 {
                dropped += 1;
            } else {
                lead.push(secs);
            }
        }
    }
    let changes = lead.len() as u64;
    let lead_median = naive_median(lead);
    let lead_level = lead_median.map(|s| {
        let (elite, high, medium) = match b {
            Benchmark::B2023 => (DAY, 7 * DAY, 30 * DAY),
            Benchmark::B2021 => (HOUR, 7 * DAY, 180 * DAY),
        };
        if s < elite {
            Level::Elite
        } else if s < high {
            Level::High
        } else if s < medium {
            Level::Medium
        } else {
            Level::Low
        }
    });
    let lead_time_for_changes = LeadTime {
        changes,
        dropped,
        median_seconds: lead_median,
        level: lead_level,
        reason: lead_level.is_none().then(String::new),
    };

    // 3. Change failure rate.
    let blamed: Vec<Option<DeployKey>> = input
        .incidents
        .iter()
        .map(|i| naive_attribution(input, i))
        .collect();
    let failed = counted
        .iter()
        .filter(|f| blamed.contains(&Some(f.key)))
        .count();
    let change_failure_rate = if counted.is_empty() {
        FailureRate {
            deployments: 0,
            failed_deployments: 0,
            rate: None,
            level: None,
            reason: Some(String::new()),
        }
    } else {
        let pct = 100.0 * failed as f64 / counted.len() as f64;
        let (elite, high, medium) = match b {
            Benchmark::B2023 => (5.0, 10.0, 15.0),
            Benchmark::B2021 => (15.0, 20.0, 30.0),
        };
        let level = if pct <= elite {
            Level::Elite
        } else if pct <= high {
            Level::High
        } else if pct <= medium {
            Level::Medium
        } else {
            Level::Low
        };
        FailureRate {
            deployments: counted.len() as u64,
            failed_deployments: failed as u64,
            rate: Some((failed as f64 / counted.len() as f64 * 10_000.0).round() / 10_000.0),
            level: Some(level),
            reason: None,
        }
    };

    // 4. Recovery.
    let mut rec = Vec::new();
    for (inc, key) in input.incidents.iter().zip(&blamed) {
        let Some(resolved) = inc.resolved_at.filter(|&t| in_range(r, t)) else {
            continue;
        };
        let from = match b {
            Benchmark::B2023 => match key.and_then(find_counted) {
                Some(f) => f.finished_at,
                None => continue,
            },
            Benchmark::B2021 if inc.in_scope => inc.created_at,
            Benchmark::B2021 => continue,
        };
        let secs = resolved.unix() - from.unix();
        if secs >= 0 {
            rec.push(secs);
        }
    }
    let incidents = rec.len() as u64;
    let rec_median = naive_median(rec);
    let rec_level = rec_median.map(|s| {
        if s < HOUR {
            Level::Elite
        } else if s < DAY {
            Level::High
        } else if s < 7 * DAY {
            Level::Medium
        } else {
            Level::Low
        }
    });
    let recovery = Recovery {
        incidents,
        median_seconds: rec_median,
        level: rec_level,
        reason: rec_level.is_none().then(String::new),
    };

    DoraReport {
        from: r.from(),
        to: r.to(),
        benchmark: b,
        deployment_frequency,
        lead_time_for_changes,
        change_failure_rate,
        recovery,
    }
}

fn naive_series(input: &DoraInput, bucket: Bucket) -> Vec<(Date, Date, DoraReport)> {
    let mut bounds: Vec<(Date, Date)> = Vec::new();
    for d in all_dates(input.range) {
        let opens = match bucket {
            Bucket::Week => d.weekday() == time::Weekday::Monday,
            Bucket::Month => d.day() == 1,
        };
        match bounds.last_mut() {
            Some(last) if !opens => last.1 = d,
            _ => bounds.push((d, d)),
        }
    }
    bounds
        .into_iter()
        .map(|(start, end)| {
            let mut clipped = input.clone();
            clipped.range = DoraRange::new(start, end).expect("a bucket is a valid range");
            (start, end, naive_report(&clipped))
        })
        .collect()
}

/// Reasons are prose; the reference only says whether there is one. Checks that a reason is
/// given exactly when the level is null.
fn normalized(mut r: DoraReport) -> DoraReport {
    fn check(level: Option<Level>, reason: &mut Option<String>) {
        assert_eq!(level.is_none(), reason.is_some(), "reason iff no level");
        if let Some(s) = reason {
            s.clear();
        }
    }
    check(
        r.deployment_frequency.level,
        &mut r.deployment_frequency.reason,
    );
    check(
        r.lead_time_for_changes.level,
        &mut r.lead_time_for_changes.reason,
    );
    check(
        r.change_failure_rate.level,
        &mut r.change_failure_rate.reason,
    );
    check(r.recovery.level, &mut r.recovery.reason);
    r
}

// ---- Random datasets --------------------------------------------------------------------

/// 2025-12-01T00:00:00Z.
const BASE_DAY: i64 = 20_423;

#[derive(Debug, Clone)]
struct RawDeploy {
    at: u32,
    service: u8,
    integration: u8,
    in_scope: bool,
}

#[derive(Debug, Clone)]
struct RawChange {
    deployment: usize,
    lead_hours: i64,
    jitter: i64,
}

#[derive(Debug, Clone)]
struct RawIncident {
    service: u8,
    integration: u8,
    explicit: Option<usize>,
    /// Either a free time or (a deployment, seconds after its finish).
    created: Result<u32, (usize, i64)>,
    resolved_after_hours: Option<i64>,
    in_scope: bool,
}

fn raw_deploy() -> impl Strategy<Value = RawDeploy> {
    (0u32..100_000, 0u8..4, 0u8..3, prop::bool::weighted(0.8)).prop_map(
        |(at, service, integration, in_scope)| RawDeploy {
            at,
            service,
            integration,
            in_scope,
        },
    )
}

fn raw_change() -> impl Strategy<Value = RawChange> {
    (
        0usize..90,
        prop_oneof![-30i64..0, 0i64..48, 0i64..5_000],
        prop_oneof![Just(0i64), -1i64..=1, 0i64..HOUR],
    )
        .prop_map(|(deployment, lead_hours, jitter)| RawChange {
            deployment,
            lead_hours,
            jitter,
        })
}

fn raw_incident() -> impl Strategy<Value = RawIncident> {
    (
        0u8..5,
        0u8..3,
        prop::option::weighted(0.2, 0usize..90),
        prop_oneof![
            (0u32..100_000).prop_map(Ok),
            (0usize..80, -1i64..=1).prop_map(Err)
        ],
        prop::option::weighted(0.7, prop_oneof![-3i64..0, 0i64..30, 0i64..400]),
        prop::bool::weighted(0.7),
    )
        .prop_map(
            |(service, integration, explicit, created, resolved_after_hours, in_scope)| {
                RawIncident {
                    service,
                    integration,
                    explicit,
                    created,
                    resolved_after_hours,
                    in_scope,
                }
            },
        )
}

/// Keys in scrambled order (so key order is not time order), unique, negative and positive;
/// `spread` makes them sparse (the engine indexes dense and sparse keys differently).
fn key_of(i: usize, spread: bool) -> DeployKey {
    let base = (i as i64 * 37) % 101 - 50;
    DeployKey(if spread { base * 1_000_003 } else { base })
}

/// A key no deployment has, whatever the layout.
fn unknown_key(i: usize) -> DeployKey {
    DeployKey(10_000 + i as i64)
}

fn service_of(n: u8) -> Option<ServiceId> {
    (n < 3).then(|| ServiceId(i64::from(n) + 1))
}

fn integration_of(n: u8) -> Option<IntegrationId> {
    (n < 2).then(|| IntegrationId(i64::from(n) + 10))
}

fn dataset() -> impl Strategy<Value = DoraInput> {
    (
        0i64..200,
        prop_oneof![1i64..=14, 1i64..=100, 100i64..=500],
        prop::collection::vec(raw_deploy(), 0..80),
        prop::collection::vec(raw_change(), 0..120),
        prop::collection::vec(raw_incident(), 0..40),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(from_day, span, deploys, changes, incidents, ever, spread)| {
                let first = BASE_DAY + from_day;
                let date = |day: i64| utc_date(Timestamp::from_unix(day * DAY));
                let range = DoraRange::new(date(first), date(first + span - 1)).expect("range");
                // Times on an hour grid from 20 days before to 20 days after the range, so that
                // ties and exact boundaries happen.
                let window_start = (first - 20) * DAY;
                let window_hours = (span + 40) * 24;
                let grid = |at: u32| {
                    Timestamp::from_unix(
                        window_start + i64::from(at) * window_hours / 100_000 * HOUR,
                    )
                };
                let deployments: Vec<DeploymentFact> = deploys
                    .iter()
                    .enumerate()
                    .map(|(i, d)| DeploymentFact {
                        key: key_of(i, spread),
                        service: service_of(d.service),
                        integration: integration_of(d.integration),
                        finished_at: grid(d.at),
                        in_scope: d.in_scope,
                    })
                    .collect();
                // An index past the deployments names a key nobody has.
                let key = |i: usize| {
                    if i < deployments.len() {
                        key_of(i, spread)
                    } else {
                        unknown_key(i)
                    }
                };
                let finish = |i: usize| {
                    deployments
                        .get(i)
                        .map_or(Timestamp::from_unix(first * DAY), |d| d.finished_at)
                };
                let changes = changes
                    .iter()
                    .map(|c| ChangeFact {
                        deployment: key(c.deployment),
                        started_at: Timestamp::from_unix(
                            finish(c.deployment).unix() - c.lead_hours * HOUR + c.jitter,
                        ),
                    })
                    .collect();
                let incidents = incidents
                    .iter()
                    .map(|i| {
                        let created_at = match i.created {
                            Ok(at) => grid(at),
                            Err((d, delta)) => Timestamp::from_unix(finish(d).unix() + delta),
                        };
                        IncidentFact {
                            service: service_of(i.service),
                            integration: integration_of(i.integration),
                            deployment: i.explicit.map(key),
                            created_at,
                            resolved_at: i
                                .resolved_after_hours
                                .map(|h| Timestamp::from_unix(created_at.unix() + h * HOUR)),
                            in_scope: i.in_scope,
                        }
                    })
                    .collect();
                DoraInput {
                    range,
                    benchmark: Benchmark::B2023,
                    deployments,
                    changes,
                    tally: None,
                    incidents,
                    any_deployment_ever: ever,
                }
            },
        )
}

proptest! {
    #[test]
    fn engine_matches_the_naive_reference(input in dataset()) {
        for benchmark in [Benchmark::B2023, Benchmark::B2021] {
            let mut input = input.clone();
            input.benchmark = benchmark;
            prop_assert_eq!(normalized(report(&input)), normalized(naive_report(&input)));
            for bucket in [Bucket::Week, Bucket::Month] {
                let got = series(&input, bucket);
                let want = naive_series(&input, bucket);
                prop_assert_eq!(got.len(), want.len());
                for (g, (start, end, w)) in got.into_iter().zip(want) {
                    prop_assert_eq!((g.start, g.end), (start, end));
                    prop_assert_eq!(normalized(g.report), normalized(w));
                }
            }
        }
    }
}

/// What the store does for a report over every service: count the range's deployments per
/// day; count its changes per finish day and lead-time bucket, locate each tile's median
/// bucket, read that bucket's values; attribute the incidents (here the naive way).
fn tallied(input: &DoraInput, bucket: Option<Bucket>) -> DoraInput {
    let range = input.range;
    let mut finish = std::collections::HashMap::new();
    for d in &input.deployments {
        if d.in_scope && in_range(range, d.finished_at) {
            let at = finish.entry(d.key).or_insert(d.finished_at.unix());
            *at = (*at).min(d.finished_at.unix());
        }
    }
    let mut deploys = std::collections::BTreeMap::<i64, u64>::new();
    for at in finish.values() {
        *deploys.entry(at.div_euclid(DAY)).or_default() += 1;
    }
    // (finish day, lead seconds) of every change of a counted deployment.
    let leads: Vec<(i64, i64)> = input
        .changes
        .iter()
        .filter_map(|c| {
            let at = finish.get(&c.deployment)?;
            Some((at.div_euclid(DAY), at - c.started_at.unix()))
        })
        .collect();
    let lead = tally::tiles(range, bucket)
        .into_iter()
        .map(|(first, last)| {
            let of_tile = || leads.iter().filter(|(d, _)| first <= *d && *d <= last);
            let counts: Vec<(i64, u64)> = of_tile()
                .map(|&(_, secs)| (tally::lead_bucket(secs), 1))
                .collect();
            let c = tally::locate(&counts);
            let median_seconds = c.median_at.map(|m| {
                let mut values: Vec<i64> = of_tile()
                    .map(|&(_, secs)| secs)
                    .filter(|&secs| tally::lead_bucket(secs) == m.bucket)
                    .collect();
                values.sort_unstable();
                values[m.rank as usize]
            });
            LeadTally {
                changes: c.changes,
                dropped: c.dropped,
                median_seconds,
            }
        })
        .collect();
    let incidents = input
        .incidents
        .iter()
        .map(|i| BlamedIncident {
            counted: naive_attribution(input, i)
                .and_then(|k| finish.get(&k).map(|&at| (k, Timestamp::from_unix(at)))),
            created_at: i.created_at,
            resolved_at: i.resolved_at,
            in_scope: i.in_scope,
        })
        .collect();
    DoraInput {
        deployments: vec![],
        changes: vec![],
        incidents: vec![],
        // The store asks whether the scope ever deployed: an in-scope fact says it did.
        any_deployment_ever: input.any_deployment_ever
            || input.deployments.iter().any(|f| f.in_scope),
        tally: Some(Tallied {
            lead,
            deploys: deploys.into_iter().collect(),
            incidents,
        }),
        ..input.clone()
    }
}

proptest! {
    #[test]
    fn tallied_facts_give_the_same_reports(input in dataset()) {
        prop_assert_eq!(report(&tallied(&input, None)), report(&input));
        for bucket in [Bucket::Week, Bucket::Month] {
            prop_assert_eq!(series(&tallied(&input, Some(bucket)), bucket), series(&input, bucket));
        }
    }
}

#[test]
fn base_day_is_the_first_of_december_2025() {
    assert_eq!(
        utc_date(Timestamp::from_unix(BASE_DAY * DAY)),
        time::macros::date!(2025 - 12 - 01)
    );
}

// ---- Size ---------------------------------------------------------------------------------

/// The target load (150k deployments, 600k changes, 15k incidents over 90 days): well under
/// 100 ms in release. `cargo test --release -p ferry-domain --test dora_reference -- --ignored
/// --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn target_load_is_fast() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let range = DoraRange::new(
        time::macros::date!(2026 - 01 - 01),
        time::macros::date!(2026 - 03 - 31),
    )
    .expect("range");
    let start = range.start().unix() - 10 * DAY;
    let span = (100 * DAY) as u64;
    let deployments: Vec<DeploymentFact> = (0..150_000)
        .map(|k| DeploymentFact {
            key: DeployKey(k),
            service: Some(ServiceId(next(300) as i64)),
            integration: Some(IntegrationId(next(5) as i64)),
            finished_at: Timestamp::from_unix(start + next(span) as i64),
            in_scope: next(10) < 9,
        })
        .collect();
    let changes: Vec<ChangeFact> = (0..600_000)
        .map(|_| {
            let d = &deployments[next(150_000) as usize];
            ChangeFact {
                deployment: d.key,
                started_at: Timestamp::from_unix(
                    d.finished_at.unix() - next(30 * DAY as u64) as i64,
                ),
            }
        })
        .collect();
    let incidents: Vec<IncidentFact> = (0..15_000)
        .map(|_| {
            let created = start + next(span) as i64;
            IncidentFact {
                service: (next(10) < 8).then(|| ServiceId(next(300) as i64)),
                integration: Some(IntegrationId(next(5) as i64)),
                deployment: (next(10) < 1).then(|| DeployKey(next(150_000) as i64)),
                created_at: Timestamp::from_unix(created),
                resolved_at: Some(Timestamp::from_unix(created + next(3 * DAY as u64) as i64)),
                in_scope: true,
            }
        })
        .collect();
    for benchmark in [Benchmark::B2023, Benchmark::B2021] {
        let input = DoraInput {
            range,
            benchmark,
            deployments: deployments.clone(),
            changes: changes.clone(),
            tally: None,
            incidents: incidents.clone(),
            any_deployment_ever: true,
        };
        let (r, report_time) = timed(|| report(&input));
        let (weeks, series_time) = timed(|| series(&input, Bucket::Week));
        println!(
            "{benchmark}: report {report_time:?}, weekly series {series_time:?} (fastest of 5; \
             {} weeks, {} deployments)",
            weeks.len(),
            r.deployment_frequency.deployments
        );
        if !cfg!(debug_assertions) {
            assert!(report_time.as_millis() < 100, "{report_time:?}");
            assert!(series_time.as_millis() < 100, "{series_time:?}");
        }
    }
}

/// Runs `f` five times, returning its result and the fastest wall time (the machine running
/// the tests is shared: the minimum is the run the neighbours disturbed least).
fn timed<T>(f: impl Fn() -> T) -> (T, std::time::Duration) {
    let mut best = std::time::Duration::MAX;
    let mut out = None;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        out = Some(f());
        best = best.min(t.elapsed());
    }
    (out.expect("ran"), best)
}
