//! Finished responses held back to be written together (DESIGN.md §3,
//! "batched writes"): a connection whose keep-alive response is complete
//! leaves it in its output buffer while the worker serves other ready
//! connections, and all are written at once, before the worker waits
//! again, once `max` wait, or once the oldest has waited `window`. A peer
//! waiting on many connections is then woken once for several responses.
//!
//! Time is a parameter: the caller asks [`WriteBatch::is_due`] after each
//! event it handles and writes everything before it sleeps, so no
//! response waits longer than `window` plus the handling of one event.

use std::time::Duration;

use crate::time::Instant;

pub struct WriteBatch {
    /// The connections (by slot) whose responses wait, in the order held.
    slots: Vec<usize>,
    /// When the oldest began to wait.
    since: Option<Instant>,
    window: Duration,
    max: usize,
}

impl WriteBatch {
    /// rcorn's worker: at most 16 responses, at most 1 ms (on a millisecond
    /// clock, 1 to 2 ms).
    pub const WINDOW: Duration = Duration::from_millis(1);
    pub const MAX: usize = 16;

    pub fn new(window: Duration, max: usize) -> WriteBatch {
        WriteBatch {
            slots: Vec::new(),
            since: None,
            window,
            max,
        }
    }

    /// The response of connection `slot` waits in its buffer from `now`.
    pub fn hold(&mut self, slot: usize, now: Instant) {
        self.slots.push(slot);
        self.since.get_or_insert(now);
    }

    /// Whether the waiting responses are to be written now.
    pub fn is_due(&self, now: Instant) -> bool {
        self.slots.len() >= self.max
            || self
                .since
                .is_some_and(|t| now.saturating_since(t) >= self.window)
    }

    /// When the oldest waiting response falls due, if one waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.since.map(|t| t + self.window)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Hands over the waiting slots, in the order held, and starts a new
    /// batch. Give the vector back with [`Self::recycle`] so its capacity
    /// is reused (no allocation per batch).
    pub fn take(&mut self) -> Vec<usize> {
        self.since = None;
        std::mem::take(&mut self.slots)
    }

    /// Returns a vector [`Self::take`] handed over.
    pub fn recycle(&mut self, mut slots: Vec<usize>) {
        slots.clear();
        if self.slots.is_empty() && self.slots.capacity() < slots.capacity() {
            self.slots = slots;
        }
    }
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch::new(WriteBatch::WINDOW, WriteBatch::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_by_count_or_by_the_oldest_wait() {
        let t0 = Instant::from_millis(10);
        let mut batch = WriteBatch::new(Duration::from_millis(1), 3);
        assert!(!batch.is_due(t0) && batch.next_deadline().is_none());
        batch.hold(4, t0);
        batch.hold(7, t0 + Duration::from_micros(600));
        assert_eq!(batch.next_deadline(), Some(t0 + Duration::from_millis(1)));
        assert!(!batch.is_due(t0 + Duration::from_micros(900)));
        assert!(
            batch.is_due(t0 + Duration::from_millis(1)),
            "the oldest's wait"
        );
        batch.hold(9, t0);
        assert!(batch.is_due(t0), "three wait");
        let slots = batch.take();
        assert_eq!(slots, [4, 7, 9]);
        assert!(batch.is_empty() && !batch.is_due(t0 + Duration::from_secs(1)));
        batch.recycle(slots);
        batch.hold(1, t0 + Duration::from_secs(2));
        assert_eq!(
            batch.next_deadline(),
            Some(t0 + Duration::from_secs(2) + Duration::from_millis(1)),
            "a new batch counts from its own first response"
        );
    }
}
