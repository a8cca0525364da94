//! The sync/gthread worker loop's connection table: core's [`ConnTable`]
//! (slots, deadlines, retirement, `worker_connections`, batched writes)
//! over this loop's connections. This file only says how a connection
//! shows its timers to the table: they are its `ServerConnection`'s, and
//! its unwritten bytes are those in its output buffer.

use rcorn_core::time::Instant;
use rcorn_core::worker::TableConn;

use crate::exchange::Connection;

pub(crate) type ConnTable = rcorn_core::worker::ConnTable<ConnEntry>;

pub(crate) struct ConnEntry {
    /// Boxed: it moves to an application thread and back in one pointer.
    pub(crate) conn: Box<Connection>,
}

impl TableConn for ConnEntry {
    fn next_deadline(&self) -> Option<Instant> {
        self.conn.http.next_deadline()
    }

    fn handle_timeout(&mut self, now: Instant) -> bool {
        self.conn.http.handle_timeout(now)
    }

    fn await_peer(&mut self, now: Instant) {
        self.conn.http.await_peer(now);
    }

    fn retire(&mut self, now: Instant) {
        self.conn.http.retire(now);
    }

    fn has_unwritten(&self) -> bool {
        !self.conn.out.is_empty()
    }
}
