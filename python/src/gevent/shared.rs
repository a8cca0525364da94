//! What every greenlet of a gevent worker shares: the lifecycle, the
//! listeners (registered only while accepting), the access log, and the
//! applications requests are served with. Greenlets take turns on one
//! thread, so plain `RefCell`s do, each borrowed only between waits (a
//! borrow held across a wait would meet another greenlet's).

use std::cell::{Cell, RefCell, RefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use mio::{Registry, Waker};
use pyo3::prelude::*;
use rcorn_core::heartbeat::HeartbeatSlot;
use rcorn_core::time::Instant;
use rcorn_core::worker::{WorkerCommand, WorkerEvent, WorkerLifecycle};
use rcorn_io::accept::Listeners;
use rcorn_io::access::AccessLogger;
use rcorn_io::clock;
use rcorn_io::connection_task::TaskHost;
use rcorn_io::exchange::{Connection, ExchangeSummary};
use rcorn_io::lifecycle_host::{self, LifecycleHost};
use rcorn_io::worker_loop::WorkerConfig;

use crate::wsgi::WsgiApp;

pub struct Shared {
    pub cfg: WorkerConfig,
    pub lifecycle: RefCell<WorkerLifecycle>,
    pub listeners: RefCell<Listeners>,
    /// The driver's poll, for the listeners to join or leave.
    registry: Registry,
    /// Wakes the driver's poll (and so the main greenlet): the worker is
    /// to exit, or to retire its idle connections.
    waker: Waker,
    heartbeat: &'static HeartbeatSlot,
    pub exit_code: Cell<Option<i32>>,
    /// Idle connections are to be woken and retired.
    pub retire: Cell<bool>,
    /// The lifecycle no longer takes requests (see `TaskHost::draining`).
    draining: AtomicBool,
    /// The application as loaded: the main greenlet's signal handling and
    /// `--reload` check, and the pattern of the ones requests use.
    pub app: RefCell<WsgiApp>,
    /// Applications free to serve a request (one per request in flight,
    /// each with its own environ builder). Boxed: one is lent to a
    /// greenlet as a pointer, and stays where it is while that greenlet's
    /// stack is moved aside.
    #[allow(clippy::vec_box)]
    spare_apps: RefCell<Vec<Box<WsgiApp>>>,
    /// Access loggers free to log a request (a log line may wait).
    spare_loggers: RefCell<Vec<AccessLogger>>,
}

impl Shared {
    pub fn new(
        cfg: WorkerConfig,
        listeners: Listeners,
        registry: Registry,
        waker: Waker,
        heartbeat: &'static HeartbeatSlot,
        app: WsgiApp,
    ) -> Shared {
        let lifecycle = WorkerLifecycle::new(cfg.lifecycle.clone(), clock::now());
        Shared {
            cfg,
            lifecycle: RefCell::new(lifecycle),
            listeners: RefCell::new(listeners),
            registry,
            waker,
            heartbeat,
            exit_code: Cell::new(None),
            retire: Cell::new(false),
            draining: AtomicBool::new(false),
            app: RefCell::new(app),
            spare_apps: RefCell::new(Vec::new()),
            spare_loggers: RefCell::new(Vec::new()),
        }
    }

    /// Reads the clock and beats the heartbeat with it.
    pub fn read_clock(&self) -> Instant {
        let now = clock::now();
        self.heartbeat.beat(now.since_epoch().as_millis() as u64);
        now
    }

    /// Hands `event` to the lifecycle; its commands are carried out by
    /// io's `lifecycle_host`, as in the other worker loops.
    pub fn lifecycle_event(&self, event: WorkerEvent) {
        lifecycle_host::lifecycle_event(&mut self.host(), event);
    }

    /// [`WorkerEvent::Tick`] when the lifecycle's own deadline has come.
    pub fn tick_if_due(&self) {
        lifecycle_host::tick_if_due(&mut self.host());
    }

    /// The lifecycle borrowed for one event and its commands (no command
    /// reaches back for it), with the clock read once.
    fn host(&self) -> Host<'_> {
        Host {
            now: self.read_clock(),
            lifecycle: self.lifecycle.borrow_mut(),
            commands: Vec::new(),
            shared: self,
        }
    }

    pub fn set_accepting(&self, on: bool) {
        if let Err(e) = self
            .listeners
            .borrow_mut()
            .set_accepting(&self.registry, on)
        {
            rcorn_io::warning!("cannot change the listeners' registration: {e}");
        }
    }

    fn log_access(&self, conn: &Connection, summary: &ExchangeSummary) {
        let Some(template) = &self.cfg.access_log else {
            return;
        };
        let spare = self.spare_loggers.borrow_mut().pop();
        let mut logger = spare.unwrap_or_else(|| template.clone());
        logger.log(conn, summary);
        self.spare_loggers.borrow_mut().push(logger);
    }
}

/// The gevent worker as its lifecycle's commands reach it.
struct Host<'s> {
    shared: &'s Shared,
    lifecycle: RefMut<'s, WorkerLifecycle>,
    commands: Vec<WorkerCommand>,
    now: Instant,
}

impl LifecycleHost for Host<'_> {
    fn lifecycle_parts(&mut self) -> (&mut WorkerLifecycle, &mut Vec<WorkerCommand>) {
        (&mut self.lifecycle, &mut self.commands)
    }

    fn now(&self) -> Instant {
        self.now
    }

    fn set_accepting(&mut self, on: bool) {
        self.shared.set_accepting(on);
    }

    /// Idle connections wait in their own greenlets: the main greenlet is
    /// woken to wake them.
    fn retire_idle(&mut self) {
        self.shared.retire.set(true);
        let _ = self.shared.waker.wake();
    }

    fn exit(&mut self, code: i32) {
        if self.shared.exit_code.get().is_none() {
            self.shared.exit_code.set(Some(code));
        }
        let _ = self.shared.waker.wake();
    }

    fn decided(&mut self) {
        if !self.lifecycle.accepting_requests() {
            // Before the commands run: requests already being served end
            // their connections too.
            self.shared.draining.store(true, Ordering::Relaxed);
        }
    }
}

impl TaskHost for Shared {
    type App = WsgiApp;

    fn now(&self) -> Instant {
        self.read_clock()
    }

    fn may_keep_alive(&self) -> bool {
        self.lifecycle.borrow().may_keep_alive()
    }

    fn draining(&self) -> &AtomicBool {
        &self.draining
    }

    fn checkout_app(&self) -> Box<WsgiApp> {
        let spare = self.spare_apps.borrow_mut().pop();
        spare.unwrap_or_else(|| Box::new(Python::attach(|py| self.app.borrow().for_thread(py))))
    }

    fn checkin_app(&self, app: Box<WsgiApp>) {
        self.spare_apps.borrow_mut().push(app);
    }

    fn request_finished(&self, conn: &Connection, summary: &ExchangeSummary) {
        self.log_access(conn, summary);
        rcorn_io::statsd::request(summary.status, summary.duration);
        self.lifecycle_event(WorkerEvent::RequestFinished);
    }
}
