//! The ASGI `websocket` scope on the driver's side: a handshake the
//! application accepts (or denies through the HTTP/1 response it would
//! send for any request), then core's [`WsConnection`] between the socket
//! and the task's `receive`/`send`. Every WebSocket rule is core's; this
//! file moves bytes and says when a task waits.
//!
//! Back-pressure both ways: the socket is read only while the messages the
//! task has not taken stay under core's `BACKLOG_LIMIT`, and `send` waits
//! while more than [`HIGH_WATER`] bytes are unwritten.
//!
//! A sent message is not written at once: its frame waits in the
//! connection's output, and every socket with frames waiting is written
//! once the tasks that ran in this pass of the event loop yield
//! (`flush_queued`, called by Python soon after and at the start of
//! `poll`). Several messages to one socket then cost one write, and a
//! broadcast writes its sockets back to back, not between Python calls.

use std::io::{self, Read};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use rcorn_core::http::h1::ServerConnection;
use rcorn_core::worker::{DrainReason, WorkerEvent, WorkerState};
use rcorn_core::ws::{
    close_code_is_valid, write_accept, CloseCode, DeflateParams, Handshake, Message, WsConfig,
    WsConnection, WsState,
};
use rcorn_io::exchange::ExchangeSummary;

use super::conn::{AsgiConn, Stage, HIGH_WATER};
use super::driver::{AsgiDriver, EV_WAKE};

/// What `ws_receive` answers.
pub const WS_TEXT: u8 = 0;
pub const WS_BYTES: u8 = 1;
pub const WS_WAIT: u8 = 2;
pub const WS_DISCONNECT: u8 = 3;

/// What `ws_send` answers.
pub const SENT: u8 = 0;
pub const SENT_WAIT: u8 = 1;
pub const GONE: u8 = 2;
/// Sent, the first frame queued since the last flush: Python arranges a
/// call to `ws_flush` before the loop waits again.
pub const SENT_FLUSH: u8 = 3;

/// The worker's WebSocket settings.
#[derive(Clone, Copy, Debug)]
pub struct WsOptions {
    pub cfg: WsConfig,
    /// `ws_per_message_deflate`.
    pub deflate: bool,
}

/// A connection whose request is a WebSocket handshake.
pub struct WsSession {
    pub shake: Handshake,
    pub deflate: Option<DeflateParams>,
    /// Once accepted.
    pub machine: Option<WsConnection>,
    /// The task returned; the close handshake may still be under way.
    pub task_done: bool,
    /// Frames of sent messages wait in the output, the connection listed
    /// in the driver's `ws_queued`.
    pub queued: bool,
}

impl WsSession {
    pub fn new(shake: Handshake, opts: &WsOptions) -> Box<WsSession> {
        let deflate = if opts.deflate {
            rcorn_core::ws::negotiate(&shake.extensions)
        } else {
            None
        };
        Box::new(WsSession {
            shake,
            deflate,
            machine: None,
            task_done: false,
            queued: false,
        })
    }
}

impl AsgiDriver {
    pub(super) fn ws_accept_handshake(
        &mut self,
        id: usize,
        subprotocol: Option<&str>,
        headers: &[(Vec<u8>, Vec<u8>)],
    ) -> PyResult<()> {
        let going_away = self.going_away_code();
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        let conn = &mut *c.conn;
        let Some(ws) = c.ws.as_mut().filter(|ws| ws.machine.is_none()) else {
            return Err(PyRuntimeError::new_err("the websocket is already accepted"));
        };
        if c.stage != Stage::InRequest || conn.http.response_started() {
            return Err(PyRuntimeError::new_err("the handshake is already answered"));
        }
        let extension = ws.deflate.map(|p| p.response());
        let extra = headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice()));
        let server = self.cfg.server_header.as_slice();
        write_accept(
            &mut conn.out,
            &ws.shake,
            subprotocol,
            extension.as_deref(),
            server,
            extra,
        )
        .map_err(PyRuntimeError::new_err)?;
        let mut early = Vec::new();
        conn.http.take_upgraded_bytes(&mut early);
        // The HTTP/1 read buffer (16 KiB) is not needed past the upgrade:
        // an idle websocket should cost little.
        let timeouts = conn.http.timeouts();
        conn.http = ServerConnection::new(self.cfg.decoder.clone(), server, timeouts);
        let mut machine = WsConnection::new(self.ws.cfg, ws.deflate, self.now);
        machine.feed(&early, self.now, &mut conn.out);
        if let Some(code) = going_away {
            machine.go_away(code, self.now, &mut conn.out);
        }
        ws.machine = Some(machine);
        c.stage = Stage::WebSocket;
        c.owe_read = true;
        let summary = ExchangeSummary {
            status: 101,
            body_bytes: 0,
            duration: c.started.elapsed(),
        };
        if let Some(logger) = self.cfg.access_log.as_mut() {
            logger.log(&c.conn, &summary);
        }
        flush(c);
        Ok(())
    }

    pub(super) fn ws_next<'py>(&mut self, py: Python<'py>, id: usize) -> (u8, Bound<'py, PyAny>) {
        let now = self.now;
        let none = py.None().into_bound(py);
        let Some(c) = self.conns.get_mut(&id) else {
            return (
                WS_DISCONNECT,
                (CloseCode::ABNORMAL, "")
                    .into_pyobject(py)
                    .map_or(none, |t| t.into_any()),
            );
        };
        c.receiving = false;
        loop {
            let Some(machine) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) else {
                // Not accepted: only a client leaving is news.
                if c.disconnected {
                    return disconnect(py, CloseCode::ABNORMAL, "");
                }
                c.receiving = true;
                return (WS_WAIT, none);
            };
            match machine.poll_message() {
                Some(Message::Text(t)) => return (WS_TEXT, PyString::new(py, &t).into_any()),
                Some(Message::Binary(b)) => return (WS_BYTES, PyBytes::new(py, &b).into_any()),
                None => {}
            }
            // A failure's close held for the messages goes out now.
            if let Some((code, reason)) = machine.disconnect(&mut c.conn.out) {
                let answer = disconnect(py, code, reason);
                flush(c);
                return answer;
            }
            if c.owe_read && machine.wants_input() {
                read_ws(c, now);
                flush(c);
                continue;
            }
            c.receiving = true;
            return (WS_WAIT, none);
        }
    }

    pub(super) fn ws_send_message(&mut self, id: usize, data: &Bound<'_, PyAny>) -> PyResult<u8> {
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(GONE);
        };
        let Some(machine) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) else {
            return Err(PyRuntimeError::new_err(
                "websocket.send before websocket.accept",
            ));
        };
        let sent = if let Ok(text) = data.cast::<PyString>() {
            machine.send(true, text.to_str()?.as_bytes(), &mut c.conn.out)
        } else if let Ok(bytes) = data.cast::<PyBytes>() {
            machine.send(false, bytes.as_bytes(), &mut c.conn.out)
        } else {
            return Err(PyRuntimeError::new_err(
                "websocket.send needs 'bytes' or 'text'",
            ));
        };
        if !sent || c.write_failed {
            return Ok(GONE);
        }
        if c.conn.out.len() >= HIGH_WATER {
            flush(c);
            let wait = c.conn.out.len() >= HIGH_WATER && !c.write_failed;
            c.sending = wait;
            return Ok(if wait { SENT_WAIT } else { SENT });
        }
        if let Some(ws) = c.ws.as_mut().filter(|ws| !ws.queued) {
            ws.queued = true;
            self.ws_queued.push(id);
            if self.ws_queued.len() == 1 {
                return Ok(SENT_FLUSH);
            }
        }
        Ok(SENT)
    }

    /// Writes every socket whose sent frames wait (one write each for all
    /// its frames); a task waiting in `receive` on a socket whose write
    /// failed is woken (`pending`).
    pub(super) fn flush_queued(&mut self) {
        for id in std::mem::take(&mut self.ws_queued) {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if let Some(ws) = c.ws.as_mut() {
                ws.queued = false;
            }
            flush(c);
            self.ws_settle(id);
        }
    }

    pub(super) fn ws_close_message(&mut self, id: usize, code: u16, reason: &str) -> PyResult<()> {
        if !close_code_is_valid(code) {
            return Err(PyRuntimeError::new_err(format!(
                "invalid websocket close code {code}"
            )));
        }
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        if let Some(machine) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) {
            machine.close(code, reason, now, &mut c.conn.out);
            flush(c);
        }
        Ok(())
    }

    /// The task of an accepted websocket returned (`failed`: it raised).
    pub(super) fn ws_end(&mut self, id: usize, failed: bool) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(ws) = c.ws.as_mut() else {
            return;
        };
        ws.task_done = true;
        if let Some(machine) = ws.machine.as_mut() {
            let code = if failed {
                CloseCode::INTERNAL_ERROR
            } else {
                CloseCode::NORMAL
            };
            machine.close(code, "", now, &mut c.conn.out);
        }
        c.receiving = false;
        c.sending = false;
        flush(c);
        self.lifecycle_event(WorkerEvent::RequestFinished);
        self.ws_settle(id);
    }

    /// A readiness event on an accepted websocket.
    pub(super) fn ws_on_readable(&mut self, id: usize) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let wants =
            c.ws.as_ref()
                .and_then(|ws| ws.machine.as_ref())
                .is_some_and(WsConnection::wants_input);
        if wants {
            read_ws(c, now);
            flush(c);
        } else {
            c.owe_read = true;
        }
        self.ws_settle(id);
    }

    /// Timers of the accepted websockets: pings, pong and close deadlines.
    pub(super) fn ws_timers(&mut self) {
        let now = self.now;
        let due: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                machine(c)
                    .and_then(WsConnection::next_deadline)
                    .is_some_and(|d| d <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(c) = self.conns.get_mut(&id) {
                if let Some(m) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) {
                    m.handle_timeout(now, &mut c.conn.out);
                }
                flush(c);
            }
            self.ws_settle(id);
        }
    }

    /// The worker drains: every open websocket is closed with 1001 (1012
    /// when the worker is replaced while the service goes on: recycled by
    /// `max_requests` or `--reload`, or stopped by a master that replaces
    /// it), and its task told so at once.
    pub(super) fn ws_go_away(&mut self) {
        let Some(code) = self.going_away_code() else {
            return;
        };
        let now = self.now;
        let ids: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| machine(c).is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(c) = self.conns.get_mut(&id) {
                if let Some(m) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) {
                    m.go_away(code, now, &mut c.conn.out);
                }
                flush(c);
            }
            self.ws_settle(id);
        }
    }

    fn going_away_code(&self) -> Option<u16> {
        match self.lifecycle.state() {
            WorkerState::Draining {
                reason: DrainReason::MaxRequests | DrainReason::Replaced,
                ..
            } => Some(CloseCode::SERVICE_RESTART),
            WorkerState::Draining { .. } | WorkerState::Exited => Some(CloseCode::GOING_AWAY),
            _ => None,
        }
    }

    /// After anything happened to an accepted websocket: wakes its task if
    /// it waits for what is now there, closes the socket once all is done.
    pub(super) fn ws_settle(&mut self, id: usize) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(ws) = c.ws.as_mut() else {
            return;
        };
        let Some(machine) = ws.machine.as_mut() else {
            return;
        };
        if c.write_failed {
            machine.feed_eof();
        }
        if ws.task_done {
            // Nobody takes messages now: read on (dropping them) to the
            // peer's close.
            while machine.poll_message().is_some() {}
            if c.owe_read {
                read_ws(c, now);
                flush(c);
                if let Some(m) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) {
                    while m.poll_message().is_some() {}
                }
            }
            let Some(machine) = c.ws.as_ref().and_then(|ws| ws.machine.as_ref()) else {
                return;
            };
            let done = machine.state() == WsState::Closed || c.write_failed;
            if done && (c.conn.out.is_empty() || c.write_failed) {
                self.close(id);
            }
            return;
        }
        let news = machine.has_message() || machine.is_over();
        let gone = c.write_failed || machine.state() != WsState::Open;
        if (c.receiving && news) || (c.sending && gone) {
            c.receiving = false;
            c.sending = false;
            self.pending.push((EV_WAKE, id, None));
        }
    }
}

fn machine(c: &AsgiConn) -> Option<&WsConnection> {
    c.ws.as_ref().and_then(|ws| ws.machine.as_ref())
}

fn disconnect<'py>(py: Python<'py>, code: u16, reason: &str) -> (u8, Bound<'py, PyAny>) {
    match (code, reason).into_pyobject(py) {
        Ok(t) => (WS_DISCONNECT, t.into_any()),
        Err(_) => (WS_DISCONNECT, py.None().into_bound(py)),
    }
}

/// Reads what the socket has into the machine, while it wants input.
fn read_ws(c: &mut AsgiConn, now: rcorn_core::time::Instant) {
    c.owe_read = false;
    let mut buf = [0u8; 32 * 1024];
    let Some(machine) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) else {
        return;
    };
    loop {
        if !machine.wants_input() {
            // The task is behind: read again once it has taken messages.
            c.owe_read = machine.state() != WsState::Closed;
            return;
        }
        match c.conn.stream.read(&mut buf) {
            Ok(0) => {
                machine.feed_eof();
                c.disconnected = true;
                return;
            }
            Ok(n) => {
                machine.feed(&buf[..n], now, &mut c.conn.out);
                // A short read shows a TCP or Unix socket empty (not a TLS
                // one), unless the peer's FIN came with the bytes.
                if n < buf.len() && c.conn.stream.short_read_means_empty() && !c.fin_seen {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                machine.feed_eof();
                c.disconnected = true;
                return;
            }
        }
    }
}

/// Writes what the socket takes; a failed write ends the connection.
fn flush(c: &mut AsgiConn) {
    if c.conn.out.is_empty() || c.write_failed {
        return;
    }
    if c.write_out().is_err() {
        c.conn.out.clear();
        c.write_failed = true;
        c.disconnected = true;
        if let Some(m) = c.ws.as_mut().and_then(|ws| ws.machine.as_mut()) {
            m.feed_eof();
        }
    }
}
