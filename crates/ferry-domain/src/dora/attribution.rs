//! Which deployment an incident is blamed on (dora.md §3):
//!
//! 1. the deployment it names (ferry's incident API `deployment_id`), whether or not that
//!    deployment is among the input facts — if it is not a counted one, it simply counts nowhere;
//! 2. else the latest deployment fact of the incident's service (in scope or not) that finished
//!    strictly before the incident was created; an incident without a service looks at the
//!    facts ingested through its integration, whatever their service;
//! 3. else none (no service and no integration, or nothing earlier).
//!
//! Two facts finishing at the same second: the larger key wins, so the answer does not depend
//! on input order. An incident with a service never falls back to its integration: ferry
//! scopes by service first (dora.md, "does not reproduce").
//!
//! Cost: the incidents are few and the facts many, so the incidents are sorted (I log I) and
//! each fact is placed among those of its group (a hash lookup, then a binary search in a
//! short run that stays in cache), rather than sorting the facts.

use super::id_map::IdMap;
use super::{DeployKey, DeploymentFact, IncidentFact};
use crate::ids::{IntegrationId, ServiceId};
use crate::values::Timestamp;
use std::hash::Hash;

/// The attributed deployment of each incident, in input order.
pub(crate) fn attribute(
    facts: &[DeploymentFact],
    incidents: &[IncidentFact],
) -> Vec<Option<DeployKey>> {
    let mut out: Vec<Option<DeployKey>> = incidents.iter().map(|i| i.deployment).collect();
    let implicit = |i: &IncidentFact| i.deployment.is_none();
    let by_service =
        Latest::<ServiceId>::new(incidents, |i| implicit(i).then_some(i.service).flatten());
    let by_integration = Latest::<IntegrationId>::new(incidents, |i| {
        (implicit(i) && i.service.is_none())
            .then_some(i.integration)
            .flatten()
    });
    by_service.resolve(facts, |f| f.service, &mut out);
    by_integration.resolve(facts, |f| f.integration, &mut out);
    out
}

/// "Latest fact of group g finishing before t" for a batch of queries.
///
/// Queries sorted by (group, t). A fact finishing at `at` qualifies for the queries of its
/// group with `t > at`: a suffix of the group's run starting at the first such query. Each fact
/// is recorded at that first query; a running maximum along the run then hands every query the
/// latest qualifying fact. Maximum of (finish, key): ties go to the larger key.
struct Latest<G> {
    /// Creation times (Unix seconds) of the queries, sorted by (group, time).
    times: Vec<i64>,
    /// The incident of each query.
    incident: Vec<u32>,
    /// Each group's run `first..end` in `times`.
    runs: IdMap<G, (usize, usize)>,
}

impl<G: Ord + Hash + Copy> Latest<G> {
    fn new(incidents: &[IncidentFact], group: impl Fn(&IncidentFact) -> Option<G>) -> Self {
        let mut queries: Vec<_> = incidents
            .iter()
            .enumerate()
            .filter_map(|(n, i)| Some((group(i)?, i.created_at.unix(), n as u32)))
            .collect();
        queries.sort_unstable();
        let mut runs = IdMap::default();
        for (n, &(g, _, _)) in queries.iter().enumerate() {
            runs.entry(g).or_insert((n, n)).1 = n + 1;
        }
        Latest {
            times: queries.iter().map(|q| q.1).collect(),
            incident: queries.iter().map(|q| q.2).collect(),
            runs,
        }
    }

    fn resolve(
        &self,
        facts: &[DeploymentFact],
        group: impl Fn(&DeploymentFact) -> Option<G>,
        out: &mut [Option<DeployKey>],
    ) {
        if self.times.is_empty() {
            return;
        }
        let mut best: Vec<Option<(Timestamp, DeployKey)>> = vec![None; self.times.len()];
        for f in facts {
            let Some(&(first, end)) = group(f).and_then(|g| self.runs.get(&g)) else {
                continue;
            };
            let at = f.finished_at.unix();
            let n = first + self.times[first..end].partition_point(|&t| t <= at);
            if n < end {
                best[n] = best[n].max(Some((f.finished_at, f.key)));
            }
        }
        for &(first, end) in self.runs.values() {
            for n in first..end {
                if n > first {
                    best[n] = best[n].max(best[n - 1]);
                }
                out[self.incident[n] as usize] = best[n].map(|(_, key)| key);
            }
        }
    }
}
