//! The dirty arbiter: a pure state machine over the dirty worker pool and
//! the calls HTTP workers make to it.
//!
//! The adapter feeds [`Event`]s (signals, forks done, exits reaped,
//! heartbeats, calls arriving and finishing, deadlines passed) into
//! [`DirtyArbiter::handle`] and carries out the [`Command`]s it returns;
//! [`DirtyArbiter::next_deadline`] says when to come back with `Tick`.
//!
//! Rules, after gunicorn's dirty arbiter where it has one:
//! - keep one worker per slot of the target count (see `apps` for which
//!   apps a slot loads); a replacement takes the dead worker's slot;
//! - every call leaves exactly once: dispatched to a ready worker that
//!   loads its app and has a free thread (`dirty_threads`), then finished
//!   by the worker's final message, or failed with a [`CallError`]; a
//!   call waits only while a live worker loads its app, and never longer
//!   than `dirty_timeout`;
//! - a call not answered within `dirty_timeout` is failed with `Timeout`
//!   and its worker aborted (SIGABRT, SIGKILL after `abort_grace`): the
//!   setting is how long a task may run before its worker is killed; a
//!   worker silent for `dirty_timeout` is aborted the same way;
//! - USR1 (in any phase) reopens the logs here and is passed to every
//!   live worker, which reopens its own;
//! - HUP starts a new generation; the old one keeps serving until the new
//!   one is all ready and is then told to stop (TERM), so reloading never
//!   fails a call for want of a worker;
//! - TTIN/TTOU move the target by one, never below the largest per-app
//!   limit (gunicorn's minimum); TTOU retires the highest slot;
//! - TERM stops gracefully (queued calls fail `ShuttingDown`, calls in
//!   hand finish, SIGKILL after `dirty_graceful_timeout`); INT/QUIT quick;
//! - workers that die young back off exponentially, probed one at a time;
//! - no signal goes to a reaped pid: a worker leaves the table only when
//!   reaped.

use std::time::Duration;

use crate::arbiter::{ExitStatus, KillSignal, Pid, WorkerId};
use crate::time::Instant;

use super::apps::{minimum_workers, AppSet, AppSpec};
use super::calls::{CallError, CallId, Calls};
use super::notice::DirtyNotice;

#[derive(Clone, Debug)]
pub struct DirtySettings {
    pub workers: u32,
    pub apps: Vec<AppSpec>,
    /// Calls one worker runs at once.
    pub threads: u32,
    /// Longest a call may wait and run, and a worker stay silent; zero
    /// disables both checks.
    pub timeout: Duration,
    pub graceful_timeout: Duration,
    pub abort_grace: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A worker dying before ready, or less than this after, died young.
    pub crash_window: Duration,
}

impl Default for DirtySettings {
    fn default() -> Self {
        DirtySettings {
            workers: 1,
            apps: Vec::new(),
            threads: 1,
            timeout: Duration::from_secs(300),
            graceful_timeout: Duration::from_secs(30),
            abort_grace: Duration::from_secs(1),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            crash_window: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirtySignal {
    Hup,
    Ttin,
    Ttou,
    Term,
    Int,
    Quit,
    /// Reopen the log files (log rotation).
    Usr1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Boot,
    Signal(DirtySignal),
    Spawned {
        id: WorkerId,
        pid: Pid,
    },
    SpawnFailed {
        id: WorkerId,
    },
    /// The worker has loaded its apps and listens for calls.
    WorkerReady {
        pid: Pid,
    },
    Heartbeat {
        pid: Pid,
        at: Instant,
    },
    ChildExited {
        pid: Pid,
        status: ExitStatus,
    },
    /// A client's request for the app at this index of `dirty_apps`;
    /// `None` for an app the pool does not serve.
    Call {
        call: CallId,
        app: Option<usize>,
    },
    /// The worker sent the call's final message (response, error or end
    /// of stream), which the adapter passed on.
    CallFinished {
        call: CallId,
    },
    Tick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    SpawnWorker {
        id: WorkerId,
        apps: AppSet,
    },
    Kill {
        pid: Pid,
        signal: KillSignal,
    },
    /// Send the call to this worker, and its messages back to the client.
    Dispatch {
        call: CallId,
        pid: Pid,
    },
    /// Answer the client with this error; forget the call (a late message
    /// from its worker is dropped).
    Fail {
        call: CallId,
        error: CallError,
    },
    /// Reopen this process's log files.
    ReopenLogs,
    /// gunicorn's `dirty_worker_exit(arbiter, worker)`.
    WorkerExitHook {
        pid: Pid,
        id: WorkerId,
    },
    Log(DirtyNotice),
    Exit {
        code: i32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    Booting,
    Ready,
    Stopping { kill_at: Instant },
    Aborting { kill_at: Instant },
    Killed,
}

#[derive(Clone, Copy, Debug)]
pub struct DirtyWorker {
    pub id: WorkerId,
    pub pid: Pid,
    pub slot: u32,
    pub generation: u64,
    pub apps: AppSet,
    pub state: WorkerState,
    pub ready_at: Option<Instant>,
    pub last_beat: Instant,
}

impl DirtyWorker {
    pub fn is_live(&self) -> bool {
        matches!(self.state, WorkerState::Booting | WorkerState::Ready)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Running,
    Stopping { kill_at: Instant },
    Exited,
}

#[derive(Clone, Copy, Debug)]
struct PendingSpawn {
    id: WorkerId,
    slot: u32,
    apps: AppSet,
}

#[derive(Clone, Debug)]
pub struct DirtyArbiter {
    settings: DirtySettings,
    now: Instant,
    phase: Phase,
    target: u32,
    generation: u64,
    next_id: WorkerId,
    workers: Vec<DirtyWorker>,
    pending: Vec<(PendingSpawn, u64)>,
    calls: Calls,
    /// Rotates dispatch among equally loaded workers.
    rr: WorkerId,
    young_deaths: u32,
    spawn_not_before: Option<Instant>,
}

impl DirtyArbiter {
    pub fn new(settings: DirtySettings) -> Self {
        DirtyArbiter {
            target: settings.workers.max(1),
            settings,
            now: Instant::ZERO,
            phase: Phase::Starting,
            generation: 0,
            next_id: 1,
            workers: Vec::new(),
            pending: Vec::new(),
            calls: Calls::default(),
            rr: 0,
            young_deaths: 0,
            spawn_not_before: None,
        }
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
    pub fn settings(&self) -> &DirtySettings {
        &self.settings
    }
    pub fn workers(&self) -> &[DirtyWorker] {
        &self.workers
    }
    /// Calls waiting for a worker, oldest first.
    pub fn queued_calls(&self) -> impl Iterator<Item = CallId> + '_ {
        self.calls.queued.iter().map(|q| q.call)
    }
    /// Calls in a worker's hands, with its pid.
    pub fn calls_in_flight(&self) -> impl Iterator<Item = (CallId, Pid)> + '_ {
        self.calls.in_flight.iter().map(|(&c, f)| (c, f.pid))
    }

    pub fn handle(&mut self, now: Instant, event: Event, out: &mut Vec<Command>) {
        self.now = self.now.max(now);
        if self.phase == Phase::Exited {
            if let Event::Call { call, .. } = event {
                out.push(Command::Fail {
                    call,
                    error: CallError::ShuttingDown,
                });
            }
            return;
        }
        self.apply(event, out);
        self.step(out);
    }

    fn apply(&mut self, event: Event, out: &mut Vec<Command>) {
        match event {
            Event::Boot if self.phase == Phase::Starting => self.phase = Phase::Running,
            Event::Boot => {}
            Event::Signal(signal) => self.on_signal(signal, out),
            Event::Spawned { id, pid } => self.on_spawned(id, pid),
            Event::SpawnFailed { id } => {
                self.pending.retain(|(p, _)| p.id != id);
                let retry_in = self.backoff();
                self.spawn_not_before = Some(self.now + retry_in);
                out.push(Command::Log(DirtyNotice::SpawnFailed { retry_in }));
            }
            Event::WorkerReady { pid } => {
                let now = self.now;
                if let Some(w) = self.worker_mut(pid) {
                    if w.state == WorkerState::Booting {
                        w.state = WorkerState::Ready;
                        w.ready_at = Some(now);
                        w.last_beat = w.last_beat.max(now);
                    }
                }
            }
            Event::Heartbeat { pid, at } => {
                if let Some(w) = self.worker_mut(pid) {
                    w.last_beat = w.last_beat.max(at);
                }
            }
            Event::ChildExited { pid, status } => self.on_child_exit(pid, status, out),
            Event::Call { call, app } => self.on_call(call, app, out),
            Event::CallFinished { call } => {
                self.calls.in_flight.remove(&call);
            }
            Event::Tick => self.enforce_deadlines(out),
        }
    }

    fn worker_mut(&mut self, pid: Pid) -> Option<&mut DirtyWorker> {
        self.workers.iter_mut().find(|w| w.pid == pid)
    }

    fn backoff(&self) -> Duration {
        let shift = self.young_deaths.saturating_sub(1).min(16);
        (self.settings.backoff_initial * (1u32 << shift)).min(self.settings.backoff_max)
    }

    fn on_spawned(&mut self, id: WorkerId, pid: Pid) {
        let Some(at) = self.pending.iter().position(|(p, _)| p.id == id) else {
            return;
        };
        let (spawn, generation) = self.pending.remove(at);
        self.workers.push(DirtyWorker {
            id,
            pid,
            slot: spawn.slot,
            generation,
            apps: spawn.apps,
            state: WorkerState::Booting,
            ready_at: None,
            last_beat: self.now,
        });
    }

    fn on_signal(&mut self, signal: DirtySignal, out: &mut Vec<Command>) {
        if signal == DirtySignal::Usr1 {
            return self.reopen_logs(out);
        }
        if self.phase != Phase::Running {
            out.push(Command::Log(DirtyNotice::Ignored(signal)));
            return;
        }
        match signal {
            DirtySignal::Hup => {
                out.push(Command::Log(DirtyNotice::Reloading));
                self.generation += 1;
            }
            DirtySignal::Ttin => {
                self.target += 1;
                out.push(Command::Log(DirtyNotice::Increasing { to: self.target }));
            }
            DirtySignal::Ttou => {
                let min = minimum_workers(&self.settings.apps);
                if self.target <= min {
                    out.push(Command::Log(DirtyNotice::AtMinimum { min }));
                } else {
                    self.target -= 1;
                    out.push(Command::Log(DirtyNotice::Decreasing { to: self.target }));
                }
            }
            DirtySignal::Term => self.begin_stop(KillSignal::Term, out),
            DirtySignal::Int | DirtySignal::Quit => self.begin_stop(KillSignal::Quit, out),
            DirtySignal::Usr1 => self.reopen_logs(out),
        }
    }

    /// USR1, in any phase: the dirty arbiter reopens its logs, as
    /// gunicorn's does, and passes the signal to the workers still
    /// serving, so each of them lets go of a rotated file too.
    fn reopen_logs(&mut self, out: &mut Vec<Command>) {
        out.push(Command::ReopenLogs);
        for w in self.workers.iter().filter(|w| w.is_live()) {
            out.push(Command::Kill {
                pid: w.pid,
                signal: KillSignal::Usr1,
            });
        }
    }

    fn begin_stop(&mut self, signal: KillSignal, out: &mut Vec<Command>) {
        let kill_at = self.now + self.settings.graceful_timeout;
        self.phase = Phase::Stopping { kill_at };
        for call in self.calls.take_queued(|_| true) {
            out.push(Command::Fail {
                call,
                error: CallError::ShuttingDown,
            });
        }
        let pids: Vec<Pid> = self
            .workers
            .iter()
            .filter(|w| w.is_live())
            .map(|w| w.pid)
            .collect();
        for pid in pids {
            self.stop_worker(pid, signal, kill_at, out);
        }
    }

    fn stop_worker(
        &mut self,
        pid: Pid,
        signal: KillSignal,
        kill_at: Instant,
        out: &mut Vec<Command>,
    ) {
        let Some(w) = self.worker_mut(pid) else {
            return;
        };
        // A worker already aborting or killed keeps its harder fate.
        w.state = match w.state {
            WorkerState::Booting | WorkerState::Ready => WorkerState::Stopping { kill_at },
            WorkerState::Stopping { kill_at: k } => WorkerState::Stopping {
                kill_at: k.min(kill_at),
            },
            WorkerState::Aborting { .. } | WorkerState::Killed => return,
        };
        out.push(Command::Kill { pid, signal });
    }

    fn abort_worker(&mut self, pid: Pid, out: &mut Vec<Command>) {
        let kill_at = self.now + self.settings.abort_grace;
        if let Some(w) = self.worker_mut(pid) {
            if matches!(w.state, WorkerState::Aborting { .. } | WorkerState::Killed) {
                return;
            }
            w.state = WorkerState::Aborting { kill_at };
            out.push(Command::Kill {
                pid,
                signal: KillSignal::Abort,
            });
        }
    }

    fn on_child_exit(&mut self, pid: Pid, status: ExitStatus, out: &mut Vec<Command>) {
        let Some(at) = self.workers.iter().position(|w| w.pid == pid) else {
            return;
        };
        let w = self.workers.remove(at);
        for call in self.calls.take_worker(pid) {
            out.push(Command::Fail {
                call,
                error: CallError::WorkerDied { pid },
            });
        }
        match status {
            ExitStatus::Code(3) => out.push(Command::Log(DirtyNotice::BootFailed { pid })),
            ExitStatus::Signaled(signal) if w.is_live() => {
                out.push(Command::Log(DirtyNotice::KilledBySignal { pid, signal }))
            }
            _ => {}
        }
        out.push(Command::Log(DirtyNotice::WorkerExited { pid }));
        out.push(Command::WorkerExitHook { pid, id: w.id });
        if !w.is_live() || self.phase != Phase::Running {
            return;
        }
        let young = w
            .ready_at
            .is_none_or(|r| self.now.saturating_since(r) < self.settings.crash_window);
        if young {
            self.young_deaths += 1;
            if self.young_deaths > 1 {
                let retry_in = self.backoff();
                self.spawn_not_before = Some(self.now + retry_in);
                out.push(Command::Log(DirtyNotice::CrashLoop { retry_in }));
            }
        } else {
            self.young_deaths = 0;
        }
    }

    /// Brings the world towards what the state says it should be.
    fn step(&mut self, out: &mut Vec<Command>) {
        match self.phase {
            Phase::Starting | Phase::Exited => {}
            Phase::Stopping { .. } => {
                if self.workers.is_empty() && self.pending.is_empty() {
                    self.phase = Phase::Exited;
                    out.push(Command::Exit { code: 0 });
                }
            }
            Phase::Running => {
                self.manage_workers(out);
                self.dispatch(out);
                self.fail_unserved(out);
            }
        }
    }
}

mod pool;
mod routing;

#[cfg(test)]
mod tests;
