//! The gthread loop's HTTP/2 connections: which connections become one
//! (ALPN, or the preface from a trusted cleartext peer, as core's
//! `negotiate` decides), their readiness, wake-ups from application
//! threads, timers, and handing each new stream to the pool.

use std::sync::Arc;

use mio::{Interest, Token};
use rcorn_core::http::h2::H2Connection;
use rcorn_core::http::negotiate::Sniffed;
use rcorn_core::worker::WorkerEvent;

use super::{Fate, Worker, REJECT_WRITE_WAIT};
use crate::app::App;
use crate::blocking::Deadline;
use crate::conn_table::ConnEntry;
use crate::exchange::Connection;
use crate::h2::{H2Table, LoopWake};
use crate::stream::Stream;

/// Tokens of HTTP/2 connections start here (HTTP/1 ones below).
pub(super) const FIRST_H2: usize = 1 << 30;

/// The loop's HTTP/2 side.
pub(super) struct H2Side {
    pub table: H2Table,
    pub wake: Arc<LoopWake>,
    woken: Vec<(usize, bool)>,
    new: Vec<crate::h2::NewStream>,
    /// GOAWAY was sent to every connection (the worker drains).
    shut_down: bool,
}

impl H2Side {
    pub fn new(wake: Arc<LoopWake>) -> Self {
        H2Side {
            table: H2Table::default(),
            wake,
            woken: Vec::new(),
            new: Vec::new(),
            shut_down: false,
        }
    }
}

impl<A: App> Worker<'_, A> {
    /// Whether the connection's first bytes (or its TLS handshake) chose
    /// HTTP/2: `Some(Fate::Http2)`; `Some(Fate::Keep)` while the preface
    /// may still be coming; `None` to go on as HTTP/1.
    pub(super) fn negotiate(&mut self, conn: &mut Connection) -> Option<Fate> {
        let h2 = self.cfg.h2.as_ref()?;
        if let Stream::Tls(tls) = &conn.stream {
            let alpn = tls.alpn_protocol();
            return (h2.negotiation.after_alpn(alpn)
                == rcorn_core::http::negotiate::Protocol::Http2)
                .then_some(Fate::Http2);
        }
        let sniff = conn.sniff.as_mut()?;
        match sniff.feed(conn.http.buffered(), self.now) {
            Sniffed::NeedMore => Some(Fate::Keep),
            Sniffed::Http2 => Some(Fate::Http2),
            Sniffed::Http1 => {
                conn.sniff = None;
                None
            }
            Sniffed::Refuse => {
                conn.sniff = None;
                // A trusted peer that should speak HTTP/2 and did not.
                conn.out.extend_from_slice(
                    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                );
                // A request head's worth of what the client sent is read
                // and dropped first: closing over unread bytes resets the
                // connection, and the reset can destroy the 400 unread.
                conn.stream.discard_readable(64 * 1024);
                let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
                conn.stream.shutdown_write();
                Some(Fate::Close)
            }
        }
    }

    /// Moves a connection from the HTTP/1 table to the HTTP/2 one.
    pub(super) fn start_h2(&mut self, slot: usize, entry: ConnEntry) {
        let (Some(side), Some(serving)) = (self.h2.as_mut(), self.cfg.h2.as_ref()) else {
            self.close(slot, entry);
            return;
        };
        let mut conn = entry.conn;
        let _ = self.poll.registry().deregister(conn.stream.as_source());
        self.conns.hand_over(slot);
        let mut first = Vec::new();
        conn.http.take_upgraded_bytes(&mut first);
        let Connection {
            stream,
            peer,
            server,
            ..
        } = *conn;
        let machine = H2Connection::new(serving.config.clone(), self.now);
        let h2_slot = side
            .table
            .open(machine, stream, &first, &side.wake, peer, server);
        let registered = side.table.get(h2_slot).map(|shared| {
            shared.register(
                self.poll.registry(),
                Token(FIRST_H2 + h2_slot),
                Interest::READABLE | Interest::WRITABLE,
            )
        });
        if !matches!(registered, Some(Ok(()))) {
            self.close_h2(h2_slot);
            return;
        }
        self.h2_ready(h2_slot);
    }

    /// The socket of `slot` is ready, or a thread or a timer needs the
    /// loop: pump it and hand its new streams to the pool.
    pub(super) fn h2_ready(&mut self, slot: usize) {
        let Some(side) = self.h2.as_mut() else {
            return;
        };
        let pumped = side.table.pump(slot, self.now, &mut side.new);
        let new = std::mem::take(&mut side.new);
        for stream in new {
            self.h2_submit(stream);
        }
        if pumped == crate::h2::Pumped::Closed {
            self.close_h2(slot);
        }
    }

    fn h2_submit(&mut self, stream: crate::h2::NewStream) {
        let mut job = stream.into_job();
        let peer = job.shared.peer.ip();
        match self.cfg.scheme_policy.scheme(peer, &job.head) {
            Ok(scheme) => job.scheme = scheme,
            Err(e) => {
                crate::debug!("Invalid HTTP/2 request: {e}");
                job.refuse(400);
                return;
            }
        }
        let refused = match &self.pool {
            Some(pool) => pool.submit_stream(job).err(),
            None => Some(job),
        };
        if let Some(job) = refused {
            // The pool only refuses once the worker is exiting.
            job.refuse(503);
        }
    }

    fn close_h2(&mut self, slot: usize) {
        let Some(shared) = self.h2.as_mut().and_then(|s| s.table.remove(slot)) else {
            return;
        };
        shared.close(self.poll.registry());
        self.lifecycle_event(WorkerEvent::ConnectionClosed);
    }

    /// Wake-ups from application threads: a finished stream counts as a
    /// request served.
    pub(super) fn h2_woken(&mut self) {
        let Some(side) = self.h2.as_mut() else {
            return;
        };
        let mut woken = std::mem::take(&mut side.woken);
        side.wake.collect(&mut woken);
        // One pump per connection however many of its streams woke it:
        // its output of all of them leaves in one write.
        woken.sort_unstable_by_key(|&(slot, _)| slot);
        let mut last = None;
        for &(slot, finished) in &woken {
            if finished {
                self.lifecycle_event(WorkerEvent::RequestFinished);
            }
            if last != Some(slot) {
                last = Some(slot);
                self.h2_ready(slot);
            }
        }
        woken.clear();
        if let Some(side) = self.h2.as_mut() {
            side.woken = woken;
        }
    }

    pub(super) fn h2_next_deadline(&self) -> Option<rcorn_core::time::Instant> {
        self.h2.as_ref()?.table.next_deadline()
    }

    /// Runs the machines whose deadlines have passed.
    pub(super) fn h2_expire(&mut self) {
        let Some(side) = self.h2.as_ref() else {
            return;
        };
        let mut due = Vec::new();
        side.table.due(self.now, &mut due);
        for slot in due {
            self.h2_ready(slot);
        }
    }

    /// The worker drains: every connection says GOAWAY and closes once its
    /// streams are served.
    pub(super) fn h2_shut_down(&mut self) {
        let Some(side) = self.h2.as_mut().filter(|s| !s.shut_down) else {
            return;
        };
        side.shut_down = true;
        side.table.shut_down_all();
        let slots: Vec<usize> = side.table.slots().collect();
        for slot in slots {
            self.h2_ready(slot);
        }
    }
}
