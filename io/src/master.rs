//! The master process: the real adapter around `rcorn_core::arbiter`.
//!
//! One thread, one `mio::Poll`. Signals arrive through the self-pipe, worker
//! readiness through the control pipe, exits through SIGCHLD + `waitpid`,
//! heartbeats from the shared-memory region read on every wake, control
//! socket requests (`control_socket`) through the callback it is served
//! with. Each becomes an arbiter event; each arbiter command becomes a
//! syscall. Scrapes of the metrics endpoint (`metrics_endpoint`) are
//! answered from the workers' metrics slots and the arbiter's state. The
//! loop sleeps until the arbiter's next deadline or the next event, never
//! polling.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid as NixPid};
use rcorn_core::arbiter::{
    Arbiter, ArbiterSettings, Command, Event, ExitStatus, Hook, KillSignal, Phase, Pid,
    Signal as ArbiterSignal, WorkerId,
};
use rcorn_core::control::answer::ListenerView;
use rcorn_core::control::{self, MasterFacts};
use rcorn_core::heartbeat::HeartbeatSlot;
use rcorn_core::metrics::{self, WorkerCounts};

use crate::clock;
use crate::control::{ControlMessage, ControlPipe, ControlSender};
use crate::control_socket::ControlSocket;
use crate::heartbeat_region::HeartbeatRegion;
use crate::listener::{Listener, ListenerKind};
use crate::master_dirty::{DirtyChild, DirtyFork};
use crate::metrics_endpoint::MetricsEndpoint;
use crate::metrics_region::MetricsRegion;
use crate::signals::{self, SignalPipe, MASTER_SIGNALS, WORKER_SIGNALS};

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
/// The control socket's listener; its clients take the tokens after it.
const CONTROL_SOCKET: usize = 2;
/// The metrics endpoint's listener; its clients take the tokens after it.
const METRICS_ENDPOINT: usize = 1024;
/// Room for this many live workers (TTIN past it fails the spawn, loudly).
const HEARTBEAT_SLOTS: usize = 4096;

/// What the embedding program (the Python bridge, or a test) provides.
pub trait Host {
    /// Forks the process. The Python host runs CPython's at-fork handlers
    /// around the fork, as `os.fork()` does.
    fn fork(&mut self) -> nix::Result<ForkResult> {
        // SAFETY: the master is single-threaded when it forks.
        unsafe { nix::unistd::fork() }
    }

    /// Runs a master-side server hook.
    fn hook(&mut self, _hook: &Hook) {}

    /// What to exec for a USR2 upgrade, or `None` when this program cannot
    /// upgrade itself (the reason is the host's to log).
    fn reexec_spec(&mut self) -> Option<crate::reexec::ExecSpec> {
        None
    }

    /// Called on every wake of the master loop; returns how soon the host
    /// wants the next wake at the latest (`None`: no need). A master a USR2
    /// upgrade started looks, about once a second as gunicorn's does, for
    /// its old master's exit.
    fn on_wake(&mut self) -> Option<Duration> {
        None
    }
}

/// How `run_master` ended, in this process.
pub enum MasterOutcome {
    /// The master is done; exit with this code.
    Exit(i32),
    /// This process is a freshly forked worker: run the worker loop.
    Worker(WorkerStart),
    /// This process is the freshly forked dirty arbiter: run it.
    DirtyArbiter,
}

/// Everything a new worker process inherits from the master.
pub struct WorkerStart {
    pub id: WorkerId,
    pub listeners: Vec<Listener>,
    pub heartbeat: &'static HeartbeatSlot,
    pub control: ControlSender,
    pub master_pid: i32,
    /// The worker's own signal pipe, installed before any signal could
    /// reach the new process (see `fork_worker`).
    pub signals: SignalPipe,
}

pub struct MasterConfig {
    pub arbiter: ArbiterSettings,
    /// `enable_backlog_metric`: report the listeners' accept queues to
    /// statsd once a second.
    pub backlog_metric: bool,
    /// Where to listen for `gunicornc`; `None`: `--no-control-socket`.
    pub control_socket: Option<ControlSocketConfig>,
    /// `metrics_bind`: the bound listener the metrics page is served on.
    pub metrics: Option<Listener>,
    /// `dirty_graceful_timeout` when the server has a dirty pool: the
    /// master then keeps one dirty arbiter process alive.
    pub dirty_arbiter: Option<Duration>,
}

pub struct ControlSocketConfig {
    pub path: std::path::PathBuf,
    /// `control_socket_mode`.
    pub mode: u32,
    /// What `show config` answers, by setting name.
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// Opens the control socket, or says in one line why the master goes on
/// without one: it is a way to manage the server, not to serve.
fn open_control_socket(cfg: &ControlSocketConfig, poll: &Poll) -> Option<ControlSocket> {
    match ControlSocket::open(&cfg.path, cfg.mode, CONTROL_SOCKET) {
        Ok(mut socket) => match socket.register(poll.registry()) {
            Ok(()) => {
                crate::info!("Control socket listening at {}", cfg.path.display());
                Some(socket)
            }
            Err(e) => {
                crate::error!("control_socket: {}: {e}", cfg.path.display());
                None
            }
        },
        Err(e) => {
            crate::error!("control_socket: {e}; running without it");
            None
        }
    }
}

/// Serves the metrics page on the listener bound for `metrics_bind`.
fn open_metrics_endpoint(listener: Listener, poll: &Poll) -> io::Result<MetricsEndpoint> {
    let mut endpoint = MetricsEndpoint::new(listener, METRICS_ENDPOINT)?;
    endpoint.register(poll.registry())?;
    if let Some(addr) = endpoint.local_addr() {
        crate::info!("Metrics at http://{addr}/metrics");
    }
    Ok(endpoint)
}

/// The listeners as `show listeners` reports them.
fn listener_views(listeners: &[Listener]) -> Vec<ListenerView> {
    listeners
        .iter()
        .map(|l| {
            let (address, kind) = match (l.kind(), l.local_addr()) {
                (ListenerKind::Tcp, Some(addr)) => (
                    format!("http://{addr}"),
                    if addr.is_ipv6() { "tcp6" } else { "tcp" },
                ),
                (ListenerKind::Tcp, None) => (l.address.to_string(), "tcp"),
                (ListenerKind::Unix, _) => (l.address.to_string(), "unix"),
            };
            ListenerView {
                address,
                fd: l.raw_fd(),
                kind,
            }
        })
        .collect()
}

struct LiveWorker {
    slot: usize,
    last_beat: u64,
}

/// Runs the master until it exits, or returns in a forked child as a
/// worker.
pub fn run_master<H: Host>(
    listeners: Vec<Listener>,
    cfg: MasterConfig,
    host: &mut H,
) -> io::Result<MasterOutcome> {
    let mut master = Master::start(listeners, cfg, host)?;
    loop {
        if let Some(outcome) = master.carry_out_dirty()? {
            return Ok(outcome);
        }
        if let Some(outcome) = master.carry_out_commands()? {
            // In a new worker, the master's state is dropped here, in the
            // child only; its descriptors close with it.
            return Ok(outcome);
        }
        master.report_metrics();
        master.wait()?;
        master.take_events();
    }
}

/// The master loop's state: the arbiter, what it is told from, and the
/// commands it gave that are still to be carried out.
struct Master<'h, H: Host> {
    host: &'h mut H,
    listeners: Vec<Listener>,
    backlog_metric: bool,
    master_pid: i32,
    signal_pipe: SignalPipe,
    control: ControlPipe,
    region: HeartbeatRegion,
    /// Each worker's counters, at its heartbeat slot's index.
    metrics_region: MetricsRegion,
    /// The counters of every reaped worker, folded in as it was reaped.
    retired_counts: WorkerCounts,
    /// `None` without `metrics_bind`.
    metrics_endpoint: Option<MetricsEndpoint>,
    poll: Poll,
    events: Events,
    /// `None` with `--no-control-socket`, or when it could not be opened.
    control_socket: Option<ControlSocket>,
    /// What `show config` answers (empty without a control socket).
    control_config: serde_json::Map<String, serde_json::Value>,
    /// The listeners as `show listeners` reports them.
    listener_list: Vec<ListenerView>,
    started: rcorn_core::time::Instant,
    arbiter: Arbiter,
    workers: HashMap<Pid, LiveWorker>,
    /// The `gunicorn.workers` gauge goes to statsd when the count changes.
    reported_workers: usize,
    backlog_reported: std::time::Instant,
    queue: VecDeque<Command>,
    scratch: Vec<Command>,
    received: Vec<Signal>,
    messages: Vec<ControlMessage>,
    told_systemd_stopping: bool,
    /// The dirty arbiter process, when the server has a dirty pool.
    dirty: Option<DirtyChild>,
    /// The arbiter's exit code, held until the dirty arbiter is reaped.
    exit_after_dirty: Option<i32>,
}

impl<'h, H: Host> Master<'h, H> {
    /// Installs the signal and control pipes and the heartbeat region, and
    /// boots the arbiter.
    fn start(listeners: Vec<Listener>, cfg: MasterConfig, host: &'h mut H) -> io::Result<Self> {
        let signal_pipe = SignalPipe::install(MASTER_SIGNALS)?;
        let control = ControlPipe::new()?;
        let region = HeartbeatRegion::new(HEARTBEAT_SLOTS)?;
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&signal_pipe.read_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        poll.registry().register(
            &mut SourceFd(&control.read_fd()),
            CONTROL,
            Interest::READABLE,
        )?;
        let events = Events::with_capacity(16);
        let control_socket = cfg
            .control_socket
            .as_ref()
            .and_then(|c| open_control_socket(c, &poll));
        let listener_list = listener_views(&listeners);
        let metrics_endpoint = match cfg.metrics {
            Some(listener) => Some(open_metrics_endpoint(listener, &poll)?),
            None => None,
        };
        let started = clock::now();
        let mut master = Master {
            host,
            listeners,
            backlog_metric: cfg.backlog_metric,
            master_pid: std::process::id() as i32,
            signal_pipe,
            control,
            region,
            metrics_region: MetricsRegion::new(HEARTBEAT_SLOTS)?,
            retired_counts: WorkerCounts::default(),
            metrics_endpoint,
            poll,
            events,
            control_socket,
            control_config: cfg.control_socket.map(|c| c.config).unwrap_or_default(),
            listener_list,
            started,
            arbiter: Arbiter::new(cfg.arbiter),
            workers: HashMap::new(),
            reported_workers: usize::MAX,
            backlog_reported: std::time::Instant::now(),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            received: Vec::new(),
            messages: Vec::new(),
            told_systemd_stopping: false,
            dirty: cfg.dirty_arbiter.map(DirtyChild::new),
            exit_after_dirty: None,
        };
        master.handle(Event::Boot);
        Ok(master)
    }

    /// Tells the arbiter `event` and queues the commands it gives.
    fn handle(&mut self, event: Event) {
        self.handle_at(clock::now(), event);
    }

    fn handle_at(&mut self, now: rcorn_core::time::Instant, event: Event) {
        self.arbiter.handle(now, event, &mut self.scratch);
        self.queue.extend(self.scratch.drain(..));
    }

    /// Carries out the queued commands, and those they lead to. `Some`
    /// when this process is done being the master: it exits, or it is a
    /// new worker.
    fn carry_out_commands(&mut self) -> io::Result<Option<MasterOutcome>> {
        while let Some(command) = self.queue.pop_front() {
            match command {
                Command::SpawnWorker { id } => {
                    if let Some(worker) = self.spawn_worker(id)? {
                        return Ok(Some(MasterOutcome::Worker(worker)));
                    }
                }
                // Stored before the TERM that follows, so the worker sees
                // the mark once the signal arrives.
                Command::MarkReplaced { pid } => {
                    if let Some(worker) = self.workers.get(&pid) {
                        self.region.slot(worker.slot).mark_replaced();
                    }
                }
                Command::Kill { pid, signal } => {
                    let _ = nix::sys::signal::kill(NixPid::from_raw(pid), to_nix_signal(signal));
                }
                Command::Hook(hook) => self.host.hook(&hook),
                Command::ReopenLogs => crate::log::reopen(),
                Command::ReExec => self.reexec(),
                Command::Log(notice) => {
                    crate::log::log(notice_level(&notice), format_args!("{notice}"));
                }
                Command::Exit { code } => {
                    // The dirty arbiter goes first; the master waits for it.
                    if let Some(dirty) = self.dirty.as_mut().filter(|d| !d.is_done()) {
                        dirty.stop();
                        self.exit_after_dirty = Some(code);
                        return Ok(None);
                    }
                    if let Some(socket) = &self.control_socket {
                        socket.remove_file();
                    }
                    // A new master from a USR2 upgrade still serves on them.
                    if !self.arbiter.upgrade_running() {
                        for listener in &self.listeners {
                            listener.remove_socket_file();
                        }
                    }
                    return Ok(Some(MasterOutcome::Exit(code)));
                }
            }
        }
        Ok(None)
    }

    /// Forks, signals and kills the dirty arbiter as its supervisor says,
    /// and exits once it is gone if the arbiter already said to.
    /// `Some` when this process is done being the master.
    fn carry_out_dirty(&mut self) -> io::Result<Option<MasterOutcome>> {
        let Some(dirty) = self.dirty.as_mut() else {
            return Ok(None);
        };
        if let DirtyFork::Child = dirty.carry_out(self.host)? {
            return Ok(Some(MasterOutcome::DirtyArbiter));
        }
        match self.exit_after_dirty {
            Some(code) if dirty.is_done() => {
                self.dirty = None;
                self.queue.push_front(Command::Exit { code });
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Forks worker `id`. `Some` in the new worker, with what it inherits.
    fn spawn_worker(&mut self, id: WorkerId) -> io::Result<Option<WorkerStart>> {
        let now_ms = clock::monotonic_ms();
        let Some(slot) = self.region.allocate(now_ms) else {
            crate::error!("no heartbeat slot left for a new worker");
            self.handle(Event::SpawnFailed { id });
            return Ok(None);
        };
        match fork_worker(self.host) {
            Ok(Forked::Worker(signals)) => {
                crate::metrics::install(self.metrics_region.slot(slot));
                let control = self.control.sender()?;
                Ok(Some(WorkerStart {
                    id,
                    listeners: std::mem::take(&mut self.listeners),
                    heartbeat: self.region.slot(slot),
                    control,
                    master_pid: self.master_pid,
                    signals,
                }))
            }
            Ok(Forked::Parent(child)) => {
                let pid = child.as_raw();
                self.workers.insert(
                    pid,
                    LiveWorker {
                        slot,
                        last_beat: now_ms,
                    },
                );
                self.handle(Event::Spawned { id, pid });
                Ok(None)
            }
            Err(errno) => {
                crate::error!("fork failed: {errno}");
                self.region.release(slot);
                self.handle(Event::SpawnFailed { id });
                Ok(None)
            }
        }
    }

    /// USR2: starts a new master that inherits the listeners.
    fn reexec(&mut self) {
        let fds: Vec<RawFd> = self.listeners.iter().map(Listener::raw_fd).collect();
        let Some(spec) = self.host.reexec_spec() else {
            return;
        };
        match crate::reexec::spawn(&spec, &fds) {
            Ok(pid) => {
                crate::info!("Started a new master (pid: {pid}) for the upgrade");
                self.handle(Event::ReExecSpawned { pid: pid.as_raw() });
            }
            Err(e) => crate::error!("USR2: cannot start a new master: {e}"),
        }
    }

    /// The worker count when it changed and, once a second if asked, the
    /// listeners' accept queues.
    fn report_metrics(&mut self) {
        if self.workers.len() != self.reported_workers {
            self.reported_workers = self.workers.len();
            crate::statsd::workers(self.reported_workers);
        }
        if self.backlog_metric && self.backlog_reported.elapsed() >= Duration::from_secs(1) {
            self.backlog_reported = std::time::Instant::now();
            let waiting: u64 = self
                .listeners
                .iter()
                .filter_map(|l| l.backlog())
                .map(u64::from)
                .sum();
            crate::statsd::backlog(waiting);
        }
    }

    /// Sleeps until an event, the arbiter's next deadline, or the next
    /// wake the backlog metric or the host wants.
    fn wait(&mut self) -> io::Result<()> {
        let mut timeout = self.arbiter.next_deadline().map(|d| {
            d.saturating_since(clock::now())
                .max(Duration::from_millis(1))
        });
        if self.backlog_metric {
            timeout =
                Some(timeout.map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1))));
        }
        if let Some(d) = self.dirty.as_ref().and_then(DirtyChild::next_deadline) {
            let wait = d
                .saturating_since(clock::now())
                .max(Duration::from_millis(1));
            timeout = Some(timeout.map_or(wait, |t| t.min(wait)));
        }
        if let Some(at_most) = self.host.on_wake() {
            timeout = Some(timeout.map_or(at_most, |t| t.min(at_most)));
        }
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    /// Tells the arbiter what happened while it slept: signals, exits,
    /// ready workers, heartbeats, and the passing of its deadline.
    fn take_events(&mut self) {
        self.signal_pipe.drain(&mut self.received);
        let mut received = std::mem::take(&mut self.received);
        for sig in received.drain(..) {
            if let Some(s) = from_nix_signal(sig) {
                if let Some(dirty) = self.dirty.as_mut() {
                    dirty.on_master_signal(s);
                }
                self.handle(Event::Signal(s));
            }
        }
        self.received = received;
        if !self.told_systemd_stopping && matches!(self.arbiter.phase(), Phase::Stopping { .. }) {
            crate::systemd::notify("STOPPING=1");
            self.told_systemd_stopping = true;
        }
        // Reap on every wake: SIGCHLDs coalesce, so one may stand for many.
        reap(
            &mut self.arbiter,
            &mut self.workers,
            &mut self.region,
            (&self.metrics_region, &mut self.retired_counts),
            self.dirty.as_mut(),
            &mut self.scratch,
        );
        if let Some(dirty) = self.dirty.as_mut() {
            dirty.tick();
        }
        self.queue.extend(self.scratch.drain(..));
        self.control.drain(&mut self.messages);
        let mut messages = std::mem::take(&mut self.messages);
        for ControlMessage::Ready { pid } in messages.drain(..) {
            if self.workers.contains_key(&pid) {
                self.handle(Event::WorkerReady { pid });
            }
        }
        self.messages = messages;
        self.take_heartbeats();
        self.serve_control_socket();
        self.serve_metrics();
        let now = clock::now();
        if self.arbiter.next_deadline().is_some_and(|d| d <= now) {
            self.handle_at(now, Event::Tick);
        }
    }

    /// Answers the control socket's clients; their commands reach the
    /// arbiter as events.
    fn serve_control_socket(&mut self) {
        let Some(socket) = self.control_socket.as_mut() else {
            return;
        };
        let (workers, metrics_region) = (&self.workers, &self.metrics_region);
        let worker_requests = |pid| {
            workers
                .get(&pid)
                .map_or(0, |w| metrics_region.slot(w.slot).requests())
        };
        let facts = MasterFacts {
            pid: self.master_pid,
            started: self.started,
            listeners: &self.listener_list,
            config: &self.control_config,
            worker_requests: &worker_requests,
        };
        let arbiter = &mut self.arbiter;
        let scratch = &mut self.scratch;
        socket.service(self.poll.registry(), &mut |command| {
            control::execute(command, arbiter, clock::now(), &facts, scratch)
        });
        self.queue.extend(self.scratch.drain(..));
    }

    /// Answers the metrics endpoint's clients with the page: the reaped
    /// workers' counters and the live workers' slots, summed.
    fn serve_metrics(&mut self) {
        let Some(endpoint) = self.metrics_endpoint.as_mut() else {
            return;
        };
        let (arbiter, workers, listeners) = (&self.arbiter, &self.workers, &self.listeners);
        let (region, retired) = (&self.metrics_region, &self.retired_counts);
        endpoint.service(self.poll.registry(), &mut || {
            let mut counts = retired.clone();
            for w in workers.values() {
                counts.add_live(&region.slot(w.slot).snapshot());
            }
            let backlogs: Vec<(String, u32)> = listeners
                .iter()
                .filter_map(|l| Some((l.address.to_string(), l.backlog()?)))
                .collect();
            let mut page = String::with_capacity(4096);
            metrics::render(
                &metrics::MasterView {
                    counts: &counts,
                    workers: arbiter.workers(),
                    target: arbiter.target(),
                    stats: arbiter.stats(),
                    backlogs: &backlogs,
                },
                &mut page,
            );
            page
        });
    }

    /// A heartbeat event for each worker whose slot has a new beat.
    fn take_heartbeats(&mut self) {
        for (&pid, worker) in self.workers.iter_mut() {
            let beat = self.region.slot(worker.slot).last_beat();
            if beat != worker.last_beat {
                worker.last_beat = beat;
                let at = rcorn_core::time::Instant::from_millis(beat);
                self.arbiter.handle(
                    clock::now(),
                    Event::Heartbeat { pid, at },
                    &mut self.scratch,
                );
            }
        }
        self.queue.extend(self.scratch.drain(..));
    }
}

/// Forks with the master's signals blocked, so a signal sent to the new
/// child before it installs its own handling cannot run the master's
/// handler there (and write into the master's pipe), and cannot be lost:
/// the child installs the worker's pipe while they are still blocked, so a
/// QUIT sent while it boots is waiting in that pipe when its loop starts.
fn fork_worker<H: Host>(host: &mut H) -> io::Result<Forked> {
    let mut mask = SigSet::empty();
    for &sig in MASTER_SIGNALS {
        mask.add(sig);
    }
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))?;
    let forked = match host.fork() {
        Ok(ForkResult::Child) => {
            signals::reset(MASTER_SIGNALS);
            SignalPipe::install(WORKER_SIGNALS).map(Forked::Worker)
        }
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Err(errno) => Err(errno.into()),
    };
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None)?;
    forked
}

/// Which side of a worker's fork this process is on.
enum Forked {
    /// The new worker, with its own signal pipe.
    Worker(SignalPipe),
    Parent(NixPid),
}

/// Reaps every child that exited. A worker's counters are folded into
/// the master's totals before its slots are free for another worker.
fn reap(
    arbiter: &mut Arbiter,
    workers: &mut HashMap<Pid, LiveWorker>,
    region: &mut HeartbeatRegion,
    (metrics, retired): (&MetricsRegion, &mut WorkerCounts),
    mut dirty: Option<&mut DirtyChild>,
    out: &mut Vec<Command>,
) {
    loop {
        let (pid, status) = match waitpid(None::<NixPid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), ExitStatus::Code(code)),
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                (pid.as_raw(), ExitStatus::Signaled(sig as i32))
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        };
        if dirty.as_mut().is_some_and(|d| d.on_exit(pid, status)) {
            continue;
        }
        if let Some(worker) = workers.remove(&pid) {
            metrics.retire(worker.slot, retired);
            region.release(worker.slot);
        }
        arbiter.handle(clock::now(), Event::ChildExited { pid, status }, out);
    }
}

fn to_nix_signal(signal: KillSignal) -> Signal {
    match signal {
        KillSignal::Term => Signal::SIGTERM,
        KillSignal::Int => Signal::SIGINT,
        KillSignal::Quit => Signal::SIGQUIT,
        KillSignal::Abort => Signal::SIGABRT,
        KillSignal::Kill => Signal::SIGKILL,
        KillSignal::Usr1 => Signal::SIGUSR1,
        KillSignal::Winch => Signal::SIGWINCH,
    }
}

fn from_nix_signal(signal: Signal) -> Option<ArbiterSignal> {
    Some(match signal {
        Signal::SIGHUP => ArbiterSignal::Hup,
        Signal::SIGTTIN => ArbiterSignal::Ttin,
        Signal::SIGTTOU => ArbiterSignal::Ttou,
        Signal::SIGTERM => ArbiterSignal::Term,
        Signal::SIGINT => ArbiterSignal::Int,
        Signal::SIGQUIT => ArbiterSignal::Quit,
        Signal::SIGUSR1 => ArbiterSignal::Usr1,
        Signal::SIGUSR2 => ArbiterSignal::Usr2,
        Signal::SIGWINCH => ArbiterSignal::Winch,
        _ => return None,
    })
}

fn notice_level(notice: &rcorn_core::arbiter::Notice) -> crate::log::Level {
    use rcorn_core::arbiter::NoticeLevel;
    match notice.level() {
        NoticeLevel::Debug => crate::log::Level::Debug,
        NoticeLevel::Info => crate::log::Level::Info,
        NoticeLevel::Warning => crate::log::Level::Warning,
        NoticeLevel::Error => crate::log::Level::Error,
        NoticeLevel::Critical => crate::log::Level::Critical,
    }
}
