//! One connection served from its first byte to its close by a task of its
//! own that may block: a green thread (the gevent worker's greenlet per
//! connection), whose every wait goes through [`blocking::wait`] and so,
//! with a [`Waiter`](blocking::Waiter) installed, to its scheduler.
//!
//! The HTTP/1 rules are core's `ServerConnection`'s and a request is served
//! through the same [`Exchange`] as in the sync worker; this module only
//! reads heads, waits for them within the connection's deadlines, and asks
//! its [`TaskHost`] (the worker the task belongs to) what the worker-wide
//! rules say: keep-alive, draining, the access log, the application.
//!
//! Rules:
//! - The [`Exchange`] and the [`DateCache`] it borrows live on the heap: a
//!   green thread's stack may be moved aside while another runs, and the
//!   application's request objects reach the exchange by pointer.
//! - A connection waiting for its next request waits with
//!   [`Interest::NextRequest`]: a worker that starts to drain may end that
//!   wait early; the connection is then read once and given at most its
//!   idle timeout (`ServerConnection::retire`), as the sync worker does.
//! - The host is borrowed only between waits, never across one.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rcorn_core::http::{ConnEvent, DateCache};
use rcorn_core::time::Instant;

use crate::app::App;
use crate::blocking::{self, Deadline, Interest};
use crate::exchange::{Connection, ExchangeContext, ExchangeSummary};
use crate::stream::PeerAddr;
use crate::worker_config::WorkerConfig;
use crate::Exchange;

/// The longest an error response may wait to be written.
const REJECT_WRITE_WAIT: Duration = Duration::from_millis(100);

/// What a connection's task asks of the worker it belongs to. Every call
/// is short and never waits.
pub trait TaskHost {
    type App: App;

    /// The monotonic clock now (a host may beat its heartbeat with it).
    fn now(&self) -> Instant;
    /// The worker-wide rule for the response about to start: may it
    /// invite another request on its connection?
    fn may_keep_alive(&self) -> bool;
    /// Set once the worker drains: a response not yet begun says
    /// `Connection: close`, and idle connections are retired.
    fn draining(&self) -> &AtomicBool;
    /// An application to serve one request with, given back after it.
    fn checkout_app(&self) -> Box<Self::App>;
    fn checkin_app(&self, app: Box<Self::App>);
    /// A request was answered: log it and count it.
    fn request_finished(&self, conn: &Connection, summary: &ExchangeSummary);
}

/// Serves `conn` until it closes (the client leaves, an error, a timeout,
/// or a response without keep-alive).
pub fn serve_connection<H: TaskHost>(host: &H, cfg: &WorkerConfig, conn: &mut Connection) {
    let mut dates = Box::new(DateCache::new());
    // Freshly accepted: its request is often there already.
    let mut reading = Reading {
        progressed: true,
        ready: true,
    };
    loop {
        match conn.http.poll_event() {
            Ok(ConnEvent::Request(_)) => {
                adopt_proxied_client(conn);
                let head = conn.http.request_head();
                let socket_peer = conn.via.as_ref().unwrap_or(&conn.peer);
                let scheme = match head.map(|h| cfg.scheme_policy.scheme(socket_peer.ip(), h)) {
                    Some(Ok(scheme)) => scheme,
                    Some(Err(e)) => {
                        crate::debug!("Invalid request from {}: {e}", peer_text(&conn.peer));
                        conn.http.reject_request(e);
                        return reject(conn);
                    }
                    None => return,
                };
                if !serve_request(host, cfg, conn, &mut dates, scheme) {
                    return;
                }
                reading.progressed = true;
                // The application's reads may have left bytes behind.
                reading.ready = !conn.socket_drained;
            }
            Ok(ConnEvent::NeedData) => {
                if !read_or_wait(host, conn, &mut reading) {
                    return;
                }
            }
            // Between exchanges only `Closed` may come of the others.
            Ok(_) => return,
            Err(e) => {
                crate::debug!("Invalid request from {}: {e}", peer_text(&conn.peer));
                return reject(conn);
            }
        }
    }
}

/// Where reading a connection stands between two turns of its task.
struct Reading {
    /// Bytes came since the connection last set its deadline: it waits
    /// afresh (head or idle timeout from now).
    progressed: bool,
    /// The socket may have bytes: read before waiting. A read that stopped
    /// short emptied it ([`Connection::socket_drained`]), so the task waits
    /// first rather than be told `EAGAIN`.
    ready: bool,
}

/// One step towards more of a request: a read if the socket may have
/// bytes, else a wait on the task's scheduler. `false`: the connection is
/// over (timed out or failed); a closed one shows in its next event.
fn read_or_wait<H: TaskHost>(host: &H, conn: &mut Connection, st: &mut Reading) -> bool {
    let now = host.now();
    if std::mem::take(&mut st.progressed) {
        conn.http.await_peer(now);
    }
    if host.draining().load(Ordering::Relaxed) {
        conn.http.retire(now);
    }
    if conn.http.handle_timeout(now) {
        return false;
    }
    if st.ready {
        return match conn.fill() {
            Ok(_) => {
                st.progressed = true;
                st.ready = !conn.socket_drained;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                st.ready = false;
                true
            }
            Err(e) => e.kind() == io::ErrorKind::Interrupted,
        };
    }
    let interest = if conn.http.is_idle() {
        Interest::NextRequest
    } else {
        Interest::Read
    };
    // Not yet passed (just checked), so never zero, which would mean no
    // limit; every wait here has a deadline since `await_peer`.
    let left = conn
        .http
        .next_deadline()
        .map_or(Duration::ZERO, |d| d.saturating_since(now));
    let mut deadline = Deadline::after(left);
    match blocking::wait(conn.stream.as_raw_fd(), interest, &mut deadline) {
        // Ready, or woken early because the worker drains.
        Ok(()) => st.ready = true,
        // The connection's own deadline, acted on in the next step.
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
        Err(_) => return false,
    }
    true
}

/// One exchange; whether the connection may carry another request.
fn serve_request<H: TaskHost>(
    host: &H,
    cfg: &WorkerConfig,
    conn: &mut Connection,
    dates: &mut DateCache,
    forwarded_scheme: Option<&'static str>,
) -> bool {
    let ctx = ExchangeContext {
        dates,
        io_timeout: cfg.io_timeout,
        forwarded_scheme,
        keep_alive: host.may_keep_alive(),
        // A request served while the worker starts to drain is its last.
        draining: Some(host.draining()),
        keep_response_headers: cfg
            .access_log
            .as_ref()
            .is_some_and(crate::access::AccessLogger::wants_response_headers),
        defer_last_write: false,
    };
    let Some(exchange) = Exchange::new(conn, ctx) else {
        return false;
    };
    // On the heap: the application's objects point at it (see the rules).
    let mut exchange = Box::new(exchange);
    let mut app = host.checkout_app();
    app.call(&mut exchange);
    host.checkin_app(app);
    let (keep_alive, summary) = exchange.finish();
    host.request_finished(conn, &summary);
    keep_alive
}

/// An invalid request: its error response, briefly, then close.
fn reject(conn: &mut Connection) {
    conn.http.poll_transmit(&mut conn.out);
    let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
    conn.stream.shutdown_write();
}

/// Once the PROXY preamble is read, the client it names is the one WSGI
/// and the access log report; the socket's peer is kept as `via`.
fn adopt_proxied_client(conn: &mut Connection) {
    if conn.via.is_none() {
        if let Some(source) = conn.http.proxy_info().and_then(|info| info.source) {
            conn.via = Some(std::mem::replace(&mut conn.peer, PeerAddr::Ip(source)));
        }
    }
}

fn peer_text(peer: &PeerAddr) -> String {
    peer.ip()
        .map_or_else(|| "unix".to_owned(), |ip| ip.to_string())
}
