//! The one kind of memory the master shares with its workers: a
//! `MAP_SHARED` anonymous mapping made before any fork, so every child
//! inherits the same pages. Never unmapped: it lives as long as the master.
//! Fresh anonymous pages are zero-filled; what a slot holds before it is
//! written is the caller's to decide (the heartbeat region writes every
//! slot, the metrics region relies on zero being an empty slot).

use std::io;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Maps zero-filled room for `capacity` (at least one) values of `T`;
/// `what` names the region in the error.
pub fn map_slots<T>(capacity: usize, what: &str) -> io::Result<NonNull<T>> {
    let bytes = NonZeroUsize::new(capacity.max(1) * std::mem::size_of::<T>())
        .ok_or_else(|| io::Error::other(format!("empty {what} region")))?;
    // SAFETY: a fresh anonymous mapping, not aliasing anything.
    let ptr = unsafe {
        nix::sys::mman::mmap_anonymous(
            None,
            bytes,
            nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
            nix::sys::mman::MapFlags::MAP_SHARED,
        )
    }?;
    Ok(ptr.cast::<T>())
}
