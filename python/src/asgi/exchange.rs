//! One request's exchange in the ASGI worker: from the head (a scope for a
//! new task) through `receive` and `send` to `finish`, and what the
//! connection does between requests. The HTTP rules (framing, `100
//! Continue`, keep-alive, draining, error responses) are core's
//! `ServerConnection`'s; this file only moves bytes and says when a task
//! must wait.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rcorn_core::http::{reason_phrase, BodyKind, ConnError, ConnEvent, Next};
use rcorn_core::worker::WorkerEvent;
use rcorn_core::ws;
use rcorn_io::clock;
use rcorn_io::exchange::ExchangeSummary;
use rcorn_io::stream::PeerAddr;

use super::conn::{AsgiConn, Stage, HIGH_WATER};
use super::driver::{AsgiDriver, EV_REQUEST, EV_WAKE, EV_WEBSOCKET};
use super::negotiate::{read_upgrade_body, UpgradeBody};
use super::scope;
use super::websocket::WsSession;

pub const DATA: u8 = 0;
pub const WAIT: u8 = 1;
pub const DISCONNECT: u8 = 2;

/// Between requests: what the buffered bytes amount to.
enum Step {
    Request,
    NeedData,
    Close,
}

impl AsgiDriver {
    /// Moves a connection that no task holds as far as its bytes allow:
    /// hands out the next request, drains, reads when a read is owed,
    /// writes, closes.
    pub(super) fn advance(&mut self, py: Python<'_>, id: usize) {
        loop {
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let step = match c.stage {
                Stage::InRequest | Stage::WebSocket | Stage::Http2 => return,
                Stage::Closing => {
                    match c.write_out() {
                        Ok(false) if !c.write_failed => c.conn.http.await_peer(self.now),
                        _ => self.close(id),
                    }
                    return;
                }
                Stage::Draining => match c.conn.http.drain() {
                    Ok(Next::Request) => {
                        c.stage = Stage::Idle;
                        continue;
                    }
                    Ok(Next::Drain) => Step::NeedData,
                    Ok(Next::Close) | Err(_) => Step::Close,
                },
                Stage::Idle if c.upgrade.is_some() => match read_upgrade_body(c) {
                    UpgradeBody::Ended => {
                        self.h2_upgrade(py, id);
                        return;
                    }
                    UpgradeBody::NeedData => Step::NeedData,
                    UpgradeBody::Failed => Step::Close,
                },
                Stage::Idle if c.deciding.is_some() => match self.decide_protocol(py, id) {
                    Some(()) => continue,
                    None => return,
                },
                Stage::Idle => next_step(c),
            };
            match step {
                Step::Request => {
                    self.dispatch(py, id);
                    return;
                }
                Step::Close => c.stage = Stage::Closing,
                Step::NeedData if std::mem::take(&mut c.owe_read) => {
                    if c.read_available().is_err() {
                        c.conn.out.clear();
                        c.write_failed = true;
                        c.stage = Stage::Closing;
                    }
                }
                Step::NeedData => {
                    if c.write_out().is_err() {
                        self.close(id);
                        return;
                    }
                    c.conn.http.await_peer(self.now);
                    return;
                }
            }
        }
    }

    /// A complete head: its scope goes to Python, which starts a task.
    fn dispatch(&mut self, py: Python<'_>, id: usize) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        adopt_proxied_client(c);
        let conn = &mut *c.conn;
        let Some(head) = conn.http.request_head() else {
            c.stage = Stage::Closing;
            return;
        };
        let socket_peer = conn.via.as_ref().unwrap_or(&conn.peer);
        let forwarded = match self.cfg.scheme_policy.scheme(socket_peer.ip(), head) {
            Ok(scheme) => scheme,
            Err(e) => {
                conn.http.reject_request(e);
                conn.http.poll_transmit(&mut conn.out);
                c.stage = Stage::Closing;
                return self.advance(py, id);
            }
        };
        let tls = !conn.stream.is_plain();
        let trusted = self.cfg.scheme_policy.trusted.trusts(socket_peer.ip());
        c.upgrade = self
            .negotiation
            .upgrade(head, tls, self.cfg.uwsgi.is_some(), trusted);
        if c.upgrade.is_some() {
            // Its body is read over HTTP/1.1, then it is stream 1.
            return self.advance(py, id);
        }
        let no_body = head.body() == BodyKind::None;
        let te_trailers = head.accepts_trailers();
        let tls = conn.stream.tls_session();
        let addrs = scope::Addresses::of(py, &mut c.addrs, &conn.peer, &conn.server);
        let (kind, scope) = if ws::is_upgrade(head) {
            let shake = match ws::check_handshake(head) {
                Ok(shake) => shake,
                Err(e) => {
                    conn.out.extend_from_slice(e.response());
                    c.stage = Stage::Closing;
                    return self.advance(py, id);
                }
            };
            let scope = addrs.and_then(|addrs| {
                scope::build_websocket(
                    py,
                    head,
                    addrs,
                    forwarded,
                    tls,
                    &self.consts,
                    &shake.subprotocols,
                )
            });
            c.ws = Some(WsSession::new(shake, &self.ws));
            (EV_WEBSOCKET, scope)
        } else {
            c.ws = None;
            let scope = addrs.and_then(|addrs| {
                scope::build(py, head, addrs, forwarded, tls, &self.consts, te_trailers)
            });
            (EV_REQUEST, scope)
        };
        c.stage = Stage::InRequest;
        c.started = std::time::Instant::now();
        rcorn_io::metrics::request_started();
        c.disconnected = false;
        c.write_failed = false;
        c.receiving = false;
        c.sending = false;
        c.body_end = false;
        c.end_delivered = false;
        c.gone_reported = false;
        c.trailers = false;
        c.te_trailers = te_trailers;
        c.file = None;
        c.body_given = 0;
        conn.log_fields.response_headers.clear();
        // Bytes may be in the socket still (more of the body): read them
        // once the task asks.
        c.owe_read = !conn.socket_drained;
        // A request without a body is read whole: the connection is then
        // read only to see the client leave.
        if no_body && matches!(conn.http.poll_event(), Ok(ConnEvent::BodyEnd)) {
            c.body_end = true;
        }
        match scope {
            Ok(scope) => self.pending.push((kind, id, Some(scope.unbind()))),
            Err(e) => {
                crate::traceback::log_exception(py, &e, "cannot build the ASGI scope");
                self.end_exchange(py, id, true);
            }
        }
    }

    /// A readiness event while a task has the request.
    pub(super) fn read_in_request(&mut self, id: usize) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        // Body bytes are read only when the task wants them (they are its
        // back-pressure); after the body, only to see the client leave, and
        // not past one pipelined request.
        let wanted = if c.body_end {
            !c.conn.http.has_buffered()
        } else {
            c.receiving
        };
        if !wanted {
            c.owe_read = true;
            return;
        }
        c.owe_read = false;
        match c.read_available() {
            Ok(true) => {}
            _ => c.disconnected = true,
        }
        if c.receiving || (c.disconnected && c.sending) {
            c.receiving = false;
            c.sending = false;
            self.pending.push((EV_WAKE, id, None));
        }
    }

    pub(super) fn receive_message<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
    ) -> (u8, Option<Bound<'py, PyBytes>>, bool) {
        let Some(c) = self.conns.get_mut(&id) else {
            return (DISCONNECT, None, false);
        };
        c.receiving = false;
        if c.stage != Stage::InRequest {
            return (DISCONNECT, None, false);
        }
        if c.body_end {
            if !std::mem::replace(&mut c.end_delivered, true) {
                return (DATA, Some(PyBytes::new(py, b"")), false);
            }
            if !c.disconnected && std::mem::take(&mut c.owe_read) {
                c.disconnected = !matches!(c.read_available(), Ok(true));
            }
            if c.disconnected {
                self.note_gone(id);
                return (DISCONNECT, None, false);
            }
            c.receiving = true;
            return (WAIT, None, false);
        }
        let message = receive_body(py, c);
        self.note_gone(id);
        message
    }

    pub(super) fn begin_response(
        &mut self,
        id: usize,
        status: u16,
        headers: &Bound<'_, PyAny>,
        trailers: bool,
    ) -> PyResult<()> {
        let may_reuse = self.lifecycle.may_keep_alive();
        let log_headers = self
            .cfg
            .access_log
            .as_ref()
            .is_some_and(|log| log.wants_response_headers());
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        // A denied WebSocket handshake's connection is not reused.
        let may_reuse = may_reuse && c.ws.is_none();
        if c.stage != Stage::InRequest {
            return Err(PyRuntimeError::new_err("the response is already complete"));
        }
        let conn = &mut *c.conn;
        let reason = reason(status);
        conn.http
            .start_response(status, reason.as_bytes(), may_reuse, &mut conn.out)
            .map_err(app_error)?;
        let written = (|| -> PyResult<()> {
            for pair in headers.try_iter()? {
                let pair = pair?;
                let name = pair.get_item(0)?;
                let value = pair.get_item(1)?;
                let name: &[u8] = name.cast::<PyBytes>()?.as_bytes();
                let value: &[u8] = value.cast::<PyBytes>()?.as_bytes();
                conn.http
                    .header(name, value, &mut conn.out)
                    .map_err(app_error)?;
                if log_headers {
                    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                    conn.log_fields
                        .response_headers
                        .push((name, value.to_vec()));
                }
            }
            Ok(())
        })();
        if written.is_err() {
            // Taken back whole: the application may still be answered 500.
            conn.http.reset_response(&mut conn.out);
            conn.log_fields.response_headers.clear();
        }
        // Trailers the client did not ask for (`TE: trailers`) are
        // dropped, so the body is framed as if there were none.
        c.trailers = trailers && c.te_trailers && written.is_ok();
        written
    }

    /// `http.response.informational`: a 1xx head, written at once.
    pub(super) fn interim_response(
        &mut self,
        id: usize,
        status: u16,
        headers: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let fields = field_pairs(headers)?;
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        if c.stage != Stage::InRequest || c.write_failed {
            return Ok(());
        }
        let borrowed: Vec<(&[u8], &[u8])> = fields
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        let conn = &mut *c.conn;
        conn.http
            .informational(status, &borrowed, &mut conn.out)
            .map_err(app_error)?;
        if c.write_out().is_err() {
            c.conn.out.clear();
            c.write_failed = true;
            c.disconnected = true;
            self.note_gone(id);
        }
        Ok(())
    }

    /// `http.response.trailers`: fields for the end of the body.
    pub(super) fn trailer_fields(&mut self, id: usize, headers: &Bound<'_, PyAny>) -> PyResult<()> {
        let fields = field_pairs(headers)?;
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        if c.stage != Stage::InRequest || c.write_failed || !c.trailers {
            return Ok(());
        }
        for (name, value) in &fields {
            c.conn.http.trailer(name, value).map_err(app_error)?;
        }
        Ok(())
    }

    pub(super) fn body_chunk(&mut self, id: usize, body: &[u8], more: bool) -> PyResult<bool> {
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(false);
        };
        if c.stage != Stage::InRequest {
            return Err(PyRuntimeError::new_err("the response is already complete"));
        }
        if c.write_failed {
            // The client is gone: what the task sends goes nowhere.
            return Ok(false);
        }
        let conn = &mut *c.conn;
        if !conn.http.head_ended() {
            // The head waits for the first body message: a whole body in
            // one message gets a Content-Length instead of chunks.
            // Trailers need chunks.
            let hint = (!more && !c.trailers).then_some(body.len() as u64);
            let date = self.dates.get(clock::unix_secs());
            conn.http
                .end_head(date, hint, &mut conn.out)
                .map_err(app_error)?;
        }
        conn.http.body(body, &mut conn.out).map_err(app_error)?;
        c.body_given += body.len() as u64;
        // The last chunk is written with the framing's end, by `finish`.
        if !more && conn.out.len() < HIGH_WATER {
            return Ok(false);
        }
        if c.write_out().is_err() {
            c.conn.out.clear();
            c.write_failed = true;
            c.disconnected = true;
            self.note_gone(id);
            return Ok(false);
        }
        let wait = c.conn.out.len() >= HIGH_WATER;
        c.sending = wait;
        Ok(wait)
    }

    pub(super) fn end_exchange(&mut self, py: Python<'_>, id: usize, failed: bool) -> (u16, u64) {
        let Some(c) = self.conns.get_mut(&id) else {
            return (0, 0);
        };
        if c.stage != Stage::InRequest {
            return (0, 0);
        }
        let conn = &mut *c.conn;
        // A failure before any body message: the head, still unsent, is
        // taken back and the client gets a 500. After: the connection
        // closes, so a cut-short body never looks complete.
        if failed && !conn.http.reset_response(&mut conn.out) && conn.http.response_started() {
            conn.http.abort_response();
        }
        // A file body cut short (the task was cancelled while it went
        // out) cannot be ended.
        if c.write_failed || c.file.take().is_some() {
            conn.http.abort_response();
        }
        if let Some(declared) = conn.http.framed_length().filter(|n| *n != c.body_given) {
            // The encoder cut a long body at its length; ASGI's rule (as
            // uvicorn's) is to close after it all the same.
            conn.http.abort_response();
            if !failed && !c.write_failed {
                rcorn_io::error!(
                    "ASGI response body has {} bytes, its Content-Length declares {declared}: closing the connection",
                    c.body_given
                );
            }
        }
        let dates = &mut self.dates;
        let next = conn
            .http
            .finish_response(&mut conn.out, || dates.get(clock::unix_secs()));
        let summary = ExchangeSummary {
            status: conn.http.status(),
            body_bytes: conn.http.body_bytes(),
            duration: c.started.elapsed(),
        };
        if let Some(logger) = self.cfg.access_log.as_mut() {
            conn.log_fields.environ.clear();
            if let Some(head) = conn.http.request_head() {
                for name in &self.log_environ {
                    if let Some(value) = super::log_environ::value(head, &conn.peer, name) {
                        conn.log_fields.environ.push((name.clone(), value));
                    }
                }
            }
            logger.log(conn, &summary);
        }
        rcorn_io::statsd::request(summary.status, summary.duration);
        let method = conn.http.request_head().map_or("", |h| h.method());
        rcorn_io::metrics::request_finished(
            rcorn_io::metrics::method(method),
            summary.status,
            summary.duration,
        );
        c.receiving = false;
        c.sending = false;
        c.stage = match next {
            _ if c.write_failed || c.ws.is_some() => Stage::Closing,
            Next::Request => Stage::Idle,
            Next::Drain => Stage::Draining,
            Next::Close => Stage::Closing,
        };
        self.lifecycle_event(WorkerEvent::RequestFinished);
        self.advance(py, id);
        (summary.status, summary.body_bytes)
    }
}

fn next_step(c: &mut AsgiConn) -> Step {
    match c.conn.http.poll_event() {
        Ok(ConnEvent::Request(_)) => Step::Request,
        Ok(ConnEvent::NeedData) => Step::NeedData,
        Ok(_) => Step::Close,
        Err(e) => {
            rcorn_io::refused::log_refused(&c.conn.peer, &e);
            // The error response, after any response still unwritten.
            c.conn.http.poll_transmit(&mut c.conn.out);
            Step::Close
        }
    }
}

/// What of the request body is here: all of it that is buffered, in one
/// message.
fn receive_body<'py>(py: Python<'py>, c: &mut AsgiConn) -> (u8, Option<Bound<'py, PyBytes>>, bool) {
    let mut body = Vec::new();
    loop {
        match c.conn.http.poll_event() {
            Ok(ConnEvent::Body(bytes)) => body.extend_from_slice(bytes),
            Ok(ConnEvent::BodyEnd) => {
                c.body_end = true;
                c.end_delivered = true;
                return (DATA, Some(PyBytes::new(py, &body)), false);
            }
            Ok(ConnEvent::NeedData) if !body.is_empty() => {
                return (DATA, Some(PyBytes::new(py, &body)), true);
            }
            Ok(ConnEvent::NeedData) => {
                if c.disconnected {
                    return (DISCONNECT, None, false);
                }
                // A `100 Continue`, the first time the body is wanted.
                if c.conn.http.poll_transmit(&mut c.conn.out) && c.write_out().is_err() {
                    c.write_failed = true;
                    c.disconnected = true;
                    return (DISCONNECT, None, false);
                }
                if std::mem::take(&mut c.owe_read) {
                    if !matches!(c.read_available(), Ok(true)) {
                        c.disconnected = true;
                    }
                    continue;
                }
                c.receiving = true;
                return (WAIT, None, false);
            }
            // A malformed body, or the client left mid-body: `finish`
            // answers with the body's status if nothing was sent.
            Ok(_) | Err(_) => return (DISCONNECT, None, false),
        }
    }
}

/// Once the PROXY preamble is read, the client it names is the scope's
/// `client`; the socket's peer is kept as `via`.
fn adopt_proxied_client(c: &mut AsgiConn) {
    let conn = &mut *c.conn;
    if conn.via.is_none() {
        if let Some(source) = conn.http.proxy_info().and_then(|info| info.source) {
            conn.via = Some(std::mem::replace(&mut conn.peer, PeerAddr::Ip(source)));
        }
    }
}

/// `[(name, value), ...]` of bytes, as ASGI gives header fields.
pub(super) fn field_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut fields = Vec::new();
    for pair in headers.try_iter()? {
        let pair = pair?;
        let name = pair.get_item(0)?;
        let value = pair.get_item(1)?;
        fields.push((
            name.cast::<PyBytes>()?.as_bytes().to_vec(),
            value.cast::<PyBytes>()?.as_bytes().to_vec(),
        ));
    }
    Ok(fields)
}

fn app_error(e: ConnError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// The reason phrase for `status` (an empty one is valid HTTP/1.1).
fn reason(status: u16) -> &'static str {
    match status {
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        other => match reason_phrase(other) {
            "Error" => "",
            phrase => phrase,
        },
    }
}
