//! The sync/gthread worker loop's connection table: core's [`ConnTable`]
//! (slots, deadlines, retirement, `worker_connections`, batched writes)
//! over this loop's connections. This file only says how a connection
//! shows its timers to the table: they are its `ServerConnection`'s (and,
//! while a cleartext connection is sniffed for the HTTP/2 preface, the
//! preface's deadline), and its unwritten bytes are those in its output
//! buffer.

use rcorn_core::http::error_response;
use rcorn_core::http::negotiate::{PrefaceSniff, Sniffed};
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
        let preface = self
            .conn
            .sniff
            .as_ref()
            .and_then(PrefaceSniff::next_deadline);
        self.conn
            .http
            .next_deadline()
            .into_iter()
            .chain(preface)
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) -> bool {
        if let Some(verdict) = self.conn.sniff.as_mut().and_then(|s| s.timed_out(now)) {
            if verdict == Sniffed::Refuse {
                self.conn.sniff = None;
                refuse_without_preface(&mut self.conn);
                return true;
            }
            // Otherwise HTTP/1.1 reads the bytes already here, at once:
            // the loop serves a connection it is handed back with its
            // sniff still set (`Worker::expire_connections`), since no
            // readiness event will come for bytes already read.
            return true;
        }
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

/// What a refused client sent is read and dropped (a request head's
/// worth) before the close: closing over unread bytes resets the
/// connection, and the reset can destroy the refusal unread.
const REFUSED_READ_LIMIT: usize = 64 * 1024;

/// A trusted peer that was to speak HTTP/2 by prior knowledge and did not
/// (a differing byte, or not the whole preface in time): 400, then the
/// close, whose flush writes it.
pub(crate) fn refuse_without_preface(conn: &mut crate::exchange::Connection) {
    error_response(400, &mut conn.out);
    conn.stream.discard_readable(REFUSED_READ_LIMIT);
}
