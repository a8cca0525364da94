//! Lending the current [`Exchange`] to Python objects.
//!
//! `wsgi.input`, `start_response` and `write` are Python objects the
//! application may keep past the request. They reach the exchange through an
//! `ExchangeRef`, which is valid only while [`ExchangeRef::lend`]'s guard
//! lives, i.e. for the duration of the application call; afterwards every use
//! fails cleanly instead of touching a finished exchange. The objects are
//! `unsendable`: pyo3 refuses them on any thread but the worker's, so the
//! pointer is never used concurrently.

use std::cell::Cell;
use std::rc::Rc;

use rcorn_io::Exchange;

#[derive(Clone, Default)]
pub struct ExchangeRef(Rc<Cell<*mut ()>>);

pub struct LendGuard(ExchangeRef);

impl Drop for LendGuard {
    fn drop(&mut self) {
        self.0 .0.set(std::ptr::null_mut());
    }
}

impl ExchangeRef {
    /// Makes `exchange` reachable until the guard drops.
    pub fn lend(&self, exchange: &mut Exchange<'_>) -> LendGuard {
        self.0.set((exchange as *mut Exchange<'_>).cast());
        LendGuard(self.clone())
    }

    /// Runs `f` with the lent exchange, or returns `None` once the request
    /// is over.
    pub fn with<R>(&self, f: impl FnOnce(&mut Exchange<'_>) -> R) -> Option<R> {
        let ptr = self.0.get().cast::<Exchange<'_>>();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the pointer was set from a live `&mut Exchange` by `lend`
        // and is cleared by the guard before that borrow ends. Access is
        // single-threaded (the Python objects are unsendable) and not
        // re-entrant: no closure passed here calls back into Python code
        // that could reach `with` again.
        Some(f(unsafe { &mut *ptr }))
    }
}
