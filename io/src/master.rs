//! The master process: the real adapter around `rcorn_core::arbiter`.
//!
//! One thread, one `mio::Poll`. Signals arrive through the self-pipe, worker
//! readiness through the control pipe, exits through SIGCHLD + `waitpid`,
//! heartbeats from the shared-memory region read on every wake, control
//! socket requests (`control_socket`) through the callback it is served
//! with. Each becomes an arbiter event; each arbiter command becomes a
//! syscall. The loop sleeps
//! until the arbiter's next deadline or the next event, never polling.

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

use crate::clock;
use crate::control::{ControlMessage, ControlPipe, ControlSender};
use crate::control_socket::ControlSocket;
use crate::heartbeat_region::HeartbeatRegion;
use crate::listener::{Listener, ListenerKind};
use crate::signals::{self, SignalPipe, MASTER_SIGNALS, WORKER_SIGNALS};

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
/// The control socket's listener; its clients take the tokens after it.
const CONTROL_SOCKET: usize = 2;
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
    mut listeners: Vec<Listener>,
    cfg: MasterConfig,
    host: &mut H,
) -> io::Result<MasterOutcome> {
    let master_pid = std::process::id() as i32;
    let signal_pipe = SignalPipe::install(MASTER_SIGNALS)?;
    let control = ControlPipe::new()?;
    let mut region = HeartbeatRegion::new(HEARTBEAT_SLOTS)?;
    let mut poll = Poll::new()?;
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
    let mut events = Events::with_capacity(16);
    let mut control_socket = cfg
        .control_socket
        .as_ref()
        .and_then(|c| open_control_socket(c, &poll));
    let listener_list = listener_views(&listeners);
    let no_config = serde_json::Map::new();
    let started = clock::now();

    let mut arbiter = Arbiter::new(cfg.arbiter);
    let mut workers: HashMap<Pid, LiveWorker> = HashMap::new();
    // The `gunicorn.workers` gauge goes to statsd when the count changes.
    let mut reported_workers = usize::MAX;
    let mut backlog_reported = std::time::Instant::now();
    let mut queue: VecDeque<Command> = VecDeque::new();
    let mut scratch: Vec<Command> = Vec::new();
    let mut received: Vec<Signal> = Vec::new();
    let mut messages: Vec<ControlMessage> = Vec::new();

    arbiter.handle(clock::now(), Event::Boot, &mut scratch);
    queue.extend(scratch.drain(..));
    let mut told_systemd_stopping = false;

    loop {
        while let Some(command) = queue.pop_front() {
            match command {
                Command::SpawnWorker { id } => {
                    let now_ms = clock::monotonic_ms();
                    let Some(slot) = region.allocate(now_ms) else {
                        crate::error!("no heartbeat slot left for a new worker");
                        arbiter.handle(clock::now(), Event::SpawnFailed { id }, &mut scratch);
                        queue.extend(scratch.drain(..));
                        continue;
                    };
                    match fork_worker(host) {
                        Ok(Forked::Worker(signals)) => {
                            let sender = control.sender()?;
                            // The master's loop state is dropped here, in the
                            // child only; its descriptors close with it.
                            return Ok(MasterOutcome::Worker(WorkerStart {
                                id,
                                listeners: std::mem::take(&mut listeners),
                                heartbeat: region.slot(slot),
                                control: sender,
                                master_pid,
                                signals,
                            }));
                        }
                        Ok(Forked::Parent(child)) => {
                            let pid = child.as_raw();
                            workers.insert(
                                pid,
                                LiveWorker {
                                    slot,
                                    last_beat: now_ms,
                                },
                            );
                            arbiter.handle(clock::now(), Event::Spawned { id, pid }, &mut scratch);
                        }
                        Err(errno) => {
                            crate::error!("fork failed: {errno}");
                            region.release(slot);
                            arbiter.handle(clock::now(), Event::SpawnFailed { id }, &mut scratch);
                        }
                    }
                    queue.extend(scratch.drain(..));
                }
                Command::Kill { pid, signal } => {
                    let _ = nix::sys::signal::kill(NixPid::from_raw(pid), to_nix_signal(signal));
                }
                Command::Hook(hook) => host.hook(&hook),
                Command::ReopenLogs => crate::log::reopen(),
                Command::ReExec => {
                    let fds: Vec<RawFd> = listeners.iter().map(Listener::raw_fd).collect();
                    if let Some(spec) = host.reexec_spec() {
                        match crate::reexec::spawn(&spec, &fds) {
                            Ok(pid) => {
                                crate::info!("Started a new master (pid: {pid}) for the upgrade");
                                arbiter.handle(
                                    clock::now(),
                                    Event::ReExecSpawned { pid: pid.as_raw() },
                                    &mut scratch,
                                );
                                queue.extend(scratch.drain(..));
                            }
                            Err(e) => crate::error!("USR2: cannot start a new master: {e}"),
                        }
                    }
                }
                Command::Log(notice) => {
                    crate::log::log(notice_level(&notice), format_args!("{notice}"));
                }
                Command::Exit { code } => {
                    if let Some(socket) = &control_socket {
                        socket.remove_file();
                    }
                    // A new master from a USR2 upgrade still serves on them.
                    if !arbiter.upgrade_running() {
                        for listener in &listeners {
                            listener.remove_socket_file();
                        }
                    }
                    return Ok(MasterOutcome::Exit(code));
                }
            }
        }

        if workers.len() != reported_workers {
            reported_workers = workers.len();
            crate::statsd::workers(reported_workers);
        }
        if cfg.backlog_metric && backlog_reported.elapsed() >= Duration::from_secs(1) {
            backlog_reported = std::time::Instant::now();
            let waiting: u64 = listeners
                .iter()
                .filter_map(|l| l.backlog())
                .map(u64::from)
                .sum();
            crate::statsd::backlog(waiting);
        }
        let mut timeout = arbiter.next_deadline().map(|d| {
            d.saturating_since(clock::now())
                .max(Duration::from_millis(1))
        });
        if cfg.backlog_metric {
            timeout =
                Some(timeout.map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1))));
        }
        if let Some(at_most) = host.on_wake() {
            timeout = Some(timeout.map_or(at_most, |t| t.min(at_most)));
        }
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }

        signal_pipe.drain(&mut received);
        for sig in received.drain(..) {
            if let Some(s) = from_nix_signal(sig) {
                arbiter.handle(clock::now(), Event::Signal(s), &mut scratch);
            }
        }
        if !told_systemd_stopping && matches!(arbiter.phase(), Phase::Stopping { .. }) {
            crate::systemd::notify("STOPPING=1");
            told_systemd_stopping = true;
        }
        // Reap on every wake: SIGCHLDs coalesce, so one may stand for many.
        reap(&mut arbiter, &mut workers, &mut region, &mut scratch);
        control.drain(&mut messages);
        for ControlMessage::Ready { pid } in messages.drain(..) {
            if workers.contains_key(&pid) {
                arbiter.handle(clock::now(), Event::WorkerReady { pid }, &mut scratch);
            }
        }
        for (&pid, worker) in workers.iter_mut() {
            let beat = region.slot(worker.slot).last_beat();
            if beat != worker.last_beat {
                worker.last_beat = beat;
                let at = rcorn_core::time::Instant::from_millis(beat);
                arbiter.handle(clock::now(), Event::Heartbeat { pid, at }, &mut scratch);
            }
        }
        if let Some(socket) = control_socket.as_mut() {
            let facts = MasterFacts {
                pid: master_pid,
                started,
                listeners: &listener_list,
                config: cfg
                    .control_socket
                    .as_ref()
                    .map_or(&no_config, |c| &c.config),
            };
            socket.service(poll.registry(), &mut |command| {
                control::execute(command, &mut arbiter, clock::now(), &facts, &mut scratch)
            });
        }
        let now = clock::now();
        if arbiter.next_deadline().is_some_and(|d| d <= now) {
            arbiter.handle(now, Event::Tick, &mut scratch);
        }
        queue.extend(scratch.drain(..));
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

fn reap(
    arbiter: &mut Arbiter,
    workers: &mut HashMap<Pid, LiveWorker>,
    region: &mut HeartbeatRegion,
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
        if let Some(worker) = workers.remove(&pid) {
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
