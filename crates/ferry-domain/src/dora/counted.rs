//! The counted deployments of a range (in scope, finishing in it), indexed by key: the engine
//! looks one up per change (hundreds of thousands per report) and per incident.
//!
//! Keys are the store's row ids, so those of one range are usually dense: then a slot is
//! `key - min` in a plain array holding the finish time, and a lookup is one read of an array
//! that fits in cache. Sparse keys (span over 4× the count) fall back to an [`IdMap`].

use super::id_map::IdMap;
use super::{DeployKey, DeploymentFact};
use std::collections::hash_map::Entry;

/// Finish time (Unix seconds) of the slot's deployment, or this when the slot is free.
const FREE: i64 = i64::MIN;

pub(crate) struct Counted {
    /// Per slot, the deployment's finish time or [`FREE`]. A key given twice (the store may
    /// return a deployment both as one of the range and as a neighbour) is one deployment, at
    /// its earliest counted finish.
    finish: Vec<i64>,
    lookup: Lookup,
}

enum Lookup {
    Dense { min: i64 },
    Sparse(IdMap<DeployKey, u32>),
}

impl Counted {
    /// The facts in scope finishing in `start..end` (Unix seconds).
    pub(crate) fn new(facts: &[DeploymentFact], start: i64, end: i64) -> Counted {
        let counted = || {
            facts.iter().filter(move |f| {
                let at = f.finished_at.unix();
                f.in_scope && start <= at && at < end
            })
        };
        let (mut min, mut max, mut n) = (i64::MAX, i64::MIN, 0u64);
        for f in counted() {
            min = min.min(f.key.0);
            max = max.max(f.key.0);
            n += 1;
        }
        let span = i128::from(max) - i128::from(min) + 1;
        if n == 0 || span <= i128::from(4 * n + 1024) {
            let mut finish = vec![FREE; if n == 0 { 0 } else { span as usize }];
            for f in counted() {
                let slot = &mut finish[(f.key.0 - min) as usize];
                if *slot == FREE || f.finished_at.unix() < *slot {
                    *slot = f.finished_at.unix();
                }
            }
            return Counted {
                finish,
                lookup: Lookup::Dense { min },
            };
        }
        let mut finish = Vec::with_capacity(n as usize);
        let mut map = IdMap::with_capacity_and_hasher(n as usize, Default::default());
        for f in counted() {
            match map.entry(f.key) {
                Entry::Vacant(e) => {
                    e.insert(finish.len() as u32);
                    finish.push(f.finished_at.unix());
                }
                Entry::Occupied(e) => {
                    let slot = &mut finish[*e.get() as usize];
                    *slot = (*slot).min(f.finished_at.unix());
                }
            }
        }
        Counted {
            finish,
            lookup: Lookup::Sparse(map),
        }
    }

    /// The slot of a counted deployment, `None` for any other key.
    pub(crate) fn slot(&self, key: DeployKey) -> Option<usize> {
        let slot = match &self.lookup {
            Lookup::Dense { min } => usize::try_from(key.0.checked_sub(*min)?).ok()?,
            Lookup::Sparse(map) => *map.get(&key)? as usize,
        };
        (*self.finish.get(slot)? != FREE).then_some(slot)
    }

    /// Finish time (Unix seconds) of an occupied slot.
    pub(crate) fn finished(&self, slot: usize) -> i64 {
        self.finish[slot]
    }

    /// Number of slots (occupied or not), for arrays indexed by slot.
    pub(crate) fn slots(&self) -> usize {
        self.finish.len()
    }

    /// `(slot, finish)` of every counted deployment.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.finish
            .iter()
            .enumerate()
            .filter(|(_, &at)| at != FREE)
            .map(|(slot, &at)| (slot, at))
    }
}
