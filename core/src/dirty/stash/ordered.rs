//! A map that lists its entries in insertion order, as Python's dicts
//! do: gunicorn's `keys` and `tables` answer in that order.
//!
//! Rules: replacing a key's value keeps its place; removing forgets it;
//! every operation is O(log n) or better.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub struct Ordered<K, V> {
    entries: HashMap<K, (u64, V)>,
    order: BTreeMap<u64, K>,
    next: u64,
}

impl<K: Hash + Eq + Clone, V> Ordered<K, V> {
    pub fn new() -> Self {
        Ordered {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|(_, v)| v)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get_mut(key).map(|(_, v)| v)
    }

    /// Adds or replaces; a replaced key keeps its place.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some((_, v)) = self.entries.get_mut(&key) {
            *v = value;
            return;
        }
        self.order.insert(self.next, key.clone());
        self.entries.insert(key, (self.next, value));
        self.next += 1;
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (seq, value) = self.entries.remove(key)?;
        self.order.remove(&seq);
        Some(value)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.order.values()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.order.values().filter_map(|k| self.get(k))
    }
}
