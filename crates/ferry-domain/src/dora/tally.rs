//! The facts of a report over every service, counted by the store rather than listed:
//! hundreds of thousands of changes and deployments in a range would otherwise all be read.
//! [`Tallied`] holds counted deployments per day, lead time per tile, and the incidents with
//! their deployment (dora.md §3) already found by the store.
//!
//! Lead time:
//! The store keeps, per finish day and scope, how many changes fall in each lead-time bucket
//! ([`lead_bucket`]). For one tile of a report (the whole range, or a week or month of a
//! series), [`locate`] finds from those counts the bucket holding the lower median and its rank
//! inside the bucket; the store then reads only that bucket's values to take the exact median,
//! and hands the engine a [`LeadTally`] per tile. Same answer as the samples (dora.md §2): the
//! buckets only decide which values must be read.

use super::level::{DAY, HOUR};
use super::range::{date_of, day_number, month_of, week_of};
use super::{Bucket, DeployKey, DoraRange};
use crate::values::Timestamp;

/// The bucket of changes that started after their deployment finished (dora.md: `dropped`).
pub const DROPPED: i64 = -1;

/// The lead-time bucket of `secs`: two minutes wide below an hour, then 30 minutes below a
/// day, two hours below a week, twelve hours below 60 days, two days beyond. Narrow (under a
/// tenth of the value past the first hour) where lead times gather, so the median's bucket
/// holds few values; few enough per day that summing a year of daily counts stays cheap.
pub fn lead_bucket(secs: i64) -> i64 {
    match secs {
        s if s < 0 => DROPPED,
        s if s < HOUR => s / 120,
        s if s < DAY => 30 + (s - HOUR) / 1800,
        s if s < 7 * DAY => 76 + (s - DAY) / (2 * HOUR),
        s if s < 60 * DAY => 148 + (s - 7 * DAY) / (12 * HOUR),
        s => 254 + (s - 60 * DAY) / (2 * DAY),
    }
}

/// [`lead_bucket`] as a SQL expression of the integer expression `x` (same tiers; integer
/// division truncates like Rust's for the non-negative operands it meets here).
pub fn lead_bucket_sql(x: &str) -> String {
    format!(
        "CASE WHEN {x} < 0 THEN {DROPPED} \
         WHEN {x} < {HOUR} THEN {x} / 120 \
         WHEN {x} < {DAY} THEN 30 + ({x} - {HOUR}) / 1800 \
         WHEN {x} < {week} THEN 76 + ({x} - {DAY}) / {h2} \
         WHEN {x} < {days60} THEN 148 + ({x} - {week}) / {h12} \
         ELSE 254 + ({x} - {days60}) / {days2} END",
        week = 7 * DAY,
        days60 = 60 * DAY,
        h2 = 2 * HOUR,
        h12 = 12 * HOUR,
        days2 = 2 * DAY,
    )
}

/// Where a tile's lower median lies: the `rank`-th smallest (from 0) lead time of the tile
/// in `bucket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedianAt {
    pub bucket: i64,
    pub rank: u64,
}

/// A tile's counts: changes in the median, dropped ones, and where the median lies (`None`
/// without changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileCounts {
    pub changes: u64,
    pub dropped: u64,
    pub median_at: Option<MedianAt>,
}

/// The totals of a tile from its `(bucket, count)` pairs, in any order, a bucket possibly
/// repeated (one pair per day and scope).
pub fn locate(counts: &[(i64, u64)]) -> TileCounts {
    let mut sorted: Vec<(i64, u64)> = counts.to_vec();
    sorted.sort_unstable();
    // One entry per bucket: a rank counts within the whole bucket.
    let mut by_bucket: Vec<(i64, u64)> = Vec::with_capacity(sorted.len());
    for (bucket, n) in sorted {
        match by_bucket.last_mut() {
            Some(last) if last.0 == bucket => last.1 += n,
            _ => by_bucket.push((bucket, n)),
        }
    }
    let dropped = by_bucket
        .iter()
        .filter(|&&(b, _)| b == DROPPED)
        .map(|&(_, n)| n)
        .sum();
    let kept = || by_bucket.iter().filter(|&&(b, _)| b != DROPPED);
    let changes: u64 = kept().map(|&(_, n)| n).sum();
    let median_at = (changes > 0).then(|| {
        // The lower median's rank among all changes (median.rs), then the bucket holding it.
        let mut rank = (changes - 1) / 2;
        for &(bucket, n) in kept() {
            if rank < n {
                return MedianAt { bucket, rank };
            }
            rank -= n;
        }
        unreachable!("the rank is below the total")
    });
    TileCounts {
        changes,
        dropped,
        median_at,
    }
}

/// Lead time of one tile, as the store found it: [`TileCounts`] plus the value at
/// [`MedianAt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadTally {
    pub changes: u64,
    pub dropped: u64,
    pub median_seconds: Option<i64>,
}

/// What [`super::DoraInput::tally`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tallied {
    /// One per tile of the call ([`tiles`]: one for a report, one per week or month for a
    /// series).
    pub lead: Vec<LeadTally>,
    /// Counted deployments per UTC day number (days outside the range are ignored).
    pub deploys: Vec<(i64, u64)>,
    /// Incidents that may count: blamed on a deployment of the range, or resolved in it.
    pub incidents: Vec<BlamedIncident>,
}

/// An incident with its attribution done (dora.md §3, the rules of the private
/// `attribution` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlamedIncident {
    /// The deployment it is attributed to, when that is a counted one (success, the report's
    /// environments): its key and finish time. `None`: unattributed, or attributed to a
    /// deployment the report does not count.
    pub counted: Option<(DeployKey, Timestamp)>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Belongs to the report's scope (for the 2021 time to restore).
    pub in_scope: bool,
}

/// The tiles a report (`bucket: None`: the whole range) or a series grades, as inclusive UTC
/// day numbers (days since 1970-01-01): what the store counts per tile.
pub fn tiles(range: DoraRange, bucket: Option<Bucket>) -> Vec<(i64, i64)> {
    let first = day_number(range.from());
    let last = day_number(range.to());
    let unit = |day: i64| match bucket {
        None => 0,
        Some(Bucket::Week) => week_of(day),
        Some(Bucket::Month) => month_of(date_of(day)),
    };
    let mut out = Vec::new();
    let mut start = first;
    for day in first + 1..=last + 1 {
        if day > last || unit(day) != unit(start) {
            out.push((start, day - 1));
            start = day;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_and_never_go_back() {
        let mut last = DROPPED;
        for s in (0..HOUR).chain((HOUR..400 * DAY).step_by(53)) {
            let b = lead_bucket(s);
            assert!(b == last || b == last + 1, "{s}: {last} then {b}");
            last = b;
        }
        assert_eq!(lead_bucket(-1), DROPPED);
        assert_eq!(
            [HOUR - 1, HOUR, DAY, 7 * DAY, 60 * DAY].map(lead_bucket),
            [29, 30, 76, 148, 254]
        );
    }

    #[test]
    fn the_median_bucket_and_rank() {
        // Buckets 3 (2 values), 5 (1), 9 (2): ranks 0–4, lower median rank 2 → bucket 5.
        let c = locate(&[(9, 1), (3, 2), (DROPPED, 4), (5, 1), (9, 1), (7, 0)]);
        assert_eq!((c.changes, c.dropped), (5, 4));
        assert_eq!(c.median_at, Some(MedianAt { bucket: 5, rank: 0 }));
        // Even count: 4 changes, lower median rank 1, second value of bucket 3.
        let c = locate(&[(3, 2), (9, 2)]);
        assert_eq!(c.median_at, Some(MedianAt { bucket: 3, rank: 1 }));
        // A bucket given once per day is one bucket: rank 1 of its three values.
        let c = locate(&[(4, 1), (4, 1), (4, 1)]);
        assert_eq!(c.median_at, Some(MedianAt { bucket: 4, rank: 1 }));
        assert_eq!(locate(&[(DROPPED, 3)]).median_at, None);
    }
}
