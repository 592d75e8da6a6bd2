//! A map by text that keeps at most a number of entries and a total weight, forgetting the
//! oldest first: the parsed documents `limits` keeps, the documents `persisted` learns.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

pub(crate) struct Fifo<V> {
    inner: Mutex<Inner<V>>,
    max_entries: usize,
    max_weight: usize,
}

/// The values by key with their weights, the keys oldest first, and the weight held.
struct Inner<V> {
    by_key: HashMap<Arc<str>, (V, usize)>,
    order: VecDeque<Arc<str>>,
    weight: usize,
}

impl<V: Clone> Fifo<V> {
    pub(crate) fn new(max_entries: usize, max_weight: usize) -> Self {
        let inner = Inner { by_key: HashMap::new(), order: VecDeque::new(), weight: 0 };
        Self { inner: Mutex::new(inner), max_entries, max_weight }
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .get(key)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` under `key` (unless the key is kept already, or the value alone weighs more
    /// than the bound), forgetting the oldest past the bounds.
    pub(crate) fn put(&self, key: &str, value: V, weight: usize) {
        if weight > self.max_weight {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Inner { by_key, order, weight: held } = &mut *inner;
        if by_key.contains_key(key) {
            return;
        }
        let key: Arc<str> = Arc::from(key);
        by_key.insert(key.clone(), (value, weight));
        order.push_back(key);
        *held += weight;
        while order.len() > self.max_entries || *held > self.max_weight {
            let Some(oldest) = order.pop_front() else { break };
            if let Some((_, weight)) = by_key.remove(&oldest) {
                *held -= weight;
            }
        }
    }
}
