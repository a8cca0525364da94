//! The shared-memory heartbeat region.
//!
//! One `MAP_SHARED` anonymous mapping, made by the master before it forks
//! anything, holds a slot per worker. A worker stamps its slot with the
//! monotonic clock on every turn of its loop (one atomic store: no syscall,
//! no file on a possibly slow disk, unlike gunicorn's tmp-file `utime`); the
//! master reads the stamps when it wakes. The slot protocol itself lives in
//! `rcorn_core::heartbeat`, where it is model-checked.

use std::io;
use std::ptr::NonNull;

use rcorn_core::heartbeat::HeartbeatSlot;

pub struct HeartbeatRegion {
    base: NonNull<HeartbeatSlot>,
    capacity: usize,
    free: Vec<usize>,
}

// SAFETY: the region is plain shared memory holding atomics only.
unsafe impl Send for HeartbeatRegion {}

impl HeartbeatRegion {
    /// Maps room for `capacity` workers. The mapping is never unmapped: it
    /// lives as long as the master, and children inherit it.
    pub fn new(capacity: usize) -> io::Result<HeartbeatRegion> {
        let base = crate::shared_mapping::map_slots::<HeartbeatSlot>(capacity, "heartbeat")?;
        for i in 0..capacity {
            // SAFETY: within the mapping just made; slots are initialised
            // before anyone can read them.
            unsafe { base.as_ptr().add(i).write(HeartbeatSlot::new()) };
        }
        Ok(HeartbeatRegion {
            base,
            capacity,
            free: (0..capacity).rev().collect(),
        })
    }

    /// Takes a free slot for a worker about to be forked, stamped `now_ms` so
    /// the master does not see a stale beat from the slot's last owner.
    pub fn allocate(&mut self, now_ms: u64) -> Option<usize> {
        let index = self.free.pop()?;
        self.slot(index).reset();
        self.slot(index).beat(now_ms);
        Some(index)
    }

    /// Returns the slot of a reaped worker.
    pub fn release(&mut self, index: usize) {
        if index < self.capacity && !self.free.contains(&index) {
            self.free.push(index);
        }
    }

    pub fn slot(&self, index: usize) -> &'static HeartbeatSlot {
        assert!(index < self.capacity, "heartbeat slot {index} out of range");
        // SAFETY: in range, initialised in `new`, and the mapping is never
        // unmapped, so the reference is valid for the process's life.
        unsafe { &*self.base.as_ptr().add(index) }
    }
}
