//! The hand-off queue between a gthread worker's I/O thread and its
//! application threads.
//!
//! The I/O thread pushes a connection whose request head is complete; an
//! idle application thread pops it, serves the request and pushes the
//! connection back on a second queue for the I/O thread. A mutex and a
//! condition variable are all it takes: a request costs microseconds to
//! milliseconds of Python, so the queue is never the contended part, and a
//! lock is simple enough to model exhaustively (`sim/tests/loom_handoff.rs`
//! swaps in loom's primitives).
//!
//! It is the one piece of the core that blocks, and only in [`HandOff::pop`],
//! which the adapter calls on its own threads.

use std::collections::VecDeque;

#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

pub struct HandOff<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives or the queue closes.
    ready: Condvar,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> HandOff<T> {
    pub fn new() -> Self {
        HandOff {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A holder that panicked left the queue itself consistent (every
        // operation is one VecDeque call), so poisoning is not an error.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` and wakes one waiting consumer. A closed queue hands
    /// the item back. `Ok(true)` when the queue was empty: a consumer that
    /// polls instead of waiting here ([`Self::drain_into`]) needs waking
    /// only then, since it drains every item a wake-up finds, and so takes
    /// any pushed after the first along with it.
    pub fn push(&self, item: T) -> Result<bool, T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        let first = state.items.is_empty();
        state.items.push_back(item);
        drop(state);
        self.ready.notify_one();
        Ok(first)
    }

    /// The oldest item, waiting for one; `None` once the queue is closed and
    /// empty.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some(item);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Moves every queued item to `out` without waiting.
    pub fn drain_into(&self, out: &mut Vec<T>) {
        let mut state = self.lock();
        out.extend(state.items.drain(..));
    }

    /// Refuses further pushes and wakes every waiting consumer; items
    /// already queued are still handed out.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

impl<T> Default for HandOff<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_and_close_ends_the_queue_after_them() {
        let q = HandOff::new();
        assert!(q.push(1).is_ok());
        assert!(q.push(2).is_ok());
        q.close();
        assert_eq!(q.push(3), Err(3));
        assert_eq!(q.pop(), Some(1));
        let mut rest = Vec::new();
        q.drain_into(&mut rest);
        assert_eq!(rest, vec![2]);
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_waiting_consumer_is_woken_by_a_push_from_another_thread() {
        let q = std::sync::Arc::new(HandOff::new());
        let consumer = {
            let q = q.clone();
            std::thread::spawn(move || q.pop())
        };
        assert!(q.push(7).is_ok());
        assert_eq!(consumer.join().ok().flatten(), Some(7));
    }
}
