//! The ASGI worker's socket side, driven from Python's event loop.
//!
//! One mio `Poll` holds the worker's signal pipe, its listeners and every
//! connection; the loop watches the poll's own descriptor (`fileno`) with
//! `add_reader` and calls [`AsgiDriver::poll`] when it is readable, and
//! again at [`AsgiDriver::timeout`]. Each call accepts, reads and decodes
//! through core's `ServerConnection` (every HTTP/1 rule is its), beats the
//! heartbeat and runs the worker's lifecycle, and returns what Python must
//! act on: a request head (its scope: start a task) or a wake-up for a task
//! waiting in `receive` or `send`. Tasks answer through `receive`,
//! `start_response`, `send_body` and `finish`, plain calls that never block.
//! Nothing crosses threads.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use nix::sys::signal::Signal;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rcorn_core::heartbeat::HeartbeatSlot;
use rcorn_core::http::h2::H2Config;
use rcorn_core::http::negotiate::Negotiation;
use rcorn_core::http::DateCache;
use rcorn_core::time::Instant;
use rcorn_core::worker::{WorkerCommand, WorkerEvent, WorkerLifecycle};
use rcorn_io::accept::{open_connection, Accepted, Listeners};
use rcorn_io::clock;
use rcorn_io::control::{ControlMessage, ControlSender};
use rcorn_io::exchange::ServerAddr;
use rcorn_io::lifecycle_host::{self, signal_event, LifecycleHost};
use rcorn_io::signals::SignalPipe;
use rcorn_io::stream::{PeerAddr, Stream};
use rcorn_io::worker_loop::WorkerConfig;
use rcorn_io::WorkerStart;

use super::conn::{AsgiConn, Stage};
use super::h2::split;
use super::scope::ScopeConstants;
use super::websocket::WsOptions;
use crate::wsgi::app::ChangedFile;

const SIGNALS: Token = Token(0);
/// The driver's own wake-up: a task changed an HTTP/2 connection.
const WAKER: Token = Token(FIRST_CONNECTION - 1);
const FIRST_LISTENER: usize = 1;
const FIRST_CONNECTION: usize = 1 << 20;

/// What `poll` hands Python: start a task for a request, or wake one.
pub const EV_REQUEST: u8 = 0;
pub const EV_WAKE: u8 = 1;
/// The client is gone (closed, reset, or a write failed) while a task has
/// its request: the task is cancelled after `asgi_disconnect_grace_period`.
pub const EV_GONE: u8 = 2;
/// A WebSocket handshake: Python starts a task for its `websocket` scope.
pub const EV_WEBSOCKET: u8 = 3;

#[pyclass(unsendable, module = "rcorn")]
pub struct AsgiDriver {
    pub(super) cfg: WorkerConfig,
    pub(super) consts: ScopeConstants,
    pub(super) ws: WsOptions,
    poll: Poll,
    events: Events,
    signals: SignalPipe,
    control: ControlSender,
    heartbeat: &'static HeartbeatSlot,
    master_pid: i32,
    listeners: Listeners,
    pub(super) conns: HashMap<usize, AsgiConn>,
    next_id: usize,
    pub(super) lifecycle: WorkerLifecycle,
    commands: Vec<WorkerCommand>,
    pub(super) dates: DateCache,
    exit_code: Option<i32>,
    pub(super) now: Instant,
    /// Events for Python found outside `poll` (a finished response whose
    /// connection had the next request buffered).
    pub(super) pending: Vec<(u8, usize, Option<Py<PyDict>>)>,
    received: Vec<Signal>,
    /// `--reload`: the source file that changed, if any (the worker then
    /// restarts).
    changed_file: Option<ChangedFile>,
    restarting: bool,
    /// Environ keys (lower case) the access log prints, `%({name}e)s`.
    pub(super) log_environ: Vec<String>,
    /// Makes the poll's descriptor readable, so the loop calls `poll`
    /// soon: set once per wake-up (`woken`).
    waker: Waker,
    woken: bool,
    /// HTTP/2 connections a task changed since the last `poll`.
    pub(super) h2_dirty: Vec<usize>,
    /// WebSockets with sent frames not written yet (`flush_queued`).
    pub(super) ws_queued: Vec<usize>,
    /// How a new connection picks HTTP/1.1 or HTTP/2, and HTTP/2's settings.
    pub(super) negotiation: Negotiation,
    pub(super) h2_config: H2Config,
    /// `http.response.pathsend` may use sendfile(2): plain connections,
    /// `sendfile` not turned off.
    sendfile: bool,
}

impl AsgiDriver {
    pub fn new(
        start: WorkerStart,
        cfg: WorkerConfig,
        consts: ScopeConstants,
        ws: WsOptions,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&start.signals.read_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let listeners = Listeners::new(start.listeners, FIRST_LISTENER)?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let lifecycle = WorkerLifecycle::new(cfg.lifecycle.clone(), clock::now());
        let log_environ = cfg
            .access_log
            .as_ref()
            .map(|log| log.environ_names())
            .unwrap_or_default();
        Ok(AsgiDriver {
            cfg,
            consts,
            ws,
            poll,
            events: Events::with_capacity(256),
            signals: start.signals,
            control: start.control,
            heartbeat: start.heartbeat,
            master_pid: start.master_pid,
            listeners,
            conns: HashMap::new(),
            next_id: 0,
            lifecycle,
            commands: Vec::new(),
            dates: DateCache::new(),
            exit_code: None,
            now: clock::now(),
            pending: Vec::new(),
            received: Vec::new(),
            changed_file: None,
            restarting: false,
            log_environ,
            waker,
            woken: false,
            h2_dirty: Vec::new(),
            ws_queued: Vec::new(),
            negotiation: Negotiation::new(&[], "off", false),
            h2_config: H2Config::default(),
            sendfile: false,
        })
    }

    pub fn set_changed_file(&mut self, changed_file: Option<ChangedFile>) {
        self.changed_file = changed_file;
    }

    pub fn set_http2(&mut self, negotiation: Negotiation, config: H2Config) {
        self.negotiation = negotiation;
        self.h2_config = config;
    }

    /// Makes the loop call `poll` soon (once per wake-up).
    pub(super) fn wake_soon(&mut self) {
        if !std::mem::replace(&mut self.woken, true) && self.waker.wake().is_err() {
            self.woken = false;
        }
    }

    pub fn set_sendfile(&mut self, on: bool) {
        self.sendfile = on;
    }

    /// Tells Python, once per request, that the client of connection `id`
    /// is gone while its task runs.
    pub(super) fn note_gone(&mut self, id: usize) {
        if let Some(c) = self.conns.get_mut(&id) {
            if c.stage == Stage::InRequest && c.disconnected && !c.gone_reported {
                c.gone_reported = true;
                self.pending.push((EV_GONE, id, None));
            }
        }
    }

    fn read_clock(&mut self) {
        self.now = clock::now();
        self.heartbeat
            .beat(self.now.since_epoch().as_millis() as u64);
    }

    pub(super) fn lifecycle_event(&mut self, event: WorkerEvent) {
        lifecycle_host::lifecycle_event(self, event);
    }

    fn register_listeners(&mut self, on: bool) -> io::Result<()> {
        self.listeners.set_accepting(self.poll.registry(), on)
    }

    fn accept(&mut self, py: Python<'_>, index: usize) {
        while self.lifecycle.accepting() {
            let (stream, peer, server) = match self.listeners.accept(index) {
                Accepted::Client(stream, peer, server) => (stream, peer, server),
                Accepted::Retry => continue,
                Accepted::Done => return,
            };
            if let Some(id) = self.open(stream, peer, server) {
                self.conns.entry(id).and_modify(|c| c.owe_read = true);
                self.advance(py, id);
            }
        }
    }

    /// Makes and registers the connection; its id, or `None` when it could
    /// not be registered (it is dropped, so closed).
    fn open(&mut self, stream: Stream, peer: PeerAddr, server: ServerAddr) -> Option<usize> {
        let mut conn = open_connection(&self.cfg, stream, peer, server)?;
        let id = self.next_id;
        self.next_id += 1;
        let registered = self.poll.registry().register(
            conn.stream.as_source(),
            Token(FIRST_CONNECTION + id),
            Interest::READABLE | Interest::WRITABLE,
        );
        registered.ok()?;
        let deciding = self.deciding_for(&conn);
        let mut conn = AsgiConn::new(conn);
        conn.deciding = deciding;
        self.conns.insert(id, conn);
        self.lifecycle_event(WorkerEvent::ConnectionOpened);
        Some(id)
    }

    pub(super) fn close(&mut self, id: usize) {
        let Some(mut c) = self.conns.remove(&id) else {
            return;
        };
        let _ = self.poll.registry().deregister(c.conn.stream.as_source());
        if c.stage == Stage::InRequest {
            // Closed before its task finished: counted as answered with no
            // response, so it is no longer in flight.
            let method = c.conn.http.request_head().map_or("", |h| h.method());
            let method = rcorn_io::metrics::method(method);
            rcorn_io::metrics::request_finished(method, 0, c.started.elapsed());
        }
        if let Some(h2) = c.h2.take() {
            super::h2::count_unfinished(&h2);
        }
        drop(c);
        self.lifecycle_event(WorkerEvent::ConnectionClosed);
    }

    /// A readiness event for connection `id`.
    fn on_event(&mut self, py: Python<'_>, id: usize, readable: bool, writable: bool) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.stage == Stage::Http2 {
            return self.h2_on_event(py, id, readable);
        }
        if writable && (!c.conn.out.is_empty() || c.file.is_some()) {
            let flushed = c.flush();
            if c.sending && !matches!(flushed, Ok(false)) {
                c.sending = false;
                self.pending.push((EV_WAKE, id, None));
            }
            if flushed.is_err() {
                c.file = None;
                c.conn.out.clear();
                c.write_failed = true;
                c.disconnected = true;
                self.note_gone(id);
            }
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.stage == Stage::WebSocket {
            if readable {
                self.ws_on_readable(id);
            } else {
                self.ws_settle(id);
            }
            return;
        }
        if !readable {
            if c.stage == Stage::Closing && (c.conn.out.is_empty() || c.write_failed) {
                self.close(id);
            }
            return;
        }
        if c.stage != Stage::InRequest {
            c.owe_read = true;
            self.advance(py, id);
            return;
        }
        self.read_in_request(id);
        self.note_gone(id);
    }

    fn retire_idle_connections(&mut self) {
        let ids: Vec<usize> = self.conns.keys().copied().collect();
        let now = self.now;
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if c.stage == Stage::Idle {
                c.owe_read = true;
                // Read once: a request already on its way is served. (The
                // lifecycle runs inside calls from Python: the GIL is held.)
                Python::attach(|py| self.advance(py, id));
                if let Some(c) = self.conns.get_mut(&id) {
                    c.conn.http.retire(now);
                }
            }
        }
    }

    fn expire_connections(&mut self) {
        let now = self.now;
        let expired: Vec<usize> = self
            .conns
            .iter_mut()
            .filter(|(_, c)| !matches!(c.stage, Stage::InRequest | Stage::WebSocket | Stage::Http2))
            .filter_map(|(id, c)| c.conn.http.handle_timeout(now).then_some(*id))
            .collect();
        for id in expired {
            self.close(id);
        }
    }

    fn next_wake(&self) -> Duration {
        let mut timeout = Duration::from_secs(1);
        if let Some(d) = self.lifecycle.next_deadline() {
            timeout = timeout.min(d.saturating_since(self.now));
        }
        for c in self.conns.values() {
            let deadline = match &c.ws {
                Some(ws) if c.stage == Stage::WebSocket => {
                    ws.machine.as_ref().and_then(|m| m.next_deadline())
                }
                _ if c.stage == Stage::Http2 => {
                    c.h2.as_ref().and_then(|h2| h2.machine.next_deadline())
                }
                _ => c
                    .conn
                    .http
                    .next_deadline()
                    .into_iter()
                    .chain(Self::sniff_deadline(c))
                    .min(),
            };
            if let Some(deadline) = deadline {
                timeout = timeout.min(deadline.saturating_since(self.now));
            }
        }
        timeout.max(Duration::from_millis(1))
    }
}

#[pymethods]
impl AsgiDriver {
    /// The descriptor the event loop watches: readable when `poll` has
    /// something to do.
    fn fileno(&self) -> i32 {
        self.poll.as_raw_fd()
    }

    /// The application is ready (lifespan startup done): accept, and tell
    /// the master.
    fn start(&mut self) -> PyResult<()> {
        self.read_clock();
        self.register_listeners(true)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        self.lifecycle_event(WorkerEvent::Booted);
        self.control
            .send(ControlMessage::Ready {
                pid: std::process::id() as i32,
            })
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Beats the heartbeat (while the loop runs something else than
    /// `poll`, such as the lifespan startup).
    fn beat(&mut self) {
        self.read_clock();
    }

    /// Does what is ready without waiting; returns `(kind, id, scope)`
    /// tuples for Python.
    fn poll<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.read_clock();
        self.woken = false;
        self.flush_queued();
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        match self.poll.poll(&mut events, Some(Duration::ZERO)) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                return Err(PyRuntimeError::new_err(e.to_string()))
            }
            _ => {}
        }
        for event in events.iter() {
            match event.token() {
                SIGNALS | WAKER => {}
                Token(t) if (FIRST_LISTENER..FIRST_CONNECTION).contains(&t) => {
                    self.accept(py, t - FIRST_LISTENER)
                }
                Token(t) => {
                    let id = t - FIRST_CONNECTION;
                    if event.is_read_closed() || event.is_error() {
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.fin_seen = true;
                        }
                    }
                    self.on_event(
                        py,
                        id,
                        event.is_readable() || event.is_read_closed() || event.is_error(),
                        event.is_writable(),
                    )
                }
            }
        }
        self.events = events;
        self.h2_pump_dirty(py);
        self.housekeeping(py);
        self.take_pending(py)
    }

    /// Seconds until `poll` must run even if nothing is ready.
    fn timeout(&self) -> f64 {
        self.next_wake().as_secs_f64()
    }

    /// The worker's exit code, once its lifecycle says it is to exit.
    fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The events found since the last `poll`, outside it.
    fn take_pending<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (kind, id, scope) in self.pending.drain(..) {
            list.append((kind, id, scope))?;
        }
        Ok(list)
    }

    /// Logs `message` and the exception's traceback to the error log.
    fn log_exception(&self, py: Python<'_>, exc: Bound<'_, PyAny>, message: &str) {
        crate::traceback::log_exception(py, &PyErr::from_value(exc), message);
    }

    /// Logs a line at `level` (`info`, `warning` or `error`).
    fn log(&self, level: &str, message: &str) {
        match level {
            "error" => rcorn_io::error!("{message}"),
            "warning" => rcorn_io::warning!("{message}"),
            "debug" => rcorn_io::debug!("{message}"),
            _ => rcorn_io::info!("{message}"),
        }
    }

    /// The request's next message for `receive`: `(DATA, body,
    /// more_body)`, `(WAIT, None, False)` (an `EV_WAKE` will come) or
    /// `(DISCONNECT, None, False)`.
    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
    ) -> (u8, Option<Bound<'py, PyBytes>>, bool) {
        if split(id).is_some() {
            return self.h2_receive(py, id);
        }
        self.receive_message(py, id)
    }

    /// `http.response.start`: status and headers (pairs of bytes);
    /// `trailers`: trailer fields follow the body (it is then chunked).
    fn start_response(
        &mut self,
        id: usize,
        status: u16,
        headers: Bound<'_, PyAny>,
        trailers: bool,
    ) -> PyResult<()> {
        if split(id).is_some() {
            return self.h2_start_response(id, status, &headers, trailers);
        }
        self.begin_response(id, status, &headers, trailers)
    }

    /// An interim response (`103 Early Hints`) before `start_response`.
    fn informational(&mut self, id: usize, status: u16, headers: Bound<'_, PyAny>) -> PyResult<()> {
        if split(id).is_some() {
            return self.h2_informational(id, status, &headers);
        }
        self.interim_response(id, status, &headers)
    }

    /// `http.response.trailers`: fields for the end of the chunked body.
    fn send_trailers(&mut self, id: usize, headers: Bound<'_, PyAny>) -> PyResult<()> {
        if split(id).is_some() {
            return self.h2_trailers(id, &headers);
        }
        self.trailer_fields(id, &headers)
    }

    /// Whether an access log is written (the `post_request` hook then gets
    /// an environ, as in gunicorn's asgi worker).
    fn access_log_enabled(&self) -> bool {
        self.cfg.access_log.is_some()
    }

    /// `http.response.body`; `True` when the task should wait for an
    /// `EV_WAKE` before sending more (the client reads slower).
    fn send_body(&mut self, id: usize, body: &[u8], more: bool) -> PyResult<bool> {
        if split(id).is_some() {
            return self.h2_body(id, body, more);
        }
        self.body_chunk(id, body, more)
    }

    /// Whether `send_file` may be used for `id` (else Python reads the
    /// file): never for an HTTP/2 stream, whose body goes out in DATA
    /// frames.
    fn sendfile_enabled(&self, id: usize) -> bool {
        self.sendfile && split(id).is_none()
    }

    /// `http.response.pathsend` through sendfile(2): `len` bytes of the
    /// open file `fd` as the whole body; `True` when the task should wait
    /// for an `EV_WAKE` (the client reads slower).
    fn send_file(&mut self, id: usize, fd: i32, len: u64) -> PyResult<bool> {
        self.file_body(id, fd, len)
    }

    /// `websocket.accept`: the `101` answer (subprotocol, headers as pairs
    /// of bytes) and the connection becomes a WebSocket.
    fn ws_accept(
        &mut self,
        id: usize,
        subprotocol: Option<String>,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> PyResult<()> {
        self.ws_accept_handshake(id, subprotocol.as_deref(), &headers)
    }

    /// The websocket's next event: `(WS_TEXT, str)`, `(WS_BYTES, bytes)`,
    /// `(WS_WAIT, None)` (an `EV_WAKE` will come) or `(WS_DISCONNECT,
    /// (code, reason))`.
    fn ws_receive<'py>(&mut self, py: Python<'py>, id: usize) -> (u8, Bound<'py, PyAny>) {
        self.ws_next(py, id)
    }

    /// `websocket.send` of `str` or `bytes`: `SENT`, `SENT_FLUSH` (call
    /// `ws_flush` before the loop waits), `SENT_WAIT` (wait for an
    /// `EV_WAKE`: the client reads slower) or `GONE`.
    fn ws_send(&mut self, id: usize, data: Bound<'_, PyAny>) -> PyResult<u8> {
        self.ws_send_message(id, &data)
    }

    /// Writes the frames `ws_send` queued; the events for Python this
    /// found (a task to wake), `None` when there are none.
    fn ws_flush<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        self.flush_queued();
        match self.pending.is_empty() {
            true => Ok(None),
            false => self.take_pending(py).map(Some),
        }
    }

    /// `websocket.close` after the accept.
    fn ws_close(&mut self, id: usize, code: u16, reason: &str) -> PyResult<()> {
        self.ws_close_message(id, code, reason)
    }

    /// The task of an accepted websocket is done.
    fn ws_finish(&mut self, id: usize, failed: bool) {
        self.ws_end(id, failed)
    }

    /// The task is done with the request; `failed`: it raised, or ended
    /// without completing its response. The status sent and the body
    /// bytes it had.
    fn finish(&mut self, py: Python<'_>, id: usize, failed: bool) -> (u16, u64) {
        if split(id).is_some() {
            return self.h2_finish(id, failed);
        }
        self.end_exchange(py, id, failed)
    }

    /// `finish` for an HTTP task, with what Python must act on next, in
    /// one call (it runs once per request): `(status, body_bytes, events,
    /// exiting)`; `events` are those found meanwhile (the connection's
    /// next request, buffered already), `None` when there are none.
    #[allow(clippy::type_complexity)]
    fn finish_request<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
        failed: bool,
    ) -> PyResult<(u16, u64, Option<Bound<'py, PyList>>, bool)> {
        let (status, sent) = self.finish(py, id, failed);
        let events = match self.pending.is_empty() {
            true => None,
            false => Some(self.take_pending(py)?),
        };
        Ok((status, sent, events, self.exit_code.is_some()))
    }
}

impl AsgiDriver {
    /// Signals, the master's life, deadlines: what a wake-up checks
    /// besides readiness.
    fn housekeeping(&mut self, py: Python<'_>) {
        let mut received = std::mem::take(&mut self.received);
        self.signals.drain(&mut received);
        for sig in received.drain(..) {
            if let Some(event) = signal_event(sig, self.heartbeat) {
                self.lifecycle_event(event);
            }
        }
        self.received = received;
        if !self.restarting {
            if let Some(path) = self.changed_file.as_mut().and_then(|changed| changed(py)) {
                rcorn_io::info!("Worker reloading: {} modified", path.display());
                self.restarting = true;
                self.lifecycle_event(WorkerEvent::Replaced);
            }
        }
        if nix::unistd::getppid().as_raw() != self.master_pid {
            self.lifecycle_event(WorkerEvent::ParentChanged);
        }
        self.expire_connections();
        self.ws_timers();
        self.h2_timers(py);
        self.sniff_timers(py);
        lifecycle_host::tick_if_due(self);
    }
}

impl LifecycleHost for AsgiDriver {
    fn lifecycle_parts(&mut self) -> (&mut WorkerLifecycle, &mut Vec<WorkerCommand>) {
        (&mut self.lifecycle, &mut self.commands)
    }

    fn now(&self) -> Instant {
        self.now
    }

    fn set_accepting(&mut self, on: bool) {
        let _ = self.register_listeners(on);
    }

    fn retire_idle(&mut self) {
        self.retire_idle_connections();
        self.ws_go_away();
        self.h2_go_away();
    }

    fn exit(&mut self, code: i32) {
        self.exit_code.get_or_insert(code);
    }
}
