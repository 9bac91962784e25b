//! One hand-computed case (or a few) per rule of `dora.md`, in the order of the document:
//! range, frequency, lead time, attribution and change failure rate, recovery, JSON, series.

use ferry_domain::dora::{
    report, series, Benchmark, Bucket, ChangeFact, DeployKey, DeploymentFact, DoraInput, DoraRange,
    DoraReport, IncidentFact, Level,
};
use ferry_domain::{DomainError, IntegrationId, ServiceId, Timestamp};
use serde_json::json;
use time::macros::date;
use time::Date;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// `"2026-01-08 12:00"` (UTC).
fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{}:00Z", s.replace(' ', "T"))).expect("timestamp")
}

fn range(from: Date, to: Date) -> DoraRange {
    DoraRange::new(from, to).expect("valid range")
}

fn input(from: Date, to: Date) -> DoraInput {
    DoraInput {
        range: range(from, to),
        benchmark: Benchmark::B2023,
        deployments: vec![],
        changes: vec![],
        tally: None,
        incidents: vec![],
        any_deployment_ever: true,
    }
}

/// An in-scope API deployment of service 1.
fn deploy(key: i64, finished: &str) -> DeploymentFact {
    DeploymentFact {
        key: DeployKey(key),
        service: Some(ServiceId(1)),
        integration: None,
        finished_at: ts(finished),
        in_scope: true,
    }
}

/// An unresolved, in-scope incident of service 1 without explicit deployment.
fn incident(created: &str) -> IncidentFact {
    IncidentFact {
        service: Some(ServiceId(1)),
        integration: None,
        deployment: None,
        created_at: ts(created),
        resolved_at: None,
        in_scope: true,
    }
}

fn resolved(i: IncidentFact, at: &str) -> IncidentFact {
    IncidentFact {
        resolved_at: Some(ts(at)),
        ..i
    }
}

fn change(key: i64, started: Timestamp) -> ChangeFact {
    ChangeFact {
        deployment: DeployKey(key),
        started_at: started,
    }
}

fn run(input: &DoraInput, benchmark: Benchmark) -> DoraReport {
    let mut input = input.clone();
    input.benchmark = benchmark;
    report(&input)
}

fn invalid_field(r: Result<DoraRange, DomainError>) -> (&'static str, String) {
    let DomainError::Invalid { field, reason } = r.expect_err("refused");
    (field, reason)
}

// ---- Range ------------------------------------------------------------------------------

#[test]
fn range_defaults_to_the_90_days_ending_today() {
    let today = date!(2026 - 03 - 31);
    let r = DoraRange::parse(None, None, today).expect("valid");
    assert_eq!((r.from(), r.to()), (date!(2026 - 01 - 01), today));
    assert_eq!(r.days(), 90);

    let r = DoraRange::parse(None, Some("2025-12-31"), today).expect("valid");
    assert_eq!(
        (r.from(), r.to()),
        (date!(2025 - 10 - 03), date!(2025 - 12 - 31))
    );

    let r = DoraRange::parse(Some("2026-03-01"), None, today).expect("valid");
    assert_eq!((r.from(), r.to()), (date!(2026 - 03 - 01), today));

    let r = DoraRange::parse(Some("2026-03-31"), Some("2026-03-31"), today).expect("one day");
    assert_eq!(r.days(), 1);
}

#[test]
fn range_is_whole_utc_days_both_ends_included() {
    let r = range(date!(2026 - 01 - 01), date!(2026 - 03 - 31));
    assert_eq!(r.start(), ts("2026-01-01 00:00"));
    assert_eq!(r.end_exclusive(), ts("2026-04-01 00:00"));
    assert!(r.contains(ts("2026-01-01 00:00")));
    assert!(r.contains(Timestamp::from_unix(ts("2026-04-01 00:00").unix() - 1)));
    assert!(!r.contains(ts("2026-04-01 00:00")));
    assert!(!r.contains(Timestamp::from_unix(ts("2026-01-01 00:00").unix() - 1)));
}

#[test]
fn range_refuses_malformed_dates_naming_the_parameter() {
    let today = date!(2026 - 03 - 31);
    for bad in [
        "",
        "2026-1-05",
        "2026-01-5",
        "26-01-05",
        "2026/01/05",
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "+026-01-01",
        " 2026-01-05",
        "2026-01-05T00:00:00Z",
        "2026-０1-05",
    ] {
        let (field, _) = invalid_field(DoraRange::parse(Some(bad), Some("2026-03-01"), today));
        assert_eq!(field, "from", "{bad:?}");
        let (field, _) = invalid_field(DoraRange::parse(Some("2026-01-01"), Some(bad), today));
        assert_eq!(field, "to", "{bad:?}");
    }
    assert!(DoraRange::parse(Some("2024-02-29"), None, today).is_ok());
}

#[test]
fn range_refuses_from_after_to() {
    let today = date!(2026 - 03 - 31);
    let (field, _) = invalid_field(DoraRange::parse(
        Some("2026-03-02"),
        Some("2026-03-01"),
        today,
    ));
    assert_eq!(field, "from");
    // `to` defaults to today.
    let (field, _) = invalid_field(DoraRange::parse(Some("2026-04-01"), None, today));
    assert_eq!(field, "from");
}

#[test]
fn range_spans_at_most_five_years() {
    let today = date!(2026 - 03 - 31);
    // 2021-01-01..=2026-01-01 is 1827 days (one leap day, 2024).
    let r = DoraRange::parse(Some("2021-01-01"), Some("2026-01-01"), today).expect("5 years");
    assert_eq!(r.days(), 1827);
    let (field, reason) = invalid_field(DoraRange::parse(
        Some("2021-01-01"),
        Some("2026-01-02"),
        today,
    ));
    assert_eq!(field, "to");
    assert!(reason.contains("1828 days"), "{reason}");
    assert!(reason.contains("several ranges"), "{reason}");
    let (field, _) = invalid_field(DoraRange::parse(Some("2000-01-01"), None, today));
    assert_eq!(field, "to");
}

#[test]
fn benchmark_level_and_bucket_values() {
    assert_eq!(Benchmark::parse("2021").expect("2021"), Benchmark::B2021);
    assert_eq!(Benchmark::parse("2023").expect("2023"), Benchmark::B2023);
    assert_eq!(Benchmark::default(), Benchmark::B2023);
    let DomainError::Invalid { field, .. } = Benchmark::parse("2022").expect_err("refused");
    assert_eq!(field, "benchmark");
    assert_eq!(
        serde_json::to_value(Benchmark::B2021).expect("json"),
        json!("2021")
    );
    assert_eq!(
        serde_json::from_value::<Benchmark>(json!("2023")).expect("json"),
        Benchmark::B2023
    );
    assert!(serde_json::from_value::<Benchmark>(json!(2023)).is_err());
    assert_eq!(
        serde_json::to_value(Level::Elite).expect("json"),
        json!("elite")
    );
    assert_eq!(
        serde_json::to_value(Level::Medium).expect("json"),
        json!("medium")
    );
    assert_eq!(Bucket::parse("week").expect("week"), Bucket::Week);
    assert_eq!(Bucket::parse("month").expect("month"), Bucket::Month);
    let DomainError::Invalid { field, .. } = Bucket::parse("day").expect_err("refused");
    assert_eq!(field, "bucket");
}

// ---- 1. Deployment frequency --------------------------------------------------------------

/// Thursday 2026-01-08 to Tuesday 2026-01-27: four weeks, partial at both ends.
fn partial_weeks() -> DoraInput {
    let mut i = input(date!(2026 - 01 - 08), date!(2026 - 01 - 27));
    i.deployments = vec![
        deploy(1, "2026-01-07 23:59"), // the day before: ignored
        deploy(2, "2026-01-08 00:00"), // week 1 (Thu 8 – Sun 11): 3 days
        deploy(3, "2026-01-09 12:00"),
        deploy(4, "2026-01-11 23:59"),
        // week 2 (12 – 18): none
        deploy(5, "2026-01-20 10:00"), // week 3 (19 – 25): one day, two deployments
        deploy(6, "2026-01-20 15:00"),
        deploy(7, "2026-01-26 08:00"), // week 4 (Mon 26 – Tue 27): 2 days
        deploy(8, "2026-01-27 23:59"),
        deploy(9, "2026-01-28 00:00"), // the day after: ignored
        DeploymentFact {
            in_scope: false, // another service of the integration: never counted
            ..deploy(10, "2026-01-13 09:00")
        },
    ];
    i
}

#[test]
fn frequency_counts_partial_weeks_at_both_ends() {
    let i = partial_weeks();
    let f = run(&i, Benchmark::B2023).deployment_frequency;
    assert_eq!(f.deployments, 7);
    assert_eq!(f.deployment_days, 6);
    // Weeks [3, 0, 1, 2] → sorted [0, 1, 2, 3] → lower median 1 (without the partial weeks
    // it would be 0).
    assert_eq!(f.median_deployment_days_per_week, 1);
    assert_eq!(f.median_deployment_days_per_month, 6);
    assert_eq!(f.level, Some(Level::High));
    assert_eq!(f.reason, None);
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::High)
    );
}

#[test]
fn frequency_counts_weeks_without_deployments_as_zero() {
    // Mon 5 – Sat 31 January: weeks [2, 0, 0, 0], month [2].
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 31));
    i.deployments = vec![deploy(1, "2026-01-06 10:00"), deploy(2, "2026-01-07 10:00")];
    let f = run(&i, Benchmark::B2023).deployment_frequency;
    assert_eq!(f.median_deployment_days_per_week, 0);
    assert_eq!(f.median_deployment_days_per_month, 2);
    assert_eq!(f.level, Some(Level::Medium));
    // 2021 has no "one day a week" step: a day a month is high.
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::High)
    );
}

#[test]
fn frequency_months_take_the_lower_median() {
    // Jan 5 – Feb 1: months [2 (January), 0 (February 1st)] → lower median 0.
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 02 - 01));
    i.deployments = vec![deploy(1, "2026-01-06 10:00"), deploy(2, "2026-01-07 10:00")];
    let f = run(&i, Benchmark::B2023).deployment_frequency;
    assert_eq!(f.median_deployment_days_per_month, 0);
    assert_eq!(f.level, Some(Level::Low));
}

#[test]
fn frequency_thresholds_at_their_boundaries() {
    // One full week, Mon 5 – Sun 11 January, with `days` distinct deployment days.
    let week = |days: i64| {
        let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
        let monday = ts("2026-01-05 09:00").unix();
        i.deployments = (0..days)
            .map(|d| DeploymentFact {
                finished_at: Timestamp::from_unix(monday + d * DAY),
                ..deploy(d + 1, "2026-01-05 00:00")
            })
            .collect();
        i
    };
    for b in [Benchmark::B2023, Benchmark::B2021] {
        let f = run(&week(5), b).deployment_frequency;
        assert_eq!(
            (f.median_deployment_days_per_week, f.level),
            (5, Some(Level::Elite))
        );
        let f = run(&week(4), b).deployment_frequency;
        assert_eq!(
            (f.median_deployment_days_per_week, f.level),
            (4, Some(Level::High))
        );
    }

    // Exactly one day in each of two weeks: 2023 high; 2021 high through the month.
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 18));
    i.deployments = vec![deploy(1, "2026-01-06 10:00"), deploy(2, "2026-01-14 10:00")];
    let f = run(&i, Benchmark::B2023).deployment_frequency;
    assert_eq!(
        (f.median_deployment_days_per_week, f.level),
        (1, Some(Level::High))
    );
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::High)
    );

    // Exactly one day in the month, weeks [1, 0, 0, 0]: 2023 medium, 2021 high.
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 31));
    i.deployments = vec![deploy(1, "2026-01-06 10:00")];
    let f = run(&i, Benchmark::B2023).deployment_frequency;
    assert_eq!(
        (
            f.median_deployment_days_per_week,
            f.median_deployment_days_per_month
        ),
        (0, 1)
    );
    assert_eq!(f.level, Some(Level::Medium));
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::High)
    );

    // Nothing in the range but deployments exist: simply low.
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 31));
    i.deployments = vec![deploy(1, "2025-12-01 10:00")];
    for b in [Benchmark::B2023, Benchmark::B2021] {
        let f = run(&i, b).deployment_frequency;
        assert_eq!(
            (f.deployments, f.level, f.reason),
            (0, Some(Level::Low), None)
        );
    }
}

#[test]
fn frequency_2021_six_month_windows_end_at_the_last_month() {
    // Wed 2025-01-15 to Sun 2025-08-10: months Jan..Aug; windows Mar–Aug and Jan–Feb (partial).
    let mut i = input(date!(2025 - 01 - 15), date!(2025 - 08 - 10));
    i.deployments = vec![deploy(1, "2025-01-20 10:00"), deploy(2, "2025-06-10 10:00")];
    // Windows [1, 1] → 1: medium. (Windows counted from the first month, Jan–Jun and Jul–Aug,
    // would be [2, 0] → low.)
    let f = run(&i, Benchmark::B2021).deployment_frequency;
    assert_eq!(
        (
            f.median_deployment_days_per_week,
            f.median_deployment_days_per_month
        ),
        (0, 0)
    );
    assert_eq!(f.level, Some(Level::Medium));
    assert_eq!(
        run(&i, Benchmark::B2023).deployment_frequency.level,
        Some(Level::Low)
    );

    // A deployment of January before the range does not fill the partial window: [1, 0] → low.
    i.deployments[0] = deploy(1, "2025-01-10 10:00");
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::Low)
    );

    // A calendar year: windows Jul–Dec and Jan–Jun.
    let mut i = input(date!(2025 - 01 - 01), date!(2025 - 12 - 31));
    i.deployments = vec![deploy(1, "2025-02-03 10:00"), deploy(2, "2025-08-04 10:00")];
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::Medium)
    );
    i.deployments = vec![deploy(1, "2025-07-03 10:00"), deploy(2, "2025-08-04 10:00")];
    assert_eq!(
        run(&i, Benchmark::B2021).deployment_frequency.level,
        Some(Level::Low)
    );
}

#[test]
fn frequency_level_is_null_when_the_scope_never_deployed() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 31));
    i.any_deployment_ever = false;
    for b in [Benchmark::B2023, Benchmark::B2021] {
        let f = run(&i, b).deployment_frequency;
        assert_eq!((f.deployments, f.median_deployment_days_per_week), (0, 0));
        assert_eq!(f.level, None);
        assert!(f.reason.is_some());
    }
    // An in-scope fact is a counted-kind deployment of the scope, whatever the flag says.
    i.deployments = vec![deploy(1, "2025-12-01 10:00")];
    assert_eq!(
        run(&i, Benchmark::B2023).deployment_frequency.level,
        Some(Level::Low)
    );
    // An out-of-scope one is not.
    i.deployments[0].in_scope = false;
    assert_eq!(run(&i, Benchmark::B2023).deployment_frequency.level, None);
}

#[test]
fn a_deployment_given_twice_is_counted_once_at_its_earliest_finish() {
    // Dense keys and sparse ones (indexed differently by the engine).
    for (key, other) in [(1, 2), (1, 1_000_000_000_000)] {
        let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
        i.deployments = vec![
            deploy(key, "2026-01-06 10:00"),
            deploy(key, "2026-01-06 10:00"),
            deploy(other, "2026-01-09 10:00"),
            deploy(key, "2026-01-07 10:00"),
        ];
        i.changes = vec![change(key, ts("2026-01-06 09:00"))];
        i.incidents = vec![resolved(
            IncidentFact {
                deployment: Some(DeployKey(key)),
                ..incident("2026-01-06 11:00")
            },
            "2026-01-06 12:00",
        )];
        let r = run(&i, Benchmark::B2023);
        let f = &r.deployment_frequency;
        assert_eq!((f.deployments, f.deployment_days), (2, 2), "{key} {other}");
        let l = &r.lead_time_for_changes;
        assert_eq!((l.changes, l.median_seconds), (1, Some(HOUR)));
        let c = &r.change_failure_rate;
        assert_eq!((c.deployments, c.failed_deployments), (2, 1));
        assert_eq!(r.recovery.median_seconds, Some(2 * HOUR));
    }
}

// ---- 2. Lead time for changes -------------------------------------------------------------

#[test]
fn lead_time_uses_counted_deployments_of_the_range_and_drops_negative_durations() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![
        deploy(1, "2026-01-07 12:00"),
        deploy(2, "2026-01-04 12:00"), // before the range
        DeploymentFact {
            in_scope: false,
            ..deploy(3, "2026-01-07 12:00")
        },
    ];
    let fin = ts("2026-01-07 12:00").unix();
    i.changes = vec![
        change(1, Timestamp::from_unix(fin - HOUR)),
        change(1, Timestamp::from_unix(fin)),      // zero: kept
        change(1, Timestamp::from_unix(fin + 60)), // started after the deployment: dropped
        change(2, ts("2026-01-04 11:00")),         // deployment out of the range
        change(3, ts("2026-01-07 11:00")),         // deployment out of scope
        change(99, ts("2026-01-07 11:00")),        // unknown deployment
    ];
    let l = run(&i, Benchmark::B2023).lead_time_for_changes;
    assert_eq!((l.changes, l.dropped), (2, 1));
    // [0, 3600]: the lower median is 0.
    assert_eq!(l.median_seconds, Some(0));
    assert_eq!(l.level, Some(Level::Elite));
    assert_eq!(l.reason, None);
}

#[test]
fn lead_time_median_is_the_lower_one() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![deploy(1, "2026-01-07 12:00"), deploy(2, "2026-01-08 12:00")];
    let d1 = ts("2026-01-07 12:00").unix();
    let d2 = ts("2026-01-08 12:00").unix();
    i.changes = vec![
        change(1, Timestamp::from_unix(d1 - 40)),
        change(2, Timestamp::from_unix(d2 - 10)),
        change(1, Timestamp::from_unix(d1 - 30)),
        change(2, Timestamp::from_unix(d2 - 20)),
    ];
    assert_eq!(
        run(&i, Benchmark::B2023)
            .lead_time_for_changes
            .median_seconds,
        Some(20)
    );
    i.changes.pop();
    assert_eq!(
        run(&i, Benchmark::B2023)
            .lead_time_for_changes
            .median_seconds,
        Some(30)
    );
}

#[test]
fn lead_time_without_sample_has_null_median_and_level() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![deploy(1, "2026-01-07 12:00")];
    let l = run(&i, Benchmark::B2023).lead_time_for_changes;
    assert_eq!(
        (l.changes, l.dropped, l.median_seconds, l.level),
        (0, 0, None, None)
    );
    assert!(l.reason.is_some());
    // Only a dropped change: still no sample.
    i.changes = vec![change(1, ts("2026-01-07 13:00"))];
    let l = run(&i, Benchmark::B2023).lead_time_for_changes;
    assert_eq!(
        (l.changes, l.dropped, l.median_seconds, l.level),
        (0, 1, None, None)
    );
    assert!(l.reason.is_some());
}

#[test]
fn lead_time_thresholds_at_their_boundaries() {
    let level = |b: Benchmark, secs: i64| {
        let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
        i.deployments = vec![deploy(1, "2026-01-07 12:00")];
        let fin = ts("2026-01-07 12:00").unix();
        i.changes = vec![change(1, Timestamp::from_unix(fin - secs))];
        let l = run(&i, b).lead_time_for_changes;
        assert_eq!(l.median_seconds, Some(secs));
        l.level.expect("graded")
    };
    use Level::*;
    let b = Benchmark::B2023;
    assert_eq!(level(b, DAY - 1), Elite);
    assert_eq!(level(b, DAY), High);
    assert_eq!(level(b, 7 * DAY - 1), High);
    assert_eq!(level(b, 7 * DAY), Medium);
    assert_eq!(level(b, 30 * DAY - 1), Medium);
    assert_eq!(level(b, 30 * DAY), Low);
    let b = Benchmark::B2021;
    assert_eq!(level(b, HOUR - 1), Elite);
    assert_eq!(level(b, HOUR), High);
    assert_eq!(level(b, 7 * DAY - 1), High);
    assert_eq!(level(b, 7 * DAY), Medium);
    assert_eq!(level(b, 180 * DAY - 1), Medium);
    assert_eq!(level(b, 180 * DAY), Low);
}

// ---- 3. Attribution and change failure rate -----------------------------------------------

/// Service 1 deploys a (key 1, Jan 5 10:00) and b (key 2, Jan 6 10:00); service 2 deploys c
/// (key 3, Jan 6 11:00).
fn three_deploys() -> DoraInput {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![
        deploy(1, "2026-01-05 10:00"),
        deploy(2, "2026-01-06 10:00"),
        DeploymentFact {
            service: Some(ServiceId(2)),
            ..deploy(3, "2026-01-06 11:00")
        },
    ];
    i
}

/// (failed deployments, 2023 recovery median) of `i` with `incidents`.
fn blame(i: &DoraInput, incidents: Vec<IncidentFact>) -> (u64, Option<i64>) {
    let mut i = i.clone();
    i.incidents = incidents;
    let r = run(&i, Benchmark::B2023);
    (
        r.change_failure_rate.failed_deployments,
        r.recovery.median_seconds,
    )
}

#[test]
fn attribution_takes_the_latest_deployment_of_the_service_before_creation() {
    let i = three_deploys();
    // Resolved at 13:00: 3 h after b (27 h after a, 2 h after c).
    let inc = resolved(incident("2026-01-06 12:00"), "2026-01-06 13:00");
    assert_eq!(blame(&i, vec![inc]), (1, Some(3 * HOUR)));
    let r = {
        let mut i = i.clone();
        i.incidents = vec![inc];
        run(&i, Benchmark::B2023)
    };
    assert_eq!(r.change_failure_rate.rate, Some(0.3333));
}

#[test]
fn attribution_is_strictly_before_creation() {
    let i = three_deploys();
    // Created exactly when b finished: blamed on a (1 day earlier).
    let inc = resolved(incident("2026-01-06 10:00"), "2026-01-06 11:00");
    assert_eq!(blame(&i, vec![inc]), (1, Some(DAY + HOUR)));
    // Created exactly when a finished: nothing earlier, unattributed.
    let inc = resolved(incident("2026-01-05 10:00"), "2026-01-05 11:00");
    assert_eq!(blame(&i, vec![inc]), (0, None));
}

#[test]
fn attribution_ties_go_to_the_larger_key() {
    for (in_scope_key, expect_failed) in [(7, 1), (4, 0)] {
        for reverse in [false, true] {
            let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
            i.deployments = [4, 7]
                .into_iter()
                .map(|k| DeploymentFact {
                    in_scope: k == in_scope_key,
                    ..deploy(k, "2026-01-06 10:00")
                })
                .collect();
            if reverse {
                i.deployments.reverse();
            }
            let got = blame(&i, vec![incident("2026-01-06 12:00")]).0;
            assert_eq!(
                got, expect_failed,
                "in scope: {in_scope_key}, reversed: {reverse}"
            );
        }
    }
}

#[test]
fn attribution_without_service_looks_across_the_integration() {
    let int = |n| Some(IntegrationId(n));
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![
        DeploymentFact {
            integration: int(10),
            ..deploy(1, "2026-01-08 08:00")
        },
        // Another service of integration 10, given only for attribution.
        DeploymentFact {
            service: Some(ServiceId(2)),
            integration: int(10),
            in_scope: false,
            ..deploy(2, "2026-01-08 10:00")
        },
        // Same service, other integration.
        DeploymentFact {
            integration: int(11),
            ..deploy(3, "2026-01-08 11:00")
        },
    ];
    let no_service = |created: &str| IncidentFact {
        service: None,
        integration: int(10),
        ..incident(created)
    };
    // The latest of integration 10 before 12:00 is the other service's: nothing of the scope.
    assert_eq!(blame(&i, vec![no_service("2026-01-08 12:00")]).0, 0);
    // Before 10:00 it is key 1 (resolved 2 h after it).
    let inc = resolved(no_service("2026-01-08 09:00"), "2026-01-08 10:00");
    assert_eq!(blame(&i, vec![inc]), (1, Some(2 * HOUR)));
    // An incident with a service never falls back to its integration.
    let other_service = IncidentFact {
        service: Some(ServiceId(3)),
        ..no_service("2026-01-09 12:00")
    };
    assert_eq!(blame(&i, vec![other_service]).0, 0);
    // Neither service nor integration: unattributed.
    let nothing = IncidentFact {
        integration: None,
        ..no_service("2026-01-09 12:00")
    };
    assert_eq!(blame(&i, vec![nothing]).0, 0);
}

#[test]
fn attribution_prefers_the_explicit_deployment() {
    let i = three_deploys();
    let explicit = |key| IncidentFact {
        deployment: Some(DeployKey(key)),
        ..resolved(incident("2026-01-06 12:00"), "2026-01-06 13:00")
    };
    // a, though b is later: 27 h after a.
    assert_eq!(blame(&i, vec![explicit(1)]), (1, Some(27 * HOUR)));
    // c, of another service.
    assert_eq!(blame(&i, vec![explicit(3)]), (1, Some(2 * HOUR)));
    // A key not in the input: attributed there, so no counted deployment failed (no fallback).
    assert_eq!(blame(&i, vec![explicit(99)]), (0, None));
    // A deployment outside the range: same.
    let mut outside = i.clone();
    outside.deployments.push(deploy(4, "2026-01-01 10:00"));
    assert_eq!(blame(&outside, vec![explicit(4)]), (0, None));
}

#[test]
fn change_failure_rate_counts_failed_deployments_not_incidents() {
    let i = three_deploys();
    // Two incidents on b, one unresolved: one failed deployment, one recovery.
    let incidents = vec![
        incident("2026-01-06 12:00"),
        resolved(incident("2026-01-06 12:30"), "2026-01-06 14:00"),
    ];
    assert_eq!(blame(&i, incidents), (1, Some(4 * HOUR)));
    // Unresolved only: failed, but no recovery.
    let mut i = i.clone();
    i.incidents = vec![incident("2026-01-06 12:00")];
    let r = run(&i, Benchmark::B2023);
    assert_eq!(r.change_failure_rate.failed_deployments, 1);
    assert_eq!((r.recovery.incidents, r.recovery.median_seconds), (0, None));
    assert_eq!(r.recovery.level, None);
    assert!(r.recovery.reason.is_some());
}

#[test]
fn change_failure_rate_thresholds_at_their_boundaries() {
    // 20 deployments (one a day), the first `failed` of them with an explicit incident.
    let cfr = |b: Benchmark, failed: i64| {
        let mut i = input(date!(2026 - 01 - 01), date!(2026 - 01 - 31));
        let first = ts("2026-01-01 10:00").unix();
        i.deployments = (0..20)
            .map(|k| DeploymentFact {
                finished_at: Timestamp::from_unix(first + k * DAY),
                ..deploy(k, "2026-01-01 00:00")
            })
            .collect();
        i.incidents = (0..failed)
            .map(|k| IncidentFact {
                deployment: Some(DeployKey(k)),
                ..incident("2026-01-25 00:00")
            })
            .collect();
        let c = run(&i, b).change_failure_rate;
        assert_eq!((c.deployments, c.failed_deployments), (20, failed as u64));
        (c.rate.expect("rate"), c.level.expect("level"))
    };
    use Level::*;
    let b = Benchmark::B2023;
    assert_eq!(cfr(b, 0), (0.0, Elite));
    assert_eq!(cfr(b, 1), (0.05, Elite));
    assert_eq!(cfr(b, 2), (0.1, High));
    assert_eq!(cfr(b, 3), (0.15, Medium));
    assert_eq!(cfr(b, 4), (0.2, Low));
    let b = Benchmark::B2021;
    assert_eq!(cfr(b, 3), (0.15, Elite));
    assert_eq!(cfr(b, 4), (0.2, High));
    assert_eq!(cfr(b, 5), (0.25, Medium));
    assert_eq!(cfr(b, 6), (0.3, Medium));
    assert_eq!(cfr(b, 7), (0.35, Low));
}

#[test]
fn change_failure_rate_is_rounded_to_four_decimals() {
    let rate = |deployments: i64, failed: i64| {
        let mut i = input(date!(2026 - 01 - 01), date!(2026 - 03 - 31));
        let first = ts("2026-01-01 10:00").unix();
        i.deployments = (0..deployments)
            .map(|k| DeploymentFact {
                finished_at: Timestamp::from_unix(first + k * HOUR),
                ..deploy(k, "2026-01-01 00:00")
            })
            .collect();
        i.incidents = (0..failed)
            .map(|k| IncidentFact {
                deployment: Some(DeployKey(k)),
                ..incident("2026-01-25 00:00")
            })
            .collect();
        run(&i, Benchmark::B2023).change_failure_rate.rate
    };
    assert_eq!(rate(3, 1), Some(0.3333));
    assert_eq!(rate(3, 2), Some(0.6667));
    assert_eq!(rate(32, 1), Some(0.0313)); // 0.03125: half goes up
    assert_eq!(rate(7, 7), Some(1.0));
    assert_eq!(rate(0, 0), None);
}

#[test]
fn change_failure_rate_without_deployments_is_null() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.incidents = vec![incident("2026-01-06 12:00")];
    let c = run(&i, Benchmark::B2023).change_failure_rate;
    assert_eq!(
        (c.deployments, c.failed_deployments, c.rate, c.level),
        (0, 0, None, None)
    );
    assert!(c.reason.is_some());
}

// ---- 4. Recovery ------------------------------------------------------------------------

#[test]
fn recovery_2023_needs_a_counted_deployment_and_a_resolution_in_the_range() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    i.deployments = vec![deploy(1, "2026-01-04 10:00"), deploy(2, "2026-01-06 10:00")];
    let on = |key: i64| IncidentFact {
        deployment: Some(DeployKey(key)),
        ..incident("2026-01-06 11:00")
    };
    i.incidents = vec![
        resolved(on(2), "2026-01-06 12:00"), // 2 h
        resolved(on(2), "2026-01-06 16:00"), // 6 h
        resolved(on(2), "2026-01-12 00:00"), // resolved after the range
        on(2),                               // unresolved
        resolved(on(1), "2026-01-06 12:00"), // deployment before the range
        resolved(on(2), "2026-01-06 09:00"), // resolved before the deployment finished: left out
        IncidentFact {
            in_scope: false,                       // its deployment decides in 2023
            ..resolved(on(2), "2026-01-06 20:00")  // 10 h
        },
    ];
    let r = run(&i, Benchmark::B2023).recovery;
    // [2 h, 6 h, 10 h] → 6 h.
    assert_eq!((r.incidents, r.median_seconds), (3, Some(6 * HOUR)));
    assert_eq!(r.level, Some(Level::High));
    assert_eq!(r.reason, None);
}

#[test]
fn recovery_2021_is_resolved_minus_created_over_incidents_of_the_scope() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    let no_service = IncidentFact {
        service: None,
        ..incident("2026-01-06 08:00")
    };
    i.incidents = vec![
        resolved(incident("2026-01-06 10:00"), "2026-01-06 10:30"), // 30 min, unattributed
        resolved(no_service, "2026-01-06 09:00"),                   // 1 h
        resolved(incident("2026-01-04 10:00"), "2026-01-05 10:00"), // created before: 24 h
        resolved(incident("2026-01-06 10:00"), "2026-01-04 10:00"), // resolved before created
        resolved(incident("2026-01-10 10:00"), "2026-01-12 10:00"), // resolved after the range
        incident("2026-01-06 10:00"),                               // unresolved
        IncidentFact {
            in_scope: false,
            ..resolved(incident("2026-01-06 10:00"), "2026-01-06 10:10")
        },
    ];
    let r = run(&i, Benchmark::B2021).recovery;
    // [30 min, 1 h, 24 h] → 1 h.
    assert_eq!((r.incidents, r.median_seconds), (3, Some(HOUR)));
    assert_eq!(r.level, Some(Level::High));
    // The same incidents under 2023: no deployment, no recovery.
    let r = run(&i, Benchmark::B2023).recovery;
    assert_eq!((r.incidents, r.median_seconds, r.level), (0, None, None));
}

#[test]
fn recovery_median_is_the_lower_one() {
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 11));
    let created = ts("2026-01-06 10:00").unix();
    i.incidents = [40, 10, 30, 20]
        .into_iter()
        .map(|secs| IncidentFact {
            resolved_at: Some(Timestamp::from_unix(created + secs)),
            ..incident("2026-01-06 10:00")
        })
        .collect();
    assert_eq!(run(&i, Benchmark::B2021).recovery.median_seconds, Some(20));
}

#[test]
fn recovery_thresholds_at_their_boundaries() {
    let level = |b: Benchmark, secs: i64| {
        let mut i = input(date!(2026 - 01 - 01), date!(2026 - 01 - 31));
        i.deployments = vec![deploy(1, "2026-01-02 00:00")];
        let created = ts("2026-01-02 01:00").unix();
        let resolved_at = match b {
            Benchmark::B2021 => created + secs,
            Benchmark::B2023 => ts("2026-01-02 00:00").unix() + secs,
        };
        i.incidents = vec![IncidentFact {
            resolved_at: Some(Timestamp::from_unix(resolved_at)),
            ..incident("2026-01-02 01:00")
        }];
        let r = run(&i, b).recovery;
        assert_eq!(r.median_seconds, Some(secs));
        r.level.expect("graded")
    };
    use Level::*;
    for b in [Benchmark::B2023, Benchmark::B2021] {
        assert_eq!(level(b, HOUR - 1), Elite);
        assert_eq!(level(b, HOUR), High);
        assert_eq!(level(b, DAY - 1), High);
        assert_eq!(level(b, DAY), Medium);
        assert_eq!(level(b, 7 * DAY - 1), Medium);
        assert_eq!(level(b, 7 * DAY), Low);
    }
}

// ---- JSON -------------------------------------------------------------------------------

#[test]
fn empty_scope_serializes_with_nulls_and_reasons() {
    let mut i = input(date!(2026 - 01 - 01), date!(2026 - 03 - 31));
    i.any_deployment_ever = false;
    let never = "the scope has no successful production deployment at any time";
    let no_change = "no change with a non-negative lead time was deployed in the range";
    let no_deployment = "no counted deployment in the range";
    let expected = json!({
        "from": "2026-01-01", "to": "2026-03-31", "benchmark": "2023",
        "deployment_frequency": {"deployments": 0, "deployment_days": 0,
            "median_deployment_days_per_week": 0, "median_deployment_days_per_month": 0,
            "level": null, "reason": never},
        "lead_time_for_changes": {"changes": 0, "dropped": 0, "median_seconds": null,
            "level": null, "reason": no_change},
        "change_failure_rate": {"deployments": 0, "failed_deployments": 0, "rate": null,
            "level": null, "reason": no_deployment},
        "failed_deployment_recovery_time": {"incidents": 0, "median_seconds": null,
            "level": null,
            "reason": "no incident attributed to a deployment of the range was resolved in the range"},
    });
    let got = serde_json::to_string(&run(&i, Benchmark::B2023)).expect("json");
    assert_eq!(got, expected.to_string());

    let expected = json!({
        "from": "2026-01-01", "to": "2026-03-31", "benchmark": "2021",
        "deployment_frequency": {"deployments": 0, "deployment_days": 0,
            "median_deployment_days_per_week": 0, "median_deployment_days_per_month": 0,
            "level": null, "reason": never},
        "lead_time_for_changes": {"changes": 0, "dropped": 0, "median_seconds": null,
            "level": null, "reason": no_change},
        "change_failure_rate": {"deployments": 0, "failed_deployments": 0, "rate": null,
            "level": null, "reason": no_deployment},
        "time_to_restore_service": {"incidents": 0, "median_seconds": null, "level": null,
            "reason": "no incident of the scope was resolved in the range"},
    });
    let got = serde_json::to_string(&run(&i, Benchmark::B2021)).expect("json");
    assert_eq!(got, expected.to_string());
}

#[test]
fn graded_report_serializes_without_reasons() {
    let mut i = three_deploys();
    let fin = ts("2026-01-06 10:00").unix();
    i.changes = vec![change(2, Timestamp::from_unix(fin - 26 * HOUR))];
    i.incidents = vec![resolved(incident("2026-01-06 12:00"), "2026-01-06 13:30")];
    let expected = json!({
        "from": "2026-01-05", "to": "2026-01-11", "benchmark": "2023",
        "deployment_frequency": {"deployments": 3, "deployment_days": 2,
            "median_deployment_days_per_week": 2, "median_deployment_days_per_month": 2,
            "level": "high"},
        "lead_time_for_changes": {"changes": 1, "dropped": 0, "median_seconds": 93600,
            "level": "high"},
        "change_failure_rate": {"deployments": 3, "failed_deployments": 1, "rate": 0.3333,
            "level": "low"},
        "failed_deployment_recovery_time": {"incidents": 1, "median_seconds": 12600,
            "level": "high"},
    });
    let got = serde_json::to_string(&run(&i, Benchmark::B2023)).expect("json");
    assert_eq!(got, expected.to_string());
}

// ---- Series -----------------------------------------------------------------------------

fn bounds(buckets: &[ferry_domain::dora::DoraBucket]) -> Vec<(Date, Date)> {
    buckets.iter().map(|b| (b.start, b.end)).collect()
}

#[test]
fn series_weeks_are_clipped_to_the_range() {
    let i = partial_weeks();
    let weeks = series(&i, Bucket::Week);
    assert_eq!(
        bounds(&weeks),
        vec![
            (date!(2026 - 01 - 08), date!(2026 - 01 - 11)),
            (date!(2026 - 01 - 12), date!(2026 - 01 - 18)),
            (date!(2026 - 01 - 19), date!(2026 - 01 - 25)),
            (date!(2026 - 01 - 26), date!(2026 - 01 - 27)),
        ]
    );
    let deployments: Vec<u64> = weeks
        .iter()
        .map(|w| w.report.deployment_frequency.deployments)
        .collect();
    assert_eq!(deployments, vec![3, 0, 2, 2]);
    // Each bucket is the report of its clipped range.
    for w in &weeks {
        let mut clipped = i.clone();
        clipped.range = range(w.start, w.end);
        assert_eq!(w.report, report(&clipped));
        assert_eq!((w.report.from, w.report.to), (w.start, w.end));
    }
    let json = serde_json::to_value(&weeks[0]).expect("json");
    assert_eq!(json["start"], json!("2026-01-08"));
    assert_eq!(json["end"], json!("2026-01-11"));
    assert_eq!(json["deployment_frequency"]["deployments"], json!(3));
    assert!(json.get("failed_deployment_recovery_time").is_some());
}

#[test]
fn series_months_are_clipped_to_the_range() {
    let mut i = input(date!(2026 - 01 - 20), date!(2026 - 03 - 05));
    i.deployments = vec![
        deploy(1, "2026-01-19 10:00"),
        deploy(2, "2026-01-20 10:00"),
        deploy(3, "2026-02-28 23:59"),
        deploy(4, "2026-03-05 10:00"),
        deploy(5, "2026-03-06 10:00"),
    ];
    let months = series(&i, Bucket::Month);
    assert_eq!(
        bounds(&months),
        vec![
            (date!(2026 - 01 - 20), date!(2026 - 01 - 31)),
            (date!(2026 - 02 - 01), date!(2026 - 02 - 28)),
            (date!(2026 - 03 - 01), date!(2026 - 03 - 05)),
        ]
    );
    for m in &months {
        assert_eq!(m.report.deployment_frequency.deployments, 1);
        let mut clipped = i.clone();
        clipped.range = range(m.start, m.end);
        assert_eq!(m.report, report(&clipped));
    }
    // A one-day range is one bucket of each kind.
    let mut day = i.clone();
    day.range = range(date!(2026 - 03 - 05), date!(2026 - 03 - 05));
    for b in [Bucket::Week, Bucket::Month] {
        let s = series(&day, b);
        assert_eq!(
            bounds(&s),
            vec![(date!(2026 - 03 - 05), date!(2026 - 03 - 05))]
        );
        assert_eq!(s[0].report, report(&day));
    }
}

#[test]
fn series_recovery_2023_needs_deployment_and_resolution_in_the_same_bucket() {
    // Deployed Sunday evening, resolved Monday: in the range, but in two weeks.
    let mut i = input(date!(2026 - 01 - 05), date!(2026 - 01 - 18));
    i.deployments = vec![deploy(1, "2026-01-11 23:00")];
    i.incidents = vec![resolved(incident("2026-01-11 23:30"), "2026-01-12 00:30")];
    assert_eq!(run(&i, Benchmark::B2023).recovery.incidents, 1);
    let weeks = series(&i, Bucket::Week);
    let per_week: Vec<u64> = weeks.iter().map(|w| w.report.recovery.incidents).collect();
    assert_eq!(per_week, vec![0, 0]);
    let failed: Vec<u64> = weeks
        .iter()
        .map(|w| w.report.change_failure_rate.failed_deployments)
        .collect();
    assert_eq!(failed, vec![1, 0]);
    // 2021 counts the resolution's bucket.
    i.benchmark = Benchmark::B2021;
    let per_week: Vec<u64> = series(&i, Bucket::Week)
        .iter()
        .map(|w| w.report.recovery.incidents)
        .collect();
    assert_eq!(per_week, vec![0, 1]);
}
