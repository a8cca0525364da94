//! The master: a pure state machine over worker processes.
//!
//! The adapter feeds [`Event`]s (signals, forks done, exits reaped,
//! heartbeats seen, deadlines passed) into [`Arbiter::handle`] and carries
//! out the [`Command`]s it returns. The arbiter never sleeps or reads a
//! clock: [`Arbiter::next_deadline`] tells the adapter when to come back.
//!
//! Rules, after gunicorn's arbiter:
//! - keep `target` workers of the current generation alive;
//! - HUP starts a new generation; the old one is told to stop (TERM) only
//!   once the new one is all ready, so no instant is without a ready worker;
//! - a worker silent for longer than `timeout` gets SIGABRT, then SIGKILL
//!   after `abort_grace`; stopping workers get SIGKILL after
//!   `graceful_timeout`;
//! - a worker exiting with 3 (boot error) or 4 (app load error) halts the
//!   master with that code, instead of a respawn loop; other crashes are
//!   replaced with an exponential back-off while they keep dying young (a
//!   ready worker exiting 0, recycled by max_requests, is not a crash);
//! - signals are handled in arrival order; no signal ever goes to a pid that
//!   was already reaped (workers leave the table only when reaped);
//! - the control socket's requests are events too: `worker add/remove N`
//!   moves the target as N TTINs or TTOUs would (one `nworkers_changed`),
//!   `worker kill PID` replaces that worker as HUP replaces a generation
//!   (the new one first); both are ignored while shutting down;
//! - a TERM that replaces a worker while the service goes on (an older
//!   generation or a `worker kill` once the new workers are ready, any stop
//!   while a USR2 upgrade's new master runs) is preceded by
//!   [`Command::MarkReplaced`], so its websockets close with 1012
//!   (restart), not 1001 (going away) as in a shutdown or a TTOU.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::time::Instant;

pub type Pid = i32;
/// Assigned by the arbiter, increasing: gunicorn's worker "age".
pub type WorkerId = u64;

/// gunicorn's exit code for a worker that failed to boot.
pub const WORKER_BOOT_ERROR: i32 = 3;
/// gunicorn's exit code for a worker that could not load the application.
pub const APP_LOAD_ERROR: i32 = 4;

#[derive(Clone, Debug)]
pub struct ArbiterSettings {
    pub workers: u32,
    /// A worker silent this long is aborted; zero disables the check.
    pub timeout: Duration,
    pub graceful_timeout: Duration,
    /// Between SIGABRT to a silent worker and SIGKILL.
    pub abort_grace: Duration,
    /// WINCH stops the workers only when the master is daemonized.
    pub daemon: bool,
    /// Signals waiting to be handled; more are dropped with a warning.
    pub max_queued_signals: usize,
    /// First and largest delay before replacing a worker that died young.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A worker that dies before it is ready, or less than this after,
    /// counts towards a crash loop. Short: a crash loop is a worker that
    /// cannot boot or dies on its first requests; one killed from outside
    /// every few seconds (an OOM killer, an operator) is replaced at once.
    pub crash_window: Duration,
}

impl Default for ArbiterSettings {
    fn default() -> Self {
        ArbiterSettings {
            workers: 1,
            timeout: Duration::from_secs(30),
            graceful_timeout: Duration::from_secs(30),
            abort_grace: Duration::from_secs(1),
            daemon: false,
            max_queued_signals: 64,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            crash_window: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Hup,
    Ttin,
    Ttou,
    Term,
    Int,
    Quit,
    Usr1,
    Usr2,
    Winch,
}

impl Signal {
    /// gunicorn's lower-case name, as in "Handling signal: hup".
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hup => "hup",
            Signal::Ttin => "ttin",
            Signal::Ttou => "ttou",
            Signal::Term => "term",
            Signal::Int => "int",
            Signal::Quit => "quit",
            Signal::Usr1 => "usr1",
            Signal::Usr2 => "usr2",
            Signal::Winch => "winch",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signaled(i32),
}

/// Signal numbers the arbiter reports in notices (Linux values).
pub const SIGKILL: i32 = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillSignal {
    Term,
    Int,
    Quit,
    Abort,
    Kill,
    Usr1,
    Winch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Boot,
    Signal(Signal),
    Spawned {
        id: WorkerId,
        pid: Pid,
    },
    SpawnFailed {
        id: WorkerId,
    },
    WorkerReady {
        pid: Pid,
    },
    /// The worker's slot holds a beat stamped `at` that the master had
    /// not seen. The stamp, not the time the master read it, is what the
    /// silence check counts from: the master reads slots only when it
    /// wakes, up to `timeout` after the beat.
    Heartbeat {
        pid: Pid,
        at: Instant,
    },
    ChildExited {
        pid: Pid,
        status: ExitStatus,
    },
    ReExecSpawned {
        pid: Pid,
    },
    /// A request from the control socket that is not a signal's.
    Control(ControlAction),
    Tick,
}

/// What the control socket asks of the workers beyond the signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction {
    /// Change the worker count by `by`; at least one stays. Like `by`
    /// TTINs or TTOUs, with one `nworkers_changed` call.
    Scale { by: i32 },
    /// Replace this worker: a new one is spawned, and this one is told to
    /// stop (TERM) once the new one is ready, as HUP does for a whole
    /// generation, so stopping the last ready worker leaves no gap.
    StopWorker { pid: Pid },
}

/// Counts the control socket's `show stats` reports, and the restarts
/// the metrics page reports by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArbiterStats {
    pub workers_spawned: u64,
    /// TERMs and KILLs sent to workers, as gunicorn counts them.
    pub workers_killed: u64,
    pub reloads: u64,
    /// Workers aborted for silence past `timeout`.
    pub restarts_timeout: u64,
    /// Ready workers that exited 0 on their own (recycled by
    /// `max_requests`, or by `--reload`).
    pub restarts_max_requests: u64,
    /// Workers that died on their own otherwise (a crash, an OOM kill).
    pub restarts_crash: u64,
}

/// Server hooks called from the master, with gunicorn's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    PreFork { id: WorkerId },
    OnReload,
    ChildExit { pid: Pid, id: WorkerId },
    NworkersChanged { new: u32, old: u32 },
    PreExec,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

/// What the master logs; `Display` gives gunicorn's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    HandlingSignal(Signal),
    WorkerTimeout { pid: Pid },
    KilledBySigkill { pid: Pid },
    WorkerExited { pid: Pid, code: i32 },
    WorkerSignaled { pid: Pid, signal: i32 },
    SpawnFailed { retry_in: Duration },
    CrashLoop { retry_in: Duration },
    SignalDropped(Signal),
    WinchIgnored,
    BootFailed,
    AppLoadFailed,
    NewMasterExited { pid: Pid },
}

impl Notice {
    pub fn level(&self) -> NoticeLevel {
        match self {
            Notice::HandlingSignal(_) | Notice::WinchIgnored => NoticeLevel::Info,
            Notice::WorkerTimeout { .. } | Notice::BootFailed | Notice::AppLoadFailed => {
                NoticeLevel::Critical
            }
            Notice::KilledBySigkill { .. }
            | Notice::WorkerExited { .. }
            | Notice::WorkerSignaled { .. } => NoticeLevel::Error,
            Notice::SpawnFailed { .. } | Notice::CrashLoop { .. } | Notice::SignalDropped(_) => {
                NoticeLevel::Warning
            }
            Notice::NewMasterExited { .. } => NoticeLevel::Info,
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::HandlingSignal(s) => write!(f, "Handling signal: {}", s.name()),
            Notice::WorkerTimeout { pid } => write!(f, "WORKER TIMEOUT (pid:{pid})"),
            Notice::KilledBySigkill { pid } => write!(
                f,
                "Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?"
            ),
            Notice::WorkerExited { pid, code } => {
                write!(f, "Worker (pid:{pid}) exited with code {code}")
            }
            Notice::WorkerSignaled { pid, signal } => {
                write!(f, "Worker (pid:{pid}) was sent signal {signal}!")
            }
            Notice::SpawnFailed { retry_in } => {
                write!(
                    f,
                    "Unable to fork a worker; retrying in {} ms",
                    retry_in.as_millis()
                )
            }
            Notice::CrashLoop { retry_in } => {
                write!(
                    f,
                    "Workers keep dying at start; next one in {} ms",
                    retry_in.as_millis()
                )
            }
            Notice::SignalDropped(s) => write!(f, "Too many pending signals: dropped {}", s.name()),
            Notice::WinchIgnored => f.write_str("SIGWINCH ignored. Not daemonized"),
            Notice::BootFailed => f.write_str("Worker failed to boot."),
            Notice::AppLoadFailed => f.write_str("App failed to load."),
            Notice::NewMasterExited { pid } => write!(f, "New master (pid:{pid}) exited"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    SpawnWorker {
        id: WorkerId,
    },
    /// Mark the worker's slot as replaced; the `Kill` with TERM that
    /// follows at once is a restart for its clients, not a shutdown.
    MarkReplaced {
        pid: Pid,
    },
    Kill {
        pid: Pid,
        signal: KillSignal,
    },
    Hook(Hook),
    ReopenLogs,
    ReExec,
    Log(Notice),
    Exit {
        code: i32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// Forked; the application is loading.
    Booting,
    Ready,
    /// Told to stop (TERM/INT/QUIT); SIGKILL at `kill_at`.
    Stopping {
        kill_at: Instant,
    },
    /// Sent SIGABRT for silence; SIGKILL at `kill_at`.
    Aborting {
        kill_at: Instant,
    },
    /// SIGKILL sent; waiting to be reaped.
    Killed,
}

#[derive(Clone, Copy, Debug)]
pub struct Worker {
    pub id: WorkerId,
    pub pid: Pid,
    pub generation: u64,
    pub state: WorkerState,
    pub spawned_at: Instant,
    /// When it reported ready; `None` while booting.
    pub ready_at: Option<Instant>,
    pub last_beat: Instant,
    /// Asked to go by the control socket: no longer counted towards the
    /// target, retired like an older generation's worker.
    pub retiring: bool,
}

impl Worker {
    fn is_live(&self) -> bool {
        matches!(self.state, WorkerState::Booting | WorkerState::Ready)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `Event::Boot`.
    Starting,
    Running,
    /// Shutting down; exits with `code` once every worker is reaped.
    Stopping {
        kill_at: Instant,
        code: i32,
    },
    Exited,
}

#[derive(Clone, Debug)]
pub struct Arbiter {
    settings: ArbiterSettings,
    phase: Phase,
    target: u32,
    generation: u64,
    next_id: WorkerId,
    workers: Vec<Worker>,
    /// Spawn commands issued and not yet answered.
    pending_spawns: Vec<WorkerId>,
    /// No spawn before this instant (back-off after crashes or fork errors).
    spawn_not_before: Option<Instant>,
    young_deaths: u32,
    signals: VecDeque<Signal>,
    reexec_pid: Option<Pid>,
    stats: ArbiterStats,
    now: Instant,
}

impl Arbiter {
    pub fn new(settings: ArbiterSettings) -> Self {
        Arbiter {
            target: settings.workers.max(1),
            settings,
            phase: Phase::Starting,
            generation: 0,
            next_id: 1,
            workers: Vec::new(),
            pending_spawns: Vec::new(),
            spawn_not_before: None,
            young_deaths: 0,
            signals: VecDeque::new(),
            reexec_pid: None,
            stats: ArbiterStats::default(),
            now: Instant::ZERO,
        }
    }

    /// Whether a new master started by USR2 is still running.
    pub fn upgrade_running(&self) -> bool {
        self.reexec_pid.is_some()
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn target(&self) -> u32 {
        self.target
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn stats(&self) -> ArbiterStats {
        self.stats
    }

    /// Every worker not yet reaped.
    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    pub fn worker_pids(&self) -> impl Iterator<Item = Pid> + '_ {
        self.workers.iter().map(|w| w.pid)
    }

    /// A new target from reloaded settings (HUP re-reads the config).
    pub fn set_workers(&mut self, n: u32) {
        self.target = n.max(1);
    }

    pub fn handle(&mut self, now: Instant, event: Event, out: &mut Vec<Command>) {
        self.now = self.now.max(now);
        if self.phase == Phase::Exited {
            return;
        }
        let first_new = out.len();
        self.apply(event, out);
        self.step(out);
        self.stats.workers_killed += out[first_new..]
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Command::Kill {
                        signal: KillSignal::Term | KillSignal::Kill,
                        ..
                    }
                )
            })
            .count() as u64;
    }

    fn apply(&mut self, event: Event, out: &mut Vec<Command>) {
        match event {
            Event::Boot => {
                if self.phase == Phase::Starting {
                    self.phase = Phase::Running;
                }
            }
            Event::Signal(signal) => {
                if self.signals.len() >= self.settings.max_queued_signals {
                    out.push(Command::Log(Notice::SignalDropped(signal)));
                } else {
                    self.signals.push_back(signal);
                }
            }
            Event::Spawned { id, pid } => {
                if let Some(i) = self.pending_spawns.iter().position(|&p| p == id) {
                    self.pending_spawns.swap_remove(i);
                    self.stats.workers_spawned += 1;
                    self.workers.push(Worker {
                        id,
                        pid,
                        generation: self.generation,
                        state: WorkerState::Booting,
                        spawned_at: self.now,
                        ready_at: None,
                        last_beat: self.now,
                        retiring: false,
                    });
                    // A worker forked after shutdown began is stopped at once.
                    if let Phase::Stopping { kill_at, .. } = self.phase {
                        self.stop_worker(pid, KillSignal::Term, kill_at, false, out);
                    }
                }
            }
            Event::SpawnFailed { id } => {
                self.pending_spawns.retain(|&p| p != id);
                self.young_deaths += 1;
                let retry_in = self.backoff();
                self.spawn_not_before = Some(self.now + retry_in);
                out.push(Command::Log(Notice::SpawnFailed { retry_in }));
            }
            Event::WorkerReady { pid } => {
                let now = self.now;
                if let Some(w) = self.worker_mut(pid) {
                    if w.state == WorkerState::Booting {
                        w.state = WorkerState::Ready;
                        w.ready_at = Some(now);
                        w.last_beat = now;
                    }
                }
            }
            Event::Heartbeat { pid, at } => {
                // Never later than now (the clock is shared, but a stamp
                // from the future must not postpone the check), never back.
                let at = at.min(self.now);
                if let Some(w) = self.worker_mut(pid) {
                    w.last_beat = w.last_beat.max(at);
                }
            }
            Event::ChildExited { pid, status } => self.on_child_exit(pid, status, out),
            Event::ReExecSpawned { pid } => self.reexec_pid = Some(pid),
            Event::Control(action) => self.on_control(action, out),
            Event::Tick => self.enforce_deadlines(out),
        }
    }

    /// Control requests are refused while shutting down, as signals are.
    fn on_control(&mut self, action: ControlAction, out: &mut Vec<Command>) {
        if matches!(self.phase, Phase::Stopping { .. }) {
            return;
        }
        match action {
            ControlAction::Scale { by } => {
                let old = self.target;
                let new = (i64::from(old) + i64::from(by)).clamp(1, i64::from(u32::MAX)) as u32;
                if new != old {
                    self.target = new;
                    out.push(Command::Hook(Hook::NworkersChanged { new, old }));
                }
            }
            ControlAction::StopWorker { pid } => {
                if let Some(w) = self.worker_mut(pid).filter(|w| w.is_live()) {
                    w.retiring = true;
                }
            }
        }
    }

    fn worker_mut(&mut self, pid: Pid) -> Option<&mut Worker> {
        self.workers.iter_mut().find(|w| w.pid == pid)
    }

    fn backoff(&self) -> Duration {
        match self.young_deaths {
            0 | 1 => Duration::ZERO,
            n => {
                let factor = 1u32 << (n - 2).min(16);
                self.settings
                    .backoff_initial
                    .saturating_mul(factor)
                    .min(self.settings.backoff_max)
            }
        }
    }

    fn on_child_exit(&mut self, pid: Pid, status: ExitStatus, out: &mut Vec<Command>) {
        if self.reexec_pid == Some(pid) {
            self.reexec_pid = None;
            out.push(Command::Log(Notice::NewMasterExited { pid }));
            return;
        }
        let Some(i) = self.workers.iter().position(|w| w.pid == pid) else {
            // Not ours (a grandchild re-parented to us, say): reaped, ignored.
            return;
        };
        let worker = self.workers.remove(i);
        out.push(Command::Hook(Hook::ChildExit { pid, id: worker.id }));
        let expected = !worker.is_live() || matches!(self.phase, Phase::Stopping { .. });
        match status {
            ExitStatus::Code(0) => {}
            ExitStatus::Code(code) => out.push(Command::Log(Notice::WorkerExited { pid, code })),
            ExitStatus::Signaled(SIGKILL) if worker.state != WorkerState::Killed => {
                out.push(Command::Log(Notice::KilledBySigkill { pid }))
            }
            ExitStatus::Signaled(signal) if !expected => {
                out.push(Command::Log(Notice::WorkerSignaled { pid, signal }))
            }
            ExitStatus::Signaled(_) => {}
        }
        if let ExitStatus::Code(code @ (WORKER_BOOT_ERROR | APP_LOAD_ERROR)) = status {
            if !matches!(self.phase, Phase::Stopping { .. }) {
                out.push(Command::Log(if code == APP_LOAD_ERROR {
                    Notice::AppLoadFailed
                } else {
                    Notice::BootFailed
                }));
                self.begin_stop(KillSignal::Term, code, out);
                return;
            }
        }
        let retired = status == ExitStatus::Code(0) && worker.state == WorkerState::Ready;
        if !expected && retired {
            // A ready worker that exits 0 on its own was recycled
            // (max_requests, --reload), however soon: proof the workers are
            // healthy, so any crash loop is over.
            self.young_deaths = 0;
            self.stats.restarts_max_requests += 1;
        } else if !expected {
            self.stats.restarts_crash += 1;
            // Died on its own: count it towards a crash loop if it died young.
            let young = worker
                .ready_at
                .is_none_or(|ready| self.now.saturating_since(ready) < self.settings.crash_window);
            if young {
                self.young_deaths += 1;
            } else {
                self.young_deaths = 1;
            }
            let retry_in = self.backoff();
            if !retry_in.is_zero() {
                self.spawn_not_before = Some(self.now + retry_in);
                out.push(Command::Log(Notice::CrashLoop { retry_in }));
            }
        }
    }

    fn handle_signal(&mut self, signal: Signal, out: &mut Vec<Command>) {
        out.push(Command::Log(Notice::HandlingSignal(signal)));
        let stopping = matches!(self.phase, Phase::Stopping { .. });
        match signal {
            Signal::Term if !stopping => self.begin_stop(KillSignal::Term, 0, out),
            Signal::Int | Signal::Quit if !stopping => self.begin_stop(KillSignal::Quit, 0, out),
            // A second INT/QUIT during a graceful stop makes it quick.
            Signal::Int | Signal::Quit => {
                for pid in self.signalable_pids() {
                    out.push(Command::Kill {
                        pid,
                        signal: KillSignal::Quit,
                    });
                }
            }
            Signal::Term => {}
            _ if stopping => {}
            Signal::Hup => {
                self.stats.reloads += 1;
                out.push(Command::Hook(Hook::OnReload));
                self.generation += 1;
                self.young_deaths = 0;
                self.spawn_not_before = None;
            }
            Signal::Ttin => {
                let old = self.target;
                self.target += 1;
                out.push(Command::Hook(Hook::NworkersChanged {
                    new: self.target,
                    old,
                }));
            }
            Signal::Ttou => {
                if self.target > 1 {
                    let old = self.target;
                    self.target -= 1;
                    out.push(Command::Hook(Hook::NworkersChanged {
                        new: self.target,
                        old,
                    }));
                }
            }
            Signal::Usr1 => {
                out.push(Command::ReopenLogs);
                for pid in self.signalable_pids() {
                    out.push(Command::Kill {
                        pid,
                        signal: KillSignal::Usr1,
                    });
                }
            }
            Signal::Usr2 => {
                if self.reexec_pid.is_none() {
                    out.push(Command::Hook(Hook::PreExec));
                    out.push(Command::ReExec);
                }
            }
            Signal::Winch => {
                if self.settings.daemon {
                    // gunicorn: stop the workers, keep the master (for an
                    // upgrade's old master that should stop serving).
                    let old = self.target;
                    self.target = 0;
                    out.push(Command::Hook(Hook::NworkersChanged { new: 0, old }));
                } else {
                    out.push(Command::Log(Notice::WinchIgnored));
                }
            }
        }
    }

    fn begin_stop(&mut self, signal: KillSignal, code: i32, out: &mut Vec<Command>) {
        let kill_at = self.now + self.settings.graceful_timeout;
        self.phase = Phase::Stopping { kill_at, code };
        let pids: Vec<Pid> = self.signalable_pids().collect();
        for pid in pids {
            self.stop_worker(pid, signal, kill_at, false, out);
        }
    }

    /// Workers not yet sent SIGKILL: the ones another signal can reach.
    fn signalable_pids(&self) -> impl Iterator<Item = Pid> + '_ {
        self.workers
            .iter()
            .filter(|w| w.state != WorkerState::Killed)
            .map(|w| w.pid)
    }

    /// `replaced`: others of the current generation serve in its place.
    /// Any stop is a replacement while a USR2 upgrade's new master runs.
    fn stop_worker(
        &mut self,
        pid: Pid,
        signal: KillSignal,
        kill_at: Instant,
        replaced: bool,
        out: &mut Vec<Command>,
    ) {
        let replaced = replaced || self.reexec_pid.is_some();
        let Some(w) = self.worker_mut(pid) else {
            return;
        };
        w.state = match w.state {
            // Already on its way to SIGKILL: a softer signal would only
            // push its deadline back.
            WorkerState::Aborting { .. } | WorkerState::Killed => return,
            // Asked again (TERM then INT): the earlier deadline stands.
            WorkerState::Stopping { kill_at: earlier } => WorkerState::Stopping {
                kill_at: earlier.min(kill_at),
            },
            WorkerState::Booting | WorkerState::Ready => WorkerState::Stopping { kill_at },
        };
        if replaced && signal == KillSignal::Term {
            out.push(Command::MarkReplaced { pid });
        }
        out.push(Command::Kill { pid, signal });
    }

    /// Brings the world towards what the state says it should be.
    fn step(&mut self, out: &mut Vec<Command>) {
        while let Some(signal) = self.signals.pop_front() {
            self.handle_signal(signal, out);
        }
        match self.phase {
            Phase::Starting | Phase::Exited => {}
            Phase::Stopping { code, .. } => {
                if self.workers.is_empty() && self.pending_spawns.is_empty() {
                    self.phase = Phase::Exited;
                    out.push(Command::Exit { code });
                }
            }
            Phase::Running => self.manage_workers(out),
        }
    }

    /// Acts on timers, only on `Tick`: the adapter reports every heartbeat
    /// it has seen before it ticks, so a worker is never judged silent while
    /// its beat is still waiting to be reported.
    fn enforce_deadlines(&mut self, out: &mut Vec<Command>) {
        let now = self.now;
        let timeout = self.settings.timeout;
        let abort_grace = self.settings.abort_grace;
        let phase_kill = match self.phase {
            Phase::Stopping { kill_at, .. } => Some(kill_at),
            _ => None,
        };
        for w in &mut self.workers {
            let silent = !timeout.is_zero() && now.saturating_since(w.last_beat) > timeout;
            match w.state {
                WorkerState::Stopping { kill_at } | WorkerState::Aborting { kill_at }
                    if now >= kill_at || phase_kill.is_some_and(|k| now >= k) =>
                {
                    out.push(Command::Kill {
                        pid: w.pid,
                        signal: KillSignal::Kill,
                    });
                    w.state = WorkerState::Killed;
                }
                // A worker told to stop is still judged by its heartbeat, as
                // in gunicorn: one that hangs while draining is aborted at
                // `timeout` rather than left until `graceful_timeout`.
                WorkerState::Booting | WorkerState::Ready | WorkerState::Stopping { .. }
                    if silent =>
                {
                    out.push(Command::Log(Notice::WorkerTimeout { pid: w.pid }));
                    self.stats.restarts_timeout += 1;
                    out.push(Command::Kill {
                        pid: w.pid,
                        signal: KillSignal::Abort,
                    });
                    w.state = WorkerState::Aborting {
                        kill_at: now + abort_grace,
                    };
                }
                _ => {}
            }
        }
    }

    fn manage_workers(&mut self, out: &mut Vec<Command>) {
        let generation = self.generation;
        let current = |w: &&Worker| w.generation == generation && w.is_live() && !w.retiring;
        let live_current = self.workers.iter().filter(current).count() + self.pending_spawns.len();
        let target = self.target as usize;

        // Too many (TTOU): stop workers still booting first, as they serve
        // nobody yet, then the oldest ready one (gunicorn's choice). Stopping
        // a ready worker while the others boot could leave none accepting.
        if live_current > target {
            let mut excess = live_current - target;
            let mut oldest: Vec<(bool, WorkerId, Pid)> = self
                .workers
                .iter()
                .filter(current)
                .map(|w| (w.state == WorkerState::Ready, w.id, w.pid))
                .collect();
            oldest.sort_unstable();
            let kill_at = self.now + self.settings.graceful_timeout;
            for (_, _, pid) in oldest {
                if excess == 0 {
                    break;
                }
                self.stop_worker(pid, KillSignal::Term, kill_at, false, out);
                excess -= 1;
            }
        }

        // Too few: spawn, unless backing off after crashes or fork errors.
        // A back-off that has run out is forgotten even when nothing needs
        // spawning, or its deadline would stay due for ever.
        if self.spawn_not_before.is_some_and(|t| self.now >= t) {
            self.spawn_not_before = None;
        }
        if live_current < target && self.spawn_not_before.is_none() {
            // While backing off, probe with one worker at a time: no other
            // until the probe has booted (or died and backed off again).
            let probing = self
                .workers
                .iter()
                .any(|w| w.generation == generation && w.state == WorkerState::Booting)
                || !self.pending_spawns.is_empty();
            let count = match (self.young_deaths > 1, probing) {
                (false, _) => target - live_current,
                (true, false) => 1,
                (true, true) => 0,
            };
            for _ in 0..count {
                let id = self.next_id;
                self.next_id += 1;
                self.pending_spawns.push(id);
                out.push(Command::Hook(Hook::PreFork { id }));
                out.push(Command::SpawnWorker { id });
            }
        }

        // Retire older generations, and workers the control socket asked to
        // go, once the current generation is all ready.
        let ready_current = self
            .workers
            .iter()
            .filter(|w| w.generation == generation && w.state == WorkerState::Ready && !w.retiring)
            .count();
        if ready_current >= target {
            let kill_at = self.now + self.settings.graceful_timeout;
            let old: Vec<Pid> = self
                .workers
                .iter()
                .filter(|w| (w.generation < generation || w.retiring) && w.is_live())
                .map(|w| w.pid)
                .collect();
            for pid in old {
                self.stop_worker(pid, KillSignal::Term, kill_at, true, out);
            }
        }
    }

    /// When the adapter must call back with `Tick` at the latest.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.phase == Phase::Exited {
            return None;
        }
        let timeout = self.settings.timeout;
        let mut deadline: Option<Instant> = None;
        let mut consider = |t: Instant| deadline = Some(deadline.map_or(t, |d| d.min(t)));
        for w in &self.workers {
            match w.state {
                WorkerState::Booting | WorkerState::Ready if !timeout.is_zero() => {
                    // Strictly after the timeout, as the check is `>`.
                    consider(w.last_beat + timeout + Duration::from_millis(1))
                }
                WorkerState::Stopping { kill_at } => {
                    consider(kill_at);
                    if !timeout.is_zero() {
                        consider(w.last_beat + timeout + Duration::from_millis(1))
                    }
                }
                WorkerState::Aborting { kill_at } => consider(kill_at),
                _ => {}
            }
        }
        if let Phase::Stopping { kill_at, .. } = self.phase {
            if self.workers.iter().any(|w| w.state != WorkerState::Killed) {
                consider(kill_at);
            }
        }
        if let (Phase::Running, Some(t)) = (self.phase, self.spawn_not_before) {
            consider(t);
        }
        deadline
    }
}
