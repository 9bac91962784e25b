//! Hash maps keyed by ferry's integer ids (deployment keys, services, integrations), with a
//! multiply-and-fold hash instead of SipHash: the ids are integers ferry assigns, not
//! attacker-chosen input, so flood resistance would buy nothing for most of a lookup's cost,
//! and the engine does one lookup per fact or change.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub(crate) struct IdHasher(u64);

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(MULTIPLIER);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // The product's high bits depend on every key bit; fold them into the low bits the
        // table indexes with (keys that are multiples of a power of two would collide).
        self.0 ^ (self.0 >> 32)
    }
}
