//! The shared-memory metrics region: one [`WorkerMetricsSlot`] per worker,
//! beside the heartbeat region and indexed the same way (a worker's
//! heartbeat slot number is its metrics slot number).
//!
//! One `MAP_SHARED` anonymous mapping made by the master before it forks.
//! Fresh anonymous pages are zero, and all-zero bytes are an empty slot,
//! so nothing is written at start: only the pages of slots that workers
//! use ever become resident (512 bytes a worker).

use std::io;
use std::ptr::NonNull;

use rcorn_core::metrics::{WorkerCounts, WorkerMetricsSlot};

pub struct MetricsRegion {
    base: NonNull<WorkerMetricsSlot>,
    capacity: usize,
}

// SAFETY: the region is plain shared memory holding atomics only.
unsafe impl Send for MetricsRegion {}

impl MetricsRegion {
    /// Maps room for `capacity` workers. Never unmapped: it lives as long
    /// as the master, and children inherit it.
    pub fn new(capacity: usize) -> io::Result<MetricsRegion> {
        let base = crate::shared_mapping::map_slots::<WorkerMetricsSlot>(capacity, "metrics")?;
        Ok(MetricsRegion { base, capacity })
    }

    pub fn slot(&self, index: usize) -> &'static WorkerMetricsSlot {
        assert!(index < self.capacity, "metrics slot {index} out of range");
        // SAFETY: in range; the mapping is page-aligned (so every slot is
        // 64-byte aligned) and zero-filled, and zero bytes are a valid
        // slot of `AtomicU64`s; it is never unmapped, so the reference is
        // valid for the process's life.
        unsafe { &*self.base.as_ptr().add(index) }
    }

    /// A reaped worker's slot: adds its counters to `totals` and clears
    /// it for the next worker. Called before the slot can be reused.
    pub fn retire(&self, index: usize, totals: &mut WorkerCounts) {
        let slot = self.slot(index);
        totals.fold_counters(&slot.snapshot());
        slot.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_retired_slot_is_folded_then_empty() {
        let region = MetricsRegion::new(4).expect("mmap");
        let slot = region.slot(3);
        assert_eq!(slot.snapshot(), WorkerCounts::default());
        slot.request_started();
        slot.request_finished(0, 200, Duration::from_millis(1));
        slot.request_started();
        slot.sent(10);
        let mut totals = WorkerCounts::default();
        region.retire(3, &mut totals);
        assert_eq!(totals.requests(), 1);
        assert_eq!(totals.bytes_sent, 10);
        assert_eq!(
            totals.in_flight, 0,
            "a dead worker's requests are not in flight"
        );
        assert_eq!(slot.snapshot(), WorkerCounts::default());
    }
}
