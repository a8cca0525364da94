//! The gevent worker's main greenlet side: one mio `Poll` holds the
//! worker's signal pipe, its listeners (while it accepts) and a waker; the
//! main greenlet waits for the poll's descriptor on the hub, up to
//! [`GeventDriver::timeout`], and calls [`GeventDriver::poll`], which
//! accepts (a [`GreenConn`] for each new connection: Python starts its
//! greenlet), beats the heartbeat and runs the worker's lifecycle
//! (signals, `max_requests`, draining, exit). Connections are not in the
//! poll: each one's greenlet waits on the hub for its own socket.

use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use nix::sys::signal::Signal;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rcorn_core::worker::{WorkerEvent, WorkerSignal};
use rcorn_io::accept::{open_connection, Accepted, Listeners};
use rcorn_io::control::{ControlMessage, ControlSender};
use rcorn_io::lifecycle_host::worker_signal;
use rcorn_io::signals::SignalPipe;
use rcorn_io::worker_loop::WorkerConfig;
use rcorn_io::{App, WorkerStart};

use super::conn::GreenConn;
use super::shared::Shared;
use crate::wsgi::WsgiApp;

const SIGNALS: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_LISTENER: usize = 2;

#[pyclass(unsendable, module = "rcorn")]
pub struct GeventDriver {
    shared: Rc<Shared>,
    poll: Poll,
    events: Events,
    signals: SignalPipe,
    control: ControlSender,
    master_pid: i32,
    received: Vec<Signal>,
    /// `--reload` found a changed file: the worker is draining for it.
    restarting: bool,
}

impl GeventDriver {
    pub fn new(start: WorkerStart, cfg: WorkerConfig, app: WsgiApp) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&start.signals.read_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let listeners = Listeners::new(start.listeners, FIRST_LISTENER)?;
        let registry = poll.registry().try_clone()?;
        let shared = Shared::new(cfg, listeners, registry, waker, start.heartbeat, app);
        Ok(GeventDriver {
            shared: Rc::new(shared),
            poll,
            events: Events::with_capacity(64),
            signals: start.signals,
            control: start.control,
            master_pid: start.master_pid,
            received: Vec::new(),
            restarting: false,
        })
    }

    /// Accepts from listener `index` while the lifecycle lets it.
    fn accept(&mut self, index: usize, out: &mut Vec<GreenConn>) {
        while self.shared.lifecycle.borrow().accepting() {
            let accepted = self.shared.listeners.borrow_mut().accept(index);
            let (stream, peer, server) = match accepted {
                Accepted::Client(stream, peer, server) => (stream, peer, server),
                Accepted::Retry => continue,
                Accepted::Done => return,
            };
            let Some(conn) = open_connection(&self.shared.cfg, stream, peer, server) else {
                continue;
            };
            self.shared.lifecycle_event(WorkerEvent::ConnectionOpened);
            out.push(GreenConn::new(conn, self.shared.clone()));
        }
    }

    /// Signals, `--reload`, the master's life, the draining deadline.
    fn housekeeping(&mut self) {
        let mut received = std::mem::take(&mut self.received);
        self.signals.drain(&mut received);
        if !received.is_empty() {
            self.shared.app.borrow_mut().signals_arrived();
        }
        for sig in received.drain(..) {
            if let Some(s) = worker_signal(sig) {
                self.shared.lifecycle_event(WorkerEvent::Signal(s));
            }
        }
        self.received = received;
        if !self.restarting && self.shared.app.borrow_mut().wants_restart() {
            self.restarting = true;
            self.shared
                .lifecycle_event(WorkerEvent::Signal(WorkerSignal::Term));
        }
        if nix::unistd::getppid().as_raw() != self.master_pid {
            self.shared.lifecycle_event(WorkerEvent::ParentChanged);
        }
        self.shared.tick_if_due();
    }
}

#[pymethods]
impl GeventDriver {
    /// The descriptor the main greenlet waits for: readable when `poll`
    /// has something to do.
    fn fileno(&self) -> i32 {
        self.poll.as_raw_fd()
    }

    /// The application is loaded: accept, and tell the master.
    fn start(&mut self) -> PyResult<()> {
        self.shared.set_accepting(true);
        self.shared.lifecycle_event(WorkerEvent::Booted);
        self.control
            .send(ControlMessage::Ready {
                pid: std::process::id() as i32,
            })
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Does what is ready without waiting; returns the new connections,
    /// each to be served by a greenlet of its own.
    fn poll(&mut self) -> PyResult<Vec<GreenConn>> {
        self.shared.read_clock();
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        match self.poll.poll(&mut events, Some(Duration::ZERO)) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                return Err(PyRuntimeError::new_err(e.to_string()))
            }
            _ => {}
        }
        let mut accepted = Vec::new();
        for event in events.iter() {
            let index = self.shared.listeners.borrow().index_of(event.token());
            if let Some(index) = index {
                self.accept(index, &mut accepted);
            }
        }
        self.events = events;
        self.housekeeping();
        Ok(accepted)
    }

    /// Seconds until `poll` must run even if nothing is ready.
    fn timeout(&self) -> f64 {
        let now = self.shared.read_clock();
        let mut timeout = Duration::from_secs(1);
        if let Some(d) = self.shared.lifecycle.borrow().next_deadline() {
            timeout = timeout.min(d.saturating_since(now));
        }
        timeout.max(Duration::from_millis(1)).as_secs_f64()
    }

    /// Whether idle connections are to be woken now (the worker drains);
    /// `True` once per drain.
    fn take_retire(&self) -> bool {
        self.shared.retire.replace(false)
    }

    /// The worker's exit code, once its lifecycle says it is to exit.
    fn exit_code(&self) -> Option<i32> {
        self.shared.exit_code.get()
    }

    /// Logs a line at `level` (`info`, `warning`, `error` or `debug`).
    fn log(&self, level: &str, message: &str) {
        match level {
            "error" => rcorn_io::error!("{message}"),
            "warning" => rcorn_io::warning!("{message}"),
            "debug" => rcorn_io::debug!("{message}"),
            _ => rcorn_io::info!("{message}"),
        }
    }
}
