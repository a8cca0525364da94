//! The gthread loop's HTTP/2 connections: which connections become one
//! (ALPN, the preface from a trusted cleartext peer, or its `Upgrade: h2c`
//! request, as core's `negotiate` decides), their readiness, wake-ups from
//! application threads, timers, and handing each new stream to the pool.

use std::sync::Arc;

use mio::{Interest, Token};
use rcorn_core::http::h2::H2Connection;
use rcorn_core::http::negotiate::Sniffed;
use rcorn_core::http::ConnEvent;
use rcorn_core::worker::WorkerEvent;

use super::{Fate, Worker, REJECT_WRITE_WAIT};
use crate::app::App;
use crate::blocking::Deadline;
use crate::conn_table::{refuse_without_preface, ConnEntry};
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
                refuse_without_preface(conn);
                let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
                conn.stream.shutdown_write();
                Some(Fate::Close)
            }
        }
    }

    /// Whether the request just decoded asks for `Upgrade: h2c` and may
    /// have it: it is then kept in `conn.upgrade` while its body is read
    /// ([`Self::read_upgrade_body`]); otherwise it is served as HTTP/1.1.
    pub(super) fn h2c_upgrade(&self, conn: &mut Connection) -> bool {
        let (Some(h2), Some(head)) = (self.cfg.h2.as_ref(), conn.http.request_head()) else {
            return false;
        };
        let socket_peer = conn.via.as_ref().unwrap_or(&conn.peer);
        let trusted = self.cfg.scheme_policy.trusted.trusts(socket_peer.ip());
        let tls = !conn.stream.is_plain();
        conn.upgrade = h2
            .negotiation
            .upgrade(head, tls, self.cfg.uwsgi.is_some(), trusted);
        conn.upgrade.is_some()
    }

    /// Reads the upgrade request's body over HTTP/1.1: the connection
    /// turns to HTTP/2 once the body has ended.
    pub(super) fn read_upgrade_body(&mut self, conn: &mut Connection) -> Fate {
        let Some(upgrade) = conn.upgrade.as_mut() else {
            return Fate::Close;
        };
        loop {
            match conn.http.poll_event() {
                Ok(ConnEvent::Body(bytes)) => upgrade.push_body(bytes),
                Ok(ConnEvent::BodyEnd) => return Fate::Http2,
                Ok(ConnEvent::NeedData) => {
                    // A `100 Continue`, if the client waits for one.
                    conn.http.poll_transmit(&mut conn.out);
                    return Fate::Keep;
                }
                Ok(_) => return Fate::Close,
                Err(e) => {
                    crate::refused::log_refused(&conn.peer, &e);
                    conn.http.poll_transmit(&mut conn.out);
                    let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
                    conn.stream.shutdown_write();
                    return Fate::Close;
                }
            }
        }
    }

    /// Moves a connection from the HTTP/1 table to the HTTP/2 one: after
    /// its preface or ALPN, or with its upgraded request as stream 1.
    pub(super) fn start_h2(&mut self, slot: usize, entry: ConnEntry) {
        let (Some(side), Some(serving)) = (self.h2.as_mut(), self.cfg.h2.as_ref()) else {
            self.close(slot, entry);
            return;
        };
        let mut conn = entry.conn;
        // Anything HTTP/1.1 still had to say (a `100 Continue`) goes first.
        let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
        let _ = self.poll.registry().deregister(conn.stream.as_source());
        self.conns.hand_over(slot);
        let mut first = Vec::new();
        conn.http.take_upgraded_bytes(&mut first);
        let machine = match conn.upgrade.take() {
            Some(upgrade) => upgrade.into_connection(serving.config.clone(), self.now),
            None => H2Connection::new(serving.config.clone(), self.now),
        };
        let Connection {
            stream,
            peer,
            server,
            ..
        } = *conn;
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
