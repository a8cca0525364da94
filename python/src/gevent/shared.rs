//! What every greenlet of a gevent worker shares: the lifecycle, the
//! listeners (registered only while accepting), the access log, and the
//! applications requests are served with. Greenlets take turns on one
//! thread, so plain `RefCell`s do, each borrowed only between waits (a
//! borrow held across a wait would meet another greenlet's).

use std::cell::{Cell, RefCell};
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

    pub fn lifecycle_event(&self, event: WorkerEvent) {
        let now = self.read_clock();
        let mut commands = Vec::new();
        let accepting_requests = {
            let mut lifecycle = self.lifecycle.borrow_mut();
            lifecycle.handle(now, event, &mut commands);
            lifecycle.accepting_requests()
        };
        if !accepting_requests {
            // Before the commands run: requests already being served end
            // their connections too.
            self.draining.store(true, Ordering::Relaxed);
        }
        for command in commands {
            match command {
                WorkerCommand::StopAccepting => self.set_accepting(false),
                WorkerCommand::ResumeAccepting => self.set_accepting(true),
                WorkerCommand::RetireIdleConnections => {
                    self.retire.set(true);
                    let _ = self.waker.wake();
                }
                WorkerCommand::ReopenLogs => rcorn_io::log::reopen(),
                WorkerCommand::Exit { code } => {
                    if self.exit_code.get().is_none() {
                        self.exit_code.set(Some(code));
                    }
                    let _ = self.waker.wake();
                }
            }
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
