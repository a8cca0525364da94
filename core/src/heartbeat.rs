//! The heartbeat slot: how a worker tells the master it is alive.
//!
//! One slot per worker lives in memory shared by the master and that worker
//! (the adapter maps it before fork). The worker stores the time of its last
//! beat; the master loads it when it wakes. A single atomic word carries the
//! whole message, so no torn read is possible and no lock is needed: a
//! Relaxed store/load pair suffices because the master only compares the
//! value with the last one it saw and acts on nothing else in the slot.
//!
//! The slot also carries one word the other way: before the master sends
//! TERM to a worker it is replacing (the service goes on without it), it
//! marks the slot, so the worker can tell its websocket clients 1012
//! (restart) rather than 1001 (going away). Release before the `kill`,
//! Acquire once the signal is seen: the mark is always visible by then.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};

#[repr(C)]
#[derive(Debug)]
pub struct HeartbeatSlot {
    /// Milliseconds on the monotonic clock of the last beat; 0 = never.
    last_beat: AtomicU64,
    /// Non-zero: the TERM this worker gets (or got) replaces it.
    replaced: AtomicU64,
}

impl HeartbeatSlot {
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        HeartbeatSlot {
            last_beat: AtomicU64::new(0),
            replaced: AtomicU64::new(0),
        }
    }

    #[cfg(loom)]
    pub fn new() -> Self {
        HeartbeatSlot {
            last_beat: AtomicU64::new(0),
            replaced: AtomicU64::new(0),
        }
    }

    /// Records a beat at `now_ms`. Beats never go backwards: a stale writer
    /// cannot hide a fresher beat.
    pub fn beat(&self, now_ms: u64) {
        self.last_beat.fetch_max(now_ms, Ordering::Relaxed);
    }

    pub fn last_beat(&self) -> u64 {
        self.last_beat.load(Ordering::Relaxed)
    }

    /// The master's mark, set before the TERM that replaces the worker.
    pub fn mark_replaced(&self) {
        self.replaced.store(1, Ordering::Release);
    }

    /// Whether the master marked this worker as replaced.
    pub fn replaced(&self) -> bool {
        self.replaced.load(Ordering::Acquire) != 0
    }

    /// Clears the slot for its next owner.
    pub fn reset(&self) {
        self.last_beat.store(0, Ordering::Relaxed);
        self.replaced.store(0, Ordering::Relaxed);
    }
}

impl Default for HeartbeatSlot {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn beats_are_monotonic_and_reset_clears() {
        let slot = HeartbeatSlot::new();
        assert_eq!(slot.last_beat(), 0);
        slot.beat(10);
        slot.beat(5);
        assert_eq!(slot.last_beat(), 10);
        slot.reset();
        assert_eq!(slot.last_beat(), 0);
    }

    #[test]
    fn the_replaced_mark_stays_until_reset() {
        let slot = HeartbeatSlot::new();
        assert!(!slot.replaced());
        slot.mark_replaced();
        slot.beat(7);
        assert!(slot.replaced());
        slot.reset();
        assert!(!slot.replaced());
    }
}
