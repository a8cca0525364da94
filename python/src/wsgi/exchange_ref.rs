//! Lending the current [`Exchange`] to Python objects.
//!
//! `wsgi.input`, `start_response` and `write` are Python objects the
//! application may keep past the request, hand to another thread, or leave
//! to the garbage collector, which may free them on any thread. They reach
//! the exchange through an `ExchangeRef`, which is valid only while
//! [`ExchangeRef::lend`]'s guard lives, i.e. for the duration of the
//! application call, and only on the thread that lent it: anywhere else, or
//! afterwards, every use fails cleanly instead of touching an exchange that
//! another thread is using or that is finished.
//!
//! In the gevent worker a use may wait (for body bytes, for the socket to
//! take the response), and another greenlet of the same thread runs
//! meanwhile: a use from there, while the first is still inside, fails too
//! (`busy`) rather than reach the exchange twice.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

use rcorn_io::Exchange;

#[derive(Clone, Default)]
pub struct ExchangeRef(Arc<Slot>);

#[derive(Default)]
struct Slot {
    /// The lent exchange; null when none is.
    exchange: AtomicPtr<()>,
    /// [`thread_token`] of the thread that lent it.
    owner: AtomicU64,
    /// A [`ExchangeRef::with`] is running (and may be waiting).
    busy: AtomicBool,
}

/// Clears `busy` when the use ends, however it ends.
struct InUse<'a>(&'a AtomicBool);

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

pub struct LendGuard(ExchangeRef);

impl Drop for LendGuard {
    fn drop(&mut self) {
        self.0
             .0
            .exchange
            .store(std::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// The calling thread, as a number no other live thread has. The lender
/// is alive for as long as the exchange is lent, so no other thread can
/// hold its number meanwhile. `pthread_self` reads a register; a
/// `thread_local!` costs a `__tls_get_addr` call in this shared library,
/// and `with` runs several times per request.
fn thread_token() -> u64 {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as u64 }
}

impl ExchangeRef {
    /// Makes `exchange` reachable from this thread until the guard drops.
    pub fn lend(&self, exchange: &mut Exchange<'_>) -> LendGuard {
        self.0.owner.store(thread_token(), Ordering::Relaxed);
        self.0
            .exchange
            .store((exchange as *mut Exchange<'_>).cast(), Ordering::Relaxed);
        LendGuard(self.clone())
    }

    /// Runs `f` with the lent exchange, or returns `None` once the request
    /// is over or when called from a thread other than the lender's.
    pub fn with<R>(&self, f: impl FnOnce(&mut Exchange<'_>) -> R) -> Option<R> {
        if self.0.owner.load(Ordering::Relaxed) != thread_token() {
            return None;
        }
        let ptr = self
            .0
            .exchange
            .load(Ordering::Relaxed)
            .cast::<Exchange<'_>>();
        // Only the lending thread gets here, so a plain load and store
        // (no read-modify-write) suffice for `busy`.
        if ptr.is_null() || self.0.busy.load(Ordering::Relaxed) {
            return None;
        }
        self.0.busy.store(true, Ordering::Relaxed);
        let _in_use = InUse(&self.0.busy);
        // SAFETY: only the lending thread gets here, and it set the pointer
        // from a live `&mut Exchange` in `lend` and clears it (guard drop)
        // before that borrow ends, so the exchange is alive. Only this
        // thread dereferences it, and not re-entrantly: `busy` refuses a
        // second use while one runs (a greenlet switched to during a wait).
        // Relaxed suffices: the stores and this load are on one thread.
        Some(f(unsafe { &mut *ptr }))
    }
}
