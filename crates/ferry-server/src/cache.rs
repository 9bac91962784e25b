//! [`Recent`]: a small cache of lookups that every request repeats (the caller's token, the
//! repository of the URL). Entries live one second, so a change made through another instance
//! sharing the database is seen at most that late; changes made through this instance
//! invalidate at once. Only hits are cached: a token or repository created a moment ago is
//! never hidden by an earlier miss.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over (callers then read the store).
const CAPACITY: usize = 4096;

pub struct Recent<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> Default for Recent<K, V> {
    fn default() -> Self {
        Recent {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// The value cached for `key`, if younger than [`TTL`].
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    /// Drops every entry whose value matches `stale`.
    pub fn forget(&self, stale: impl Fn(&V) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (v, _)| !stale(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn hits_and_forgets() {
        let cache: Recent<&str, u32> = Recent::default();
        assert_eq!(cache.get(&"a"), None);
        cache.put("a", 1);
        cache.put("b", 2);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.forget(|v| *v == 1);
        assert_eq!((cache.get(&"a"), cache.get(&"b")), (None, Some(2)));
    }
}
