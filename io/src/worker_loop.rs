//! A worker's event loop, shared by both worker classes.
//!
//! One thread owns the listeners and every connection in a mio `Poll`: it
//! accepts, reads and decodes request heads, and an idle keep-alive
//! connection or a slow client costs a few hundred bytes and no thread.
//! What happens once a head is complete is the only difference:
//!
//! - `sync`: the loop's own thread calls the application, which reads the
//!   body and writes the response through the
//!   [`Exchange`](crate::exchange::Exchange), waiting only on that
//!   connection; then the loop goes on.
//! - `gthread`: the connection is handed to an [`AppPool`] thread, which
//!   serves the request the same way and hands the connection back; the
//!   loop keeps accepting, reading and beating the heartbeat meanwhile.
//!
//! Unlike gunicorn's sync worker, both keep connections alive. The
//! worker's lifecycle decisions (draining, max_requests, worker_connections,
//! exit) and its connections' (deadlines, expiry, retirement, batched
//! writes) come from `rcorn_core::worker` (`WorkerLifecycle` inside
//! `ConnTable`); this loop owns the sockets and does what they say.

use std::io;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use rcorn_core::http::{ConnEvent, DateCache, DecodeError};
use rcorn_core::time::Instant;
use rcorn_core::worker::{WorkerCommand, WorkerEvent, WorkerLifecycle, WorkerSignal, WriteBatch};

use crate::accept::{open_connection, Accepted, Listeners};
use crate::access::AccessLogger;
use crate::app::App;
use crate::app_pool::{AppPool, Job, Returned};
use crate::blocking::Deadline;
use crate::clock;
use crate::conn_table::{ConnEntry, ConnTable};
use crate::control::ControlMessage;
use crate::exchange::{Connection, ExchangeContext};
use crate::lifecycle_host::{self, worker_signal, LifecycleHost};
use crate::master::WorkerStart;
use crate::request;
use crate::signals::SignalPipe;
use crate::stream::PeerAddr;
pub use crate::worker_config::{ProxyPolicy, WorkerConfig};

mod h2;
use h2::{H2Side, FIRST_H2};

const SIGNALS: Token = Token(0);
/// Application threads wake the loop through it when they hand a
/// connection back.
const WAKER: Token = Token(1);
const FIRST_LISTENER: usize = 2;
const FIRST_CONNECTION: usize = 1 << 20;
/// How often a gthread worker's loop checks that the application runtime
/// can run ([`App::runtime_responsive`]) before it beats.
const RUNTIME_CHECK_EVERY: Duration = Duration::from_secs(1);
/// The longest the loop waits to write an error response.
const REJECT_WRITE_WAIT: Duration = Duration::from_millis(100);

/// How far [`Worker::read_and_serve`] reads a connection's socket.
#[derive(Clone, Copy)]
enum ReadUntil {
    /// Until a read stops short ([`Connection::socket_drained`]): saves the
    /// read that would only say `EAGAIN`, one system call per request.
    Drained,
    /// Until `EAGAIN` or the end: readiness edges may have been missed or
    /// may not come (one came while the connection was with an application
    /// thread, the worker is retiring it, or the peer's FIN came with the
    /// bytes).
    WouldBlock,
}

enum Fate {
    Keep,
    Close,
    /// A request head is complete and an application thread is to serve
    /// it, with this forwarded scheme.
    HandOff(Option<&'static str>),
    /// The connection speaks HTTP/2 from here on.
    Http2,
}

struct Worker<'a, A: App> {
    cfg: WorkerConfig,
    /// Serves requests itself in a sync worker; in both, runs the
    /// application runtime's signal handlers and reload checks.
    app: &'a mut A,
    /// The gthread worker's application threads; `None` for sync.
    pool: Option<AppPool>,
    /// HTTP/2 connections, when the worker serves HTTP/2.
    h2: Option<H2Side>,
    poll: Poll,
    listeners: Listeners,
    /// The connections by slot, with the worker's lifecycle and the
    /// responses held for a batched write (a sync worker's; on the
    /// millisecond clock of [`Worker::now`] its 1 ms window is 1 to 2 ms):
    /// core's policy, which this loop carries out.
    conns: ConnTable,
    commands: Vec<WorkerCommand>,
    /// The slots the table names to expire or retire (reused).
    named: Vec<usize>,
    dates: DateCache,
    heartbeat: &'static rcorn_core::heartbeat::HeartbeatSlot,
    exit_code: Option<i32>,
    /// The monotonic clock as last read ([`Worker::read_clock`]): after
    /// each poll, each exchange and each batch of writes, the only steps
    /// that may take long. Deadlines and the lifecycle use it, so a
    /// request costs one clock read, not one per use.
    now: Instant,
}

/// Runs a sync worker until its lifecycle says exit; returns the exit code.
pub fn run_sync_worker<A: App>(
    start: WorkerStart,
    cfg: WorkerConfig,
    app: &mut A,
) -> io::Result<i32> {
    run_worker(start, cfg, app, |_| Ok((None, None)))
}

/// Runs a gthread worker: this thread does the socket work, one thread per
/// handler in `handlers` runs the application. `app` serves no requests; it
/// runs the signal handlers and reload checks of the application runtime.
pub fn run_gthread_worker<A: App, H: App + Send + 'static>(
    start: WorkerStart,
    cfg: WorkerConfig,
    app: &mut A,
    handlers: Vec<H>,
) -> io::Result<i32> {
    let access_log = cfg.access_log.clone();
    let io_timeout = cfg.io_timeout;
    let serves_h2 = cfg.h2.is_some();
    run_worker(start, cfg, app, move |poll| {
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let h2 = serves_h2
            .then(|| H2Side::new(std::sync::Arc::new(crate::h2::LoopWake::new(waker.clone()))));
        let pool = AppPool::start(handlers, waker, access_log, io_timeout)?;
        Ok((Some(pool), h2))
    })
}

fn run_worker<A: App>(
    start: WorkerStart,
    cfg: WorkerConfig,
    app: &mut A,
    make_pool: impl FnOnce(&Poll) -> io::Result<(Option<AppPool>, Option<H2Side>)>,
) -> io::Result<i32> {
    let WorkerStart {
        listeners,
        heartbeat,
        control,
        master_pid,
        signals,
        ..
    } = start;
    let poll = Poll::new()?;
    poll.registry().register(
        &mut SourceFd(&signals.read_fd()),
        SIGNALS,
        Interest::READABLE,
    )?;
    let listeners = Listeners::new(listeners, FIRST_LISTENER)?;
    let (pool, h2) = make_pool(&poll)?;
    let mut worker = Worker::new(cfg, app, pool, poll, listeners, heartbeat);
    worker.h2 = h2;
    worker.register_listeners(true)?;
    worker.lifecycle_event(WorkerEvent::Booted);
    control.send(ControlMessage::Ready {
        pid: std::process::id() as i32,
    })?;
    let mut outside = Outside {
        signals: &signals,
        master_pid,
        received: Vec::new(),
        returned: Vec::new(),
        restarting: false,
        runtime_checked: worker.now,
    };
    let mut events = Events::with_capacity(256);
    loop {
        if let Some(code) = worker.wait(&mut events)? {
            return Ok(code);
        }
        worker.check_runtime(&mut outside.runtime_checked);
        worker.read_clock();
        worker.handle_events(&events);
        worker.after_events(&mut outside);
    }
}

/// What the loop hears of besides readiness, and its reused buffers.
struct Outside<'s> {
    /// Borrowed: the pipe outlives the worker, as before the loop.
    signals: &'s SignalPipe,
    master_pid: i32,
    received: Vec<Signal>,
    /// Connections the application threads handed back.
    returned: Vec<Returned>,
    /// The application runtime asked for a restart (`--reload`).
    restarting: bool,
    /// When the gthread loop last checked the application runtime.
    runtime_checked: Instant,
}

impl<'a, A: App> Worker<'a, A> {
    fn new(
        cfg: WorkerConfig,
        app: &'a mut A,
        pool: Option<AppPool>,
        poll: Poll,
        listeners: Listeners,
        heartbeat: &'static rcorn_core::heartbeat::HeartbeatSlot,
    ) -> Self {
        let lifecycle = WorkerLifecycle::new(cfg.lifecycle.clone(), clock::now());
        Worker {
            cfg,
            app,
            pool,
            h2: None,
            poll,
            listeners,
            conns: ConnTable::new(lifecycle, WriteBatch::default()),
            commands: Vec::new(),
            named: Vec::new(),
            dates: DateCache::new(),
            heartbeat,
            exit_code: None,
            now: clock::now(),
        }
    }

    /// Writes what waits and waits for readiness or the next deadline;
    /// the exit code instead, once the lifecycle gave one.
    fn wait(&mut self, events: &mut Events) -> io::Result<Option<i32>> {
        // Nothing waits in an output buffer while the loop sleeps or exits.
        self.write_unwritten();
        self.read_clock();
        if let Some(code) = self.exit_code {
            return Ok(Some(code));
        }
        let timeout = self.poll_timeout();
        match self.poll.poll(events, Some(timeout)) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(None),
        }
    }

    /// The loop beats for the whole worker, so a gthread worker first
    /// makes sure, once a second, that its application threads could run
    /// at all. Due by the reading taken before the poll: at most a poll's
    /// wait late, and it spares a clock read per iteration.
    fn check_runtime(&mut self, checked: &mut Instant) {
        if self.pool.is_some() && self.now.saturating_since(*checked) >= RUNTIME_CHECK_EVERY {
            self.app.runtime_responsive();
            *checked = self.now;
        }
    }

    fn handle_events(&mut self, events: &Events) {
        for event in events.iter() {
            match event.token() {
                SIGNALS | WAKER => {}
                Token(t) if (FIRST_LISTENER..FIRST_CONNECTION).contains(&t) => {
                    self.accept(t - FIRST_LISTENER)
                }
                Token(t) if t >= FIRST_H2 => self.h2_ready(t - FIRST_H2),
                Token(t) => {
                    // A FIN may have come with the bytes the event is for:
                    // only a read returning 0 shows it, and no later edge.
                    let until = if event.is_read_closed() || event.is_error() {
                        ReadUntil::WouldBlock
                    } else {
                        ReadUntil::Drained
                    };
                    self.on_readable(t - FIRST_CONNECTION, until)
                }
            }
            if self.conns.flush_due(self.now) {
                self.write_unwritten();
                self.read_clock();
            }
        }
    }

    /// Connections back from application threads, signals, a restart
    /// asked for, the master's life, deadlines.
    fn after_events(&mut self, outside: &mut Outside<'_>) {
        if let Some(pool) = &self.pool {
            pool.collect(&mut outside.returned);
        }
        for back in outside.returned.drain(..) {
            self.returned(back);
        }
        self.h2_woken();
        outside.signals.drain(&mut outside.received);
        if !outside.received.is_empty() {
            self.app.signals_arrived();
        }
        for sig in outside.received.drain(..) {
            if let Some(s) = worker_signal(sig) {
                self.lifecycle_event(WorkerEvent::Signal(s));
            }
        }
        if !outside.restarting && self.app.wants_restart() {
            outside.restarting = true;
            self.lifecycle_event(WorkerEvent::Signal(WorkerSignal::Term));
        }
        if nix::unistd::getppid().as_raw() != outside.master_pid {
            self.lifecycle_event(WorkerEvent::ParentChanged);
        }
        self.expire_connections();
        lifecycle_host::tick_if_due(self);
    }
}

impl<A: App> Worker<'_, A> {
    /// Reads the clock into [`Self::now`] and beats with it.
    fn read_clock(&mut self) {
        self.now = clock::now();
        self.heartbeat
            .beat(self.now.since_epoch().as_millis() as u64);
    }

    fn poll_timeout(&self) -> Duration {
        let timeout =
            self.conns
                .wait_time(self.now, Duration::from_secs(1), Duration::from_millis(1));
        match self.h2_next_deadline() {
            Some(deadline) => timeout
                .min(deadline.saturating_since(self.now))
                .max(Duration::from_millis(1)),
            None => timeout,
        }
    }

    fn lifecycle_event(&mut self, event: WorkerEvent) {
        lifecycle_host::lifecycle_event(self, event);
    }

    fn register_listeners(&mut self, on: bool) -> io::Result<()> {
        self.listeners.set_accepting(self.poll.registry(), on)
    }

    fn accept(&mut self, index: usize) {
        while self.conns.accepting() {
            let (stream, peer, server) = match self.listeners.accept(index) {
                Accepted::Client(stream, peer, server) => (stream, peer, server),
                Accepted::Retry => continue,
                Accepted::Done => return,
            };
            let Some(conn) = open_connection(&self.cfg, stream, peer, server) else {
                continue;
            };
            let slot = self.conns.reserve();
            let mut entry = ConnEntry { conn };
            let registered = self.poll.registry().register(
                entry.conn.stream.as_source(),
                Token(FIRST_CONNECTION + slot),
                Interest::READABLE,
            );
            if registered.is_err() {
                self.conns.unreserve(slot);
                continue;
            }
            self.conns.open(slot, entry, self.now, &mut self.commands);
            lifecycle_host::carry_out(self);
            // The request is often already there: serve it without another
            // trip through poll. (Whatever is in the socket then, the FIN
            // included, shows in poll too: registering a ready socket
            // queues its event.)
            self.on_readable(slot, ReadUntil::Drained);
        }
    }

    fn on_readable(&mut self, slot: usize, until: ReadUntil) {
        let Some(mut entry) = self.conns.take(slot) else {
            // With an application thread (or closed in this batch of
            // events, and then the mark is only a spare read).
            self.conns.owe_read(slot);
            return;
        };
        let fate = self.read_and_serve(&mut entry, until);
        self.owe_read_if_handed_off(slot, &fate, until);
        self.settle(slot, entry, fate);
    }

    /// A connection handed to a thread in the middle of reading to `EAGAIN`
    /// finishes that read when it comes back.
    fn owe_read_if_handed_off(&mut self, slot: usize, fate: &Fate, until: ReadUntil) {
        if matches!(fate, Fate::HandOff(_)) && matches!(until, ReadUntil::WouldBlock) {
            self.conns.owe_read(slot);
        }
    }

    /// Puts a connection where its fate says: back in the table (which
    /// sets its deadline and batches its unwritten response), closed, or
    /// on its way to an application thread. While an application thread
    /// has it, its slot stays taken but empty: readiness events for it are
    /// ignored, and it is read again when it comes back.
    fn settle(&mut self, slot: usize, entry: ConnEntry, fate: Fate) {
        match fate {
            Fate::Keep => self.conns.keep(slot, entry, self.now),
            Fate::Close => self.close(slot, entry),
            Fate::Http2 => self.start_h2(slot, entry),
            Fate::HandOff(scheme) => {
                let job = Job {
                    slot,
                    conn: entry.conn,
                    scheme,
                    keep_alive: self.conns.lifecycle().may_keep_alive(),
                };
                if let Some(Err(job)) = self.pool.as_ref().map(|p| p.submit(job)) {
                    // The pool only refuses once the worker is exiting.
                    self.close(slot, ConnEntry { conn: job.conn });
                }
            }
        }
    }

    /// A connection an application thread has finished with.
    fn returned(&mut self, back: Returned) {
        self.lifecycle_event(WorkerEvent::RequestFinished);
        let mut entry = ConnEntry { conn: back.conn };
        if !back.keep_alive {
            self.close(back.slot, entry);
            return;
        }
        // A pipelined request may already be decoded; then whatever came
        // while the request ran, if anything did.
        let owed = self.conns.take_owed_read(back.slot);
        let until = if owed {
            ReadUntil::WouldBlock
        } else {
            ReadUntil::Drained
        };
        let fate = match self.serve(&mut entry.conn) {
            Fate::Keep if owed || !entry.conn.socket_drained => {
                self.read_and_serve(&mut entry, until)
            }
            other => other,
        };
        self.owe_read_if_handed_off(back.slot, &fate, until);
        self.settle(back.slot, entry, fate);
    }

    /// Reads until the socket is empty, serving what completes. mio is
    /// edge-triggered: bytes left unread after one read (a head larger than
    /// the read buffer) would wait for a readiness edge that never comes.
    fn read_and_serve(&mut self, entry: &mut ConnEntry, until: ReadUntil) -> Fate {
        loop {
            let open = match entry.conn.fill() {
                Ok(open) => open,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Fate::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Fate::Close,
            };
            let fate = match self.negotiate(&mut entry.conn) {
                Some(fate) => fate,
                None => self.serve(&mut entry.conn),
            };
            match fate {
                Fate::Keep => {}
                other => return other,
            }
            if !open {
                return Fate::Close;
            }
            // The last read may have been the application's, for a body.
            if matches!(until, ReadUntil::Drained) && entry.conn.socket_drained {
                return Fate::Keep;
            }
        }
    }

    /// Serves every complete request the connection has buffered.
    fn serve(&mut self, conn: &mut Connection) -> Fate {
        if conn.upgrade.is_some() {
            return self.read_upgrade_body(conn);
        }
        loop {
            enum Step {
                Head(Option<&'static str>),
                NeedData,
                Close,
                Reject,
            }
            let step = match conn.http.poll_event() {
                Ok(ConnEvent::Request(_)) => {
                    adopt_proxied_client(conn);
                    match self.forwarded_scheme(conn) {
                        Ok(_) if self.h2c_upgrade(conn) => return self.read_upgrade_body(conn),
                        Ok(scheme) => Step::Head(scheme),
                        Err(e) => {
                            crate::debug!("Invalid request from {}: {e}", peer_text(&conn.peer));
                            conn.http.reject_request(e);
                            Step::Reject
                        }
                    }
                }
                Ok(ConnEvent::NeedData) => Step::NeedData,
                // Between exchanges only `Closed` may come of the others.
                Ok(_) => Step::Close,
                Err(e) => {
                    crate::refused::log_refused(&conn.peer, &e);
                    Step::Reject
                }
            };
            match step {
                Step::NeedData => return Fate::Keep,
                Step::Close => return Fate::Close,
                Step::Reject => {
                    // After the previous response, if its write was deferred.
                    conn.http.poll_transmit(&mut conn.out);
                    // A short answer to a client about to be dropped: it
                    // fits the socket buffer unless the client stopped
                    // reading, and then it may not hold up the loop.
                    let _ = conn.flush(Deadline::after(REJECT_WRITE_WAIT));
                    conn.stream.shutdown_write();
                    return Fate::Close;
                }
                Step::Head(scheme) if self.pool.is_some() => return Fate::HandOff(scheme),
                Step::Head(scheme) => {
                    let keep_alive = self.run_exchange(conn, scheme);
                    self.lifecycle_event(WorkerEvent::RequestFinished);
                    // A response that promised keep-alive keeps the
                    // connection even while draining: the client may send
                    // again, and retire_idle bounds how long it may take.
                    if !keep_alive {
                        return Fate::Close;
                    }
                }
            }
        }
    }

    /// The scheme a trusted proxy claims for the request just decoded.
    fn forwarded_scheme(&self, conn: &Connection) -> Result<Option<&'static str>, DecodeError> {
        let Some(head) = conn.http.request_head() else {
            return Ok(None);
        };
        let socket_peer = conn.via.as_ref().unwrap_or(&conn.peer);
        self.cfg.scheme_policy.scheme(socket_peer.ip(), head)
    }

    fn run_exchange(
        &mut self,
        conn: &mut Connection,
        forwarded_scheme: Option<&'static str>,
    ) -> bool {
        let ctx = ExchangeContext {
            dates: &mut self.dates,
            io_timeout: self.cfg.io_timeout,
            forwarded_scheme,
            keep_alive: self.conns.lifecycle().may_keep_alive(),
            draining: None,
            // A sync worker writes finished responses in batches; the
            // gthread loop hands connections to threads, which write.
            defer_last_write: self.pool.is_none(),
            keep_response_headers: self
                .cfg
                .access_log
                .as_ref()
                .is_some_and(AccessLogger::wants_response_headers),
        };
        // The last beat is at most as old as the work since the last poll
        // or exchange, all of it non-blocking: no beat is due before.
        let keep_alive = request::serve(&mut *self.app, conn, ctx, self.cfg.access_log.as_mut());
        self.read_clock();
        keep_alive
    }

    /// Writes the responses finished since the last batch. Sending them
    /// together rather than one per request lets a client (or a proxy on
    /// this host) that waits on many connections wake once for several:
    /// on loopback each wake-up is paid by the sender, in the kernel.
    fn write_unwritten(&mut self) {
        if !self.conns.has_unwritten() {
            return;
        }
        // Taken and given back, so its capacity is reused.
        let slots = self.conns.take_unwritten();
        for &slot in &slots {
            let failed = match self.conns.get_mut(slot) {
                // A slot closed and reused since has an empty buffer.
                Some(entry) => entry
                    .conn
                    .flush(Deadline::after(self.cfg.io_timeout))
                    .is_err(),
                None => false,
            };
            if failed {
                if let Some(entry) = self.conns.take(slot) {
                    self.close(slot, entry);
                }
            }
        }
        self.conns.recycle(slots);
    }

    fn close(&mut self, slot: usize, mut entry: ConnEntry) {
        if !entry.conn.out.is_empty() {
            // A deferred response on a connection closing for another
            // reason (the client half-closed after its request): send it.
            let _ = entry.conn.flush(Deadline::after(REJECT_WRITE_WAIT));
        }
        let _ = self
            .poll
            .registry()
            .deregister(entry.conn.stream.as_source());
        drop(entry);
        self.conns.close(slot, self.now, &mut self.commands);
        lifecycle_host::carry_out(self);
    }

    /// The connections the table retires when the worker starts to drain.
    /// None is closed at once: a request may already be on its way (or
    /// unread in the socket), and a client cannot tell a connection closed
    /// under its request from a lost answer. Each is read once; what
    /// arrived is served (with `Connection: close`), and the table gives
    /// the rest at most `keepalive` to send their request.
    fn retire_idle_connections(&mut self) {
        let mut slots = std::mem::take(&mut self.named);
        self.conns.retire_idle(&mut slots);
        for &slot in &slots {
            let Some(mut entry) = self.conns.take(slot) else {
                continue;
            };
            let fate = self.read_and_serve(&mut entry, ReadUntil::WouldBlock);
            self.owe_read_if_handed_off(slot, &fate, ReadUntil::WouldBlock);
            self.settle(slot, entry, fate);
        }
        slots.clear();
        self.named = slots;
    }

    /// Closes the connections whose deadlines the table finds passed.
    fn expire_connections(&mut self) {
        self.h2_expire();
        let mut slots = std::mem::take(&mut self.named);
        self.conns.expire(self.now, &mut slots);
        for &slot in &slots {
            let Some(mut entry) = self.conns.take(slot) else {
                continue;
            };
            if entry.conn.sniff.is_some() {
                // A partial preface whose deadline passed: HTTP/1.1 reads
                // what came (`negotiate` now says so).
                let fate = match self.negotiate(&mut entry.conn) {
                    Some(fate) => fate,
                    None => self.serve(&mut entry.conn),
                };
                self.settle(slot, entry, fate);
            } else {
                self.close(slot, entry);
            }
        }
        slots.clear();
        self.named = slots;
    }
}

impl<A: App> LifecycleHost for Worker<'_, A> {
    fn lifecycle_parts(&mut self) -> (&mut WorkerLifecycle, &mut Vec<WorkerCommand>) {
        (self.conns.lifecycle_mut(), &mut self.commands)
    }

    fn now(&self) -> Instant {
        self.now
    }

    fn set_accepting(&mut self, on: bool) {
        let _ = self.register_listeners(on);
    }

    fn retire_idle(&mut self) {
        self.retire_idle_connections();
    }

    fn exit(&mut self, code: i32) {
        self.exit_code.get_or_insert(code);
    }

    fn decided(&mut self) {
        if !self.conns.lifecycle().accepting_requests() {
            // Before the commands run: requests already handed over end
            // their connections too.
            if let Some(pool) = &self.pool {
                pool.set_draining();
            }
            self.h2_shut_down();
        }
    }
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
