//! A worker's connections by slot, and the rules that pace them: when a
//! connection is given up on, which are retired when the worker drains,
//! when the worker takes no more (`worker_connections`), and when the
//! responses held back for a batch are written. The event loop owns the
//! sockets and does what the table says; the table owns no socket and
//! reads no clock (`now` is a parameter, every timer is data).
//!
//! Rules it keeps:
//! - A slot is taken from [`ConnTable::reserve`] to [`ConnTable::close`]; a
//!   taken slot is empty while the loop (or an application thread) holds
//!   its connection. Only an open slot counts toward `worker_connections`.
//! - The table owns the worker's [`WorkerLifecycle`] so that the count its
//!   cap and its drain-exit rely on is the table's own: a slot opened or
//!   closed is reported to the lifecycle in the same call, and the
//!   lifecycle's commands (stop or resume accepting, exit) come back to
//!   the caller in `out`.
//! - Every connection's deadline is its protocol state's
//!   ([`TableConn::next_deadline`]); the table's deadline is the earliest
//!   of them and of the write batch's.
//! - Retiring reads every connection the loop holds once (a request may
//!   be on its way); each that is still idle when it is kept gets at most
//!   the keep-alive time to begin one. Busy ones finish.

use std::time::Duration;

use super::{WorkerCommand, WorkerEvent, WorkerLifecycle, WriteBatch};
use crate::time::Instant;

/// What the table needs of a connection: its protocol state's timers, and
/// whether a response waits in its output buffer.
pub trait TableConn {
    /// When the connection gives up waiting, if it waits.
    fn next_deadline(&self) -> Option<Instant>;
    /// `true` when the deadline has passed at `now` (the connection is
    /// then to be closed).
    fn handle_timeout(&mut self, now: Instant) -> bool;
    /// Sets the deadline for the wait on the peer that begins at `now`.
    fn await_peer(&mut self, now: Instant);
    /// The worker drains: an idle connection gets at most the keep-alive
    /// time from `now` to begin a request.
    fn retire(&mut self, now: Instant);
    /// Whether response bytes wait in the connection's output buffer.
    fn has_unwritten(&self) -> bool;
}

struct Slot<C> {
    /// `None` while taken out (by the loop or an application thread) or
    /// free.
    conn: Option<C>,
    /// Between `open` and `close`.
    open: bool,
    /// Read the socket to `EAGAIN` when the connection is kept again: a
    /// readiness event came while it was away (and was dropped), or it
    /// left in the middle of such a read.
    owed_read: bool,
    /// Retirement has begun and this connection has not been kept since.
    retiring: bool,
}

pub struct ConnTable<C> {
    slots: Vec<Slot<C>>,
    free: Vec<usize>,
    lifecycle: WorkerLifecycle,
    batch: WriteBatch,
}

impl<C: TableConn> ConnTable<C> {
    pub fn new(lifecycle: WorkerLifecycle, batch: WriteBatch) -> Self {
        ConnTable {
            slots: Vec::new(),
            free: Vec::new(),
            lifecycle,
            batch,
        }
    }

    pub fn lifecycle(&self) -> &WorkerLifecycle {
        &self.lifecycle
    }

    /// For the events that are not the table's (signals, finished
    /// requests, ticks).
    pub fn lifecycle_mut(&mut self) -> &mut WorkerLifecycle {
        &mut self.lifecycle
    }

    /// Whether the loop should accept now: the lifecycle accepts and the
    /// open connections are under `worker_connections`.
    pub fn accepting(&self) -> bool {
        self.lifecycle.accepting()
    }

    /// Connections between `open` and `close`.
    pub fn open_count(&self) -> usize {
        self.slots.iter().filter(|s| s.open).count()
    }

    // ---- slots ----

    /// A slot for a connection about to be opened (its number names the
    /// connection to the poll before it is in the table).
    pub fn reserve(&mut self) -> usize {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                conn: None,
                open: false,
                owed_read: false,
                retiring: false,
            });
            self.slots.len() - 1
        });
        let s = &mut self.slots[slot];
        s.owed_read = false;
        s.retiring = false;
        slot
    }

    /// Gives back a reserved slot whose connection never opened.
    pub fn unreserve(&mut self, slot: usize) {
        if self.slots.get(slot).is_some_and(|s| !s.open) {
            self.free.push(slot);
        }
    }

    /// `conn` is open in `slot` and waits on its peer from `now`.
    pub fn open(&mut self, slot: usize, mut conn: C, now: Instant, out: &mut Vec<WorkerCommand>) {
        conn.await_peer(now);
        let s = &mut self.slots[slot];
        s.conn = Some(conn);
        s.open = true;
        self.lifecycle
            .handle(now, WorkerEvent::ConnectionOpened, out);
    }

    /// The connection in `slot`, out of the table; `None` when the slot is
    /// empty (its connection is away, or closed).
    pub fn take(&mut self, slot: usize) -> Option<C> {
        self.slots.get_mut(slot).and_then(|s| s.conn.take())
    }

    pub fn get_mut(&mut self, slot: usize) -> Option<&mut C> {
        self.slots.get_mut(slot).and_then(|s| s.conn.as_mut())
    }

    /// Puts a connection back that waits on its peer from `now`: its
    /// deadline is set (or, if it is being retired, bounded by the
    /// keep-alive time) and a response left in its buffer joins the batch.
    pub fn keep(&mut self, slot: usize, mut conn: C, now: Instant) {
        let s = &mut self.slots[slot];
        if std::mem::take(&mut s.retiring) {
            conn.retire(now);
        } else {
            conn.await_peer(now);
        }
        if conn.has_unwritten() {
            self.batch.hold(slot, now);
        }
        s.conn = Some(conn);
    }

    /// Frees `slot` once its connection is closed (the caller dropped it).
    pub fn close(&mut self, slot: usize, now: Instant, out: &mut Vec<WorkerCommand>) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        if !s.open {
            return;
        }
        s.conn = None;
        s.open = false;
        s.retiring = false;
        self.free.push(slot);
        self.lifecycle
            .handle(now, WorkerEvent::ConnectionClosed, out);
    }

    /// Frees `slot` for a connection that leaves the table still open
    /// (taken over by another protocol's table, as HTTP/2 is): the
    /// lifecycle keeps counting it until the loop reports its close.
    pub fn hand_over(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        if !s.open {
            return;
        }
        s.conn = None;
        s.open = false;
        s.retiring = false;
        s.owed_read = false;
        self.free.push(slot);
    }

    // ---- reads owed ----

    /// `slot`'s socket is to be read to `EAGAIN` when it is next served.
    pub fn owe_read(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.owed_read = true;
        }
    }

    /// Whether a read to `EAGAIN` was owed; the mark is cleared.
    pub fn take_owed_read(&mut self, slot: usize) -> bool {
        self.slots
            .get_mut(slot)
            .is_some_and(|s| std::mem::take(&mut s.owed_read))
    }

    // ---- timers ----

    /// When the loop must wake at the latest for the table: the earliest
    /// connection deadline, the batch's, the lifecycle's.
    pub fn next_deadline(&self) -> Option<Instant> {
        let conns = self
            .slots
            .iter()
            .filter_map(|s| s.conn.as_ref()?.next_deadline());
        conns
            .chain(self.batch.next_deadline())
            .chain(self.lifecycle.next_deadline())
            .min()
    }

    /// How long the loop may wait from `now`: to the next deadline, at
    /// most `longest`, at least `shortest` (a deadline already due is
    /// handled after the wait's events).
    pub fn wait_time(&self, now: Instant, longest: Duration, shortest: Duration) -> Duration {
        let until = self
            .next_deadline()
            .map_or(longest, |d| d.saturating_since(now));
        until.min(longest).max(shortest)
    }

    /// The slots whose connections' deadlines have passed at `now`: the
    /// loop takes each out and closes it.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<usize>) {
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if s.conn.as_mut().is_some_and(|c| c.handle_timeout(now)) {
                out.push(slot);
            }
        }
    }

    // ---- retirement ----

    /// The worker drains: the slots whose connections the loop is to read
    /// once to `EAGAIN` (serving what came) and then keep or close. Each
    /// kept is retired ([`TableConn::retire`]). Connections away now
    /// finish their exchange as the lifecycle's `may_keep_alive` says.
    pub fn retire_idle(&mut self, out: &mut Vec<usize>) {
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if s.conn.is_some() {
                s.retiring = true;
                out.push(slot);
            }
        }
    }

    // ---- batched writes ----

    /// Whether the responses held back are to be written now (after each
    /// event the loop handles; it writes them all before it waits anyway).
    pub fn flush_due(&self, now: Instant) -> bool {
        self.batch.is_due(now)
    }

    /// The slots whose responses wait, in the order held; hand the vector
    /// back with [`Self::recycle`]. A slot closed since has nothing to write.
    pub fn take_unwritten(&mut self) -> Vec<usize> {
        self.batch.take()
    }

    pub fn recycle(&mut self, slots: Vec<usize>) {
        self.batch.recycle(slots);
    }

    pub fn has_unwritten(&self) -> bool {
        !self.batch.is_empty()
    }

    /// How many responses wait in the batch.
    pub fn unwritten_len(&self) -> usize {
        self.batch.len()
    }
}

#[cfg(test)]
mod tests;
