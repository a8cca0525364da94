//! HTTP/2 connections of the ASGI worker: each stream its own task, with
//! its own `http` scope. Every HTTP/2 rule (frames, HPACK, flow control,
//! the flood limits, timers) is core's [`H2Connection`]'s; this file pumps
//! bytes between it and the socket and maps its events to ASGI messages.
//!
//! The rules it keeps:
//!
//! 1. **One key per stream.** Python knows a request by one integer: an
//!    HTTP/1 connection's id, or [`key`]`(connection, stream)`, which is
//!    never one (its high half is the connection's id + 1).
//! 2. **Tasks never write.** `receive`/`send` change the machine and mark
//!    the connection dirty; the next `poll` (the driver's waker makes it
//!    come at once) writes what all streams produced in one go.
//! 3. **Back-pressure per stream.** A body message the client's credit or
//!    the connection's output bound does not take whole waits in the
//!    stream's `unsent` and `send` waits until a `Writable` event sends
//!    the rest: a slow stream holds one message, never more.
//! 4. **Credit follows reading.** `receive` takes what the machine holds
//!    of the body; the machine returns the window as it is taken.
//! 5. **The head waits for the first body message**, so an application
//!    that fails before any body still gets a 500 on its stream; after it,
//!    failing resets the stream.
//! 6. **A reset stream, or the connection's end, is `http.disconnect`**
//!    (`EV_GONE`: the task is cancelled after the grace period).
//! 7. **Bytes are copied only when they must wait.** The response's
//!    fields are encoded from the Python bytes in `start_response`, and a
//!    body goes from the Python bytes into the machine's output; the
//!    socket is read again only after a readiness event, once a read
//!    found it empty.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};
use std::time::Instant as StdInstant;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use rcorn_core::http::h2::{
    encode_response_field, request_head, AppError, BodyRead, ErrorCode, H2Config, H2Connection,
    H2Event, H2Request,
};
use rcorn_core::http::RequestHead;
use rcorn_core::worker::WorkerEvent;
use rcorn_io::exchange::{ExchangeSummary, LogFields};

use super::conn::Stage;
use super::driver::{AsgiDriver, EV_GONE, EV_REQUEST, EV_WAKE};
use super::exchange::{DATA, DISCONNECT, WAIT};
use super::scope;

/// Body bytes `receive` hands over at most per message.
const RECEIVE_MAX: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// The key Python knows stream `stream` of connection `cid` by (rule 1).
pub fn key(cid: usize, stream: u32) -> usize {
    ((cid + 1) << 32) | stream as usize
}

/// The connection and stream of an HTTP/2 key; `None` for an HTTP/1 id.
pub fn split(key: usize) -> Option<(usize, u32)> {
    let high = key >> 32;
    (high != 0).then(|| (high - 1, (key & 0xffff_ffff) as u32))
}

/// The streams of a connection by id. Client stream ids are odd numbers
/// counting up, never chosen to collide: hashed by one multiplication.
type Streams = HashMap<u32, H2Stream, BuildHasherDefault<StreamIdHasher>>;

#[derive(Default)]
pub struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The HTTP/2 side of a connection.
pub struct H2Session {
    pub machine: H2Connection,
    pub streams: Streams,
    /// A task changed the machine since the last pump (rule 2).
    pub dirty: bool,
    /// The socket may hold bytes not read yet: set by a readiness event,
    /// cleared once a read finds it empty, so a pump after the tasks ran
    /// does not ask the socket again for nothing.
    pub readable: bool,
}

/// One stream's exchange, from its request to `finish`.
pub struct H2Stream {
    head: RequestHead,
    started: StdInstant,
    log_fields: LogFields,
    /// `http.response.start` (its fields HPACK-encoded already), until
    /// the first body message sends it.
    response: Option<(u16, Vec<u8>)>,
    /// The final status sent; 0 before.
    status: u16,
    /// A HEAD request, or a 204/304 response: body bytes are dropped.
    no_body: bool,
    trailers: bool,
    declared: Option<u64>,
    body_given: u64,
    body_sent: u64,
    /// The part of the last body message not yet taken (rule 3).
    unsent: Vec<u8>,
    unsent_pos: usize,
    /// END_STREAM goes with the end of `unsent`.
    unsent_end: bool,
    receiving: bool,
    sending: bool,
    /// `receive` has returned the body's last message.
    body_end: bool,
    /// Reset, or the connection ended (rule 6).
    gone: bool,
}

impl H2Stream {
    fn new(head: RequestHead) -> H2Stream {
        H2Stream {
            no_body: head.method() == "HEAD",
            head,
            started: StdInstant::now(),
            log_fields: LogFields::default(),
            response: None,
            status: 0,
            trailers: false,
            declared: None,
            body_given: 0,
            body_sent: 0,
            unsent: Vec::new(),
            unsent_pos: 0,
            unsent_end: false,
            receiving: false,
            sending: false,
            body_end: false,
            gone: false,
        }
    }

    fn head_sent(&self) -> bool {
        self.status != 0
    }

    /// Sends `body` (and END_STREAM after it when `end`) as far as the
    /// machine takes it, straight from the caller's bytes; only what it
    /// does not take is copied, to wait in `unsent` (rule 3). True once
    /// all of it is out, or the stream is gone.
    fn send(
        &mut self,
        machine: &mut H2Connection,
        now: rcorn_core::time::Instant,
        id: u32,
        body: &[u8],
        end: bool,
    ) -> bool {
        if self.unsent_pos < self.unsent.len() || self.unsent_end {
            // Still behind: the new bytes queue after those waiting.
            self.unsent.extend_from_slice(body);
            self.unsent_end = end;
            return self.push(machine, now, id);
        }
        match machine.send_data(now, id, body, end) {
            Ok(n) => {
                self.body_sent += n as u64;
                if n < body.len() {
                    self.unsent.clear();
                    self.unsent.extend_from_slice(&body[n..]);
                    self.unsent_pos = 0;
                    self.unsent_end = end;
                    return false;
                }
            }
            Err(_) => self.gone = true,
        }
        true
    }

    /// Sends what the machine takes of `unsent`; true once all of it
    /// (and its END_STREAM) is out, or the stream is gone.
    fn push(
        &mut self,
        machine: &mut H2Connection,
        now: rcorn_core::time::Instant,
        id: u32,
    ) -> bool {
        let rest = &self.unsent[self.unsent_pos..];
        if rest.is_empty() && !self.unsent_end {
            return true;
        }
        match machine.send_data(now, id, rest, self.unsent_end) {
            Ok(n) => {
                self.body_sent += n as u64;
                if n < rest.len() {
                    self.unsent_pos += n;
                    return false;
                }
            }
            Err(_) => self.gone = true,
        }
        self.unsent.clear();
        self.unsent_pos = 0;
        self.unsent_end = false;
        true
    }
}

/// What one read of the socket gave.
enum Read2 {
    /// `drained`: the read found the socket empty after them.
    Bytes {
        drained: bool,
    },
    Eof,
    WouldBlock,
    Failed,
}

impl AsgiDriver {
    /// Connection `id` speaks HTTP/2 from now on; `early`: the client's
    /// bytes already read (its preface).
    pub(super) fn h2_start(&mut self, py: Python<'_>, id: usize, config: H2Config, early: &[u8]) {
        let machine = H2Connection::new(config, self.now);
        self.h2_start_with(py, id, machine, early);
    }

    /// Connection `id` speaks HTTP/2 through `machine` from here; `early`
    /// are the client's bytes already read for it.
    pub(super) fn h2_start_with(
        &mut self,
        py: Python<'_>,
        id: usize,
        mut machine: H2Connection,
        early: &[u8],
    ) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        machine.feed(early);
        c.h2 = Some(Box::new(H2Session {
            machine,
            streams: Streams::default(),
            dirty: false,
            readable: true,
        }));
        c.stage = Stage::Http2;
        self.h2_pump(py, id);
    }

    /// A readiness event for HTTP/2 connection `id`.
    pub(super) fn h2_on_event(&mut self, py: Python<'_>, id: usize, readable: bool) {
        if readable {
            if let Some(h2) = self.conns.get_mut(&id).and_then(|c| c.h2.as_mut()) {
                h2.readable = true;
            }
        }
        self.h2_pump(py, id);
    }

    /// Marks connection `cid` for the next pump, and makes it come soon.
    fn h2_touch(&mut self, cid: usize) {
        let Some(h2) = self.conns.get_mut(&cid).and_then(|c| c.h2.as_mut()) else {
            return;
        };
        if !std::mem::replace(&mut h2.dirty, true) {
            self.h2_dirty.push(cid);
        }
        self.wake_soon();
    }

    fn h2_touch_key(&mut self, key: usize) {
        if let Some((cid, _)) = split(key) {
            self.h2_touch(cid);
        }
    }

    /// Pumps the connections tasks changed.
    pub(super) fn h2_pump_dirty(&mut self, py: Python<'_>) {
        for id in std::mem::take(&mut self.h2_dirty) {
            if let Some(h2) = self.conns.get_mut(&id).and_then(|c| c.h2.as_mut()) {
                h2.dirty = false;
                self.h2_pump(py, id);
            }
        }
    }

    /// Moves connection `id` as far as its bytes allow: reads, maps the
    /// machine's events to tasks, writes.
    pub(super) fn h2_pump(&mut self, py: Python<'_>, id: usize) {
        loop {
            let now = self.now;
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let Some(h2) = c.h2.as_mut() else {
                return;
            };
            let event = h2.machine.poll_event();
            // A stream a limit cut off (431, no credit in time) is the
            // operator's business: one warning each, as the gthread loop.
            while let Some(notice) = h2.machine.take_notice() {
                rcorn_io::log_h2_notice(&c.conn.peer, notice);
            }
            match event {
                Ok(H2Event::Request { stream, request }) => {
                    self.h2_request(py, id, stream, request)
                }
                Ok(H2Event::Readable { stream }) => {
                    if let Some(st) = h2.streams.get_mut(&stream) {
                        if std::mem::take(&mut st.receiving) {
                            self.pending.push((EV_WAKE, key(id, stream), None));
                        }
                    }
                }
                Ok(H2Event::Writable { stream }) => {
                    if let Some(st) = h2.streams.get_mut(&stream) {
                        if st.push(&mut h2.machine, now, stream) && std::mem::take(&mut st.sending)
                        {
                            self.pending.push((EV_WAKE, key(id, stream), None));
                        }
                    }
                }
                Ok(H2Event::Reset { stream, .. }) => self.h2_gone(id, stream),
                Ok(event @ (H2Event::NeedData | H2Event::Blocked | H2Event::Paused)) => {
                    let wrote = match flush(c) {
                        Ok(wrote) => wrote,
                        Err(_) => return self.h2_end(py, id),
                    };
                    if wrote {
                        // Room came back: writers may have been woken.
                        continue;
                    }
                    let Some(h2) = c.h2.as_mut() else { return };
                    if event == H2Event::Paused {
                        // After the client's EOF no WINDOW_UPDATE can come:
                        // a stream waiting to send would wait for ever.
                        let stuck: Vec<u32> = h2
                            .streams
                            .iter()
                            .filter(|(_, st)| st.sending)
                            .map(|(sid, _)| *sid)
                            .collect();
                        for stream in stuck {
                            self.h2_gone(id, stream);
                        }
                        return;
                    }
                    if event != H2Event::NeedData || !h2.machine.wants_read() {
                        return;
                    }
                    if !h2.readable {
                        // Read to empty since the last readiness event.
                        h2.machine.await_peer(now);
                        return;
                    }
                    match read(c) {
                        Read2::Bytes { drained } => {
                            if let Some(h2) = c.h2.as_mut() {
                                h2.readable = !drained;
                            }
                        }
                        Read2::Eof => {}
                        Read2::WouldBlock => {
                            if let Some(h2) = c.h2.as_mut() {
                                h2.readable = false;
                                h2.machine.await_peer(now);
                            }
                            return;
                        }
                        Read2::Failed => return self.h2_end(py, id),
                    }
                }
                Ok(H2Event::Closed) => return self.h2_end(py, id),
                Err(e) => {
                    rcorn_io::log_h2_connection_error(&c.conn.peer, &e);
                    return self.h2_end(py, id);
                }
            }
        }
    }

    /// Stream `stream`'s client reset it, or a limit did: its task is told.
    fn h2_gone(&mut self, id: usize, stream: u32) {
        let Some(st) = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.h2.as_mut())
            .and_then(|h2| h2.streams.get_mut(&stream))
        else {
            return;
        };
        if !std::mem::replace(&mut st.gone, true) {
            st.receiving = false;
            st.sending = false;
            self.pending.push((EV_GONE, key(id, stream), None));
        }
    }

    /// The connection is over: every stream still running is gone (and
    /// counted as answered with no response), what is left to write is
    /// written, then the socket closes.
    fn h2_end(&mut self, py: Python<'_>, id: usize) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(mut h2) = c.h2.take() else {
            return;
        };
        h2.machine.poll_transmit(&mut c.conn.out);
        c.stage = Stage::Closing;
        count_unfinished(&h2);
        for (stream, st) in &h2.streams {
            if !st.gone {
                self.pending.push((EV_GONE, key(id, *stream), None));
            }
        }
        self.advance(py, id);
    }

    /// A new stream: its scope goes to Python, which starts a task.
    fn h2_request(&mut self, py: Python<'_>, id: usize, stream: u32, request: H2Request) {
        let head = request_head(&request);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(h2) = c.h2.as_mut() else { return };
        let conn = &c.conn;
        let socket_peer = conn.via.as_ref().unwrap_or(&conn.peer);
        let Ok(forwarded) = self.cfg.scheme_policy.scheme(socket_peer.ip(), &head) else {
            // A trusted proxy's scheme headers disagree: 400, as for HTTP/1.
            let _ = h2.machine.send_headers(stream, 400, &[], true);
            h2.machine.finish_stream(stream);
            return;
        };
        let tls = conn.stream.tls_session();
        let addrs = scope::Addresses::of(py, &mut c.addrs, &conn.peer, &conn.server);
        let scope = addrs.and_then(|addrs| {
            // HTTP/2 frames trailers on every stream (a HEADERS frame after
            // the DATA), so, as hypercorn does, they are offered to every
            // HTTP/2 request; HTTP/1.1 asks for `TE: trailers`.
            scope::build(py, &head, addrs, forwarded, tls, &self.consts, true)
        });
        h2.streams.insert(stream, H2Stream::new(head));
        rcorn_io::metrics::request_started();
        let key = key(id, stream);
        match scope {
            Ok(scope) => self.pending.push((EV_REQUEST, key, Some(scope.unbind()))),
            Err(e) => {
                crate::traceback::log_exception(py, &e, "cannot build the ASGI scope");
                self.h2_finish(key, true);
            }
        }
    }

    fn h2_stream(&mut self, key: usize) -> Option<(&mut H2Connection, &mut H2Stream, u32)> {
        let (cid, sid) = split(key)?;
        let h2 = self.conns.get_mut(&cid)?.h2.as_mut()?;
        let st = h2.streams.get_mut(&sid)?;
        Some((&mut h2.machine, st, sid))
    }

    pub(super) fn h2_receive<'py>(
        &mut self,
        py: Python<'py>,
        key: usize,
    ) -> (u8, Option<Bound<'py, PyBytes>>, bool) {
        let Some((machine, st, sid)) = self.h2_stream(key) else {
            return (DISCONNECT, None, false);
        };
        st.receiving = false;
        if st.gone {
            return (DISCONNECT, None, false);
        }
        if st.body_end {
            st.receiving = true;
            return (WAIT, None, false);
        }
        let mut body = Vec::new();
        let message = match machine.read_body(sid, &mut body, RECEIVE_MAX) {
            Ok(BodyRead::Data(_)) => (DATA, Some(PyBytes::new(py, &body)), true),
            Ok(BodyRead::End) => {
                st.body_end = true;
                (DATA, Some(PyBytes::new(py, b"")), false)
            }
            Ok(BodyRead::Pending) => {
                st.receiving = true;
                (WAIT, None, false)
            }
            Err(_) => {
                st.gone = true;
                (DISCONNECT, None, false)
            }
        };
        // Credit to return, or the body wait's deadline to start.
        self.h2_touch_key(key);
        message
    }

    pub(super) fn h2_start_response(
        &mut self,
        key: usize,
        status: u16,
        headers: &Bound<'_, PyAny>,
        trailers: bool,
    ) -> PyResult<()> {
        let log_headers = self
            .cfg
            .access_log
            .as_ref()
            .is_some_and(|log| log.wants_response_headers());
        let mut declared = None;
        let mut logged = Vec::new();
        let block = encode_fields(headers, |name, value| {
            if name.eq_ignore_ascii_case(b"content-length") {
                declared = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            if log_headers {
                let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                logged.push((name, value.to_vec()));
            }
        })?;
        let Some((_, st, _)) = self.h2_stream(key) else {
            return Ok(());
        };
        if st.response.is_some() || st.head_sent() {
            return Err(PyRuntimeError::new_err("the response is already started"));
        }
        if !(200..=999).contains(&status) {
            return Err(PyRuntimeError::new_err(format!(
                "invalid response status {status}"
            )));
        }
        st.no_body |= status == 204 || status == 304;
        st.trailers = trailers;
        st.declared = declared;
        st.log_fields.response_headers.extend(logged);
        st.response = Some((status, block));
        Ok(())
    }

    pub(super) fn h2_informational(
        &mut self,
        key: usize,
        status: u16,
        headers: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let block = encode_fields(headers, |_, _| {})?;
        let Some((machine, st, sid)) = self.h2_stream(key) else {
            return Ok(());
        };
        if st.gone {
            return Ok(());
        }
        if !(100..200).contains(&status) {
            return Err(PyRuntimeError::new_err(format!(
                "an informational response needs a 1xx status, not {status}"
            )));
        }
        send_head(machine, sid, status, &block, false)?;
        self.h2_touch_key(key);
        Ok(())
    }

    /// `http.response.body`: true when the task must wait for an `EV_WAKE`
    /// (rule 3).
    pub(super) fn h2_body(&mut self, key: usize, body: &[u8], more: bool) -> PyResult<bool> {
        let now = self.now;
        let Some((machine, st, sid)) = self.h2_stream(key) else {
            return Ok(false);
        };
        if st.gone {
            return Ok(false);
        }
        let body = if st.no_body { &[][..] } else { body };
        let ends_here = !more && !st.trailers;
        if !st.head_sent() {
            let Some((status, block)) = st.response.take() else {
                return Err(PyRuntimeError::new_err("body before the response start"));
            };
            let head_only = ends_here && body.is_empty();
            if let Err(e) = send_head(machine, sid, status, &block, head_only) {
                // Kept, so that `finish` answers 500 instead.
                st.response = Some((status, block));
                return Err(e);
            }
            st.status = status;
            if head_only {
                self.h2_touch_key(key);
                return Ok(false);
            }
        }
        st.body_given += body.len() as u64;
        let wait = !st.send(machine, now, sid, body, ends_here);
        st.sending = wait;
        self.h2_touch_key(key);
        Ok(wait)
    }

    pub(super) fn h2_trailers(&mut self, key: usize, headers: &Bound<'_, PyAny>) -> PyResult<()> {
        let fields = super::exchange::field_pairs(headers)?;
        let Some((machine, st, sid)) = self.h2_stream(key) else {
            return Ok(());
        };
        if st.gone {
            return Ok(());
        }
        let refs: Vec<(&[u8], &[u8])> = fields
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        match machine.send_trailers(sid, &refs) {
            Ok(()) => {}
            Err(AppError::StreamReset) => st.gone = true,
            Err(e) => return Err(app_error(e)),
        }
        self.h2_touch_key(key);
        Ok(())
    }

    /// The task is done with stream `key`: a 500 if it failed before any
    /// body (rule 5), the access log line, the metrics. The status sent
    /// and the body bytes.
    pub(super) fn h2_finish(&mut self, key: usize, failed: bool) -> (u16, u64) {
        let now = self.now;
        let Some((cid, sid)) = split(key) else {
            return (0, 0);
        };
        let Some(c) = self.conns.get_mut(&cid) else {
            return (0, 0);
        };
        let Some(h2) = c.h2.as_mut() else {
            return (0, 0);
        };
        let Some(mut st) = h2.streams.remove(&sid) else {
            return (0, 0);
        };
        let machine = &mut h2.machine;
        if !st.gone && failed && !st.head_sent() {
            let body = b"Internal Server Error\n";
            let length = body.len().to_string();
            let mut block = Vec::new();
            for (name, value) in [
                (&b"content-type"[..], &b"text/plain"[..]),
                (b"content-length", length.as_bytes()),
            ] {
                let _ = encode_response_field(name, value, &mut block);
            }
            if send_head(machine, sid, 500, &block, false).is_ok() {
                st.status = 500;
                st.send(machine, now, sid, body, true);
            }
        } else if !st.gone && !failed {
            if let Some(declared) = st.declared.filter(|n| *n != st.body_given && !st.no_body) {
                rcorn_io::error!(
                    "ASGI response body has {} bytes, its Content-Length declares {declared}: resetting the stream",
                    st.body_given
                );
                let _ = machine.reset_stream(sid, ErrorCode::InternalError);
            }
        }
        // A response not ended (a failure after its head) is reset here.
        machine.finish_stream(sid);
        let summary = ExchangeSummary {
            status: st.status,
            body_bytes: st.body_sent,
            duration: st.started.elapsed(),
        };
        if let Some(logger) = self.cfg.access_log.as_mut() {
            for name in &self.log_environ {
                if let Some(value) = super::log_environ::value(&st.head, &c.conn.peer, name) {
                    st.log_fields.environ.push((name.clone(), value));
                }
            }
            logger.log_request(&st.head, &c.conn.peer, &st.log_fields, &summary);
        }
        rcorn_io::statsd::request(summary.status, summary.duration);
        rcorn_io::metrics::request_finished(
            rcorn_io::metrics::method(st.head.method()),
            summary.status,
            summary.duration,
        );
        self.h2_touch(cid);
        self.lifecycle_event(WorkerEvent::RequestFinished);
        (summary.status, summary.body_bytes)
    }

    /// Deadlines of the HTTP/2 connections that are due.
    pub(super) fn h2_timers(&mut self, py: Python<'_>) {
        let now = self.now;
        let due: Vec<usize> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| {
                let h2 = c.h2.as_mut()?;
                let deadline = h2.machine.next_deadline()?;
                (deadline <= now).then(|| {
                    h2.machine.handle_timeout(now);
                    *id
                })
            })
            .collect();
        for id in due {
            self.h2_pump(py, id);
        }
    }

    /// The worker drains: every HTTP/2 connection says GOAWAY and closes
    /// once its streams are done.
    pub(super) fn h2_go_away(&mut self) {
        let ids: Vec<usize> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| {
                c.h2.as_mut()?.machine.shutdown();
                Some(*id)
            })
            .collect();
        for id in ids {
            self.h2_touch(id);
        }
    }
}

/// The streams whose task had not finished when their connection ended:
/// answered with no response, so no longer in flight.
pub fn count_unfinished(h2: &H2Session) {
    for st in h2.streams.values() {
        let method = rcorn_io::metrics::method(st.head.method());
        rcorn_io::metrics::request_finished(method, 0, st.started.elapsed());
    }
}

/// A response head (or a 1xx) on stream `sid`, its fields encoded by
/// [`encode_fields`].
fn send_head(
    machine: &mut H2Connection,
    sid: u32,
    status: u16,
    block: &[u8],
    end_stream: bool,
) -> PyResult<()> {
    match machine.send_encoded_headers(sid, status, block, end_stream) {
        Ok(()) | Err(AppError::StreamReset) => Ok(()),
        Err(e) => Err(app_error(e)),
    }
}

/// ASGI's header pairs (bytes, bytes) HPACK-encoded for HTTP/2, straight
/// from the Python objects (no copy of each name and value); `each` sees
/// every pair as given.
fn encode_fields(
    headers: &Bound<'_, PyAny>,
    mut each: impl FnMut(&[u8], &[u8]),
) -> PyResult<Vec<u8>> {
    let mut block = Vec::new();
    for pair in headers.try_iter()? {
        let pair = pair?;
        let (name, value) = match pair.cast::<PyTuple>() {
            Ok(tuple) if tuple.len() == 2 => (tuple.get_item(0)?, tuple.get_item(1)?),
            _ => (pair.get_item(0)?, pair.get_item(1)?),
        };
        let name = name.cast::<PyBytes>()?.as_bytes();
        let value = value.cast::<PyBytes>()?.as_bytes();
        each(name, value);
        encode_response_field(name, value, &mut block).map_err(app_error)?;
    }
    Ok(block)
}

fn app_error(e: AppError) -> PyErr {
    let what = match e {
        AppError::BadHeader => "a response header HTTP/2 cannot carry",
        AppError::BadStatus => "an invalid response status",
        AppError::HeadersSent => "the response is already started",
        AppError::Ended => "the response is already complete",
        _ => "the stream is closed",
    };
    PyRuntimeError::new_err(what)
}

/// Writes what the machine has for the client. `Ok(true)`: some bytes
/// went out.
fn flush(c: &mut super::conn::AsgiConn) -> io::Result<bool> {
    let Some(h2) = c.h2.as_mut() else {
        return Ok(false);
    };
    let mut wrote = false;
    loop {
        let out = h2.machine.pending_output();
        if out.is_empty() {
            break;
        }
        match c.conn.stream.write(out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                h2.machine.consume_output(n);
                wrote = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(wrote),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // A TLS layer may still hold records the socket had no room for.
    match c.conn.stream.drain() {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(wrote),
    }
}

/// Reads once from the socket into the machine.
fn read(c: &mut super::conn::AsgiConn) -> Read2 {
    let mut buf = [0u8; READ_CHUNK];
    let Some(h2) = c.h2.as_mut() else {
        return Read2::Failed;
    };
    loop {
        return match c.conn.stream.read(&mut buf) {
            Ok(0) => {
                h2.machine.feed_eof();
                Read2::Eof
            }
            Ok(n) => {
                h2.machine.feed(&buf[..n]);
                // After a FIN no later edge comes: read on to the end.
                let drained =
                    n < buf.len() && c.conn.stream.short_read_means_empty() && !c.fin_seen;
                Read2::Bytes { drained }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read2::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Read2::Failed,
        };
    }
}
