//! The computation shared by [`super::report`] and [`super::series`]: one pass over the input
//! reduces it to per-day counts and dated samples, then any tiling of the range into buckets
//! (one bucket for a report) is graded from those without looking at the input again.
//!
//! Cost for D deployments, C changes, I incidents: an index of the counted deployments by key
//! (one lookup per change and incident, see [`super::counted`]), attribution in
//! O(D log I + I log I), then O(C + I + days) to group samples by bucket and select medians.
//! Per-day counts are additive, so frequency and failure rate of any bucket are sums over
//! its days; medians are not, so lead-time and recovery samples are grouped by bucket
//! (counting sort) and each group is selected once. A tallied input (`DoraInput::tally`)
//! arrives already counted per day, with its incidents attributed: O(I + days).

use super::attribution::attribute;
use super::counted::Counted;
use super::id_map::IdMap;
use super::range::{date_of, day_number, month_of, week_of, SECS_PER_DAY};
use super::{
    failure, frequency, lead_time, recovery, tally, Benchmark, Bucket, DeployKey, DoraInput,
    DoraRange, DoraReport, LeadTally, Tallied,
};
use crate::values::Timestamp;

/// The input reduced to the days of the range (index 0 = `range.from()`).
pub(crate) struct Prepared {
    benchmark: Benchmark,
    ever_deployed: bool,
    first_day: i64,
    week: Vec<i64>,
    month: Vec<i64>,
    deploys: Vec<u32>,
    failed: Vec<u32>,
    dropped: Vec<u32>,
    /// (day of the deployment's finish, lead time in seconds ≥ 0).
    lead: Vec<(u32, i64)>,
    /// The store's per-bucket lead time, replacing `lead` and `dropped` (see `DoraInput::tally`).
    lead_tally: Option<Vec<LeadTally>>,
    /// (first day, last day, seconds ≥ 0): the sample belongs to a bucket holding both days.
    /// 2023: deployment finish day and resolution day; 2021: the resolution day twice.
    recovery: Vec<(u32, u32, i64)>,
}

/// The range in Unix seconds, `start..end`.
#[derive(Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
}

impl Window {
    fn contains(self, secs: i64) -> bool {
        self.start <= secs && secs < self.end
    }

    /// Day index in the range of a time in it.
    fn offset(self, secs: i64) -> u32 {
        ((secs - self.start) / SECS_PER_DAY) as u32
    }
}

/// What the 2021 time to restore needs of an incident: in scope, created, resolved.
type Restore = (bool, Timestamp, Option<Timestamp>);

impl Prepared {
    pub(crate) fn new(input: &DoraInput) -> Prepared {
        let range = input.range;
        let first_day = day_number(range.from());
        let n_days = range.days() as usize;
        let (mut week, mut month) = (Vec::with_capacity(n_days), Vec::with_capacity(n_days));
        for day in first_day..first_day + n_days as i64 {
            week.push(week_of(day));
            month.push(month_of(date_of(day)));
        }
        let mut prepared = Prepared {
            benchmark: input.benchmark,
            ever_deployed: input.any_deployment_ever,
            first_day,
            week,
            month,
            deploys: vec![0; n_days],
            failed: vec![0; n_days],
            dropped: vec![0; n_days],
            lead: Vec::new(),
            lead_tally: None,
            recovery: Vec::new(),
        };
        let window = Window {
            start: range.start().unix(),
            end: range.end_exclusive().unix(),
        };
        let restore = match &input.tally {
            Some(tally) => prepared.count_tallied(tally, window),
            None => prepared.count_listed(input, window),
        };
        if input.benchmark == Benchmark::B2021 {
            for (in_scope, created, resolved) in restore {
                let resolved = resolved.map(|t| t.unix()).filter(|&t| window.contains(t));
                let (true, Some(resolved)) = (in_scope, resolved) else {
                    continue;
                };
                // Negative (resolved before created): bad data, left out.
                let secs = resolved.saturating_sub(created.unix());
                if secs >= 0 {
                    let day = window.offset(resolved);
                    prepared.recovery.push((day, day, secs));
                }
            }
        }
        prepared
    }

    /// The listed facts: counted deployments indexed by key, changes looked up through them,
    /// incidents attributed here.
    fn count_listed(&mut self, input: &DoraInput, w: Window) -> Vec<Restore> {
        let counted = Counted::new(&input.deployments, w.start, w.end);
        for (_, at) in counted.iter() {
            self.deploys[w.offset(at) as usize] += 1;
        }
        self.lead.reserve(input.changes.len());
        for change in &input.changes {
            let Some(slot) = counted.slot(change.deployment) else {
                continue;
            };
            let finished = counted.finished(slot);
            let secs = finished.saturating_sub(change.started_at.unix());
            if secs < 0 {
                self.dropped[w.offset(finished) as usize] += 1;
            } else {
                self.lead.push((w.offset(finished), secs));
            }
        }
        let mut is_failed = vec![false; counted.slots()];
        let attributed = attribute(&input.deployments, &input.incidents);
        for (incident, key) in input.incidents.iter().zip(attributed) {
            let Some(slot) = key.and_then(|k| counted.slot(k)) else {
                continue;
            };
            is_failed[slot] = true;
            self.recovered(w, counted.finished(slot), incident.resolved_at);
        }
        for (slot, at) in counted.iter() {
            if is_failed[slot] {
                self.failed[w.offset(at) as usize] += 1;
            }
        }
        // In-scope facts are counted-kind deployments of the scope: evidence enough.
        self.ever_deployed |= input.deployments.iter().any(|f| f.in_scope);
        input
            .incidents
            .iter()
            .map(|i| (i.in_scope, i.created_at, i.resolved_at))
            .collect()
    }

    /// The store's counts: deployments per day, lead time per bucket of the call, incidents
    /// already attributed.
    fn count_tallied(&mut self, tally: &Tallied, w: Window) -> Vec<Restore> {
        for &(day, n) in &tally.deploys {
            if let Some(slot) = usize::try_from(day - self.first_day)
                .ok()
                .and_then(|i| self.deploys.get_mut(i))
            {
                *slot += u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        self.lead_tally = Some(tally.lead.clone());
        let mut seen = IdMap::<DeployKey, ()>::default();
        for incident in &tally.incidents {
            let Some((key, finished)) = incident.counted else {
                continue;
            };
            let finished = finished.unix();
            if !w.contains(finished) {
                continue;
            }
            if seen.insert(key, ()).is_none() {
                self.failed[w.offset(finished) as usize] += 1;
            }
            self.recovered(w, finished, incident.resolved_at);
        }
        self.ever_deployed |= self.deploys.iter().any(|&n| n > 0);
        tally
            .incidents
            .iter()
            .map(|i| (i.in_scope, i.created_at, i.resolved_at))
            .collect()
    }

    /// The 2023 recovery sample of an incident blamed on a counted deployment finishing at
    /// `finished`. Negative (resolved before the deployment it is blamed on finished, as an
    /// explicit attribution allows): not a recovery time, left out.
    fn recovered(&mut self, w: Window, finished: i64, resolved: Option<Timestamp>) {
        let resolved = resolved.map(|t| t.unix()).filter(|&t| w.contains(t));
        if let (Benchmark::B2023, Some(resolved)) = (self.benchmark, resolved) {
            let secs = resolved.saturating_sub(finished);
            if secs >= 0 {
                self.recovery
                    .push((w.offset(finished), w.offset(resolved), secs));
            }
        }
    }

    /// The tiles of a report (`None`) or a series as day offsets in the range: the very
    /// tiles a tallied input was counted for ([`tally::tiles`]).
    pub(crate) fn tiles(&self, range: DoraRange, bucket: Option<Bucket>) -> Vec<(usize, usize)> {
        let offset = |day: i64| (day - self.first_day) as usize;
        tally::tiles(range, bucket)
            .into_iter()
            .map(|(first, last)| (offset(first), offset(last)))
            .collect()
    }

    /// One report per bucket; `buckets` are day offsets `(first, last)` that tile the range in
    /// order.
    pub(crate) fn reports(&self, buckets: &[(usize, usize)]) -> Vec<DoraReport> {
        let mut bucket_of = vec![0u32; self.deploys.len()];
        for (b, &(first, last)) in buckets.iter().enumerate() {
            bucket_of[first..=last].fill(b as u32);
        }
        let lead = group(buckets.len(), &self.lead, |&(day, secs)| {
            Some((bucket_of[day as usize], secs))
        });
        let recovery = group(buckets.len(), &self.recovery, |&(a, b, secs)| {
            let bucket = bucket_of[a as usize];
            (bucket == bucket_of[b as usize]).then_some((bucket, secs))
        });
        let (mut lead, mut recovery) = (lead, recovery);
        buckets
            .iter()
            .enumerate()
            .map(|(b, &(first, last))| {
                let days = first..=last;
                let sum = |v: &[u32]| v[days.clone()].iter().map(|&n| u64::from(n)).sum::<u64>();
                DoraReport {
                    from: date_of(self.first_day + first as i64),
                    to: date_of(self.first_day + last as i64),
                    benchmark: self.benchmark,
                    deployment_frequency: frequency::compute(
                        frequency::Days {
                            deploys: &self.deploys[days.clone()],
                            week: &self.week[days.clone()],
                            month: &self.month[days.clone()],
                        },
                        self.benchmark,
                        self.ever_deployed,
                    ),
                    lead_time_for_changes: match &self.lead_tally {
                        Some(t) => {
                            let t = t.get(b).expect("one lead tally per bucket");
                            lead_time::graded(
                                t.changes,
                                t.dropped,
                                t.median_seconds,
                                self.benchmark,
                            )
                        }
                        None => {
                            lead_time::compute(lead.bucket(b), sum(&self.dropped), self.benchmark)
                        }
                    },
                    change_failure_rate: failure::compute(
                        sum(&self.deploys),
                        sum(&self.failed),
                        self.benchmark,
                    ),
                    recovery: recovery::compute(recovery.bucket(b), self.benchmark),
                }
            })
            .collect()
    }
}

/// Sample values grouped by bucket, each group contiguous.
struct Grouped {
    /// `starts[b]..starts[b + 1]` is bucket b's slice of `values`.
    starts: Vec<usize>,
    values: Vec<i64>,
}

impl Grouped {
    fn bucket(&mut self, b: usize) -> &mut [i64] {
        &mut self.values[self.starts[b]..self.starts[b + 1]]
    }
}

/// Counting sort of `samples` into `n` buckets; `place` gives a sample's bucket and value, or
/// `None` when it belongs to no bucket.
fn group<S>(n: usize, samples: &[S], place: impl Fn(&S) -> Option<(u32, i64)>) -> Grouped {
    let mut starts = vec![0usize; n + 1];
    for s in samples {
        if let Some((b, _)) = place(s) {
            starts[b as usize + 1] += 1;
        }
    }
    for b in 0..n {
        starts[b + 1] += starts[b];
    }
    let mut next = starts.clone();
    let mut values = vec![0i64; starts[n]];
    for s in samples {
        if let Some((b, v)) = place(s) {
            values[next[b as usize]] = v;
            next[b as usize] += 1;
        }
    }
    Grouped { starts, values }
}
