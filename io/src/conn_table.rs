//! The sync/gthread worker loop's connections, by slot (a slot's number is
//! its mio token's offset). A slot is taken from the accept to the close,
//! and stays taken but empty while an application thread has the
//! connection. The table holds no rule of its own: each connection's
//! deadline is its `ServerConnection`'s (core), and the loop decides what
//! to do when one passes.

use rcorn_core::time::Instant;

use crate::exchange::Connection;

pub(crate) struct ConnEntry {
    /// Boxed: it moves to an application thread and back in one pointer.
    /// Its deadline is its protocol state's (`conn.http.next_deadline()`).
    pub(crate) conn: Box<Connection>,
}

#[derive(Default)]
pub(crate) struct ConnTable {
    conns: Vec<Option<ConnEntry>>,
    /// By slot: when the connection comes back from its application
    /// thread, read its socket to `EAGAIN`, because a readiness event came
    /// while it was away (and was dropped) or it left before such a read.
    /// Otherwise a connection whose last read emptied its socket is not
    /// read again until its next event.
    read_on_return: Vec<bool>,
    free: Vec<usize>,
}

impl ConnTable {
    /// A slot for a new connection, with no read owed.
    pub(crate) fn reserve(&mut self) -> usize {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.read_on_return.push(false);
            self.conns.len() - 1
        });
        self.read_on_return[slot] = false;
        slot
    }

    /// Gives a slot back once its connection is closed (or never opened).
    pub(crate) fn release(&mut self, slot: usize) {
        self.free.push(slot);
    }

    /// The connection in `slot`, out of the table; `None` when the slot
    /// is empty (with an application thread, or closed).
    pub(crate) fn take(&mut self, slot: usize) -> Option<ConnEntry> {
        self.conns.get_mut(slot).and_then(Option::take)
    }

    pub(crate) fn put(&mut self, slot: usize, entry: ConnEntry) {
        self.conns[slot] = Some(entry);
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut ConnEntry> {
        self.conns.get_mut(slot).and_then(Option::as_mut)
    }

    /// Every slot there has been, taken or free.
    pub(crate) fn slots(&self) -> std::ops::Range<usize> {
        0..self.conns.len()
    }

    /// Marks `slot`'s connection to be read to `EAGAIN` when it comes back.
    pub(crate) fn owe_read(&mut self, slot: usize) {
        if let Some(owed) = self.read_on_return.get_mut(slot) {
            *owed = true;
        }
    }

    /// Whether a read to `EAGAIN` was owed; the mark is cleared.
    pub(crate) fn take_owed_read(&mut self, slot: usize) -> bool {
        std::mem::take(&mut self.read_on_return[slot])
    }

    /// The earliest deadline of the connections in the table.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.conns
            .iter()
            .flatten()
            .filter_map(|entry| entry.conn.http.next_deadline())
            .min()
    }

    /// Takes `slot`'s connection out if its deadline has passed at `now`.
    pub(crate) fn take_if_expired(&mut self, slot: usize, now: Instant) -> Option<ConnEntry> {
        let expired = self.conns[slot]
            .as_mut()
            .is_some_and(|e| e.conn.http.handle_timeout(now));
        if expired {
            self.conns[slot].take()
        } else {
            None
        }
    }
}
