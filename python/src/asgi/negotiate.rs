//! Whether a new connection of the asgi worker speaks HTTP/1.1 or HTTP/2.
//! Core's `Negotiation` decides (the same rules for every worker); this
//! file only feeds it what it needs: what TLS negotiated by ALPN, or, on a
//! cleartext connection from a trusted peer, the first bytes (the preface
//! sniff, its deadline in the driver's timer). Until it has decided, the
//! connection is `Idle` with `deciding` set and costs no task. A request
//! that asks for `Upgrade: h2c` and may have it (core's `Negotiation`
//! again) is `Idle` with `upgrade` set while its body is read over
//! HTTP/1.1; then the connection is HTTP/2 with it as stream 1.

use std::io::{self, Read};

use pyo3::prelude::*;
use rcorn_core::http::h2::frame::PREFACE;
use rcorn_core::http::negotiate::{PrefaceSniff, Protocol, Sniffed, Start};
use rcorn_core::http::{error_response, ConnEvent};
use rcorn_core::time::Instant;
use rcorn_io::exchange::Connection;
use rcorn_io::stream::Stream;

use super::conn::{AsgiConn, Stage};
use super::driver::AsgiDriver;

/// What a connection waits for before its protocol is known.
pub enum Deciding {
    /// TLS: the client's ALPN choice, once the handshake is done.
    Alpn,
    /// Cleartext: the first bytes (kept, for whichever protocol reads them).
    Sniff(PrefaceSniff, Vec<u8>),
}

impl AsgiDriver {
    /// What connection `conn` must wait for, if anything, before it is
    /// known to speak HTTP/1.1.
    pub(super) fn deciding_for(&self, conn: &Connection) -> Option<Deciding> {
        if !self.negotiation.offers_h2() {
            return None;
        }
        if !conn.stream.is_plain() {
            return Some(Deciding::Alpn);
        }
        let trusted = self.cfg.scheme_policy.trusted.trusts(conn.peer.ip());
        match self
            .negotiation
            .start(false, self.cfg.uwsgi.is_some(), trusted)
        {
            Start::Sniff => Some(Deciding::Sniff(self.negotiation.sniff(), Vec::new())),
            Start::Http1 => None,
        }
    }

    /// Reads connection `id` until its protocol is known: `Some` when it is
    /// HTTP/1.1 (or answered 400 and closing), `None` while it waits, or
    /// once it became HTTP/2.
    pub(super) fn decide_protocol(&mut self, py: Python<'_>, id: usize) -> Option<()> {
        let now = self.now;
        let c = self.conns.get_mut(&id)?;
        match c.deciding.take()? {
            Deciding::Alpn => {
                if !matches!(c.read_available(), Ok(true)) {
                    // Gone or broken mid-handshake: HTTP/1 closes it.
                    return Some(());
                }
                let Stream::Tls(tls) = &c.conn.stream else {
                    return Some(());
                };
                if tls.handshaking() {
                    c.deciding = Some(Deciding::Alpn);
                    c.conn.http.await_peer(now);
                    return None;
                }
                if self.negotiation.after_alpn(tls.alpn_protocol()) == Protocol::Http1 {
                    return Some(());
                }
                let mut early = Vec::new();
                c.conn.http.take_upgraded_bytes(&mut early);
                self.h2_start(py, id, self.h2_config.clone(), &early);
                None
            }
            Deciding::Sniff(mut sniff, mut bytes) => {
                let eof = read_preface(c, &mut bytes);
                match sniff.feed(&bytes, now) {
                    Sniffed::NeedMore if !eof => {
                        c.deciding = Some(Deciding::Sniff(sniff, bytes));
                        c.conn.http.await_peer(now);
                        None
                    }
                    Sniffed::Http2 => {
                        self.h2_start(py, id, self.h2_config.clone(), &bytes);
                        None
                    }
                    verdict => {
                        settle_as_http1(c, verdict, &bytes, eof);
                        Some(())
                    }
                }
            }
        }
    }

    /// The upgrade request's body has ended: connection `id` speaks HTTP/2
    /// from here, its `101` first and the request as stream 1.
    pub(super) fn h2_upgrade(&mut self, py: Python<'_>, id: usize) {
        let now = self.now;
        let config = self.h2_config.clone();
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(upgrade) = c.upgrade.take() else {
            return;
        };
        let mut early = Vec::new();
        c.conn.http.take_upgraded_bytes(&mut early);
        let machine = upgrade.into_connection(config, now);
        self.h2_start_with(py, id, machine, &early);
    }

    /// The preface's deadline, for the connections still sniffing.
    pub(super) fn sniff_deadline(c: &AsgiConn) -> Option<Instant> {
        match &c.deciding {
            Some(Deciding::Sniff(sniff, _)) => sniff.next_deadline(),
            _ => None,
        }
    }

    /// Connections whose preface did not come whole in time: HTTP/1.1 (or
    /// 400, where only prior knowledge is enabled).
    pub(super) fn sniff_timers(&mut self, py: Python<'_>) {
        let now = self.now;
        let mut late = Vec::new();
        for (id, c) in &mut self.conns {
            let Some(Deciding::Sniff(sniff, bytes)) = &mut c.deciding else {
                continue;
            };
            if let Some(verdict) = sniff.timed_out(now) {
                let bytes = std::mem::take(bytes);
                c.deciding = None;
                settle_as_http1(c, verdict, &bytes, false);
                late.push(*id);
            }
        }
        for id in late {
            self.advance(py, id);
        }
    }
}

/// Reads at most the rest of a preface into `bytes`; true at the client's
/// EOF (or a failed read).
fn read_preface(c: &mut AsgiConn, bytes: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; PREFACE.len()];
    while bytes.len() < PREFACE.len() {
        match c.conn.stream.read(&mut buf[..PREFACE.len() - bytes.len()]) {
            Ok(0) => return true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
    false
}

/// What a refused client's request may still have in the socket that is
/// read and dropped before the close (a request head's worth).
const REFUSED_READ_LIMIT: usize = 64 * 1024;

/// Not HTTP/2: the sniffed bytes are HTTP/1's, or the client is refused.
fn settle_as_http1(c: &mut AsgiConn, verdict: Sniffed, bytes: &[u8], eof: bool) {
    if verdict == Sniffed::Refuse {
        error_response(400, &mut c.conn.out);
        c.conn.stream.discard_readable(REFUSED_READ_LIMIT);
        c.stage = Stage::Closing;
        return;
    }
    c.conn.http.feed(bytes);
    if eof {
        c.conn.http.feed_eof();
    }
    c.owe_read = !eof;
}

/// Where the body of an upgrade request is.
pub enum UpgradeBody {
    /// Read to its end: switch to HTTP/2.
    Ended,
    NeedData,
    /// Malformed (its error response is in `out`), or the client left.
    Failed,
}

/// Reads what is buffered of the upgrade request's body into its upgrade.
pub fn read_upgrade_body(c: &mut AsgiConn) -> UpgradeBody {
    let Some(upgrade) = c.upgrade.as_mut() else {
        return UpgradeBody::Failed;
    };
    loop {
        match c.conn.http.poll_event() {
            Ok(ConnEvent::Body(bytes)) => upgrade.push_body(bytes),
            Ok(ConnEvent::BodyEnd) => return UpgradeBody::Ended,
            Ok(ConnEvent::NeedData) => {
                // A `100 Continue`, if the client waits for one.
                c.conn.http.poll_transmit(&mut c.conn.out);
                return UpgradeBody::NeedData;
            }
            Ok(_) => return UpgradeBody::Failed,
            Err(e) => {
                rcorn_io::refused::log_refused(&c.conn.peer, &e);
                c.conn.http.poll_transmit(&mut c.conn.out);
                return UpgradeBody::Failed;
            }
        }
    }
}
